//! SSTP fabrics in the simulator: generated topologies of Satellite switches
//! (the same [`Node`](crate::node::Node) the daemon drives), failures
//! applied by script or at random, and the link state's invariants checked
//! while it runs.
//!
//! The invariants (issue 13, "Simulator"):
//! - **(a) loop freedom, at every event** that changes a switch's routes or
//!   the liveness of a port ([`LoopChecker`]): from any switch toward any
//!   destination switch, following every next hop the data path's own rule
//!   ([`forward::candidates`](crate::sstp::forward::candidates), the
//!   function the workers call) can choose, with each switch's current
//!   routes, the port the frame came in on, the unicast tag its sender
//!   wrote from the sender's current route, and the data path's liveness
//!   word, never visits a switch twice in the same phase (downhill;
//!   repaired and climbing; repaired and downhill again — a wrap goes back
//!   the way it came in a later phase). A walk may end in a drop. Each
//!   violation says whether the switch it comes back to sends the frame
//!   on again (a forwarding loop) or drops it there.
//! - **(b) after quiescence** every database is identical within a
//!   connected part of the network, and every switch's routes equal SPF
//!   run on the true graph ([`Fabric::check_converged`]).
//! - **(c) memory** does not grow across random events once the topology
//!   is restored ([`Fabric::heap_bytes`] before and after).
//!
//! Checking (a) at every event is affordable at a thousand switches
//! because it is incremental and mostly O(1). A walk toward `d` cannot
//! revisit a switch if every hop it can take goes to a switch whose own
//! distance to `d` is strictly lower than the sender's (a potential that
//! falls along every walk). So per destination the checker keeps the
//! number of "uphill" hops (next hops whose own distance is not lower),
//! updated only for the switches an event touched and their neighbours;
//! only a destination with an uphill hop gets the exact search, a
//! traversal of (switch, in-port) states that follows every candidate.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::{touch, BridgeIdx, LinkTx, Network, Processed, Rng, PDU_KINDS};
use crate::node::NodeEvent;
use crate::rstp::{BridgeConfig, PortConfig};
use crate::sstp::forward::{candidates, tag_distance, Arrival, Tag, MAX_SSTP_PORTS};
use crate::sstp::routes::{BridgeRoute, Routes};
use crate::sstp::spf::{GraphBuilder, Link, Slot, Spf};
use crate::sstp::{Sstp, SstpConfig};
use crate::wire::{LspId, MacAddr, MacHome, SystemId};
use crate::PortIndex;

/// Cost of every fabric link (1 Gb/s in 802.1D table 17-3).
pub const LINK_COST: u32 = 20_000;

// ---------------------------------------------------------------------
// Topologies.

/// A generated topology, as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// `ring:N`.
    Ring(usize),
    /// `torus:RxC`, or `torus3:XxYxZ`: one size per dimension.
    Torus(Vec<usize>),
    /// `random:N,DEGREE,SEED`: connected, every switch at most DEGREE
    /// links, N × DEGREE / 2 links when the draw allows.
    Random {
        /// Switches.
        n: usize,
        /// Largest degree.
        degree: usize,
        /// Seed of the draw.
        seed: u64,
    },
}

impl FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> Result<Shape, String> {
        let (kind, size) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?}: expected KIND:SIZE, e.g. ring:8"))?;
        let num = |x: &str| {
            x.trim()
                .parse::<usize>()
                .map_err(|_| format!("{s:?}: {x:?} is not a number"))
        };
        let dims = |want: usize| -> Result<Vec<usize>, String> {
            let d = size.split('x').map(num).collect::<Result<Vec<_>, _>>()?;
            if d.len() != want || d.iter().any(|&x| x < 2) {
                return Err(format!("{s:?}: {kind} needs {want} sizes of at least 2"));
            }
            Ok(d)
        };
        match kind {
            "ring" => Ok(Shape::Ring(dims(1)?[0])),
            "torus" => Ok(Shape::Torus(dims(2)?)),
            "torus3" => Ok(Shape::Torus(dims(3)?)),
            "random" => {
                let v: Vec<&str> = size.split(',').collect();
                if v.len() != 3 {
                    return Err(format!("{s:?}: random needs N,DEGREE,SEED"));
                }
                let (n, degree) = (num(v[0])?, num(v[1])?);
                let seed = v[2]
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{s:?}: bad seed"))?;
                if n < 2 || !(2..=MAX_SSTP_PORTS).contains(&degree) {
                    return Err(format!(
                        "{s:?}: random needs N ≥ 2 and 2 ≤ DEGREE ≤ {MAX_SSTP_PORTS}"
                    ));
                }
                Ok(Shape::Random { n, degree, seed })
            }
            _ => Err(format!(
                "{s:?}: unknown topology {kind:?} (ring, torus, torus3, random)"
            )),
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Ring(n) => write!(f, "ring:{n}"),
            Shape::Torus(d) => {
                let kind = if d.len() == 3 { "torus3" } else { "torus" };
                let s: Vec<String> = d.iter().map(|x| x.to_string()).collect();
                write!(f, "{kind}:{}", s.join("x"))
            }
            Shape::Random { n, degree, seed } => write!(f, "random:{n},{degree},{seed}"),
        }
    }
}

/// One link of a topology: switch `a`'s port `pa` to switch `b`'s port `pb`
/// (port indices, 0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FabricLink {
    /// One end.
    pub a: usize,
    /// Its port.
    pub pa: PortIndex,
    /// The other end.
    pub b: usize,
    /// Its port.
    pub pb: PortIndex,
}

/// Switches and links.
#[derive(Debug, Clone)]
pub struct Topology {
    /// As given.
    pub shape: Shape,
    /// Switch names (coordinates for tori).
    pub names: Vec<String>,
    /// Ports of each switch (all linked).
    pub ports: Vec<u16>,
    /// Links; link `i` is segment `i` of the network.
    pub links: Vec<FabricLink>,
}

impl Topology {
    /// Generates the topology of `shape`.
    pub fn new(shape: &Shape) -> Topology {
        match shape {
            Shape::Ring(n) => Topology::torus(shape, &[*n]),
            Shape::Torus(d) => Topology::torus(shape, d),
            Shape::Random { n, degree, seed } => Topology::random(shape, *n, *degree, *seed),
        }
    }

    fn empty(shape: &Shape, names: Vec<String>) -> Topology {
        Topology {
            shape: shape.clone(),
            ports: vec![0; names.len()],
            names,
            links: Vec::new(),
        }
    }

    fn connect(&mut self, a: usize, b: usize) {
        let (pa, pb) = (self.ports[a], self.ports[b]);
        self.ports[a] += 1;
        self.ports[b] += 1;
        self.links.push(FabricLink { a, pa, b, pb });
    }

    fn torus(shape: &Shape, dims: &[usize]) -> Topology {
        let n: usize = dims.iter().product();
        let coords = |mut i: usize| {
            dims.iter()
                .map(|&d| {
                    let c = i % d;
                    i /= d;
                    c
                })
                .collect::<Vec<_>>()
        };
        let names = (0..n)
            .map(|i| {
                let c: Vec<String> = coords(i).iter().map(|x| x.to_string()).collect();
                format!("B{}", c.join("_"))
            })
            .collect();
        let mut t = Topology::empty(shape, names);
        for i in 0..n {
            let c = coords(i);
            let mut stride = 1;
            for (k, &d) in dims.iter().enumerate() {
                // A size of 2 has one link along that dimension, not two.
                if !(d == 2 && c[k] == 1) {
                    let j = i - c[k] * stride + (c[k] + 1) % d * stride;
                    t.connect(i, j);
                }
                stride *= d;
            }
        }
        t
    }

