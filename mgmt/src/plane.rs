//! The control plane: the only writer of switch state.
//!
//! It owns the FDB authority, the snapshot builder and publisher, each
//! port's switch-level state (carrier, admin, spanning-tree state, BPDU
//! guard), the run-time bindings and the protocols. Everything reaches it
//! as a call with the time (`now`, a monotonic [`Duration`] since start):
//! learn events, punted control frames, carrier changes, settings. What it
//! wants sent waits in an outbox; what workers must see is published as a
//! snapshot. It holds no DPDK object, so it is unit tested without EAL or
//! root.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info, warn};

use satellite_dataplane::fdb::{Fdb, LearnOutcome};
use satellite_dataplane::frame::PuntKind;
use satellite_dataplane::snapshot::{
    port_capacity, PortDevice, PortDevices, Published, Publisher, SnapshotBuilder,
};
use satellite_dataplane::storm::StormLimits;
use satellite_dataplane::worker::{BindingEvent, LearnEvent};
use satellite_dataplane::PortIndex;
use satellite_filters::{Ipv4Binding, MacAddr};
use satellite_protocol::wire::decode_bpdu_frame;

use crate::bindings::{BindingOrigin, Bindings, RuntimeBinding};
use crate::config::{Config, PortConfig, PortKind};
use crate::learn_refusals::RefusalLog;
use crate::link_state::LinkState;
use crate::protocols::{Effect, Protocols};

/// How often a changed FDB is published, at most.
pub(crate) const PUBLISH_INTERVAL: Duration = Duration::from_millis(1);
/// How often the FDB ages out entries.
const AGE_INTERVAL: Duration = Duration::from_secs(1);

/// What the plane is told about a port when the daemon starts.
#[derive(Debug, Clone)]
pub(crate) struct PortSetup {
    pub(crate) name: String,
    pub(crate) mac: [u8; 6],
    pub(crate) cfg: PortConfig,
    pub(crate) carrier: bool,
    pub(crate) speed_mbps: u32,
    /// The DPDK port behind it.
    pub(crate) dpdk_port: u16,
}

/// One switch port as the control plane knows it.
#[derive(Debug, Clone)]
pub(crate) struct SwitchPort {
    pub(crate) name: String,
    pub(crate) mac: [u8; 6],
    pub(crate) kind: PortKind,
    pub(crate) cfg: PortConfig,
    /// Kernel carrier (or DPDK link) as last seen.
    pub(crate) carrier: bool,
    pub(crate) speed_mbps: u32,
    /// Administratively enabled (`satctl port P up|down`, BPDU guard).
    pub(crate) admin_up: bool,
    /// What the spanning tree allows (always true when it is off).
    pub(crate) stp_learning: bool,
    pub(crate) stp_forwarding: bool,
    /// Times BPDU guard disabled this port.
    pub(crate) bpdu_guard_trips: u64,
    /// When BPDU guard lets the port come back by itself.
    pub(crate) guard_recovery_at: Option<Duration>,
    /// SSTP frames refused because the port is for hosts.
    pub(crate) sstp_refused: u64,
    /// Hosts live here: configured edge, or auto and RSTP's operEdge.
    pub(crate) host_port: bool,
    /// The slot of a port removed at run time: nothing is here, and the
    /// index waits for the next port added (indexes never move).
    pub(crate) vacant: bool,
}

impl SwitchPort {
    pub(crate) fn enabled(&self) -> bool {
        !self.vacant && self.carrier && self.admin_up
    }

    fn new(p: PortSetup, stp_on: bool) -> SwitchPort {
        SwitchPort {
            name: p.name,
            mac: p.mac,
            kind: p.cfg.kind,
            cfg: p.cfg,
            carrier: p.carrier,
            speed_mbps: p.speed_mbps,
            admin_up: true,
            stp_learning: !stp_on,
            stp_forwarding: !stp_on,
            bpdu_guard_trips: 0,
            guard_recovery_at: None,
            sstp_refused: 0,
            host_port: false, // set by refresh_port_views
            vacant: false,
        }
    }

    /// What a removed port leaves: no name, no carrier, a MAC that is
    /// never the lowest (the ARPless responder is the lowest).
    fn vacant_slot() -> SwitchPort {
        let mut p = SwitchPort::new(
            PortSetup {
                name: String::new(),
                mac: [0xFF; 6],
                cfg: PortConfig::default(),
                carrier: false,
                speed_mbps: 0,
                dpdk_port: 0,
            },
            false,
        );
        p.admin_up = false;
        p.stp_learning = false;
        p.stp_forwarding = false;
        p.vacant = true;
        p
    }
}

/// A port's storm control (the worker applies it while the port is a host
/// port): the configured limits unless the port opts out.
fn storm_limits(cfg: &Config, port: &PortConfig) -> StormLimits {
    let s = &cfg.storm_control;
    if port.storm_control == Some(false) {
        return StormLimits::default();
    }
    StormLimits {
        broadcast_pps: s.broadcast_pps,
        multicast_pps: s.multicast_pps,
        unknown_unicast_pps: s.unknown_unicast_pps,
        burst: s.burst,
    }
}

/// A frame the control plane wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outgoing {
    pub(crate) port: PortIndex,
    pub(crate) frame: Vec<u8>,
}

/// A handler for one kind of punted frame.
struct PuntHandler {
    kind: PuntKind,
    /// Label of the `control_frames` counter.
    label: &'static str,
    handle: fn(&mut ControlPlane, Duration, PortIndex, &[u8]),
}

/// Punted frames by kind, in [`PuntKind`] order (a test checks it).
const PUNT_HANDLERS: [PuntHandler; 2] = [
    PuntHandler {
        kind: PuntKind::Bpdu,
        label: "bpdu",
        handle: ControlPlane::on_bpdu,
    },
    PuntHandler {
        kind: PuntKind::Sstp,
        label: "sstp",
        handle: ControlPlane::on_sstp,
    },
];

/// The control plane of one switch.
pub(crate) struct ControlPlane {
    cfg: Config,
    ports: Vec<SwitchPort>,
    fdb: Fdb,
    builder: SnapshotBuilder,
    publisher: Arc<Publisher>,
    epoch: u64,
    bindings: Bindings,
    /// The filters were rebuilt: our ports' bindings may have changed and
    /// are advertised again at the next [`ControlPlane::apply_effects`].
    bindings_dirty: bool,
    protocols: Option<Protocols>,
    link: LinkState,
    /// Times SSTP's routes or homes changed (they reach the snapshot with
    /// the SSTP data path).
    route_changes: u64,
    effects: Vec<Effect>,
    outbox: Vec<Outgoing>,
    /// Control frames received, by kind.
    control_frames: BTreeMap<String, u64>,
    /// A port's view changed: publish at the next poll.
    ports_changed: bool,
    last_publish: Duration,
    next_age: Duration,
    /// Learning refused by a limit, for rate-limited warnings.
    refusals: RefusalLog,
    /// The DPDK port of each slot (see [`SwitchPort::vacant`]).
    dpdk_ports: Vec<Option<u16>>,
    /// Most port slots: the workers' counters have this many.
    capacity: usize,
}

