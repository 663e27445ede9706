//! The spanning tree on the daemon's ports: the sans-IO RSTP engine of
//! `satellite-protocol` driven by the control lcore's clock, with its
//! actions turned into what the data plane understands.

use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

use satellite_dataplane::snapshot::PortIndex;
use satellite_protocol::rstp::{
    self, Action, AdminPointToPoint, Bridge, BridgeConfig, Event, PortRole, PortState,
};
use satellite_protocol::wire::{decode_bpdu_frame, encode_bpdu_frame, MacAddr};

use crate::config::{PortConfig, PortKind, StpConfig, StpVersion};

/// What the data plane must do because the spanning tree said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
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

/// One RSTP bridge over the daemon's ports. Port number = index + 1.
pub struct SpanningTree {
    bridge: Bridge,
    started: Instant,
    macs: Vec<[u8; 6]>,
    names: Vec<String>,
    actions: Vec<Action>,
    /// BPDUs that failed to parse.
    pub invalid_bpdus: u64,
    /// Topology changes detected or received (TopologyChange actions).
    pub topology_changes: u64,
}

fn number(i: PortIndex) -> rstp::PortNumber {
    i + 1
}

impl SpanningTree {
    /// The bridge address is the lowest port MAC (SSTP.md: zero config).
    pub fn new(
        cfg: &StpConfig,
        ports: &[(String, [u8; 6], PortConfig)],
    ) -> Result<SpanningTree, String> {
        let address = ports
            .iter()
            .map(|p| p.1)
            .filter(|m| *m != [0; 6])
            .min()
            .unwrap_or([0x02, 0, 0, 0, 0, 1]);
        let mut bc = BridgeConfig::new(MacAddr(address));
        bc.priority = cfg.priority;
        bc.hello_time = cfg.hello_time;
        bc.max_age = cfg.max_age;
        bc.forward_delay = cfg.forward_delay;
        bc.tx_hold_count = cfg.tx_hold_count;
        bc.force_version = match cfg.force_version {
            StpVersion::Stp => 0,
            StpVersion::Rstp => 2,
        };
        let mut bridge = Bridge::new(bc).map_err(|e| format!("stp: {e}"))?;
        for (i, (name, _, pc)) in ports.iter().enumerate() {
            let mut p = rstp::PortConfig::new(number(i as PortIndex));
            if let Some(pr) = pc.priority {
                p.priority = pr;
            }
            p.path_cost = pc.path_cost;
            p.admin_edge = pc.kind == PortKind::Edge;
            p.auto_edge = pc.kind == PortKind::Auto;
            p.admin_point_to_point = AdminPointToPoint::Auto;
            bridge
                .add_port(p)
                .map_err(|e| format!("port {name}: {e}"))?;
        }
        info!(target: "sstp", bridge_id = %bridge.status().bridge_id, "spanning tree (RSTP) started");
        Ok(SpanningTree {
            bridge,
            started: Instant::now(),
            macs: ports.iter().map(|p| p.1).collect(),
            names: ports.iter().map(|p| p.0.clone()).collect(),
            actions: Vec::new(),
            invalid_bpdus: 0,
            topology_changes: 0,
        })
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn event(&mut self, ev: Event) -> Result<(), String> {
        let now = self.now();
        self.bridge
            .try_handle(now, ev, &mut self.actions)
            .map_err(|e| e.to_string())
    }

    pub fn port_up(&mut self, i: PortIndex, speed_mbps: u32) {
        let speed = (speed_mbps > 0).then_some(speed_mbps);
        let _ = self.event(Event::PortUp {
            port: number(i),
            speed_mbps: speed,
        });
    }

    pub fn port_down(&mut self, i: PortIndex) {
        let _ = self.event(Event::PortDown { port: number(i) });
    }

    /// Feeds a received BPDU frame; malformed ones are counted and ignored.
    pub fn receive(&mut self, i: PortIndex, frame: &[u8]) {
        match decode_bpdu_frame(frame) {
            Ok(f) => {
                debug!(target: "sstp", port = %self.names[i as usize], bpdu = ?f.bpdu, "BPDU received");
                let _ = self.event(Event::BpduReceived {
                    port: number(i),
                    bpdu: f.bpdu,
                });
            }
            Err(e) => {
                self.invalid_bpdus += 1;
                warn!(target: "sstp", port = %self.names[i as usize], "invalid BPDU dropped: {e}");
            }
        }
    }

    /// Runs the timers when due.
    pub fn poll(&mut self) {
        let now = self.now();
        if self.bridge.poll_timeout().is_none_or(|t| t <= now) {
            let _ = self.event(Event::Tick);
        }
    }

    pub fn set_priority(&mut self, priority: u32) -> Result<(), String> {
        let p = u16::try_from(priority).map_err(|_| "priority must be 0..=61440".to_string())?;
        self.event(Event::SetBridgePriority(p))
    }

    pub fn set_port_cost(&mut self, i: PortIndex, cost: u32) -> Result<(), String> {
        self.event(Event::SetPortPathCost {
            port: number(i),
            cost: Some(cost),
        })
    }

    pub fn set_port_priority(&mut self, i: PortIndex, priority: u32) -> Result<(), String> {
        let p = u8::try_from(priority).map_err(|_| "port priority must be 0..=240".to_string())?;
        self.event(Event::SetPortPriority {
            port: number(i),
            priority: p,
        })
    }

    /// Turns pending engine actions into effects, logging role, state and
    /// topology changes under the `sstp` target.
    pub fn drain(&mut self, out: &mut Vec<Effect>) {
        for a in self.actions.drain(..) {
            match a {
                Action::Transmit { port, bpdu } => {
                    let i = port - 1;
                    debug!(target: "sstp", port = %self.names[i as usize], ?bpdu, "BPDU sent");
                    let frame = encode_bpdu_frame(MacAddr(self.macs[i as usize]), &bpdu);
                    out.push(Effect::Send { port: i, frame });
                }
                Action::SetPortState {
                    port,
                    learning,
                    forwarding,
                } => {
                    let i = port - 1;
                    let state = match (learning, forwarding) {
                        (_, true) => "forwarding",
                        (true, false) => "learning",
                        _ => "discarding",
                    };
                    info!(target: "sstp", port = %self.names[i as usize], state, "port state");
                    out.push(Effect::PortState {
                        port: i,
                        learning,
                        forwarding,
                    });
                }
                Action::FlushFdb { port } => out.push(Effect::Flush { port: port - 1 }),
                Action::TopologyChange { port } => {
                    self.topology_changes += 1;
                    info!(target: "sstp", port = %self.names[(port - 1) as usize], "topology change");
                }
                Action::RoleChanged { port, role } => {
                    info!(target: "sstp", port = %self.names[(port - 1) as usize], role = role_name(role), "port role");
                }
            }
        }
    }

    pub fn status(&self) -> rstp::BridgeStatus {
        self.bridge.status()
    }

    /// `show stp` as JSON: the engine's status with port names.
    pub fn status_json(&self) -> serde_json::Value {
        let st = self.bridge.status();
        let mut v = serde_json::to_value(&st).unwrap_or_default();
        v["root_port_name"] = match st.root_port {
            Some(p) => self.names.get((p - 1) as usize).cloned().into(),
            None => serde_json::Value::Null,
        };
        v["invalid_bpdus"] = self.invalid_bpdus.into();
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

pub fn role_name(r: PortRole) -> &'static str {
    match r {
        PortRole::Root => "root",
        PortRole::Designated => "designated",
        PortRole::Alternate => "alternate",
        PortRole::Backup => "backup",
        PortRole::Disabled => "disabled",
    }
}

pub fn state_name(s: PortState) -> &'static str {
    match s {
        PortState::Discarding => "discarding",
        PortState::Learning => "learning",
        PortState::Forwarding => "forwarding",
    }
}
