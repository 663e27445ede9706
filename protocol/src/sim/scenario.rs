//! The JSON scenario format (documented in `SCENARIOS.md`) and its runner.

use super::{Network, Stats};
use crate::node::NodeEvent;
use crate::rstp::{
    AdminPointToPoint, BridgeConfig, BridgeStatus, PortConfig, PortRole, PortState,
    DEFAULT_BRIDGE_PRIORITY, DEFAULT_FORWARD_DELAY, DEFAULT_HELLO_TIME, DEFAULT_MAX_AGE,
    DEFAULT_MIGRATE_TIME, DEFAULT_PORT_PRIORITY, DEFAULT_TX_HOLD_COUNT,
};
use crate::wire::MacAddr;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// A whole scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name.
    #[serde(default)]
    pub name: String,
    /// What it shows.
    #[serde(default)]
    pub description: String,
    /// Seed for loss and start-up phases.
    #[serde(default = "one")]
    pub seed: u64,
    /// Default one-way latency of links and LANs, milliseconds.
    #[serde(default = "one_f")]
    pub latency_ms: f64,
    /// Bridges boot at random times within this many ms (default 0).
    #[serde(default)]
    pub boot_spread_ms: f64,
    /// Run SSTP beside RSTP on every bridge, with default settings.
    #[serde(default)]
    pub sstp: bool,
    /// Bridges.
    pub bridges: Vec<BridgeSpec>,
    /// Point-to-point links.
    #[serde(default)]
    pub links: Vec<SegmentSpec>,
    /// Shared LANs (a BPDU sent on one reaches every other port on it).
    #[serde(default)]
    pub lans: Vec<SegmentSpec>,
    /// What happens, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
}

fn one() -> u64 {
    1
}
fn one_f() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}

/// A bridge.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeSpec {
    /// Name used by links, steps and expectations.
    pub name: String,
    /// Bridge address (MAC).
    pub address: MacAddr,
    /// Bridge priority, multiple of 4096.
    #[serde(default = "default_bridge_priority")]
    pub priority: u16,
    /// Force Protocol Version, 0 (STP) or 2 (RSTP).
    #[serde(default = "two")]
    pub force_version: u8,
    /// Hello Time, s.
    #[serde(default = "default_hello")]
    pub hello_time: u16,
    /// Max Age, s.
    #[serde(default = "default_max_age")]
    pub max_age: u16,
    /// Forward Delay, s.
    #[serde(default = "default_fwd")]
    pub forward_delay: u16,
    /// Transmit Hold Count.
    #[serde(default = "default_hold")]
    pub tx_hold_count: u8,
    /// Ports.
    pub ports: Vec<PortSpec>,
}

fn default_bridge_priority() -> u16 {
    DEFAULT_BRIDGE_PRIORITY
}
fn two() -> u8 {
    2
}
fn default_hello() -> u16 {
    DEFAULT_HELLO_TIME
}
fn default_max_age() -> u16 {
    DEFAULT_MAX_AGE
}
fn default_fwd() -> u16 {
    DEFAULT_FORWARD_DELAY
}
fn default_hold() -> u8 {
    DEFAULT_TX_HOLD_COUNT
}
fn default_port_priority() -> u8 {
    DEFAULT_PORT_PRIORITY
}

/// A bridge port.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    /// Port number.
    pub number: u16,
    /// Port priority, multiple of 16.
    #[serde(default = "default_port_priority")]
    pub priority: u8,
    /// Path cost; absent = from `speed_mbps` (table 17-3).
    #[serde(default)]
    pub path_cost: Option<u32>,
    /// Link speed, Mb/s (default 1000).
    #[serde(default)]
    pub speed_mbps: Option<u32>,
    /// AdminEdgePort.
    #[serde(default)]
    pub admin_edge: bool,
    /// AutoEdgePort.
    #[serde(default = "yes")]
    pub auto_edge: bool,
    /// adminPointToPointMAC; LAN ports default to `force_false`.
    #[serde(default)]
    pub point_to_point: Option<AdminPointToPoint>,
}

/// A (bridge name, port number) pair.
pub type PortRef = (String, u16);

