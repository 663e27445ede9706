//! The RSTP engine: 802.1D-2004 clause 17 as sans-IO state machines.
//!
//! Time enters only as the `now` argument of [`Bridge::handle`]; the engine
//! asks to be woken with [`Bridge::poll_timeout`] and says what to do on the
//! wire and in the data path through [`Action`]s. The machines live in
//! [`machines`], one function per machine of the standard, with its state
//! names and variable names, so that a reviewer can hold the text of the
//! standard beside the code.
//!
//! Choices where the standard leaves room, or where we deviate knowingly:
//! - Timers run in whole seconds (17.13); received times are rounded to the
//!   nearest second ([`crate::wire::BpduTime::to_secs_rounded`]).
//! - A TCN BPDU is classified `OtherInfo` by rcvInfo (17.21.8), so PIM's
//!   OTHER state would never call setTcFlags for it; we call setTcFlags
//!   there for TCNs, as 17.21.17 describes what it does with them.
//! - With ForceProtocolVersion < 2, a received RST BPDU is handled as a
//!   Configuration BPDU (role Designated, only TC and TCA flags), as a
//!   legacy bridge would read it.
//! - Configuration BPDUs whose Message Age is not less than Max Age, or
//!   that carry this port's own Bridge and Port Identifiers, are discarded
//!   (9.3.4 a); they are counted in `rx_discarded`.
//! - restrictedRole ("root guard") is taken from 802.1Q-2014 (13.27.64,
//!   13.27.25 a): a port that has it takes no part in choosing the root
//!   and, holding a superior vector, is selected Alternate; 802.1D-2004
//!   has no such parameter.
//! - adminPointToPointMAC `Auto` means point-to-point: our ports are
//!   full-duplex links (DPDK does not report half duplex).
//! - A port with path cost `None` uses table 17-3 from the speed given in
//!   [`Event::PortUp`], or 20 000 (1 Gb/s) if unknown.
//! - The transmit machine does not run on a disabled port.
//! - The periodic BPDU (the one TRANSMIT_PERIODIC makes due: a designated
//!   port's hello, a root port's while tcWhile runs) does not count in
//!   txCount (17.19.44). txCount falls by one each tick (17.22); counting
//!   the hello as well, a port with Hello Time 1 s spends that unit again
//!   at every tick, so txCount would stay for good where a burst (start-up,
//!   a topology change) left it, and once that is TxHoldCount the BPDU of
//!   the next event (an Agreement in a failover) waits for the next tick.
//!   The hello is limited to one per Hello Time anyway; TxHoldCount still
//!   bounds every other BPDU.
//! - A BPDU that tells the neighbour something new goes out even when
//!   txCount has reached TxHoldCount (it still counts): a Proposal
//!   (DESIGNATED_PROPOSE), an Agreement (ROOT_AGREED, ALTERNATE_AGREED), or
//!   another priority vector or role than the port's last RST BPDU. Only
//!   repeats (a topology change flag, the same vector again) wait. Under a
//!   link flapping about once a second, each flap spends a few BPDUs per
//!   port round a ring and a tick gives one back, so the news of a later
//!   flap waited for the next tick while designated ports discarded:
//!   0.08-1.26 s per flap in `scenarios/26-ring8-flapping-links.json`
//!   (from the soak), and up to 1.7 s lost by a flooded flow. News is
//!   bounded without the hold: a Proposal answers a role change, an
//!   Agreement a Proposal, and a new vector a change of the vectors held;
//!   still, so that a neighbour's storm of changing BPDUs is not reflected
//!   one for one, news past the hold is itself limited to TxHoldCount per
//!   tick (txNews, cleared at each tick): a port sends at most twice
//!   TxHoldCount BPDUs in a second of storm, hellos aside.
//! - A designated port that receives inferior designated information
//!   (INFERIOR_DESIGNATED, 17.27) answers at once with its own, as news,
//!   instead of leaving it to the next hello, as 802.1D-1998's bridges
//!   answered an inferior Configuration BPDU. The neighbour has not heard
//!   this port: typically its first BPDU after the link came up arrived
//!   before the far end's daemon saw the carrier. Both ends then stay
//!   designated and discarding on that link, and when the neighbour's root
//!   port fails next its Proposal names a worse root, which the standard
//!   leaves unanswered until this port's hello: 0.4-0.9 s of a flooded
//!   flow's loss in the soak, each ending at this switch's tick.
//! - updtRolesTree (17.21.25) leaves out of the root priority vector not
//!   only a port priority vector whose Designated Bridge has this bridge's
//!   address (as the standard does) but also one whose Root Bridge has it.
//!   Such a vector names this bridge under an earlier, better priority: once
//!   a root's priority is made worse, its old vector is still held in the
//!   other bridges (on Alternate ports too) and, in a ring, goes round and
//!   round through the old root itself, which would take it as a path to a
//!   better root, until Message Age reaches Max Age (count to infinity).
//!   Every lap costs each port two or three BPDUs, so TxHoldCount is spent
//!   within a millisecond and the BPDUs that would end it (the corrected
//!   vector, proposals, agreements) wait for the next tick while designated
//!   ports discard: up to a second per hop. Refused at the old root, the
//!   stale vector dies within one lap of a ring; on loops that avoid the
//!   old root (a mesh) only Message Age still ends it (17.21.23). The port
//!   holding it gets the Alternate role (its vector is better than this
//!   bridge's designated vector) until the neighbour sends the current one.

