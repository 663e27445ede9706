//! A 4 × 4 torus of satellited through every event of the SSTP data path
//! (issue 14's labs): a link fails and returns, a switch fails and returns,
//! the root moves by priority and back, the root fails and returns. Probe
//! streams at 1,000 datagrams/s run across each event: flows that may
//! cross the failed element, and bystanders that cannot (each between two
//! neighbouring switches, whose only shortest path is their own link).
//!
//! In a 4 × 4 torus every pair two hops apart has two shortest paths, so a
//! flow "across" a failed switch is one whose flow hash may pick it: the
//! lab runs four such flows and reports which of them lost anything.
//!
//! Run: `cargo build --release --bins && cargo test --release -p satellite-e2e --test torus -- --nocapture`

use satellite_e2e::fabric::{host_ip, Fabric, Topology};
use satellite_e2e::probe::{Report, Stream};
use satellite_e2e::{require_root, wait_until};
use std::time::Duration;

const STREAM: Duration = Duration::from_secs(7);
const EVENT_AT: Duration = Duration::from_secs(2);
/// Repair is a few milliseconds; this bound only catches a flow that
/// waited for something slow (a dead timer, a spanning-tree timer).
const MAX_FAILURE_OUTAGE_MS: f64 = 250.0;

/// The root every switch in `among` names (`show stp`), when they agree.
fn agreed_root(f: &Fabric, among: impl Iterator<Item = usize>) -> Option<String> {
    let roots: std::collections::BTreeSet<String> = among.map(|i| f.stp_root(i, "").0).collect();
    (roots.len() == 1).then(|| roots.into_iter().next().unwrap())
}

/// Switch `i`'s own bridge ID as `show stp` writes the root's.
fn bridge_id(f: &Fabric, i: usize) -> String {
    let v = f.json(i, "show stp");
    v["bridge_id"]
        .as_str()
        .unwrap_or("")
        .replace([':', '-'], "")
}

/// Runs one probe stream per flow, performs `event` EVENT_AT into them,
/// and returns the receivers' reports in the order of `flows`.
fn around(f: &Fabric, flows: &[(usize, usize)], tag: &str, event: impl FnOnce()) -> Vec<Report> {
    let streams: Vec<Stream> = flows
        .iter()
        .enumerate()
        .map(|(k, &(a, b))| {
            Stream::start(
                &f.hosts[a],
                &f.hosts[b],
                format!("{}:{}", host_ip(b), 5001 + k)
                    .parse()
                    .expect("address"),
                satellite_e2e::probe::lab_rate(),
                STREAM,
                &f.scratch.join(&format!("{tag}-{a}-{b}")),
            )
        })
        .collect();
    std::thread::sleep(EVENT_AT);
    event();
    streams.into_iter().map(Stream::finish).collect()
}

fn recovered(r: &Report) -> bool {
    r.end_seen && r.gaps.iter().all(|g| g.start + g.count < r.sent) && r.received > 0
}

/// What one event must show.
enum Expect {
    /// A failure: the flows that may cross it recover within the bound;
    /// the bystanders lose nothing.
    Failure,
    /// A return or a root move: nothing lost anywhere.
    Lossless,
}

struct Event<'a> {
    name: &'a str,
    /// Flows that may cross the element (by the flow hash).
    crossing: Vec<(usize, usize)>,
    /// Flows that cannot cross it.
    bystanders: Vec<(usize, usize)>,
    expect: Expect,
    act: Box<dyn Fn() + 'a>,
    /// Switches that are running after it (for the root check).
    running: Vec<usize>,
}

