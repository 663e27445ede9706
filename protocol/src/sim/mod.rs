//! A deterministic discrete-event simulator of many switches joined by
//! point-to-point links and shared LANs, in virtual time. Each switch is a
//! [`Node`]: the same protocol code the daemon drives.
//!
//! Events sit in a binary heap keyed by (time, sequence number), so equal
//! times are processed in the order they were scheduled and every run with
//! the same input and seed is identical. Control frames travel as bytes
//! (the node encodes and decodes them) so the codecs are exercised too. Loss uses a
//! seeded SplitMix64 generator.

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
    /// Ports the engine currently believes are up.
    oper_up: HashMap<PortNumber, bool>,
    scheduled: Option<Duration>,
}

#[derive(Debug, Clone)]
enum Payload {
    Timer(BridgeIdx),
    Boot(BridgeIdx),
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
            oper_up: HashMap::new(),
            scheduled: None,
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
        });
        self.refresh_carrier();
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
    fn carrier(&self, b: BridgeIdx, p: PortNumber) -> bool {
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
            if !self.bridges[b].alive {
                continue;
            }
            let ports: Vec<PortNumber> = self.bridges[b]
                .status()
                .ports
                .iter()
                .map(|p| p.port)
                .collect();
            for p in ports {
                let c = self.carrier(b, p);
                let was = self.bridges[b].oper_up.get(&p).copied().unwrap_or(false);
                if c != was {
                    self.bridges[b].oper_up.insert(p, c);
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

    /// Powers a bridge off (it forgets nothing, but hears and says nothing)
    /// or back on (restarting its engine from BEGIN with the same config).
    pub fn set_alive(&mut self, b: BridgeIdx, alive: bool) {
        if self.bridges[b].alive == alive {
            return;
        }
        self.bridges[b].alive = alive;
        if alive {
            // A rebooted bridge starts from BEGIN.
            self.bridges[b].node = self.bridges[b].node.restarted();
            self.bridges[b].oper_up.clear();
            let at = self.now;
            self.bridges[b].scheduled = Some(at);
            self.push(at, Payload::Timer(b));
        } else {
            self.bridges[b].oper_up.clear();
        }
        self.refresh_carrier();
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
                NodeAction::Transmit { port, frame, .. } => {
                    self.stats.bpdus_sent += 1;
                    let port = rstp_port(port);
                    if !self.carrier(b, port) {
                        continue;
                    }
                    let Some(&s) = self.bridges[b].attached.get(&port) else {
                        continue;
                    };
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
        while let Some(top) = self.queue.peek() {
            if top.at > until {
                break;
            }
            let ev = self.queue.pop().expect("peeked");
            self.now = ev.at;
            self.stats.events += 1;
            match ev.payload {
                Payload::Timer(b) => {
                    if self.bridges[b].scheduled == Some(ev.at) {
                        self.bridges[b].scheduled = None;
                        self.handle(b, NodeEvent::Tick);
                    }
                }
                Payload::Boot(b) => {
                    self.bridges[b].alive = true;
                    self.refresh_carrier();
                }
                Payload::Deliver {
                    bridge,
                    port,
                    seg,
                    frame,
                } => {
                    // Lost if the carrier went away in flight.
                    if !self.segments[seg].up || !self.carrier(bridge, port) {
                        continue;
                    }
                    self.handle(
                        bridge,
                        NodeEvent::Frame {
                            port: port_index(port),
                            frame: &frame,
                        },
                    );
                }
            }
        }
        self.now = until;
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
