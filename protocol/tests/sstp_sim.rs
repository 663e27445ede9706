//! SSTP in the simulator (`sim::fabric`): cold starts, failures and random
//! failure sequences, with the link state's invariants checked at every
//! event. The large runs (ring:1024, torus:32x32, torus3:10x10x10, 1,000
//! sequences) are `satellite-sim sstp` commands, reported in
//! `docs/sstp.md`, "Simulation".

use satellite_protocol::sim::fabric::{
    random_failures, Fabric, FabricConfig, Failure, Shape, Topology,
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
fn random_failure_sequences_on_a_torus_converge_and_no_switch_forwards_a_frame_twice() {
    // Overlapping failures in a torus leave switches with different views
    // for milliseconds; the unicast tag's downhill test drops what would
    // have looped, so a frame may come back to a switch but is dropped
    // there (counted as a violation of the strict invariant, see
    // docs/sstp.md), never sent on again.
    let base = converged("torus:5x5", 0);
    for seed in 0..60 {
        let mut f = base.clone();
        f.run_script(&random_failures(&f.topo, seed, 8));
        f.restore();
        f.run_to_quiescence(WINDOW, LIMIT).unwrap();
        f.check_converged()
            .unwrap_or_else(|e| panic!("sequence {seed}: {e}"));
        assert_eq!(
            (f.check.forwarded_twice, f.check.endless),
            (0, 0),
            "sequence {seed}: {}",
            f.violations
                .iter()
                .find(|v| v.forwarded_twice)
                .map(|v| v.to_string())
                .unwrap_or_default()
        );
    }
}

/// The checker finds what it is there for: in a cold start of a 3-D torus,
/// with switches that route untagged, a switch whose SPF is still held
/// routes the long way round and the frame comes back to it (dropped
/// there, by the U-turn rule).
#[test]
fn the_checker_finds_a_frame_that_comes_back_to_a_switch() {
    let topo = Topology::new(&"torus3:4x4x4".parse::<Shape>().unwrap());
    let cfg = FabricConfig {
        unicast_tag: false,
        ..FabricConfig::default()
    };
    let mut f = Fabric::new(topo, cfg);
    f.run_to_quiescence(WINDOW, LIMIT).unwrap();
    f.check_converged().unwrap();
    assert!(f.check.violations > 0, "the known revisit was not found");
    let v = &f.violations[0];
    assert!(
        v.cycle.len() >= 4 && v.cycle.first() == v.cycle.last(),
        "{v}"
    );
}

/// The known micro-loop is gone, even without the tag. In a torus of
/// switches that route untagged, this sequence of overlapping failures
/// (`satellite-sim sstp torus:5x5 --random 300 --untagged`, sequence 74)
/// made a four-switch loop that sent frames round and round until the
/// views changed, while SPF ran after the hold for a neighbour's LSP.
/// Since news one hop away is routed at once, no switch sends a frame on
/// twice, untagged or tagged, and tagged nothing comes back at all. The
/// timing is pinned here (SPF holds backing off to 100 ms).
#[test]
fn the_known_micro_loop_is_gone_untagged_and_tagged() {
    let run = |unicast_tag: bool| {
        let topo = Topology::new(&"torus:5x5".parse::<Shape>().unwrap());
        let mut cfg = FabricConfig {
            unicast_tag,
            ..FabricConfig::default()
        };
        cfg.sstp.spf.max_hold = Duration::from_millis(100);
        let mut f = Fabric::new(topo, cfg);
        f.run_to_quiescence(WINDOW, LIMIT).unwrap();
        f.run_script(&random_failures(&f.topo, 1_000_003 + 74, 8));
        f.restore();
        f.run_to_quiescence(WINDOW, LIMIT).unwrap();
        f.check_converged().unwrap();
        f
    };
    let untagged = run(false);
    assert_eq!(
        untagged.check.forwarded_twice,
        0,
        "{}",
        untagged
            .violations
            .iter()
            .find(|v| v.forwarded_twice)
            .map(|v| v.to_string())
            .unwrap_or_default()
    );
    no_loops(&run(true), "torus:5x5 sequence 74, tagged");
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
    // The database and routes come back to their size but for the hash
    // tables (origins, MAC homes), which keep the capacity of their peak:
    // 224 B on one switch of nine with this seed since the RSTP timing
    // changed (2026-12-08), none with others, never more with more churn
    // (`satellite-sim sstp torus:3x3 --homes 4 --memory 20000`: equal).
    // SPF's scratch keeps the capacity it once needed (so a recompute
    // does not allocate), which churn may raise a little but not without
    // bound.
    assert!(
        after.0 * 100 <= before.0 * 101,
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
