//! The immutable forwarding snapshot and its publisher.
//!
//! The control lcore is the only writer: it builds a new
//! [`ForwardingSnapshot`] and publishes it with one atomic pointer swap
//! ([`arc_swap`]). Workers load the current snapshot once per burst and keep
//! it for that burst only; an old snapshot is freed when the last worker
//! lets go of it. A worker never waits for a publish: loading is a
//! wait-free read and the writer never takes a lock a reader needs.
//!
//! What a worker reads per frame — the per-port arrays, the edge policies
//! and the filter tables, and the snapshot's own fields — is kept in table
//! memory ([`crate::tablemem`]: DPDK's hugepage heap when the EAL has one),
//! beside the FDB. The builder keeps its table-memory copies of the
//! policies and tables until they change, so a publish copies only the
//! small per-port arrays.

#![forbid(unsafe_code)]

use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::fdb::FdbView;
use crate::storm::StormLimits;
use crate::tablemem::{SharedBox, SharedSlice};
use crate::PortIndex;
use satellite_filters::vlan::{DEFAULT_DEPTH, DEFAULT_TPIDS};
use satellite_filters::{EdgePortPolicy, FilterTables, PortMode, VidSet, VlanConfig};
use satellite_protocol::sstp::routes::{BridgeRoute, Routes};

/// What a worker needs to know about one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortView {
    /// Learn source addresses arriving here (spanning tree: learning or
    /// forwarding state).
    pub learning: bool,
    /// Accept and send data frames here (spanning tree: forwarding state).
    pub forwarding: bool,
    /// Drop (and count) any BPDU arriving here.
    pub bpdu_guard: bool,
    /// Hosts live here (an edge port, or an auto port the spanning tree
    /// found edge): what is learned here are this switch's MAC homes, which
    /// SSTP unicast may deliver to whatever link it came in on.
    pub host: bool,
    /// A host port holding as many sources as it may learn: frames from a
    /// source it has not learned are dropped (port security), so a MAC
    /// flood ends at its port instead of loading every switch it reaches.
    pub source_limit_reached: bool,
}

impl Default for PortView {
    /// A port with no spanning-tree restriction: the foundation's plain
    /// learning switch.
    fn default() -> Self {
        PortView {
            learning: true,
            forwarding: true,
            bpdu_guard: false,
            host: false,
            source_limit_reached: false,
        }
    }
}

/// The device behind one port: what a worker polls and sends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortDevice {
    /// The DPDK port id.
    pub dpdk_port: u16,
    /// The port's storm limits, whole (each worker takes its share).
    pub storm: StormLimits,
}

/// Which device backs each port, by port index; `None` is a vacant slot
/// (a port removed at run time). Ports are added and removed at run time
/// by publishing a new set: a worker rewires when the generation differs
/// from the one it runs on, at the start of a poll iteration, so it never
/// holds a frame for a device across the change. Indexes of the remaining
/// ports never move (the FDB, RSTP port numbers and SSTP's LSPs name
/// them), which is why a removed port leaves a vacant slot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortDevices {
    /// Increases with every change of `slots`.
    pub generation: u64,
    pub slots: Vec<Option<PortDevice>>,
}

/// The most ports a switch can gain at run time: SSTP's liveness word has
/// a bit per port, and workers size their counters for this many.
pub const MAX_PORTS: usize = 64;

/// Counter slots a worker keeps: every port it starts with, and room to
/// add ports up to [`MAX_PORTS`].
pub fn port_capacity(ports_at_start: usize) -> usize {
    ports_at_start.max(MAX_PORTS)
}

