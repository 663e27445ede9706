//! The ports and tables the filter targets run against: built once, as the
//! control thread builds them, so each execution costs only the filters.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use satellite_filters::{
    ArplessMode, DhcpServerConfig, DhcpSettings, EdgePortPolicy, FilterTables, InterstellarId,
    InterstellarPolicy, Ipv4Binding, Ipv6Binding, MacAddr, PortMode, StaticRoute, VidSet,
};

/// The VM on the fixture ports: VM 1 of Interstellar 42. Corpus frames use
/// it as source so mutations start past the anti-spoofing check.
pub const VM: MacAddr = MacAddr([0x02, 0x00, 0x00, 0xa8, 0x00, 0x01]);
/// Another VM of Interstellar 42, bound to 10.0.0.2.
pub const PEER: MacAddr = MacAddr([0x02, 0x00, 0x00, 0xa8, 0x00, 0x02]);

fn bind(ip: [u8; 4], mac: MacAddr) -> Ipv4Binding {
    Ipv4Binding {
        vid: 10,
        ip: Ipv4Addr::from(ip),
        mac,
    }
}

/// The switch-wide tables: both VMs bound in VLAN 10.
pub fn tables() -> &'static FilterTables {
    static T: OnceLock<FilterTables> = OnceLock::new();
    T.get_or_init(|| {
        FilterTables::builder()
            .bindings([bind([10, 0, 0, 1], VM), bind([10, 0, 0, 2], PEER)])
            .responder(
                MacAddr([0x02, 0, 0, 0, 0, 0xfe]),
                Ipv4Addr::new(10, 0, 0, 254),
            )
            .build()
    })
}

/// An enforcing ARPless Interstellar access port, a learn-once trunk port
/// and a plain tunnel port.
pub fn ports() -> &'static [EdgePortPolicy] {
    static P: OnceLock<Vec<EdgePortPolicy>> = OnceLock::new();
    P.get_or_init(|| {
        let iid = InterstellarId::new(42).expect("42 is a valid IID");
        let mut allowed = VidSet::new();
        allowed.insert(10);
        allowed.insert(20);
        let ports = [
            EdgePortPolicy::builder(PortMode::Access { vid: 10 })
                .macs([VM])
                .interstellar(InterstellarPolicy::new(iid, [], []))
                .arpless(ArplessMode::Enforce, [bind([10, 0, 0, 1], VM)])
                .ipv6_bindings([Ipv6Binding {
                    vid: 10,
                    ip: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
                    mac: VM,
                }])
                .build(),
            EdgePortPolicy::builder(PortMode::Trunk {
                allowed,
                native: Some(10),
            })
            .macs([VM])
            .arpless(ArplessMode::LearnOnce, [])
            .build(),
            EdgePortPolicy::builder(PortMode::Tunnel { svid: 100 }).build(),
        ];
        ports
            .into_iter()
            .map(|p| p.expect("fixture policies are valid"))
            .collect()
    })
}

/// An enforcing ARPless access port (VLAN 10) whose VM gets 10.0.0.1 by
/// DHCP, with every option configured.
pub fn dhcp_port() -> &'static EdgePortPolicy {
    static P: OnceLock<EdgePortPolicy> = OnceLock::new();
    P.get_or_init(|| {
        let settings = DhcpSettings {
            prefix_len: 24,
            server_id: Ipv4Addr::new(10, 0, 0, 254),
            router: Some(Ipv4Addr::new(10, 0, 0, 254)),
            dns: vec![Ipv4Addr::new(10, 0, 0, 53)],
            ntp: vec![Ipv4Addr::new(10, 0, 0, 123)],
            domain: Some("vm.example".into()),
            search: vec!["vm.example".into(), "example".into()],
            routes: vec![StaticRoute {
                dst: Ipv4Addr::new(192, 168, 0, 0),
                prefix_len: 16,
                via: Ipv4Addr::new(10, 0, 0, 2),
            }],
            mtu: Some(1400),
            lease_secs: 3600,
        };
        EdgePortPolicy::builder(PortMode::Access { vid: 10 })
            .macs([VM])
            .arpless(ArplessMode::Enforce, [bind([10, 0, 0, 1], VM)])
            .dhcp(DhcpServerConfig::new(&settings).expect("fixture DHCP settings are valid"))
            .build()
            .expect("the fixture DHCP port is valid")
    })
}
