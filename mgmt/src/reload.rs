//! Run-time changes of the running switch: `satctl port add|del`, and
//! reloading the configuration (SIGHUP, `satctl reload`).
//!
//! A reload reads the file as start-up does (the command line's `--iface`,
//! `--name`, ... over it), compares it with the configuration in force
//! ([`diff`]) and applies what differs, each part with the operation an
//! operator would use by hand: bridge priority and timers through the
//! spanning tree's own settings, ports through [`PortChanges`], filters,
//! storm control and limits by a new snapshot. A file that does not parse
//! or check is refused with its file, line and key, and nothing changes.
//!
//! What cannot change while the switch runs (EAL arguments, workers,
//! memory, the FDB's size, the link state's timers, ...) keeps its running
//! value; the reload names those keys in its answer and in a warning, and
//! a restart applies them. After a reload every port the file lists runs
//! (one removed with `satctl port del` comes back); ports added with
//! `satctl port add` are not the file's: a reload leaves them alone unless
//! the file names them.

use serde_json::{json, Value};
use std::time::Duration;
use tracing::{info, warn};

use crate::config::{Config, ConfigSource, PortConfig, PortKind};
use crate::control::{ChangesReport, Request};
use crate::port_changes::{Parts, PortChanges};

/// What a reload changes, from the configuration in force to a new one.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Changes {
    /// Keys that differ but take effect only at a restart.
    pub(crate) restart_only: Vec<String>,
    /// A new bridge priority.
    pub(crate) priority: Option<u16>,
    /// New hello time, max age and forward delay.
    pub(crate) times: Option<(u16, u16, u16)>,
    /// Filters, FDB host limit, storm control, BPDU guard hold or the
    /// longest frame differ: the plane takes the new settings.
    pub(crate) settings: bool,
    /// Ports the file no longer lists.
    pub(crate) removed: Vec<String>,
    /// Ports the file lists anew.
    pub(crate) added: Vec<PortConfig>,
    /// Ports whose kind, backend or device changed: removed and added
    /// again (only these lose frames, for the moment between).
    pub(crate) replaced: Vec<PortConfig>,
    /// Ports with other path cost, priority, filters or storm control.
    pub(crate) retuned: Vec<PortConfig>,
}

impl Changes {
    fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

/// Compares the configuration in force with a new one; returns what to do
/// and the configuration that will then be in force (the new one, with the
/// running value of every key that only a restart changes).
pub(crate) fn diff(running: &Config, new: &Config) -> (Changes, Config) {
    let mut c = Changes::default();
    let mut applied = new.clone();
    macro_rules! restart_only {
        ($($key:literal => $($field:ident).+;)*) => {$(
            if running.$($field).+ != new.$($field).+ {
                c.restart_only.push($key.to_string());
                applied.$($field).+ = running.$($field).+.clone();
            }
        )*};
    }
    restart_only! {
        "bridge.name" => bridge.name;
        "dataplane.workers" => dataplane.workers;
        "dataplane.worker_cores" => dataplane.worker_cores;
        "dataplane.eal" => dataplane.eal;
        "dataplane.memory_mb" => dataplane.memory_mb;
        "dataplane.hugepages" => dataplane.hugepages;
        "dataplane.mbufs" => dataplane.mbufs;
        "dataplane.ring_size" => dataplane.ring_size;
        "dataplane.max_idle_sleep_us" => dataplane.max_idle_sleep_us;
        "fdb.capacity" => fdb.capacity;
        "fdb.per_port_limit" => fdb.per_port_limit;
        "fdb.aging_time" => fdb.aging_time;
        "fdb.hash_seed" => fdb.hash_seed;
        "stp.enabled" => stp.enabled;
        "stp.tx_hold_count" => stp.tx_hold_count;
        "stp.force_version" => stp.force_version;
        "sstp" => sstp;
        "control" => control;
        "metrics.listen" => metrics.listen;
    }
    let (r, n) = (&running.stp, &applied.stp);
    // Without a spanning tree its settings have nothing to change.
    if r.enabled && r.priority != n.priority {
        c.priority = Some(n.priority);
    }
    if r.enabled
        && (r.hello_time, r.max_age, r.forward_delay) != (n.hello_time, n.max_age, n.forward_delay)
    {
        c.times = Some((n.hello_time, n.max_age, n.forward_delay));
    }
    c.settings = running.filters != applied.filters
        || running.storm_control != applied.storm_control
        || running.fdb.host_port_limit != applied.fdb.host_port_limit
        || running.stp.bpdu_guard_recovery != applied.stp.bpdu_guard_recovery
        || running.dataplane.max_frame_len != applied.dataplane.max_frame_len;
    for old in &running.ports {
        match new.ports.iter().find(|p| p.name == old.name) {
            None => c.removed.push(old.name.clone()),
            Some(p) if p == old => {}
            // A DPDK device is opened at start only: it could not be
            // added back after a removal.
            Some(p) if p.dpdk || old.dpdk => {
                c.restart_only.push(format!("port.{}", p.name));
                if let Some(a) = applied.ports.iter_mut().find(|a| a.name == p.name) {
                    *a = old.clone();
                }
            }
            Some(p)
                if (p.kind, p.backend, p.dpdk, p.root_guard)
                    != (old.kind, old.backend, old.dpdk, old.root_guard)
                    || (&p.socket, p.vhost_client) != (&old.socket, old.vhost_client) =>
            {
                c.replaced.push(p.clone())
            }
            Some(p) => c.retuned.push(p.clone()),
        }
    }
    for p in &applied.ports {
        if !running.ports.iter().any(|o| o.name == p.name) {
            c.added.push(p.clone());
        }
    }
    (c, applied)
}

/// The owner of run-time changes: the configuration's source and what of
/// it is in force, and the counts of changes.
pub(crate) struct Reloader {
    source: ConfigSource,
    /// The configuration in force as the file gave it (ports added with
    /// `satctl port add` are not in it).
    applied: Config,
    ports: PortChanges,
    reloads: u64,
    refused: u64,
}

impl Reloader {
    pub(crate) fn new(source: ConfigSource, applied: Config) -> Reloader {
        Reloader {
            source,
            applied,
            ports: PortChanges::default(),
            reloads: 0,
            refused: 0,
        }
    }

