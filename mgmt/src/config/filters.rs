//! What the filter keys of the configuration mean: from configuration (and
//! bindings added at run time) to the filters'
//! immutable tables and per-port policies that go into the snapshot.
//!
//! Errors name the key at fault relative to the port or `[filters]`
//! section, so configuration errors can point at a line.

use satellite_filters::{
    ArplessMode, DhcpConfigError, DhcpServerConfig, DhcpSettings, EdgePortPolicy, FilterTables,
    InterstellarId, InterstellarMac, InterstellarPolicy, Ipv4Binding, Ipv6Binding, MacAddr, Oui,
    PortMode, StaticRoute, VidSet, VlanConfig,
};
use std::net::IpAddr;

use super::{
    parse_mac, parse_oui, ArplessConfig, Config, FiltersConfig, PortConfig, PortDhcpConfig,
    PortKind, VlanModeConfig,
};

/// A key (relative) and what is wrong with it.
pub type KeyError = (String, String);

fn err(key: &str, msg: impl Into<String>) -> KeyError {
    (key.to_string(), msg.into())
}

fn mac(key: &str, s: &str) -> Result<MacAddr, KeyError> {
    parse_mac(s)
        .map(MacAddr)
        .ok_or_else(|| err(key, format!("{s:?} is not a MAC address")))
}

fn oui(key: &str, s: &str) -> Result<Oui, KeyError> {
    parse_oui(s)
        .and_then(|v| Oui::new(v).ok())
        .ok_or_else(|| err(key, format!("{s:?} is not an OUI (like \"00:1b:21\")")))
}

/// The VLAN mode of a port.
pub fn port_mode(p: &PortConfig) -> Result<PortMode, KeyError> {
    let vid = |what: &str| {
        p.vlan
            .ok_or_else(|| err("vlan", format!("vlan_mode = \"{what}\" needs `vlan`")))
    };
    Ok(match p.vlan_mode {
        None => PortMode::Trunk {
            allowed: (1..4095).collect::<VidSet>(),
            native: Some(0),
        },
        Some(VlanModeConfig::Access) => PortMode::Access {
            vid: vid("access")?,
        },
        Some(VlanModeConfig::Tunnel) => PortMode::Tunnel {
            svid: vid("tunnel")?,
        },
        Some(VlanModeConfig::Trunk) => {
            if let Some(v) = p.allowed_vlans.iter().find(|v| **v == 0 || **v >= 4095) {
                return Err(err(
                    "allowed_vlans",
                    format!("VLAN {v} is not usable (1..=4094)"),
                ));
            }
            PortMode::Trunk {
                allowed: p.allowed_vlans.iter().copied().collect(),
                native: p.vlan,
            }
        }
    })
}

/// The VLAN a binding on this port lives in when it does not say.
pub fn default_binding_vid(p: &PortConfig) -> u16 {
    match p.vlan_mode {
        Some(VlanModeConfig::Access) | Some(VlanModeConfig::Tunnel) => p.vlan.unwrap_or(0),
        Some(VlanModeConfig::Trunk) => p.vlan.unwrap_or(0),
        None => 0,
    }
}

/// The port's configured IPv4 bindings.
pub fn config_bindings(p: &PortConfig) -> Result<Vec<Ipv4Binding>, KeyError> {
    p.bindings
        .iter()
        .filter_map(|b| match b.ip {
            IpAddr::V4(ip) => Some((b, ip)),
            IpAddr::V6(_) => None,
        })
        .map(|(b, ip)| {
            Ok(Ipv4Binding {
                vid: b.vlan.unwrap_or_else(|| default_binding_vid(p)),
                ip,
                mac: mac("bindings", &b.mac)?,
            })
        })
        .collect()
}

/// The port's configured IPv6 bindings: unicast addresses only, since a
/// source guard bound to `::` or a group would let anyone through.
pub fn config_ipv6_bindings(p: &PortConfig) -> Result<Vec<Ipv6Binding>, KeyError> {
    p.bindings
        .iter()
        .filter_map(|b| match b.ip {
            IpAddr::V6(ip) => Some((b, ip)),
            IpAddr::V4(_) => None,
        })
        .map(|(b, ip)| {
            if ip.is_unspecified() || ip.is_multicast() {
                return Err(err("bindings", format!("{ip} is not a unicast address")));
            }
            Ok(Ipv6Binding {
                vid: b.vlan.unwrap_or_else(|| default_binding_vid(p)),
                ip,
                mac: mac("bindings", &b.mac)?,
            })
        })
        .collect()
}

