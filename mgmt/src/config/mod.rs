//! The daemon's configuration: TOML file, command-line overrides, defaults.
//!
//! Every field has a default, so `satellited --iface eth1 --iface eth2` runs
//! with no file at all. A bad file is rejected with its path, the line and
//! the key at fault (see [`ConfigError`]).

pub mod filters;

pub use crate::hugepages::Hugepages;
use satellite_protocol::rstp;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A configuration error that names where it is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: key `{key}`: {message}")]
    Invalid {
        file: String,
        line: usize,
        key: String,
        message: String,
    },
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}

/// How a port reaches its kernel interface, or, for `vhost_user`, its
/// virtual machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// AF_XDP when a BPF file system is mounted, else AF_PACKET.
    #[default]
    Auto,
    AfPacket,
    AfXdp,
    /// A vhost-user socket (`socket`) a VM's virtio-net device attaches
    /// to; no kernel interface (docs/ports-and-backends.md "vhost-user").
    VhostUser,
}

/// Port role in the fabric (ARCHITECTURE.md "Port kinds").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortKind {
    /// Fabric when a BPDU is heard, edge when none is within migrate time.
    #[default]
    Auto,
    Edge,
    Fabric,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BridgeConfig {
    /// Name of this switch: used for the control socket, the EAL file
    /// prefix and log lines. Default: `satellite`.
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataplaneConfig {
    /// Worker lcores (threads polling ports).
    pub workers: u16,
    /// CPU core of each worker; default: the last cores of the machine.
    pub worker_cores: Vec<usize>,
    /// Extra EAL arguments (PCI devices, vhost-user, ring ports ...).
    pub eal: Vec<String>,
    /// EAL memory in MB (preallocated at start; on hugepages the heap may
    /// grow beyond it while free pages last).
    pub memory_mb: u32,
    /// Run on hugepages: `"auto"` (when a hugetlbfs is mounted with
    /// `memory_mb` free, else `--no-huge`, logged), `true` (refuse to start
    /// without) or `false` (`--no-huge`). On hugepages the FDB, snapshots
    /// and filter tables live in DPDK's hugepage heap too.
    pub hugepages: Hugepages,
    /// Mbufs in the packet pool.
    pub mbufs: u32,
    /// Descriptors per RX/TX queue.
    pub ring_size: u16,
    /// Longest sleep of an idle worker, microseconds (0: never sleep).
    pub max_idle_sleep_us: u64,
    /// Longest frame accepted, bytes, headers included.
    pub max_frame_len: u32,
}

impl Default for DataplaneConfig {
    fn default() -> Self {
        DataplaneConfig {
            workers: 1,
            worker_cores: Vec::new(),
            eal: Vec::new(),
            memory_mb: 256,
            hugepages: Hugepages::Auto,
            mbufs: 8191,
            ring_size: 1024,
            max_idle_sleep_us: 200,
            max_frame_len: satellite_dataplane::snapshot::DEFAULT_MAX_FRAME_LEN,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FdbConfig {
    /// Most entries in the table.
    pub capacity: usize,
    /// Most entries learned on one port.
    pub per_port_limit: u32,
    /// Most sources one host port (edge, or auto found edge) may learn; a
    /// host port holding that many drops frames from any other source
    /// (port security), so a MAC flood stops at its port. A server's port
    /// carries its VMs and containers: thousands, not a fabric's worth.
    pub host_port_limit: u32,
    /// Seconds an unused entry lives (802.1D default 300).
    pub aging_time: u32,
    /// Benchmarks only: a fixed seed for the table's hash, so the same
    /// stations land in the same buckets on every run and instruction
    /// counts repeat (scripts/callgrind-worker.sh). Unset (the default):
    /// a random seed, so nobody can choose addresses that pile into one
    /// bucket chain.
    pub hash_seed: Option<u64>,
}

impl Default for FdbConfig {
    fn default() -> Self {
        FdbConfig {
            capacity: 1 << 20,
            per_port_limit: 1 << 18,
            host_port_limit: 4096,
            aging_time: 300,
            hash_seed: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {
    /// Unix socket for satctl. Default: /run/satellite/NAME.sock.
    pub socket: Option<PathBuf>,
    /// Group (name or number) that owns the socket; the socket is mode
    /// 0660, so its members may run satctl without being root. Unset: the
    /// daemon's own group.
    pub group: Option<String>,
}

/// Storm control on host ports: flooded frames per second per class, per
/// port (0: unlimited). A host's ARP, ND and DHCP need some hundreds a
/// second; a storm is hundreds of thousands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StormControlConfig {
    pub broadcast_pps: u32,
    pub multicast_pps: u32,
    pub unknown_unicast_pps: u32,
    /// Frames a class may send at once after a quiet spell.
    pub burst: u32,
}

impl Default for StormControlConfig {
    fn default() -> Self {
        StormControlConfig {
            broadcast_pps: 10_000,
            multicast_pps: 10_000,
            unknown_unicast_pps: 10_000,
            burst: 1_000,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Address for Prometheus `/metrics`: "127.0.0.1:9477", or a bare
    /// port ("9477") for localhost. Another interface must be named
    /// explicitly ("0.0.0.0:9477"): the counters describe the network.
    /// Unset: off.
    pub listen: Option<String>,
}

impl MetricsConfig {
    /// The address `/metrics` binds to, if it is on and valid.
    pub fn addr(&self) -> Option<std::net::SocketAddr> {
        let l = self.listen.as_deref()?.trim();
        let port = l.strip_prefix(':').unwrap_or(l);
        match port.parse::<u16>() {
            Ok(p) => Some((std::net::Ipv4Addr::LOCALHOST, p).into()),
            Err(_) => l.parse().ok(),
        }
    }
}

/// Which spanning-tree protocol a bridge speaks (Force Protocol Version).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StpVersion {
    /// 802.1D-1998 STP only (Force Protocol Version 0).
    Stp,
    /// RSTP, falling back to STP per port toward legacy bridges.
    #[default]
    Rstp,
}

/// Spanning tree (802.1D-2004 clause 17). Defaults are the standard's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StpConfig {
    /// Run the spanning tree on the ports (off: a plain learning switch,
    /// which loops on a ring).
    pub enabled: bool,
    /// Bridge priority: a multiple of 4096 in 0..=61440.
    pub priority: u16,
    /// Seconds between BPDUs (1..=10).
    pub hello_time: u16,
    /// Seconds root information lives (6..=40).
    pub max_age: u16,
    /// Seconds in each of listening/learning for STP neighbours (4..=30).
    pub forward_delay: u16,
    /// BPDUs per port per hello time at most (1..=10).
    pub tx_hold_count: u8,
    pub force_version: StpVersion,
    /// Seconds after which a port BPDU guard disabled comes back by itself
    /// (a loop through a host bridge trips it again at the next BPDU);
    /// 0: it stays down until `satctl port P up`.
    pub bpdu_guard_recovery: u32,
}

impl Default for StpConfig {
    fn default() -> Self {
        use satellite_protocol::rstp as r;
        StpConfig {
            enabled: true,
            priority: r::DEFAULT_BRIDGE_PRIORITY,
            hello_time: r::DEFAULT_HELLO_TIME,
            max_age: r::DEFAULT_MAX_AGE,
            forward_delay: r::DEFAULT_FORWARD_DELAY,
            tx_hold_count: r::DEFAULT_TX_HOLD_COUNT,
            force_version: StpVersion::Rstp,
            bpdu_guard_recovery: 30,
        }
    }
}

/// The link state between Satellite switches (SSTP.md "Layer 2"). The
/// defaults are the design's: 10 ms HELLOs, 3 missed is dead, a summary
/// per link per second, room for 4,096 switches and a million MAC homes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SstpSection {
    /// Run SSTP on fabric and auto ports (needs `[stp] enabled`).
    pub enabled: bool,
    /// Milliseconds between HELLOs (1..=1000).
    pub hello_interval_ms: f64,
    /// HELLOs a neighbour may miss before its adjacency is down (2..=255).
    pub dead_count: u8,
    /// Milliseconds between complete summaries on a link.
    pub csnp_interval_ms: u64,
    /// Seconds our LSPs live (refreshed at 3/4; at least 60).
    pub lsp_lifetime_s: u16,
    /// Milliseconds before an unacknowledged LSP is sent again.
    pub lsp_retransmit_ms: u64,
    /// Seconds an unreachable switch stays in the database.
    pub unreachable_hold_s: u64,
    /// Name announced to the other switches; default: `bridge.name`.
    pub hostname: Option<String>,
    /// Most switches in the database.
    pub max_bridges: usize,
    /// Most LSP fragments per switch.
    pub max_fragments: u16,
    /// Most MAC homes taken from one switch (and advertised by this one).
    pub max_mac_homes_per_bridge: usize,
    /// Most MAC homes in all.
    pub max_mac_homes_total: usize,
}

impl Default for SstpSection {
    fn default() -> Self {
        use satellite_protocol::sstp::SstpConfig;
        let d = SstpConfig::new(satellite_protocol::wire::SystemId::default());
        SstpSection {
            enabled: true,
            hello_interval_ms: d.hello_interval.as_secs_f64() * 1000.0,
            dead_count: d.dead_count,
            csnp_interval_ms: d.csnp_interval.as_millis() as u64,
            lsp_lifetime_s: d.lsp_lifetime_secs,
            lsp_retransmit_ms: d.lsp_retransmit.as_millis() as u64,
            unreachable_hold_s: d.unreachable_hold.as_secs(),
            hostname: None,
            max_bridges: d.limits.max_bridges,
            max_fragments: d.limits.max_fragments,
            max_mac_homes_per_bridge: d.limits.max_mac_homes_per_bridge,
            max_mac_homes_total: d.limits.max_mac_homes_total,
        }
    }
}

/// An IP ↔ MAC binding for ARPless. IPv4 feeds ARP, DHCP and the source
/// guard; IPv6 only the source guard of the port that lists it
/// (docs/edge-filters.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingConfig {
    pub ip: std::net::IpAddr,
    pub mac: String,
    /// VLAN of the binding; default: the port's access VLAN, else 0.
    #[serde(default)]
    pub vlan: Option<u16>,
}

/// `[port.dhcp]`: what the switch does with DHCP on the port
/// (docs/dhcp.md). Present means one of two things: with `cast_to`, the
/// port's clients are steered to that one server (DHCPCAST); otherwise
/// the switch answers them itself from their bindings, with the other
/// keys. A table with both is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortDhcpConfig {
    /// DHCPCAST: the MAC of the one DHCP server the port's clients'
    /// broadcasts go to, as unicast, never flooded.
    #[serde(default)]
    pub cast_to: Option<String>,
    /// Prefix length of the VMs' subnet: the mask (option 1) and broadcast
    /// address (option 28) given with each binding. Required when the
    /// switch answers.
    #[serde(default)]
    pub prefix: Option<u8>,
    /// Default router (option 3).
    #[serde(default)]
    pub router: Option<std::net::Ipv4Addr>,
    /// Server identifier (option 54) and the replies' source address;
    /// default: `router`.
    #[serde(default)]
    pub server_id: Option<std::net::Ipv4Addr>,
    /// DNS servers (option 6).
    #[serde(default)]
    pub dns: Vec<std::net::Ipv4Addr>,
    /// NTP servers (option 42).
    #[serde(default)]
    pub ntp: Vec<std::net::Ipv4Addr>,
    /// Domain name (option 15).
    #[serde(default)]
    pub domain: Option<String>,
    /// Domain search list (option 119).
    #[serde(default)]
    pub search: Vec<String>,
    /// Classless static routes (option 121).
    #[serde(default)]
    pub routes: Vec<DhcpRouteConfig>,
    /// Interface MTU (option 26).
    #[serde(default)]
    pub mtu: Option<u16>,
    /// Lease time (option 51); renewal and rebinding at 1/2 and 7/8 of
    /// it. Default [`DEFAULT_LEASE_SECS`].
    #[serde(default)]
    pub lease_secs: Option<u32>,
}

/// The lease the responder gives when `lease_secs` is not set.
pub const DEFAULT_LEASE_SECS: u32 = 3600;

/// One classless static route of `[port.dhcp]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DhcpRouteConfig {
    /// "10.0.0.0/8".
    pub dst: String,
    pub via: std::net::Ipv4Addr,
}

/// Edge filters shared by all ports (FILTERS.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FiltersConfig {
    /// EtherTypes recognised as VLAN tags.
    pub tpids: Vec<u16>,
    /// Deepest tag stack accepted on filtered ports.
    pub max_tags: usize,
    /// OUIs (routers, gateways) every Interstellar port may reach.
    pub interstellar_ouis: Vec<String>,
    /// Sender IP of RARP/DRARP answers.
    pub responder_ip: Option<std::net::Ipv4Addr>,
    /// Bindings of hosts on other switches (answered for, never owned here).
    pub bindings: Vec<BindingConfig>,
    /// DHCP settings per Interstellar ID (`[filters.interstellar_dhcp.42]`):
    /// every Interstellar port of that IID without a `[port.dhcp]` of its
    /// own answers DHCP with them (docs/dhcp.md).
    pub interstellar_dhcp: std::collections::BTreeMap<String, PortDhcpConfig>,
}

impl Default for FiltersConfig {
    fn default() -> Self {
        FiltersConfig {
            tpids: vec![0x8100, 0x88A8, 0x9100, 0x9200],
            max_tags: 3,
            interstellar_ouis: Vec::new(),
            responder_ip: None,
            bindings: Vec::new(),
            interstellar_dhcp: Default::default(),
        }
    }
}

/// How a filtered port maps frames to VLANs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VlanModeConfig {
    Access,
    Trunk,
    Tunnel,
}

