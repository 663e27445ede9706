//! Ring labs: N switches, each in its own namespace, adjacent switches joined
//! by veth pairs, one host namespace per switch. A switch is a `satellited`,
//! a Linux kernel bridge running STP, or an Open vSwitch bridge running RSTP.
//!
//! Naming, inside switch namespace i: port `l{i}` toward switch i-1, `r{i}`
//! toward switch i+1, `h{i}` toward host i. Link k joins `r{k}` of switch k
//! and `l{k+1}` of switch k+1 (mod N). Host i has `eth0`, 10.0.0.{i+1}/24,
//! MAC 02:00:00:02:00:{i+1}, and permanent neighbour entries for every
//! other host (no ARP in the timings).
//!
//! MACs of switch i's ports: l 02:00:00:01:{i}:01, r :02, h :03, so the
//! bridge address (lowest port MAC) is 02:00:00:01:{i}:01 for every kind, and
//! bridge IDs are predictable: `{priority:04x}.02000001{i:02x}01`.

use crate::ovs::Ovs;
use crate::{bin, run, sh, unique, wait_until, Netns, Proc, Scratch, Veth};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What runs in a switch namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Satellite,
    /// Linux bridge, kernel STP (802.1D-1998).
    Kernel,
    /// Open vSwitch, RSTP, userspace datapath.
    Ovs,
}

/// How to build a ring.
#[derive(Debug, Clone)]
pub struct RingSpec {
    pub kinds: Vec<Kind>,
    /// Bridge priority of each switch (a multiple of 4096).
    pub priorities: Vec<u32>,
    /// Timers in seconds (OVS has a fixed 2 s hello).
    pub hello_time: u32,
    pub max_age: u32,
    pub forward_delay: u32,
    /// Path cost of every ring port (None: each kind's default).
    pub path_cost: Option<u32>,
    /// Links created administratively down (bring them up with
    /// [`Ring::link_up`]).
    pub down_links: Vec<usize>,
    /// Satellite only: extra lines appended to the `[stp]` section.
    pub sat_stp_extra: String,
    /// Satellite only: the `[sstp]` section's lines (default: the labs'
    /// dead count, see `fabric::LAB_DEAD_COUNT`; `enabled = false` for
    /// RSTP alone).
    pub sat_sstp: String,
    /// Satellite only: extra lines for both ring ports' `[[port]]`.
    pub sat_ring_port_extra: String,
}

impl RingSpec {
    /// All switches of one kind, priority 32768 except switch 0 (4096 less),
    /// tuned timers (1/6/4 s).
    pub fn uniform(kind: Kind, n: usize) -> RingSpec {
        RingSpec::mixed(vec![kind; n])
    }

    pub fn mixed(kinds: Vec<Kind>) -> RingSpec {
        let n = kinds.len();
        let mut priorities = vec![32768; n];
        priorities[0] = 28672;
        RingSpec {
            kinds,
            priorities,
            hello_time: 1,
            max_age: 6,
            forward_delay: 4,
            path_cost: Some(100),
            down_links: vec![],
            sat_stp_extra: String::new(),
            sat_sstp: format!("dead_count = {}\n", crate::fabric::LAB_DEAD_COUNT),
            sat_ring_port_extra: String::new(),
        }
    }
}

/// The MAC of port `p` (1 = l, 2 = r, 3 = h) of switch `i`.
pub fn port_mac(i: usize, p: u8) -> String {
    format!("02:00:00:01:{i:02x}:{p:02x}")
}

/// The MAC of host `i`.
pub fn host_mac(i: usize) -> String {
    format!("02:00:00:02:00:{:02x}", i + 1)
}

/// The IP of host `i`.
pub fn host_ip(i: usize) -> String {
    format!("10.0.0.{}", i + 1)
}

/// The bridge ID switch `i` has at `priority`, tcpdump style.
pub fn bridge_id(i: usize, priority: u32) -> String {
    format!("{priority:04x}.02000001{i:02x}01")
}

/// One ring port as a switch reports it.
#[derive(Debug, Clone)]
pub struct PortView {
    pub name: String,
    /// root | designated | alternate | backup | disabled (kernel: derived).
    pub role: String,
    /// forwarding | discarding | learning | listening | blocking | disabled.
    pub state: String,
}

