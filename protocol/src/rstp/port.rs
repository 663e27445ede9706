//! Per-port variables (17.19), timers (17.17) and machine states.

use super::{
    path_cost_from_speed, AdminPointToPoint, PortConfig, PortCounters, PortRole, PriorityVector,
    Times, DEFAULT_PATH_COST,
};
use crate::wire::{Bpdu, PortId};

/// infoIs (17.19.10): where the port priority vector came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoIs {
    /// From a received BPDU.
    Received,
    /// From this bridge (designatedPriority).
    Mine,
    /// Received information that aged out.
    Aged,
    /// Port disabled.
    Disabled,
}

/// rcvdInfo (17.19.29): the classification made by rcvInfo().
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RcvdInfo {
    /// SuperiorDesignatedInfo.
    SuperiorDesignatedInfo,
    /// RepeatedDesignatedInfo.
    RepeatedDesignatedInfo,
    /// InferiorDesignatedInfo.
    InferiorDesignatedInfo,
    /// InferiorRootAlternateInfo.
    InferiorRootAlternateInfo,
    /// OtherInfo.
    OtherInfo,
}

/// Port Information machine states (17.27).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PimState {
    Disabled,
    Aged,
    Update,
    Current,
    Receive,
    SuperiorDesignated,
    RepeatedDesignated,
    InferiorDesignated,
    NotDesignated,
    Other,
}

/// Port Role Selection machine states (17.28).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrsState {
    InitBridge,
    RoleSelection,
}

/// Port Role Transitions machine states (17.29).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrtState {
    InitPort,
    DisablePort,
    DisabledPort,
    RootPort,
    RootProposed,
    RootAgreed,
    Reroot,
    RootForward,
    RootLearn,
    Rerooted,
    DesignatedPort,
    DesignatedPropose,
    DesignatedSynced,
    DesignatedRetired,
    DesignatedDiscard,
    DesignatedLearn,
    DesignatedForward,
    BlockPort,
    AlternatePort,
    AlternateProposed,
    AlternateAgreed,
    BackupPort,
}

/// Port State Transition machine states (17.30).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PstState {
    Discarding,
    Learning,
    Forwarding,
}

/// Topology Change machine states (17.31).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcmState {
    Inactive,
    Learning,
    Detected,
    Active,
    NotifiedTcn,
    NotifiedTc,
    Propagating,
    Acknowledged,
}

/// Port Protocol Migration machine states (17.24).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PpmState {
    CheckingRstp,
    SelectingStp,
    Sensing,
}

/// Port Transmit machine states (17.26).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PtxState {
    TransmitInit,
    TransmitPeriodic,
    TransmitConfig,
    TransmitTcn,
    TransmitRstp,
    Idle,
}

/// Port Receive machine states (17.23).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrxState {
    Discard,
    Receive,
}

/// Bridge Detection machine states (17.25).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BdmState {
    Edge,
    NotEdge,
}

/// One bridge port: configuration, the variables of 17.19 under their
/// standard names, the timers of 17.17, and the state of each machine.
#[derive(Debug, Clone)]
pub(crate) struct Port {
    pub cfg: PortConfig,
    pub speed_mbps: Option<u32>,
    /// portId (17.19.19).
    pub port_id: PortId,
    /// PortPathCost (17.19.20).
    pub port_path_cost: u32,
    /// operPointToPointMAC (6.4.3).
    pub oper_point_to_point_mac: bool,

    pub agree: bool,
    pub agreed: bool,
    pub designated_priority: PriorityVector,
    pub designated_times: Times,
    pub disputed: bool,
    pub fdb_flush: bool,
    pub forward: bool,
    pub forwarding: bool,
    pub info_is: InfoIs,
    pub learn: bool,
    pub learning: bool,
    pub mcheck: bool,
    pub msg_priority: PriorityVector,
    pub msg_times: Times,
    pub new_info: bool,
    pub oper_edge: bool,
    pub port_enabled: bool,
    pub port_priority: PriorityVector,
    pub port_times: Times,
    pub proposed: bool,
    pub proposing: bool,
    pub rcvd_bpdu: bool,
    pub rcvd_info: RcvdInfo,
    pub rcvd_msg: bool,
    pub rcvd_rstp: bool,
    pub rcvd_stp: bool,
    pub rcvd_tc: bool,
    pub rcvd_tc_ack: bool,
    pub rcvd_tcn: bool,
    pub re_root: bool,
    pub reselect: bool,
    pub role: PortRole,
    pub selected: bool,
    pub selected_role: PortRole,
    pub send_rstp: bool,
    pub sync: bool,
    pub synced: bool,
    pub tc_ack: bool,
    pub tc_prop: bool,
    pub tx_count: u8,
    /// Not of the standard: TRANSMIT_PERIODIC made the next BPDU due (a
    /// designated port's hello, or a root port's while tcWhile runs), so
    /// that BPDU does not count in txCount. See the module docs.
    pub tx_periodic: bool,
    /// Not of the standard: the BPDU now due answers the neighbour, with
    /// a Proposal (DESIGNATED_PROPOSE), an Agreement (ROOT_AGREED,
    /// ALTERNATE_AGREED) or this designated port's better information
    /// (INFERIOR_DESIGNATED), so it is news even when its vector is not
    /// new. See the module docs.
    pub tx_answer: bool,
    /// Not of the standard: the priority vector and role of the last RST
    /// BPDU sent here; a BPDU that would change either is news, and goes
    /// out past TxHoldCount like an answer.
    pub tx_last: Option<(PriorityVector, PortRole)>,
    /// Not of the standard: news sent past TxHoldCount since the last
    /// tick; at most TxHoldCount a second, so a neighbour's storm of
    /// changing BPDUs is not reflected one for one.
    pub tx_news: u8,
    pub updt_info: bool,

