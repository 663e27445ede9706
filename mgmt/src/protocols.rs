//! The switch's protocols on the daemon's ports: the sans-IO
//! [`Node`] of `satellite-protocol` (RSTP, and SSTP unless disabled)
//! driven by the control lcore's clock, with its actions turned into what
//! the data plane understands and logged under the `sstp` target (with
//! port names, which the node does not know).

use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

use satellite_dataplane::PortIndex;
use satellite_protocol::node::{Node, NodeAction, NodeEvent, NodePort, NodeStats};
use satellite_protocol::rstp::{AdminPointToPoint, BridgeStatus, PortRole, PortState};
use satellite_protocol::sstp::{self, Sstp};
use satellite_protocol::wire::{BindingEntry, FailReason, MacAddr, MacHome, SystemId};

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
    /// Whether the data path may send SSTP unicast on the port.
    Liveness { port: PortIndex, alive: bool },
    /// SSTP's routes or reachability changed.
    RoutesChanged,
    /// The MAC homes known from other switches changed.
    HomesChanged,
    /// The ARPless bindings of other switches changed.
    BindingsChanged,
}

static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Upper bounds (seconds) of the SPF duration histogram's buckets.
pub(crate) const SPF_BUCKETS: [f64; 8] = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 1e-1];

/// How long SPF takes, as a histogram: the wall time of each event whose
/// handling ran SPF (decoding and flooding of that event included, so an
/// upper bound of SPF itself; the engine reads no clock).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SpfTimes {
    pub(crate) buckets: [u64; SPF_BUCKETS.len()],
    pub(crate) count: u64,
    pub(crate) sum_secs: f64,
    pub(crate) max_secs: f64,
}

impl SpfTimes {
    fn record(&mut self, secs: f64) {
        self.count += 1;
        self.sum_secs += secs;
        self.max_secs = self.max_secs.max(secs);
        for (b, le) in self.buckets.iter_mut().zip(SPF_BUCKETS) {
            if secs <= le {
                *b += 1;
            }
        }
    }
}

/// One switch's protocols over the daemon's ports.
pub(crate) struct Protocols {
    node: Node,
    names: Vec<String>,
    actions: Vec<NodeAction>,
    spf_times: SpfTimes,
    /// Wall-clock time of the last change to the link-state database (an
    /// LSP stored, ours or another's), for `show sstp`: labs compare it
    /// across switches to time database sync.
    lsdb_changed: Option<std::time::SystemTime>,
    /// When each kind of overflow was last logged (rate limit).
    overflow_logged: std::collections::BTreeMap<&'static str, Duration>,
    /// Ports root guard holds Alternate now.
    root_inconsistent: std::collections::BTreeSet<PortIndex>,
}

/// A random 64-bit nonce for this session: std's per-process random hash
/// keys, mixed with the clock and the process ID.
fn session_nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(wall_clock_micros() as u128);
    h.write_u32(std::process::id());
    h.finish() | 1
}

/// Microseconds since the Unix epoch: where our LSP sequence numbers
/// start, so a restarted switch outbids its old LSPs without remembering
/// them (2^64 µs is 584,000 years).
fn wall_clock_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
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

/// The MACs the bridge address is chosen from: those of ports other than
/// vhost-user ones when there are any. A VM's port comes and goes with
/// the VM, and its MAC is made up by the switch (`ports::vhost_mac`); the
/// bridge's identity in RSTP and SSTP should not change because VMs were
/// added before a restart.
fn fabric_facing_macs(ports: &[(String, [u8; 6], PortConfig)]) -> Vec<[u8; 6]> {
    let wired: Vec<[u8; 6]> = ports
        .iter()
        .filter(|p| !p.2.is_vhost())
        .map(|p| p.1)
        .collect();
    if wired.is_empty() {
        ports.iter().map(|p| p.1).collect()
    } else {
        wired
    }
}

/// A port's protocol settings from its configuration.
fn node_port(i: PortIndex, mac: [u8; 6], pc: &PortConfig) -> NodePort {
    let mut p = NodePort::new(i, MacAddr(mac));
    if let Some(pr) = pc.priority {
        p.rstp.priority = pr;
    }
    p.rstp.path_cost = pc.path_cost;
    p.rstp.admin_edge = pc.kind == PortKind::Edge;
    p.rstp.auto_edge = pc.kind == PortKind::Auto;
    p.rstp.admin_point_to_point = AdminPointToPoint::Auto;
    p.rstp.restricted_role = pc.root_guard;
    // Hosts never speak SSTP: edge ports neither send nor accept it.
    p.sstp = pc.kind != PortKind::Edge;
    p
}

