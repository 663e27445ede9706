//! The device half of the switch's ports: which DPDK device backs each
//! port (AF_XDP, AF_PACKET, a vhost-user socket, or a device the EAL
//! arguments name), the EAL arguments themselves, and the carrier of each
//! port.

use crossbeam::channel::Receiver;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

use satellite_dataplane::port::{self, EthPort};
use satellite_dataplane::Mempool;

use crate::config::{Backend, Config, PortConfig};
use crate::hugepages::{self, Memory};
use crate::link_events::{self, FastCarrier};
use crate::plane::PortSetup;

/// Frames in each af_packet RX ring (the PMD's `framecnt`).
const AF_PACKET_FRAMES: u64 = 1024;

/// How often carrier is read when nothing announces a change: devices
/// with no kernel interface (PCI, vhost) are polled this often, as a
/// link-status interrupt would not be faster by much.
pub(crate) const CARRIER_POLL: Duration = Duration::from_millis(1);
/// How often kernel interfaces' carrier is read besides the kernel's link
/// events, in case an event was lost (the socket's buffer overran).
pub(crate) const CARRIER_SAFETY_POLL: Duration = Duration::from_millis(100);

/// One port's device.
pub(crate) struct DevicePort {
    pub(crate) name: String,
    /// Kernel interface behind it, when there is one.
    pub(crate) iface: Option<String>,
    pub(crate) backend: &'static str,
    pub(crate) cfg: PortConfig,
    pub(crate) eth: EthPort,
    /// The port's MAC: the device's, except for vhost-user ports, whose
    /// device has one fixed address per DPDK port number (the same on
    /// every switch), so they get one of their own ([`vhost_mac`]).
    mac: [u8; 6],
    /// The virtual device the daemon created for it (removed with it).
    vdev: Option<String>,
    /// Frames discarded at start-up, before any worker polled the port
    /// (see [`EthPort::discard_rx`]).
    pub(crate) rx_before_start: u64,
    /// Carrier as last read.
    carrier: bool,
}

impl DevicePort {
    /// The carrier now: the kernel's for kernel interfaces (AF_PACKET
    /// reports its link up whatever the interface does), DPDK's otherwise.
    fn read_carrier(&self) -> bool {
        self.iface
            .as_deref()
            .map(read_carrier)
            .unwrap_or_else(|| self.eth.link().up)
    }

    /// What the control plane is told about the port.
    fn setup(&self) -> PortSetup {
        PortSetup {
            name: self.name.clone(),
            mac: self.mac,
            cfg: self.cfg.clone(),
            carrier: self.carrier,
            speed_mbps: self.eth.link().speed_mbps,
            dpdk_port: self.eth.id(),
        }
    }

    /// Stops and closes the device, and removes the virtual device the
    /// daemon made for it. Only once no worker polls it.
    fn close(self) {
        self.eth.stop();
        if let Some(v) = &self.vdev {
            port::destroy_vdev(v);
        }
    }
}

/// Every port's device, by port index; `None` where a port was removed
/// at run time (the index stays, see `ControlPlane::next_slot`).
pub(crate) struct Ports {
    pub(crate) list: Vec<Option<DevicePort>>,
    /// Queues per port (one per worker) and descriptors per queue.
    queues: u16,
    ring_size: u16,
    /// Number of the next virtual device made (names are never reused).
    next_vdev: usize,
    /// The switch's name (in vhost-user ports' MACs).
    switch: String,
    /// The kernel's link events are heard.
    watching: bool,
    next_carrier: Duration,
    /// Rung by the kernel on link changes (kernel interfaces).
    link_events: Receiver<()>,
    /// How often carrier is polled besides the events.
    poll_every: Duration,
    /// A link event arrived through the control loop's wait.
    announced: bool,
    /// Which kernel interface is behind each port, for the link-event
    /// thread that takes dead ports out of the data path.
    fast: Arc<FastCarrier>,
}

fn bpffs_mounted() -> bool {
    std::fs::read_to_string("/proc/mounts")
        .map(|m| {
            m.lines()
                .any(|l| l.split_whitespace().nth(2) == Some("bpf"))
        })
        .unwrap_or(false)
}

/// The kernel's carrier of `iface`. An administratively down interface
/// has no readable carrier (the read fails with EINVAL), and a vanished one
/// has no file: both are down.
fn read_carrier(iface: &str) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{iface}/carrier"))
        .is_ok_and(|s| s.trim() == "1")
}

