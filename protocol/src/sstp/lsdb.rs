//! The link-state database: every switch's LSP fragments, which copy is
//! newest, their lifetimes, the MAC homes they advertise, and the graph
//! SPF runs on.
//!
//! Each originator gets a **slot**, a small dense index that the route
//! table and the MAC-home table share. Slots are stable while the origin
//! is in the database and reused only after it has gone, so a snapshot
//! built from one SPF run never names another switch's slot.
//!
//! Which copy is newer (ISO 10589 7.3.16, with a 64-bit sequence number
//! that never wraps): the higher sequence number; at equal sequence, a
//! purge (remaining lifetime 0) over a live copy; then the higher content
//! checksum, so two different contents under one sequence number (a switch
//! that restarted and reused it) converge everywhere to the same copy,
//! which its originator then outbids.
//!
//! Bounds (all in [`Limits`], each overflow counted in [`LsdbStats`]): a
//! new origin beyond `max_bridges`, or a fragment beyond `max_fragments`,
//! is refused (not stored, not flooded); MAC homes beyond
//! `max_mac_homes_per_bridge` or `max_mac_homes_total` are stored in the
//! LSP (so databases still agree) but left out of the MAC-home table.

use std::collections::HashMap;
use std::time::Duration;

use super::spf::{Advertisement, GraphBuilder, Slot};
use crate::wire::BridgeId;
use crate::wire::{BindingEntry, Lsp, LspEntry, LspId, MacHome, MacMove, SystemId};
use crate::PortIndex;

/// How long a purged LSP (remaining lifetime 0) is kept and flooded before
/// it is forgotten (ISO 10589's ZeroAgeLifetime).
pub const ZERO_AGE_LIFETIME: Duration = Duration::from_secs(60);

/// Bounds on what the database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Origins (Satellite switches) in the database.
    pub max_bridges: usize,
    /// Fragments per origin (fragment numbers `0..max_fragments`).
    pub max_fragments: u16,
    /// MAC homes taken from one origin.
    pub max_mac_homes_per_bridge: usize,
    /// MAC homes in all.
    pub max_mac_homes_total: usize,
}

impl Default for Limits {
    /// Room for 4,096 switches and a million MAC homes.
    fn default() -> Limits {
        Limits {
            max_bridges: 4096,
            max_fragments: 128,
            max_mac_homes_per_bridge: 16_384,
            max_mac_homes_total: 1 << 20,
        }
    }
}

/// Counters of the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LsdbStats {
    /// LSPs refused: a new origin with the database full.
    pub overflow_bridges: u64,
    /// LSPs refused: a fragment number at or beyond `max_fragments`.
    pub overflow_fragments: u64,
    /// MAC homes left out of the table by a limit.
    pub overflow_mac_homes: u64,
    /// Fragments whose lifetime ran out (purged here).
    pub expired: u64,
    /// Origins removed because they stayed unreachable.
    pub unreachable_purged: u64,
}

/// One stored fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLsp {
    /// The fragment as received (or originated); `lifetime_secs` is what it
    /// had then, see [`StoredLsp::remaining`].
    pub lsp: Lsp,
    /// Its content checksum, computed once.
    pub checksum: u32,
    /// When its remaining lifetime reaches zero; for a purge, when it is
    /// forgotten.
    pub expires: Duration,
    /// Whether this is a purge (remaining lifetime 0).
    pub purged: bool,
}

impl StoredLsp {
    /// Remaining lifetime at `now`, whole seconds, at least 1 while alive.
    pub fn remaining(&self, now: Duration) -> u16 {
        if self.purged {
            return 0;
        }
        let left = self.expires.saturating_sub(now).as_secs();
        left.clamp(1, u64::from(u16::MAX)) as u16
    }

    /// The summary entry at `now`.
    pub fn entry(&self, now: Duration) -> LspEntry {
        LspEntry {
            id: self.lsp.id,
            sequence: self.lsp.sequence,
            lifetime_secs: self.remaining(now),
            checksum: self.checksum,
        }
    }

    /// The LSP as it goes out at `now` (remaining lifetime filled in).
    pub fn to_send(&self, now: Duration) -> Lsp {
        let mut l = self.lsp.clone();
        l.lifetime_secs = self.remaining(now);
        l
    }
}

/// How a copy compares with the one stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Nothing stored under this ID.
    Unknown,
    /// The copy is newer than the stored one.
    Newer,
    /// The same copy.
    Same,
    /// The stored copy is newer.
    Older,
}

