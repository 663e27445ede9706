#!/usr/bin/env bash
# The main job: builds Satellite and runs the demo lab in network namespaces,
# printing a summary. Installs what is missing first. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
# Root without sudo (Debian's minimal image has none), else through sudo.
source scripts/lib/as-root.sh
as_root "$@"

dpdk-build/install-deps.sh --lab
cargo build --release --workspace --bins
exec target/release/satellite-demo "$@"
