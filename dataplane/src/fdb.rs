//! The filtering database: (VLAN ID, MAC) → port, with aging, a capacity
//! bound and a per-port learn limit.
//!
//! The control lcore owns the only [`Fdb`]; workers see it as an immutable
//! [`FdbView`] inside the forwarding snapshot. The table is split into
//! shards, each behind an `Arc`: publishing a view clones the shard
//! pointers, and the next change to a shard copies that shard only
//! (`Arc::make_mut`), so a learn event in a million-entry table costs one
//! small shard copy, not a table copy, and a worker reading the old view is
//! never disturbed.

use hashbrown::HashTable;
use std::sync::Arc;

use crate::snapshot::PortIndex;

/// FDB key: outer VLAN ID and MAC packed into one word (VID in bits 48..60).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FdbKey(u64);

impl FdbKey {
    #[inline]
    pub fn new(vid: u16, mac: [u8; 6]) -> FdbKey {
        let m = u64::from_be_bytes([0, 0, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]]);
        FdbKey(((vid as u64 & 0x0FFF) << 48) | m)
    }
    pub fn vid(self) -> u16 {
        (self.0 >> 48) as u16
    }
    pub fn mac(self) -> [u8; 6] {
        let b = self.0.to_be_bytes();
        [b[2], b[3], b[4], b[5], b[6], b[7]]
    }
    pub fn raw(self) -> u64 {
        self.0
    }
}

/// What a worker needs to know about a learned address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdbEntry {
    pub port: PortIndex,
    /// Coarse time (seconds) the entry was learned or last refreshed.
    pub stamp: u32,
}

const SHARD_BITS: u32 = 8;
const SHARDS: usize = 1 << SHARD_BITS;

type Shard = HashTable<(FdbKey, FdbEntry)>;

/// An immutable view of the FDB, cheap to clone (shard pointers only).
#[derive(Clone)]
pub struct FdbView {
    shards: Arc<[Arc<Shard>]>,
    hasher: ahash::RandomState,
}

impl FdbView {
    /// Looks up one key. One hash, one shard, one probe sequence.
    #[inline]
    pub fn get(&self, key: FdbKey) -> Option<FdbEntry> {
        let h = self.hasher.hash_one(key.0);
        let shard = &self.shards[(h >> (64 - SHARD_BITS)) as usize];
        shard.find(h, |(k, _)| *k == key).map(|(_, e)| *e)
    }

    /// Number of entries (walks the shards; for management, not per packet).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Result of one learn event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnOutcome {
    New,
    Moved {
        from: PortIndex,
    },
    Refreshed,
    /// The table is at capacity; the address stays unknown (flooded).
    TableFull,
    /// The port has reached its learn limit.
    PortLimit,
}

/// Counters of what the FDB did, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FdbStats {
    pub learned: u64,
    pub moved: u64,
    pub aged: u64,
    pub flushed: u64,
    pub table_full: u64,
    pub port_limit: u64,
}

/// The authoritative FDB, owned by the control lcore.
pub struct Fdb {
    shards: Vec<Arc<Shard>>,
    hasher: ahash::RandomState,
    len: usize,
    capacity: usize,
    per_port_limit: u32,
    per_port: Vec<u32>,
    aging_secs: u32,
    dirty: bool,
    stats: FdbStats,
}

