//! The switch's protocols on the daemon's ports: the sans-IO
//! [`Node`] of `satellite-protocol` driven by the control lcore's clock,
//! with its actions turned into what the data plane understands and logged
//! under the `sstp` target (with port names, which the node does not know).

use std::time::Duration;
use tracing::{debug, info, warn};

use satellite_dataplane::PortIndex;
use satellite_protocol::node::{Node, NodeAction, NodeEvent, NodePort, NodeStats};
use satellite_protocol::rstp::{AdminPointToPoint, BridgeStatus, PortRole, PortState};
use satellite_protocol::wire::MacAddr;

use crate::config::{Config, PortConfig, PortKind};

/// What the data plane must do because a protocol said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Send this frame out of the port.
    Send { port: PortIndex, frame: Vec<u8> },
    /// The port's spanning-tree state changed.
    PortState {
        port: PortIndex,
        learning: bool,
        forwarding: bool,
    },
    /// Remove what the FDB learned on the port (topology change).
    Flush { port: PortIndex },
}

/// One switch's protocols over the daemon's ports.
pub(crate) struct Protocols {
    node: Node,
    names: Vec<String>,
    actions: Vec<NodeAction>,
}

/// The bridge address: the lowest port MAC (SSTP.md: zero configuration).
pub(crate) fn bridge_address(macs: impl IntoIterator<Item = [u8; 6]>) -> MacAddr {
    MacAddr(
        macs.into_iter()
            .filter(|m| *m != [0; 6])
            .min()
            .unwrap_or([0x02, 0, 0, 0, 0, 1]),
    )
}