    /// A random spanning tree (each switch joins a random earlier one with
    /// room), then random extra links between switches with room until
    /// N × DEGREE / 2 links or the draw gives up; no parallel links.
    fn random(shape: &Shape, n: usize, degree: usize, seed: u64) -> Topology {
        let names = (0..n).map(|i| format!("B{i}")).collect();
        let mut t = Topology::empty(shape, names);
        let mut rng = Rng::new(seed);
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let mut linked = std::collections::HashSet::new();
        for i in 1..n {
            let room: Vec<usize> = order[..i]
                .iter()
                .copied()
                .filter(|&x| usize::from(t.ports[x]) < degree)
                .collect();
            let other = room[(rng.next_u64() % room.len() as u64) as usize];
            let me = order[i];
            linked.insert((me.min(other), me.max(other)));
            t.connect(me, other);
        }
        let want = n * degree / 2;
        let mut tries = 0;
        while t.links.len() < want && tries < 100 * want {
            tries += 1;
            let a = (rng.next_u64() % n as u64) as usize;
            let b = (rng.next_u64() % n as u64) as usize;
            let key = (a.min(b), a.max(b));
            if a == b
                || usize::from(t.ports[a]) >= degree
                || usize::from(t.ports[b]) >= degree
                || linked.contains(&key)
            {
                continue;
            }
            linked.insert(key);
            t.connect(a, b);
        }
        t
    }

    /// Number of switches.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no switches.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The switch named `s` (its name, or its index).
    pub fn bridge(&self, s: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|n| n == s)
            .or_else(|| s.parse().ok().filter(|&i: &usize| i < self.len()))
    }

    /// The first link joining `a` and `b`.
    pub fn link_between(&self, a: usize, b: usize) -> Option<usize> {
        self.links
            .iter()
            .position(|l| (l.a, l.b) == (a, b) || (l.a, l.b) == (b, a))
    }

    /// The link named `A-B` (switch names or indices) or `#I` (its index).
    pub fn link(&self, s: &str) -> Option<usize> {
        if let Some(i) = s.strip_prefix('#') {
            return i.parse().ok().filter(|&i: &usize| i < self.links.len());
        }
        let (a, b) = s.split_once('-')?;
        self.link_between(self.bridge(a)?, self.bridge(b)?)
    }

    /// `A-B` for link `l`.
    pub fn link_name(&self, l: usize) -> String {
        let x = self.links[l];
        format!("{}-{}", self.names[x.a], self.names[x.b])
    }
}

// ---------------------------------------------------------------------
// Failures.

/// Something that happens to the topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The link loses carrier at both ends.
    LinkDown(usize),
    /// The link is healed: carrier back, frames delivered again.
    LinkUp(usize),
    /// The link drops every frame both ways, carrier up (found only by
    /// missed HELLOs).
    LinkSilent(usize),
    /// The switch is powered off (its neighbours lose carrier).
    BridgeDown(usize),
    /// The switch is powered on again: a new session, its hosts relearned.
    BridgeUp(usize),
}

impl Failure {
    /// As a script line's action (`link down A-B`, ...).
    pub fn describe(&self, t: &Topology) -> String {
        match *self {
            Failure::LinkDown(l) => format!("link down {}", t.link_name(l)),
            Failure::LinkUp(l) => format!("link up {}", t.link_name(l)),
            Failure::LinkSilent(l) => format!("link silent {}", t.link_name(l)),
            Failure::BridgeDown(b) => format!("bridge down {}", t.names[b]),
            Failure::BridgeUp(b) => format!("bridge up {}", t.names[b]),
        }
    }
}

/// A failure at a time (from the start of the script).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timed {
    /// When, after the script starts.
    pub at: Duration,
    /// What.
    pub what: Failure,
}

/// Parses a duration such as `10us`, `2.5ms`, `1s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, scale) = if let Some(x) = s.strip_suffix("us") {
        (x, 1e-6)
    } else if let Some(x) = s.strip_suffix("ms") {
        (x, 1e-3)
    } else if let Some(x) = s.strip_suffix('s') {
        (x, 1.0)
    } else {
        return Err(format!("{s:?}: a duration needs a unit (us, ms, s)"));
    };
    let v: f64 = num.parse().map_err(|_| format!("{s:?}: not a duration"))?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(format!("{s:?}: not a duration"));
    }
    Ok(Duration::from_secs_f64(v * scale))
}

/// Parses an event script: one event per line, `TIME VERB OBJECT`, where
/// TIME counts from the start of the script (`10ms`, `1.5s`, `250us`),
/// VERB is `link down|up|silent` with a link `A-B` (switch names or
/// indices) or `#I`, or `bridge down|up` with a switch name or index.
/// `#` not followed by a digit starts a comment; blank lines are skipped. Events need not be in
/// time order; equal times keep their order.
///
/// ```text
/// # cut a link, heal it, then lose a switch for a while
/// 0ms    link down B0-B1
/// 20ms   link up B0-B1
/// 50ms   link silent B3-B4
/// 200ms  bridge down B7
/// 400ms  bridge up B7
/// ```
pub fn parse_script(text: &str, t: &Topology) -> Result<Vec<Timed>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        // A comment is `#` not followed by a digit (`#3` names link 3).
        let b = line.as_bytes();
        let end = (0..b.len())
            .find(|&i| b[i] == b'#' && !b.get(i + 1).is_some_and(u8::is_ascii_digit))
            .unwrap_or(b.len());
        let line = line[..end].trim();
        if line.is_empty() {
            continue;
        }
        let err = |m: String| format!("line {}: {m}", n + 1);
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() != 4 {
            return Err(err(format!(
                "{line:?}: expected TIME link|bridge VERB WHICH"
            )));
        }
        let at = parse_duration(w[0]).map_err(err)?;
        let what = match (w[1], w[2]) {
            ("link", verb) => {
                let l = t
                    .link(w[3])
                    .ok_or_else(|| err(format!("no link {:?}", w[3])))?;
                match verb {
                    "down" => Failure::LinkDown(l),
                    "up" => Failure::LinkUp(l),
                    "silent" => Failure::LinkSilent(l),
                    _ => return Err(err(format!("link {verb:?}: down, up or silent"))),
                }
            }
            ("bridge", verb) => {
                let b = t
                    .bridge(w[3])
                    .ok_or_else(|| err(format!("no bridge {:?}", w[3])))?;
                match verb {
                    "down" => Failure::BridgeDown(b),
                    "up" => Failure::BridgeUp(b),
                    _ => return Err(err(format!("bridge {verb:?}: down or up"))),
                }
            }
            (x, _) => return Err(err(format!("{x:?}: link or bridge"))),
        };
        out.push(Timed { at, what });
    }
    out.sort_by_key(|e| e.at);
    Ok(out)
}

/// `script` in the format [`parse_script`] reads, to replay it.
pub fn script_text(script: &[Timed], t: &Topology) -> String {
    script
        .iter()
        .map(|e| format!("{}us {}\n", e.at.as_micros(), e.what.describe(t)))
        .collect()
}

