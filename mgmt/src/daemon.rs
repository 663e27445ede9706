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
use satellite_dataplane::worker::{self, CoarseClock, RxQueue, WorkerPlan, WorkerShared};
use satellite_dataplane::{lcore, Eal, Mempool};

use crate::config::{Backend, Config, PortKind};
use crate::control::{
    FdbRow, FdbStatsReport, PortInfo, PortStats, Request, Response, StatsReport, WorkerStats,
};

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
    pub eth: EthPort,
    /// Kernel carrier (or DPDK link) as last seen.
    pub carrier: bool,
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
}

fn bpffs_mounted() -> bool {
    std::fs::read_to_string("/proc/mounts")
        .map(|m| m.lines().any(|l| l.split_whitespace().nth(2) == Some("bpf")))
        .unwrap_or(false)
}

fn read_carrier(iface: &str) -> Option<bool> {
    let s = std::fs::read_to_string(format!("/sys/class/net/{iface}/carrier")).ok()?;
    Some(s.trim() == "1")
}

/// EAL arguments for this process: no hugepages by default, a private file
/// prefix so many switches share a machine, and the user's extras.
pub fn eal_args(cfg: &Config) -> Vec<String> {
    let user = &cfg.dataplane.eal;
    let mut a: Vec<String> = Vec::new();
    let has = |flag: &str| user.iter().any(|u| u == flag || u.starts_with(&format!("{flag}=")));
    if !has("--huge-dir") && !has("--socket-mem") && !has("--no-huge") {
        a.push("--no-huge".into());
    }
    if !has("-m") && !has("--socket-mem") {
        a.extend(["-m".into(), cfg.dataplane.memory_mb.to_string()]);
    }
    if !has("--file-prefix") {
        a.push(format!("--file-prefix=satellite-{}-{}", cfg.name(), std::process::id()));
    }
    if !has("--no-shconf") && !has("--proc-type") {
        a.push("--no-shconf".into());
    }
    if !has("-l") && !has("--lcores") && !has("-c") {
        // The control lcore may float over every CPU; workers are pinned
        // separately once registered.
        let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        a.push(format!("--lcores=0@(0-{})", n - 1));
    }
    let wants_pci = user.iter().any(|u| u == "-a" || u == "--allow" || u.starts_with("--allow="));
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
        let mut specs: Vec<(String, Option<String>, &'static str, PortKind, u16)> = Vec::new();
        for (i, p) in cfg.ports.iter().enumerate() {
            if p.dpdk {
                let id = EthPort::id_by_name(&p.name).map_err(|e| e.to_string())?;
                specs.push((p.name.clone(), None, "dpdk", p.kind, id));
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
                    "iface={},qpairs={workers_n},blocksz=4096,framesz=2048,framecnt=1024",
                    p.name
                );
                port::create_vdev(&vname, &args).map_err(|e| e.to_string())?;
                made = Some((vname, "af_packet"));
            }
            let (vname, backend) = made.expect("one backend was created");
            let id = EthPort::id_by_name(&vname).map_err(|e| e.to_string())?;
            specs.push((p.name.clone(), Some(p.name.clone()), backend, p.kind, id));
        }
        for id in 0..port::port_count() {
            if !specs.iter().any(|s| s.4 == id) {
                specs.push((EthPort::name_of(id), None, "dpdk", PortKind::Auto, id));
            }
        }
        if specs.is_empty() {
            return Err("no ports: give --iface IF (repeatable), [[port]] in the config, \
                        or DPDK devices with --eal"
                .into());
        }
        if specs.len() > u16::MAX as usize {
            return Err("too many ports".into());
        }

        let mut ports = Vec::new();
        for (name, iface, backend, kind, id) in specs {
            let eth = EthPort::start(id, workers_n, workers_n, cfg.dataplane.ring_size, &pool)
                .map_err(|e| format!("port {name}: {e}"))?;
            let carrier = iface.as_deref().and_then(read_carrier).unwrap_or(eth.link().up);
            info!(port = %name, backend, dpdk_port = id, mac = %fmt_mac(eth.mac()), carrier, "port started");
            ports.push(SwitchPort { name, iface, backend, kind, eth, carrier });
        }

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
        };
        d.apply_carrier_to_builder();
        d.publish();
        d.start_workers()?;
        Ok(d)
    }

    fn start_workers(&mut self) -> Result<(), String> {
        let n = self.cfg.dataplane.workers as usize;
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
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
                    .map(|(i, p)| RxQueue { port: i as PortIndex, dpdk_port: p.eth.id(), queue: w as u16 })
                    .collect(),
                dpdk_ports: dpdk_ports.clone(),
                tx_queue: w as u16,
                max_idle_sleep: Duration::from_micros(self.cfg.dataplane.max_idle_sleep_us),
            };
            let shared = Arc::new(WorkerShared::new(self.ports.len(), 8192));
            let (s, p, c) = (shared.clone(), self.publisher.clone(), self.clock.clone());
            let t = std::thread::Builder::new()
                .name(format!("worker{w}"))
                .spawn(move || {
                    match lcore::register_current_thread(plan.core) {
                        Ok(lc) => info!(worker = w, lcore = lc, core = ?plan.core, "worker started"),
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

    fn apply_carrier_to_builder(&mut self) {
        for (i, p) in self.ports.iter().enumerate() {
            let v = &mut self.builder.ports[i];
            v.forwarding = p.carrier;
            v.learning = p.carrier;
            v.bpdu_guard = p.kind == PortKind::Edge;
        }
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
                    match self.fdb.learn(ev.key, ev.port, now_secs) {
                        LearnOutcome::Moved { from } => debug!(
                            mac = %fmt_mac(ev.key.mac()), vlan = ev.key.vid(),
                            from = %self.ports[from as usize].name,
                            to = %self.ports[ev.port as usize].name, "station moved"
                        ),
                        LearnOutcome::TableFull | LearnOutcome::PortLimit => {}
                        _ => {}
                    }
                }
                while let Some(p) = shared.punt.pop() {
                    let kind = match p.kind {
                        PuntKind::Bpdu => "bpdu",
                        PuntKind::Sstp => "sstp",
                    };
                    *self.control_frames.entry(kind.into()).or_default() += 1;
                    drop(p.mbuf);
                }
            }

            if last_carrier.elapsed() >= CARRIER_INTERVAL {
                last_carrier = Instant::now();
                for i in 0..self.ports.len() {
                    let p = &self.ports[i];
                    let up = p.iface.as_deref().and_then(read_carrier).unwrap_or_else(|| p.eth.link().up);
                    if up != p.carrier {
                        info!(target: "sstp", port = %p.name, up, "link {}", if up { "up" } else { "down" });
                        self.ports[i].carrier = up;
                        if !up {
                            self.fdb.flush_port(i as PortIndex);
                        }
                        ports_changed = true;
                    }
                }
                if ports_changed {
                    self.apply_carrier_to_builder();
                }
            }

            if last_age.elapsed() >= Duration::from_secs(1) {
                last_age = Instant::now();
                let n = self.fdb.age(now_secs);
                if n > 0 {
                    debug!(entries = n, "aged out");
                }
            }

            if (self.fdb.is_dirty() || ports_changed) && last_publish.elapsed() >= PUBLISH_INTERVAL {
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

    fn handle(&mut self, req: Request) -> Response {
        match req {
            Request::ShowPorts => Response::ok(self.port_infos()),
            Request::ShowFdb => Response::ok(self.fdb_rows()),
            Request::ShowStats => Response::ok(self.stats()),
        }
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
                port: self.ports.get(e.port as usize).map(|p| p.name.clone()).unwrap_or_default(),
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
        let ports = self
            .ports
            .iter()
            .zip(tallies.iter())
            .map(|(p, t)| PortStats {
                name: p.name.clone(),
                rx_packets: t.rx_packets,
                rx_bytes: t.rx_bytes,
                tx_packets: t.tx_packets,
                tx_bytes: t.tx_bytes,
                punted: t.punted,
                drops: DropReason::ALL
                    .iter()
                    .map(|r| (r.as_str().to_string(), t.drop_count(*r)))
                    .collect(),
                rx_missed: {
                    let s = p.eth.stats();
                    s.imissed + s.rx_nombuf
                },
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

pub fn fmt_mac(m: [u8; 6]) -> String {
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
}