/// Everything a worker reads to switch a frame. Immutable once published.
pub struct ForwardingSnapshot {
    /// Publish sequence number, increasing by one per publish.
    pub epoch: u64,
    pub ports: SharedSlice<PortView>,
    pub fdb: FdbView,
    /// Longest frame accepted, in bytes (headers included, FCS excluded).
    pub max_frame_len: u32,
    /// A known source whose entry is older than this many seconds is
    /// reported to the control lcore so it does not age out while in use.
    pub refresh_after_secs: u32,
    /// Edge-port filters (VLAN modes, Interstellar, ARPless), by port;
    /// `None` for plain and fabric ports. Copies in table memory of the
    /// builder's policies.
    pub policies: SharedSlice<Option<EdgePortPolicy>>,
    /// Tables the filters share; `None` when no port has a policy.
    pub filters: Option<SharedBox<FilterTables>>,
    /// By port: the policy is only a VLAN mode
    /// ([`EdgePortPolicy::is_vlan_only`]) and the tables' VLAN rules are the
    /// data path's own ([`crate::frame::DEFAULT_TPIDS`], depth
    /// [`crate::frame::MAX_TAGS`]), so the data path maps such a port's
    /// frames from the header it parsed instead of running the filter.
    pub vlan_only: SharedSlice<bool>,
    /// How ports without a policy treat VLANs: every VID passes tagged,
    /// untagged frames are VLAN 0.
    pub transparent: PortMode,
    /// No port has an edge policy: frames leave as they came, and the
    /// worker skips the egress decision.
    pub plain: bool,
    /// SSTP: how to reach each Satellite switch, by link-state slot (the
    /// FDB's MAC homes name slots). Empty without SSTP.
    pub routes: SharedSlice<BridgeRoute>,
    /// SSTP: bit per port, set while the port may carry unicast routed by
    /// the link state. Not a copy: the control lcore clears a bit the
    /// moment carrier or the adjacency is lost, before it computes
    /// anything, and the worker reads the word for each frame the link
    /// state routes (a line written only on a change, so it stays in every
    /// worker's cache), so repair starts at once and the next snapshot
    /// makes it permanent.
    pub live: Arc<AtomicU64>,
    /// The devices of the ports (see [`PortDevices`]); shared, not copied,
    /// between publishes that do not change them.
    pub devices: Arc<PortDevices>,
    /// DHCPCAST: the designated DHCP servers' MACs
    /// ([`MacAddr::to_u64`](satellite_protocol::wire::MacAddr::to_u64)
    /// words), sorted: their broadcast answers go to the client's port
    /// only. Every server the configuration names, not only this switch's
    /// cast ports' (the server may be plugged in here and its clients at
    /// another switch). Empty without DHCPCAST, and then a broadcast pays
    /// one length test for it.
    pub dhcp_cast_servers: SharedSlice<u64>,
}

impl ForwardingSnapshot {
    /// SSTP's liveness word as it is now (see [`Self::live`]).
    #[inline]
    pub fn live_ports(&self) -> u64 {
        self.live.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[inline]
    pub fn port(&self, i: PortIndex) -> Option<&PortView> {
        self.ports.get(i as usize)
    }

    /// The filter policy of port `i` and the shared tables, when it has one.
    #[inline]
    pub fn policy(&self, i: PortIndex) -> Option<(&EdgePortPolicy, &FilterTables)> {
        match (self.policies.get(i as usize), self.filters.as_deref()) {
            (Some(Some(p)), Some(t)) => Some((p, t)),
            _ => None,
        }
    }
}

/// The transparent VLAN mode of plain and fabric ports.
pub fn transparent_mode() -> PortMode {
    PortMode::Trunk {
        allowed: (1..4095).collect::<VidSet>(),
        native: Some(0),
    }
}

/// Builds snapshots; holds the non-FDB parts between publishes.
#[derive(Clone)]
pub struct SnapshotBuilder {
    pub ports: Vec<PortView>,
    pub max_frame_len: u32,
    pub refresh_after_secs: u32,
    pub policies: Vec<Option<Arc<EdgePortPolicy>>>,
    pub filters: Option<Arc<FilterTables>>,
    /// SSTP's routes (see [`ForwardingSnapshot::routes`]); replaced, not
    /// copied, by each publish.
    pub routes: SharedSlice<BridgeRoute>,
    /// The liveness word every snapshot of this builder shares.
    pub live: Arc<AtomicU64>,
    /// The ports' devices (see [`ForwardingSnapshot::devices`]).
    pub devices: Arc<PortDevices>,
    /// See [`ForwardingSnapshot::dhcp_cast_servers`]; set it with
    /// [`SnapshotBuilder::set_dhcp_cast_servers`].
    pub dhcp_cast_servers: SharedSlice<u64>,
    transparent: PortMode,
    /// The table-memory copies of `policies` and `filters` the last build
    /// made, with the `Arc`s they were made from: reused while those are
    /// the same.
    placed: Option<Placed>,
}

#[derive(Clone)]
struct Placed {
    from: (Vec<Option<Arc<EdgePortPolicy>>>, Option<Arc<FilterTables>>),
    policies: SharedSlice<Option<EdgePortPolicy>>,
    filters: Option<SharedBox<FilterTables>>,
    vlan_only: SharedSlice<bool>,
}

/// The same `Arc`s (or none) in the same places.
fn same_arcs<T>(a: &[Option<Arc<T>>], b: &[Option<Arc<T>>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => Arc::ptr_eq(x, y),
            (None, None) => true,
            _ => false,
        })
}

