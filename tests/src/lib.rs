//! A small kit for network-namespace labs.
//!
//! Every namespace, link and process a test makes is owned by a value whose
//! `Drop` removes it, so a failing (panicking) test cleans up as it unwinds.
//! Processes are stopped by the PID the test started, never by name.
//! Tests that need root skip with a loud message when not root; CI runs as
//! root, so there they always run.
#![forbid(unsafe_code)]

pub mod fabric;
pub mod filterlab;
pub mod flood;
pub mod ovs;
pub mod probe;
pub mod ring;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// True when running as root (namespaces need it).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Skips (returns from) a test that needs root when not root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::is_root() {
            eprintln!("SKIPPED: this test needs root (network namespaces); CI runs it as root");
            return;
        }
    };
}

/// A short prefix unique to this process and call, for interface and
/// namespace names (interface names are limited to 15 bytes).
pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{tag}{}{n}", std::process::id() % 10000)
}

/// Directory of the workspace's built binaries (next to this test binary).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> or target/<profile>/<bin>
    let dir = exe.parent().expect("exe dir");
    if dir.ends_with("deps") {
        dir.parent().expect("target dir").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// Path of a workspace binary; fails clearly when it was not built.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} not built: run `cargo build --release --bins` (scripts/test.sh does) first",
        p.display()
    );
    p
}

/// Runs a command, panicking with its output when it fails.
pub fn sh(cmd: &str) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "command failed: {cmd}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command through `sh -c` and returns its output, success or not.
pub fn run(cmd: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("spawn sh")
}

/// Polls `f` every 50 ms until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A network namespace, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: &str) -> Netns {
        let _ = run(&format!("ip netns del {name} 2>/dev/null"));
        sh(&format!("ip netns add {name}"));
        sh(&format!("ip -n {name} link set lo up"));
        // No IPv6 autoconfiguration chatter in labs: it would show up in
        // FDBs and probe captures.
        let _ = run(&format!(
            "ip netns exec {name} sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1"
        ));
        Netns {
            name: name.to_string(),
        }
    }

    /// `ip netns exec NAME cmd` (through sh), panicking on failure.
    pub fn sh(&self, cmd: &str) -> String {
        sh(&format!(
            "ip netns exec {} sh -c '{}'",
            self.name,
            cmd.replace('\'', r"'\''")
        ))
    }

    /// Like [`Netns::sh`] but returns the output whatever the status.
    pub fn run(&self, cmd: &str) -> Output {
        run(&format!(
            "ip netns exec {} sh -c '{}'",
            self.name,
            cmd.replace('\'', r"'\''")
        ))
    }

    /// Spawns a long-running process in the namespace.
    pub fn spawn(&self, program: &Path, args: &[&str], log: &Path) -> Proc {
        let logf = std::fs::File::create(log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(logf.try_clone().expect("dup log"))
            .stderr(logf)
            .spawn()
            .expect("spawn in netns");
        Proc {
            child: Some(child),
            log: log.to_path_buf(),
        }
    }
}