    /// Counts for `show stats` and `/metrics`.
    pub(crate) fn report(&self) -> ChangesReport {
        ChangesReport {
            ports_added: self.ports.added,
            ports_removed: self.ports.removed,
            reloads: self.reloads,
            reloads_refused: self.refused,
        }
    }

    /// Whether this owner answers `req`.
    pub(crate) fn handles(req: &Request) -> bool {
        matches!(
            req,
            Request::PortAdd { .. } | Request::PortDel { .. } | Request::Reload
        )
    }

    /// Carries out a port change or a reload; the answer's data, or why
    /// it was refused.
    pub(crate) fn handle(
        &mut self,
        req: Request,
        now: Duration,
        parts: &mut Parts<'_>,
    ) -> Result<Value, String> {
        match req {
            Request::PortAdd { port, kind } => {
                // The file's settings for the interface when it has some.
                let mut cfg = self
                    .applied
                    .ports
                    .iter()
                    .find(|p| p.name == port)
                    .cloned()
                    .unwrap_or_else(|| PortConfig::iface(&port));
                if let Some(k) = kind {
                    cfg.kind = k;
                }
                let index = self.ports.add(parts, now, &cfg)?;
                Ok(json!({ "port": port, "index": index, "kind": kind_name(cfg.kind) }))
            }
            Request::PortDel { port } => {
                self.ports.remove(parts, now, &port)?;
                Ok(json!({ "port": port }))
            }
            Request::Reload => self.reload(now, parts),
            _ => Err("not a run-time change".into()),
        }
    }

