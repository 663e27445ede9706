//! The control lcore's side of SSTP that is not protocol: which hosts this
//! switch advertises as its MAC homes (kept equal to the FDB's entries on
//! host ports), the per-port SSTP liveness word, and the satctl reports of
//! the link state (`show sstp`, `show lsdb`, `show routes`).
//!
//! The FDB is the authority on where a host is: a source learned on a host
//! port (configured edge, or auto and RSTP's operEdge) becomes a MAC home;
//! one that ages out, is flushed, or moves to a fabric port stops being
//! one. The protocol engine never sees the FDB, only these changes.

use std::collections::HashMap;
use std::time::Duration;

use satellite_dataplane::fdb::{Fdb, FdbKey, MAX_HOME_SLOT};
use satellite_dataplane::PortIndex;
use satellite_filters::Ipv4Binding;
use satellite_protocol::sstp::{routes::BridgeRoute, AdjacencyStatus, Sstp};
use satellite_protocol::wire::{BindingEntry, MacAddr, MacHome, SystemId};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::protocols::Protocols;

/// Moves away from this switch within [`DUPLICATE_WINDOW`] after which a
/// host heard here again is taken for a duplicate MAC (RFC 7432 section
/// 15.1's defaults: 5 moves in 180 s).
const DUPLICATE_MOVES: u32 = 5;
const DUPLICATE_WINDOW: Duration = Duration::from_secs(180);

/// Duplicate-MAC detection. Two hosts with one MAC on two switches would
/// outrank each other's advertisement at every frame, and every LSP of the
/// fight floods the fabric. A host that has moved away from here
/// [`DUPLICATE_MOVES`] times in [`DUPLICATE_WINDOW`] is still delivered to
/// locally when heard here again, but no longer advertised until the
/// window has passed: the fabric keeps following the last move.
#[derive(Debug, Default)]
struct MoveDamping {
    /// Moves away per host: (count, start of the window).
    away: HashMap<FdbKey, (u32, Duration)>,
}

impl MoveDamping {
    fn moved_away(&mut self, now: Duration, k: FdbKey) {
        let e = self.away.entry(k).or_insert((0, now));
        if now.saturating_sub(e.1) > DUPLICATE_WINDOW {
            *e = (0, now);
        }
        e.0 += 1;
    }

    /// Whether `k`, heard here, is a duplicate not to advertise.
    fn is_duplicate(&mut self, now: Duration, k: FdbKey) -> bool {
        match self.away.get(&k) {
            Some(&(_, since)) if now.saturating_sub(since) > DUPLICATE_WINDOW => {
                self.away.remove(&k);
                false
            }
            Some(&(n, _)) => n >= DUPLICATE_MOVES,
            None => false,
        }
    }
}

fn home(key: FdbKey) -> MacHome {
    MacHome {
        vid: key.vid(),
        mac: MacAddr(key.mac()),
    }
}

/// MAC homes and liveness as the control plane keeps them.
#[derive(Debug, Default)]
pub(crate) struct LinkState {
    /// Hosts advertised as ours, with the host port they were learned on.
    homes: HashMap<FdbKey, PortIndex>,
    /// Hosts of other switches written into the FDB, with their slot.
    installed: HashMap<FdbKey, u32>,
    /// Bit per port: SSTP may carry unicast there. The data path reads the
    /// same word (the snapshot builder's), so a bit cleared here stops the
    /// workers at once.
    live: Arc<AtomicU64>,
    /// The engine's verdict, bit per port: what `live` holds unless the
    /// link-event thread has cleared a bit since.
    verdict: u64,
    /// Hosts that moved from here to another switch (their advertisement
    /// outranked ours).
    moves_away: u64,
    damping: MoveDamping,
    /// Bindings of our ports advertised in our LSP.
    advertised_bindings: std::collections::HashSet<BindingEntry>,
    /// Times a host heard here was not advertised as a duplicate MAC.
    duplicates: u64,
}

impl LinkState {
    /// A link state whose liveness word is `live` (the snapshots').
    pub(crate) fn new(live: Arc<AtomicU64>) -> LinkState {
        LinkState {
            live,
            ..LinkState::default()
        }
    }

    /// Hosts advertised.
    pub(crate) fn home_count(&self) -> usize {
        self.homes.len()
    }

    /// Hosts of other switches in the FDB.
    pub(crate) fn installed_count(&self) -> usize {
        self.installed.len()
    }

