//! The filtering database: (VLAN ID, MAC) → port, with aging, a capacity
//! bound and a per-port learn limit.
//!
//! The control lcore owns the only [`Fdb`]; workers see it as an immutable
//! [`FdbView`] inside the forwarding snapshot. The table is split into
//! shards, each a reference-counted [`SharedSlice`] in table memory (DPDK's
//! hugepage heap when the EAL has one, see [`crate::tablemem`]), grouped 64
//! to a shared slice: publishing a view
//! clones the group pointers, and the next change to a shard copies that
//! shard (and its group's 64 pointers) only, so a learn event in a
//! million-entry table costs one small shard copy, not a table copy, and a
//! worker reading the old view is never disturbed.
//!
//! Each shard is an open-addressed array of 64-byte buckets holding four
//! entries, key and value side by side, probed bucket by bucket: a lookup
//! touches one cache line (two when a bucket overflowed, rare at the 75 %
//! load the shard grows at), and [`FdbView::prefetch`] lets the worker ask
//! for that line for a whole burst before it classifies the first frame.
//! The hash is a seeded folded multiply: a few cycles, and the random seed
//! keeps an attacker choosing MACs from aiming at one bucket chain.

#![forbid(unsafe_code)]

use crate::tablemem::SharedSlice;
use crate::PortIndex;
use satellite_filters::MacAddr;

/// FDB key: outer VLAN ID and MAC packed into one word (VID in bits 48..60).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FdbKey(u64);

impl FdbKey {
    #[inline]
    pub fn new(vid: u16, mac: [u8; 6]) -> FdbKey {
        Self::from_mac48(vid, MacAddr(mac).to_u64())
    }
    /// From a MAC held as the low 48 bits of a word ([`MacAddr::to_u64`]).
    #[inline]
    pub fn from_mac48(vid: u16, mac: u64) -> FdbKey {
        FdbKey(((vid as u64 & 0x0FFF) << 48) | (mac & 0xFFFF_FFFF_FFFF))
    }
    pub fn vid(self) -> u16 {
        (self.0 >> 48) as u16
    }
    pub fn mac(self) -> [u8; 6] {
        MacAddr::from_u64(self.0).0
    }
    pub fn raw(self) -> u64 {
        self.0
    }
}

/// What a worker needs to know about a learned address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdbEntry {
    /// The port it was learned on; from [`HOME_BASE`] up, a MAC home of
    /// another Satellite switch ([`FdbEntry::home`]).
    pub port: PortIndex,
    /// Coarse time (seconds) the entry was learned or last refreshed.
    pub stamp: u32,
}

/// Port values from here up mark a **MAC home**: a host the link state
/// says lives at another Satellite switch, whose link-state slot is the
/// value minus this base. Homes share the table with learned entries so
/// the worker's one destination lookup answers both; they never age, are
/// never flushed with a port, and count toward no port's limit.
pub const HOME_BASE: PortIndex = 0x8000;

/// Largest slot a home entry can name.
pub const MAX_HOME_SLOT: u32 = (PortIndex::MAX - HOME_BASE) as u32;

impl FdbEntry {
    /// The link-state slot of the switch a MAC home belongs to.
    #[inline(always)]
    pub fn home(&self) -> Option<u32> {
        (self.port >= HOME_BASE).then(|| u32::from(self.port - HOME_BASE))
    }
}

/// A key's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FdbHash(u64);

/// The bucket a key's lookup starts at, in one view of the table
/// ([`FdbView::home_of`]).
#[derive(Clone, Copy)]
pub struct FdbHome<'a>(&'a Bucket);

/// An empty bucket: a home where every lookup misses.
static NO_BUCKET: Bucket = EMPTY_BUCKET;

impl FdbHome<'_> {
    /// A placeholder that finds nothing.
    pub const NONE: FdbHome<'static> = FdbHome(&NO_BUCKET);

    /// Starts loading the bucket, so a lookup a few frames later finds it
    /// in cache.
    #[inline(always)]
    pub fn prefetch(self) {
        crate::prefetch::read(self.0 as *const Bucket);
    }
}

impl std::fmt::Debug for FdbHome<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FdbHome({:p})", self.0)
    }
}

/// Marks a used slot; keys use bits 0..60 only, so an empty slot (0) never
/// equals a stored key.
const OCCUPIED: u64 = 1 << 63;
const SLOTS: usize = 4;

