//! One switch's protocols together, and the rules between them.
//!
//! A [`Node`] is what both the daemon (`mgmt`) and the simulator drive: it
//! takes `(now, NodeEvent)` with frames as bytes, and returns
//! [`NodeAction`]s with frames as bytes, so the codecs run in both and the
//! simulator exercises the product's code rather than a copy of it. Ports
//! are named by [`PortIndex`] here; RSTP's port number is the index plus
//! one, and only this module converts.
//!
//! Today the node holds the RSTP engine ([`crate::rstp`]); the SSTP
//! link-state engine ([`crate::sstp`]) joins it here, and so do the rules
//! that let one inform the other (root information gated by the link-state
//! view, topology changes that spare MAC homes). `rstp` and `sstp` never
//! import each other.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::rstp::{
    self, Action, Bridge, BridgeConfig, BridgeStatus, ConfigError, Event, PortNumber, PortRole,
};
use crate::wire::{decode_bpdu_frame, encode_bpdu_frame, Bpdu, MacAddr};
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
}

impl NodePort {
    /// A port with the standard's defaults.
    pub fn new(index: PortIndex, mac: MacAddr) -> Self {
        NodePort {
            index,
            mac,
            rstp: rstp::PortConfig::new(rstp_number(index)),
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
        /// The BPDU it carries (for logs).
        bpdu: Bpdu,
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

/// Counters of a node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// BPDUs that failed to parse.
    pub invalid_bpdus: u64,
    /// Topology changes the spanning tree detected or received.
    pub topology_changes: u64,
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
    /// Port MACs, by index.
    macs: BTreeMap<PortIndex, MacAddr>,
    stats: NodeStats,
    actions: Vec<Action>,
}

impl Node {
    /// A node whose spanning tree runs with `cfg` over `ports`.
    pub fn new(cfg: BridgeConfig, ports: &[NodePort]) -> Result<Node, ConfigError> {
        let mut rstp = Bridge::new(cfg)?;
        let mut macs = BTreeMap::new();
        for p in ports {
            if p.index == PortIndex::MAX {
                return Err(ConfigError::PortNumber(p.index));
            }
            let mut pc = p.rstp;
            pc.number = rstp_number(p.index);
            rstp.add_port(pc)?;
            macs.insert(p.index, p.mac);
        }
        Ok(Node {
            rstp,
            macs,
            stats: NodeStats::default(),
            actions: Vec::new(),
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
                }
            })
            .collect();
        Node::new(*self.rstp.config(), &ports).expect("the configuration was valid")
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
        let ev = match event {
            NodeEvent::Tick => Event::Tick,
            NodeEvent::PortUp { port, speed_mbps } => Event::PortUp {
                port: rstp_number(port),
                speed_mbps,
            },
            NodeEvent::PortDown { port } => Event::PortDown {
                port: rstp_number(port),
            },
            NodeEvent::Frame { port, frame } => match decode_bpdu_frame(frame) {
                Ok(f) => {
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
            NodeEvent::SetPortPathCost { port, cost } => Event::SetPortPathCost {
                port: rstp_number(port),
                cost,
            },
            NodeEvent::SetPortPriority { port, priority } => Event::SetPortPriority {
                port: rstp_number(port),
                priority,
            },
        };
        let r = self.rstp.try_handle(now, ev, &mut self.actions);
        self.translate(out);
        r
    }

    /// When the node next needs [`NodeEvent::Tick`].
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.rstp.poll_timeout()
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
                        bpdu,
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