/// Compares two (sequence, purged, checksum) triples: which copy wins.
pub fn newer(a: (u64, bool, u32), b: (u64, bool, u32)) -> std::cmp::Ordering {
    a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
}

fn key_of(e: &LspEntry) -> (u64, bool, u32) {
    (e.sequence, e.lifetime_secs == 0, e.checksum)
}

/// An origin's fragments, sorted by number, in a vector sized exactly.
///
/// Why not a `BTreeMap`: almost every origin has one or two fragments, and
/// a B-tree leaf has room for eleven, about 2 KiB per origin at every
/// switch. At 1,024 switches that is 2 MiB per switch, and 2 GiB in a
/// simulated network of them; here it is one entry per fragment.
#[derive(Debug, Clone, Default)]
struct Fragments(Vec<(u16, StoredLsp)>);

impl Fragments {
    fn find(&self, n: u16) -> Result<usize, usize> {
        self.0.binary_search_by_key(&n, |e| e.0)
    }

    fn get(&self, n: &u16) -> Option<&StoredLsp> {
        self.find(*n).ok().map(|i| &self.0[i].1)
    }

    fn insert(&mut self, n: u16, f: StoredLsp) -> Option<StoredLsp> {
        match self.find(n) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, f)),
            Err(i) => {
                // Fragments are added rarely: grow by one, not by doubling.
                self.0.reserve_exact(1);
                self.0.insert(i, (n, f));
                None
            }
        }
    }

    fn remove(&mut self, n: &u16) -> Option<StoredLsp> {
        let i = self.find(*n).ok()?;
        let (_, f) = self.0.remove(i);
        self.0.shrink_to_fit();
        Some(f)
    }

    fn iter(&self) -> impl Iterator<Item = (u16, &StoredLsp)> + '_ {
        self.0.iter().map(|(n, f)| (*n, f))
    }

    fn values(&self) -> impl Iterator<Item = &StoredLsp> + '_ {
        self.0.iter().map(|e| &e.1)
    }

    fn keys(&self) -> impl Iterator<Item = u16> + '_ {
        self.0.iter().map(|e| e.0)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<(u16, StoredLsp)>()
    }
}

/// An origin and its fragments.
#[derive(Debug, Clone)]
struct Origin {
    system: SystemId,
    fragments: Fragments,
    /// From SPF: reachable from this switch (always true for `me`).
    reachable: bool,
    unreachable_since: Option<Duration>,
    /// SPF has found it reachable at least once.
    was_reachable: bool,
    /// MAC homes of this origin in the home table.
    homes_in_table: usize,
}

impl Origin {
    fn bridge_id(&self) -> Option<BridgeId> {
        let f = self.fragments.get(&0)?;
        (!f.purged).then_some(f.lsp.system?.bridge_id)
    }
}

/// One switch's advertisement of a MAC home: where it is, and its move
/// sequence (0 unless the fragment lists it in MAC_MOVES).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Advert {
    slot: Slot,
    fragment: u16,
    sequence: u32,
}

/// Advertisers of one MAC home (almost always one).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Advertisers {
    One(Advert),
    Many(Vec<Advert>),
}

impl Advertisers {
    fn all(&self) -> &[Advert] {
        match self {
            Advertisers::One(a) => std::slice::from_ref(a),
            Advertisers::Many(v) => v,
        }
    }
}

/// What installing a copy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Installed {
    /// The origin's slot.
    pub slot: Slot,
    /// The adjacencies (or the origin itself) changed: SPF must run.
    pub topology_changed: bool,
    /// The MAC homes changed.
    pub homes_changed: bool,
    /// The ARPless bindings changed.
    pub bindings_changed: bool,
}

/// Why a copy was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A new origin with `max_bridges` already stored.
    TooManyBridges,
    /// A fragment number at or beyond `max_fragments`.
    FragmentOutOfRange,
}

/// The database.
#[derive(Debug, Clone)]
pub struct Lsdb {
    me: SystemId,
    limits: Limits,
    slots: Vec<Option<Origin>>,
    free: std::collections::VecDeque<Slot>,
    index: HashMap<SystemId, Slot>,
    homes: HashMap<u64, Advertisers>,
    stats: LsdbStats,
}

fn home_key(h: &MacHome) -> u64 {
    (u64::from(h.vid) << 48) | h.mac.to_u64()
}

/// The (VID, MAC) of a home key.
pub fn home_of_key(k: u64) -> MacHome {
    MacHome {
        vid: (k >> 48) as u16,
        mac: crate::wire::MacAddr::from_u64(k & 0xFFFF_FFFF_FFFF),
    }
}