/// One cache line: four keys, then their values.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Bucket {
    keys: [u64; SLOTS],
    vals: [FdbEntry; SLOTS],
}

const _: () = assert!(std::mem::size_of::<Bucket>() == 64);

const EMPTY_BUCKET: Bucket = Bucket {
    keys: [0; SLOTS],
    vals: [FdbEntry { port: 0, stamp: 0 }; SLOTS],
};

/// What a lookup learns from one bucket.
enum InBucket {
    Found(FdbEntry),
    /// Not here, and the bucket has a free slot: the key is nowhere.
    Absent,
    /// Not here, and the bucket is full: the probe goes on.
    Further,
}

impl Bucket {
    fn fill(&mut self, slot: usize, key: FdbKey, entry: FdbEntry) {
        self.keys[slot] = key.0 | OCCUPIED;
        self.vals[slot] = entry;
    }

    /// Looks for the stored key `want` (a key with [`OCCUPIED`] set). The
    /// four keys are compared into a mask, without a branch per slot: which
    /// slot holds a key is random, so such branches mispredict.
    #[inline(always)]
    fn search(&self, want: u64) -> InBucket {
        // Bit 2s set when slot s holds `want`.
        let hits = crate::simd::eq_u64x4(&self.keys, want);
        if hits != 0 {
            InBucket::Found(self.vals[(hits.trailing_zeros() / 2) as usize & (SLOTS - 1)])
        } else if self.keys[SLOTS - 1] == 0 {
            InBucket::Absent
        } else {
            InBucket::Further
        }
    }
}

type Shard = SharedSlice<Bucket>;

/// Shards travel in groups of 64, each group a shared slice of its own: a publish
/// clones one pointer per group rather than one per shard. (Cloning 4,096
/// shard pointers touched 4,096 reference counts, each on its own cache
/// line: about 170 µs per publish.) A change copies its group's 64
/// pointers, then the shard.
type Group = SharedSlice<Shard>;
const GROUP_BITS: u32 = 6;
const GROUP_MASK: usize = (1 << GROUP_BITS) - 1;

/// Shard `s` of `groups`.
#[inline(always)]
fn shard_in(groups: &[Group], s: usize) -> &Shard {
    &groups[s >> GROUP_BITS][s & GROUP_MASK]
}

/// Seeds and shard geometry shared by the table and its views.
#[derive(Clone, Copy)]
struct Hasher {
    seed: u64,
    mul: u64,
    /// 64 − log2(shard count): the hash's top bits pick the shard.
    shard_shift: u32,
}

impl Hasher {
    fn new(shard_bits: u32) -> Hasher {
        Self::seeded(shard_bits, ahash::RandomState::new())
    }

    fn seeded(shard_bits: u32, rs: ahash::RandomState) -> Hasher {
        Hasher {
            seed: rs.hash_one(0x5A7E_u64),
            // Odd, so the multiply is a bijection on the low word.
            mul: rs.hash_one(0x11E_u64) | 1,
            shard_shift: 64 - shard_bits,
        }
    }

    #[inline]
    fn hash(&self, key: FdbKey) -> FdbHash {
        let p = ((key.0 ^ self.seed) as u128).wrapping_mul(self.mul as u128);
        FdbHash((p as u64) ^ ((p >> 64) as u64))
    }

    #[inline]
    fn shard(&self, h: FdbHash) -> usize {
        (h.0 >> self.shard_shift) as usize
    }
}

/// Where a key is, or would go: (bucket, slot).
type Slot = (usize, usize);

/// The bucket a probe for `h` starts at.
#[inline]
fn home(buckets: &[Bucket], h: FdbHash) -> usize {
    h.0 as usize & (buckets.len() - 1)
}

/// Position of `key` in `buckets`: `Ok(slot)` when present, `Err(slot)`
/// of the free slot it would go to when not.
#[inline]
fn probe(buckets: &[Bucket], h: FdbHash, key: FdbKey) -> Result<Slot, Slot> {
    let mask = buckets.len() - 1;
    let want = key.0 | OCCUPIED;
    let mut i = home(buckets, h);
    loop {
        let b = &buckets[i];
        for s in 0..SLOTS {
            if b.keys[s] == want {
                return Ok((i, s));
            }
        }
        // Slots fill in order and are never vacated in place (removal
        // rebuilds the shard), so a bucket with a free slot ends the chain.
        if b.keys[SLOTS - 1] == 0 {
            let s = b.keys.iter().position(|&k| k == 0).unwrap_or(SLOTS - 1);
            return Err((i, s));
        }
        i = (i + 1) & mask;
    }
}