/// The filter policy of one port, or `None` for a plain port. `extra` are
/// bindings added at run time (API, learn-once); `shared` supplies the
/// DHCP settings of the port's Interstellar.
pub fn port_policy(
    p: &PortConfig,
    extra: &[Ipv4Binding],
    shared: &FiltersConfig,
) -> Result<Option<EdgePortPolicy>, KeyError> {
    if !p.has_filters() {
        if !p.bindings.is_empty() {
            return Err(err(
                "bindings",
                "bindings need arpless = \"enforce\" or \"learn_once\"",
            ));
        }
        return Ok(None);
    }
    let macs = p
        .macs
        .iter()
        .map(|m| mac("macs", m))
        .collect::<Result<Vec<_>, _>>()?;
    let mut b = EdgePortPolicy::builder(port_mode(p)?).macs(macs.iter().copied());
    let mut tenant_dhcp = None;
    if p.interstellar {
        let first = macs.first().ok_or_else(|| {
            err(
                "interstellar",
                "needs `macs`: the IID comes from the first MAC",
            )
        })?;
        let (iid, _) = InterstellarMac::decompose(*first).ok_or_else(|| {
            err(
                "macs",
                format!("{first} is not an Interstellar MAC (locally administered unicast)"),
            )
        })?;
        let resonance = p
            .resonance
            .iter()
            .map(|r| InterstellarId::new(*r).map_err(|e| err("resonance", e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let ouis = p
            .ouis
            .iter()
            .map(|o| oui("ouis", o))
            .collect::<Result<Vec<_>, _>>()?;
        b = b.interstellar(InterstellarPolicy::new(iid, resonance, ouis));
        tenant_dhcp = interstellar_dhcp_of(shared, iid.get());
    } else if !p.resonance.is_empty() || !p.ouis.is_empty() {
        return Err(err(
            "resonance",
            "resonance and ouis need interstellar = true",
        ));
    }
    let mode = match p.arpless {
        ArplessConfig::Off => ArplessMode::Off,
        ArplessConfig::Enforce => ArplessMode::Enforce,
        ArplessConfig::LearnOnce => ArplessMode::LearnOnce,
    };
    let mut bindings = config_bindings(p)?;
    bindings.extend_from_slice(extra);
    if let Some(d) = &p.dhcp {
        if p.kind == PortKind::Fabric {
            return Err(err(
                "dhcp",
                "a fabric port carries other switches' traffic: DHCP is answered or cast on host ports",
            ));
        }
        match dhcp_role(d)? {
            DhcpRole::Answer(cfg) => {
                if macs.is_empty() {
                    return Err(err(
                        "dhcp",
                        "needs `macs`: DHCP answers the port's MACs from their bindings",
                    ));
                }
                if bindings.is_empty() && mode != ArplessMode::LearnOnce {
                    return Err(err(
                        "dhcp",
                        "needs `bindings`: the address a client gets is its MAC's binding",
                    ));
                }
                b = b.dhcp(cfg);
            }
            DhcpRole::Cast(server) => b = b.dhcp_cast(server),
        }
    } else if let Some(d) = tenant_dhcp {
        // Checked with its own key by `check_interstellar_dhcp`. A port of
        // the tenant without a binding answers nothing and counts
        // `dhcp_unbound_client`, which is what an operator wants to see.
        let role = dhcp_role(d).map_err(|(k, m)| {
            (
                "interstellar".to_string(),
                format!("the Interstellar's {k}: {m}"),
            )
        })?;
        b = match role {
            DhcpRole::Answer(cfg) => b.dhcp(cfg),
            DhcpRole::Cast(server) => b.dhcp_cast(server),
        };
    }
    b = b
        .arpless(mode, bindings)
        .ipv6_bindings(config_ipv6_bindings(p)?);
    b.build().map(Some).map_err(|e| err("macs", e.to_string()))
}

/// The `[filters.interstellar_dhcp.<iid>]` table for `iid`, if any.
fn interstellar_dhcp_of(f: &FiltersConfig, iid: u32) -> Option<&PortDhcpConfig> {
    f.interstellar_dhcp
        .iter()
        .find(|(k, _)| k.parse::<u32>().ok() == Some(iid))
        .map(|(_, d)| d)
}

/// Checks every `[filters.interstellar_dhcp.<iid>]`: the key is an
/// Interstellar ID, the settings are valid. Errors are relative to `[filters]`.
pub fn check_interstellar_dhcp(f: &FiltersConfig) -> Result<(), KeyError> {
    for (k, d) in &f.interstellar_dhcp {
        let at = format!("interstellar_dhcp.{k}");
        k.parse::<u32>()
            .ok()
            .and_then(|v| InterstellarId::new(v).ok())
            .ok_or_else(|| err(&at, format!("{k:?} is not an Interstellar ID")))?;
        dhcp_role(d).map_err(|(key, m)| {
            let sub = key.strip_prefix("dhcp").unwrap_or(&key);
            (format!("{at}{sub}"), m)
        })?;
    }
    Ok(())
}

/// Parses "10.0.0.0/8".
fn prefix(key: &str, s: &str) -> Result<(std::net::Ipv4Addr, u8), KeyError> {
    let bad = || {
        err(
            key,
            format!("{s:?} is not an IPv4 prefix (like \"10.0.0.0/8\")"),
        )
    };
    let (ip, len) = s.split_once('/').ok_or_else(bad)?;
    Ok((
        ip.parse().map_err(|_| bad())?,
        len.parse().map_err(|_| bad())?,
    ))
}

/// What a `[port.dhcp]` (or `[filters.interstellar_dhcp.<iid>]`) table
/// makes a port do with DHCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DhcpRole {
    /// The switch answers, with these settings.
    Answer(DhcpServerConfig),
    /// DHCPCAST: clients' broadcasts go to this server only.
    Cast(MacAddr),
}

/// The table's role, validated: `cast_to` excludes every responder key,
/// since a port whose clients are steered to a server gets no answer of
/// the switch's own to send (docs/dhcp.md says why this is an error, not a
/// precedence).
pub fn dhcp_role(d: &PortDhcpConfig) -> Result<DhcpRole, KeyError> {
    let Some(cast_to) = &d.cast_to else {
        return dhcp_config(d).map(DhcpRole::Answer);
    };
    let responder_keys = [
        ("prefix", d.prefix.is_some()),
        ("router", d.router.is_some()),
        ("server_id", d.server_id.is_some()),
        ("dns", !d.dns.is_empty()),
        ("ntp", !d.ntp.is_empty()),
        ("domain", d.domain.is_some()),
        ("search", !d.search.is_empty()),
        ("routes", !d.routes.is_empty()),
        ("mtu", d.mtu.is_some()),
        ("lease_secs", d.lease_secs.is_some()),
    ];
    if let Some((k, _)) = responder_keys.iter().find(|(_, set)| *set) {
        return Err(err(
            "dhcp.cast_to",
            format!(
                "a port either casts DHCP to a server or answers it itself, not both: \
                 remove `cast_to` or `{k}`"
            ),
        ));
    }
    let server = mac("dhcp.cast_to", cast_to)?;
    if !server.is_valid_source() {
        return Err(err(
            "dhcp.cast_to",
            format!("{cast_to:?} is a group or zero address, not a DHCP server's MAC"),
        ));
    }
    Ok(DhcpRole::Cast(server))
}

/// DHCPCAST's designated servers: every `cast_to` of `ports` and of the
/// Interstellars. The Interstellars' count even without a port of theirs
/// here: the server may be plugged in at this switch, its clients at
/// another, and its broadcast answers must go to the client from here.
/// Tables that fail to parse are left out (refused with their key elsewhere).
pub fn dhcp_cast_servers<'a>(
    ports: impl IntoIterator<Item = &'a PortConfig>,
    shared: &FiltersConfig,
) -> Vec<MacAddr> {
    ports
        .into_iter()
        .filter_map(|p| p.dhcp.as_ref())
        .chain(shared.interstellar_dhcp.values())
        .filter_map(|d| match dhcp_role(d) {
            Ok(DhcpRole::Cast(m)) => Some(m),
            _ => None,
        })
        .collect()
}

/// The responder's settings from `[port.dhcp]`, validated and encoded.
pub fn dhcp_config(d: &PortDhcpConfig) -> Result<DhcpServerConfig, KeyError> {
    let prefix_len = d.prefix.ok_or_else(|| {
        err(
            "dhcp.prefix",
            "needs `prefix` (the clients' subnet) for the switch to answer DHCP, \
             or `cast_to` to steer DHCP to a server instead",
        )
    })?;
    let server_id = d.server_id.or(d.router).ok_or_else(|| {
        err(
            "dhcp.server_id",
            "needs `server_id` or `router` (the server identifier defaults to the router)",
        )
    })?;
    let routes = d
        .routes
        .iter()
        .map(|r| {
            let (dst, prefix_len) = prefix("dhcp.routes", &r.dst)?;
            Ok(StaticRoute {
                dst,
                prefix_len,
                via: r.via,
            })
        })
        .collect::<Result<Vec<_>, KeyError>>()?;
    let s = DhcpSettings {
        prefix_len,
        server_id,
        router: d.router,
        dns: d.dns.clone(),
        ntp: d.ntp.clone(),
        domain: d.domain.clone(),
        search: d.search.clone(),
        routes,
        mtu: d.mtu,
        lease_secs: d.lease_secs.unwrap_or(super::DEFAULT_LEASE_SECS),
    };
    DhcpServerConfig::new(&s).map_err(|e| {
        let key = match &e {
            DhcpConfigError::PrefixLen(_) => "dhcp.prefix",
            DhcpConfigError::Mtu(_) => "dhcp.mtu",
            DhcpConfigError::Lease => "dhcp.lease_secs",
            DhcpConfigError::ServerId(_) if d.server_id.is_some() => "dhcp.server_id",
            DhcpConfigError::ServerId(_) => "dhcp.router",
            DhcpConfigError::DomainName(n) if d.domain.as_ref() == Some(n) => "dhcp.domain",
            DhcpConfigError::DomainName(_) => "dhcp.search",
            DhcpConfigError::Route { .. } => "dhcp.routes",
            DhcpConfigError::TooLong(_) => "dhcp",
        };
        err(key, e.to_string())
    })
}

/// The shared tables: VLAN parsing, global OUIs, every binding known
/// (ports' own, remote hosts', and `extra`), and the responder's address.
pub fn tables(
    cfg: &Config,
    responder_mac: [u8; 6],
    extra: &[Ipv4Binding],
) -> Result<FilterTables, KeyError> {
    let f = &cfg.filters;
    let vlan = VlanConfig::new(&f.tpids, f.max_tags).map_err(|e| err("tpids", e.to_string()))?;
    let ouis = f
        .interstellar_ouis
        .iter()
        .map(|o| oui("interstellar_ouis", o))
        .collect::<Result<Vec<_>, _>>()?;
    let mut bindings = Vec::new();
    for b in &f.bindings {
        let IpAddr::V4(ip) = b.ip else {
            return Err(err(
                "bindings",
                format!(
                    "{} is IPv6: [filters] bindings feed the ARP responder; \
                     IPv6 bindings go in the port's `bindings`",
                    b.ip
                ),
            ));
        };
        bindings.push(Ipv4Binding {
            vid: b.vlan.unwrap_or(0),
            ip,
            mac: mac("bindings", &b.mac)?,
        });
    }
    for p in &cfg.ports {
        // Errors here are reported per port by `port_policy`.
        bindings.extend(config_bindings(p).unwrap_or_default());
    }
    bindings.extend_from_slice(extra);
    Ok(FilterTables::builder()
        .vlan(vlan)
        .global_ouis(ouis)
        .bindings(bindings)
        .responder(
            MacAddr(responder_mac),
            f.responder_ip.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
        )
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn plain_ports_have_no_policy() {
        assert!(
            port_policy(&PortConfig::iface("p0"), &[], &FiltersConfig::default())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn interstellar_port_takes_its_iid_from_its_mac() {
        let cfg = Config::parse(
            "[[port]]\nname = \"vm1\"\nmacs = [\"02:00:00:04:00:01\"]\ninterstellar = true\nresonance = [2]\narpless = \"enforce\"\nbindings = [{ ip = \"10.0.0.1\", mac = \"02:00:00:04:00:01\" }]\n",
            "x.toml",
        )
        .unwrap();
        let p = port_policy(&cfg.ports[0], &[], &cfg.filters)
            .unwrap()
            .unwrap();
        assert_eq!(p.interstellar().unwrap().iid().get(), 1);
        assert_eq!(p.bindings().len(), 1);
    }

    #[test]
    fn a_port_binds_ipv6_addresses_and_bad_ones_name_the_line() {
        let port = |ip: &str| {
            format!(
                "[[port]]\nname = \"vm1\"\nmacs = [\"02:00:00:04:00:01\"]\narpless = \"enforce\"\n\
                 bindings = [{{ ip = \"10.0.0.1\", mac = \"02:00:00:04:00:01\" }},\n\
                 {{ ip = \"{ip}\", mac = \"02:00:00:04:00:01\", vlan = 7 }}]\n"
            )
        };
        let cfg = Config::parse(&port("2001:db8::1"), "x.toml").unwrap();
        let p = port_policy(&cfg.ports[0], &[], &cfg.filters)
            .unwrap()
            .unwrap();
        assert_eq!(p.bindings().len(), 1);
        let v6 = p.ipv6_bindings();
        assert_eq!((v6.len(), v6[0].vid), (1, 7));
        assert_eq!(
            v6[0].ip,
            "2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap()
        );
        for (ip, what) in [
            ("ff02::1", "not a unicast address"),
            ("::", "not a unicast address"),
            ("2001:db8::zz", "invalid IP address"),
        ] {
            let e = Config::parse(&port(ip), "x.toml").unwrap_err().to_string();
            assert!(
                e.starts_with("x.toml:") && e.contains("bindings") && e.contains(what),
                "{ip}: {e}"
            );
        }
        let e = Config::parse(
            "[filters]\nbindings = [{ ip = \"2001:db8::1\", mac = \"02:00:00:04:00:01\" }]\n",
            "x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("filters.bindings") && e.contains("IPv6"), "{e}");
    }

    #[test]
    fn bad_filter_settings_name_the_key() {
        let e =
            Config::parse("[[port]]\nname = \"a\"\ninterstellar = true\n", "x.toml").unwrap_err();
        assert!(e.to_string().contains("port.0.interstellar"), "{e}");
        let e = Config::parse("[[port]]\nname = \"a\"\nmacs = [\"zz\"]\n", "x.toml").unwrap_err();
        assert!(e.to_string().contains("port.0.macs"), "{e}");
        let e = Config::parse("[[port]]\nname = \"a\"\nvlan_mode = \"access\"\n", "x.toml")
            .unwrap_err();
        assert!(e.to_string().contains("port.0.vlan"), "{e}");
        let e = Config::parse("[filters]\ninterstellar_ouis = [\"1\"]\n", "x.toml").unwrap_err();
        assert!(e.to_string().contains("filters.interstellar_ouis"), "{e}");
    }

    const DHCP_PORT: &str = "[[port]]\nname = \"vm1\"\nmacs = [\"02:00:00:04:00:01\"]\n\
        arpless = \"enforce\"\nbindings = [{ ip = \"10.0.0.5\", mac = \"02:00:00:04:00:01\" }]\n\
        [port.dhcp]\nprefix = 24\n";

    #[test]
    fn a_dhcp_port_answers_from_its_bindings() {
        let src = format!(
            "{DHCP_PORT}router = \"10.0.0.1\"\ndns = [\"10.0.0.53\"]\nsearch = [\"vm.example\"]\n\
             routes = [{{ dst = \"192.168.0.0/16\", via = \"10.0.0.2\" }}]\nmtu = 1400\n"
        );
        let cfg = Config::parse(&src, "x.toml").unwrap();
        let p = port_policy(&cfg.ports[0], &[], &cfg.filters)
            .unwrap()
            .unwrap();
        let d = p.dhcp().unwrap();
        assert_eq!(d.server_id(), std::net::Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(d.subnet_mask(), std::net::Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(cfg.ports[0].dhcp.as_ref().unwrap().lease_secs, None);
    }

    /// The edge-filters example a user copies parses, its VM port with DHCP.
    #[test]
    fn the_edge_filters_example_parses_with_its_dhcp_port() {
        let src = include_str!("../../../configs/edge-filters.toml");
        let cfg = Config::parse(src, "configs/edge-filters.toml").unwrap();
        let vm1 = cfg.ports.iter().find(|p| p.name == "vm1").unwrap();
        let p = port_policy(vm1, &[], &cfg.filters).unwrap().unwrap();
        assert_eq!(
            p.dhcp().unwrap().server_id(),
            std::net::Ipv4Addr::new(10, 0, 0, 1)
        );
        assert_eq!((p.bindings().len(), p.ipv6_bindings().len()), (1, 1));
    }

    #[test]
    fn interstellar_ports_take_their_tenants_dhcp_unless_they_have_their_own() {
        let src = "[filters.interstellar_dhcp.1]\nprefix = 16\nrouter = \"10.0.0.1\"\n\
            [[port]]\nname = \"vm1\"\nmacs = [\"02:00:00:04:00:01\"]\ninterstellar = true\n\
            [[port]]\nname = \"vm2\"\nmacs = [\"02:00:00:04:00:02\"]\ninterstellar = true\n\
            bindings = [{ ip = \"10.0.0.6\", mac = \"02:00:00:04:00:02\" }]\n\
            [port.dhcp]\nprefix = 24\nrouter = \"10.0.0.1\"\n\
            [[port]]\nname = \"other\"\nmacs = [\"02:00:00:08:00:01\"]\ninterstellar = true\n";
        let cfg = Config::parse(src, "x.toml").unwrap();
        let mask = |i: usize| {
            port_policy(&cfg.ports[i], &[], &cfg.filters)
                .unwrap()
                .unwrap()
                .dhcp()
                .map(|d| d.subnet_mask())
        };
        assert_eq!(mask(0), Some(std::net::Ipv4Addr::new(255, 255, 0, 0)));
        assert_eq!(mask(1), Some(std::net::Ipv4Addr::new(255, 255, 255, 0)));
        assert_eq!(mask(2), None, "IID 2 has no DHCP table");
        let e = Config::parse(
            "[filters.interstellar_dhcp.1]\nprefix = 16\nrouter = \"10.0.0.1\"\nmtu = 1\n",
            "bad.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("bad.toml:4:") && e.contains("filters.interstellar_dhcp.1.mtu"),
            "{e}"
        );
        let e = Config::parse(
            "[filters.interstellar_dhcp.x]\nprefix = 16\nrouter = \"10.0.0.1\"\n",
            "bad.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("filters.interstellar_dhcp.x"), "{e}");
    }

    const SERVER: &str = "02:00:00:00:53:01";

    #[test]
    fn a_cast_port_steers_to_its_server_and_its_tenants_follow_theirs() {
        let src = format!(
            "[filters.interstellar_dhcp.1]\ncast_to = \"02:00:00:00:53:02\"\n\
             [filters.interstellar_dhcp.3]\ncast_to = \"02:00:00:00:53:03\"\n\
             [[port]]\nname = \"host\"\n[port.dhcp]\ncast_to = \"{SERVER}\"\n\
             [[port]]\nname = \"vm1\"\nmacs = [\"02:00:00:04:00:01\"]\ninterstellar = true\n\
             [[port]]\nname = \"vm2\"\nmacs = [\"02:00:00:04:00:02\"]\ninterstellar = true\n\
             [port.dhcp]\ncast_to = \"{SERVER}\"\n\
             [[port]]\nname = \"vm3\"\nmacs = [\"02:00:00:04:00:03\"]\ninterstellar = true\n\
             bindings = [{{ ip = \"10.0.0.6\", mac = \"02:00:00:04:00:03\" }}]\n\
             [port.dhcp]\nprefix = 24\nrouter = \"10.0.0.1\"\n"
        );
        let cfg = Config::parse(&src, "x.toml").unwrap();
        let pol = |i: usize| {
            port_policy(&cfg.ports[i], &[], &cfg.filters)
                .unwrap()
                .unwrap()
        };
        let server = MacAddr(crate::config::parse_mac(SERVER).unwrap());
        // A plain port with only `cast_to`: a policy, still VLAN-only.
        assert_eq!(pol(0).dhcp_cast(), Some(server));
        assert!(pol(0).is_vlan_only() && pol(0).dhcp().is_none());
        // The tenant's server, unless the port has its own table (which
        // replaces the tenant's whole, either way round).
        assert_eq!(pol(1).dhcp_cast(), Some(MacAddr([2, 0, 0, 0, 0x53, 2])));
        assert_eq!(pol(2).dhcp_cast(), Some(server));
        assert!(pol(3).dhcp_cast().is_none() && pol(3).dhcp().is_some());
        // Every designated server, an Interstellar's without a port here too.
        let mut all = dhcp_cast_servers(&cfg.ports, &cfg.filters);
        all.sort();
        assert_eq!(
            all,
            [
                server,
                server,
                MacAddr([2, 0, 0, 0, 0x53, 2]),
                MacAddr([2, 0, 0, 0, 0x53, 3])
            ]
        );
    }

    #[test]
    fn casting_and_answering_on_one_port_is_refused_with_file_line_and_key() {
        let e = Config::parse(
            &format!("[[port]]\nname = \"a\"\n[port.dhcp]\nprefix = 24\ncast_to = \"{SERVER}\"\n"),
            "bad.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("bad.toml:5:")
                && e.contains("port.0.dhcp.cast_to")
                && e.contains("`prefix`"),
            "{e}"
        );
        let e = Config::parse(
            &format!("[filters.interstellar_dhcp.1]\ncast_to = \"{SERVER}\"\nlease_secs = 60\n"),
            "bad.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("bad.toml:2:") && e.contains("filters.interstellar_dhcp.1.cast_to"),
            "{e}"
        );
        for (bad, why) in [
            ("02:00:00", "not a MAC"),
            ("ff:ff:ff:ff:ff:ff", "group or zero"),
            ("00:00:00:00:00:00", "group or zero"),
        ] {
            let e = Config::parse(
                &format!("[[port]]\nname = \"a\"\n[port.dhcp]\ncast_to = \"{bad}\"\n"),
                "bad.toml",
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.starts_with("bad.toml:4:")
                    && e.contains("port.0.dhcp.cast_to")
                    && e.contains(why),
                "{e}"
            );
        }
        let e = Config::parse(
            &format!(
                "[[port]]\nname = \"f\"\nkind = \"fabric\"\n[port.dhcp]\ncast_to = \"{SERVER}\"\n"
            ),
            "bad.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("port.0.dhcp") && e.contains("host ports"), "{e}");
        // Neither `cast_to` nor `prefix`: the responder's missing key.
        let e = Config::parse(
            "[[port]]\nname = \"a\"\nmacs = [\"02:00:00:04:00:01\"]\n[port.dhcp]\nrouter = \"10.0.0.1\"\n",
            "bad.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("port.0.dhcp.prefix") && e.contains("cast_to"),
            "{e}"
        );
    }

    #[test]
    fn bad_dhcp_settings_name_file_line_and_key() {
        let bad = |extra: &str| {
            Config::parse(&format!("{DHCP_PORT}{extra}"), "bad.toml")
                .unwrap_err()
                .to_string()
        };
        let e = bad("");
        assert!(e.contains("port.0.dhcp.server_id"), "{e}");
        let e = bad(
            "router = \"10.0.0.1\"\nroutes = [{ dst = \"10.1.0.1/16\", via = \"10.0.0.2\" }]\n",
        );
        assert!(
            e.starts_with("bad.toml:9:") && e.contains("port.0.dhcp.routes"),
            "{e}"
        );
        let e =
            bad("router = \"10.0.0.1\"\nroutes = [{ dst = \"10.1.0.0\", via = \"10.0.0.2\" }]\n");
        assert!(e.contains("port.0.dhcp.routes"), "{e}");
        let e = bad("router = \"10.0.0.1\"\nmtu = 10\n");
        assert!(
            e.starts_with("bad.toml:9:") && e.contains("port.0.dhcp.mtu"),
            "{e}"
        );
        let e = bad("router = \"10.0.0.1\"\nsearch = [\"a..b\"]\n");
        assert!(e.contains("port.0.dhcp.search"), "{e}");
        let e = bad("router = \"10.0.0.1\"\ndomain = \"-\\u00e9\"\n");
        assert!(e.contains("port.0.dhcp.domain"), "{e}");
        let e = bad("router = \"10.0.0.1\"\nleases = 5\n");
        assert!(e.starts_with("bad.toml:9:"), "{e}");
        let e = Config::parse(
            "[[port]]\nname = \"a\"\n[port.dhcp]\nprefix = 24\nrouter = \"10.0.0.1\"\n",
            "bad.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("port.0.dhcp") && e.contains("macs"), "{e}");
        let fabric = DHCP_PORT.replace("name = \"vm1\"\n", "name = \"vm1\"\nkind = \"fabric\"\n");
        let e = Config::parse(&format!("{fabric}router = \"10.0.0.1\"\n"), "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("port.0.dhcp") && e.contains("host ports"), "{e}");
    }
}
