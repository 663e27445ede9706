//! ARPless bindings added at run time (`satctl arp add`, learn-once), and
//! turning them with the configuration into the filters' per-port policies
//! and shared tables.

use std::sync::Arc;

use satellite_filters::{EdgePortPolicy, FilterTables, Ipv4Binding, MacAddr};

use crate::config::{filters, parse_mac, Config, PortConfig};

/// Where a binding came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BindingOrigin {
    Config,
    Api,
    Learned,
    /// Another switch advertises it (SSTP).
    Fabric,
}

/// A binding added at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RuntimeBinding {
    pub(crate) port: usize,
    pub(crate) binding: Ipv4Binding,
    pub(crate) origin: BindingOrigin,
}

/// What the filters need from the bindings and the configuration.
pub(crate) struct CompiledFilters {
    /// By port; `None` for plain and fabric ports.
    pub(crate) policies: Vec<Option<Arc<EdgePortPolicy>>>,
    /// `None` when no port has a policy.
    pub(crate) tables: Option<Arc<FilterTables>>,
    /// DHCPCAST's designated servers ([`filters::dhcp_cast_servers`]).
    pub(crate) dhcp_cast_servers: Vec<MacAddr>,
}

/// The run-time bindings, by port index, and those of other switches.
#[derive(Default)]
pub(crate) struct Bindings {
    runtime: Vec<RuntimeBinding>,
    /// Other switches' bindings, from the link state: sorted, no repeats.
    remote: Vec<Ipv4Binding>,
}

fn binding_order(b: &Ipv4Binding) -> (u16, std::net::Ipv4Addr, [u8; 6]) {
    (b.vid, b.ip, b.mac.0)
}

impl Bindings {
    /// Policies and tables for `ports` (name and configuration, by index)
    /// from configuration plus run-time bindings. `responder` answers
    /// ARP for the switch.
    pub(crate) fn compile(
        &self,
        cfg: &Config,
        ports: &[(&str, &PortConfig)],
        responder: [u8; 6],
    ) -> Result<CompiledFilters, String> {
        let extra: Vec<Ipv4Binding> = self
            .runtime
            .iter()
            .map(|b| b.binding)
            .chain(self.remote.iter().copied())
            .collect();
        let mut policies = Vec::with_capacity(ports.len());
        for (i, (name, pc)) in ports.iter().enumerate() {
            let mine: Vec<Ipv4Binding> = self
                .runtime
                .iter()
                .filter(|b| b.port == i)
                .map(|b| b.binding)
                .collect();
            let pol = filters::port_policy(pc, &mine, &cfg.filters)
                .map_err(|(k, m)| format!("port {name}: {k}: {m}"))?;
            policies.push(pol.map(Arc::new));
        }
        let tables = if policies.iter().any(Option::is_some) {
            Some(Arc::new(
                filters::tables(cfg, responder, &extra)
                    .map_err(|(k, m)| format!("filters: {k}: {m}"))?,
            ))
        } else {
            None
        };
        let dhcp_cast_servers =
            filters::dhcp_cast_servers(ports.iter().map(|(_, pc)| *pc), &cfg.filters);
        Ok(CompiledFilters {
            policies,
            tables,
            dhcp_cast_servers,
        })
    }

    /// Sets the bindings other switches advertise; true when they changed
    /// (the filters must be rebuilt).
    pub(crate) fn set_remote(&mut self, mut v: Vec<Ipv4Binding>) -> bool {
        v.sort_unstable_by_key(binding_order);
        v.dedup();
        if v == self.remote {
            return false;
        }
        self.remote = v;
        true
    }

    /// The bindings of this switch's own ports, configured and run-time:
    /// what it advertises to the others.
    pub(crate) fn local(&self, ports: &[(&str, &PortConfig)]) -> Vec<Ipv4Binding> {
        let mut v: Vec<Ipv4Binding> = ports
            .iter()
            .flat_map(|(_, pc)| filters::config_bindings(pc).unwrap_or_default())
            .chain(self.runtime.iter().map(|b| b.binding))
            .collect();
        v.sort_unstable_by_key(binding_order);
        v.dedup();
        v
    }

    /// Adds `b`, replacing a run-time binding of the same IP and VLAN on
    /// the same port; returns what it replaced so a refused change can be
    /// undone with [`Bindings::undo_add`].
    pub(crate) fn add(&mut self, b: RuntimeBinding) -> Vec<RuntimeBinding> {
        let mut replaced = Vec::new();
        self.runtime.retain(|x| {
            let same =
                x.port == b.port && x.binding.vid == b.binding.vid && x.binding.ip == b.binding.ip;
            if same {
                replaced.push(*x);
            }
            !same
        });
        self.runtime.push(b);
        replaced
    }

    /// Takes back the last [`Bindings::add`].
    pub(crate) fn undo_add(&mut self, replaced: Vec<RuntimeBinding>) {
        self.runtime.pop();
        self.runtime.extend(replaced);
    }

    /// Removes the run-time binding of `ip` in `vid` on `port`; false if
    /// there is none.
    pub(crate) fn remove(&mut self, port: usize, ip: std::net::Ipv4Addr, vid: u16) -> bool {
        let before = self.runtime.len();
        self.runtime
            .retain(|x| !(x.port == port && x.binding.ip == ip && x.binding.vid == vid));
        self.runtime.len() != before
    }

    /// Drops every run-time binding of a port removed at run time (a port
    /// added later in its slot starts with none).
    pub(crate) fn forget_port(&mut self, port: usize) {
        self.runtime.retain(|x| x.port != port);
    }