impl ControlPlane {
    /// A plane over `ports` (by index), its protocols started and the
    /// first snapshot published.
    pub(crate) fn new(cfg: Config, ports: Vec<PortSetup>) -> Result<ControlPlane, String> {
        let stp_on = cfg.stp.enabled;
        let protocols = if stp_on {
            let list: Vec<_> = ports
                .iter()
                .map(|p| (p.name.clone(), p.mac, p.cfg.clone()))
                .collect();
            Some(Protocols::new(&cfg, &list)?)
        } else {
            None
        };
        let dpdk_ports: Vec<Option<u16>> = ports.iter().map(|p| Some(p.dpdk_port)).collect();
        let ports: Vec<SwitchPort> = ports
            .into_iter()
            .map(|p| SwitchPort::new(p, stp_on))
            .collect();
        let f = &cfg.fdb;
        let fdb = match f.hash_seed {
            Some(seed) => Fdb::new_seeded(f.capacity, f.per_port_limit, f.aging_time, seed),
            None => Fdb::new(f.capacity, f.per_port_limit, f.aging_time),
        };
        let mut builder = SnapshotBuilder::new(ports.len());
        builder.max_frame_len = cfg.dataplane.max_frame_len;
        builder.refresh_after_secs = (cfg.fdb.aging_time / 4).max(1);
        builder.devices = Arc::new(PortDevices {
            generation: 1,
            slots: ports
                .iter()
                .zip(&dpdk_ports)
                .map(|(p, d)| {
                    d.map(|dpdk_port| PortDevice {
                        dpdk_port,
                        storm: storm_limits(&cfg, &p.cfg),
                    })
                })
                .collect(),
        });
        let capacity = port_capacity(ports.len());
        let publisher = Arc::new(Publisher::new(builder.build(0, fdb.view())));
        let live = builder.live.clone();
        let mut plane = ControlPlane {
            cfg,
            ports,
            fdb,
            builder,
            publisher,
            epoch: 0,
            bindings: Bindings::default(),
            bindings_dirty: true,
            protocols,
            link: LinkState::new(live),
            route_changes: 0,
            effects: Vec::new(),
            outbox: Vec::new(),
            control_frames: BTreeMap::new(),
            ports_changed: false,
            last_publish: Duration::ZERO,
            next_age: AGE_INTERVAL,
            refusals: RefusalLog::default(),
            dpdk_ports,
            capacity,
        };
        plane.rebuild_filters()?;
        let now = Duration::ZERO;
        for i in 0..plane.ports.len() {
            if plane.ports[i].enabled() {
                let speed = plane.ports[i].speed_mbps;
                if let Some(p) = plane.protocols.as_mut() {
                    p.port_up(now, i as PortIndex, speed);
                }
            }
        }
        plane.refresh_port_views();
        plane.publish(now);
        Ok(plane)
    }

    /// The data path's liveness word (bit per port), for the link-event
    /// thread that clears a port's bit on the kernel's carrier loss.
    pub(crate) fn live_word(&self) -> Arc<std::sync::atomic::AtomicU64> {
        self.link.live_word()
    }

    /// After a pass that read carrier: the engine's liveness verdict
    /// replaces whatever the link-event thread cleared meanwhile.
    pub(crate) fn resync_liveness(&mut self) {
        self.link.resync_live();
    }

    /// Where snapshots are published (workers read it).
    pub(crate) fn publisher(&self) -> &Arc<Publisher> {
        &self.publisher
    }

    pub(crate) fn config(&self) -> &Config {
        &self.cfg
    }

    pub(crate) fn ports(&self) -> &[SwitchPort] {
        &self.ports
    }

    pub(crate) fn fdb(&self) -> &Fdb {
        &self.fdb
    }

    pub(crate) fn protocols(&self) -> Option<&Protocols> {
        self.protocols.as_ref()
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    pub(crate) fn control_frames(&self) -> &BTreeMap<String, u64> {
        &self.control_frames
    }

    /// Whether port `i` has an edge filter policy.
    pub(crate) fn has_policy(&self, i: usize) -> bool {
        self.builder.policies.get(i).is_some_and(Option::is_some)
    }

    /// The snapshot workers see now.
    pub(crate) fn snapshot(&self) -> Published {
        self.publisher.load_full()
    }

    /// The frames waiting to be sent, in order.
    pub(crate) fn take_outbox(&mut self) -> std::vec::Drain<'_, Outgoing> {
        self.outbox.drain(..)
    }

    /// The index of the port named `name`.
    pub(crate) fn port_index(&self, name: &str) -> Result<usize, String> {
        self.ports
            .iter()
            .position(|p| !p.vacant && p.name == name)
            .ok_or_else(|| {
                let names: Vec<_> = self.present().map(|(_, p)| p.name.as_str()).collect();
                format!("no port {name:?} (ports: {})", names.join(", "))
            })
    }

    /// The ports there are, with their indexes (vacant slots left out).
    pub(crate) fn present(&self) -> impl Iterator<Item = (usize, &SwitchPort)> {
        self.ports.iter().enumerate().filter(|(_, p)| !p.vacant)
    }

    /// The generation of port devices the last publish carried: once every
    /// worker runs on it, a device it dropped is no longer touched.
    pub(crate) fn devices_generation(&self) -> u64 {
        self.builder.devices.generation
    }

    /// The index the next added port takes: the first vacant slot, else a
    /// new one, within the workers' counters.
    pub(crate) fn next_slot(&self) -> Result<usize, String> {
        match self.ports.iter().position(|p| p.vacant) {
            Some(i) => Ok(i),
            None if self.ports.len() < self.capacity => Ok(self.ports.len()),
            None => Err(format!(
                "no room for another port: a switch has at most {} ports",
                self.capacity
            )),
        }
    }

