//! Failover in a ring of 8 satellited: a probe stream whose path crosses a
//! link that goes down and comes back, and a bystander stream that does not.
//!
//! Run: `cargo build --release --bins && cargo test --release -p satellite-e2e --test ring -- --nocapture`

use satellite_e2e::probe::Report;
use satellite_e2e::ring::{EventProbe, Kind, Ring, RingSpec};
use satellite_e2e::*;
use std::time::{Duration, Instant};

const STREAM: Duration = Duration::from_secs(7);
const EVENT_AT: Duration = Duration::from_secs(2);
/// Proposal and agreement repair a link failure in a few milliseconds;
/// an Agreement held back until the next 1 s tick (a transmit hold count
/// spent at start-up, which the first failure of a new ring used to hit)
/// costs up to a second.
const MAX_LINK_DOWN_OUTAGE_MS: f64 = 250.0;

/// Runs the affected stream (host a -> host b) and the bystander stream
/// (host c -> host d) around `event`, which happens EVENT_AT into them.
fn around(
    ring: &Ring,
    affected: (usize, usize),
    bystander: (usize, usize),
    tag: &str,
    event: impl FnOnce(),
) -> (Report, Report) {
    let probe = EventProbe {
        affected,
        bystander,
        rate: satellite_e2e::probe::lab_rate(),
        duration: STREAM,
        event_at: EVENT_AT,
    };
    probe.run(ring, tag, event)
}

fn recovered(r: &Report) -> bool {
    // The end datagrams and no lost tail: packets arrived after the event.
    r.end_seen && r.gaps.iter().all(|g| g.start + g.count < r.sent) && r.received > 0
}

fn median_range(xs: &[f64]) -> String {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    format!(
        "median {:.1} (range {:.1} .. {:.1}, {} runs)",
        v[v.len() / 2],
        v[0],
        v[v.len() - 1],
        v.len()
    )
}

