//! Reliable flooding on one SSTP link: which LSPs still have to go to the
//! neighbour, which it must acknowledge, which we asked it for, and when
//! the two databases are in sync.
//!
//! The scheme is IS-IS's on point-to-point circuits (ISO 10589 7.3.15,
//! RFC 5303's links): every LSP sent is kept "to send" until a PSNP (or the
//! same LSP, or a CSNP listing it) acknowledges it, and sent again every
//! retransmit interval meanwhile; every LSP received is acknowledged in a
//! PSNP — once the link is in sync, held for an acknowledgement delay
//! (default 1 ms) so that one PSNP answers a burst of LSPs, as IS-IS
//! batches its PSNPs (before, at once: the neighbour's sync, and so the
//! link's use for unicast, waits on them); a CSNP at
//! adjacency-up, and periodically, lists everything the
//! sender holds, so each side learns what the other lacks. Requests are
//! PSNP entries older than the receiver's copy (sequence 0 when we have
//! none), which makes the receiver send its copy.
//!
//! The link's databases are **in sync** once the neighbour's first CSNP
//! has been read and every LSP that exchange called for has been delivered
//! both ways. The state latches: a link that synced stays synced while the
//! adjacency lasts (later floods are ordinary traffic on a synced link).
//! A link is advertised in our LSP, and so carries unicast, only from then
//! on, so failback loses nothing to a half-known topology.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::wire::MacAddr;
use crate::wire::{Csnp, LspEntry, LspId, Psnp, SystemId};

/// The first LSP ID, for the start of a complete summary.
pub const FIRST_LSP_ID: LspId = LspId {
    origin: SystemId(MacAddr([0; 6])),
    fragment: 0,
};

/// The last LSP ID, for the end of a complete summary.
pub const LAST_LSP_ID: LspId = LspId {
    origin: SystemId(MacAddr([0xFF; 6])),
    fragment: u16::MAX,
};

/// Flooding state of one up adjacency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flooding {
    /// LSPs the neighbour must get: `None` not sent yet, `Some(t)` sent at
    /// `t` and not acknowledged.
    send: BTreeMap<LspId, Option<Duration>>,
    /// LSPs to acknowledge in the next PSNP, with the entry we hold.
    ack: BTreeSet<LspId>,
    /// When the oldest acknowledgement in `ack` was queued.
    ack_since: Option<Duration>,
    /// LSPs we asked for: the entry the neighbour advertised, and whether
    /// the request went out.
    requested: BTreeMap<LspId, (LspEntry, bool)>,
    next_csnp: Duration,
    got_csnp: bool,
    synced: bool,
}

impl Flooding {
    /// A link that just came up: our complete summary is due at once.
    pub fn new(now: Duration) -> Flooding {
        Flooding {
            next_csnp: now,
            ..Flooding::default()
        }
    }

    /// Queues an LSP for the neighbour (new, or it showed an older copy).
    pub fn send(&mut self, id: LspId) {
        self.send.insert(id, None);
    }

    /// The neighbour has this LSP: stop sending it.
    pub fn acknowledged(&mut self, id: &LspId) {
        self.send.remove(id);
    }

    /// Whether `id` waits to go out (or for its acknowledgement).
    pub fn is_sending(&self, id: &LspId) -> bool {
        self.send.contains_key(id)
    }

    /// Acknowledge this LSP in the next PSNP (within the acknowledgement
    /// delay of `now`).
    pub fn ack(&mut self, id: LspId, now: Duration) {
        self.ack.insert(id);
        self.ack_since.get_or_insert(now);
    }

    /// Ask the neighbour for the LSP it summarised as `theirs`.
    pub fn request(&mut self, theirs: LspEntry) {
        self.requested.entry(theirs.id).or_insert((theirs, false));
    }

    /// A copy of `id` at least as new as the one requested arrived.
    pub fn fulfilled(&mut self, id: &LspId, sequence: u64) {
        if self
            .requested
            .get(id)
            .is_some_and(|(e, _)| sequence >= e.sequence)
        {
            self.requested.remove(id);
        }
    }

