//! satctl — the command-line interface of satellited.
#![forbid(unsafe_code)]

mod show;

use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use satellite::control::{call, FdbRow, PortInfo, Request, StatsReport};
use satellite::topology::{render_svg, Topology, View};

/// Show and change a running satellited switch.
#[derive(Parser, Debug)]
#[command(
    name = "satctl",
    version,
    about = "Show and change a running satellited switch: ports, FDB, spanning tree, SSTP link state, topology, ARPless bindings",
    long_about = "Show and change a running satellited switch.\n\nsatctl talks to one running satellited over its control socket \
(/run/satellite/NAME.sock, or -s PATH). `show` commands print a table, or the \
daemon's JSON with --json; `set`, `port` and `arp` change the running switch \
at once (nothing is written to its configuration file); `reload` re-reads that file.",
    after_help = "Examples:
  satctl show ports                       ports, link and forwarding state
  satctl -n s1 show stp                   spanning tree of switch s1
  satctl -s /tmp/s1.sock show lsdb --json the link-state database as JSON
  satctl show topology --format svg > fabric.svg
  satctl set priority 4096                make this switch the root
  satctl port add eth3 --kind edge        a port on the running switch
  satctl reload                           re-read the configuration file
  satctl completions bash > /etc/bash_completion.d/satctl"
)]
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
    /// Show the switch's state (read-only).
    #[command(after_help = "Example:\n  satctl show stp")]
    Show {
        #[command(subcommand)]
        what: Show,
    },
    /// Change a spanning-tree setting of the running switch.
    #[command(after_help = "Example:\n  satctl set priority 4096")]
    Set {
        #[command(subcommand)]
        what: Set,
    },
    /// ARPless bindings (IPv4 ↔ MAC) on edge ports.
    #[command(after_help = "Example:\n  satctl arp add vm1 10.0.0.1 02:00:00:04:00:01")]
    Arp {
        #[command(subcommand)]
        what: Arp,
    },
    /// Add a port to the running switch, remove one, or take a port
    /// administratively down or up.
    #[command(
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true,
        after_help = "Examples:\n  satctl port eth1 down\n  satctl port add eth3 --kind edge\n  \
        satctl port del eth3\n\n\
        `port add` and `port del` change the running switch only; list the port in \
        the configuration file to keep it across a restart (docs/runtime-changes.md)."
    )]
    Port {
        #[command(subcommand)]
        change: Option<PortChange>,
        /// Port name (see `show ports`).
        #[arg(required = true)]
        port: Option<String>,
        /// up or down.
        #[arg(value_enum, required = true)]
        state: Option<AdminState>,
    },
    /// Re-read the configuration file and apply what changed (as SIGHUP does).
    ///
    /// Applies bridge priority and timers, port costs and priorities,
    /// filters, storm control, ports added and removed; other ports keep
    /// forwarding. An invalid file is refused (file, line, key), exit status
    /// 1, and the running configuration stays. Settings only a restart
    /// changes (EAL, workers, memory, [sstp], ...) are named and keep their
    /// running values.
    #[command(after_help = "Examples:\n  satctl reload\n  \
        satctl -s /run/satellite/s1.sock reload --json\n  \
        kill -HUP $(pidof satellited)        the same, by signal (outcome in the log)")]
    Reload,
    /// Print a shell completion script for satctl.
    #[command(
        after_help = "Examples:\n  satctl completions bash > /etc/bash_completion.d/satctl\n  \
        satctl completions zsh > \"${fpath[1]}/_satctl\"\n  \
        satctl completions fish > ~/.config/fish/completions/satctl.fish"
    )]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
