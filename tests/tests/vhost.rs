//! vhost-user ports (`[[port]] backend = "vhost_user"`) with a DPDK guest:
//! `dpdk-testpmd` with a `net_virtio_user` device is the VM's virtio-net
//! driver, answering ARP and ping in its `icmpecho` mode; a host namespace
//! on an af_packet port pings it through the switch. The guest's memory is
//! shared with the switch by file descriptor: testpmd runs `--no-huge`,
//! which DPDK backs with a memfd, so no hugepages are needed (CI has none).
//! A real QEMU guest is too slow for CI under TCG: `scripts/vm-guest.sh`
//! (docs/ports-and-backends.md "vhost-user").
//!
//! The tests run one at a time (a lock): each has a poll-mode testpmd, and
//! CI has two cores.

use satellite_e2e::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The guest's side of a vhost-user socket: testpmd, stopped by its PID
/// on drop, its EAL runtime directory removed.
struct Guest {
    proc: Proc,
    prefix: String,
}

impl Guest {
    /// Starts testpmd on `socket` with `queues` queue pairs; `server`:
    /// testpmd listens (the switch is the vhost-user client).
    fn start(scratch: &Scratch, socket: &Path, queues: u16, server: bool) -> Guest {
        let testpmd = run("command -v dpdk-testpmd");
        assert!(
            testpmd.status.success(),
            "dpdk-testpmd not found: it is in Debian's dpdk-dev \
             (dpdk-build/install-deps.sh --lab installs it)"
        );
        let testpmd = PathBuf::from(String::from_utf8_lossy(&testpmd.stdout).trim());
        let prefix = unique("vhg");
        let log = scratch.join(&format!("{prefix}.log"));
        let logf = std::fs::File::create(&log).expect("log");
        let vdev = format!(
            "net_virtio_user0,path={},queues={queues}{}",
            socket.display(),
            if server { ",server=1" } else { "" }
        );
        let nq = format!("{queues}");
        let child = Command::new(testpmd)
            .args([
                // Two lcores (main and one forwarding), floating over the
                // CPUs: CI's two cores are the switch's too.
                "--lcores=0@(0-1),1@(0-1)",
                // Memory in a memfd, which is what the switch maps: no
                // hugepages needed.
                "--no-huge",
                "-m",
                "256",
                "--no-shconf",
                &format!("--file-prefix={prefix}"),
                "--no-pci",
                "--log-level=*:warning",
                "--vdev",
                &vdev,
                "--",
                "--forward-mode=icmpecho",
                "--auto-start",
                // Runs until SIGTERM (no prompt to wait for).
                "--stats-period=3600",
                "--nb-cores=1",
                "--rxq",
                &nq,
                "--txq",
                &nq,
                "--total-num-mbufs=4096",
            ])
            .stdin(Stdio::null())
            .stdout(logf.try_clone().expect("dup"))
            .stderr(logf)
            .spawn()
            .expect("spawn dpdk-testpmd");
        let mut g = Guest {
            proc: Proc::from_child(child, log),
            prefix,
        };
        let started = wait_until(Duration::from_secs(20), || {
            g.proc
                .log_text()
                .contains("Start automatic packet forwarding")
                || g.proc.log_text().contains("start packet forwarding")
                || !g.proc.alive()
        });
        assert!(
            started && g.proc.alive(),
            "testpmd did not start:\n{}",
            g.proc.log_text()
        );
        g
    }

    /// Stops testpmd as a VM's driver going away would.
    fn stop(&mut self) {
        self.proc.stop();
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        self.proc.stop();
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{}", self.prefix));
    }
}

/// A switch in namespace `sw` with port `p0` to host namespace `h`
/// (10.0.0.1/24) and vhost-user port `vm1` on `socket`.
struct Lab {
    // Field order is drop order: the daemon stops before its links go.
    daemon: Proc,
    _link: Veth,
    host: Netns,
    _sw: Netns,
    ctl: PathBuf,
    scratch: Scratch,
}

