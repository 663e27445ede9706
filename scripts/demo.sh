#!/usr/bin/env bash
# The main job: builds Satellite and runs the demo lab in network namespaces,
# printing a summary. Installs what is missing first. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then exec sudo -E "$0" "$@"; fi

dpdk-build/install-deps.sh --lab
cargo build --release --workspace --bins
exec target/release/satellite-demo "$@"
