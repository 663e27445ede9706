//! satctl — the command-line interface of satellited.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use satellite::control::{call, FdbRow, PortInfo, Request, StatsReport};

/// Talk to a running satellited over its control socket.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Control socket (default /run/satellite/NAME.sock).
    #[arg(long, short = 's', global = true)]
    socket: Option<PathBuf>,
    /// Switch name, used to find the default socket.
    #[arg(long, short = 'n', global = true, default_value = "satellite")]
    name: String,
    /// Print the daemon's answer as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Show state.
    Show {
        #[command(subcommand)]
        what: Show,
    },
}

#[derive(Subcommand, Debug)]
enum Show {
    /// Ports: backend, link, state, learned addresses.
    Ports,
    /// The filtering database.
    Fdb,
    /// Counters: per port, drops by reason, FDB, workers.
    Stats,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("/run/satellite/{}.sock", args.name)));
    let req = match &args.cmd {
        Cmd::Show { what: Show::Ports } => Request::ShowPorts,
        Cmd::Show { what: Show::Fdb } => Request::ShowFdb,
        Cmd::Show { what: Show::Stats } => Request::ShowStats,
    };
    let resp = match call(&socket, &req) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("satctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !resp.ok {
        eprintln!("satctl: {}", resp.error.unwrap_or_default());
        return ExitCode::FAILURE;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&resp.data).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let printed = match req {
        Request::ShowPorts => serde_json::from_value::<Vec<PortInfo>>(resp.data).map(print_ports),
        Request::ShowFdb => serde_json::from_value::<Vec<FdbRow>>(resp.data).map(print_fdb),
        Request::ShowStats => serde_json::from_value::<StatsReport>(resp.data).map(print_stats),
    };
    if let Err(e) = printed {
        eprintln!("satctl: unexpected answer from satellited: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn print_ports(ports: Vec<PortInfo>) {
    println!(
        "{:<4} {:<16} {:<10} {:<17} {:<5} {:<7} {:<11} {:>6}",
        "idx", "port", "backend", "mac", "link", "kind", "state", "fdb"
    );
    for p in ports {
        let state = match (p.learning, p.forwarding) {
            (_, true) => "forwarding",
            (true, false) => "learning",
            _ => "discarding",
        };
        println!(
            "{:<4} {:<16} {:<10} {:<17} {:<5} {:<7} {:<11} {:>6}",
            p.index,
            p.name,
            p.backend,
            p.mac,
            if p.link_up { "up" } else { "down" },
            p.kind,
            state,
            p.fdb_entries
        );
    }
}

fn print_fdb(rows: Vec<FdbRow>) {
    println!("{:<5} {:<17} {:<16} {:>6}", "vlan", "mac", "port", "age");
    for r in &rows {
        println!("{:<5} {:<17} {:<16} {:>6}", r.vlan, r.mac, r.port, r.age_secs);
    }
    println!("{} entries", rows.len());
}

fn print_stats(s: StatsReport) {
    println!("bridge {}  up {:.0} s", s.bridge, s.uptime_secs);
    println!(
        "{:<16} {:>12} {:>14} {:>12} {:>14} {:>8} {:>8}",
        "port", "rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "punted", "drops"
    );
    for p in &s.ports {
        let drops: u64 = p.drops.values().sum();
        println!(
            "{:<16} {:>12} {:>14} {:>12} {:>14} {:>8} {:>8}",
            p.name, p.rx_packets, p.rx_bytes, p.tx_packets, p.tx_bytes, p.punted, drops
        );
    }
    println!("drops by reason:");
    for p in &s.ports {
        for (r, n) in p.drops.iter().filter(|(_, n)| **n > 0) {
            println!("  {:<16} {:<20} {:>10}", p.name, r, n);
        }
    }
    let f = &s.fdb;
    println!(
        "fdb: {} / {} entries; learned {} moved {} aged {} flushed {}; table_full {} port_limit {} learn_queue_full {}",
        f.entries, f.capacity, f.learned, f.moved, f.aged, f.flushed, f.table_full, f.port_limit, f.learn_queue_full
    );
    println!("snapshots published: {} (epoch {})", s.snapshot_publishes, s.snapshot_epoch);
    for w in &s.workers {
        let cpp = if w.busy_packets > 0 { w.busy_cycles as f64 / w.busy_packets as f64 } else { 0.0 };
        println!(
            "worker {}: {} packets, {:.1} cycles/packet (TSC {:.2} GHz)",
            w.index,
            w.busy_packets,
            cpp,
            s.tsc_hz as f64 / 1e9
        );
    }
    for (k, v) in &s.control_frames {
        println!("control frames {k}: {v}");
    }
}
