//! This switch's own LSP: what goes into which fragment, and when a
//! fragment gets a new sequence number.
//!
//! Fragment 0 carries SYSTEM, HOSTNAME and the adjacencies: what SPF
//! needs, and nothing that churns with hosts, so a VM that comes or goes
//! never makes a switch rerun SPF. MAC homes and ARPless bindings go in
//! fragments 1 and up with **sticky placement**: an entry stays in the
//! fragment it was put in; a new one goes into the lowest fragment with
//! room. So one host's arrival changes one fragment (one LSP of ≤ 1500
//! octets flooded), never a cascade of shifted fragments, which a sorted
//! packing would cause.
//!
//! A fragment that empties stays originated (empty) rather than purged: it
//! will be the first to take the next entry, and its slot in every
//! database is already there.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use crate::wire::BridgeId;
use crate::wire::{
    Adjacency, BindingEntry, Hostname, Lsp, LspId, MacHome, MacMove, SystemId, SystemInfo,
    BINDING_LEN, LSP_TLV_ROOM, MAC_HOME_LEN, MAC_MOVE_LEN, SYSTEM_TLV_LEN, TLV_HEADER_LEN,
};

/// What fragments 1.. hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Entries {
    homes: Vec<MacHome>,
    bindings: Vec<BindingEntry>,
    /// The move sequences of the homes above that moved (always in the
    /// fragment of their home, so a receiver reads one fragment).
    moves: Vec<MacMove>,
}

impl Entries {
    /// TLV octets these entries take.
    fn octets(&self) -> usize {
        list_octets(self.homes.len(), MAC_HOME_LEN)
            + list_octets(self.bindings.len(), BINDING_LEN)
            + list_octets(self.moves.len(), MAC_MOVE_LEN)
    }

    /// Octets one more entry of `each` octets takes in a list that is
    /// `empty` now.
    fn cost(each: usize, empty: bool) -> usize {
        each + if empty { TLV_HEADER_LEN } else { 0 }
    }

    /// The move sequence of `h` (0 when it has no entry).
    fn sequence(&self, h: &MacHome) -> u32 {
        self.moves
            .iter()
            .find(|m| m.home == *h)
            .map_or(0, |m| m.sequence)
    }
}

fn list_octets(n: usize, each: usize) -> usize {
    if n == 0 {
        0
    } else {
        TLV_HEADER_LEN + n * each
    }
}

/// Why an entry was not advertised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Every fragment up to the limit is full.
    NoRoom,
    /// The per-switch MAC-home limit is reached.
    TooManyHomes,
}

/// The content of this switch's LSP, fragment by fragment.
#[derive(Debug, Clone)]
pub struct Origination {
    me: SystemId,
    bridge_id: BridgeId,
    hostname: Option<Hostname>,
    adjacencies: Vec<Adjacency>,
    /// Fragments 1..: index 0 of this vector is fragment 1.
    frags: Vec<Entries>,
    home_at: HashMap<MacHome, u16>,
    binding_at: HashMap<(u16, Ipv4Addr), u16>,
    /// Sequence number last used, per fragment (index = fragment).
    seq: Vec<u64>,
    initial_sequence: u64,
    dirty: BTreeSet<u16>,
    max_fragments: u16,
    max_homes: usize,
    /// Fragment 0 could not hold every adjacency, or an entry was refused.
    overload: bool,
}

impl Origination {
    /// Nothing advertised yet; fragment 0 is due. Sequence numbers start
    /// above `initial_sequence` (the daemon passes a clock reading, so a
    /// restarted switch outbids its old LSPs without remembering them).
    pub fn new(
        me: SystemId,
        bridge_id: BridgeId,
        initial_sequence: u64,
        max_fragments: u16,
        max_homes: usize,
    ) -> Origination {
        Origination {
            me,
            bridge_id,
            hostname: None,
            adjacencies: Vec::new(),
            frags: Vec::new(),
            home_at: HashMap::new(),
            binding_at: HashMap::new(),
            seq: vec![initial_sequence],
            initial_sequence,
            dirty: BTreeSet::from([0]),
            max_fragments: max_fragments.max(1),
            max_homes,
            overload: false,
        }
    }

    /// Whether some fragment awaits a new sequence number.
    pub fn is_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Number of fragments originated (0 included).
    pub fn fragment_count(&self) -> u16 {
        self.frags.len() as u16 + 1
    }

    /// MAC homes advertised.
    pub fn home_count(&self) -> usize {
        self.home_at.len()
    }

    /// Whether the LSP is incomplete because of a limit.
    pub fn overloaded(&self) -> bool {
        self.overload
    }

