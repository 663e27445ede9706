//! The state machines of 802.1D-2004 clause 17, one function per machine,
//! named after it, with the standard's state names (as enum variants) and
//! variable names (in snake case). Each function evaluates the exits of the
//! current state once and returns whether it made a transition; the
//! caller runs all machines until none does. Entry actions live in the
//! `enter_*` functions, the procedures of 17.21 in functions of the same
//! name. Per 17.29 and 17.26, every non-UCT transition of PRT and PTX is
//! qualified by `selected && !updtInfo`.

// Conditions are written as the standard writes them, not as clippy would
// simplify them, so that they can be checked against the text.
#![allow(clippy::nonminimal_bool, clippy::int_plus_one)]

use super::port::{
    BdmState, InfoIs, PimState, PpmState, PrsState, PrtState, PrxState, PstState, PtxState,
    RcvdInfo, TcmState,
};
use super::{Action, Bridge, PortRole, PriorityVector, Times};
use crate::wire::{Bpdu, BpduBody, BpduTime, Flags, PortRoleFlag, PriorityBpdu};

impl Bridge {
    // ----- 17.20 conditions and parameters -------------------------------

    /// rstpVersion (17.20.11).
    pub(crate) fn rstp_version(&self) -> bool {
        self.cfg.force_version >= 2
    }
    /// stpVersion (17.20.12).
    fn stp_version(&self) -> bool {
        self.cfg.force_version < 2
    }
    /// MigrateTime (17.20.9, 17.13.9).
    fn migrate_time(&self) -> u16 {
        self.cfg.migrate_time
    }
    /// FwdDelay (17.20.7): designatedTimes' Forward Delay.
    fn fwd_delay(&self, i: usize) -> u16 {
        self.ports[i].designated_times.forward_delay
    }
    /// HelloTime (17.20.8): designatedTimes' Hello Time.
    fn hello_time(&self, i: usize) -> u16 {
        self.ports[i].designated_times.hello_time
    }
    /// MaxAge (17.20.10): designatedTimes' Max Age.
    fn max_age(&self, i: usize) -> u16 {
        self.ports[i].designated_times.max_age
    }
    /// forwardDelay (17.20.6): HelloTime if sendRSTP, else FwdDelay.
    fn forward_delay(&self, i: usize) -> u16 {
        if self.ports[i].send_rstp {
            self.hello_time(i)
        } else {
            self.fwd_delay(i)
        }
    }
    /// EdgeDelay (17.20.4): MigrateTime on point-to-point links, else MaxAge.
    fn edge_delay(&self, i: usize) -> u16 {
        if self.ports[i].oper_point_to_point_mac {
            self.migrate_time()
        } else {
            self.max_age(i)
        }
    }
    /// allSynced (17.20.3). The Root Port itself does not need to be
    /// synced: 802.1D-2004 has no ROOT_SYNCED state to set it.
    fn all_synced(&self) -> bool {
        self.ports.iter().all(|p| {
            p.selected
                && p.role == p.selected_role
                && !p.updt_info
                && (p.synced || p.role == PortRole::Root)
        })
    }
    /// reRooted (17.20.10): rrWhile is zero on every other port.
    fn re_rooted(&self, i: usize) -> bool {
        self.ports
            .iter()
            .enumerate()
            .all(|(j, p)| j == i || p.rr_while == 0)
    }

    // ----- 17.21 procedures ---------------------------------------------

    /// betterorsameInfo (17.21.1).
    fn betterorsame_info(&self, i: usize, new_info_is: InfoIs) -> bool {
        let p = &self.ports[i];
        match new_info_is {
            InfoIs::Received => {
                p.info_is == InfoIs::Received && p.msg_priority.better_or_same(&p.port_priority)
            }
            InfoIs::Mine => {
                p.info_is == InfoIs::Mine && p.designated_priority.better_or_same(&p.port_priority)
            }
            _ => false,
        }
    }
    /// clearReselectTree (17.21.2).
    fn clear_reselect_tree(&mut self) {
        for p in &mut self.ports {
            p.reselect = false;
        }
    }
    /// newTcWhile (17.21.7). Also counts topology changes for `status`.
    fn new_tc_while(&mut self, i: usize) {
        if self.ports[i].tc_while != 0 {
            return;
        }
        if !self.ports.iter().any(|p| p.tc_while != 0) {
            self.tc_count += 1;
            self.last_tc = Some(self.now);
        }
        let hello = self.hello_time(i);
        let root_times = self.root_times;
        let p = &mut self.ports[i];
        if p.send_rstp {
            p.tc_while = hello + 1;
            p.new_info = true;
        } else {
            p.tc_while = root_times.max_age + root_times.forward_delay;
        }
    }

    /// The fields of the received Config/RST BPDU, and whether its role is
    /// Designated; None for a TCN.
    fn rcvd_fields(&self, i: usize) -> Option<(PriorityBpdu, PortRoleFlag, bool)> {
        let b = self.ports[i].rx?;
        match b.body {
            BpduBody::Tcn => None,
            BpduBody::Config(f) => Some((f, PortRoleFlag::Designated, false)),
            // With ForceProtocolVersion < 2 an RST BPDU is read as a Config BPDU.
            BpduBody::Rst(f) if self.stp_version() => Some((f, PortRoleFlag::Designated, false)),
            BpduBody::Rst(f) => Some((f, f.flags.role(), true)),
        }
    }

