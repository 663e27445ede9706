//! `satellited`: start-up, the control lcore's loop, and shutdown.

use crossbeam::channel::{self, Receiver, Sender};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tracing::{debug, error, info, warn};

use satellite_dataplane::counters::PortTally;
use satellite_dataplane::fdb::{Fdb, LearnOutcome};
use satellite_dataplane::frame::{DropReason, PuntKind};
use satellite_dataplane::port::{self, EthPort};
use satellite_dataplane::snapshot::{PortIndex, Publisher, SnapshotBuilder};
use satellite_dataplane::worker::{self, CoarseClock, Injected, RxQueue, WorkerPlan, WorkerShared};
use satellite_dataplane::{lcore, Eal, Mempool};

use crate::config::{Backend, Config, PortConfig, PortKind};
use crate::control::{
    FdbRow, FdbStatsReport, PortInfo, PortStats, Request, Response, StatsReport, WorkerStats,
};
use crate::edge_filters;
use crate::spanning_tree::{role_name, state_name, Effect, SpanningTree};
use satellite_dataplane::counters::{filter_slot_label, FILTER_SLOTS};
use satellite_filters::{Ipv4Binding, MacAddr};
use satellite_protocol::wire::decode_bpdu_frame;

/// A request from a management thread with the channel to answer on.
pub type Envelope = (Request, Sender<Response>);

/// How often the control lcore publishes a changed snapshot, at most.
const PUBLISH_INTERVAL: Duration = Duration::from_millis(1);
/// How often kernel carrier state is read for kernel-backed ports.
const CARRIER_INTERVAL: Duration = Duration::from_millis(5);

/// One switch port as the control lcore knows it.
pub struct SwitchPort {
    pub name: String,
    /// Kernel interface behind it, when there is one.
    pub iface: Option<String>,
    pub backend: &'static str,
    pub kind: PortKind,
    pub cfg: PortConfig,
    pub eth: EthPort,
    /// Kernel carrier (or DPDK link) as last seen.
    pub carrier: bool,
    /// Administratively enabled (`satctl port P up|down`, BPDU guard).
    pub admin_up: bool,
    /// What the spanning tree allows (always true when it is off).
    pub stp_learning: bool,
    pub stp_forwarding: bool,
    /// Times BPDU guard disabled this port.
    pub bpdu_guard_trips: u64,
    /// Frames discarded at start-up, before any worker polled the port
    /// (see [`EthPort::discard_rx`]).
    pub rx_before_start: u64,
}

/// Frames in each af_packet RX ring (the PMD's `framecnt`).
const AF_PACKET_FRAMES: u64 = 1024;

/// The drop reason under which [`SwitchPort::rx_before_start`] is reported.
const BEFORE_START: &str = "before_start";

impl SwitchPort {
    fn enabled(&self) -> bool {
        self.carrier && self.admin_up
    }
}

pub struct Daemon {
    cfg: Config,
    eal: Eal,
    pool: Arc<Mempool>,
    pub ports: Vec<SwitchPort>,
    workers: Vec<Arc<WorkerShared>>,
    threads: Vec<JoinHandle<()>>,
    publisher: Arc<Publisher>,
    fdb: Fdb,
    builder: SnapshotBuilder,
    clock: Arc<CoarseClock>,
    epoch: u64,
    started: Instant,
    control_frames: BTreeMap<String, u64>,
    stp: Option<SpanningTree>,
    effects: Vec<Effect>,
    /// Control-lcore frames lost because the injection queue or the mbuf
    /// pool was exhausted.
    inject_failed: u64,
    /// ARPless bindings added at run time (API, learn-once).
    runtime_bindings: Vec<RuntimeBinding>,
}

/// Where a binding came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BindingOrigin {
    Config,
    Api,
    Learned,
}

/// A binding added at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeBinding {
    pub port: usize,
    pub binding: Ipv4Binding,
    pub origin: BindingOrigin,
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