    /// The RSTP bridge ID to announce.
    pub fn set_bridge_id(&mut self, b: BridgeId) {
        if b != self.bridge_id {
            self.bridge_id = b;
            self.dirty.insert(0);
        }
    }

    /// The hostname to announce.
    pub fn set_hostname(&mut self, h: Option<Hostname>) {
        if h != self.hostname {
            self.hostname = h;
            self.dirty.insert(0);
        }
    }

    /// The adjacencies to announce (any order; kept sorted by local port).
    pub fn set_adjacencies(&mut self, mut a: Vec<Adjacency>) {
        a.sort_unstable_by_key(|x| (x.local_port, x.neighbour));
        if a != self.adjacencies {
            self.adjacencies = a;
            self.dirty.insert(0);
        }
    }

    /// The adjacencies announced.
    pub fn adjacencies(&self) -> &[Adjacency] {
        &self.adjacencies
    }

    /// Advertises a MAC home with move sequence `sequence`, or changes the
    /// sequence of one advertised. A home whose sequence becomes nonzero
    /// stays in its fragment when the move entry fits there, else it moves
    /// with it to a fragment with room for both.
    pub fn add_home(&mut self, h: MacHome, sequence: u32) -> Result<(), Overflow> {
        if let Some(&f) = self.home_at.get(&h) {
            let e = &mut self.frags[usize::from(f) - 1];
            let i = e.moves.iter().position(|m| m.home == h);
            match (i, sequence) {
                (None, 0) => return Ok(()),
                (Some(i), 0) => {
                    e.moves.swap_remove(i);
                }
                (Some(i), _) if e.moves[i].sequence == sequence => return Ok(()),
                (Some(i), _) => e.moves[i].sequence = sequence,
                (None, _) => {
                    if e.octets() + Entries::cost(MAC_MOVE_LEN, e.moves.is_empty()) > LSP_TLV_ROOM {
                        self.remove_home(&h);
                        return self.add_home(h, sequence);
                    }
                    e.moves.push(MacMove { home: h, sequence });
                }
            }
            self.dirty.insert(f);
            return Ok(());
        }
        if self.home_at.len() >= self.max_homes {
            self.overload = true;
            return Err(Overflow::TooManyHomes);
        }
        let f = self.room_for(|e| {
            Entries::cost(MAC_HOME_LEN, e.homes.is_empty())
                + if sequence > 0 {
                    Entries::cost(MAC_MOVE_LEN, e.moves.is_empty())
                } else {
                    0
                }
        })?;
        let e = &mut self.frags[usize::from(f) - 1];
        e.homes.push(h);
        if sequence > 0 {
            e.moves.push(MacMove { home: h, sequence });
        }
        self.home_at.insert(h, f);
        self.dirty.insert(f);
        Ok(())
    }

    /// The move sequence `h` is advertised with, `None` when it is not.
    pub fn home_sequence(&self, h: &MacHome) -> Option<u32> {
        let f = *self.home_at.get(h)?;
        Some(self.frags[usize::from(f) - 1].sequence(h))
    }

    /// Withdraws a MAC home.
    pub fn remove_home(&mut self, h: &MacHome) {
        if let Some(f) = self.home_at.remove(h) {
            let e = &mut self.frags[usize::from(f) - 1];
            e.homes.retain(|x| x != h);
            e.moves.retain(|m| m.home != *h);
            self.dirty.insert(f);
        }
    }

    /// Advertises a binding (replacing one for the same VLAN and address).
    pub fn add_binding(&mut self, b: BindingEntry) -> Result<(), Overflow> {
        if let Some(&f) = self.binding_at.get(&(b.vid, b.ip)) {
            let e = &mut self.frags[usize::from(f) - 1];
            if let Some(x) = e
                .bindings
                .iter_mut()
                .find(|x| (x.vid, x.ip) == (b.vid, b.ip))
            {
                if *x != b {
                    *x = b;
                    self.dirty.insert(f);
                }
            }
            return Ok(());
        }
        let f = self.room_for(|e| Entries::cost(BINDING_LEN, e.bindings.is_empty()))?;
        self.frags[usize::from(f) - 1].bindings.push(b);
        self.binding_at.insert((b.vid, b.ip), f);
        self.dirty.insert(f);
        Ok(())
    }

    /// Withdraws the binding of `ip` on `vid`.
    pub fn remove_binding(&mut self, vid: u16, ip: Ipv4Addr) {
        if let Some(f) = self.binding_at.remove(&(vid, ip)) {
            let e = &mut self.frags[usize::from(f) - 1];
            e.bindings.retain(|x| (x.vid, x.ip) != (vid, ip));
            self.dirty.insert(f);
        }
    }