impl Lsdb {
    /// An empty database of switch `me`.
    pub fn new(me: SystemId, limits: Limits) -> Lsdb {
        let mut db = Lsdb {
            me,
            limits,
            slots: Vec::new(),
            free: Default::default(),
            index: HashMap::new(),
            homes: HashMap::new(),
            stats: LsdbStats::default(),
        };
        // This switch always has a slot, even before its first LSP.
        db.slot_for(me);
        db
    }

    /// This switch.
    pub fn me(&self) -> SystemId {
        self.me
    }

    /// This switch's slot.
    pub fn my_slot(&self) -> Slot {
        self.index[&self.me]
    }

    /// The limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The counters.
    pub fn stats(&self) -> LsdbStats {
        self.stats
    }

    /// Slots in use or free (the route table's length).
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The slot of an origin.
    pub fn slot_of(&self, system: SystemId) -> Option<Slot> {
        self.index.get(&system).copied()
    }

    /// The origin in a slot.
    pub fn system_of(&self, slot: Slot) -> Option<SystemId> {
        self.slots.get(slot as usize)?.as_ref().map(|o| o.system)
    }

    /// The RSTP bridge ID an origin announces in its SYSTEM TLV.
    pub fn bridge_id_of(&self, slot: Slot) -> Option<BridgeId> {
        self.slots.get(slot as usize)?.as_ref()?.bridge_id()
    }

    /// Whether SPF last found the origin reachable.
    pub fn is_reachable(&self, slot: Slot) -> bool {
        self.origin(slot).is_some_and(|o| o.reachable)
    }

    /// Whether the origin was reachable once and is not now: gone, as
    /// opposed to not yet joined (a switch whose links are not yet
    /// advertised both ways, as every switch is for a moment at start-up).
    pub fn is_lost(&self, slot: Slot) -> bool {
        self.origin(slot)
            .is_some_and(|o| o.was_reachable && !o.reachable)
    }

