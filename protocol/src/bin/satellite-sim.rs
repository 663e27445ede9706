//! `satellite-sim`: runs spanning-tree scenarios in virtual time.
//!
//! - `satellite-sim FILE` runs a JSON scenario (see `SCENARIOS.md`), prints
//!   every bridge's final state as JSON, exits 1 if an expectation failed.
//! - `satellite-sim gen ring 8 | gen torus 5x5 | gen torus3 4x4x4` prints
//!   a generated scenario.
//! - `satellite-sim scale ring 1024 | scale torus 32x32` reports simulated
//!   convergence time, BPDUs sent and wall time.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
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
        _ => {
            eprintln!("usage: satellite-sim FILE | gen SHAPE SIZE | scale SHAPE SIZE");
            ExitCode::from(2)
        }
    }
}
