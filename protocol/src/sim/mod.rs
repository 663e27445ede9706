//! A deterministic discrete-event simulator of many switches joined by
//! point-to-point links and shared LANs, in virtual time. Each switch is a
//! [`Node`]: the same protocol code the daemon drives.
//!
//! Events sit in a binary heap keyed by (time, sequence number), so equal
//! times are processed in the order they were scheduled and every run with
//! the same input and seed is identical. Control frames travel as bytes
//! (the node encodes and decodes them) so the codecs are exercised too. Loss uses a
//! seeded SplitMix64 generator.
//!
//! For SSTP at scale ([`fabric`]) the network also models a receiver's
//! processing cost (frames queue while a switch is busy), links that fail
//! silently (frames lost both ways, carrier up), per-link PDU counts, and
//! tells an observer which switches' routes or port liveness changed after
//! each event, so invariants can be checked at every event.

pub mod fabric;
pub mod gen;
pub mod scenario;

use crate::node::{Node, NodeAction, NodeEvent, NodePort};
use crate::rstp::{BridgeConfig, BridgeStatus, PortConfig, PortNumber, PortRole, PortState};
use crate::wire::MacAddr;
use crate::PortIndex;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

/// Index of a bridge in a [`Network`].
pub type BridgeIdx = usize;
/// Index of a segment (link or LAN) in a [`Network`].
pub type SegmentIdx = usize;

/// SplitMix64: tiny, seedable, good enough for loss decisions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A point-to-point link (two ports) or a shared LAN (any number).
#[derive(Debug, Clone)]
pub struct Segment {
    /// Name from the scenario.
    pub name: String,
    /// Attached (bridge, port) pairs.
    pub members: Vec<(BridgeIdx, PortNumber)>,
    /// Whether the medium carries frames (carrier).
    pub up: bool,
    /// One-way delay.
    pub latency: Duration,
    /// Probability that one delivery is lost.
    pub loss: f64,
    /// A silent failure: every frame is lost, both ways, while carrier
    /// stays up (a broken transceiver, a bad patch panel).
    pub silent: bool,
}

/// What crossed one segment, by kind of PDU ([`PDU_KINDS`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LinkTx {
    /// Frames put on the segment.
    pub pdus: [u64; PDU_KINDS.len()],
    /// Their octets (Ethernet header included, FCS excluded).
    pub octets: [u64; PDU_KINDS.len()],
}

/// The kinds of PDU counted per segment, in [`LinkTx`]'s order.
pub const PDU_KINDS: [&str; 6] = ["bpdu", "hello", "lsp", "csnp", "psnp", "fail"];

fn pdu_kind(what: &crate::node::Sent) -> usize {
    use crate::wire::PduType;
    match what {
        crate::node::Sent::Bpdu(_) => 0,
        crate::node::Sent::Sstp(PduType::Hello) => 1,
        crate::node::Sent::Sstp(PduType::Lsp) => 2,
        crate::node::Sent::Sstp(PduType::Csnp) => 3,
        crate::node::Sent::Sstp(PduType::Psnp) => 4,
        crate::node::Sent::Sstp(_) => 5,
    }
}

/// What changed at a switch during one event, for an observer
/// ([`Network::touched`]); bits of a `u8`.
pub mod touch {
    /// SSTP ran SPF and its routes (or reachability) changed.
    pub const ROUTES: u8 = 1;
    /// SSTP changed a port's liveness for the data path.
    pub const LIVENESS: u8 = 2;
    /// A port's carrier, or whether a link delivers, changed.
    pub const LINK: u8 = 4;
    /// The switch was powered off or on (a new engine).
    pub const POWER: u8 = 8;
}

