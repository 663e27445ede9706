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
    /// Change a setting.
    Set {
        #[command(subcommand)]
        what: Set,
    },
    /// ARPless bindings (IPv4 ↔ MAC) on edge ports.
    Arp {
        #[command(subcommand)]
        what: Arp,
    },
    /// Enable or disable a port administratively.
    Port {
        /// Port name (see `show ports`).
        port: String,
        #[arg(value_enum)]
        state: AdminState,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum AdminState {
    Up,
    Down,
}

#[derive(Subcommand, Debug)]
enum Arp {
    /// Every binding: configured, added here, learned.
    Show,
    /// Bind IP to MAC on a port.
    Add {
        port: String,
        ip: std::net::Ipv4Addr,
        mac: String,
        /// VLAN of the binding (default: the port's access VLAN, else 0).
        #[arg(long)]
        vlan: Option<u16>,
    },
    /// Remove a binding added with `arp add` (or learned).
    Del {
        port: String,
        ip: std::net::Ipv4Addr,
        #[arg(long)]
        vlan: Option<u16>,
    },
}

#[derive(Subcommand, Debug)]
enum Set {
    /// Bridge priority: a multiple of 4096 in 0..=61440 (lower wins root).
    Priority { priority: u32 },
    /// A port's spanning-tree path cost.
    PortCost { port: String, cost: u32 },
    /// A port's spanning-tree priority: a multiple of 16 in 0..=240.
    PortPriority { port: String, priority: u32 },
}

#[derive(Subcommand, Debug)]
enum Show {
    /// Ports: backend, link, state, learned addresses.
    Ports,
    /// The filtering database.
    Fdb,
    /// Counters: per port, drops by reason, FDB, workers.
    Stats,
    /// Spanning tree: bridge, root, per-port role and state.
    Stp,
    /// Edge-filter verdicts per filtered port (VLAN, Interstellar, ARPless).
    Filters,
    /// Link state (SSTP): this switch and its adjacencies.
    Sstp,
    /// Link state (SSTP): every switch's LSP.
    Lsdb,
    /// Link state (SSTP): distance, next hops and repair toward each switch.
    Routes,
}

/// Appends one line to the output buffer (see [`emit`]); writing to a
/// `String` cannot fail.
macro_rules! out {
    ($o:expr) => {
        $o.push('\n')
    };
    ($o:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o, $($arg)*);
    }};
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
        Cmd::Show { what: Show::Stp } => Request::ShowStp,
        Cmd::Show {
            what: Show::Filters,
        } => Request::ShowFilters,
        Cmd::Show { what: Show::Sstp } => Request::ShowSstp,
        Cmd::Show { what: Show::Lsdb } => Request::ShowLsdb,
        Cmd::Show { what: Show::Routes } => Request::ShowRoutes,
        Cmd::Arp { what: Arp::Show } => Request::ArpShow,
        Cmd::Arp {
            what:
                Arp::Add {
                    port,
                    ip,
                    mac,
                    vlan,
                },
        } => Request::ArpAdd {
            port: port.clone(),
            ip: *ip,
            mac: mac.clone(),
            vlan: *vlan,
        },
        Cmd::Arp {
            what: Arp::Del { port, ip, vlan },
        } => Request::ArpDel {
            port: port.clone(),
            ip: *ip,
            vlan: *vlan,
        },
        Cmd::Set {
            what: Set::Priority { priority },
        } => Request::SetPriority {
            priority: *priority,
        },
        Cmd::Set {
            what: Set::PortCost { port, cost },
        } => Request::SetPortCost {
            port: port.clone(),
            cost: *cost,
        },
        Cmd::Set {
            what: Set::PortPriority { port, priority },
        } => Request::SetPortPriority {
            port: port.clone(),
            priority: *priority,
        },
        Cmd::Port { port, state } => Request::PortAdmin {
            port: port.clone(),
            up: matches!(state, AdminState::Up),
        },
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
    let mut o = String::new();
    if args.json {
        out!(
            o,
            "{}",
            serde_json::to_string_pretty(&resp.data).unwrap_or_default()
        );
        return emit(&o);
    }
    let printed = match req {
        Request::ShowPorts => {
            serde_json::from_value::<Vec<PortInfo>>(resp.data).map(|p| print_ports(&mut o, p))
        }
        Request::ShowFdb => {
            serde_json::from_value::<Vec<FdbRow>>(resp.data).map(|r| print_fdb(&mut o, r))
        }
        Request::ShowStats => {
            serde_json::from_value::<StatsReport>(resp.data).map(|s| print_stats(&mut o, s))
        }
        Request::ShowStp => {
            print_stp(&mut o, &resp.data);
            Ok(())
        }
        Request::ShowFilters => {
            print_filters(&mut o, &resp.data);
            Ok(())
        }
        Request::ArpShow => {
            print_arp(&mut o, &resp.data);
            Ok(())
        }
        Request::ShowSstp => {
            print_sstp(&mut o, &resp.data);
            Ok(())
        }
        Request::ShowLsdb => {
            print_lsdb(&mut o, &resp.data);
            Ok(())
        }
        Request::ShowRoutes => {
            print_routes(&mut o, &resp.data);
            Ok(())
        }
        _ => Ok(()),
    };
    if let Err(e) = printed {
        eprintln!("satctl: unexpected answer from satellited: {e}");
        return ExitCode::FAILURE;
    }
    emit(&o)
}

