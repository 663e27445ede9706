//! `satellite-sim`: runs spanning-tree scenarios in virtual time.
//!
//! - `satellite-sim FILE` runs a JSON scenario (see `SCENARIOS.md`), prints
//!   every bridge's final state as JSON, exits 1 if an expectation failed.
//! - `satellite-sim gen ring 8 | gen torus 5x5 | gen torus3 4x4x4` prints
//!   a generated scenario.
//! - `satellite-sim scale ring 1024 | scale torus 32x32` reports simulated
//!   convergence time, BPDUs sent and wall time.
//! - `satellite-sim sstp ring:1024 | torus:32x32 --fail B0_0-B1_0 |
//!   torus:5x5 --random 1000 | ring:24 --script FILE | ... --memory 10000`
//!   runs SSTP switches on a generated topology, checks the link state's
//!   invariants at every event, and reports as JSON (see `docs/sstp.md`,
//!   "Simulation").
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use satellite_protocol::sim::fabric::{self, Fabric, FabricConfig, Failure, Shape, Topology};
use satellite_protocol::sim::{gen, scenario::Scenario};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "satellite-sim",
    about = "Deterministic RSTP network simulator",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// Scenario file to run.
    file: Option<std::path::PathBuf>,
    /// Print every action of every bridge to stderr.
    #[arg(long)]
    trace: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print a generated scenario: `ring N`, `torus RxC`, `torus3 XxYxZ`.
    Gen {
        /// ring, torus or torus3.
        shape: String,
        /// Size: N, RxC or XxYxZ.
        size: String,
        /// Seconds to run before the expectations.
        #[arg(long, default_value_t = 120.0)]
        run: f64,
    },
    /// Run a generated topology and report convergence and cost.
    Scale {
        /// ring, torus or torus3.
        shape: String,
        /// Size: N, RxC or XxYxZ.
        size: String,
        /// Simulated seconds to run.
        #[arg(long, default_value_t = 120.0)]
        run: f64,
    },
    /// Run SSTP switches on a generated topology (cold start, then the
    /// failures asked for), checking invariants at every event.
    Sstp(SstpArgs),
}

#[derive(clap::Args)]
struct SstpArgs {
    /// ring:N, torus:RxC, torus3:XxYxZ or random:N,DEGREE,SEED.
    topology: String,
    /// One-way link delay, microseconds.
    #[arg(long, default_value_t = 10.0)]
    delay_us: f64,
    /// CPU time per received frame, microseconds.
    #[arg(long, default_value_t = 2.0)]
    proc_us: f64,
    /// MAC homes advertised by each switch.
    #[arg(long, default_value_t = 0)]
    homes: usize,
    /// Seed of nonces and random failures.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// After the cold start, cut this link (`A-B` or `#I`) and measure.
    #[arg(long)]
    fail: Option<String>,
    /// After the cold start, run this event script (see docs/sstp.md).
    #[arg(long)]
    script: Option<std::path::PathBuf>,
    /// After the cold start, run this many seeded random failure
    /// sequences, each from the converged network, each restored after.
    #[arg(long, default_value_t = 0)]
    random: u64,
    /// Run only this one of the random sequences (to replay a failure).
    #[arg(long)]
    only: Option<u64>,
    /// Events per random sequence.
    #[arg(long, default_value_t = 8)]
    events: usize,
    /// After the cold start, this many random events, the topology
    /// restored, then the engines' heap compared with before.
    #[arg(long, default_value_t = 0)]
    memory: usize,
    /// After the cold start, fail each link in turn (carrier), each from
    /// the converged network, and each switch in turn.
    #[arg(long)]
    each: bool,
    /// Do not check loop freedom at every event.
    #[arg(long)]
    no_check: bool,
    /// Model switches that route unicast untagged (no downhill test, no
    /// wrap onward): the rule before the unicast tag, for comparison.
    #[arg(long)]
    untagged: bool,
    /// Largest SPF hold, milliseconds (the engine's default if unset).
    #[arg(long)]
    spf_max_hold_ms: Option<f64>,
    /// Longest simulated wait for quiescence, seconds.
    #[arg(long, default_value_t = 30.0)]
    limit_s: f64,
    /// Print each loop found to stderr.
    #[arg(long)]
    verbose: bool,
}