#[test]
fn torus4x4_every_event_repairs_the_crossing_flows_and_costs_bystanders_nothing() {
    require_root!();
    let mut f = Fabric::new(Topology::torus(4, 4), "");
    let n = f.topo.n;
    assert!(
        wait_until(Duration::from_secs(60), || f.all_adjacencies_up()),
        "adjacencies did not all come up:\n{}",
        f.text(0, "show sstp")
    );
    f.announce_hosts();
    assert!(
        wait_until(Duration::from_secs(30), || f.all_homes_routed()),
        "not every switch routes every host"
    );
    let all: Vec<usize> = (0..n).collect();
    let root0 = wait_until(Duration::from_secs(60), || agreed_root(&f, 0..n).is_some())
        .then(|| agreed_root(&f, 0..n).unwrap())
        .expect("the switches never agreed on a root");
    let s0 = bridge_id(&f, 0);
    assert_eq!(root0, s0, "s0 has the lowest bridge ID");
    let link = |a: usize, b: usize| {
        f.topo
            .links
            .iter()
            .position(|&l| l == (a, b) || l == (b, a))
            .expect("a torus link")
    };
    let l56 = link(5, 6);
    let fref = &f;
    let events: Vec<Event> = vec![
        Event {
            name: "link s5-s6 down",
            crossing: vec![(5, 6), (6, 5)],
            bystanders: vec![(0, 1), (10, 11), (15, 12)],
            expect: Expect::Failure,
            act: Box::new(move || fref.link_down(l56)),
            running: all.clone(),
        },
        Event {
            name: "link s5-s6 up",
            crossing: vec![(5, 6), (6, 5)],
            bystanders: vec![(0, 1), (10, 11), (15, 12)],
            expect: Expect::Lossless,
            act: Box::new(move || fref.link_up(l56)),
            running: all.clone(),
        },
        Event {
            name: "switch s5 down",
            crossing: vec![(4, 6), (6, 4), (1, 9), (9, 1)],
            bystanders: vec![(0, 1), (10, 11), (15, 12)],
            expect: Expect::Failure,
            act: Box::new(move || fref.switch_down(5)),
            running: (0..n).filter(|&i| i != 5).collect(),
        },
        Event {
            name: "switch s5 up",
            crossing: vec![(4, 6), (6, 4), (1, 9), (9, 1)],
            bystanders: vec![(0, 1), (10, 11), (15, 12)],
            expect: Expect::Lossless,
            act: Box::new(move || fref.switch_up(5)),
            running: all.clone(),
        },
        Event {
            name: "root moved to s10",
            crossing: vec![(4, 6), (1, 9), (5, 6)],
            bystanders: vec![(0, 1), (10, 11), (15, 12)],
            expect: Expect::Lossless,
            act: Box::new(move || {
                fref.text(10, "set priority 4096");
            }),
            running: all.clone(),
        },
        Event {
            name: "root moved back to s0",
            crossing: vec![(4, 6), (1, 9), (5, 6)],
            bystanders: vec![(0, 1), (10, 11), (15, 12)],
            expect: Expect::Lossless,
            act: Box::new(move || {
                fref.text(10, "set priority 32768");
            }),
            running: all.clone(),
        },
        Event {
            name: "root s0 down",
            crossing: vec![(1, 3), (3, 1), (4, 12), (12, 4)],
            bystanders: vec![(5, 6), (10, 11), (15, 14)],
            expect: Expect::Failure,
            act: Box::new(move || fref.switch_down(0)),
            running: (1..n).collect(),
        },
        Event {
            name: "root s0 up",
            crossing: vec![(1, 3), (3, 1), (4, 12), (12, 4)],
            bystanders: vec![(5, 6), (10, 11), (15, 14)],
            expect: Expect::Lossless,
            act: Box::new(move || fref.switch_up(0)),
            running: all.clone(),
        },
    ];
    let mut rows = vec![];
    for (k, ev) in events.into_iter().enumerate() {
        let flows: Vec<(usize, usize)> =
            ev.crossing.iter().chain(&ev.bystanders).copied().collect();
        let drops = fref.all_drops();
        let reports = around(fref, &flows, &format!("ev{k}"), &ev.act);
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "torus4x4 {} (load {}): the switches dropped meanwhile {:?}",
            ev.name,
            load.trim(),
            fref.drops_since(&drops)
        );
        for (flow, r) in flows.iter().zip(&reports) {
            let role = if ev.crossing.contains(flow) {
                "may cross"
            } else {
                "bystander"
            };
            println!("  {role} h{}->h{}: {}", flow.0, flow.1, r.summary());
        }
        for (flow, r) in flows.iter().zip(&reports) {
            let what = format!("{}: h{}->h{}", ev.name, flow.0, flow.1);
            assert!(recovered(r), "{what}: no traffic after the event: {r:?}");
            assert_eq!(r.duplicates, 0, "{what}: duplicates (a loop): {r:?}");
            match ev.expect {
                Expect::Lossless => assert_eq!(r.lost, 0, "{what}: lost: {r:?}"),
                Expect::Failure if ev.crossing.contains(flow) => assert!(
                    r.outage_ms < MAX_FAILURE_OUTAGE_MS,
                    "{what}: outage {:.1} ms",
                    r.outage_ms
                ),
                Expect::Failure => assert_eq!(r.lost, 0, "{what}: bystander lost: {r:?}"),
            }
        }
        // Settle before the next event: every running switch agrees on one
        // root, and after a return or a move (all links up) every
        // adjacency is up.
        let root = wait_until(Duration::from_secs(60), || {
            agreed_root(fref, ev.running.iter().copied()).is_some()
        });
        assert!(root, "{}: the switches name different roots", ev.name);
        if matches!(ev.expect, Expect::Lossless) {
            assert!(
                wait_until(Duration::from_secs(60), || fref.all_adjacencies_up()),
                "{}: adjacencies did not all come back",
                ev.name
            );
        }
        rows.push((ev.name, flows, reports, ev.crossing));
    }
    assert_eq!(
        agreed_root(fref, 0..n).as_deref(),
        Some(s0.as_str()),
        "s0 is the root again"
    );
    println!(
        "torus4x4 SUMMARY ({} pkt/s per flow, 16 poll-mode daemons on 2 cores):",
        satellite_e2e::probe::lab_rate()
    );
    for (name, flows, reports, crossing) in &rows {
        let worst = |want: bool| {
            flows
                .iter()
                .zip(reports)
                .filter(|(fl, _)| crossing.contains(fl) == want)
                .map(|(_, r)| (r.lost, r.outage_ms, r.reordered))
                .fold((0, 0.0f64, 0), |a, b| (a.0 + b.0, a.1.max(b.1), a.2 + b.2))
        };
        let (cl, co, cr) = worst(true);
        let (bl, _, br) = worst(false);
        println!(
            "  {name:<22} may-cross flows: lost {cl:>4}, worst outage {co:>6.1} ms, reordered {cr}   \
             bystanders: lost {bl}, reordered {br}"
        );
    }
    drop(rows);
    f.sats
        .iter_mut()
        .flatten()
        .for_each(|p| assert!(p.alive(), "a daemon died"));
}
