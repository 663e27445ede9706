//! The worker lcores as the control lcore sees them: their plans, spawning
//! and pinning them, draining what they queued for the control plane,
//! handing them frames to send, and stopping them.

use crossbeam::channel::Receiver;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::{error, info};

use satellite_dataplane::counters::PortTally;
use satellite_dataplane::snapshot::port_capacity;
use satellite_dataplane::snapshot::Publisher;
use satellite_dataplane::worker::{
    self, CoarseClock, Doorbell, Injected, WorkerPlan, WorkerShared,
};
use satellite_dataplane::{lcore, Mempool};

/// Events of one kind the control loop takes from one worker per pass: a
/// learn costs the plane some microseconds (FDB, MAC home, LSP), so 1,024
/// keep a pass within a few milliseconds, well inside a 10 ms HELLO.
const DRAIN_BUDGET: usize = 1024;

use crate::config::Config;
use crate::plane::{ControlPlane, Outgoing};
use crate::ports::Ports;

/// The running workers.
pub(crate) struct Workers {
    shared: Vec<Arc<WorkerShared>>,
    threads: Vec<JoinHandle<()>>,
    /// Rung by workers when they queue something for the control plane.
    doorbell: Receiver<()>,
    pool: Arc<Mempool>,
    /// Control-plane frames lost because the injection queue or the mbuf
    /// pool was exhausted.
    inject_failed: u64,
}

impl Workers {
    /// Spawns one worker per configured lcore, each polling its own queue
    /// of every port the published snapshot names, and pinned to its core.
    pub(crate) fn spawn(
        cfg: &Config,
        ports: &Ports,
        pool: Arc<Mempool>,
        publisher: &Arc<Publisher>,
        clock: &Arc<CoarseClock>,
        tsc_hz: u64,
    ) -> Result<Workers, String> {
        let n = cfg.dataplane.workers as usize;
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let capacity = port_capacity(ports.list.len());
        let (bell, doorbell) = Doorbell::new();
        let mut w = Workers {
            shared: Vec::new(),
            threads: Vec::new(),
            doorbell,
            pool: pool.clone(),
            inject_failed: 0,
        };
        for i in 0..n {
            // Default: the last cores, leaving core 0 to the system.
            let core = cfg
                .dataplane
                .worker_cores
                .get(i)
                .copied()
                .or_else(|| Some(cpus.saturating_sub(1 + (i % cpus.max(1)))));
            let plan = WorkerPlan {
                index: i,
                workers: n as u32,
                core,
                tx_queue: i as u16,
                max_idle_sleep: Duration::from_micros(cfg.dataplane.max_idle_sleep_us),
                pool: pool.clone(),
                tsc_hz,
            };
            let shared = Arc::new(WorkerShared::new(capacity, 8192, bell.clone()));
            let (s, p, c) = (shared.clone(), publisher.clone(), clock.clone());
            let t = std::thread::Builder::new()
                .name(format!("worker{i}"))
                .spawn(move || {
                    match lcore::register_current_thread(plan.core) {
                        Ok(lc) => {
                            info!(worker = i, lcore = lc, core = ?plan.core, "worker started")
                        }
                        Err(e) => {
                            error!(worker = i, "cannot register with DPDK: {e}");
                            return;
                        }
                    }
                    worker::run(&plan, &s, &p, &c);
                    lcore::unregister_current_thread();
                })
                .map_err(|e| format!("spawn worker: {e}"))?;
            w.shared.push(shared);
            w.threads.push(t);
        }
        Ok(w)
    }