/// The entry of `key` in `buckets`, if any: [`probe`] for the data path.
#[inline(always)]
fn find(buckets: &[Bucket], h: FdbHash, key: FdbKey) -> Option<FdbEntry> {
    let mask = buckets.len() - 1;
    let want = key.0 | OCCUPIED;
    let mut i = home(buckets, h);
    loop {
        match buckets[i].search(want) {
            InBucket::Found(e) => return Some(e),
            InBucket::Absent => return None,
            InBucket::Further => i = (i + 1) & mask,
        }
    }
}

/// An immutable view of the FDB, cheap to clone (shard pointers only).
#[derive(Clone)]
pub struct FdbView {
    groups: SharedSlice<Group>,
    hasher: Hasher,
    len: usize,
}

impl FdbView {
    /// The bucket `key`'s probe starts at. The worker finds it for a whole
    /// burst first, prefetching each ([`FdbHome::prefetch`]), and looks the
    /// keys up afterwards ([`FdbView::get_from`]) without hashing or walking
    /// the shard tables again.
    #[inline(always)]
    pub fn home_of(&self, key: FdbKey) -> FdbHome<'_> {
        let h = self.hasher.hash(key);
        let shard = shard_in(&self.groups, self.hasher.shard(h));
        FdbHome(&shard[home(shard, h)])
    }

    /// Looks `key` up from its home bucket (see [`FdbView::home_of`]).
    /// Almost always the answer is in that bucket; when the bucket has
    /// overflowed and holds no match, the probe starts over from the hash.
    #[inline(always)]
    pub fn get_from(&self, home: FdbHome<'_>, key: FdbKey) -> Option<FdbEntry> {
        match home.0.search(key.0 | OCCUPIED) {
            InBucket::Found(e) => Some(e),
            InBucket::Absent => None,
            InBucket::Further => self.get(key),
        }
    }

    /// Looks up one key.
    #[inline]
    pub fn get(&self, key: FdbKey) -> Option<FdbEntry> {
        let h = self.hasher.hash(key);
        find(shard_in(&self.groups, self.hasher.shard(h)), h, key)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
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

/// Buckets a shard of `n` entries needs to stay at or under 75 % load.
fn buckets_for(n: usize) -> usize {
    (n * 4).div_ceil(3 * SLOTS).max(1).next_power_of_two()
}

/// Shard count for a table of `capacity`: about a thousand entries per
/// shard when full, so the copy a learn event makes stays small; 256 to
/// 4,096 shards.
fn shard_bits_for(capacity: usize) -> u32 {
    let want = (capacity / 1024)
        .max(1)
        .next_power_of_two()
        .trailing_zeros();
    want.clamp(8, 12)
}

/// The authoritative FDB, owned by the control lcore.
pub struct Fdb {
    groups: Vec<Group>,
    shard_len: Vec<usize>,
    hasher: Hasher,
    len: usize,
    capacity: usize,
    per_port_limit: u32,
    /// A port's own learn limit where it differs from `per_port_limit`
    /// (0: the default).
    port_limits: Vec<u32>,
    per_port: Vec<u32>,
    aging_secs: u32,
    dirty: bool,
    stats: FdbStats,
}

impl Fdb {
    /// `capacity` bounds the whole table, `per_port_limit` each port, and
    /// entries not refreshed for `aging_secs` are removed by [`Fdb::age`].
    pub fn new(capacity: usize, per_port_limit: u32, aging_secs: u32) -> Fdb {
        Self::with_hasher(capacity, per_port_limit, aging_secs, Hasher::new)
    }

    /// [`Fdb::new`] with the hash seed derived from `seed` instead of at
    /// random: the same keys then land in the same buckets on every run, so
    /// benchmarks count the same instructions (which keys overflow their
    /// home bucket, and so take the longer lookup, depends on the seed).
    /// The daemon uses [`Fdb::new`]: a seed an attacker cannot know.
    pub fn new_seeded(capacity: usize, per_port_limit: u32, aging_secs: u32, seed: u64) -> Fdb {
        Self::with_hasher(capacity, per_port_limit, aging_secs, |bits| {
            Hasher::seeded(
                bits,
                ahash::RandomState::with_seeds(seed, !seed, seed.rotate_left(17), 0x5A7E),
            )
        })
    }

    fn with_hasher(
        capacity: usize,
        per_port_limit: u32,
        aging_secs: u32,
        hasher: impl FnOnce(u32) -> Hasher,
    ) -> Fdb {
        let bits = shard_bits_for(capacity);
        let hasher = hasher(bits);
        let n = 1usize << bits;
        Fdb {
            groups: (0..n >> GROUP_BITS)
                .map(|_| Group::from_fn(GROUP_MASK + 1, |_| Shard::from_elem(1, EMPTY_BUCKET)))
                .collect(),
            shard_len: vec![0; n],
            hasher,
            len: 0,
            capacity,
            per_port_limit,
            port_limits: Vec::new(),
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

    /// Gives `port` a learn limit of its own (host ports have a smaller
    /// one than fabric ports); 0 restores the table's default.
    pub fn set_port_limit(&mut self, port: PortIndex, limit: u32) {
        let i = port as usize;
        if self.port_limits.len() <= i {
            self.port_limits.resize(i + 1, 0);
        }
        self.port_limits[i] = limit;
    }

    /// The most entries `port` may learn.
    pub fn port_limit(&self, port: PortIndex) -> u32 {
        match self.port_limits.get(port as usize) {
            Some(&l) if l > 0 => l,
            _ => self.per_port_limit,
        }
    }

    /// Whether `port` has learned as many entries as it may.
    pub fn port_full(&self, port: PortIndex) -> bool {
        self.port_len(port) >= self.port_limit(port)
    }

    /// Entries learned on `port`.
    pub fn port_len(&self, port: PortIndex) -> u32 {
        self.per_port.get(port as usize).copied().unwrap_or(0)
    }

    fn shard(&self, s: usize) -> &Shard {
        shard_in(&self.groups, s)
    }

    /// The pointer to shard `s`, writable: its group is copied first when
    /// a published view shares it.
    fn shard_ptr_mut(&mut self, s: usize) -> &mut Shard {
        let g = &mut self.groups[s >> GROUP_BITS];
        if g.get_mut().is_none() {
            *g = Group::from_slice(g);
        }
        &mut g.get_mut().expect("a fresh copy has one owner")[s & GROUP_MASK]
    }

    /// Shard `s`, writable: copied first when a published view shares it.
    fn shard_mut(&mut self, s: usize) -> &mut [Bucket] {
        let shard = self.shard_ptr_mut(s);
        if shard.get_mut().is_none() {
            *shard = Shard::from_slice(shard);
        }
        shard.get_mut().expect("a fresh copy has one owner")
    }

    /// Writes `entry` for `key` into the slot `probe` named.
    fn write(&mut self, s: usize, at: Slot, key: FdbKey, entry: FdbEntry) {
        self.shard_mut(s)[at.0].fill(at.1, key, entry);
    }

    /// Rebuilds shard `s` from `entries`, sized for them plus one.
    fn rebuild(&mut self, s: usize, entries: &[(FdbKey, FdbEntry)]) {
        let mut buckets = vec![EMPTY_BUCKET; buckets_for(entries.len() + 1)];
        for &(k, v) in entries {
            if let Err((b, slot)) = probe(&buckets, self.hasher.hash(k), k) {
                buckets[b].fill(slot, k, v);
            }
        }
        *self.shard_ptr_mut(s) = Shard::from(buckets);
        self.shard_len[s] = entries.len();
    }

    fn shard_entries(shard: &[Bucket]) -> impl Iterator<Item = (FdbKey, FdbEntry)> + '_ {
        shard.iter().flat_map(|b| {
            (0..SLOTS)
                .filter(|&s| b.keys[s] != 0)
                .map(move |s| (FdbKey(b.keys[s] & !OCCUPIED), b.vals[s]))
        })
    }

    fn locate(&self, key: FdbKey) -> (FdbHash, usize, Result<Slot, Slot>) {
        let h = self.hasher.hash(key);
        let s = self.hasher.shard(h);
        (h, s, probe(self.shard(s), h, key))
    }

    pub fn get(&self, key: FdbKey) -> Option<FdbEntry> {
        let h = self.hasher.hash(key);
        find(self.shard(self.hasher.shard(h)), h, key)
    }

    /// Learns (or refreshes, or moves) `key` on `port` at time `now`.
    pub fn learn(&mut self, key: FdbKey, port: PortIndex, now: u32) -> LearnOutcome {
        let (h, s, at) = self.locate(key);
        let fresh = FdbEntry { port, stamp: now };
        match at {
            Ok((b, slot)) => {
                let e = self.shard(s)[b].vals[slot];
                if e.port == port {
                    if e.stamp != now {
                        self.write(s, (b, slot), key, fresh);
                        self.dirty = true;
                    }
                    return LearnOutcome::Refreshed;
                }
                if self.port_full(port) {
                    self.stats.port_limit += 1;
                    return LearnOutcome::PortLimit;
                }
                if e.home().is_none() {
                    *self.port_count_mut(e.port) -= 1;
                }
                *self.port_count_mut(port) += 1;
                self.write(s, (b, slot), key, fresh);
                self.dirty = true;
                self.stats.moved += 1;
                LearnOutcome::Moved { from: e.port }
            }
            Err(mut free) => {
                if self.len >= self.capacity {
                    self.stats.table_full += 1;
                    return LearnOutcome::TableFull;
                }
                if self.port_full(port) {
                    self.stats.port_limit += 1;
                    return LearnOutcome::PortLimit;
                }
                *self.port_count_mut(port) += 1;
                if buckets_for(self.shard_len[s] + 1) > self.shard(s).len() {
                    let all: Vec<_> = Self::shard_entries(self.shard(s)).collect();
                    self.rebuild(s, &all);
                    free = probe(self.shard(s), h, key).expect_err("key is absent");
                }
                self.write(s, free, key, fresh);
                self.shard_len[s] += 1;
                self.len += 1;
                self.dirty = true;
                self.stats.learned += 1;
                LearnOutcome::New
            }
        }
    }

    fn remove_where(&mut self, mut pred: impl FnMut(&FdbKey, &FdbEntry) -> bool) -> usize {
        let mut removed = 0;
        let mut keep = Vec::new();
        for s in 0..self.shard_len.len() {
            // A read-only pass first: most shards lose nothing, and those
            // are neither copied nor rebuilt.
            let shard = self.shard(s).clone();
            if !Self::shard_entries(&shard).any(|(k, e)| pred(&k, &e)) {
                continue;
            }
            keep.clear();
            for (k, e) in Self::shard_entries(&shard) {
                if pred(&k, &e) {
                    if e.home().is_none() {
                        *self.port_count_mut(e.port) -= 1;
                    }
                } else {
                    keep.push((k, e));
                }
            }
            removed += self.shard_len[s] - keep.len();
            self.rebuild(s, &keep);
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
        let n = self.remove_where(|_, e| e.home().is_none() && now.wrapping_sub(e.stamp) > max);
        self.stats.aged += n as u64;
        n
    }

    /// Makes `key` a MAC home of the switch in link-state `slot`
    /// (replacing what was learned for it). Returns false when the slot is
    /// beyond [`MAX_HOME_SLOT`] or the table is full.
    pub fn set_home(&mut self, key: FdbKey, slot: u32) -> bool {
        if slot > MAX_HOME_SLOT {
            return false;
        }
        let entry = FdbEntry {
            port: HOME_BASE + slot as PortIndex,
            stamp: 0,
        };
        let (h, s, at) = self.locate(key);
        match at {
            Ok((b, i)) => {
                let e = self.shard(s)[b].vals[i];
                if e == entry {
                    return true;
                }
                if e.home().is_none() {
                    *self.port_count_mut(e.port) -= 1;
                }
                self.write(s, (b, i), key, entry);
            }
            Err(mut free) => {
                if self.len >= self.capacity {
                    self.stats.table_full += 1;
                    return false;
                }
                if buckets_for(self.shard_len[s] + 1) > self.shard(s).len() {
                    let all: Vec<_> = Self::shard_entries(self.shard(s)).collect();
                    self.rebuild(s, &all);
                    free = probe(self.shard(s), h, key).expect_err("key is absent");
                }
                self.write(s, free, key, entry);
                self.shard_len[s] += 1;
                self.len += 1;
            }
        }
        self.dirty = true;
        true
    }

    /// Removes `key` if it is a MAC home (a learned entry stays).
    pub fn remove_home(&mut self, key: FdbKey) -> bool {
        let (_, s, at) = self.locate(key);
        let Ok((b, i)) = at else { return false };
        if self.shard(s)[b].vals[i].home().is_none() {
            return false;
        }
        let keep: Vec<_> = Self::shard_entries(self.shard(s))
            .filter(|(k, _)| *k != key)
            .collect();
        self.rebuild(s, &keep);
        self.len -= 1;
        self.dirty = true;
        true
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
        let mut v: Vec<_> = self
            .groups
            .iter()
            .flat_map(|g| g.iter())
            .flat_map(|s| Self::shard_entries(s))
            .collect();
        v.sort_by_key(|(k, _)| (k.vid(), k.mac()));
        v
    }

    /// An immutable view sharing every shard with this table; clears the
    /// dirty flag.
    pub fn view(&self) -> FdbView {
        FdbView {
            groups: SharedSlice::from_slice(&self.groups),
            hasher: self.hasher,
            len: self.len,
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

    #[test]
    fn homes_live_beside_learned_entries_and_neither_age_nor_flush() {
        let mut f = Fdb::new(1024, 4, 10);
        let (a, b, c) = (
            FdbKey::new(0, [2, 0, 0, 0, 0, 1]),
            FdbKey::new(0, [2, 0, 0, 0, 0, 2]),
            FdbKey::new(5, [2, 0, 0, 0, 0, 3]),
        );
        f.learn(a, 1, 0);
        f.learn(b, 1, 0);
        assert_eq!(f.port_len(1), 2);
        // b is a host of switch 7 now: it no longer counts on port 1.
        assert!(f.set_home(b, 7));
        assert!(f.set_home(c, 9));
        assert_eq!(f.port_len(1), 1);
        assert_eq!(f.get(b).unwrap().home(), Some(7));
        assert_eq!(f.get(a).unwrap().home(), None);
        assert_eq!(f.len(), 3);
        assert_eq!(f.flush_port(1), 1, "only the learned entry");
        assert_eq!(f.age(1000), 0, "homes never age");
        assert_eq!(f.get(c).unwrap().home(), Some(9));
        // Learned on a port again (the host moved here): a learned entry.
        assert!(matches!(f.learn(c, 2, 1000), LearnOutcome::Moved { .. }));
        assert_eq!(f.port_len(2), 1);
        assert!(!f.remove_home(c), "not a home any more");
        assert!(f.remove_home(b));
        assert_eq!(f.get(b), None);
        assert_eq!(f.len(), 1);
        assert!(!f.set_home(a, MAX_HOME_SLOT + 1));
        assert!(f.view().get(c).is_some());
    }

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
    fn a_port_of_its_own_limit_fills_alone_and_refuses_without_evicting() {
        let mut f = Fdb::new(100, 10, 300);
        f.set_port_limit(0, 2);
        for m in 1..=2 {
            assert_eq!(f.learn(FdbKey::new(0, mac(m)), 0, 0), LearnOutcome::New);
        }
        assert!(f.port_full(0) && !f.port_full(1));
        assert_eq!(
            f.learn(FdbKey::new(0, mac(3)), 0, 0),
            LearnOutcome::PortLimit
        );
        // Moving in counts too, and what the port holds stays.
        assert_eq!(f.learn(FdbKey::new(0, mac(4)), 1, 0), LearnOutcome::New);
        assert_eq!(
            f.learn(FdbKey::new(0, mac(4)), 0, 0),
            LearnOutcome::PortLimit
        );
        assert_eq!(f.get(FdbKey::new(0, mac(4))).unwrap().port, 1);
        assert_eq!(f.get(FdbKey::new(0, mac(1))).unwrap().port, 0);
        // Other ports keep the table's default.
        for m in 10..19 {
            assert_eq!(f.learn(FdbKey::new(0, mac(m)), 1, 0), LearnOutcome::New);
        }
        assert!(f.port_full(1));
        f.set_port_limit(0, 0);
        assert_eq!(f.port_limit(0), 10, "0 restores the default");
        assert!(!f.port_full(0));
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

    /// Random learns, moves, refreshes, aging and flushes against a plain
    /// map: every key the model holds is found with its port and stamp,
    /// every other key is absent, and a view taken halfway never changes.
    #[test]
    fn agrees_with_a_model_under_churn() {
        use std::collections::BTreeMap;
        let mut f = Fdb::new(20_000, 20_000, 50);
        let mut model: BTreeMap<FdbKey, FdbEntry> = BTreeMap::new();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut frozen = None;
        for round in 0..200u32 {
            for _ in 0..100 {
                let r = next();
                let key = FdbKey::new((r % 3) as u16, mac((r >> 8) as u32 % 5_000));
                let port = ((r >> 40) % 4) as PortIndex;
                match f.learn(key, port, round) {
                    LearnOutcome::New => {
                        assert!(model.insert(key, FdbEntry { port, stamp: round }).is_none())
                    }
                    LearnOutcome::Moved { from } => {
                        assert_eq!(
                            model
                                .insert(key, FdbEntry { port, stamp: round })
                                .unwrap()
                                .port,
                            from
                        )
                    }
                    LearnOutcome::Refreshed => {
                        assert_eq!(
                            model
                                .insert(key, FdbEntry { port, stamp: round })
                                .unwrap()
                                .port,
                            port
                        )
                    }
                    o => panic!("unexpected {o:?}"),
                }
            }
            if round % 20 == 19 {
                let aged = f.age(round);
                let before = model.len();
                model.retain(|_, e| round - e.stamp <= 50);
                assert_eq!(aged, before - model.len());
            }
            if round % 67 == 66 {
                let p = (round % 4) as PortIndex;
                let before = model.len();
                model.retain(|_, e| e.port != p);
                assert_eq!(f.flush_port(p), before - model.len());
            }
            if round == 100 {
                frozen = Some((f.view(), model.clone()));
            }
            assert_eq!(f.len(), model.len());
        }
        let v = f.view();
        for vid in 0..3 {
            for i in 0..5_000 {
                let k = FdbKey::new(vid, mac(i));
                assert_eq!(v.get(k), model.get(&k).copied(), "{k:?}");
                assert_eq!(f.get(k), model.get(&k).copied(), "{k:?}");
            }
        }
        let (old, then) = frozen.unwrap();
        assert_eq!(old.len(), then.len());
        for (k, e) in &then {
            assert_eq!(old.get(*k), Some(*e));
        }
        for p in 0..4 {
            assert_eq!(
                f.port_len(p) as usize,
                model.values().filter(|e| e.port == p).count()
            );
        }
        assert_eq!(f.entries().len(), model.len());
    }

    /// Station `i`'s MAC scattered over the address space: sequential MACs
    /// can spread over the buckets better than random ones under some
    /// hash seeds (a multiply maps consecutive low bits to distinct low
    /// bits), and then no bucket overflows. Distinct for the i used here.
    fn scattered_mac(i: u32) -> [u8; 6] {
        let x = (u64::from(i) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let b = x.to_be_bytes();
        [(b[0] & 0xFC) | 0x02, b[1], b[2], b[3], b[4], b[5]]
    }

    #[test]
    fn lookups_from_the_home_bucket_agree_with_the_table() {
        let mut f = Fdb::new(1 << 20, 1 << 20, 300);
        for i in 0..50_000 {
            f.learn(FdbKey::new(7, scattered_mac(i)), (i % 3) as u16, i);
        }
        let v = f.view();
        let mut overflowed = 0;
        for i in 0..60_000 {
            let k = FdbKey::new(7, scattered_mac(i));
            let home = v.home_of(k);
            home.prefetch();
            let want = f.get(k);
            assert_eq!(want.is_some(), i < 50_000);
            assert_eq!(v.get_from(home, k), want, "{i}");
            assert_eq!(v.get(k), want, "{i}");
            if want.is_some() && !home.0.keys.contains(&(k.0 | OCCUPIED)) {
                overflowed += 1;
            }
        }
        // The fill leaves some keys beyond their home bucket (at 38 %
        // load, hundreds of them for any seed), so the fall-back walk is
        // exercised too.
        assert!(overflowed > 0);
        assert_eq!(v.get_from(FdbHome::NONE, FdbKey::new(7, mac(1))), None);
        // 2^20 capacity: 1,024 shards.
        assert_eq!(v.groups.len() << GROUP_BITS, 1024);
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
