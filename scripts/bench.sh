#!/usr/bin/env bash
# Throughput harness (MEASURE.md, "Throughput: the data path").
#
# One command: builds satellited and the capture generator, then, one thing
# at a time and each with ONE forwarding core pinned to CPU 1 (everything
# else on CPU 0), replays the same two captures through
#   satellited, dpdk-testpmd io, dpdk-testpmd macswap, Open vSwitch NORMAL,
#   and satellite-floor (the two FDB lookups every learning switch makes,
#   nothing else: what the machine charges for a table of this size)
# for 1 k, 64 k and 1 M stations per side, untagged and triple-tagged, and
# prints Mpps, cycles/packet and the ratio to testpmd io of the same run.
#
# Devices: two `net_pcap` ports, each `rx_pcap=<side>.pcap,infinite_rx=1`
# with no TX file (the PMD counts and frees what it is given). Every switch
# gets exactly these two devices, so RX cost (an mbuf allocation and a 60-
# byte copy per frame) and TX cost are the same for all of them; net_null
# was not used because it cannot carry distinct MACs. infinite_rx keeps the
# whole capture in mbufs, so each run is sized for 2 × MACS mbufs.
#
# Memory: 2 MB hugepages. The harness reserves them at run time (adds to
# /proc/sys/vm/nr_hugepages enough for the largest capacity asked for),
# mounts a private hugetlbfs, gives every switch the same pages (testpmd and
# satellite-floor `--huge-dir DIR --in-memory`, satellited `hugepages =
# true`, OVS `dpdk-extra --huge-dir DIR` with `dpdk-socket-mem`), and at exit
# (trap) unmounts it and takes back exactly the pages it added. When pages
# cannot be had (BENCH_HUGE=0, or the kernel gives too few), a run falls back
# to `--no-huge` on 4 KB pages; every row's `memory` column says which it
# ran on (with `--no-huge` each replayed mbuf sits on its own 4 KB page and
# the replay itself dominates, MEASURE.md). Each row also records the 1-
# minute load average at the end of its window.
#
# Environment knobs: BENCH_MACS ("1024 65536 1048576"), BENCH_MIXES
# ("untagged triple"), BENCH_WARMUP (s, 3), BENCH_SECONDS (s, 8),
# BENCH_ONLY ("io macswap sat floor ovs"; also "floor-io", "floor-touch"), BENCH_OUT (table file, bench/last-run.md),
# BENCH_NO_BUILD=1 (use the binaries already in target/release), BENCH_SAT_FILTERS=1
# (satellited with edge filters on both ports), BENCH_PERF=DIR
# (perf-sample the forwarding CPU during satellited's window, top symbols to DIR),
# BENCH_HUGE=0 (do not reserve hugepages: every run on --no-huge).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# Root without sudo (Debian's minimal image has none), else through sudo.
source scripts/lib/as-root.sh
as_root "$@"

MACS_LIST=${BENCH_MACS:-"1024 65536 1048576"}
MIXES=${BENCH_MIXES:-"untagged triple"}
WARM=${BENCH_WARMUP:-3}
SECS=${BENCH_SECONDS:-8}
ONLY=${BENCH_ONLY:-"io macswap sat floor ovs"}
OUT=${BENCH_OUT:-$ROOT/bench/last-run.md}
OVS_VSWITCHD_DPDK=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
FWD_CPU=1
CTL_CPU=0

WORK=$(mktemp -d /tmp/satbench.XXXXXX)
PIDS=()
HUGE_DIR=$WORK/huge
HUGE_MOUNTED=
HUGE_ADDED=0
NR_HUGEPAGES=/proc/sys/vm/nr_hugepages

