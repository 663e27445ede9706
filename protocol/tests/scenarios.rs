//! Runs every scenario in `scenarios/` and fails on any failed expectation.
//! Also checks that generated rings and tori converge to the tree their
//! geometry predicts, and that runs are deterministic.

use satellite_protocol::sim::{gen, scenario::Scenario};
use std::path::PathBuf;

#[test]
fn every_scenario_file_passes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 15,
        "expected at least 15 scenarios, found {}",
        files.len()
    );
    let mut failed = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let s = Scenario::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(
            s.steps
                .iter()
                .any(|st| matches!(st, satellite_protocol::sim::scenario::Step::Expect(_))),
            "{}: a scenario without expectations tests nothing",
            f.display()
        );
        let r = s.run().unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for m in r.failures {
            failed.push(format!("{}: {m}", f.file_name().unwrap().to_string_lossy()));
        }
    }
    assert!(
        failed.is_empty(),
        "failed expectations:\n{}",
        failed.join("\n")
    );
}

#[test]
fn generated_topologies_converge_as_geometry_predicts() {
    for dims in [vec![8], vec![24], vec![5, 5], vec![4, 6], vec![3, 3, 3]] {
        let s = gen::torus(&dims, 60.0);
        let r = s.run().unwrap();
        assert!(r.failures.is_empty(), "{dims:?}: {:?}", r.failures);
        // Every bridge but the root has exactly one root port.
        let roots = r
            .bridges
            .iter()
            .filter(|b| b.status.root_port.is_none())
            .count();
        assert_eq!(roots, 1, "{dims:?}");
    }
}

#[test]
fn runs_are_deterministic() {
    let mut s = gen::torus(&[4, 4], 20.0);
    for l in &mut s.links {
        l.loss = 0.1;
    }
    let a = serde_json::to_string(&s.run().unwrap()).unwrap();
    let b = serde_json::to_string(&s.run().unwrap()).unwrap();
    assert_eq!(a, b);
    s.seed = 99;
    let c = serde_json::to_string(&s.run().unwrap()).unwrap();
    assert_ne!(a, c, "a different seed should change at least the counters");
}

#[test]
fn a_wrong_expectation_is_reported() {
    let mut s = gen::ring(4, 10.0);
    if let Some(satellite_protocol::sim::scenario::Step::Expect(e)) = s.steps.last_mut() {
        e.bridges.get_mut("B1").unwrap().root = Some("B2".into());
    }
    let r = s.run().unwrap();
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    assert!(
        r.failures[0].contains("B1: root is B0, expected B2"),
        "{:?}",
        r.failures
    );
}