/// One simulated bridge.
#[derive(Debug, Clone)]
pub struct SimBridge {
    /// Name from the scenario.
    pub name: String,
    /// The switch's protocols.
    pub node: Node,
    /// Port → segment.
    pub attached: HashMap<PortNumber, SegmentIdx>,
    /// Ports that are administratively disabled.
    pub admin_down: Vec<PortNumber>,
    /// Port speeds for path costs.
    pub speeds: HashMap<PortNumber, u32>,
    /// Whether the bridge is powered (a failed bridge sends and hears nothing).
    pub alive: bool,
    /// The data path's per-port liveness word as SSTP drives it (bit =
    /// port index): set by `PortLiveness { alive: true }`, cleared by
    /// `alive: false` and by a restart.
    pub live: u64,
    /// Ports the engine currently believes are up.
    oper_up: HashMap<PortNumber, bool>,
    scheduled: Option<Duration>,
    /// Frames received but not yet processed (see [`Network::proc_cost`]).
    rx: std::collections::VecDeque<(PortNumber, Vec<u8>)>,
    /// When the frame at the head of `rx` finishes processing.
    drain_at: Option<Duration>,
    /// When the switch's CPU is free again.
    busy_until: Duration,
}

#[derive(Debug, Clone)]
enum Payload {
    Timer(BridgeIdx),
    Boot(BridgeIdx),
    /// The head of a bridge's receive queue has been processed.
    Drain(BridgeIdx),
    Deliver {
        bridge: BridgeIdx,
        port: PortNumber,
        seg: SegmentIdx,
        frame: Vec<u8>,
    },
}

#[derive(Debug, Clone)]
struct Scheduled {
    at: Duration,
    seq: u64,
    payload: Payload,
}

impl PartialEq for Scheduled {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scheduled {
    /// Reversed, so that the max-heap pops the earliest event.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// Counters of a run.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Stats {
    /// BPDUs transmitted by all bridges.
    pub bpdus_sent: u64,
    /// BPDU deliveries dropped by loss.
    pub bpdus_lost: u64,
    /// Events processed.
    pub events: u64,
    /// Time of the last role or port state change.
    #[serde(serialize_with = "ser_secs")]
    pub last_change: Duration,
    /// Frames lost on silently failed segments.
    pub silenced: u64,
}

/// One event the network processed ([`Network::step`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processed {
    /// A bridge's timer ran.
    Timer(BridgeIdx),
    /// A bridge booted.
    Boot(BridgeIdx),
    /// A bridge processed a received frame (`kind` indexes [`PDU_KINDS`]).
    Frame {
        /// The bridge.
        bridge: BridgeIdx,
        /// Its port.
        port: PortNumber,
        /// What the frame carried.
        kind: usize,
    },
    /// Nothing the bridges saw (a stale timer, a frame lost in flight).
    Nothing,
}

impl Processed {
    /// One line for logs and violation reports.
    pub fn describe(&self, net: &Network) -> String {
        match *self {
            Processed::Timer(b) => format!("timer of {}", net.bridges[b].name),
            Processed::Boot(b) => format!("boot of {}", net.bridges[b].name),
            Processed::Frame { bridge, port, kind } => format!(
                "{} received on port {port} from {}",
                net.bridges[bridge].name,
                PDU_KINDS.get(kind).copied().unwrap_or("?")
            ),
            Processed::Nothing => "nothing".into(),
        }
    }
}