pub mod machines;
mod port;
mod priority;

pub use port::{
    BdmState, InfoIs, PimState, PpmState, PrsState, PrtState, PrxState, PstState, PtxState,
    RcvdInfo, TcmState,
};
pub use priority::{PriorityVector, Times};

use crate::wire::{Bpdu, BridgeId, MacAddr, PortId};
use port::Port;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A port number, 1..=4095 (9.2.7: 12 bits, 0 reserved).
pub type PortNumber = u16;

/// Default Bridge Priority (17.14, table 17-2).
pub const DEFAULT_BRIDGE_PRIORITY: u16 = 32768;
/// Default Port Priority (17.14).
pub const DEFAULT_PORT_PRIORITY: u8 = 128;
/// Default Hello Time, seconds (17.14).
pub const DEFAULT_HELLO_TIME: u16 = 2;
/// Default Max Age, seconds.
pub const DEFAULT_MAX_AGE: u16 = 20;
/// Default Forward Delay, seconds.
pub const DEFAULT_FORWARD_DELAY: u16 = 15;
/// Default Transmit Hold Count.
pub const DEFAULT_TX_HOLD_COUNT: u8 = 6;
/// Migrate Time, seconds (17.14: fixed at 3).
pub const DEFAULT_MIGRATE_TIME: u16 = 3;
/// Path cost used when neither a cost nor a link speed is known (1 Gb/s).
pub const DEFAULT_PATH_COST: u32 = 20_000;

/// Port Path Cost from link speed, 802.1t / 802.1D-2004 table 17-3
/// (20 000 000 000 divided by the speed in kb/s, clamped to 1..=200 000 000).
pub fn path_cost_from_speed(speed_mbps: u32) -> u32 {
    if speed_mbps == 0 {
        return 200_000_000;
    }
    (20_000_000 / speed_mbps).clamp(1, 200_000_000)
}

/// Configuration of one bridge (17.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeConfig {
    /// The bridge address, the MAC part of the Bridge Identifier.
    pub address: MacAddr,
    /// Bridge Priority: a multiple of 4096 in 0..=61440.
    pub priority: u16,
    /// Bridge Hello Time, seconds (1..=2 in 17.14; we accept 1..=10).
    pub hello_time: u16,
    /// Bridge Max Age, seconds (6..=40).
    pub max_age: u16,
    /// Bridge Forward Delay, seconds (4..=30).
    pub forward_delay: u16,
    /// Transmit Hold Count (1..=10).
    pub tx_hold_count: u8,
    /// Force Protocol Version: 0 (STP) or 2 (RSTP).
    pub force_version: u8,
    /// Migrate Time, seconds.
    pub migrate_time: u16,
}