impl Protocols {
    /// `ports`: name, MAC and configuration of every port, by index.
    pub(crate) fn new(
        cfg: &Config,
        ports: &[(String, [u8; 6], PortConfig)],
    ) -> Result<Protocols, String> {
        let address = bridge_address(ports.iter().map(|p| p.1));
        let bc = cfg.rstp_bridge_config(address, cfg.stp.priority);
        let list: Vec<NodePort> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, mac, pc))| {
                let mut p = NodePort::new(i as PortIndex, MacAddr(*mac));
                if let Some(pr) = pc.priority {
                    p.rstp.priority = pr;
                }
                p.rstp.path_cost = pc.path_cost;
                p.rstp.admin_edge = pc.kind == PortKind::Edge;
                p.rstp.auto_edge = pc.kind == PortKind::Auto;
                p.rstp.admin_point_to_point = AdminPointToPoint::Auto;
                p
            })
            .collect();
        let node = Node::new(bc, &list).map_err(|e| format!("stp: {e}"))?;
        info!(target: "sstp", bridge_id = %node.rstp_status().bridge_id, "spanning tree (RSTP) started");
        Ok(Protocols {
            node,
            names: ports.iter().map(|p| p.0.clone()).collect(),
            actions: Vec::new(),
        })
    }

    fn event(&mut self, now: Duration, ev: NodeEvent<'_>) -> Result<(), String> {
        self.node
            .handle(now, ev, &mut self.actions)
            .map_err(|e| e.to_string())
    }

    pub(crate) fn port_up(&mut self, now: Duration, i: PortIndex, speed_mbps: u32) {
        let speed = (speed_mbps > 0).then_some(speed_mbps);
        let _ = self.event(
            now,
            NodeEvent::PortUp {
                port: i,
                speed_mbps: speed,
            },
        );
    }

    pub(crate) fn port_down(&mut self, now: Duration, i: PortIndex) {
        let reason = satellite_protocol::wire::FailReason::CarrierLost;
        let _ = self.event(now, NodeEvent::PortDown { port: i, reason });
    }

    /// Feeds a received control frame; malformed ones are counted by the
    /// node and logged.
    pub(crate) fn receive(&mut self, now: Duration, i: PortIndex, frame: &[u8]) {
        let _ = self.event(now, NodeEvent::Frame { port: i, frame });
    }

    /// When the protocols next need [`Protocols::poll`].
    pub(crate) fn poll_timeout(&self) -> Option<Duration> {
        self.node.poll_timeout()
    }

    /// Runs the timers when due.
    pub(crate) fn poll(&mut self, now: Duration) {
        if self.node.poll_timeout().is_none_or(|t| t <= now) {
            let _ = self.event(now, NodeEvent::Tick);
        }
    }

    pub(crate) fn set_priority(&mut self, now: Duration, priority: u32) -> Result<(), String> {
        let p = u16::try_from(priority).map_err(|_| "priority must be 0..=61440".to_string())?;
        self.event(now, NodeEvent::SetBridgePriority(p))
    }

    pub(crate) fn set_port_cost(
        &mut self,
        now: Duration,
        i: PortIndex,
        cost: u32,
    ) -> Result<(), String> {
        self.event(
            now,
            NodeEvent::SetPortPathCost {
                port: i,
                cost: Some(cost),
            },
        )
    }

    pub(crate) fn set_port_priority(
        &mut self,
        now: Duration,
        i: PortIndex,
        priority: u32,
    ) -> Result<(), String> {
        let p = u8::try_from(priority).map_err(|_| "port priority must be 0..=240".to_string())?;
        self.event(
            now,
            NodeEvent::SetPortPriority {
                port: i,
                priority: p,
            },
        )
    }

    fn name(&self, i: PortIndex) -> &str {
        self.names.get(i as usize).map_or("?", String::as_str)
    }

    /// Turns pending node actions into effects, logging role, state and
    /// topology changes under the `sstp` target.
    pub(crate) fn drain(&mut self, out: &mut Vec<Effect>) {
        let mut actions = std::mem::take(&mut self.actions);
        for a in actions.drain(..) {
            match a {
                NodeAction::Transmit { port, frame, what } => {
                    debug!(target: "sstp", port = %self.name(port), ?what, "sent");
                    out.push(Effect::Send { port, frame });
                }
                NodeAction::Sstp(_) | NodeAction::StaleRootAged { .. } => {}
                NodeAction::BpduReceived { port, bpdu } => {
                    debug!(target: "sstp", port = %self.name(port), ?bpdu, "BPDU received");
                }
                NodeAction::Malformed { port, error } => {
                    warn!(target: "sstp", port = %self.name(port), "invalid BPDU dropped: {error}");
                }
                NodeAction::SetPortState {
                    port,
                    learning,
                    forwarding,
                } => {
                    let state = match (learning, forwarding) {
                        (_, true) => "forwarding",
                        (true, false) => "learning",
                        _ => "discarding",
                    };
                    info!(target: "sstp", port = %self.name(port), state, "port state");
                    out.push(Effect::PortState {
                        port,
                        learning,
                        forwarding,
                    });
                }
                NodeAction::FlushFdb { port } => out.push(Effect::Flush { port }),
                NodeAction::TopologyChange { port } => {
                    info!(target: "sstp", port = %self.name(port), "topology change");
                }
                NodeAction::RoleChanged { port, role } => {
                    info!(target: "sstp", port = %self.name(port), role = role_name(role), "port role");
                }
            }
        }
        self.actions = actions;
    }

    pub(crate) fn status(&self) -> BridgeStatus {
        self.node.rstp_status()
    }

    pub(crate) fn stats(&self) -> NodeStats {
        self.node.stats()
    }

    /// `show stp` as JSON: the engine's status with port names.
    pub(crate) fn status_json(&self) -> serde_json::Value {
        let st = self.node.rstp_status();
        let mut v = serde_json::to_value(&st).unwrap_or_default();
        v["root_port_name"] = match st.root_port {
            Some(p) => self.names.get((p - 1) as usize).cloned().into(),
            None => serde_json::Value::Null,
        };
        v["invalid_bpdus"] = self.node.stats().invalid_bpdus.into();
        if let Some(ports) = v["ports"].as_array_mut() {
            for p in ports {
                let n = p["port"].as_u64().unwrap_or(0) as usize;
                p["name"] = self
                    .names
                    .get(n.wrapping_sub(1))
                    .cloned()
                    .unwrap_or_default()
                    .into();
            }
        }
        v
    }
}

pub(crate) fn role_name(r: PortRole) -> &'static str {
    match r {
        PortRole::Root => "root",
        PortRole::Designated => "designated",
        PortRole::Alternate => "alternate",
        PortRole::Backup => "backup",
        PortRole::Disabled => "disabled",
    }
}

pub(crate) fn state_name(s: PortState) -> &'static str {
    match s {
        PortState::Discarding => "discarding",
        PortState::Learning => "learning",
        PortState::Forwarding => "forwarding",
    }
}
