//! The ports and tables the filter targets run against: built once, as the
//! control thread builds them, so each execution costs only the filters.

use std::net::Ipv4Addr;
use std::sync::OnceLock;

use satellite_filters::{
    ArplessMode, EdgePortPolicy, FilterTables, InterstellarId, InterstellarPolicy, Ipv4Binding,
    MacAddr, PortMode, VidSet,
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
