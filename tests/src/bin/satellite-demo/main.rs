//! The seed walkthrough with Satellite, run twice on the same ring — RSTP
//! alone (`[sstp] enabled = false`, what a standard bridge does) and with
//! SSTP — with both summaries side by side at the end: a ring of 8
//! satellited switches in network namespaces, s1..s8, one host each
//! (h1..h8); convergence; a
//! probe stream across the ring through a switch (s8) that goes down and
//! comes back; the root moved to s4 by priority (as `brctl setbridgeprio
//! s4 50` would); what the probe streams saw at each event; a picture of
//! the topology after convergence and after each event (`target/demo/`).
//! Run through `scripts/demo.sh` (needs root).
//!
//! Names are the walkthroughs' (1-based) on screen; the ring kit counts
//! switches from 0, so switch `sK` is the kit's index K-1.
#![forbid(unsafe_code)]

mod picture;

use picture::{port, switch};
use satellite_e2e::probe::Report;
use satellite_e2e::ring::{self, EventProbe, Kind, Ring, RingSpec};
use satellite_e2e::*;
use std::time::{Duration, Instant};

const N: usize = 8;
const RATE: u32 = 1000;
const STREAM: Duration = Duration::from_secs(7);
const EVENT_AT: Duration = Duration::from_secs(2);
/// Kit indices: h7 -> h1 crosses s8 (s7, s8, s1); h2 -> h4 (s2, s3, s4)
/// never does, and keeps its path when the tree changes past s4.
const AFFECTED: (usize, usize) = (6, 0);
const BYSTANDER: (usize, usize) = (1, 3);
/// s8, next to the root s1.
const FAILING: usize = 7;
/// s4.
const NEW_ROOT: usize = 3;

/// Prints every switch's view, then the root and blocked ports as the
/// switches that are up see them: a switch cut off (`down`) names itself
/// root and blocks nothing, which says nothing about the ring.
fn tree_summary(ring: &Ring, down: Option<usize>) {
    let mut roots: Vec<String> = vec![];
    let mut blocked = vec![];
    for i in 0..ring.n() {
        let s = switch(i);
        let v = match ring.view(i) {
            Ok(v) => v,
            Err(e) => {
                println!("  {s:<3} ({e})");
                continue;
            }
        };
        let ports: Vec<String> = v
            .ports
            .iter()
            .map(|p| format!("{} {}/{}", port(ring, i, &p.name), p.role, p.state))
            .collect();
        let note = if down == Some(i) {
            "   (down: its own, cut-off view)"
        } else {
            ""
        };
        println!(
            "  {s:<3} bridge {}  {}{note}",
            v.bridge_id,
            ports.join("  ")
        );
        if down == Some(i) {
            continue;
        }
        roots.push(v.root_id.clone());
        for p in v.ports.iter().filter(|p| p.blocked()) {
            blocked.push(format!(
                "{} ({}/{})",
                port(ring, i, &p.name),
                p.role,
                p.state
            ));
        }
    }
    roots.sort();
    roots.dedup();
    let name = |id: &String| {
        (0..ring.n())
            .find(|&i| ring.view(i).is_ok_and(|v| &v.bridge_id == id))
            .map_or(id.clone(), |i| format!("{} ({id})", switch(i)))
    };
    let root = match roots.as_slice() {
        [one] => name(one),
        [] => "unknown".into(),
        many => format!(
            "NOT AGREED: {}",
            many.iter().map(name).collect::<Vec<_>>().join(", ")
        ),
    };
    let seen = match down {
        Some(d) => format!(" (as the switches up see it; {} is down)", switch(d)),
        None => String::new(),
    };
    println!(
        "  root: {root}   blocked: {}{seen}",
        if blocked.is_empty() {
            "none".to_string()
        } else {
            blocked.join(", ")
        }
    );
}

