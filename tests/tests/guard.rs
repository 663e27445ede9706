//! Root guard (802.1Q restrictedRole) against a real kernel bridge.
//!
//! Run: `cargo build --release --bins && cargo test --release -p satellite-e2e --test guard -- --nocapture`

use satellite_e2e::ring::{Kind, Ring, RingSpec};
use satellite_e2e::*;
use std::time::{Duration, Instant};

/// (role, state, root_inconsistent) of switch 0's ring ports, and its
/// root and own bridge IDs.
fn guarded(ring: &Ring) -> (Vec<(String, String, bool)>, String, String) {
    let v: serde_json::Value =
        serde_json::from_str(&ring.satctl(0, "show stp --json")).expect("stp json");
    let ports = v["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "l0" || p["name"] == "r0")
        .map(|p| {
            (
                p["role"].as_str().unwrap_or("?").to_lowercase(),
                p["state"].as_str().unwrap_or("?").to_lowercase(),
                p["root_inconsistent"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    (ports, v["root_id"].to_string(), v["bridge_id"].to_string())
}

/// A Satellite switch whose two ports to a kernel bridge have root guard:
/// the kernel bridge claims the root with a better priority, and neither
/// port becomes Root Port — both are held alternate and discarding ("root
/// inconsistent"), logged, and the switch stays its own root. When the
/// kernel bridge gives up the claim (its priority made worse), the ports
/// take their roles again by themselves.
#[test]
fn root_guard_holds_ports_that_hear_a_better_root_and_frees_them_when_it_goes() {
    require_root!();
    let mut spec = RingSpec::mixed(vec![Kind::Satellite, Kind::Kernel]);
    spec.priorities = vec![32768, 4096];
    spec.sat_ring_port_extra = "root_guard = true\n".into();
    let mut ring = Ring::new(spec);
    ring.wait_started();

    let held = |g: &(Vec<(String, String, bool)>, String, String)| {
        g.0.len() == 2
            && g.0
                .iter()
                .all(|(role, state, inc)| role == "alternate" && state == "discarding" && *inc)
    };
    let t0 = Instant::now();
    let ok = wait_until(Duration::from_secs(30), || held(&guarded(&ring)));
    let g = guarded(&ring);
    assert!(
        ok,
        "root guard did not hold both ports: {g:?}\n{}",
        ring.logs()
    );
    assert_eq!(g.1, g.2, "the switch stays its own root: {g:?}");
    println!(
        "root guard held both ports {} ms after start: {g:?}",
        t0.elapsed().as_millis()
    );
    let log = ring.sats[0].as_ref().unwrap().log_text();
    assert!(log.contains("root guard: a superior BPDU"), "{log}");

    // The kernel bridge's claim becomes inferior: the ports come back.
    ring.set_priority(1, 61440);
    let t1 = Instant::now();
    let ok = wait_until(Duration::from_secs(30), || {
        let g = guarded(&ring);
        g.0.len() == 2
            && g.0
                .iter()
                .all(|(role, _, inc)| role == "designated" && !inc)
            && g.0.iter().all(|(_, state, _)| state == "forwarding")
    });
    let g = guarded(&ring);
    assert!(ok, "the ports did not come back: {g:?}\n{}", ring.logs());
    println!(
        "ports back {} ms after the kernel bridge's priority went to 61440: {g:?}",
        t1.elapsed().as_millis()
    );
    let log = ring.sats[0].as_ref().unwrap().log_text();
    assert!(
        log.contains("root guard: the superior information is gone"),
        "{log}"
    );
}

/// (admin_up, bpdu_guard_trips) of switch i's port.
fn guard_state(ring: &Ring, i: usize, port: &str) -> (bool, u64) {
    let p = ring.port_stats(i, port);
    (
        p["admin_up"].as_bool().unwrap_or(false),
        p["bpdu_guard_trips"].as_u64().unwrap_or(0),
    )
}

/// A loop at the edge: the host ports of s0 and s1 (ring of 4) are joined
/// by a Linux bridge in a host namespace (STP off, so it passes BPDUs on).
/// Each switch's BPDUs reach the other's host port and BPDU guard takes
/// the port down (logged, counted); held ports come back by themselves
/// after `stp.bpdu_guard_recovery` (3 s here) and trip again while the
/// loop lasts; once the loop is gone they come back and stay. A probe
/// stream between the other two switches loses nothing.
#[test]
fn a_loop_through_a_host_bridge_trips_bpdu_guard_until_it_is_gone() {
    require_root!();
    let mut spec = RingSpec::uniform(Kind::Satellite, 4);
    spec.sat_stp_extra = "bpdu_guard_recovery = 3\n".into();
    let ring = Ring::start_converged(spec, 1);
    assert!(ring.ping(2, 3), "{}", ring.logs());
    let probe = satellite_e2e::ring::EventProbe {
        affected: (2, 3),
        bystander: (3, 2),
        rate: 1000,
        duration: Duration::from_secs(8),
        event_at: Duration::from_secs(2),
    };
    let h0 = ring.hosts[0].name.clone();
    let (a, b) = probe.run(&ring, "edge-loop", || {
        ring.hosts[1].sh(&format!(
            "ip link set eth0 down; ip link set eth0 name loop1; ip link set loop1 netns {h0}"
        ));
        ring.hosts[0].sh(
            "ip link add br0 type bridge stp_state 0 && ip link set eth0 master br0 && \
             ip link set loop1 master br0 && ip link set loop1 up && ip link set br0 up",
        );
    });
    let trips = guard_state(&ring, 0, "h0").1 + guard_state(&ring, 1, "h1").1;
    println!(
        "edge loop for 6 s: {trips} BPDU guard trips\n  2->3 {}\n  3->2 {}",
        a.summary(),
        b.summary()
    );
    assert!(
        trips >= 2,
        "BPDU guard tripped and tripped again: {trips}\n{}",
        ring.logs()
    );
    if a.lost + b.lost + a.duplicates + b.duplicates > 0 {
        // Whether the loop made a probe host's MAC look moved (SSTP move
        // sequences, docs/sstp.md): each switch's moves away and homes.
        for i in 0..4 {
            let s = ring.satctl(i, "show stats --json");
            let v: serde_json::Value = serde_json::from_str(&s).unwrap_or_default();
            eprintln!(
                "s{i}: mac_moves_away {} mac_duplicates {} mac_homes_local {}",
                v["sstp"]["mac_moves_away"],
                v["sstp"]["mac_duplicates"],
                v["sstp"]["mac_homes_local"]
            );
        }
    }
    assert_eq!(a.lost + b.lost, 0, "probes lost: {a:?} {b:?}");
    assert_eq!(a.duplicates + b.duplicates, 0, "duplicates: {a:?} {b:?}");

    // The loop goes; within one hold both ports are back, and they stay.
    ring.hosts[0].sh("ip link del br0");
    let t = Instant::now();
    let back = wait_until(Duration::from_secs(10), || {
        guard_state(&ring, 0, "h0").0 && guard_state(&ring, 1, "h1").0
    });
    assert!(back, "ports not back after the loop went\n{}", ring.logs());
    println!(
        "both ports back {} ms after the loop went",
        t.elapsed().as_millis()
    );
    let trips = guard_state(&ring, 0, "h0").1 + guard_state(&ring, 1, "h1").1;
    std::thread::sleep(Duration::from_secs(4));
    assert!(guard_state(&ring, 0, "h0").0 && guard_state(&ring, 1, "h1").0);
    assert_eq!(
        guard_state(&ring, 0, "h0").1 + guard_state(&ring, 1, "h1").1,
        trips,
        "no trip once the loop is gone"
    );
    let logs = ring.logs();
    assert!(logs.contains("port enabled again after its hold"), "{logs}");
}
