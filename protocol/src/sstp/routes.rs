//! The route table SPF hands to the data path: one small, fixed-size entry
//! per LSDB slot, read by the worker per packet from the epoch-swapped
//! snapshot.
//!
//! Why it looks like this:
//! - **Dense by slot.** The link-state database gives each origin a stable
//!   slot; MAC homes name a slot (that map is not kept here), so the worker
//!   goes MAC → slot → [`BridgeRoute`] with two indexed loads, no hashing.
//! - **No heap per entry.** Up to [`MAX_ECMP`] equal-cost ports are inline,
//!   sorted by port index, so equal inputs give equal tables and a flow hash
//!   picks the same member on every switch build. One entry is 32 bytes, two
//!   to a cache line.
//! - **Repair is precomputed.** [`BridgeRoute::lfa`] and
//!   [`BridgeRoute::wrap`] are ready when a port dies, before any PDU is
//!   exchanged (see `SSTP.md`, "Failure and repair").

use super::spf::Slot;
use crate::PortIndex;
use core::fmt;

/// Most equal-cost first hops kept per destination. A 3-D torus needs at
/// most 6; the rest are counted in [`BridgeRoute::ecmp_overflow`].
pub const MAX_ECMP: usize = 8;

/// "No port" inside an entry. The graph builder refuses links on this port
/// index so it can never be a real member.
pub(crate) const NO_PORT: PortIndex = PortIndex::MAX;

const UNREACHABLE: u64 = u64::MAX;

/// How this switch reaches one destination bridge: the shortest distance,
/// the equal-cost first hops, and the precomputed repair choices.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BridgeRoute {
    distance: u64,
    ecmp: [PortIndex; MAX_ECMP],
    lfa: PortIndex,
    wrap: PortIndex,
    ecmp_len: u8,
    ecmp_overflow: u8,
    lfa_node_protecting: bool,
}

impl BridgeRoute {
    /// The entry of an absent or unreachable slot.
    pub const UNREACHABLE: BridgeRoute = BridgeRoute {
        distance: UNREACHABLE,
        ecmp: [NO_PORT; MAX_ECMP],
        lfa: NO_PORT,
        wrap: NO_PORT,
        ecmp_len: 0,
        ecmp_overflow: 0,
        lfa_node_protecting: false,
    };

    /// The entry of the computing switch itself: distance 0, no first hop.
    pub const LOCAL: BridgeRoute = BridgeRoute {
        distance: 0,
        ..BridgeRoute::UNREACHABLE
    };

    /// A reachable destination at `distance` over the equal-cost ports
    /// `ecmp` (any order, duplicates ignored). More than [`MAX_ECMP`]
    /// distinct ports keep the lowest indices and count the rest. Ports equal
    /// to `PortIndex::MAX` are ignored. `distance` is clamped below
    /// `u64::MAX`, which marks "unreachable".
    pub fn new(distance: u64, ecmp: &[PortIndex]) -> BridgeRoute {
        let mut r = BridgeRoute {
            distance: distance.min(UNREACHABLE - 1),
            ..BridgeRoute::UNREACHABLE
        };
        let mut overflow = 0usize;
        for &p in ecmp.iter().filter(|&&p| p != NO_PORT) {
            overflow += usize::from(r.insert_ecmp(p));
        }
        r.ecmp_overflow = u8::try_from(overflow).unwrap_or(u8::MAX);
        r
    }

    /// Sets the loop-free alternate; `node_protecting` says its path avoids
    /// every primary next-hop bridge, not only the link.
    pub fn with_lfa(mut self, port: Option<PortIndex>, node_protecting: bool) -> BridgeRoute {
        self.lfa = port.unwrap_or(NO_PORT);
        self.lfa_node_protecting = port.is_some() && node_protecting;
        self
    }

    /// Sets the wrap port (the best port outside the ECMP set).
    pub fn with_wrap(mut self, port: Option<PortIndex>) -> BridgeRoute {
        self.wrap = port.unwrap_or(NO_PORT);
        self
    }

    /// Inserts `p` keeping the set sorted and at most [`MAX_ECMP`] long;
    /// returns whether a port fell off the end (the overflow grew).
    fn insert_ecmp(&mut self, p: PortIndex) -> bool {
        let len = usize::from(self.ecmp_len);
        let at = match self.ecmp[..len].binary_search(&p) {
            Ok(_) => return false,
            Err(at) => at,
        };
        if at == MAX_ECMP {
            return true;
        }
        let full = len == MAX_ECMP;
        let end = if full { MAX_ECMP - 1 } else { len };
        self.ecmp.copy_within(at..end, at + 1);
        self.ecmp[at] = p;
        if !full {
            self.ecmp_len += 1;
        }
        full
    }