    /// rcvInfo (17.21.8): records msgPriority and msgTimes and classifies.
    fn rcv_info(&mut self, i: usize) -> RcvdInfo {
        let Some((f, role, _)) = self.rcvd_fields(i) else {
            return RcvdInfo::OtherInfo;
        };
        let p = &mut self.ports[i];
        p.msg_priority = PriorityVector {
            root_bridge_id: f.root_id,
            root_path_cost: f.root_path_cost,
            designated_bridge_id: f.bridge_id,
            designated_port_id: f.port_id,
            bridge_port_id: p.port_id,
        };
        p.msg_times = Times {
            message_age: f.message_age.to_secs_rounded(),
            max_age: f.max_age.to_secs_rounded(),
            forward_delay: f.forward_delay.to_secs_rounded(),
            hello_time: f.hello_time.to_secs_rounded(),
        };
        let (msg, port) = (p.msg_priority, p.port_priority);
        match role {
            PortRoleFlag::Designated => {
                if msg.superior_to(&port) || (msg == port && p.msg_times != p.port_times) {
                    RcvdInfo::SuperiorDesignatedInfo
                } else if msg == port {
                    RcvdInfo::RepeatedDesignatedInfo
                } else {
                    RcvdInfo::InferiorDesignatedInfo
                }
            }
            PortRoleFlag::Root | PortRoleFlag::AlternateOrBackup if msg >= port => {
                RcvdInfo::InferiorRootAlternateInfo
            }
            _ => RcvdInfo::OtherInfo,
        }
    }

