//! Frames and tables shared by the benchmark, the instruction-count example
//! and the fuzz targets, so all three measure the same cases. Not part of
//! the data-plane API.

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::arp::{ArpRepr, Operation, Packet};
use crate::interstellar::{InterstellarId, InterstellarMac, InterstellarPolicy, Oui, VmIndex};
use crate::mac::{MacAddr, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use crate::policy::{ArplessMode, EdgePortPolicy, FilterTables, Ipv4Binding, Ipv6Binding};
use crate::verdict::FilterVerdict;
use crate::vlan::{PortMode, VlanTag, TPID_CTAG, TPID_STAG};

/// One benchmarked situation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// Untagged IPv4 unicast between two VMs of one Interstellar.
    UntaggedIpv4,
    /// The same under three tags on a trunk port.
    TripleTaggedIpv4,
    /// An untagged ARP request answered by the switch.
    ArpRequestAnswered,
    /// Untagged IPv6 (UDP) unicast between two VMs of one Interstellar.
    UntaggedIpv6,
}

impl Case {
    /// Every case.
    pub const ALL: [Case; 4] = [
        Case::UntaggedIpv4,
        Case::TripleTaggedIpv4,
        Case::ArpRequestAnswered,
        Case::UntaggedIpv6,
    ];

    /// Name used by the benchmark and the example.
    pub fn name(self) -> &'static str {
        match self {
            Case::UntaggedIpv4 => "untagged_ipv4",
            Case::TripleTaggedIpv4 => "triple_tagged_ipv4",
            Case::ArpRequestAnswered => "arp_request_answered",
            Case::UntaggedIpv6 => "untagged_ipv6",
        }
    }
}

/// Tables with 1000 VMs of bindings and two ports (access and trunk).
pub struct Fixture {
    /// Shared tables.
    pub tables: FilterTables,
    /// Access port, VID 10.
    pub access: EdgePortPolicy,
    /// Trunk port, VID 10 allowed.
    pub trunk: EdgePortPolicy,
    /// The VM's MAC.
    pub me: MacAddr,
    /// A peer in the same Interstellar.
    pub peer: MacAddr,
}

const VID: u16 = 10;
/// The VM's bound IPv6 address.
const OWN_IPV6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);

fn vm(iid: u32, idx: u32) -> MacAddr {
    InterstellarMac::compose(
        InterstellarId::new(iid).expect("fixture IID fits"),
        VmIndex::new(idx).expect("fixture index fits"),
    )
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Fixture {
    /// Builds the fixture.
    pub fn new() -> Fixture {
        let me = vm(100, 1);
        let peer = vm(100, 2);
        let bindings: Vec<Ipv4Binding> = (3..=1002u32)
            .map(|i| Ipv4Binding {
                vid: VID,
                ip: Ipv4Addr::from(0x0a00_0000 + i),
                mac: vm(100 + i % 7, i),
            })
            .collect();
        let own = Ipv4Binding {
            vid: VID,
            ip: Ipv4Addr::new(10, 0, 0, 1),
            mac: me,
        };
        let tables = FilterTables::builder()
            .global_ouis([Oui::new(0x001b21).expect("fits")])
            .bindings(
                bindings
                    .iter()
                    .copied()
                    .filter(|b| b.mac != me && b.ip != own.ip),
            )
            .bindings([
                own,
                Ipv4Binding {
                    vid: VID,
                    ip: Ipv4Addr::new(10, 0, 0, 2),
                    mac: peer,
                },
            ])
            .build();
        let iid = InterstellarId::new(100).expect("fits");
        let port = |mode| {
            EdgePortPolicy::builder(mode)
                .macs([me])
                .interstellar(InterstellarPolicy::new(iid, [], []))
                .arpless(ArplessMode::Enforce, [own])
                .ipv6_bindings([Ipv6Binding {
                    vid: VID,
                    ip: OWN_IPV6,
                    mac: me,
                }])
                .build()
                .expect("fixture policy is valid")
        };
        Fixture {
            tables,
            access: port(PortMode::Access { vid: VID }),
            trunk: port(PortMode::Trunk {
                allowed: [VID].into_iter().collect(),
                native: None,
            }),
            me,
            peer,
        }
    }

    /// The port a case arrives on.
    pub fn port(&self, case: Case) -> &EdgePortPolicy {
        match case {
            Case::TripleTaggedIpv4 => &self.trunk,
            _ => &self.access,
        }
    }

    /// The frame of a case.
    pub fn frame(&self, case: Case) -> Vec<u8> {
        let mut f = Vec::with_capacity(128);
        match case {
            Case::ArpRequestAnswered => {
                f.extend_from_slice(&MacAddr::BROADCAST.0);
                f.extend_from_slice(&self.me.0);
                f.extend_from_slice(&ETHERTYPE_ARP.to_be_bytes());
                let mut body = [0u8; 28];
                ArpRepr {
                    operation: Operation::Request,
                    source_hardware_addr: self.me,
                    source_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
                    target_hardware_addr: MacAddr::ZERO,
                    target_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
                }
                .emit(&mut Packet::new_unchecked(&mut body[..]));
                f.extend_from_slice(&body);
                f.resize(60, 0);
            }
            Case::UntaggedIpv4 | Case::TripleTaggedIpv4 => {
                f.extend_from_slice(&self.peer.0);
                f.extend_from_slice(&self.me.0);
                if case == Case::TripleTaggedIpv4 {
                    for (tpid, vid) in [(TPID_STAG, VID), (TPID_CTAG, 20), (TPID_CTAG, 30)] {
                        f.extend_from_slice(
                            &VlanTag {
                                tpid,
                                pcp: 0,
                                dei: false,
                                vid,
                            }
                            .to_bytes(),
                        );
                    }
                }
                f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
                let ip = f.len();
                f.resize(ip + 50, 0x45);
                // From the port's bound address, as the IP source guard wants.
                f[ip + 12..ip + 16].copy_from_slice(&[10, 0, 0, 1]);
            }
            Case::UntaggedIpv6 => {
                f.extend_from_slice(&self.peer.0);
                f.extend_from_slice(&self.me.0);
                f.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
                let ip = f.len();
                f.resize(ip + 40 + 30, 0);
                f[ip] = 0x60;
                f[ip + 4..ip + 6].copy_from_slice(&30u16.to_be_bytes());
                f[ip + 6] = 17; // UDP
                f[ip + 7] = 64;
                f[ip + 8..ip + 24].copy_from_slice(&OWN_IPV6.octets());
                f[ip + 24..ip + 40]
                    .copy_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2).octets());
            }
        }
        f
    }

    /// Whether `v` is what the case should produce.
    pub fn verdict_ok(&self, case: Case, v: &FilterVerdict) -> bool {
        match case {
            Case::ArpRequestAnswered => *v == FilterVerdict::Reply { len: 60 },
            _ => matches!(v, FilterVerdict::Pass(c) if c.vid == VID),
        }
    }
}