impl Protocols {
    /// `ports`: name, MAC and configuration of every port, by index.
    pub(crate) fn new(
        cfg: &Config,
        ports: &[(String, [u8; 6], PortConfig)],
    ) -> Result<Protocols, String> {
        let address = bridge_address(fabric_facing_macs(ports));
        let bc = cfg.rstp_bridge_config(address, cfg.stp.priority);
        let list: Vec<NodePort> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, mac, pc))| node_port(i as PortIndex, *mac, pc))
            .collect();
        let node = if cfg.sstp.enabled {
            let sc = cfg.sstp_config(SystemId(address), session_nonce(), wall_clock_micros());
            let node = Node::with_sstp(bc, sc.clone(), &list).map_err(|e| e.to_string())?;
            info!(target: "sstp", system = %SystemId(address), nonce = format!("{:016x}", sc.nonce),
                  hello_ms = sc.hello_interval.as_secs_f64() * 1e3, dead_count = sc.dead_count,
                  "link state (SSTP) started");
            node
        } else {
            Node::new(bc, &list).map_err(|e| format!("stp: {e}"))?
        };
        info!(target: "sstp", bridge_id = %node.rstp_status().bridge_id, "spanning tree (RSTP) started");
        Ok(Protocols {
            node,
            names: ports.iter().map(|p| p.0.clone()).collect(),
            actions: Vec::new(),
            spf_times: SpfTimes::default(),
            lsdb_changed: None,
            overflow_logged: Default::default(),
            root_inconsistent: Default::default(),
        })
    }

    /// Adds port `i` at run time (down until [`Protocols::port_up`]).
    pub(crate) fn add_port(
        &mut self,
        now: Duration,
        i: PortIndex,
        name: &str,
        mac: [u8; 6],
        pc: &PortConfig,
    ) -> Result<(), String> {
        self.node
            .add_port(now, node_port(i, mac, pc), &mut self.actions)
            .map_err(|e| format!("port {name}: {e}"))?;
        let k = i as usize;
        if self.names.len() <= k {
            self.names.resize(k + 1, String::new());
        }
        self.names[k] = name.to_string();
        info!(target: "sstp", port = %name, "port added to the spanning tree and the link state");
        Ok(())
    }

    /// Removes port `i` at run time.
    pub(crate) fn remove_port(&mut self, now: Duration, i: PortIndex) -> Result<(), String> {
        self.node
            .remove_port(now, i, &mut self.actions)
            .map_err(|e| e.to_string())?;
        info!(target: "sstp", port = %self.name(i), "port removed from the spanning tree and the link state");
        self.root_inconsistent.remove(&i);
        if let Some(n) = self.names.get_mut(i as usize) {
            n.clear();
        }
        Ok(())
    }

    pub(crate) fn set_bridge_times(
        &mut self,
        now: Duration,
        hello_time: u16,
        max_age: u16,
        forward_delay: u16,
    ) -> Result<(), String> {
        self.event(
            now,
            NodeEvent::SetBridgeTimes {
                hello_time,
                max_age,
                forward_delay,
            },
        )
    }

    fn event(&mut self, now: Duration, ev: NodeEvent<'_>) -> Result<(), String> {
        let (runs, stored) = self.sstp_counts();
        let t = Instant::now();
        let r = self
            .node
            .handle(now, ev, &mut self.actions)
            .map_err(|e| e.to_string());
        let (runs2, stored2) = self.sstp_counts();
        if runs2 != runs {
            self.spf_times.record(t.elapsed().as_secs_f64());
        }
        if stored2 != stored {
            self.lsdb_changed = Some(std::time::SystemTime::now());
        }
        r
    }

    /// SPF runs, and LSPs stored (received or originated).
    fn sstp_counts(&self) -> (u64, u64) {
        self.node.sstp().map_or((0, 0), |e| {
            let s = e.stats();
            (s.spf_runs, s.lsps_received + s.lsps_originated)
        })
    }

    /// Wall-clock time of the last link-state database change.
    pub(crate) fn lsdb_changed(&self) -> Option<std::time::SystemTime> {
        self.lsdb_changed
    }

    /// The link-state engine, when SSTP runs.
    pub(crate) fn sstp(&self) -> Option<&Sstp> {
        self.node.sstp()
    }

    /// The SPF duration histogram.
    pub(crate) fn spf_times(&self) -> &SpfTimes {
        &self.spf_times
    }

    /// A binding of one of our ports: SSTP advertises it, so every
    /// switch's responder answers for the host.
    pub(crate) fn binding(&mut self, now: Duration, b: BindingEntry, present: bool) {
        let ev = if present {
            NodeEvent::BindingAdded(b)
        } else {
            NodeEvent::BindingRemoved(b)
        };
        let _ = self.event(now, ev);
    }

    /// A host was learned on an edge port: SSTP advertises it.
    pub(crate) fn mac_home(&mut self, now: Duration, home: MacHome, present: bool) {
        let ev = if present {
            NodeEvent::MacHomeAdded(home)
        } else {
            NodeEvent::MacHomeRemoved(home)
        };
        let _ = self.event(now, ev);
    }

    /// The port's RSTP operEdge (a host port when its kind is auto).
    pub(crate) fn is_oper_edge(&self, i: PortIndex) -> bool {
        let number = satellite_protocol::node::rstp_number(i);
        self.node
            .rstp_status()
            .ports
            .iter()
            .any(|p| p.port == number && p.edge)
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

    /// The port lost carrier (`admin` false) or was disabled.
    pub(crate) fn port_down(&mut self, now: Duration, i: PortIndex, admin: bool) {
        let reason = if admin {
            FailReason::AdminDown
        } else {
            FailReason::CarrierLost
        };
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
        cost: Option<u32>,
    ) -> Result<(), String> {
        self.event(now, NodeEvent::SetPortPathCost { port: i, cost })
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
                NodeAction::Sstp(a) => self.sstp_action(a, out),
                NodeAction::StaleRootAged { root } => {
                    info!(target: "sstp", %root,
                          "root unreachable in the link state: its information aged out on every port");
                }
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
                    self.note_root_guard(port);
                }
            }
        }
        self.actions = actions;
    }

    /// Logs and turns into effects what the link state reports.
    fn sstp_action(&mut self, a: sstp::Action, out: &mut Vec<Effect>) {
        use sstp::Action as A;
        match a {
            A::Transmit { .. } => unreachable!("the node turns these into NodeAction::Transmit"),
            A::AdjacencyChanged {
                port,
                neighbour,
                transition: t,
            } => {
                let neighbour = neighbour.map(|n| n.to_string()).unwrap_or_default();
                info!(target: "sstp", port = %self.name(port), %neighbour, from = t.from.as_str(),
                      to = t.to.as_str(), reason = t.reason.as_str(), "adjacency {}", t.to.as_str());
            }
            A::LinkSynced { port } => {
                info!(target: "sstp", port = %self.name(port), "link databases in sync: link advertised");
            }
            A::PortLiveness { port, alive } => out.push(Effect::Liveness { port, alive }),
            A::RoutesChanged => {
                if let Some(e) = self.node.sstp() {
                    debug!(target: "sstp", reachable = e.routes().reachable_count(),
                           spf_runs = e.stats().spf_runs, "routes changed");
                }
                out.push(Effect::RoutesChanged);
            }
            A::HomesChanged => out.push(Effect::HomesChanged),
            A::BindingsChanged => out.push(Effect::BindingsChanged),
            A::Dropped { port, reason } => {
                debug!(target: "sstp", port = %self.name(port), reason, "SSTP PDU dropped");
            }
            A::Overflow { what } => {
                // At most one line per kind every 10 s; the counter has all.
                let now = Instant::now().duration_since(*START.get_or_init(Instant::now));
                let last = self.overflow_logged.get(what).copied();
                if last.is_none_or(|t| now.saturating_sub(t) >= Duration::from_secs(10)) {
                    self.overflow_logged.insert(what, now);
                    warn!(target: "sstp", what, "link-state limit reached: entries left out \
                          (see satellite_sstp_overflows_total and [sstp] max_*)");
                }
            }
        }
    }

    pub(crate) fn status(&self) -> BridgeStatus {
        self.node.rstp_status()
    }

    pub(crate) fn stats(&self) -> NodeStats {
        self.node.stats()
    }

    /// `show stp` as JSON: the engine's status with port names.
    /// Logs when root guard starts or stops holding `port`.
    fn note_root_guard(&mut self, port: PortIndex) {
        let number = satellite_protocol::node::rstp_number(port);
        let held = self
            .node
            .rstp_status()
            .ports
            .iter()
            .any(|p| p.port == number && p.root_inconsistent);
        if held && self.root_inconsistent.insert(port) {
            warn!(target: "sstp", port = %self.name(port),
                  "root guard: a superior BPDU on this port; held alternate (root inconsistent) while it lasts");
        } else if !held && self.root_inconsistent.remove(&port) {
            info!(target: "sstp", port = %self.name(port),
                  "root guard: the superior information is gone; the port takes its role again");
        }
    }

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

#[cfg(test)]
mod address_tests {
    use super::*;
    use crate::config::Backend;

    #[test]
    fn vhost_ports_give_the_bridge_address_only_when_there_is_nothing_else() {
        let port = |name: &str, mac: [u8; 6], vhost: bool| {
            let mut c = PortConfig::iface(name);
            if vhost {
                c.backend = Backend::VhostUser;
                c.socket = Some(format!("/run/{name}.sock").into());
            }
            (name.to_string(), mac, c)
        };
        let ports = [
            port("vm1", [2, 0, 0, 0, 0, 1], true),
            port("eth0", [0x52, 0, 0, 0, 0, 9], false),
        ];
        assert_eq!(
            bridge_address(fabric_facing_macs(&ports)),
            MacAddr([0x52, 0, 0, 0, 0, 9])
        );
        assert_eq!(
            bridge_address(fabric_facing_macs(&ports[..1])),
            MacAddr([2, 0, 0, 0, 0, 1])
        );
    }
}
