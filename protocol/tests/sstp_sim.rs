//! SSTP in the simulator (`sim::fabric`): cold starts, failures and random
//! failure sequences, with the link state's invariants checked at every
//! event. The large runs (ring:1024, torus:32x32, torus3:10x10x10, 1,000
//! sequences) are `satellite-sim sstp` commands, reported in
//! `docs/sstp.md`, "Simulation".

use satellite_protocol::sim::fabric::{
    parse_script, random_failures, Fabric, FabricConfig, Failure, Shape, Topology,
};
use std::time::Duration;

/// Quiet for longer than the dead interval (3 × 10 ms), so a silent
/// failure has been found before the databases are compared.
const WINDOW: Duration = Duration::from_millis(50);
const LIMIT: Duration = Duration::from_secs(10);

fn converged(shape: &str, homes: usize) -> Fabric {
    let topo = Topology::new(&shape.parse::<Shape>().unwrap());
    let mut f = Fabric::new(
        topo,
        FabricConfig {
            homes_per_bridge: homes,
            ..FabricConfig::default()
        },
    );
    f.run_to_quiescence(WINDOW, LIMIT)
        .unwrap_or_else(|e| panic!("{shape}: {e}"));
    f
}

fn no_loops(f: &Fabric, what: &str) {
    assert!(
        f.check.violations == 0,
        "{what}: {} loops, first: {}",
        f.check.violations,
        f.violations
            .first()
            .map(|v| v.to_string())
            .unwrap_or_default()
    );
}

#[test]
fn cold_starts_converge_to_the_true_routes_without_a_loop() {
    for shape in ["ring:8", "ring:24", "torus:5x5", "random:30,3,7"] {
        let f = converged(shape, 0);
        f.check_converged()
            .unwrap_or_else(|e| panic!("{shape}: {e}"));
        no_loops(&f, shape);
        // Every switch knows every other, and SPF ran.
        let n = f.topo.len();
        for b in 0..n {
            let e = f.engine(b).unwrap();
            assert_eq!(e.routes().reachable_count(), n, "{shape}");
        }
        assert!(f.check.events_checked > 0);
        // Virtual time: a cold start of these converges within 50 ms.
        assert!(
            f.last_change < Duration::from_millis(50),
            "{shape}: {:?}",
            f.last_change
        );
    }
}

#[test]
fn every_single_failure_in_a_torus_is_loop_free_and_converges_correctly() {
    let base = converged("torus:5x5", 0);
    let mut cases: Vec<Failure> = (0..base.topo.links.len()).map(Failure::LinkDown).collect();
    cases.extend((0..base.topo.len()).map(Failure::BridgeDown));
    cases.extend((0..base.topo.links.len()).map(Failure::LinkSilent));
    for c in cases {
        let mut f = base.clone();
        let t0 = f.net.now;
        f.apply(c);
        let last = f.run_to_quiescence(WINDOW, LIMIT).unwrap();
        let what = c.describe(&f.topo);
        no_loops(&f, &what);
        f.check_converged()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        if let Failure::LinkDown(_) = c {
            // Carrier loss: FAIL notices, SPF at once, within a millisecond.
            assert!(
                last - t0 < Duration::from_millis(1),
                "{what}: {:?}",
                last - t0
            );
        }
    }
}

#[test]
fn random_failure_sequences_on_a_ring_converge_without_loops() {
    let base = converged("ring:24", 0);
    for seed in 0..40 {
        let mut f = base.clone();
        f.run_script(&random_failures(&f.topo, seed, 8));
        f.restore();
        f.run_to_quiescence(WINDOW, LIMIT).unwrap();
        no_loops(&f, &format!("sequence {seed}"));
        f.check_converged()
            .unwrap_or_else(|e| panic!("sequence {seed}: {e}"));
    }
}

#[test]
fn random_failure_sequences_on_a_torus_converge_correctly() {
    // Loop freedom is not asserted here: overlapping failures in a torus
    // do make transient micro-loops (see the next test and docs/sstp.md).
    let base = converged("torus:5x5", 0);
    for seed in 0..25 {
        let mut f = base.clone();
        f.run_script(&random_failures(&f.topo, seed, 8));
        f.restore();
        f.run_to_quiescence(WINDOW, LIMIT).unwrap();
        f.check_converged()
            .unwrap_or_else(|e| panic!("sequence {seed}: {e}"));
    }
}

/// The checker finds what it is there for: a switch that loses a
/// neighbour and comes back within a millisecond, while another link
/// flaps, leaves a torus with a transient four-switch loop (found by the
/// random sequences; kept here as a fixed script).
#[test]
fn the_loop_checker_finds_the_micro_loop_of_a_known_sequence() {
    let base = converged("torus:5x5", 0);
    let mut f = base.clone();
    let script = parse_script(
        "0us link down B2_4-B3_4\n11us link up B2_4-B3_4\n856us bridge down B4_4\n1483us bridge up B4_4\n",
        &f.topo,
    )
    .unwrap();
    f.run_script(&script);
    f.run_to_quiescence(WINDOW, LIMIT).unwrap();
    f.check_converged().unwrap();
    assert!(f.check.violations > 0, "the known micro-loop was not found");
    let v = &f.violations[0];
    assert!(
        v.cycle.len() >= 4 && v.cycle.first() == v.cycle.last(),
        "{v}"
    );
}

#[test]
fn the_engines_heap_does_not_grow_across_churn() {
    let mut f = converged("torus:3x3", 4);
    let before = (f.state_bytes(), f.heap_bytes());
    let seq = random_failures(&f.topo, 99, 2_000);
    f.run_script(&seq);
    f.restore();
    f.run_to_quiescence(WINDOW, LIMIT).unwrap();
    f.check_converged().unwrap();
    let after = (f.state_bytes(), f.heap_bytes());
    // The database and routes come back to exactly their size; SPF's
    // scratch keeps the capacity it once needed (so a recompute does not
    // allocate), which churn may raise a little but not without bound.
    assert!(
        after.0 <= before.0,
        "database and routes grew: {before:?} → {after:?}"
    );
    assert!(
        after.1 * 100 <= before.1 * 105,
        "heap grew: {before:?} → {after:?}"
    );
}

#[test]
fn the_database_and_routes_of_64_switches_with_64_hosts_each_fit_in_2_mib() {
    // The target is 32 MB per switch at 1,024 switches (satellite-sim sstp
    // torus:32x32 --homes 64); database and routes grow linearly with the
    // number of switches, so 1/16 of it here.
    let f = converged("torus:8x8", 64);
    let mut most = 0;
    for b in 0..f.topo.len() {
        let e = f.engine(b).unwrap();
        assert_eq!(e.lsdb().home_count(), 64 * 64);
        most = most.max(e.lsdb().heap_bytes() + e.routes().heap_bytes());
    }
    assert!(most <= 2 << 20, "{most} bytes");
}