    /// recordAgreement (17.21.9).
    fn record_agreement(&mut self, i: usize) {
        let rstp = self.rstp_version();
        let agreement = matches!(self.rcvd_fields(i), Some((f, _, true)) if f.flags.agreement());
        let p = &mut self.ports[i];
        if rstp && p.oper_point_to_point_mac && agreement {
            p.agreed = true;
            p.proposing = false;
        } else {
            p.agreed = false;
        }
    }
    /// recordDispute (17.21.10).
    fn record_dispute(&mut self, i: usize) {
        if matches!(self.rcvd_fields(i), Some((f, _, true)) if f.flags.learning()) {
            let p = &mut self.ports[i];
            p.disputed = true;
            p.agreed = false;
        }
    }
    /// recordProposal (17.21.11).
    fn record_proposal(&mut self, i: usize) {
        if matches!(self.rcvd_fields(i),
            Some((f, PortRoleFlag::Designated, true)) if f.flags.proposal())
        {
            self.ports[i].proposed = true;
        }
    }
    /// recordPriority (17.21.12).
    fn record_priority(&mut self, i: usize) {
        let p = &mut self.ports[i];
        p.port_priority = p.msg_priority;
    }
    /// recordTimes (17.21.13). Hello Time is kept at least 1 s so that
    /// rcvdInfoWhile cannot be set to zero by a malformed BPDU.
    fn record_times(&mut self, i: usize) {
        let p = &mut self.ports[i];
        p.port_times = p.msg_times;
        p.port_times.hello_time = p.port_times.hello_time.max(1);
    }
    /// setSyncTree (17.21.14).
    fn set_sync_tree(&mut self) {
        for p in &mut self.ports {
            p.sync = true;
        }
    }
    /// setReRootTree (17.21.15).
    fn set_re_root_tree(&mut self) {
        for p in &mut self.ports {
            p.re_root = true;
        }
    }
    /// setSelectedTree (17.21.16).
    fn set_selected_tree(&mut self) {
        if self.ports.iter().any(|p| p.reselect) {
            return;
        }
        for p in &mut self.ports {
            p.selected = true;
        }
    }
    /// setTcFlags (17.21.17).
    fn set_tc_flags(&mut self, i: usize) {
        let Some(b) = self.ports[i].rx else { return };
        let p = &mut self.ports[i];
        match b.body {
            BpduBody::Config(f) | BpduBody::Rst(f) => {
                if f.flags.topology_change() {
                    p.rcvd_tc = true;
                }
                if f.flags.topology_change_ack() {
                    p.rcvd_tc_ack = true;
                }
            }
            BpduBody::Tcn => p.rcvd_tcn = true,
        }
    }
    /// setTcPropTree (17.21.18): tcProp on every port but `i`.
    fn set_tc_prop_tree(&mut self, i: usize) {
        for (j, p) in self.ports.iter_mut().enumerate() {
            if j != i {
                p.tc_prop = true;
            }
        }
    }
    /// The fields every transmitted Config or RST BPDU carries (17.21.19-20).
    fn tx_fields(&self, i: usize) -> PriorityBpdu {
        let p = &self.ports[i];
        let (d, t) = (p.designated_priority, p.designated_times);
        PriorityBpdu {
            flags: Flags::default(),
            root_id: d.root_bridge_id,
            root_path_cost: d.root_path_cost,
            bridge_id: d.designated_bridge_id,
            port_id: d.designated_port_id,
            message_age: BpduTime::from_secs(t.message_age),
            max_age: BpduTime::from_secs(t.max_age),
            hello_time: BpduTime::from_secs(t.hello_time),
            forward_delay: BpduTime::from_secs(t.forward_delay),
        }
    }
    fn transmit(&mut self, i: usize, bpdu: Bpdu) {
        let p = &mut self.ports[i];
        match bpdu.body {
            BpduBody::Config(_) => p.counters.tx_config += 1,
            BpduBody::Tcn => p.counters.tx_tcn += 1,
            BpduBody::Rst(_) => p.counters.tx_rst += 1,
        }
        let port = p.cfg.number;
        self.pending.push(Action::Transmit { port, bpdu });
    }
    /// txConfig (17.21.19).
    fn tx_config(&mut self, i: usize) {
        let mut f = self.tx_fields(i);
        let p = &self.ports[i];
        f.flags.set_topology_change(p.tc_while != 0);
        f.flags.set_topology_change_ack(p.tc_ack);
        self.transmit(i, Bpdu::config(f));
    }
    /// txRstp (17.21.20).
    fn tx_rstp(&mut self, i: usize) {
        let mut f = self.tx_fields(i);
        let p = &self.ports[i];
        f.flags.set_role(match p.role {
            PortRole::Root => PortRoleFlag::Root,
            PortRole::Designated => PortRoleFlag::Designated,
            PortRole::Alternate | PortRole::Backup => PortRoleFlag::AlternateOrBackup,
            PortRole::Disabled => PortRoleFlag::Unknown,
        });
        f.flags.set_agreement(p.agree);
        f.flags.set_proposal(p.proposing);
        f.flags.set_learning(p.learning);
        f.flags.set_forwarding(p.forwarding);
        f.flags.set_topology_change(p.tc_while != 0);
        self.transmit(i, Bpdu::rst(f));
    }
    /// txTcn (17.21.21).
    fn tx_tcn(&mut self, i: usize) {
        self.transmit(i, Bpdu::tcn());
    }
    /// updtBPDUVersion (17.21.22).
    fn updt_bpdu_version(&mut self, i: usize) {
        let p = &mut self.ports[i];
        if let Some(b) = p.rx {
            match b.body {
                BpduBody::Config(_) | BpduBody::Tcn if u8::from(b.version) < 2 => p.rcvd_stp = true,
                BpduBody::Rst(_) => p.rcvd_rstp = true,
                _ => {}
            }
        }
    }
    /// updtRcvdInfoWhile (17.21.23).
    fn updt_rcvd_info_while(&mut self, i: usize) {
        let p = &mut self.ports[i];
        let t = p.port_times;
        p.rcvd_info_while = if t.message_age + 1 <= t.max_age {
            3 * t.hello_time
        } else {
            0
        };
    }
    /// updtRoleDisabledTree (17.21.24).
    fn updt_role_disabled_tree(&mut self) {
        for p in &mut self.ports {
            p.selected_role = PortRole::Disabled;
        }
    }
    /// updtRolesTree (17.21.25).
    fn updt_roles_tree(&mut self) {
        let me = self.bridge_identifier;
        let mut root = self.bridge_priority;
        let mut root_port = None;
        for (j, p) in self.ports.iter().enumerate() {
            // Root path priority vectors only from information not sent by
            // this bridge itself (a looped-back BPDU on a shared LAN), and
            // not naming this bridge's address as root (see the module
            // docs): that is this bridge under an earlier priority, and a
            // path to it through a neighbour is stale information coming
            // back around a loop.
            if p.info_is != InfoIs::Received
                || p.port_priority.designated_bridge_id.mac == me.mac
                || p.port_priority.root_bridge_id.mac == me.mac
            {
                continue;
            }
            // restrictedRole ports take no part in choosing the root
            // (802.1Q-2014 13.27.25 a).
            if p.cfg.restricted_role {
                continue;
            }
            let v = p.root_path_priority();
            if v < root {
                root = v;
                root_port = Some(j);
            }
        }
        self.root_priority = root;
        self.root_port_id = root.bridge_port_id;
        self.root_times = match root_port {
            Some(j) => {
                let mut t = self.ports[j].port_times;
                t.message_age += 1;
                t
            }
            None => self.bridge_times,
        };
        let mut designated_times = self.root_times;
        designated_times.hello_time = self.bridge_times.hello_time;
        for (j, p) in self.ports.iter_mut().enumerate() {
            p.root_inconsistent = p.cfg.restricted_role
                && p.info_is == InfoIs::Received
                && p.root_path_priority() < root;
            p.designated_priority = PriorityVector {
                root_bridge_id: root.root_bridge_id,
                root_path_cost: root.root_path_cost,
                designated_bridge_id: me,
                designated_port_id: p.port_id,
                bridge_port_id: p.port_id,
            };
            p.designated_times = designated_times;
            match p.info_is {
                InfoIs::Disabled => p.selected_role = PortRole::Disabled,
                InfoIs::Aged => {
                    p.selected_role = PortRole::Designated;
                    p.updt_info = true;
                }
                InfoIs::Mine => {
                    p.selected_role = PortRole::Designated;
                    if p.port_priority != p.designated_priority
                        || p.port_times != p.designated_times
                    {
                        p.updt_info = true;
                    }
                }
                InfoIs::Received if Some(j) == root_port => {
                    p.selected_role = PortRole::Root;
                    p.updt_info = false;
                }
                InfoIs::Received if p.designated_priority >= p.port_priority => {
                    p.selected_role = if p.port_priority.designated_bridge_id.mac == me.mac {
                        PortRole::Backup
                    } else {
                        PortRole::Alternate
                    };
                    p.updt_info = false;
                }
                InfoIs::Received => {
                    p.selected_role = PortRole::Designated;
                    p.updt_info = true;
                }
            }
        }
    }

    // ----- BEGIN ----------------------------------------------------------