    /// Whether the destination can be reached (the local switch can).
    pub fn is_reachable(&self) -> bool {
        self.distance != UNREACHABLE
    }

    /// Whether this is the computing switch itself.
    pub fn is_local(&self) -> bool {
        self.distance == 0
    }

    /// The sum of link costs along a shortest path, or `None` if unreachable.
    pub fn distance(&self) -> Option<u64> {
        self.is_reachable().then_some(self.distance)
    }

    /// The equal-cost first-hop ports, sorted by index; empty for the local
    /// switch and for unreachable slots.
    pub fn ecmp(&self) -> &[PortIndex] {
        &self.ecmp[..usize::from(self.ecmp_len)]
    }

    /// Whether `port` is one of the equal-cost first hops: the worker's
    /// U-turn test (a frame for this destination that came in on its own
    /// next hop).
    pub fn is_ecmp_member(&self, port: PortIndex) -> bool {
        self.ecmp().contains(&port)
    }

    /// Equal-cost first hops that did not fit in [`MAX_ECMP`] (saturating).
    pub fn ecmp_overflow(&self) -> u8 {
        self.ecmp_overflow
    }

    /// A loop-free alternate (RFC 5286): a port outside the ECMP set whose
    /// neighbour is strictly closer to the destination by a path that does
    /// not come back through this switch.
    pub fn lfa(&self) -> Option<PortIndex> {
        (self.lfa != NO_PORT).then_some(self.lfa)
    }

    /// Whether [`Self::lfa`] also avoids every primary next-hop bridge.
    pub fn lfa_is_node_protecting(&self) -> bool {
        self.lfa_node_protecting
    }

    /// The cheapest port outside the ECMP set that reaches the destination at
    /// all, even back through this switch; for use only under the data
    /// path's U-turn guard.
    pub fn wrap(&self) -> Option<PortIndex> {
        (self.wrap != NO_PORT).then_some(self.wrap)
    }
}

impl Default for BridgeRoute {
    fn default() -> Self {
        BridgeRoute::UNREACHABLE
    }
}

impl fmt::Debug for BridgeRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.is_reachable() {
            return f.write_str("Unreachable");
        }
        if self.is_local() {
            return f.write_str("Local");
        }
        let mut d = f.debug_struct("BridgeRoute");
        d.field("distance", &self.distance)
            .field("ecmp", &self.ecmp());
        if self.ecmp_overflow > 0 {
            d.field("ecmp_overflow", &self.ecmp_overflow);
        }
        d.field("lfa", &self.lfa());
        if self.lfa_node_protecting {
            d.field("node_protecting", &true);
        }
        d.field("wrap", &self.wrap()).finish()
    }
}

/// Every slot's [`BridgeRoute`], as computed from one switch.
///
/// Two tables are equal when they are computed from the same slot and agree
/// on every reachable slot: trailing unreachable slots (a longer LSDB slot
/// table with holes at the end) do not make them differ.
#[derive(Clone, Default)]
pub struct Routes {
    me: Option<Slot>,
    entries: Vec<BridgeRoute>,
}

impl Routes {
    /// An empty table (no slot reachable, no local switch).
    pub fn new() -> Routes {
        Routes::default()
    }

    /// Empties the table for a new computation from `me`, keeping its
    /// allocation; every slot below `len` is unreachable except `me`.
    pub fn reset(&mut self, me: Slot, len: usize) {
        let len = len.max(me as usize + 1);
        self.entries.clear();
        self.entries.resize(len, BridgeRoute::UNREACHABLE);
        self.entries[me as usize] = BridgeRoute::LOCAL;
        self.me = Some(me);
    }

    /// Stores `route` for `slot`, growing the table with unreachable entries
    /// if needed. SPF fills tables this way; tests of the data path can too.
    pub fn set(&mut self, slot: Slot, route: BridgeRoute) {
        let i = slot as usize;
        if i >= self.entries.len() {
            self.entries.resize(i + 1, BridgeRoute::UNREACHABLE);
        }
        self.entries[i] = route;
    }

    /// The slot this table was computed from.
    pub fn me(&self) -> Option<Slot> {
        self.me
    }

    /// The route to `slot`, or `None` if it is absent or unreachable.
    #[inline]
    pub fn get(&self, slot: Slot) -> Option<&BridgeRoute> {
        self.entries.get(slot as usize).filter(|r| r.is_reachable())
    }

