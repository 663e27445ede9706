//! The run-to-completion worker loop.
//!
//! One loop per worker lcore: receive a burst per (port, queue), classify
//! each frame against the current snapshot, batch by destination port,
//! transmit, and back off when idle. Learn events, punted control frames and
//! frames the control lcore wants sent travel over bounded lock-free queues.

use crossbeam::queue::ArrayQueue;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use crate::backoff::IdleBackoff;
use crate::counters::{PortTally, WorkerCounters};
use crate::eal::rdtsc;
use crate::fdb::FdbKey;
use crate::frame::{classify, DropReason, LearnHint, PuntKind, Verdict};
use crate::snapshot::{PortIndex, Publisher};
use crate::{Mbuf, MbufBatch};

/// Frames per RX/TX burst.
pub const BURST: usize = 32;

/// A learn (or refresh) request from a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearnEvent {
    pub key: FdbKey,
    pub port: PortIndex,
}

/// A control frame handed to the control lcore.
#[derive(Debug)]
pub struct Punted {
    pub port: PortIndex,
    pub kind: PuntKind,
    pub mbuf: Mbuf,
}

/// A frame the control lcore asks a worker to send.
#[derive(Debug)]
pub struct Injected {
    pub port: PortIndex,
    pub mbuf: Mbuf,
}

/// Seconds since the daemon started, ticked by the control lcore; workers
/// read it once per poll iteration for FDB age stamps.
#[derive(Default)]
pub struct CoarseClock(AtomicU32);

impl CoarseClock {
    pub fn set(&self, secs: u32) {
        self.0.store(secs, Relaxed)
    }
    #[inline]
    pub fn now(&self) -> u32 {
        self.0.load(Relaxed)
    }
}

/// What a worker shares with the control lcore.
pub struct WorkerShared {
    pub learn: ArrayQueue<LearnEvent>,
    pub punt: ArrayQueue<Punted>,
    pub inject: ArrayQueue<Injected>,
    pub counters: WorkerCounters,
    pub stop: AtomicBool,
}

impl WorkerShared {
    pub fn new(ports: usize, queue_len: usize) -> Self {
        WorkerShared {
            learn: ArrayQueue::new(queue_len),
            punt: ArrayQueue::new(queue_len.min(1024)),
            inject: ArrayQueue::new(queue_len.min(1024)),
            counters: WorkerCounters::new(ports),
            stop: AtomicBool::new(false),
        }
    }
}

/// One RX queue a worker polls.
#[derive(Debug, Clone, Copy)]
pub struct RxQueue {
    pub port: PortIndex,
    pub dpdk_port: u16,
    pub queue: u16,
}

/// A worker's assignment.
#[derive(Debug, Clone)]
pub struct WorkerPlan {
    pub index: usize,
    /// CPU core to pin to.
    pub core: Option<usize>,
    pub rx: Vec<RxQueue>,
    /// DPDK port id of each switch port (index = [`PortIndex`]).
    pub dpdk_ports: Vec<u16>,
    /// This worker's TX queue on every port.
    pub tx_queue: u16,
    /// Longest idle sleep (see [`IdleBackoff`]).
    pub max_idle_sleep: Duration,
}

/// Remembers which sources were already reported under the current
/// snapshot, so a busy unknown source yields one learn event per publish,
/// not one per frame. Direct-mapped; a collision only costs a duplicate.
struct LearnFilter {
    slots: Box<[(u64, u64)]>,
}

impl LearnFilter {
    const BITS: u32 = 12;
    fn new() -> Self {
        LearnFilter {
            slots: vec![(u64::MAX, u64::MAX); 1 << Self::BITS].into_boxed_slice(),
        }
    }
    /// True when `key` should be reported now.
    #[inline]
    fn first_time(&mut self, key: FdbKey, port: PortIndex, epoch: u64) -> bool {
        let tag = key.raw() ^ ((port as u64) << 60);
        let slot = (tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - Self::BITS)) as usize;
        let s = &mut self.slots[slot];
        if *s == (tag, epoch) {
            return false;
        }
        *s = (tag, epoch);
        true
    }
}

struct TxLane {
    batch: MbufBatch<BURST>,
    pending_bytes: u64,
}