    /// Puts every machine of port `i` in its BEGIN state.
    pub(super) fn begin_port(&mut self, i: usize) {
        self.enter_prx(i, PrxState::Discard);
        self.enter_ppm(i, PpmState::CheckingRstp);
        let edge = if self.ports[i].cfg.admin_edge {
            BdmState::Edge
        } else {
            BdmState::NotEdge
        };
        self.enter_bdm(i, edge);
        self.enter_ptx(i, PtxState::TransmitInit);
        self.enter_pim(i, PimState::Disabled);
        self.enter_prt(i, PrtState::InitPort);
        self.enter_pst(i, PstState::Discarding);
        self.enter_tcm(i, TcmState::Inactive);
    }

    /// A BPDU arrived: validate per 9.3.4 a), count it, set rcvdBpdu.
    pub(super) fn receive_bpdu(&mut self, i: usize, bpdu: Bpdu) {
        let me = self.bridge_identifier;
        let p = &mut self.ports[i];
        match bpdu.body {
            BpduBody::Config(f) => {
                p.counters.rx_config += 1;
                if f.message_age >= f.max_age || (f.bridge_id == me && f.port_id == p.port_id) {
                    p.counters.rx_discarded += 1;
                    return;
                }
            }
            BpduBody::Tcn => p.counters.rx_tcn += 1,
            BpduBody::Rst(_) => p.counters.rx_rst += 1,
        }
        if !p.port_enabled {
            p.counters.rx_discarded += 1;
            return;
        }
        p.rx = Some(bpdu);
        p.rcvd_bpdu = true;
    }

    // ----- 17.22 Port Timers ----------------------------------------------

    /// Port Timers state machine (17.22): one tick decrements every timer.
    pub(super) fn port_timers(&mut self, i: usize) {
        let p = &mut self.ports[i];
        for t in [
            &mut p.hello_when,
            &mut p.tc_while,
            &mut p.fd_while,
            &mut p.rcvd_info_while,
            &mut p.rr_while,
            &mut p.rb_while,
            &mut p.mdelay_while,
            &mut p.edge_delay_while,
        ] {
            *t = t.saturating_sub(1);
        }
        p.tx_count = p.tx_count.saturating_sub(1);
        p.tx_news = 0;
    }

    // ----- 17.23 Port Receive ---------------------------------------------

    /// Port Receive state machine (17.23).
    pub(super) fn port_receive(&mut self, i: usize) -> bool {
        let mt = self.migrate_time();
        let p = &self.ports[i];
        let next = if (p.rcvd_bpdu || p.edge_delay_while != mt) && !p.port_enabled {
            PrxState::Discard
        } else {
            match p.prx {
                PrxState::Discard if p.rcvd_bpdu && p.port_enabled => PrxState::Receive,
                PrxState::Receive if p.rcvd_bpdu && p.port_enabled && !p.rcvd_msg => {
                    PrxState::Receive
                }
                _ => return false,
            }
        };
        self.enter_prx(i, next);
        true
    }

    fn enter_prx(&mut self, i: usize, s: PrxState) {
        let mt = self.migrate_time();
        self.ports[i].prx = s;
        match s {
            PrxState::Discard => {
                let p = &mut self.ports[i];
                p.rcvd_bpdu = false;
                p.rcvd_rstp = false;
                p.rcvd_stp = false;
                // clearAllRcvdMsgs()
                p.rcvd_msg = false;
                p.rx = None;
                p.edge_delay_while = mt;
            }
            PrxState::Receive => {
                self.updt_bpdu_version(i);
                let p = &mut self.ports[i];
                p.oper_edge = false;
                p.rcvd_bpdu = false;
                p.rcvd_msg = true;
                p.edge_delay_while = mt;
            }
        }
    }

    // ----- 17.24 Port Protocol Migration ----------------------------------

    /// Port Protocol Migration state machine (17.24).
    pub(super) fn port_protocol_migration(&mut self, i: usize) -> bool {
        let (mt, rstp) = (self.migrate_time(), self.rstp_version());
        let p = &self.ports[i];
        let next = match p.ppm {
            PpmState::CheckingRstp if p.mdelay_while == 0 => PpmState::Sensing,
            PpmState::CheckingRstp if p.mdelay_while != mt && !p.port_enabled => {
                PpmState::CheckingRstp
            }
            PpmState::SelectingStp if p.mdelay_while == 0 || !p.port_enabled || p.mcheck => {
                PpmState::Sensing
            }
            PpmState::Sensing
                if !p.port_enabled || p.mcheck || (rstp && !p.send_rstp && p.rcvd_rstp) =>
            {
                PpmState::CheckingRstp
            }
            PpmState::Sensing if p.send_rstp && p.rcvd_stp => PpmState::SelectingStp,
            _ => return false,
        };
        self.enter_ppm(i, next);
        true
    }

    fn enter_ppm(&mut self, i: usize, s: PpmState) {
        let (mt, rstp) = (self.migrate_time(), self.rstp_version());
        let p = &mut self.ports[i];
        p.ppm = s;
        match s {
            PpmState::CheckingRstp => {
                p.mcheck = false;
                p.send_rstp = rstp;
                p.mdelay_while = mt;
            }
            PpmState::SelectingStp => {
                p.send_rstp = false;
                p.mdelay_while = mt;
            }
            PpmState::Sensing => {
                p.rcvd_rstp = false;
                p.rcvd_stp = false;
            }
        }
    }

    // ----- 17.25 Bridge Detection -----------------------------------------

