//! The two spanning-tree enhancements of SSTP, in the simulator: after a
//! root failure no bridge keeps the dead root's information once SPF has
//! run (no count-to-infinity), where plain RSTP counts to infinity.

use satellite_protocol::sim::gen;
use satellite_protocol::sim::Network;
use std::time::Duration;

/// Builds a generated topology with default RSTP timers, converged.
fn converged(dims: &[usize], sstp: bool) -> Network {
    let mut sc = gen::torus(dims, 0.0);
    sc.sstp = sstp;
    sc.latency_ms = 0.05;
    for b in &mut sc.bridges {
        b.max_age = 20;
        b.forward_delay = 15;
    }
    let mut net = sc.build().unwrap();
    net.run_for(Duration::from_secs(60));
    net.check_tree().expect("converged before the failure");
    net
}

/// Fails the root, then returns (when no live bridge held the dead root's
/// information on any port any more, when every live bridge agreed on one
/// new root), checking at every 1 ms step that no forwarding loop exists.
fn root_failure(net: &mut Network) -> (Duration, Duration) {
    // Bridge 0 has the lowest address: the root.
    let old_root = net.bridges[0].status().bridge_id;
    net.set_alive(0, false);
    let t0 = net.now;
    let step = Duration::from_millis(1);
    let mut forgotten = None;
    loop {
        net.run_for(step);
        net.check_loop_free().expect("no loop at any instant");
        let live = net.bridges.iter().filter(|b| b.alive);
        let holds_it = live.clone().any(|b| {
            let st = b.status();
            st.root_id == old_root
                || st
                    .ports
                    .iter()
                    .any(|p| p.enabled && p.designated_root == old_root)
        });
        if !holds_it && forgotten.is_none() {
            forgotten = Some(net.now - t0);
        }
        let roots: std::collections::BTreeSet<_> = live.map(|b| b.status().root_id).collect();
        if let (Some(f), 1, Ok(())) = (forgotten, roots.len(), net.check_tree()) {
            return (f, net.now - t0);
        }
        assert!(net.now - t0 < Duration::from_secs(60), "never settled");
    }
}

#[test]
fn root_failure_in_a_torus_forgets_the_root_at_once_with_sstp_and_counts_to_infinity_without() {
    let (gone, settled) = root_failure(&mut converged(&[4, 4], true));
    let (gone_rstp, settled_rstp) = root_failure(&mut converged(&[4, 4], false));
    eprintln!(
        "torus 4x4 root failure: dead root forgotten after {gone:?} with SSTP, \
         {gone_rstp:?} with RSTP alone; one root again after {settled:?} / {settled_rstp:?}"
    );
    assert!(gone <= Duration::from_millis(2), "{gone:?}");
    assert!(
        gone_rstp > Duration::from_secs(5),
        "{gone_rstp:?}: RSTP alone counts to infinity"
    );
    assert!(
        settled * 5 < settled_rstp,
        "{settled:?} vs {settled_rstp:?}"
    );
}

#[test]
fn root_failure_in_a_ring_of_eight_forgets_the_root_at_once_with_sstp() {
    let (gone, settled) = root_failure(&mut converged(&[8], true));
    eprintln!("ring 8 root failure with SSTP: forgotten after {gone:?}, settled after {settled:?}");
    assert!(gone <= Duration::from_millis(2), "{gone:?}");
}

/// Ring of 24 with default timers: the dead root is forgotten at once, but
/// the surviving 23-switch chain is longer than Max Age (20), so RSTP
/// cannot span it: the far end elects a root of its own. A finding to
/// report (`cargo test --release --test sstp_spanning_tree -- --ignored
/// --nocapture`), not a behaviour to keep: SSTP unicast does not depend on
/// the tree, and the Satellite domain's own flooding tree is a later stage.
#[test]
#[ignore]
fn ring_of_24_root_failure_with_default_timers() {
    let mut net = converged(&[24], true);
    let old_root = net.bridges[0].status().bridge_id;
    net.set_alive(0, false);
    let t0 = net.now;
    let mut forgotten = None;
    for _ in 0..60_000 {
        net.run_for(Duration::from_millis(1));
        let holds = net.bridges.iter().filter(|b| b.alive).any(|b| {
            let st = b.status();
            st.root_id == old_root
                || st
                    .ports
                    .iter()
                    .any(|p| p.enabled && p.designated_root == old_root)
        });
        if !holds && forgotten.is_none() {
            forgotten = Some(net.now - t0);
        }
    }
    let roots: std::collections::BTreeSet<_> = net
        .bridges
        .iter()
        .filter(|b| b.alive)
        .map(|b| b.status().root_id)
        .collect();
    eprintln!(
        "ring 24 root failure, default timers, SSTP on: dead root forgotten after {forgotten:?}; \
         after 60 s, {} roots: {roots:?}; loop-free: {:?}",
        roots.len(),
        net.check_loop_free()
    );
}
