#!/usr/bin/env bash
# Runs every test of Satellite: formatting, lints, unit and property tests,
# the simulator's scenarios and the end-to-end network-namespace labs.
# Installs what is missing first. Needs root (namespaces): re-runs itself
# with sudo when not root.
set -euo pipefail
cd "$(dirname "$0")/.."
# Root without sudo (Debian's minimal image has none), else through sudo.
source scripts/lib/as-root.sh
as_root "$@"

dpdk-build/install-deps.sh --lab
export CARGO_TERM_COLOR=never

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --release -- -D warnings
echo "== build"
cargo build --release --workspace --bins
echo "== tests"
cargo test --release --workspace "$@"
