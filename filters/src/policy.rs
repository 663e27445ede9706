//! Per-port policy and the shared, immutable tables. Both are built by the
//! control thread (allocation and validation happen here, never per packet)
//! and read by workers through an `Arc` in the forwarding snapshot.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::dhcp_server::DhcpServerConfig;
use crate::interstellar::{InterstellarPolicy, Oui, OuiSet};
use crate::mac::MacAddr;
use crate::vlan::{PortMode, Vid, VlanConfig};

type Map<K, V> = hashbrown::HashMap<K, V, ahash::RandomState>;

/// One IPv4 ↔ MAC binding in one VLAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Binding {
    /// VLAN (FDB VID) the binding lives in; the same IP may exist in two VLANs.
    pub vid: Vid,
    /// The bound address.
    pub ip: Ipv4Addr,
    /// The MAC that owns it.
    pub mac: MacAddr,
}

/// One IPv6 ↔ MAC binding in one VLAN: what the IPv6 source guard and
/// neighbour discovery are held to ([`crate::ipv6_guard`]). Only a port's
/// own; the switch answers no neighbour solicitation, so the shared tables
/// need none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Binding {
    /// VLAN (FDB VID) the binding lives in.
    pub vid: Vid,
    /// The bound unicast address.
    pub ip: Ipv6Addr,
    /// The MAC that owns it.
    pub mac: MacAddr,
}

/// How strictly ARP is policed on a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ArplessMode {
    /// ARP is forwarded like any frame (hosts, infrastructure).
    #[default]
    Off,
    /// Anti-spoofing against configured bindings, and the responder.
    Enforce,
    /// As `Enforce`, but a port with no binding at all gets its first claimed
    /// (IP, MAC) installed by the control plane ([`crate::FilterVerdict::Learn`]);
    /// after that, mismatches are spoofs.
    LearnOnce,
}

/// Why a port policy was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Access/tunnel/native VIDs must be 1..=4094.
    #[error("VLAN ID {0} is not usable (1..=4094)")]
    InvalidVid(Vid),
    /// ARPless needs to know the port's MACs.
    #[error("ARPless needs at least one port MAC")]
    ArplessWithoutMac,
    /// A binding names a MAC the port does not own.
    #[error("binding {ip} -> {mac} names a MAC that is not the port's")]
    BindingMacNotOwned {
        /// Bound IP.
        ip: IpAddr,
        /// MAC not in the port's list.
        mac: MacAddr,
    },
    /// An IPv6 binding must name a unicast address: `::` and multicast
    /// sources are never a host's own.
    #[error("IPv6 binding {0} is not a unicast address")]
    Ipv6BindingNotUnicast(Ipv6Addr),
    /// The DHCP responder answers the port's MACs from their bindings.
    #[error("DHCP needs at least one port MAC")]
    DhcpWithoutMac,
    /// A port MAC is a group or zero address.
    #[error("{0} cannot be a port MAC")]
    InvalidPortMac(MacAddr),
    /// A port answers DHCP itself or casts it to a server, not both.
    #[error("a port answers DHCP itself or casts it to a server, not both")]
    DhcpCastAndResponder,
    /// The DHCPCAST server must be a unicast station address.
    #[error("{0} cannot be a DHCP server's MAC")]
    InvalidDhcpCastServer(MacAddr),
}

/// Everything the filters know about one edge port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgePortPolicy {
    mode: PortMode,
    macs: Box<[MacAddr]>,
    interstellar: Option<InterstellarPolicy>,
    arpless: ArplessMode,
    bindings: Box<[Ipv4Binding]>,
    ipv6_bindings: Box<[Ipv6Binding]>,
    /// The DHCP responder's settings; boxed so ports without it stay small.
    dhcp: Option<Box<DhcpServerConfig>>,
    /// DHCPCAST: the one DHCP server the port's clients' broadcasts go to,
    /// as unicast (docs/dhcp.md). The data path steers them, not
    /// [`crate::filter_ingress`]: it needs the FDB.
    dhcp_cast: Option<MacAddr>,
}

/// Builder for [`EdgePortPolicy`]; validates once in [`build`](Self::build).
#[derive(Clone, Debug)]
pub struct EdgePortPolicyBuilder {
    mode: PortMode,
    macs: Vec<MacAddr>,
    interstellar: Option<InterstellarPolicy>,
    arpless: ArplessMode,
    bindings: Vec<Ipv4Binding>,
    ipv6_bindings: Vec<Ipv6Binding>,
    dhcp: Option<DhcpServerConfig>,
    dhcp_cast: Option<MacAddr>,
}