    /// Forgets requests for LSPs we now hold at least as new as asked
    /// (`have(requested entry)` says so), whichever link brought them.
    pub fn drop_answered(&mut self, have: impl Fn(&LspEntry) -> bool) {
        self.requested.retain(|_, (e, _)| !have(e));
    }

    /// The neighbour's CSNP has been read.
    pub fn csnp_received(&mut self) {
        self.got_csnp = true;
    }

    /// Whether the databases are in sync (latched, see the module doc).
    /// Call after each batch of work; it latches when the initial exchange
    /// is over.
    pub fn check_synced(&mut self) -> bool {
        if !self.synced && self.got_csnp && self.send.is_empty() && self.requested.is_empty() {
            self.synced = true;
        }
        self.synced
    }

    /// Whether the databases are in sync.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Whether our summary is due at `now`.
    pub fn csnp_pending(&self, now: Duration) -> bool {
        now >= self.next_csnp
    }

    /// Whether our periodic summary is due, and if so schedules the next.
    pub fn csnp_due(&mut self, now: Duration, interval: Duration) -> bool {
        if now < self.next_csnp {
            return false;
        }
        self.next_csnp = now + interval;
        true
    }

    /// LSPs to (re)send at `now`: never sent, or sent at least `retransmit`
    /// ago. They are marked sent at `now`; returns them with a flag telling
    /// first sends from retransmissions.
    pub fn lsps_due(&mut self, now: Duration, retransmit: Duration) -> Vec<(LspId, bool)> {
        let mut due = Vec::new();
        for (id, sent) in self.send.iter_mut() {
            match *sent {
                None => due.push((*id, false)),
                Some(t) if now >= t + retransmit => due.push((*id, true)),
                Some(_) => continue,
            }
            *sent = Some(now);
        }
        due
    }

    /// The acknowledgements and requests to send at `now`, as PSNP
    /// entries; `entry` gives our current entry for an ID we hold.
    /// Requests go at once, and take the waiting acknowledgements with
    /// them; acknowledgements alone wait until the oldest is `ack_delay`
    /// old, or until they fill a PSNP.
    pub fn psnp_entries(
        &mut self,
        now: Duration,
        ack_delay: Duration,
        entry: impl Fn(&LspId) -> Option<LspEntry>,
    ) -> Vec<LspEntry> {
        let requesting = self.requested.values().any(|(_, sent)| !sent);
        // Until the link is in sync the neighbour's sync (and so the
        // link's use for unicast) waits on our acknowledgements: no delay.
        let acks_due = self
            .ack_since
            .is_some_and(|t| now >= t + ack_delay || !self.synced)
            || self.ack.len() >= Psnp::MAX_ENTRIES
            || requesting;
        let mut out: Vec<LspEntry> = if acks_due {
            self.ack_since = None;
            std::mem::take(&mut self.ack)
                .iter()
                .filter_map(&entry)
                .collect()
        } else {
            Vec::new()
        };
        for (id, (_, sent)) in self.requested.iter_mut().filter(|(_, (_, s))| !*s) {
            *sent = true;
            out.push(entry(id).unwrap_or(LspEntry {
                id: *id,
                sequence: 0,
                lifetime_secs: 0,
                checksum: 0,
            }));
        }
        out
    }

    /// Requests already made are made again (the neighbour's periodic CSNP
    /// still shows what we lack, so the first request or its answer was
    /// lost).
    pub fn rerequest(&mut self, id: &LspId) {
        if let Some((_, sent)) = self.requested.get_mut(id) {
            *sent = false;
        }
    }

    /// The earliest time something is due on this link.
    pub fn next_deadline(&self, retransmit: Duration, ack_delay: Duration) -> Duration {
        let mut t = self.next_csnp;
        for sent in self.send.values() {
            t = t.min(sent.map_or(Duration::ZERO, |s| s + retransmit));
        }
        if let Some(since) = self.ack_since {
            t = t.min(if self.synced {
                since + ack_delay
            } else {
                since
            });
        }
        if self.requested.values().any(|(_, s)| !s) {
            t = Duration::ZERO;
        }
        t
    }

