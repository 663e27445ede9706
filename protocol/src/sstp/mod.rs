//! The SSTP link-state engine: adjacency, the link-state database, reliable
//! flooding, SPF with ECMP and precomputed repair. Sans-IO like
//! [`crate::rstp`], and never importing it: [`crate::node`] joins the two.
//!
//! [`Sstp::handle`] takes `(now, Event)` and appends [`Action`]s; the caller
//! wakes it at [`Sstp::poll_timeout`]. Frames go in and out as bytes (the
//! engine runs the codec of [`crate::wire::sstp`]), so the simulator
//! exercises exactly what the daemon does. Randomness (the session nonce)
//! and the clock reading that seeds sequence numbers come in through
//! [`SstpConfig`].
//!
//! The parts, each in its own module: [`adjacency`] (HELLOs, three-way
//! handshake, dead timer), [`lsdb`] (stored LSPs, freshness, lifetimes,
//! MAC homes, bounds), [`flooding`] (per-link reliable flooding and
//! database sync), [`origination`] (our own LSP's fragments), [`spf`] and
//! [`routes`] (shortest paths, ECMP, repair), [`forward`] (the per-frame
//! next-hop rule the data path and the simulator share), [`throttle`]
//! (back-off of LSP generation and SPF).
//!
//! Choices where the design left room (each argued in `docs/sstp.md`):
//! - **Identity.** A switch is its SystemId (the bridge address). Sequence
//!   numbers start above a caller-given value (the daemon passes the wall
//!   clock in microseconds), so a restarted switch outbids its earlier
//!   LSPs at once; a copy of our own LSP that is newer anyway is outbid
//!   (ISO 10589 7.3.16.1), one we no longer originate is purged.
//! - **Links carry unicast only once synced.** Our LSP lists an adjacency
//!   only when it is two-way *and* the link's databases are in sync, and
//!   SPF uses a link only when both ends list it. So a link that comes back
//!   carries no traffic until both switches know the same topology.
//! - **FAIL.** On losing an up adjacency we flood a FAIL notice before our
//!   new LSP. A switch that receives it takes the link out of its graph at
//!   once (until the origin's next fragment 0 arrives, or for
//!   [`FAIL_OVERLAY_TTL`]) and relays it on every other link.
//! - **Unreachable origins** are dropped from the database after
//!   `unreachable_hold` (default 60 s): everyone computes the same
//!   reachability, so nothing needs flooding; meanwhile the spanning tree
//!   uses their reachability to discard stale root information.

pub mod adjacency;
pub mod flooding;
pub mod forward;
pub mod lsdb;
pub mod origination;
pub mod routes;
pub mod spf;
pub mod throttle;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::wire::{
    decode_sstp_frame, encode_sstp_frame, BindingEntry, Csnp, FailNotice, FailReason, Hostname,
    Lsp, LspEntry, LspId, MacHome, PduType, Psnp, SstpError, SstpPdu, SystemId,
};
use crate::wire::{BridgeId, MacAddr};
use crate::PortIndex;

use adjacency::{Adjacency, AdjacencyReason, AdjacencyState, LocalIdentity, Transition};
use flooding::{complete_summary, psnps, Flooding};
use lsdb::{Freshness, Limits, Lsdb};
use origination::Origination;
use routes::Routes;
use spf::{Graph, GraphBuilder, Slot, Spf, SpfStats};
use throttle::{Throttle, ThrottleConfig};

/// How long a FAIL notice keeps its link out of the graph when no newer LSP
/// of its origin arrives to settle it.
pub const FAIL_OVERLAY_TTL: Duration = Duration::from_secs(2);
/// Hop limit of a FAIL notice we originate: the diameter it can cross.
pub const FAIL_HOP_LIMIT: u8 = 255;
/// How often lifetimes and unreachable origins are checked.
const AGING_INTERVAL: Duration = Duration::from_secs(1);

/// Settings of the engine. Every value has a default ([`SstpConfig::new`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SstpConfig {
    /// This switch (its bridge address).
    pub system: SystemId,
    /// The RSTP bridge ID announced in SYSTEM (the node keeps it current).
    pub bridge_id: BridgeId,
    /// Announced in HELLOs and LSPs, for people.
    pub hostname: Option<Hostname>,
    /// This session's nonce: random, new at every start.
    pub nonce: u64,
    /// Sequence numbers of our LSPs start above this.
    pub initial_sequence: u64,
    /// HELLO interval (1 ms ..= 1 s; default 10 ms).
    pub hello_interval: Duration,
    /// HELLOs a neighbour may miss (2 ..= 255; default 3).
    pub dead_count: u8,
    /// Periodic complete summary per link (default 1 s).
    pub csnp_interval: Duration,
    /// Lifetime of our LSPs, seconds (default 1200; refreshed at 3/4).
    pub lsp_lifetime_secs: u16,
    /// Resend an unacknowledged LSP after this (default 100 ms).
    pub lsp_retransmit: Duration,
    /// Hold acknowledgements this long so one PSNP answers a burst of
    /// LSPs (default 1 ms; below `lsp_retransmit`).
    pub ack_delay: Duration,
    /// Back-off of LSP generation (default at once, then 10 ms doubling to 1 s).
    pub lsp_gen: ThrottleConfig,
    /// Back-off of SPF (default at once, then 1 ms doubling to 100 ms).
    pub spf: ThrottleConfig,
    /// Unreachable origins are dropped after this (default 60 s).
    pub unreachable_hold: Duration,
    /// Bounds of the database.
    pub limits: Limits,
}

