//! Interoperability: Satellite in rings with standard bridges (Linux kernel
//! STP, Open vSwitch RSTP), and BPDUs that tcpdump decodes.
//!
//! Run: `cargo build --release --bins && cargo test --release -p satellite-e2e --test interop -- --nocapture`

use satellite_e2e::ring::{Kind, Ring, RingSpec};
use satellite_e2e::*;
use std::time::{Duration, Instant};

fn assert_all_ping(ring: &Ring) {
    // Kernel bridges keep stale FDB entries across a root move (a ring of
    // kernel bridges alone fails the same way): hosts announce themselves
    // with one broadcast first, as their ARP would.
    ring.announce_hosts();
    let bad = ring.ping_all();
    assert!(
        bad.is_empty(),
        "host pairs that do not ping: {bad:?}\n{}\n{}",
        ring.describe(),
        ring.logs()
    );
}

fn converge(ring: &Ring, timeout: Duration) -> (ring::Converged, Duration) {
    ring.wait_converged(1, timeout).unwrap_or_else(|e| {
        panic!("{e}\n{}\n{}", ring.describe(), ring.logs());
    })
}

/// Kit self-check: a ring of 4 kernel STP bridges converges to the expected
/// root with one blocked port, and its hosts ping; moving the root works.
#[test]
fn kit_kernel_only_ring() {
    require_root!();
    let mut ring = Ring::new(RingSpec::uniform(Kind::Kernel, 4));
    let (c, t) = converge(&ring, Duration::from_secs(40));
    println!(
        "kernel ring converged in {t:?}: root {} blocked {:?}",
        c.root_id, c.blocked
    );
    assert_all_ping(&ring);
    ring.set_priority(2, 4096);
    let (c, t) = converge(&ring, Duration::from_secs(40));
    assert_eq!(c.root_id, ring::bridge_id(2, 4096));
    println!(
        "kernel ring root moved in {t:?}: root {} blocked {:?}",
        c.root_id, c.blocked
    );
    assert_all_ping(&ring);
}

/// Kit self-check: a ring of 4 OVS RSTP bridges.
#[test]
fn kit_ovs_only_ring() {
    require_root!();
    let mut spec = RingSpec::uniform(Kind::Ovs, 4);
    spec.down_links = vec![3];
    let mut ring = Ring::new(spec);
    let (c, t) = ring
        .wait_converged(0, Duration::from_secs(40))
        .unwrap_or_else(|e| panic!("{e}\n{}", ring.describe()));
    println!("OVS line converged in {t:?}: root {}", c.root_id);
    std::thread::sleep(Duration::from_secs(2));
    let t0 = Instant::now();
    ring.link_up(3);
    let (res, timeline) = ring.wait_converged_timeline(1, Duration::from_secs(30), t0);
    println!("OVS-only baseline: timeline after closing the ring (link s3-s0 up at 0 ms):");
    for l in &timeline {
        println!("  {l}");
    }
    let (c, t) = res.unwrap_or_else(|e| panic!("{e}\n{}", ring.describe()));
    println!(
        "OVS-only baseline: ring closed, converged in {:.0} ms: root {} blocked {:?}",
        t.as_secs_f64() * 1000.0,
        c.root_id,
        c.blocked
    );
    assert_all_ping(&ring);
    ring.set_priority(2, 4096);
    let (c, t) = converge(&ring, Duration::from_secs(40));
    assert_eq!(c.root_id, ring::bridge_id(2, 4096));
    println!(
        "OVS ring root moved in {t:?}: root {} blocked {:?}",
        c.root_id, c.blocked
    );
    assert_all_ping(&ring);
    assert!(ring.alive());
}

fn check_root_everywhere(ring: &Ring, c: &ring::Converged) {
    for i in 0..ring.n() {
        let v = ring.view(i).unwrap();
        assert_eq!(v.root_id, c.root_id, "s{i}\n{}", ring.describe());
    }
}

