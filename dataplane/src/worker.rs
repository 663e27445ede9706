//! The run-to-completion worker loop.
//!
//! One loop per worker lcore: receive a burst per (port, queue), classify
//! each frame against the current snapshot, batch by destination port,
//! transmit, and back off when idle. Learn events, punted control frames and
//! frames the control lcore wants sent travel over bounded lock-free queues.

#![forbid(unsafe_code)]

use crossbeam::channel::{Receiver, Sender};
use crossbeam::queue::ArrayQueue;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use crate::backoff::IdleBackoff;
use crate::counters::{filter_drop_slot, FILTER_LEARN, FILTER_PASS, FILTER_REPLY};
use crate::counters::{PortTally, WorkerCounters};
use crate::eal::rdtsc;
use crate::egress::egress_decision;
use crate::fdb::FdbKey;
use crate::frame::{
    classify_prepared, prepare, Decision, DropReason, FrameFacts, Ingress, LearnHint, Prepared,
    PuntKind, Verdict,
};
use crate::snapshot::{ForwardingSnapshot, PortDevice, PortDevices, Publisher};
use crate::storm::StormControl;
use crate::PortIndex;
use crate::{Mbuf, MbufBatch, Mempool};
use satellite_filters::{TagAction, REPLY_BUF_LEN};
use satellite_protocol::wire::{decode_unicast_tag, unicast_tag_bytes};

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

/// How workers wake the control lcore when they queue something for it,
/// so it can sleep until its next deadline instead of polling the queues.
/// One token at most waits in the channel: ringing a bell that already
/// rang is a failed `try_send` (a few loads), and a worker never blocks.
#[derive(Clone)]
pub struct Doorbell(Sender<()>);

impl Doorbell {
    /// A bell and the receiver the control lcore waits on.
    pub fn new() -> (Doorbell, Receiver<()>) {
        let (tx, rx) = crossbeam::channel::bounded(1);
        (Doorbell(tx), rx)
    }