    /// Adds a port at run time in [`ControlPlane::next_slot`]: the
    /// protocols gain it, the filters compile with it, and the next
    /// publish wires its device into the workers. Refused, changing
    /// nothing, when its settings do not compile.
    pub(crate) fn add_port(&mut self, now: Duration, setup: PortSetup) -> Result<usize, String> {
        let i = self.next_slot()?;
        if let Some(p) = self.protocols.as_mut() {
            p.add_port(now, i as PortIndex, &setup.name, setup.mac, &setup.cfg)?;
        }
        let stp_on = self.protocols.is_some();
        let dpdk_port = setup.dpdk_port;
        let port = SwitchPort::new(setup, stp_on);
        let fresh = i == self.ports.len();
        if fresh {
            self.ports.push(port);
            self.dpdk_ports.push(Some(dpdk_port));
            self.builder.push_port();
        } else {
            self.ports[i] = port;
            self.dpdk_ports[i] = Some(dpdk_port);
        }
        self.cfg.ports.push(self.ports[i].cfg.clone());
        if let Err(e) = self.rebuild_filters() {
            if let Some(p) = self.protocols.as_mut() {
                let _ = p.remove_port(now, i as PortIndex);
            }
            self.cfg.ports.pop();
            self.ports[i] = SwitchPort::vacant_slot();
            self.dpdk_ports[i] = None;
            let _ = self.rebuild_filters();
            self.refresh_port_views();
            return Err(e);
        }
        self.sync_devices();
        if self.ports[i].enabled() {
            let speed = self.ports[i].speed_mbps;
            if let Some(p) = self.protocols.as_mut() {
                p.port_up(now, i as PortIndex, speed);
            }
        }
        self.refresh_port_views();
        self.ports_changed = true;
        Ok(i)
    }

    /// Removes port `i` at run time: out of the protocols (SSTP tells the
    /// neighbours), its FDB entries, MAC homes and run-time bindings gone,
    /// and the next publish takes its device away from the workers. The
    /// slot stays, vacant. The last port is not removed: a switch with no
    /// port has nothing to do and could not be reached again.
    pub(crate) fn remove_port(&mut self, now: Duration, i: usize) -> Result<(), String> {
        if self.ports.get(i).is_none_or(|p| p.vacant) {
            return Err(format!("no port at index {i}"));
        }
        if self.present().count() <= 1 {
            return Err(format!(
                "{} is the last port; a switch keeps at least one",
                self.ports[i].name
            ));
        }
        if let Some(p) = self.protocols.as_mut() {
            p.remove_port(now, i as PortIndex)?;
        }
        let name = std::mem::take(&mut self.ports[i].name);
        self.ports[i] = SwitchPort::vacant_slot();
        self.dpdk_ports[i] = None;
        self.cfg.ports.retain(|p| p.name != name);
        self.link.set_live(i as PortIndex, false);
        self.fdb.flush_port(i as PortIndex);
        self.reconcile_homes(now);
        self.bindings.forget_port(i);
        if let Err(e) = self.rebuild_filters() {
            warn!(port = %name, "filters after removing the port: {e}");
        }
        self.sync_devices();
        self.apply_effects(now);
        self.refresh_port_views();
        self.ports_changed = true;
        Ok(())
    }

    /// A worker learned (or refreshed) a source.
    pub(crate) fn learn(&mut self, now: Duration, ev: LearnEvent) {
        // A worker may report a source seen just before its port went.
        if self.ports.get(ev.port as usize).is_none_or(|p| p.vacant) {
            return;
        }
        let host = self
            .ports
            .get(ev.port as usize)
            .is_some_and(|p| p.host_port);
        // A host the link state places at another switch stays there when
        // its frames are seen on a fabric port; seen on one of our host
        // ports, it has moved here.
        if !host && self.fdb.get(ev.key).is_some_and(|e| e.home().is_some()) {
            return;
        }
        let outcome = self.fdb.learn(ev.key, ev.port, secs(now));
        if matches!(outcome, LearnOutcome::PortLimit | LearnOutcome::TableFull) {
            if let Some(refused) = self.refusals.refused(now, ev.port as usize) {
                let why = if outcome == LearnOutcome::PortLimit {
                    "the port is at its learn limit (fdb.per_port_limit)"
                } else {
                    "the table is full (fdb.capacity)"
                };
                warn!(
                    port = %self.port_name(ev.port), refused,
                    port_entries = self.fdb.port_len(ev.port), entries = self.fdb.len(),
                    "MAC learning refused: {why}; new sources stay unknown and are flooded"
                );
            }
        }
        if let LearnOutcome::Moved { from } = outcome {
            debug!(
                mac = %MacAddr(ev.key.mac()), vlan = ev.key.vid(),
                from = %self.port_name(from), to = %self.port_name(ev.port), "station moved"
            );
        }
        if matches!(
            outcome,
            LearnOutcome::New | LearnOutcome::Moved { .. } | LearnOutcome::Refreshed
        ) {
            if let Some(p) = self.protocols.as_mut() {
                self.link.learned(now, ev.key, ev.port, host, p);
            }
        }
    }

    /// The link-state side of the plane (MAC homes, liveness).
    pub(crate) fn link_state(&self) -> &LinkState {
        &self.link
    }

    /// Times SSTP's routes or MAC homes changed.
    pub(crate) fn route_changes(&self) -> u64 {
        self.route_changes
    }

    /// Withdraws the MAC homes the FDB no longer has.
    fn reconcile_homes(&mut self, now: Duration) {
        if let Some(p) = self.protocols.as_mut() {
            self.link.reconcile(now, &self.fdb, p);
        }
    }

    /// A worker saw the first ARP of a learn-once port: bind and lock it.
    pub(crate) fn binding_learned(&mut self, ev: BindingEvent) {
        let b = RuntimeBinding {
            port: ev.port as usize,
            binding: Ipv4Binding {
                vid: ev.vid,
                ip: ev.ip,
                mac: MacAddr(ev.mac),
            },
            origin: BindingOrigin::Learned,
        };
        if self.ports.get(b.port).is_none_or(|p| p.vacant) || self.bindings.port_has_any(b.port) {
            return;
        }
        info!(port = %self.ports[b.port].name, ip = %ev.ip, mac = %MacAddr(ev.mac),
              "ARPless: binding learned and locked");
        match self.add_binding(b) {
            Ok(()) => self.ports_changed = true,
            Err(e) => warn!("ARPless: cannot learn binding: {e}"),
        }
    }

    /// A worker punted a control frame received on `port`.
    pub(crate) fn punt(&mut self, now: Duration, port: PortIndex, kind: PuntKind, frame: &[u8]) {
        let Some(h) = PUNT_HANDLERS.iter().find(|h| h.kind == kind) else {
            return;
        };
        *self.control_frames.entry(h.label.into()).or_default() += 1;
        if self.ports.get(port as usize).is_some_and(|p| !p.vacant) {
            (h.handle)(self, now, port, frame);
        }
    }

    /// BPDUs: BPDU guard on edge ports, else the spanning tree.
    fn on_bpdu(&mut self, now: Duration, port: PortIndex, frame: &[u8]) {
        let i = port as usize;
        if self.ports[i].kind == PortKind::Edge {
            if self.ports[i].admin_up {
                self.trip_bpdu_guard(now, i, frame);
            }
            return;
        }
        if self.ports[i].enabled() {
            if let Some(p) = self.protocols.as_mut() {
                p.receive(now, port, frame);
            }
        }
    }

