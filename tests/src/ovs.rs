//! A private Open vSwitch instance (ovsdb-server + ovs-vswitchd) running in
//! one network namespace, with its own database, run directory and logs.
//! Both daemons are child processes (no `--detach`), stopped by PID on drop.
//! Bridges use the userspace datapath (`datapath_type=netdev`), so no kernel
//! module is needed.

use crate::{run, sh, wait_until, Netns, Proc};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One OVS instance.
pub struct Ovs {
    // Field order is drop order: vswitchd before its database.
    pub vswitchd: Proc,
    pub ovsdb: Proc,
    pub dir: PathBuf,
    pub ns: String,
}

fn env_args(dir: &Path) -> Vec<String> {
    let d = dir.display().to_string();
    vec![
        format!("OVS_RUNDIR={d}"),
        format!("OVS_DBDIR={d}"),
        format!("OVS_LOGDIR={d}"),
        format!("OVS_SYSCONFDIR={d}"),
    ]
}

/// Starts OVS daemon `name` in `ns` (a child, not detached) with `args`,
/// its pid file, control socket and log under `dir`, and waits up to 10 s
/// for `ready` to appear.
fn spawn_daemon(ns: &Netns, dir: &Path, name: &str, args: &[String], ready: &Path) -> Proc {
    let d = dir.display();
    let mut env = env_args(dir);
    env.push(name.into());
    env.extend(args.iter().cloned());
    env.extend([
        format!("--pidfile={d}/{name}.pid"),
        format!("--unixctl={d}/{name}.ctl"),
        format!("--log-file={d}/{name}.log"),
    ]);
    let argv: Vec<&str> = env.iter().map(String::as_str).collect();
    let mut daemon = ns.spawn(
        Path::new("/usr/bin/env"),
        &argv,
        &dir.join(format!("{name}.out")),
    );
    assert!(
        wait_until(Duration::from_secs(10), || ready.exists()) && daemon.alive(),
        "{name} did not start: {}",
        daemon.log_text()
    );
    daemon
}

impl Ovs {
    /// Starts ovsdb-server and ovs-vswitchd in `ns`, state under `dir`.
    pub fn start(ns: &Netns, dir: &Path) -> Ovs {
        std::fs::create_dir_all(dir).expect("ovs dir");
        let d = dir.display().to_string();
        let schema = ["/usr/share/openvswitch/vswitch.ovsschema"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("vswitch.ovsschema not found: install openvswitch-switch");
        sh(&format!("ovsdb-tool create {d}/conf.db {schema}"));
        let ovsdb = spawn_daemon(
            ns,
            dir,
            "ovsdb-server",
            &[
                format!("{d}/conf.db"),
                format!("--remote=punix:{d}/db.sock"),
            ],
            &dir.join("db.sock"),
        );
        sh(&format!("ovs-vsctl --db=unix:{d}/db.sock --no-wait init"));
        let vswitchd = spawn_daemon(
            ns,
            dir,
            "ovs-vswitchd",
            &[format!("unix:{d}/db.sock")],
            &dir.join("ovs-vswitchd.ctl"),
        );
        Ovs {
            vswitchd,
            ovsdb,
            dir: dir.to_path_buf(),
            ns: ns.name.clone(),
        }
    }

    /// `ovs-vsctl` against this instance (waits for vswitchd to apply).
    pub fn vsctl(&self, args: &str) -> String {
        sh(&format!(
            "ovs-vsctl --timeout=20 --db=unix:{}/db.sock {args}",
            self.dir.display()
        ))
    }

    /// `ovs-appctl` to this vswitchd.
    pub fn appctl(&self, args: &str) -> String {
        let out = run(&format!(
            "ovs-appctl -t {}/ovs-vswitchd.ctl {args}",
            self.dir.display()
        ));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The vswitchd log (for failure messages).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.join("ovs-vswitchd.log")).unwrap_or_default()
    }

    /// Adds an RSTP bridge on the userspace datapath.
    /// `priority` is the RSTP bridge priority (multiple of 4096), `mac` the
    /// bridge address, timers in seconds.
    pub fn add_rstp_bridge(
        &self,
        br: &str,
        priority: u32,
        mac: &str,
        max_age: u32,
        forward_delay: u32,
    ) {
        self.vsctl(&format!(
            "add-br {br} -- set bridge {br} datapath_type=netdev fail_mode=standalone \
             rstp_enable=true other_config:hwaddr={mac} other_config:rstp-address={mac} \
             other_config:rstp-priority={priority} other_config:rstp-max-age={max_age} \
             other_config:rstp-forward-delay={forward_delay}"
        ));
    }