/// A link (exactly two ports) or a LAN (one or more ports).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSpec {
    /// Name used by steps.
    pub name: String,
    /// Attached ports.
    pub ports: Vec<PortRef>,
    /// One-way latency, ms (default: the scenario's).
    #[serde(default)]
    pub latency_ms: Option<f64>,
    /// Loss probability per delivery.
    #[serde(default)]
    pub loss: f64,
    /// Whether it starts connected.
    #[serde(default = "yes")]
    pub up: bool,
}

/// A port named by bridge and number.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortArg {
    /// Bridge name.
    pub bridge: String,
    /// Port number.
    pub port: u16,
}

/// One step of a scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Advance virtual time by this many seconds.
    Run(f64),
    /// Administratively disable a port (its link partner loses carrier).
    DisablePort(PortArg),
    /// Re-enable a port.
    EnablePort(PortArg),
    /// Cut a link or LAN (every attached port loses carrier).
    RemoveLink(String),
    /// Reconnect a link or LAN cut before (or declared with `"up": false`).
    AddLink(String),
    /// Power a bridge off.
    FailBridge(String),
    /// Power a bridge on again (it restarts from BEGIN).
    RestoreBridge(String),
    /// Change a bridge's priority.
    SetBridgePriority {
        /// Bridge name.
        bridge: String,
        /// New priority.
        priority: u16,
    },
    /// Change a port's path cost.
    SetPortCost {
        /// Bridge name.
        bridge: String,
        /// Port.
        port: u16,
        /// New cost.
        cost: u32,
    },
    /// Change a port's priority.
    SetPortPriority {
        /// Bridge name.
        bridge: String,
        /// Port.
        port: u16,
        /// New priority.
        priority: u8,
    },
    /// Check bridges' state now.
    Expect(Expectation),
}

/// Expected state at one point of the scenario.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// Per bridge name.
    #[serde(default)]
    pub bridges: BTreeMap<String, BridgeExpect>,
    /// The last role or port-state change happened at most this many
    /// seconds after the last step that changed the network (or time 0).
    #[serde(default)]
    pub converged_within: Option<f64>,
    /// No forwarding loop, and one root per forwarding component.
    #[serde(default)]
    pub loop_free: bool,
}

/// Expected state of one bridge.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeExpect {
    /// Name of the root bridge.
    #[serde(default)]
    pub root: Option<String>,
    /// Root port number, or `0` for "this bridge is the root".
    #[serde(default)]
    pub root_port: Option<u16>,
    /// Root path cost.
    #[serde(default)]
    pub root_path_cost: Option<u32>,
    /// Per port number (as a string key).
    #[serde(default)]
    pub ports: BTreeMap<String, PortExpect>,
}

/// Expected state of one port.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortExpect {
    /// Role.
    #[serde(default)]
    pub role: Option<PortRole>,
    /// State.
    #[serde(default)]
    pub state: Option<PortState>,
    /// operEdge.
    #[serde(default)]
    pub edge: Option<bool>,
    /// Protocol in use ("stp" or "rstp").
    #[serde(default)]
    pub protocol: Option<crate::rstp::ProtocolInUse>,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Scenario name.
    pub name: String,
    /// Virtual time at the end, s.
    pub time_s: f64,
    /// Counters.
    pub stats: Stats,
    /// Failed expectations, in order.
    pub failures: Vec<String>,
    /// Final state of each bridge.
    pub bridges: Vec<NamedStatus>,
}

/// A bridge's final state.
#[derive(Debug, Clone, Serialize)]
pub struct NamedStatus {
    /// Bridge name.
    pub name: String,
    /// Its status.
    pub status: BridgeStatus,
}

impl Scenario {
    /// Parses a scenario from JSON.
    pub fn from_json(s: &str) -> Result<Self, String> {
        serde_json::from_str(s).map_err(|e| e.to_string())
    }