fn usable_vid(v: Vid) -> bool {
    (1..=4094).contains(&v)
}

impl EdgePortPolicyBuilder {
    /// The port's own MACs. Non-empty enables source-MAC anti-spoofing.
    pub fn macs(mut self, macs: impl IntoIterator<Item = MacAddr>) -> Self {
        self.macs.extend(macs);
        self
    }

    /// Makes the port an Interstellar (VM) port.
    pub fn interstellar(mut self, p: InterstellarPolicy) -> Self {
        self.interstellar = Some(p);
        self
    }

    /// ARPless mode and the port's own bindings.
    pub fn arpless(
        mut self,
        mode: ArplessMode,
        bindings: impl IntoIterator<Item = Ipv4Binding>,
    ) -> Self {
        self.arpless = mode;
        self.bindings.extend(bindings);
        self
    }

    /// The port's IPv6 bindings: held by the source guard on ARPless ports
    /// only, like the IPv4 ones.
    pub fn ipv6_bindings(mut self, bindings: impl IntoIterator<Item = Ipv6Binding>) -> Self {
        self.ipv6_bindings.extend(bindings);
        self
    }

    /// Answers DHCP on the port from its bindings ([`crate::dhcp_server`]).
    pub fn dhcp(mut self, cfg: DhcpServerConfig) -> Self {
        self.dhcp = Some(cfg);
        self
    }

    /// Steers the port's DHCP client broadcasts to the server at `server`
    /// (DHCPCAST, docs/dhcp.md) instead of flooding them.
    pub fn dhcp_cast(mut self, server: MacAddr) -> Self {
        self.dhcp_cast = Some(server);
        self
    }

    /// Validates and freezes the policy.
    pub fn build(self) -> Result<EdgePortPolicy, PolicyError> {
        match &self.mode {
            PortMode::Access { vid } | PortMode::Tunnel { svid: vid } if !usable_vid(*vid) => {
                return Err(PolicyError::InvalidVid(*vid))
            }
            // Native VLAN 0 is the switch's untagged VLAN: the transparent
            // mode of a port that filters but does not map VLANs.
            PortMode::Trunk {
                native: Some(n), ..
            } if *n != 0 && !usable_vid(*n) => return Err(PolicyError::InvalidVid(*n)),
            _ => {}
        }
        if let Some(m) = self.macs.iter().find(|m| !m.is_valid_source()) {
            return Err(PolicyError::InvalidPortMac(*m));
        }
        if self.arpless != ArplessMode::Off && self.macs.is_empty() {
            return Err(PolicyError::ArplessWithoutMac);
        }
        if self.dhcp.is_some() && self.macs.is_empty() {
            return Err(PolicyError::DhcpWithoutMac);
        }
        if let Some(server) = self.dhcp_cast {
            if self.dhcp.is_some() {
                return Err(PolicyError::DhcpCastAndResponder);
            }
            if !server.is_valid_source() {
                return Err(PolicyError::InvalidDhcpCastServer(server));
            }
        }
        if let Some(b) = self.bindings.iter().find(|b| !self.macs.contains(&b.mac)) {
            return Err(PolicyError::BindingMacNotOwned {
                ip: b.ip.into(),
                mac: b.mac,
            });
        }
        for b in &self.ipv6_bindings {
            if b.ip.is_unspecified() || b.ip.is_multicast() {
                return Err(PolicyError::Ipv6BindingNotUnicast(b.ip));
            }
            if !self.macs.contains(&b.mac) {
                return Err(PolicyError::BindingMacNotOwned {
                    ip: b.ip.into(),
                    mac: b.mac,
                });
            }
        }
        let mut macs = self.macs;
        macs.sort_unstable();
        macs.dedup();
        let mut bindings = self.bindings;
        bindings.sort_unstable_by_key(|b| (b.vid, b.ip, b.mac));
        bindings.dedup();
        let mut ipv6_bindings = self.ipv6_bindings;
        ipv6_bindings.sort_unstable_by_key(|b| (b.vid, b.ip, b.mac));
        ipv6_bindings.dedup();
        Ok(EdgePortPolicy {
            mode: self.mode,
            macs: macs.into_boxed_slice(),
            interstellar: self.interstellar,
            arpless: self.arpless,
            bindings: bindings.into_boxed_slice(),
            ipv6_bindings: ipv6_bindings.into_boxed_slice(),
            dhcp: self.dhcp.map(Box::new),
            dhcp_cast: self.dhcp_cast,
        })
    }
}