    /// Whether nothing waits to go out, to be acknowledged or to be
    /// answered on this link.
    pub fn is_idle(&self) -> bool {
        self.send.is_empty() && self.ack.is_empty() && self.requested.is_empty()
    }

    /// LSPs waiting for acknowledgement (for satctl).
    pub fn pending(&self) -> usize {
        self.send.len()
    }
}

/// Splits a complete summary of `entries` (sorted by ID) into CSNPs whose
/// ranges together cover every LSP ID.
pub fn complete_summary(entries: &[LspEntry]) -> Vec<Csnp> {
    let chunks: Vec<&[LspEntry]> = if entries.is_empty() {
        vec![&[][..]]
    } else {
        entries.chunks(Csnp::MAX_ENTRIES).collect()
    };
    let n = chunks.len();
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| Csnp {
            start: if i == 0 { FIRST_LSP_ID } else { c[0].id },
            end: if i + 1 == n {
                LAST_LSP_ID
            } else {
                // Up to just before the next chunk's first ID.
                before(chunks[i + 1][0].id)
            },
            entries: c.to_vec(),
        })
        .collect()
}

/// The LSP ID just before `id` (used as a range end).
fn before(id: LspId) -> LspId {
    if id.fragment > 0 {
        LspId {
            origin: id.origin,
            fragment: id.fragment - 1,
        }
    } else {
        let m = id.origin.0.to_u64().saturating_sub(1);
        LspId {
            origin: SystemId(MacAddr::from_u64(m)),
            fragment: u16::MAX,
        }
    }
}