impl PortView {
    pub fn forwarding(&self) -> bool {
        self.state == "forwarding"
    }
    /// Blocked for good (not a transition): RSTP discarding in an
    /// alternate/backup role, or STP blocking.
    pub fn blocked(&self) -> bool {
        self.state == "blocking"
            || (self.state == "discarding" && (self.role == "alternate" || self.role == "backup"))
    }
}

/// One switch's spanning-tree view (ring ports only).
#[derive(Debug, Clone)]
pub struct NodeView {
    pub bridge_id: String,
    pub root_id: String,
    pub ports: Vec<PortView>,
}

/// A converged ring.
#[derive(Debug, Clone)]
pub struct Converged {
    pub root_id: String,
    /// (switch, port) of every blocked ring port.
    pub blocked: Vec<(usize, String)>,
}

pub struct Ring {
    // Field order is drop order: processes, then links, then namespaces.
    pub sats: Vec<Option<Proc>>,
    pub ovs: Vec<Option<Ovs>>,
    pub links: Vec<Veth>,
    pub host_links: Vec<Veth>,
    pub hosts: Vec<Netns>,
    pub sw: Vec<Netns>,
    pub sockets: Vec<PathBuf>,
    pub spec: RingSpec,
    pub scratch: Scratch,
    pub tag: String,
}

impl Ring {
    /// Builds the ring and starts every switch. Does not wait for
    /// convergence.
    pub fn new(spec: RingSpec) -> Ring {
        let n = spec.kinds.len();
        assert!(n >= 2 && spec.priorities.len() == n);
        let tag = unique("r");
        let scratch = Scratch::new(&tag);
        let mut ring = Ring {
            sats: (0..n).map(|_| None).collect(),
            ovs: (0..n).map(|_| None).collect(),
            links: vec![],
            host_links: vec![],
            hosts: vec![],
            sw: vec![],
            sockets: (0..n)
                .map(|i| scratch.join(&format!("s{i}.sock")))
                .collect(),
            spec,
            scratch,
            tag: tag.clone(),
        };
        for i in 0..n {
            ring.sw.push(Netns::new(&format!("{tag}s{i}")));
            ring.hosts.push(Netns::new(&format!("{tag}h{i}")));
        }
        for i in 0..n {
            let h = &ring.hosts[i];
            ring.host_links.push(Veth::new(
                "eth0",
                Some(h),
                &format!("h{i}"),
                Some(&ring.sw[i]),
            ));
            h.sh(&format!("ip link set eth0 address {}", host_mac(i)));
            h.sh(&format!("ip addr add {}/24 dev eth0", host_ip(i)));
            for j in (0..n).filter(|&j| j != i) {
                h.sh(&format!(
                    "ip neigh replace {} lladdr {} dev eth0 nud permanent",
                    host_ip(j),
                    host_mac(j)
                ));
            }
            ring.sw[i].sh(&format!("ip link set h{i} address {}", port_mac(i, 3)));
        }
        for k in 0..n {
            let j = (k + 1) % n;
            ring.links.push(Veth::fabric(
                &format!("r{k}"),
                Some(&ring.sw[k]),
                &format!("l{j}"),
                Some(&ring.sw[j]),
            ));
            ring.sw[k].sh(&format!("ip link set r{k} address {}", port_mac(k, 2)));
            ring.sw[j].sh(&format!("ip link set l{j} address {}", port_mac(j, 1)));
        }
        for &k in &ring.spec.down_links.clone() {
            ring.sw[k].sh(&format!("ip link set r{k} down"));
        }
        for i in 0..n {
            ring.start(i);
        }
        ring
    }

    pub fn n(&self) -> usize {
        self.spec.kinds.len()
    }

    pub fn kind(&self, i: usize) -> Kind {
        self.spec.kinds[i]
    }

    /// Ring port names of switch i.
    pub fn ring_ports(&self, i: usize) -> [String; 2] {
        [format!("l{i}"), format!("r{i}")]
    }

    /// The bridge ID switch `i` should have now.
    pub fn expected_id(&self, i: usize) -> String {
        bridge_id(i, self.spec.priorities[i])
    }

    /// The lowest bridge ID of the ring: the root-to-be.
    pub fn expected_root(&self) -> String {
        (0..self.n()).map(|i| self.expected_id(i)).min().unwrap()
    }

