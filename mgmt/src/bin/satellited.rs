//! satellited — the Satellite switch daemon.
#![forbid(unsafe_code)]

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use satellite::config::{ConfigSource, Overrides};
use satellite::daemon::Daemon;
use satellite::{metrics, server};

/// Poll-mode userspace Ethernet switch on DPDK.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// TOML configuration file (see configs/). Without one, defaults apply.
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Add a port on this kernel interface (AF_XDP or AF_PACKET). Repeatable.
    #[arg(long = "iface", short = 'i')]
    ifaces: Vec<String>,
    /// Extra EAL arguments, one string (e.g. '--vdev net_null0 --vdev net_null1').
    #[arg(long, allow_hyphen_values = true)]
    eal: Option<String>,
    /// Name of this switch (socket path, log lines, EAL file prefix).
    #[arg(long)]
    name: Option<String>,
    /// Control socket path (default /run/satellite/NAME.sock).
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Serve Prometheus /metrics on this address (127.0.0.1:9477), or on
    /// localhost at this port (9477).
    #[arg(long)]
    metrics: Option<String>,
    /// Number of worker lcores.
    #[arg(long)]
    workers: Option<u16>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let source = ConfigSource {
        file: args.config.clone(),
        overrides: Overrides {
            ifaces: args.ifaces.clone(),
            eal: args
                .eal
                .iter()
                .flat_map(|e| e.split_whitespace().map(str::to_owned))
                .collect(),
            name: args.name.clone(),
            socket: args.socket.clone(),
            metrics: args.metrics.clone(),
            workers: args.workers,
        },
    };
    let cfg = match source.load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("satellited: {e}");
            return ExitCode::from(2);
        }
    };

    let stop = Arc::new(AtomicBool::new(false));
    // SIGHUP re-reads the configuration file (docs/runtime-changes.md).
    let hup = Arc::new(AtomicBool::new(false));
    for (sig, flag) in [
        (signal_hook::consts::SIGTERM, &stop),
        (signal_hook::consts::SIGINT, &stop),
        (signal_hook::consts::SIGHUP, &hup),
    ] {
        if let Err(e) = signal_hook::flag::register(sig, flag.clone()) {
            eprintln!("satellited: cannot handle signal {sig}: {e}");
            return ExitCode::FAILURE;
        }
    }

    let socket = cfg.socket_path();
    let metrics_addr = cfg.metrics.addr();
    let socket_group = cfg.control.group.clone();
    let mut daemon = match Daemon::start(cfg, source) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("satellited: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (tx, rx) = crossbeam::channel::bounded(64);
    if let Err(e) = server::spawn(&socket, socket_group.as_deref(), tx.clone()) {
        eprintln!("satellited: {e}");
        daemon.shutdown();
        return ExitCode::FAILURE;
    }
    if let Some(addr) = metrics_addr {
        if let Err(e) = metrics::spawn(addr, tx.clone()) {
            eprintln!("satellited: {e}");
            daemon.shutdown();
            let _ = std::fs::remove_file(&socket);
            return ExitCode::FAILURE;
        }
    }
    drop(tx);
    tracing::info!("satellited running");
    daemon.run(rx, &stop, &hup);
    daemon.shutdown();
    let _ = std::fs::remove_file(&socket);
    ExitCode::SUCCESS
}