/// ARPless on a port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArplessConfig {
    #[default]
    Off,
    Enforce,
    LearnOnce,
}

/// Parses "aa:bb:cc:dd:ee:ff".
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut m = [0u8; 6];
    for (o, p) in m.iter_mut().zip(parts) {
        if p.len() != 2 {
            return None;
        }
        *o = u8::from_str_radix(p, 16).ok()?;
    }
    Some(m)
}

/// Parses an OUI "00:1b:21".
pub fn parse_oui(s: &str) -> Option<u32> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 3 || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let mut v = 0u32;
    for p in parts {
        v = (v << 8) | u8::from_str_radix(p, 16).ok()? as u32;
    }
    Some(v)
}

/// One switch port.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    /// Kernel interface (AF_XDP/AF_PACKET) or, with `dpdk = true`, a DPDK
    /// device name given through `dataplane.eal` (e.g. a PCI address).
    pub name: String,
    #[serde(default)]
    pub dpdk: bool,
    #[serde(default)]
    pub backend: Backend,
    #[serde(default)]
    pub kind: PortKind,
    /// Spanning-tree path cost; default from link speed (802.1t).
    #[serde(default)]
    pub path_cost: Option<u32>,
    /// Spanning-tree port priority: a multiple of 16 in 0..=240.
    #[serde(default)]
    pub priority: Option<u8>,
    /// VLAN mapping; unset: untagged frames are VLAN 0, tags pass as they are.
    #[serde(default)]
    pub vlan_mode: Option<VlanModeConfig>,
    /// Access VID, tunnel S-VID or trunk native VID.
    #[serde(default)]
    pub vlan: Option<u16>,
    /// VIDs a trunk carries.
    #[serde(default)]
    pub allowed_vlans: Vec<u16>,
    /// The port's own MACs: frames from any other source are dropped.
    #[serde(default)]
    pub macs: Vec<String>,
    /// Interstellar isolation, the IID taken from the first MAC.
    #[serde(default)]
    pub interstellar: bool,
    /// Extra Interstellar IDs the port may talk to.
    #[serde(default)]
    pub resonance: Vec<u32>,
    /// Extra OUIs the port may reach.
    #[serde(default)]
    pub ouis: Vec<String>,
    #[serde(default)]
    pub arpless: ArplessConfig,
    /// The port's IP bindings.
    #[serde(default)]
    pub bindings: Vec<BindingConfig>,
    /// Root guard (802.1Q restrictedRole): the port never becomes Root
    /// Port; a superior BPDU holds it Alternate (discarding, "root
    /// inconsistent") until that information ages out. For ports toward
    /// bridges that must never take the root.
    #[serde(default)]
    pub root_guard: bool,
    /// `false` exempts the port from `[storm_control]`; unset or `true`:
    /// the limits apply whenever it is a host port.
    #[serde(default)]
    pub storm_control: Option<bool>,
    /// `backend = "vhost_user"` only: the vhost-user socket's absolute
    /// path. The switch listens on it (server mode) unless `vhost_client`.
    #[serde(default)]
    pub socket: Option<PathBuf>,
    /// `backend = "vhost_user"` only: connect to a socket the VM's
    /// hypervisor listens on (QEMU `server=on`), reconnecting when it goes,
    /// instead of listening on it. Default: false (the switch listens).
    #[serde(default)]
    pub vhost_client: bool,
    /// The DHCP responder; absent: DHCP is forwarded like any frame.
    #[serde(default)]
    pub dhcp: Option<PortDhcpConfig>,
}