/// EAL arguments for this process: no hugepages by default, a private file
/// prefix so many switches share a machine, and the user's extras.
pub fn eal_args(cfg: &Config) -> Vec<String> {
    let user = &cfg.dataplane.eal;
    let mut a: Vec<String> = Vec::new();
    let has = |flag: &str| {
        user.iter()
            .any(|u| u == flag || u.starts_with(&format!("{flag}=")))
    };
    if !has("--huge-dir") && !has("--socket-mem") && !has("--no-huge") {
        a.push("--no-huge".into());
    }
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
    if !has("--no-shconf") && !has("--proc-type") {
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

impl Daemon {
    /// Initialises DPDK, creates and starts every port, starts the workers.
    pub fn start(cfg: Config) -> Result<Daemon, String> {
        let args = eal_args(&cfg);
        info!(args = %args.join(" "), "initialising DPDK");
        let eal = Eal::init(&args).map_err(|e| e.to_string())?;
        let workers_n = cfg.dataplane.workers;
        let pool = Arc::new(Mempool::new("satellite_pkts", cfg.dataplane.mbufs, 256)?);

        // Ports: kernel interfaces first (in the order given), then DPDK
        // devices named in the config, then any other device the EAL
        // arguments created (vdevs, PCI), so `--eal '--vdev net_null0'` works.
        let mut specs: Vec<(String, Option<String>, &'static str, PortConfig, u16)> = Vec::new();
        for (i, p) in cfg.ports.iter().enumerate() {
            if p.dpdk {
                let id = EthPort::id_by_name(&p.name).map_err(|e| e.to_string())?;
                specs.push((p.name.clone(), None, "dpdk", p.clone(), id));
                continue;
            }
            if !std::path::Path::new(&format!("/sys/class/net/{}", p.name)).exists() {
                return Err(format!("port {}: no such network interface", p.name));
            }
            let try_xdp = match p.backend {
                Backend::AfXdp => true,
                Backend::Auto => bpffs_mounted(),
                Backend::AfPacket => false,
            };
            let mut made = None;
            if try_xdp {
                let vname = format!("net_af_xdp{i}");
                let args = format!("iface={},start_queue=0,queue_count={workers_n}", p.name);
                match port::create_vdev(&vname, &args) {
                    Ok(()) => made = Some((vname, "af_xdp")),
                    Err(e) if p.backend == Backend::AfXdp => return Err(e.to_string()),
                    Err(e) => warn!(port = %p.name, "af_xdp unavailable, using af_packet: {e}"),
                }
            }
            if made.is_none() {
                let vname = format!("net_af_packet{i}");
                let args = format!(
                    "iface={},qpairs={workers_n},blocksz=4096,framesz=2048,framecnt={AF_PACKET_FRAMES}",
                    p.name
                );
                port::create_vdev(&vname, &args).map_err(|e| e.to_string())?;
                made = Some((vname, "af_packet"));
            }
            let (vname, backend) = made.expect("one backend was created");
            let id = EthPort::id_by_name(&vname).map_err(|e| e.to_string())?;
            specs.push((p.name.clone(), Some(p.name.clone()), backend, p.clone(), id));
        }
        for id in 0..port::port_count() {
            if !specs.iter().any(|s| s.4 == id) {
                let name = EthPort::name_of(id);
                let mut pc = PortConfig::iface(&name);
                pc.dpdk = true;
                specs.push((name, None, "dpdk", pc, id));
            }
        }
        if specs.is_empty() {
            return Err(
                "no ports: give --iface IF (repeatable), [[port]] in the config, \
                        or DPDK devices with --eal"
                    .into(),
            );
        }
        if specs.len() > u16::MAX as usize {
            return Err("too many ports".into());
        }

        let mut ports = Vec::new();
        for (name, iface, backend, pcfg, id) in specs {
            let eth = EthPort::start(id, workers_n, workers_n, cfg.dataplane.ring_size, &pool)
                .map_err(|e| format!("port {name}: {e}"))?;
            let carrier = iface.as_deref().map(read_carrier).unwrap_or(eth.link().up);
            info!(port = %name, backend, dpdk_port = id, mac = %fmt_mac(eth.mac()), carrier, "port started");
            ports.push(SwitchPort {
                name,
                iface,
                backend,
                kind: pcfg.kind,
                cfg: pcfg,
                eth,
                carrier,
                admin_up: true,
                stp_learning: !cfg.stp.enabled,
                stp_forwarding: !cfg.stp.enabled,
                bpdu_guard_trips: 0,
                rx_before_start: 0,
            });
        }
        // Only now is every af_packet socket bound to its own interface:
        // what the rings caught before may have come from any interface.
        // Those frames are the oldest in a ring, so one ring's worth per
        // queue takes them all.
        for p in ports.iter_mut().filter(|p| p.backend == "af_packet") {
            p.rx_before_start = p.eth.discard_rx(workers_n, AF_PACKET_FRAMES);
            if p.rx_before_start > 0 {
                info!(port = %p.name, frames = p.rx_before_start,
                      "discarded frames received before the port was bound");
            }
        }
        let stp = if cfg.stp.enabled {
            let list: Vec<_> = ports
                .iter()
                .map(|p| (p.name.clone(), p.eth.mac(), p.cfg.clone()))
                .collect();
            Some(SpanningTree::new(&cfg.stp, &list)?)
        } else {
            None
        };

        let fdb = Fdb::new(cfg.fdb.capacity, cfg.fdb.per_port_limit, cfg.fdb.aging_time);
        let mut builder = SnapshotBuilder::new(ports.len());
        builder.max_frame_len = cfg.dataplane.max_frame_len;
        builder.refresh_after_secs = (cfg.fdb.aging_time / 4).max(1);
        let publisher = Arc::new(Publisher::new(builder.build(0, fdb.view())));
        let clock = Arc::new(CoarseClock::default());

        let mut d = Daemon {
            cfg,
            eal,
            pool,
            ports,
            workers: Vec::new(),
            threads: Vec::new(),
            publisher,
            fdb,
            builder,
            clock,
            epoch: 0,
            started: Instant::now(),
            control_frames: BTreeMap::new(),
            stp,
            effects: Vec::new(),
            inject_failed: 0,
            runtime_bindings: Vec::new(),
        };
        d.rebuild_filters()?;
        for i in 0..d.ports.len() {
            if d.ports[i].enabled() {
                let speed = d.ports[i].eth.link().speed_mbps;
                if let Some(stp) = d.stp.as_mut() {
                    stp.port_up(i as PortIndex, speed);
                }
            }
        }
        d.refresh_port_views();
        d.publish();
        d.start_workers()?;
        // The engine's first decisions (edge ports forward at once) must
        // reach the workers even if nothing else changes afterwards.
        if d.apply_stp_effects() {
            d.publish();
        }
        Ok(d)
    }

    fn start_workers(&mut self) -> Result<(), String> {
        let n = self.cfg.dataplane.workers as usize;
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let dpdk_ports: Vec<u16> = self.ports.iter().map(|p| p.eth.id()).collect();
        for w in 0..n {
            let core = self.cfg.dataplane.worker_cores.get(w).copied().or_else(|| {
                // Default: the last cores, leaving core 0 to the system.
                Some(cpus.saturating_sub(1 + (w % cpus.max(1))))
            });
            let plan = WorkerPlan {
                index: w,
                core,
                rx: self
                    .ports
                    .iter()
                    .enumerate()
                    .map(|(i, p)| RxQueue {
                        port: i as PortIndex,
                        dpdk_port: p.eth.id(),
                        queue: w as u16,
                    })
                    .collect(),
                dpdk_ports: dpdk_ports.clone(),
                tx_queue: w as u16,
                max_idle_sleep: Duration::from_micros(self.cfg.dataplane.max_idle_sleep_us),
                pool: self.pool.clone(),
            };
            let shared = Arc::new(WorkerShared::new(self.ports.len(), 8192));
            let (s, p, c) = (shared.clone(), self.publisher.clone(), self.clock.clone());
            let t = std::thread::Builder::new()
                .name(format!("worker{w}"))
                .spawn(move || {
                    match lcore::register_current_thread(plan.core) {
                        Ok(lc) => {
                            info!(worker = w, lcore = lc, core = ?plan.core, "worker started")
                        }
                        Err(e) => {
                            error!(worker = w, "cannot register with DPDK: {e}");
                            return;
                        }
                    }
                    worker::run(&plan, &s, &p, &c);
                    lcore::unregister_current_thread();
                })
                .map_err(|e| format!("spawn worker: {e}"))?;
            self.workers.push(shared);
            self.threads.push(t);
        }
        Ok(())
    }

    /// Recomputes what workers see of each port from carrier, admin state
    /// and spanning-tree state.
    fn refresh_port_views(&mut self) {
        for (i, p) in self.ports.iter().enumerate() {
            let v = &mut self.builder.ports[i];
            v.forwarding = p.enabled() && p.stp_forwarding;
            v.learning = p.enabled() && p.stp_learning;
            v.bpdu_guard = p.kind == PortKind::Edge;
        }
    }

    /// Rebuilds the filter tables and port policies (configuration plus
    /// run-time bindings) into the snapshot builder.
    fn rebuild_filters(&mut self) -> Result<(), String> {
        let extra: Vec<Ipv4Binding> = self.runtime_bindings.iter().map(|b| b.binding).collect();
        let mut any = false;
        for (i, p) in self.ports.iter().enumerate() {
            let mine: Vec<Ipv4Binding> = self
                .runtime_bindings
                .iter()
                .filter(|b| b.port == i)
                .map(|b| b.binding)
                .collect();
            let pol = edge_filters::port_policy(&p.cfg, &mine)
                .map_err(|(k, m)| format!("port {}: {k}: {m}", p.name))?;
            any |= pol.is_some();
            self.builder.policies[i] = pol.map(Arc::new);
        }
        let responder = self
            .ports
            .iter()
            .map(|p| p.eth.mac())
            .min()
            .unwrap_or([2, 0, 0, 0, 0, 1]);
        self.builder.filters = if any {
            Some(Arc::new(
                edge_filters::tables(&self.cfg, responder, &extra)
                    .map_err(|(k, m)| format!("filters: {k}: {m}"))?,
            ))
        } else {
            None
        };
        Ok(())
    }

    /// Adds a run-time binding (checked against the port's policy first).
    fn add_binding(&mut self, b: RuntimeBinding) -> Result<(), String> {
        if self
            .builder
            .policies
            .get(b.port)
            .is_none_or(|p| p.is_none())
        {
            return Err(format!(
                "port {} has no ARPless policy (see [[port]] arpless)",
                self.ports[b.port].name
            ));
        }
        self.runtime_bindings.retain(|x| {
            !(x.port == b.port && x.binding.vid == b.binding.vid && x.binding.ip == b.binding.ip)
        });
        self.runtime_bindings.push(b);
        if let Err(e) = self.rebuild_filters() {
            self.runtime_bindings.pop();
            let _ = self.rebuild_filters();
            return Err(e);
        }
        Ok(())
    }

    /// Carries out what the spanning tree asked for; returns whether a
    /// port's view changed.
    fn apply_stp_effects(&mut self) -> bool {
        let Some(stp) = self.stp.as_mut() else {
            return false;
        };
        stp.poll();
        stp.drain(&mut self.effects);
        let mut changed = false;
        for e in std::mem::take(&mut self.effects) {
            match e {
                Effect::Send { port, frame } => self.inject(port, &frame),
                Effect::PortState {
                    port,
                    learning,
                    forwarding,
                } => {
                    let p = &mut self.ports[port as usize];
                    p.stp_learning = learning;
                    p.stp_forwarding = forwarding;
                    changed = true;
                }
                Effect::Flush { port } => {
                    self.fdb.flush_port(port);
                }
            }
        }
        if changed {
            self.refresh_port_views();
        }
        changed
    }

    /// Hands a frame to worker 0 to send on `port`.
    fn inject(&mut self, port: PortIndex, frame: &[u8]) {
        let Some(mbuf) = self.pool.alloc_with(frame) else {
            self.inject_failed += 1;
            return;
        };
        if self
            .workers
            .first()
            .is_none_or(|w| w.inject.push(Injected { port, mbuf }).is_err())
        {
            self.inject_failed += 1;
        }
    }

    /// Administratively enables or disables a port.
    fn set_admin(&mut self, i: usize, up: bool) {
        let was = self.ports[i].enabled();
        self.ports[i].admin_up = up;
        let now = self.ports[i].enabled();
        if was != now {
            self.port_enabled_changed(i, now);
        }
    }

    fn port_enabled_changed(&mut self, i: usize, enabled: bool) {
        if let Some(stp) = self.stp.as_mut() {
            if enabled {
                stp.port_up(i as PortIndex, self.ports[i].eth.link().speed_mbps);
            } else {
                stp.port_down(i as PortIndex);
            }
        }
        if !enabled {
            self.fdb.flush_port(i as PortIndex);
        }
        self.refresh_port_views();
    }

    fn publish(&mut self) {
        self.epoch += 1;
        let snap = self.builder.build(self.epoch, self.fdb.view());
        self.fdb.mark_published();
        self.publisher.publish(snap);
    }

    fn now_secs(&self) -> u32 {
        self.started.elapsed().as_secs() as u32
    }

    /// Runs the control lcore until `stop` is set.
    pub fn run(&mut self, requests: Receiver<Envelope>, stop: &AtomicBool) {
        let mut last_publish = Instant::now();
        let mut last_carrier = Instant::now();
        let mut last_age = Instant::now();
        let mut ports_changed = false;
        while !stop.load(Ordering::Relaxed) {
            let now_secs = self.now_secs();
            self.clock.set(now_secs);

            for w in 0..self.workers.len() {
                let shared = self.workers[w].clone();
                while let Some(ev) = shared.learn.pop() {
                    if let LearnOutcome::Moved { from } = self.fdb.learn(ev.key, ev.port, now_secs)
                    {
                        debug!(
                            mac = %fmt_mac(ev.key.mac()), vlan = ev.key.vid(),
                            from = %self.ports[from as usize].name,
                            to = %self.ports[ev.port as usize].name, "station moved"
                        );
                    }
                }
                while let Some(ev) = shared.bindings.pop() {
                    let b = RuntimeBinding {
                        port: ev.port as usize,
                        binding: Ipv4Binding {
                            vid: ev.vid,
                            ip: ev.ip,
                            mac: MacAddr(ev.mac),
                        },
                        origin: BindingOrigin::Learned,
                    };
                    let known = self.runtime_bindings.iter().any(|x| x.port == b.port);
                    if !known && b.port < self.ports.len() {
                        info!(port = %self.ports[b.port].name, ip = %ev.ip, mac = %fmt_mac(ev.mac),
                              "ARPless: binding learned and locked");
                        if let Err(e) = self.add_binding(b) {
                            warn!("ARPless: cannot learn binding: {e}");
                        }
                        ports_changed = true;
                    }
                }
                while let Some(p) = shared.punt.pop() {
                    let kind = match p.kind {
                        PuntKind::Bpdu => "bpdu",
                        PuntKind::Sstp => "sstp",
                    };
                    *self.control_frames.entry(kind.into()).or_default() += 1;
                    let i = p.port as usize;
                    if p.kind != PuntKind::Bpdu || i >= self.ports.len() {
                        continue;
                    }
                    if self.ports[i].kind == PortKind::Edge {
                        // BPDU guard: a bridge on a port configured for hosts.
                        if self.ports[i].admin_up {
                            self.ports[i].bpdu_guard_trips += 1;
                            let frame = p.mbuf.data();
                            let src = frame
                                .get(6..12)
                                .map(|m| fmt_mac(m.try_into().unwrap_or_default()))
                                .unwrap_or_default();
                            let sender = match decode_bpdu_frame(frame) {
                                Ok(f) => format!("{:?}", f.bpdu),
                                Err(e) => format!("undecodable: {e}"),
                            };
                            warn!(target: "sstp", port = %self.ports[i].name, src = %src,
                                bpdu = %sender,
                                "BPDU guard: BPDU received on an edge port, port disabled \
                                 (re-enable with `satctl port {} up`)", self.ports[i].name);
                            self.set_admin(i, false);
                            ports_changed = true;
                        }
                        continue;
                    }
                    if self.ports[i].enabled() {
                        if let Some(stp) = self.stp.as_mut() {
                            stp.receive(p.port, p.mbuf.data());
                        }
                    }
                }
            }

            if last_carrier.elapsed() >= CARRIER_INTERVAL {
                last_carrier = Instant::now();
                for i in 0..self.ports.len() {
                    let p = &self.ports[i];
                    let up = p
                        .iface
                        .as_deref()
                        .map(read_carrier)
                        .unwrap_or_else(|| p.eth.link().up);
                    if up != p.carrier {
                        info!(target: "sstp", port = %p.name, up, "link {}", if up { "up" } else { "down" });
                        let was = self.ports[i].enabled();
                        self.ports[i].carrier = up;
                        if was != self.ports[i].enabled() {
                            self.port_enabled_changed(i, !was);
                        }
                        ports_changed = true;
                    }
                }
            }

            if last_age.elapsed() >= Duration::from_secs(1) {
                last_age = Instant::now();
                let n = self.fdb.age(now_secs);
                if n > 0 {
                    debug!(entries = n, "aged out");
                }
            }

            ports_changed |= self.apply_stp_effects();

            // Port changes publish at once (they stop or start forwarding);
            // FDB-only changes are batched to one publish per interval.
            if ports_changed || (self.fdb.is_dirty() && last_publish.elapsed() >= PUBLISH_INTERVAL)
            {
                self.publish();
                ports_changed = false;
                last_publish = Instant::now();
            }

            match requests.recv_timeout(Duration::from_millis(1)) {
                Ok((req, reply)) => {
                    let resp = self.handle(req);
                    let _ = reply.send(resp);
                }
                Err(channel::RecvTimeoutError::Timeout) => {}
                Err(channel::RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(Duration::from_millis(1))
                }
            }
        }
    }

    fn port_index(&self, name: &str) -> Result<usize, String> {
        self.ports
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| {
                let names: Vec<_> = self.ports.iter().map(|p| p.name.as_str()).collect();
                format!("no port {name:?} (ports: {})", names.join(", "))
            })
    }

    fn stp_mut(&mut self) -> Result<&mut SpanningTree, String> {
        self.stp
            .as_mut()
            .ok_or_else(|| "spanning tree is disabled ([stp] enabled = false)".into())
    }

    fn handle(&mut self, req: Request) -> Response {
        let r: Result<serde_json::Value, String> = match req {
            Request::ShowPorts => Ok(serde_json::to_value(self.port_infos()).unwrap_or_default()),
            Request::ShowFdb => Ok(serde_json::to_value(self.fdb_rows()).unwrap_or_default()),
            Request::ShowStats => Ok(serde_json::to_value(self.stats()).unwrap_or_default()),
            Request::ShowStp => self.stp_mut().map(|s| s.status_json()),
            Request::SetPriority { priority } => {
                self.stp_mut().and_then(|s| s.set_priority(priority)).map(|_| {
                    info!(target: "sstp", priority, "bridge priority set");
                    serde_json::Value::Null
                })
            }
            Request::SetPortCost { port, cost } => self.port_index(&port).and_then(|i| {
                self.stp_mut()?.set_port_cost(i as PortIndex, cost)?;
                info!(target: "sstp", %port, cost, "port path cost set");
                Ok(serde_json::Value::Null)
            }),
            Request::SetPortPriority { port, priority } => self.port_index(&port).and_then(|i| {
                self.stp_mut()?.set_port_priority(i as PortIndex, priority)?;
                info!(target: "sstp", %port, priority, "port priority set");
                Ok(serde_json::Value::Null)
            }),
            Request::ShowFilters => Ok(self.filter_report()),
            Request::ArpShow => Ok(self.arp_report()),
            Request::ArpAdd { port, ip, mac, vlan } => self.port_index(&port).and_then(|i| {
                let m = crate::config::parse_mac(&mac)
                    .ok_or_else(|| format!("{mac:?} is not a MAC address"))?;
                let vid = vlan.unwrap_or_else(|| edge_filters::default_binding_vid(&self.ports[i].cfg));
                self.add_binding(RuntimeBinding {
                    port: i,
                    binding: Ipv4Binding { vid, ip, mac: MacAddr(m) },
                    origin: BindingOrigin::Api,
                })?;
                info!(%port, %ip, %mac, vid, "ARPless binding added");
                Ok(serde_json::Value::Null)
            }),
            Request::ArpDel { port, ip, vlan } => self.port_index(&port).and_then(|i| {
                let vid = vlan.unwrap_or_else(|| edge_filters::default_binding_vid(&self.ports[i].cfg));
                let before = self.runtime_bindings.len();
                self.runtime_bindings
                    .retain(|x| !(x.port == i && x.binding.ip == ip && x.binding.vid == vid));
                if self.runtime_bindings.len() == before {
                    return Err(format!(
                        "no run-time binding of {ip} (VLAN {vid}) on {port}; configured bindings are changed in the config file"
                    ));
                }
                self.rebuild_filters()?;
                info!(%port, %ip, vid, "ARPless binding removed");
                Ok(serde_json::Value::Null)
            }),
            Request::PortAdmin { port, up } => self.port_index(&port).map(|i| {
                info!(target: "sstp", %port, up, "port administratively {}", if up { "up" } else { "down" });
                self.set_admin(i, up);
                serde_json::Value::Null
            }),
        };
        // Settings take effect (and are published) before the answer.
        if self.apply_stp_effects() || matches!(r, Ok(serde_json::Value::Null)) {
            self.publish();
        }
        match r {
            Ok(v) => Response {
                ok: true,
                error: None,
                data: v,
            },
            Err(e) => Response::err(e),
        }
    }

    fn filter_report(&self) -> serde_json::Value {
        let mut ports = Vec::new();
        for (i, p) in self.ports.iter().enumerate() {
            if self.builder.policies[i].is_none() {
                continue;
            }
            let mut t = PortTally::default();
            for w in &self.workers {
                t.add(&w.counters.ports[i].read());
            }
            let verdicts: BTreeMap<&str, u64> = (0..FILTER_SLOTS)
                .map(|s| (filter_slot_label(s), t.filter[s]))
                .collect();
            ports.push(serde_json::json!({ "name": p.name, "verdicts": verdicts }));
        }
        serde_json::json!({ "ports": ports })
    }

    fn arp_report(&self) -> serde_json::Value {
        let mut rows = Vec::new();
        let row = |port: Option<&str>, b: &Ipv4Binding, origin: BindingOrigin| {
            serde_json::json!({
                "port": port, "vlan": b.vid, "ip": b.ip.to_string(),
                "mac": fmt_mac(b.mac.0), "origin": origin,
            })
        };
        for p in &self.ports {
            for b in edge_filters::config_bindings(&p.cfg).unwrap_or_default() {
                rows.push(row(Some(&p.name), &b, BindingOrigin::Config));
            }
        }
        for b in &self.cfg.filters.bindings {
            if let Some(m) = crate::config::parse_mac(&b.mac) {
                let ib = Ipv4Binding {
                    vid: b.vlan.unwrap_or(0),
                    ip: b.ip,
                    mac: MacAddr(m),
                };
                rows.push(row(None, &ib, BindingOrigin::Config));
            }
        }
        for b in &self.runtime_bindings {
            rows.push(row(Some(&self.ports[b.port].name), &b.binding, b.origin));
        }
        serde_json::Value::Array(rows)
    }

    fn port_infos(&self) -> Vec<PortInfo> {
        let snap = self.publisher.load_full();
        self.ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let link = p.eth.link();
                let view = snap.ports[i];
                PortInfo {
                    index: i as u16,
                    name: p.name.clone(),
                    backend: p.backend.into(),
                    dpdk_port: p.eth.id(),
                    mac: fmt_mac(p.eth.mac()),
                    link_up: p.carrier,
                    speed_mbps: link.speed_mbps,
                    kind: format!("{:?}", p.kind).to_lowercase(),
                    admin_up: p.admin_up,
                    learning: view.learning,
                    forwarding: view.forwarding,
                    fdb_entries: self.fdb.port_len(i as PortIndex),
                }
            })
            .collect()
    }

    fn fdb_rows(&self) -> Vec<FdbRow> {
        let now = self.now_secs();
        self.fdb
            .entries()
            .into_iter()
            .map(|(k, e)| FdbRow {
                vlan: k.vid(),
                mac: fmt_mac(k.mac()),
                port: self
                    .ports
                    .get(e.port as usize)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                age_secs: now.saturating_sub(e.stamp),
            })
            .collect()
    }

    /// Every counter, summed over workers.
    pub fn stats(&self) -> StatsReport {
        let mut tallies = vec![PortTally::default(); self.ports.len()];
        let mut workers = Vec::new();
        let mut learn_queue_full = 0;
        for (w, shared) in self.workers.iter().enumerate() {
            for (t, c) in tallies.iter_mut().zip(shared.counters.ports.iter()) {
                t.add(&c.read());
            }
            learn_queue_full += shared.counters.learn_queue_full.load(Ordering::Relaxed);
            workers.push(WorkerStats {
                index: w,
                busy_cycles: shared.counters.busy_cycles.load(Ordering::Relaxed),
                busy_packets: shared.counters.busy_packets.load(Ordering::Relaxed),
            });
        }
        let stp = self.stp.as_ref().map(|s| s.status());
        let ports = self
            .ports
            .iter()
            .enumerate()
            .zip(tallies.iter())
            .map(|((i, p), t)| {
                let ps = stp.as_ref().and_then(|s| s.ports.get(i));
                // BPDU counts by type, for the JSON map.
                let by_type = |config: u64, tcn: u64, rst: u64| -> BTreeMap<String, u64> {
                    [("config", config), ("tcn", tcn), ("rst", rst)]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect()
                };
                PortStats {
                    name: p.name.clone(),
                    rx_packets: t.rx_packets,
                    rx_bytes: t.rx_bytes,
                    tx_packets: t.tx_packets,
                    tx_bytes: t.tx_bytes,
                    punted: t.punted,
                    drops: DropReason::ALL
                        .iter()
                        .map(|r| (r.as_str().to_string(), t.drop_count(*r)))
                        .chain([(BEFORE_START.to_string(), p.rx_before_start)])
                        .collect(),
                    rx_missed: {
                        let s = p.eth.stats();
                        s.imissed + s.rx_nombuf
                    },
                    stp_role: ps.map(|ps| role_name(ps.role).into()),
                    stp_state: ps.map(|ps| state_name(ps.state).into()),
                    bpdus_rx: ps
                        .map(|ps| {
                            by_type(
                                ps.counters.rx_config,
                                ps.counters.rx_tcn,
                                ps.counters.rx_rst,
                            )
                        })
                        .unwrap_or_default(),
                    bpdus_tx: ps
                        .map(|ps| {
                            by_type(
                                ps.counters.tx_config,
                                ps.counters.tx_tcn,
                                ps.counters.tx_rst,
                            )
                        })
                        .unwrap_or_default(),
                    bpdu_guard_trips: p.bpdu_guard_trips,
                    filter_verdicts: if self.builder.policies[i].is_some() {
                        (0..FILTER_SLOTS)
                            .map(|s| (filter_slot_label(s).to_string(), t.filter[s]))
                            .collect()
                    } else {
                        BTreeMap::new()
                    },
                    admin_up: p.admin_up,
                    link_up: p.carrier,
                }
            })
            .collect();
        let fs = self.fdb.stats();
        StatsReport {
            bridge: self.cfg.name().into(),
            uptime_secs: self.started.elapsed().as_secs_f64(),
            ports,
            fdb: FdbStatsReport {
                entries: self.fdb.len() as u64,
                capacity: self.fdb.capacity() as u64,
                learned: fs.learned,
                moved: fs.moved,
                aged: fs.aged,
                flushed: fs.flushed,
                table_full: fs.table_full,
                port_limit: fs.port_limit,
                learn_queue_full,
            },
            snapshot_publishes: self.publisher.publishes(),
            snapshot_epoch: self.epoch,
            workers,
            mempool_available: self.pool.available() as u64,
            tsc_hz: self.eal.tsc_hz(),
            control_frames: self.control_frames.clone(),
            stp_topology_changes: self.stp.as_ref().map_or(0, |s| s.topology_changes),
            stp_invalid_bpdus: self.stp.as_ref().map_or(0, |s| s.invalid_bpdus),
            control_tx_failed: self.inject_failed,
        }
    }

    /// Stops the workers and the ports.
    pub fn shutdown(mut self) {
        for w in &self.workers {
            w.stop.store(true, Ordering::Relaxed);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // Free what is still queued before the ports go away.
        for w in &self.workers {
            while w.punt.pop().is_some() {}
            while w.inject.pop().is_some() {}
        }
        for p in self.ports.drain(..) {
            p.eth.stop();
        }
        info!("stopped");
    }
}

/// A MAC as aa:bb:cc:dd:ee:ff (the filters' `MacAddr` display).
pub fn fmt_mac(m: [u8; 6]) -> String {
    MacAddr(m).to_string()
}