/// Why a configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SstpConfigError {
    /// `hello_interval` outside 1 ms ..= 1 s.
    #[error("hello interval {0:?} is outside 1 ms ..= 1 s")]
    HelloInterval(Duration),
    /// `dead_count` below 2.
    #[error("dead count {0} is below 2")]
    DeadCount(u8),
    /// `lsp_lifetime_secs` below 60.
    #[error("LSP lifetime {0} s is below 60 s")]
    Lifetime(u16),
    /// A limit of zero.
    #[error("limit {0} must be at least 1")]
    Limit(&'static str),
    /// An interval of zero.
    #[error("{0} must be above zero")]
    Interval(&'static str),
    /// `ack_delay` not below `lsp_retransmit`: the sender would resend
    /// what is only waiting to be acknowledged.
    #[error("acknowledgement delay {0:?} is not below the LSP retransmit interval")]
    AckDelay(Duration),
}

impl SstpConfig {
    /// The defaults for switch `system`.
    pub fn new(system: SystemId) -> SstpConfig {
        SstpConfig {
            system,
            bridge_id: BridgeId::new(crate::rstp::DEFAULT_BRIDGE_PRIORITY, system.0),
            hostname: None,
            nonce: 1,
            initial_sequence: 0,
            hello_interval: Duration::from_millis(10),
            dead_count: 3,
            csnp_interval: Duration::from_secs(1),
            lsp_lifetime_secs: 1200,
            lsp_retransmit: Duration::from_millis(100),
            ack_delay: Duration::from_millis(1),
            lsp_gen: ThrottleConfig {
                initial_hold: Duration::from_millis(10),
                max_hold: Duration::from_secs(1),
            },
            // A 100 ms ceiling, not 10: tried, a 10 ms one converged a cut
            // right after a torus:32x32 cold start in 0.18 ms instead of
            // 49 ms, but it installed more transient routes everywhere (a
            // snapshot each), slowed the ring:1024 cold start (31 -> 35 ms)
            // and tripled its checked simulation (docs/sstp.md, "When work
            // runs"). Local repair carries the data path meanwhile.
            spf: ThrottleConfig {
                initial_hold: Duration::from_millis(1),
                max_hold: Duration::from_millis(100),
            },
            unreachable_hold: Duration::from_secs(60),
            limits: Limits::default(),
        }
    }

    /// Checks every value.
    pub fn validate(&self) -> Result<(), SstpConfigError> {
        let h = self.hello_interval;
        if h < Duration::from_millis(1) || h > Duration::from_secs(1) {
            return Err(SstpConfigError::HelloInterval(h));
        }
        if self.dead_count < 2 {
            return Err(SstpConfigError::DeadCount(self.dead_count));
        }
        if self.lsp_lifetime_secs < 60 {
            return Err(SstpConfigError::Lifetime(self.lsp_lifetime_secs));
        }
        if self.ack_delay >= self.lsp_retransmit {
            return Err(SstpConfigError::AckDelay(self.ack_delay));
        }
        for (name, v) in [
            ("csnp_interval", self.csnp_interval),
            ("lsp_retransmit", self.lsp_retransmit),
            ("unreachable_hold", self.unreachable_hold),
        ] {
            if v.is_zero() {
                return Err(SstpConfigError::Interval(name));
            }
        }
        let l = self.limits;
        for (name, v) in [
            ("max_bridges", l.max_bridges),
            ("max_fragments", usize::from(l.max_fragments)),
            ("max_mac_homes_per_bridge", l.max_mac_homes_per_bridge),
            ("max_mac_homes_total", l.max_mac_homes_total),
        ] {
            if v == 0 {
                return Err(SstpConfigError::Limit(name));
            }
        }
        Ok(())
    }
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// Time passed (wake at [`Sstp::poll_timeout`]).
    Tick,
    /// A fabric port became operational, with the path cost of its link.
    PortUp {
        /// The port.
        port: PortIndex,
        /// Path cost (802.1t, from speed).
        cost: u32,
    },
    /// A fabric port lost carrier or was disabled.
    PortDown {
        /// The port.
        port: PortIndex,
        /// Why (carrier, or the administrator).
        reason: FailReason,
    },
    /// An SSTP frame arrived (the whole Ethernet frame).
    Frame {
        /// The receiving port.
        port: PortIndex,
        /// Its bytes.
        frame: &'a [u8],
    },
    /// A host was learned on one of our edge ports.
    MacHomeAdded(MacHome),
    /// A host aged out of, or left, our edge ports.
    MacHomeRemoved(MacHome),
    /// An ARPless binding is now ours.
    BindingAdded(BindingEntry),
    /// An ARPless binding is no longer ours.
    BindingRemoved(BindingEntry),
    /// The RSTP bridge ID changed (priority).
    SetBridgeId(BridgeId),
    /// A port's path cost changed.
    SetPortCost {
        /// The port.
        port: PortIndex,
        /// The new cost.
        cost: u32,
    },
}

/// What the caller must do, or may want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this frame out of `port`.
    Transmit {
        /// The port.
        port: PortIndex,
        /// The whole Ethernet frame.
        frame: Vec<u8>,
        /// What it carries (for counters and logs).
        pdu: PduType,
    },
    /// An adjacency changed state.
    AdjacencyChanged {
        /// The port.
        port: PortIndex,
        /// The neighbour, if one is known.
        neighbour: Option<SystemId>,
        /// From, to, why.
        transition: Transition,
    },
    /// A link's databases are in sync: it is advertised from now on.
    LinkSynced {
        /// The port.
        port: PortIndex,
    },
    /// Whether the data path may send unicast on `port` (cleared at once
    /// when an adjacency goes down, before anything is recomputed).
    PortLiveness {
        /// The port.
        port: PortIndex,
        /// Alive or not.
        alive: bool,
    },
    /// SPF ran and the routes (or reachability) changed: read
    /// [`Sstp::routes`] and [`Sstp::lsdb`].
    RoutesChanged,
    /// The MAC homes changed: read [`Sstp::lsdb`].
    HomesChanged,
    /// Other switches' ARPless bindings changed: read
    /// [`Lsdb::remote_bindings`].
    BindingsChanged,
    /// A received PDU was dropped.
    Dropped {
        /// The port.
        port: PortIndex,
        /// The counter label.
        reason: &'static str,
    },
    /// A limit was hit: something was not stored or not advertised.
    Overflow {
        /// The counter label.
        what: &'static str,
    },
}