/// Writes the answer to stdout in one go. A reader that stops early
/// (`satctl show fdb | head`) closes the pipe: that is not an error, and
/// must not panic as `println!` would.
fn emit(text: &str) -> ExitCode {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("satctl: writing the answer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_ports(o: &mut String, ports: Vec<PortInfo>) {
    out!(
        o,
        "{:<4} {:<16} {:<10} {:<17} {:<5} {:<7} {:<11} {:>6}",
        "idx",
        "port",
        "backend",
        "mac",
        "link",
        "kind",
        "state",
        "fdb"
    );
    for p in ports {
        let state = match (p.learning, p.forwarding) {
            (_, true) => "forwarding",
            (true, false) => "learning",
            _ => "discarding",
        };
        out!(
            o,
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

fn print_fdb(o: &mut String, rows: Vec<FdbRow>) {
    out!(o, "{:<5} {:<17} {:<16} {:>6}", "vlan", "mac", "port", "age");
    for r in &rows {
        out!(
            o,
            "{:<5} {:<17} {:<16} {:>6}",
            r.vlan,
            r.mac,
            r.port,
            r.age_secs
        );
    }
    out!(o, "{} entries", rows.len());
}

fn print_stats(o: &mut String, s: StatsReport) {
    out!(o, "bridge {}  up {:.0} s", s.bridge, s.uptime_secs);
    out!(
        o,
        "{:<16} {:>12} {:>14} {:>12} {:>14} {:>8} {:>8}",
        "port",
        "rx_packets",
        "rx_bytes",
        "tx_packets",
        "tx_bytes",
        "punted",
        "drops"
    );
    for p in &s.ports {
        let drops: u64 = p.drops.values().sum();
        out!(
            o,
            "{:<16} {:>12} {:>14} {:>12} {:>14} {:>8} {:>8}",
            p.name,
            p.rx_packets,
            p.rx_bytes,
            p.tx_packets,
            p.tx_bytes,
            p.punted,
            drops
        );
    }
    out!(o, "drops by reason:");
    for p in &s.ports {
        for (r, n) in p.drops.iter().filter(|(_, n)| **n > 0) {
            out!(o, "  {:<16} {:<20} {:>10}", p.name, r, n);
        }
    }
    let f = &s.fdb;
    out!(
        o,
        "fdb: {} / {} entries; learned {} moved {} aged {} flushed {}; \
         table_full {} port_limit {} learn_queue_full {}",
        f.entries,
        f.capacity,
        f.learned,
        f.moved,
        f.aged,
        f.flushed,
        f.table_full,
        f.port_limit,
        f.learn_queue_full
    );
    out!(
        o,
        "snapshots published: {} (epoch {})",
        s.snapshot_publishes,
        s.snapshot_epoch
    );
    for w in &s.workers {
        let cpp = if w.busy_packets > 0 {
            w.busy_cycles as f64 / w.busy_packets as f64
        } else {
            0.0
        };
        out!(
            o,
            "worker {}: {} packets, {:.1} cycles/packet (TSC {:.2} GHz)",
            w.index,
            w.busy_packets,
            cpp,
            s.tsc_hz as f64 / 1e9
        );
    }
    for (k, v) in &s.control_frames {
        out!(o, "control frames {k}: {v}");
    }
}

fn print_stp(o: &mut String, v: &serde_json::Value) {
    let s = |k: &str| v[k].as_str().unwrap_or("-").to_string();
    let root_port = v["root_port_name"]
        .as_str()
        .unwrap_or("none (this bridge is root)");
    out!(o, "bridge id        {}", s("bridge_id"));
    out!(o, "root id          {}", s("root_id"));
    out!(o, "root port        {root_port}");
    out!(o, "root path cost   {}", v["root_path_cost"]);
    let since = v["time_since_topology_change"]
        .as_f64()
        .map(|t| format!("{t:.1} s ago"))
        .unwrap_or_else(|| "never".into());
    out!(
        o,
        "topology changes {} (last {since}){}",
        v["topology_change_count"],
        if v["topology_change"].as_bool() == Some(true) {
            ", in progress"
        } else {
            ""
        }
    );
    out!(o);
    out!(
        o,
        "{:<12} {:<11} {:<11} {:>9} {:<20} {:<6} {:<5} {:<4} {:<5}",
        "port",
        "role",
        "state",
        "cost",
        "designated bridge",
        "dport",
        "edge",
        "p2p",
        "proto"
    );
    for p in v["ports"].as_array().into_iter().flatten() {
        let yn = |k: &str| {
            if p[k].as_bool() == Some(true) {
                "yes"
            } else {
                "no"
            }
        };
        out!(
            o,
            "{:<12} {:<11} {:<11} {:>9} {:<20} {:<6} {:<5} {:<4} {:<5}",
            p["name"].as_str().unwrap_or("?"),
            p["role"].as_str().unwrap_or("?"),
            p["state"].as_str().unwrap_or("?"),
            p["path_cost"],
            p["designated_bridge"].as_str().unwrap_or("-"),
            p["designated_port"].as_str().unwrap_or("-"),
            yn("edge"),
            yn("point_to_point"),
            p["protocol"].as_str().unwrap_or("?"),
        );
    }
}

/// A JSON value as a table cell: strings bare, null as "-".
fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_sstp(o: &mut String, v: &serde_json::Value) {
    out!(
        o,
        "system           {} ({})",
        cell(&v["system"]),
        cell(&v["hostname"])
    );
    out!(
        o,
        "hello            {} ms, dead after {} missed",
        cell(&v["hello_interval_ms"]),
        cell(&v["dead_count"])
    );
    out!(
        o,
        "switches         {} known, {} reachable (this one included)",
        cell(&v["bridges_known"]),
        cell(&v["bridges_reachable"])
    );
    out!(o);
    out!(
        o,
        "{:<12} {:<18} {:<17} {:<12} {:>6} {:>10} {:<6} {:>9}",
        "port",
        "state",
        "neighbour",
        "name",
        "nport",
        "uptime",
        "synced",
        "cost"
    );
    for a in v["adjacencies"].as_array().into_iter().flatten() {
        let uptime = a["uptime_secs"]
            .as_f64()
            .map_or("-".into(), |t| format!("{t:.1}s"));
        let synced = match (a["synced"].as_bool(), a["advertised"].as_bool()) {
            (Some(true), Some(true)) => "yes",
            (Some(true), _) => "yes*",
            _ => "no",
        };
        out!(
            o,
            "{:<12} {:<18} {:<17} {:<12} {:>6} {:>10} {:<6} {:>9}",
            cell(&a["port"]),
            cell(&a["state"]),
            cell(&a["neighbour"]),
            cell(&a["neighbour_name"]),
            cell(&a["neighbour_port"]),
            uptime,
            synced,
            cell(&a["cost"])
        );
    }
}

fn print_lsdb(o: &mut String, v: &serde_json::Value) {
    out!(
        o,
        "{:<17} {:<12} {:>22} {:>5} {:>6} {:>6} {:>5} {:<9}",
        "origin",
        "name",
        "sequence",
        "frags",
        "age",
        "homes",
        "links",
        "reachable"
    );
    for r in v["origins"].as_array().into_iter().flatten() {
        let me = if r["me"].as_bool() == Some(true) {
            " (this switch)"
        } else {
            ""
        };
        let links = r["adjacencies"].as_array().map_or(0, Vec::len);
        out!(
            o,
            "{:<17} {:<12} {:>22} {:>5} {:>5}s {:>6} {:>5} {:<9}{me}",
            cell(&r["origin"]),
            cell(&r["hostname"]),
            cell(&r["sequence"]),
            cell(&r["fragments"]),
            cell(&r["age_secs"]),
            cell(&r["mac_homes"]),
            links,
            if r["reachable"].as_bool() == Some(true) {
                "yes"
            } else {
                "no"
            },
        );
        for a in r["adjacencies"].as_array().into_iter().flatten() {
            out!(
                o,
                "    port {:>3} -> {} {} port {} cost {}",
                cell(&a["local_port"]),
                cell(&a["neighbour"]),
                cell(&a["neighbour_name"]),
                cell(&a["remote_port"]),
                cell(&a["cost"])
            );
        }
    }
}

fn print_routes(o: &mut String, v: &serde_json::Value) {
    out!(
        o,
        "{:<17} {:<12} {:>9} {:<24} {:<10} {:<10}",
        "switch",
        "name",
        "distance",
        "next hops",
        "lfa",
        "wrap"
    );
    for r in v["routes"].as_array().into_iter().flatten() {
        let hops: Vec<String> = r["next_hops"]
            .as_array()
            .into_iter()
            .flatten()
            .map(cell)
            .collect();
        let lfa = match (&r["lfa"], r["lfa_node_protecting"].as_bool()) {
            (serde_json::Value::Null, _) => "-".to_string(),
            (p, Some(true)) => format!("{} (node)", cell(p)),
            (p, _) => cell(p),
        };
        let hops = if hops.is_empty() {
            "unreachable".to_string()
        } else {
            hops.join(",")
        };
        out!(
            o,
            "{:<17} {:<12} {:>9} {:<24} {:<10} {:<10}",
            cell(&r["bridge"]),
            cell(&r["hostname"]),
            cell(&r["distance"]),
            hops,
            lfa,
            cell(&r["wrap"])
        );
    }
}

fn print_filters(o: &mut String, v: &serde_json::Value) {
    let ports = v["ports"].as_array().cloned().unwrap_or_default();
    if ports.is_empty() {
        out!(o, "no port has edge filters");
    }
    for p in ports {
        out!(o, "{}:", p["name"].as_str().unwrap_or("?"));
        if let Some(m) = p["verdicts"].as_object() {
            for (k, n) in m
                .iter()
                .filter(|(k, n)| n.as_u64() != Some(0) || ["pass", "reply"].contains(&k.as_str()))
            {
                out!(o, "  {k:<32} {n}");
            }
        }
    }
}

fn print_arp(o: &mut String, v: &serde_json::Value) {
    out!(
        o,
        "{:<12} {:<5} {:<16} {:<17} {:<8}",
        "port",
        "vlan",
        "ip",
        "mac",
        "origin"
    );
    for r in v.as_array().into_iter().flatten() {
        out!(
            o,
            "{:<12} {:<5} {:<16} {:<17} {:<8}",
            r["port"].as_str().unwrap_or("(remote)"),
            r["vlan"],
            r["ip"].as_str().unwrap_or("?"),
            r["mac"].as_str().unwrap_or("?"),
            r["origin"].as_str().unwrap_or("?"),
        );
    }
}