    /// Bridge Detection state machine (17.25).
    pub(super) fn bridge_detection(&mut self, i: usize) -> bool {
        let p = &self.ports[i];
        let (admin_edge, auto_edge) = (p.cfg.admin_edge, p.cfg.auto_edge);
        let next = match p.bdm {
            BdmState::Edge if (!p.port_enabled && !admin_edge) || !p.oper_edge => BdmState::NotEdge,
            BdmState::NotEdge
                if (!p.port_enabled && admin_edge)
                    || (p.edge_delay_while == 0 && auto_edge && p.send_rstp && p.proposing) =>
            {
                BdmState::Edge
            }
            _ => return false,
        };
        self.enter_bdm(i, next);
        true
    }

    fn enter_bdm(&mut self, i: usize, s: BdmState) {
        let p = &mut self.ports[i];
        p.bdm = s;
        p.oper_edge = s == BdmState::Edge;
    }

    // ----- 17.26 Port Transmit --------------------------------------------

    /// Port Transmit state machine (17.26).
    pub(super) fn port_transmit(&mut self, i: usize) -> bool {
        let hold = self.cfg.tx_hold_count;
        let p = &self.ports[i];
        if !p.port_enabled {
            // Not transmitting on a disabled port; restart when enabled.
            if p.ptx == PtxState::TransmitInit {
                return false;
            }
            self.enter_ptx(i, PtxState::TransmitInit);
            return true;
        }
        let next = match p.ptx {
            PtxState::TransmitInit
            | PtxState::TransmitPeriodic
            | PtxState::TransmitConfig
            | PtxState::TransmitTcn
            | PtxState::TransmitRstp => PtxState::Idle,
            PtxState::Idle if !(p.selected && !p.updt_info) => return false,
            PtxState::Idle if p.hello_when == 0 => PtxState::TransmitPeriodic,
            PtxState::Idle
                if p.new_info
                    && (p.tx_count < hold
                        || (p.send_rstp && p.tx_is_news() && p.tx_news < hold))
                    && p.role != PortRole::Disabled =>
            {
                if p.send_rstp {
                    PtxState::TransmitRstp
                } else if p.role == PortRole::Root {
                    PtxState::TransmitTcn
                } else if p.role == PortRole::Designated {
                    PtxState::TransmitConfig
                } else {
                    return false;
                }
            }
            _ => return false,
        };
        self.enter_ptx(i, next);
        true
    }

    fn enter_ptx(&mut self, i: usize, s: PtxState) {
        self.ports[i].ptx = s;
        match s {
            PtxState::TransmitInit => {
                let p = &mut self.ports[i];
                p.new_info = true;
                p.tx_count = 0;
                p.tx_periodic = false;
                p.tx_answer = false;
                p.tx_last = None;
                p.tx_news = 0;
            }
            PtxState::Idle => {
                self.ports[i].hello_when = self.hello_time(i);
            }
            PtxState::TransmitPeriodic => {
                let p = &mut self.ports[i];
                let periodic =
                    p.role == PortRole::Designated || (p.role == PortRole::Root && p.tc_while != 0);
                p.new_info = p.new_info || periodic;
                p.tx_periodic = periodic;
            }
            PtxState::TransmitConfig => {
                self.ports[i].new_info = false;
                self.tx_config(i);
                self.count_tx(i);
                self.ports[i].tc_ack = false;
            }
            PtxState::TransmitTcn => {
                self.ports[i].new_info = false;
                self.tx_tcn(i);
                self.count_tx(i);
            }
            PtxState::TransmitRstp => {
                let p = &mut self.ports[i];
                p.new_info = false;
                p.tx_last = Some((p.designated_priority, p.role));
                self.tx_rstp(i);
                self.count_tx(i);
                self.ports[i].tc_ack = false;
            }
        }
    }

    /// txCount += 1 (17.26), except for the BPDU TRANSMIT_PERIODIC made due:
    /// the hello is already limited to one per Hello Time, and counting it
    /// would spend the one unit each tick gives back (17.22), so that with
    /// a Hello Time of 1 s txCount would never fall again after a burst and
    /// every BPDU an event needs would wait for the next tick.
    ///
    /// Every BPDU sent carries the port's current flags and vector, so
    /// whatever goes out delivers a pending answer (`tx_answer`). News
    /// sent once txCount has reached TxHoldCount counts in txNews instead
    /// (module docs).
    fn count_tx(&mut self, i: usize) {
        let hold = self.cfg.tx_hold_count;
        let p = &mut self.ports[i];
        p.tx_answer = false;
        if p.tx_periodic {
            p.tx_periodic = false;
        } else if p.tx_count < hold {
            p.tx_count += 1;
        } else {
            p.tx_news += 1;
        }
    }

    // ----- 17.27 Port Information -----------------------------------------

    /// Port Information state machine (17.27).
    pub(super) fn port_information(&mut self, i: usize) -> bool {
        let p = &self.ports[i];
        let next = if !p.port_enabled && p.info_is != InfoIs::Disabled {
            PimState::Disabled
        } else {
            match p.pim {
                PimState::Disabled if p.rcvd_msg => PimState::Disabled,
                PimState::Disabled if p.port_enabled => PimState::Aged,
                PimState::Aged if p.selected && p.updt_info => PimState::Update,
                PimState::Update => PimState::Current,
                PimState::Current if p.selected && p.updt_info => PimState::Update,
                PimState::Current
                    if p.info_is == InfoIs::Received
                        && p.rcvd_info_while == 0
                        && !p.updt_info
                        && !p.rcvd_msg =>
                {
                    PimState::Aged
                }
                PimState::Current if p.rcvd_msg && !p.updt_info => PimState::Receive,
                PimState::Receive => match p.rcvd_info {
                    RcvdInfo::SuperiorDesignatedInfo => PimState::SuperiorDesignated,
                    RcvdInfo::RepeatedDesignatedInfo => PimState::RepeatedDesignated,
                    RcvdInfo::InferiorDesignatedInfo => PimState::InferiorDesignated,
                    RcvdInfo::InferiorRootAlternateInfo => PimState::NotDesignated,
                    RcvdInfo::OtherInfo => PimState::Other,
                },
                PimState::SuperiorDesignated
                | PimState::RepeatedDesignated
                | PimState::InferiorDesignated
                | PimState::NotDesignated
                | PimState::Other => PimState::Current,
                _ => return false,
            }
        };
        self.enter_pim(i, next);
        true
    }