/// Whether `name` can be a kernel interface's name (at most 15 bytes, no
/// `/`, no white space, not `.` or `..`), and is safe inside a vdev's
/// argument string (no `,` or `=`, which would add arguments).
fn is_interface_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ',' || c == '=' || c.is_whitespace() || c.is_control())
}

/// EAL arguments for this process: the memory [`hugepages::decide`] chose,
/// a private file prefix so many switches share a machine, and the user's
/// extras.
pub fn eal_args(cfg: &Config, memory: &Memory) -> Vec<String> {
    let user = &cfg.dataplane.eal;
    let mem = hugepages::eal_memory_args(memory);
    let has = |flag: &str| hugepages::has_flag(user, flag) || hugepages::has_flag(&mem, flag);
    let mut a = mem.clone();
    if !has("-m") && !has("--socket-mem") {
        a.extend(["-m".into(), cfg.dataplane.memory_mb.to_string()]);
    }
    if !has("--file-prefix") {
        a.push(format!(
            "--file-prefix=satellite-{}-{}",
            cfg.name(),
            std::process::id()
        ));
    }
    if !has("--no-shconf") && !has("--proc-type") && !has("--in-memory") {
        a.push("--no-shconf".into());
    }
    if !has("-l") && !has("--lcores") && !has("-c") {
        // The control lcore may float over every CPU; workers are pinned
        // separately once registered.
        let n = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        a.push(format!("--lcores=0@(0-{})", n - 1));
    }
    let wants_pci = user
        .iter()
        .any(|u| u == "-a" || u == "--allow" || u.starts_with("--allow="));
    if !wants_pci && !has("--no-pci") && cfg.ports.iter().all(|p| !p.dpdk) {
        a.push("--no-pci".into());
    }
    if !has("--log-level") {
        a.push("--log-level=*:warning".into());
    }
    a.extend(user.iter().cloned());
    a
}

/// A vhost-user port's MAC: locally administered unicast (`02:…`), from a
/// hash of the machine (`/etc/machine-id`, else the host name), the
/// switch's name and the socket's path, so it is the same at every start
/// and differs between switches. The device's own address would not do:
/// net_vhost gives every switch's first vhost port 56:48:4f:53:54:00
/// ("VHOST" and the DPDK port number), and the lowest port MAC becomes the
/// bridge address (RSTP, SSTP), which must be unique in the fabric.
pub(crate) fn vhost_mac(switch: &str, socket: &Path) -> [u8; 6] {
    let machine = std::fs::read_to_string("/etc/machine-id")
        .or_else(|_| std::fs::read_to_string("/proc/sys/kernel/hostname"))
        .unwrap_or_default();
    mac_from(machine.trim(), switch, socket)
}

/// [`vhost_mac`] of given inputs: FNV-1a (64 bits) over them, the low 40
/// bits behind 0x02.
fn mac_from(machine: &str, switch: &str, socket: &Path) -> [u8; 6] {
    use std::os::unix::ffi::OsStrExt;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        machine.as_bytes(),
        switch.as_bytes(),
        socket.as_os_str().as_bytes(),
    ] {
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        for b in part.iter().chain([&0xffu8]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    let b = h.to_be_bytes();
    [0x02, b[3], b[4], b[5], b[6], b[7]]
}

/// Makes ready where a vhost-user port listens (server mode): its
/// directory is created (0750) when missing; a socket file left by a
/// switch that did not stop cleanly is removed, but not one a live process
/// listens on, nor anything that is not a socket. In client mode the VM's
/// hypervisor owns the socket and the switch only connects (again and
/// again until it appears), so nothing is made.
fn prepare_vhost_socket(port: &str, path: &Path, client: bool) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, FileTypeExt};
    if client {
        if !path.exists() {
            info!(port, socket = %path.display(),
                  "vhost-user socket not there yet: connecting once it appears");
        }
        return Ok(());
    }
    let dir = path
        .parent()
        .ok_or_else(|| format!("port {port}: socket {} has no directory", path.display()))?;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(dir)
            .map_err(|e| format!("port {port}: cannot create {}: {e}", dir.display()))?;
        info!(port, dir = %dir.display(), "created the vhost-user socket's directory");
    }
    match std::fs::symlink_metadata(path) {
        Err(_) => Ok(()),
        Ok(m) if !m.file_type().is_socket() => Err(format!(
            "port {port}: {} exists and is not a socket; not replacing it",
            path.display()
        )),
        Ok(_) => match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => Err(format!(
                "port {port}: another process listens on {}",
                path.display()
            )),
            // Refused: nobody listens, so the file is a leftover.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                warn!(port, socket = %path.display(),
                      "removing a stale vhost-user socket (nobody listens on it)");
                std::fs::remove_file(path)
                    .map_err(|e| format!("port {port}: cannot remove {}: {e}", path.display()))
            }
            // Anything else (permission denied ...) says nothing about
            // whether it is in use: left alone.
            Err(e) => Err(format!(
                "port {port}: {} exists and cannot be checked ({e}); not replacing it",
                path.display()
            )),
        },
    }
}