# Stops every process this script started, by PID, politely then firmly.
stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    PIDS=()
    # The pages go back only once nothing holds them: processes first,
    # then the mount (and any file left in it), then the reservation.
    if [[ -n $HUGE_MOUNTED ]]; then
        rm -f "$HUGE_DIR"/* 2>/dev/null || true
        umount "$HUGE_DIR" 2>/dev/null || umount -l "$HUGE_DIR" 2>/dev/null || true
        HUGE_MOUNTED=
    fi
    if (( HUGE_ADDED > 0 )); then
        local now
        now=$(cat "$NR_HUGEPAGES")
        echo $(( now > HUGE_ADDED ? now - HUGE_ADDED : 0 )) >"$NR_HUGEPAGES" || true
        log "== gave back $HUGE_ADDED hugepages (nr_hugepages $now -> $(cat "$NR_HUGEPAGES"))"
        HUGE_ADDED=0
    fi
    rm -rf "$WORK"
    # DPDK's runtime directories of this run's file prefixes.
    rm -rf /var/run/dpdk/satbench-tp-$$ /var/run/dpdk/satbench-ovs-$$ /var/run/dpdk/satbench-fl-$$ /var/run/dpdk/satellite-satbench$$-*
}
log() { printf '%s\n' "$*" >&2; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- prerequisites -----------------------------------------------------
if [[ ! -x $OVS_VSWITCHD_DPDK ]]; then
    log "== installing openvswitch-switch-dpdk"
    DEBIAN_FRONTEND=noninteractive apt-get install -y openvswitch-switch-dpdk >/dev/null
fi
command -v dpdk-testpmd >/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y dpdk-dev >/dev/null
}
if [[ -z ${BENCH_NO_BUILD:-} ]]; then
    log "== building (release)"
    cargo build --release -q -p satellite -p satellite-bench --bins
fi
BIN=$ROOT/target/release
TSC_HZ=""

# ---- helpers -----------------------------------------------------------
# Memory for N frames per side held in default-size mbufs (2,176-byte data
# room). Without hugepages a large pool is laid out one mbuf per 4 KB page
# (an object may not straddle pages that are not IOVA-contiguous), so budget
# 4 KB each, plus slack for rings, caches and the EAL itself.
mem_mb() { echo $(( (2 * $1 + 32768) * 4 / 1024 + 1536 )); }
mbufs() { echo $(( 2 * $1 + 32768 )); }
# On 2 MB pages a default mbuf (with its header and the pool's own) takes
# about 2.5 KB; plus 512 MB for the EAL, rings and satellited's tables.
huge_mb() { echo $(( $(mbufs "$1") * 5 / 2 / 1024 + 512 )); }
# Pages a run at N MACs per side needs: the largest switch's memory (OVS
# sizes its own pool, at most 262,144 mbufs, where it runs at all).
huge_pages() {
    local mb
    mb=$(huge_mb "$1")
    if (( 2 * $1 + 16384 <= 262144 )) && (( mb < 262144 * 5 / 2 / 1024 + 512 )); then
        mb=$(( 262144 * 5 / 2 / 1024 + 512 ))
    fi
    echo $(( mb / 2 ))
}
free_huge() { sed -n 's/^HugePages_Free: *//p' /proc/meminfo; }

# Reserves pages for the largest capacity asked for and mounts DIR.
reserve_hugepages() {
    [[ ${BENCH_HUGE:-1} == 0 ]] && { log "== BENCH_HUGE=0: every run on --no-huge"; return; }
    local n max=0 want before after
    for n in $MACS_LIST; do (( n > max )) && max=$n; done
    want=$(huge_pages "$max")
    before=$(cat "$NR_HUGEPAGES")
    echo $(( before + want )) >"$NR_HUGEPAGES" 2>/dev/null || true
    after=$(cat "$NR_HUGEPAGES")
    HUGE_ADDED=$(( after > before ? after - before : 0 ))
    log "== reserved $HUGE_ADDED of $want 2 MB hugepages (nr_hugepages $before -> $after)"
    (( HUGE_ADDED > 0 )) || return 0
    mkdir -p "$HUGE_DIR"
    if mount -t hugetlbfs -o pagesize=2M none "$HUGE_DIR"; then
        HUGE_MOUNTED=1
    else
        log "   cannot mount hugetlbfs: every run on --no-huge"
    fi
}