/// Ring of 4: s0, s1 satellited; s2, s3 Linux kernel bridges (STP). One
/// root (the lowest bridge ID, whatever its kind), one blocked ring port,
/// all hosts ping; then the root moves by priority, to a kernel bridge and
/// back to a Satellite, and every switch follows.
#[test]
fn kernel_stp_ring() {
    require_root!();
    let mut ring = Ring::new(RingSpec::mixed(vec![
        Kind::Satellite,
        Kind::Satellite,
        Kind::Kernel,
        Kind::Kernel,
    ]));
    ring.wait_started();
    let (c, t) = converge(&ring, Duration::from_secs(60));
    println!(
        "kernel_stp_ring: converged in {t:?} (from daemons up): root {} blocked {:?}\n{}",
        c.root_id,
        c.blocked,
        ring.describe()
    );
    assert_eq!(c.root_id, ring::bridge_id(0, 28672));
    check_root_everywhere(&ring, &c);
    assert_all_ping(&ring);

    // Root to a kernel bridge.
    ring.set_priority(3, 4096);
    let (c, t) = converge(&ring, Duration::from_secs(60));
    println!(
        "kernel_stp_ring: root moved to kernel s3 in {t:?}: root {} blocked {:?}\n{}",
        c.root_id,
        c.blocked,
        ring.describe()
    );
    assert_eq!(c.root_id, ring::bridge_id(3, 4096));
    assert_all_ping(&ring);

    // Root back to a Satellite, by satctl.
    ring.set_priority(1, 0);
    let (c, t) = converge(&ring, Duration::from_secs(60));
    println!(
        "kernel_stp_ring: root moved to satellite s1 in {t:?}: root {} blocked {:?}\n{}",
        c.root_id,
        c.blocked,
        ring.describe()
    );
    assert_eq!(c.root_id, ring::bridge_id(1, 0));
    assert_all_ping(&ring);
    assert!(ring.alive(), "a daemon died\n{}", ring.logs());
}