    // Timers (17.17), whole seconds.
    pub edge_delay_while: u16,
    pub fd_while: u16,
    pub hello_when: u16,
    pub mdelay_while: u16,
    pub rb_while: u16,
    pub rcvd_info_while: u16,
    pub rr_while: u16,
    pub tc_while: u16,

    /// The BPDU that set rcvdBpdu, held until PIM's rcvInfo() reads it.
    pub rx: Option<Bpdu>,

    pub pim: PimState,
    pub prt: PrtState,
    pub pst: PstState,
    pub tcm: TcmState,
    pub ppm: PpmState,
    pub ptx: PtxState,
    pub prx: PrxState,
    pub bdm: BdmState,

    pub counters: PortCounters,
    /// restrictedRole kept this port from Root Port at the last role
    /// selection (see [`super::PortStatus::root_inconsistent`]).
    pub root_inconsistent: bool,
}

impl Port {
    /// The root path priority vector through this port (17.6): its port
    /// priority vector with the port's path cost added.
    pub fn root_path_priority(&self) -> PriorityVector {
        let mut v = self.port_priority;
        v.root_path_cost = v.root_path_cost.saturating_add(self.port_path_cost);
        v
    }

    /// Whether the BPDU now due tells the neighbour something it has not
    /// heard: a Proposal or Agreement, or another vector or role than the
    /// last RST BPDU. Such a BPDU is not held by TxHoldCount (module docs).
    pub fn tx_is_news(&self) -> bool {
        self.tx_answer || self.tx_last != Some((self.designated_priority, self.role))
    }

    pub fn new(cfg: PortConfig, bridge_times: Times, migrate_time: u16) -> Self {
        let mut p = Port {
            cfg,
            speed_mbps: None,
            port_id: PortId::new(cfg.priority, cfg.number),
            port_path_cost: DEFAULT_PATH_COST,
            oper_point_to_point_mac: cfg.admin_point_to_point != AdminPointToPoint::ForceFalse,
            agree: false,
            agreed: false,
            designated_priority: PriorityVector::default(),
            designated_times: bridge_times,
            disputed: false,
            fdb_flush: false,
            forward: false,
            forwarding: false,
            info_is: InfoIs::Disabled,
            learn: false,
            learning: false,
            mcheck: false,
            msg_priority: PriorityVector::default(),
            msg_times: Times::default(),
            new_info: false,
            oper_edge: false,
            port_enabled: false,
            port_priority: PriorityVector::default(),
            port_times: bridge_times,
            proposed: false,
            proposing: false,
            rcvd_bpdu: false,
            rcvd_info: RcvdInfo::OtherInfo,
            rcvd_msg: false,
            rcvd_rstp: false,
            rcvd_stp: false,
            rcvd_tc: false,
            rcvd_tc_ack: false,
            rcvd_tcn: false,
            re_root: false,
            reselect: false,
            role: PortRole::Disabled,
            selected: false,
            selected_role: PortRole::Disabled,
            send_rstp: false,
            sync: false,
            synced: false,
            tc_ack: false,
            tc_prop: false,
            tx_count: 0,
            tx_periodic: false,
            tx_answer: false,
            tx_last: None,
            tx_news: 0,
            updt_info: false,
            edge_delay_while: migrate_time,
            fd_while: 0,
            hello_when: 0,
            mdelay_while: 0,
            rb_while: 0,
            rcvd_info_while: 0,
            rr_while: 0,
            tc_while: 0,
            rx: None,
            pim: PimState::Disabled,
            prt: PrtState::InitPort,
            pst: PstState::Discarding,
            tcm: TcmState::Inactive,
            ppm: PpmState::CheckingRstp,
            ptx: PtxState::TransmitInit,
            prx: PrxState::Discard,
            bdm: BdmState::NotEdge,
            counters: PortCounters::default(),
            root_inconsistent: false,
        };
        p.update_path_cost();
        p
    }

    /// PortPathCost from configuration, else from link speed (table 17-3).
    pub fn update_path_cost(&mut self) {
        self.port_path_cost = self
            .cfg
            .path_cost
            .or(self.speed_mbps.map(path_cost_from_speed))
            .unwrap_or(DEFAULT_PATH_COST);
    }
}