    fn enter_pim(&mut self, i: usize, s: PimState) {
        self.ports[i].pim = s;
        match s {
            PimState::Disabled => {
                let p = &mut self.ports[i];
                p.rcvd_msg = false;
                p.proposing = false;
                p.proposed = false;
                p.agree = false;
                p.agreed = false;
                p.rcvd_info_while = 0;
                p.info_is = InfoIs::Disabled;
                p.reselect = true;
                p.selected = false;
            }
            PimState::Aged => {
                let p = &mut self.ports[i];
                p.info_is = InfoIs::Aged;
                p.reselect = true;
                p.selected = false;
            }
            PimState::Update => {
                let bos = self.betterorsame_info(i, InfoIs::Mine);
                let p = &mut self.ports[i];
                p.proposing = false;
                p.proposed = false;
                p.agreed = p.agreed && bos;
                p.synced = p.synced && p.agreed;
                p.port_priority = p.designated_priority;
                p.port_times = p.designated_times;
                p.updt_info = false;
                p.info_is = InfoIs::Mine;
                p.new_info = true;
            }
            PimState::Current => {}
            PimState::Receive => {
                let r = self.rcv_info(i);
                self.ports[i].rcvd_info = r;
            }
            PimState::SuperiorDesignated => {
                let p = &mut self.ports[i];
                p.agreed = false;
                p.proposing = false;
                self.record_proposal(i);
                self.set_tc_flags(i);
                let bos = self.betterorsame_info(i, InfoIs::Received);
                let p = &mut self.ports[i];
                p.agree = p.agree && bos;
                self.record_priority(i);
                self.record_times(i);
                self.updt_rcvd_info_while(i);
                let p = &mut self.ports[i];
                p.info_is = InfoIs::Received;
                p.reselect = true;
                p.selected = false;
                p.rcvd_msg = false;
            }
            PimState::RepeatedDesignated => {
                self.record_proposal(i);
                self.set_tc_flags(i);
                self.updt_rcvd_info_while(i);
                self.ports[i].rcvd_msg = false;
            }
            PimState::InferiorDesignated => {
                self.record_dispute(i);
                let p = &mut self.ports[i];
                p.rcvd_msg = false;
                // Not of the standard (module docs): a neighbour that
                // claims to be designated with worse information has not
                // heard ours; tell it now rather than at the next hello.
                if p.role == PortRole::Designated && p.info_is == InfoIs::Mine {
                    p.new_info = true;
                    p.tx_answer = true;
                }
            }
            PimState::NotDesignated => {
                self.record_agreement(i);
                self.set_tc_flags(i);
                self.ports[i].rcvd_msg = false;
            }
            PimState::Other => {
                // See the module docs: TCNs are classified OtherInfo.
                if matches!(self.ports[i].rx, Some(b) if b.body == BpduBody::Tcn) {
                    self.set_tc_flags(i);
                }
                self.ports[i].rcvd_msg = false;
            }
        }
    }

    // ----- 17.28 Port Role Selection --------------------------------------

    /// Port Role Selection state machine (17.28).
    pub(super) fn port_role_selection(&mut self) -> bool {
        match self.prs {
            PrsState::InitBridge => {
                self.updt_role_disabled_tree();
            }
            PrsState::RoleSelection if self.ports.iter().any(|p| p.reselect) => {}
            PrsState::RoleSelection => return false,
        }
        self.prs = PrsState::RoleSelection;
        self.clear_reselect_tree();
        self.updt_roles_tree();
        self.set_selected_tree();
        true
    }

    // ----- 17.29 Port Role Transitions ------------------------------------

