//! The control socket protocol between `satctl` and `satellited`.
//!
//! One JSON object per line each way: a [`Request`], then a [`Response`].
//! Plain JSON keeps the socket scriptable (`socat`, `nc -U`) and lets
//! `satctl --json` print the daemon's answer as it came.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    ShowPorts,
    ShowFdb,
    ShowStats,
    ShowStp,
    /// SSTP: this switch and its adjacencies.
    ShowSstp,
    /// SSTP: the link-state database.
    ShowLsdb,
    /// SSTP: the route to every other Satellite switch.
    ShowRoutes,
    /// Bridge priority: a multiple of 4096 in 0..=61440.
    SetPriority {
        priority: u32,
    },
    SetPortCost {
        port: String,
        cost: u32,
    },
    /// Port priority: a multiple of 16 in 0..=240.
    SetPortPriority {
        port: String,
        priority: u32,
    },
    /// Administratively enable or disable a port.
    PortAdmin {
        port: String,
        up: bool,
    },
    /// Edge-filter verdict counters per filtered port.
    ShowFilters,
    /// ARPless bindings.
    ArpShow,
    ArpAdd {
        port: String,
        ip: std::net::Ipv4Addr,
        mac: String,
        vlan: Option<u16>,
    },
    ArpDel {
        port: String,
        ip: std::net::Ipv4Addr,
        vlan: Option<u16>,
    },
    /// Add a port on a kernel interface, or the file's vhost-user port of
    /// that name, to the running switch.
    PortAdd {
        port: String,
        /// Unset: the file's kind for the interface, else auto.
        #[serde(default)]
        kind: Option<crate::config::PortKind>,
    },
    /// Remove a port from the running switch.
    PortDel {
        port: String,
    },
    /// Read the configuration file again and apply what changed (as
    /// SIGHUP does).
    Reload,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl Response {
    pub fn ok(data: impl Serialize) -> Response {
        Response {
            ok: true,
            error: None,
            data: serde_json::to_value(data).unwrap_or_default(),
        }
    }
    pub fn err(msg: impl Into<String>) -> Response {
        Response {
            ok: false,
            error: Some(msg.into()),
            data: serde_json::Value::Null,
        }
    }
}

/// The longest request line the daemon reads, newline included: the
/// longest real request (`arp_add` with a long port name) is ~150 bytes,
/// and a connection must not make the daemon buffer without bound.
pub const MAX_REQUEST_LEN: usize = 4096;

/// Why a request line was refused (the reply's `error` says which).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Longer than [`MAX_REQUEST_LEN`].
    #[error("request longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Not a JSON [`Request`] (bad UTF-8, syntax, unknown `cmd`, wrong field type).
    #[error("bad request: {0}")]
    Malformed(String),
}

/// Decodes one request line (trailing newline optional). Pure, so it is
/// fuzzed (`fuzz/`) and unit-tested apart from the socket.
pub fn parse_request(line: &[u8]) -> Result<Request, RequestError> {
    if line.len() > MAX_REQUEST_LEN {
        return Err(RequestError::TooLong {
            max: MAX_REQUEST_LEN,
        });
    }
    serde_json::from_slice(line).map_err(|e| RequestError::Malformed(e.to_string()))
}

/// One port as `show ports` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortInfo {
    pub index: u16,
    pub name: String,
    pub backend: String,
    pub dpdk_port: u16,
    pub mac: String,
    pub link_up: bool,
    pub speed_mbps: u32,
    pub kind: String,
    pub admin_up: bool,
    pub learning: bool,
    pub forwarding: bool,
    pub fdb_entries: u32,
}

/// One FDB entry as `show fdb` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FdbRow {
    pub vlan: u16,
    pub mac: String,
    pub port: String,
    pub age_secs: u32,
}