    /// Wakes the control lcore (after the item is in its queue).
    #[inline]
    pub fn ring(&self) {
        let _ = self.0.try_send(());
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
    /// Rung after a learn event, a punt or a binding is queued.
    pub doorbell: Doorbell,
    /// The [`PortDevices::generation`] the worker runs on: once it is at
    /// least a generation without some device, the worker will never poll
    /// or send to that device again, so the control lcore may stop it.
    pub devices_generation: AtomicU64,
}

impl WorkerShared {
    /// Queues of `queue_len` and counters for `ports` port slots (ports at
    /// or beyond are never polled: see [`crate::snapshot::port_capacity`]).
    pub fn new(ports: usize, queue_len: usize, doorbell: Doorbell) -> Self {
        WorkerShared {
            learn: ArrayQueue::new(queue_len),
            punt: ArrayQueue::new(queue_len.min(1024)),
            inject: ArrayQueue::new(queue_len.min(1024)),
            bindings: ArrayQueue::new(256),
            counters: WorkerCounters::new(ports),
            stop: AtomicBool::new(false),
            doorbell,
            devices_generation: AtomicU64::new(0),
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

/// A worker's assignment. Which ports it polls is not here: it follows
/// the snapshot's [`PortDevices`], so ports come and go at run time.
#[derive(Clone)]
pub struct WorkerPlan {
    /// The worker's number, and its RX queue on every port.
    pub index: usize,
    /// Workers in all (each takes its share of a port's storm limits).
    pub workers: u32,
    /// CPU core to pin to.
    pub core: Option<usize>,
    /// This worker's TX queue on every port.
    pub tx_queue: u16,
    /// Longest idle sleep (see [`IdleBackoff`]).
    pub max_idle_sleep: Duration,
    /// Pool for frames the worker makes (ARPless answers, copies of a
    /// flooded frame that one port must rewrite).
    pub pool: Arc<Mempool>,
    /// The TSC's frequency, for storm control's buckets.
    pub tsc_hz: u64,
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

/// DPDK port id of a vacant slot in [`Egress::dpdk`].
const NO_DEVICE: u16 = u16::MAX;

/// The worker's per-port transmit batches and counters.
struct Egress<'a> {
    plan: &'a WorkerPlan,
    /// DPDK port of each slot ([`NO_DEVICE`] when vacant).
    dpdk: Vec<u16>,
    lanes: Vec<TxLane>,
    tally: Vec<PortTally>,
    /// Reused per flood: (port, rewrite) of every port the frame goes to.
    targets: Vec<(usize, TagAction)>,
    storm: StormControl,
}

impl Egress<'_> {
    fn flush(&mut self, p: usize) {
        let lane = &mut self.lanes[p];
        if lane.batch.is_empty() {
            return;
        }
        let queued = lane.batch.len() as u64;
        let dpdk = self.dpdk[p];
        // A frame for a port removed since it was queued (a control
        // frame, a stale entry) is dropped, not sent to a closed device.
        let sent = if dpdk == NO_DEVICE {
            0
        } else {
            lane.batch.tx_burst(dpdk, self.plan.tx_queue) as u64
        };
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
        if rewrite_vlan(&mut m, action) {
            self.push(p, m);
        } else {
            self.tally[p].drops[DropReason::TagRewrite as usize] += 1;
        }
    }

    /// How a frame leaves through port `p` ([`egress_decision`]); `None`
    /// when the port's filter refuses it (counted on that port).
    ///
    /// When no port has an edge policy ([`ForwardingSnapshot::plain`]) a
    /// frame leaves as it came, without asking: it entered a plain port, so
    /// its VLAN is its outer tag's (0 when untagged), and a plain port
    /// sends such a frame unchanged (`plain_ports_pass_frames_unchanged` in
    /// frame.rs checks this against `egress_decision`). One predictable
    /// branch instead of the policy lookup per destination.
    #[inline(always)]
    fn egress_rewrite(
        &mut self,
        snap: &ForwardingSnapshot,
        p: usize,
        facts: &FrameFacts,
        prep: &Prepared,
    ) -> Option<TagAction> {
        if snap.plain {
            return Some(TagAction::None);
        }
        // The MACs are read only here, past the plain test: read by the
        // callers, they cost every frame of a plain switch some fourteen
        // instructions (callgrind-worker.sh).
        self.egress_filtered(snap, p, facts, prep.macs())
    }

    /// [`Egress::egress_rewrite`] past its plain test, for a frame with
    /// these (source, destination) MACs.
    #[inline(always)]
    fn egress_filtered(
        &mut self,
        snap: &ForwardingSnapshot,
        p: usize,
        facts: &FrameFacts,
        macs: (u64, u64),
    ) -> Option<TagAction> {
        match egress_decision(snap, p as PortIndex, facts, macs) {
            Ok(a) => Some(a),
            Err(r) => {
                self.tally[p].filter[filter_drop_slot(r)] += 1;
                None
            }
        }
    }

    /// Sends a frame to every forwarding port but the one it came in on.
    /// Ports that rewrite get private copies first; the others share the
    /// frame, and the last one takes it.
    fn flood(
        &mut self,
        snap: &ForwardingSnapshot,
        in_port: usize,
        m: Mbuf,
        facts: &FrameFacts,
        prep: &Prepared,
    ) {
        let mut targets = std::mem::take(&mut self.targets);
        targets.clear();
        for (p, v) in snap.ports.iter().enumerate() {
            if p != in_port && v.forwarding {
                if let Some(a) = self.egress_rewrite(snap, p, facts, prep) {
                    targets.push((p, a));
                }
            }
        }
        if targets.is_empty() {
            self.tally[in_port].drops[DropReason::NoEgress as usize] += 1;
        }
        targets.sort_unstable_by_key(|(_, a)| *a == TagAction::None);
        let mut m = Some(m);
        let last = targets.len().saturating_sub(1);
        for (k, &(p, a)) in targets.iter().enumerate() {
            let copy = if k == last {
                m.take()
            } else if a == TagAction::None {
                m.as_ref().map(Mbuf::share)
            } else {
                m.as_ref().and_then(|x| x.deep_copy(&self.plan.pool))
            };
            match copy {
                Some(c) => self.push_rewritten(p, c, a),
                None => self.tally[p].drops[DropReason::TxFull as usize] += 1,
            }
        }
        self.targets = targets;
    }

    /// Carries out one frame's verdict: transmit, flood, punt, answer or
    /// count the drop.
    #[inline(always)]
    fn dispatch(
        &mut self,
        ctx: &BurstContext<'_>,
        mut m: Mbuf,
        d: &Decision,
        prep: &Prepared,
        reply: &[u8; REPLY_BUF_LEN],
    ) {
        let ip = ctx.in_port as usize;
        // (A steered frame gets its tag in `push_steered`: one more variant
        // here, and in `burst`'s count of passed frames, cost every frame
        // instructions, callgrind-worker.sh.)
        if matches!(
            d.verdict,
            Verdict::Forward(_) | Verdict::Routed { .. } | Verdict::Flood
        ) {
            // The tag an access or tunnel port adds on the way in, before
            // the frame is copied for a flood.
            if let TagAction::Push(tag) = d.facts.ingress_action {
                if !m.push_vlan(tag) {
                    self.tally[ip].drops[DropReason::TagRewrite as usize] += 1;
                    return;
                }
            }
        }
        match d.verdict {
            Verdict::Forward(dst) => {
                let p = dst as usize;
                if let Some(a) = self.egress_rewrite(ctx.snap, p, &d.facts, prep) {
                    self.push_rewritten(p, m, a);
                }
            }
            Verdict::Steered {
                port,
                tag,
                routed,
                reply: answer,
            } => {
                self.tally[ip].dhcpcast_steered[answer as usize] += 1;
                if ctx.snap.policy(ctx.in_port).is_some() {
                    self.tally[ip].filter[FILTER_PASS] += 1;
                }
                let mut dst = [0u8; 6];
                dst.copy_from_slice(&reply[..6]);
                self.push_steered(
                    ctx.snap,
                    ip,
                    port as usize,
                    m,
                    d,
                    prep,
                    dst,
                    routed.then_some(tag),
                );
            }
            Verdict::Routed { port, tag } => {
                self.push_routed(ctx.snap, port as usize, m, d, prep, tag)
            }
            Verdict::Flood => {
                // Storm control holds host ports only: a fabric port
                // carries the whole fabric's floods.
                let host = ctx.snap.ports.get(ip).is_some_and(|v| v.host);
                match self.storm.admit(host, ip, prep.macs().1, ctx.tsc) {
                    Ok(()) => self.flood(ctx.snap, ip, m, &d.facts, prep),
                    Err(r) => self.tally[ip].drops[r as usize] += 1,
                }
            }
            Verdict::Punt(kind) => match ctx.shared.punt.push(Punted {
                port: ctx.in_port,
                kind,
                mbuf: m,
            }) {
                Ok(()) => {
                    self.tally[ip].punted += 1;
                    ctx.shared.doorbell.ring();
                }
                Err(_) => self.tally[ip].drops[DropReason::PuntQueueFull as usize] += 1,
            },
            Verdict::Drop(r) => self.tally[ip].drops[r as usize] += 1,
            Verdict::FilterDrop(r) => self.tally[ip].filter[filter_drop_slot(r)] += 1,
            Verdict::Reply { len } => {
                self.tally[ip].filter[FILTER_REPLY] += 1;
                self.send_reply(ip, &reply[..(len as usize).min(REPLY_BUF_LEN)]);
            }
            Verdict::LearnBinding {
                vid,
                ip: addr,
                mac,
                reply_len,
            } => {
                self.tally[ip].filter[FILTER_LEARN] += 1;
                let _ = ctx.shared.bindings.push(BindingEvent {
                    port: ctx.in_port,
                    vid,
                    ip: addr,
                    mac,
                });
                ctx.shared.doorbell.ring();
                if let Some(len) = reply_len {
                    self.send_reply(ip, &reply[..(len as usize).min(REPLY_BUF_LEN)]);
                }
            }
        }
    }

    /// Sends SSTP unicast to the next Satellite switch: the egress VLAN
    /// rewrite, then the unicast tag in front. (A routed frame is never
    /// shared: it goes out of one port.)
    #[inline(never)]
    fn push_routed(
        &mut self,
        snap: &ForwardingSnapshot,
        p: usize,
        mut m: Mbuf,
        d: &Decision,
        prep: &Prepared,
        tag: u32,
    ) {
        let Some(action) = self.egress_rewrite(snap, p, &d.facts, prep) else {
            return;
        };
        if rewrite_vlan(&mut m, action) && m.push_unicast_tag(unicast_tag_bytes(tag)) {
            self.push(p, m);
        } else {
            self.tally[p].drops[DropReason::TagRewrite as usize] += 1;
        }
    }

    /// Sends a DHCPCAST frame: its destination MAC becomes `dst` (the
    /// egress filters judge it as the unicast it now is), then out of `p`,
    /// with the SSTP unicast tag word `tag` when the link state routes it.
    /// (Received frames are not shared, so the rewrite needs no copy.)
    #[cold]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn push_steered(
        &mut self,
        snap: &ForwardingSnapshot,
        in_port: usize,
        p: usize,
        mut m: Mbuf,
        d: &Decision,
        prep: &Prepared,
        dst: [u8; 6],
        tag: Option<u32>,
    ) {
        // The tag an access or tunnel port adds on the way in.
        if let TagAction::Push(t) = d.facts.ingress_action {
            if !m.push_vlan(t) {
                self.tally[in_port].drops[DropReason::TagRewrite as usize] += 1;
                return;
            }
        }
        let Some(data) = m.data_mut().filter(|b| b.len() >= 6) else {
            self.tally[p].drops[DropReason::TagRewrite as usize] += 1;
            return;
        };
        data[..6].copy_from_slice(&dst);
        let action = if snap.plain {
            Some(TagAction::None)
        } else {
            let macs = (
                prep.macs().0,
                satellite_protocol::wire::MacAddr(dst).to_u64(),
            );
            self.egress_filtered(snap, p, &d.facts, macs)
        };
        let Some(action) = action else {
            return;
        };
        let sent = rewrite_vlan(&mut m, action)
            && tag.is_none_or(|t| m.push_unicast_tag(unicast_tag_bytes(t)));
        if sent {
            self.push(p, m);
        } else {
            self.tally[p].drops[DropReason::TagRewrite as usize] += 1;
        }
    }

    /// Sends an ARPless answer back out of the port the question came in on.
    fn send_reply(&mut self, port: usize, bytes: &[u8]) {
        match self.plan.pool.alloc_with(bytes) {
            Some(m) => self.push(port, m),
            None => self.tally[port].drops[DropReason::TxFull as usize] += 1,
        }
    }
}

/// What every frame of one burst shares.
struct BurstContext<'a> {
    snap: &'a ForwardingSnapshot,
    shared: &'a WorkerShared,
    in_port: PortIndex,
    /// TSC at the start of the poll iteration (storm control's clock).
    tsc: u64,
}

/// The worker's own state between bursts: its transmit lanes and tallies,
/// the learn filter and its reply buffer.
struct Worker<'a> {
    out: Egress<'a>,
    /// The devices the worker is wired to, and their generation.
    devices: Vec<Option<PortDevice>>,
    generation: Option<u64>,
    /// This worker's queue on each port it polls.
    rx: Vec<RxQueue>,
    learn_filter: LearnFilter,
    learn_lost: u64,
    busy_cycles: u64,
    busy_packets: u64,
    unpublished: u32,
    reply: [u8; REPLY_BUF_LEN],
}