    /// Origins (slot, system) in slot order.
    pub fn origins(&self) -> impl Iterator<Item = (Slot, SystemId)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.as_ref().map(|o| (i as Slot, o.system)))
    }

    /// Number of origins.
    pub fn origin_count(&self) -> usize {
        self.index.len()
    }

    /// The fragments of an origin, in fragment order.
    pub fn fragments(&self, slot: Slot) -> impl Iterator<Item = &StoredLsp> + '_ {
        self.origin(slot)
            .into_iter()
            .flat_map(|o| o.fragments.values())
    }

    /// Every stored fragment in LSP ID order (origin, fragment).
    pub fn all(&self) -> Vec<&StoredLsp> {
        let mut v: Vec<&StoredLsp> = self
            .slots
            .iter()
            .flatten()
            .flat_map(|o| o.fragments.values())
            .collect();
        v.sort_unstable_by_key(|s| s.lsp.id);
        v
    }

    /// Number of stored fragments.
    pub fn fragment_count(&self) -> usize {
        self.slots.iter().flatten().map(|o| o.fragments.len()).sum()
    }

    /// The stored copy of `id`.
    pub fn get(&self, id: &LspId) -> Option<&StoredLsp> {
        let slot = self.slot_of(id.origin)?;
        self.origin(slot)?.fragments.get(&id.fragment)
    }

    /// How a copy described by `entry` compares with the stored one.
    pub fn freshness(&self, entry: &LspEntry) -> Freshness {
        match self.get(&entry.id) {
            None => Freshness::Unknown,
            Some(s) => match newer(key_of(entry), (s.lsp.sequence, s.purged, s.checksum)) {
                std::cmp::Ordering::Greater => Freshness::Newer,
                std::cmp::Ordering::Equal => Freshness::Same,
                std::cmp::Ordering::Less => Freshness::Older,
            },
        }
    }

    fn origin(&self, slot: Slot) -> Option<&Origin> {
        self.slots.get(slot as usize)?.as_ref()
    }

    fn slot_for(&mut self, system: SystemId) -> Slot {
        if let Some(&s) = self.index.get(&system) {
            return s;
        }
        let o = Origin {
            system,
            fragments: Fragments::default(),
            reachable: system == self.me,
            unreachable_since: None,
            was_reachable: false,
            homes_in_table: 0,
        };
        let slot = match self.free.pop_front() {
            Some(s) => {
                self.slots[s as usize] = Some(o);
                s
            }
            None => {
                self.slots.push(Some(o));
                (self.slots.len() - 1) as Slot
            }
        };
        self.index.insert(system, slot);
        slot
    }

    /// Stores `lsp` (newer than what is stored: check with
    /// [`Lsdb::freshness`] first) received or originated at `now`.
    pub fn install(&mut self, now: Duration, lsp: Lsp) -> Result<Installed, Refused> {
        let id = lsp.id;
        if id.fragment >= self.limits.max_fragments {
            self.stats.overflow_fragments += 1;
            return Err(Refused::FragmentOutOfRange);
        }
        if !self.index.contains_key(&id.origin) && self.index.len() >= self.limits.max_bridges {
            self.stats.overflow_bridges += 1;
            return Err(Refused::TooManyBridges);
        }
        let slot = self.slot_for(id.origin);
        let purged = lsp.lifetime_secs == 0;
        let checksum = lsp.content_checksum();
        let expires = if purged {
            now + ZERO_AGE_LIFETIME
        } else {
            now + Duration::from_secs(u64::from(lsp.lifetime_secs))
        };
        let stored = StoredLsp {
            lsp,
            checksum,
            expires,
            purged,
        };
        Ok(self.replace(slot, id.fragment, Some(stored)))
    }

    /// Replaces (or removes) one fragment, keeping the home table and the
    /// change flags right.
    fn replace(&mut self, slot: Slot, fragment: u16, new: Option<StoredLsp>) -> Installed {
        let o = self.slots[slot as usize].as_mut().expect("slot in use");
        let old = match new {
            Some(n) => o.fragments.insert(fragment, n),
            None => o.fragments.remove(&fragment),
        };
        let new = o.fragments.get(&fragment);
        fn live(s: Option<&StoredLsp>) -> Option<&Lsp> {
            s.filter(|s| !s.purged).map(|s| &s.lsp)
        }
        let (old_l, new_l) = (live(old.as_ref()), live(new));
        fn topo(l: Option<&Lsp>) -> (&[crate::wire::Adjacency], Option<crate::wire::SystemInfo>) {
            l.map_or((&[], None), |l| (&l.adjacencies[..], l.system))
        }
        let topology_changed = topo(old_l) != topo(new_l);
        fn homes(l: Option<&Lsp>) -> (&[MacHome], &[MacMove]) {
            l.map_or((&[], &[]), |l| (&l.mac_homes[..], &l.mac_moves[..]))
        }
        let homes_changed = homes(old_l) != homes(new_l);
        let empty: &[BindingEntry] = &[];
        let bindings_changed =
            old_l.map_or(empty, |l| &l.bindings[..]) != new_l.map_or(empty, |l| &l.bindings[..]);
        if homes_changed {
            let old_h = homes(old_l).0.to_vec();
            let (new_h, new_m) = homes(new_l);
            let new_h = new_h.to_vec();
            // Moves are few (hosts that moved): a map only when there are some.
            let moves: HashMap<MacHome, u32> = new_m.iter().map(|m| (m.home, m.sequence)).collect();
            for h in &old_h {
                self.remove_home(slot, fragment, h);
            }
            for h in &new_h {
                let sequence = moves.get(h).copied().unwrap_or(0);
                self.add_home(
                    h,
                    Advert {
                        slot,
                        fragment,
                        sequence,
                    },
                );
            }
        }
        Installed {
            slot,
            topology_changed,
            homes_changed,
            bindings_changed,
        }
    }

    fn add_home(&mut self, h: &MacHome, advert: Advert) {
        let slot = advert.slot;
        let total = self.homes.len();
        let o = self.slots[slot as usize].as_mut().expect("slot in use");
        if o.homes_in_table >= self.limits.max_mac_homes_per_bridge {
            self.stats.overflow_mac_homes += 1;
            return;
        }
        let k = home_key(h);
        match self.homes.get_mut(&k) {
            None => {
                if total >= self.limits.max_mac_homes_total {
                    self.stats.overflow_mac_homes += 1;
                    return;
                }
                self.homes.insert(k, Advertisers::One(advert));
            }
            Some(a) => {
                let mut list = match a {
                    Advertisers::One(x) => vec![*x],
                    Advertisers::Many(v) => std::mem::take(v),
                };
                list.push(advert);
                *a = Advertisers::Many(list);
            }
        }
        o.homes_in_table += 1;
    }

    fn remove_home(&mut self, slot: Slot, fragment: u16, h: &MacHome) {
        let k = home_key(h);
        let Some(a) = self.homes.get_mut(&k) else {
            return;
        };
        let ours = |x: &Advert| (x.slot, x.fragment) == (slot, fragment);
        let removed = match a {
            Advertisers::One(x) if ours(x) => {
                self.homes.remove(&k);
                true
            }
            Advertisers::One(..) => false,
            Advertisers::Many(v) => match v.iter().position(ours) {
                Some(i) => {
                    v.swap_remove(i);
                    if v.len() == 1 {
                        *a = Advertisers::One(v[0]);
                    }
                    true
                }
                None => false,
            },
        };
        if removed {
            if let Some(o) = self.slots[slot as usize].as_mut() {
                o.homes_in_table -= 1;
            }
        }
    }

    /// The switch a MAC home belongs to: among its reachable advertisers
    /// the one with the highest move sequence (the host moved there last),
    /// at equal sequence the lowest SystemId (every switch picks the same
    /// one), else `None`.
    pub fn home(&self, h: &MacHome) -> Option<Slot> {
        self.home_by_key(home_key(h))
    }

    /// The order advertisements win in: higher sequence, then lower
    /// SystemId.
    fn rank(&self, slot: Slot, sequence: u32) -> (u32, std::cmp::Reverse<Option<SystemId>>) {
        (sequence, std::cmp::Reverse(self.system_of(slot)))
    }

    fn home_by_key(&self, k: u64) -> Option<Slot> {
        match self.homes.get(&k)? {
            Advertisers::One(a) => self.is_reachable(a.slot).then_some(a.slot),
            Advertisers::Many(v) => v
                .iter()
                .filter(|a| self.is_reachable(a.slot))
                .max_by_key(|a| self.rank(a.slot, a.sequence))
                .map(|a| a.slot),
        }
    }

    /// The highest move sequence any other switch advertises `h` with
    /// (reachable or not: one that comes back must not outrank a later
    /// move), or `None` if no other switch advertises it.
    pub fn others_sequence(&self, h: &MacHome) -> Option<u32> {
        let me = self.my_slot();
        self.homes
            .get(&home_key(h))?
            .all()
            .iter()
            .filter(|a| a.slot != me)
            .map(|a| a.sequence)
            .max()
    }

    /// The reachable switch whose advertisement of `h` beats this switch
    /// advertising it with `sequence`, if any: the host has moved there.
    pub fn outranked(&self, h: &MacHome, sequence: u32) -> Option<Slot> {
        let me = self.my_slot();
        let mine = self.rank(me, sequence);
        self.homes
            .get(&home_key(h))?
            .all()
            .iter()
            .filter(|a| a.slot != me && self.is_reachable(a.slot))
            .filter(|a| self.rank(a.slot, a.sequence) > mine)
            .max_by_key(|a| self.rank(a.slot, a.sequence))
            .map(|a| a.slot)
    }

    /// The ARPless bindings of every other reachable switch: what this
    /// switch's responder may answer for hosts elsewhere (FILTERS.md).
    pub fn remote_bindings(&self) -> impl Iterator<Item = &BindingEntry> + '_ {
        let me = self.my_slot();
        self.slots
            .iter()
            .enumerate()
            .filter(move |(i, o)| *i as Slot != me && o.as_ref().is_some_and(|o| o.reachable))
            .flat_map(|(_, o)| o.iter().flat_map(|o| o.fragments.values()))
            .filter(|f| !f.purged)
            .flat_map(|f| &f.lsp.bindings)
    }

    /// Every MAC home with the switch it belongs to (see [`Lsdb::home`]),
    /// unreachable ones left out.
    pub fn homes(&self) -> impl Iterator<Item = (MacHome, Slot)> + '_ {
        self.homes
            .keys()
            .filter_map(|&k| self.home_by_key(k).map(|s| (home_of_key(k), s)))
    }

    /// MAC homes in the table (reachable or not).
    pub fn home_count(&self) -> usize {
        self.homes.len()
    }

    /// Fills `b` with every advertised adjacency of every live origin but
    /// those `excluded(origin slot, local port)` names, and a slot for every
    /// origin.
    pub fn graph_into(&self, b: &mut GraphBuilder, excluded: impl Fn(Slot, PortIndex) -> bool) {
        for (slot, o) in self.slots.iter().enumerate() {
            let Some(o) = o else { continue };
            b.add_slot(slot as Slot);
            for f in o.fragments.values().filter(|f| !f.purged) {
                for a in &f.lsp.adjacencies {
                    let Some(&to) = self.index.get(&a.neighbour) else {
                        continue;
                    };
                    if excluded(slot as Slot, a.local_port as PortIndex) {
                        continue;
                    }
                    b.add_advertisement(Advertisement {
                        from: slot as Slot,
                        to,
                        local_port: a.local_port as PortIndex,
                        remote_port: a.remote_port as PortIndex,
                        cost: a.cost,
                    });
                }
            }
        }
    }

    /// Records SPF's verdict on each slot at `now`; returns whether any
    /// origin became reachable or unreachable.
    pub fn set_reachability(&mut self, now: Duration, reachable: impl Fn(Slot) -> bool) -> bool {
        let me = self.me;
        let mut changed = false;
        for (slot, o) in self.slots.iter_mut().enumerate() {
            let Some(o) = o else { continue };
            let r = o.system == me || reachable(slot as Slot);
            if r != o.reachable {
                changed = true;
                o.reachable = r;
            }
            o.was_reachable |= r;
            o.unreachable_since = if r {
                None
            } else {
                o.unreachable_since.or(Some(now))
            };
        }
        changed
    }

    /// Fragments whose lifetime ran out by `now` (not our own: we refresh
    /// them before), to be purged by the caller.
    pub fn expired(&self, now: Duration) -> Vec<LspId> {
        self.slots
            .iter()
            .flatten()
            .filter(|o| o.system != self.me)
            .flat_map(|o| o.fragments.values())
            .filter(|f| !f.purged && f.expires <= now)
            .map(|f| f.lsp.id)
            .collect()
    }

    /// Turns a stored fragment into a purge at `now` (its lifetime ran
    /// out, or its originator withdrew it).
    pub fn purge(&mut self, now: Duration, id: &LspId) -> Option<Installed> {
        let slot = self.slot_of(id.origin)?;
        let o = self.slots[slot as usize].as_ref()?;
        let f = o.fragments.get(&id.fragment)?;
        if f.purged {
            return None;
        }
        let mut lsp = Lsp::new(f.lsp.id, f.lsp.sequence, 0);
        // A purge keeps only the header (ISO 10589 7.3.16.4), but fragment
        // 0 must still carry SYSTEM to be encodable.
        lsp.system = f.lsp.system;
        self.stats.expired += u64::from(o.system != self.me);
        let stored = StoredLsp {
            checksum: lsp.content_checksum(),
            lsp,
            expires: now + ZERO_AGE_LIFETIME,
            purged: true,
        };
        Some(self.replace(slot, id.fragment, Some(stored)))
    }

    /// Forgets purges older than [`ZERO_AGE_LIFETIME`], origins without
    /// fragments, and origins unreachable for longer than `hold`. Returns
    /// whether the topology changed.
    pub fn sweep(&mut self, now: Duration, hold: Duration) -> bool {
        let mut changed = false;
        let me = self.me;
        let mut drop_frags: Vec<(Slot, u16)> = Vec::new();
        let mut drop_origins: Vec<Slot> = Vec::new();
        for (slot, o) in self.slots.iter().enumerate() {
            let Some(o) = o else { continue };
            if o.system == me {
                continue;
            }
            if o.unreachable_since
                .is_some_and(|t| now.saturating_sub(t) >= hold)
            {
                drop_origins.push(slot as Slot);
                continue;
            }
            for (n, f) in o.fragments.iter() {
                if f.purged && f.expires <= now {
                    drop_frags.push((slot as Slot, n));
                }
            }
            if o.fragments.is_empty() {
                drop_origins.push(slot as Slot);
            }
        }
        for (slot, n) in drop_frags {
            changed |= self.replace(slot, n, None).topology_changed;
            if self.origin(slot).is_some_and(|o| o.fragments.is_empty()) {
                drop_origins.push(slot);
            }
        }
        for slot in drop_origins {
            let Some(o) = self.slots[slot as usize].as_ref() else {
                continue;
            };
            let unreachable = o.unreachable_since.is_some();
            let frags: Vec<u16> = o.fragments.keys().collect();
            for n in frags {
                changed |= self.replace(slot, n, None).topology_changed;
            }
            if let Some(o) = self.slots[slot as usize].take() {
                self.index.remove(&o.system);
                self.free.push_back(slot);
                self.stats.unreachable_purged += u64::from(unreachable);
                changed = true;
            }
        }
        changed
    }

    /// Heap bytes held, roughly: for memory bounds in tests and `satctl`.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let lsps: usize = self
            .slots
            .iter()
            .flatten()
            .map(|o| {
                o.fragments.heap_bytes()
                    + o.fragments
                        .values()
                        .map(|f| {
                            let l = &f.lsp;
                            l.adjacencies.capacity() * size_of::<crate::wire::Adjacency>()
                                + l.mac_homes.capacity() * size_of::<MacHome>()
                                + l.bindings.capacity() * size_of::<crate::wire::BindingEntry>()
                                + l.hostname.as_ref().map_or(0, |h| h.as_str().len())
                                + l.other_tlvs
                                    .iter()
                                    .map(|t| size_of::<crate::wire::RawTlv>() + t.value.len())
                                    .sum::<usize>()
                        })
                        .sum::<usize>()
            })
            .sum();
        lsps + self.slots.capacity() * size_of::<Option<Origin>>()
            + self.index.capacity() * (size_of::<SystemId>() + 4 + 8)
            + self.homes.capacity() * (8 + size_of::<Advertisers>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MacAddr;
    use crate::wire::{Adjacency, SystemInfo};

    fn sys(n: u8) -> SystemId {
        SystemId(MacAddr([2, 0, 0, 0, 0, n]))
    }

    fn lsp(origin: u8, frag: u16, seq: u64) -> Lsp {
        let mut l = Lsp::new(
            LspId {
                origin: sys(origin),
                fragment: frag,
            },
            seq,
            1200,
        );
        if frag == 0 {
            l.system = Some(SystemInfo::default());
        }
        l
    }

    fn home(n: u8) -> MacHome {
        MacHome {
            vid: 10,
            mac: MacAddr([2, 9, 9, 9, 9, n]),
        }
    }

    #[test]
    fn newer_copies_win_by_sequence_then_purge_then_checksum() {
        use std::cmp::Ordering::*;
        assert_eq!(newer((2, false, 0), (1, true, 9)), Greater);
        assert_eq!(newer((1, true, 0), (1, false, 9)), Greater);
        assert_eq!(newer((1, false, 5), (1, false, 9)), Less);
        assert_eq!(newer((1, false, 5), (1, false, 5)), Equal);
    }

    #[test]
    fn install_tracks_freshness_topology_and_homes() {
        let mut db = Lsdb::new(sys(1), Limits::default());
        let mut a = lsp(2, 0, 5);
        a.adjacencies.push(Adjacency {
            neighbour: sys(1),
            local_port: 0,
            remote_port: 1,
            cost: 10,
        });
        assert_eq!(db.freshness(&a.entry()), Freshness::Unknown);
        let i = db.install(Duration::ZERO, a.clone()).unwrap();
        assert!(i.topology_changed && !i.homes_changed);
        assert_eq!(db.freshness(&a.entry()), Freshness::Same);
        let mut b = lsp(2, 1, 1);
        b.mac_homes.push(home(1));
        let i = db.install(Duration::ZERO, b).unwrap();
        assert!(!i.topology_changed && i.homes_changed);
        // Unreachable origins own no homes the data path may use.
        assert_eq!(db.home(&home(1)), None);
        db.set_reachability(Duration::ZERO, |s| s == i.slot);
        assert_eq!(db.home(&home(1)), Some(i.slot));
        let mut older = a.clone();
        older.sequence = 4;
        assert_eq!(db.freshness(&older.entry()), Freshness::Older);
    }

    #[test]
    fn a_home_at_two_switches_belongs_to_the_lowest_reachable_one() {
        let mut db = Lsdb::new(sys(1), Limits::default());
        let mut x = lsp(3, 1, 1);
        x.mac_homes.push(home(7));
        let mut y = lsp(2, 1, 1);
        y.mac_homes.push(home(7));
        let sx = db.install(Duration::ZERO, x).unwrap().slot;
        let sy = db.install(Duration::ZERO, y).unwrap().slot;
        db.set_reachability(Duration::ZERO, |_| true);
        assert_eq!(db.home(&home(7)), Some(sy), "sys(2) < sys(3)");
        db.set_reachability(Duration::ZERO, |s| s == sx);
        assert_eq!(db.home(&home(7)), Some(sx));
        // Withdrawn at y: x alone.
        db.install(Duration::ZERO, lsp(2, 1, 2)).unwrap();
        db.set_reachability(Duration::ZERO, |_| true);
        assert_eq!(db.home(&home(7)), Some(sx));
        assert_eq!(db.home_count(), 1);
    }

    #[test]
    fn a_home_that_moved_belongs_to_the_higher_move_sequence_and_outranks_ours() {
        let mut db = Lsdb::new(sys(1), Limits::default());
        // sys(2) had the host; sys(3) learned it and outranks with 1.
        let mut old = lsp(2, 1, 1);
        old.mac_homes.push(home(7));
        let mut new = lsp(3, 1, 1);
        new.mac_homes.push(home(7));
        new.mac_moves.push(MacMove {
            home: home(7),
            sequence: 1,
        });
        let s2 = db.install(Duration::ZERO, old).unwrap().slot;
        db.set_reachability(Duration::ZERO, |_| true);
        assert_eq!(db.home(&home(7)), Some(s2));
        assert_eq!(db.others_sequence(&home(7)), Some(0));
        let i = db.install(Duration::ZERO, new).unwrap();
        assert!(i.homes_changed);
        db.set_reachability(Duration::ZERO, |_| true);
        assert_eq!(
            db.home(&home(7)),
            Some(i.slot),
            "the move wins over the lower SystemId"
        );
        assert_eq!(db.others_sequence(&home(7)), Some(1));
        // At equal sequence the lower SystemId wins: ours, sys(1).
        assert_eq!(db.outranked(&home(7), 1), None);
        assert_eq!(db.outranked(&home(7), 0), Some(i.slot));
        // An unreachable advertiser outranks nobody.
        db.set_reachability(Duration::ZERO, |s| s != i.slot);
        assert_eq!(db.outranked(&home(7), 0), None);
        assert_eq!(db.home(&home(7)), Some(s2));
        // A sequence change alone (same homes) is a homes change.
        let mut again = lsp(3, 1, 2);
        again.mac_homes.push(home(7));
        again.mac_moves.push(MacMove {
            home: home(7),
            sequence: 5,
        });
        assert!(db.install(Duration::ZERO, again).unwrap().homes_changed);
        assert_eq!(db.others_sequence(&home(7)), Some(5));
    }

    #[test]
    fn limits_refuse_origins_and_fragments_and_cap_homes() {
        let limits = Limits {
            max_bridges: 2,
            max_fragments: 2,
            max_mac_homes_per_bridge: 2,
            max_mac_homes_total: 3,
        };
        let mut db = Lsdb::new(sys(1), limits);
        assert!(db.install(Duration::ZERO, lsp(2, 0, 1)).is_ok());
        assert_eq!(
            db.install(Duration::ZERO, lsp(3, 0, 1)),
            Err(Refused::TooManyBridges)
        );
        assert_eq!(
            db.install(Duration::ZERO, lsp(2, 2, 1)),
            Err(Refused::FragmentOutOfRange)
        );
        let mut f = lsp(2, 1, 1);
        f.mac_homes = (1..=4).map(home).collect();
        db.install(Duration::ZERO, f).unwrap();
        assert_eq!(db.home_count(), 2);
        let s = db.stats();
        assert_eq!(
            (
                s.overflow_bridges,
                s.overflow_fragments,
                s.overflow_mac_homes
            ),
            (1, 1, 2)
        );
    }

    #[test]
    fn expiry_purges_then_forgets_and_unreachable_origins_go() {
        let mut db = Lsdb::new(sys(1), Limits::default());
        let mut l = lsp(2, 0, 1);
        l.lifetime_secs = 10;
        l.adjacencies.push(Adjacency {
            neighbour: sys(1),
            local_port: 0,
            remote_port: 0,
            cost: 1,
        });
        db.install(Duration::ZERO, l).unwrap();
        let id = LspId {
            origin: sys(2),
            fragment: 0,
        };
        assert_eq!(db.get(&id).unwrap().remaining(Duration::from_secs(4)), 6);
        assert!(db.expired(Duration::from_secs(9)).is_empty());
        let t = Duration::from_secs(10);
        assert_eq!(db.expired(t), vec![id]);
        assert!(db.purge(t, &id).unwrap().topology_changed);
        assert_eq!(db.get(&id).unwrap().remaining(t), 0);
        assert!(!db.sweep(t + Duration::from_secs(59), Duration::from_secs(1000)));
        assert!(db.sweep(t + ZERO_AGE_LIFETIME, Duration::from_secs(1000)));
        assert_eq!(db.slot_of(sys(2)), None);
        // Unreachable for the hold: removed whole, slot reused later.
        db.install(t, lsp(3, 0, 1)).unwrap();
        db.set_reachability(t, |_| false);
        assert!(!db.sweep(t + Duration::from_secs(5), Duration::from_secs(30)));
        assert!(db.sweep(t + Duration::from_secs(30), Duration::from_secs(30)));
        assert_eq!(db.origin_count(), 1, "only me");
        assert_eq!(db.stats().unreachable_purged, 1);
    }
}