    /// The liveness word.
    pub(crate) fn live(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    /// The word itself, for the link-event thread (`crate::link_events`).
    pub(crate) fn live_word(&self) -> Arc<AtomicU64> {
        self.live.clone()
    }

    /// Records the engine's liveness verdict for a port, visible to the
    /// workers from their next burst.
    pub(crate) fn set_live(&mut self, port: PortIndex, alive: bool) {
        if (port as usize) < 64 {
            let bit = 1u64 << port;
            if alive {
                self.verdict |= bit;
                self.live.fetch_or(bit, Ordering::Release);
            } else {
                self.verdict &= !bit;
                self.live.fetch_and(!bit, Ordering::Release);
            }
        }
    }

    /// Writes the engine's verdict back over the word: the link-event
    /// thread clears a port's bit on the kernel's carrier loss before the
    /// engine hears of it (`crate::link_events`), and a carrier that was
    /// back before the control loop looked must not leave the port dead.
    pub(crate) fn resync_live(&mut self) {
        self.live.store(self.verdict, Ordering::Release);
    }

    /// Writes the link state's MAC homes of other switches into the FDB,
    /// and takes out those gone. A host the FDB has on one of our host
    /// ports stays ours (it moved here; the other switch withdraws it),
    /// unless another switch outranks our advertisement: then it moved
    /// there, and its FDB entry points there from now on. Returns whether
    /// the FDB changed, and the homes that moved away, for the caller to
    /// withdraw ([`LinkState::withdraw_moved`]).
    pub(crate) fn install_homes(
        &mut self,
        e: &Sstp,
        fdb: &mut Fdb,
        host_port: impl Fn(PortIndex) -> bool,
    ) -> (bool, Vec<FdbKey>) {
        let moved: Vec<FdbKey> = self
            .homes
            .keys()
            .filter(|k| e.home_moved_away(&home(**k)).is_some())
            .copied()
            .collect();
        for k in &moved {
            self.homes.remove(k);
        }
        let db = e.lsdb();
        let me = db.my_slot();
        let mut want: HashMap<FdbKey, u32> = HashMap::with_capacity(self.installed.len());
        for (h, slot) in db.homes() {
            if slot != me && slot <= MAX_HOME_SLOT {
                want.insert(FdbKey::new(h.vid, h.mac.0), slot);
            }
        }
        let mut changed = false;
        for (k, _) in self.installed.iter().filter(|(k, _)| !want.contains_key(k)) {
            changed |= fdb.remove_home(*k);
        }
        self.installed.retain(|k, _| want.contains_key(k));
        for (k, slot) in want {
            if self.installed.get(&k) == Some(&slot) {
                continue;
            }
            let ours = !moved.contains(&k)
                && fdb
                    .get(k)
                    .is_some_and(|x| x.home().is_none() && host_port(x.port));
            if ours {
                self.installed.remove(&k);
                continue;
            }
            if fdb.set_home(k, slot) {
                self.installed.insert(k, slot);
                changed = true;
            }
        }
        (changed, moved)
    }

    /// Withdraws the homes [`LinkState::install_homes`] found moved away.
    pub(crate) fn withdraw_moved(
        &mut self,
        now: Duration,
        moved: Vec<FdbKey>,
        protocols: &mut Protocols,
    ) {
        for k in moved {
            self.moves_away += 1;
            self.damping.moved_away(now, k);
            protocols.mac_home(now, home(k), false);
        }
    }

    /// Advertises the bindings of our own ports (`local`), withdrawing
    /// those gone.
    pub(crate) fn sync_bindings(
        &mut self,
        now: Duration,
        local: &[Ipv4Binding],
        protocols: &mut Protocols,
    ) {
        let want: std::collections::HashSet<BindingEntry> = local
            .iter()
            .map(|b| BindingEntry {
                vid: b.vid,
                ip: b.ip,
                mac: MacAddr(b.mac.0),
            })
            .collect();
        for b in self.advertised_bindings.difference(&want) {
            protocols.binding(now, *b, false);
        }
        for b in want.difference(&self.advertised_bindings) {
            protocols.binding(now, *b, true);
        }
        self.advertised_bindings = want;
    }

    /// Hosts heard here but not advertised: duplicate MACs.
    pub(crate) fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Hosts that moved from here to another switch.
    pub(crate) fn moves_away(&self) -> u64 {
        self.moves_away
    }

    /// A source was learned (or moved) on `port`; `host_port` says whether
    /// hosts live there.
    pub(crate) fn learned(
        &mut self,
        now: Duration,
        key: FdbKey,
        port: PortIndex,
        host_port: bool,
        protocols: &mut Protocols,
    ) {
        match (host_port, self.homes.get(&key).copied()) {
            (true, None) if self.damping.is_duplicate(now, key) => {
                if self.duplicates == 0 || self.duplicates.is_power_of_two() {
                    tracing::warn!(
                        mac = %MacAddr(key.mac()), vlan = key.vid(),
                        "duplicate MAC: moved away from this switch {DUPLICATE_MOVES} times in {} s; \
                         delivered here but not advertised",
                        DUPLICATE_WINDOW.as_secs()
                    );
                }
                self.duplicates += 1;
            }
            (true, None) => {
                self.homes.insert(key, port);
                protocols.mac_home(now, home(key), true);
            }
            (true, Some(_)) => {
                self.homes.insert(key, port);
            }
            (false, Some(_)) => {
                self.homes.remove(&key);
                protocols.mac_home(now, home(key), false);
            }
            (false, None) => {}
        }
    }

    /// After aging or a flush: withdraws every home the FDB no longer has
    /// on the port it was learned on.
    pub(crate) fn reconcile(&mut self, now: Duration, fdb: &Fdb, protocols: &mut Protocols) {
        let gone: Vec<FdbKey> = self
            .homes
            .iter()
            .filter(|(k, p)| fdb.get(**k).is_none_or(|e| e.port != **p))
            .map(|(k, _)| *k)
            .collect();
        for k in gone {
            self.homes.remove(&k);
            protocols.mac_home(now, home(k), false);
        }
    }
}

/// Other switches' bindings as the filters take them
/// ([`Lsdb::remote_bindings`](satellite_protocol::sstp::lsdb::Lsdb::remote_bindings)):
/// the other half of [`LinkState::sync_bindings`].
pub(crate) fn remote_bindings(e: &Sstp) -> Vec<Ipv4Binding> {
    e.lsdb()
        .remote_bindings()
        .map(|b| Ipv4Binding {
            vid: b.vid,
            ip: b.ip,
            mac: satellite_filters::MacAddr(b.mac.0),
        })
        .collect()
}

/// Names of ports, for reports.
pub(crate) type PortNames<'a> = &'a [String];

fn port_name(names: PortNames<'_>, p: PortIndex) -> Value {
    names.get(p as usize).map_or_else(|| json!(p), |n| json!(n))
}

fn hostname_of(e: &Sstp, system: SystemId) -> Value {
    let db = e.lsdb();
    db.slot_of(system)
        .and_then(|s| db.fragments(s).next())
        .and_then(|f| f.lsp.hostname.as_ref())
        .map_or(Value::Null, |h| json!(h.as_str()))
}

/// `show sstp`: this switch and its adjacencies.
/// `live` is the data path's liveness word (bit per port); `changed` the
/// wall-clock time of the last database change.
pub(crate) fn sstp_report(
    e: &Sstp,
    names: PortNames<'_>,
    live: u64,
    changed: Option<std::time::SystemTime>,
    now: Duration,
) -> Value {
    let c = e.config();
    let adj: Vec<Value> = e
        .adjacencies()
        .iter()
        .map(|a: &AdjacencyStatus| {
            json!({
                "port": port_name(names, a.port),
                "state": a.state.as_str(),
                "neighbour": a.neighbour.map(|n| n.to_string()),
                "neighbour_name": a.neighbour.map_or(Value::Null, |n| hostname_of(e, n)),
                "neighbour_port": a.neighbour_port,
                "uptime_secs": a.up_since.map(|t| now.saturating_sub(t).as_secs_f64()),
                "synced": a.synced,
                "advertised": a.advertised,
                "live": (a.port as usize) < 64 && live & (1u64 << a.port) != 0,
                "pending_lsps": a.pending_lsps,
                "cost": a.cost,
            })
        })
        .collect();
    json!({
        "system": c.system.to_string(),
        "hostname": c.hostname.as_ref().map(|h| h.as_str().to_string()),
        "hello_interval_ms": c.hello_interval.as_secs_f64() * 1e3,
        "dead_count": c.dead_count,
        "adjacencies": adj,
        "bridges_known": e.lsdb().origin_count(),
        "bridges_reachable": e.routes().reachable_count(),
        "lsdb_changed_unix_us": changed
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_micros() as u64),
        "stats": e.stats(),
    })
}

