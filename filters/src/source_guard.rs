//! IP source guard: on an ARPless port, an IPv4 packet must come from the
//! address the port's binding gives its source MAC, so a VM cannot send
//! as another (replies to a forged source go to the victim, and a forged
//! source defeats the peer's own address filtering).
//!
//! One exception: a DHCP client that has no address yet (RFC 2131 4.1:
//! DISCOVER and REQUEST from 0.0.0.0, UDP 68 to 67), so a VM can get the
//! address it will then be bound to. Any other packet from 0.0.0.0 claims
//! an address nobody can answer and is dropped. IPv6 is held to the
//! port's IPv6 bindings by [`crate::ipv6_guard`].

use core::net::Ipv4Addr;

use crate::policy::EdgePortPolicy;
use crate::verdict::DropReason;
use crate::vlan::Vid;
use crate::MacAddr;

const IPV4_MIN_HEADER: usize = 20;
const PROTO_UDP: u8 = 17;
const DHCP_CLIENT_PORT: u16 = 68;
const DHCP_SERVER_PORT: u16 = 67;

/// Checks the IPv4 packet at `ip_offset` in `frame`, sent by `src` (one of
/// the port's MACs) in `vid`, against the port's bindings.
#[inline]
pub fn check_ipv4(
    frame: &[u8],
    ip_offset: usize,
    vid: Vid,
    src: MacAddr,
    port: &EdgePortPolicy,
) -> Result<(), DropReason> {
    let hdr = ip_header(frame, ip_offset, IPV4_MIN_HEADER, 4)?;
    let ip = Ipv4Addr::new(hdr[12], hdr[13], hdr[14], hdr[15]);
    if port.has_binding(vid, ip, src) {
        return Ok(());
    }
    if ip.is_unspecified() && is_dhcp_client(frame, ip_offset, hdr) {
        return Ok(());
    }
    Err(DropReason::IpSpoofedSource)
}

/// The `len` octets of the IP header at `ip_offset`, if the frame holds
/// them and they say IP version `version`; else `ip_malformed`.
#[inline]
pub(crate) fn ip_header(
    frame: &[u8],
    ip_offset: usize,
    len: usize,
    version: u8,
) -> Result<&[u8], DropReason> {
    match frame.get(ip_offset..ip_offset + len) {
        Some(hdr) if hdr[0] >> 4 == version => Ok(hdr),
        _ => Err(DropReason::IpMalformed),
    }
}

