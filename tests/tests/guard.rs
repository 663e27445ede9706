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