impl PortConfig {
    /// A port on kernel interface `name` with every default.
    pub fn iface(name: &str) -> PortConfig {
        PortConfig {
            name: name.into(),
            ..PortConfig::default()
        }
    }

    /// Whether the port is a vhost-user socket rather than a kernel
    /// interface or a DPDK device.
    pub fn is_vhost(&self) -> bool {
        self.backend == Backend::VhostUser
    }

    /// Whether any edge filter applies on this port.
    pub fn has_filters(&self) -> bool {
        self.vlan_mode.is_some()
            || !self.macs.is_empty()
            || self.interstellar
            || self.arpless != ArplessConfig::Off
            || self.dhcp.is_some()
    }
}

/// Longest vhost-user socket path: `sun_path` holds 108 bytes with the
/// terminating NUL (unix(7)).
pub const MAX_SOCKET_PATH: usize = 107;

/// The vhost-user keys of one port: `socket` and `vhost_client` belong to
/// `backend = "vhost_user"`, which needs an absolute `socket` and is not a
/// DPDK device named in `dataplane.eal`. Returns the key (within the port)
/// at fault and why.
pub fn check_vhost(p: &PortConfig) -> Result<(), (String, String)> {
    if !p.is_vhost() {
        if p.socket.is_some() {
            return Err((
                "socket".into(),
                "is for backend = \"vhost_user\" ports only".into(),
            ));
        }
        if p.vhost_client {
            return Err((
                "vhost_client".into(),
                "is for backend = \"vhost_user\" ports only".into(),
            ));
        }
        return Ok(());
    }
    if p.dpdk {
        return Err((
            "dpdk".into(),
            "a vhost_user port is made by the switch from `socket`; \
             dpdk = true names a device given in dataplane.eal"
                .into(),
        ));
    }
    let Some(s) = &p.socket else {
        return Err((
            "backend".into(),
            "backend = \"vhost_user\" needs `socket`, the vhost-user socket's absolute path".into(),
        ));
    };
    let text = s
        .to_str()
        .ok_or_else(|| ("socket".to_string(), "must be valid UTF-8".to_string()))?;
    if !s.is_absolute() {
        return Err((
            "socket".into(),
            format!("{text:?} is not an absolute path (e.g. \"/run/satellite/vm1.sock\")"),
        ));
    }
    if s.file_name().is_none() || text.ends_with('/') {
        return Err(("socket".into(), format!("{text:?} names no file")));
    }
    // The path goes into the vdev's argument string, where `,` and `=`
    // would start another argument.
    if text
        .chars()
        .any(|c| c == ',' || c == '=' || c.is_whitespace() || c.is_control())
    {
        return Err((
            "socket".into(),
            format!("{text:?}: no `,`, `=`, white space or control characters"),
        ));
    }
    if text.len() > MAX_SOCKET_PATH {
        return Err((
            "socket".into(),
            format!(
                "is {} bytes long; a unix socket path holds at most {MAX_SOCKET_PATH}",
                text.len()
            ),
        ));
    }
    Ok(())
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub bridge: BridgeConfig,
    pub dataplane: DataplaneConfig,
    pub fdb: FdbConfig,
    pub storm_control: StormControlConfig,
    pub stp: StpConfig,
    pub sstp: SstpSection,
    pub filters: FiltersConfig,
    pub control: ControlConfig,
    pub metrics: MetricsConfig,
    #[serde(rename = "port")]
    pub ports: Vec<PortConfig>,
}

fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// Finds the line of a dotted key path (`fdb.aging_time`, `port.1.name`)
/// in the source, for errors found after parsing.
fn line_of_key(src: &str, path: &str) -> Option<usize> {
    use toml_edit::{Item, TableLike, Value};
    let doc = toml_edit::ImDocument::parse(src).ok()?;
    let mut table: &dyn TableLike = doc.as_table();
    let mut best = None;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let Some((key, item)) = table.get_key_value(part) else {
            break;
        };
        best = key.span().or(best);
        table = match item {
            Item::Table(t) => t,
            Item::Value(Value::InlineTable(t)) => t,
            Item::ArrayOfTables(a) => {
                let Some(t) = parts
                    .next()
                    .and_then(|i| i.parse().ok())
                    .and_then(|i| a.get(i))
                else {
                    break;
                };
                best = t.span().or(best);
                t
            }
            _ => break,
        };
    }
    best.map(|s| line_of(src, s.start))
}

impl Config {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: file.clone(),
            source,
        })?;
        Self::parse(&src, &file)
    }

    /// Parses and validates `src`; `file` names it in errors.
    pub fn parse(src: &str, file: &str) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::new(src);
        let cfg: Config = match serde_path_to_error::deserialize(de) {
            Ok(c) => c,
            Err(e) => {
                let key = e.path().to_string();
                let inner = e.into_inner();
                let line = inner
                    .span()
                    .map(|s| line_of(src, s.start))
                    .or_else(|| line_of_key(src, &key))
                    .unwrap_or(1);
                let message = inner.message().trim().to_string();
                if key.is_empty() || key == "." {
                    return Err(ConfigError::Syntax {
                        file: file.into(),
                        line,
                        message,
                    });
                }
                return Err(ConfigError::Invalid {
                    file: file.into(),
                    line,
                    key,
                    message,
                });
            }
        };
        cfg.validate()
            .map_err(|(key, message)| ConfigError::Invalid {
                file: file.into(),
                line: line_of_key(src, &key).unwrap_or(1),
                key,
                message,
            })?;
        Ok(cfg)
    }

    /// Checks values serde cannot: ranges and relations. Returns the dotted
    /// key at fault and why.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let d = &self.dataplane;
        if d.workers == 0 || d.workers > 64 {
            return Err((
                "dataplane.workers".into(),
                "must be between 1 and 64".into(),
            ));
        }
        if !d.worker_cores.is_empty() && d.worker_cores.len() != d.workers as usize {
            return Err((
                "dataplane.worker_cores".into(),
                format!(
                    "lists {} cores for {} workers",
                    d.worker_cores.len(),
                    d.workers
                ),
            ));
        }
        if d.memory_mb < 32 {
            return Err(("dataplane.memory_mb".into(), "must be at least 32".into()));
        }
        let explicit: Vec<&str> = crate::hugepages::MEMORY_FLAGS
            .into_iter()
            .filter(|f| crate::hugepages::has_flag(&d.eal, f))
            .collect();
        match (d.hugepages, explicit.as_slice()) {
            (Hugepages::On, flags) if flags.contains(&"--no-huge") => {
                return Err((
                    "dataplane.hugepages".into(),
                    "is true, but dataplane.eal has --no-huge".into(),
                ))
            }
            (Hugepages::Off, [first, ..]) if *first != "--no-huge" => {
                return Err((
                    "dataplane.hugepages".into(),
                    format!("is false, but dataplane.eal has {first}"),
                ))
            }
            _ => {}
        }
        if d.mbufs < 1024 {
            return Err(("dataplane.mbufs".into(), "must be at least 1024".into()));
        }
        if !(64..=4096).contains(&d.ring_size) || !d.ring_size.is_power_of_two() {
            return Err((
                "dataplane.ring_size".into(),
                "must be a power of two between 64 and 4096".into(),
            ));
        }
        if !(64..=9216 + 26).contains(&d.max_frame_len) {
            return Err((
                "dataplane.max_frame_len".into(),
                "must be between 64 and 9242".into(),
            ));
        }
        if self.fdb.capacity == 0 || self.fdb.capacity > 16 << 20 {
            return Err((
                "fdb.capacity".into(),
                "must be between 1 and 16777216".into(),
            ));
        }
        if self.fdb.per_port_limit == 0 {
            return Err(("fdb.per_port_limit".into(), "must be at least 1".into()));
        }
        if self.fdb.host_port_limit == 0 {
            return Err(("fdb.host_port_limit".into(), "must be at least 1".into()));
        }
        if self.stp.bpdu_guard_recovery > 86_400 {
            return Err((
                "stp.bpdu_guard_recovery".into(),
                "must be at most 86400 seconds (0: never)".into(),
            ));
        }
        if self.storm_control.burst == 0 {
            return Err(("storm_control.burst".into(), "must be at least 1".into()));
        }
        if !(10..=1_000_000).contains(&self.fdb.aging_time) {
            return Err((
                "fdb.aging_time".into(),
                "must be between 10 and 1000000 seconds (802.1D range)".into(),
            ));
        }
        if let Some(l) = &self.metrics.listen {
            if self.metrics.addr().is_none() {
                return Err((
                    "metrics.listen".into(),
                    format!("{l:?} is not a port or an address:port"),
                ));
            }
        }
        if self
            .control
            .group
            .as_deref()
            .is_some_and(|g| g.trim().is_empty())
        {
            return Err(("control.group".into(), "must not be empty".into()));
        }
        self.check_stp()?;
        self.check_sstp()?;
        let mut seen = std::collections::HashSet::new();
        filters::check_interstellar_dhcp(&self.filters)
            .map_err(|(k, m)| (format!("filters.{k}"), m))?;
        for (i, p) in self.ports.iter().enumerate() {
            if p.name.is_empty() {
                return Err((format!("port.{i}.name"), "must not be empty".into()));
            }
            if !seen.insert(&p.name) {
                return Err((
                    format!("port.{i}.name"),
                    format!("port {:?} listed twice", p.name),
                ));
            }
            check_vhost(p).map_err(|(k, m)| (format!("port.{i}.{k}"), m))?;
            if let Some(s) = p.socket.as_ref().filter(|_| p.is_vhost()) {
                if let Some(j) = self.ports[..i]
                    .iter()
                    .position(|o| o.is_vhost() && o.socket.as_ref() == Some(s))
                {
                    return Err((
                        format!("port.{i}.socket"),
                        format!(
                            "{} is already port {:?}'s socket",
                            s.display(),
                            self.ports[j].name
                        ),
                    ));
                }
            }
            // The engine's own checks, so a range is written once.
            if let Some(pr) = p.priority {
                rstp::check_port_priority(pr).map_err(|_| {
                    (
                        format!("port.{i}.priority"),
                        "must be a multiple of 16 in 0..=240".into(),
                    )
                })?;
            }
            if let Some(c) = p.path_cost {
                rstp::check_path_cost(c).map_err(|_| {
                    (
                        format!("port.{i}.path_cost"),
                        "must be 1..=200000000".into(),
                    )
                })?;
            }
            filters::port_policy(p, &[], &self.filters)
                .map_err(|(k, m)| (format!("port.{i}.{k}"), m))?;
        }
        filters::tables(self, [0x02, 0, 0, 0, 0, 1], &[])
            .map_err(|(k, m)| (format!("filters.{k}"), m))?;
        Ok(())
    }

    /// The `[stp]` section against the engine's own rules (17.14), with
    /// the key at fault.
    fn check_stp(&self) -> Result<(), (String, String)> {
        use rstp::{ConfigError as E, TimerFault as F};
        let st = &self.stp;
        let bc = self.rstp_bridge_config(satellite_protocol::wire::MacAddr::ZERO, st.priority);
        bc.validate().map_err(|e| match e {
            E::BridgePriority(_) => (
                "stp.priority".into(),
                "must be a multiple of 4096 in 0..=61440".into(),
            ),
            E::Timers { fault, .. } => match fault {
                F::HelloTime => ("stp.hello_time".into(), "must be 1..=10 seconds".into()),
                F::MaxAge => ("stp.max_age".into(), "must be 6..=40 seconds".into()),
                F::ForwardDelay => ("stp.forward_delay".into(), "must be 4..=30 seconds".into()),
                F::Relation => (
                    "stp.max_age".into(),
                    "must satisfy 2 x (forward_delay - 1) >= max_age >= 2 x (hello_time + 1)"
                        .into(),
                ),
            },
            E::TxHoldCount(_) => ("stp.tx_hold_count".into(), "must be 1..=10".into()),
            other => ("stp".into(), other.to_string()),
        })
    }

    /// The `[sstp]` section against the engine's own rules, with the key
    /// at fault.
    fn check_sstp(&self) -> Result<(), (String, String)> {
        use satellite_protocol::sstp::SstpConfigError as E;
        let h = self.sstp.hello_interval_ms;
        if !h.is_finite() {
            return Err(("sstp.hello_interval_ms".into(), "must be a number".into()));
        }
        let cfg = self.sstp_config(satellite_protocol::wire::SystemId::default(), 0, 0);
        cfg.validate().map_err(|e| match e {
            E::HelloInterval(_) => (
                "sstp.hello_interval_ms".into(),
                "must be 1..=1000 milliseconds".into(),
            ),
            E::DeadCount(_) => ("sstp.dead_count".into(), "must be 2..=255".into()),
            E::Lifetime(_) => (
                "sstp.lsp_lifetime_s".into(),
                "must be at least 60 seconds".into(),
            ),
            E::Limit(k) => (format!("sstp.{k}"), "must be at least 1".into()),
            // The acknowledgement delay is not a key: only a retransmit
            // interval at or below it makes this.
            E::AckDelay(d) => (
                "sstp.lsp_retransmit_ms".into(),
                format!(
                    "must be above the {} ms acknowledgement delay",
                    d.as_millis()
                ),
            ),
            E::Interval(k) => {
                let key = match k {
                    "csnp_interval" => "csnp_interval_ms",
                    "lsp_retransmit" => "lsp_retransmit_ms",
                    _ => "unreachable_hold_s",
                };
                (format!("sstp.{key}"), "must be above zero".into())
            }
        })?;
        if let Some(name) = &self.sstp.hostname {
            if satellite_protocol::wire::Hostname::new(name).is_none() {
                return Err((
                    "sstp.hostname".into(),
                    "must be at most 64 octets of UTF-8".into(),
                ));
            }
        }
        Ok(())
    }

    /// The SSTP engine's configuration for switch `system`, with this
    /// session's `nonce` and sequence numbers starting above
    /// `initial_sequence`.
    pub fn sstp_config(
        &self,
        system: satellite_protocol::wire::SystemId,
        nonce: u64,
        initial_sequence: u64,
    ) -> satellite_protocol::sstp::SstpConfig {
        use std::time::Duration;
        let s = &self.sstp;
        let mut c = satellite_protocol::sstp::SstpConfig::new(system);
        c.nonce = nonce;
        c.initial_sequence = initial_sequence;
        c.hello_interval = Duration::from_secs_f64(s.hello_interval_ms.clamp(0.0, 1e9) / 1000.0);
        c.dead_count = s.dead_count;
        c.csnp_interval = Duration::from_millis(s.csnp_interval_ms);
        c.lsp_lifetime_secs = s.lsp_lifetime_s;
        c.lsp_retransmit = Duration::from_millis(s.lsp_retransmit_ms);
        c.unreachable_hold = Duration::from_secs(s.unreachable_hold_s);
        c.hostname = Some(match &s.hostname {
            Some(h) => satellite_protocol::wire::Hostname::truncated(h),
            None => satellite_protocol::wire::Hostname::truncated(self.name()),
        });
        c.limits.max_bridges = s.max_bridges;
        c.limits.max_fragments = s.max_fragments;
        c.limits.max_mac_homes_per_bridge = s.max_mac_homes_per_bridge;
        c.limits.max_mac_homes_total = s.max_mac_homes_total;
        c
    }

    /// The RSTP engine's configuration for a bridge with `address`.
    pub fn rstp_bridge_config(
        &self,
        address: satellite_protocol::wire::MacAddr,
        priority: u16,
    ) -> rstp::BridgeConfig {
        let st = &self.stp;
        let mut bc = rstp::BridgeConfig::new(address);
        bc.priority = priority;
        bc.hello_time = st.hello_time;
        bc.max_age = st.max_age;
        bc.forward_delay = st.forward_delay;
        bc.tx_hold_count = st.tx_hold_count;
        bc.force_version = match st.force_version {
            StpVersion::Stp => 0,
            StpVersion::Rstp => 2,
        };
        bc
    }

    /// The switch's name.
    pub fn name(&self) -> &str {
        self.bridge.name.as_deref().unwrap_or("satellite")
    }

    /// The control socket's path.
    pub fn socket_path(&self) -> PathBuf {
        self.control
            .socket
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("/run/satellite/{}.sock", self.name())))
    }
}

