//! Edge ports end to end: BPDU guard, and what a port's socket caught
//! before it was bound to its interface.
//!
//! Lab: one satellited with a fabric port `p0` (host 0 stands in for a
//! neighbouring bridge) and an edge port `p1` (host 1).

use satellite_e2e::*;
use std::path::PathBuf;
use std::time::Duration;

/// An RST BPDU as a neighbouring bridge (02:00:00:00:09:01) sends it,
/// unpadded as veth carries it: 802.3 length 39, LLC 42 42 03, 36 octets
/// of BPDU (802.1D-2004 9.3.3).
const RST_BPDU_HEX: &str = concat!(
    "0180c2000000",     // Bridge Group Address
    "020000000901",     // source
    "0027",             // 802.3 length
    "424203",           // LLC
    "0000",             // protocol identifier
    "02",               // version: RSTP
    "02",               // type: RST BPDU
    "3c",               // flags: designated, learning, forwarding
    "1000020000000901", // root identifier
    "00000000",         // root path cost
    "1000020000000901", // bridge identifier
    "8001",             // port identifier
    "0000",             // message age
    "1400",             // max age 20 s
    "0200",             // hello time 2 s
    "0f00",             // forward delay 15 s
    "00",               // version 1 length
);

struct EdgeLab {
    // Field order is drop order: the daemon stops before its links vanish.
    daemon: Proc,
    _links: Vec<Veth>,
    hosts: Vec<Netns>,
    _sw: Netns,
    socket: PathBuf,
    scratch: Scratch,
}

impl EdgeLab {
    /// Namespaces and links, no daemon yet.
    fn build() -> (Netns, Vec<Netns>, Vec<Veth>, Scratch, String) {
        let tag = unique("e");
        let scratch = Scratch::new(&tag);
        let sw = Netns::new(&format!("{tag}sw"));
        let (hosts, links) = star_hosts(&tag, &sw, 2);
        (sw, hosts, links, scratch, tag)
    }

    /// Starts satellited on the lab and waits until it answers.
    fn start(parts: (Netns, Vec<Netns>, Vec<Veth>, Scratch, String)) -> EdgeLab {
        let (sw, hosts, links, scratch, tag) = parts;
        let cfg = format!(
            "[bridge]\nname = \"{tag}\"\n\n[dataplane]\nworkers = 1\nmemory_mb = 128\n\n\
             [[port]]\nname = \"p0\"\nbackend = \"af_packet\"\nkind = \"fabric\"\n\n\
             [[port]]\nname = \"p1\"\nbackend = \"af_packet\"\nkind = \"edge\"\n"
        );
        let cfg_path = scratch.join("satellited.toml");
        std::fs::write(&cfg_path, cfg).expect("write config");
        let socket = scratch.join("ctl.sock");
        let args = [
            "--socket",
            &socket.display().to_string(),
            "--config",
            &cfg_path.display().to_string(),
        ]
        .map(String::from);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let daemon = sw.spawn(&bin("satellited"), &argv, &scratch.join("satellited.log"));
        let mut lab = EdgeLab {
            daemon,
            _links: links,
            hosts,
            _sw: sw,
            socket,
            scratch,
        };
        let ready = satctl_answers(&lab.socket, Duration::from_secs(20));
        assert!(
            ready && lab.daemon.alive(),
            "satellited did not start:\n{}",
            lab.daemon.log_text()
        );
        lab
    }

    fn port(&self, name: &str) -> serde_json::Value {
        let stats = satctl_json(&self.socket, "show stats");
        stats["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no port {name} in {stats}"))
            .clone()
    }

    fn forwarding(&self, name: &str) -> bool {
        satctl_json(&self.socket, "show ports")
            .as_array()
            .is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["name"] == name && p["forwarding"] == true)
            })
    }
}

/// Writes a Python script that sends `frame` from eth0 `count` times, and
/// goes on until `seconds` have passed.
fn write_sender(path: &std::path::Path, frame: &str, count: u64, seconds: f64) {
    let py = format!(
        "import socket, time\n\
         s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n\
         s.bind(('eth0', 0))\n\
         f = bytes.fromhex('{frame}')\n\
         end = time.monotonic() + {seconds}\n\
         n = 0\n\
         while n < {count} or time.monotonic() < end:\n\
         \x20   s.send(f)\n\
         \x20   n += 1\n\
         print(n, 'sent')\n"
    );
    std::fs::write(path, py).expect("write sender");
}