enum PortChange {
    /// Add a port on a kernel interface (AF_XDP or AF_PACKET, as at start),
    /// or the configuration file's vhost-user port of that name.
    #[command(after_help = "Examples:\n  satctl port add eth3\n  \
        satctl -s /run/satellite/s1.sock port add s1-eth3 --kind fabric\n  \
        satctl port add vm1    # [[port]] name = \"vm1\" backend = \"vhost_user\" in the file")]
    Add {
        /// Kernel interface, or a vhost_user port's name in the file.
        iface: String,
        /// edge (hosts), fabric (switches) or auto (decided by what the port
        /// hears); default: the configuration file's for this interface,
        /// else auto.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
    },
    /// Remove a port; the other ports keep forwarding.
    #[command(after_help = "Example:\n  satctl port del eth3")]
    Del {
        /// Port name (see `show ports`).
        iface: String,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum KindArg {
    Edge,
    Fabric,
    Auto,
}

impl From<KindArg> for satellite::config::PortKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Edge => Self::Edge,
            KindArg::Fabric => Self::Fabric,
            KindArg::Auto => Self::Auto,
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum AdminState {
    Up,
    Down,
}

#[derive(Subcommand, Debug)]
enum Arp {
    /// List every binding: configured, added here, learned.
    #[command(after_help = "Example:\n  satctl arp show")]
    Show,
    /// Bind IP to MAC on a port: ARP for IP is answered with MAC there.
    #[command(after_help = "Example:\n  satctl arp add vm1 10.0.0.1 02:00:00:04:00:01 --vlan 10")]
    Add {
        /// Edge port the host is on.
        port: String,
        /// The host's IPv4 address.
        ip: std::net::Ipv4Addr,
        /// The host's MAC address.
        mac: String,
        /// VLAN of the binding (default: the port's access VLAN, else 0).
        #[arg(long)]
        vlan: Option<u16>,
    },
    /// Remove a binding added with `arp add` (or learned).
    #[command(after_help = "Example:\n  satctl arp del vm1 10.0.0.1")]
    Del {
        /// Edge port of the binding.
        port: String,
        /// IPv4 address of the binding.
        ip: std::net::Ipv4Addr,
        /// VLAN of the binding (default: the port's access VLAN, else 0).
        #[arg(long)]
        vlan: Option<u16>,
    },
}

#[derive(Subcommand, Debug)]
enum Set {
    /// Set the bridge priority: a multiple of 4096 in 0..=61440 (lower wins root).
    #[command(
        after_help = "Example (as `brctl setbridgeprio s4 50`, make s4 root):\n  satctl -n s4 set priority 4096"
    )]
    Priority {
        /// 0, 4096, ..., 61440 (default 32768).
        priority: u32,
    },
    /// Set a port's spanning-tree path cost (lower: preferred toward the root).
    #[command(after_help = "Example:\n  satctl set port-cost eth1 2000")]
    PortCost {
        /// Port name (see `show ports`).
        port: String,
        /// 1..=200000000 (802.1D-2004 default: 20000 at 1 Gb/s).
        cost: u32,
    },
    /// Set a port's spanning-tree priority: a multiple of 16 in 0..=240.
    #[command(after_help = "Example:\n  satctl set port-priority eth1 64")]
    PortPriority {
        /// Port name (see `show ports`).
        port: String,
        /// 0, 16, ..., 240 (default 128).
        priority: u32,
    },
}

