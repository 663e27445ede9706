//! The unicast next-hop rule: which port a frame bound for a Satellite
//! switch leaves by. One pure function over a [`BridgeRoute`], the flow's
//! hash, the port the frame came in on and the ports' liveness, called by
//! the data path for every frame and by the simulator's loop-freedom
//! check, so the check tests the code the workers run.
//!
//! The rule (SSTP.md, "Forwarding a frame"):
//! 1. The destination is this switch: deliver locally.
//! 2. **U-turn**: a frame that came in on one of our own equal-cost next
//!    hops toward its destination was sent uphill by a neighbour that is
//!    closer to the destination than we are. Outside repair that is a
//!    transient disagreement of two databases, and sending it back would
//!    make a two-switch micro-loop: it is dropped (and counted).
//! 3. Among the equal-cost next hops, the flow's hash picks one of the
//!    whole set; only if that one is dead does the hash pick again among
//!    the live ones. So when one member dies, flows on the other members
//!    keep their path (no reordering, no collateral loss).
//! 4. No live equal-cost next hop: the precomputed loop-free alternate,
//!    then the ring wrap, if live; otherwise the frame is dropped.
//!
//! Liveness is one bit per port in a `u64`: SSTP runs on ports with an
//! index below 64 ([`MAX_SSTP_PORTS`]); a switch with more fabric ports
//! than that uses the first 64 for SSTP.

use super::routes::{BridgeRoute, MAX_ECMP};
use crate::PortIndex;

/// Ports that can carry SSTP unicast: those whose index fits the liveness
/// word.
pub const MAX_SSTP_PORTS: usize = 64;

/// Where a frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHop {
    /// The destination is this switch.
    Local,
    /// Out of this port.
    Port(PortIndex),
    /// Nowhere: counted under this reason.
    Drop(ForwardDrop),
}

/// Why the rule drops a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardDrop {
    /// The destination switch is not reachable.
    Unreachable,
    /// The frame came in on one of our next hops toward its destination.
    UTurn,
    /// Every next hop and every alternate is dead.
    NoLivePort,
}

impl ForwardDrop {
    /// The counter label.
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardDrop::Unreachable => "sstp_unreachable",
            ForwardDrop::UTurn => "sstp_u_turn",
            ForwardDrop::NoLivePort => "sstp_no_live_port",
        }
    }
}

/// Whether `port` is alive in `live`.
#[inline(always)]
pub fn is_live(live: u64, port: PortIndex) -> bool {
    (port as usize) < MAX_SSTP_PORTS && live & (1u64 << port) != 0
}

/// The next hop of a frame toward the switch of `route`.
#[inline]
pub fn next_hop(route: &BridgeRoute, hash: u32, in_port: Option<PortIndex>, live: u64) -> NextHop {
    if route.is_local() {
        return NextHop::Local;
    }
    if !route.is_reachable() {
        return NextHop::Drop(ForwardDrop::Unreachable);
    }
    if in_port.is_some_and(|p| route.is_ecmp_member(p)) {
        return NextHop::Drop(ForwardDrop::UTurn);
    }
    let ecmp = route.ecmp();
    if let Some(&first) = ecmp.get(hash as usize % ecmp.len().max(1)) {
        if is_live(live, first) {
            return NextHop::Port(first);
        }
    }
    let alive = ecmp.iter().filter(|&&p| is_live(live, p)).count();
    if alive > 0 {
        let k = (hash as usize / ecmp.len()) % alive;
        let p = ecmp.iter().copied().filter(|&p| is_live(live, p)).nth(k);
        return NextHop::Port(p.expect("k < alive"));
    }
    match repair(route, in_port, live) {
        Some(p) => NextHop::Port(p),
        None => NextHop::Drop(ForwardDrop::NoLivePort),
    }
}

