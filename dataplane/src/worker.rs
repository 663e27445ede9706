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
use crate::counters::{filter_drop_slot, FILTER_LEARN, FILTER_PASS, FILTER_REPLY};
use crate::counters::{PortTally, WorkerCounters};
use crate::eal::rdtsc;
use crate::fdb::FdbKey;
use crate::frame::{
    classify_prepared, is_multicast, prepare, DropReason, FrameFacts, Ingress, LearnHint, Prepared,
    PuntKind, Verdict,
};
use crate::snapshot::{ForwardingSnapshot, PortIndex, Publisher};
use crate::{Mbuf, MbufBatch, Mempool};
use satellite_filters::{
    egress_address_check, egress_checks_addresses, vlan::egress_action, EgressFrame,
    InterstellarMac, MacAddr, TagAction, REPLY_BUF_LEN,
};

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

/// An ARPless learn-once binding a worker asks the control lcore to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindingEvent {
    pub port: PortIndex,
    pub vid: u16,
    pub ip: std::net::Ipv4Addr,
    pub mac: [u8; 6],
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
    pub bindings: ArrayQueue<BindingEvent>,
    pub counters: WorkerCounters,
    pub stop: AtomicBool,
}

impl WorkerShared {
    pub fn new(ports: usize, queue_len: usize) -> Self {
        WorkerShared {
            learn: ArrayQueue::new(queue_len),
            punt: ArrayQueue::new(queue_len.min(1024)),
            inject: ArrayQueue::new(queue_len.min(1024)),
            bindings: ArrayQueue::new(256),
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
#[derive(Clone)]
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
    /// Pool for frames the worker makes (ARPless answers, copies of a
    /// flooded frame that one port must rewrite).
    pub pool: Arc<Mempool>,
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

/// The worker's per-port transmit batches and counters.
struct Egress<'a> {
    plan: &'a WorkerPlan,
    lanes: Vec<TxLane>,
    tally: Vec<PortTally>,
    /// Reused per flood: (port, rewrite) of every port the frame goes to.
    targets: Vec<(usize, TagAction)>,
}

impl Egress<'_> {
    fn flush(&mut self, p: usize) {
        let lane = &mut self.lanes[p];
        if lane.batch.is_empty() {
            return;
        }
        let queued = lane.batch.len() as u64;
        let sent = lane
            .batch
            .tx_burst(self.plan.dpdk_ports[p], self.plan.tx_queue) as u64;
        let mut unsent_bytes = 0u64;
        for m in lane.batch.drain() {
            unsent_bytes += m.pkt_len() as u64;
        }
        let t = &mut self.tally[p];
        t.tx_packets += sent;
        t.tx_bytes += lane.pending_bytes - unsent_bytes;
        t.drops[DropReason::TxFull as usize] += queued - sent;
        lane.pending_bytes = 0;
    }

    #[inline(always)]
    fn push(&mut self, p: usize, m: Mbuf) {
        if self.lanes[p].batch.is_full() {
            self.flush(p);
        }
        self.lanes[p].pending_bytes += m.pkt_len() as u64;
        let _ = self.lanes[p].batch.push(m);
    }

    /// Applies a tag rewrite (copying the frame first when it is shared)
    /// and queues it; a frame that cannot be rewritten is dropped and
    /// counted.
    #[inline(always)]
    fn push_rewritten(&mut self, p: usize, m: Mbuf, action: TagAction) {
        if action == TagAction::None {
            return self.push(p, m);
        }
        self.push_rewritten_slow(p, m, action)
    }

    #[inline(never)]
    fn push_rewritten_slow(&mut self, p: usize, m: Mbuf, action: TagAction) {
        let m = if m.refcnt() == 1 {
            Some(m)
        } else {
            m.deep_copy(&self.plan.pool)
        };
        let Some(mut m) = m else {
            self.tally[p].drops[DropReason::TxFull as usize] += 1;
            return;
        };
        let ok = match action {
            TagAction::Push(tag) => m.push_vlan(tag),
            TagAction::Pop => m.pop_vlan(),
            TagAction::None => true,
        };
        if ok {
            self.push(p, m);
        } else {
            self.tally[p].drops[DropReason::TagRewrite as usize] += 1;
        }
    }

    /// How a frame leaves through port `p`: the port's egress filter (edge
    /// ports with a policy) or the transparent VLAN mapping; `None` when
    /// the filter drops it (counted).
    #[inline(always)]
    fn egress_rewrite(
        &mut self,
        snap: &ForwardingSnapshot,
        p: usize,
        facts: &FrameFacts,
        prep: &Prepared,
    ) -> Option<TagAction> {
        if let Some((policy, tables)) = snap.policy(p as PortIndex) {
            // `filter_egress` in its two halves: most frames need only the
            // VLAN one, and the frame description the address half reads
            // (MACs as bytes, the sender's Interstellar) is built only for
            // the frames it checks.
            let action = match egress_action(facts.vid, facts.outer_tagged, policy.mode()) {
                Ok(a) => a,
                Err(r) => {
                    self.tally[p].filter[filter_drop_slot(r)] += 1;
                    return None;
                }
            };
            let (src, dst) = prep.macs();
            if !egress_checks_addresses(policy, is_multicast(dst)) {
                return Some(action);
            }
            let (src, dst) = (MacAddr::from_u64(src), MacAddr::from_u64(dst));
            let ef = EgressFrame {
                src,
                dst,
                vid: facts.vid,
                outer_tagged: facts.outer_tagged,
                // From a fabric or plain port the sender's Interstellar is
                // read from its MAC, which carries it by design.
                sender_iid: facts
                    .sender_iid
                    .or_else(|| InterstellarMac::decompose(src).map(|(i, _)| i)),
            };
            match egress_address_check(&ef, policy, tables) {
                Ok(()) => Some(action),
                Err(r) => {
                    self.tally[p].filter[filter_drop_slot(r)] += 1;
                    None
                }
            }
        } else if facts.vid == 0 || facts.outer_tagged {
            Some(TagAction::None)
        } else {
            egress_action(facts.vid, facts.outer_tagged, &snap.transparent).ok()
        }
    }
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
    let mut out = Egress {
        plan,
        lanes: (0..nports)
            .map(|_| TxLane {
                batch: MbufBatch::new(),
                pending_bytes: 0,
            })
            .collect(),
        tally: vec![PortTally::default(); nports],
        targets: Vec::with_capacity(nports),
    };
    let mut learn_filter = LearnFilter::new();
    let mut learn_lost = 0u64;
    let (mut busy_cycles, mut busy_packets) = (0u64, 0u64);
    let mut reply = [0u8; REPLY_BUF_LEN];
    let mut unpublished = 0u32;

    while !shared.stop.load(Relaxed) {
        let start = rdtsc();
        let snap = reader.current();
        let now = clock.now();
        let mut got = 0usize;

        while let Some(inj) = shared.inject.pop() {
            if (inj.port as usize) < nports {
                out.push(inj.port as usize, inj.mbuf);
                got += 1;
            }
        }

        for q in &plan.rx {
            let n = rx.rx_burst(q.dpdk_port, q.queue);
            if n == 0 {
                continue;
            }
            got += n;
            let in_port = q.port;
            let ip = in_port as usize;
            let ingress = Ingress::new(snap, in_port);
            // Two passes over the burst: the first parses every header and
            // prefetches the FDB buckets the second will read, so the
            // burst's cache misses overlap instead of queueing up.
            for m in rx.as_slice() {
                m.prefetch_data();
            }
            // Per burst: a prepared frame borrows this iteration's snapshot.
            let mut prepared = [Prepared::EMPTY; BURST];
            for (p, m) in prepared.iter_mut().zip(rx.as_slice()) {
                *p = prepare(m.data(), &ingress, snap);
            }
            // Counted per burst, into the tally after the last frame.
            let (mut rx_bytes, mut passed) = (0u64, 0u64);
            for (mut m, prep) in rx.drain().zip(prepared.iter()) {
                let len = m.pkt_len();
                rx_bytes += len as u64;
                let d = classify_prepared(m.data(), len, &ingress, snap, now, &mut reply, prep);
                if let Some(LearnHint::Learn(key) | LearnHint::Refresh(key)) = d.learn {
                    if learn_filter.first_time(key, in_port, snap.epoch)
                        && shared
                            .learn
                            .push(LearnEvent { key, port: in_port })
                            .is_err()
                    {
                        learn_lost += 1;
                    }
                }
                if matches!(d.verdict, Verdict::Forward(_) | Verdict::Flood) {
                    passed += 1;
                    // The tag an access or tunnel port adds on the way in,
                    // before the frame is copied for a flood.
                    if let TagAction::Push(tag) = d.facts.ingress_action {
                        if !m.push_vlan(tag) {
                            out.tally[ip].drops[DropReason::TagRewrite as usize] += 1;
                            continue;
                        }
                    }
                }
                match d.verdict {
                    Verdict::Forward(dst) => {
                        let p = dst as usize;
                        if let Some(a) = out.egress_rewrite(snap, p, &d.facts, prep) {
                            out.push_rewritten(p, m, a);
                        }
                    }
                    Verdict::Flood => {
                        let mut targets = std::mem::take(&mut out.targets);
                        targets.clear();
                        for (p, v) in snap.ports.iter().enumerate() {
                            if p != ip && v.forwarding {
                                if let Some(a) = out.egress_rewrite(snap, p, &d.facts, prep) {
                                    targets.push((p, a));
                                }
                            }
                        }
                        if targets.is_empty() {
                            out.tally[ip].drops[DropReason::NoEgress as usize] += 1;
                        }
                        // Ports that rewrite get private copies first; the
                        // others share the frame, the last one takes it.
                        targets.sort_unstable_by_key(|(_, a)| *a == TagAction::None);
                        let mut m = Some(m);
                        let last = targets.len().saturating_sub(1);
                        for (k, &(p, a)) in targets.iter().enumerate() {
                            let copy = if k == last {
                                m.take()
                            } else if a == TagAction::None {
                                m.as_ref().map(Mbuf::share)
                            } else {
                                m.as_ref().and_then(|x| x.deep_copy(&plan.pool))
                            };
                            match copy {
                                Some(c) => out.push_rewritten(p, c, a),
                                None => out.tally[p].drops[DropReason::TxFull as usize] += 1,
                            }
                        }
                        out.targets = targets;
                    }
                    Verdict::Punt(kind) => {
                        match shared.punt.push(Punted {
                            port: in_port,
                            kind,
                            mbuf: m,
                        }) {
                            Ok(()) => out.tally[ip].punted += 1,
                            Err(_) => out.tally[ip].drops[DropReason::PuntQueueFull as usize] += 1,
                        }
                    }
                    Verdict::Drop(r) => out.tally[ip].drops[r as usize] += 1,
                    Verdict::FilterDrop(r) => out.tally[ip].filter[filter_drop_slot(r)] += 1,
                    Verdict::Reply { len } => {
                        out.tally[ip].filter[FILTER_REPLY] += 1;
                        send_reply(&mut out, ip, &reply[..len.min(REPLY_BUF_LEN)]);
                    }
                    Verdict::LearnBinding {
                        vid,
                        ip: addr,
                        mac,
                        reply_len,
                    } => {
                        out.tally[ip].filter[FILTER_LEARN] += 1;
                        let _ = shared.bindings.push(BindingEvent {
                            port: in_port,
                            vid,
                            ip: addr,
                            mac,
                        });
                        if let Some(len) = reply_len {
                            send_reply(&mut out, ip, &reply[..len.min(REPLY_BUF_LEN)]);
                        }
                    }
                }
            }
            let t = &mut out.tally[ip];
            t.rx_packets += n as u64;
            t.rx_bytes += rx_bytes;
            if ingress.policy.is_some() {
                t.filter[FILTER_PASS] += passed;
            }
        }

        if got == 0 {
            if unpublished > 0 {
                publish_counters(&out, shared, busy_cycles, busy_packets, learn_lost);
                unpublished = 0;
            }
            backoff.wait();
            continue;
        }
        backoff.reset();
        for p in 0..nports {
            out.flush(p);
        }
        busy_cycles += rdtsc().wrapping_sub(start);
        busy_packets += got as u64;
        // The shared counters are some fifty words per port: copied every
        // COUNTER_PERIOD busy iterations and whenever the worker goes idle,
        // they are never more than a fraction of a millisecond stale.
        unpublished += 1;
        if unpublished >= COUNTER_PERIOD {
            publish_counters(&out, shared, busy_cycles, busy_packets, learn_lost);
            unpublished = 0;
        }
    }
    publish_counters(&out, shared, busy_cycles, busy_packets, learn_lost);
}

/// Busy poll iterations between copies of the running tallies into the
/// shared counters.
const COUNTER_PERIOD: u32 = 16;

fn publish_counters(
    out: &Egress<'_>,
    shared: &WorkerShared,
    busy_cycles: u64,
    busy_packets: u64,
    learn_lost: u64,
) {
    for (t, c) in out.tally.iter().zip(shared.counters.ports.iter()) {
        t.store(c);
    }
    shared.counters.busy_cycles.store(busy_cycles, Relaxed);
    shared.counters.busy_packets.store(busy_packets, Relaxed);
    shared.counters.learn_queue_full.store(learn_lost, Relaxed);
}

/// Sends an ARPless answer back out of the port the question came in on.
fn send_reply(out: &mut Egress<'_>, port: usize, bytes: &[u8]) {
    match out.plan.pool.alloc_with(bytes) {
        Some(m) => out.push(port, m),
        None => out.tally[port].drops[DropReason::TxFull as usize] += 1,
    }
}
