//! The unicast next-hop rule: which port a frame bound for a Satellite
//! switch leaves by. One pure function over a [`BridgeRoute`], the flow's
//! hash, where the frame came from and the ports' liveness, called by the
//! data path for every frame and by the simulator's loop-freedom check, so
//! the check tests the code the workers run.
//!
//! The rule (SSTP.md, "Forwarding a frame"):
//! 1. The destination is this switch: deliver locally.
//! 2. **Downhill** (tagged frames only): a frame from another Satellite
//!    switch carries the sender's own distance to the destination in its
//!    [`Tag`]; it goes on only if this switch's distance is strictly
//!    lower. Every switch compares its *own installed* distance with its
//!    sender's, so along any walk the distances fall, whatever views the
//!    switches hold: no walk can come back to a switch, under any
//!    interleaving of failures and SPF runs. Databases that disagree cost
//!    a drop (counted), never a loop.
//! 3. **U-turn**: a frame that came in on one of our own equal-cost next
//!    hops was sent by a neighbour we route through: a transient
//!    disagreement of two databases. A tagged frame never repaired is
//!    turned back by a repair hop (the alternate, else the wrap), which
//!    spends its one repair; an untagged or already repaired one, or one
//!    with no live repair port, is dropped (and counted); a repair hop,
//!    see 5.
//! 4. Among the equal-cost next hops, the flow's hash picks one of the
//!    whole set; only if that one is dead does the hash pick again among
//!    the live ones. So when one member dies, flows on the other members
//!    keep their path (no reordering, no collateral loss).
//! 5. **Repair.** No live equal-cost next hop: the precomputed loop-free
//!    alternate, else the ring wrap, sent as a *repair hop* (exempt from
//!    the downhill test once). A repair hop that arrives as a U-turn is a
//!    wrap on its way back: it leaves by another live equal-cost member
//!    (the far side of the ring), else by this switch's own wrap port, and
//!    only while it climbs (this switch strictly farther than the sender),
//!    so a wrap cannot circle either. A frame is repaired once: one that
//!    was repaired and meets a dead next hop again is dropped.
//!
//! So every walk is at most four monotone stretches — downhill, one repair
//! hop, a climbing wrap, downhill — and none can repeat: frames may be
//! dropped while databases disagree, but never circulate. Untagged frames
//! (from the switch's own edge, or a neighbour that does not tag) keep
//! rules 1, 3, 4 and 5 without the tests that need the tag.
//!
//! Liveness is one bit per port in a `u64`: SSTP runs on ports with an
//! index below 64 ([`MAX_SSTP_PORTS`]); a switch with more fabric ports
//! than that uses the first 64 for SSTP.

use super::routes::{BridgeRoute, MAX_ECMP};
use crate::PortIndex;

/// Ports that can carry SSTP unicast: those whose index fits the liveness
/// word.
pub const MAX_SSTP_PORTS: usize = 64;

/// Largest distance a [`Tag`] carries (30 bits). Farther distances are
/// clamped; two clamped distances are equal, so a hop between them is not
/// downhill and the frame is dropped — safe, never a loop.
pub const TAG_DISTANCE_MAX: u32 = (1 << 30) - 1;

/// What a unicast frame between two Satellite switches carries besides
/// itself (its wire form: [`crate::wire::encode_unicast_tag`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tag {
    /// The sender's installed distance to the destination switch, clamped
    /// to [`TAG_DISTANCE_MAX`].
    pub distance: u32,
    /// The hop that brought the frame was a repair (loop-free alternate or
    /// wrap): exempt from the downhill test.
    pub repair_hop: bool,
    /// The frame was repaired on its way; it will not be again.
    pub repaired: bool,
}

impl Tag {
    /// Whether the frame was repaired on its way (a repair hop counts,
    /// whatever the other bit says).
    pub fn was_repaired(self) -> bool {
        self.repaired || self.repair_hop
    }

    /// The tag a switch whose route is `route` writes on a frame it sends:
    /// `repair` for a repair hop; `repaired` carried over from the frame.
    pub fn sent(route: &BridgeRoute, repair: bool, repaired: bool) -> Tag {
        Tag {
            distance: tag_distance(route),
            repair_hop: repair,
            repaired: repaired || repair,
        }
    }
}