/// Writes the picture after an event, asking a switch that is up first.
fn picture(ring: &Ring, step: usize, tag: &str, down: Option<usize>) {
    let first = (0..ring.n()).find(|&i| Some(i) != down).unwrap_or(0);
    match picture::write(ring, first, step, tag) {
        Ok(svg) => println!("  picture: {}", svg.display()),
        Err(e) => println!("  no picture: {e}"),
    }
}

fn around(ring: &Ring, tag: &str, event: impl FnOnce()) -> (Report, Report) {
    let probe = EventProbe {
        affected: AFFECTED,
        bystander: BYSTANDER,
        rate: RATE,
        duration: STREAM,
        event_at: EVENT_AT,
    };
    let r = probe.run(ring, tag, event);
    let ((a, b), (c, d)) = (AFFECTED, BYSTANDER);
    println!("  probe h{}->h{}: {}", a + 1, b + 1, r.0.summary());
    println!(
        "  probe h{}->h{} (bystander): {}",
        c + 1,
        d + 1,
        r.1.summary()
    );
    r
}

/// One event's two streams.
struct Row {
    name: String,
    affected: Report,
    bystander: Report,
}

/// The whole walkthrough on one ring: RSTP alone (`[sstp] enabled =
/// false`) or with SSTP. Returns the events' rows and the checks that
/// failed. Pictures are named after the mode (`target/demo/`).
fn run(sstp: bool) -> (Vec<Row>, u32) {
    let mode = if sstp { "sstp" } else { "rstp" };
    let mut spec = RingSpec::uniform(Kind::Satellite, N);
    if !sstp {
        spec.sat_sstp = "enabled = false\n".into();
    }
    let mut ring = Ring::new(spec);
    ring.wait_started();
    let t0 = Instant::now();
    let conv = ring.wait_converged(1, Duration::from_secs(60));
    match &conv {
        Ok((_, t)) => println!(
            "\n-- converged ({:.0} ms after every daemon answered):",
            t.as_secs_f64() * 1000.0
        ),
        Err(e) => println!("\n-- NOT converged after {:?}: {e}", t0.elapsed()),
    }
    tree_summary(&ring, None);
    picture(&ring, 0, &format!("{mode}-converged"), None);
    println!("\n$ satctl -n s1 show stp      (s1's ports: l0 to s8, r0 to s2, h0 to h1)");
    print!("{}", ring.satctl(0, "show stp"));

    let bad = ring.ping_all();
    println!(
        "\n-- ping between all {} host pairs: {}",
        N * (N - 1),
        if bad.is_empty() {
            "all ok".to_string()
        } else {
            format!("FAILED {bad:?}")
        }
    );
    let mut failures = (!bad.is_empty()) as u32 + conv.is_err() as u32;
    // Warm the FDBs along both probe paths.
    ring.ping(AFFECTED.0, AFFECTED.1);
    ring.ping(BYSTANDER.0, BYSTANDER.1);

    let mut rows: Vec<Row> = vec![];
    let mut row = |name: String, (affected, bystander): (Report, Report)| {
        rows.push(Row {
            name,
            affected,
            bystander,
        })
    };
    let (sf, sr) = (switch(FAILING), switch(NEW_ROOT));
    println!(
        "\n-- event 1: switch {sf} down (all its links), on the path h{}->h{}",
        AFFECTED.0 + 1,
        AFFECTED.1 + 1
    );
    row(
        format!("switch {sf} down"),
        around(&ring, &format!("{mode}-swdown"), || {
            ring.switch_down(FAILING)
        }),
    );
    std::thread::sleep(Duration::from_secs(1));
    tree_summary(&ring, Some(FAILING));
    picture(&ring, 1, &format!("{mode}-switch-down"), Some(FAILING));

    println!("\n-- event 2: switch {sf} back up (failback)");
    row(
        format!("switch {sf} up"),
        around(&ring, &format!("{mode}-swup"), || ring.switch_up(FAILING)),
    );
    if let Err(e) = ring.wait_converged(1, Duration::from_secs(30)) {
        println!("  NOT converged: {e}");
        failures += 1;
    }
    tree_summary(&ring, None);
    picture(&ring, 2, &format!("{mode}-switch-up"), None);

    println!(
        "\n-- event 3: root moved by priority: {sr} gets priority 4096 (as `brctl setbridgeprio {sr} 50`)"
    );
    row(
        format!("root moved to {sr}"),
        around(&ring, &format!("{mode}-root"), || {
            ring.satctl(NEW_ROOT, "set priority 4096");
        }),
    );
    ring.spec.priorities[NEW_ROOT] = 4096;
    match ring.wait_converged(1, Duration::from_secs(30)) {
        Ok((c, _)) if c.root_id == ring::bridge_id(NEW_ROOT, 4096) => {}
        Ok((c, _)) => {
            println!("  WRONG root {}", c.root_id);
            failures += 1;
        }
        Err(e) => {
            println!("  NOT converged: {e}");
            failures += 1;
        }
    }
    tree_summary(&ring, None);
    picture(&ring, 3, &format!("{mode}-root-moved"), None);

    if sstp {
        let sstp_lines: usize = (0..N).map(|i| ring.sstp_log(i).lines().count()).sum();
        println!("\n$ grep -i sstp {sr}.log | tail -5   ({sstp_lines} sstp log lines in all)");
        println!("{}", ring::tail(&ring.sstp_log(NEW_ROOT), 5));
    }
    for r in &rows {
        let a = &r.affected;
        if !(a.end_seen && a.gaps.iter().all(|g| g.start + g.count < a.sent)) {
            failures += 1;
        }
    }
    drop(ring);
    (rows, failures)
}