    /// Port Role Transitions state machine (17.29), all four parts.
    pub(super) fn port_role_transitions(&mut self, i: usize) -> bool {
        use PrtState::*;
        let p = &self.ports[i];
        // Unconditional transitions.
        let uct = match p.prt {
            InitPort => Some(DisablePort),
            RootProposed | RootAgreed | Reroot | RootForward | RootLearn | Rerooted => {
                Some(RootPort)
            }
            DesignatedPropose | DesignatedSynced | DesignatedRetired | DesignatedDiscard
            | DesignatedLearn | DesignatedForward => Some(DesignatedPort),
            AlternateProposed | AlternateAgreed | BackupPort => Some(AlternatePort),
            _ => None,
        };
        if let Some(s) = uct {
            self.enter_prt(i, s);
            return true;
        }
        if !(p.selected && !p.updt_info) {
            return false;
        }
        if p.role != p.selected_role {
            let s = match p.selected_role {
                PortRole::Disabled => DisablePort,
                PortRole::Root => RootPort,
                PortRole::Designated => DesignatedPort,
                PortRole::Alternate | PortRole::Backup => BlockPort,
            };
            self.enter_prt(i, s);
            return true;
        }
        let (fwd_delay, max_age, forward_delay, hello) = (
            self.fwd_delay(i),
            self.max_age(i),
            self.forward_delay(i),
            self.hello_time(i),
        );
        let (all_synced, re_rooted, rstp) =
            (self.all_synced(), self.re_rooted(i), self.rstp_version());
        let p = &self.ports[i];
        let next = match p.prt {
            DisablePort if !p.learning && !p.forwarding => DisabledPort,
            DisabledPort if p.fd_while != max_age || p.sync || p.re_root || !p.synced => {
                DisabledPort
            }
            RootPort => {
                let may_advance = p.fd_while == 0 || (re_rooted && p.rb_while == 0 && rstp);
                if p.proposed && !p.agree {
                    RootProposed
                } else if (all_synced && !p.agree) || (p.proposed && p.agree) {
                    RootAgreed
                } else if !p.forward && !p.re_root {
                    Reroot
                } else if p.re_root && p.forward {
                    Rerooted
                } else if may_advance && !p.learn {
                    RootLearn
                } else if may_advance && p.learn && !p.forward {
                    RootForward
                } else if p.rr_while != fwd_delay {
                    RootPort
                } else {
                    return false;
                }
            }
            DesignatedPort => {
                let may_advance = (p.fd_while == 0 || p.agreed || p.oper_edge)
                    && (p.rr_while == 0 || !p.re_root)
                    && !p.sync;
                if !p.forward && !p.agreed && !p.proposing && !p.oper_edge {
                    DesignatedPropose
                } else if (!p.learning && !p.forwarding && !p.synced)
                    || (p.agreed && !p.synced)
                    || (p.oper_edge && !p.synced)
                    || (p.sync && p.synced)
                {
                    DesignatedSynced
                } else if p.rr_while == 0 && p.re_root {
                    DesignatedRetired
                } else if ((p.sync && !p.synced) || (p.re_root && p.rr_while != 0) || p.disputed)
                    && !p.oper_edge
                    && (p.learn || p.forward)
                {
                    DesignatedDiscard
                } else if may_advance && !p.learn {
                    DesignatedLearn
                } else if may_advance && p.learn && !p.forward {
                    DesignatedForward
                } else {
                    return false;
                }
            }
            BlockPort if !p.learning && !p.forwarding => AlternatePort,
            AlternatePort => {
                if p.proposed && !p.agree {
                    AlternateProposed
                } else if (all_synced && !p.agree) || (p.proposed && p.agree) {
                    AlternateAgreed
                } else if p.fd_while != forward_delay || p.sync || p.re_root || !p.synced {
                    AlternatePort
                } else if p.selected_role == PortRole::Backup && p.rb_while != 2 * hello {
                    BackupPort
                } else {
                    return false;
                }
            }
            _ => return false,
        };
        self.enter_prt(i, next);
        true
    }

    fn set_role(&mut self, i: usize, role: PortRole) {
        let p = &mut self.ports[i];
        if p.role != role {
            p.role = role;
            let port = p.cfg.number;
            self.pending.push(Action::RoleChanged { port, role });
        }
    }

    fn enter_prt(&mut self, i: usize, s: PrtState) {
        use PrtState::*;
        self.ports[i].prt = s;
        let (fwd_delay, max_age, forward_delay, hello) = (
            self.fwd_delay(i),
            self.max_age(i),
            self.forward_delay(i),
            self.hello_time(i),
        );
        match s {
            InitPort => {
                self.set_role(i, PortRole::Disabled);
                let p = &mut self.ports[i];
                p.learn = false;
                p.forward = false;
                p.synced = false;
                p.sync = true;
                p.re_root = true;
                p.rr_while = fwd_delay;
                p.fd_while = max_age;
                p.rb_while = 0;
            }
            DisablePort => {
                let r = self.ports[i].selected_role;
                self.set_role(i, r);
                let p = &mut self.ports[i];
                p.learn = false;
                p.forward = false;
            }
            DisabledPort => {
                let p = &mut self.ports[i];
                p.fd_while = max_age;
                p.synced = true;
                p.rr_while = 0;
                p.sync = false;
                p.re_root = false;
            }
            RootProposed => {
                self.set_sync_tree();
                self.ports[i].proposed = false;
            }
            RootAgreed | AlternateAgreed => {
                let p = &mut self.ports[i];
                p.proposed = false;
                if s == RootAgreed {
                    p.sync = false;
                }
                p.agree = true;
                p.new_info = true;
                p.tx_answer = true;
            }
            Reroot => self.set_re_root_tree(),
            RootForward => {
                let p = &mut self.ports[i];
                p.fd_while = 0;
                p.forward = true;
            }
            RootLearn => {
                let p = &mut self.ports[i];
                p.fd_while = forward_delay;
                p.learn = true;
            }
            Rerooted => self.ports[i].re_root = false,
            RootPort => {
                self.set_role(i, PortRole::Root);
                self.ports[i].rr_while = fwd_delay;
            }
            DesignatedPropose => {
                let ed = self.edge_delay(i);
                let p = &mut self.ports[i];
                p.proposing = true;
                p.edge_delay_while = ed;
                p.new_info = true;
                p.tx_answer = true;
            }
            DesignatedSynced => {
                let p = &mut self.ports[i];
                p.rr_while = 0;
                p.synced = true;
                p.sync = false;
            }
            DesignatedRetired => self.ports[i].re_root = false,
            DesignatedDiscard => {
                let p = &mut self.ports[i];
                p.learn = false;
                p.forward = false;
                p.disputed = false;
                p.fd_while = forward_delay;
            }
            DesignatedLearn => {
                let p = &mut self.ports[i];
                p.learn = true;
                p.fd_while = forward_delay;
            }
            DesignatedForward => {
                let p = &mut self.ports[i];
                p.forward = true;
                p.fd_while = 0;
                p.agreed = p.send_rstp;
            }
            DesignatedPort => self.set_role(i, PortRole::Designated),
            BlockPort => {
                let r = self.ports[i].selected_role;
                self.set_role(i, r);
                let p = &mut self.ports[i];
                p.learn = false;
                p.forward = false;
            }
            AlternatePort => {
                let p = &mut self.ports[i];
                p.fd_while = forward_delay;
                p.synced = true;
                p.rr_while = 0;
                p.sync = false;
                p.re_root = false;
            }
            AlternateProposed => {
                self.set_sync_tree();
                self.ports[i].proposed = false;
            }
            BackupPort => self.ports[i].rb_while = 2 * hello,
        }
    }