impl EdgePortPolicy {
    /// Starts a policy for a port in `mode`; by default a plain port (no
    /// MAC check, no Interstellar, ARP forwarded).
    pub fn builder(mode: PortMode) -> EdgePortPolicyBuilder {
        EdgePortPolicyBuilder {
            mode,
            macs: Vec::new(),
            interstellar: None,
            arpless: ArplessMode::Off,
            bindings: Vec::new(),
            ipv6_bindings: Vec::new(),
            dhcp: None,
            dhcp_cast: None,
        }
    }

    /// VLAN mode.
    pub fn mode(&self) -> &PortMode {
        &self.mode
    }

    /// The port's MACs, sorted; empty for plain ports.
    pub fn macs(&self) -> &[MacAddr] {
        &self.macs
    }

    /// Interstellar policy, `None` for plain ports.
    pub fn interstellar(&self) -> Option<&InterstellarPolicy> {
        self.interstellar.as_ref()
    }

    /// ARPless mode.
    pub fn arpless(&self) -> ArplessMode {
        self.arpless
    }

    /// The port's own bindings.
    pub fn bindings(&self) -> &[Ipv4Binding] {
        &self.bindings
    }

    /// The port's own IPv6 bindings.
    pub fn ipv6_bindings(&self) -> &[Ipv6Binding] {
        &self.ipv6_bindings
    }

    /// The DHCP responder's settings, `None` when the port does not answer DHCP.
    #[inline]
    pub fn dhcp(&self) -> Option<&DhcpServerConfig> {
        self.dhcp.as_deref()
    }

    /// The DHCP server this port's clients are steered to (DHCPCAST), if any.
    #[inline]
    pub fn dhcp_cast(&self) -> Option<MacAddr> {
        self.dhcp_cast
    }

    /// True when the policy is only a VLAN mode: no port MACs to check
    /// sources against, no Interstellar, ARPless off, no DHCP responder
    /// (DHCPCAST does not count: the data path steers, the filter has
    /// nothing to do for it). For such a port
    /// [`crate::filter_ingress`] reduces to [`crate::vlan::classify_ingress`]
    /// (after the header checks every switch makes anyway).
    #[inline]
    pub fn is_vlan_only(&self) -> bool {
        self.macs.is_empty()
            && self.interstellar.is_none()
            && self.arpless == ArplessMode::Off
            && self.dhcp.is_none()
    }

    /// Whether `mac` is one of the port's MACs (ports have one or a few, so
    /// a scan beats hashing).
    #[inline]
    pub fn owns_mac(&self, mac: MacAddr) -> bool {
        self.macs.contains(&mac)
    }

    /// The port's binding for (`vid`, `ip`, `mac`), if configured.
    #[inline]
    pub fn has_binding(&self, vid: Vid, ip: Ipv4Addr, mac: MacAddr) -> bool {
        self.bindings
            .iter()
            .any(|b| b.vid == vid && b.ip == ip && b.mac == mac)
    }

    /// Whether (`vid`, `ip`, `mac`) is one of the port's IPv6 bindings.
    #[inline]
    pub fn has_ipv6_binding(&self, vid: Vid, ip: Ipv6Addr, mac: MacAddr) -> bool {
        self.ipv6_bindings
            .iter()
            .any(|b| b.vid == vid && b.ip == ip && b.mac == mac)
    }

    /// The IP bound to `mac` in `vid` on this port (RARP/DRARP answers).
    #[inline]
    pub fn ip_of(&self, vid: Vid, mac: MacAddr) -> Option<Ipv4Addr> {
        self.bindings
            .iter()
            .find(|b| b.vid == vid && b.mac == mac)
            .map(|b| b.ip)
    }

    /// Whether a unicast to `mac` is allowed by the Interstellar rules.
    #[inline]
    pub fn may_reach(&self, mac: MacAddr, global: &OuiSet) -> bool {
        match &self.interstellar {
            None => true,
            Some(p) => p.check_unicast_dst(mac, global).is_ok(),
        }
    }
}

#[inline]
fn ip_key(vid: Vid, ip: Ipv4Addr) -> u64 {
    (u64::from(vid) << 32) | u64::from(u32::from(ip))
}

#[inline]
fn mac_key(vid: Vid, mac: MacAddr) -> u64 {
    (u64::from(vid) << 48) | mac.to_u64()
}