    /// A bridge is on a port configured for hosts: the port goes down
    /// until an operator brings it back.
    fn trip_bpdu_guard(&mut self, now: Duration, i: usize, frame: &[u8]) {
        self.ports[i].bpdu_guard_trips += 1;
        let src = MacAddr::from_slice(frame.get(6..).unwrap_or_default()).unwrap_or_default();
        let sender = match decode_bpdu_frame(frame) {
            Ok(f) => format!("{:?}", f.bpdu),
            Err(e) => format!("undecodable: {e}"),
        };
        let name = &self.ports[i].name;
        let recovery = self.cfg.stp.bpdu_guard_recovery;
        if recovery > 0 {
            warn!(target: "sstp", port = %name, src = %src, bpdu = %sender,
                "BPDU guard: BPDU received on an edge port, port disabled for {recovery} s \
                 (or `satctl port {name} up`)");
        } else {
            warn!(target: "sstp", port = %name, src = %src, bpdu = %sender,
                "BPDU guard: BPDU received on an edge port, port disabled \
                 (re-enable with `satctl port {name} up`)");
        }
        self.set_admin(now, i, false);
        self.ports[i].guard_recovery_at =
            (recovery > 0).then(|| now + Duration::from_secs(u64::from(recovery)));
        self.ports_changed = true;
    }

    /// Brings back the ports whose BPDU guard hold is over.
    fn recover_guarded_ports(&mut self, now: Duration) {
        for i in 0..self.ports.len() {
            if self.ports[i].guard_recovery_at.is_some_and(|t| t <= now) {
                info!(target: "sstp", port = %self.ports[i].name,
                    "BPDU guard: port enabled again after its hold; a BPDU there disables it again");
                self.set_admin(now, i, true);
                self.ports_changed = true;
            }
        }
    }

    /// SSTP PDUs: refused on host ports (counted), else the link state.
    fn on_sstp(&mut self, now: Duration, port: PortIndex, frame: &[u8]) {
        let i = port as usize;
        if self.ports[i].kind == PortKind::Edge {
            self.ports[i].sstp_refused += 1;
            return;
        }
        if self.ports[i].enabled() {
            if let Some(p) = self.protocols.as_mut() {
                p.receive(now, port, frame);
            }
        }
    }

    /// The carrier of port `i` is now `up` (at `speed_mbps`).
    pub(crate) fn carrier(&mut self, now: Duration, i: usize, up: bool, speed_mbps: u32) {
        let p = &mut self.ports[i];
        p.speed_mbps = speed_mbps;
        if up == p.carrier {
            return;
        }
        info!(target: "sstp", port = %p.name, up, "link {}", if up { "up" } else { "down" });
        let was = p.enabled();
        p.carrier = up;
        if was != p.enabled() {
            self.port_enabled_changed(now, i, !was, false);
        }
        self.ports_changed = true;
    }

    /// Administratively enables or disables port `i`.
    pub(crate) fn set_admin(&mut self, now: Duration, i: usize, up: bool) {
        // Whoever sets the port's state ends a BPDU guard hold.
        self.ports[i].guard_recovery_at = None;
        let was = self.ports[i].enabled();
        self.ports[i].admin_up = up;
        let is = self.ports[i].enabled();
        if was != is {
            self.port_enabled_changed(now, i, is, true);
        }
    }

    /// `admin`: the administrator (or BPDU guard) did it, not the carrier.
    fn port_enabled_changed(&mut self, now: Duration, i: usize, enabled: bool, admin: bool) {
        if let Some(p) = self.protocols.as_mut() {
            if enabled {
                p.port_up(now, i as PortIndex, self.ports[i].speed_mbps);
            } else {
                p.port_down(now, i as PortIndex, admin);
            }
        }
        if !enabled {
            self.fdb.flush_port(i as PortIndex);
            self.reconcile_homes(now);
        }
        self.refresh_port_views();
    }

    /// Gives the workers each port's device and storm limits as they are
    /// now: a new [`PortDevices`] generation when anything differs.
    fn sync_devices(&mut self) {
        let slots: Vec<Option<PortDevice>> = self
            .ports
            .iter()
            .zip(&self.dpdk_ports)
            .map(|(p, d)| {
                d.map(|dpdk_port| PortDevice {
                    dpdk_port,
                    storm: storm_limits(&self.cfg, &p.cfg),
                })
            })
            .collect();
        if slots != self.builder.devices.slots {
            self.builder.devices = Arc::new(PortDevices {
                generation: self.builder.devices.generation + 1,
                slots,
            });
            self.ports_changed = true;
        }
    }

    /// Takes a reloaded configuration's run-time settings (filters, FDB
    /// limits, storm control, BPDU guard hold, frame length); the running
    /// ports stay as they are. Refused, changing nothing, when the filters
    /// do not compile with it.
    pub(crate) fn replace_settings(&mut self, new: &Config) -> Result<(), String> {
        let mut next = new.clone();
        next.ports = self.cfg.ports.clone();
        let old = std::mem::replace(&mut self.cfg, next);
        if let Err(e) = self.rebuild_filters() {
            self.cfg = old;
            let _ = self.rebuild_filters();
            return Err(e);
        }
        self.builder.max_frame_len = self.cfg.dataplane.max_frame_len;
        self.sync_devices();
        self.refresh_port_views();
        self.ports_changed = true;
        Ok(())
    }

    /// Gives port `i` a reloaded configuration of the same kind: path
    /// cost, priority, filters, storm control. Refused, changing nothing,
    /// when its filters do not compile.
    pub(crate) fn retune_port(
        &mut self,
        now: Duration,
        i: usize,
        pc: PortConfig,
    ) -> Result<(), String> {
        let old = std::mem::replace(&mut self.ports[i].cfg, pc.clone());
        let name = self.ports[i].name.clone();
        let slot = self.cfg.ports.iter().position(|p| p.name == name);
        if let Some(k) = slot {
            self.cfg.ports[k] = pc.clone();
        }
        if let Err(e) = self.rebuild_filters() {
            if let Some(k) = slot {
                self.cfg.ports[k] = old.clone();
            }
            self.ports[i].cfg = old;
            let _ = self.rebuild_filters();
            return Err(e);
        }
        if let Some(p) = self.protocols.as_mut() {
            if pc.path_cost != old.path_cost {
                p.set_port_cost(now, i as PortIndex, pc.path_cost)?;
            }
            if pc.priority != old.priority {
                let prio = pc
                    .priority
                    .unwrap_or(satellite_protocol::rstp::DEFAULT_PORT_PRIORITY);
                p.set_port_priority(now, i as PortIndex, prio.into())?;
            }
        }
        self.sync_devices();
        self.ports_changed = true;
        Ok(())
    }

    /// Changes the spanning tree's Hello Time, Max Age and Forward Delay.
    pub(crate) fn set_bridge_times(
        &mut self,
        now: Duration,
        hello_time: u16,
        max_age: u16,
        forward_delay: u16,
    ) -> Result<(), String> {
        self.protocols_mut()?
            .set_bridge_times(now, hello_time, max_age, forward_delay)
    }