/// `show lsdb`: every origin, its LSP fragments summed up.
pub(crate) fn lsdb_report(e: &Sstp, now: Duration) -> Value {
    let db = e.lsdb();
    let rows: Vec<Value> = db
        .origins()
        .map(|(slot, system)| {
            let frags: Vec<_> = db.fragments(slot).collect();
            let first = frags.iter().find(|f| f.lsp.id.fragment == 0);
            let adjacencies: Vec<Value> = frags
                .iter()
                .filter(|f| !f.purged)
                .flat_map(|f| &f.lsp.adjacencies)
                .map(|a| {
                    json!({
                        "neighbour": a.neighbour.to_string(),
                        "neighbour_name": hostname_of(e, a.neighbour),
                        "local_port": a.local_port,
                        "remote_port": a.remote_port,
                        "cost": a.cost,
                    })
                })
                .collect();
            let homes: usize = frags.iter().map(|f| f.lsp.mac_homes.len()).sum();
            let bindings: usize = frags.iter().map(|f| f.lsp.bindings.len()).sum();
            json!({
                "origin": system.to_string(),
                "hostname": hostname_of(e, system),
                "me": system == db.me(),
                "reachable": db.is_reachable(slot),
                "bridge_id": db.bridge_id_of(slot).map(|b| b.to_string()),
                "sequence": first.map(|f| f.lsp.sequence),
                "fragments": frags.len(),
                "age_secs": first.map(|f| f.lsp.lifetime_secs.saturating_sub(f.remaining(now))),
                "lifetime_secs": first.map(|f| f.remaining(now)),
                "overload": first.is_some_and(|f| f.lsp.flags.overload()),
                "adjacencies": adjacencies,
                "mac_homes": homes,
                "bindings": bindings,
            })
        })
        .collect();
    json!({ "origins": rows, "fragments": db.fragment_count(), "mac_homes": db.home_count() })
}