    /// Builds the network the scenario describes.
    pub fn build(&self) -> Result<Network, String> {
        let mut net = Network::new(self.seed);
        net.boot_spread = Duration::from_secs_f64(self.boot_spread_ms / 1000.0);
        if self.sstp {
            net.sstp = Some(crate::sstp::SstpConfig::new(
                crate::wire::SystemId::default(),
            ));
        }
        let lan_ports: Vec<&PortRef> = self.lans.iter().flat_map(|l| &l.ports).collect();
        for b in &self.bridges {
            let cfg = BridgeConfig {
                address: b.address,
                priority: b.priority,
                hello_time: b.hello_time,
                max_age: b.max_age,
                forward_delay: b.forward_delay,
                tx_hold_count: b.tx_hold_count,
                force_version: b.force_version,
                migrate_time: DEFAULT_MIGRATE_TIME,
            };
            let ports: Vec<(PortConfig, Option<u32>)> = b
                .ports
                .iter()
                .map(|p| {
                    let on_lan = lan_ports
                        .iter()
                        .any(|(n, q)| *n == b.name && *q == p.number);
                    let p2p = p.point_to_point.unwrap_or(if on_lan {
                        AdminPointToPoint::ForceFalse
                    } else {
                        AdminPointToPoint::Auto
                    });
                    (
                        PortConfig {
                            number: p.number,
                            priority: p.priority,
                            path_cost: p.path_cost,
                            admin_edge: p.admin_edge,
                            auto_edge: p.auto_edge,
                            admin_point_to_point: p2p,
                            restricted_role: false,
                        },
                        Some(p.speed_mbps.unwrap_or(1000)),
                    )
                })
                .collect();
            net.add_bridge(&b.name, cfg, &ports)
                .map_err(|e| format!("bridge {}: {e}", b.name))?;
        }
        for (kind, segs) in [("link", &self.links), ("lan", &self.lans)] {
            for s in segs {
                if kind == "link" && s.ports.len() != 2 {
                    return Err(format!("link {} must join exactly two ports", s.name));
                }
                let mut members = Vec::new();
                for (bn, p) in &s.ports {
                    let b = net
                        .bridge_by_name(bn)
                        .ok_or_else(|| format!("{kind} {}: no bridge {bn}", s.name))?;
                    if !self.bridges[b].ports.iter().any(|q| q.number == *p) {
                        return Err(format!("{kind} {}: bridge {bn} has no port {p}", s.name));
                    }
                    if net.bridges[b].attached.contains_key(p) {
                        return Err(format!("{kind} {}: port {bn}/{p} used twice", s.name));
                    }
                    members.push((b, *p));
                }
                let lat = s.latency_ms.unwrap_or(self.latency_ms);
                net.add_segment(
                    &s.name,
                    members,
                    Duration::from_secs_f64(lat / 1000.0),
                    s.loss,
                    s.up,
                );
            }
        }
        Ok(net)
    }

    /// Runs the scenario; `Err` only for a malformed scenario.
    pub fn run(&self) -> Result<Report, String> {
        self.run_traced(false)
    }

    /// Runs the scenario, printing every action to stderr if `trace`.
    pub fn run_traced(&self, trace: bool) -> Result<Report, String> {
        let mut net = self.build()?;
        net.trace = trace;
        let mut failures = Vec::new();
        let mut mark = Duration::ZERO;
        for (n, step) in self.steps.iter().enumerate() {
            let n = n + 1;
            let bridge = |net: &Network, name: &str| {
                net.bridge_by_name(name)
                    .ok_or_else(|| format!("step {n}: no bridge {name}"))
            };
            let seg = |net: &Network, name: &str| {
                net.segment_by_name(name)
                    .ok_or_else(|| format!("step {n}: no link or LAN {name}"))
            };
            if !matches!(step, Step::Run(_) | Step::Expect(_)) {
                mark = net.now;
            }
            match step {
                Step::Run(s) => net.run_for(Duration::from_secs_f64(*s)),
                Step::DisablePort(p) | Step::EnablePort(p) => {
                    let b = bridge(&net, &p.bridge)?;
                    let down = &mut net.bridges[b].admin_down;
                    down.retain(|&q| q != p.port);
                    if matches!(step, Step::DisablePort(_)) {
                        down.push(p.port);
                    }
                    net.refresh_carrier();
                }
                Step::RemoveLink(name) | Step::AddLink(name) => {
                    let s = seg(&net, name)?;
                    net.segments[s].up = matches!(step, Step::AddLink(_));
                    net.refresh_carrier();
                }
                Step::FailBridge(name) | Step::RestoreBridge(name) => {
                    let b = bridge(&net, name)?;
                    net.set_alive(b, matches!(step, Step::RestoreBridge(_)));
                }
                Step::SetBridgePriority {
                    bridge: bn,
                    priority,
                } => {
                    let b = bridge(&net, bn)?;
                    net.handle(b, NodeEvent::SetBridgePriority(*priority));
                }
                Step::SetPortCost {
                    bridge: bn,
                    port,
                    cost,
                } => {
                    let b = bridge(&net, bn)?;
                    net.handle(
                        b,
                        NodeEvent::SetPortPathCost {
                            port: port.saturating_sub(1),
                            cost: Some(*cost),
                        },
                    );
                }
                Step::SetPortPriority {
                    bridge: bn,
                    port,
                    priority,
                } => {
                    let b = bridge(&net, bn)?;
                    net.handle(
                        b,
                        NodeEvent::SetPortPriority {
                            port: port.saturating_sub(1),
                            priority: *priority,
                        },
                    );
                }
                Step::Expect(e) => check(&net, e, n, mark, &mut failures)?,
            }
        }
        Ok(Report {
            name: self.name.clone(),
            time_s: net.now.as_secs_f64(),
            stats: net.stats,
            failures,
            bridges: net
                .statuses()
                .into_iter()
                .map(|(name, status)| NamedStatus { name, status })
                .collect(),
        })
    }
}