impl Netns {
    /// Starts `tcpdump -w pcap` on `iface` and returns once it is capturing
    /// (its "listening on" line): a capture started by a fixed sleep misses
    /// the first frames on a loaded machine. `extra` goes before the filter
    /// words (e.g. `["-Q", "in"]`).
    pub fn tcpdump(&self, iface: &str, pcap: &Path, extra: &[&str], filter: &[&str]) -> Proc {
        let log = pcap.with_extension("log");
        let pcap_s = pcap.display().to_string();
        let mut args = vec![
            "-Z",
            "root",
            "--immediate-mode",
            "-U",
            "-n",
            "-i",
            iface,
            "-w",
            &pcap_s,
        ];
        args.extend(extra);
        args.extend(filter);
        let tcpdump = PathBuf::from(sh("command -v tcpdump").trim());
        let mut proc = self.spawn(&tcpdump, &args, &log);
        let end = Instant::now() + Duration::from_secs(10);
        while !proc.log_text().contains("listening on") {
            if !proc.alive() || Instant::now() > end {
                let text = proc.log_text();
                proc.stop();
                panic!("tcpdump on {}/{iface} did not start: {text}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        proc
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run(&format!("ip netns del {}", self.name));
    }
}

/// A veth pair between two namespaces (or the root namespace for `None`).
/// Deleting one end deletes both; namespace deletion also removes them.
pub struct Veth {
    pub a: String,
    pub b: String,
    ns_a: Option<String>,
}

impl Veth {
    /// Creates `a` in `ns_a` and `b` in `ns_b`, both up, TX checksum offload
    /// off (a userspace switch would otherwise pass partial checksums).
    pub fn new(a: &str, ns_a: Option<&Netns>, b: &str, ns_b: Option<&Netns>) -> Veth {
        let tmp_a = unique("va");
        let tmp_b = unique("vb");
        sh(&format!("ip link add {tmp_a} type veth peer name {tmp_b}"));
        let place = |tmp: &str, name: &str, ns: Option<&Netns>| match ns {
            Some(ns) => {
                sh(&format!("ip link set {tmp} netns {}", ns.name));
                sh(&format!("ip -n {} link set {tmp} name {name}", ns.name));
                sh(&format!("ip -n {} link set {name} up", ns.name));
                let _ = run(&format!(
                    "ip netns exec {} ethtool -K {name} tx off >/dev/null 2>&1",
                    ns.name
                ));
            }
            None => {
                sh(&format!("ip link set {tmp} name {name}"));
                sh(&format!("ip link set {name} up"));
                let _ = run(&format!("ethtool -K {name} tx off >/dev/null 2>&1"));
            }
        };
        place(&tmp_a, a, ns_a);
        place(&tmp_b, b, ns_b);
        Veth {
            a: a.into(),
            b: b.into(),
            ns_a: ns_a.map(|n| n.name.clone()),
        }
    }
}

/// The MTU of fabric links in the labs: a host's 1500 plus the 6-octet
/// SSTP unicast tag (docs/sstp.md), as satellited asks at start-up.
pub const FABRIC_MTU: u32 = 1506;

impl Veth {
    /// A link between two switches: [`Veth::new`] with [`FABRIC_MTU`] on
    /// both ends.
    pub fn fabric(a: &str, ns_a: Option<&Netns>, b: &str, ns_b: Option<&Netns>) -> Veth {
        let v = Veth::new(a, ns_a, b, ns_b);
        for (name, ns) in [(a, ns_a), (b, ns_b)] {
            let cmd = format!("ip link set {name} mtu {FABRIC_MTU}");
            match ns {
                Some(ns) => ns.sh(&cmd),
                None => sh(&cmd),
            };
        }
        v
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let cmd = match &self.ns_a {
            Some(ns) => format!("ip -n {ns} link del {} 2>/dev/null", self.a),
            None => format!("ip link del {} 2>/dev/null", self.a),
        };
        let _ = run(&cmd);
    }
}

/// A child process, stopped (SIGTERM, then SIGKILL) by its PID on drop.
pub struct Proc {
    child: Option<Child>,
    pub log: PathBuf,
}

impl Proc {
    /// Owns `child` (started by the caller, logging to `log`).
    pub fn from_child(child: Child, log: PathBuf) -> Proc {
        Proc {
            child: Some(child),
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Waits up to `timeout` for the process to exit by itself; returns its
    /// exit code (or None when it still runs, or was killed by a signal).
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<i32> {
        let end = Instant::now() + timeout;
        loop {
            match self.child.as_mut()?.try_wait() {
                Ok(Some(st)) => return st.code(),
                Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
                _ => return None,
            }
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, as a crash or `kill -9` would end it: no clean-up of its
    /// own runs. The child stays unreaped until drop, so the PID stays ours.
    pub fn kill_hard(&self) {
        if let Some(c) = &self.child {
            let pid = nix::unistd::Pid::from_raw(c.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }

    /// Stops the process; returns its exit status code if it exited.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        // The child is not reaped yet, so the PID is still ours.
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return st.code();
            }
            if Instant::now() > end {
                let _ = child.kill();
                return child.wait().ok().and_then(|s| s.code());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A private scratch directory, removed on drop.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("satellite-{}", unique(tag)));
        std::fs::create_dir_all(&path).expect("scratch dir");
        Scratch { path }
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.path.join(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("SATELLITE_KEEP_SCRATCH").is_none() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A free TCP port on loopback (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// `n` host namespaces `{tag}h{i}` around the switch namespace `sw`: host
/// i's `eth0` (02:00:00:00:01:i+1, 10.0.0.i+1/24) is linked to `p{i}` in
/// `sw`.
pub fn star_hosts(tag: &str, sw: &Netns, n: usize) -> (Vec<Netns>, Vec<Veth>) {
    let mut hosts = Vec::new();
    let mut links = Vec::new();
    for i in 0..n {
        let h = Netns::new(&format!("{tag}h{i}"));
        links.push(Veth::new("eth0", Some(&h), &format!("p{i}"), Some(sw)));
        h.sh(&format!(
            "ip link set eth0 address 02:00:00:00:01:{:02x}",
            i + 1
        ));
        h.sh(&format!("ip addr add 10.0.0.{}/24 dev eth0", i + 1));
        hosts.push(h);
    }
    (hosts, links)
}

/// Waits up to `timeout` for the satellited behind `socket` to answer
/// `satctl show ports`; true once it does.
pub fn satctl_answers(socket: &Path, timeout: Duration) -> bool {
    wait_until(timeout, || {
        run(&format!(
            "{} -s {} show ports",
            bin("satctl").display(),
            socket.display()
        ))
        .status
        .success()
    })
}

/// Runs `satctl -s SOCKET ARGS --json` and parses the answer.
pub fn satctl_json(socket: &Path, args: &str) -> serde_json::Value {
    let out = sh(&format!(
        "{} -s {} {args} --json",
        bin("satctl").display(),
        socket.display()
    ));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("satctl {args}: bad JSON ({e}): {out}"))
}

/// One switch in its own namespace with `n` host namespaces attached by
/// veth: host i has `eth0` (10.0.0.i+1/24, MAC 02:00:00:00:ss:ii) and the
/// switch has port `pI`.
pub struct StarLab {
    // Field order is drop order: the daemon stops before its links vanish.
    pub daemon: Proc,
    pub links: Vec<Veth>,
    pub hosts: Vec<Netns>,
    pub sw: Netns,
    pub socket: PathBuf,
    pub metrics_port: u16,
    pub scratch: Scratch,
}

impl StarLab {
    pub fn new(n: usize, extra_args: &[&str]) -> StarLab {
        Self::new_with(n, extra_args, |_| ()).0
    }

    /// As [`StarLab::new`], with `before` run once the hosts are cabled and
    /// before the daemon starts, given the switch's namespace: to cable
    /// more ports (and start what is behind them). What it returns (guards
    /// of what it made) comes back with the lab.
    pub fn new_with<T>(
        n: usize,
        extra_args: &[&str],
        before: impl FnOnce(&Netns) -> T,
    ) -> (StarLab, T) {
        let tag = unique("s");
        let scratch = Scratch::new(&tag);
        let sw = Netns::new(&format!("{tag}sw"));
        let (hosts, links) = star_hosts(&tag, &sw, n);
        let extra = before(&sw);
        let socket = scratch.join("ctl.sock");
        let metrics_port = free_port();
        let metrics = format!("127.0.0.1:{metrics_port}");
        let mut args: Vec<String> = vec![
            "--name".into(),
            tag.clone(),
            "--socket".into(),
            socket.display().to_string(),
            "--metrics".into(),
            metrics,
        ];
        for i in 0..n {
            args.push("--iface".into());
            args.push(format!("p{i}"));
        }
        args.extend(extra_args.iter().map(|s| s.to_string()));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        // The metrics server binds loopback inside the switch namespace.
        let daemon = sw.spawn(&bin("satellited"), &argv, &scratch.join("satellited.log"));
        let mut lab = StarLab {
            daemon,
            links,
            hosts,
            sw,
            socket,
            metrics_port,
            scratch,
        };
        let ready = satctl_answers(&lab.socket, Duration::from_secs(20));
        assert!(
            ready && lab.daemon.alive(),
            "satellited did not start:\n{}",
            lab.daemon.log_text()
        );
        // Host ports become edge ports after the RSTP migrate time (3 s)
        // without a BPDU, and forward from then on.
        let forwarding = wait_until(Duration::from_secs(15), || {
            lab.satctl("show ports")
                .as_array()
                .is_some_and(|ps| ps.iter().all(|p| p["forwarding"] == true))
        });
        assert!(
            forwarding,
            "ports never reached forwarding:\n{}",
            lab.daemon.log_text()
        );
        (lab, extra)
    }

    pub fn satctl(&self, args: &str) -> serde_json::Value {
        satctl_json(&self.socket, args)
    }

    /// Pings host j from host i (3 tries, 1 s timeout each).
    pub fn ping(&self, i: usize, j: usize) -> bool {
        self.hosts[i]
            .run(&format!(
                "ping -c 1 -W 1 10.0.0.{} || ping -c 1 -W 1 10.0.0.{} || ping -c 1 -W 1 10.0.0.{}",
                j + 1,
                j + 1,
                j + 1
            ))
            .status
            .success()
    }
}