    fn protocols_mut(&mut self) -> Result<&mut Protocols, String> {
        self.protocols
            .as_mut()
            .ok_or_else(|| "spanning tree is disabled ([stp] enabled = false)".into())
    }

    pub(crate) fn set_priority(&mut self, now: Duration, priority: u32) -> Result<(), String> {
        self.protocols_mut()?.set_priority(now, priority)
    }

    pub(crate) fn set_port_cost(
        &mut self,
        now: Duration,
        i: usize,
        cost: u32,
    ) -> Result<(), String> {
        self.protocols_mut()?
            .set_port_cost(now, i as PortIndex, Some(cost))
    }

    pub(crate) fn set_port_priority(
        &mut self,
        now: Duration,
        i: usize,
        priority: u32,
    ) -> Result<(), String> {
        self.protocols_mut()?
            .set_port_priority(now, i as PortIndex, priority)
    }

    /// Adds a run-time binding, refused (and undone) when the port has no
    /// ARPless policy or the tables cannot take it.
    pub(crate) fn add_binding(&mut self, b: RuntimeBinding) -> Result<(), String> {
        if !self.has_policy(b.port) {
            return Err(format!(
                "port {} has no ARPless policy (see [[port]] arpless)",
                self.ports[b.port].name
            ));
        }
        let replaced = self.bindings.add(b);
        if let Err(e) = self.rebuild_filters() {
            self.bindings.undo_add(replaced);
            let _ = self.rebuild_filters();
            return Err(e);
        }
        Ok(())
    }

    /// Removes a run-time binding.
    pub(crate) fn remove_binding(
        &mut self,
        i: usize,
        ip: std::net::Ipv4Addr,
        vid: u16,
    ) -> Result<(), String> {
        if !self.bindings.remove(i, ip, vid) {
            return Err(format!(
                "no run-time binding of {ip} (VLAN {vid}) on {}; configured bindings are changed in the config file",
                self.ports[i].name
            ));
        }
        self.rebuild_filters()
    }

    /// `satctl arp show`.
    pub(crate) fn bindings_report(&self) -> serde_json::Value {
        self.bindings.report(&self.cfg, &self.port_configs())
    }

    fn port_configs(&self) -> Vec<(&str, &PortConfig)> {
        self.ports
            .iter()
            .map(|p| (p.name.as_str(), &p.cfg))
            .collect()
    }

    /// Rebuilds the filter tables and port policies (configuration plus
    /// run-time bindings) into the snapshot builder.
    fn rebuild_filters(&mut self) -> Result<(), String> {
        let responder = self
            .ports
            .iter()
            .map(|p| p.mac)
            .min()
            .unwrap_or([2, 0, 0, 0, 0, 1]);
        let c = self
            .bindings
            .compile(&self.cfg, &self.port_configs(), responder)?;
        self.builder.policies = c.policies;
        self.builder.filters = c.tables;
        self.builder
            .set_dhcp_cast_servers(c.dhcp_cast_servers.iter().map(|m| m.to_u64()));
        self.bindings_dirty = true;
        Ok(())
    }

    /// Recomputes what workers see of each port from carrier, admin state
    /// and spanning-tree state.
    fn refresh_port_views(&mut self) {
        for (i, p) in self.ports.iter_mut().enumerate() {
            p.host_port = p.kind == PortKind::Edge
                || (p.kind == PortKind::Auto
                    && self
                        .protocols
                        .as_ref()
                        .is_some_and(|x| x.is_oper_edge(i as PortIndex)));
            let limit = if p.host_port {
                self.cfg
                    .fdb
                    .host_port_limit
                    .min(self.cfg.fdb.per_port_limit)
            } else {
                0
            };
            self.fdb.set_port_limit(i as PortIndex, limit);
            let v = &mut self.builder.ports[i];
            v.forwarding = p.enabled() && p.stp_forwarding;
            v.learning = p.enabled() && p.stp_learning;
            v.bpdu_guard = p.kind == PortKind::Edge;
            v.host = p.host_port;
        }
    }

    /// Tells workers which host ports are at their learn limit (port
    /// security) and which have room again after aging or a flush.
    fn refresh_source_limits(&mut self) {
        for (i, p) in self.ports.iter().enumerate() {
            let full = p.host_port && self.fdb.port_full(i as PortIndex);
            let v = &mut self.builder.ports[i];
            if v.source_limit_reached != full {
                v.source_limit_reached = full;
                self.ports_changed = true;
                if full {
                    warn!(
                        port = %p.name, limit = self.fdb.port_limit(i as PortIndex),
                        "host port at its learn limit (fdb.host_port_limit): frames from new sources are dropped"
                    );
                } else {
                    info!(port = %p.name, "host port below its learn limit again: new sources are learned");
                }
            }
        }
    }

    /// Runs what is due at `now`: the protocols' timers and their effects,
    /// FDB aging, and a publish when something changed. Call it after
    /// every batch of inputs and at [`ControlPlane::next_deadline`].
    pub(crate) fn poll(&mut self, now: Duration) {
        if let Some(p) = self.protocols.as_mut() {
            p.poll(now);
        }
        self.apply_effects(now);
        if now >= self.next_age {
            self.next_age = now + AGE_INTERVAL;
            let n = self.fdb.age(secs(now));
            if n > 0 {
                debug!(entries = n, "aged out");
                self.reconcile_homes(now);
            }
        }
        self.recover_guarded_ports(now);
        self.refresh_source_limits();
        // Port changes publish at once (they stop or start forwarding);
        // FDB-only changes are batched to one publish per interval.
        if self.ports_changed
            || (self.fdb.is_dirty() && now.saturating_sub(self.last_publish) >= PUBLISH_INTERVAL)
        {
            self.publish(now);
        }
    }

    /// Makes a setting take effect before its answer: its protocol effects
    /// applied and a snapshot published.
    pub(crate) fn settle(&mut self, now: Duration) {
        self.apply_effects(now);
        self.publish(now);
    }

    /// The earliest time [`ControlPlane::poll`] has something to do.
    pub(crate) fn next_deadline(&self) -> Duration {
        let mut t = self.next_age;
        if let Some(p) = self.protocols.as_ref().and_then(Protocols::poll_timeout) {
            t = t.min(p);
        }
        if self.fdb.is_dirty() {
            t = t.min(self.last_publish + PUBLISH_INTERVAL);
        }
        if let Some(g) = self.ports.iter().filter_map(|p| p.guard_recovery_at).min() {
            t = t.min(g);
        }
        if self.ports_changed {
            t = Duration::ZERO;
        }
        t
    }

