//! One switch's protocols together, and the rules between them.
//!
//! A [`Node`] is what both the daemon (`mgmt`) and the simulator drive: it
//! takes `(now, NodeEvent)` with frames as bytes, and returns
//! [`NodeAction`]s with frames as bytes, so the codecs run in both and the
//! simulator exercises the product's code rather than a copy of it. Ports
//! are named by [`PortIndex`] here; RSTP's port number is the index plus
//! one, and only this module converts.
//!
//! The node holds the RSTP engine ([`crate::rstp`]) and, when enabled, the
//! SSTP link-state engine ([`crate::sstp`]); `rstp` and `sstp` never import
//! each other, and the rules between them live here:
//!
//! - **Frames** to 01-80-C2-00-00-0E with EtherType 0x88B5 go to SSTP,
//!   everything else to RSTP's decoder.
//! - **Stale root information** (SSTP.md, Layer 1): when SPF shows that a
//!   Satellite switch in the database is unreachable, every port's received
//!   information naming it as root is aged out at once
//!   ([`rstp::Event::AgeRootInformation`]), and while it stays so, BPDUs
//!   naming it as root are dropped *on SSTP links* (counted in
//!   [`NodeStats::stale_root_bpdus`]): the neighbour there is a Satellite
//!   switch whose own SPF is about to age the same root, so its BPDU is
//!   stale. BPDUs from standard bridges are never dropped, since they may
//!   know a path the link state does not. Dropping a BPDU cannot make a
//!   loop: the port becomes designated, and a designated port forwards
//!   only after its neighbour agrees or after the forward delay. This ends
//!   count-to-infinity after a root failure in a Satellite domain.
//!   "Unreachable" means lost: reachable once, not now. A switch never yet
//!   reachable is joining (its links are advertised one way until the
//!   databases sync, as every switch's are for a moment at start-up), and
//!   dropping its BPDUs would only delay the tree by a hello time. The
//!   cost: a switch that died before this one ever reached it is not
//!   treated as a dead root here; its neighbours, which did reach it, age
//!   its information.
//! - **Identity**: a change of bridge priority reaches SSTP's SYSTEM TLV,
//!   so every switch knows each Satellite switch's RSTP bridge ID.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::rstp::{
    self, Action, Bridge, BridgeConfig, BridgeStatus, ConfigError, Event, PortNumber, PortRole,
};
use crate::sstp::{self, Sstp, SstpConfig};
use crate::wire::{
    decode_bpdu_frame, encode_bpdu_frame, BindingEntry, Bpdu, BpduBody, BridgeId, FailReason,
    MacAddr, MacHome, PduType, SSTP_ETHERTYPE, SSTP_GROUP_ADDRESS,
};
use crate::PortIndex;

/// One port of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodePort {
    /// The port's index.
    pub index: PortIndex,
    /// The port's MAC: the source address of what the node sends there.
    pub mac: MacAddr,
    /// The port's RSTP settings (its `number` is set from `index`).
    pub rstp: rstp::PortConfig,
    /// Whether SSTP runs on the port (fabric and auto ports; never on a
    /// port configured for hosts).
    pub sstp: bool,
}

impl NodePort {
    /// A port with the standard's defaults.
    pub fn new(index: PortIndex, mac: MacAddr) -> Self {
        NodePort {
            index,
            mac,
            rstp: rstp::PortConfig::new(rstp_number(index)),
            sstp: true,
        }
    }
}