/// `route`'s distance as a tag carries it.
#[inline(always)]
pub fn tag_distance(route: &BridgeRoute) -> u32 {
    route.distance().map_or(TAG_DISTANCE_MAX, |d| {
        d.min(u64::from(TAG_DISTANCE_MAX)) as u32
    })
}

/// Where a frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// From this switch's own edge (a host port, or the switch itself).
    Edge,
    /// In on a port, without a tag.
    Untagged(PortIndex),
    /// In on a port, from a Satellite switch that tagged it.
    Tagged(PortIndex, Tag),
}

impl Arrival {
    fn in_port(self) -> Option<PortIndex> {
        match self {
            Arrival::Edge => None,
            Arrival::Untagged(p) | Arrival::Tagged(p, _) => Some(p),
        }
    }

    fn tag(self) -> Option<Tag> {
        match self {
            Arrival::Tagged(_, t) => Some(t),
            _ => None,
        }
    }
}

/// Where a frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHop {
    /// The destination is this switch.
    Local,
    /// Out of this port, on a shortest path.
    Port(PortIndex),
    /// Out of this port as a repair hop (alternate or wrap).
    Repair(PortIndex),
    /// Nowhere: counted under this reason.
    Drop(ForwardDrop),
}

impl NextHop {
    /// The port, for either kind of hop.
    pub fn port(self) -> Option<PortIndex> {
        match self {
            NextHop::Port(p) | NextHop::Repair(p) => Some(p),
            _ => None,
        }
    }
}

/// Why the rule drops a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardDrop {
    /// The destination switch is not reachable.
    Unreachable,
    /// The frame came in on one of our next hops toward its destination.
    UTurn,
    /// The sender was not farther from the destination than this switch.
    NotDownhill,
    /// Every next hop and every alternate is dead.
    NoLivePort,
    /// A repaired frame met a dead next hop again.
    RepairedTwice,
}