/// Counters of one port.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PortStats {
    pub name: String,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Of `tx_packets`, frames the switch itself sent (BPDUs, SSTP PDUs,
    /// ARPless replies), queued for sending.
    #[serde(default)]
    pub tx_control_packets: u64,
    pub punted: u64,
    /// Drops by reason (every reason present, zero included).
    pub drops: BTreeMap<String, u64>,
    /// What the device itself counted as lost (no RX descriptor, no mbuf).
    pub rx_missed: u64,
    /// Spanning-tree role and state, when the spanning tree runs.
    pub stp_role: Option<String>,
    pub stp_state: Option<String>,
    /// BPDUs by type (config, tcn, rst) received and sent.
    pub bpdus_rx: BTreeMap<String, u64>,
    pub bpdus_tx: BTreeMap<String, u64>,
    /// Times BPDU guard disabled the port.
    pub bpdu_guard_trips: u64,
    /// SSTP frames refused on this host port.
    #[serde(default)]
    pub sstp_refused: u64,
    /// Edge-filter verdicts (pass, reply, learn, drop reasons); empty on
    /// ports without filters.
    pub filter_verdicts: BTreeMap<String, u64>,
    /// DHCPCAST: broadcast DHCP frames that came in here and went on as
    /// unicast, by direction (`request`: a client's to its server,
    /// `reply`: a designated server's answer to its client).
    #[serde(default)]
    pub dhcpcast_steered: BTreeMap<String, u64>,
    pub admin_up: bool,
    pub link_up: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FdbStatsReport {
    pub entries: u64,
    pub capacity: u64,
    pub learned: u64,
    pub moved: u64,
    pub aged: u64,
    pub flushed: u64,
    pub table_full: u64,
    pub port_limit: u64,
    pub learn_queue_full: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerStats {
    pub index: usize,
    pub busy_cycles: u64,
    pub busy_packets: u64,
}

/// `show stats`, and everything `/metrics` exports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsReport {
    pub bridge: String,
    pub uptime_secs: f64,
    pub ports: Vec<PortStats>,
    pub fdb: FdbStatsReport,
    pub snapshot_publishes: u64,
    pub snapshot_epoch: u64,
    pub workers: Vec<WorkerStats>,
    pub mempool_available: u64,
    pub tsc_hz: u64,
    /// Control frames received by the control lcore, by kind.
    pub control_frames: BTreeMap<String, u64>,
    /// Topology changes the spanning tree saw.
    pub stp_topology_changes: u64,
    /// BPDUs that failed to parse.
    pub stp_invalid_bpdus: u64,
    /// Frames of the control lcore lost (no mbuf or injection queue full).
    pub control_tx_failed: u64,
    /// The link state, when SSTP runs.
    #[serde(default)]
    pub sstp: Option<SstpStatsReport>,
    /// What memory the data path runs on.
    #[serde(default)]
    pub memory: MemoryReport,
    /// Ports added and removed, and configuration reloads, at run time.
    #[serde(default)]
    pub changes: ChangesReport,
}

/// Run-time changes of the switch, counted since start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesReport {
    /// Ports added at run time (`satctl port add`, or a reload).
    pub ports_added: u64,
    /// Ports removed at run time (`satctl port del`, or a reload).
    pub ports_removed: u64,
    /// Configuration reloads applied, and refused (the file was invalid).
    pub reloads: u64,
    pub reloads_refused: u64,
}

/// SSTP's counters for `show stats` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SstpStatsReport {
    /// Adjacencies up.
    pub adjacencies_up: u64,
    /// Adjacencies up and in sync (carrying unicast).
    pub links_advertised: u64,
    /// Switches in the database, and of them reachable.
    pub bridges_known: u64,
    pub bridges_reachable: u64,
    /// MAC homes: advertised by this switch, known from all, and those of
    /// other switches in the FDB (routed by the link state).
    pub mac_homes_local: u64,
    pub mac_homes_known: u64,
    #[serde(default)]
    pub mac_homes_routed: u64,
    /// LSP fragments in the database.
    pub lsp_fragments: u64,
    pub lsps_originated: u64,
    pub lsps_received: u64,
    pub lsps_flooded: u64,
    pub lsps_retransmitted: u64,
    pub fails_originated: u64,
    pub fails_relayed: u64,
    pub fails_stale: u64,
    pub adjacency_ups: u64,
    pub adjacency_downs: u64,
    /// PDUs by type.
    pub rx: BTreeMap<String, u64>,
    pub tx: BTreeMap<String, u64>,
    /// PDUs dropped, by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Entries left out by a limit, by kind.
    pub overflows: BTreeMap<String, u64>,
    /// SPF runs and their durations: cumulative counts per bucket bound
    /// (seconds), count, sum.
    pub spf_runs: u64,
    pub spf_duration_buckets: Vec<(f64, u64)>,
    pub spf_duration_count: u64,
    pub spf_duration_sum_secs: f64,
    /// BPDUs dropped for naming an unreachable root; dead roots aged.
    pub stale_root_bpdus: u64,
    pub stale_roots_aged: u64,
    /// Times the routes or MAC homes changed.
    pub route_changes: u64,
    /// Hosts that moved from this switch to another (outranked by a
    /// higher move sequence) and were withdrawn here.
    #[serde(default)]
    pub mac_moves_away: u64,
    /// Hosts heard here but not advertised: duplicate MACs (moved away
    /// too often).
    #[serde(default)]
    pub mac_duplicates: u64,
}

/// What memory the data path runs on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryReport {
    /// The EAL runs on hugepages.
    pub hugepages: bool,
    /// New FDB shards, snapshots and filter tables go to DPDK's heap.
    pub tables_in_dpdk_heap: bool,
    /// Table blocks in DPDK's heap now.
    pub dpdk_table_blocks: u64,
    /// Table allocations that found DPDK's heap full and used the
    /// process heap instead.
    pub table_fallbacks: u64,
}

/// Sends one request to the daemon at `socket` and returns its answer.
pub fn call(socket: &Path, req: &Request) -> Result<Response, String> {
    let stream = UnixStream::connect(socket).map_err(|e| {
        format!(
            "cannot connect to {}: {e} (is satellited running?)",
            socket.display()
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut w = &stream;
    let mut line = serde_json::to_string(req).map_err(|e| e.to_string())?;
    line.push('\n');
    w.write_all(line.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut reply = String::new();
    BufReader::new(&stream)
        .read_line(&mut reply)
        .map_err(|e| format!("read: {e}"))?;
    serde_json::from_str(&reply).map_err(|e| format!("bad reply from daemon: {e}"))
}