/// Ring of 4: s0, s1 satellited; s2, s3 Open vSwitch RSTP. The link s3-s0
/// starts down (a line, no blocked port); bringing it up closes the ring,
/// and RSTP proposal/agreement must block one port quickly.
#[test]
fn ovs_rstp_ring() {
    require_root!();
    let mut spec = RingSpec::mixed(vec![Kind::Satellite, Kind::Satellite, Kind::Ovs, Kind::Ovs]);
    spec.down_links = vec![3];
    let mut ring = Ring::new(spec);
    ring.wait_started();
    let t_started = Instant::now();
    let (c, t) = ring
        .wait_converged(0, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", ring.describe(), ring.logs()));
    println!(
        "ovs_rstp_ring: line converged {t:?} after the last daemon answered: root {}\n{}",
        c.root_id,
        ring.describe()
    );
    let _ = t_started;
    assert_eq!(c.root_id, ring::bridge_id(0, 28672));
    // Let the line settle (edge ports, FDBs), then close the ring.
    std::thread::sleep(Duration::from_secs(2));
    let t0 = Instant::now();
    ring.link_up(3);
    // The new link's proposal/agreement: the tree is usable (root ports
    // forwarding, one alternate port) once Satellite and OVS agree.
    let usable = wait_until(Duration::from_secs(30), || ring.tree_usable(1));
    let t_usable = t0.elapsed();
    let reach = wait_until(Duration::from_secs(10), || {
        ring.hosts[0]
            .run(&format!("ping -c 1 -W 1 {}", ring::host_ip(3)))
            .status
            .success()
    });
    let t_reach = t0.elapsed();
    let (res, timeline) = ring.wait_converged_timeline(1, Duration::from_secs(30), t0);
    println!("ovs_rstp_ring: timeline after closing the ring (link s3-s0 up at 0 ms):");
    for l in &timeline {
        println!("  {l}");
    }
    let (c, t_conv) = res.unwrap_or_else(|e| panic!("{e}\n{}\n{}", ring.describe(), ring.logs()));

    println!(
        "ovs_rstp_ring: ring closed (link s3-s0 up): tree usable (proposal/agreement between \
         satellited s0 and OVS s3, one alternate port) after {:.0} ms; host 0 -> host 3 ping \
         after {:.0} ms; every port final after {:.0} ms: root {} blocked {:?}\n{}",
        t_usable.as_secs_f64() * 1000.0,
        t_reach.as_secs_f64() * 1000.0,
        t_conv.as_secs_f64() * 1000.0,
        c.root_id,
        c.blocked,
        ring.describe()
    );
    assert!(usable, "the tree never became usable\n{}", ring.logs());
    assert!(reach, "host 0 cannot reach host 3\n{}", ring.logs());
    assert_eq!(c.root_id, ring::bridge_id(0, 28672));
    assert!(
        t_usable < Duration::from_secs(1),
        "proposal/agreement on the new link took {t_usable:?}"
    );
    // The last port to settle is OVS s3's designated port toward OVS s2's
    // alternate port: OVS does not answer that proposal, so it waits its
    // forward delay (kit_ovs_only_ring shows the same between OVS alone).
    assert!(
        t_conv < Duration::from_secs(10),
        "closing the ring took {t_conv:?}"
    );
    assert_all_ping(&ring);

    // Root to an OVS bridge, then back to a Satellite.
    ring.set_priority(2, 4096);
    let (c, t) = converge(&ring, Duration::from_secs(30));
    println!(
        "ovs_rstp_ring: root moved to OVS s2 in {t:?}: root {} blocked {:?}",
        c.root_id, c.blocked
    );
    assert_eq!(c.root_id, ring::bridge_id(2, 4096));
    assert_all_ping(&ring);
    ring.set_priority(1, 0);
    let (c, t) = converge(&ring, Duration::from_secs(30));
    println!(
        "ovs_rstp_ring: root moved to satellite s1 in {t:?}: root {} blocked {:?}\n{}",
        c.root_id,
        c.blocked,
        ring.describe()
    );
    assert_eq!(c.root_id, ring::bridge_id(1, 0));
    assert_all_ping(&ring);
    assert!(ring.alive(), "a daemon died\n{}", ring.logs());
}

/// Forwarded (not control) frames satellited i has sent on `port`.
fn forwarded_tx(ring: &Ring, i: usize, port: &str) -> u64 {
    let p = ring.port_stats(i, port);
    p["tx_packets"].as_u64().unwrap_or(0) - p["tx_control_packets"].as_u64().unwrap_or(0)
}

/// A ring of all three kinds: four satellited (s0-s3), a Linux kernel
/// bridge (s4, 802.1D STP) and Open vSwitch (s5, RSTP), the kernel bridge
/// the root. One root everywhere, one blocked port, every host pings
/// every other. With every path cost 100, s1 is farthest from the root
/// both ways round and blocks its port toward s2 (s0, its other
/// neighbour, has the lower bridge ID): the blocked link lies inside the
/// Satellite part. Unicast between s1's and s2's hosts follows SSTP over
/// that link (1 hop) and not the tree (5 hops through both standard
/// bridges); across the standard bridges unicast follows the tree. The
/// root then moves to a Satellite and everything holds again.
#[test]
fn mixed_ring_of_satellite_kernel_stp_and_ovs_rstp() {
    require_root!();
    let mut spec = RingSpec::mixed(vec![
        Kind::Satellite,
        Kind::Satellite,
        Kind::Satellite,
        Kind::Satellite,
        Kind::Kernel,
        Kind::Ovs,
    ]);
    spec.priorities[4] = 4096;
    let mut ring = Ring::new(spec);
    ring.wait_started();
    let (c, t) = converge(&ring, Duration::from_secs(90));
    println!(
        "mixed ring: converged in {t:?} (from daemons up): root {} blocked {:?}\n{}",
        c.root_id,
        c.blocked,
        ring.describe()
    );
    assert_eq!(c.root_id, ring::bridge_id(4, 4096));
    check_root_everywhere(&ring, &c);
    assert_eq!(
        c.blocked,
        vec![(1, "r1".to_string())],
        "{}",
        ring.describe()
    );
    assert_all_ping(&ring);

    // SSTP routes s1 -> s2 over the link the tree blocks.
    assert!(
        wait_until(Duration::from_secs(10), || ring.sstp_next_hops(1, 2)
            == ["r1"]),
        "s1 does not route to s2 over r1: {:?}",
        ring.sstp_next_hops(1, 2)
    );
    let before = (forwarded_tx(&ring, 1, "r1"), forwarded_tx(&ring, 1, "l1"));
    let out = ring.hosts[1].run(&format!("ping -c 50 -i 0.01 -W 1 {}", ring::host_ip(2)));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "h1 -> h2: {text}");
    assert!(!text.contains("DUP!"), "duplicates (a loop): {text}");
    let after = (forwarded_tx(&ring, 1, "r1"), forwarded_tx(&ring, 1, "l1"));
    println!(
        "mixed ring: 50 pings h1 -> h2: s1 forwarded {} frames on r1 (blocked by the tree, \
         SSTP's 1 hop) and {} on l1 (the tree's way, 5 hops)",
        after.0 - before.0,
        after.1 - before.1
    );
    assert!(
        after.0 - before.0 >= 50,
        "the echo requests did not take the blocked link: {before:?} -> {after:?}"
    );
    assert!(
        after.1 - before.1 < 10,
        "the echo requests went the tree's way: {before:?} -> {after:?}"
    );
    // Across the standard bridges: s3 -> s4 (kernel) -> s5 (OVS) -> s0.
    let out = ring.hosts[3].run(&format!("ping -c 20 -i 0.01 -W 1 {}", ring::host_ip(5)));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "h3 -> h5: {text}");
    assert!(!text.contains("DUP!"), "duplicates (a loop): {text}");

    // Root to a Satellite.
    ring.set_priority(2, 0);
    let (c, t) = converge(&ring, Duration::from_secs(90));
    println!(
        "mixed ring: root moved to satellite s2 in {t:?}: root {} blocked {:?}\n{}",
        c.root_id,
        c.blocked,
        ring.describe()
    );
    assert_eq!(c.root_id, ring::bridge_id(2, 0));
    check_root_everywhere(&ring, &c);
    assert_all_ping(&ring);
    assert!(ring.alive(), "a daemon died\n{}", ring.logs());
}