impl BridgeConfig {
    /// The standard's defaults for a bridge with address `address`.
    pub fn new(address: MacAddr) -> Self {
        BridgeConfig {
            address,
            priority: DEFAULT_BRIDGE_PRIORITY,
            hello_time: DEFAULT_HELLO_TIME,
            max_age: DEFAULT_MAX_AGE,
            forward_delay: DEFAULT_FORWARD_DELAY,
            tx_hold_count: DEFAULT_TX_HOLD_COUNT,
            force_version: 2,
            migrate_time: DEFAULT_MIGRATE_TIME,
        }
    }
}

impl BridgeConfig {
    /// Checks the ranges and relations of 17.14: the one place they are
    /// written (the daemon's configuration check calls it too).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.priority & 0x0FFF != 0 {
            return Err(ConfigError::BridgePriority(self.priority.into()));
        }
        let (h, m, f) = (self.hello_time, self.max_age, self.forward_delay);
        let fault = if !(1..=10).contains(&h) {
            Some(TimerFault::HelloTime)
        } else if !(6..=40).contains(&m) {
            Some(TimerFault::MaxAge)
        } else if !(4..=30).contains(&f) {
            Some(TimerFault::ForwardDelay)
        } else if 2 * (f - 1) < m || m < 2 * (h + 1) {
            Some(TimerFault::Relation)
        } else {
            None
        };
        if let Some(fault) = fault {
            return Err(ConfigError::Timers {
                hello: h,
                max_age: m,
                forward_delay: f,
                fault,
            });
        }
        if !(1..=10).contains(&self.tx_hold_count) {
            return Err(ConfigError::TxHoldCount(self.tx_hold_count));
        }
        if self.force_version != 0 && self.force_version != 2 {
            return Err(ConfigError::ForceVersion(self.force_version));
        }
        Ok(())
    }
}

/// adminPointToPointMAC (6.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminPointToPoint {
    /// Determined by the MAC; full duplex, hence point-to-point.
    #[default]
    Auto,
    /// Always point-to-point.
    ForceTrue,
    /// Never point-to-point (a shared LAN).
    ForceFalse,
}

/// Configuration of one bridge port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortConfig {
    /// Port number, 1..=4095.
    pub number: PortNumber,
    /// Port Priority: a multiple of 16 in 0..=240.
    pub priority: u8,
    /// Port Path Cost, 1..=200 000 000; `None` derives it from link speed.
    pub path_cost: Option<u32>,
    /// AdminEdgePort (17.13.1).
    pub admin_edge: bool,
    /// AutoEdgePort (17.13.3).
    pub auto_edge: bool,
    /// adminPointToPointMAC.
    pub admin_point_to_point: AdminPointToPoint,
    /// restrictedRole (802.1Q-2014 13.27.64, "root guard"): the port is
    /// never selected as Root Port, whatever it hears; a superior vector
    /// makes it an Alternate (discarding) until that information ages out.
    pub restricted_role: bool,
}