/// What satellited's command line sets over the file. Applied at start
/// and again at every reload, so a reload reads what a restart would.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--iface`: ports on these kernel interfaces (settings from the file
    /// when it lists them too).
    pub ifaces: Vec<String>,
    /// `--eal`, split at whitespace.
    pub eal: Vec<String>,
    pub name: Option<String>,
    pub socket: Option<PathBuf>,
    pub metrics: Option<String>,
    pub workers: Option<u16>,
}

impl Overrides {
    pub fn apply(&self, cfg: &mut Config) {
        for i in &self.ifaces {
            if !cfg.ports.iter().any(|p| &p.name == i) {
                cfg.ports.push(PortConfig::iface(i));
            }
        }
        cfg.dataplane.eal.extend(self.eal.iter().cloned());
        if let Some(n) = &self.name {
            cfg.bridge.name = Some(n.clone());
        }
        if let Some(s) = &self.socket {
            cfg.control.socket = Some(s.clone());
        }
        if let Some(m) = &self.metrics {
            cfg.metrics.listen = Some(m.clone());
        }
        if let Some(w) = self.workers {
            cfg.dataplane.workers = w;
        }
    }
}

/// Where the daemon's configuration comes from: a file (or none: every
/// default) and the command line over it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigSource {
    pub file: Option<PathBuf>,
    pub overrides: Overrides,
}

