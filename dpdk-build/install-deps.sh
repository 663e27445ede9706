#!/usr/bin/env bash
# Installs what building and running Satellite needs, from Debian's packages,
# only when something is missing. Safe to run again. Run as root, or
# as a user with sudo.
#   dpdk-build/install-deps.sh            build prerequisites (DPDK, clang for bindgen)
#   dpdk-build/install-deps.sh --lab      also the lab and interop tools used by the demo and tests
set -euo pipefail

build_pkgs=(dpdk libdpdk-dev clang libclang-dev pkg-config gcc make iproute2 ethtool)
# dpdk-dev: dpdk-testpmd, the DPDK guest of the vhost-user tests.
# dnsmasq-base: the DHCP server of the DHCPCAST tests (the binary only; the
# dnsmasq package would start a system service).
lab_pkgs=(openvswitch-switch tcpdump tshark prometheus python3-scapy bridge-utils iputils-ping
          procps mininet graphviz dpdk-dev busybox-static isc-dhcp-client dnsmasq-base)

want=("${build_pkgs[@]}")
[[ "${1:-}" == "--lab" ]] && want+=("${lab_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  # As root, apt-get directly (Debian's minimal image has no sudo).
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || {
      echo "install-deps: cannot install ${missing[*]}: run as root (su -), or install sudo" >&2
      exit 1
    }
    SUDO="sudo"
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Debian packages start system daemons for Open vSwitch and Prometheus;
# our tests run private instances, so the system ones only take memory.
for svc in prometheus openvswitch-switch; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" 2>/dev/null || true
  fi
done

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo not found; install a Rust toolchain (rustup) first" >&2
  exit 1
fi
pkg-config --atleast-version=22.11 libdpdk || { echo "install-deps: libdpdk >= 22.11 not found" >&2; exit 1; }
