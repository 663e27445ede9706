#!/usr/bin/env bash
# Soak (not in CI): a ring of 8 satellited switches in Mininet with a random
# link flapping every 0.5-2 s and probe streams throughout; at the end, 0
# duplicated probes, mbufs in use back to the baseline, resident memory
# grown by at most 1 MB per daemon, no ERROR line in the logs. Exits
# non-zero on any failure. The work is contrib/mininet/soak.py's.
#
#   scripts/soak.sh [--minutes N] [--seed S] [--aging SECONDS]
#                                  (default 30 minutes, the FDB's own ageing)
#
# Needs root. Runs in a PID namespace of its own, so whatever happens no
# daemon outlives it; Mininet's `mn -c` is never needed.
set -euo pipefail
cd "$(dirname "$0")/.."
# Root without sudo (Debian's minimal image has none), else through sudo.
source scripts/lib/as-root.sh
as_root "$@"
for a in "$@"; do
    [[ "$a" == -h || "$a" == --help ]] && { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
done
[[ -x /usr/bin/mn ]] || dpdk-build/install-deps.sh --lab
cargo build --release --workspace --bins
exec unshare --pid --fork --kill-child --mount-proc /usr/bin/python3 contrib/mininet/soak.py "$@"