/// Something that happened to the switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent<'a> {
    /// Time passed; send it when [`Node::poll_timeout`] says so.
    Tick,
    /// The port's link became operational.
    PortUp {
        /// The port.
        port: PortIndex,
        /// Link speed, for path costs that are not configured.
        speed_mbps: Option<u32>,
    },
    /// The port's link stopped being operational (or it was disabled).
    PortDown {
        /// The port.
        port: PortIndex,
        /// Carrier lost, or taken down by the administrator.
        reason: FailReason,
    },
    /// A control frame arrived on `port` (the whole Ethernet frame).
    Frame {
        /// The receiving port.
        port: PortIndex,
        /// The frame's bytes.
        frame: &'a [u8],
    },
    /// Change the RSTP Bridge Priority (a multiple of 4096).
    SetBridgePriority(u16),
    /// Change the RSTP Bridge Hello Time, Max Age and Forward Delay.
    SetBridgeTimes {
        /// Seconds between BPDUs.
        hello_time: u16,
        /// Seconds root information lives.
        max_age: u16,
        /// Seconds of each of listening and learning.
        forward_delay: u16,
    },
    /// Change a port's RSTP path cost (`None`: from link speed).
    SetPortPathCost {
        /// The port.
        port: PortIndex,
        /// The new cost.
        cost: Option<u32>,
    },
    /// Change a port's RSTP priority (a multiple of 16).
    SetPortPriority {
        /// The port.
        port: PortIndex,
        /// The new priority.
        priority: u8,
    },
    /// A host was learned on an edge port (SSTP advertises it).
    MacHomeAdded(MacHome),
    /// A host left the edge ports.
    MacHomeRemoved(MacHome),
    /// An ARPless binding became ours.
    BindingAdded(BindingEntry),
    /// An ARPless binding is no longer ours.
    BindingRemoved(BindingEntry),
}

/// What the caller must do, or may want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeAction {
    /// Send this frame out of `port`.
    Transmit {
        /// The port.
        port: PortIndex,
        /// The whole Ethernet frame.
        frame: Vec<u8>,
        /// What it carries (for counters and logs).
        what: Sent,
    },
    /// Something the link-state engine reports (adjacencies, liveness,
    /// routes, drops).
    Sstp(sstp::Action),
    /// Root information naming an unreachable Satellite switch was aged
    /// out on every port.
    StaleRootAged {
        /// The dead root's address.
        root: MacAddr,
    },
    /// Set the port's learning and forwarding in the data path.
    SetPortState {
        /// The port.
        port: PortIndex,
        /// Learn source addresses.
        learning: bool,
        /// Forward frames.
        forwarding: bool,
    },
    /// Remove what the FDB learned on the port.
    FlushFdb {
        /// The port.
        port: PortIndex,
    },
    /// The spanning tree detected a topology change on `port`.
    TopologyChange {
        /// The port.
        port: PortIndex,
    },
    /// A port's RSTP role changed.
    RoleChanged {
        /// The port.
        port: PortIndex,
        /// The new role.
        role: PortRole,
    },
    /// A BPDU arrived and was handed to RSTP (for logs).
    BpduReceived {
        /// The port.
        port: PortIndex,
        /// What it said.
        bpdu: Bpdu,
    },
    /// A control frame was malformed and dropped (counted in
    /// [`NodeStats`]).
    Malformed {
        /// The port.
        port: PortIndex,
        /// What was wrong.
        error: String,
    },
}

/// What a transmitted frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// A BPDU.
    Bpdu(Bpdu),
    /// An SSTP PDU.
    Sstp(PduType),
}

/// Counters of a node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// BPDUs that failed to parse.
    pub invalid_bpdus: u64,
    /// Topology changes the spanning tree detected or received.
    pub topology_changes: u64,
    /// BPDUs dropped on SSTP links because they name an unreachable root.
    pub stale_root_bpdus: u64,
    /// Times a dead root's information was aged out.
    pub stale_roots_aged: u64,
    /// SSTP frames received while SSTP is off.
    pub sstp_disabled_frames: u64,
}