/// Opens a server-mode vhost-user socket to its group: 0660, like the
/// control socket, so a hypervisor running as another user in the
/// socket's group can connect (the socket gets the directory's group, so
/// a setgid directory chooses it; docs/least-privilege.md). Bound by DPDK
/// with the umask's mode, which leaves connecting to the owner alone.
fn share_vhost_socket(p: &PortConfig) {
    use std::os::unix::fs::PermissionsExt;
    let Some(s) = p
        .socket
        .as_deref()
        .filter(|_| p.is_vhost() && !p.vhost_client)
    else {
        return;
    };
    let mode = std::fs::Permissions::from_mode(crate::server::SOCKET_MODE);
    if let Err(e) = std::fs::set_permissions(s, mode) {
        warn!(port = %p.name, socket = %s.display(), "cannot make the vhost-user socket 0660: {e}");
    }
}

/// Creates the net_vhost device of a vhost-user port: `queues` queue
/// pairs (one per worker; a guest may use fewer), listening on its socket,
/// or connecting to it with `vhost_client`. Returns the vdev's name.
fn vhost_vdev(i: usize, p: &PortConfig, queues: u16) -> Result<String, String> {
    let socket = p
        .socket
        .as_deref()
        .ok_or_else(|| format!("port {}: backend vhost_user needs `socket`", p.name))?;
    // Checked by the configuration too; the path goes into the argument
    // string, so it is checked again right where it is used.
    crate::config::check_vhost(p).map_err(|(k, m)| format!("port {}: {k}: {m}", p.name))?;
    prepare_vhost_socket(&p.name, socket, p.vhost_client)?;
    // Not `net_vhost{i}`: that is what a user names with --eal --vdev.
    let vname = format!("net_vhost_sat{i}");
    let args = format!(
        "iface={},queues={queues},client={}",
        socket.display(),
        u8::from(p.vhost_client)
    );
    port::create_vdev(&vname, &args).map_err(|e| format!("port {}: {e}", p.name))?;
    Ok(vname)
}

/// Creates the vdev of a kernel interface: AF_XDP where asked or where a
/// bpffs is mounted (falling back to AF_PACKET unless AF_XDP was demanded),
/// else AF_PACKET. Returns the vdev's name and backend.
fn kernel_vdev(i: usize, p: &PortConfig, queues: u16) -> Result<(String, &'static str), String> {
    let try_xdp = match p.backend {
        Backend::AfXdp => true,
        Backend::Auto => bpffs_mounted(),
        Backend::AfPacket => false,
        Backend::VhostUser => {
            return Err(format!(
                "port {}: a vhost_user port is no interface",
                p.name
            ))
        }
    };
    if try_xdp {
        let vname = format!("net_af_xdp{i}");
        let args = format!("iface={},start_queue=0,queue_count={queues}", p.name);
        match port::create_vdev(&vname, &args) {
            Ok(()) => return Ok((vname, "af_xdp")),
            Err(e) if p.backend == Backend::AfXdp => return Err(e.to_string()),
            Err(e) => warn!(port = %p.name, "af_xdp unavailable, using af_packet: {e}"),
        }
    }
    let vname = format!("net_af_packet{i}");
    let args = format!(
        "iface={},qpairs={queues},blocksz=4096,framesz=2048,framecnt={AF_PACKET_FRAMES}",
        p.name
    );
    port::create_vdev(&vname, &args).map_err(|e| e.to_string())?;
    Ok((vname, "af_packet"))
}