    fn start(&mut self, i: usize) {
        let ns = &self.sw[i];
        let s = &self.spec;
        let [l, r] = self.ring_ports(i);
        let h = format!("h{i}");
        match s.kinds[i] {
            Kind::Satellite => {
                let cost = s
                    .path_cost
                    .map(|c| format!("path_cost = {c}\n"))
                    .unwrap_or_default()
                    + &s.sat_ring_port_extra;
                let cfg = format!(
                    "[bridge]\nname = \"{tag}s{i}\"\n\n[dataplane]\nworkers = 1\nmemory_mb = 128\n\n\
                     [stp]\npriority = {p}\nhello_time = {hello}\nmax_age = {ma}\nforward_delay = {fd}\n{extra}\n\
                     [sstp]\n{sstp}\n\
                     [[port]]\nname = \"{l}\"\nbackend = \"af_packet\"\nkind = \"fabric\"\n{cost}\n\
                     [[port]]\nname = \"{r}\"\nbackend = \"af_packet\"\nkind = \"fabric\"\n{cost}\n\
                     [[port]]\nname = \"{h}\"\nbackend = \"af_packet\"\nkind = \"edge\"\n",
                    tag = self.tag,
                    p = s.priorities[i],
                    hello = s.hello_time,
                    ma = s.max_age,
                    fd = s.forward_delay,
                    extra = s.sat_stp_extra,
                    sstp = s.sat_sstp,
                );
                let cfg_path = self.scratch.join(&format!("s{i}.toml"));
                std::fs::write(&cfg_path, cfg).expect("write config");
                let p = self.spawn_satellite(i, &format!("s{i}.log"));
                self.sats[i] = Some(p);
            }
            Kind::Kernel => {
                ns.sh(&format!(
                    "ip link add br0 type bridge stp_state 1 forward_delay {} hello_time {} max_age {} priority {}",
                    s.forward_delay * 100,
                    s.hello_time * 100,
                    s.max_age * 100,
                    s.priorities[i]
                ));
                ns.sh(&format!("ip link set br0 address {}", port_mac(i, 1)));
                for p in [&l, &r, &h] {
                    ns.sh(&format!("ip link set {p} master br0"));
                }
                if let Some(c) = s.path_cost {
                    for p in [&l, &r] {
                        ns.sh(&format!("ip link set {p} type bridge_slave cost {c}"));
                    }
                }
                ns.sh("ip link set br0 up");
            }
            Kind::Ovs => {
                let ovs = Ovs::start(ns, &self.scratch.join(&format!("ovs{i}")));
                ovs.add_rstp_bridge(
                    "br0",
                    s.priorities[i],
                    &port_mac(i, 1),
                    s.max_age,
                    s.forward_delay,
                );
                for p in [&l, &r] {
                    ovs.add_port("br0", p, s.path_cost, false);
                }
                ovs.add_port("br0", &h, None, true);
                self.ovs[i] = Some(ovs);
            }
        }
    }

    /// Builds the ring, waits for every satellited to answer and for the
    /// spanning tree to converge with `blocked` ring ports blocked (60 s);
    /// panics with every switch's view and log when it does not.
    pub fn start_converged(spec: RingSpec, blocked: usize) -> Ring {
        let mut ring = Ring::new(spec);
        ring.wait_started();
        ring.wait_converged(blocked, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e}\n{}\n{}", ring.describe(), ring.logs()));
        ring
    }