/// Splits tcpdump -vvv text output into packets (a packet starts with a
/// timestamp line).
fn packets(text: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for line in text.lines() {
        if line.starts_with(|c: char| c.is_ascii_digit()) {
            out.push(line.to_string());
        } else if let Some(last) = out.last_mut() {
            last.push('\n');
            last.push_str(line);
        }
    }
    out
}

fn bad_decode(p: &str) -> bool {
    let l = p.to_lowercase();
    [
        "malformed",
        "truncated",
        "[|stp]",
        "invalid",
        "unknown",
        "bogus",
    ]
    .iter()
    .any(|w| l.contains(w))
}

fn has_tc_flag(p: &str) -> bool {
    // "Flags [Learn, Forward, Topology change]"; "Topology change ACK" alone
    // does not count.
    p.find("Flags [")
        .map(|i| &p[i..p[i..].find(']').map(|j| i + j).unwrap_or(p.len())])
        .is_some_and(|f| f.split([',', '[']).any(|x| x.trim() == "Topology change"))
}

/// tcpdump decodes every BPDU satellited sends: RST BPDUs between two
/// satellited, STP config BPDUs toward a kernel bridge; a topology change
/// (a link down and up) shows its flag in both.
#[test]
fn tcpdump_decodes_our_bpdus() {
    require_root!();
    let mut ring = Ring::new(RingSpec::mixed(vec![
        Kind::Satellite,
        Kind::Satellite,
        Kind::Kernel,
        Kind::Kernel,
    ]));
    ring.wait_started();
    let (c, _) = converge(&ring, Duration::from_secs(60));
    println!(
        "tcpdump: converged: root {} blocked {:?}\n{}",
        c.root_id,
        c.blocked,
        ring.describe()
    );
    let tcpdump = std::path::Path::new("/usr/bin/tcpdump");
    // Link 0: s0 r0 <-> s1 l1 (satellited both ends, RSTP).
    // Link 1: s1 r1 <-> s2 l2 (satellited toward a kernel bridge, STP).
    // Capture both ends of each link: the AF_PACKET PMD sends with
    // PACKET_QDISC_BYPASS, so a switch's own BPDUs show only on the peer.
    let caps: Vec<Proc> = [(0, "r0"), (1, "l1"), (1, "r1"), (2, "l2")]
        .iter()
        .map(|&(i, ifc)| {
            ring.sw[i].spawn(
                tcpdump,
                &["-l", "-e", "-vvv", "-n", "-i", ifc, "stp"],
                &ring.scratch.join(&format!("cap-s{i}-{ifc}.txt")),
            )
        })
        .collect();
    std::thread::sleep(Duration::from_secs(4));
    // A topology change: the link s3-s0 down, then up.
    ring.link_down(3);
    let _ = ring.wait_converged(1, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(3));
    ring.link_up(3);
    let (c2, _) = converge(&ring, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(3));
    let stp_json: serde_json::Value =
        serde_json::from_str(&ring.satctl(1, "show stp --json")).unwrap();
    let texts: Vec<String> = caps
        .into_iter()
        .map(|mut c| {
            c.stop();
            c.log_text()
        })
        .collect();
    println!(
        "tcpdump: after link down/up: root {} blocked {:?}",
        c2.root_id, c2.blocked
    );
    let text_rstp = format!("{}{}", texts[0], texts[1]);
    let text_stp = format!("{}{}", texts[2], texts[3]);
    let check = |what: &str, text: &str, ours: &[&str], want: &str| {
        let pk = packets(text);
        let from_us: Vec<&String> = pk
            .iter()
            .filter(|p| ours.iter().any(|m| p.contains(m)))
            .collect();
        let bad: Vec<&String> = pk.iter().filter(|p| bad_decode(p)).collect();
        let tc = from_us.iter().filter(|p| has_tc_flag(p)).count();
        let kind = from_us.iter().filter(|p| p.contains(want)).count();
        println!(
            "tcpdump {what}: {} packets, {} from satellited ({kind} of them {want}), {tc} with the Topology change flag, {} badly decoded",
            pk.len(),
            from_us.len(),
            bad.len()
        );
        assert!(
            bad.is_empty(),
            "{what}: packets tcpdump could not decode:\n{bad:#?}"
        );
        assert!(
            kind >= 3,
            "{what}: too few {want} BPDUs from satellited:\n{text}"
        );
        assert!(
            tc >= 1,
            "{what}: no BPDU from satellited with the Topology change flag:\n{text}"
        );
        if let Some(p) = from_us.iter().find(|p| has_tc_flag(p)) {
            println!("tcpdump {what}: example:\n{p}");
        }
    };
    // Satellite MACs of s0's r0 and s1's r1.
    check(
        "s0-s1 (RSTP)",
        &text_rstp,
        &[&ring::port_mac(0, 2), &ring::port_mac(1, 1)],
        "802.1w",
    );
    check(
        "s1-s2 (toward kernel STP)",
        &text_stp,
        &[&ring::port_mac(1, 2)],
        "802.1d",
    );
    let r1 = stp_json["ports"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == "r1").cloned())
        .unwrap_or_default();
    assert_eq!(r1["protocol"], "stp", "s1 r1 faces a kernel bridge: {r1}");
}