# The memory of the next run at N MACs per side: "2M" when the mount has
# free pages enough, else "4K" (and why, on stderr).
memory_for() {
    if [[ -z $HUGE_MOUNTED ]]; then echo 4K; return; fi
    local need free
    need=$(huge_pages "$1")
    free=$(free_huge)
    if (( free < need )); then
        log "   only $free free hugepages for the $need this run needs: --no-huge"
        echo 4K
    else
        echo 2M
    fi
}
# EAL memory flags for MEM (2M or 4K) and N.
eal_mem() {
    if [[ $1 == 2M ]]; then
        echo "--huge-dir $HUGE_DIR --in-memory"
    else
        echo "--no-huge -m $(mem_mb "$2")"
    fi
}

vdevs() {
    echo "--vdev net_pcap0,rx_pcap=$WORK/a.pcap,infinite_rx=1 --vdev net_pcap1,rx_pcap=$WORK/b.pcap,infinite_rx=1"
}

# On-CPU time of the forwarding thread: other work on the machine can
# preempt it, and TSC-based cycle counts then include time it did not run.
# `cpu_mark PID COMM-PREFIX` prints "run_ns wall_ns" (schedstat); two marks
# give the thread's share of the window, which the table uses to correct.
cpu_mark() {
    local t comm
    for t in /proc/"$1"/task/*; do
        comm=$(cat "$t/comm" 2>/dev/null) || continue
        if [[ $comm == "$2"* ]]; then
            echo "$(cut -d' ' -f1 "$t/schedstat") $(date +%s%N)"
            return
        fi
    done
    echo "0 $(date +%s%N)"
}
share() { # MARK0 MARK1 -> share of the window the thread was on a CPU
    python3 -c 'import sys; a,b,c,d=map(int,sys.argv[1:]); print(f"{(c-a)/(d-b):.2f}" if a and c>a else "nan")' $1 $2
}

# Result rows: macs mix switch mpps cycles share note, then the run's
# memory (MEM, set by the loop) and the load average when the row is made.
ROWS=$WORK/rows.tsv
: >"$ROWS"
MEM=4K
row() {
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" "$MEM" "$load" >>"$ROWS"
    log "   -> $3: $4 Mpps, $5 cycles/pkt, on-CPU share $6, memory $MEM, load $load $7"
}

# testpmd in MODE. Rate: the per-second Tx-pps of both ports, averaged over
# the measurement window; cycles/packet: testpmd's own --record-core-cycles
# figure (busy TSC cycles of the forwarding lcore / packets received).
run_testpmd() {
    local n=$1 mix=$2 mode=$3
    local out=$WORK/testpmd-$mode.log
    # Line-buffered, so the per-second stats reach the log as they happen
    # (the start-up wait below and the window both read them).
    # shellcheck disable=SC2046
    stdbuf -oL dpdk-testpmd -l $CTL_CPU,$FWD_CPU --main-lcore $CTL_CPU $(eal_mem "$MEM" "$n") \
        --no-pci --file-prefix "satbench-tp-$$" --log-level='*:warning' $(vdevs) -- \
        --forward-mode="$mode" --nb-cores=1 --total-num-mbufs="$(mbufs "$n")" \
        --record-core-cycles --stats-period 1 </dev/null >"$out" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    # Start-up (mempool, loading the captures) takes seconds at 1 M, and
    # over two minutes when the 9.5 GB of mbufs are first faulted in; the
    # clock starts with the first second that forwarded anything.
    local t
    for t in $(seq 3000); do
        grep -qE 'Tx-pps: +[1-9]' "$out" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    sleep "$WARM"
    local m0 m1
    m0=$(cpu_mark "$pid" rte-worker)
    sleep "$SECS"
    m1=$(cpu_mark "$pid" rte-worker)
    sleep 1
    stop_pid "$pid"
    python3 - "$out" "$WARM" "$SECS" <<'EOF' >"$WORK/res"
import re, sys
text = open(sys.argv[1], errors="replace").read()
warm, secs = int(sys.argv[2]), int(sys.argv[3])
tx = [int(v) for v in re.findall(r"Tx-pps:\s+(\d+)", text)]
periods = [tx[i] + tx[i + 1] for i in range(0, len(tx) - 1, 2)]
while periods and periods[0] == 0:
    periods.pop(0)
win = periods[warm:warm + secs] or periods[-secs:] or [0]
cyc = re.findall(r"CPU cycles/packet=([\d.]+)", text)
mhz = re.findall(r"at (\d+) MHz Clock", text)
print(f"{sum(win) / len(win) / 1e6:.3f} {float(cyc[-1]) if cyc else float('nan'):.0f} {mhz[-1] if mhz else ''}")
EOF
    local mpps cyc mhz
    read -r mpps cyc mhz <"$WORK/res"
    [[ -n $mhz ]] && TSC_HZ=$((mhz * 1000000))
    if [[ $mpps == 0.000 ]]; then
        log "   testpmd $mode produced no traffic; last lines:"; tail -5 "$out" >&2
    fi
    row "$n" "$mix" "testpmd-$mode" "$mpps" "$cyc" "$(share "$m0" "$m1")" ""
}

# satellited. Rate: Δ(tx packets, both ports) over wall time of the window;
# cycles/packet: Δbusy_cycles / Δbusy_packets of the one worker (TSC cycles
# spent in poll iterations that received something, per received packet:
# the same definition as testpmd's --record-core-cycles).
sat_stats() {
    "$BIN/satctl" -s "$WORK/sat.sock" show stats --json 2>/dev/null
}
# Every thread of PID but the worker goes to CTL_CPU; warns unless the
# worker sits alone on FWD_CPU.
pin_others() {
    local t comm
    for t in /proc/"$1"/task/*; do
        comm=$(cat "$t/comm" 2>/dev/null) || continue
        if [[ $comm == worker* ]]; then
            [[ $(taskset -pc "${t##*/}" 2>/dev/null) == *": $FWD_CPU" ]] ||
                log "   warning: $comm not pinned to CPU $FWD_CPU: $(taskset -pc "${t##*/}" 2>&1)"
        else
            taskset -pc "$CTL_CPU" "${t##*/}" >/dev/null 2>&1 || true
        fi
    done
}
run_satellited() {
    local n=$1 mix=$2 out=$WORK/satellited.log
    local hp=false mb
    mb=$(mem_mb "$n")
    if [[ $MEM == 2M ]]; then hp=true; mb=$(huge_mb "$n"); fi
    cat >"$WORK/sat.toml" <<EOF
[dataplane]
workers = 1
worker_cores = [$FWD_CPU]
hugepages = $hp
memory_mb = $mb
mbufs = $(mbufs "$n")
max_idle_sleep_us = 0

[fdb]
capacity = $((4 * n + 4096))
per_port_limit = $((2 * n + 4096))

[stp]
enabled = false
EOF
    if [[ -n ${BENCH_SAT_FILTERS:-} ]]; then
        # Edge filters on both ports: a trunk whose native VLAN takes the
        # untagged frames and which allows the triple-tagged mix's outer
        # VID (100, bench/src/lib.rs TRIPLE_TAGS).
        local p
        for p in net_pcap0 net_pcap1; do
            printf '\n[[port]]\nname = "%s"\ndpdk = true\nvlan_mode = "trunk"\nvlan = 1\nallowed_vlans = [100]\n' \
                "$p" >>"$WORK/sat.toml"
        done
    fi
    # No --lcores: satellited pins its worker with core_affinity, which only
    # offers the CPUs the spawning thread may already use, so with
    # `--lcores=0@0` the worker would stay on CPU 0 ("no such CPU core";
    # dataplane/src/lcore.rs). With the default `0@(0-1)` the worker pins
    # itself to CPU 1, and the harness moves every other thread to CPU 0.
    "$BIN/satellited" -c "$WORK/sat.toml" --name "satbench$$" --socket "$WORK/sat.sock" \
        --eal "$(vdevs)" >"$out" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    for t in $(seq 300); do [[ -S $WORK/sat.sock ]] && break; sleep 0.1; done
    pin_others "$pid"
    # Warm-up: until both sides' stations are all learned (or 90 s), then WARM s.
    local want=$((2 * n)) have=0 t
    for t in $(seq 900); do
        kill -0 "$pid" 2>/dev/null || break
        have=$(sat_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["fdb"]["entries"])' 2>/dev/null || echo 0)
        [[ $have -ge $want ]] && break
        sleep 0.1
    done
    if ! kill -0 "$pid" 2>/dev/null; then
        log "   satellited exited; last lines:"; tail -5 "$out" >&2
        row "$n" "$mix" satellited 0 nan nan "did not start"
        return
    fi
    local note=""
    [[ $have -ge $want ]] || note="(FDB $have of $want after 90 s)"
    sleep "$WARM"
    pin_others "$pid"
    local t0 t1
    local m0 m1
    m0=$(cpu_mark "$pid" worker)
    t0=$(date +%s.%N); sat_stats >"$WORK/s0.json"
    if [[ -n ${BENCH_PERF:-} ]]; then
        # Samples the forwarding CPU during the window (a software clock:
        # this machine has no hardware counters); slightly inflates cycles.
        perf record -q -e cpu-clock -F 4999 -p "$pid" -o "$WORK/perf.data" -- sleep "$SECS" >/dev/null 2>&1 || true
        mkdir -p "$BENCH_PERF"
        perf report -q -i "$WORK/perf.data" --comms worker0 --no-children --sort dso,symbol --stdio 2>/dev/null |
            grep -v '^$' | head -30 | cut -c1-160 | sed 's/ *$//' >"$BENCH_PERF/satellited-$n-$mix.txt" || true
        cp "$WORK/perf.data" "$BENCH_PERF/satellited-$n-$mix.perf.data" 2>/dev/null || true
    else
        sleep "$SECS"
    fi
    t1=$(date +%s.%N); sat_stats >"$WORK/s1.json"
    m1=$(cpu_mark "$pid" worker)
    python3 - "$WORK/s0.json" "$WORK/s1.json" "$t0" "$t1" <<'EOF' >"$WORK/res"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
dt = float(sys.argv[4]) - float(sys.argv[3])
tx = sum(p["tx_packets"] for p in b["ports"]) - sum(p["tx_packets"] for p in a["ports"])
cyc = sum(w["busy_cycles"] for w in b["workers"]) - sum(w["busy_cycles"] for w in a["workers"])
pk = sum(w["busy_packets"] for w in b["workers"]) - sum(w["busy_packets"] for w in a["workers"])
drops = {}
for p in b["ports"]:
    for k, v in p["drops"].items():
        if v:
            drops[k] = drops.get(k, 0) + v
mem = b.get("memory", {})
where = ("2M" if mem.get("hugepages") else "4K") + ("+tables" if mem.get("tables_in_dpdk_heap") else "")
print(f"{tx / dt / 1e6:.3f} {cyc / pk if pk else float('nan'):.0f} {b['tsc_hz']} {b['fdb']['entries']} {','.join(f'{k}={v}' for k, v in drops.items()) or '-'} {where}")
EOF
    local mpps cyc hz entries drops where
    read -r mpps cyc hz entries drops where <"$WORK/res"
    TSC_HZ=${TSC_HZ:-$hz}
    [[ $drops == - ]] || note="$note drops:$drops"
    # satellited's own word on its memory: the EAL's pages, and whether its
    # tables are in DPDK's heap (+tables).
    [[ $where == "$MEM"* ]] || note="$note ran on $where, not $MEM"
    [[ $where != 2M+tables ]] || note="$note tables on 2M"
    row "$n" "$mix" satellited "$mpps" "$cyc" "$(share "$m0" "$m1")" "$note"
    stop_pid "$pid"
}