/// Counters of the engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SstpStats {
    /// PDUs received and accepted, by type.
    pub rx: BTreeMap<&'static str, u64>,
    /// PDUs sent, by type.
    pub tx: BTreeMap<&'static str, u64>,
    /// PDUs dropped, by reason.
    pub dropped: BTreeMap<&'static str, u64>,
    /// LSP fragments originated (each new sequence number).
    pub lsps_originated: u64,
    /// LSPs received that were newer than ours (installed).
    pub lsps_received: u64,
    /// LSPs sent for the first time on a link.
    pub lsps_flooded: u64,
    /// LSPs sent again for want of an acknowledgement.
    pub lsps_retransmitted: u64,
    /// SPF runs.
    pub spf_runs: u64,
    /// FAIL notices originated.
    pub fails_originated: u64,
    /// FAIL notices relayed.
    pub fails_relayed: u64,
    /// FAIL notices not overlaid because the origin's newer LSP was
    /// already here.
    pub fails_stale: u64,
    /// Adjacencies that came up.
    pub adjacency_ups: u64,
    /// Adjacencies that went down.
    pub adjacency_downs: u64,
    /// Entries left out by a limit.
    pub overflows: BTreeMap<&'static str, u64>,
    /// The last SPF run's counts.
    #[serde(skip)]
    pub last_spf: SpfStats,
}

fn pdu_label(t: PduType) -> &'static str {
    match t {
        PduType::Hello => "hello",
        PduType::Lsp => "lsp",
        PduType::Csnp => "csnp",
        PduType::Psnp => "psnp",
        PduType::Fail => "fail",
        _ => "unknown",
    }
}

/// One fabric port.
#[derive(Debug, Clone)]
struct Port {
    mac: MacAddr,
    cost: u32,
    adj: Adjacency,
    /// While the adjacency is up.
    flood: Option<Flooding>,
    /// Whether the adjacency is advertised (up and synced).
    advertised: bool,
}

/// A link taken out of the graph by a FAIL notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FailedLink {
    origin: SystemId,
    local_port: u16,
    neighbour: SystemId,
    remote_port: u16,
    /// The origin's fragment-0 sequence number when the notice arrived.
    origin_seq: u64,
    until: Duration,
}

/// One switch's SSTP.
#[derive(Debug, Clone)]
pub struct Sstp {
    cfg: SstpConfig,
    me: LocalIdentity,
    ports: BTreeMap<PortIndex, Port>,
    lsdb: Lsdb,
    orig: Origination,
    builder: GraphBuilder,
    graph: Graph,
    spf: Spf,
    routes: Routes,
    lsp_gen: Throttle,
    spf_throttle: Throttle,
    next_refresh: Duration,
    next_aging: Duration,
    fail_seq: u32,
    fails_seen: HashMap<SystemId, u32>,
    failed: Vec<FailedLink>,
    stats: SstpStats,
    /// Homes changed since the last [`Action::HomesChanged`].
    homes_changed: bool,
    /// Bindings changed since the last [`Action::BindingsChanged`].
    bindings_changed: bool,
    /// A link at this switch changed: SPF runs in this pass, whatever the
    /// throttle says.
    spf_now: bool,
}

/// Whether `s` is this switch (`me`) or at the other end of one of its
/// advertised links: a link with an end at `s` is at most one hop away.
fn is_near(me: SystemId, ports: &BTreeMap<PortIndex, Port>, s: SystemId) -> bool {
    s == me
        || ports
            .values()
            .any(|p| p.advertised && p.adj.neighbour().is_some_and(|n| n.id.system == s))
}

/// The far ends of the adjacencies one copy of an LSP lists and the other
/// does not (or lists at another cost): the links the new copy changes.
fn changed_links<'a>(old: Option<&'a Lsp>, new: &'a Lsp) -> impl Iterator<Item = SystemId> + 'a {
    let listed = |l: Option<&'a Lsp>| l.map_or(&[][..], |l| &l.adjacencies[..]);
    let (o, n) = (listed(old), &new.adjacencies[..]);
    let gone = o.iter().filter(move |a| !n.contains(a));
    let came = n.iter().filter(move |a| !o.contains(a));
    gone.chain(came).map(|a| a.neighbour)
}

impl Sstp {
    /// An engine with no ports.
    pub fn new(cfg: SstpConfig) -> Result<Sstp, SstpConfigError> {
        cfg.validate()?;
        let me = LocalIdentity {
            system: cfg.system,
            nonce: cfg.nonce,
            hello_interval: cfg.hello_interval,
            dead_count: cfg.dead_count,
        };
        let mut orig = Origination::new(
            cfg.system,
            cfg.bridge_id,
            cfg.initial_sequence,
            cfg.limits.max_fragments,
            cfg.limits.max_mac_homes_per_bridge,
        );
        orig.set_hostname(cfg.hostname.clone());
        let mut lsdb = Lsdb::new(cfg.system, cfg.limits);
        // Our first LSP is in our own database from the start (there is no
        // one to flood it to yet), outside the generation throttle, so the
        // first real change (an adjacency) still goes out at once.
        for l in orig.take_due(cfg.lsp_lifetime_secs) {
            let _ = lsdb.install(Duration::ZERO, l);
        }
        Ok(Sstp {
            me,
            ports: BTreeMap::new(),
            lsdb,
            orig,
            builder: GraphBuilder::new(),
            graph: Graph::new(),
            spf: Spf::new(),
            routes: Routes::new(),
            lsp_gen: Throttle::new(cfg.lsp_gen),
            spf_throttle: Throttle::new(cfg.spf),
            next_refresh: Duration::from_secs(u64::from(cfg.lsp_lifetime_secs) * 3 / 4),
            next_aging: AGING_INTERVAL,
            fail_seq: 0,
            fails_seen: HashMap::new(),
            failed: Vec::new(),
            stats: SstpStats::default(),
            homes_changed: false,
            bindings_changed: false,
            spf_now: false,
            cfg,
        })
    }

    /// Adds a fabric port (down until [`Event::PortUp`]) whose frames leave
    /// from `mac`.
    pub fn add_port(&mut self, port: PortIndex, mac: MacAddr) {
        self.ports.entry(port).or_insert(Port {
            mac,
            cost: crate::rstp::DEFAULT_PATH_COST,
            adj: Adjacency::new(port),
            flood: None,
            advertised: false,
        });
    }