impl<'a> Worker<'a> {
    fn new(plan: &'a WorkerPlan) -> Self {
        Worker {
            out: Egress {
                plan,
                dpdk: Vec::new(),
                lanes: Vec::new(),
                tally: Vec::new(),
                targets: Vec::new(),
                storm: StormControl::new(&[], plan.tsc_hz),
            },
            devices: Vec::new(),
            generation: None,
            rx: Vec::new(),
            learn_filter: LearnFilter::new(),
            learn_lost: 0,
            busy_cycles: 0,
            busy_packets: 0,
            unpublished: 0,
            reply: [0u8; REPLY_BUF_LEN],
        }
    }

    /// Follows the snapshot's port devices: polls and sends to the new set
    /// from now on. Called at the start of a poll iteration, when every
    /// lane is empty (each busy iteration ends by sending them). A slot
    /// whose device changed starts its counts from zero, so a port added
    /// where one was removed does not inherit its numbers. Slots beyond
    /// the counters' capacity are ignored (the control lcore refuses them).
    fn rewire(&mut self, devices: &PortDevices, shared: &WorkerShared) {
        let n = devices.slots.len().min(shared.counters.ports.len());
        let o = &mut self.out;
        while o.lanes.len() < n {
            o.lanes.push(TxLane {
                batch: MbufBatch::new(),
                pending_bytes: 0,
            });
            o.tally.push(PortTally::default());
            o.dpdk.push(NO_DEVICE);
            self.devices.push(None);
        }
        o.targets.reserve(n);
        for p in 0..o.lanes.len() {
            let want = devices.slots.get(p).copied().flatten().filter(|_| p < n);
            let had = self.devices[p];
            if want.map(|d| d.dpdk_port) != had.map(|d| d.dpdk_port) {
                o.tally[p] = PortTally::default();
                o.dpdk[p] = want.map_or(NO_DEVICE, |d| d.dpdk_port);
            }
            if want.map(|d| d.storm) != had.map(|d| d.storm) {
                let limits = want.map(|d| d.storm).unwrap_or_default();
                o.storm
                    .set_port(p, limits.share(o.plan.workers), o.plan.tsc_hz);
            }
            self.devices[p] = want;
        }
        self.rx = self
            .devices
            .iter()
            .enumerate()
            .filter_map(|(p, d)| {
                d.map(|d| RxQueue {
                    port: p as PortIndex,
                    dpdk_port: d.dpdk_port,
                    queue: o.plan.index as u16,
                })
            })
            .collect();
        self.generation = Some(devices.generation);
        self.publish_counters(shared);
        shared
            .devices_generation
            .store(devices.generation, std::sync::atomic::Ordering::Release);
    }