impl PortConfig {
    /// The standard's defaults for port `number`.
    pub fn new(number: PortNumber) -> Self {
        PortConfig {
            number,
            priority: DEFAULT_PORT_PRIORITY,
            path_cost: None,
            admin_edge: false,
            auto_edge: true,
            admin_point_to_point: AdminPointToPoint::Auto,
            restricted_role: false,
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Bridge priority must be a multiple of 4096 (the low 12 bits are the
    /// system ID extension).
    #[error("bridge priority {0} is not a multiple of 4096")]
    BridgePriority(u32),
    /// Port priority must be a multiple of 16, at most 240.
    #[error("port priority {0} is not a multiple of 16 in 0..=240")]
    PortPriority(u16),
    /// Port number must be 1..=4095.
    #[error("port number {0} is not in 1..=4095")]
    PortNumber(u16),
    /// The port number is already used on this bridge.
    #[error("port {0} already exists")]
    DuplicatePort(u16),
    /// No such port on this bridge.
    #[error("no port {0}")]
    NoSuchPort(u16),
    /// Path cost must be 1..=200 000 000.
    #[error("path cost {0} is not in 1..=200000000")]
    PathCost(u32),
    /// A timer is out of its range or violates 2·(FwdDelay−1) ≥ MaxAge ≥ 2·(Hello+1) (17.14).
    #[error(
        "bridge timers hello {hello} max-age {max_age} forward-delay {forward_delay} violate 17.14"
    )]
    Timers {
        /// Hello Time.
        hello: u16,
        /// Max Age.
        max_age: u16,
        /// Forward Delay.
        forward_delay: u16,
        /// Which rule of 17.14 they break.
        fault: TimerFault,
    },
    /// Transmit hold count must be 1..=10.
    #[error("transmit hold count {0} is not in 1..=10")]
    TxHoldCount(u8),
    /// Force protocol version must be 0 (STP) or 2 (RSTP).
    #[error("force protocol version {0} is not 0 or 2")]
    ForceVersion(u8),
}

/// Which of the timer rules of 17.14 a configuration breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerFault {
    /// Hello Time outside 1..=10 s (17.14 says 1..=2; we accept up to 10).
    HelloTime,
    /// Max Age outside 6..=40 s.
    MaxAge,
    /// Forward Delay outside 4..=30 s.
    ForwardDelay,
    /// Each is in range, but 2·(Forward Delay − 1) ≥ Max Age ≥
    /// 2·(Hello Time + 1) does not hold.
    Relation,
}

/// Something that happened to the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Time passed; send it when [`Bridge::poll_timeout`] says so (any
    /// later time is fine: missed seconds are ticked at once).
    Tick,
    /// A valid BPDU arrived on `port` (decode it with
    /// [`crate::wire::decode_bpdu_frame`]).
    BpduReceived {
        /// Receiving port.
        port: PortNumber,
        /// The BPDU.
        bpdu: Bpdu,
    },
    /// The port's MAC became operational.
    PortUp {
        /// The port.
        port: PortNumber,
        /// Link speed, for the path cost when it is not configured.
        speed_mbps: Option<u32>,
    },
    /// The port's MAC stopped being operational (or it was disabled).
    PortDown {
        /// The port.
        port: PortNumber,
    },
    /// Change the Bridge Priority (multiple of 4096).
    SetBridgePriority(u16),
    /// Change Bridge Hello Time, Max Age and Forward Delay (seconds, the
    /// ranges and relation of 17.14). A root bridge sends the new times at
    /// once; a non-root bridge keeps relaying its root's, as 17.13 has it.
    SetBridgeTimes {
        /// Bridge Hello Time.
        hello_time: u16,
        /// Bridge Max Age.
        max_age: u16,
        /// Bridge Forward Delay.
        forward_delay: u16,
    },
    /// Change a port's path cost (`None`: from link speed).
    SetPortPathCost {
        /// The port.
        port: PortNumber,
        /// New cost.
        cost: Option<u32>,
    },
    /// Change a port's priority (multiple of 16).
    SetPortPriority {
        /// The port.
        port: PortNumber,
        /// New priority.
        priority: u8,
    },
    /// Change AdminEdgePort. As in 17.25, an enabled port enters or leaves
    /// the EDGE state on its next PortDown/PortUp (or, for auto-edge, by
    /// the Bridge Detection machine's own rules).
    SetAdminEdge {
        /// The port.
        port: PortNumber,
        /// New value.
        admin_edge: bool,
    },
    /// Change AutoEdgePort.
    SetAutoEdge {
        /// The port.
        port: PortNumber,
        /// New value.
        auto_edge: bool,
    },
    /// Force the port to try RSTP again (mcheck, 17.19.13).
    McheckRequest {
        /// The port.
        port: PortNumber,
    },
    /// Age out, now, the received information of every port whose port
    /// priority vector names this root bridge address: rcvdInfoWhile
    /// becomes 0, as if Max Age had passed, so the Port Information
    /// machine goes AGED and roles are reselected (17.27). Sent by the
    /// node when the link-state view shows that root is unreachable.
    AgeRootInformation {
        /// The root bridge's address.
        root: MacAddr,
    },
}

/// Port roles (17.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortRole {
    /// RootPort.
    Root,
    /// DesignatedPort.
    Designated,
    /// AlternatePort.
    Alternate,
    /// BackupPort.
    Backup,
    /// DisabledPort.
    Disabled,
}