#[test]
fn ring8_link_down_up_outage() {
    require_root!();
    let ring = {
        let mut r = Ring::new(RingSpec::uniform(Kind::Satellite, 8));
        r.wait_started();
        r
    };
    let (c, t) = ring
        .wait_converged(1, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", ring.describe(), ring.logs()));
    println!(
        "ring8: converged {t:?} after the daemons answered: root {} blocked {:?}\n{}",
        c.root_id,
        c.blocked,
        ring.describe()
    );
    // Warm the FDBs along both paths.
    assert!(ring.ping(1, 2) && ring.ping(5, 7), "{}", ring.logs());
    // Link 1 joins s1 and s2: host 1 -> host 2 crosses it; host 5 -> host 7
    // never does (s5-s6-s7 before and after).
    let affected = (1, 2);
    let bystander = (5, 7);
    let mut down = vec![];
    let mut up = vec![];
    for run in 0..3 {
        let drops = ring.all_drops();
        let (r, b) = around(&ring, affected, bystander, &format!("down{run}"), || {
            ring.link_down(1)
        });
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "ring8 run {run} link down: affected {}\n    gaps {:?}\n  bystander {}\n  \
             dropped by the switches meanwhile: {:?} (load {})",
            r.summary(),
            r.gaps,
            b.summary(),
            ring.drops_since(&drops),
            load.trim()
        );
        assert!(
            recovered(&r),
            "no traffic after the link went down: {r:?}\n{}\n{}",
            ring.describe(),
            ring.logs()
        );
        assert!(
            r.outage_ms < MAX_LINK_DOWN_OUTAGE_MS,
            "run {run}: link down outage {:.1} ms (at most {MAX_LINK_DOWN_OUTAGE_MS} ms expected)\n{}\n{}",
            r.outage_ms,
            ring.describe(),
            ring.logs()
        );
        // SSTP repairs where the failure is: nothing else is flushed, so
        // a flow that never crossed the link loses nothing, and nothing
        // is ever delivered twice.
        assert_eq!(
            b.lost,
            0,
            "run {run}: bystander lost on link down: {b:?}\n{}",
            ring.logs()
        );
        assert_eq!(
            r.duplicates + b.duplicates,
            0,
            "run {run}: duplicates on link down: {r:?} {b:?}"
        );
        down.push((r, b));
        let settled = ring.wait_converged(0, Duration::from_secs(30));
        println!(
            "ring8 run {run} after link down: {:?}",
            settled.as_ref().map(|x| &x.0.blocked)
        );

        let (r, b) = around(&ring, affected, bystander, &format!("up{run}"), || {
            ring.link_up(1)
        });
        println!(
            "ring8 run {run} link up: affected {}\n    gaps {:?}\n  bystander {}",
            r.summary(),
            r.gaps,
            b.summary()
        );
        assert!(
            recovered(&r),
            "no traffic after the link came back: {r:?}\n{}\n{}",
            ring.describe(),
            ring.logs()
        );
        // Failback waits for a two-way adjacency and synchronised
        // databases before the link carries unicast: nothing is lost.
        assert_eq!(
            r.lost,
            0,
            "run {run}: affected flow lost on link up: {r:?}\n{}",
            ring.logs()
        );
        assert_eq!(
            b.lost,
            0,
            "run {run}: bystander lost on link up: {b:?}\n{}",
            ring.logs()
        );
        assert_eq!(
            r.duplicates + b.duplicates,
            0,
            "run {run}: duplicates on link up: {r:?} {b:?}"
        );
        up.push((r, b));
        ring.wait_converged(1, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}\n{}\n{}", ring.describe(), ring.logs()));
    }
    let col = |v: &[(Report, Report)], f: fn(&(Report, Report)) -> f64| {
        median_range(&v.iter().map(f).collect::<Vec<_>>())
    };
    println!(
        "ring8 SUMMARY ({} pkt/s):",
        satellite_e2e::probe::lab_rate()
    );
    println!("  link down outage ms: {}", col(&down, |x| x.0.outage_ms));
    println!("  link down lost pkts: {}", col(&down, |x| x.0.lost as f64));
    println!("  link up   outage ms: {}", col(&up, |x| x.0.outage_ms));
    println!("  link up   lost pkts: {}", col(&up, |x| x.0.lost as f64));
    println!(
        "  reordered pkts (down / up): {} / {}",
        col(&down, |x| x.0.reordered as f64),
        col(&up, |x| x.0.reordered as f64)
    );
    println!(
        "  bystander lost pkts (down): {}",
        col(&down, |x| x.1.lost as f64)
    );
    println!(
        "  bystander lost pkts (up):   {}",
        col(&up, |x| x.1.lost as f64)
    );
}