    /// Whether `slot` is reachable (the local switch is).
    #[inline]
    pub fn is_reachable(&self, slot: Slot) -> bool {
        self.get(slot).is_some()
    }

    /// Number of slots in the table, reachable or not (the LSDB's slot count).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no slots at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of reachable slots, the local one included.
    pub fn reachable_count(&self) -> usize {
        self.entries.iter().filter(|r| r.is_reachable()).count()
    }

    /// The reachable slots in slot order, the local one included (for
    /// `satctl show routes`).
    pub fn iter(&self) -> impl Iterator<Item = (Slot, &BridgeRoute)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_reachable())
            .map(|(i, r)| (i as Slot, r))
    }

    /// Bytes this table holds on the heap (its capacity).
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * core::mem::size_of::<BridgeRoute>()
    }

    /// The entries without trailing unreachable slots, for equality.
    fn significant(&self) -> &[BridgeRoute] {
        let end = self
            .entries
            .iter()
            .rposition(|r| r.is_reachable())
            .map_or(0, |i| i + 1);
        &self.entries[..end]
    }
}

impl PartialEq for Routes {
    fn eq(&self, other: &Routes) -> bool {
        self.me == other.me && self.significant() == other.significant()
    }
}

impl Eq for Routes {}

impl fmt::Debug for Routes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Routes")
            .field("me", &self.me)
            .field("len", &self.entries.len())
            .field("reachable", &DebugMap(self))
            .finish()
    }
}

struct DebugMap<'a>(&'a Routes);

impl fmt::Debug for DebugMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_32_bytes() {
        assert_eq!(core::mem::size_of::<BridgeRoute>(), 32);
    }

    #[test]
    fn ecmp_is_sorted_deduplicated_and_bounded() {
        let r = BridgeRoute::new(7, &[9, 3, 3, 12, 1, 0, 4, 5, 11, 10, 2]);
        assert_eq!(r.ecmp(), &[0, 1, 2, 3, 4, 5, 9, 10]);
        assert_eq!(r.ecmp_overflow(), 2);
        assert!(r.is_ecmp_member(10) && !r.is_ecmp_member(11));
        assert_eq!(
            BridgeRoute::new(7, &[2, 1]),
            BridgeRoute::new(7, &[1, 2, 1])
        );
        assert_eq!(BridgeRoute::new(1, &[NO_PORT]).ecmp(), &[] as &[PortIndex]);
    }

    #[test]
    fn unreachable_and_local() {
        let u = BridgeRoute::UNREACHABLE;
        assert!(!u.is_reachable() && u.distance().is_none() && u.lfa().is_none());
        let l = BridgeRoute::LOCAL;
        assert!(l.is_reachable() && l.is_local() && l.ecmp().is_empty());
        assert_eq!(format!("{u:?} {l:?}"), "Unreachable Local");
    }

    #[test]
    fn repair_fields() {
        let r = BridgeRoute::new(3, &[1])
            .with_lfa(Some(2), true)
            .with_wrap(Some(2));
        assert_eq!(
            (r.lfa(), r.lfa_is_node_protecting(), r.wrap()),
            (Some(2), true, Some(2))
        );
        let r = r.with_lfa(None, true);
        assert!(r.lfa().is_none() && !r.lfa_is_node_protecting());
    }

    #[test]
    fn table_lookup_iteration_and_equality() {
        let mut a = Routes::new();
        assert!(a.get(0).is_none() && a.is_empty());
        a.reset(2, 4);
        a.set(0, BridgeRoute::new(5, &[1]));
        assert_eq!(a.len(), 4);
        assert!(a.is_reachable(0) && !a.is_reachable(1) && a.is_reachable(2));
        assert!(!a.is_reachable(3) && !a.is_reachable(99));
        assert_eq!(a.get(2), Some(&BridgeRoute::LOCAL));
        let slots: Vec<Slot> = a.iter().map(|(s, _)| s).collect();
        assert_eq!(slots, [0, 2]);
        assert_eq!(a.reachable_count(), 2);

        let mut b = Routes::new();
        b.reset(2, 9);
        b.set(0, BridgeRoute::new(5, &[1]));
        assert_eq!(a, b, "trailing unreachable slots do not count");
        b.set(8, BridgeRoute::new(1, &[0]));
        assert_ne!(a, b);
        let mut c = a.clone();
        c.reset(1, 4);
        c.set(0, BridgeRoute::new(5, &[1]));
        c.set(2, BridgeRoute::LOCAL);
        assert_ne!(a, c, "computed from another slot");
    }
}