    /// The lowest fragment (1..) with room for what `need` says one more
    /// entry costs there; a new fragment if none has room and the limit
    /// allows.
    fn room_for(&mut self, need: impl Fn(&Entries) -> usize) -> Result<u16, Overflow> {
        if let Some(i) = self
            .frags
            .iter()
            .position(|e| e.octets() + need(e) <= LSP_TLV_ROOM)
        {
            return Ok(i as u16 + 1);
        }
        if self.frags.len() + 1 >= usize::from(self.max_fragments) {
            self.overload = true;
            return Err(Overflow::NoRoom);
        }
        self.frags.push(Entries::default());
        self.seq.push(self.initial_sequence);
        Ok(self.frags.len() as u16)
    }

    /// Makes sure fragment `f`'s next sequence number is above `seen` (a
    /// copy of our own LSP from an earlier life came back), and marks it
    /// due. Returns false when we do not originate `f` (the caller purges
    /// that copy instead).
    pub fn outbid(&mut self, f: u16, seen: u64) -> bool {
        let Some(s) = self.seq.get_mut(usize::from(f)) else {
            return false;
        };
        *s = (*s).max(seen);
        self.dirty.insert(f);
        true
    }

    /// Marks every fragment due (the periodic refresh).
    pub fn refresh_all(&mut self) {
        self.dirty.extend(0..self.fragment_count());
    }

    /// The due fragments, each with a new sequence number and
    /// `lifetime_secs` of life.
    pub fn take_due(&mut self, lifetime_secs: u16) -> Vec<Lsp> {
        let due: Vec<u16> = std::mem::take(&mut self.dirty).into_iter().collect();
        due.into_iter()
            .map(|f| self.build(f, lifetime_secs))
            .collect()
    }

    fn build(&mut self, f: u16, lifetime_secs: u16) -> Lsp {
        let seq = &mut self.seq[usize::from(f)];
        *seq += 1;
        let mut l = Lsp::new(
            LspId {
                origin: self.me,
                fragment: f,
            },
            *seq,
            lifetime_secs,
        );
        if f == 0 {
            l.system = Some(SystemInfo {
                bridge_id: self.bridge_id,
                flags: 0,
            });
            l.hostname = self.hostname.clone();
            let fixed = TLV_HEADER_LEN
                + SYSTEM_TLV_LEN
                + self
                    .hostname
                    .as_ref()
                    .map_or(0, |h| TLV_HEADER_LEN + h.as_str().len());
            let room =
                LSP_TLV_ROOM.saturating_sub(fixed + TLV_HEADER_LEN) / crate::wire::ADJACENCY_LEN;
            let n = self.adjacencies.len().min(room);
            l.adjacencies = self.adjacencies[..n].to_vec();
            let over = n < self.adjacencies.len() || self.overload;
            l.flags.set_overload(over);
        } else {
            let e = &self.frags[usize::from(f) - 1];
            l.mac_homes = e.homes.clone();
            l.bindings = e.bindings.clone();
            l.mac_moves = e.moves.clone();
        }
        debug_assert!(l.fits(), "fragment {f} overflows");
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MacAddr;

    fn me() -> SystemId {
        SystemId(MacAddr([2, 0, 0, 0, 0, 1]))
    }

    fn home(i: u32) -> MacHome {
        MacHome {
            vid: 0,
            mac: MacAddr([2, 1, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8]),
        }
    }

    #[test]
    fn fragment_zero_first_then_homes_stick_where_they_were_put() {
        let mut o = Origination::new(me(), BridgeId::default(), 100, 128, 100_000);
        let first = o.take_due(1200);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].id.fragment, 0);
        assert_eq!(first[0].sequence, 101);
        assert!(first[0].system.is_some());
        // 182 homes fill fragment 1 exactly; the 183rd opens fragment 2.
        for i in 0..183 {
            o.add_home(home(i), 0).unwrap();
        }
        let lsps = o.take_due(1200);
        assert_eq!(
            lsps.iter().map(|l| l.id.fragment).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(lsps[0].mac_homes.len(), 182);
        assert!(lsps.iter().all(Lsp::fits));
        // Removing one from fragment 1 and adding another touches fragment 1 only.
        o.remove_home(&home(5));
        o.add_home(home(1000), 0).unwrap();
        let lsps = o.take_due(1200);
        assert_eq!(lsps.len(), 1);
        assert_eq!(lsps[0].id.fragment, 1);
        assert!(lsps[0].mac_homes.contains(&home(1000)));
        assert_eq!(o.home_count(), 183);
    }