/// The root moved by priority to s4 and back to s0, three times, with the
/// standard's default timers (Hello 2 s, Max Age 20 s, Forward Delay 15 s).
/// Moving it back retires a root whose old vector is still held round the
/// ring; RSTP engines that let it circulate (count to infinity) spend
/// TxHoldCount and leave designated ports discarding until the next tick.
/// Prints the outage of a flow across the ring (host 1 -> host 3) and of a
/// bystander (host 5 -> host 7) at every move; asserts that the expected
/// root wins and that neither flow loses or duplicates a probe: unicast
/// between Satellite hosts follows SSTP's routes, which a root move leaves
/// alone.
///
/// Run: `cargo build --release --bins && cargo test --release -p satellite-e2e --test ring ring8_root_moved_back -- --nocapture`
#[test]
fn ring8_root_moved_back_outage() {
    require_root!();
    let mut spec = RingSpec::uniform(Kind::Satellite, 8);
    (spec.hello_time, spec.max_age, spec.forward_delay) = (2, 20, 15);
    let mut ring = Ring::new(spec);
    ring.wait_started();
    ring.wait_converged(1, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", ring.describe(), ring.logs()));
    assert!(ring.ping(1, 3) && ring.ping(5, 7), "{}", ring.logs());
    let (affected, bystander) = ((1, 3), (5, 7));
    let mut rows: Vec<(String, Report, Report)> = vec![];
    for run in 0..3 {
        for (to, prio) in [(4usize, 4096u32), (0, 32768)] {
            let tag = format!("run{run}-to-s{to}");
            let (r, b) = around(&ring, affected, bystander, &tag, || {
                ring.satctl(4, &format!("set priority {prio}"));
            });
            ring.spec.priorities[4] = prio;
            println!(
                "{tag}: affected {}\n    gaps {:?}\n  bystander {}\n    gaps {:?}",
                r.summary(),
                r.gaps,
                b.summary(),
                b.gaps
            );
            assert!(
                recovered(&r) && recovered(&b),
                "{tag}: traffic did not resume: {r:?} {b:?}\n{}\n{}",
                ring.describe(),
                ring.logs()
            );
            // Unicast between Satellite hosts follows SSTP's routes, which
            // a new root does not change: a root move costs it nothing.
            assert_eq!(
                r.lost + b.lost,
                0,
                "{tag}: lost on a root move: {r:?} {b:?}\n{}",
                ring.logs()
            );
            assert_eq!(
                r.duplicates + b.duplicates,
                0,
                "{tag}: duplicates: {r:?} {b:?}"
            );
            let (c, _) = ring
                .wait_converged(1, Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{tag}: {e}\n{}\n{}", ring.describe(), ring.logs()));
            assert_eq!(
                c.root_id,
                satellite_e2e::ring::bridge_id(to, ring.spec.priorities[to])
            );
            rows.push((tag, r, b));
        }
    }
    println!(
        "ring8 root moves SUMMARY ({} pkt/s, default timers):",
        satellite_e2e::probe::lab_rate()
    );
    for (tag, r, b) in &rows {
        println!(
            "  {tag:<14} affected outage {:>7.1} ms lost {:>5}   bystander outage {:>7.1} ms lost {:>5}",
            r.outage_ms, r.lost, b.outage_ms, b.lost
        );
    }
}

/// The lab's SSTP timers: 10 ms hellos, `fabric::LAB_DEAD_COUNT` missed.
const HELLO_MS: f64 = 10.0;

/// A link that fails silently (carrier up, every frame dropped both ways)
/// and heals, three times, in a ring of 8. Nothing but the missing hellos
/// tells the switches: the affected flow's outage is bounded by the SSTP
/// dead time (hello × dead count) plus a millisecond (SSTP.md), and the
/// spanning tree, which would need three missed 2 s hellos, is not waited
/// for. A flow that never crossed the link loses nothing, and healing
/// loses nothing. (Measured: 77-82 ms, under the 100 ms dead time,
/// because the two ends go silent some 20 ms apart: the test attaches
/// one, then the other.)
#[test]
fn ring8_silent_link_failure_outage() {
    require_root!();
    let ring = Ring::start_converged(RingSpec::uniform(Kind::Satellite, 8), 1);
    assert!(ring.ping(1, 2) && ring.ping(5, 7), "{}", ring.logs());
    let dead_ms = HELLO_MS * satellite_e2e::fabric::LAB_DEAD_COUNT as f64;
    // The design's bound, and the one asserted on a loaded 2-core machine
    // (8 poll-mode daemons: a control lcore can be off the CPU for tens of
    // milliseconds).
    let target_ms = dead_ms + 1.0;
    let loaded_ms = dead_ms + 50.0;
    let mut outages = vec![];
    for run in 0..3 {
        let (r, b) = around(&ring, (1, 2), (5, 7), &format!("silent{run}"), || {
            ring.link_silent(1, true)
        });
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "ring8 run {run} silent failure: affected {}\n  bystander {} (load {})",
            r.summary(),
            b.summary(),
            load.trim()
        );
        assert!(
            recovered(&r),
            "no traffic after the silent failure: {r:?}\n{}",
            ring.logs()
        );
        assert!(
            r.outage_ms <= loaded_ms,
            "run {run}: outage {:.1} ms, dead time {dead_ms} ms\n{}",
            r.outage_ms,
            ring.logs()
        );
        assert_eq!(b.lost, 0, "run {run}: bystander lost: {b:?}");
        assert_eq!(
            r.duplicates + b.duplicates,
            0,
            "run {run}: duplicates: {r:?} {b:?}"
        );
        outages.push(r.outage_ms);

        let (r, b) = around(&ring, (1, 2), (5, 7), &format!("heal{run}"), || {
            ring.link_silent(1, false)
        });
        println!(
            "ring8 run {run} heal: affected {}\n  bystander {}",
            r.summary(),
            b.summary()
        );
        assert_eq!(
            r.lost + b.lost,
            0,
            "run {run}: lost on healing: {r:?} {b:?}"
        );
        assert_eq!(
            r.duplicates + b.duplicates,
            0,
            "run {run}: duplicates: {r:?} {b:?}"
        );
        ring.wait_converged(1, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}\n{}\n{}", ring.describe(), ring.logs()));
    }
    println!(
        "ring8 SUMMARY silent failure outage ms: {} (target {target_ms} ms)",
        median_range(&outages)
    );
}

/// A switch fails (every link of s2 loses carrier, as when a server loses
/// power) and returns, three times, in a ring of 8: host 1 -> host 3
/// crossed s2 and is repaired the other way round the ring; host 5 ->
/// host 7 never came near it and loses nothing, either way; the return
/// loses nothing (a link carries unicast only once its adjacency is two
/// way and the databases agree).
#[test]
fn ring8_switch_down_up_outage() {
    require_root!();
    let ring = Ring::start_converged(RingSpec::uniform(Kind::Satellite, 8), 1);
    assert!(ring.ping(1, 3) && ring.ping(5, 7), "{}", ring.logs());
    let mut down = vec![];
    for run in 0..3 {
        let drops = ring.all_drops();
        let (r, b) = around(&ring, (1, 3), (5, 7), &format!("sdown{run}"), || {
            ring.switch_down(2)
        });
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "ring8 run {run} switch s2 down: affected {}\n  bystander {}\n  \
             dropped by the switches meanwhile: {:?} (load {})",
            r.summary(),
            b.summary(),
            ring.drops_since(&drops),
            load.trim()
        );
        assert!(
            recovered(&r),
            "no traffic after s2 failed: {r:?}\n{}",
            ring.logs()
        );
        assert!(
            r.outage_ms < MAX_LINK_DOWN_OUTAGE_MS,
            "run {run}: outage {:.1} ms\n{}",
            r.outage_ms,
            ring.logs()
        );
        assert_eq!(b.lost, 0, "run {run}: bystander lost: {b:?}");
        assert_eq!(
            r.duplicates + b.duplicates,
            0,
            "run {run}: duplicates: {r:?} {b:?}"
        );
        down.push(r.outage_ms);
        // The rest of the ring settles without s2 (a line of 7: nothing blocked).
        let _ = ring.wait_converged(0, Duration::from_secs(30));

        let (r, b) = around(&ring, (1, 3), (5, 7), &format!("sup{run}"), || {
            ring.switch_up(2)
        });
        println!(
            "ring8 run {run} switch s2 up: affected {}\n  bystander {}",
            r.summary(),
            b.summary()
        );
        if r.lost + b.lost > 0 {
            // What the switches on the flow's paths counted, for the
            // failure report (drops by reason, SSTP state).
            for i in 0..4 {
                eprintln!(
                    "s{i} after the loss: {}",
                    ring.satctl(i, "show stats --json")
                );
            }
        }
        assert_eq!(
            r.lost + b.lost,
            0,
            "run {run}: lost on the return: {r:?} {b:?}"
        );
        assert_eq!(
            r.duplicates + b.duplicates,
            0,
            "run {run}: duplicates: {r:?} {b:?}"
        );
        ring.wait_converged(1, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}\n{}\n{}", ring.describe(), ring.logs()));
    }
    println!(
        "ring8 SUMMARY switch down outage ms: {}",
        median_range(&down)
    );
}