# satellite-floor (bench/src/bin/satellite-floor.rs): Satellite's DPDK
# wrappers alone (`floor-io`), or with the two FDB lookups every learning
# switch makes per frame, in a table of satellited's kind and size holding
# every station (`floor`). Self-timed: WARM s, then a SECS s window; it
# prints rate, busy cycles per packet and its on-CPU share.
run_floor() {
    local n=$1 mix=$2 mode=$3 out=$WORK/floor.log
    # shellcheck disable=SC2046
    "$BIN/satellite-floor" "$mode" "$n" "$mix" "$WARM" "$SECS" -- -l $FWD_CPU \
        $(eal_mem "$MEM" "$n") --no-pci --file-prefix "satbench-fl-$$" --log-level='*:warning' \
        $(vdevs) >"$out" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait "$pid" || true
    local mpps cyc sh rest
    read -r mpps cyc sh rest < <(grep -E '^[0-9.]+ ' "$out" | tail -1) || true
    if [[ -z ${mpps:-} ]]; then
        log "   satellite-floor $mode failed; last lines:"; tail -5 "$out" >&2
        row "$n" "$mix" "floor-$mode" 0 nan nan "failed"
        return
    fi
    row "$n" "$mix" "floor-$mode" "$mpps" "$cyc" "$sh" ""
}