fn port_toml(socket: &Path, client: bool) -> String {
    format!(
        "[[port]]\nname = \"vm1\"\nbackend = \"vhost_user\"\nsocket = \"{}\"\nvhost_client = {client}\n",
        socket.display()
    )
}

impl Lab {
    fn start(tag: &str, workers: u16, vhost: impl FnOnce(&Scratch) -> String) -> Lab {
        let tag = unique(tag);
        let scratch = Scratch::new(&tag);
        let sw = Netns::new(&format!("{tag}sw"));
        let host = Netns::new(&format!("{tag}h"));
        let link = Veth::new("eth0", Some(&host), "p0", Some(&sw));
        host.sh("ip link set eth0 address 02:00:00:00:01:01");
        host.sh("ip addr add 10.0.0.1/24 dev eth0");
        let config = scratch.join("satellited.toml");
        let toml = format!(
            "[bridge]\nname = \"{tag}\"\n[dataplane]\nworkers = {workers}\n\
             [[port]]\nname = \"p0\"\nbackend = \"af_packet\"\n{}",
            vhost(&scratch)
        );
        std::fs::write(&config, toml).expect("config");
        let ctl = scratch.join("ctl.sock");
        let args = [
            "-c",
            config.to_str().unwrap(),
            "--socket",
            ctl.to_str().unwrap(),
        ];
        let daemon = sw.spawn(&bin("satellited"), &args, &scratch.join("satellited.log"));
        let mut lab = Lab {
            daemon,
            _link: link,
            host,
            _sw: sw,
            ctl,
            scratch,
        };
        assert!(
            satctl_answers(&lab.ctl, Duration::from_secs(20)) && lab.daemon.alive(),
            "satellited did not start:\n{}",
            lab.daemon.log_text()
        );
        lab
    }

    /// `show ports --json`'s entry of `name`.
    fn port(&self, name: &str) -> serde_json::Value {
        satctl_json(&self.ctl, "show ports")
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name).cloned())
            .unwrap_or(serde_json::Value::Null)
    }

    /// Waits for `vm1`'s link to be `up` (and forwarding, when up);
    /// returns how long that took.
    fn wait_link(&self, up: bool, timeout: Duration) -> Duration {
        let t0 = Instant::now();
        let ok = wait_until(timeout, || {
            let p = self.port("vm1");
            p["link_up"] == up && (!up || p["forwarding"] == true)
        });
        assert!(
            ok,
            "vm1 never went link_up = {up}{}: {}\n{}",
            if up { " and forwarding" } else { "" },
            self.port("vm1"),
            self.daemon.log_text()
        );
        t0.elapsed()
    }

    /// Pings the guest (any address on the subnet: testpmd's icmpecho
    /// answers every ARP request and echo request) from the host: one to
    /// resolve ARP (retried while the path settles), then `n` that must
    /// all come back. Returns ping's summary lines.
    fn ping_guest(&self, n: u32, guest: &Guest) -> String {
        let warm = wait_until(Duration::from_secs(10), || {
            self.host.run("ping -c 1 -W 1 10.0.0.2").status.success()
        });
        assert!(
            warm,
            "no answer from the guest at all\nswitch:\n{}\ntestpmd:\n{}",
            self.daemon.log_text(),
            guest.proc.log_text()
        );
        let out = self
            .host
            .run(&format!("ping -n -q -c {n} -i 0.2 -W 1 10.0.0.2"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && text.contains(" 0% packet loss"),
            "ping lost frames:\n{text}\n{}",
            self.daemon.log_text()
        );
        text
    }
}