/// UDP from port 68 to 67 in an unfragmented (or first-fragment) packet.
fn is_dhcp_client(frame: &[u8], ip_offset: usize, hdr: &[u8]) -> bool {
    let first_fragment = u16::from_be_bytes([hdr[6], hdr[7]]) & 0x1fff == 0;
    if hdr[9] != PROTO_UDP || !first_fragment {
        return false;
    }
    let udp = ip_offset + usize::from(hdr[0] & 0x0f) * 4;
    match frame.get(udp..udp + 4) {
        Some(u) => {
            u16::from_be_bytes([u[0], u[1]]) == DHCP_CLIENT_PORT
                && u16::from_be_bytes([u[2], u[3]]) == DHCP_SERVER_PORT
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard_tests::{frame, verdict, VM};
    use crate::mac::{ETHERTYPE_IPV4, ETHERTYPE_IPV6};
    use crate::policy::{ArplessMode, Ipv4Binding};
    use crate::vlan::{PortMode, VidSet};

    const BOUND: [u8; 4] = [10, 0, 0, 1];

    fn port(mode: PortMode, arpless: ArplessMode, bound: bool) -> EdgePortPolicy {
        let b = Ipv4Binding {
            vid: 10,
            ip: Ipv4Addr::from(BOUND),
            mac: VM,
        };
        EdgePortPolicy::builder(mode)
            .macs([VM])
            .arpless(arpless, bound.then_some(b))
            .build()
            .unwrap()
    }

    fn access(arpless: ArplessMode) -> EdgePortPolicy {
        port(PortMode::Access { vid: 10 }, arpless, true)
    }

    /// IPv4 from `src`, protocol `proto`, header of `ihl` words, flags and
    /// fragment offset `frag`, then `l4` as payload.
    fn ipv4(src: [u8; 4], proto: u8, ihl: u8, frag: u16, l4: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; usize::from(ihl) * 4];
        h[0] = 0x40 | ihl;
        h[6..8].copy_from_slice(&frag.to_be_bytes());
        h[8] = 64;
        h[9] = proto;
        h[12..16].copy_from_slice(&src);
        h[16..20].copy_from_slice(&[255, 255, 255, 255]);
        h.extend_from_slice(l4);
        h
    }

    fn udp(sport: u16, dport: u16) -> Vec<u8> {
        let mut u = vec![0u8; 8];
        u[0..2].copy_from_slice(&sport.to_be_bytes());
        u[2..4].copy_from_slice(&dport.to_be_bytes());
        u
    }

    #[test]
    fn the_bound_source_passes_and_any_other_is_dropped() {
        let p = access(ArplessMode::Enforce);
        let send = |src, proto| {
            verdict(
                &frame(VM, &[], ETHERTYPE_IPV4, &ipv4(src, proto, 5, 0, &udp(1, 2))),
                &p,
            )
        };
        assert_eq!(send(BOUND, 17), Ok(()));
        assert_eq!(send([10, 0, 0, 2], 17), Err(DropReason::IpSpoofedSource));
        assert_eq!(send([10, 0, 0, 2], 6), Err(DropReason::IpSpoofedSource));
        assert_eq!(send([0, 0, 0, 0], 6), Err(DropReason::IpSpoofedSource));
        // Learn-once ports are held the same way once bound.
        let p = access(ArplessMode::LearnOnce);
        let f = frame(VM, &[], ETHERTYPE_IPV4, &ipv4([10, 0, 0, 9], 17, 5, 0, &[]));
        assert_eq!(verdict(&f, &p), Err(DropReason::IpSpoofedSource));
    }

    #[test]
    fn a_binding_holds_in_its_own_vlan_only() {
        let mut allowed = VidSet::new();
        allowed.insert(10);
        allowed.insert(20);
        let p = port(
            PortMode::Trunk {
                allowed,
                native: None,
            },
            ArplessMode::Enforce,
            true,
        );
        let ip = ipv4(BOUND, 17, 5, 0, &udp(1, 2));
        assert_eq!(verdict(&frame(VM, &[10], ETHERTYPE_IPV4, &ip), &p), Ok(()));
        assert_eq!(
            verdict(&frame(VM, &[20], ETHERTYPE_IPV4, &ip), &p),
            Err(DropReason::IpSpoofedSource)
        );
    }

    #[test]
    fn a_dhcp_client_without_an_address_passes() {
        let p = access(ArplessMode::Enforce);
        let zero = [0, 0, 0, 0];
        let send = |ip: Vec<u8>| verdict(&frame(VM, &[], ETHERTYPE_IPV4, &ip), &p);
        assert_eq!(send(ipv4(zero, 17, 5, 0, &udp(68, 67))), Ok(()));
        assert_eq!(
            send(ipv4(zero, 17, 6, 0, &udp(68, 67))),
            Ok(()),
            "IP options"
        );
        assert_eq!(
            send(ipv4(zero, 17, 5, 0x4000, &udp(68, 67))),
            Ok(()),
            "DF set"
        );
        for (ip, why) in [
            (ipv4(zero, 17, 5, 0, &udp(67, 68)), "server ports"),
            (ipv4(zero, 17, 5, 0, &udp(68, 53)), "not DHCP"),
            (ipv4(zero, 6, 5, 0, &udp(68, 67)), "TCP"),
            (ipv4(zero, 17, 5, 0x0010, &udp(68, 67)), "later fragment"),
            (ipv4(zero, 17, 5, 0, &[0, 68]), "UDP header cut off"),
            (
                ipv4([10, 0, 0, 2], 17, 5, 0, &udp(68, 67)),
                "DHCP from a foreign address",
            ),
        ] {
            assert_eq!(send(ip), Err(DropReason::IpSpoofedSource), "{why}");
        }
    }

    #[test]
    fn a_header_that_cannot_be_read_is_malformed() {
        let p = access(ArplessMode::Enforce);
        let ip = ipv4(BOUND, 17, 5, 0, &[]);
        let f = frame(VM, &[], ETHERTYPE_IPV4, &ip[..19]);
        assert_eq!(verdict(&f, &p), Err(DropReason::IpMalformed));
        let mut v6 = ip.clone();
        v6[0] = 0x65;
        let f = frame(VM, &[], ETHERTYPE_IPV4, &v6);
        assert_eq!(verdict(&f, &p), Err(DropReason::IpMalformed));
    }

    #[test]
    fn ports_without_arpless_are_not_policed() {
        let foreign = ipv4([192, 0, 2, 1], 17, 5, 0, &udp(1, 2));
        let p = access(ArplessMode::Off);
        assert_eq!(
            verdict(&frame(VM, &[], ETHERTYPE_IPV4, &foreign), &p),
            Ok(())
        );
        assert_eq!(
            verdict(&frame(VM, &[], ETHERTYPE_IPV6, &[0x60; 40]), &p),
            Ok(())
        );
    }
}