/// The root fails (every link of s0 loses carrier) and returns, three
/// times, in a ring of 8. Host 7 -> host 1 crosses s0 (2 hops, 6 the other
/// way round) and is repaired like any switch failure; host 3 -> host 5
/// never crosses it and loses nothing while the spanning tree elects a new
/// root, and nothing when the old root takes its place back: unicast
/// between Satellite hosts follows SSTP's routes, and a topology change
/// flushes no MAC home (SSTP.md, "no network-wide flush"). Under RSTP
/// alone a root failure cost 38-42 ms and bystanders lost probes.
#[test]
fn ring8_root_down_up_outage() {
    require_root!();
    let ring = Ring::start_converged(RingSpec::uniform(Kind::Satellite, 8), 1);
    let old_root = ring.expected_root();
    assert_eq!(old_root, ring.expected_id(0));
    // The next lowest bridge ID takes over while s0 is down.
    let next_root = (1..8).map(|i| ring.expected_id(i)).min().unwrap();
    assert!(ring.ping(7, 1) && ring.ping(3, 5), "{}", ring.logs());
    let (affected, bystander) = ((7, 1), (3, 5));
    let mut down = vec![];
    let mut elected = vec![];
    for run in 0..3 {
        let drops = ring.all_drops();
        let (r, b) = around(&ring, affected, bystander, &format!("rdown{run}"), || {
            ring.switch_down(0)
        });
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "ring8 run {run} root s0 down: affected {}\n    gaps {:?}\n  bystander {}\n  \
             dropped by the switches meanwhile: {:?} (load {})",
            r.summary(),
            r.gaps,
            b.summary(),
            ring.drops_since(&drops),
            load.trim()
        );
        assert!(
            recovered(&r),
            "no traffic after the root failed: {r:?}\n{}",
            ring.logs()
        );
        assert!(
            r.outage_ms < MAX_LINK_DOWN_OUTAGE_MS,
            "run {run}: outage {:.1} ms\n{}",
            r.outage_ms,
            ring.logs()
        );
        assert_eq!(
            b.lost, 0,
            "run {run}: bystander lost on the root failure: {b:?}"
        );
        assert_eq!(
            r.duplicates + b.duplicates,
            0,
            "run {run}: duplicates: {r:?} {b:?}"
        );
        down.push(r.outage_ms);
        // The survivors agree on the next root (the stream ran 5 s past
        // the failure, so this measures nothing but that they did).
        let t0 = Instant::now();
        let agreed = wait_until(Duration::from_secs(30), || {
            (1..8).all(|i| ring.view(i).is_ok_and(|v| v.root_id == next_root))
        });
        assert!(agreed, "run {run}: no new root\n{}", ring.describe());
        elected.push(t0.elapsed());

        let (r, b) = around(&ring, affected, bystander, &format!("rup{run}"), || {
            ring.switch_up(0)
        });
        println!(
            "ring8 run {run} root s0 back: affected {}\n  bystander {}",
            r.summary(),
            b.summary()
        );
        assert_eq!(
            r.lost + b.lost,
            0,
            "run {run}: lost on the root's return: {r:?} {b:?}\n{}",
            ring.logs()
        );
        assert_eq!(
            r.duplicates + b.duplicates,
            0,
            "run {run}: duplicates: {r:?} {b:?}"
        );
        let (c, _) = ring
            .wait_converged(1, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}\n{}\n{}", ring.describe(), ring.logs()));
        assert_eq!(c.root_id, old_root);
    }
    println!(
        "ring8 SUMMARY root down outage ms: {}; survivors named the new root {:?} after the streams",
        median_range(&down),
        elected
    );
}