/// Port states as the data path sees them (17.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortState {
    /// Neither learning nor forwarding.
    Discarding,
    /// Learning, not forwarding.
    Learning,
    /// Learning and forwarding.
    Forwarding,
}

/// What the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send `bpdu` on `port` (encode it with
    /// [`crate::wire::encode_bpdu_frame`] and the port's MAC).
    Transmit {
        /// The port.
        port: PortNumber,
        /// What to send.
        bpdu: Bpdu,
    },
    /// Set the port's learning and forwarding in the data path (17.30).
    SetPortState {
        /// The port.
        port: PortNumber,
        /// Learn source addresses.
        learning: bool,
        /// Forward frames.
        forwarding: bool,
    },
    /// Remove the port's learned FDB entries (fdbFlush, 17.19.7).
    FlushFdb {
        /// The port.
        port: PortNumber,
    },
    /// This bridge detected a topology change on `port` (TCM DETECTED).
    TopologyChange {
        /// The port whose transition to forwarding caused it.
        port: PortNumber,
    },
    /// A port's role changed.
    RoleChanged {
        /// The port.
        port: PortNumber,
        /// The new role.
        role: PortRole,
    },
}

/// Protocol spoken on a port (sendRSTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtocolInUse {
    /// Configuration and TCN BPDUs.
    Stp,
    /// RST BPDUs.
    Rstp,
}

/// BPDU counters of one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PortCounters {
    /// Configuration BPDUs received.
    pub rx_config: u64,
    /// TCN BPDUs received.
    pub rx_tcn: u64,
    /// RST BPDUs received.
    pub rx_rst: u64,
    /// BPDUs received but discarded (port down, 9.3.4 a).
    pub rx_discarded: u64,
    /// Configuration BPDUs sent.
    pub tx_config: u64,
    /// TCN BPDUs sent.
    pub tx_tcn: u64,
    /// RST BPDUs sent.
    pub tx_rst: u64,
}

/// One port as `show stp` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortStatus {
    /// Port number.
    pub port: PortNumber,
    /// Port Identifier.
    pub port_id: PortId,
    /// Whether the port is enabled (portEnabled).
    pub enabled: bool,
    /// Role.
    pub role: PortRole,
    /// State.
    pub state: PortState,
    /// Port Path Cost in use.
    pub path_cost: u32,
    /// Root of the port priority vector.
    pub designated_root: BridgeId,
    /// Root path cost of the port priority vector.
    pub designated_cost: u32,
    /// Designated bridge of the port priority vector.
    pub designated_bridge: BridgeId,
    /// Designated port of the port priority vector.
    pub designated_port: PortId,
    /// operEdge.
    pub edge: bool,
    /// operPointToPointMAC.
    pub point_to_point: bool,
    /// sendRSTP.
    pub protocol: ProtocolInUse,
    /// BPDU counters.
    pub counters: PortCounters,
    /// A restrictedRole port holding a vector better than the root the
    /// bridge chose: it would be Root Port and is held Alternate instead
    /// ("root inconsistent").
    pub root_inconsistent: bool,
}

/// The bridge as `show stp` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BridgeStatus {
    /// This bridge's identifier.
    pub bridge_id: BridgeId,
    /// Root bridge identifier.
    pub root_id: BridgeId,
    /// Root port, if this bridge is not the root.
    pub root_port: Option<PortNumber>,
    /// Root path cost.
    pub root_path_cost: u32,
    /// Times the bridge entered topology change (a tcWhile started while
    /// none was running).
    pub topology_change_count: u64,
    /// Time since the last topology change, if any (seconds in JSON).
    #[serde(serialize_with = "secs_opt")]
    pub time_since_topology_change: Option<Duration>,
    /// Whether any tcWhile is running.
    pub topology_change: bool,
    /// Root times in use (seconds).
    pub root_times: Times,
    /// Ports, by number.
    pub ports: Vec<PortStatus>,
}