/// A seeded random failure sequence of `count` events on `t`: links cut,
/// silenced and healed, switches powered off and on, each only when it
/// makes sense (a dead switch is not powered off again). Gaps between
/// events are drawn so that some land while the network is still
/// converging from the one before (under 1 ms), some while a silent
/// failure is being detected (up to 50 ms) and some after it has settled
/// (up to 300 ms). The caller restores the topology afterwards.
pub fn random_failures(t: &Topology, seed: u64, count: usize) -> Vec<Timed> {
    #[derive(Clone, Copy, PartialEq)]
    enum L {
        Up,
        Broken,
    }
    let mut rng = Rng::new(seed ^ 0x5EED_F00D_CAFE_D00D);
    let mut links = vec![L::Up; t.links.len()];
    let mut alive = vec![true; t.len()];
    let mut at = Duration::ZERO;
    let mut out = Vec::with_capacity(count);
    let pick = |rng: &mut Rng, v: &[usize]| v[(rng.next_u64() % v.len() as u64) as usize];
    while out.len() < count {
        let broken_links: Vec<usize> = (0..links.len())
            .filter(|&l| links[l] == L::Broken)
            .collect();
        let dead: Vec<usize> = (0..alive.len()).filter(|&b| !alive[b]).collect();
        let up_links: Vec<usize> = (0..links.len()).filter(|&l| links[l] == L::Up).collect();
        let live: Vec<usize> = (0..alive.len()).filter(|&b| alive[b]).collect();
        let r = rng.next_f64();
        let what = if r < 0.35 && !(broken_links.is_empty() && dead.is_empty()) {
            if !dead.is_empty() && (broken_links.is_empty() || rng.next_f64() < 0.4) {
                Failure::BridgeUp(pick(&mut rng, &dead))
            } else {
                Failure::LinkUp(pick(&mut rng, &broken_links))
            }
        } else if r < 0.55 && live.len() > 1 {
            Failure::BridgeDown(pick(&mut rng, &live))
        } else if !up_links.is_empty() {
            let l = pick(&mut rng, &up_links);
            if rng.next_f64() < 0.6 {
                Failure::LinkDown(l)
            } else {
                Failure::LinkSilent(l)
            }
        } else {
            continue;
        };
        match what {
            Failure::LinkDown(l) | Failure::LinkSilent(l) => links[l] = L::Broken,
            Failure::LinkUp(l) => links[l] = L::Up,
            Failure::BridgeDown(b) => alive[b] = false,
            Failure::BridgeUp(b) => alive[b] = true,
        }
        out.push(Timed { at, what });
        let g = rng.next_f64();
        let gap_us = if g < 0.5 {
            rng.next_u64() % 1_000
        } else if g < 0.8 {
            1_000 + rng.next_u64() % 49_000
        } else {
            50_000 + rng.next_u64() % 250_000
        };
        at += Duration::from_micros(gap_us);
    }
    out
}

// ---------------------------------------------------------------------
// The fabric.

/// Settings of a fabric.
#[derive(Debug, Clone)]
pub struct FabricConfig {
    /// One-way delay of every link (default 10 µs).
    pub delay: Duration,
    /// CPU time a switch spends on each received frame (default 2 µs).
    pub proc_cost: Duration,
    /// Seed of nonces.
    pub seed: u64,
    /// MAC homes each switch advertises (learned at start and after a
    /// restart).
    pub homes_per_bridge: usize,
    /// SSTP settings of every switch (SystemId and nonce filled in).
    pub sstp: SstpConfig,
    /// Check invariant (a) at every event.
    pub check_loops: bool,
    /// Switches tag the unicast they route to each other
    /// ([`crate::sstp::forward`]'s downhill test and repair rules); the
    /// loop check follows tagged frames.
    pub unicast_tag: bool,
}

impl Default for FabricConfig {
    fn default() -> FabricConfig {
        FabricConfig {
            delay: Duration::from_micros(10),
            proc_cost: Duration::from_micros(2),
            seed: 1,
            homes_per_bridge: 0,
            sstp: SstpConfig::new(SystemId::default()),
            check_loops: true,
            unicast_tag: true,
        }
    }
}

/// A forwarding loop found by invariant (a).
#[derive(Debug, Clone)]
pub struct Violation {
    /// When.
    pub at: Duration,
    /// The event after which it was found.
    pub event: String,
    /// The destination switch.
    pub dest: String,
    /// The walk: a switch, the ones after it, and the same switch again.
    pub cycle: Vec<String>,
    /// Whether frames can circulate forever (else they visit a switch
    /// twice, then are dropped).
    pub endless: bool,
    /// Whether the switch the walk comes back to sends the frame on again
    /// (else it drops it where it comes back).
    pub forwarded_twice: bool,
    /// Each switch of the walk: its route toward the destination and its
    /// live ports, as the data path sees them.
    pub views: Vec<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} toward {} at {:.6} s after {}: {}",
            if self.endless {
                "endless loop"
            } else if self.forwarded_twice {
                "revisit, sent on again"
            } else {
                "revisit, dropped where it came back"
            },
            self.dest,
            self.at.as_secs_f64(),
            self.event,
            self.cycle.join(" → ")
        )?;
        for v in &self.views {
            writeln!(f, "    {v}")?;
        }
        Ok(())
    }
}

/// Counters of the loop checker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CheckStats {
    /// Events after which something was checked.
    pub events_checked: u64,
    /// Exact searches run (a destination with an uphill hop).
    pub exact_searches: u64,
    /// Events after which some destination had a loop.
    pub violating_events: u64,
    /// Loops that appeared (a destination going from loop-free to
    /// looping).
    pub violations: u64,
    /// ... of which frames could circulate forever (a cycle of (switch,
    /// in-port) states); the others visit a switch twice, then are
    /// dropped.
    pub endless: u64,
    /// ... of which some switch sends the frame on twice (endless or
    /// not); the others are dropped where they come back (by the U-turn or
    /// downhill test), so no switch forwards a frame twice.
    pub forwarded_twice: u64,
}

/// What invariant (b) compares of a stored LSP: ID, sequence number,
/// content checksum, purged.
type DbEntry = (LspId, u64, u32, bool);

/// Why the last processed event happened, for reports.
enum Cause<'a> {
    Net(Processed),
    Script(&'a str),
}

/// A network of SSTP switches on a [`Topology`], with the invariant checks.
#[derive(Clone)]
pub struct Fabric {
    /// The network (segment `i` is link `i`).
    pub net: Network,
    /// The topology.
    pub topo: Topology,
    cfg: FabricConfig,
    systems: Vec<SystemId>,
    index: HashMap<SystemId, usize>,
    checker: Option<LoopChecker>,
    /// Loops found (the first [`Fabric::MAX_KEPT`] in full).
    pub violations: Vec<Violation>,
    /// Counters of the loop checker.
    pub check: CheckStats,
    /// Last time any switch's routes or port liveness changed.
    pub last_change: Duration,
    /// Largest database seen at any switch: fragments.
    pub peak_fragments: usize,
    /// Largest database seen at any switch: heap bytes.
    pub peak_lsdb_bytes: usize,
    touched_flags: Vec<u8>,
    touched_list: Vec<BridgeIdx>,
}

impl Fabric {
    /// Violations kept in full.
    pub const MAX_KEPT: usize = 20;