# Open vSwitch with DPDK, NORMAL action, one PMD thread on FWD_CPU. Rate:
# packets the PMD received over the window (pmd-stats-clear at its start);
# cycles/packet: its "avg processing cycles per packet" (busy cycles only).
run_ovs() {
    local n=$1 mix=$2
    # OVS 3.1 sizes its (shared) mempool at most 262,144 mbufs; infinite_rx
    # needs one per captured frame and port, plus OVS's own rings.
    if (( 2 * n + 16384 > 262144 )); then
        row "$n" "$mix" ovs-normal n/a n/a nan "not run: OVS mempool max 262144 mbufs < $((2 * n)) for the captures"
        return
    fi
    local d=$WORK/ovs
    rm -rf "$d"; mkdir -p "$d/run" "$d/db" "$d/log"
    export OVS_RUNDIR=$d/run OVS_DBDIR=$d/db OVS_LOGDIR=$d/log
    ovsdb-tool create "$d/db/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    taskset -c $CTL_CPU ovsdb-server "$d/db/conf.db" --remote="punix:$d/run/db.sock" \
        --unixctl="$d/run/ovsdb-server.ctl" --log-file="$d/log/ovsdb-server.log" \
        --pidfile="$d/run/ovsdb-server.pid" >/dev/null 2>&1 &
    local dbpid=$!
    PIDS+=("$dbpid")
    local t
    for t in $(seq 100); do [[ -S $d/run/db.sock ]] && break; sleep 0.1; done
    local vsctl=(ovs-vsctl --db="unix:$d/run/db.sock" --timeout=120)
    "${vsctl[@]}" --no-wait init
    local mem=$(( $(mem_mb "$n") > 2048 ? $(mem_mb "$n") : 2048 ))
    if [[ $MEM == 2M ]]; then
        # OVS's own pool is at most 262,144 mbufs: what huge_pages counts.
        mem=$(( $(huge_pages "$n") * 2 ))
        "${vsctl[@]}" --no-wait set Open_vSwitch . other_config:dpdk-init=true \
            "other_config:dpdk-socket-mem=\"$mem\"" \
            "other_config:dpdk-extra=\"--huge-dir $HUGE_DIR --no-pci --file-prefix=satbench-ovs-$$ $(vdevs)\"" \
            other_config:pmd-cpu-mask=$((1 << FWD_CPU))
    else
        "${vsctl[@]}" --no-wait set Open_vSwitch . other_config:dpdk-init=true \
            "other_config:dpdk-extra=\"--no-huge --legacy-mem -m $mem --no-pci --file-prefix=satbench-ovs-$$ $(vdevs)\"" \
            other_config:pmd-cpu-mask=$((1 << FWD_CPU))
    fi
    taskset -c $CTL_CPU "$OVS_VSWITCHD_DPDK" "unix:$d/run/db.sock" \
        --unixctl="$d/run/ovs-vswitchd.ctl" --log-file="$d/log/ovs-vswitchd.log" \
        --pidfile="$d/run/ovs-vswitchd.pid" >/dev/null 2>&1 &
    local vspid=$!
    PIDS+=("$vspid")
    local appctl=(ovs-appctl -t "$d/run/ovs-vswitchd.ctl")
    for t in $(seq 300); do [[ -S $d/run/ovs-vswitchd.ctl ]] && break; sleep 0.1; done
    # The MAC table must hold every station, or NORMAL floods (default 2048).
    if ! "${vsctl[@]}" add-br br0 -- set bridge br0 datapath_type=netdev \
            other_config:mac-table-size=$((4 * n + 4096)) \
        -- add-port br0 p0 -- set Interface p0 type=dpdk options:dpdk-devargs=net_pcap0 \
        -- add-port br0 p1 -- set Interface p1 type=dpdk options:dpdk-devargs=net_pcap1 \
            >"$d/vsctl.log" 2>&1; then
        log "   ovs-vsctl failed: $(tail -2 "$d/vsctl.log")"
    fi
    local err
    err=$("${vsctl[@]}" --if-exists get Interface p0 error 2>/dev/null || true)
    if [[ -n $err && $err != '[]' ]]; then
        log "   OVS port p0: $err"
        grep -iE "mempool|mbuf|pcap" "$d/log/ovs-vswitchd.log" | tail -3 >&2 || true
        row "$n" "$mix" ovs-normal 0 nan nan "port error: ${err:0:60}"
    else
        # Warm-up: until the MAC table holds both sides (or 90 s), then WARM s.
        local want=$((2 * n)) have=0
        for t in $(seq 900); do
            have=$("${appctl[@]}" fdb/stats-show br0 2>/dev/null |
                sed -n 's/.*Current\/maximum MAC entries in the table: \([0-9]*\).*/\1/p')
            [[ ${have:-0} -ge $want ]] && break
            sleep 0.1
        done
        local note=""
        [[ ${have:-0} -ge $want ]] || note="(MAC table ${have:-0} of $want after 90 s)"
        sleep "$WARM"
        "${appctl[@]}" dpif-netdev/pmd-stats-clear >/dev/null
        local t0 t1 m0 m1
        m0=$(cpu_mark "$vspid" pmd)
        t0=$(date +%s.%N)
        sleep "$SECS"
        "${appctl[@]}" dpif-netdev/pmd-stats-show >"$d/pmd.txt"
        t1=$(date +%s.%N)
        m1=$(cpu_mark "$vspid" pmd)
        python3 - "$d/pmd.txt" "$t0" "$t1" <<'EOF' >"$WORK/res"
import re, sys
text = open(sys.argv[1]).read()
m = text.split("pmd thread", 1)[-1]
pk = int(re.search(r"packets received: (\d+)", m).group(1))
cyc = re.search(r"avg processing cycles per packet: ([\d.]+)", m)
up = re.search(r"miss with success upcall: (\d+)", m)
dt = float(sys.argv[3]) - float(sys.argv[2])
print(f"{pk / dt / 1e6:.3f} {float(cyc.group(1)) if cyc else float('nan'):.0f} {up.group(1) if up else '?'}")
EOF
        local mpps cyc upcalls
        read -r mpps cyc upcalls <"$WORK/res"
        row "$n" "$mix" ovs-normal "$mpps" "$cyc" "$(share "$m0" "$m1")" "$note upcalls:$upcalls"
    fi
    stop_pid "$vspid"
    stop_pid "$dbpid"
    unset OVS_RUNDIR OVS_DBDIR OVS_LOGDIR
}