    /// Queues what the control lcore asked to send; returns how many.
    fn take_injected(&mut self, shared: &WorkerShared) -> usize {
        let mut n = 0;
        while let Some(inj) = shared.inject.pop() {
            if (inj.port as usize) < self.out.lanes.len() {
                self.out.tally[inj.port as usize].tx_control += 1;
                self.out.push(inj.port as usize, inj.mbuf);
                n += 1;
            }
        }
        n
    }

    /// Classifies and dispatches one received burst.
    ///
    /// Two passes: the first parses every header and prefetches the FDB
    /// buckets the second will read, so the burst's cache misses overlap
    /// instead of queueing up.
    #[inline(always)]
    fn burst(&mut self, rx: &mut MbufBatch<BURST>, ctx: &BurstContext<'_>, now: u32) {
        let snap = ctx.snap;
        let ingress = Ingress::new(snap, ctx.in_port);
        for m in rx.as_slice() {
            m.prefetch_data();
        }
        let mut prepared = [Prepared::EMPTY; BURST];
        let fabric = ingress.view.is_some_and(|v| !v.host);
        for (p, m) in prepared.iter_mut().zip(rx.as_mut_slice()) {
            *p = prepare(m.data(), &ingress, snap);
            // The parser stops at a unicast tag (it already reads the
            // EtherType there, so untagged frames pay nothing for this);
            // on a fabric port it is a neighbour's, taken off here.
            if fabric && p.has_unicast_tag() {
                untag_and_prepare(m, p, &ingress, snap);
            }
        }
        let n = rx.len() as u64;
        // Counted per burst, into the tally after the last frame.
        let (mut rx_bytes, mut passed) = (0u64, 0u64);
        for (m, prep) in rx.drain().zip(prepared.iter()) {
            let len = m.pkt_len();
            rx_bytes += len as u64;
            let d = classify_prepared(m.data(), len, &ingress, snap, now, &mut self.reply, prep);
            if let Some(LearnHint::Learn(key) | LearnHint::Refresh(key)) = d.learn {
                self.learn(ctx, key);
            }
            passed += matches!(
                d.verdict,
                Verdict::Forward(_) | Verdict::Routed { .. } | Verdict::Flood
            ) as u64;
            self.out.dispatch(ctx, m, &d, prep, &self.reply);
        }
        let t = &mut self.out.tally[ctx.in_port as usize];
        t.rx_packets += n;
        t.rx_bytes += rx_bytes;
        if ingress.policy.is_some() {
            t.filter[FILTER_PASS] += passed;
        }
    }