    /// Reads the configuration again and applies what changed.
    pub(crate) fn reload(&mut self, now: Duration, parts: &mut Parts<'_>) -> Result<Value, String> {
        let file = self
            .source
            .file
            .as_ref()
            .map_or("(no file: defaults and the command line)".into(), |f| {
                f.display().to_string()
            });
        let new = match self.source.load() {
            Ok(c) => c,
            Err(e) => {
                self.refused += 1;
                warn!("reload refused, the running configuration stays: {e}");
                return Err(format!(
                    "reload refused, the running configuration stays: {e}"
                ));
            }
        };
        let (mut changes, mut applied) = diff(&self.applied, &new);
        // A port of the file removed with `satctl port del` comes back, as
        // it would at a restart (a DPDK device cannot: it is named).
        for p in applied.ports.iter().filter(|p| !p.dpdk) {
            let planned = changes.added.iter().chain(&changes.replaced);
            if parts.plane.port_index(&p.name).is_err()
                && !planned.clone().any(|a| a.name == p.name)
            {
                changes.retuned.retain(|r| r.name != p.name);
                changes.added.push(p.clone());
            }
        }
        if !changes.restart_only.is_empty() {
            warn!(keys = %changes.restart_only.join(", "),
                  "reload: these settings change only at a restart; their running values stay");
        }
        if changes.settings {
            if let Err(e) = parts.plane.replace_settings(&applied) {
                self.refused += 1;
                warn!("reload refused, the running configuration stays: {e}");
                return Err(format!(
                    "reload refused, the running configuration stays: {file}: {e}"
                ));
            }
        }
        let mut failed: Vec<String> = Vec::new();
        let mut added = Vec::new();
        let mut removed = Vec::new();
        // New ports first, so a file that swaps every port never leaves
        // the switch without one.
        for p in &changes.added {
            let r = match parts.plane.port_index(&p.name) {
                // Added earlier with `satctl port add`: now the file's,
                // made again when its kind differs.
                Ok(i) if parts.plane.ports()[i].kind == p.kind => {
                    parts.plane.retune_port(now, i, p.clone())
                }
                Ok(_) => self
                    .ports
                    .remove(parts, now, &p.name)
                    .and_then(|()| self.ports.add(parts, now, p).map(|_| ())),
                Err(_) => self.ports.add(parts, now, p).map(|_| ()),
            };
            match r {
                Ok(()) => added.push(p.name.clone()),
                Err(e) => {
                    applied.ports.retain(|x| x.name != p.name);
                    failed.push(format!("add {}: {e}", p.name));
                }
            }
        }
        for name in &changes.removed {
            if parts.plane.port_index(name).is_err() {
                continue; // already removed with `satctl port del`
            }
            match self.ports.remove(parts, now, name) {
                Ok(()) => removed.push(name.clone()),
                Err(e) => {
                    if let Some(p) = self.applied.ports.iter().find(|p| &p.name == name) {
                        applied.ports.push(p.clone());
                    }
                    failed.push(format!("remove {name}: {e}"));
                }
            }
        }
        for p in &changes.replaced {
            let r = match parts.plane.port_index(&p.name) {
                Ok(_) => self.ports.remove(parts, now, &p.name),
                Err(_) => Ok(()),
            }
            .and_then(|()| self.ports.add(parts, now, p).map(|_| ()));
            if let Err(e) = r {
                failed.push(format!("replace {}: {e}", p.name));
            }
        }
        for p in &changes.retuned {
            let r = parts
                .plane
                .port_index(&p.name)
                .and_then(|i| parts.plane.retune_port(now, i, p.clone()));
            if let Err(e) = r {
                failed.push(format!("change {}: {e}", p.name));
            }
        }
        if let Some(prio) = changes.priority {
            if let Err(e) = parts.plane.set_priority(now, prio.into()) {
                failed.push(format!("stp.priority: {e}"));
            }
        }
        if let Some((h, m, f)) = changes.times {
            if let Err(e) = parts.plane.set_bridge_times(now, h, m, f) {
                failed.push(format!("stp timers: {e}"));
            }
        }
        parts.plane.settle(now);
        self.applied = applied;
        self.reloads += 1;
        let retuned: Vec<&str> = changes.retuned.iter().map(|p| p.name.as_str()).collect();
        let replaced: Vec<&str> = changes.replaced.iter().map(|p| p.name.as_str()).collect();
        info!(%file, unchanged = changes.is_empty(), ports_added = ?added, ports_removed = ?removed,
              ports_changed = ?retuned, ports_replaced = ?replaced, priority = ?changes.priority,
              timers = ?changes.times, settings = changes.settings,
              restart_needed = ?changes.restart_only, "configuration reloaded");
        let report = json!({
            "file": file,
            "ports_added": added,
            "ports_removed": removed,
            "ports_changed": retuned,
            "ports_replaced": replaced,
            "bridge_priority": changes.priority,
            "stp_times": changes.times.map(|(h, m, f)| json!({
                "hello_time": h, "max_age": m, "forward_delay": f })),
            "settings_changed": changes.settings,
            "restart_needed": changes.restart_only,
            "failed": failed,
        });
        if failed.is_empty() {
            Ok(report)
        } else {
            warn!(failed = ?failed, "reload applied in part");
            Err(format!(
                "reload applied in part; failed: {}",
                failed.join("; ")
            ))
        }
    }
}

fn kind_name(k: PortKind) -> &'static str {
    match k {
        PortKind::Auto => "auto",
        PortKind::Edge => "edge",
        PortKind::Fabric => "fabric",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(src: &str) -> Config {
        Config::parse(src, "t.toml").unwrap()
    }

    const BASE: &str = "[stp]\npriority = 32768\n\
        [[port]]\nname = \"p0\"\nkind = \"edge\"\n\
        [[port]]\nname = \"p1\"\nkind = \"fabric\"\npath_cost = 2000\n";

    #[test]
    fn the_same_file_changes_nothing() {
        let (c, applied) = diff(&cfg(BASE), &cfg(BASE));
        assert!(c.is_empty(), "{c:?}");
        assert_eq!(applied, cfg(BASE));
    }

    #[test]
    fn priority_and_timers_go_to_the_spanning_tree() {
        let new = BASE.replace("priority = 32768", "priority = 4096\nforward_delay = 12");
        let (c, _) = diff(&cfg(BASE), &cfg(&new));
        assert_eq!(c.priority, Some(4096));
        assert_eq!(c.times, Some((2, 20, 12)));
        assert!(c.added.is_empty() && c.removed.is_empty() && !c.settings);
    }

    #[test]
    fn ports_are_added_removed_replaced_or_retuned_by_name() {
        let new = "[[port]]\nname = \"p1\"\nkind = \"fabric\"\npath_cost = 500\n\
            [[port]]\nname = \"p2\"\n";
        let (c, _) = diff(&cfg(BASE), &cfg(new));
        assert_eq!(c.removed, vec!["p0".to_string()]);
        assert_eq!(c.added.len(), 1);
        assert_eq!(c.added[0].name, "p2");
        assert_eq!(c.retuned.len(), 1);
        assert_eq!(c.retuned[0].path_cost, Some(500));
        assert!(c.replaced.is_empty());
        let kind = BASE.replace("kind = \"edge\"", "kind = \"fabric\"");
        let (c, _) = diff(&cfg(BASE), &cfg(&kind));
        assert_eq!(c.replaced.len(), 1, "{c:?}");
        assert_eq!(c.replaced[0].name, "p0");
        assert!(c.retuned.is_empty());
    }

    #[test]
    fn a_vhost_port_whose_socket_or_mode_changed_is_replaced() {
        let vm = |sock: &str, client: bool| {
            format!(
                "[[port]]\nname = \"vm1\"\nbackend = \"vhost_user\"\n\
                 socket = \"{sock}\"\nvhost_client = {client}\n"
            )
        };
        let old = cfg(&vm("/run/satellite/vm1.sock", false));
        for new in [
            vm("/run/satellite/vm1b.sock", false),
            vm("/run/satellite/vm1.sock", true),
        ] {
            let (c, _) = diff(&old, &cfg(&new));
            assert_eq!(c.replaced.len(), 1, "{new}: {c:?}");
            assert!(c.retuned.is_empty() && c.added.is_empty(), "{c:?}");
        }
        let (c, _) = diff(
            &old,
            &cfg(&format!(
                "{}path_cost = 7\n",
                vm("/run/satellite/vm1.sock", false)
            )),
        );
        assert_eq!(c.retuned.len(), 1, "{c:?}");
    }

    #[test]
    fn restart_only_keys_are_named_and_keep_their_running_value() {
        let new = format!("{BASE}[dataplane]\nworkers = 2\n[sstp]\ndead_count = 5\n");
        let (c, applied) = diff(&cfg(BASE), &cfg(&new));
        assert_eq!(c.restart_only, vec!["dataplane.workers", "sstp"]);
        assert_eq!(applied.dataplane.workers, 1);
        assert_eq!(applied.sstp, cfg(BASE).sstp);
        assert!(c.priority.is_none() && !c.settings);
        let dpdk = "[[port]]\nname = \"0000:03:00.0\"\ndpdk = true\n";
        let (c, kept) = diff(&cfg(dpdk), &cfg(&format!("{dpdk}path_cost = 9\n")));
        assert_eq!(c.restart_only, vec!["port.0000:03:00.0"]);
        assert!(c.retuned.is_empty() && c.replaced.is_empty());
        assert_eq!(
            kept.ports[0].path_cost, None,
            "the running port's settings stay"
        );
    }

    #[test]
    fn spanning_tree_settings_are_left_alone_when_it_is_off() {
        let off = BASE.replace("[stp]\n", "[stp]\nenabled = false\n");
        let new = off.replace("priority = 32768", "priority = 4096");
        let (c, _) = diff(&cfg(&off), &cfg(&new));
        assert!(c.priority.is_none() && c.times.is_none(), "{c:?}");
    }

    #[test]
    fn filters_and_storm_control_are_run_time_settings() {
        let new = format!("{BASE}[storm_control]\nbroadcast_pps = 50\n");
        let (c, applied) = diff(&cfg(BASE), &cfg(&new));
        assert!(c.settings && c.restart_only.is_empty());
        assert_eq!(applied.storm_control.broadcast_pps, 50);
        let new = format!("{BASE}[filters]\nmax_tags = 2\n");
        assert!(diff(&cfg(BASE), &cfg(&new)).0.settings);
    }
}