    /// Builds the fabric: every switch booted at time 0, every link up.
    pub fn new(topo: Topology, cfg: FabricConfig) -> Fabric {
        let mut net = Network::new(cfg.seed);
        net.sstp = Some(cfg.sstp.clone());
        net.proc_cost = cfg.proc_cost;
        net.observe = true;
        let n = topo.len();
        let mut systems = Vec::with_capacity(n);
        for i in 0..n {
            let address = bridge_mac(i);
            systems.push(SystemId(address));
            let mut bc = BridgeConfig::new(address);
            // The largest Max Age 17.14 allows: rings and tori wider than
            // 20 hops would otherwise lose the spanning tree, which SSTP
            // does not use but whose frames share the links.
            bc.max_age = super::gen::GEN_MAX_AGE;
            bc.forward_delay = super::gen::GEN_FORWARD_DELAY;
            let ports: Vec<(PortConfig, Option<u32>)> = (1..=topo.ports[i])
                .map(|p| {
                    let mut pc = PortConfig::new(p);
                    pc.path_cost = Some(LINK_COST);
                    (pc, Some(1000))
                })
                .collect();
            net.add_bridge(&topo.names[i], bc, &ports)
                .expect("generated bridges are valid");
        }
        for l in &topo.links {
            net.connect(
                (l.a, l.pa + 1),
                (l.b, l.pb + 1),
                &format!("{}-{}", topo.names[l.a], topo.names[l.b]),
                cfg.delay,
            );
        }
        let index = systems.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        let checker = cfg
            .check_loops
            .then(|| LoopChecker::new(&topo, cfg.unicast_tag));
        let mut f = Fabric {
            net,
            cfg,
            systems,
            index,
            checker,
            violations: Vec::new(),
            check: CheckStats::default(),
            last_change: Duration::ZERO,
            peak_fragments: 0,
            peak_lsdb_bytes: 0,
            touched_flags: vec![0; n],
            touched_list: Vec::new(),
            topo,
        };
        f.net.refresh_carrier();
        for b in 0..n {
            f.learn_homes(b);
        }
        f.observe(Cause::Script("cold start"));
        f
    }

    /// The settings.
    pub fn config(&self) -> &FabricConfig {
        &self.cfg
    }

    fn learn_homes(&mut self, b: usize) {
        for h in 0..self.cfg.homes_per_bridge {
            let mac = MacAddr([
                0x06,
                (b >> 16) as u8,
                (b >> 8) as u8,
                b as u8,
                (h >> 8) as u8,
                h as u8,
            ]);
            self.net
                .handle(b, NodeEvent::MacHomeAdded(MacHome { vid: 0, mac }));
        }
    }

    /// The engine of switch `b` (`None` while it is powered off).
    pub fn engine(&self, b: usize) -> Option<&Sstp> {
        let br = &self.net.bridges[b];
        if br.alive {
            br.node.sstp()
        } else {
            None
        }
    }

    /// Runs until `until`, checking after every event.
    pub fn run_until(&mut self, until: Duration) {
        while let Some(p) = self.net.step(until) {
            if !self.net.touched.is_empty() {
                self.observe(Cause::Net(p));
            }
        }
        self.net.now = self.net.now.max(until);
    }