/// Default longest frame: 1500-byte payload, 14-byte header and three VLAN
/// tags.
pub const DEFAULT_MAX_FRAME_LEN: u32 = 1500 + 14 + 3 * 4;

impl SnapshotBuilder {
    pub fn new(ports: usize) -> Self {
        SnapshotBuilder {
            ports: vec![PortView::default(); ports],
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            refresh_after_secs: 75,
            policies: vec![None; ports],
            filters: None,
            routes: SharedSlice::default(),
            live: Arc::new(AtomicU64::new(0)),
            devices: Arc::new(PortDevices::default()),
            dhcp_cast_servers: SharedSlice::default(),
            transparent: transparent_mode(),
            placed: None,
        }
    }

    fn vlan_only(&self) -> SharedSlice<bool> {
        let data_path_rules = VlanConfig::new(&DEFAULT_TPIDS, DEFAULT_DEPTH).ok();
        let same_rules = self
            .filters
            .as_ref()
            .is_some_and(|t| Some(*t.vlan()) == data_path_rules);
        self.policies
            .iter()
            .map(|p| same_rules && p.as_ref().is_some_and(|p| p.is_vlan_only()))
            .collect()
    }

    /// The policies, tables and `vlan_only` in table memory: the last
    /// build's copies while the builder's `Arc`s are the same ones.
    fn placed(&mut self) -> &Placed {
        let fresh = self.placed.as_ref().is_some_and(|p| {
            same_arcs(&p.from.0, &self.policies)
                && match (&p.from.1, &self.filters) {
                    (Some(x), Some(y)) => Arc::ptr_eq(x, y),
                    (None, None) => true,
                    _ => false,
                }
        });
        if !fresh {
            self.placed = Some(Placed {
                from: (self.policies.clone(), self.filters.clone()),
                policies: self
                    .policies
                    .iter()
                    .map(|p| p.as_deref().cloned())
                    .collect(),
                filters: self.filters.as_deref().cloned().map(SharedBox::new),
                vlan_only: self.vlan_only(),
            });
        }
        self.placed.as_ref().expect("placed above")
    }

    pub fn build(&mut self, epoch: u64, fdb: FdbView) -> ForwardingSnapshot {
        let placed = self.placed().clone();
        let plain = placed.policies.iter().all(Option::is_none);
        ForwardingSnapshot {
            epoch,
            ports: SharedSlice::from_slice(&self.ports),
            fdb,
            max_frame_len: self.max_frame_len,
            refresh_after_secs: self.refresh_after_secs,
            policies: placed.policies,
            vlan_only: placed.vlan_only,
            filters: placed.filters,
            transparent: self.transparent.clone(),
            plain,
            routes: self.routes.clone(),
            live: self.live.clone(),
            devices: self.devices.clone(),
            dhcp_cast_servers: self.dhcp_cast_servers.clone(),
        }
    }

    /// DHCPCAST's designated servers for the next snapshots, sorted and
    /// without repeats so a worker can search them.
    pub fn set_dhcp_cast_servers(&mut self, servers: impl IntoIterator<Item = u64>) {
        let mut v: Vec<u64> = servers.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        self.dhcp_cast_servers = SharedSlice::from_slice(&v);
    }

    /// Adds a port slot (vacant, not forwarding until its view says so).
    pub fn push_port(&mut self) {
        self.ports.push(PortView {
            learning: false,
            forwarding: false,
            ..PortView::default()
        });
        self.policies.push(None);
    }

    /// Takes SSTP's routes into the next snapshots (one copy per change).
    pub fn set_routes(&mut self, routes: &Routes) {
        self.routes = (0..routes.len() as u32)
            .map(|s| routes.get(s).copied().unwrap_or(BridgeRoute::UNREACHABLE))
            .collect();
    }
}

/// A published snapshot: the `Arc` the swap needs, around the snapshot's
/// body in table memory.
pub type Published = Arc<SharedBox<ForwardingSnapshot>>;

/// The single-writer publication point.
pub struct Publisher {
    current: Arc<ArcSwap<SharedBox<ForwardingSnapshot>>>,
    publishes: AtomicU64,
}

impl Publisher {
    pub fn new(first: ForwardingSnapshot) -> Self {
        Publisher {
            current: Arc::new(ArcSwap::from_pointee(SharedBox::new(first))),
            publishes: AtomicU64::new(0),
        }
    }