/// Switch-wide tables shared by every worker: VLAN parsing rules, the
/// global Interstellar OUIs, and every known binding (local and learnt from
/// other Satellite switches through SSTP LSPs, so any switch can answer for
/// any VM).
#[derive(Clone, Debug)]
pub struct FilterTables {
    pub(crate) vlan: VlanConfig,
    pub(crate) global_ouis: OuiSet,
    /// (vid, ip) → MACs. Usually one; two tenants may reuse an IP, and the
    /// responder picks the one the asking port may reach.
    /// Keys are packed into one u64 ([`ip_key`], [`mac_key`]) so a lookup
    /// hashes one word.
    pub(crate) by_ip: Map<u64, Box<[MacAddr]>>,
    pub(crate) by_mac: Map<u64, Ipv4Addr>,
    pub(crate) responder_mac: MacAddr,
    pub(crate) responder_ip: Ipv4Addr,
}

/// Builder for [`FilterTables`].
#[derive(Clone, Debug)]
pub struct FilterTablesBuilder {
    vlan: VlanConfig,
    ouis: Vec<Oui>,
    bindings: Vec<Ipv4Binding>,
    responder_mac: MacAddr,
    responder_ip: Ipv4Addr,
}

impl FilterTablesBuilder {
    /// VLAN TPIDs and depth (default: FILTERS.md's four TPIDs, depth 3).
    pub fn vlan(mut self, cfg: VlanConfig) -> Self {
        self.vlan = cfg;
        self
    }

    /// Adds OUIs every Interstellar port may reach.
    pub fn global_ouis(mut self, ouis: impl IntoIterator<Item = Oui>) -> Self {
        self.ouis.extend(ouis);
        self
    }

    /// Adds bindings the responder may answer from.
    pub fn bindings(mut self, b: impl IntoIterator<Item = Ipv4Binding>) -> Self {
        self.bindings.extend(b);
        self
    }

    /// The switch's own addresses, used as sender of RARP/DRARP replies
    /// (there the server answers in its own name, unlike ARP where the reply
    /// speaks for the target).
    pub fn responder(mut self, mac: MacAddr, ip: Ipv4Addr) -> Self {
        self.responder_mac = mac;
        self.responder_ip = ip;
        self
    }

    /// Freezes the tables.
    pub fn build(self) -> FilterTables {
        let mut by_ip: Map<u64, Vec<MacAddr>> = Map::default();
        let mut by_mac: Map<u64, Ipv4Addr> = Map::default();
        for b in &self.bindings {
            let v = by_ip.entry(ip_key(b.vid, b.ip)).or_default();
            if !v.contains(&b.mac) {
                v.push(b.mac);
            }
            by_mac.insert(mac_key(b.vid, b.mac), b.ip);
        }
        FilterTables {
            vlan: self.vlan,
            global_ouis: self.ouis.into_iter().collect(),
            by_ip: by_ip
                .into_iter()
                .map(|(k, v)| (k, v.into_boxed_slice()))
                .collect(),
            by_mac,
            responder_mac: self.responder_mac,
            responder_ip: self.responder_ip,
        }
    }
}

impl Default for FilterTables {
    fn default() -> Self {
        FilterTables::builder().build()
    }
}

impl FilterTables {
    /// Starts empty tables with the default VLAN configuration.
    pub fn builder() -> FilterTablesBuilder {
        FilterTablesBuilder {
            vlan: VlanConfig::default(),
            ouis: Vec::new(),
            bindings: Vec::new(),
            responder_mac: MacAddr([0x02, 0, 0, 0, 0, 0]),
            responder_ip: Ipv4Addr::UNSPECIFIED,
        }
    }

    /// VLAN parsing rules.
    pub fn vlan(&self) -> &VlanConfig {
        &self.vlan
    }

    /// Global Interstellar OUIs.
    pub fn global_ouis(&self) -> &OuiSet {
        &self.global_ouis
    }

    /// MACs bound to `ip` in `vid`.
    #[inline]
    pub fn macs_for_ip(&self, vid: Vid, ip: Ipv4Addr) -> &[MacAddr] {
        self.by_ip.get(&ip_key(vid, ip)).map_or(&[], |m| m)
    }

    /// IP bound to `mac` in `vid`.
    #[inline]
    pub fn ip_for_mac(&self, vid: Vid, mac: MacAddr) -> Option<Ipv4Addr> {
        self.by_mac.get(&mac_key(vid, mac)).copied()
    }
}