/// Peak resident set of this process, KiB (Linux; 0 elsewhere).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// What one phase (cold start, a failure, a script) cost and showed.
fn phase(
    f: &Fabric,
    start: Duration,
    converged: Result<Duration, String>,
    tx0: &[satellite_protocol::sim::LinkTx],
    spf0: u64,
) -> (serde_json::Value, bool) {
    let (conv, quiet_ok) = match &converged {
        Ok(t) => (Some(ms(t.saturating_sub(start))), true),
        Err(_) => (None, false),
    };
    let check = if quiet_ok {
        f.check_converged()
    } else {
        Err(converged.clone().unwrap_err())
    };
    let ok = check.is_ok();
    let v = serde_json::json!({
        "convergence_ms": conv,
        "converged_correctly": ok,
        "problem": check.err(),
        "spf_runs": f.spf_runs().saturating_sub(spf0),
        "pdus": f.pdu_report(tx0),
        "peak_lsdb_fragments": f.peak_fragments,
        "peak_lsdb_bytes": f.peak_lsdb_bytes,
        "simulated_end_s": f.net.now.as_secs_f64(),
    });
    (v, ok)
}

fn run_sstp(a: SstpArgs) -> ExitCode {
    let shape: Shape = match a.topology.parse() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let topo = Topology::new(&shape);
    let script = match &a.script {
        None => None,
        Some(p) => match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| fabric::parse_script(&t, &topo))
        {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("{}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
    };
    let fail = match &a.fail {
        None => None,
        Some(l) => match topo.link(l) {
            Some(l) => Some(l),
            None => {
                eprintln!("no link {l:?}");
                return ExitCode::from(2);
            }
        },
    };
    let mut cfg = FabricConfig {
        delay: Duration::from_secs_f64(a.delay_us * 1e-6),
        proc_cost: Duration::from_secs_f64(a.proc_us * 1e-6),
        seed: a.seed,
        homes_per_bridge: a.homes,
        check_loops: !a.no_check,
        unicast_tag: !a.untagged,
        ..FabricConfig::default()
    };
    if let Some(ms) = a.spf_max_hold_ms {
        cfg.sstp.spf.max_hold = Duration::from_secs_f64(ms * 1e-3);
    }
    let spf_max_hold_ms = cfg.sstp.spf.max_hold.as_secs_f64() * 1e3;
    // Longer than the dead interval (3 × 10 ms): a silent failure is found
    // before the network counts as quiet.
    let window = Duration::from_millis(50);
    let limit = Duration::from_secs_f64(a.limit_s);
    let wall0 = Instant::now();
    let mut f = Fabric::new(topo.clone(), cfg);
    let mut all_ok = true;
    let mut report = serde_json::json!({
        "topology": shape.to_string(),
        "bridges": topo.len(),
        "links": topo.links.len(),
        "link_delay_us": a.delay_us,
        "processing_us": a.proc_us,
        "homes_per_bridge": a.homes,
        "loop_check": !a.no_check,
        "unicast_tag": !a.untagged,
        "spf_max_hold_ms": spf_max_hold_ms,
    });
    let tx0 = f.net.link_tx.clone();
    let conv = f.run_to_quiescence(window, limit);
    let (cold, ok) = phase(&f, Duration::ZERO, conv, &tx0, 0);
    all_ok &= ok;
    report["cold_start"] = cold;
    let sizes: Vec<(usize, usize, usize)> = (0..topo.len())
        .filter_map(|b| f.engine(b))
        .map(|e| {
            (
                e.lsdb().heap_bytes() + e.routes().heap_bytes(),
                e.heap_bytes(),
                e.lsdb().home_count(),
            )
        })
        .collect();
    report["per_bridge_lsdb_plus_routes_bytes_max"] = sizes.iter().map(|x| x.0).max().into();
    report["per_bridge_engine_heap_bytes_max"] = sizes.iter().map(|x| x.1).max().into();
    report["mac_homes_known_per_bridge_min"] = sizes.iter().map(|x| x.2).min().into();
    report["cold_start_wall_s"] = wall0.elapsed().as_secs_f64().into();

    if let Some(l) = fail {
        let (tx0, spf0, t0) = (f.net.link_tx.clone(), f.spf_runs(), f.net.now);
        f.peak_fragments = 0;
        f.apply(Failure::LinkDown(l));
        let conv = f.run_to_quiescence(window, limit);
        let (mut v, ok) = phase(&f, t0, conv, &tx0, spf0);
        v["link"] = topo.link_name(l).into();
        all_ok &= ok;
        report["link_failure"] = v;
    }
    if let Some(s) = &script {
        let (tx0, spf0, t0) = (f.net.link_tx.clone(), f.spf_runs(), f.net.now);
        f.run_script(s);
        let conv = f.run_to_quiescence(window, limit);
        let last = t0 + s.last().map_or(Duration::ZERO, |e| e.at);
        let (mut v, ok) = phase(&f, last, conv, &tx0, spf0);
        v["events"] = s.len().into();
        all_ok &= ok;
        report["script"] = v;
    }
    if a.random > 0 {
        let base = f.clone();
        let wall = Instant::now();
        let (mut failed, mut loops, mut events, mut conv_max) = (Vec::new(), 0u64, 0u64, 0f64);
        let (mut endless, mut looping_sequences, mut sent_on) = (0u64, 0u64, 0u64);
        for i in 0..a.random {
            if a.only.is_some_and(|o| o != i) {
                continue;
            }
            let mut g = base.clone();
            let seq = fabric::random_failures(
                &topo,
                a.seed.wrapping_mul(1_000_003).wrapping_add(i),
                a.events,
            );
            let text = fabric::script_text(&seq, &topo);
            if a.verbose {
                eprintln!(
                    "sequence {i} (from {:.6} s):\n{text}",
                    g.net.now.as_secs_f64()
                );
            }
            g.run_script(&seq);
            let t_restore = g.net.now;
            g.restore();
            let conv = g.run_to_quiescence(window, limit);
            events += g.check.events_checked;
            loops += g.check.violations;
            endless += g.check.endless;
            sent_on += g.check.forwarded_twice;
            looping_sequences += u64::from(g.check.violations > 0);
            if let Ok(t) = &conv {
                conv_max = conv_max.max(ms(t.saturating_sub(t_restore)));
            }
            let check = conv.and_then(|_| g.check_converged());
            if a.verbose {
                for v in &g.violations {
                    eprintln!("sequence {i}: {v}");
                }
            }
            if let Err(e) = check {
                failed.push(serde_json::json!({"sequence": i, "problem": e, "script": text}));
            } else if g.check.violations > 0 && failed.len() < 10 {
                failed.push(serde_json::json!({
                    "sequence": i,
                    "script": text,
                    "loops": g.violations.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
                }));
            }
        }
        all_ok &= failed.is_empty() && loops == 0;
        report["random"] = serde_json::json!({
            "sequences": a.random,
            "events_per_sequence": a.events,
            "loops_found": loops,
            "loops_sent_on_twice": sent_on,
            "endless_loops": endless,
            "sequences_with_loops": looping_sequences,
            "sequences_not_converged_correctly": failed.iter().filter(|x| x.get("problem").is_some()).count(),
            "failures": failed,
            "events_checked": events,
            "restore_convergence_max_ms": conv_max,
            "wall_s": wall.elapsed().as_secs_f64(),
        });
    }
    if a.each {
        let base = f.clone();
        let wall = Instant::now();
        let mut cases: Vec<Failure> = (0..topo.links.len()).map(Failure::LinkDown).collect();
        cases.extend((0..topo.len()).map(Failure::BridgeDown));
        let (mut loops, mut endless, mut bad, mut conv_max) = (0u64, 0u64, Vec::new(), 0f64);
        let mut sent_on = 0u64;
        for c in cases {
            let mut g = base.clone();
            let t0 = g.net.now;
            g.apply(c);
            let conv = g.run_to_quiescence(window, limit);
            if let Ok(t) = &conv {
                conv_max = conv_max.max(ms(t.saturating_sub(t0)));
            }
            loops += g.check.violations;
            endless += g.check.endless;
            sent_on += g.check.forwarded_twice;
            if a.verbose {
                for v in &g.violations {
                    eprintln!("{}: {v}", c.describe(&topo));
                }
            }
            if let Err(e) = conv.and_then(|_| g.check_converged()) {
                bad.push(format!("{}: {e}", c.describe(&topo)));
            }
        }
        all_ok &= loops == 0 && bad.is_empty();
        report["each_failure"] = serde_json::json!({
            "cases": topo.links.len() + topo.len(),
            "loops_found": loops,
            "loops_sent_on_twice": sent_on,
            "endless_loops": endless,
            "not_converged_correctly": bad,
            "convergence_max_ms": conv_max,
            "wall_s": wall.elapsed().as_secs_f64(),
        });
    }
    if a.memory > 0 {
        let before = (f.state_bytes(), f.heap_bytes());
        let seq = fabric::random_failures(&topo, a.seed ^ 0xC0FFEE, a.memory);
        f.run_script(&seq);
        f.restore();
        let conv = f.run_to_quiescence(window, limit);
        let check = conv.and_then(|_| f.check_converged());
        let after = (f.state_bytes(), f.heap_bytes());
        all_ok &= check.is_ok() && after.0 <= before.0 && after.1 * 100 <= before.1 * 105;
        report["memory"] = serde_json::json!({
            "events": a.memory,
            "lsdb_and_routes_bytes_before": before.0,
            "lsdb_and_routes_bytes_after": after.0,
            "engine_heap_bytes_before": before.1,
            "engine_heap_bytes_after": after.1,
            "converged_correctly": check.is_ok(),
            "problem": check.err(),
        });
    }
    all_ok &= f.check.violations == 0;
    report["loops_found"] = f.check.violations.into();
    report["loop_check_stats"] = serde_json::to_value(f.check).expect("serializable");
    report["violations"] = f
        .violations
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .into();
    report["events"] = f.net.stats.events.into();
    report["wall_s"] = wall0.elapsed().as_secs_f64().into();
    report["peak_rss_mib"] = (peak_rss_kib() as f64 / 1024.0).into();
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("serializable")
    );
    if a.verbose {
        for v in &f.violations {
            eprintln!("{v}");
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn dims(shape: &str, size: &str) -> Result<Vec<usize>, String> {
    let d: Vec<usize> = size
        .split('x')
        .map(|s| s.parse().map_err(|_| format!("bad size {size:?}")))
        .collect::<Result<_, _>>()?;
    let want = match shape {
        "ring" => 1,
        "torus" => 2,
        "torus3" => 3,
        _ => return Err(format!("unknown shape {shape:?} (ring, torus, torus3)")),
    };
    if d.len() != want || d.contains(&0) {
        return Err(format!(
            "{shape} needs {want} positive dimension(s), got {size:?}"
        ));
    }
    Ok(d)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match (cli.file, cli.cmd) {
        (Some(f), None) => {
            let text = match std::fs::read_to_string(&f) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{}: {e}", f.display());
                    return ExitCode::from(2);
                }
            };
            let report = Scenario::from_json(&text).and_then(|s| s.run_traced(cli.trace));
            match report {
                Ok(r) => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&r).expect("serializable")
                    );
                    for m in &r.failures {
                        eprintln!("FAIL {}: {m}", f.display());
                    }
                    if r.failures.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    eprintln!("{}: {e}", f.display());
                    ExitCode::from(2)
                }
            }
        }
        (None, Some(Cmd::Gen { shape, size, run })) => match dims(&shape, &size) {
            Ok(d) => {
                let s = gen::torus(&d, run);
                println!(
                    "{}",
                    serde_json::to_string_pretty(&s).expect("serializable")
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        (None, Some(Cmd::Scale { shape, size, run })) => {
            let d = match dims(&shape, &size) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            let s = gen::torus(&d, run);
            let t0 = Instant::now();
            let mut net = match s.build() {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            net.run_for(Duration::from_secs_f64(run));
            let wall = t0.elapsed();
            let tree = net.check_tree();
            let report = serde_json::json!({
                "topology": format!("{shape} {size}"),
                "bridges": net.bridges.len(),
                "links": net.segments.len(),
                "simulated_s": run,
                "convergence_s": net.stats.last_change.as_secs_f64(),
                "bpdus_sent": net.stats.bpdus_sent,
                "events": net.stats.events,
                "wall_s": wall.as_secs_f64(),
                "bridges_that_are_root": net.roots(),
                "loop_free": net.check_loop_free().is_ok(),
                "single_root_per_forwarding_component": tree.is_ok(),
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&report).expect("serializable")
            );
            if let Err(e) = tree {
                eprintln!("tree check failed: {e}");
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        (None, Some(Cmd::Sstp(a))) => run_sstp(a),
        _ => {
            eprintln!(
                "usage: satellite-sim FILE | gen SHAPE SIZE | scale SHAPE SIZE | sstp TOPOLOGY"
            );
            ExitCode::from(2)
        }
    }
}
