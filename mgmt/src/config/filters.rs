//! What the filter keys of the configuration mean: from configuration (and
//! bindings added at run time) to the filters'
//! immutable tables and per-port policies that go into the snapshot.
//!
//! Errors name the key at fault relative to the port or `[filters]`
//! section, so configuration errors can point at a line.

use satellite_filters::{
    ArplessMode, EdgePortPolicy, FilterTables, InterstellarId, InterstellarMac, InterstellarPolicy,
    Ipv4Binding, MacAddr, Oui, PortMode, VidSet, VlanConfig,
};

use super::{parse_mac, parse_oui, ArplessConfig, Config, PortConfig, VlanModeConfig};

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

/// The port's configured bindings.
pub fn config_bindings(p: &PortConfig) -> Result<Vec<Ipv4Binding>, KeyError> {
    p.bindings
        .iter()
        .map(|b| {
            Ok(Ipv4Binding {
                vid: b.vlan.unwrap_or_else(|| default_binding_vid(p)),
                ip: b.ip,
                mac: mac("bindings", &b.mac)?,
            })
        })
        .collect()
}

/// The filter policy of one port, or `None` for a plain port. `extra` are
/// bindings added at run time (API, learn-once).
pub fn port_policy(
    p: &PortConfig,
    extra: &[Ipv4Binding],
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
    b = b.arpless(mode, bindings);
    b.build().map(Some).map_err(|e| err("macs", e.to_string()))
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
        bindings.push(Ipv4Binding {
            vid: b.vlan.unwrap_or(0),
            ip: b.ip,
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
        assert!(port_policy(&PortConfig::iface("p0"), &[])
            .unwrap()
            .is_none());
    }

    #[test]
    fn interstellar_port_takes_its_iid_from_its_mac() {
        let cfg = Config::parse(
            "[[port]]\nname = \"vm1\"\nmacs = [\"02:00:00:04:00:01\"]\ninterstellar = true\nresonance = [2]\narpless = \"enforce\"\nbindings = [{ ip = \"10.0.0.1\", mac = \"02:00:00:04:00:01\" }]\n",
            "x.toml",
        )
        .unwrap();
        let p = port_policy(&cfg.ports[0], &[]).unwrap().unwrap();
        assert_eq!(p.interstellar().unwrap().iid().get(), 1);
        assert_eq!(p.bindings().len(), 1);
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
}