/// One RSTP bridge: the per-bridge variables of 17.18 and its ports.
#[derive(Debug, Clone)]
pub struct Bridge {
    cfg: BridgeConfig,
    /// BridgeIdentifier (17.18.3).
    bridge_identifier: BridgeId,
    /// BridgePriority (17.18.4): {B : 0 : B : 0 : 0}.
    bridge_priority: PriorityVector,
    /// BridgeTimes (17.18.5).
    bridge_times: Times,
    /// rootPortId (17.18.6).
    root_port_id: PortId,
    /// rootPriority (17.18.7).
    root_priority: PriorityVector,
    /// rootTimes (17.18.8).
    root_times: Times,
    prs: PrsState,
    ports: Vec<Port>,
    now: Duration,
    next_tick: Option<Duration>,
    tc_count: u64,
    last_tc: Option<Duration>,
    pending: Vec<Action>,
}

/// Bound on state-machine passes per event: a safety net against a
/// livelock bug, far above what any event needs.
const MAX_PASSES: usize = 1000;

impl Bridge {
    /// Creates a bridge with no ports.
    pub fn new(cfg: BridgeConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let (m, f, h) = (cfg.max_age, cfg.forward_delay, cfg.hello_time);
        let id = BridgeId::new(cfg.priority, cfg.address);
        let bridge_priority = PriorityVector {
            root_bridge_id: id,
            root_path_cost: 0,
            designated_bridge_id: id,
            designated_port_id: PortId(0),
            bridge_port_id: PortId(0),
        };
        let bridge_times = Times {
            message_age: 0,
            max_age: m,
            forward_delay: f,
            hello_time: h,
        };
        Ok(Bridge {
            cfg,
            bridge_identifier: id,
            bridge_priority,
            bridge_times,
            root_port_id: PortId(0),
            root_priority: bridge_priority,
            root_times: bridge_times,
            prs: PrsState::InitBridge,
            ports: Vec::new(),
            now: Duration::ZERO,
            next_tick: None,
            tc_count: 0,
            last_tc: None,
            pending: Vec::new(),
        })
    }

    /// The bridge's configuration as currently in force.
    pub fn config(&self) -> &BridgeConfig {
        &self.cfg
    }

    /// The configuration of every port, by number.
    pub fn port_configs(&self) -> Vec<PortConfig> {
        self.ports.iter().map(|p| p.cfg).collect()
    }

    /// Adds a port (disabled until [`Event::PortUp`]).
    pub fn add_port(&mut self, cfg: PortConfig) -> Result<PortNumber, ConfigError> {
        if !(1..=4095).contains(&cfg.number) {
            return Err(ConfigError::PortNumber(cfg.number));
        }
        check_port_priority(cfg.priority)?;
        if let Some(c) = cfg.path_cost {
            check_path_cost(c)?;
        }
        if self.ports.iter().any(|p| p.cfg.number == cfg.number) {
            return Err(ConfigError::DuplicatePort(cfg.number));
        }
        let port = Port::new(cfg, self.bridge_times, self.cfg.migrate_time);
        let idx = self.ports.partition_point(|p| p.cfg.number < cfg.number);
        self.ports.insert(idx, port);
        self.begin_port(idx);
        self.run();
        Ok(cfg.number)
    }

    /// Removes a port; its machines stop and the others reselect.
    pub fn remove_port(&mut self, port: PortNumber) -> Result<(), ConfigError> {
        let i = self.index(port)?;
        self.ports.remove(i);
        for p in &mut self.ports {
            p.reselect = true;
            p.selected = false;
        }
        self.run();
        Ok(())
    }

    /// Processes one event at time `now` (any monotonic clock, as a
    /// duration since an arbitrary epoch) and appends the resulting actions
    /// to `out`. Configuration errors in events are ignored (the daemon
    /// validates them beforehand with the same rules as `add_port`).
    pub fn handle(&mut self, now: Duration, event: Event, out: &mut Vec<Action>) {
        let _ = self.try_handle(now, event, out);
    }