#[test]
fn bpdu_guard_disables_an_edge_port_until_satctl_enables_it() {
    require_root!();
    let lab = EdgeLab::start(EdgeLab::build());
    assert!(
        wait_until(Duration::from_secs(10), || lab.forwarding("p1")),
        "edge port p1 does not forward:\n{}",
        lab.daemon.log_text()
    );
    let before = lab.port("p1");
    assert_eq!(before["bpdu_guard_trips"], 0, "{before}");

    // Host 1 turns out to be a bridge.
    let script = lab.scratch.join("bpdu.py");
    write_sender(&script, RST_BPDU_HEX, 1, 0.0);
    lab.hosts[1].sh(&format!("python3 {}", script.display()));
    assert!(
        wait_until(Duration::from_secs(5), || lab.port("p1")["admin_up"]
            == false),
        "BPDU guard did not disable p1: {}\n{}",
        lab.port("p1"),
        lab.daemon.log_text()
    );
    let p1 = lab.port("p1");
    assert_eq!(p1["bpdu_guard_trips"], 1, "{p1}");
    assert!(!lab.forwarding("p1"));
    assert!(
        lab.daemon.log_text().contains("BPDU guard"),
        "no log line:\n{}",
        lab.daemon.log_text()
    );
    // Later BPDUs are dropped on the data path, under their own reason.
    lab.hosts[1].sh(&format!("python3 {}", script.display()));
    assert!(
        wait_until(Duration::from_secs(5), || {
            lab.port("p1")["drops"]["bpdu_guard"].as_u64() >= Some(1)
        }),
        "{}",
        lab.port("p1")
    );
    assert_eq!(lab.port("p1")["bpdu_guard_trips"], 1);

    // The operator re-enables the port; it is an edge port again at once.
    satctl_json(&lab.socket, "port p1 up");
    assert!(
        wait_until(Duration::from_secs(5), || lab.forwarding("p1")),
        "p1 did not come back: {}",
        lab.port("p1")
    );
    assert_eq!(lab.port("p1")["admin_up"], true);
}

/// The af_packet PMD sets up a port's RX ring before it binds the socket
/// to the interface; frames caught in between come from any interface of
/// the namespace. Here a neighbour floods BPDUs on the fabric port `p0`
/// while the daemon starts: none of them may count as arriving on the edge
/// port `p1` (that tripped BPDU guard on host ports of the ring lab).
#[test]
fn frames_caught_before_the_ports_bind_never_reach_the_wrong_port() {
    require_root!();
    let parts = EdgeLab::build();
    let scratch_log = parts.3.join("flood.log");
    let flood_script = parts.3.join("flood.py");
    write_sender(&flood_script, RST_BPDU_HEX, 0, 8.0);
    let python = std::path::PathBuf::from(sh("command -v python3").trim());
    let mut flood = parts.1[0].spawn(
        &python,
        &[&flood_script.display().to_string()],
        &scratch_log,
    );
    // Flooding before the daemon opens its sockets.
    std::thread::sleep(Duration::from_millis(300));
    let lab = EdgeLab::start(parts);
    assert!(
        wait_until(Duration::from_secs(10), || lab.forwarding("p1")),
        "edge port p1 does not forward:\n{}",
        lab.daemon.log_text()
    );
    assert!(flood.alive(), "the flood ended early: {}", flood.log_text());
    let p1 = lab.port("p1");
    flood.stop();
    assert_eq!(
        p1["bpdu_guard_trips"],
        0,
        "p1 took p0's BPDUs for its own: {p1}\n{}",
        lab.daemon.log_text()
    );
    assert_eq!(p1["admin_up"], true, "{p1}");
    assert_eq!(p1["punted"], 0, "{p1}");
    let p0 = lab.port("p0");
    assert!(
        p0["punted"].as_u64() > Some(0),
        "the flood never arrived: {p0}"
    );
    println!(
        "discarded before start: p0 {}, p1 {}",
        p0["drops"]["before_start"], p1["drops"]["before_start"]
    );
}