/// The repair port when no equal-cost next hop is alive: the loop-free
/// alternate, else the wrap, if alive and not where the frame came from.
fn repair(route: &BridgeRoute, in_port: Option<PortIndex>, live: u64) -> Option<PortIndex> {
    [route.lfa(), route.wrap()]
        .into_iter()
        .flatten()
        .find(|&p| is_live(live, p) && Some(p) != in_port)
}

/// The ports [`candidates`] returns, inline (at most
/// [`MAX_ECMP`](super::routes::MAX_ECMP)), so the simulator's loop check,
/// which asks for them millions of times, allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortSet {
    ports: [PortIndex; MAX_ECMP],
    len: u8,
}

impl PortSet {
    fn push(&mut self, p: PortIndex) {
        self.ports[usize::from(self.len)] = p;
        self.len += 1;
    }
}

impl core::ops::Deref for PortSet {
    type Target = [PortIndex];
    fn deref(&self) -> &[PortIndex] {
        &self.ports[..usize::from(self.len)]
    }
}

/// Every port [`next_hop`] can choose for some hash: the live equal-cost
/// members, or else the repair port. The simulator's loop check follows
/// all of them.
pub fn candidates(route: &BridgeRoute, in_port: Option<PortIndex>, live: u64) -> PortSet {
    let mut set = PortSet::default();
    if let NextHop::Port(_) = next_hop(route, 0, in_port, live) {
        for &p in route.ecmp().iter().filter(|&&p| is_live(live, p)) {
            set.push(p);
        }
        if set.is_empty() {
            if let Some(p) = repair(route, in_port, live) {
                set.push(p);
            }
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: u64 = u64::MAX;

    #[test]
    fn local_unreachable_and_u_turn() {
        assert_eq!(next_hop(&BridgeRoute::LOCAL, 7, None, ALL), NextHop::Local);
        assert_eq!(
            next_hop(&BridgeRoute::UNREACHABLE, 7, None, ALL),
            NextHop::Drop(ForwardDrop::Unreachable)
        );
        let r = BridgeRoute::new(20, &[1, 3]);
        assert_eq!(
            next_hop(&r, 0, Some(3), ALL),
            NextHop::Drop(ForwardDrop::UTurn)
        );
        assert_eq!(next_hop(&r, 0, Some(2), ALL), NextHop::Port(1));
    }

    #[test]
    fn a_dead_member_moves_only_its_own_flows() {
        let r = BridgeRoute::new(20, &[1, 2, 3]);
        let before: Vec<NextHop> = (0..300).map(|h| next_hop(&r, h, None, ALL)).collect();
        let live = ALL & !(1 << 2);
        for h in 0..300u32 {
            let after = next_hop(&r, h, None, live);
            assert_ne!(after, NextHop::Port(2));
            if before[h as usize] != NextHop::Port(2) {
                assert_eq!(after, before[h as usize], "hash {h} moved");
            }
        }
        // Spread over the members, roughly evenly.
        let on = |p| before.iter().filter(|&&x| x == NextHop::Port(p)).count();
        assert_eq!((on(1), on(2), on(3)), (100, 100, 100));
    }

    #[test]
    fn repair_uses_the_alternate_then_the_wrap() {
        let r = BridgeRoute::new(20, &[1])
            .with_lfa(Some(4), true)
            .with_wrap(Some(5));
        let no1 = ALL & !(1 << 1);
        assert_eq!(next_hop(&r, 9, None, no1), NextHop::Port(4));
        assert_eq!(&candidates(&r, None, no1)[..], &[4]);
        let no14 = no1 & !(1 << 4);
        assert_eq!(next_hop(&r, 9, None, no14), NextHop::Port(5));
        assert_eq!(
            next_hop(&r, 9, Some(5), no14),
            NextHop::Drop(ForwardDrop::NoLivePort)
        );
        assert_eq!(&candidates(&r, None, ALL)[..], &[1]);
        assert!(!is_live(ALL, 64), "beyond the liveness word");
    }
}
