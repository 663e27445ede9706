#!/usr/bin/env bash
# Instructions per packet of satellited's worker thread, under callgrind,
# in steady state: the same two net_pcap replay devices as scripts/bench.sh,
# counting starts only once the FDB holds every station (so no frame is
# flooded for want of a learn) and stops after a fixed window. The count
# includes the PMD's RX and TX (about 200 instructions per packet, which
# testpmd io pays too). Deterministic where the macro bench's cycles are
# not: the figure to compare two commits by.
#
#   scripts/callgrind-worker.sh [MACS] [untagged|triple] [filters]
#
# `filters` gives both ports the bench's trunk policy (native VLAN 1,
# allowed 100). Knobs: CG_SECONDS (window, 25), CG_SATELLITED (binary,
# target/release/satellited), CG_SEED (the FDB's hash seed, 1), CG_KEEP=DIR (keep the callgrind files there
# for callgrind_annotate). Always `hugepages = false` (4 KB pages): the
# count does not depend on the page size, and valgrind need not map
# hugetlbfs. Needs valgrind; builds nothing (cargo build
# --release first). Under valgrind the switch forwards some 150 k packets/s.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MACS=${1:-65536}
MIX=${2:-untagged}
FILTERS=${3:-}
SECS=${CG_SECONDS:-25}
SAT=${CG_SATELLITED:-$ROOT/target/release/satellited}
SATCTL=$ROOT/target/release/satctl
PCAPGEN=$ROOT/target/release/satellite-pcapgen
for b in "$SAT" "$SATCTL" "$PCAPGEN"; do
    [[ -x $b ]] || { echo "missing $b: run cargo build --release first" >&2; exit 2; }
done
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/satcg.XXXXXX)
PID=
cleanup() {
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
        kill -INT "$PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$PCAPGEN" "$MACS" "$MIX" "$WORK/a.pcap" "$WORK/b.pcap" >/dev/null
# Which stations overflow their home bucket depends on the FDB's hash
# seed, and with a random one the count moved by some 4 % between runs.
# CG_SEED=random leaves it to the daemon (and suits binaries that predate
# the key).
SEED_LINE="hash_seed = ${CG_SEED:-1}"
[[ ${CG_SEED:-1} != random ]] || SEED_LINE=""
cat >"$WORK/sat.toml" <<EOF
[dataplane]
workers = 1
worker_cores = [1]
hugepages = false
memory_mb = $(( (2 * MACS + 32768) * 4 / 1024 + 1536 ))
mbufs = $(( 2 * MACS + 32768 ))
max_idle_sleep_us = 0
[fdb]
capacity = $(( 4 * MACS + 4096 ))
per_port_limit = $(( 2 * MACS + 4096 ))
$SEED_LINE
[stp]
enabled = false
EOF
if [[ $FILTERS == filters ]]; then
    for p in net_pcap0 net_pcap1; do
        printf '\n[[port]]\nname = "%s"\ndpdk = true\nvlan_mode = "trunk"\nvlan = 1\nallowed_vlans = [100]\n' "$p" >>"$WORK/sat.toml"
    done
fi

# Instrumentation off until the window; one output file per thread (the
# worker's is the one with the most instructions); fair scheduling, or the
# busy-polling worker starves the control thread that answers satctl.
valgrind --tool=callgrind --fair-sched=yes --instr-atstart=no --separate-threads=yes \
    --callgrind-out-file="$WORK/cg.out" \
    "$SAT" -c "$WORK/sat.toml" --name "satcg$$" --socket "$WORK/sat.sock" \
    --eal "--vdev net_pcap0,rx_pcap=$WORK/a.pcap,infinite_rx=1 --vdev net_pcap1,rx_pcap=$WORK/b.pcap,infinite_rx=1" \
    >"$WORK/satellited.log" 2>&1 &
PID=$!

# The entry count from the stats, not `show fdb`: listing 131 k entries
# under valgrind can take the control lcore longer than satctl waits.
entries() {
    "$SATCTL" -s "$WORK/sat.sock" --json show stats 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["fdb"]["entries"])' 2>/dev/null || echo 0
}
busy_packets() {
    "$SATCTL" -s "$WORK/sat.sock" --json show stats |
        python3 -c 'import json,sys; print(sum(w["busy_packets"] for w in json.load(sys.stdin)["workers"]))'
}
learned=0
for _ in $(seq 600); do
    kill -0 "$PID" 2>/dev/null || { echo "satellited exited:" >&2; tail -5 "$WORK/satellited.log" >&2; exit 1; }
    learned=$(entries)
    (( learned >= 2 * MACS )) && break
    sleep 2
done
(( learned >= 2 * MACS )) || { echo "the FDB never filled ($learned of $(( 2 * MACS )) stations)" >&2; exit 1; }

p0=$(busy_packets)
callgrind_control -i on "$PID" >/dev/null 2>&1
sleep "$SECS"
callgrind_control -i off "$PID" >/dev/null 2>&1
p1=$(busy_packets)
kill -INT "$PID"
wait "$PID" || true
PID=

best=$(for f in "$WORK"/cg.out*; do echo "$(awk '/^totals:/ {print $2}' "$f") $f"; done | sort -n | tail -1)
ir=${best%% *}
# Packets: the RX bursts the worker made while instrumented (calls of the
# shim's sat_rx_burst in its profile) times 32. net_pcap's infinite_rx
# never runs dry, so every burst is full; the lines of worker.rs that run
# once per frame count exactly this many. The daemon's own counter read by
# satctl around the window (satctl_packets) is only a cross-check: its
# reads and callgrind_control's toggles are seconds apart under valgrind,
# which moved the per-packet figure by up to 10 %.
bursts=$(awk '
    /^c?fn=\([0-9]+\) sat_rx_burst$/ { match($0, /\([0-9]+\)/); id = substr($0, RSTART, RLENGTH) }
    /^cfn=\([0-9]+\)/ { match($0, /\([0-9]+\)/); want = (id != "" && substr($0, RSTART, RLENGTH) == id); next }
    /^calls=/ { if (want) { split($0, a, /[= ]/); n += a[2] } want = 0; next }
    { want = 0 }
    END { print n + 0 }' "${best#* }")
packets=$(( bursts * 32 ))
(( packets > 0 )) || { echo "no packets forwarded in the window" >&2; exit 1; }
echo "macs=$MACS mix=$MIX filters=${FILTERS:-off} packets=$packets instructions=$ir per_packet=$(( ir / packets )) satctl_packets=$(( p1 - p0 ))"
if [[ -n ${CG_KEEP:-} ]]; then
    mkdir -p "$CG_KEEP"
    cp "${best#* }" "$CG_KEEP/worker.cg.out"
    echo "worker thread's profile: $CG_KEEP/worker.cg.out (callgrind_annotate --auto=yes)"
fi