/// Runs the worker loop on the calling thread until `shared.stop` is set.
/// The thread must already be registered with DPDK (see
/// [`crate::lcore::register_current_thread`]).
pub fn run(
    plan: &WorkerPlan,
    shared: &WorkerShared,
    publisher: &Arc<Publisher>,
    clock: &CoarseClock,
) {
    let nports = plan.dpdk_ports.len();
    let mut reader = publisher.reader();
    let mut backoff = IdleBackoff::new(plan.max_idle_sleep);
    let mut rx: MbufBatch<BURST> = MbufBatch::new();
    let mut lanes: Vec<TxLane> = (0..nports)
        .map(|_| TxLane {
            batch: MbufBatch::new(),
            pending_bytes: 0,
        })
        .collect();
    let mut tally = vec![PortTally::default(); nports];
    let mut learn_filter = LearnFilter::new();
    let mut learn_lost = 0u64;
    let (mut busy_cycles, mut busy_packets) = (0u64, 0u64);

    let flush = |lanes: &mut [TxLane], tally: &mut [PortTally], p: usize| {
        let lane = &mut lanes[p];
        if lane.batch.is_empty() {
            return;
        }
        let queued = lane.batch.len() as u64;
        let sent = lane.batch.tx_burst(plan.dpdk_ports[p], plan.tx_queue) as u64;
        let mut unsent_bytes = 0u64;
        for m in lane.batch.drain() {
            unsent_bytes += m.pkt_len() as u64;
        }
        let t = &mut tally[p];
        t.tx_packets += sent;
        t.tx_bytes += lane.pending_bytes - unsent_bytes;
        t.drops[DropReason::TxFull as usize] += queued - sent;
        lane.pending_bytes = 0;
    };

    while !shared.stop.load(Relaxed) {
        let start = rdtsc();
        let snap = reader.current();
        let now = clock.now();
        let mut got = 0usize;

        while let Some(inj) = shared.inject.pop() {
            let p = inj.port as usize;
            if p >= nports {
                continue;
            }
            if lanes[p].batch.is_full() {
                flush(&mut lanes, &mut tally, p);
            }
            lanes[p].pending_bytes += inj.mbuf.pkt_len() as u64;
            let _ = lanes[p].batch.push(inj.mbuf);
            got += 1;
        }

        for q in &plan.rx {
            let n = rx.rx_burst(q.dpdk_port, q.queue);
            if n == 0 {
                continue;
            }
            got += n;
            let in_port = q.port;
            for m in rx.drain() {
                let len = m.pkt_len();
                {
                    let t = &mut tally[in_port as usize];
                    t.rx_packets += 1;
                    t.rx_bytes += len as u64;
                }
                let (verdict, learn) = classify(m.data(), len, in_port, snap, now);
                if let Some(LearnHint::Learn(key) | LearnHint::Refresh(key)) = learn {
                    if learn_filter.first_time(key, in_port, snap.epoch)
                        && shared
                            .learn
                            .push(LearnEvent { key, port: in_port })
                            .is_err()
                    {
                        learn_lost += 1;
                    }
                }
                match verdict {
                    Verdict::Forward(out) => {
                        let p = out as usize;
                        if lanes[p].batch.is_full() {
                            flush(&mut lanes, &mut tally, p);
                        }
                        lanes[p].pending_bytes += len as u64;
                        let _ = lanes[p].batch.push(m);
                    }
                    Verdict::Flood => {
                        let mut targets = snap
                            .ports
                            .iter()
                            .enumerate()
                            .filter(|(i, v)| *i != in_port as usize && v.forwarding)
                            .map(|(i, _)| i)
                            .peekable();
                        if targets.peek().is_none() {
                            tally[in_port as usize].drops[DropReason::NoEgress as usize] += 1;
                            continue;
                        }
                        let mut m = Some(m);
                        while let Some(p) = targets.next() {
                            let copy = if targets.peek().is_some() {
                                m.as_ref().map(Mbuf::share)
                            } else {
                                m.take()
                            };
                            let Some(copy) = copy else { break };
                            if lanes[p].batch.is_full() {
                                flush(&mut lanes, &mut tally, p);
                            }
                            lanes[p].pending_bytes += len as u64;
                            let _ = lanes[p].batch.push(copy);
                        }
                    }
                    Verdict::Punt(kind) => {
                        let t = &mut tally[in_port as usize];
                        match shared.punt.push(Punted {
                            port: in_port,
                            kind,
                            mbuf: m,
                        }) {
                            Ok(()) => t.punted += 1,
                            Err(_) => t.drops[DropReason::PuntQueueFull as usize] += 1,
                        }
                    }
                    Verdict::Drop(r) => tally[in_port as usize].drops[r as usize] += 1,
                }
            }
        }

        if got == 0 {
            backoff.wait();
            continue;
        }
        backoff.reset();
        for p in 0..nports {
            flush(&mut lanes, &mut tally, p);
        }
        for (t, c) in tally.iter().zip(shared.counters.ports.iter()) {
            t.store(c);
        }
        busy_cycles += rdtsc().wrapping_sub(start);
        busy_packets += got as u64;
        shared.counters.busy_cycles.store(busy_cycles, Relaxed);
        shared.counters.busy_packets.store(busy_packets, Relaxed);
        shared.counters.learn_queue_full.store(learn_lost, Relaxed);
    }
}