    /// Runs for `d`.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.net.now + d);
    }

    /// Applies a failure now (and checks).
    pub fn apply(&mut self, f: Failure) {
        let link = |l: usize| {
            let x = self.topo.links[l];
            (x.a, x.b)
        };
        match f {
            Failure::LinkDown(l) | Failure::LinkUp(l) => {
                let up = matches!(f, Failure::LinkUp(_));
                self.net.segments[l].up = up;
                if up {
                    self.net.set_silent(l, false);
                }
                let (a, b) = link(l);
                self.net.refresh_carrier_of(a.min(b));
                self.net.refresh_carrier_of(a.max(b));
            }
            Failure::LinkSilent(l) => self.net.set_silent(l, true),
            Failure::BridgeDown(b) => self.net.set_alive(b, false),
            Failure::BridgeUp(b) => {
                if !self.net.bridges[b].alive {
                    self.net.set_alive(b, true);
                    self.learn_homes(b);
                }
            }
        }
        let what = f.describe(&self.topo);
        self.observe(Cause::Script(&what));
    }

    /// Runs `script` from now: each failure at its time, checking at every
    /// event in between; returns when the last one has been applied.
    pub fn run_script(&mut self, script: &[Timed]) {
        let t0 = self.net.now;
        for e in script {
            self.run_until(t0 + e.at);
            self.apply(e.what);
        }
    }

    /// Heals every link and powers every switch on.
    pub fn restore(&mut self) {
        for l in 0..self.topo.links.len() {
            let s = &self.net.segments[l];
            if !s.up || s.silent {
                self.apply(Failure::LinkUp(l));
            }
        }
        for b in 0..self.topo.len() {
            if !self.net.bridges[b].alive {
                self.apply(Failure::BridgeUp(b));
            }
        }
    }

    /// Whether every powered switch's engine is quiet (see
    /// [`Sstp::is_quiet`]).
    pub fn is_quiet(&self) -> bool {
        (0..self.topo.len()).all(|b| self.engine(b).is_none_or(Sstp::is_quiet))
    }

    /// Runs until every engine has been quiet for `window` (checked each
    /// millisecond), at most until `limit` from now. Returns the time of
    /// the last change to any switch's routes or port liveness.
    pub fn run_to_quiescence(
        &mut self,
        window: Duration,
        limit: Duration,
    ) -> Result<Duration, String> {
        let end = self.net.now + limit;
        let tick = Duration::from_millis(1);
        let mut quiet_since: Option<Duration> = None;
        while self.net.now < end {
            self.run_for(tick);
            if self.is_quiet() {
                let since = *quiet_since.get_or_insert(self.net.now);
                if self.net.now - since >= window {
                    return Ok(self.last_change);
                }
            } else {
                quiet_since = None;
            }
        }
        Err(format!(
            "not quiet after {:.3} s: {}",
            limit.as_secs_f64(),
            self.busy_report()
        ))
    }

    fn busy_report(&self) -> String {
        let busy: Vec<String> = (0..self.topo.len())
            .filter(|&b| self.engine(b).is_some_and(|e| !e.is_quiet()))
            .take(5)
            .map(|b| {
                let e = self.engine(b).expect("alive");
                let adj: Vec<String> = e
                    .adjacencies()
                    .iter()
                    .map(|a| {
                        format!(
                            "p{} {} synced={} adv={} pending={}",
                            a.port,
                            a.state.as_str(),
                            a.synced,
                            a.advertised,
                            a.pending_lsps
                        )
                    })
                    .collect();
                format!("{} [{}]", self.topo.names[b], adj.join("; "))
            })
            .collect();
        busy.join(", ")
    }

    /// Invariant (b): within every connected part of the network, every
    /// database holds the same LSPs (IDs, sequence numbers, checksums,
    /// purged or not), and every switch's routes equal SPF run on the true
    /// graph (the links that deliver frames, both ends powered): the same
    /// reachable switches, distances and equal-cost port sets.
    pub fn check_converged(&self) -> Result<(), String> {
        let n = self.topo.len();
        let mut errors = Vec::new();
        let comp = self.components();
        // Databases.
        let mut first: HashMap<usize, (usize, Vec<DbEntry>)> = HashMap::new();
        for (b, &part) in comp.iter().enumerate() {
            let Some(e) = self.engine(b) else { continue };
            let db: Vec<DbEntry> = e
                .lsdb()
                .all()
                .iter()
                .map(|s| (s.lsp.id, s.lsp.sequence, s.checksum, s.purged))
                .collect();
            match first.get(&part) {
                None => {
                    first.insert(part, (b, db));
                }
                Some((a, other)) if *other != db => {
                    let diff = db
                        .iter()
                        .filter(|x| !other.contains(x))
                        .chain(other.iter().filter(|x| !db.contains(x)))
                        .take(3)
                        .map(|x| {
                            format!("{}/{} seq {} purged {}", x.0.origin, x.0.fragment, x.1, x.3)
                        })
                        .collect::<Vec<_>>();
                    errors.push(format!(
                        "databases of {} and {} differ ({} vs {} LSPs), e.g. {}",
                        self.topo.names[*a],
                        self.topo.names[b],
                        other.len(),
                        db.len(),
                        diff.join(", ")
                    ));
                }
                Some(_) => {}
            }
        }
        // Routes.
        let mut builder = GraphBuilder::new();
        let mut graph = crate::sstp::spf::Graph::new();
        let mut spf = Spf::new();
        let mut want = Routes::new();
        for b in 0..n {
            let Some(e) = self.engine(b) else { continue };
            let db = e.lsdb();
            let mut missing = None;
            for (l, x) in self.topo.links.iter().enumerate() {
                if !self.link_delivers(l) || comp[x.a] != comp[b] {
                    continue;
                }
                let (Some(sa), Some(sb)) =
                    (db.slot_of(self.systems[x.a]), db.slot_of(self.systems[x.b]))
                else {
                    missing = Some(l);
                    continue;
                };
                for (from, to, port) in [(sa, sb, x.pa), (sb, sa, x.pb)] {
                    builder.add_link(Link {
                        from,
                        to,
                        cost: LINK_COST,
                        port,
                    });
                }
            }
            if let Some(l) = missing {
                errors.push(format!(
                    "{} does not know both ends of {}",
                    self.topo.names[b],
                    self.topo.link_name(l)
                ));
            }
            if db.slot_count() > 0 {
                builder.add_slot(db.slot_count() as Slot - 1);
            }
            builder.build_into(&mut graph);
            spf.compute_primary(&graph, db.my_slot(), &mut want);
            let got = e.routes();
            let slots = got.len().max(want.len());
            for s in 0..slots as Slot {
                let (g, w) = (got.get(s), want.get(s));
                let same = match (g, w) {
                    (None, None) => true,
                    (Some(g), Some(w)) => g.distance() == w.distance() && g.ecmp() == w.ecmp(),
                    _ => false,
                };
                if !same {
                    let who = db
                        .system_of(s)
                        .and_then(|sys| self.index.get(&sys))
                        .map_or(format!("slot {s}"), |&i| self.topo.names[i].clone());
                    let overlays = e.failed_links().len();
                    errors.push(format!(
                        "{} → {who}: has {g:?}, SPF on the true graph gives {w:?} \
                         ({overlays} FAIL notices in force)",
                        self.topo.names[b]
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            let n = errors.len();
            errors.truncate(10);
            Err(format!("{n} problems: {}", errors.join("; ")))
        }
    }

    /// Whether link `l` delivers frames (carrier, not silent, both ends
    /// powered).
    pub fn link_delivers(&self, l: usize) -> bool {
        let x = self.topo.links[l];
        self.net.delivers(x.a, x.pa + 1).is_some()
    }

    /// Connected parts of the powered switches over links that deliver:
    /// a part number per switch.
    fn components(&self) -> Vec<usize> {
        let n = self.topo.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        for l in 0..self.topo.links.len() {
            if self.link_delivers(l) {
                let x = self.topo.links[l];
                let (a, b) = (find(&mut parent, x.a), find(&mut parent, x.b));
                parent[a] = b;
            }
        }
        (0..n).map(|b| find(&mut parent, b)).collect()
    }

    /// Heap bytes of every powered switch's engine.
    pub fn heap_bytes(&self) -> usize {
        (0..self.topo.len())
            .filter_map(|b| self.engine(b))
            .map(Sstp::heap_bytes)
            .sum()
    }

    /// Heap bytes of every powered switch's database and routes: the
    /// state that churn could leak (the rest is SPF's reusable scratch).
    pub fn state_bytes(&self) -> usize {
        (0..self.topo.len())
            .filter_map(|b| self.engine(b))
            .map(|e| e.lsdb().heap_bytes() + e.routes().heap_bytes())
            .sum()
    }

    /// SPF runs of the powered switches' engines (since their last start).
    pub fn spf_runs(&self) -> u64 {
        (0..self.topo.len())
            .filter_map(|b| self.engine(b))
            .map(|e| e.stats().spf_runs)
            .sum()
    }

    /// What crossed the links since `since` (a copy of
    /// [`Network::link_tx`]), by PDU kind.
    pub fn pdu_report(&self, since: &[LinkTx]) -> Vec<PduReport> {
        let links = self.topo.links.len().max(1) as u64;
        PDU_KINDS
            .iter()
            .enumerate()
            .map(|(k, &kind)| {
                let per: Vec<(u64, u64)> = self
                    .net
                    .link_tx
                    .iter()
                    .enumerate()
                    .map(|(l, x)| {
                        let b = since.get(l).copied().unwrap_or_default();
                        (x.pdus[k] - b.pdus[k], x.octets[k] - b.octets[k])
                    })
                    .collect();
                let pdus: u64 = per.iter().map(|x| x.0).sum();
                let octets: u64 = per.iter().map(|x| x.1).sum();
                PduReport {
                    kind,
                    pdus,
                    octets,
                    per_link_mean_pdus: pdus as f64 / links as f64,
                    per_link_max_pdus: per.iter().map(|x| x.0).max().unwrap_or(0),
                    per_link_mean_octets: octets as f64 / links as f64,
                    per_link_max_octets: per.iter().map(|x| x.1).max().unwrap_or(0),
                }
            })
            .collect()
    }

    /// Records what the last event changed and checks invariant (a).
    fn observe(&mut self, cause: Cause<'_>) {
        let touched = std::mem::take(&mut self.net.touched);
        if touched.is_empty() {
            return;
        }
        for &(b, what) in &touched {
            if self.touched_flags[b] == 0 {
                self.touched_list.push(b);
            }
            self.touched_flags[b] |= what;
            if what & (touch::ROUTES | touch::LIVENESS | touch::POWER) != 0 {
                self.last_change = self.net.now;
            }
        }
        self.net.touched = touched;
        self.net.touched.clear();
        for i in 0..self.touched_list.len() {
            let b = self.touched_list[i];
            if self.touched_flags[b] & touch::ROUTES != 0 {
                let sizes = self
                    .engine(b)
                    .map(|e| (e.lsdb().fragment_count(), e.lsdb().heap_bytes()));
                if let Some((frags, bytes)) = sizes {
                    self.peak_fragments = self.peak_fragments.max(frags);
                    self.peak_lsdb_bytes = self.peak_lsdb_bytes.max(bytes);
                }
            }
        }
        if let Some(mut c) = self.checker.take() {
            self.check.events_checked += 1;
            for i in 0..self.touched_list.len() {
                let b = self.touched_list[i];
                c.update(self, b, self.touched_flags[b]);
            }
            let (found, searches) = c.check(self);
            self.check.exact_searches += searches;
            if !found.is_empty() {
                self.check.violating_events += 1;
            }
            for (d, cycle, fresh) in found {
                if !fresh {
                    continue;
                }
                self.check.violations += 1;
                let endless = c.endless(d);
                let forwarded_twice = endless || c.forwards(&cycle, d);
                self.check.endless += u64::from(endless);
                self.check.forwarded_twice += u64::from(forwarded_twice);
                if self.violations.len() < Self::MAX_KEPT {
                    let mut v = c.describe(self, d, &cycle, &cause);
                    v.endless = endless;
                    v.forwarded_twice = forwarded_twice;
                    self.violations.push(v);
                }
            }
            self.checker = Some(c);
        }
        for b in self.touched_list.drain(..) {
            self.touched_flags[b] = 0;
        }
    }
}

/// PDUs of one kind on the links.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PduReport {
    /// The kind ([`PDU_KINDS`]).
    pub kind: &'static str,
    /// PDUs on all links (each direction counted).
    pub pdus: u64,
    /// Their octets.
    pub octets: u64,
    /// PDUs per link, mean.
    pub per_link_mean_pdus: f64,
    /// PDUs on the busiest link.
    pub per_link_max_pdus: u64,
    /// Octets per link, mean.
    pub per_link_mean_octets: f64,
    /// Octets on the busiest link.
    pub per_link_max_octets: u64,
}

/// The address of generated switch `i` (locally administered, unique).
pub fn bridge_mac(i: usize) -> MacAddr {
    let i = i as u32 + 1;
    MacAddr([0x02, 0, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8])
}

// ---------------------------------------------------------------------
// Invariant (a).

/// The incremental loop-freedom check (see the module doc).
#[derive(Clone)]
struct LoopChecker {
    n: usize,
    /// Phases a frame can be in: 1 untagged; 3 tagged (downhill, repaired
    /// and climbing, repaired and downhill again).
    phases: usize,
    /// Per switch, per port index: the far end (switch, its port index).
    far: Vec<Vec<(usize, PortIndex)>>,
    /// Per switch: powered.
    alive: Vec<bool>,
    /// Per switch: the data path's liveness word, ports without carrier
    /// cleared.
    live: Vec<u64>,
    /// Per switch: ports whose frames reach the far end.
    deliver: Vec<u64>,
    /// `routes[x * n + d]`: switch x's route toward switch d.
    routes: Vec<BridgeRoute>,
    /// `uphill[x * n + d]`: x's possible next hops toward d whose own
    /// distance to d is not below x's.
    uphill: Vec<u8>,
    /// Per destination: the sum of `uphill` over all switches.
    uphill_total: Vec<u32>,
    /// Per destination: a loop was found and not yet cleared.
    looping: Vec<bool>,
    dirty: Vec<bool>,
    dirty_list: Vec<usize>,
    row: Vec<BridgeRoute>,
    // Scratch of the exact search.
    base: Vec<usize>,
    owner: Vec<usize>,
    /// Per state: its switch × `phases` + its phase. A walk may come back
    /// to a switch in a later phase (a wrap goes back the way it came),
    /// never in the same one.
    group: Vec<usize>,
    seen: Vec<u32>,
    stamp: u32,
    parent: Vec<usize>,
    queue: std::collections::VecDeque<usize>,
    edges: Vec<(usize, usize)>,
}

const NONE: usize = usize::MAX;

impl LoopChecker {
    fn new(t: &Topology, tagged: bool) -> LoopChecker {
        let phases = if tagged { 3 } else { 1 };
        let n = t.len();
        let mut far: Vec<Vec<(usize, PortIndex)>> = t
            .ports
            .iter()
            .map(|&p| vec![(NONE, 0); usize::from(p)])
            .collect();
        for l in &t.links {
            far[l.a][usize::from(l.pa)] = (l.b, l.pb);
            far[l.b][usize::from(l.pb)] = (l.a, l.pa);
        }
        let mut base = Vec::with_capacity(n + 1);
        let mut owner = Vec::new();
        let mut group = Vec::new();
        let mut acc = 0;
        for (x, f) in far.iter().enumerate() {
            base.push(acc);
            acc += phases * (f.len() + 1);
            owner.extend(std::iter::repeat_n(x, phases * (f.len() + 1)));
            for phase in 0..phases {
                group.extend(std::iter::repeat_n(x * phases + phase, f.len() + 1));
            }
        }
        base.push(acc);
        LoopChecker {
            n,
            phases,
            far,
            alive: vec![false; n],
            live: vec![0; n],
            deliver: vec![0; n],
            routes: vec![BridgeRoute::UNREACHABLE; n * n],
            uphill: vec![0; n * n],
            uphill_total: vec![0; n],
            looping: vec![false; n],
            dirty: vec![false; n],
            dirty_list: Vec::new(),
            row: vec![BridgeRoute::UNREACHABLE; n],
            seen: vec![0; acc],
            parent: vec![NONE; acc],
            base,
            owner,
            group,
            stamp: 0,
            queue: Default::default(),
            edges: Vec::new(),
        }
    }

    fn mark(&mut self, d: usize) {
        if !self.dirty[d] {
            self.dirty[d] = true;
            self.dirty_list.push(d);
        }
    }

    /// Takes in what changed at switch `x`.
    fn update(&mut self, f: &Fabric, x: usize, what: u8) {
        let n = self.n;
        let state = what & (touch::LIVENESS | touch::LINK | touch::POWER) != 0;
        if state {
            let br = &f.net.bridges[x];
            self.alive[x] = br.alive;
            let (mut carrier, mut deliver) = (0u64, 0u64);
            for p in 0..self.far[x].len().min(MAX_SSTP_PORTS) {
                let number = p as u16 + 1;
                if f.net.carrier(x, number) {
                    carrier |= 1 << p;
                }
                if f.net.delivers(x, number).is_some() {
                    deliver |= 1 << p;
                }
            }
            self.live[x] = br.live & carrier;
            self.deliver[x] = deliver;
        }
        let mut dist_changed: Vec<usize> = Vec::new();
        let mut route_changed: Vec<usize> = Vec::new();
        if what & (touch::ROUTES | touch::POWER) != 0 {
            self.row.fill(BridgeRoute::UNREACHABLE);
            if let Some(e) = f.engine(x) {
                let (db, routes) = (e.lsdb(), e.routes());
                for (slot, sys) in db.origins() {
                    if let (Some(&d), Some(r)) = (f.index.get(&sys), routes.get(slot)) {
                        self.row[d] = *r;
                    }
                }
            }
            for d in 0..n {
                let old = self.routes[x * n + d];
                let new = self.row[d];
                if old != new {
                    if old.distance() != new.distance() {
                        dist_changed.push(d);
                    }
                    route_changed.push(d);
                    self.routes[x * n + d] = new;
                }
            }
        }
        if state {
            for d in 0..n {
                self.recompute(x, d);
                self.mark(d);
            }
        } else {
            for &d in &route_changed {
                self.recompute(x, d);
                self.mark(d);
            }
        }
        // x's own distance is the potential its neighbours' hops into it
        // are judged by.
        let everything = what & touch::POWER != 0;
        let k = self.far[x].len();
        for i in 0..k {
            let w = self.far[x][i].0;
            if w == NONE {
                continue;
            }
            if everything {
                for d in 0..n {
                    self.recompute(w, d);
                    self.mark(d);
                }
            } else {
                for &d in &dist_changed {
                    self.recompute(w, d);
                    self.mark(d);
                }
            }
        }
    }

    /// Every port `x` may send a frame for `d` out of, whatever port it
    /// came in on.
    fn out_ports(&self, x: usize, d: usize) -> u64 {
        let r = &self.routes[x * self.n + d];
        let live = self.live[x];
        let mut mask = 0u64;
        let arrivals = std::iter::once(Arrival::Edge)
            .chain((0..self.far[x].len() as PortIndex).map(Arrival::Untagged));
        for from in arrivals {
            for &p in candidates(r, from, live).iter() {
                mask |= 1 << p;
            }
        }
        mask & self.deliver[x]
    }

    fn recompute(&mut self, x: usize, d: usize) {
        let n = self.n;
        let new = self.uphill_of(x, d);
        let old = &mut self.uphill[x * n + d];
        if *old != new {
            self.uphill_total[d] = self.uphill_total[d] + u32::from(new) - u32::from(*old);
            *old = new;
        }
    }

    fn uphill_of(&self, x: usize, d: usize) -> u8 {
        let n = self.n;
        if !self.alive[x] || x == d {
            return 0;
        }
        let Some(dx) = self.routes[x * n + d].distance() else {
            return 0;
        };
        let mut mask = self.out_ports(x, d);
        let mut count = 0;
        while mask != 0 {
            let p = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let y = self.far[x][p].0;
            if y == d || !self.alive[y] {
                continue;
            }
            if self.routes[y * n + d].distance().is_some_and(|dy| dy >= dx) {
                count += 1;
            }
        }
        count
    }

    /// The transitions of state `s` toward `d`: the states the frame is in
    /// at the next switch.
    fn next_states(&self, s: usize, d: usize, out: &mut Vec<usize>) {
        out.clear();
        let x = self.owner[s];
        let (phase, from) = self.arrival(s, d);
        let r = &self.routes[x * self.n + d];
        let set = candidates(r, from, self.live[x]);
        let next_phase = match (self.phases, set.is_repair(), phase) {
            (1, ..) => 0,
            (_, true, _) => 1,
            (_, false, 0) => 0,
            (_, false, _) => 2,
        };
        for &p in set.iter() {
            if self.deliver[x] & (1 << p) == 0 {
                continue;
            }
            let (y, py) = self.far[x][usize::from(p)];
            if y == d || !self.alive[y] {
                continue;
            }
            let k = self.far[y].len() + 1;
            out.push(self.base[y] + next_phase * k + 1 + usize::from(py));
        }
    }

    /// State `s` toward `d`: the frame's phase and where it came from,
    /// with the tag its sender wrote from the sender's current route.
    fn arrival(&self, s: usize, d: usize) -> (usize, Arrival) {
        let x = self.owner[s];
        let k = self.far[x].len() + 1;
        let (phase, q) = ((s - self.base[x]) / k, (s - self.base[x]) % k);
        if q == 0 {
            return (phase, Arrival::Edge);
        }
        let port = (q - 1) as PortIndex;
        if self.phases == 1 {
            return (phase, Arrival::Untagged(port));
        }
        let sender = self.far[x][q - 1].0;
        let tag = Tag {
            distance: tag_distance(&self.routes[sender * self.n + d]),
            repair_hop: phase == 1,
            repaired: phase > 0,
        };
        (phase, Arrival::Tagged(port, tag))
    }

    /// Checks every destination marked since the last check. Returns the
    /// loops found, (destination, states of the walk, newly looping), and
    /// the number of exact searches.
    fn check(&mut self, _f: &Fabric) -> (Vec<(usize, Vec<usize>, bool)>, u64) {
        let mut found = Vec::new();
        let mut searches = 0;
        let list = std::mem::take(&mut self.dirty_list);
        for &d in &list {
            self.dirty[d] = false;
            if self.uphill_total[d] == 0 {
                self.looping[d] = false;
                continue;
            }
            searches += 1;
            match self.exact(d) {
                Some(walk) => {
                    let fresh = !self.looping[d];
                    self.looping[d] = true;
                    found.push((d, walk, fresh));
                }
                None => self.looping[d] = false,
            }
        }
        self.dirty_list = list;
        self.dirty_list.clear();
        (found, searches)
    }

    /// The exact search toward `d`: the states frames can be in (starting
    /// at every powered switch with a route), then, for each switch on a
    /// cycle of the switch-level graph those states span, whether a walk
    /// from one of its states reaches one of its states again. Returns
    /// such a walk (states), or `None`.
    fn exact(&mut self, d: usize) -> Option<Vec<usize>> {
        let n = self.n;
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.seen.fill(0);
            self.stamp = 1;
        }
        let stamp = self.stamp;
        self.queue.clear();
        self.edges.clear();
        for x in 0..n {
            if self.alive[x] && x != d && self.routes[x * n + d].is_reachable() {
                let s = self.base[x];
                self.seen[s] = stamp;
                self.queue.push_back(s);
            }
        }
        let mut next = Vec::new();
        let mut reached = Vec::new();
        while let Some(s) = self.queue.pop_front() {
            reached.push(s);
            self.next_states(s, d, &mut next);
            for &t in &next {
                self.edges.push((self.group[s], self.group[t]));
                if self.seen[t] != stamp {
                    self.seen[t] = stamp;
                    self.queue.push_back(t);
                }
            }
        }
        let on_cycle = switches_on_cycles(n * self.phases, &mut self.edges);
        if on_cycle.is_empty() {
            return None;
        }
        // Exact: from each such switch's reachable states, does a walk come
        // back to it?
        let mut by_owner: HashMap<usize, Vec<usize>> = HashMap::new();
        for &s in &reached {
            by_owner.entry(self.group[s]).or_default().push(s);
        }
        // A walk whose switch sends the frame on when it comes back, if
        // there is one; else one where it is dropped there.
        let mut dropped_there: Option<Vec<usize>> = None;
        for c in on_cycle {
            let Some(starts) = by_owner.get(&c) else {
                continue;
            };
            self.stamp = self.stamp.wrapping_add(1).max(1);
            let st = self.stamp;
            self.queue.clear();
            for &s in starts {
                self.seen[s] = st;
                self.parent[s] = NONE;
                self.queue.push_back(s);
            }
            while let Some(s) = self.queue.pop_front() {
                self.next_states(s, d, &mut next);
                for &t in &next {
                    if self.group[t] == c {
                        let sends = self.sends_on(t, d);
                        if sends || dropped_there.is_none() {
                            let mut walk = vec![t, s];
                            let mut u = s;
                            while self.parent[u] != NONE {
                                u = self.parent[u];
                                walk.push(u);
                            }
                            walk.reverse();
                            if sends {
                                return Some(walk);
                            }
                            dropped_there = Some(walk);
                        }
                        continue;
                    }
                    if self.seen[t] != st {
                        self.seen[t] = st;
                        self.parent[t] = s;
                        self.queue.push_back(t);
                    }
                }
            }
        }
        dropped_there
    }

    /// Whether the last state of `walk` (the switch it comes back to) sends
    /// the frame on toward `d`.
    fn forwards(&self, walk: &[usize], d: usize) -> bool {
        walk.last().is_some_and(|&s| self.sends_on(s, d))
    }

    /// Whether a frame in state `s` toward `d` is sent out of any port
    /// (toward `d` itself included), rather than dropped.
    fn sends_on(&self, s: usize, d: usize) -> bool {
        let x = self.owner[s];
        let (_, from) = self.arrival(s, d);
        !candidates(&self.routes[x * self.n + d], from, self.live[x]).is_empty()
    }

    /// Whether some frame toward `d` can circulate forever: a cycle among
    /// the (switch, in-port) states reachable from the switches' own
    /// frames (depth-first search with colours).
    fn endless(&mut self, d: usize) -> bool {
        let s_count = self.seen.len();
        // 0 white, 1 on the path, 2 done; `parent` holds the colour here.
        let colour = &mut vec![0u8; s_count];
        let mut next = Vec::new();
        let mut stack: Vec<(usize, Vec<usize>, usize)> = Vec::new();
        for x in 0..self.n {
            if !(self.alive[x] && x != d && self.routes[x * self.n + d].is_reachable()) {
                continue;
            }
            let s0 = self.base[x];
            if colour[s0] != 0 {
                continue;
            }
            colour[s0] = 1;
            self.next_states(s0, d, &mut next);
            stack.push((s0, next.clone(), 0));
            while let Some((s, succ, i)) = stack.last_mut() {
                if let Some(&t) = succ.get(*i) {
                    *i += 1;
                    match colour[t] {
                        1 => return true,
                        0 => {
                            colour[t] = 1;
                            self.next_states(t, d, &mut next);
                            stack.push((t, next.clone(), 0));
                        }
                        _ => {}
                    }
                } else {
                    colour[*s] = 2;
                    stack.pop();
                }
            }
        }
        false
    }

    fn describe(&self, f: &Fabric, d: usize, walk: &[usize], cause: &Cause<'_>) -> Violation {
        let names = &f.topo.names;
        let view = |s: usize| {
            let x = self.owner[s];
            let (_, from) = self.arrival(s, d);
            let r = self.routes[x * self.n + d];
            format!(
                "{} (in {}): {:?}, live {:#b}, may send on {:?}",
                names[x],
                match from {
                    Arrival::Edge => "from its own edge".to_string(),
                    Arrival::Untagged(p) => format!("on port {p}"),
                    Arrival::Tagged(p, t) => format!("on port {p}, {t:?}"),
                },
                r,
                self.live[x],
                &candidates(&r, from, self.live[x])[..]
            )
        };
        Violation {
            at: f.net.now,
            event: match cause {
                Cause::Net(p) => p.describe(&f.net),
                Cause::Script(s) => s.to_string(),
            },
            dest: names[d].clone(),
            endless: false,
            forwarded_twice: false,
            cycle: walk.iter().map(|&s| names[self.owner[s]].clone()).collect(),
            views: walk.iter().map(|&s| view(s)).collect(),
        }
    }
}

/// The switches on a cycle of the directed graph `edges` over `0..n`
/// (Tarjan's strongly connected components, iteratively; a switch on a
/// component of two or more). Sorts and deduplicates `edges`.
fn switches_on_cycles(n: usize, edges: &mut Vec<(usize, usize)>) -> Vec<usize> {
    if edges.is_empty() {
        return Vec::new();
    }
    edges.sort_unstable();
    edges.dedup();
    let mut start = vec![0usize; n + 1];
    for &(a, _) in edges.iter() {
        start[a + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let succ = |v: usize| &edges[start[v]..start[v + 1]];
    let mut index = vec![NONE; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut counter = 0;
    let mut call: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if index[root] != NONE || succ(root).is_empty() {
            continue;
        }
        call.push((root, 0));
        index[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut i)) = call.last_mut() {
            if let Some(&(_, w)) = succ(v).get(*i) {
                *i += 1;
                if index[w] == NONE {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(p, _)) = call.last() {
                low[p] = low[p].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                loop {
                    let w = stack.pop().expect("on stack");
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    out.extend(comp);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_and_print() {
        for s in ["ring:8", "torus:5x5", "torus3:10x10x10", "random:50,4,7"] {
            assert_eq!(s.parse::<Shape>().unwrap().to_string(), s);
        }
        for bad in [
            "ring",
            "ring:1",
            "torus:5",
            "torus3:2x2",
            "random:5,1,1",
            "cube:3",
        ] {
            assert!(bad.parse::<Shape>().is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_topologies_have_the_right_links() {
        let t = Topology::new(&Shape::Ring(8));
        assert_eq!((t.len(), t.links.len()), (8, 8));
        assert!(t.ports.iter().all(|&p| p == 2));
        let t = Topology::new(&Shape::Torus(vec![5, 5]));
        assert_eq!((t.len(), t.links.len()), (25, 50));
        assert!(t.ports.iter().all(|&p| p == 4));
        let t = Topology::new(&Shape::Torus(vec![2, 3]));
        assert_eq!(t.links.len(), 3 + 6, "one link along a size of 2");
        let t = Topology::new(&Shape::Random {
            n: 40,
            degree: 3,
            seed: 9,
        });
        assert!(t.ports.iter().all(|&p| (1..=3).contains(&p)));
        // Connected: every switch reachable from switch 0.
        let mut seen = [false; 40];
        let mut stack = vec![0];
        while let Some(x) = stack.pop() {
            if std::mem::replace(&mut seen[x], true) {
                continue;
            }
            for l in &t.links {
                if l.a == x {
                    stack.push(l.b);
                } else if l.b == x {
                    stack.push(l.a);
                }
            }
        }
        assert!(seen.iter().all(|&s| s));
        assert!(t.links.len() >= 55, "{} of 60 links", t.links.len());
    }

    #[test]
    fn scripts_parse_names_indices_and_units() {
        let t = Topology::new(&Shape::Ring(4));
        let s = parse_script(
            "# c\n20ms link up B0-B1\n0us link down 1-0 # same link\n1.5s bridge down B3\n2s link silent #2\n",
            &t,
        )
        .unwrap();
        assert_eq!(
            s,
            vec![
                Timed {
                    at: Duration::ZERO,
                    what: Failure::LinkDown(0)
                },
                Timed {
                    at: Duration::from_millis(20),
                    what: Failure::LinkUp(0)
                },
                Timed {
                    at: Duration::from_millis(1500),
                    what: Failure::BridgeDown(3)
                },
                Timed {
                    at: Duration::from_secs(2),
                    what: Failure::LinkSilent(2)
                },
            ]
        );
        assert!(
            parse_script("1ms link down B0-B2", &t).is_err(),
            "not a link"
        );
        assert!(parse_script("1 link down B0-B1", &t).is_err(), "no unit");
        assert!(parse_script("1ms bridge silent B0", &t).is_err());
    }

    #[test]
    fn cycles_are_found_only_on_cycles() {
        let mut e = vec![(0, 1), (1, 2), (2, 3)];
        assert!(switches_on_cycles(4, &mut e).is_empty());
        let mut e = vec![(0, 1), (1, 2), (2, 1), (3, 0)];
        let mut c = switches_on_cycles(4, &mut e);
        c.sort_unstable();
        assert_eq!(c, vec![1, 2]);
    }

    #[test]
    fn random_failures_only_break_what_is_whole_and_heal_what_is_broken() {
        let t = Topology::new(&Shape::Torus(vec![3, 3]));
        for seed in 0..20 {
            let s = random_failures(&t, seed, 30);
            assert_eq!(s.len(), 30);
            let mut broken = vec![false; t.links.len()];
            let mut dead = vec![false; t.len()];
            for e in &s {
                match e.what {
                    Failure::LinkDown(l) | Failure::LinkSilent(l) => {
                        assert!(!std::mem::replace(&mut broken[l], true))
                    }
                    Failure::LinkUp(l) => assert!(std::mem::replace(&mut broken[l], false)),
                    Failure::BridgeDown(b) => assert!(!std::mem::replace(&mut dead[b], true)),
                    Failure::BridgeUp(b) => assert!(std::mem::replace(&mut dead[b], false)),
                }
            }
            assert!(s.windows(2).all(|w| w[0].at <= w[1].at));
        }
    }
}