    /// Adds a system interface as an RSTP port.
    pub fn add_port(&self, br: &str, port: &str, cost: Option<u32>, edge: bool) {
        let mut extra = String::from("other_config:rstp-enable=true");
        if let Some(c) = cost {
            extra.push_str(&format!(" other_config:rstp-path-cost={c}"));
        }
        if edge {
            extra.push_str(
                " other_config:rstp-port-admin-edge=true other_config:rstp-port-auto-edge=false",
            );
        }
        self.vsctl(&format!("add-port {br} {port} -- set port {port} {extra}"));
    }

    /// Sets the bridge's RSTP priority.
    pub fn set_priority(&self, br: &str, priority: u32) {
        self.vsctl(&format!(
            "set bridge {br} other_config:rstp-priority={priority}"
        ));
    }

    /// Live RSTP view of a bridge from `ovs-appctl rstp/show`.
    pub fn rstp_show(&self, br: &str) -> String {
        self.appctl(&format!("rstp/show {br}"))
    }

    /// The database's rstp_status of a bridge: (bridge id, root id),
    /// normalised to `pppp.mmmmmmmmmmmm`.
    pub fn bridge_status(&self, br: &str) -> (Option<String>, Option<String>) {
        let m = self.status_maps("bridge", &[br]);
        let get = |k: &str| {
            m.first()
                .and_then(|(_, m)| m.get(k))
                .and_then(|v| norm_id(v))
        };
        (get("rstp_bridge_id"), get("rstp_root_id"))
    }

    /// Port roles and states from the database: (port, role, state), lower
    /// case ("root", "designated", "alternate"...; "forwarding",
    /// "discarding", "learning"); empty strings while unknown.
    pub fn port_status(&self, ports: &[&str]) -> Vec<(String, String, String)> {
        let m = self.status_maps("port", ports);
        ports
            .iter()
            .map(|p| {
                let st = m.iter().find(|(n, _)| n == p).map(|(_, m)| m);
                let get = |k: &str| {
                    st.and_then(|m| m.get(k))
                        .map(|v| v.to_lowercase())
                        .unwrap_or_default()
                };
                (p.to_string(), get("rstp_port_role"), get("rstp_port_state"))
            })
            .collect()
    }

    /// (name, rstp_status map) of records of `table`, in one ovs-vsctl call.
    fn status_maps(
        &self,
        table: &str,
        names: &[&str],
    ) -> Vec<(String, std::collections::HashMap<String, String>)> {
        let out = run(&format!(
            "ovs-vsctl --db=unix:{}/db.sock --format=json --columns=name,rstp_status list {table} {}",
            self.dir.display(),
            names.join(" ")
        ));
        let v: serde_json::Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(_) => return vec![],
        };
        // {"headings":["name","rstp_status"],"data":[["p",["map",[["k","v"],...]]],...]}
        v["data"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| {
                        let name = r[0].as_str()?.to_string();
                        let pairs = r[1][1].as_array()?;
                        let m = pairs
                            .iter()
                            .filter_map(|kv| {
                                Some((kv[0].as_str()?.to_string(), kv[1].as_str()?.to_string()))
                            })
                            .collect();
                        Some((name, m))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Normalises an OVS bridge ID ("8.000.020000010001" or "8000.0200...")
/// to the tcpdump form "8000.020000010001".
pub fn norm_id(s: &str) -> Option<String> {
    let hex: String = s
        .trim_matches('"')
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_lowercase();
    (hex.len() == 16).then(|| format!("{}.{}", &hex[..4], &hex[4..]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn norm_id_forms() {
        assert_eq!(
            super::norm_id("\"8.000.020000010001\"").as_deref(),
            Some("8000.020000010001")
        );
        assert_eq!(
            super::norm_id("1000.0200000100FF").as_deref(),
            Some("1000.0200000100ff")
        );
        assert_eq!(super::norm_id(""), None);
    }
}
