#!/usr/bin/env bash
# The main job: builds Satellite and runs the demo lab in network namespaces,
# printing a summary. Installs what is missing first. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
# Root without sudo (Debian's minimal image has none), else through sudo.
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || {
        echo "$(basename "$0"): needs root: run it as root (su -), or install sudo" >&2
        exit 1
    }
    exec sudo -E "$0" "$@"
fi

dpdk-build/install-deps.sh --lab
cargo build --release --workspace --bins
exec target/release/satellite-demo "$@"