    /// Port `port` of satellited i as `satctl show stats --json` lists it
    /// (counters, drops by reason, admin state); panics when it has none.
    pub fn port_stats(&self, i: usize, port: &str) -> serde_json::Value {
        let v: serde_json::Value =
            serde_json::from_str(&self.satctl(i, "show stats --json")).expect("stats json");
        v["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == port)
            .cloned()
            .unwrap_or_else(|| panic!("s{i} has no port {port} in show stats"))
    }

    /// Every non-zero drop counter of satellited i, by (port, reason).
    pub fn drops(&self, i: usize) -> std::collections::BTreeMap<(String, String), u64> {
        drops_of(&serde_json::from_str(&self.satctl(i, "show stats --json")).unwrap_or_default())
    }

    /// What every satellited dropped since `before` (from
    /// [`Ring::all_drops`]), as `s1 r1 tx_full +2` lines.
    pub fn drops_since(
        &self,
        before: &[std::collections::BTreeMap<(String, String), u64>],
    ) -> Vec<String> {
        let now: Vec<_> = (0..before.len())
            .map(|i| match self.kind(i) {
                Kind::Satellite => self.drops(i),
                _ => Default::default(),
            })
            .collect();
        drops_between(before, &now)
    }

    /// Every satellited's drop counters now (other kinds: empty).
    pub fn all_drops(&self) -> Vec<std::collections::BTreeMap<(String, String), u64>> {
        (0..self.n())
            .map(|i| match self.kind(i) {
                Kind::Satellite => self.drops(i),
                _ => Default::default(),
            })
            .collect()
    }

    /// Starts switch i's satellited from its written config, logging to
    /// `log` in the scratch directory.
    fn spawn_satellite(&self, i: usize, log: &str) -> Proc {
        let name = format!("{}s{i}", self.tag);
        let sock = self.sockets[i].display().to_string();
        let cfg = self
            .scratch
            .join(&format!("s{i}.toml"))
            .display()
            .to_string();
        let args = ["--name", &name, "--socket", &sock, "--config", &cfg];
        self.sw[i].spawn(&bin("satellited"), &args, &self.scratch.join(log))
    }

    /// Kills switch i's satellited with SIGKILL: its links keep carrier,
    /// so neighbours learn of it only from missed HELLOs and BPDUs.
    pub fn kill_switch(&self, i: usize) {
        self.sats[i].as_ref().expect("a satellited").kill_hard();
    }

    /// Starts switch i's satellited again after [`Ring::kill_switch`]
    /// (same config, socket and MACs; a log of its own). The caller puts
    /// the process in place with [`Ring::replace_process`].
    pub fn respawn_switch(&self, i: usize, log: &str) -> Proc {
        self.spawn_satellite(i, log)
    }

    /// Replaces switch i's process (the old one is reaped on drop).
    pub fn replace_process(&mut self, i: usize, p: Proc) {
        self.sats[i] = Some(p);
    }

    /// Waits until every satellited answers on its control socket.
    pub fn wait_started(&mut self) {
        for i in 0..self.n() {
            if self.kind(i) != Kind::Satellite {
                continue;
            }
            let sock = self.sockets[i].clone();
            let ok = wait_until(Duration::from_secs(30), || {
                run(&format!(
                    "{} -s {} show stp --json",
                    bin("satctl").display(),
                    sock.display()
                ))
                .status
                .success()
            });
            let p = self.sats[i].as_mut().unwrap();
            assert!(
                ok && p.alive(),
                "satellited s{i} did not start:\n{}",
                p.log_text()
            );
        }
    }

    /// `satctl -s SOCK ARGS` on switch i (text), panicking on failure.
    pub fn satctl(&self, i: usize, args: &str) -> String {
        sh(&format!(
            "{} -s {} {args}",
            bin("satctl").display(),
            self.sockets[i].display()
        ))
    }

    /// Switch i's spanning-tree view (ring ports), or why it has none yet.
    pub fn view(&self, i: usize) -> Result<NodeView, String> {
        self.view_ports(i, &self.ring_ports(i))
    }

    /// Switch i's view of the named ports.
    pub fn view_ports(&self, i: usize, ring_ports: &[String]) -> Result<NodeView, String> {
        match self.kind(i) {
            Kind::Satellite => {
                let out = run(&format!(
                    "{} -s {} show stp --json",
                    bin("satctl").display(),
                    self.sockets[i].display()
                ));
                if !out.status.success() {
                    return Err(format!(
                        "satctl show stp failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
                let v: serde_json::Value = serde_json::from_slice(&out.stdout)
                    .map_err(|e| format!("bad JSON from satctl show stp: {e}"))?;
                let s = |x: &serde_json::Value| x.as_str().unwrap_or("").to_lowercase();
                // Accept "8000.0200..." and "8000.02:00:..." alike.
                let id = |x: &serde_json::Value| s(x).replace([':', '-'], "");
                let ports = v["ports"]
                    .as_array()
                    .ok_or("no ports")?
                    .iter()
                    .filter(|p| ring_ports.iter().any(|r| p["name"] == r.as_str()))
                    .map(|p| PortView {
                        name: s(&p["name"]),
                        role: s(&p["role"]),
                        state: s(&p["state"]),
                    })
                    .collect();
                Ok(NodeView {
                    bridge_id: id(&v["bridge_id"]),
                    root_id: id(&v["root_id"]),
                    ports,
                })
            }
            Kind::Kernel => {
                let ns = &self.sw[i];
                let mut cmd = String::from(
                    "cat /sys/class/net/br0/bridge/bridge_id /sys/class/net/br0/bridge/root_id /sys/class/net/br0/bridge/root_port",
                );
                for p in ring_ports {
                    cmd.push_str(&format!(
                        " /sys/class/net/br0/brif/{p}/state /sys/class/net/br0/brif/{p}/port_no"
                    ));
                }
                let out = ns.run(&cmd);
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                let lines: Vec<&str> = text.lines().map(str::trim).collect();
                if !out.status.success() || lines.len() != 3 + 2 * ring_ports.len() {
                    return Err(format!("kernel bridge sysfs: {text}"));
                }
                let root_port = parse_num(lines[2]);
                let ports = ring_ports
                    .iter()
                    .enumerate()
                    .map(|(k, p)| {
                        let st = parse_num(lines[3 + 2 * k]);
                        let no = parse_num(lines[4 + 2 * k]);
                        let state = match st {
                            0 => "disabled",
                            1 => "listening",
                            2 => "learning",
                            3 => "forwarding",
                            4 => "blocking",
                            _ => "unknown",
                        };
                        let role = if st == 0 {
                            "disabled"
                        } else if no == root_port && root_port != 0 {
                            "root"
                        } else if st == 4 {
                            "alternate"
                        } else {
                            "designated"
                        };
                        PortView {
                            name: p.clone(),
                            role: role.into(),
                            state: state.into(),
                        }
                    })
                    .collect();
                Ok(NodeView {
                    bridge_id: lines[0].to_lowercase(),
                    root_id: lines[1].to_lowercase(),
                    ports,
                })
            }
            Kind::Ovs => {
                let ovs = self.ovs[i].as_ref().ok_or("ovs not started")?;
                let (b, r) = ovs.bridge_status("br0");
                let ports = ovs
                    .port_status(&ring_ports.iter().map(String::as_str).collect::<Vec<_>>())
                    .into_iter()
                    .map(|(name, role, state)| PortView { name, role, state })
                    .collect();
                Ok(NodeView {
                    bridge_id: b.ok_or("no rstp_bridge_id yet")?,
                    root_id: r.ok_or("no rstp_root_id yet")?,
                    ports,
                })
            }
        }
    }

    /// Checks convergence now: every switch names the same root, which is
    /// the expected one, every ring port is forwarding or blocked, and
    /// exactly `expect_blocked` ring ports are blocked.
    pub fn converged(&self, expect_blocked: usize) -> Result<Converged, String> {
        let root = self.expected_root();
        let mut blocked = vec![];
        for i in 0..self.n() {
            let v = self.view(i)?;
            if v.bridge_id != self.expected_id(i) {
                return Err(format!(
                    "s{i} has bridge id {} (expected {})",
                    v.bridge_id,
                    self.expected_id(i)
                ));
            }
            if v.root_id != root {
                return Err(format!("s{i} names root {} (expected {root})", v.root_id));
            }
            // The host port must forward too.
            let hv = self.view_ports(i, &[format!("h{i}")])?;
            if let Some(p) = hv.ports.iter().find(|p| !p.forwarding()) {
                return Err(format!(
                    "s{i} host port {} is {} {}",
                    p.name, p.role, p.state
                ));
            }
            for p in &v.ports {
                if p.role == "disabled" || p.state == "disabled" {
                    // A link taken down: it neither forwards nor counts.
                    continue;
                }
                if p.blocked() {
                    blocked.push((i, p.name.clone()));
                } else if !p.forwarding() {
                    return Err(format!("s{i} {} is {} {}", p.name, p.role, p.state));
                }
            }
        }
        if blocked.len() != expect_blocked {
            return Err(format!(
                "{} blocked ring ports (expected {expect_blocked}): {blocked:?}",
                blocked.len()
            ));
        }
        Ok(Converged {
            root_id: root,
            blocked,
        })
    }

    /// True when the tree is usable, though maybe not final: every switch
    /// names the expected root, every root port forwards, and exactly
    /// `expect_blocked` ring ports are alternate/backup. A designated port
    /// still discarding toward an alternate port is allowed (it carries
    /// nothing either way).
    pub fn tree_usable(&self, expect_blocked: usize) -> bool {
        let root = self.expected_root();
        let mut blocked = 0;
        for i in 0..self.n() {
            let Ok(v) = self.view(i) else { return false };
            if v.root_id != root {
                return false;
            }
            for p in &v.ports {
                if p.role == "root" && !p.forwarding() {
                    return false;
                }
                if p.blocked() {
                    blocked += 1;
                }
            }
        }
        blocked == expect_blocked
    }

    /// Waits for [`Ring::converged`]; returns it and how long it took, or
    /// the last reason it was not converged.
    pub fn wait_converged(
        &self,
        expect_blocked: usize,
        timeout: Duration,
    ) -> Result<(Converged, Duration), String> {
        let t0 = Instant::now();
        loop {
            let last = match self.converged(expect_blocked) {
                Ok(c) => return Ok((c, t0.elapsed())),
                Err(e) => e,
            };
            if t0.elapsed() > timeout {
                return Err(format!("not converged after {timeout:?}: {last}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Like [`Ring::wait_converged`], also recording a timeline of every
    /// port role/state and root change seen while polling (from `t0`), so a
    /// slow convergence shows which switch was slow.
    pub fn wait_converged_timeline(
        &self,
        expect_blocked: usize,
        timeout: Duration,
        t0: Instant,
    ) -> (Result<(Converged, Duration), String>, Vec<String>) {
        let mut last: Vec<String> = vec![String::new(); self.n() * 4];
        let mut timeline = vec![];
        loop {
            for i in 0..self.n() {
                let ports = [
                    self.ring_ports(i)[0].clone(),
                    self.ring_ports(i)[1].clone(),
                    format!("h{i}"),
                ];
                let now = match self.view_ports(i, &ports) {
                    Ok(v) => {
                        let mut x = vec![format!("root {}", v.root_id)];
                        x.extend(
                            v.ports
                                .iter()
                                .map(|p| format!("{} {}/{}", p.name, p.role, p.state)),
                        );
                        x
                    }
                    Err(e) => vec![e],
                };
                for (k, item) in now.into_iter().enumerate().take(4) {
                    if last[i * 4 + k] != item {
                        timeline.push(format!(
                            "{:>7.0} ms  s{i} {item}",
                            t0.elapsed().as_secs_f64() * 1000.0
                        ));
                        last[i * 4 + k] = item;
                    }
                }
            }
            if let Ok(c) = self.converged(expect_blocked) {
                return (Ok((c, t0.elapsed())), timeline);
            }
            if t0.elapsed() > timeout {
                let e = self.converged(expect_blocked).err().unwrap_or_default();
                return (
                    Err(format!("not converged after {timeout:?}: {e}")),
                    timeline,
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A table of every switch's view, for test output.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for i in 0..self.n() {
            match self.view(i) {
                Ok(v) => {
                    s.push_str(&format!(
                        "s{i} {:<9} bridge {} root {}",
                        format!("{:?}", self.kind(i)),
                        v.bridge_id,
                        v.root_id
                    ));
                    for p in &v.ports {
                        s.push_str(&format!("  {} {}/{}", p.name, p.role, p.state));
                    }
                    s.push('\n');
                }
                Err(e) => s.push_str(&format!("s{i} {:?}: {e}\n", self.kind(i))),
            }
        }
        s
    }

    /// Pings host j from host i (3 tries, 1 s timeout each).
    pub fn ping(&self, i: usize, j: usize) -> bool {
        let ip = host_ip(j);
        self.hosts[i]
            .run(&format!(
                "ping -c 1 -W 1 {ip} || ping -c 1 -W 1 {ip} || ping -c 1 -W 1 {ip}"
            ))
            .status
            .success()
    }

    /// Every host sends one broadcast UDP datagram, so every bridge learns
    /// (again) where it is, as the ARP traffic of real hosts would. Labs
    /// use static neighbour entries, so without this a bridge that did not
    /// flush its FDB (the kernel bridge after a root move, for one) keeps
    /// pointing at a port that is now blocked until its 300 s ageing.
    pub fn announce_hosts(&self) {
        for h in &self.hosts {
            h.sh(
                "python3 -c \"import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);\
                 s.setsockopt(socket.SOL_SOCKET,socket.SO_BROADCAST,1);s.sendto(b'hello',('10.0.0.255',9))\"",
            );
        }
    }

    /// Every host pair that does not ping.
    pub fn ping_all(&self) -> Vec<(usize, usize)> {
        let n = self.n();
        let mut bad = vec![];
        for i in 0..n {
            for j in 0..n {
                if i != j && !self.ping(i, j) {
                    bad.push((i, j));
                }
            }
        }
        bad
    }

    /// Takes link k down (admin down on `r{k}`: the peer loses carrier).
    pub fn link_down(&self, k: usize) {
        self.sw[k].sh(&format!("ip link set r{k} down"));
    }

    pub fn link_up(&self, k: usize) {
        self.sw[k].sh(&format!("ip link set r{k} up"));
    }

    /// Makes link k fail silently, or heal (`on` false): carrier stays up
    /// and every frame is dropped both ways, as a broken transceiver or a
    /// hung peer does. A generic-XDP program that drops everything sits on
    /// both ends: XDP runs before the AF_PACKET taps the switches read
    /// with (a tc or netem qdisc would not: AF_PACKET's TX bypasses the
    /// qdisc and its RX taps come before tc ingress).
    pub fn link_silent(&self, k: usize, on: bool) {
        let j = (k + 1) % self.n();
        let attach = if on {
            format!("xdpgeneric obj {} sec xdp", self.drop_program().display())
        } else {
            "xdpgeneric off".to_string()
        };
        for (ns, dev) in [
            (&self.sw[k], format!("r{k}")),
            (&self.sw[j], format!("l{j}")),
        ] {
            let out = ns.run(&format!("ip link set dev {dev} {attach}"));
            assert!(
                out.status.success(),
                "ip link set dev {dev} {attach}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// The XDP object `link_silent` loads: `return XDP_DROP`, compiled
    /// with clang's BPF target into the scratch directory once.
    fn drop_program(&self) -> PathBuf {
        let obj = self.scratch.join("xdp-drop.o");
        if !obj.exists() {
            let src = self.scratch.join("xdp-drop.c");
            std::fs::write(
                &src,
                "__attribute__((section(\"xdp\"), used)) int xdp_drop(void *ctx) { return 1; /* XDP_DROP */ }\n\
                 char _license[] __attribute__((section(\"license\"), used)) = \"GPL\";\n",
            )
            .expect("write the XDP source");
            let out = run(&format!(
                "clang -O2 -target bpf -c {} -o {}",
                src.display(),
                obj.display()
            ));
            assert!(
                out.status.success(),
                "clang -target bpf: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        obj
    }

    /// Takes every link of switch i down (as if it failed).
    pub fn switch_down(&self, i: usize) {
        self.sw[i].sh(&format!(
            "ip link set l{i} down; ip link set r{i} down; ip link set h{i} down"
        ));
    }

    pub fn switch_up(&self, i: usize) {
        self.sw[i].sh(&format!(
            "ip link set l{i} up; ip link set r{i} up; ip link set h{i} up"
        ));
    }

    /// Sets switch i's bridge priority, whatever its kind.
    pub fn set_priority(&mut self, i: usize, priority: u32) {
        match self.kind(i) {
            Kind::Satellite => {
                self.satctl(i, &format!("set priority {priority}"));
            }
            Kind::Kernel => {
                self.sw[i].sh(&format!("ip link set br0 type bridge priority {priority}"));
            }
            Kind::Ovs => self.ovs[i].as_ref().unwrap().set_priority("br0", priority),
        }
        self.spec.priorities[i] = priority;
    }

    /// The ports satellited i sends unicast for switch j's hosts on (its
    /// SSTP equal-cost next hops), empty when it has no route or no answer.
    pub fn sstp_next_hops(&self, i: usize, j: usize) -> Vec<String> {
        let out = run(&format!(
            "{} -s {} show routes --json",
            bin("satctl").display(),
            self.sockets[i].display()
        ));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let want = format!("{}s{j}", self.tag);
        v["routes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["hostname"] == want.as_str())
            .flat_map(|r| r["next_hops"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect()
    }

    /// The `sstp` log lines of satellited i.
    pub fn sstp_log(&self, i: usize) -> String {
        self.sats[i]
            .as_ref()
            .map(|p| {
                p.log_text()
                    .lines()
                    .filter(|l| l.to_lowercase().contains("sstp"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    /// Every switch's log (satellited, OVS), for failure messages.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for i in 0..self.n() {
            if let Some(p) = &self.sats[i] {
                s.push_str(&format!(
                    "---- satellited s{i} ----\n{}\n",
                    tail(&p.log_text(), 60)
                ));
            }
            if let Some(o) = &self.ovs[i] {
                s.push_str(&format!(
                    "---- ovs-vswitchd s{i} ----\n{}\n",
                    tail(&o.log_text(), 30)
                ));
            }
        }
        s
    }

    /// True when every daemon of the ring still runs.
    pub fn alive(&mut self) -> bool {
        self.sats.iter_mut().flatten().all(|p| p.alive())
            && self.ovs.iter_mut().flatten().all(|o| o.vswitchd.alive())
    }
}

fn parse_num(s: &str) -> u32 {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x") {
        u32::from_str_radix(h, 16).unwrap_or(u32::MAX)
    } else {
        s.parse().unwrap_or(u32::MAX)
    }
}

/// The last `n` lines of a text.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The non-zero drop counters of a `show stats --json` answer, by (port,
/// reason).
pub fn drops_of(stats: &serde_json::Value) -> std::collections::BTreeMap<(String, String), u64> {
    let mut out = std::collections::BTreeMap::new();
    for p in stats["ports"].as_array().into_iter().flatten() {
        let port = p["name"].as_str().unwrap_or("?").to_string();
        for (reason, n) in p["drops"].as_object().into_iter().flatten() {
            if let Some(n) = n.as_u64().filter(|&n| n > 0) {
                out.insert((port.clone(), reason.clone()), n);
            }
        }
    }
    out
}

/// The counters that grew from `before` to `now` (per switch), as
/// `s1 r1 tx_full +2` lines.
pub fn drops_between(
    before: &[std::collections::BTreeMap<(String, String), u64>],
    now: &[std::collections::BTreeMap<(String, String), u64>],
) -> Vec<String> {
    let mut lines = vec![];
    for (i, (b, n)) in before.iter().zip(now).enumerate() {
        for ((port, reason), &v) in n {
            let was = b.get(&(port.clone(), reason.clone())).copied().unwrap_or(0);
            if v > was {
                lines.push(format!("s{i} {port} {reason} +{}", v - was));
            }
        }
    }
    lines
}

/// Two probe streams around an event in a ring: one whose path crosses the
/// event (`affected`, host a -> host b) and a bystander that does not.
pub struct EventProbe {
    pub affected: (usize, usize),
    pub bystander: (usize, usize),
    /// Datagrams per second.
    pub rate: u32,
    /// How long each stream runs.
    pub duration: std::time::Duration,
    /// When, into the streams, the event happens.
    pub event_at: std::time::Duration,
}

impl EventProbe {
    /// Runs both streams, performs `event` `event_at` into them, and returns
    /// (affected, bystander) reports. Logs go to the ring's scratch dir.
    pub fn run(
        &self,
        ring: &Ring,
        tag: &str,
        event: impl FnOnce(),
    ) -> (crate::probe::Report, crate::probe::Report) {
        use crate::probe::Stream;
        let logs = ring.scratch.path.clone();
        let ((a, b), (c, d)) = (self.affected, self.bystander);
        let s1 = Stream::start(
            &ring.hosts[a],
            &ring.hosts[b],
            format!("{}:5001", host_ip(b)).parse().expect("address"),
            self.rate,
            self.duration,
            &logs.join(format!("{tag}-affected")),
        );
        let s2 = Stream::start(
            &ring.hosts[c],
            &ring.hosts[d],
            format!("{}:5002", host_ip(d)).parse().expect("address"),
            self.rate,
            self.duration,
            &logs.join(format!("{tag}-bystander")),
        );
        std::thread::sleep(self.event_at);
        event();
        (s1.finish(), s2.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_macs() {
        assert_eq!(bridge_id(3, 32768), "8000.020000010301");
        assert_eq!(bridge_id(0, 4096), "1000.020000010001");
        assert_eq!(port_mac(10, 2), "02:00:00:01:0a:02");
        assert_eq!(host_ip(0), "10.0.0.1");
        assert_eq!(parse_num("0x8001"), 0x8001);
        assert_eq!(parse_num("4"), 4);
    }
}