impl ForwardDrop {
    /// The counter label.
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardDrop::Unreachable => "sstp_unreachable",
            ForwardDrop::UTurn => "sstp_u_turn",
            ForwardDrop::NotDownhill => "sstp_not_downhill",
            ForwardDrop::NoLivePort => "sstp_no_live_port",
            ForwardDrop::RepairedTwice => "sstp_repaired_twice",
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
pub fn next_hop(route: &BridgeRoute, hash: u32, from: Arrival, live: u64) -> NextHop {
    if route.is_local() {
        return NextHop::Local;
    }
    if !route.is_reachable() {
        return NextHop::Drop(ForwardDrop::Unreachable);
    }
    let in_port = from.in_port();
    let tag = from.tag();
    if let Some(t) = tag {
        if !t.repair_hop && tag_distance(route) >= t.distance {
            return NextHop::Drop(ForwardDrop::NotDownhill);
        }
    }
    if let Some(q) = in_port.filter(|&q| route.is_ecmp_member(q)) {
        return match tag {
            Some(t) if t.repair_hop => wrap_onward(route, hash, q, t, live),
            Some(t) if !t.repaired => turn_back(route, hash, q, live),
            _ => NextHop::Drop(ForwardDrop::UTurn),
        };
    }
    if let Some(p) = pick(route.ecmp(), hash, live, None) {
        return NextHop::Port(p);
    }
    if tag.is_some_and(Tag::was_repaired) {
        return NextHop::Drop(ForwardDrop::RepairedTwice);
    }
    match repair(route, in_port, live) {
        Some(p) => NextHop::Repair(p),
        None => NextHop::Drop(ForwardDrop::NoLivePort),
    }
}

/// A wrapped frame that came back in on our next hop `q`: on by another
/// live equal-cost member (it has reached the far side), else out of our
/// wrap port while it still climbs.
#[cold]
fn wrap_onward(route: &BridgeRoute, hash: u32, q: PortIndex, t: Tag, live: u64) -> NextHop {
    if let Some(p) = pick(route.ecmp(), hash, live, Some(q)) {
        return NextHop::Port(p);
    }
    match route.wrap() {
        Some(w) if w != q && is_live(live, w) && tag_distance(route) > t.distance => {
            NextHop::Repair(w)
        }
        _ => NextHop::Drop(ForwardDrop::UTurn),
    }
}

/// A tagged frame, never repaired, that came in on our next hop `q`: the
/// sender routes through us and we through it, so one of us has not yet
/// heard of a change (typically the sender has, of a failure beyond us,
/// and took its new way round through us). We take its word for it as we
/// would a dead next hop, by a repair hop, which spends the frame's one
/// repair: the walk keeps its shape (a downhill stretch, one repair, a
/// climbing wrap, downhill), so this cannot loop. The repair hop is
/// another live member of our equal-cost set when we have one (the flow's
/// hash picks it), else the alternate, else the wrap. In a ring the
/// switch opposite a failure has both ways at equal cost; before its SPF
/// it had nothing but the way the frame came in, and dropped the frames
/// its neighbour had already sent round (`ring8_link_down_up_outage`: 1
/// probe in 2 of 3 runs, `sstp_u_turn`). The first version of this rule
/// (late 2026-12-07) left the equal-cost members out: with SPF held next
/// to a change they sent doomed frames round (`torus:5x5 --random 1000`:
/// 18 revisits against 2); news one hop away now runs SPF at once.
#[cold]
fn turn_back(route: &BridgeRoute, hash: u32, q: PortIndex, live: u64) -> NextHop {
    match pick(route.ecmp(), hash, live, Some(q)).or_else(|| repair(route, Some(q), live)) {
        Some(p) => NextHop::Repair(p),
        None => NextHop::Drop(ForwardDrop::UTurn),
    }
}

/// The member of `ecmp` the flow's hash picks: its choice among the whole
/// set if live (and not `except`), else its choice among the live rest.
#[inline(always)]
fn pick(ecmp: &[PortIndex], hash: u32, live: u64, except: Option<PortIndex>) -> Option<PortIndex> {
    let usable = |p: PortIndex| is_live(live, p) && Some(p) != except;
    if let Some(&first) = ecmp.get(hash as usize % ecmp.len().max(1)) {
        if usable(first) {
            return Some(first);
        }
    }
    let alive = ecmp.iter().filter(|&&p| usable(p)).count();
    if alive == 0 {
        return None;
    }
    let k = (hash as usize / ecmp.len()) % alive;
    ecmp.iter().copied().filter(|&p| usable(p)).nth(k)
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
    repair: bool,
}

impl PortSet {
    fn push(&mut self, p: PortIndex) {
        self.ports[usize::from(self.len)] = p;
        self.len += 1;
    }