/// The [`PDU_KINDS`] index of a received frame.
fn frame_kind(frame: &[u8]) -> usize {
    if crate::node::is_sstp_frame(frame) {
        match frame.get(15) {
            Some(1) => 1,
            Some(2) => 2,
            Some(3) => 3,
            Some(4) => 4,
            _ => 5,
        }
    } else {
        0
    }
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The simulated network.
#[derive(Debug, Clone)]
pub struct Network {
    /// Bridges.
    pub bridges: Vec<SimBridge>,
    /// Links and LANs.
    pub segments: Vec<Segment>,
    /// Current virtual time.
    pub now: Duration,
    /// Counters.
    pub stats: Stats,
    /// Print every action to stderr (for debugging scenarios).
    pub trace: bool,
    /// Bridges added later boot at a random time within this span, so
    /// that their one-second ticks are not aligned (0: all boot at once).
    pub boot_spread: Duration,
    /// When set, bridges added from now on run SSTP too, with these
    /// settings (each bridge's SystemId and nonce filled in).
    pub sstp: Option<crate::sstp::SstpConfig>,
    /// CPU time a bridge spends on each received frame: frames that arrive
    /// while it is busy wait in its receive queue, in order, and each is
    /// handed to the node when its processing ends. Zero: at once.
    pub proc_cost: Duration,
    /// Record in [`Network::touched`] what changed at which bridge.
    pub observe: bool,
    /// With [`Network::observe`]: (bridge, [`touch`] bits) since the
    /// observer last drained it.
    pub touched: Vec<(BridgeIdx, u8)>,
    /// What crossed each segment, by segment index.
    pub link_tx: Vec<LinkTx>,
    queue: BinaryHeap<Scheduled>,
    seq: u64,
    rng: Rng,
    actions: Vec<NodeAction>,
}

impl Network {
    /// An empty network; `seed` drives loss and start-up phases.
    pub fn new(seed: u64) -> Self {
        Network {
            bridges: Vec::new(),
            segments: Vec::new(),
            now: Duration::ZERO,
            stats: Stats::default(),
            trace: false,
            boot_spread: Duration::ZERO,
            sstp: None,
            proc_cost: Duration::ZERO,
            observe: false,
            touched: Vec::new(),
            link_tx: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            rng: Rng::new(seed),
            actions: Vec::new(),
        }
    }

    /// Adds a bridge. It boots now, or at a random time within
    /// [`Network::boot_spread`] from now.
    pub fn add_bridge(
        &mut self,
        name: &str,
        cfg: BridgeConfig,
        ports: &[(PortConfig, Option<u32>)],
    ) -> Result<BridgeIdx, crate::rstp::ConfigError> {
        let mut speeds = HashMap::new();
        let mut list = Vec::with_capacity(ports.len());
        for (p, speed) in ports {
            if p.number == 0 {
                return Err(crate::rstp::ConfigError::PortNumber(0));
            }
            list.push(NodePort {
                index: port_index(p.number),
                mac: port_mac(cfg.address, p.number),
                rstp: *p,
                sstp: self.sstp.is_some(),
            });
            if let Some(s) = speed {
                speeds.insert(p.number, *s);
            }
        }
        let idx = self.bridges.len();
        let node = match &self.sstp {
            None => Node::new(cfg, &list)?,
            Some(t) => {
                let mut c = t.clone();
                c.system = crate::wire::SystemId(cfg.address);
                c.nonce = self.rng.next_u64() | 1;
                Node::with_sstp(cfg, c, &list).map_err(|e| match e {
                    crate::node::NodeConfigError::Rstp(e) => e,
                    crate::node::NodeConfigError::Sstp(e) => {
                        panic!("simulator SSTP settings invalid: {e}")
                    }
                })?
            }
        };
        let spread = self.boot_spread.as_micros() as u64;
        let boot = if spread == 0 {
            Duration::ZERO
        } else {
            Duration::from_micros(self.rng.next_u64() % spread)
        };
        self.bridges.push(SimBridge {
            name: name.to_string(),
            node,
            attached: HashMap::new(),
            admin_down: Vec::new(),
            speeds,
            alive: boot.is_zero(),
            live: 0,
            oper_up: HashMap::new(),
            scheduled: None,
            rx: Default::default(),
            drain_at: None,
            busy_until: Duration::ZERO,
        });
        if !boot.is_zero() {
            self.push(self.now + boot, Payload::Boot(idx));
        }
        Ok(idx)
    }

    /// Adds a link or LAN joining `members`.
    pub fn add_segment(
        &mut self,
        name: &str,
        members: Vec<(BridgeIdx, PortNumber)>,
        latency: Duration,
        loss: f64,
        up: bool,
    ) -> SegmentIdx {
        let idx = self.segments.len();
        for &(b, p) in &members {
            self.bridges[b].attached.insert(p, idx);
        }
        self.segments.push(Segment {
            name: name.to_string(),
            members,
            up,
            latency,
            loss,
            silent: false,
        });
        self.link_tx.push(LinkTx::default());
        self.refresh_carrier();
        idx
    }

    /// Joins two ports by a point-to-point link with `latency` each way,
    /// without telling the bridges yet: call [`Network::refresh_carrier`]
    /// once all links are in (building a thousand-bridge network link by
    /// link with [`Network::add_segment`] would refresh every bridge per
    /// link).
    pub fn connect(
        &mut self,
        a: (BridgeIdx, PortNumber),
        b: (BridgeIdx, PortNumber),
        name: &str,
        latency: Duration,
    ) -> SegmentIdx {
        let idx = self.segments.len();
        for (x, p) in [a, b] {
            self.bridges[x].attached.insert(p, idx);
        }
        self.segments.push(Segment {
            name: name.to_string(),
            members: vec![a, b],
            up: true,
            latency,
            loss: 0.0,
            silent: false,
        });
        self.link_tx.push(LinkTx::default());
        idx
    }

    /// Finds a bridge by name.
    pub fn bridge_by_name(&self, name: &str) -> Option<BridgeIdx> {
        self.bridges.iter().position(|b| b.name == name)
    }

    /// Finds a segment by name.
    pub fn segment_by_name(&self, name: &str) -> Option<SegmentIdx> {
        self.segments.iter().position(|s| s.name == name)
    }

    fn push(&mut self, at: Duration, payload: Payload) {
        self.seq += 1;
        self.queue.push(Scheduled {
            at,
            seq: self.seq,
            payload,
        });
    }

    /// Whether port `p` of bridge `b` has carrier: powered, not admin-down,
    /// attached to an up segment, and (on a point-to-point link) the far
    /// end is powered and not admin-down too, as a real PHY would see it.
    pub fn carrier(&self, b: BridgeIdx, p: PortNumber) -> bool {
        let br = &self.bridges[b];
        if !br.alive || br.admin_down.contains(&p) {
            return false;
        }
        let Some(&s) = br.attached.get(&p) else {
            return false;
        };
        let seg = &self.segments[s];
        if !seg.up {
            return false;
        }
        if seg.members.len() == 2 {
            let &(ob, op) = seg
                .members
                .iter()
                .find(|&&m| m != (b, p))
                .unwrap_or(&(b, p));
            let o = &self.bridges[ob];
            return o.alive && !o.admin_down.contains(&op);
        }
        true
    }

    /// Tells every bridge about carrier changes (PortUp/PortDown).
    pub fn refresh_carrier(&mut self) {
        for b in 0..self.bridges.len() {
            self.refresh_carrier_of(b);
        }
    }

    /// Tells bridge `b` about its own carrier changes. A change to one
    /// link or bridge only needs this for the bridges it touches, which
    /// keeps scripted failures cheap in networks of a thousand bridges.
    pub fn refresh_carrier_of(&mut self, b: BridgeIdx) {
        if !self.bridges[b].alive {
            return;
        }
        {
            // Only attached ports can have carrier; in port order, so runs
            // are repeatable.
            let mut ports: Vec<PortNumber> = self.bridges[b].attached.keys().copied().collect();
            ports.sort_unstable();
            for p in ports {
                let c = self.carrier(b, p);
                let was = self.bridges[b].oper_up.get(&p).copied().unwrap_or(false);
                if c != was {
                    self.bridges[b].oper_up.insert(p, c);
                    self.touch(b, touch::LINK);
                    let ev = if c {
                        NodeEvent::PortUp {
                            port: port_index(p),
                            speed_mbps: self.bridges[b].speeds.get(&p).copied(),
                        }
                    } else {
                        NodeEvent::PortDown {
                            port: port_index(p),
                            reason: crate::wire::FailReason::CarrierLost,
                        }
                    };
                    self.handle(b, ev);
                }
            }
        }
    }

    /// The bridges at the far ends of `b`'s point-to-point links.
    pub fn neighbours(&self, b: BridgeIdx) -> Vec<BridgeIdx> {
        let mut v: Vec<BridgeIdx> = self.bridges[b]
            .attached
            .values()
            .flat_map(|&s| self.segments[s].members.iter().map(|m| m.0))
            .filter(|&o| o != b)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Powers a bridge off (it forgets nothing, but hears and says nothing)
    /// or back on (restarting its engine from BEGIN with the same config).
    pub fn set_alive(&mut self, b: BridgeIdx, alive: bool) {
        if self.bridges[b].alive == alive {
            return;
        }
        self.bridges[b].alive = alive;
        self.touch(b, touch::POWER);
        let at = self.now;
        let br = &mut self.bridges[b];
        br.live = 0;
        br.rx.clear();
        br.drain_at = None;
        br.oper_up.clear();
        if alive {
            // A rebooted bridge starts from BEGIN.
            br.node = br.node.restarted();
            br.scheduled = Some(at);
            self.push(at, Payload::Timer(b));
        }
        // Only it and its link partners see their carrier change; in index
        // order, as a refresh of every bridge would.
        let mut who = self.neighbours(b);
        who.push(b);
        who.sort_unstable();
        for o in who {
            self.refresh_carrier_of(o);
        }
    }

    /// Makes a segment fail silently (every frame lost, carrier up) or
    /// heals it.
    pub fn set_silent(&mut self, s: SegmentIdx, silent: bool) {
        if self.segments[s].silent == silent {
            return;
        }
        self.segments[s].silent = silent;
        for (b, _) in self.segments[s].members.clone() {
            self.touch(b, touch::LINK);
        }
    }

    /// Whether a frame sent now by `b` on `p` reaches the far end of a
    /// point-to-point link, and which (bridge, port) that is.
    pub fn delivers(&self, b: BridgeIdx, p: PortNumber) -> Option<(BridgeIdx, PortNumber)> {
        let &s = self.bridges[b].attached.get(&p)?;
        let seg = &self.segments[s];
        if seg.silent || seg.members.len() != 2 || !self.carrier(b, p) {
            return None;
        }
        seg.members.iter().copied().find(|&m| m != (b, p))
    }

    fn touch(&mut self, b: BridgeIdx, what: u8) {
        if self.observe {
            self.touched.push((b, what));
        }
    }

    /// Gives `ev` to bridge `b` now and acts on what it returns. An
    /// invalid setting is ignored (scenarios are checked when loaded).
    pub fn handle(&mut self, b: BridgeIdx, ev: NodeEvent<'_>) {
        if !self.bridges[b].alive {
            return;
        }
        let mut actions = std::mem::take(&mut self.actions);
        let _ = self.bridges[b].node.handle(self.now, ev, &mut actions);
        for a in actions.drain(..) {
            if self.trace {
                eprintln!(
                    "{:10.6} {} {a:?}",
                    self.now.as_secs_f64(),
                    self.bridges[b].name
                );
            }
            match a {
                NodeAction::Transmit { port, frame, what } => {
                    self.stats.bpdus_sent += 1;
                    let port = rstp_port(port);
                    if !self.carrier(b, port) {
                        continue;
                    }
                    let Some(&s) = self.bridges[b].attached.get(&port) else {
                        continue;
                    };
                    let k = pdu_kind(&what);
                    self.link_tx[s].pdus[k] += 1;
                    self.link_tx[s].octets[k] += frame.len() as u64;
                    if self.segments[s].silent {
                        self.stats.silenced += 1;
                        continue;
                    }
                    let (lat, loss) = (self.segments[s].latency, self.segments[s].loss);
                    let members = self.segments[s].members.clone();
                    for (ob, op) in members {
                        if (ob, op) == (b, port) {
                            continue;
                        }
                        if loss > 0.0 && self.rng.next_f64() < loss {
                            self.stats.bpdus_lost += 1;
                            continue;
                        }
                        self.push(
                            self.now + lat,
                            Payload::Deliver {
                                bridge: ob,
                                port: op,
                                seg: s,
                                frame: frame.clone(),
                            },
                        );
                    }
                }
                NodeAction::RoleChanged { .. } | NodeAction::SetPortState { .. } => {
                    self.stats.last_change = self.now;
                }
                NodeAction::Malformed { error, .. } => {
                    panic!("simulator produced an undecodable frame: {error}")
                }
                NodeAction::Sstp(crate::sstp::Action::PortLiveness { port, alive }) => {
                    if usize::from(port) < crate::sstp::forward::MAX_SSTP_PORTS {
                        let bit = 1u64 << port;
                        let w = &mut self.bridges[b].live;
                        *w = if alive { *w | bit } else { *w & !bit };
                    }
                    self.touch(b, touch::LIVENESS);
                }
                NodeAction::Sstp(crate::sstp::Action::RoutesChanged) => {
                    self.touch(b, touch::ROUTES);
                }
                NodeAction::FlushFdb { .. }
                | NodeAction::TopologyChange { .. }
                | NodeAction::BpduReceived { .. }
                | NodeAction::Sstp(_)
                | NodeAction::StaleRootAged { .. } => {}
            }
        }
        self.actions = actions;
        let next = self.bridges[b].node.poll_timeout();
        if next != self.bridges[b].scheduled {
            self.bridges[b].scheduled = next;
            if let Some(t) = next {
                self.push(t, Payload::Timer(b));
            }
        }
    }

    /// Processes events up to and including time `until`.
    pub fn run_until(&mut self, until: Duration) {
        while self.step(until).is_some() {}
        self.now = until;
    }

    /// When the next event is due, if any.
    pub fn next_event(&self) -> Option<Duration> {
        self.queue.peek().map(|e| e.at)
    }

    /// Processes the next event if it is due at or before `until`, and
    /// says what it was; `None` when nothing is due by then.
    pub fn step(&mut self, until: Duration) -> Option<Processed> {
        if self.queue.peek()?.at > until {
            return None;
        }
        let ev = self.queue.pop().expect("peeked");
        self.now = ev.at;
        self.stats.events += 1;
        Some(match ev.payload {
            Payload::Timer(b) => {
                if self.bridges[b].scheduled != Some(ev.at) {
                    return Some(Processed::Nothing);
                }
                self.bridges[b].scheduled = None;
                self.handle(b, NodeEvent::Tick);
                Processed::Timer(b)
            }
            Payload::Boot(b) => {
                self.bridges[b].alive = true;
                self.refresh_carrier();
                Processed::Boot(b)
            }
            Payload::Deliver {
                bridge,
                port,
                seg,
                frame,
            } => {
                // Lost if the carrier went away in flight.
                if !self.segments[seg].up || !self.carrier(bridge, port) {
                    return Some(Processed::Nothing);
                }
                if self.proc_cost.is_zero() {
                    return Some(self.process(bridge, port, &frame));
                }
                let cost = self.proc_cost;
                let now = self.now;
                let br = &mut self.bridges[bridge];
                br.rx.push_back((port, frame));
                if br.drain_at.is_none() {
                    let at = now.max(br.busy_until) + cost;
                    br.drain_at = Some(at);
                    self.push(at, Payload::Drain(bridge));
                }
                Processed::Nothing
            }
            Payload::Drain(b) => {
                let cost = self.proc_cost;
                let br = &mut self.bridges[b];
                if br.drain_at != Some(ev.at) {
                    return Some(Processed::Nothing);
                }
                br.drain_at = None;
                br.busy_until = ev.at;
                let Some((port, frame)) = br.rx.pop_front() else {
                    return Some(Processed::Nothing);
                };
                if !br.rx.is_empty() {
                    let at = ev.at + cost;
                    br.drain_at = Some(at);
                    self.push(at, Payload::Drain(b));
                }
                self.process(b, port, &frame)
            }
        })
    }

    fn process(&mut self, bridge: BridgeIdx, port: PortNumber, frame: &[u8]) -> Processed {
        self.handle(
            bridge,
            NodeEvent::Frame {
                port: port_index(port),
                frame,
            },
        );
        Processed::Frame {
            bridge,
            port,
            kind: frame_kind(frame),
        }
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// Status of every bridge, by name.
    pub fn statuses(&self) -> Vec<(String, BridgeStatus)> {
        self.bridges
            .iter()
            .map(|b| (b.name.clone(), b.status()))
            .collect()
    }

    /// Checks the forwarding topology: no segment loop among forwarding
    /// ports (union-find over bridges and LANs), and each connected
    /// component of live bridges agrees on one root. Returns a description
    /// of the first problem.
    pub fn check_tree(&self) -> Result<(), String> {
        self.check_tree_parts(true)
    }

    /// Checks only that no forwarding loop exists.
    pub fn check_loop_free(&self) -> Result<(), String> {
        self.check_tree_parts(false)
    }

    fn check_tree_parts(&self, roots_too: bool) -> Result<(), String> {
        let n = self.bridges.len();
        let mut parent: Vec<usize> = (0..n + self.segments.len()).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        for (s, seg) in self.segments.iter().enumerate() {
            if !seg.up {
                continue;
            }
            for &(b, port) in &seg.members {
                let br = &self.bridges[b];
                if !br.alive {
                    continue;
                }
                let st = br.status();
                let fwd = st
                    .ports
                    .iter()
                    .any(|p| p.port == port && p.state == PortState::Forwarding);
                if !fwd {
                    continue;
                }
                let (x, y) = (find(&mut parent, b), find(&mut parent, n + s));
                if x == y {
                    return Err(format!(
                        "forwarding loop through {} port {} on {}",
                        br.name, port, seg.name
                    ));
                }
                parent[x] = y;
            }
        }
        if !roots_too {
            return Ok(());
        }
        // Bridges joined by forwarding ports must agree on the root.
        let mut roots: HashMap<usize, crate::wire::BridgeId> = HashMap::new();
        for b in 0..n {
            if !self.bridges[b].alive {
                continue;
            }
            let r = self.bridges[b].status().root_id;
            let c = find(&mut parent, b);
            if let Some(o) = roots.insert(c, r) {
                if o != r {
                    return Err(format!(
                        "{} has root {r} but its forwarding component has root {o}",
                        self.bridges[b].name
                    ));
                }
            }
        }
        Ok(())
    }

    /// Number of live bridges whose ports include a Root or Designated
    /// role, i.e. that take part in a tree (for reports).
    pub fn roots(&self) -> usize {
        self.bridges
            .iter()
            .filter(|b| b.alive && b.status().root_port.is_none())
            .count()
    }

    /// Role of a port, for tests.
    pub fn role(&self, b: BridgeIdx, port: PortNumber) -> Option<PortRole> {
        self.bridges[b]
            .status()
            .ports
            .iter()
            .find(|p| p.port == port)
            .map(|p| p.role)
    }
}

/// The node's port index of a scenario's (RSTP) port number.
fn port_index(number: PortNumber) -> PortIndex {
    number - 1
}

/// The scenario's (RSTP) port number of a node's port index.
fn rstp_port(index: PortIndex) -> PortNumber {
    crate::node::rstp_number(index)
}

impl SimBridge {
    /// The spanning tree's view of this bridge.
    pub fn status(&self) -> BridgeStatus {
        self.node.rstp_status()
    }
}

/// The MAC of a bridge port: the bridge address with the port number in
/// the last two octets' low bits, locally administered, like the captures'
/// `02:01:00:01:00:02`.
pub fn port_mac(bridge: MacAddr, port: PortNumber) -> MacAddr {
    let mut m = bridge.0;
    m[0] |= 0x02;
    m[1] ^= 0x01;
    m[4] ^= (port >> 8) as u8;
    m[5] ^= port as u8;
    MacAddr(m)
}