#[derive(Subcommand, Debug)]
enum Show {
    /// Ports: backend, MAC, link, kind, forwarding state, learned addresses.
    #[command(after_help = "Example:\n  satctl show ports")]
    Ports,
    /// The filtering database: VLAN, MAC, port, age of every entry.
    #[command(after_help = "Example:\n  satctl show fdb | grep 02:00:00:04")]
    Fdb,
    /// Counters: per port, drops by reason, FDB, workers.
    #[command(after_help = "Example:\n  satctl show stats --json")]
    Stats,
    /// Spanning tree: bridge, root, per-port role and state.
    #[command(after_help = "Example:\n  satctl show stp")]
    Stp,
    /// Edge-filter verdicts per filtered port (VLAN, Interstellar, ARPless).
    #[command(after_help = "Example:\n  satctl show filters")]
    Filters,
    /// Link state (SSTP): this switch and its adjacencies.
    #[command(after_help = "Example:\n  satctl show sstp")]
    Sstp,
    /// Link state (SSTP): every switch's LSP and its links.
    #[command(after_help = "Example:\n  satctl show lsdb")]
    Lsdb,
    /// Link state (SSTP): distance, next hops and repair toward each switch.
    #[command(after_help = "Example:\n  satctl show routes")]
    Routes,
    /// The fabric: bridges, links, root, port roles and states, blocked
    /// links, load. From one daemon's link-state database and its own
    /// ports; every --from adds a daemon's own port roles.
    #[command(after_help = "Examples:\n  satctl show topology\n  \
        satctl show topology --format svg > fabric.svg\n  \
        satctl show topology --from /run/satellite/s1.sock --from /run/satellite/s2.sock --format dot | dot -Tpng > fabric.png\n  \
        satctl show topology --sample 1 --format json")]
    Topology {
        /// text (a table), dot (Graphviz), svg (drawn by Graphviz `dot`), json.
        #[arg(long, value_enum, default_value = "text")]
        format: TopoFormat,
        /// Ask the daemon at SOCK and merge its view (repeatable); without
        /// --from, the -s/-n socket alone.
        #[arg(long = "from", value_name = "SOCK")]
        from: Vec<PathBuf>,
        /// Read the counters twice, SECS apart, and show frames per second.
        #[arg(long, value_name = "SECS")]
        sample: Option<f64>,
        /// Draw a topology saved with `--format json` instead of asking daemons.
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum TopoFormat {
    Text,
    Dot,
    Svg,
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("/run/satellite/{}.sock", args.name)));
    let req = match &args.cmd {
        Cmd::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Args::command(),
                "satctl",
                &mut std::io::stdout(),
            );
            return ExitCode::SUCCESS;
        }
        Cmd::Show {
            what:
                Show::Topology {
                    format,
                    from,
                    sample,
                    input,
                },
        } => {
            let format = if args.json { TopoFormat::Json } else { *format };
            let sockets = if from.is_empty() {
                vec![socket]
            } else {
                from.clone()
            };
            return match topology(&sockets, *sample, input.as_ref(), format) {
                Ok(text) => emit(&text),
                Err(e) => {
                    eprintln!("satctl: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Cmd::Show { what } => match what {
            Show::Ports => Request::ShowPorts,
            Show::Fdb => Request::ShowFdb,
            Show::Stats => Request::ShowStats,
            Show::Stp => Request::ShowStp,
            Show::Filters => Request::ShowFilters,
            Show::Sstp => Request::ShowSstp,
            Show::Lsdb => Request::ShowLsdb,
            Show::Routes => Request::ShowRoutes,
            Show::Topology { .. } => unreachable!("answered above"),
        },
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
        Cmd::Port {
            change: Some(PortChange::Add { iface, kind }),
            ..
        } => Request::PortAdd {
            port: iface.clone(),
            kind: kind.map(Into::into),
        },
        Cmd::Port {
            change: Some(PortChange::Del { iface }),
            ..
        } => Request::PortDel {
            port: iface.clone(),
        },
        Cmd::Port {
            change: None,
            port,
            state,
        } => Request::PortAdmin {
            port: port.clone().unwrap_or_default(),
            up: matches!(state, Some(AdminState::Up)),
        },
        Cmd::Reload => Request::Reload,
    };
    let data = match ask(&socket, &req) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("satctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut o = String::new();
    if args.json {
        o = serde_json::to_string_pretty(&data).unwrap_or_default();
        o.push('\n');
        return emit(&o);
    }
    let printed: Result<(), serde_json::Error> = match req {
        Request::ShowPorts => {
            serde_json::from_value::<Vec<PortInfo>>(data).map(|p| show::ports(&mut o, p))
        }
        Request::ShowFdb => {
            serde_json::from_value::<Vec<FdbRow>>(data).map(|r| show::fdb(&mut o, r))
        }
        Request::ShowStats => {
            serde_json::from_value::<StatsReport>(data).map(|s| show::stats(&mut o, s))
        }
        other => {
            if let Some(print) = untyped(&other) {
                print(&mut o, &data);
            }
            Ok(())
        }
    };
    if let Err(e) = printed {
        eprintln!("satctl: unexpected answer from satellited: {e}");
        return ExitCode::FAILURE;
    }
    emit(&o)
}

/// The printer of a report read straight from the JSON (the daemon may
/// add fields freely); None for settings, which print nothing.
fn untyped(req: &Request) -> Option<fn(&mut String, &serde_json::Value)> {
    Some(match req {
        Request::ShowStp => show::stp,
        Request::ShowFilters => show::filters,
        Request::ArpShow => show::arp,
        Request::ShowSstp => show::sstp,
        Request::ShowLsdb => show::lsdb,
        Request::ShowRoutes => show::routes,
        Request::Reload => show::reload,
        Request::PortAdd { .. } => show::port_added,
        _ => return None,
    })
}

/// One request; the daemon's data, or its error.
fn ask(socket: &std::path::Path, req: &Request) -> Result<serde_json::Value, String> {
    let resp = call(socket, req)?;
    if resp.ok {
        Ok(resp.data)
    } else {
        Err(resp.error.unwrap_or_default())
    }
}

/// What one daemon knows for the picture; parts it has disabled (SSTP,
/// the spanning tree) are left out.
fn view(socket: &std::path::Path) -> Result<View, String> {
    let stats = ask(socket, &Request::ShowStats)?;
    Ok(View {
        stp: ask(socket, &Request::ShowStp).ok(),
        sstp: ask(socket, &Request::ShowSstp).ok(),
        lsdb: ask(socket, &Request::ShowLsdb).ok(),
        stats: Some(stats),
    })
}

fn topology(
    sockets: &[PathBuf],
    sample: Option<f64>,
    input: Option<&PathBuf>,
    format: TopoFormat,
) -> Result<String, String> {
    let t = match input {
        Some(f) => {
            let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?
        }
        None => {
            let views = || {
                sockets
                    .iter()
                    .map(|s| view(s))
                    .collect::<Result<Vec<_>, _>>()
            };
            let first = Topology::build(&views()?);
            match sample {
                Some(secs) if secs > 0.0 => {
                    let t0 = std::time::Instant::now();
                    std::thread::sleep(std::time::Duration::from_secs_f64(secs));
                    let mut t = Topology::build(&views()?);
                    t.rates_since(&first, t0.elapsed().as_secs_f64());
                    t
                }
                _ => first,
            }
        }
    };
    Ok(match format {
        TopoFormat::Json => {
            let mut s = serde_json::to_string_pretty(&t).map_err(|e| e.to_string())?;
            s.push('\n');
            s
        }
        TopoFormat::Dot => t.to_dot(),
        TopoFormat::Svg => render_svg(&t.to_dot())?,
        TopoFormat::Text => {
            let mut o = String::new();
            show::topology(&mut o, &t);
            o
        }
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command down to the leaves, with its path.
    fn walk(cmd: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let p = format!("{path} {}", sub.get_name());
            out.push((p.clone(), sub.clone()));
            walk(sub, p, out);
        }
    }

    #[test]
    fn help_describes_the_cli_and_every_command_has_an_example() {
        let mut cmd = Args::command();
        cmd.build();
        let help = cmd.render_long_help().to_string();
        assert!(
            help.starts_with("Show and change a running satellited"),
            "{help}"
        );
        assert!(
            !help.contains("switch daemon)"),
            "the crate's description leaked: {help}"
        );
        let mut all = vec![];
        walk(&cmd, "satctl".into(), &mut all);
        assert!(all.len() >= 20, "{} commands", all.len());
        for (path, sub) in &all {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            assert!(
                !about.is_empty(),
                "`{path}` says nothing about what it does"
            );
            let after = sub
                .get_after_help()
                .map(|a| a.to_string())
                .unwrap_or_default();
            assert!(after.contains("Example"), "`{path}` has no example");
            assert!(
                after.contains("satctl "),
                "`{path}`'s example is not a command"
            );
        }
    }

    #[test]
    fn port_takes_add_del_and_the_admin_state() {
        let parse = |line: &str| Args::try_parse_from(line.split_whitespace());
        let a = parse("satctl -s /tmp/x.sock port add s1-eth3 --kind edge").unwrap();
        assert!(matches!(
            a.cmd,
            Cmd::Port {
                change: Some(PortChange::Add {
                    kind: Some(KindArg::Edge),
                    ..
                }),
                ..
            }
        ));
        let d = parse("satctl -s /tmp/x.sock port del s1-eth3").unwrap();
        assert!(matches!(
            d.cmd,
            Cmd::Port {
                change: Some(PortChange::Del { .. }),
                ..
            }
        ));
        let u = parse("satctl port eth1 down").unwrap();
        assert!(matches!(
            u.cmd,
            Cmd::Port {
                change: None,
                state: Some(AdminState::Down),
                ..
            }
        ));
        assert!(parse("satctl port eth1").is_err(), "the state is required");
        assert!(
            parse("satctl port add").is_err(),
            "the interface is required"
        );
        assert!(parse("satctl port add eth3 --kind wild").is_err());
    }

    #[test]
    fn completions_cover_every_subcommand() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Args::command(), "satctl", &mut buf);
            let text = String::from_utf8(buf).unwrap();
            for word in [
                "topology",
                "lsdb",
                "port-cost",
                "completions",
                "--from",
                "reload",
                "kind",
            ] {
                assert!(text.contains(word), "{shell:?} completion lacks {word}");
            }
        }
    }
}