/// A ring of 24 through every event: a link fails and returns, a switch
/// fails and returns, the root fails and returns. After a link fails, the
/// ring is a line of 24 whose far end is 23 hops from the root, past
/// RSTP's Max Age (20), so the spanning tree alone splits it for good
/// (`protocol/tests`, the ignored ring-24 test); the root's failure leaves
/// a line of 23, 22 hops from the new root, split too. Unicast between
/// Satellite hosts follows SSTP's routes, not the tree: each flow across
/// the failed element is repaired, the bystander loses nothing, returns
/// lose nothing, and long after RSTP has given up on the far end unicast
/// still flows.
#[test]
fn ring24_every_event_unicast_survives_the_tree_limit() {
    require_root!();
    let ring = {
        // The standard's timers (the labs' 1/6/4 s would not reach round
        // even the whole ring: 12 hops from the root is past Max Age 6).
        let mut spec = RingSpec::uniform(Kind::Satellite, 24);
        (spec.hello_time, spec.max_age, spec.forward_delay) = (2, 20, 15);
        let mut r = Ring::new(spec);
        r.wait_started();
        r
    };
    ring.wait_converged(1, Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", ring.describe(), ring.logs()));
    assert!(
        ring.ping(0, 1) && ring.ping(12, 13) && ring.ping(11, 13) && ring.ping(23, 1),
        "{}",
        ring.logs()
    );
    // (name, affected, bystander, event, a failure or a return)
    type Event<'a> = (
        &'a str,
        (usize, usize),
        (usize, usize),
        Box<dyn Fn() + 'a>,
        bool,
    );
    let events: Vec<Event> = vec![
        (
            "link s0-s1 down",
            (0, 1),
            (12, 13),
            Box::new(|| ring.link_down(0)),
            true,
        ),
        (
            "link s0-s1 up",
            (0, 1),
            (12, 13),
            Box::new(|| ring.link_up(0)),
            false,
        ),
        (
            "switch s12 down",
            (11, 13),
            (0, 1),
            Box::new(|| ring.switch_down(12)),
            true,
        ),
        (
            "switch s12 up",
            (11, 13),
            (0, 1),
            Box::new(|| ring.switch_up(12)),
            false,
        ),
        (
            "root s0 down",
            (23, 1),
            (12, 13),
            Box::new(|| ring.switch_down(0)),
            true,
        ),
        (
            "root s0 up",
            (23, 1),
            (12, 13),
            Box::new(|| ring.switch_up(0)),
            false,
        ),
    ];
    let mut rows = vec![];
    for (k, (name, affected, bystander, event, failure)) in events.into_iter().enumerate() {
        let (r, b) = around(&ring, affected, bystander, &format!("r24-{k}"), event);
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "ring24 {name}: affected {}\n    gaps {:?}\n  bystander {} (load {})",
            r.summary(),
            r.gaps,
            b.summary(),
            load.trim()
        );
        assert!(recovered(&r), "{name}: no traffic after it: {r:?}");
        assert_eq!(b.lost, 0, "{name}: bystander lost: {b:?}");
        assert_eq!(
            r.duplicates + b.duplicates,
            0,
            "{name}: duplicates: {r:?} {b:?}"
        );
        if failure {
            assert!(
                r.outage_ms < MAX_LINK_DOWN_OUTAGE_MS,
                "{name}: outage {:.1} ms",
                r.outage_ms
            );
        } else {
            assert_eq!(r.lost, 0, "{name}: lost on a return: {r:?}");
        }
        rows.push((name, r, b, load));
        if name == "root s0 down" {
            // Long after RSTP has given up on the far end of the line of
            // 23, unicast still flows along all of it.
            std::thread::sleep(Duration::from_secs(25));
            assert!(
                ring.ping(23, 1) && ring.ping(1, 12) && ring.ping(12, 23),
                "unicast across the split tree failed\n{}",
                ring.describe()
            );
        }
    }
    println!(
        "ring24 SUMMARY ({} pkt/s, standard timers):",
        satellite_e2e::probe::lab_rate()
    );
    for (name, r, b, load) in &rows {
        println!(
            "  {name:<16} affected outage {:>7.1} ms lost {:>4}   bystander lost {:>4}   load {}",
            r.outage_ms,
            r.lost,
            b.lost,
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}

/// `kill -9` of s2's satellited in a ring of 8, three times (issue 16,
/// item 5): its links keep carrier, so s1 and s3 learn of it only from
/// missed HELLOs (the SSTP dead time) and repair host 1 -> host 3 the other
/// way round; host 5 -> host 7 loses nothing; no probe is duplicated (no
/// loop). The daemon is started again with the same configuration: it
/// rejoins without a loop, and neither stream loses a probe (its links
/// carry unicast only once their adjacencies are two way and synced).
#[test]
fn ring8_daemon_killed_and_restarted() {
    require_root!();
    let mut ring = Ring::start_converged(RingSpec::uniform(Kind::Satellite, 8), 1);
    assert!(ring.ping(1, 3) && ring.ping(5, 7), "{}", ring.logs());
    let dead_ms = HELLO_MS * satellite_e2e::fabric::LAB_DEAD_COUNT as f64;
    let loaded_ms = dead_ms + 50.0;
    let mut outages = vec![];
    for run in 0..3 {
        // Host 1 -> host 3 crosses s2 (2 hops, 6 the other way round): the
        // restarted daemon's links carry unicast again.
        let via_s2 = Instant::now();
        assert!(
            wait_until(Duration::from_secs(20), || ring.sstp_next_hops(1, 3)
                == ["r1"]),
            "run {run}: s1 does not route to s3 through s2: {:?}\n{}",
            ring.sstp_next_hops(1, 3),
            ring.logs()
        );
        println!(
            "ring8 run {run}: s1 routes to s3 through s2 ({} ms of waiting)",
            via_s2.elapsed().as_millis()
        );
        let (r, b) = around(&ring, (1, 3), (5, 7), &format!("kill{run}"), || {
            ring.kill_switch(2)
        });
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "ring8 run {run} kill -9 s2: affected {}\n  bystander {} (load {})",
            r.summary(),
            b.summary(),
            load.trim()
        );
        assert!(
            recovered(&r),
            "no traffic after s2 was killed: {r:?}\n{}",
            ring.logs()
        );
        assert!(
            r.outage_ms <= loaded_ms,
            "run {run}: outage {:.1} ms, dead time {dead_ms} ms\n{}",
            r.outage_ms,
            ring.logs()
        );
        assert_eq!(b.lost, 0, "run {run}: bystander lost: {b:?}");
        assert_eq!(
            r.duplicates + b.duplicates,
            0,
            "run {run}: duplicates: {r:?} {b:?}"
        );
        outages.push(r.outage_ms);

        let restarted = std::cell::Cell::new(None);
        let (r, b) = around(&ring, (1, 3), (5, 7), &format!("restart{run}"), || {
            restarted.set(Some(
                ring.respawn_switch(2, &format!("s2-restart{run}.log")),
            ))
        });
        ring.replace_process(2, restarted.take().expect("respawned"));
        println!(
            "ring8 run {run} s2 restarted: affected {}\n  bystander {}",
            r.summary(),
            b.summary()
        );
        assert_eq!(
            r.lost + b.lost,
            0,
            "run {run}: lost on the restart: {r:?} {b:?}\n{}",
            ring.logs()
        );
        assert_eq!(
            r.duplicates + b.duplicates,
            0,
            "run {run}: duplicates: {r:?} {b:?}"
        );
        ring.wait_started();
        ring.wait_converged(1, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}\n{}\n{}", ring.describe(), ring.logs()));
    }
    println!(
        "ring8 SUMMARY kill -9 outage ms: {} (dead time {dead_ms} ms)",
        median_range(&outages)
    );
}