    /// Carries out what the protocols asked for.
    fn apply_effects(&mut self, now: Duration) {
        if self.protocols.is_none() {
            return;
        }
        let local = std::mem::take(&mut self.bindings_dirty)
            .then(|| self.bindings.local(&self.port_configs()));
        let Some(p) = self.protocols.as_mut() else {
            return;
        };
        if let Some(local) = local {
            self.link.sync_bindings(now, &local, p);
        }
        p.drain(&mut self.effects);
        let mut changed = false;
        let mut flushed = false;
        let (mut routes, mut homes, mut remote_bindings) = (false, false, false);
        for e in self.effects.drain(..) {
            match e {
                Effect::Send { port, frame } => self.outbox.push(Outgoing { port, frame }),
                Effect::PortState {
                    port,
                    learning,
                    forwarding,
                } => {
                    let p = &mut self.ports[port as usize];
                    p.stp_learning = learning;
                    p.stp_forwarding = forwarding;
                    changed = true;
                }
                Effect::Flush { port } => {
                    self.fdb.flush_port(port);
                    flushed = true;
                }
                Effect::Liveness { port, alive } => self.link.set_live(port, alive),
                Effect::RoutesChanged => {
                    self.route_changes += 1;
                    routes = true;
                    homes = true;
                }
                Effect::HomesChanged => {
                    self.route_changes += 1;
                    homes = true;
                }
                Effect::BindingsChanged => remote_bindings = true,
            }
        }
        let mut moved = Vec::new();
        if let Some(e) = self.protocols.as_ref().and_then(|p| p.sstp()) {
            if routes {
                self.builder.set_routes(e.routes());
                changed = true;
            }
            if homes {
                let ports = &self.ports;
                let host = |i: PortIndex| ports.get(i as usize).is_some_and(|p| p.host_port);
                let (fdb_changed, away) = self.link.install_homes(e, &mut self.fdb, host);
                self.ports_changed |= fdb_changed;
                moved = away;
            }
            if remote_bindings
                && self
                    .bindings
                    .set_remote(crate::link_state::remote_bindings(e))
            {
                match self.rebuild_filters() {
                    Ok(()) => changed = true,
                    Err(e) => warn!("filters with the fabric's bindings: {e}"),
                }
            }
        }
        if !moved.is_empty() {
            if let Some(p) = self.protocols.as_mut() {
                self.link.withdraw_moved(now, moved, p);
            }
            // The withdrawal's LSP goes out now, not at the next poll.
            self.apply_effects(now);
        }
        if flushed {
            self.reconcile_homes(now);
        }
        if changed {
            self.refresh_port_views();
            self.ports_changed = true;
        }
    }

    fn publish(&mut self, now: Duration) {
        self.epoch += 1;
        let snap = self.builder.build(self.epoch, self.fdb.view());
        self.fdb.mark_published();
        self.publisher.publish(snap);
        self.last_publish = now;
        self.ports_changed = false;
    }

    fn port_name(&self, i: PortIndex) -> &str {
        self.ports.get(i as usize).map_or("?", |p| p.name.as_str())
    }
}