    #[test]
    fn adjacency_and_identity_changes_touch_fragment_zero_only() {
        let mut o = Origination::new(me(), BridgeId::default(), 0, 128, 10);
        o.take_due(1200);
        o.add_home(home(1), 0).unwrap();
        o.take_due(1200);
        let a = Adjacency {
            neighbour: SystemId(MacAddr([2, 0, 0, 0, 0, 2])),
            local_port: 1,
            remote_port: 0,
            cost: 20_000,
        };
        o.set_adjacencies(vec![a]);
        o.set_adjacencies(vec![a]);
        let l = o.take_due(1200);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].adjacencies, vec![a]);
        assert_eq!(l[0].sequence, 2);
        assert!(!o.is_dirty());
        o.set_hostname(Hostname::new("s1"));
        assert_eq!(
            o.take_due(1200)[0].hostname.as_ref().unwrap().as_str(),
            "s1"
        );
    }

    #[test]
    fn limits_overload_the_lsp_instead_of_growing() {
        let mut o = Origination::new(me(), BridgeId::default(), 0, 2, 1000);
        for i in 0..182 {
            o.add_home(home(i), 0).unwrap();
        }
        assert_eq!(o.add_home(home(999), 0), Err(Overflow::NoRoom));
        let l = o.take_due(1200);
        assert!(l[0].flags.overload(), "fragment 0 carries the overload bit");
        let mut o = Origination::new(me(), BridgeId::default(), 0, 8, 3);
        for i in 0..3 {
            o.add_home(home(i), 0).unwrap();
        }
        assert_eq!(o.add_home(home(3), 0), Err(Overflow::TooManyHomes));
    }

    #[test]
    fn bindings_share_fragments_with_homes_and_are_replaced_in_place() {
        let mut o = Origination::new(me(), BridgeId::default(), 0, 8, 10);
        o.take_due(1200);
        let b = |mac: u8| BindingEntry {
            vid: 0,
            ip: Ipv4Addr::new(10, 0, 0, 1),
            mac: MacAddr([2, 0, 0, 0, 0, mac]),
        };
        o.add_home(home(1), 0).unwrap();
        o.add_binding(b(1)).unwrap();
        let l = o.take_due(1200);
        assert_eq!(
            (l.len(), l[0].bindings.len(), l[0].mac_homes.len()),
            (1, 1, 1)
        );
        o.add_binding(b(2)).unwrap();
        let l = o.take_due(1200);
        assert_eq!(l[0].bindings, vec![b(2)]);
        o.remove_binding(0, Ipv4Addr::new(10, 0, 0, 1));
        assert!(o.take_due(1200)[0].bindings.is_empty());
    }

    #[test]
    fn a_move_sequence_rides_in_its_homes_fragment_and_goes_with_it() {
        let mut o = Origination::new(me(), BridgeId::default(), 0, 8, 10_000);
        o.take_due(1200);
        o.add_home(home(1), 0).unwrap();
        assert_eq!(o.home_sequence(&home(1)), Some(0));
        o.add_home(home(1), 3).unwrap();
        let l = o.take_due(1200);
        assert_eq!(l.len(), 1, "one fragment changed");
        assert_eq!(l[0].mac_homes, vec![home(1)]);
        assert_eq!(
            l[0].mac_moves,
            vec![MacMove {
                home: home(1),
                sequence: 3
            }]
        );
        // The same sequence again changes nothing.
        o.add_home(home(1), 3).unwrap();
        assert!(!o.is_dirty());
        o.remove_home(&home(1));
        let l = o.take_due(1200);
        assert!(l[0].mac_homes.is_empty() && l[0].mac_moves.is_empty());
        assert_eq!(o.home_sequence(&home(1)), None);
        // A full fragment: a home that gains a move entry with no room for
        // it goes to a fragment that has room for both.
        let mut i = 10;
        while o.fragment_count() < 3 {
            o.add_home(home(i), 0).unwrap();
            i += 1;
        }
        let first = home(10);
        o.take_due(1200);
        o.add_home(first, 1).unwrap();
        let l = o.take_due(1200);
        let with = l.iter().find(|l| l.mac_homes.contains(&first)).unwrap();
        assert_eq!(with.mac_moves.len(), 1);
        assert!(l.iter().all(|l| l.fits()));
    }

    #[test]
    fn an_old_copy_of_our_own_lsp_is_outbid() {
        let mut o = Origination::new(me(), BridgeId::default(), 0, 8, 10);
        o.take_due(1200);
        assert!(o.outbid(0, 500));
        assert_eq!(o.take_due(1200)[0].sequence, 501);
        assert!(!o.outbid(3, 9), "fragment 3 is not ours to outbid");
    }
}