/// Why a node cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeConfigError {
    /// The spanning tree's settings.
    #[error("stp: {0}")]
    Rstp(#[from] ConfigError),
    /// The link state's settings.
    #[error("sstp: {0}")]
    Sstp(#[from] sstp::SstpConfigError),
}

/// Whether a frame is addressed to SSTP (group address and EtherType).
pub fn is_sstp_frame(frame: &[u8]) -> bool {
    frame.len() >= 14
        && frame[..6] == SSTP_GROUP_ADDRESS.0
        && u16::from_be_bytes([frame[12], frame[13]]) == SSTP_ETHERTYPE
}

/// RSTP's port number of a port index.
pub fn rstp_number(index: PortIndex) -> PortNumber {
    index + 1
}

fn index_of(number: PortNumber) -> PortIndex {
    number - 1
}

/// One switch's protocols.
#[derive(Debug, Clone)]
pub struct Node {
    rstp: Bridge,
    sstp: Option<Sstp>,
    /// Port MACs, by index.
    macs: BTreeMap<PortIndex, MacAddr>,
    /// Ports SSTP runs on.
    sstp_ports: Vec<PortIndex>,
    /// Addresses of Satellite switches the link state shows unreachable.
    dead_roots: Vec<MacAddr>,
    stats: NodeStats,
    actions: Vec<Action>,
    sstp_actions: Vec<sstp::Action>,
}

impl Node {
    /// A node whose spanning tree runs with `cfg` over `ports` (RSTP only).
    pub fn new(cfg: BridgeConfig, ports: &[NodePort]) -> Result<Node, ConfigError> {
        Self::build(cfg, None, ports).map_err(|e| match e {
            NodeConfigError::Rstp(e) => e,
            NodeConfigError::Sstp(_) => unreachable!("no SSTP configuration given"),
        })
    }

    /// A node running RSTP with `cfg` and SSTP with `sstp` (its bridge ID
    /// is taken from `cfg`) over `ports`.
    pub fn with_sstp(
        cfg: BridgeConfig,
        sstp: SstpConfig,
        ports: &[NodePort],
    ) -> Result<Node, NodeConfigError> {
        Self::build(cfg, Some(sstp), ports)
    }

    fn build(
        cfg: BridgeConfig,
        sstp_cfg: Option<SstpConfig>,
        ports: &[NodePort],
    ) -> Result<Node, NodeConfigError> {
        let mut rstp = Bridge::new(cfg)?;
        let mut macs = BTreeMap::new();
        let mut sstp_ports = Vec::new();
        for p in ports {
            if p.index == PortIndex::MAX {
                return Err(ConfigError::PortNumber(p.index).into());
            }
            let mut pc = p.rstp;
            pc.number = rstp_number(p.index);
            rstp.add_port(pc)?;
            macs.insert(p.index, p.mac);
            if p.sstp {
                sstp_ports.push(p.index);
            }
        }
        let sstp = match sstp_cfg {
            Some(mut c) => {
                c.bridge_id = BridgeId::new(cfg.priority, cfg.address);
                let mut e = Sstp::new(c)?;
                for &i in &sstp_ports {
                    e.add_port(i, macs[&i]);
                }
                Some(e)
            }
            None => None,
        };
        Ok(Node {
            rstp,
            sstp,
            macs,
            sstp_ports,
            dead_roots: Vec::new(),
            stats: NodeStats::default(),
            actions: Vec::new(),
            sstp_actions: Vec::new(),
        })
    }

    /// The same node after a restart: every machine from BEGIN, the same
    /// configuration.
    pub fn restarted(&self) -> Node {
        let ports: Vec<NodePort> = self
            .rstp
            .port_configs()
            .into_iter()
            .map(|pc| {
                let index = index_of(pc.number);
                NodePort {
                    index,
                    mac: self.macs.get(&index).copied().unwrap_or_default(),
                    rstp: pc,
                    sstp: self.sstp_ports.contains(&index),
                }
            })
            .collect();
        // A new session: a new nonce; sequence numbers start where the
        // configuration says, so the old LSPs in other databases must be
        // outbid (the daemon starts above them by using the clock).
        let sstp = self.sstp.as_ref().map(|e| {
            let mut c = e.config().clone();
            c.nonce = c.nonce.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
            c
        });
        Self::build(*self.rstp.config(), sstp, &ports).expect("the configuration was valid")
    }

    /// Adds a port at run time (disabled until [`NodeEvent::PortUp`]): an
    /// RSTP port numbered from its index and, when `port.sstp`, an SSTP
    /// port. Refused, changing nothing, when the index is taken or the
    /// port's settings are out of range.
    pub fn add_port(
        &mut self,
        now: Duration,
        port: NodePort,
        out: &mut Vec<NodeAction>,
    ) -> Result<(), ConfigError> {
        if port.index == PortIndex::MAX {
            return Err(ConfigError::PortNumber(port.index));
        }
        let mut pc = port.rstp;
        pc.number = rstp_number(port.index);
        self.rstp.add_port(pc)?;
        self.macs.insert(port.index, port.mac);
        if port.sstp {
            self.sstp_ports.push(port.index);
            if let Some(e) = self.sstp.as_mut() {
                e.add_port(port.index, port.mac);
            }
        }
        let _ = self.rstp.try_handle(now, Event::Tick, &mut self.actions);
        self.translate(out);
        Ok(())
    }

    /// Removes a port at run time: SSTP takes its adjacency down (the
    /// neighbours hear of it) and forgets it, RSTP reselects roles
    /// without it. Refused when there is no such port.
    pub fn remove_port(
        &mut self,
        now: Duration,
        index: PortIndex,
        out: &mut Vec<NodeAction>,
    ) -> Result<(), ConfigError> {
        self.rstp.remove_port(rstp_number(index))?;
        if let Some(e) = self.sstp.as_mut() {
            e.remove_port(now, index, &mut self.sstp_actions);
            for a in self.sstp_actions.drain(..) {
                out.push(match a {
                    sstp::Action::Transmit { port, frame, pdu } => NodeAction::Transmit {
                        port,
                        frame,
                        what: Sent::Sstp(pdu),
                    },
                    a => NodeAction::Sstp(a),
                });
            }
        }
        self.sstp_ports.retain(|&p| p != index);
        self.macs.remove(&index);
        let _ = self.rstp.try_handle(now, Event::Tick, &mut self.actions);
        self.translate(out);
        Ok(())
    }

    /// Processes one event at `now` (any monotonic clock) and appends what
    /// to do to `out`. An invalid setting is refused with the reason and
    /// changes nothing.
    pub fn handle(
        &mut self,
        now: Duration,
        event: NodeEvent<'_>,
        out: &mut Vec<NodeAction>,
    ) -> Result<(), ConfigError> {
        let sstp_ev = match &event {
            NodeEvent::Tick => Some(sstp::Event::Tick),
            NodeEvent::PortDown { port, reason } => Some(sstp::Event::PortDown {
                port: *port,
                reason: *reason,
            }),
            NodeEvent::MacHomeAdded(h) => Some(sstp::Event::MacHomeAdded(*h)),
            NodeEvent::MacHomeRemoved(h) => Some(sstp::Event::MacHomeRemoved(*h)),
            NodeEvent::BindingAdded(b) => Some(sstp::Event::BindingAdded(*b)),
            NodeEvent::BindingRemoved(b) => Some(sstp::Event::BindingRemoved(*b)),
            NodeEvent::Frame { port, frame } if is_sstp_frame(frame) => {
                if self.sstp.is_none() {
                    self.stats.sstp_disabled_frames += 1;
                    return Ok(());
                }
                Some(sstp::Event::Frame { port: *port, frame })
            }
            _ => None,
        };
        if let Some(ev) = sstp_ev {
            self.drive_sstp(now, ev, out);
        }
        let ev = match event {
            NodeEvent::Tick => Event::Tick,
            NodeEvent::PortUp { port, speed_mbps } => Event::PortUp {
                port: rstp_number(port),
                speed_mbps,
            },
            NodeEvent::PortDown { port, .. } => Event::PortDown {
                port: rstp_number(port),
            },
            NodeEvent::Frame { frame, .. } if is_sstp_frame(frame) => return Ok(()),
            NodeEvent::Frame { port, frame } => match decode_bpdu_frame(frame) {
                Ok(f) => {
                    if self.is_stale(port, &f.bpdu) {
                        self.stats.stale_root_bpdus += 1;
                        return Ok(());
                    }
                    out.push(NodeAction::BpduReceived { port, bpdu: f.bpdu });
                    Event::BpduReceived {
                        port: rstp_number(port),
                        bpdu: f.bpdu,
                    }
                }
                Err(e) => {
                    self.stats.invalid_bpdus += 1;
                    out.push(NodeAction::Malformed {
                        port,
                        error: e.to_string(),
                    });
                    return Ok(());
                }
            },
            NodeEvent::SetBridgePriority(p) => Event::SetBridgePriority(p),
            NodeEvent::SetBridgeTimes {
                hello_time,
                max_age,
                forward_delay,
            } => Event::SetBridgeTimes {
                hello_time,
                max_age,
                forward_delay,
            },
            NodeEvent::SetPortPathCost { port, cost } => Event::SetPortPathCost {
                port: rstp_number(port),
                cost,
            },
            NodeEvent::SetPortPriority { port, priority } => Event::SetPortPriority {
                port: rstp_number(port),
                priority,
            },
            NodeEvent::MacHomeAdded(_)
            | NodeEvent::MacHomeRemoved(_)
            | NodeEvent::BindingAdded(_)
            | NodeEvent::BindingRemoved(_) => return Ok(()),
        };
        let follow_up = match ev {
            Event::PortUp { port, .. } => Some((port, true)),
            Event::SetPortPathCost { port, .. } => Some((port, false)),
            _ => None,
        };
        let priority_change = matches!(ev, Event::SetBridgePriority(_));
        let r = self.rstp.try_handle(now, ev, &mut self.actions);
        self.translate(out);
        if r.is_ok() {
            // SSTP uses RSTP's path cost for the link, and its bridge ID.
            if let Some((number, up)) = follow_up {
                let port = index_of(number);
                if self.sstp_ports.contains(&port) {
                    let cost = self
                        .rstp
                        .status()
                        .ports
                        .iter()
                        .find(|p| p.port == number)
                        .map_or(rstp::DEFAULT_PATH_COST, |p| p.path_cost);
                    let ev = if up {
                        sstp::Event::PortUp { port, cost }
                    } else {
                        sstp::Event::SetPortCost { port, cost }
                    };
                    self.drive_sstp(now, ev, out);
                }
            }
            if priority_change {
                let id = self.rstp.status().bridge_id;
                self.drive_sstp(now, sstp::Event::SetBridgeId(id), out);
            }
        }
        r
    }

    /// Runs one SSTP event and applies the rules its results call for.
    fn drive_sstp(&mut self, now: Duration, ev: sstp::Event<'_>, out: &mut Vec<NodeAction>) {
        let Some(e) = self.sstp.as_mut() else { return };
        e.handle(now, ev, &mut self.sstp_actions);
        let mut routes_changed = false;
        for a in self.sstp_actions.drain(..) {
            match a {
                sstp::Action::Transmit { port, frame, pdu } => out.push(NodeAction::Transmit {
                    port,
                    frame,
                    what: Sent::Sstp(pdu),
                }),
                a => {
                    routes_changed |= a == sstp::Action::RoutesChanged;
                    out.push(NodeAction::Sstp(a));
                }
            }
        }
        if routes_changed {
            self.age_dead_roots(now, out);
        }
    }

    /// After SPF: Satellite switches now unreachable lose their root
    /// information on every port.
    fn age_dead_roots(&mut self, now: Duration, out: &mut Vec<NodeAction>) {
        let Some(e) = self.sstp.as_ref() else { return };
        let db = e.lsdb();
        let me = db.me();
        let dead: Vec<MacAddr> = db
            .origins()
            .filter(|&(slot, sys)| sys != me && db.is_lost(slot))
            .map(|(_, sys)| sys.0)
            .collect();
        let newly: Vec<MacAddr> = dead
            .iter()
            .filter(|m| !self.dead_roots.contains(m))
            .copied()
            .collect();
        self.dead_roots = dead;
        for root in newly {
            let names_it = self
                .rstp_status()
                .ports
                .iter()
                .any(|p| p.designated_root.mac == root);
            if !names_it {
                continue;
            }
            self.stats.stale_roots_aged += 1;
            out.push(NodeAction::StaleRootAged { root });
            let _ =
                self.rstp
                    .try_handle(now, Event::AgeRootInformation { root }, &mut self.actions);
            self.translate(out);
        }
    }

    /// Whether a BPDU received on `port` carries root information the link
    /// state knows to be dead (see the module doc).
    fn is_stale(&self, port: PortIndex, bpdu: &Bpdu) -> bool {
        let root = match &bpdu.body {
            BpduBody::Config(p) | BpduBody::Rst(p) => p.root_id,
            _ => return false,
        };
        self.dead_roots.contains(&root.mac)
            && self.sstp.as_ref().is_some_and(|e| e.is_sstp_link(port))
    }

    /// When the node next needs [`NodeEvent::Tick`].
    pub fn poll_timeout(&self) -> Option<Duration> {
        let s = self.sstp.as_ref().and_then(Sstp::poll_timeout);
        match (self.rstp.poll_timeout(), s) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The link-state engine, when SSTP runs.
    pub fn sstp(&self) -> Option<&Sstp> {
        self.sstp.as_ref()
    }

    /// The spanning tree's state.
    pub fn rstp_status(&self) -> BridgeStatus {
        self.rstp.status()
    }

    /// The spanning tree's configuration as in force.
    pub fn rstp_config(&self) -> &BridgeConfig {
        self.rstp.config()
    }

    /// The node's counters.
    pub fn stats(&self) -> NodeStats {
        self.stats
    }

    /// The MAC of a port.
    pub fn port_mac(&self, port: PortIndex) -> Option<MacAddr> {
        self.macs.get(&port).copied()
    }

    fn translate(&mut self, out: &mut Vec<NodeAction>) {
        for a in self.actions.drain(..) {
            out.push(match a {
                Action::Transmit { port, bpdu } => {
                    let i = index_of(port);
                    let src = self.macs.get(&i).copied().unwrap_or_default();
                    NodeAction::Transmit {
                        port: i,
                        frame: encode_bpdu_frame(src, &bpdu),
                        what: Sent::Bpdu(bpdu),
                    }
                }
                Action::SetPortState {
                    port,
                    learning,
                    forwarding,
                } => NodeAction::SetPortState {
                    port: index_of(port),
                    learning,
                    forwarding,
                },
                Action::FlushFdb { port } => NodeAction::FlushFdb {
                    port: index_of(port),
                },
                Action::TopologyChange { port } => {
                    self.stats.topology_changes += 1;
                    NodeAction::TopologyChange {
                        port: index_of(port),
                    }
                }
                Action::RoleChanged { port, role } => NodeAction::RoleChanged {
                    port: index_of(port),
                    role,
                },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(last: u8, ports: u16) -> Node {
        let base = MacAddr([2, 0, 0, 0, last, 0]);
        let list: Vec<NodePort> = (0..ports)
            .map(|i| {
                let mut m = base;
                m.0[5] = i as u8 + 1;
                NodePort::new(i, m)
            })
            .collect();
        Node::new(BridgeConfig::new(base), &list).unwrap()
    }

    /// Ports come and go at run time by index; the others keep their
    /// numbers, and a removed index can be taken again.
    #[test]
    fn ports_are_added_and_removed_at_run_time() {
        let mut n = node(1, 2);
        let mut out = Vec::new();
        let t = Duration::from_secs(1);
        n.add_port(t, NodePort::new(2, MacAddr([2, 0, 0, 0, 1, 3])), &mut out)
            .unwrap();
        let numbers =
            |n: &Node| -> Vec<u16> { n.rstp_status().ports.iter().map(|p| p.port).collect() };
        assert_eq!(numbers(&n), vec![1, 2, 3]);
        assert!(
            n.add_port(t, NodePort::new(2, MacAddr([2, 0, 0, 0, 1, 3])), &mut out)
                .is_err(),
            "an index in use is refused"
        );
        n.remove_port(t, 1, &mut out).unwrap();
        assert_eq!(numbers(&n), vec![1, 3]);
        assert!(n.remove_port(t, 1, &mut out).is_err());
        assert_eq!(n.port_mac(1), None);
        n.add_port(t, NodePort::new(1, MacAddr([2, 0, 0, 0, 1, 9])), &mut out)
            .unwrap();
        assert_eq!(numbers(&n), vec![1, 2, 3]);
    }

    /// Bridge times change at run time within 17.14's rules; a refused
    /// change leaves the times in force.
    #[test]
    fn bridge_times_change_at_run_time_and_bad_ones_are_refused() {
        let mut n = node(1, 1);
        let mut out = Vec::new();
        let t = Duration::from_secs(1);
        let set = |n: &mut Node, out: &mut Vec<NodeAction>, f: u16| {
            n.handle(
                t,
                NodeEvent::SetBridgeTimes {
                    hello_time: 2,
                    max_age: 20,
                    forward_delay: f,
                },
                out,
            )
        };
        assert!(set(&mut n, &mut out, 10).is_err(), "2 x (10 - 1) < 20");
        assert_eq!(n.rstp_config().forward_delay, 15);
        set(&mut n, &mut out, 12).unwrap();
        assert_eq!(n.rstp_config().forward_delay, 12);
        // Alone, this bridge is root: its root times are its own.
        assert_eq!(n.rstp_status().root_times.forward_delay, 12);
    }

    /// Two nodes joined port 0 to port 0 agree on a root, frames crossing
    /// as bytes; ports are indices on both sides of the node.
    #[test]
    fn two_nodes_elect_a_root_over_encoded_frames() {
        let (mut a, mut b) = (node(1, 1), node(2, 1));
        let mut now = Duration::ZERO;
        let mut out = Vec::new();
        for n in [&mut a, &mut b] {
            n.handle(
                now,
                NodeEvent::PortUp {
                    port: 0,
                    speed_mbps: Some(10_000),
                },
                &mut out,
            )
            .unwrap();
        }
        out.clear();
        for _ in 0..10 {
            now += Duration::from_secs(1);
            let mut to_b = Vec::new();
            let mut to_a = Vec::new();
            a.handle(now, NodeEvent::Tick, &mut to_b).unwrap();
            b.handle(now, NodeEvent::Tick, &mut to_a).unwrap();
            for (from, to) in [(to_b, &mut b), (to_a, &mut a)] {
                for act in from {
                    if let NodeAction::Transmit { port, frame, .. } = act {
                        assert_eq!(port, 0);
                        to.handle(
                            now,
                            NodeEvent::Frame {
                                port: 0,
                                frame: &frame,
                            },
                            &mut out,
                        )
                        .unwrap();
                    }
                }
            }
        }
        let (sa, sb) = (a.rstp_status(), b.rstp_status());
        assert_eq!(sa.root_id, sb.root_id);
        assert_eq!(sa.root_id, sa.bridge_id, "lower address is root");
        assert_eq!(sb.root_port, Some(rstp_number(0)));
    }

    #[test]
    fn malformed_frames_are_counted_not_fed_to_rstp() {
        let mut a = node(1, 2);
        let mut out = Vec::new();
        a.handle(
            Duration::ZERO,
            NodeEvent::Frame {
                port: 1,
                frame: &[0x01, 0x80, 0xC2, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0, 3],
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(a.stats().invalid_bpdus, 1);
        assert!(matches!(out[..], [NodeAction::Malformed { port: 1, .. }]));
    }

    #[test]
    fn settings_are_checked_and_ports_named_by_index() {
        let mut a = node(1, 2);
        let mut out = Vec::new();
        assert!(a
            .handle(Duration::ZERO, NodeEvent::SetBridgePriority(100), &mut out)
            .is_err());
        a.handle(
            Duration::ZERO,
            NodeEvent::SetPortPathCost {
                port: 1,
                cost: Some(7),
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(a.rstp_status().ports[1].path_cost, 7);
        assert!(a
            .handle(
                Duration::ZERO,
                NodeEvent::SetPortPriority {
                    port: 5,
                    priority: 16
                },
                &mut out
            )
            .is_err());
        let r = a.restarted();
        assert_eq!(r.rstp_status().ports.len(), 2);
        assert_eq!(r.port_mac(1), a.port_mac(1));
    }
}