impl Fdb {
    /// `capacity` bounds the whole table, `per_port_limit` each port, and
    /// entries not refreshed for `aging_secs` are removed by [`Fdb::age`].
    pub fn new(capacity: usize, per_port_limit: u32, aging_secs: u32) -> Fdb {
        Fdb {
            shards: (0..SHARDS).map(|_| Arc::new(Shard::new())).collect(),
            hasher: ahash::RandomState::new(),
            len: 0,
            capacity,
            per_port_limit,
            per_port: Vec::new(),
            aging_secs,
            dirty: true,
            stats: FdbStats::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    pub fn aging_secs(&self) -> u32 {
        self.aging_secs
    }
    pub fn stats(&self) -> FdbStats {
        self.stats
    }

    /// True when something changed since the last [`Fdb::view`].
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    fn port_count_mut(&mut self, port: PortIndex) -> &mut u32 {
        let i = port as usize;
        if self.per_port.len() <= i {
            self.per_port.resize(i + 1, 0);
        }
        &mut self.per_port[i]
    }

    /// Entries learned on `port`.
    pub fn port_len(&self, port: PortIndex) -> u32 {
        self.per_port.get(port as usize).copied().unwrap_or(0)
    }

    #[inline]
    fn locate(&self, key: FdbKey) -> (u64, usize) {
        let h = self.hasher.hash_one(key.0);
        (h, (h >> (64 - SHARD_BITS)) as usize)
    }

    pub fn get(&self, key: FdbKey) -> Option<FdbEntry> {
        let (h, s) = self.locate(key);
        self.shards[s].find(h, |(k, _)| *k == key).map(|(_, e)| *e)
    }

    /// Learns (or refreshes, or moves) `key` on `port` at time `now`.
    pub fn learn(&mut self, key: FdbKey, port: PortIndex, now: u32) -> LearnOutcome {
        let (h, s) = self.locate(key);
        let existing = self.shards[s].find(h, |(k, _)| *k == key).map(|(_, e)| *e);
        match existing {
            Some(e) if e.port == port => {
                if e.stamp == now {
                    return LearnOutcome::Refreshed;
                }
                let shard = Arc::make_mut(&mut self.shards[s]);
                if let Some((_, e)) = shard.find_mut(h, |(k, _)| *k == key) {
                    e.stamp = now;
                }
                self.dirty = true;
                LearnOutcome::Refreshed
            }
            Some(e) => {
                if *self.port_count_mut(port) >= self.per_port_limit {
                    self.stats.port_limit += 1;
                    return LearnOutcome::PortLimit;
                }
                *self.port_count_mut(e.port) -= 1;
                *self.port_count_mut(port) += 1;
                let shard = Arc::make_mut(&mut self.shards[s]);
                if let Some((_, e)) = shard.find_mut(h, |(k, _)| *k == key) {
                    *e = FdbEntry { port, stamp: now };
                }
                self.dirty = true;
                self.stats.moved += 1;
                LearnOutcome::Moved { from: e.port }
            }
            None => {
                if self.len >= self.capacity {
                    self.stats.table_full += 1;
                    return LearnOutcome::TableFull;
                }
                if *self.port_count_mut(port) >= self.per_port_limit {
                    self.stats.port_limit += 1;
                    return LearnOutcome::PortLimit;
                }
                *self.port_count_mut(port) += 1;
                let hasher = self.hasher.clone();
                Arc::make_mut(&mut self.shards[s]).insert_unique(
                    h,
                    (key, FdbEntry { port, stamp: now }),
                    move |(k, _)| hasher.hash_one(k.0),
                );
                self.len += 1;
                self.dirty = true;
                self.stats.learned += 1;
                LearnOutcome::New
            }
        }
    }

    fn remove_where(&mut self, mut pred: impl FnMut(&FdbKey, &FdbEntry) -> bool) -> usize {
        let mut removed = 0;
        for s in 0..SHARDS {
            if !self.shards[s].iter().any(|(k, e)| pred(k, e)) {
                continue;
            }
            let shard = Arc::make_mut(&mut self.shards[s]);
            let mut gone: Vec<PortIndex> = Vec::new();
            shard.retain(|(k, e)| {
                let keep = !pred(k, e);
                if !keep {
                    gone.push(e.port);
                }
                keep
            });
            for p in gone {
                *self.port_count_mut(p) -= 1;
                removed += 1;
            }
        }
        if removed > 0 {
            self.len -= removed;
            self.dirty = true;
        }
        removed
    }

    /// Removes entries not refreshed within the aging time; returns how many.
    pub fn age(&mut self, now: u32) -> usize {
        let max = self.aging_secs;
        let n = self.remove_where(|_, e| now.wrapping_sub(e.stamp) > max);
        self.stats.aged += n as u64;
        n
    }

    /// Removes every entry learned on `port` (topology change, port down).
    pub fn flush_port(&mut self, port: PortIndex) -> usize {
        let n = self.remove_where(|_, e| e.port == port);
        self.stats.flushed += n as u64;
        n
    }

    /// Removes every entry.
    pub fn flush_all(&mut self) -> usize {
        let n = self.remove_where(|_, _| true);
        self.stats.flushed += n as u64;
        n
    }

    /// Sorted copy of all entries (for `satctl show fdb`).
    pub fn entries(&self) -> Vec<(FdbKey, FdbEntry)> {
        let mut v: Vec<_> = self.shards.iter().flat_map(|s| s.iter().copied()).collect();
        v.sort_by_key(|(k, _)| (k.vid(), k.mac()));
        v
    }

    /// An immutable view sharing every shard with this table; clears the
    /// dirty flag.
    pub fn view(&self) -> FdbView {
        FdbView {
            shards: self.shards.to_vec().into(),
            hasher: self.hasher.clone(),
        }
    }

    /// Marks the current contents as published.
    pub fn mark_published(&mut self) {
        self.dirty = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(i: u32) -> [u8; 6] {
        let b = i.to_be_bytes();
        [0x02, 0, b[0], b[1], b[2], b[3]]
    }

    #[test]
    fn key_roundtrip() {
        let k = FdbKey::new(4095, [1, 2, 3, 4, 5, 6]);
        assert_eq!(k.vid(), 4095);
        assert_eq!(k.mac(), [1, 2, 3, 4, 5, 6]);
        assert_ne!(FdbKey::new(1, mac(1)), FdbKey::new(2, mac(1)));
    }

    #[test]
    fn learn_move_refresh() {
        let mut f = Fdb::new(100, 100, 300);
        let k = FdbKey::new(0, mac(1));
        assert_eq!(f.learn(k, 1, 0), LearnOutcome::New);
        assert_eq!(f.learn(k, 1, 5), LearnOutcome::Refreshed);
        assert_eq!(f.get(k).unwrap().stamp, 5);
        assert_eq!(f.learn(k, 2, 6), LearnOutcome::Moved { from: 1 });
        assert_eq!(f.port_len(1), 0);
        assert_eq!(f.port_len(2), 1);
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn capacity_and_port_limit_are_counted_not_fatal() {
        let mut f = Fdb::new(3, 2, 300);
        assert_eq!(f.learn(FdbKey::new(0, mac(1)), 0, 0), LearnOutcome::New);
        assert_eq!(f.learn(FdbKey::new(0, mac(2)), 0, 0), LearnOutcome::New);
        assert_eq!(
            f.learn(FdbKey::new(0, mac(3)), 0, 0),
            LearnOutcome::PortLimit
        );
        assert_eq!(f.learn(FdbKey::new(0, mac(3)), 1, 0), LearnOutcome::New);
        assert_eq!(
            f.learn(FdbKey::new(0, mac(4)), 1, 0),
            LearnOutcome::TableFull
        );
        assert_eq!(f.len(), 3);
        assert_eq!(f.stats().table_full, 1);
        assert_eq!(f.stats().port_limit, 1);
    }

    #[test]
    fn aging_and_flush() {
        let mut f = Fdb::new(100, 100, 10);
        f.learn(FdbKey::new(0, mac(1)), 0, 0);
        f.learn(FdbKey::new(0, mac(2)), 1, 5);
        f.learn(FdbKey::new(0, mac(3)), 1, 5);
        assert_eq!(f.age(11), 1);
        assert_eq!(f.len(), 2);
        assert_eq!(f.flush_port(1), 2);
        assert!(f.is_empty());
        assert_eq!(f.port_len(1), 0);
    }

    #[test]
    fn published_view_is_unaffected_by_later_changes() {
        let mut f = Fdb::new(100, 100, 300);
        let k = FdbKey::new(0, mac(1));
        f.learn(k, 1, 0);
        let v = f.view();
        f.learn(k, 2, 1);
        f.learn(FdbKey::new(0, mac(2)), 3, 1);
        assert_eq!(v.get(k).unwrap().port, 1);
        assert_eq!(v.len(), 1);
        assert_eq!(f.view().get(k).unwrap().port, 2);
    }

    #[test]
    fn holds_many_entries() {
        let mut f = Fdb::new(200_000, 200_000, 300);
        for i in 0..100_000 {
            assert_eq!(
                f.learn(FdbKey::new(0, mac(i)), (i % 4) as u16, 0),
                LearnOutcome::New
            );
        }
        let v = f.view();
        for i in (0..100_000).step_by(997) {
            assert_eq!(v.get(FdbKey::new(0, mac(i))).unwrap().port, (i % 4) as u16);
        }
        assert_eq!(v.len(), 100_000);
    }
}
