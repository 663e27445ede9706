//! Priority vectors and timer values (802.1D-2004 17.5, 17.6, 17.19).

use crate::wire::{BridgeId, PortId};
use serde::Serialize;

/// A spanning tree priority vector (17.5): root bridge, root path cost,
/// designated bridge, designated port, and the port it was received on.
/// The derived ordering is the standard's comparison (17.6): each
/// component in turn, numerically lower is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct PriorityVector {
    /// Root Bridge Identifier.
    pub root_bridge_id: BridgeId,
    /// Root Path Cost.
    pub root_path_cost: u32,
    /// Designated Bridge Identifier.
    pub designated_bridge_id: BridgeId,
    /// Designated Port Identifier.
    pub designated_port_id: PortId,
    /// Bridge Port Identifier (the port that received or will send it).
    pub bridge_port_id: PortId,
}

impl PriorityVector {
    /// True when `self` is better than or the same as `other` (17.6).
    pub fn better_or_same(&self, other: &Self) -> bool {
        self <= other
    }

    /// True when `self` (a message priority vector) is superior to `port`
    /// (a port priority vector), per 17.6: better, or sent by the same
    /// designated bridge address and designated port number (so it
    /// replaces what that port said before, even if worse).
    pub fn superior_to(&self, port: &Self) -> bool {
        self < port
            || (self.designated_bridge_id.mac == port.designated_bridge_id.mac
                && self.designated_port_id.number() == port.designated_port_id.number())
    }
}

/// Timer parameter values (17.19.21 portTimes etc.), in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Times {
    /// Message Age.
    pub message_age: u16,
    /// Max Age.
    pub max_age: u16,
    /// Forward Delay.
    pub forward_delay: u16,
    /// Hello Time.
    pub hello_time: u16,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MacAddr;

    fn v(root: u16, cost: u32, br: u8, port: u16) -> PriorityVector {
        PriorityVector {
            root_bridge_id: BridgeId::new(root, MacAddr([0, 0, 0, 0, 0, 1])),
            root_path_cost: cost,
            designated_bridge_id: BridgeId::new(0x8000, MacAddr([0, 0, 0, 0, 0, br])),
            designated_port_id: PortId(port),
            bridge_port_id: PortId(0x8001),
        }
    }

    #[test]
    fn comparison_order() {
        assert!(v(0x1000, 100, 5, 0x8001) < v(0x8000, 0, 1, 0x8001));
        assert!(v(0x8000, 10, 5, 0x8001) < v(0x8000, 20, 1, 0x8001));
        assert!(v(0x8000, 10, 1, 0x8002) < v(0x8000, 10, 2, 0x8001));
        assert!(v(0x8000, 10, 1, 0x8001) < v(0x8000, 10, 1, 0x8002));
    }

    #[test]
    fn superior_includes_same_sender() {
        let old = v(0x1000, 10, 3, 0x8002);
        let worse_same_sender = v(0x8000, 10, 3, 0x4002); // priority differs, number same
        assert!(worse_same_sender.superior_to(&old));
        let worse_other = v(0x8000, 10, 4, 0x8002);
        assert!(!worse_other.superior_to(&old));
        assert!(old.superior_to(&worse_other));
    }
}