    /// Waits, at most `timeout`, until every worker runs on port devices
    /// of `generation` or later; true when they do. Workers look once per
    /// poll iteration, so this takes an idle sleep at most
    /// (`dataplane.max_idle_sleep_us`). False means a worker is stuck or
    /// gone: a device it may still touch must then be left open.
    pub(crate) fn wait_for_devices(&self, generation: u64, timeout: Duration) -> bool {
        let end = std::time::Instant::now() + timeout;
        loop {
            let behind = self
                .shared
                .iter()
                .any(|w| w.devices_generation.load(Ordering::Acquire) < generation);
            if !behind {
                return true;
            }
            if std::time::Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    /// What workers ring when they queue something.
    pub(crate) fn doorbell(&self) -> &Receiver<()> {
        &self.doorbell
    }

    /// Moves everything the workers queued into the control plane: learn
    /// events, learned bindings, punted control frames.
    /// Hands the workers' queues to the plane: control frames first, then
    /// bindings, then learned sources, each kind at most a pass's budget.
    /// Returns true when something was left for the next pass.
    ///
    /// A worker fills a queue as fast as frames arrive (a MAC flood makes a
    /// learn event per frame); an unbounded drain kept the control loop
    /// from sending HELLOs and BPDUs for longer than a neighbour's dead
    /// time, and one host's flood took the switch's links down. What is
    /// left waits in its queue (a full learn queue drops events and counts
    /// them: the source is learned from a later frame).
    pub(crate) fn drain_into(&self, plane: &mut ControlPlane, now: Duration) -> bool {
        while self.doorbell.try_recv().is_ok() {}
        let mut backlog = false;
        for shared in &self.shared {
            for _ in 0..DRAIN_BUDGET {
                let Some(p) = shared.punt.pop() else { break };
                plane.punt(now, p.port, p.kind, p.mbuf.data());
            }
            for _ in 0..DRAIN_BUDGET {
                let Some(ev) = shared.bindings.pop() else {
                    break;
                };
                plane.binding_learned(ev);
            }
            for _ in 0..DRAIN_BUDGET {
                let Some(ev) = shared.learn.pop() else { break };
                plane.learn(now, ev);
            }
            backlog |=
                !shared.punt.is_empty() || !shared.bindings.is_empty() || !shared.learn.is_empty();
        }
        backlog
    }

    /// Hands the control plane's frames to worker 0 to send.
    pub(crate) fn inject(&mut self, frames: impl Iterator<Item = Outgoing>) {
        for Outgoing { port, frame } in frames {
            let Some(mbuf) = self.pool.alloc_with(&frame) else {
                self.inject_failed += 1;
                continue;
            };
            if self
                .shared
                .first()
                .is_none_or(|w| w.inject.push(Injected { port, mbuf }).is_err())
            {
                self.inject_failed += 1;
            }
        }
    }

    /// Frames of the control plane that could not be sent.
    pub(crate) fn inject_failed(&self) -> u64 {
        self.inject_failed
    }

    /// Every worker's counters for `ports` ports, summed.
    pub(crate) fn tallies(&self, ports: usize) -> Vec<PortTally> {
        let mut t = vec![PortTally::default(); ports];
        for w in &self.shared {
            for (t, c) in t.iter_mut().zip(w.counters.ports.iter()) {
                t.add(&c.read());
            }
        }
        t
    }

    /// Per worker: busy cycles and packets; and the learn events lost to a
    /// full queue, summed.
    pub(crate) fn load(&self) -> (Vec<(u64, u64)>, u64) {
        let mut lost = 0;
        let busy = self
            .shared
            .iter()
            .map(|w| {
                let c = &w.counters;
                lost += c.learn_queue_full.load(Ordering::Relaxed);
                (
                    c.busy_cycles.load(Ordering::Relaxed),
                    c.busy_packets.load(Ordering::Relaxed),
                )
            })
            .collect();
        (busy, lost)
    }

    /// Stops the workers and frees what is still queued.
    pub(crate) fn stop(mut self) {
        for w in &self.shared {
            w.stop.store(true, Ordering::Relaxed);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        for w in &self.shared {
            while w.punt.pop().is_some() {}
            while w.inject.pop().is_some() {}
        }
    }
}