/// The FDB's coarse clock: whole seconds since start.
pub(crate) fn secs(now: Duration) -> u32 {
    now.as_secs() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use satellite_dataplane::fdb::FdbKey;
    use satellite_protocol::wire::{encode_bpdu_frame, Bpdu};

    fn setup(names: &[&str], kinds: &[PortKind], stp: bool) -> ControlPlane {
        let mut cfg = Config::default();
        cfg.stp.enabled = stp;
        let ports = names
            .iter()
            .zip(kinds)
            .enumerate()
            .map(|(i, (n, k))| {
                let mut pc = PortConfig::iface(n);
                pc.kind = *k;
                cfg.ports.push(pc.clone());
                PortSetup {
                    name: n.to_string(),
                    mac: [2, 0, 0, 0, 1, i as u8 + 1],
                    cfg: pc,
                    carrier: true,
                    speed_mbps: 10_000,
                    dpdk_port: i as u16,
                }
            })
            .collect();
        ControlPlane::new(cfg, ports).unwrap()
    }

    fn bpdu_from(src: [u8; 6]) -> Vec<u8> {
        encode_bpdu_frame(MacAddr(src), &Bpdu::tcn())
    }

    #[test]
    fn punt_handlers_are_in_punt_kind_order() {
        for (i, h) in PUNT_HANDLERS.iter().enumerate() {
            assert_eq!(h.kind as usize, i, "{}", h.label);
        }
    }

    #[test]
    fn bpdu_guard_disables_an_edge_port_and_counts() {
        let mut p = setup(&["vm", "up"], &[PortKind::Edge, PortKind::Fabric], true);
        let now = Duration::from_millis(5);
        p.punt(now, 0, PuntKind::Bpdu, &bpdu_from([2, 9, 9, 9, 9, 9]));
        assert!(!p.ports()[0].admin_up);
        assert_eq!(p.ports()[0].bpdu_guard_trips, 1);
        assert_eq!(p.control_frames()["bpdu"], 1);
        p.poll(now);
        assert!(!p.snapshot().ports[0].forwarding);
        // Already down: a second BPDU is counted but trips nothing.
        p.punt(now, 0, PuntKind::Bpdu, &bpdu_from([2, 9, 9, 9, 9, 9]));
        assert_eq!(p.ports()[0].bpdu_guard_trips, 1);
        assert_eq!(p.control_frames()["bpdu"], 2);
        p.set_admin(now, 0, true);
        assert!(p.ports()[0].admin_up);
    }

    #[test]
    fn bpdu_guard_lets_the_port_back_after_its_hold_and_trips_again() {
        let mut p = setup(&["vm", "up"], &[PortKind::Edge, PortKind::Fabric], true);
        let hold = Duration::from_secs(30); // stp.bpdu_guard_recovery's default
        let t = Duration::from_secs(1);
        p.punt(t, 0, PuntKind::Bpdu, &bpdu_from([2, 9, 9, 9, 9, 9]));
        p.poll(t);
        assert!(!p.ports()[0].admin_up);
        assert!(p.next_deadline() <= t + hold, "the loop wakes for the hold");
        p.poll(t + hold - Duration::from_millis(1));
        assert!(!p.ports()[0].admin_up, "still held");
        p.poll(t + hold);
        assert!(p.ports()[0].admin_up, "back by itself");
        // The loop is still there: the next BPDU trips it again.
        p.punt(t + hold, 0, PuntKind::Bpdu, &bpdu_from([2, 9, 9, 9, 9, 9]));
        assert!(!p.ports()[0].admin_up);
        assert_eq!(p.ports()[0].bpdu_guard_trips, 2);
        // An operator's `port up` ends the hold at once.
        p.set_admin(t + hold, 0, true);
        assert!(p.ports()[0].guard_recovery_at.is_none());
    }

    #[test]
    fn sstp_frames_are_counted_and_out_of_range_ports_ignored() {
        let mut p = setup(&["a"], &[PortKind::Fabric], true);
        p.punt(Duration::ZERO, 0, PuntKind::Sstp, &[0u8; 60]);
        p.punt(
            Duration::ZERO,
            7,
            PuntKind::Bpdu,
            &bpdu_from([2, 1, 1, 1, 1, 1]),
        );
        assert_eq!(p.control_frames()["sstp"], 1);
        assert_eq!(p.control_frames()["bpdu"], 1);
    }

    #[test]
    fn learned_sources_reach_workers_within_the_publish_interval() {
        let mut p = setup(&["a", "b"], &[PortKind::Edge, PortKind::Edge], false);
        let t0 = Duration::from_millis(10);
        p.poll(t0);
        let key = FdbKey::new(0, [2, 0, 0, 0, 0, 7]);
        p.learn(t0, LearnEvent { key, port: 1 });
        assert!(p.next_deadline() <= t0 + PUBLISH_INTERVAL);
        p.poll(t0 + PUBLISH_INTERVAL);
        assert_eq!(p.snapshot().fdb.get(key).map(|e| e.port), Some(1));
        // Nothing dirty: the next deadline is the aging second, not now.
        assert!(p.next_deadline() > t0 + PUBLISH_INTERVAL);
    }

    #[test]
    fn carrier_loss_stops_forwarding_and_flushes_the_port() {
        let mut p = setup(&["a", "b"], &[PortKind::Edge, PortKind::Edge], false);
        let now = Duration::from_millis(3);
        let key = FdbKey::new(0, [2, 0, 0, 0, 0, 7]);
        p.learn(now, LearnEvent { key, port: 1 });
        p.carrier(now, 1, false, 0);
        p.poll(now);
        let s = p.snapshot();
        assert!(!s.ports[1].forwarding && s.ports[0].forwarding);
        assert!(s.fdb.get(key).is_none());
        p.carrier(now, 1, true, 10_000);
        p.poll(now);
        assert!(p.snapshot().ports[1].forwarding);
    }

    #[test]
    fn the_spanning_tree_sends_through_the_outbox_and_wakes_on_time() {
        let mut p = setup(&["a"], &[PortKind::Fabric], true);
        let t = p.next_deadline();
        assert!(t <= Duration::from_secs(1), "{t:?}");
        p.poll(Duration::from_secs(1));
        let out: Vec<Outgoing> = p.take_outbox().collect();
        assert!(!out.is_empty(), "a designated port sends hellos");
        assert!(out.iter().all(|o| o.port == 0));
        assert!(decode_bpdu_frame(&out[0].frame).is_ok());
        assert!(p.set_priority(Duration::from_secs(1), 4095).is_err());
        assert!(p.set_priority(Duration::from_secs(1), 4096).is_ok());
    }

    #[test]
    fn stp_settings_fail_clearly_when_it_is_off() {
        let mut p = setup(&["a"], &[PortKind::Fabric], false);
        let e = p.set_priority(Duration::ZERO, 4096).unwrap_err();
        assert!(e.contains("disabled"), "{e}");
        assert!(p.port_index("zz").unwrap_err().contains("ports: a"));
    }

    fn sstp_hello_frame(from: u8) -> Vec<u8> {
        use satellite_protocol::wire::{encode_sstp_frame, Hello, SstpPdu, SystemId};
        let sys = SystemId(MacAddr([2, 7, 7, 7, 7, from]));
        let hello = Hello {
            nonce: 9,
            hello_interval_us: 10_000,
            dead_count: 3,
            ..Hello::default()
        };
        encode_sstp_frame(sys.0, sys, 0, &SstpPdu::Hello(hello)).unwrap()
    }

    #[test]
    fn sstp_from_a_host_port_is_refused_and_from_a_fabric_port_heard() {
        let mut p = setup(&["vm", "up"], &[PortKind::Edge, PortKind::Fabric], true);
        let now = Duration::from_millis(1);
        p.punt(now, 0, PuntKind::Sstp, &sstp_hello_frame(1));
        p.punt(now, 1, PuntKind::Sstp, &sstp_hello_frame(2));
        p.poll(now);
        assert_eq!(p.ports()[0].sstp_refused, 1);
        assert_eq!(p.ports()[1].sstp_refused, 0);
        let e = p.protocols().unwrap().sstp().unwrap();
        let adj = e.adjacencies();
        assert_eq!(adj.len(), 1, "SSTP runs on the fabric port only");
        assert_eq!(adj[0].port, 1);
        assert_eq!(adj[0].state.as_str(), "init", "heard, one-way");
        assert_eq!(e.stats().rx.get("hello"), Some(&1));
        // Our hellos go out on the fabric port only.
        let out: Vec<Outgoing> = p.take_outbox().collect();
        assert!(out
            .iter()
            .any(|o| o.port == 1 && satellite_protocol::node::is_sstp_frame(&o.frame)));
        assert!(!out
            .iter()
            .any(|o| o.port == 0 && satellite_protocol::node::is_sstp_frame(&o.frame)));
    }

    #[test]
    fn hosts_learned_on_edge_ports_are_advertised_until_the_fdb_drops_them() {
        let mut p = setup(&["vm", "up"], &[PortKind::Edge, PortKind::Fabric], true);
        let t = Duration::from_secs(5);
        p.poll(t);
        let vm = FdbKey::new(7, [2, 0xAA, 0, 0, 0, 1]);
        let far = FdbKey::new(7, [2, 0xBB, 0, 0, 0, 2]);
        p.learn(t, LearnEvent { key: vm, port: 0 });
        p.learn(t, LearnEvent { key: far, port: 1 });
        p.poll(t);
        let advertised = |p: &ControlPlane| -> Vec<satellite_protocol::wire::MacHome> {
            let e = p.protocols().unwrap().sstp().unwrap();
            let me = e.lsdb().my_slot();
            e.lsdb()
                .fragments(me)
                .flat_map(|f| f.lsp.mac_homes.clone())
                .collect()
        };
        assert_eq!(
            p.link_state().home_count(),
            1,
            "only the host port's source"
        );
        let h = advertised(&p);
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].vid, h[0].mac.0), (7, vm.mac()));
        // The host moves behind the fabric port: no longer ours.
        p.learn(t, LearnEvent { key: vm, port: 1 });
        assert_eq!(p.link_state().home_count(), 0);
        // Back on the host port, then its port loses carrier: withdrawn.
        p.learn(t, LearnEvent { key: vm, port: 0 });
        assert_eq!(p.link_state().home_count(), 1);
        p.carrier(t, 0, false, 0);
        p.poll(t);
        assert_eq!(p.link_state().home_count(), 0);
        p.poll(t + Duration::from_secs(2));
        assert!(advertised(&p).is_empty());
    }

    /// A switch with a host port and one fabric port, its MACs from `id`.
    fn switch(id: u8) -> ControlPlane {
        let mut cfg = Config::default();
        let ports = [("host", PortKind::Edge), ("fab", PortKind::Fabric)]
            .into_iter()
            .enumerate()
            .map(|(i, (n, k))| {
                let mut pc = PortConfig::iface(n);
                pc.kind = k;
                cfg.ports.push(pc.clone());
                PortSetup {
                    name: n.to_string(),
                    mac: [2, 0, 0, id, 0, i as u8 + 1],
                    cfg: pc,
                    carrier: true,
                    speed_mbps: 10_000,
                    dpdk_port: i as u16,
                }
            })
            .collect();
        ControlPlane::new(cfg, ports).unwrap()
    }

    /// Runs two switches cabled fabric port to fabric port for `ms`
    /// milliseconds from `t`, SSTP frames crossing the cable.
    fn cable(a: &mut ControlPlane, b: &mut ControlPlane, t: &mut Duration, ms: u32) {
        fn hand(x: &mut ControlPlane, y: &mut ControlPlane, t: Duration) {
            x.poll(t);
            let out: Vec<Outgoing> = x.take_outbox().collect();
            for o in out.iter().filter(|o| o.port == 1) {
                if satellite_protocol::node::is_sstp_frame(&o.frame) {
                    y.punt(t, 1, PuntKind::Sstp, &o.frame);
                }
            }
        }
        for _ in 0..ms {
            hand(a, b, *t);
            hand(b, a, *t);
            *t += Duration::from_millis(1);
        }
    }

    #[test]
    fn a_host_of_one_switch_is_routed_by_the_other_and_its_port_dies_at_once() {
        let (mut a, mut b) = (switch(1), switch(2));
        let mut t = Duration::from_secs(3);
        cable(&mut a, &mut b, &mut t, 50);
        assert_eq!(
            b.link_state().live(),
            0b10,
            "the fabric port carries SSTP unicast"
        );
        let vm = FdbKey::new(0, [2, 0xAA, 0, 0, 0, 1]);
        a.learn(t, LearnEvent { key: vm, port: 0 });
        cable(&mut a, &mut b, &mut t, 30);
        let snap = b.snapshot();
        let e = snap.fdb.get(vm).expect("B knows A's host");
        let slot = e.home().expect("as a MAC home, not a learned entry");
        let route = snap.routes[slot as usize];
        assert_eq!(route.ecmp(), &[1], "reached over the fabric port");
        assert_eq!(b.link_state().installed_count(), 1);
        // Seen on B's fabric port, the host stays a home; a topology
        // change flushing that port keeps it.
        b.learn(t, LearnEvent { key: vm, port: 1 });
        b.fdb.flush_port(1);
        assert!(b.fdb.get(vm).is_some_and(|e| e.home().is_some()));
        // Carrier lost: the data path's word drops the port in the same
        // pass, before any snapshot.
        let epoch = b.epoch();
        b.carrier(t, 1, false, 0);
        b.poll(t);
        assert_eq!(b.link_state().live(), 0);
        assert!(b.epoch() > epoch);
        // And A's host, unreachable now, leaves B's FDB.
        cable(&mut a, &mut b, &mut t, 5);
        assert!(
            b.snapshot().fdb.get(vm).is_none(),
            "unreachable homes are withdrawn"
        );
    }

    fn new_port(name: &str, kind: PortKind, dpdk_port: u16) -> PortSetup {
        let mut cfg = PortConfig::iface(name);
        cfg.kind = kind;
        PortSetup {
            name: name.into(),
            mac: [2, 0, 0, 0, 9, dpdk_port as u8],
            cfg,
            carrier: true,
            speed_mbps: 10_000,
            dpdk_port,
        }
    }

    /// A port added at run time reaches the workers' port devices and
    /// forwards (edge); removed, its slot is vacant, its entries gone,
    /// late learn events for it ignored, and the next port takes the slot.
    #[test]
    fn ports_added_and_removed_keep_every_other_index() {
        let mut p = setup(&["a", "b"], &[PortKind::Edge, PortKind::Edge], true);
        let t = Duration::from_secs(1);
        let g0 = p.devices_generation();
        assert_eq!(p.next_slot(), Ok(2));
        let i = p.add_port(t, new_port("c", PortKind::Edge, 7)).unwrap();
        p.settle(t);
        assert_eq!(i, 2);
        let s = p.snapshot();
        assert!(p.devices_generation() > g0);
        assert_eq!(s.devices.slots[2].map(|d| d.dpdk_port), Some(7));
        assert!(s.ports[2].forwarding, "an edge port forwards at once");
        assert_eq!(p.port_index("c"), Ok(2));

        let key = FdbKey::new(0, [2, 0, 0, 0, 0, 7]);
        p.learn(t, LearnEvent { key, port: 1 });
        let g1 = p.devices_generation();
        p.remove_port(t, 1).unwrap();
        p.settle(t);
        let s = p.snapshot();
        assert!(p.devices_generation() > g1);
        assert_eq!(s.devices.slots[1], None);
        assert!(!s.ports[1].forwarding);
        assert!(s.fdb.get(key).is_none(), "its entries went with it");
        assert_eq!(
            s.devices.slots[2].map(|d| d.dpdk_port),
            Some(7),
            "c kept its index"
        );
        assert!(p.port_index("b").is_err());
        p.learn(t, LearnEvent { key, port: 1 });
        assert!(
            p.fdb().get(key).is_none(),
            "a late learn event for the slot is ignored"
        );
        let status = p.protocols().unwrap().status();
        let numbers: Vec<u16> = status.ports.iter().map(|x| x.port).collect();
        assert_eq!(numbers, vec![1, 3], "RSTP numbers stay index + 1");

        assert_eq!(p.next_slot(), Ok(1), "the vacant slot is taken first");
        assert_eq!(
            p.add_port(t, new_port("d", PortKind::Fabric, 9)).unwrap(),
            1
        );
        assert!(p.remove_port(t, 0).is_ok());
        assert!(p.remove_port(t, 1).is_ok());
        let e = p.remove_port(t, 2).unwrap_err();
        assert!(e.contains("last port"), "{e}");
        assert_eq!(p.port_index("c"), Ok(2));
    }

    #[test]
    fn bindings_need_an_arpless_port() {
        let mut p = setup(&["a"], &[PortKind::Edge], false);
        let b = RuntimeBinding {
            port: 0,
            binding: Ipv4Binding {
                vid: 0,
                ip: "10.0.0.1".parse().unwrap(),
                mac: MacAddr([2, 0, 0, 0, 0, 1]),
            },
            origin: BindingOrigin::Api,
        };
        assert!(p.add_binding(b).unwrap_err().contains("no ARPless policy"));
        assert!(p.remove_binding(0, "10.0.0.1".parse().unwrap(), 0).is_err());
    }
}