    /// Whether the port already has a run-time binding (learn-once binds
    /// the first address only).
    pub(crate) fn port_has_any(&self, port: usize) -> bool {
        self.runtime.iter().any(|x| x.port == port)
    }

    /// Every binding, configured and run-time, as `satctl arp show` lists
    /// them; `names` are the port names by index.
    pub(crate) fn report(&self, cfg: &Config, ports: &[(&str, &PortConfig)]) -> serde_json::Value {
        let mut rows = Vec::new();
        let row = |port: Option<&str>, b: &Ipv4Binding, origin: BindingOrigin| {
            serde_json::json!({
                "port": port, "vlan": b.vid, "ip": b.ip.to_string(),
                "mac": b.mac.to_string(), "origin": origin,
            })
        };
        for (name, pc) in ports {
            for b in filters::config_bindings(pc).unwrap_or_default() {
                rows.push(row(Some(name), &b, BindingOrigin::Config));
            }
            // IPv6 bindings are configured only: listed, never learnt.
            for b in filters::config_ipv6_bindings(pc).unwrap_or_default() {
                rows.push(serde_json::json!({
                    "port": name, "vlan": b.vid, "ip": b.ip.to_string(),
                    "mac": b.mac.to_string(), "origin": BindingOrigin::Config,
                }));
            }
        }
        for b in &cfg.filters.bindings {
            if let (Some(m), std::net::IpAddr::V4(ip)) = (parse_mac(&b.mac), b.ip) {
                let ib = Ipv4Binding {
                    vid: b.vlan.unwrap_or(0),
                    ip,
                    mac: MacAddr(m),
                };
                rows.push(row(None, &ib, BindingOrigin::Config));
            }
        }
        for b in &self.runtime {
            let name = ports.get(b.port).map(|p| p.0);
            rows.push(row(name, &b.binding, b.origin));
        }
        for b in &self.remote {
            rows.push(row(None, b, BindingOrigin::Fabric));
        }
        serde_json::Value::Array(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn binding(port: usize, ip: [u8; 4], last: u8) -> RuntimeBinding {
        RuntimeBinding {
            port,
            binding: Ipv4Binding {
                vid: 0,
                ip: Ipv4Addr::from(ip),
                mac: MacAddr([2, 0, 0, 0, 0, last]),
            },
            origin: BindingOrigin::Api,
        }
    }

    #[test]
    fn add_replaces_the_same_ip_and_undo_restores_it() {
        let mut b = Bindings::default();
        assert!(b.add(binding(0, [10, 0, 0, 1], 1)).is_empty());
        let replaced = b.add(binding(0, [10, 0, 0, 1], 2));
        assert_eq!(replaced.len(), 1);
        assert_eq!(b.runtime.len(), 1);
        b.undo_add(replaced);
        assert_eq!(b.runtime, vec![binding(0, [10, 0, 0, 1], 1)]);
        assert!(b.port_has_any(0) && !b.port_has_any(1));
        assert!(!b.remove(0, Ipv4Addr::new(10, 0, 0, 9), 0));
        assert!(b.remove(0, Ipv4Addr::new(10, 0, 0, 1), 0));
        assert!(!b.port_has_any(0));
    }

    #[test]
    fn plain_ports_compile_to_no_filters_and_arpless_ports_see_runtime_bindings() {
        let cfg = Config::parse(
            "[[port]]\nname = \"vm\"\nmacs = [\"02:00:00:00:00:01\"]\narpless = \"enforce\"\n\
             [[port]]\nname = \"up\"\n",
            "x.toml",
        )
        .unwrap();
        let ports: Vec<(&str, &PortConfig)> =
            cfg.ports.iter().map(|p| (p.name.as_str(), p)).collect();
        let mut b = Bindings::default();
        let c = b.compile(&cfg, &ports[1..], [2, 0, 0, 0, 0, 9]).unwrap();
        assert!(c.policies[0].is_none() && c.tables.is_none());
        b.add(binding(0, [10, 0, 0, 1], 1));
        let c = b.compile(&cfg, &ports, [2, 0, 0, 0, 0, 9]).unwrap();
        assert_eq!(c.policies[0].as_ref().unwrap().bindings().len(), 1);
        assert!(c.policies[1].is_none() && c.tables.is_some());
        let rows = b.report(&cfg, &ports);
        assert_eq!(rows.as_array().unwrap().len(), 1);
        assert_eq!(rows[0]["origin"], "api");
        assert_eq!(rows[0]["port"], "vm");
    }

    #[test]
    fn arp_show_lists_a_ports_configured_ipv6_bindings() {
        let cfg = Config::parse(
            "[[port]]\nname = \"vm\"\nmacs = [\"02:00:00:00:00:01\"]\narpless = \"enforce\"\n\
             bindings = [{ ip = \"2001:db8::1\", mac = \"02:00:00:00:00:01\", vlan = 3 }]\n",
            "x.toml",
        )
        .unwrap();
        let ports: Vec<(&str, &PortConfig)> =
            cfg.ports.iter().map(|p| (p.name.as_str(), p)).collect();
        let rows = Bindings::default().report(&cfg, &ports);
        assert_eq!(
            rows,
            serde_json::json!([{ "port": "vm", "vlan": 3, "ip": "2001:db8::1",
                "mac": "02:00:00:00:00:01", "origin": "config" }])
        );
    }
}
