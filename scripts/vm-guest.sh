#!/usr/bin/env bash
# A real virtual machine on a vhost-user port of satellited: QEMU boots
# Debian's kernel (linux-image-amd64) with an initramfs this script builds
# from Debian's busybox-static; the guest's virtio-net device is a
# vhost-user client of the switch's `backend = "vhost_user"` port, and the
# guest pings a host namespace on the switch's other (af_packet) port.
# Prints the boot time and the ping result, then removes everything it
# made (processes by PID, namespaces, sockets, its work directory).
#
# Not part of CI: under TCG (no /dev/kvm) the boot alone takes tens of
# seconds; CI runs the same port against dpdk-testpmd instead
# (tests/tests/vhost.rs). See docs/ports-and-backends.md "vhost-user".
#
#   scripts/vm-guest.sh [--tcg] [--count N] [--queues N] [--pair] [--dhcp]
#     --tcg       software emulation even when /dev/kvm is usable
#     --count N   pings from the guest (default 20)
#     --queues N  switch workers = vhost queue pairs = guest queues (default 1)
#     --pair      a second guest on a second vhost port (vm2, 10.77.0.3); the
#                 two measure TCP throughput with iperf3 (Debian's, with its
#                 libraries, put into the initramfs) through the switch
#     --dhcp      guest 1 gets its address from the switch's DHCP responder
#                 (docs/dhcp.md: vm1 has its MAC, binding and [port.dhcp]);
#                 prints the time from udhcpc's start to the lease
#
# Environment: SATELLITED (default target/release/satellited), and
# VM_GUEST_CACHE (default /var/cache/satellite-vm-guest): where the kernel
# package is downloaded and unpacked once; kept between runs (it is a
# download cache, not lab state). The guest's address is static
# (10.77.0.2/24), or with --dhcp leased from the switch.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/as-root.sh
as_root "$@"

accel=auto
count=20
queues=1
pair=0
dhcp=0
while (($#)); do
    case "$1" in
        --tcg) accel=tcg ;;
        --pair) pair=1 ;;
        --dhcp) dhcp=1 ;;
        --count) count="$2"; shift ;;
        --queues) queues="$2"; shift ;;
        *) echo "vm-guest: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

satellited=${SATELLITED:-target/release/satellited}
satctl="$(dirname "$satellited")/satctl"
[[ -x $satellited && -x $satctl ]] || {
    echo "vm-guest: $satellited or $satctl not built: cargo build --release --bins" >&2
    exit 1
}