impl ConfigSource {
    /// Reads the file, applies the command line and checks the result; a
    /// bad file is named with its line and key.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut cfg = match &self.file {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        self.overrides.apply(&mut cfg);
        cfg.validate()
            .map_err(|(key, msg)| ConfigError::Other(format!("{key}: {msg}")))?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example a user copies parses, and what it states as defaults
    /// are the defaults.
    #[test]
    fn the_example_configuration_parses_with_the_defaults_it_states() {
        let src = include_str!("../../../configs/satellited.toml");
        let c = Config::parse(src, "configs/satellited.toml").unwrap();
        assert_eq!(c.fdb, FdbConfig::default());
        assert_eq!(c.storm_control, StormControlConfig::default());
        assert_eq!(
            c.stp.bpdu_guard_recovery,
            StpConfig::default().bpdu_guard_recovery
        );
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let c = Config::parse("", "x.toml").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.fdb.aging_time, 300);
        assert_eq!(c.fdb.capacity, 1 << 20);
    }

    #[test]
    fn full_example_parses() {
        let src = r#"
[bridge]
name = "s1"
[dataplane]
workers = 1
max_idle_sleep_us = 100
[fdb]
aging_time = 60
[metrics]
listen = "127.0.0.1:9477"
[[port]]
name = "veth1"
backend = "af_packet"
kind = "edge"
[[port]]
name = "veth2"
"#;
        let c = Config::parse(src, "x.toml").unwrap();
        assert_eq!(c.name(), "s1");
        assert_eq!(c.ports.len(), 2);
        assert_eq!(c.ports[0].kind, PortKind::Edge);
        assert_eq!(c.ports[1].backend, Backend::Auto);
        assert_eq!(c.fdb.aging_time, 60);
        assert_eq!(c.fdb.hash_seed, None);
        let c = Config::parse("[fdb]\nhash_seed = 7\n", "x.toml").unwrap();
        assert_eq!(c.fdb.hash_seed, Some(7));
    }

    fn err(src: &str) -> String {
        Config::parse(src, "bad.toml").unwrap_err().to_string()
    }

    #[test]
    fn metrics_bind_to_localhost_unless_an_address_is_named() {
        let addr = |l: &str| {
            let c = Config::parse(&format!("[metrics]\nlisten = \"{l}\"\n"), "x.toml");
            c.unwrap().metrics.addr().unwrap().to_string()
        };
        assert_eq!(addr("9477"), "127.0.0.1:9477");
        assert_eq!(addr(":9477"), "127.0.0.1:9477");
        assert_eq!(addr("0.0.0.0:9100"), "0.0.0.0:9100");
        assert_eq!(addr("[::1]:9477"), "[::1]:9477");
        assert_eq!(Config::default().metrics.addr(), None);
        for bad in ["localhost", "99999", "1.2.3.4"] {
            let e = err(&format!("[metrics]\nlisten = \"{bad}\"\n"));
            assert!(e.contains("metrics.listen"), "{bad}: {e}");
        }
    }

    #[test]
    fn control_socket_group_is_read_and_an_empty_one_refused() {
        let c = Config::parse("[control]\ngroup = \"satellite\"\n", "x.toml").unwrap();
        assert_eq!(c.control.group.as_deref(), Some("satellite"));
        assert!(err("[control]\ngroup = \" \"\n").contains("control.group"));
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = err("[fdb]\naging_time = 60\nagingtime = 5\n");
        assert!(e.starts_with("bad.toml:3:"), "{e}");
        assert!(e.contains("agingtime"), "{e}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let e = err("[bridge]\nname = \"x\"\n\n[fdb]\naging_time = \"soon\"\n");
        assert!(e.starts_with("bad.toml:5:"), "{e}");
        assert!(e.contains("fdb.aging_time"), "{e}");
    }

    #[test]
    fn out_of_range_names_the_key_and_line() {
        let e = err("[fdb]\n\naging_time = 1\n");
        assert!(e.starts_with("bad.toml:3: key `fdb.aging_time`"), "{e}");
        let e = err("[[port]]\nname = \"a\"\n[[port]]\nname = \"a\"\n");
        assert!(e.contains("port.1.name"), "{e}");
        assert!(e.starts_with("bad.toml:4:"), "{e}");
    }

    #[test]
    fn stp_values_are_checked() {
        let e = err("[stp]\npriority = 4095\n");
        assert!(e.starts_with("bad.toml:2: key `stp.priority`"), "{e}");
        let e = err("[stp]\nmax_age = 20\nforward_delay = 4\n");
        assert!(e.contains("stp.max_age"), "{e}");
        let c = Config::parse(
            "[stp]\nhello_time = 1\nmax_age = 6\nforward_delay = 4\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.stp.max_age, 6);
        let e = err("[[port]]\nname = \"a\"\npriority = 17\n");
        assert!(e.contains("port.0.priority"), "{e}");
    }

    #[test]
    fn sstp_values_are_checked_with_their_keys() {
        let c = Config::parse("[sstp]\nhello_interval_ms = 1\ndead_count = 5\n", "x").unwrap();
        let e = c.sstp_config(Default::default(), 7, 9);
        assert_eq!(e.hello_interval, std::time::Duration::from_millis(1));
        assert_eq!((e.dead_count, e.nonce, e.initial_sequence), (5, 7, 9));
        assert_eq!(e.hostname.unwrap().as_str(), "satellite");
        assert!(Config::default().sstp.enabled);
        let e = err("[sstp]\nhello_interval_ms = 0.5\n");
        assert!(
            e.starts_with("bad.toml:2: key `sstp.hello_interval_ms`"),
            "{e}"
        );
        let e = err("[sstp]\n\ndead_count = 1\n");
        assert!(e.starts_with("bad.toml:3: key `sstp.dead_count`"), "{e}");
        let e = err("[sstp]\nmax_bridges = 0\n");
        assert!(e.contains("sstp.max_bridges"), "{e}");
        let e = err("[sstp]\nlsp_retransmit_ms = 0\n");
        assert!(e.contains("sstp.lsp_retransmit_ms"), "{e}");
        let e = err("[sstp]\nlsp_retransmit_ms = 1\n");
        assert!(
            e.contains("sstp.lsp_retransmit_ms") && e.contains("acknowledgement delay"),
            "{e}"
        );
        let e = err("[sstp]\nhello = 3\n");
        assert!(e.contains("hello"), "{e}");
    }

    #[test]
    fn hugepages_takes_auto_true_or_false() {
        assert_eq!(Config::default().dataplane.hugepages, Hugepages::Auto);
        for (v, want) in [
            ("\"auto\"", Hugepages::Auto),
            ("true", Hugepages::On),
            ("false", Hugepages::Off),
        ] {
            let c = Config::parse(&format!("[dataplane]\nhugepages = {v}\n"), "x").unwrap();
            assert_eq!(c.dataplane.hugepages, want, "{v}");
        }
        // And back: the file a config writes reads the same.
        let mut c = Config::default();
        c.dataplane.hugepages = Hugepages::Off;
        let text = toml::to_string(&c).unwrap();
        assert!(text.contains("hugepages = false"), "{text}");
        assert_eq!(Config::parse(&text, "x").unwrap(), c);
    }

    #[test]
    fn bad_hugepages_values_name_file_line_and_key() {
        for v in ["\"yes\"", "1", "\"on\"", "[true]"] {
            let e = err(&format!("[dataplane]\nworkers = 1\nhugepages = {v}\n"));
            assert!(e.starts_with("bad.toml:3:"), "{v}: {e}");
            assert!(e.contains("dataplane.hugepages"), "{v}: {e}");
            assert!(e.contains("\"auto\", true or false"), "{v}: {e}");
        }
        let e = err("[dataplane]\nhugepages = true\neal = [\"--no-huge\"]\n");
        assert!(
            e.starts_with("bad.toml:2: key `dataplane.hugepages`: is true, but"),
            "{e}"
        );
        let e = err("[dataplane]\neal = [\"--huge-dir=/x\"]\n\nhugepages = false\n");
        assert!(
            e.starts_with(
                "bad.toml:4: key `dataplane.hugepages`: is false, but dataplane.eal has --huge-dir"
            ),
            "{e}"
        );
        // Agreeing flags are fine.
        Config::parse(
            "[dataplane]\nhugepages = false\neal = [\"--no-huge\"]\n",
            "x",
        )
        .unwrap();
    }

    #[test]
    fn vhost_user_ports_take_a_socket_and_client_mode() {
        let c = Config::parse(
            "[[port]]\nname = \"vm1\"\nbackend = \"vhost_user\"\nsocket = \"/run/satellite/vm1.sock\"\n\
             [[port]]\nname = \"vm2\"\nbackend = \"vhost_user\"\nsocket = \"/run/qemu/vm2.sock\"\nvhost_client = true\n",
            "x",
        )
        .unwrap();
        assert!(c.ports[0].is_vhost() && !c.ports[0].vhost_client);
        assert_eq!(
            c.ports[0].socket.as_deref(),
            Some(Path::new("/run/satellite/vm1.sock"))
        );
        assert!(c.ports[1].vhost_client);
        // Written out, it reads the same.
        let text = toml::to_string(&c).unwrap();
        assert_eq!(Config::parse(&text, "x").unwrap(), c);
    }

    #[test]
    fn bad_vhost_user_ports_name_file_line_and_key() {
        let port = |body: &str| {
            err(&format!(
                "[bridge]\nname = \"s\"\n[[port]]\nname = \"vm1\"\n{body}"
            ))
        };
        // No socket: the backend line is at fault.
        let e = port("backend = \"vhost_user\"\n");
        assert!(e.starts_with("bad.toml:5: key `port.0.backend`"), "{e}");
        assert!(e.contains("needs `socket`"), "{e}");
        let e = port("backend = \"vhost_user\"\nsocket = \"vm1.sock\"\n");
        assert!(e.starts_with("bad.toml:6: key `port.0.socket`"), "{e}");
        assert!(e.contains("not an absolute path"), "{e}");
        let e = port("backend = \"vhost_user\"\nsocket = \"/run/x/\"\n");
        assert!(
            e.contains("port.0.socket") && e.contains("names no file"),
            "{e}"
        );
        let e = port("backend = \"vhost_user\"\nsocket = \"/run/a.sock,client=1\"\n");
        assert!(e.contains("port.0.socket") && e.contains("no `,`"), "{e}");
        let long = format!("/run/{}.sock", "v".repeat(110));
        let e = port(&format!("backend = \"vhost_user\"\nsocket = \"{long}\"\n"));
        assert!(
            e.contains("port.0.socket") && e.contains("at most 107"),
            "{e}"
        );
        let e = port("backend = \"vhost_user\"\nsocket = \"/run/a.sock\"\ndpdk = true\n");
        assert!(e.starts_with("bad.toml:7: key `port.0.dpdk`"), "{e}");
        // The vhost keys on another backend.
        let e = port("socket = \"/run/a.sock\"\n");
        assert!(e.starts_with("bad.toml:5: key `port.0.socket`"), "{e}");
        assert!(e.contains("vhost_user"), "{e}");
        let e = port("backend = \"af_packet\"\nvhost_client = true\n");
        assert!(
            e.starts_with("bad.toml:6: key `port.0.vhost_client`"),
            "{e}"
        );
        // A wrong type or backend name is serde's, with the key.
        let e = port("backend = \"vhost\"\n");
        assert!(e.starts_with("bad.toml:5: key `port[0].backend`"), "{e}");
        let e =
            port("backend = \"vhost_user\"\nsocket = \"/run/a.sock\"\nvhost_client = \"yes\"\n");
        assert!(
            e.starts_with("bad.toml:7: key `port[0].vhost_client`"),
            "{e}"
        );
        // Two ports on one socket.
        let e = err(
            "[[port]]\nname = \"vm1\"\nbackend = \"vhost_user\"\nsocket = \"/run/a.sock\"\n\
             [[port]]\nname = \"vm2\"\nbackend = \"vhost_user\"\nsocket = \"/run/a.sock\"\n",
        );
        assert!(e.starts_with("bad.toml:8: key `port.1.socket`"), "{e}");
        assert!(e.contains("\"vm1\""), "{e}");
    }

    #[test]
    fn syntax_error_names_the_line() {
        let e = err("[fdb]\naging_time = = 3\n");
        assert!(e.starts_with("bad.toml:2:"), "{e}");
    }
}
