#!/usr/bin/env bash
# Runs every fuzz target in turn, one process each (the machine is shared),
# until RUNS executions or SECS seconds, whichever comes first. New inputs
# go to a scratch corpus (WORK); the repository's corpus only seeds it.
# Builds once, then runs the binaries (so edits made meanwhile do not
# rebuild a target halfway through a campaign); NOBUILD=1 skips the build.
#
#   fuzz/campaign.sh [RUNS] [SECS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${1:-10000000}
SECS=${2:-600}
shift 2 || true
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(bpdu sstp vlan_frame arp dhcp control_request config)
WORK=${WORK:-/tmp/satellite-fuzz}
[[ -n ${NOBUILD:-} ]] || cargo +nightly fuzz build -O
BIN=target/x86_64-unknown-linux-gnu/release
for t in "${TARGETS[@]}"; do
    mkdir -p "$WORK/$t"
    start=$(date +%s)
    "$BIN/$t" "$WORK/$t" "corpus/$t" \
        -runs="$RUNS" -max_total_time="$SECS" -timeout=10 -print_final_stats=1 \
        >"$WORK/$t.log" 2>&1 && rc=0 || rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$WORK/$t.log" | grep -o '[0-9]*$' || echo '?')
    echo "$t: exit $rc, $execs executions in $(( $(date +%s) - start )) s, corpus $(ls "$WORK/$t" | wc -l)"
done