# What the guest needs from Debian.
missing=()
for p in qemu-system-x86 busybox-static cpio kmod; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "vm-guest: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's kernel: the running system's /boot when it has one, else the
# linux-image-amd64 package, downloaded and unpacked into the cache.
cache=${VM_GUEST_CACHE:-/var/cache/satellite-vm-guest}
kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1 || true)
if [[ -n $kernel && -d /lib/modules/${kernel#/boot/vmlinuz-} ]]; then
    modroot=/lib/modules/${kernel#/boot/vmlinuz-}
else
    pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
    [[ -n $pkg ]] || { echo "vm-guest: no linux-image-amd64 in apt's lists (apt-get update?)" >&2; exit 1; }
    if [[ ! -d $cache/$pkg ]]; then
        echo "vm-guest: fetching $pkg into $cache"
        mkdir -p "$cache"
        (cd "$cache" && apt-get download "$pkg" 2>/dev/null && dpkg-deb -x "$pkg"_*.deb "$pkg.tmp" \
            && rm -f "$pkg"_*.deb && mv "$pkg.tmp" "$pkg")
    fi
    kernel=$(ls "$cache/$pkg"/boot/vmlinuz-* | head -1)
    modroot=$(ls -d "$cache/$pkg"/lib/modules/* | head -1)
fi

# Everything below is the lab's, removed on exit.
tag="vg$$"
work=$(mktemp -d "/tmp/satellite-vm-guest.XXXXXX")
sw="${tag}sw"
host="${tag}h"
pids=()
cleanup() {
    local rc=$?
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    ip netns del "$sw" 2>/dev/null || true
    ip netns del "$host" 2>/dev/null || true
    if [[ -n ${VM_GUEST_KEEP:-} ]]; then echo "vm-guest: kept $work"; else rm -rf "$work"; fi
    exit "$rc"
}
trap cleanup EXIT INT TERM

# --- The initramfs: busybox, the virtio-net modules, an init. ---
initrd="$work/initrd"
mkdir -p "$initrd"/{bin,dev,proc,sys,tmp,lib/modules}
cp "$(command -v busybox)" "$initrd/bin/busybox"
# virtio_net and virtio_pci with what they need, dependencies first (the
# package has no modules.dep: `modinfo -F depends` tells).
declare -A seen=()
order=()
add_mod() {
    local m=$1 f dep
    [[ -n ${seen[$m]:-} ]] && return
    seen[$m]=1
    f=$(find "$modroot/kernel" -name "$m.ko*" | head -1)
    [[ -n $f ]] || return 0 # built in
    for dep in $(modinfo -F depends "$f" | tr ',' ' '); do add_mod "$dep"; done
    cp "$f" "$initrd/lib/modules/"
    order+=("$(basename "$f")")
}
add_mod virtio_pci
add_mod virtio_net
printf '%s\n' "${order[@]}" >"$initrd/lib/modules/order"
# iperf3 for --pair: Debian's packages unpacked into the cache (not
# installed on the host), the binary and every library ldd names copied.
if ((pair)); then
    iroot="$cache/iperf3-root"
    if [[ ! -x $iroot/usr/bin/iperf3 ]]; then
        rm -rf "$cache/debs" "$iroot.tmp"
        mkdir -p "$cache/debs" "$iroot.tmp"
        (cd "$cache/debs" && apt-get download iperf3 libiperf0 libsctp1 2>/dev/null)
        for d in "$cache"/debs/*.deb; do dpkg-deb -x "$d" "$iroot.tmp"; done
        rm -rf "$cache/debs" "$iroot"
        mv "$iroot.tmp" "$iroot"
    fi
    cp "$iroot/usr/bin/iperf3" "$initrd/bin/iperf3"
    for lib in $(LD_LIBRARY_PATH="$iroot/usr/lib/x86_64-linux-gnu" ldd "$iroot/usr/bin/iperf3" \
        | grep -o '/[^ ]*'); do
        case $lib in
            "$iroot"/*) dest=${lib#"$iroot"} ;;
            *) dest=$lib ;;
        esac
        mkdir -p "$initrd$(dirname "$dest")"
        cp -L "$lib" "$initrd$dest"
    done
fi
cat >"$initrd/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "SATGUEST init $(cut -d' ' -f1 /proc/uptime)"
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^satellite\.$1=//p"; }
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m; done
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
ip link set lo up
ip link set eth0 up
echo "SATGUEST eth0 $(cat /sys/class/net/eth0/address) up $(cut -d' ' -f1 /proc/uptime)"
echo "SATGUEST queues $(ls /sys/class/net/eth0/queues | tr "\n" " ")"
if [ "$(arg dhcp)" = 1 ]; then
    # The switch's DHCP responder (docs/dhcp.md).
    echo "SATGUEST dhcp start $(cut -d' ' -f1 /proc/uptime)"
    udhcpc -i eth0 -n -q -t 10 -T 1 -s /bin/simple.script || echo "SATGUEST dhcp failed"
    echo "SATGUEST dhcp bound $(cut -d' ' -f1 /proc/uptime)"
else
    ip addr add "$(arg ip)" dev eth0
fi
echo "SATGUEST address $(ip -4 -o addr show eth0 | awk '{print $4}') $(cut -d' ' -f1 /proc/uptime)"
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
role=$(arg role)
if [ "$role" = iperf-server ]; then
    timeout 600 iperf3 -s -1 >/tmp/iperf 2>&1 &
    iperf=$!
fi
ping -c "$(arg count)" -i 0.2 -W 2 "$(arg peer)" >/tmp/ping 2>&1
sed 's/^/SATGUEST ping: /' /tmp/ping
if [ "$role" = iperf-server ]; then
    wait $iperf
elif [ "$role" = iperf-client ]; then
    n=0
    until iperf3 -c "$(arg server)" -t 10 -f m >/tmp/iperf 2>&1 || [ $n -ge 60 ]; do
        sleep 1; n=$((n+1))
    done
    sed 's/^/SATGUEST iperf: /' /tmp/iperf
fi
echo "SATGUEST done $(cut -d' ' -f1 /proc/uptime)"
poweroff -f
EOF
chmod +x "$initrd/init"
cat >"$initrd/bin/simple.script" <<'EOF'
#!/bin/sh
[ "$1" = bound ] && ip addr add "$ip/${mask:-24}" dev "$interface"
exit 0
EOF
chmod +x "$initrd/bin/simple.script"
(cd "$initrd" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

# --- The switch: af_packet port p0 to a host namespace, vhost port vm1. ---
ip netns add "$sw"
ip netns add "$host"
ip -n "$sw" link set lo up
ip -n "$host" link set lo up
ip link add "${tag}a" type veth peer name "${tag}b"
ip link set "${tag}a" netns "$sw"
ip link set "${tag}b" netns "$host"
ip -n "$sw" link set "${tag}a" name p0
ip -n "$host" link set "${tag}b" name eth0
ip -n "$sw" link set p0 up
ip -n "$host" link set eth0 up
ip netns exec "$host" ethtool -K eth0 tx off >/dev/null 2>&1 || true
ip -n "$host" addr add 10.77.0.1/24 dev eth0
socket="$work/run/vm1.sock"
cat >"$work/satellited.toml" <<EOF
[bridge]
name = "$tag"
[dataplane]
workers = $queues
[[port]]
name = "p0"
backend = "af_packet"
kind = "edge"
[[port]]
name = "vm1"
kind = "edge"
backend = "vhost_user"
socket = "$socket"
EOF
if ((dhcp)); then
    cat >>"$work/satellited.toml" <<EOF
macs = ["52:54:00:77:00:02"]
bindings = [ { ip = "10.77.0.2", mac = "52:54:00:77:00:02" } ]
[port.dhcp]
prefix = 24
router = "10.77.0.1"
EOF
fi
if ((pair)); then
    cat >>"$work/satellited.toml" <<EOF
[[port]]
name = "vm2"
kind = "edge"
backend = "vhost_user"
socket = "$work/run/vm2.sock"
EOF
fi
ctl="$work/ctl.sock"
ip netns exec "$sw" "$satellited" -c "$work/satellited.toml" --socket "$ctl" >"$work/satellited.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do
    "$satctl" -s "$ctl" show ports >/dev/null 2>&1 && break
    sleep 0.1
done
"$satctl" -s "$ctl" show ports || { cat "$work/satellited.log"; exit 1; }

# --- The guest. ---
# KVM when /dev/kvm is there and works: a device node alone is not enough
# (in some sandboxes a KVM guest never runs an instruction), so the kernel
# is booted once without an initramfs and must print within 10 s.
kvm_works() {
    [[ -r /dev/kvm && -w /dev/kvm ]] || return 1
    timeout -s KILL 10 qemu-system-x86_64 -accel kvm -m 128M -kernel "$kernel" \
        -append "console=ttyS0 panic=-1" -display none -serial file:"$work/kvm-probe.log" \
        -no-reboot -nodefaults >/dev/null 2>&1 || true
    grep -q "Linux version" "$work/kvm-probe.log" 2>/dev/null
}
if [[ $accel == auto ]]; then
    if kvm_works; then accel=kvm; else accel=tcg; echo "vm-guest: no working KVM: TCG"; fi
fi
# MSI-X under TCG: QEMU 7.2 (Debian 12) crashes in msix_set_vector_notifiers
# when a vhost-user device starts without KVM (seen here: SIGSEGV in
# vhost_net_start). With vectors=0 the device uses INTx, which works.
if [[ $accel == kvm ]]; then
    nicopts="mq=on,vectors=$((2 * queues + 2))"
else
    nicopts="vectors=0"
    ((queues == 1)) || nicopts="mq=on,vectors=0"
fi
echo "vm-guest: booting $(basename "$kernel") under $accel, $queues queue pair(s)"
timeout=$([[ $accel == kvm ]] && echo 300 || echo 900)
t0=$(date +%s.%N)
# guest N ROLE: VM N on vhost port vmN (socket vmN.sock), 10.77.0.N+1,
# console in consoleN.log.
guest() {
    local n=$1 role=$2 extra="" use_dhcp=0
    [[ $role == iperf-client ]] && extra="satellite.server=10.77.0.2"
    ((n == 1 && dhcp)) && use_dhcp=1
    timeout -s KILL "$timeout" qemu-system-x86_64 \
        -accel "$accel" -cpu max -smp "$queues" -m 256M \
        -object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem \
        -kernel "$kernel" -initrd "$work/initrd.gz" \
        -append "console=ttyS0 quiet panic=-1 satellite.ip=10.77.0.$((n + 1))/24 satellite.peer=10.77.0.1 satellite.count=$count satellite.dhcp=$use_dhcp satellite.role=$role $extra" \
        -chardev socket,id=chr0,path="$work/run/vm$n.sock" \
        -netdev vhost-user,id=net0,chardev=chr0,queues="$queues" \
        -device virtio-net-pci,netdev=net0,mac=52:54:00:77:00:0$((n + 1)),"$nicopts" \
        -display none -serial file:"$work/console$n.log" -no-reboot -nodefaults \
        >"$work/qemu$n.log" 2>&1 &
    pids+=($!)
}
if ((pair)); then
    guest 1 iperf-server
    qpid=${pids[-1]}
    guest 2 iperf-client
    qpid2=${pids[-1]}
else
    guest 1 none
    qpid=${pids[-1]}
fi

stamp() { # seconds since QEMU started when the console first shows $1
    local now
    while ! grep -q "$1" "$work/console1.log" 2>/dev/null; do
        kill -0 "$qpid" 2>/dev/null || return 1
        sleep 0.05
    done
    now=$(date +%s.%N)
    awk "BEGIN{printf \"%.2f\", $now - $t0}"
}
t_init=$(stamp "SATGUEST init") || true
t_up=$(stamp "SATGUEST eth0") || true
vm1_state() { "$satctl" -s "$ctl" show ports | awk '$2 == "vm1" {print "link " $5 ", " $7}'; }
link=$(vm1_state || true)
t_done=$(stamp "SATGUEST done") || true
wait "$qpid" 2>/dev/null || true
if ((pair)); then wait "$qpid2" 2>/dev/null || true; fi
sleep 0.2
link_after=$(vm1_state || true)

for c in "$work"/console*.log; do
    echo "---- $(basename "$c" .log) (SATGUEST lines) ----"
    grep SATGUEST "$c" || { echo "(none: console follows)"; tail -40 "$c"; cat "$work"/qemu*.log; }
done
echo "---- switch ----"
"$satctl" -s "$ctl" show ports
echo "---- result ----"
printf 'accel=%s kernel=%s queues=%s\n' "$accel" "$(basename "$kernel")" "$queues"
printf 'init reached %ss after QEMU started; eth0 up at %ss; done at %ss\n' \
    "${t_init:-?}" "${t_up:-?}" "${t_done:-?}"
printf 'vm1 once the guest had eth0 up: %s; after it powered off: %s\n' "${link:-?}" "${link_after:-?}"
ok_dhcp=1
if ((dhcp)); then
    d0=$(sed -n 's/.*SATGUEST dhcp start \([0-9.]*\).*/\1/p' "$work/console1.log")
    d1=$(sed -n 's/.*SATGUEST dhcp bound \([0-9.]*\).*/\1/p' "$work/console1.log")
    addr=$(sed -n 's/.*SATGUEST address \([0-9./]*\) .*/\1/p' "$work/console1.log")
    lease=$(awk -v a="$d0" -v b="$d1" 'BEGIN { if (a != "" && b != "") printf "%.2f", b - a }')
    printf 'DHCP: %s leased in %ss (guest clock, from udhcpc start)\n' "${addr:-no address}" "${lease:-?}"
    [[ $addr == 10.77.0.2/24 ]] || ok_dhcp=0
fi
loss=$(grep -o '[0-9.]*% packet loss' "$work/console1.log" || true)
rtt=$(grep -o 'round-trip.*' "$work/console1.log" || true)
printf 'ping guest -> host 10.77.0.1: %s; %s\n' "${loss:-no result}" "${rtt:-}"
ok=1
[[ $loss == "0% packet loss" && $ok_dhcp == 1 ]] || ok=0
if ((pair)); then
    loss2=$(grep -o '[0-9.]*% packet loss' "$work/console2.log" || true)
    printf 'ping guest 2 -> host: %s\n' "${loss2:-no result}"
    tput=$(grep -E 'SATGUEST iperf: .*(sender|receiver)' "$work/console2.log" | sed 's/SATGUEST iperf: //' || true)
    printf 'iperf3 TCP guest 2 -> guest 1 through the switch (10 s):\n%s\n' "${tput:-no result}"
    [[ $loss2 == "0% packet loss" && -n $tput ]] || ok=0
fi
((ok))