/// `show routes`: every other switch with its distance, next hops and
/// repair ports.
pub(crate) fn routes_report(e: &Sstp, names: PortNames<'_>) -> Value {
    let db = e.lsdb();
    let ports = |ps: &[PortIndex]| ps.iter().map(|&p| port_name(names, p)).collect::<Vec<_>>();
    let rows: Vec<Value> = db
        .origins()
        .filter(|&(_, s)| s != db.me())
        .map(|(slot, system)| {
            let r = e
                .routes()
                .get(slot)
                .copied()
                .unwrap_or(BridgeRoute::UNREACHABLE);
            json!({
                "bridge": system.to_string(),
                "hostname": hostname_of(e, system),
                "reachable": r.is_reachable(),
                "distance": r.distance(),
                "next_hops": ports(r.ecmp()),
                "lfa": r.lfa().map(|p| port_name(names, p)),
                "lfa_node_protecting": r.lfa_is_node_protecting(),
                "wrap": r.wrap().map(|p| port_name(names, p)),
            })
        })
        .collect();
    json!({ "me": db.me().to_string(), "routes": rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_that_keeps_moving_away_is_a_duplicate_until_the_window_passes() {
        let mut d = MoveDamping::default();
        let k = FdbKey::new(0, [2, 0, 0, 0, 0, 9]);
        let t = |s: u64| Duration::from_secs(s);
        for i in 0..DUPLICATE_MOVES {
            assert!(!d.is_duplicate(t(u64::from(i)), k), "move {i}");
            d.moved_away(t(u64::from(i)), k);
        }
        assert!(d.is_duplicate(t(10), k));
        assert!(!d.is_duplicate(t(10), FdbKey::new(0, [2, 0, 0, 0, 0, 8])));
        // After the window the host is advertised again, and counting
        // starts over.
        assert!(!d.is_duplicate(t(200), k));
        d.moved_away(t(201), k);
        assert!(!d.is_duplicate(t(202), k));
    }

    #[test]
    fn the_engines_verdict_is_written_back_over_a_bit_cleared_by_the_link_event_thread() {
        let word = Arc::new(AtomicU64::new(0));
        let mut l = LinkState::new(word.clone());
        l.set_live(1, true);
        l.set_live(2, true);
        // The thread saw port 2's carrier go; the engine has not (yet).
        word.fetch_and(!(1 << 2), Ordering::Release);
        assert_eq!(l.live(), 1 << 1);
        // The carrier was back before the control loop looked: live again.
        l.resync_live();
        assert_eq!(l.live(), 1 << 1 | 1 << 2);
        // The carrier stayed down: the engine agrees, and the write-back
        // keeps it dead.
        word.fetch_and(!(1 << 2), Ordering::Release);
        l.set_live(2, false);
        l.resync_live();
        assert_eq!(l.live(), 1 << 1);
    }

    #[test]
    fn liveness_bits_follow_the_engine_and_ignore_ports_beyond_the_word() {
        let word = Arc::new(AtomicU64::new(0));
        let mut l = LinkState::new(word.clone());
        l.set_live(3, true);
        l.set_live(70, true);
        assert_eq!(l.live(), 1 << 3);
        assert_eq!(word.load(Ordering::Relaxed), 1 << 3, "the data path's word");
        l.set_live(3, false);
        assert_eq!(l.live(), 0);
    }
}