impl Ports {
    /// Creates and starts every port: kernel interfaces first (in the order
    /// given), then DPDK devices named in the config, then any other device
    /// the EAL arguments created (vdevs, PCI), so `--eal '--vdev
    /// net_null0'` works.
    pub(crate) fn open(cfg: &Config, pool: &Mempool) -> Result<Ports, String> {
        // Listening before the first carrier reads, so no change between
        // the two goes unseen.
        let fast = Arc::new(FastCarrier::new());
        let watcher = link_events::watch(fast.clone(), CARRIER_SAFETY_POLL);
        crate::mtu::check(cfg);
        let queues = cfg.dataplane.workers;
        let mut specs: Vec<(String, Option<String>, &'static str, PortConfig, u16)> = Vec::new();
        for (i, p) in cfg.ports.iter().enumerate() {
            if p.dpdk {
                let id = EthPort::id_by_name(&p.name).map_err(|e| e.to_string())?;
                specs.push((p.name.clone(), None, "dpdk", p.clone(), id));
                continue;
            }
            if p.is_vhost() {
                let vname = vhost_vdev(i, p, queues)?;
                let id = EthPort::id_by_name(&vname).map_err(|e| e.to_string())?;
                specs.push((vname, None, "vhost_user", p.clone(), id));
                continue;
            }
            if !std::path::Path::new(&format!("/sys/class/net/{}", p.name)).exists() {
                return Err(format!("port {}: no such network interface", p.name));
            }
            let (vname, backend) = kernel_vdev(i, p, queues)?;
            let id = EthPort::id_by_name(&vname).map_err(|e| e.to_string())?;
            specs.push((vname, Some(p.name.clone()), backend, p.clone(), id));
        }
        for id in 0..port::port_count() {
            if !specs.iter().any(|s| s.4 == id) {
                let name = EthPort::name_of(id);
                let mut pc = PortConfig::iface(&name);
                pc.dpdk = true;
                specs.push((String::new(), None, "dpdk", pc, id));
            }
        }
        if specs.is_empty() {
            return Err(
                "no ports: give --iface IF (repeatable), [[port]] in the config, \
                        or DPDK devices with --eal"
                    .into(),
            );
        }
        if specs.len() >= u16::MAX as usize {
            return Err("too many ports".into());
        }
        let mut list = Vec::new();
        for (vname, iface, backend, pcfg, id) in specs {
            let name = pcfg.name.clone();
            let eth = EthPort::start(id, queues, queues, cfg.dataplane.ring_size, pool)
                .map_err(|e| format!("port {name}: {e}"))?;
            share_vhost_socket(&pcfg);
            let mac = match &pcfg.socket {
                Some(s) if pcfg.is_vhost() => vhost_mac(cfg.name(), s),
                _ => eth.mac(),
            };
            let mut d = DevicePort {
                name,
                iface,
                backend,
                cfg: pcfg,
                eth,
                mac,
                vdev: (!vname.is_empty() && backend != "dpdk").then_some(vname),
                rx_before_start: 0,
                carrier: false,
            };
            d.carrier = d.read_carrier();
            info!(port = %d.name, backend, dpdk_port = id, mac = %satellite_filters::MacAddr(d.mac),
                  carrier = d.carrier, "port started");
            list.push(d);
        }
        // Only now is every af_packet socket bound to its own interface:
        // what the rings caught before may have come from any interface.
        // Those frames are the oldest in a ring, so one ring's worth per
        // queue takes them all.
        for p in list.iter_mut().filter(|p| p.backend == "af_packet") {
            p.rx_before_start = p.eth.discard_rx(queues, AF_PACKET_FRAMES);
            if p.rx_before_start > 0 {
                info!(port = %p.name, frames = p.rx_before_start,
                      "discarded frames received before the port was bound");
            }
        }
        for (slot, p) in list.iter().enumerate() {
            if let Some(iface) = &p.iface {
                fast.watch(slot, iface);
            }
        }
        let mut ports = Ports {
            list: list.into_iter().map(Some).collect(),
            fast,
            queues,
            ring_size: cfg.dataplane.ring_size,
            next_vdev: cfg.ports.len(),
            switch: cfg.name().to_string(),
            watching: watcher.is_some(),
            next_carrier: CARRIER_POLL,
            link_events: watcher.unwrap_or_else(crossbeam::channel::never),
            poll_every: CARRIER_POLL,
            announced: false,
        };
        ports.choose_poll();
        ports.next_carrier = ports.poll_every;
        Ok(ports)
    }

    /// Kernel events tell carrier when every port is a kernel interface
    /// and they are heard; polling then is only a safety net.
    fn choose_poll(&mut self) {
        let all_kernel = self.list.iter().flatten().all(|p| p.iface.is_some());
        self.poll_every = if self.watching && all_kernel {
            CARRIER_SAFETY_POLL
        } else {
            CARRIER_POLL
        };
    }

    /// Opens a port at run time, into index `slot`, as start-up does: on
    /// kernel interface `p.name` (AF_XDP or AF_PACKET), or a vhost-user
    /// socket (`backend = "vhost_user"`); a queue per worker. Returns what
    /// the control plane needs. No worker polls it until a snapshot names
    /// it. Refused when the interface does not exist or the device cannot
    /// be made; then nothing is left behind.
    pub(crate) fn open_at_run_time(
        &mut self,
        slot: usize,
        p: &PortConfig,
        pool: &Mempool,
    ) -> Result<PortSetup, String> {
        if p.dpdk {
            return Err(format!(
                "port {}: only kernel interfaces and vhost-user sockets are added at run time; \
                 DPDK devices are given at start (dataplane.eal)",
                p.name
            ));
        }
        let n = self.next_vdev;
        let (vname, backend, iface) = if p.is_vhost() {
            self.next_vdev += 1;
            (vhost_vdev(n, p, self.queues)?, "vhost_user", None)
        } else {
            if !is_interface_name(&p.name)
                || !std::path::Path::new(&format!("/sys/class/net/{}", p.name)).exists()
            {
                return Err(format!("port {}: no such network interface", p.name));
            }
            self.next_vdev += 1;
            let (vname, backend) = kernel_vdev(n, p, self.queues)?;
            (vname, backend, Some(p.name.clone()))
        };
        let id = match EthPort::id_by_name(&vname) {
            Ok(id) => id,
            Err(e) => {
                port::destroy_vdev(&vname);
                return Err(e.to_string());
            }
        };
        let eth = match EthPort::start(id, self.queues, self.queues, self.ring_size, pool) {
            Ok(eth) => eth,
            Err(e) => {
                port::destroy_vdev(&vname);
                return Err(format!("port {}: {e}", p.name));
            }
        };
        share_vhost_socket(p);
        let mac = match &p.socket {
            Some(s) if p.is_vhost() => vhost_mac(&self.switch, s),
            _ => eth.mac(),
        };
        let mut d = DevicePort {
            name: p.name.clone(),
            iface,
            backend,
            cfg: p.clone(),
            eth,
            mac,
            vdev: Some(vname),
            rx_before_start: 0,
            carrier: false,
        };
        // As at start: the af_packet ring caught frames of every interface
        // before it was bound to this one.
        if backend == "af_packet" {
            d.rx_before_start = d.eth.discard_rx(self.queues, AF_PACKET_FRAMES);
        }
        d.carrier = d.read_carrier();
        info!(port = %d.name, backend, dpdk_port = id, mac = %satellite_filters::MacAddr(d.mac),
              carrier = d.carrier, discarded = d.rx_before_start, "port opened at run time");
        let setup = d.setup();
        if self.list.len() <= slot {
            self.list.resize_with(slot + 1, || None);
        }
        match &d.iface {
            Some(iface) => self.fast.watch(slot, iface),
            None => self.fast.forget(slot),
        }
        self.list[slot] = Some(d);
        self.choose_poll();
        Ok(setup)
    }

    /// Closes the device of port `slot` (after every worker has left it).
    pub(crate) fn close(&mut self, slot: usize) {
        self.fast.forget(slot);
        if let Some(d) = self.list.get_mut(slot).and_then(Option::take) {
            info!(port = %d.name, dpdk_port = d.eth.id(), "port closed");
            d.close();
        }
        self.choose_poll();
    }

    /// Forgets the device of port `slot` without closing it: a worker may
    /// still touch it, and a device left open costs less than a crash.
    pub(crate) fn abandon(&mut self, slot: usize) {
        self.fast.forget(slot);
        if let Some(d) = self.list.get_mut(slot).and_then(Option::take) {
            tracing::error!(port = %d.name, dpdk_port = d.eth.id(),
                "a worker did not leave the port in time: its device is left open");
        }
    }

    /// Rung when the kernel announces a link change (the control loop
    /// wakes on it).
    pub(crate) fn link_events(&self) -> &Receiver<()> {
        &self.link_events
    }

    /// The control loop took a link event from [`Ports::link_events`]:
    /// the next [`Ports::poll_carrier`] reads carrier at once.
    pub(crate) fn announce(&mut self) {
        self.announced = true;
    }

    /// What the control plane is told about each port at start.
    pub(crate) fn setups(&self) -> Vec<PortSetup> {
        self.list.iter().flatten().map(DevicePort::setup).collect()
    }

    /// When carrier is next read.
    pub(crate) fn next_deadline(&self) -> Duration {
        self.next_carrier
    }

    /// Reads every port's carrier when the kernel announced a link change
    /// or the poll is due; calls `changed(port, up, speed)` for each port
    /// whose carrier changed. Returns whether it read carrier (then the
    /// caller writes the engine's liveness verdict back over whatever the
    /// link-event thread cleared, see [`crate::link_events`]).
    pub(crate) fn poll_carrier(
        &mut self,
        now: Duration,
        mut changed: impl FnMut(usize, bool, u32),
    ) -> bool {
        let announced = std::mem::take(&mut self.announced) | self.link_events.try_recv().is_ok();
        if now < self.next_carrier && !announced {
            return false;
        }
        self.next_carrier = now + self.poll_every;
        for (i, p) in self.list.iter_mut().enumerate() {
            let Some(p) = p else { continue };
            let up = p.read_carrier();
            if up != p.carrier {
                p.carrier = up;
                if let Some(ago) = self.fast.take_cleared(i) {
                    info!(port = %p.name, ahead_us = ago.as_micros() as u64,
                          "the data path stopped using the port on the kernel's event, ahead of the control loop");
                }
                changed(i, up, p.eth.link().speed_mbps);
            }
        }
        true
    }

    /// Who clears a port's liveness bit on the kernel's carrier loss.
    pub(crate) fn fast_carrier(&self) -> &Arc<FastCarrier> {
        &self.fast
    }

    /// Stops every port.
    pub(crate) fn stop(self) {
        for p in self.list.into_iter().flatten() {
            p.eth.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_that_could_reach_elsewhere_are_refused() {
        for ok in ["eth0", "s1-eth3", "p2", "veth.10"] {
            assert!(is_interface_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "eth0,qpairs=9",
            "a=b",
            "a b",
            "sixteen-chars-xx",
        ] {
            assert!(!is_interface_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn vhost_macs_are_local_unicast_stable_and_distinct() {
        let a = mac_from("m1", "s1", Path::new("/run/satellite/vm1.sock"));
        assert_eq!(
            a,
            mac_from("m1", "s1", Path::new("/run/satellite/vm1.sock"))
        );
        assert_eq!(a[0], 0x02, "locally administered, unicast");
        for other in [
            mac_from("m2", "s1", Path::new("/run/satellite/vm1.sock")),
            mac_from("m1", "s2", Path::new("/run/satellite/vm1.sock")),
            mac_from("m1", "s1", Path::new("/run/satellite/vm2.sock")),
            mac_from("m1s", "1", Path::new("/run/satellite/vm1.sock")),
        ] {
            assert_ne!(a, other);
        }
    }

    #[test]
    fn a_missing_socket_directory_is_made_and_stale_sockets_go() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("sat-vhost-{}", std::process::id()));
        let sock = base.join("run/vm1.sock");
        prepare_vhost_socket("vm1", &sock, false).unwrap();
        let mode = std::fs::metadata(sock.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        // 0750 less the umask: never writable by the group, nothing for others.
        assert_eq!((mode & 0o700, mode & 0o027), (0o700, 0), "{mode:o}");
        // A socket nobody listens on is stale: removed.
        drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
        assert!(sock.exists());
        prepare_vhost_socket("vm1", &sock, false).unwrap();
        assert!(!sock.exists());
        // One a process listens on is not.
        let live = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let e = prepare_vhost_socket("vm1", &sock, false).unwrap_err();
        assert!(e.contains("another process listens"), "{e}");
        drop(live);
        std::fs::remove_file(&sock).unwrap();
        // Nor a plain file.
        std::fs::write(&sock, b"x").unwrap();
        let e = prepare_vhost_socket("vm1", &sock, false).unwrap_err();
        assert!(e.contains("not a socket"), "{e}");
        // Client mode makes nothing.
        let other = base.join("elsewhere/vm2.sock");
        prepare_vhost_socket("vm2", &other, true).unwrap();
        assert!(!other.parent().unwrap().exists());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