    /// Publishes `next`: one atomic swap. Readers holding the previous
    /// snapshot keep it until they let go.
    pub fn publish(&self, next: ForwardingSnapshot) {
        self.current.store(Arc::new(SharedBox::new(next)));
        self.publishes.fetch_add(1, Ordering::Relaxed);
    }

    /// The current snapshot (wait-free for readers).
    #[inline]
    pub fn load(&self) -> arc_swap::Guard<Published> {
        self.current.load()
    }

    /// A per-worker cache: after the first load, checking for a newer
    /// snapshot is one atomic load and a pointer compare.
    pub fn reader(&self) -> SnapshotReader {
        SnapshotReader {
            cache: arc_swap::Cache::new(Arc::clone(&self.current)),
        }
    }

    /// An owned reference to the current snapshot (for management code
    /// that keeps it across calls).
    pub fn load_full(&self) -> Published {
        self.current.load_full()
    }

    /// Snapshots published so far.
    pub fn publishes(&self) -> u64 {
        self.publishes.load(Ordering::Relaxed)
    }
}

/// A worker's handle on the current snapshot.
pub struct SnapshotReader {
    cache: arc_swap::Cache<Arc<ArcSwap<SharedBox<ForwardingSnapshot>>>, Published>,
}

impl SnapshotReader {
    /// The current snapshot; valid until the next call.
    #[inline]
    pub fn current(&mut self) -> &ForwardingSnapshot {
        self.cache.load()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fdb::{Fdb, FdbKey};
    use std::sync::Barrier;

    fn snap(epoch: u64, fdb: &Fdb) -> ForwardingSnapshot {
        SnapshotBuilder::new(2).build(epoch, fdb.view())
    }

    #[test]
    fn reader_keeps_its_snapshot_across_publishes() {
        let mut fdb = Fdb::new(10, 10, 300);
        let p = Arc::new(Publisher::new(snap(0, &fdb)));
        let held = p.load_full();
        for e in 1..=100 {
            fdb.learn(FdbKey::new(0, [2, 0, 0, 0, 0, e as u8]), 0, 0);
            p.publish(snap(e, &fdb));
        }
        assert_eq!(held.epoch, 0);
        assert!(held.fdb.is_empty());
        assert_eq!(p.load().epoch, 100);
        assert_eq!(p.publishes(), 100);
    }

    /// The writer is stopped in the middle of a publish (it has started
    /// building the next snapshot and holds everything the control lcore
    /// holds); a worker still loads snapshots, a hundred thousand times,
    /// without waiting. Then the publish completes and the worker sees it.
    #[test]
    fn worker_never_waits_on_a_publish() {
        let fdb = Fdb::new(10, 10, 300);
        let p = Arc::new(Publisher::new(snap(0, &fdb)));
        let mid_publish = Arc::new(Barrier::new(2));
        let worker_done = Arc::new(Barrier::new(2));
        let writer = {
            let (p, mid, done) = (p.clone(), mid_publish.clone(), worker_done.clone());
            std::thread::spawn(move || {
                let mut fdb = Fdb::new(10, 10, 300);
                fdb.learn(FdbKey::new(0, [2, 0, 0, 0, 0, 1]), 1, 0);
                let next = snap(1, &fdb);
                mid.wait(); // building done, swap not yet made
                done.wait(); // held here until the worker has finished
                p.publish(next);
            })
        };
        let mut reader = p.reader();
        mid_publish.wait();
        let mut loads = 0u64;
        for _ in 0..100_000 {
            assert_eq!(reader.current().epoch, 0);
            loads += 1;
        }
        assert_eq!(loads, 100_000);
        worker_done.wait();
        writer.join().unwrap();
        assert_eq!(reader.current().epoch, 1);
    }

    /// Under a storm of publishes, every load returns a whole snapshot and
    /// epochs seen by a reader never go backwards.
    #[test]
    fn concurrent_publishes_are_seen_in_order() {
        let mut fdb = Fdb::new(1000, 1000, 300);
        let p = Arc::new(Publisher::new(snap(0, &fdb)));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let p = p.clone();
                std::thread::spawn(move || {
                    let mut r = p.reader();
                    let mut last = 0;
                    while last < 500 {
                        let s = r.current();
                        assert!(s.epoch >= last);
                        assert_eq!(s.fdb.len() as u64, s.epoch.min(500));
                        last = s.epoch;
                    }
                })
            })
            .collect();
        for e in 1..=500u64 {
            fdb.learn(FdbKey::new(0, [2, 0, 0, 0, (e >> 8) as u8, e as u8]), 0, 0);
            p.publish(snap(e, &fdb));
        }
        for r in readers {
            r.join().unwrap();
        }
    }
}