/// "2.3 ms / 2 lost" for a stream, or "NO" when it never recovered.
fn cell(r: &Report) -> String {
    let ok = r.end_seen && r.gaps.iter().all(|g| g.start + g.count < r.sent);
    if ok {
        format!("{:.1} ms / {} lost", r.outage_ms, r.lost)
    } else {
        format!("NOT RECOVERED ({} lost)", r.lost)
    }
}

fn main() {
    if !is_root() {
        eprintln!("satellite-demo needs root (network namespaces): run scripts/demo.sh as root");
        std::process::exit(1);
    }
    let t_demo = Instant::now();
    println!("== Satellite demo: a ring of {N} satellited switches, one host each, run twice ==");
    println!(
        "   (each switch in its own network namespace; links are veth pairs; RSTP timers 1/6/4 s)"
    );
    println!("\n==== Run 1: RSTP alone ([sstp] enabled = false): today's standard bridge ====");
    let (rstp, f1) = run(false);
    println!("\n==== Run 2: the same ring with SSTP (the default) ====");
    let (sstp, f2) = run(true);

    println!(
        "\n== Summary: probe streams at {RATE} pkt/s, event {}s into each {}s stream ==",
        EVENT_AT.as_secs(),
        STREAM.as_secs()
    );
    println!(
        "{:<20} | {:^23} {:>9} | {:^23} {:>9}",
        "", "RSTP alone", "", "SSTP", ""
    );
    println!(
        "{:<20} | {:>23} {:>9} | {:>23} {:>9}",
        "event", "outage / lost", "bystander", "outage / lost", "bystander"
    );
    for (r, s) in rstp.iter().zip(&sstp) {
        println!(
            "{:<20} | {:>23} {:>9} | {:>23} {:>9}",
            r.name,
            cell(&r.affected),
            format!("{} lost", r.bystander.lost),
            cell(&s.affected),
            format!("{} lost", s.bystander.lost)
        );
    }
    println!(
        "\nPictures of the topology (Graphviz): {}/*.svg",
        picture::dir().display()
    );
    println!(
        "Demo took {:.0} s; every namespace, link and process it made is removed now.",
        t_demo.elapsed().as_secs_f64()
    );
    let failures = f1 + f2;
    if failures > 0 {
        println!("{failures} check(s) FAILED");
        std::process::exit(1);
    }
}