/// Splits PSNP entries into PDUs.
pub fn psnps(entries: Vec<LspEntry>) -> Vec<Psnp> {
    entries
        .chunks(Psnp::MAX_ENTRIES)
        .map(|c| Psnp {
            entries: c.to_vec(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(o: u8, f: u16) -> LspId {
        LspId {
            origin: SystemId(MacAddr([2, 0, 0, 0, 0, o])),
            fragment: f,
        }
    }

    fn entry(o: u8, f: u16, seq: u64) -> LspEntry {
        LspEntry {
            id: id(o, f),
            sequence: seq,
            lifetime_secs: 100,
            checksum: 1,
        }
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn sent_lsps_are_retransmitted_until_acknowledged() {
        let mut f = Flooding::new(Duration::ZERO);
        f.send(id(1, 0));
        assert_eq!(f.lsps_due(Duration::ZERO, 50 * MS), vec![(id(1, 0), false)]);
        assert!(f.lsps_due(49 * MS, 50 * MS).is_empty());
        assert_eq!(f.next_deadline(50 * MS, MS), Duration::ZERO, "CSNP due");
        assert!(f.csnp_due(Duration::ZERO, Duration::from_secs(1)));
        assert_eq!(f.next_deadline(50 * MS, MS), 50 * MS);
        assert_eq!(f.lsps_due(50 * MS, 50 * MS), vec![(id(1, 0), true)]);
        f.acknowledged(&id(1, 0));
        assert!(f.lsps_due(200 * MS, 50 * MS).is_empty());
    }

    #[test]
    fn requests_carry_our_entry_or_sequence_zero_and_go_once() {
        let mut f = Flooding::new(Duration::ZERO);
        f.request(entry(1, 0, 9));
        f.request(entry(2, 0, 9));
        f.ack(id(3, 0), Duration::ZERO);
        let ours = |i: &LspId| {
            (i.origin == id(1, 0).origin || *i == id(3, 0))
                .then(|| entry(i.origin.0 .0[5], i.fragment, 4))
        };
        let e = f.psnp_entries(Duration::ZERO, MS, ours);
        assert_eq!(e.len(), 3, "requests at once, the waiting ack with them");
        assert!(e.contains(&entry(3, 0, 4)), "the ack");
        assert!(e.contains(&entry(1, 0, 4)), "request with our older copy");
        assert!(e.iter().any(|x| x.id == id(2, 0) && x.sequence == 0));
        assert!(f.psnp_entries(Duration::ZERO, MS, ours).is_empty(), "once");
        f.rerequest(&id(2, 0));
        assert_eq!(f.psnp_entries(Duration::ZERO, MS, ours).len(), 1);
    }

    #[test]
    fn acknowledgements_wait_to_share_one_psnp_once_in_sync() {
        let mut f = Flooding::new(Duration::ZERO);
        let ours = |i: &LspId| Some(entry(i.origin.0 .0[5], i.fragment, 4));
        // Before sync, at once: the neighbour's sync waits on them.
        f.ack(id(9, 0), Duration::ZERO);
        assert_eq!(f.psnp_entries(Duration::ZERO, MS, ours).len(), 1);
        f.csnp_received();
        assert!(f.check_synced());
        f.ack(id(1, 0), Duration::ZERO);
        f.ack(id(2, 0), MS / 2);
        assert_eq!(
            f.next_deadline(50 * MS, MS).min(MS),
            Duration::ZERO,
            "CSNP due"
        );
        assert!(f.csnp_due(Duration::ZERO, Duration::from_secs(1)));
        assert_eq!(f.next_deadline(50 * MS, MS), MS, "the oldest ack's delay");
        assert!(f.psnp_entries(MS / 2, MS, ours).is_empty(), "not yet");
        assert_eq!(f.psnp_entries(MS, MS, ours).len(), 2, "both in one");
        assert!(f.psnp_entries(2 * MS, MS, ours).is_empty());
        assert_eq!(f.next_deadline(50 * MS, MS), Duration::from_secs(1));
        // A full PSNP's worth goes at once.
        for i in 0..Psnp::MAX_ENTRIES {
            f.ack(id((i % 200) as u8, (i / 200) as u16), 3 * MS);
        }
        assert_eq!(f.psnp_entries(3 * MS, MS, ours).len(), Psnp::MAX_ENTRIES);
    }

    #[test]
    fn sync_latches_after_the_first_exchange() {
        let mut f = Flooding::new(Duration::ZERO);
        f.send(id(1, 0));
        f.request(entry(2, 0, 5));
        assert!(!f.check_synced());
        f.csnp_received();
        f.acknowledged(&id(1, 0));
        assert!(!f.check_synced());
        f.fulfilled(&id(2, 0), 4);
        assert!(!f.check_synced(), "older than requested");
        f.fulfilled(&id(2, 0), 5);
        assert!(f.check_synced());
        // A request answered by another link counts as answered.
        let mut g = Flooding::new(Duration::ZERO);
        g.csnp_received();
        g.request(entry(3, 0, 7));
        assert!(!g.check_synced());
        g.drop_answered(|e| e.sequence <= 7);
        assert!(g.check_synced());
        f.send(id(7, 0));
        assert!(f.check_synced(), "latched");
    }

    #[test]
    fn complete_summaries_cover_every_id_in_order() {
        let entries: Vec<LspEntry> = (0..150u16)
            .map(|i| entry((i / 10) as u8, i % 10, 1))
            .collect();
        let c = complete_summary(&entries);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].start, FIRST_LSP_ID);
        assert_eq!(c[2].end, LAST_LSP_ID);
        for w in c.windows(2) {
            assert!(w[0].end < w[1].start);
            assert_eq!(w[1].start, w[1].entries[0].id);
            assert!(w[0].entries.iter().all(|e| e.id <= w[0].end));
        }
        assert_eq!(c.iter().map(|x| x.entries.len()).sum::<usize>(), 150);
        let empty = complete_summary(&[]);
        assert_eq!(
            (empty.len(), empty[0].start, empty[0].end),
            (1, FIRST_LSP_ID, LAST_LSP_ID)
        );
        assert_eq!(psnps(entries).len(), 3);
    }
}