    /// Whether the ports are repair hops (then there is one).
    pub fn is_repair(&self) -> bool {
        self.repair
    }
}

impl core::ops::Deref for PortSet {
    type Target = [PortIndex];
    fn deref(&self) -> &[PortIndex] {
        &self.ports[..usize::from(self.len)]
    }
}

/// Every port [`next_hop`] can choose for some hash. The simulator's loop
/// check follows all of them.
pub fn candidates(route: &BridgeRoute, from: Arrival, live: u64) -> PortSet {
    let mut set = PortSet::default();
    // Another hash may pick any live member but the one the frame came in
    // on (a wrapped frame's U-turn port, or a turned-back frame's).
    let members = |set: &mut PortSet| {
        for &p in route.ecmp() {
            if is_live(live, p) && Some(p) != from.in_port() {
                set.push(p);
            }
        }
    };
    match next_hop(route, 0, from, live) {
        NextHop::Port(_) => members(&mut set),
        NextHop::Repair(p) => {
            if route.is_ecmp_member(p) {
                members(&mut set);
            } else {
                set.push(p);
            }
            set.repair = true;
        }
        NextHop::Local | NextHop::Drop(_) => {}
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: u64 = u64::MAX;

    #[test]
    fn local_unreachable_and_u_turn() {
        assert_eq!(
            next_hop(&BridgeRoute::LOCAL, 7, Arrival::Edge, ALL),
            NextHop::Local
        );
        assert_eq!(
            next_hop(&BridgeRoute::UNREACHABLE, 7, Arrival::Edge, ALL),
            NextHop::Drop(ForwardDrop::Unreachable)
        );
        let r = BridgeRoute::new(20, &[1, 3]);
        assert_eq!(
            next_hop(&r, 0, Arrival::Untagged(3), ALL),
            NextHop::Drop(ForwardDrop::UTurn)
        );
        assert_eq!(next_hop(&r, 0, Arrival::Untagged(2), ALL), NextHop::Port(1));
    }

    #[test]
    fn a_tagged_u_turn_is_turned_back_once_by_a_repair_hop_and_only_downhill() {
        let r = BridgeRoute::new(20, &[1, 3]).with_wrap(Some(5));
        // In on member 3: out of the other member as a repair hop,
        // whatever the hash.
        for h in 0..10 {
            assert_eq!(
                next_hop(&r, h, tagged(3, 40, false, false), ALL),
                NextHop::Repair(1)
            );
        }
        let c = candidates(&r, tagged(3, 40, false, false), ALL);
        assert!(c.is_repair());
        assert_eq!(&c[..], &[1]);
        // Of three members, either other one, by the hash; the checker
        // follows both.
        let three = BridgeRoute::new(20, &[1, 2, 3]);
        let outs: Vec<NextHop> = (0..50)
            .map(|h| next_hop(&three, h, tagged(3, 40, false, false), ALL))
            .collect();
        assert!(outs
            .iter()
            .all(|o| [NextHop::Repair(1), NextHop::Repair(2)].contains(o)));
        assert!(outs.contains(&NextHop::Repair(1)) && outs.contains(&NextHop::Repair(2)));
        assert_eq!(
            &candidates(&three, tagged(3, 40, false, false), ALL)[..],
            &[1, 2]
        );
        // The other member dead: the alternate, else the wrap.
        let no_other = ALL & !(1 << 1);
        let with_lfa = r.with_lfa(Some(4), true);
        assert_eq!(
            next_hop(&with_lfa, 0, tagged(3, 40, false, false), no_other),
            NextHop::Repair(4)
        );
        assert_eq!(
            next_hop(&r, 0, tagged(3, 40, false, false), no_other),
            NextHop::Repair(5)
        );
        // No live repair port: dropped as the U-turn it is.
        assert_eq!(
            next_hop(&r, 0, tagged(3, 40, false, false), no_other & !(1 << 5)),
            NextHop::Drop(ForwardDrop::UTurn)
        );
        // Untagged: no sender's word to take.
        assert_eq!(
            next_hop(&r, 0, Arrival::Untagged(3), ALL),
            NextHop::Drop(ForwardDrop::UTurn)
        );
        // The downhill test comes first.
        assert_eq!(
            next_hop(&r, 0, tagged(3, 20, false, false), ALL),
            NextHop::Drop(ForwardDrop::NotDownhill)
        );
    }

    #[test]
    fn a_dead_member_moves_only_its_own_flows() {
        let r = BridgeRoute::new(20, &[1, 2, 3]);
        let before: Vec<NextHop> = (0..300)
            .map(|h| next_hop(&r, h, Arrival::Edge, ALL))
            .collect();
        let live = ALL & !(1 << 2);
        for h in 0..300u32 {
            let after = next_hop(&r, h, Arrival::Edge, live);
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
        assert_eq!(next_hop(&r, 9, Arrival::Edge, no1), NextHop::Repair(4));
        assert_eq!(&candidates(&r, Arrival::Edge, no1)[..], &[4]);
        let no14 = no1 & !(1 << 4);
        assert_eq!(next_hop(&r, 9, Arrival::Edge, no14), NextHop::Repair(5));
        assert_eq!(
            next_hop(&r, 9, Arrival::Untagged(5), no14),
            NextHop::Drop(ForwardDrop::NoLivePort)
        );
        assert_eq!(&candidates(&r, Arrival::Edge, ALL)[..], &[1]);
        assert!(!is_live(ALL, 64), "beyond the liveness word");
    }

    fn tagged(port: PortIndex, distance: u32, repair_hop: bool, repaired: bool) -> Arrival {
        Arrival::Tagged(
            port,
            Tag {
                distance,
                repair_hop,
                repaired,
            },
        )
    }

    #[test]
    fn a_tagged_frame_goes_on_only_downhill() {
        let r = BridgeRoute::new(20, &[1, 3]);
        assert_eq!(
            next_hop(&r, 0, tagged(2, 40, false, false), ALL),
            NextHop::Port(1)
        );
        for sender in [20, 19, 0] {
            assert_eq!(
                next_hop(&r, 0, tagged(2, sender, false, false), ALL),
                NextHop::Drop(ForwardDrop::NotDownhill),
                "sender at {sender}"
            );
        }
        // A repair hop is exempt from the test.
        assert_eq!(
            next_hop(&r, 0, tagged(2, 5, true, true), ALL),
            NextHop::Port(1)
        );
        // What this switch writes.
        assert_eq!(
            Tag::sent(&r, false, true),
            Tag {
                distance: 20,
                repair_hop: false,
                repaired: true
            }
        );
        let far = BridgeRoute::new(u64::from(TAG_DISTANCE_MAX) + 5, &[1]);
        assert_eq!(tag_distance(&far), TAG_DISTANCE_MAX);
        assert_eq!(
            next_hop(&far, 0, tagged(2, TAG_DISTANCE_MAX, false, false), ALL),
            NextHop::Drop(ForwardDrop::NotDownhill),
            "two clamped distances are not downhill"
        );
    }

    #[test]
    fn a_frame_is_repaired_once() {
        let r = BridgeRoute::new(20, &[1]).with_lfa(Some(4), true);
        let no1 = ALL & !(1 << 1);
        assert_eq!(
            next_hop(&r, 0, tagged(2, 40, false, false), no1),
            NextHop::Repair(4)
        );
        assert_eq!(
            next_hop(&r, 0, tagged(2, 40, false, true), no1),
            NextHop::Drop(ForwardDrop::RepairedTwice)
        );
        assert_eq!(
            next_hop(&r, 0, tagged(2, 5, true, true), no1),
            NextHop::Drop(ForwardDrop::RepairedTwice)
        );
        let c = candidates(&r, tagged(2, 40, false, false), no1);
        assert!(c.is_repair());
        assert_eq!(&c[..], &[4]);
    }

    /// A ring switch two hops from the failed link: the wrapped frame
    /// comes back on its next hop and climbs out of its other ring port; at
    /// the far side (two equal-cost members) it turns downhill.
    #[test]
    fn a_wrapped_frame_climbs_then_turns_at_the_far_side() {
        let near = BridgeRoute::new(40, &[1]).with_wrap(Some(0));
        assert_eq!(
            next_hop(&near, 0, tagged(1, 20, true, true), ALL),
            NextHop::Repair(0)
        );
        // Not climbing (the sender is as far): refused, so a wrap cannot
        // circle.
        assert_eq!(
            next_hop(&near, 0, tagged(1, 40, true, true), ALL),
            NextHop::Drop(ForwardDrop::UTurn)
        );
        // Not a repair hop, never repaired: turned back out of the wrap as
        // a repair hop (the sender knows of something we do not).
        assert_eq!(
            next_hop(&near, 0, tagged(1, 60, false, false), ALL),
            NextHop::Repair(0)
        );
        // Already repaired: a plain U-turn.
        assert_eq!(
            next_hop(&near, 0, tagged(1, 60, false, true), ALL),
            NextHop::Drop(ForwardDrop::UTurn)
        );
        let antipode = BridgeRoute::new(80, &[0, 1]);
        for h in 0..10 {
            assert_eq!(
                next_hop(&antipode, h, tagged(1, 60, true, true), ALL),
                NextHop::Port(0)
            );
        }
        assert_eq!(
            &candidates(&antipode, tagged(1, 60, true, true), ALL)[..],
            &[0]
        );
    }
}
