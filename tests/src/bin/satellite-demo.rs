//! The seed walkthrough with Satellite: a ring of 8 satellited switches in
//! network namespaces, one host each; convergence; a probe stream across the
//! ring through a switch that goes down and comes back; the root moved by
//! priority (as `brctl setbridgeprio s4 50` would); and what the probe
//! stream saw at each event. Run through `scripts/demo.sh` (needs root).
#![forbid(unsafe_code)]

use satellite_e2e::probe::Report;
use satellite_e2e::ring::{self, EventProbe, Kind, Ring, RingSpec};
use satellite_e2e::*;
use std::time::{Duration, Instant};

const N: usize = 8;
const RATE: u32 = 1000;
const STREAM: Duration = Duration::from_secs(7);
const EVENT_AT: Duration = Duration::from_secs(2);
/// Host 1 -> host 3 crosses switch 2; host 5 -> host 7 never does.
const AFFECTED: (usize, usize) = (1, 3);
const BYSTANDER: (usize, usize) = (5, 7);
const FAILING: usize = 2;
const NEW_ROOT: usize = 4;

fn tree_summary(ring: &Ring) {
    let mut root = String::new();
    let mut blocked = vec![];
    for i in 0..ring.n() {
        match ring.view(i) {
            Ok(v) => {
                if v.bridge_id == v.root_id {
                    root = format!("s{i} ({})", v.bridge_id);
                }
                let rp: Vec<&str> = v
                    .ports
                    .iter()
                    .filter(|p| p.role == "root")
                    .map(|p| p.name.as_str())
                    .collect();
                for p in v.ports.iter().filter(|p| p.blocked()) {
                    blocked.push(format!("s{i} {} ({}/{})", p.name, p.role, p.state));
                }
                println!(
                    "  s{i}  bridge {}  root port {:<4} {}",
                    v.bridge_id,
                    rp.first().copied().unwrap_or("-"),
                    v.ports
                        .iter()
                        .map(|p| format!("{} {}/{}", p.name, p.role, p.state))
                        .collect::<Vec<_>>()
                        .join("  ")
                );
            }
            Err(e) => println!("  s{i}  ({e})"),
        }
    }
    println!("  root: {root}   blocked: {}", blocked.join(", "));
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
    println!("  probe h{a}->h{b}: {}", r.0.summary());
    println!("  probe h{c}->h{d} (bystander): {}", r.1.summary());
    r
}

fn main() {
    if !is_root() {
        eprintln!("satellite-demo needs root (network namespaces): sudo scripts/demo.sh");
        std::process::exit(1);
    }
    let t_demo = Instant::now();
    println!("== Satellite demo: a ring of {N} satellited switches, one host each ==");
    println!(
        "   (each switch in its own network namespace; links are veth pairs; RSTP timers 1/6/4 s)"
    );
    let mut ring = Ring::new(RingSpec::uniform(Kind::Satellite, N));
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
    tree_summary(&ring);
    println!("\n$ satctl -s s0.sock show stp");
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

    let mut rows: Vec<(String, Report, Report)> = vec![];
    println!(
        "\n-- event 1: switch s{FAILING} down (all its links), on the path h{}->h{}",
        AFFECTED.0, AFFECTED.1
    );
    let (r, b) = around(&ring, "swdown", || ring.switch_down(FAILING));
    rows.push((format!("switch s{FAILING} down"), r, b));
    std::thread::sleep(Duration::from_secs(1));
    tree_summary(&ring);

    println!("\n-- event 2: switch s{FAILING} back up (failback)");
    let (r, b) = around(&ring, "swup", || ring.switch_up(FAILING));
    rows.push((format!("switch s{FAILING} up"), r, b));
    if let Err(e) = ring.wait_converged(1, Duration::from_secs(30)) {
        println!("  NOT converged: {e}");
        failures += 1;
    }
    tree_summary(&ring);

    println!(
        "\n-- event 3: root moved by priority: s{NEW_ROOT} gets priority 4096 (as `brctl setbridgeprio s4 50`)"
    );
    let (r, b) = around(&ring, "root", || {
        ring.satctl(NEW_ROOT, "set priority 4096");
    });
    ring.spec.priorities[NEW_ROOT] = 4096;
    rows.push((format!("root moved to s{NEW_ROOT}"), r, b));
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
    tree_summary(&ring);

    let sstp_lines: usize = (0..N).map(|i| ring.sstp_log(i).lines().count()).sum();
    println!("\n$ grep -i sstp s{NEW_ROOT}.log | tail -5   ({sstp_lines} sstp log lines in all)");
    println!("{}", ring::tail(&ring.sstp_log(NEW_ROOT), 5));

    println!(
        "\n== Summary: probe streams at {RATE} pkt/s, event {}s into each {}s stream ==",
        EVENT_AT.as_secs(),
        STREAM.as_secs()
    );
    println!(
        "{:<22} {:>12} {:>8} {:>10}  {:>15}",
        "event", "outage (ms)", "lost", "recovered", "bystander lost"
    );
    for (name, r, b) in &rows {
        let ok = r.end_seen && r.gaps.iter().all(|g| g.start + g.count < r.sent);
        if !ok {
            failures += 1;
        }
        println!(
            "{:<22} {:>12.1} {:>8} {:>10}  {:>15}",
            name,
            r.outage_ms,
            r.lost,
            if ok { "yes" } else { "NO" },
            b.lost
        );
    }
    println!(
        "\nDemo took {:.0} s; every namespace, link and process it made is removed now.",
        t_demo.elapsed().as_secs_f64()
    );
    drop(ring);
    if failures > 0 {
        println!("{failures} check(s) FAILED");
        std::process::exit(1);
    }
}