    /// As [`Bridge::handle`], but reports an invalid setting or port.
    pub fn try_handle(
        &mut self,
        now: Duration,
        event: Event,
        out: &mut Vec<Action>,
    ) -> Result<(), ConfigError> {
        self.now = now;
        if self.next_tick.is_none() {
            self.next_tick = Some(now + Duration::from_secs(1));
        }
        let r = self.apply(event);
        self.run();
        out.append(&mut self.pending);
        r
    }

    fn apply(&mut self, event: Event) -> Result<(), ConfigError> {
        match event {
            Event::Tick => {
                // Tick each whole second that has passed (PTI, 17.22);
                // after a long stall, at most Max Age + Forward Delay
                // ticks matter, later ones would find every timer at zero.
                let mut n = 0u32;
                while let Some(t) = self.next_tick {
                    if t > self.now {
                        break;
                    }
                    self.next_tick = Some(t + Duration::from_secs(1));
                    if n < 64 {
                        for i in 0..self.ports.len() {
                            self.port_timers(i);
                        }
                        self.run();
                    }
                    n += 1;
                }
            }
            Event::BpduReceived { port, bpdu } => {
                let i = self.index(port)?;
                self.receive_bpdu(i, bpdu);
            }
            Event::PortUp { port, speed_mbps } => {
                let i = self.index(port)?;
                let p = &mut self.ports[i];
                p.speed_mbps = speed_mbps;
                p.update_path_cost();
                p.port_enabled = true;
                p.reselect = true;
                p.selected = false;
            }
            Event::PortDown { port } => {
                let i = self.index(port)?;
                self.ports[i].port_enabled = false;
            }
            Event::SetBridgePriority(prio) => {
                if prio & 0x0FFF != 0 {
                    return Err(ConfigError::BridgePriority(prio.into()));
                }
                self.cfg.priority = prio;
                let id = BridgeId::new(prio, self.cfg.address);
                self.bridge_identifier = id;
                self.bridge_priority.root_bridge_id = id;
                self.bridge_priority.designated_bridge_id = id;
                self.reselect_all();
            }
            Event::SetBridgeTimes {
                hello_time,
                max_age,
                forward_delay,
            } => {
                let cfg = BridgeConfig {
                    hello_time,
                    max_age,
                    forward_delay,
                    ..self.cfg
                };
                cfg.validate()?;
                self.cfg = cfg;
                self.bridge_times.hello_time = hello_time;
                self.bridge_times.max_age = max_age;
                self.bridge_times.forward_delay = forward_delay;
                self.reselect_all();
            }
            Event::SetPortPathCost { port, cost } => {
                let i = self.index(port)?;
                if let Some(c) = cost {
                    check_path_cost(c)?;
                }
                let p = &mut self.ports[i];
                p.cfg.path_cost = cost;
                p.update_path_cost();
                self.reselect_all();
            }
            Event::SetPortPriority { port, priority } => {
                let i = self.index(port)?;
                check_port_priority(priority)?;
                let p = &mut self.ports[i];
                p.cfg.priority = priority;
                p.port_id = PortId::new(priority, p.cfg.number);
                self.reselect_all();
            }
            Event::SetAdminEdge { port, admin_edge } => {
                let i = self.index(port)?;
                self.ports[i].cfg.admin_edge = admin_edge;
            }
            Event::SetAutoEdge { port, auto_edge } => {
                let i = self.index(port)?;
                self.ports[i].cfg.auto_edge = auto_edge;
            }
            Event::McheckRequest { port } => {
                let i = self.index(port)?;
                if self.rstp_version() {
                    self.ports[i].mcheck = true;
                }
            }
            Event::AgeRootInformation { root } => {
                for p in &mut self.ports {
                    if p.info_is == InfoIs::Received && p.port_priority.root_bridge_id.mac == root {
                        p.rcvd_info_while = 0;
                    }
                }
            }
        }
        Ok(())
    }