    /// Reports a source to the control lcore, once per snapshot.
    #[inline(always)]
    fn learn(&mut self, ctx: &BurstContext<'_>, key: FdbKey) {
        if !self
            .learn_filter
            .first_time(key, ctx.in_port, ctx.snap.epoch)
        {
            return;
        }
        if ctx
            .shared
            .learn
            .push(LearnEvent {
                key,
                port: ctx.in_port,
            })
            .is_err()
        {
            self.learn_lost += 1;
        } else {
            ctx.shared.doorbell.ring();
        }
    }

    /// End of a busy iteration: transmit every lane, account the cycles,
    /// and now and then copy the tallies out.
    fn finish_busy(&mut self, shared: &WorkerShared, start: u64, got: usize) {
        for p in 0..self.out.lanes.len() {
            self.out.flush(p);
        }
        self.busy_cycles += rdtsc().wrapping_sub(start);
        self.busy_packets += got as u64;
        // The shared counters are some fifty words per port: copied every
        // COUNTER_PERIOD busy iterations and whenever the worker goes idle,
        // they are never more than a fraction of a millisecond stale.
        self.unpublished += 1;
        if self.unpublished >= COUNTER_PERIOD {
            self.publish_counters(shared);
        }
    }

    /// Copies the running tallies into the shared counters.
    fn publish_counters(&mut self, shared: &WorkerShared) {
        for (t, c) in self.out.tally.iter().zip(shared.counters.ports.iter()) {
            t.store(c);
        }
        let c = &shared.counters;
        c.busy_cycles.store(self.busy_cycles, Relaxed);
        c.busy_packets.store(self.busy_packets, Relaxed);
        c.learn_queue_full.store(self.learn_lost, Relaxed);
        self.unpublished = 0;
    }
}