    /// Removes a port at run time: its adjacency goes down as if the
    /// administrator disabled it (neighbours are told, our LSP loses the
    /// link), then the port is forgotten.
    pub fn remove_port(&mut self, now: Duration, port: PortIndex, out: &mut Vec<Action>) {
        self.handle(
            now,
            Event::PortDown {
                port,
                reason: FailReason::AdminDown,
            },
            out,
        );
        if self.ports.remove(&port).is_some() {
            self.readvertise(now);
            self.run_due(now, out);
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SstpConfig {
        &self.cfg
    }

    /// The database.
    pub fn lsdb(&self) -> &Lsdb {
        &self.lsdb
    }

    /// The switch a host this switch advertises has moved to: one whose
    /// advertisement outranks ours (a higher move sequence). The caller
    /// withdraws the home ([`Event::MacHomeRemoved`]) and sends the host's
    /// traffic there. `None` when the host is still ours, or not ours.
    pub fn home_moved_away(&self, h: &MacHome) -> Option<Slot> {
        let sequence = self.orig.home_sequence(h)?;
        self.lsdb.outranked(h, sequence)
    }

    /// The routes of the last SPF run, by LSDB slot.
    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    /// The counters.
    pub fn stats(&self) -> &SstpStats {
        &self.stats
    }

    /// Whether this port's adjacency is up (an SSTP link).
    pub fn is_sstp_link(&self, port: PortIndex) -> bool {
        self.ports.get(&port).is_some_and(|p| p.adj.is_up())
    }

    /// The adjacencies, by port.
    pub fn adjacencies(&self) -> Vec<AdjacencyStatus> {
        self.ports
            .iter()
            .map(|(&port, p)| AdjacencyStatus {
                port,
                state: p.adj.state(),
                neighbour: p.adj.neighbour().map(|n| n.id.system),
                neighbour_port: p.adj.neighbour().map(|n| n.id.port),
                up_since: p.adj.up_since(),
                synced: p.flood.as_ref().is_some_and(Flooding::is_synced),
                advertised: p.advertised,
                pending_lsps: p.flood.as_ref().map_or(0, Flooding::pending),
                cost: p.cost,
            })
            .collect()
    }

    /// Links a FAIL notice keeps out of SPF: (origin, its port,
    /// neighbour, its port, until when).
    pub fn failed_links(&self) -> Vec<(SystemId, u16, SystemId, u16, Duration)> {
        self.failed
            .iter()
            .map(|f| (f.origin, f.local_port, f.neighbour, f.remote_port, f.until))
            .collect()
    }

    /// Whether nothing is pending but the periodic timers (HELLOs,
    /// summaries, aging): no origination or SPF run waiting, no handshake
    /// half done, every up adjacency synced, advertised and idle. The
    /// simulator waits for this on every switch before it compares their
    /// databases: LSPs in flight are unacknowledged, so they keep their
    /// sender busy.
    pub fn is_quiet(&self) -> bool {
        !self.orig.is_dirty()
            && self.lsp_gen.due().is_none()
            && self.spf_throttle.due().is_none()
            && self.ports.values().all(|p| match p.adj.state() {
                AdjacencyState::Up => {
                    p.advertised && p.flood.as_ref().is_some_and(Flooding::is_idle)
                }
                AdjacencyState::Init => false,
                AdjacencyState::Down | AdjacencyState::NotPointToPoint => true,
            })
    }

    /// Heap bytes of the database, graph, SPF scratch and routes.
    pub fn heap_bytes(&self) -> usize {
        self.lsdb.heap_bytes()
            + self.builder.heap_bytes()
            + self.graph.heap_bytes()
            + self.spf.heap_bytes()
            + self.routes.heap_bytes()
    }

    /// When the engine next needs [`Event::Tick`].
    pub fn poll_timeout(&self) -> Option<Duration> {
        let mut t = self.next_aging.min(self.next_refresh);
        for p in self.ports.values() {
            if let Some(d) = p.adj.next_deadline() {
                t = t.min(d);
            }
            if let Some(f) = &p.flood {
                t = t.min(f.next_deadline(self.cfg.lsp_retransmit, self.cfg.ack_delay));
            }
        }
        for d in [self.lsp_gen.due(), self.spf_throttle.due()]
            .into_iter()
            .flatten()
        {
            t = t.min(d);
        }
        if let Some(f) = self.failed.iter().map(|f| f.until).min() {
            t = t.min(f);
        }
        Some(t)
    }

    /// Processes one event at `now`, then whatever is due; appends what to
    /// do to `out`.
    pub fn handle(&mut self, now: Duration, event: Event<'_>, out: &mut Vec<Action>) {
        match event {
            Event::Tick => {}
            Event::PortUp { port, cost } => {
                if let Some(p) = self.ports.get_mut(&port) {
                    p.cost = cost;
                    p.adj.enable(now);
                }
            }
            Event::PortDown { port, reason } => {
                if let Some(t) = self.ports.get_mut(&port).and_then(|p| p.adj.disable()) {
                    self.adjacency_changed(now, port, t, reason, out);
                }
            }
            Event::Frame { port, frame } => self.receive(now, port, frame, out),
            Event::MacHomeAdded(h) => {
                // A host another switch advertises has moved here: outrank
                // its advertisement (RFC 7432 section 15's rule). A host
                // only we advertise keeps its sequence.
                let ours = self.orig.home_sequence(&h).unwrap_or(0);
                let sequence = match self.lsdb.others_sequence(&h) {
                    Some(theirs) if theirs >= ours => theirs.saturating_add(1),
                    _ => ours,
                };
                if self.orig.add_home(h, sequence).is_err() {
                    self.overflow("own_mac_homes", out);
                }
                self.lsp_gen.trigger(now);
            }
            Event::MacHomeRemoved(h) => {
                self.orig.remove_home(&h);
                self.lsp_gen.trigger(now);
            }
            Event::BindingAdded(b) => {
                if self.orig.add_binding(b).is_err() {
                    self.overflow("own_bindings", out);
                }
                self.lsp_gen.trigger(now);
            }
            Event::BindingRemoved(b) => {
                self.orig.remove_binding(b.vid, b.ip);
                self.lsp_gen.trigger(now);
            }
            Event::SetBridgeId(b) => {
                self.cfg.bridge_id = b;
                self.orig.set_bridge_id(b);
                self.lsp_gen.trigger(now);
            }
            Event::SetPortCost { port, cost } => {
                if let Some(p) = self.ports.get_mut(&port) {
                    p.cost = cost;
                }
                self.readvertise(now);
            }
        }
        self.run_due(now, out);
    }

    // ---------------------------------------------------------------
    // Receiving.

    fn receive(&mut self, now: Duration, port: PortIndex, frame: &[u8], out: &mut Vec<Action>) {
        if !self.ports.get(&port).is_some_and(|p| p.adj.is_enabled()) {
            return self.drop_pdu(port, "port_down", out);
        }
        let f = match decode_sstp_frame(frame) {
            Ok(f) => f,
            Err(e) => return self.drop_pdu(port, SstpError::reason(&e), out),
        };
        if f.sender == self.me.system {
            return self.drop_pdu(port, "own_pdu", out);
        }
        let t = f.pdu.pdu_type();
        if let SstpPdu::Hello(h) = &f.pdu {
            self.count_rx(t);
            let me = self.me;
            let p = self.ports.get_mut(&port).expect("checked");
            if let Some(tr) = p.adj.receive(now, &me, f.sender, f.sender_port, h) {
                self.adjacency_changed(now, port, tr, FailReason::DeadTimer, out);
            }
            return;
        }
        // Everything but HELLO only from the neighbour of an up adjacency.
        let from_neighbour = self.ports.get(&port).is_some_and(|p| {
            p.adj.is_up() && p.adj.neighbour().is_some_and(|n| n.id.system == f.sender)
        });
        if !from_neighbour {
            return self.drop_pdu(port, "no_adjacency", out);
        }
        self.count_rx(t);
        match f.pdu {
            SstpPdu::Lsp(l) => self.receive_lsp(now, port, l, out),
            SstpPdu::Csnp(c) => self.receive_csnp(now, port, &c),
            SstpPdu::Psnp(p) => self.receive_psnp(now, port, &p),
            SstpPdu::Fail(n) => self.receive_fail(now, port, n, out),
            SstpPdu::Hello(_) => unreachable!("handled above"),
        }
    }

    fn receive_lsp(&mut self, now: Duration, port: PortIndex, lsp: Lsp, out: &mut Vec<Action>) {
        let entry = LspEntry {
            id: lsp.id,
            sequence: lsp.sequence,
            lifetime_secs: lsp.lifetime_secs,
            checksum: lsp.content_checksum(),
        };
        let id = lsp.id;
        if let Some(f) = self.flood_mut(port) {
            f.fulfilled(&id, lsp.sequence);
        }
        match self.lsdb.freshness(&entry) {
            Freshness::Same => {
                // Its copy is ours: an implicit acknowledgement, and an ack.
                if let Some(f) = self.flood_mut(port) {
                    f.acknowledged(&id);
                    f.ack(id, now);
                }
            }
            Freshness::Older => {
                if let Some(f) = self.flood_mut(port) {
                    f.send(id);
                }
            }
            Freshness::Unknown | Freshness::Newer => {
                if id.origin == self.me.system {
                    return self.own_lsp_came_back(now, port, &entry);
                }
                if entry.lifetime_secs == 0 && self.lsdb.get(&id).is_none() {
                    // A purge of something we never had: acknowledge it,
                    // nothing to store or flood (ISO 10589 7.3.16.4 b).
                    if let Some(f) = self.flood_mut(port) {
                        f.ack(id, now);
                    }
                    return;
                }
                self.install_and_flood(now, Some(port), lsp, out);
            }
        }
    }

    /// Stores a newer LSP and floods it everywhere but where it came from.
    fn install_and_flood(
        &mut self,
        now: Duration,
        from: Option<PortIndex>,
        lsp: Lsp,
        out: &mut Vec<Action>,
    ) {
        let id = lsp.id;
        let seq = lsp.sequence;
        let own = id.origin == self.me.system;
        // A change at this switch or one hop away (our LSP, a neighbour's,
        // anyone's word on a link to us) runs SPF at once, before the LSP
        // is flooded on: the switches behind us learn of a returning link
        // only after we route over it, so they never send through us on a
        // route we have not installed yet (a failback U-turn). The
        // simulator found the neighbour's case (torus:5x5, sequence 334):
        // a neighbour's link came back, our SPF waited for the hold while
        // switches two hops away ran theirs and sent frames for it round
        // a ring back to us. Other changes wait for the hold (running SPF
        // at once for every link that comes back anywhere did not order a
        // cold start either, and cost 10 times the runs). Urgent runs stay
        // outside the throttle, so they do not back it off for the rest;
        // they are bounded by our neighbours' LSP generation throttles.
        let urgent = own || is_near(self.me.system, &self.ports, id.origin) || {
            let old = self.lsdb.get(&id).filter(|s| !s.purged).map(|s| &s.lsp);
            changed_links(old, &lsp).any(|far| far == self.me.system)
        };
        match self.lsdb.install(now, lsp) {
            Ok(i) => {
                if !own {
                    self.stats.lsps_received += 1;
                }
                if i.topology_changed {
                    if urgent {
                        self.spf_now = true;
                    } else {
                        self.spf_throttle.trigger(now);
                    }
                }
                if i.homes_changed {
                    self.homes_changed = true;
                }
                self.bindings_changed |= i.bindings_changed;
                if id.fragment == 0 {
                    // The origin's own word replaces FAIL notices about it.
                    // Lifting one changes the graph even when the LSP
                    // itself changes nothing (the link failed and came
                    // back before the origin's throttled LSP went out).
                    self.lift_failed(now, |f| f.origin == id.origin && seq > f.origin_seq);
                }
                for (&p, port) in self.ports.iter_mut() {
                    let Some(f) = port.flood.as_mut() else {
                        continue;
                    };
                    if Some(p) == from {
                        f.acknowledged(&id);
                        f.ack(id, now);
                    } else {
                        f.send(id);
                    }
                }
            }
            Err(lsdb::Refused::TooManyBridges) => self.overflow("bridges", out),
            Err(lsdb::Refused::FragmentOutOfRange) => self.overflow("fragments", out),
        }
    }

    /// A copy of our own LSP, newer than what we hold: outbid it, or purge
    /// a fragment we no longer originate.
    fn own_lsp_came_back(&mut self, now: Duration, port: PortIndex, theirs: &LspEntry) {
        if let Some(f) = self.flood_mut(port) {
            f.ack(theirs.id, now);
        }
        if self.orig.outbid(theirs.id.fragment, theirs.sequence) {
            self.lsp_gen.trigger(now);
            return;
        }
        let mut purge = Lsp::new(theirs.id, theirs.sequence, 0);
        if theirs.id.fragment == 0 {
            purge.system = Some(Default::default());
        }
        let mut out = Vec::new();
        self.install_and_flood(now, None, purge, &mut out);
    }

    fn receive_csnp(&mut self, now: Duration, port: PortIndex, c: &Csnp) {
        let mut listed = Vec::with_capacity(c.entries.len());
        for e in &c.entries {
            listed.push(e.id);
            let fresh = self.lsdb.freshness(e);
            let Some(f) = self.flood_mut(port) else {
                return;
            };
            match fresh {
                Freshness::Same => f.acknowledged(&e.id),
                Freshness::Older => f.send(e.id),
                Freshness::Newer | Freshness::Unknown => {
                    if !(fresh == Freshness::Unknown && e.lifetime_secs == 0) {
                        f.request(*e);
                        f.rerequest(&e.id);
                    }
                }
            }
        }
        // What we hold in the range that it did not list, it lacks.
        listed.sort_unstable();
        let missing: Vec<LspId> = self
            .lsdb
            .all()
            .into_iter()
            .filter(|s| s.lsp.id >= c.start && s.lsp.id <= c.end)
            .filter(|s| listed.binary_search(&s.lsp.id).is_err())
            .filter(|s| !s.purged)
            .map(|s| s.lsp.id)
            .collect();
        let _ = now;
        if let Some(f) = self.flood_mut(port) {
            for id in missing {
                f.send(id);
            }
            f.csnp_received();
        }
    }

    fn receive_psnp(&mut self, _now: Duration, port: PortIndex, p: &Psnp) {
        for e in &p.entries {
            let fresh = self.lsdb.freshness(e);
            let Some(f) = self.flood_mut(port) else {
                return;
            };
            match fresh {
                Freshness::Same => f.acknowledged(&e.id),
                Freshness::Older => f.send(e.id),
                Freshness::Newer => f.request(*e),
                Freshness::Unknown => {}
            }
        }
    }

    /// Takes the FAIL overlays `done` picks out of the graph and schedules
    /// SPF. A link with an end here or at a neighbour coming back runs it
    /// at once, as its LSP would (see [`Self::install_and_flood`]): the
    /// switches behind us learn of it from the same LSP, and must not route
    /// through us over a link we have not installed yet. Found by the
    /// simulator (torus:5x5, sequence 633): the neighbour's LSP lifted its
    /// notice about our link, our SPF waited for the hold, and a switch
    /// two hops away sent frames back through us the old way round.
    fn lift_failed(&mut self, now: Duration, done: impl Fn(&FailedLink) -> bool) {
        let (me, ports) = (self.me.system, &self.ports);
        let (mut lifted, mut near) = (false, false);
        self.failed.retain(|f| {
            if !done(f) {
                return true;
            }
            lifted = true;
            near |= is_near(me, ports, f.origin) || is_near(me, ports, f.neighbour);
            false
        });
        if near {
            self.spf_now = true;
        } else if lifted {
            self.spf_throttle.trigger(now);
        }
    }

    fn receive_fail(
        &mut self,
        now: Duration,
        port: PortIndex,
        n: FailNotice,
        out: &mut Vec<Action>,
    ) {
        if n.origin == self.me.system {
            return;
        }
        let seen = self.fails_seen.get(&n.origin).copied();
        if seen.is_some_and(|s| n.sequence <= s) {
            return;
        }
        if seen.is_none() && self.fails_seen.len() >= self.cfg.limits.max_bridges {
            return self.overflow("fail_notices", out);
        }
        self.fails_seen.insert(n.origin, n.sequence);
        let held = self
            .lsdb
            .get(&LspId {
                origin: n.origin,
                fragment: 0,
            })
            .map_or(0, |s| s.lsp.sequence);
        // The origin's LSP the notice is news against: the one it held when
        // it sent it, when it says. A fragment 0 newer than that already
        // here states the truth (the notice came the long way round, after
        // the origin's new LSP came the short way): the notice is stale,
        // and overlaying it would keep a working link out of SPF until the
        // notice expires. It is still relayed: others may not have the LSP.
        let origin_seq = n.lsp_sequence.unwrap_or(held);
        if held > origin_seq {
            self.stats.fails_stale += 1;
        } else {
            self.failed.push(FailedLink {
                origin: n.origin,
                local_port: n.local_port,
                neighbour: n.neighbour,
                remote_port: n.remote_port,
                origin_seq,
                until: now + FAIL_OVERLAY_TTL,
            });
            self.spf_throttle.trigger(now);
        }
        if n.hop_limit > 1 {
            let relay = FailNotice {
                hop_limit: n.hop_limit - 1,
                ..n
            };
            self.stats.fails_relayed += 1;
            self.send_everywhere(Some(port), &SstpPdu::Fail(relay), out);
        }
    }

    // ---------------------------------------------------------------
    // Adjacencies.

    fn adjacency_changed(
        &mut self,
        now: Duration,
        port: PortIndex,
        t: Transition,
        down_reason: FailReason,
        out: &mut Vec<Action>,
    ) {
        let p = self.ports.get_mut(&port).expect("known port");
        let neighbour = p.adj.neighbour().map(|n| n.id);
        out.push(Action::AdjacencyChanged {
            port,
            neighbour: neighbour.map(|n| n.system),
            transition: t,
        });
        if t.to == AdjacencyState::Up {
            self.stats.adjacency_ups += 1;
            p.flood = Some(Flooding::new(now));
            return;
        }
        if t.from != AdjacencyState::Up {
            return;
        }
        // Lost: the data path stops using the port before anything is
        // recomputed, the notice goes out, then our LSP and SPF.
        self.stats.adjacency_downs += 1;
        p.flood = None;
        let was_advertised = std::mem::replace(&mut p.advertised, false);
        out.push(Action::PortLiveness { port, alive: false });
        let reason = match t.reason {
            AdjacencyReason::CarrierLost => down_reason,
            AdjacencyReason::DeadTimer => FailReason::DeadTimer,
            _ => FailReason::Unknown(0),
        };
        if let (true, Some(n)) = (was_advertised, self.last_neighbour(port, neighbour)) {
            self.fail_seq += 1;
            // Our fragment 0 as it stands (still listing the link): the LSP
            // that goes out next lifts the notice everywhere.
            let lsp_sequence = self
                .lsdb
                .get(&LspId {
                    origin: self.me.system,
                    fragment: 0,
                })
                .map(|s| s.lsp.sequence);
            let notice = FailNotice {
                origin: self.me.system,
                sequence: self.fail_seq,
                neighbour: n.system,
                local_port: port,
                remote_port: n.port,
                reason,
                hop_limit: FAIL_HOP_LIMIT,
                lsp_sequence,
            };
            self.stats.fails_originated += 1;
            self.send_everywhere(None, &SstpPdu::Fail(notice), out);
        }
        self.readvertise(now);
    }

    /// The neighbour an adjacency had before it went down (the adjacency
    /// forgets it on carrier loss; the transition's caller saved it).
    fn last_neighbour(
        &self,
        port: PortIndex,
        saved: Option<crate::wire::HelloNeighbour>,
    ) -> Option<crate::wire::HelloNeighbour> {
        saved.or_else(|| {
            self.orig
                .adjacencies()
                .iter()
                .find(|a| a.local_port == port)
                .map(|a| crate::wire::HelloNeighbour {
                    system: a.neighbour,
                    port: a.remote_port,
                    nonce: 0,
                })
        })
    }

    /// Recomputes the adjacencies our LSP lists (up and synced links).
    fn readvertise(&mut self, now: Duration) {
        let list: Vec<crate::wire::Adjacency> = self
            .ports
            .iter()
            .filter(|(_, p)| p.advertised)
            .filter_map(|(&port, p)| {
                let n = p.adj.neighbour()?;
                Some(crate::wire::Adjacency {
                    neighbour: n.id.system,
                    local_port: port,
                    remote_port: n.id.port,
                    cost: p.cost,
                })
            })
            .collect();
        if list != self.orig.adjacencies() {
            self.orig.set_adjacencies(list);
            self.lsp_gen.trigger(now);
        }
    }

    // ---------------------------------------------------------------
    // Timers and output.

    /// Runs everything due at `now`, in a fixed order.
    fn run_due(&mut self, now: Duration, out: &mut Vec<Action>) {
        // Dead timers.
        let ports: Vec<PortIndex> = self.ports.keys().copied().collect();
        for &port in &ports {
            let p = self.ports.get_mut(&port).expect("known");
            let n = p.adj.neighbour().map(|n| n.id);
            if let Some(t) = p.adj.tick(now) {
                let _ = n;
                self.adjacency_changed(now, port, t, FailReason::DeadTimer, out);
            }
        }
        // FAIL overlays that outlived their notice.
        self.lift_failed(now, |f| f.until <= now);
        // Aging.
        if now >= self.next_aging {
            self.next_aging = now + AGING_INTERVAL;
            self.age(now);
        }
        if now >= self.next_refresh {
            self.next_refresh =
                now + Duration::from_secs(u64::from(self.cfg.lsp_lifetime_secs) * 3 / 4);
            self.orig.refresh_all();
            self.lsp_gen.trigger(now);
        }
        // Links that just synced start to be advertised. A request that
        // another link answered is answered.
        let mut newly_synced = false;
        let lsdb = &self.lsdb;
        let have = |e: &LspEntry| matches!(lsdb.freshness(e), Freshness::Same | Freshness::Older);
        for (&port, p) in self.ports.iter_mut() {
            if let Some(f) = p.flood.as_mut() {
                f.drop_answered(have);
                if f.check_synced() && !p.advertised {
                    p.advertised = true;
                    newly_synced = true;
                    out.push(Action::LinkSynced { port });
                    out.push(Action::PortLiveness { port, alive: true });
                }
            }
        }
        if newly_synced {
            self.readvertise(now);
        }
        // Our LSP.
        if self.orig.is_dirty() && self.lsp_gen.take(now) {
            for l in self.orig.take_due(self.cfg.lsp_lifetime_secs) {
                self.stats.lsps_originated += 1;
                self.install_and_flood(now, None, l, out);
            }
        } else if !self.orig.is_dirty() {
            // Nothing to originate: a pending trigger is moot.
            let _ = self.lsp_gen.take(now);
        }
        // SPF.
        if std::mem::take(&mut self.spf_now) || self.spf_throttle.take(now) {
            self.run_spf(now, out);
        }
        if std::mem::take(&mut self.homes_changed) {
            out.push(Action::HomesChanged);
        }
        if std::mem::take(&mut self.bindings_changed) {
            out.push(Action::BindingsChanged);
        }
        self.transmit_due(now, out);
    }

    fn age(&mut self, now: Duration) {
        for id in self.lsdb.expired(now) {
            if let Some(i) = self.lsdb.purge(now, &id) {
                if i.topology_changed {
                    self.spf_throttle.trigger(now);
                }
                self.homes_changed |= i.homes_changed;
                self.bindings_changed |= i.bindings_changed;
                for p in self.ports.values_mut() {
                    if let Some(f) = p.flood.as_mut() {
                        f.send(id);
                    }
                }
            }
        }
        if self.lsdb.sweep(now, self.cfg.unreachable_hold) {
            self.spf_throttle.trigger(now);
            self.homes_changed = true;
            self.bindings_changed = true;
        }
        let known = &self.lsdb;
        self.fails_seen.retain(|s, _| known.slot_of(*s).is_some());
    }

    fn run_spf(&mut self, now: Duration, out: &mut Vec<Action>) {
        self.stats.spf_runs += 1;
        let failed = &self.failed;
        let lsdb = &self.lsdb;
        let excluded = |from: Slot, port: PortIndex| {
            let Some(sys) = lsdb.system_of(from) else {
                return false;
            };
            failed.iter().any(|f| {
                (f.origin == sys && f.local_port == port)
                    || (f.neighbour == sys && f.remote_port == port)
            })
        };
        self.lsdb.graph_into(&mut self.builder, excluded);
        self.builder.build_into(&mut self.graph);
        let before = self.routes.clone();
        let me = self.lsdb.my_slot();
        self.stats.last_spf = self.spf.compute(&self.graph, me, &mut self.routes);
        let routes = &self.routes;
        let reach_changed = self.lsdb.set_reachability(now, |s| routes.is_reachable(s));
        if reach_changed {
            self.homes_changed = true;
            self.bindings_changed = true;
        }
        if reach_changed || before != self.routes {
            out.push(Action::RoutesChanged);
        }
    }

    /// Sends what each link is due: HELLO, complete summary, LSPs, PSNP.
    fn transmit_due(&mut self, now: Duration, out: &mut Vec<Action>) {
        let me = self.me;
        let bridge_id = self.cfg.bridge_id;
        let mut frames: Vec<(PortIndex, SstpPdu)> = Vec::new();
        let all: Vec<LspEntry> = {
            let wants_csnp = self
                .ports
                .values()
                .any(|p| p.flood.as_ref().is_some_and(|f| f.csnp_pending(now)));
            if wants_csnp {
                self.lsdb.all().iter().map(|s| s.entry(now)).collect()
            } else {
                Vec::new()
            }
        };
        for (&port, p) in self.ports.iter_mut() {
            if let Some(mut h) = p.adj.hello_due(now, &me) {
                h.bridge_id = Some(bridge_id);
                h.hostname = self.cfg.hostname.clone();
                frames.push((port, SstpPdu::Hello(h)));
            }
            let Some(f) = p.flood.as_mut() else { continue };
            if f.csnp_due(now, self.cfg.csnp_interval) {
                for c in complete_summary(&all) {
                    frames.push((port, SstpPdu::Csnp(c)));
                }
            }
            for (id, again) in f.lsps_due(now, self.cfg.lsp_retransmit) {
                match self.lsdb.get(&id) {
                    Some(s) => {
                        if again {
                            self.stats.lsps_retransmitted += 1;
                        } else {
                            self.stats.lsps_flooded += 1;
                        }
                        frames.push((port, SstpPdu::Lsp(s.to_send(now))));
                    }
                    None => f.acknowledged(&id),
                }
            }
            let lsdb = &self.lsdb;
            let entries = f.psnp_entries(now, self.cfg.ack_delay, |id| {
                lsdb.get(id).map(|s| s.entry(now))
            });
            for p in psnps(entries) {
                frames.push((port, SstpPdu::Psnp(p)));
            }
        }
        for (port, pdu) in frames {
            self.emit(port, &pdu, out);
        }
    }

    fn send_everywhere(&mut self, except: Option<PortIndex>, pdu: &SstpPdu, out: &mut Vec<Action>) {
        let ports: Vec<PortIndex> = self
            .ports
            .iter()
            .filter(|(&p, port)| Some(p) != except && port.adj.is_up())
            .map(|(&p, _)| p)
            .collect();
        for p in ports {
            self.emit(p, pdu, out);
        }
    }

    fn emit(&mut self, port: PortIndex, pdu: &SstpPdu, out: &mut Vec<Action>) {
        let Some(p) = self.ports.get(&port) else {
            return;
        };
        match encode_sstp_frame(p.mac, self.me.system, port, pdu) {
            Ok(frame) => {
                *self.stats.tx.entry(pdu_label(pdu.pdu_type())).or_default() += 1;
                out.push(Action::Transmit {
                    port,
                    frame,
                    pdu: pdu.pdu_type(),
                });
            }
            // Our own values always encode; a failure is a bug, counted
            // rather than a panic in the control loop.
            Err(e) => *self.stats.dropped.entry(e.reason()).or_default() += 1,
        }
    }

    fn flood_mut(&mut self, port: PortIndex) -> Option<&mut Flooding> {
        self.ports.get_mut(&port)?.flood.as_mut()
    }

    fn count_rx(&mut self, t: PduType) {
        *self.stats.rx.entry(pdu_label(t)).or_default() += 1;
    }

    fn drop_pdu(&mut self, port: PortIndex, reason: &'static str, out: &mut Vec<Action>) {
        *self.stats.dropped.entry(reason).or_default() += 1;
        out.push(Action::Dropped { port, reason });
    }

    fn overflow(&mut self, what: &'static str, out: &mut Vec<Action>) {
        *self.stats.overflows.entry(what).or_default() += 1;
        out.push(Action::Overflow { what });
    }
}

/// One adjacency, for satctl and metrics.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdjacencyStatus {
    /// The port.
    pub port: PortIndex,
    /// Its state.
    pub state: AdjacencyState,
    /// The neighbour heard.
    pub neighbour: Option<SystemId>,
    /// The neighbour's port.
    pub neighbour_port: Option<u16>,
    /// When it came up.
    pub up_since: Option<Duration>,
    /// Whether the link's databases are in sync.
    pub synced: bool,
    /// Whether our LSP lists it.
    pub advertised: bool,
    /// LSPs awaiting acknowledgement on it.
    pub pending_lsps: usize,
    /// Its path cost.
    pub cost: u32,
}

#[cfg(test)]
mod tests;