/// Server mode (the default), two workers and so two queue pairs: the
/// socket's missing directory is made (0750); frames flow both ways; the
/// port's link follows the guest's driver down and up; `satctl port del`
/// and `port add` take the port away (its socket with it) and back; the
/// socket goes when the switch stops.
#[test]
fn a_guest_on_a_vhost_user_port_pings_a_host_and_its_link_follows_the_driver() {
    require_root!();
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut socket = PathBuf::new();
    let lab = Lab::start("vh", 2, |s| {
        socket = s.join("run/vm1.sock");
        port_toml(&socket, false)
    });
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let dir_mode = std::fs::metadata(socket.parent().unwrap())
        .expect("socket directory made")
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o027, 0, "socket directory {dir_mode:o}");
    let meta = std::fs::symlink_metadata(&socket).expect("socket made");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660, "socket mode");
    let p = lab.port("vm1");
    assert_eq!(p["backend"], "vhost_user", "{p}");
    assert_eq!(p["link_up"], false, "no guest yet, yet link up: {p}");
    let mac = p["mac"].as_str().unwrap().to_string();
    assert!(mac.starts_with("02:"), "vhost port MAC {mac}");

    let mut guest = Guest::start(&lab.scratch, &socket, 2, false);
    let up = lab.wait_link(true, Duration::from_secs(20));
    let ping = lab.ping_guest(20, &guest);
    eprintln!("guest up and forwarding after {up:?}; {ping}");
    assert!(lab.port("vm1")["fdb_entries"].as_u64() >= Some(1));

    // The driver goes: link down.
    let t0 = Instant::now();
    guest.stop();
    lab.wait_link(false, Duration::from_secs(5));
    eprintln!(
        "link down {:?} after testpmd was told to stop",
        t0.elapsed()
    );

    // The port leaves the running switch, its socket with it, and comes
    // back from the file's [[port]].
    let satctl = |args: &str| {
        sh(&format!(
            "{} -s {} {args}",
            bin("satctl").display(),
            lab.ctl.display()
        ))
    };
    satctl("port del vm1");
    assert!(lab.port("vm1").is_null());
    assert!(
        wait_until(Duration::from_secs(2), || !socket.exists()),
        "socket left after port del"
    );
    satctl("port add vm1");
    let meta = std::fs::symlink_metadata(&socket).expect("socket not back after port add");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660, "socket mode");
    assert_eq!(lab.port("vm1")["mac"], mac.as_str(), "MAC changed");

    // The driver comes back: link up, frames flow again.
    let guest = Guest::start(&lab.scratch, &socket, 2, false);
    let up = lab.wait_link(true, Duration::from_secs(20));
    let ping = lab.ping_guest(10, &guest);
    eprintln!("guest back after {up:?}; {ping}");
    drop(guest);

    let mut lab = lab;
    lab.daemon.stop();
    assert!(!socket.exists(), "socket left after the switch stopped");
}

/// Client mode: the guest's side listens (as QEMU with `server=on`), the
/// switch connects, and connects again when the guest comes back.
#[test]
fn a_vhost_client_port_connects_to_the_guest_and_reconnects() {
    require_root!();
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut socket = PathBuf::new();
    let lab = Lab::start("vc", 1, |s| {
        socket = s.join("vm1.sock");
        port_toml(&socket, true)
    });
    assert_eq!(lab.port("vm1")["link_up"], false);
    assert!(!socket.exists(), "a client made the socket");

    let mut guest = Guest::start(&lab.scratch, &socket, 1, true);
    let up = lab.wait_link(true, Duration::from_secs(20));
    let ping = lab.ping_guest(10, &guest);
    eprintln!("client connected, forwarding after {up:?}; {ping}");
    guest.stop();
    lab.wait_link(false, Duration::from_secs(5));
    drop(guest);
    let guest = Guest::start(&lab.scratch, &socket, 1, true);
    let up = lab.wait_link(true, Duration::from_secs(20));
    let ping = lab.ping_guest(10, &guest);
    eprintln!("reconnected after {up:?}; {ping}");
}

/// A relative socket path stops the daemon at start with the file, line
/// and key.
#[test]
fn a_relative_socket_is_refused_with_file_line_and_key() {
    require_root!();
    let scratch = Scratch::new("vr");
    let config = scratch.join("bad.toml");
    std::fs::write(
        &config,
        "[[port]]\nname = \"vm1\"\nbackend = \"vhost_user\"\nsocket = \"vm1.sock\"\n",
    )
    .unwrap();
    let out = run(&format!(
        "{} -c {}",
        bin("satellited").display(),
        config.display()
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("{}:4: key `port.0.socket`", config.display()))
            && err.contains("not an absolute path"),
        "{err}"
    );
}