/// Applies an egress VLAN rewrite to an unshared frame; false when it
/// cannot be done (no headroom).
#[inline(always)]
fn rewrite_vlan(m: &mut Mbuf, action: TagAction) -> bool {
    match action {
        TagAction::Push(tag) => m.push_vlan(tag),
        TagAction::Pop => m.pop_vlan(),
        TagAction::None => true,
    }
}

/// Takes the SSTP unicast tag off a frame from a fabric port, and parses
/// the frame again without it. A tag that cannot be taken off (a shared
/// buffer) stays, and the frame is dropped as a stray tag. Out of line, so
/// the burst loop keeps its one inlined `prepare`.
#[cold]
#[inline(never)]
fn untag_and_prepare<'s>(
    m: &mut Mbuf,
    p: &mut Prepared<'s>,
    ingress: &Ingress<'_>,
    snap: &'s ForwardingSnapshot,
) {
    let Some(tag) = decode_unicast_tag(m.data()) else {
        return;
    };
    if m.pop_unicast_tag() {
        *p = prepare(m.data(), ingress, snap);
        p.set_arrival_tag(tag);
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
    let mut reader = publisher.reader();
    let mut backoff = IdleBackoff::new(plan.max_idle_sleep);
    let mut rx: MbufBatch<BURST> = MbufBatch::new();
    let mut w = Worker::new(plan);
    while !shared.stop.load(Relaxed) {
        let start = rdtsc();
        // One snapshot for the whole iteration (one atomic load).
        let snap = reader.current();
        if w.generation != Some(snap.devices.generation) {
            w.rewire(&snap.devices, shared);
        }
        let now = clock.now();
        let mut got = w.take_injected(shared);
        for k in 0..w.rx.len() {
            let q = w.rx[k];
            if rx.rx_burst(q.dpdk_port, q.queue) == 0 {
                continue;
            }
            got += rx.len();
            let ctx = BurstContext {
                snap,
                shared,
                in_port: q.port,
                tsc: start,
            };
            w.burst(&mut rx, &ctx, now);
        }
        if got == 0 {
            if w.unpublished > 0 {
                w.publish_counters(shared);
            }
            backoff.wait();
            continue;
        }
        backoff.reset();
        w.finish_busy(shared, start, got);
    }
    w.publish_counters(shared);
}

/// Busy poll iterations between copies of the running tallies into the
/// shared counters.
const COUNTER_PERIOD: u32 = 16;
