#!/usr/bin/env bash
# The walkthrough at scale (not in CI; figures in docs/walkthrough.md):
# a ring of 24 satellited switches in Mininet with a switch going down and
# back up every 10 s for 2 minutes under flood pings
# (contrib/mininet/large.py), then `mn --topo torus,4,4 --test pingall`.
#
#   scripts/walkthrough-large.sh [--minutes N] [--period SECS]
#
# Needs root. Each part runs in a PID namespace of its own (and mn with a
# private /tmp), so no daemon outlives it and Mininet's clean-up, which
# `mn` runs by itself when something fails, touches nothing outside.
set -euo pipefail
cd "$(dirname "$0")/.."
# Root without sudo (Debian's minimal image has none), else through sudo.
source scripts/lib/as-root.sh
as_root "$@"
[[ -x /usr/bin/mn ]] || dpdk-build/install-deps.sh --lab
cargo build --release --workspace --bins
status=0
echo "== ring of 24, switches cycling down/up under ping -f =="
unshare --pid --fork --kill-child --mount-proc /usr/bin/python3 contrib/mininet/large.py "$@" || status=1
echo
echo "== mn --custom contrib/mininet/satellite.py --switch satellite --controller none --topo torus,4,4 --test pingall =="
out=$(unshare --pid --fork --kill-child --mount-proc --mount sh -c \
    'mount -t tmpfs satellite-mn-tmp /tmp &&
     exec mn --custom contrib/mininet/satellite.py --switch satellite --controller none --topo torus,4,4 --test pingall' 2>&1) || status=1
grep -E 'Results|completed|Error|Exception' <<<"$out" || true
grep -q 'Results: 0% dropped' <<<"$out" || { echo "torus,4,4 pingall: not 0% dropped" >&2; status=1; }
exit $status