fn check(
    net: &Network,
    e: &Expectation,
    n: usize,
    mark: Duration,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    let t = net.now.as_secs_f64();
    let mut fail = |msg: String| failures.push(format!("step {n} (t={t:.3}s): {msg}"));
    if let Some(w) = e.converged_within {
        let took = net.stats.last_change.saturating_sub(mark).as_secs_f64();
        if took > w {
            fail(format!(
                "last role/state change {took:.3}s after the last change to the network, expected within {w}s"
            ));
        }
    }
    if e.loop_free {
        if let Err(m) = net.check_tree() {
            fail(m);
        }
    }
    for (name, be) in &e.bridges {
        let b = net
            .bridge_by_name(name)
            .ok_or_else(|| format!("step {n}: no bridge {name}"))?;
        let st = net.bridges[b].status();
        if let Some(r) = &be.root {
            let rb = net
                .bridge_by_name(r)
                .ok_or_else(|| format!("step {n}: no bridge {r}"))?;
            let want = net.bridges[rb].status().bridge_id;
            if st.root_id != want {
                let got = net
                    .bridges
                    .iter()
                    .find(|x| x.status().bridge_id == st.root_id)
                    .map_or(st.root_id.to_string(), |x| x.name.clone());
                fail(format!("{name}: root is {got}, expected {r}"));
            }
        }
        if let Some(rp) = be.root_port {
            let got = st.root_port.unwrap_or(0);
            if got != rp {
                fail(format!("{name}: root port is {got}, expected {rp}"));
            }
        }
        if let Some(c) = be.root_path_cost {
            if st.root_path_cost != c {
                fail(format!(
                    "{name}: root path cost is {}, expected {c}",
                    st.root_path_cost
                ));
            }
        }
        for (pn, pe) in &be.ports {
            let num: u16 = pn
                .parse()
                .map_err(|_| format!("step {n}: bad port key {pn:?}"))?;
            let Some(ps) = st.ports.iter().find(|p| p.port == num) else {
                return Err(format!("step {n}: {name} has no port {num}"));
            };
            if let Some(r) = pe.role {
                if ps.role != r {
                    fail(format!(
                        "{name} port {num}: role {:?}, expected {r:?}",
                        ps.role
                    ));
                }
            }
            if let Some(s) = pe.state {
                if ps.state != s {
                    fail(format!(
                        "{name} port {num}: state {:?}, expected {s:?}",
                        ps.state
                    ));
                }
            }
            if let Some(x) = pe.edge {
                if ps.edge != x {
                    fail(format!("{name} port {num}: edge {}, expected {x}", ps.edge));
                }
            }
            if let Some(x) = pe.protocol {
                if ps.protocol != x {
                    fail(format!(
                        "{name} port {num}: protocol {:?}, expected {x:?}",
                        ps.protocol
                    ));
                }
            }
        }
    }
    Ok(())
}
