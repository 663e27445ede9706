//! `satellited`: assembles the parts and runs the control lcore's loop.
//!
//! The parts and who owns what: [`Ports`] (devices and carrier),
//! [`Workers`] (the worker lcores and their queues), [`ControlPlane`] (the
//! only writer of switch state and of snapshots) and the satctl requests
//! ([`crate::requests`]), run-time changes (`crate::reload`: ports added
//! and removed, reloads). The loop only moves inputs to the plane and the
//! plane's frames to the workers, then sleeps until the earliest deadline,
//! a worker's doorbell or a request.

use crossbeam::channel::{self, Receiver};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::info;

use satellite_dataplane::tablemem;
use satellite_dataplane::worker::CoarseClock;
use satellite_dataplane::{Eal, Mempool};

use crate::config::{Config, ConfigSource};
use crate::hugepages::{self, Memory};
use crate::plane::{secs, ControlPlane};
use crate::port_changes::Parts;
use crate::ports::{eal_args, Ports};
use crate::reload::Reloader;
use crate::requests::{self, Envelope, Views};
use crate::workers::Workers;

/// The longest the loop sleeps: a bound on how late `stop` is noticed.
const MAX_SLEEP: Duration = Duration::from_millis(100);

/// A running switch.
pub struct Daemon {
    // Field order is drop order: everything DPDK before the EAL.
    workers: Workers,
    ports: Ports,
    plane: ControlPlane,
    changes: Reloader,
    pool: Arc<Mempool>,
    clock: Arc<CoarseClock>,
    started: Instant,
    /// The EAL runs on hugepages.
    hugepages: bool,
    eal: Eal,
}

impl Daemon {
    /// Initialises DPDK, creates and starts every port, starts the workers.
    /// `cfg` is what `source` gave; a reload reads `source` again.
    pub fn start(cfg: Config, source: ConfigSource) -> Result<Daemon, String> {
        let changes = Reloader::new(source, cfg.clone());
        let memory = hugepages::decide(
            cfg.dataplane.hugepages,
            &cfg.dataplane.eal,
            &hugepages::Machine::read(),
            cfg.dataplane.memory_mb,
        )?;
        match &memory {
            Memory::Hugepages { dir, page_size } => {
                info!(dir = %dir.display(), page_kb = page_size >> 10, "running on hugepages")
            }
            Memory::NoHuge { why } => info!(%why, "running without hugepages (--no-huge)"),
            Memory::AsEalArgsSay => info!("memory as dataplane.eal says"),
        }
        let args = eal_args(&cfg, &memory);
        info!(args = %args.join(" "), "initialising DPDK");
        let eal = Eal::init(&args).map_err(|e| e.to_string())?;
        // Before the FDB and the first snapshot are made.
        if tablemem::use_dpdk_heap_if_hugepages(&eal) {
            info!("FDB, snapshots and filter tables in DPDK's hugepage heap");
        }
        let pool = Arc::new(Mempool::new("satellite_pkts", cfg.dataplane.mbufs, 256)?);
        let ports = Ports::open(&cfg, &pool)?;
        let plane = ControlPlane::new(cfg, ports.setups())?;
        ports.fast_carrier().attach(plane.live_word());
        let clock = Arc::new(CoarseClock::default());
        let workers = Workers::spawn(
            plane.config(),
            &ports,
            pool.clone(),
            plane.publisher(),
            &clock,
            eal.tsc_hz(),
        )?;
        let mut d = Daemon {
            workers,
            ports,
            plane,
            changes,
            pool,
            clock,
            started: Instant::now(),
            hugepages: eal.hugepages(),
            eal,
        };
        // The engine's first decisions (edge ports forward at once) reach
        // the workers even if nothing else happens afterwards.
        d.step();
        Ok(d)
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// One pass: workers' queues and carrier into the plane, the plane's
    /// timers, its frames to the workers. Returns its time and whether the
    /// workers' queues still hold work (then the loop does not sleep).
    fn step(&mut self) -> (Duration, bool) {
        let now = self.now();
        self.clock.set(secs(now));
        let backlog = self.workers.drain_into(&mut self.plane, now);
        let plane = &mut self.plane;
        let looked = self
            .ports
            .poll_carrier(now, |i, up, speed| plane.carrier(now, i, up, speed));
        self.plane.poll(now);
        if looked {
            self.plane.resync_liveness();
        }
        self.workers.inject(self.plane.take_outbox());
        (now, backlog)
    }

    /// Port changes and reloads, through their owner.
    fn change(&mut self, req: crate::control::Request) -> Result<serde_json::Value, String> {
        let now = self.now();
        let mut parts = Parts {
            plane: &mut self.plane,
            ports: &mut self.ports,
            workers: &self.workers,
            pool: &self.pool,
        };
        let r = self.changes.handle(req, now, &mut parts);
        self.workers.inject(self.plane.take_outbox());
        r
    }

    /// Runs the control lcore until `stop` is set; `hup` (SIGHUP) reloads
    /// the configuration.
    pub fn run(&mut self, requests: Receiver<Envelope>, stop: &AtomicBool, hup: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            if hup.swap(false, Ordering::Relaxed) {
                tracing::info!("SIGHUP: reloading the configuration");
                // The outcome is logged by the reload itself.
                let _ = self.change(crate::control::Request::Reload);
            }
            let (now, backlog) = self.step();
            let due = self.plane.next_deadline().min(self.ports.next_deadline());
            let wait = if backlog {
                Duration::ZERO
            } else {
                due.saturating_sub(now).min(MAX_SLEEP)
            };
            channel::select! {
                recv(requests) -> msg => match msg {
                    Ok((req, reply)) if Reloader::handles(&req) => {
                        let resp = match self.change(req) {
                            Ok(data) => crate::control::Response::ok(data),
                            Err(e) => crate::control::Response::err(e),
                        };
                        let _ = reply.send(resp);
                    }
                    Ok((req, reply)) => {
                        let now = self.now();
                        let views = Views {
                            ports: &self.ports,
                            workers: &self.workers,
                            mempool_available: self.pool.available() as u64,
                            tsc_hz: self.eal.tsc_hz(),
                            hugepages: self.hugepages,
                            changes: self.changes.report(),
                        };
                        let resp = requests::handle(req, now, &mut self.plane, &views);
                        self.workers.inject(self.plane.take_outbox());
                        let _ = reply.send(resp);
                    }
                    Err(_) => std::thread::sleep(wait),
                },
                recv(self.workers.doorbell()) -> _ => {}
                // The kernel announced a link change: read carrier now.
                recv(self.ports.link_events()) -> _ => self.ports.announce(),
                default(wait) => {}
            }
        }
    }

    /// Stops the workers and the ports, then the EAL (and its runtime
    /// directory) goes with the daemon.
    pub fn shutdown(self) {
        let Daemon {
            workers,
            ports,
            plane,
            pool,
            eal,
            ..
        } = self;
        workers.stop();
        ports.stop();
        drop(plane);
        drop(pool);
        drop(eal);
        info!("stopped");
    }
}