# ---- the run -----------------------------------------------------------
START=$(date +%s)
reserve_hugepages
for n in $MACS_LIST; do
    for mix in $MIXES; do
        MEM=$(memory_for "$n")
        log "== $n MACs per side, $mix, memory $MEM, load $(cut -d' ' -f1-3 /proc/loadavg)"
        "$BIN/satellite-pcapgen" "$n" "$mix" "$WORK/a.pcap" "$WORK/b.pcap"
        for what in $ONLY; do
            case $what in
                io) run_testpmd "$n" "$mix" io ;;
                macswap) run_testpmd "$n" "$mix" macswap ;;
                sat) run_satellited "$n" "$mix" ;;
                floor-io) run_floor "$n" "$mix" io ;;
                floor) run_floor "$n" "$mix" lookup ;;
                floor-touch) run_floor "$n" "$mix" touch ;;
                ovs) run_ovs "$n" "$mix" ;;
            esac
            # Whatever a switch left in the mount holds pages: gone.
            [[ -z $HUGE_MOUNTED ]] || rm -f "$HUGE_DIR"/* 2>/dev/null || true
        done
    done
done

{
    echo "Satellite throughput, $(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, TSC ${TSC_HZ:-?} Hz"
    echo "Tree: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- dataplane mgmt || echo ' plus uncommitted changes in dataplane/ or mgmt/')"
    echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the forwarding core itself adds about 1; more means other work shared the CPUs)"
    echo "cycles/pkt (TSC): busy TSC cycles of the forwarding thread / packets it received; on-CPU share: the"
    echo "thread's run time (schedstat) / wall time of the window; cycles/pkt on CPU = the product (corrects for preemption)."
    echo "net_pcap infinite_rx on both ports (64-byte frames), one forwarding core (CPU $FWD_CPU), ${WARM}s warm-up after learning, ${SECS}s window"
    echo "memory: 2M = 2 MB hugepages (private hugetlbfs, --in-memory), 4K = --no-huge; load: 1-minute load average when the row was taken"
    echo
    python3 - "$ROWS" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
io = {(r[0], r[1]): r for r in rows if r[2] == "testpmd-io"}
def num(x):
    try:
        v = float(x)
        return None if v != v else v
    except ValueError:
        return None
def oncpu(r):  # cycles/packet counting only the time the thread ran
    c, s = num(r[4]), num(r[5])
    return c * min(s, 1.0) if c is not None and s is not None else None
def fmt(v, f="{:.0f}"):
    return "-" if v is None else f.format(v)
print("| MACs/side | frames | switch | memory | Mpps | cycles/pkt (TSC) | on-CPU share | cycles/pkt on CPU | × testpmd io rate | on-CPU cycles above io | load | note |")
print("|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
for r in rows:
    n, mix, sw, mpps, cyc, sh, note, mem, load = r
    ref = io.get((n, mix))
    ratio = num(mpps) / num(ref[3]) if ref and num(mpps) is not None and num(ref[3]) else None
    above = oncpu(r) - oncpu(ref) if ref and sw != "testpmd-io" and oncpu(r) is not None and oncpu(ref) is not None else None
    label = {1024: "1 k", 65536: "64 k", 1048576: "1 M"}.get(int(n), n)
    if ref and ref[7] != mem:
        note = (note + f" (io ran on {ref[7]})").strip()
    print(f"| {label} | {mix} | {sw} | {mem} | {mpps} | {cyc} | {sh} | {fmt(oncpu(r))} | {fmt(ratio, '{:.2f}')} | {fmt(above, '{:+.0f}')} | {load} | {note.strip()} |")
EOF
    echo
    echo "Wall time of the whole run: $(( $(date +%s) - START )) s"
} | tee "$OUT"