    // ----- 17.30 Port State Transition ------------------------------------

    /// Port State Transition state machine (17.30).
    pub(super) fn port_state_transition(&mut self, i: usize) -> bool {
        let p = &self.ports[i];
        let next = match p.pst {
            PstState::Discarding if p.learn => PstState::Learning,
            PstState::Learning if p.forward => PstState::Forwarding,
            PstState::Learning if !p.learn => PstState::Discarding,
            PstState::Forwarding if !p.forward => PstState::Discarding,
            _ => return false,
        };
        self.enter_pst(i, next);
        true
    }

    fn enter_pst(&mut self, i: usize, s: PstState) {
        let p = &mut self.ports[i];
        p.pst = s;
        // disableLearning()/enableLearning()/disableForwarding()/enableForwarding()
        let (learning, forwarding) = match s {
            PstState::Discarding => (false, false),
            PstState::Learning => (true, false),
            PstState::Forwarding => (true, true),
        };
        p.learning = learning;
        p.forwarding = forwarding;
        let port = p.cfg.number;
        self.pending.push(Action::SetPortState {
            port,
            learning,
            forwarding,
        });
    }

    // ----- 17.31 Topology Change ------------------------------------------

    /// Topology Change state machine (17.31).
    pub(super) fn topology_change(&mut self, i: usize) -> bool {
        let p = &self.ports[i];
        let root_or_designated = p.role == PortRole::Root || p.role == PortRole::Designated;
        let any_rcvd = p.rcvd_tc || p.rcvd_tcn || p.rcvd_tc_ack || p.tc_prop;
        let next = match p.tcm {
            TcmState::Inactive if p.learn && !p.fdb_flush => TcmState::Learning,
            TcmState::Learning if root_or_designated && p.forward && !p.oper_edge => {
                TcmState::Detected
            }
            TcmState::Learning if any_rcvd => TcmState::Learning,
            TcmState::Learning if !root_or_designated && !(p.learn || p.learning) => {
                TcmState::Inactive
            }
            TcmState::Detected => TcmState::Active,
            TcmState::Active if !root_or_designated || p.oper_edge => TcmState::Learning,
            TcmState::Active if p.rcvd_tcn => TcmState::NotifiedTcn,
            TcmState::Active if p.rcvd_tc => TcmState::NotifiedTc,
            TcmState::Active if p.tc_prop && !p.oper_edge => TcmState::Propagating,
            TcmState::Active if p.rcvd_tc_ack => TcmState::Acknowledged,
            TcmState::NotifiedTcn => TcmState::NotifiedTc,
            TcmState::NotifiedTc | TcmState::Propagating | TcmState::Acknowledged => {
                TcmState::Active
            }
            _ => return false,
        };
        self.enter_tcm(i, next);
        true
    }

    /// fdbFlush = TRUE: the filtering database is told at once, so the
    /// flag is reset at once (17.19.7).
    fn fdb_flush(&mut self, i: usize) {
        let port = self.ports[i].cfg.number;
        self.pending.push(Action::FlushFdb { port });
        self.ports[i].fdb_flush = false;
    }

    fn enter_tcm(&mut self, i: usize, s: TcmState) {
        self.ports[i].tcm = s;
        match s {
            TcmState::Inactive => {
                self.ports[i].fdb_flush = true;
                self.fdb_flush(i);
                let p = &mut self.ports[i];
                p.tc_while = 0;
                p.tc_ack = false;
            }
            TcmState::Learning => {
                let p = &mut self.ports[i];
                p.rcvd_tc = false;
                p.rcvd_tcn = false;
                p.rcvd_tc_ack = false;
                p.tc_prop = false;
            }
            TcmState::Detected => {
                self.new_tc_while(i);
                self.set_tc_prop_tree(i);
                self.ports[i].new_info = true;
                let port = self.ports[i].cfg.number;
                self.pending.push(Action::TopologyChange { port });
            }
            TcmState::Active => {}
            TcmState::NotifiedTcn => self.new_tc_while(i),
            TcmState::NotifiedTc => {
                let p = &mut self.ports[i];
                p.rcvd_tcn = false;
                p.rcvd_tc = false;
                if p.role == PortRole::Designated {
                    p.tc_ack = true;
                }
                self.set_tc_prop_tree(i);
            }
            TcmState::Propagating => {
                self.new_tc_while(i);
                self.ports[i].fdb_flush = true;
                self.fdb_flush(i);
                self.ports[i].tc_prop = false;
            }
            TcmState::Acknowledged => {
                let p = &mut self.ports[i];
                p.tc_while = 0;
                p.rcvd_tc_ack = false;
            }
        }
    }
}