    /// When the bridge next needs [`Event::Tick`]: the next whole second
    /// of its 1 s timer tick (17.22). `None` before the first event.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.next_tick
    }

    /// The bridge's current state, for `show stp` and for tests.
    pub fn status(&self) -> BridgeStatus {
        let root_port = self
            .ports
            .iter()
            .find(|p| p.role == PortRole::Root)
            .map(|p| p.cfg.number);
        BridgeStatus {
            bridge_id: self.bridge_identifier,
            root_id: self.root_priority.root_bridge_id,
            root_port,
            root_path_cost: self.root_priority.root_path_cost,
            topology_change_count: self.tc_count,
            time_since_topology_change: self.last_tc.map(|t| self.now.saturating_sub(t)),
            topology_change: self.ports.iter().any(|p| p.tc_while != 0),
            root_times: self.root_times,
            ports: self
                .ports
                .iter()
                .map(|p| PortStatus {
                    port: p.cfg.number,
                    port_id: p.port_id,
                    enabled: p.port_enabled,
                    role: p.role,
                    state: match (p.learning, p.forwarding) {
                        (_, true) => PortState::Forwarding,
                        (true, false) => PortState::Learning,
                        _ => PortState::Discarding,
                    },
                    path_cost: p.port_path_cost,
                    designated_root: p.port_priority.root_bridge_id,
                    designated_cost: p.port_priority.root_path_cost,
                    designated_bridge: p.port_priority.designated_bridge_id,
                    designated_port: p.port_priority.designated_port_id,
                    edge: p.oper_edge,
                    point_to_point: p.oper_point_to_point_mac,
                    protocol: if p.send_rstp {
                        ProtocolInUse::Rstp
                    } else {
                        ProtocolInUse::Stp
                    },
                    counters: p.counters,
                    root_inconsistent: p.root_inconsistent,
                })
                .collect(),
        }
    }

    fn index(&self, port: PortNumber) -> Result<usize, ConfigError> {
        self.ports
            .binary_search_by_key(&port, |p| p.cfg.number)
            .map_err(|_| ConfigError::NoSuchPort(port))
    }

    fn reselect_all(&mut self) {
        for p in &mut self.ports {
            p.reselect = true;
            p.selected = false;
        }
    }

    /// Runs every machine until none makes a transition: the standard's
    /// machines are concurrent, and this reaches the same fixed point.
    /// PTX runs only once the others have settled, so that one event sends
    /// one BPDU carrying its final content rather than a burst of
    /// intermediate ones that would use up the transmit hold count.
    fn run(&mut self) {
        for _ in 0..MAX_PASSES {
            self.settle();
            let mut changed = false;
            for i in 0..self.ports.len() {
                changed |= self.port_transmit(i);
            }
            if !changed {
                // A hello that could not leave with its tick (not selected
                // yet) counts in txCount when it does leave.
                for p in &mut self.ports {
                    p.tx_periodic = false;
                }
                return;
            }
        }
        debug_assert!(false, "state machines did not settle");
    }

    /// Runs every machine but PTX to a fixed point.
    fn settle(&mut self) {
        for _ in 0..MAX_PASSES {
            let mut changed = false;
            // Per port, PRX, PPM, BDM and PIM settle before PRS looks: a
            // received message is fully recorded (or aged at once, when
            // its Message Age is spent) before roles are computed.
            for i in 0..self.ports.len() {
                for _ in 0..MAX_PASSES {
                    let c = self.port_receive(i)
                        | self.port_protocol_migration(i)
                        | self.bridge_detection(i)
                        | self.port_information(i);
                    if !c {
                        break;
                    }
                    changed = true;
                }
            }
            changed |= self.port_role_selection();
            for i in 0..self.ports.len() {
                changed |= self.port_role_transitions(i);
                changed |= self.port_state_transition(i);
                changed |= self.topology_change(i);
            }
            if !changed {
                return;
            }
        }
        debug_assert!(false, "state machines did not settle");
    }
}

fn secs_opt<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// Checks a Port Priority (a multiple of 16, at most 240).
pub fn check_port_priority(p: u8) -> Result<(), ConfigError> {
    if p & 0x0F != 0 || p > 240 {
        return Err(ConfigError::PortPriority(p.into()));
    }
    Ok(())
}

/// Checks a Port Path Cost (1..=200 000 000).
pub fn check_path_cost(c: u32) -> Result<(), ConfigError> {
    if !(1..=200_000_000).contains(&c) {
        return Err(ConfigError::PathCost(c));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
