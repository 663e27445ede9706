use super::*;
use crate::guard_tests::{frame, verdict, PEER, VM};
use crate::mac::ETHERTYPE_IPV6;
use crate::policy::{ArplessMode, Ipv4Binding, Ipv6Binding};
use crate::vlan::{PortMode, VidSet};
use proptest::prelude::*;

const OTHER: MacAddr = MacAddr([0x02, 0, 0, 0x04, 0, 9]);
const BOUND: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const FOREIGN: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
const UNSPEC: Ipv6Addr = Ipv6Addr::UNSPECIFIED;
const UDP: u8 = 17;

fn port_in(mode: PortMode, arpless: ArplessMode) -> EdgePortPolicy {
    EdgePortPolicy::builder(mode)
        .macs([VM, OTHER])
        .arpless(
            arpless,
            [Ipv4Binding {
                vid: 10,
                ip: [10, 0, 0, 1].into(),
                mac: VM,
            }],
        )
        .ipv6_bindings([Ipv6Binding {
            vid: 10,
            ip: BOUND,
            mac: VM,
        }])
        .build()
        .unwrap()
}

fn access() -> EdgePortPolicy {
    port_in(PortMode::Access { vid: 10 }, ArplessMode::Enforce)
}

/// An IPv6 packet from `src` with next header `next`, hop limit `hops`.
fn ipv6(src: Ipv6Addr, next: u8, hops: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 40];
    h[0] = 0x60;
    h[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    h[6] = next;
    h[7] = hops;
    h[8..24].copy_from_slice(&src.octets());
    h[24..40].copy_from_slice(&Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1).octets());
    h.extend_from_slice(payload);
    h
}

fn frame_from(mac: MacAddr, tags: &[u16], ip: &[u8]) -> Vec<u8> {
    frame(mac, tags, ETHERTYPE_IPV6, ip)
}

/// The verdict on `ip` sent by the VM, untagged, on the access port.
fn send(ip: &[u8]) -> Result<(), DropReason> {
    verdict(&frame_from(VM, &[], ip), &access())
}

/// An ND message: type, a 4-byte field after the checksum, then `body`.
fn icmp(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(body);
    m
}

/// A Neighbor Solicitation or Advertisement for `target` with `opts`.
fn nd(kind: u8, target: Ipv6Addr, opts: &[u8]) -> Vec<u8> {
    let mut body = target.octets().to_vec();
    body.extend_from_slice(opts);
    icmp(kind, &body)
}

fn lla(kind: u8, mac: MacAddr) -> Vec<u8> {
    let mut o = vec![kind, 1];
    o.extend_from_slice(&mac.0);
    o
}

fn link_local(mac: MacAddr) -> Ipv6Addr {
    eui64_link_local(mac)
}

#[test]
fn the_eui64_link_local_follows_rfc_4291() {
    let mac = MacAddr([0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc]);
    assert_eq!(
        eui64_link_local(mac),
        "fe80::21b:21ff:feaa:bbcc".parse::<Ipv6Addr>().unwrap()
    );
}

#[test]
fn a_bound_source_passes_and_a_foreign_one_is_dropped() {
    assert_eq!(send(&ipv6(BOUND, UDP, 64, &[0; 8])), Ok(()));
    assert_eq!(
        send(&ipv6(FOREIGN, UDP, 64, &[0; 8])),
        Err(DropReason::IpSpoofedSource)
    );
    // Bound to another MAC of the port: not this frame's.
    let f = frame_from(OTHER, &[], &ipv6(BOUND, UDP, 64, &[0; 8]));
    assert_eq!(verdict(&f, &access()), Err(DropReason::IpSpoofedSource));
    // Learn-once ports are held the same way.
    let p = port_in(PortMode::Access { vid: 10 }, ArplessMode::LearnOnce);
    let f = frame_from(VM, &[], &ipv6(FOREIGN, UDP, 64, &[0; 8]));
    assert_eq!(verdict(&f, &p), Err(DropReason::IpSpoofedSource));
}

#[test]
fn the_link_local_address_of_the_frames_mac_is_bound() {
    assert_eq!(send(&ipv6(link_local(VM), UDP, 64, &[])), Ok(()));
    assert_eq!(
        send(&ipv6(link_local(OTHER), UDP, 64, &[])),
        Err(DropReason::IpSpoofedSource)
    );
    let stable_privacy = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x1234, 0x5678, 0x9abc, 0xdef0);
    assert_eq!(
        send(&ipv6(stable_privacy, UDP, 64, &[])),
        Err(DropReason::IpSpoofedSource)
    );
}

#[test]
fn a_binding_holds_in_its_own_vlan_only_behind_the_tags() {
    let allowed: VidSet = [10, 20].into_iter().collect();
    let p = port_in(
        PortMode::Trunk {
            allowed,
            native: None,
        },
        ArplessMode::Enforce,
    );
    let ip = ipv6(BOUND, UDP, 64, &[0; 8]);
    assert_eq!(verdict(&frame_from(VM, &[10], &ip), &p), Ok(()));
    assert_eq!(
        verdict(&frame_from(VM, &[20], &ip), &p),
        Err(DropReason::IpSpoofedSource)
    );
}

#[test]
fn the_unspecified_source_is_for_dad_and_mld_only() {
    let dad = nd(NEIGHBOR_SOLICITATION, BOUND, &[]);
    assert_eq!(send(&ipv6(UNSPEC, ICMPV6, 255, &dad)), Ok(()));
    let dad_ll = nd(NEIGHBOR_SOLICITATION, link_local(VM), &[]);
    assert_eq!(send(&ipv6(UNSPEC, ICMPV6, 255, &dad_ll)), Ok(()));
    assert_eq!(
        send(&ipv6(UNSPEC, ICMPV6, 64, &dad)),
        Err(DropReason::IpSpoofedSource),
        "DAD with a hop limit other than 255"
    );
    let mld = icmp(MLDV2_REPORT, &[0; 20]);
    assert_eq!(send(&ipv6(UNSPEC, ICMPV6, 1, &mld)), Ok(()));
    assert_eq!(
        send(&ipv6(UNSPEC, ICMPV6, 2, &mld)),
        Err(DropReason::IpSpoofedSource)
    );
    for (ip, why) in [
        (ipv6(UNSPEC, UDP, 64, &[0; 8]), "UDP"),
        (ipv6(UNSPEC, ICMPV6, 64, &icmp(128, &[])), "echo request"),
        (
            ipv6(UNSPEC, ICMPV6, 255, &nd(NEIGHBOR_ADVERTISEMENT, BOUND, &[])),
            "NA",
        ),
        (
            ipv6(UNSPEC, ICMPV6, 1, &icmp(131, &[0; 16])),
            "MLDv1 report",
        ),
    ] {
        assert_eq!(send(&ip), Err(DropReason::IpSpoofedSource), "{why}");
    }
}

#[test]
fn dad_is_held_to_the_senders_bindings() {
    let probe = |target, opts: &[u8]| {
        send(&ipv6(
            UNSPEC,
            ICMPV6,
            255,
            &nd(NEIGHBOR_SOLICITATION, target, opts),
        ))
    };
    assert_eq!(probe(FOREIGN, &[]), Err(DropReason::NdSpoofed));
    assert_eq!(probe(link_local(OTHER), &[]), Err(DropReason::NdSpoofed));
    assert_eq!(
        probe(BOUND, &lla(SOURCE_LINK_LAYER_ADDRESS, VM)),
        Err(DropReason::NdSpoofed),
        "RFC 4861 7.1.1: no SLLAO from ::"
    );
}

#[test]
fn an_advertisement_must_speak_for_the_senders_own_address() {
    let na = |target, opts: &[u8]| {
        send(&ipv6(
            BOUND,
            ICMPV6,
            255,
            &nd(NEIGHBOR_ADVERTISEMENT, target, opts),
        ))
    };
    assert_eq!(na(BOUND, &lla(TARGET_LINK_LAYER_ADDRESS, VM)), Ok(()));
    assert_eq!(na(link_local(VM), &[]), Ok(()));
    assert_eq!(
        na(FOREIGN, &lla(TARGET_LINK_LAYER_ADDRESS, VM)),
        Err(DropReason::NdSpoofed),
        "target not bound"
    );
    assert_eq!(
        na(BOUND, &lla(TARGET_LINK_LAYER_ADDRESS, PEER)),
        Err(DropReason::NdSpoofed),
        "TLLA not the frame's source"
    );
    let mut two = lla(TARGET_LINK_LAYER_ADDRESS, VM);
    two.extend(lla(TARGET_LINK_LAYER_ADDRESS, PEER));
    assert_eq!(na(BOUND, &two), Err(DropReason::NdSpoofed), "second TLLA");
    // A source link-layer option is not the NA's to check.
    assert_eq!(na(BOUND, &lla(SOURCE_LINK_LAYER_ADDRESS, PEER)), Ok(()));
}

#[test]
fn a_solicitation_must_name_the_frames_source() {
    let ns = |opts: &[u8]| {
        send(&ipv6(
            BOUND,
            ICMPV6,
            255,
            &nd(NEIGHBOR_SOLICITATION, FOREIGN, opts),
        ))
    };
    assert_eq!(ns(&lla(SOURCE_LINK_LAYER_ADDRESS, VM)), Ok(()));
    assert_eq!(ns(&[]), Ok(()));
    assert_eq!(
        ns(&lla(SOURCE_LINK_LAYER_ADDRESS, PEER)),
        Err(DropReason::NdSpoofed)
    );
    let rs = |mac| {
        let m = icmp(ROUTER_SOLICITATION, &lla(SOURCE_LINK_LAYER_ADDRESS, mac));
        send(&ipv6(link_local(VM), ICMPV6, 255, &m))
    };
    assert_eq!(rs(VM), Ok(()));
    assert_eq!(rs(PEER), Err(DropReason::NdSpoofed));
}

#[test]
fn router_messages_from_a_host_port_are_dropped() {
    for src in [link_local(VM), BOUND, UNSPEC] {
        for kind in [ROUTER_ADVERTISEMENT, REDIRECT] {
            let m = icmp(kind, &[0; 32]);
            assert_eq!(
                send(&ipv6(src, ICMPV6, 255, &m)),
                Err(DropReason::NdRouterMessage),
                "{kind} from {src}"
            );
        }
    }
}

/// An 8-octet options header (hop-by-hop with a Router Alert, as MLD
/// carries it, or destination options) whose next header is `next`.
fn ext(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![next, 0, 5, 2, 0, 0, 1, 0];
    h.extend_from_slice(payload);
    h
}

#[test]
fn icmpv6_is_found_behind_extension_headers() {
    let mld = ext(ICMPV6, &icmp(MLDV2_REPORT, &[0; 20]));
    assert_eq!(send(&ipv6(UNSPEC, HOP_BY_HOP, 1, &mld)), Ok(()));
    let ra = icmp(ROUTER_ADVERTISEMENT, &[0; 8]);
    // RFC 7113: an RA behind destination options, twice, and a fragment.
    let hidden = ext(DESTINATION_OPTIONS, &ext(ICMPV6, &ra));
    assert_eq!(
        send(&ipv6(BOUND, DESTINATION_OPTIONS, 255, &hidden)),
        Err(DropReason::NdRouterMessage)
    );
    let first_fragment = [ICMPV6, 0, 0, 0, 0, 0, 0, 1];
    let mut f = first_fragment.to_vec();
    f.extend_from_slice(&ra);
    assert_eq!(
        send(&ipv6(BOUND, FRAGMENT, 255, &f)),
        Err(DropReason::NdRouterMessage)
    );
    // An authentication header counts its length in 4-octet units, less 2.
    let mut ah = vec![ICMPV6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    ah.extend_from_slice(&ra);
    assert_eq!(
        send(&ipv6(BOUND, AUTHENTICATION, 255, &ah)),
        Err(DropReason::NdRouterMessage)
    );
    // A later fragment has no upper-layer header: held by its source.
    let later = [ICMPV6, 0, 0, 8, 0, 0, 0, 1];
    assert_eq!(send(&ipv6(BOUND, FRAGMENT, 64, &later)), Ok(()));
    assert_eq!(
        send(&ipv6(UNSPEC, FRAGMENT, 64, &later)),
        Err(DropReason::IpSpoofedSource)
    );
}

#[test]
fn a_chain_too_long_or_cut_off_is_malformed() {
    let mut chain = icmp(ROUTER_ADVERTISEMENT, &[0; 8]);
    let mut next = ICMPV6;
    for _ in 0..=MAX_EXTENSION_HEADERS {
        chain = ext(next, &chain);
        next = DESTINATION_OPTIONS;
    }
    assert_eq!(
        send(&ipv6(BOUND, next, 255, &chain)),
        Err(DropReason::IpMalformed)
    );
    assert_eq!(
        send(&ipv6(BOUND, HOP_BY_HOP, 1, &[ICMPV6, 0, 5, 2])),
        Err(DropReason::IpMalformed),
        "hop-by-hop header cut off"
    );
    // Longer than the packet: the payload length ends it, not the frame.
    let mut hbh = ipv6(BOUND, HOP_BY_HOP, 1, &ext(ICMPV6, &[]));
    hbh.extend_from_slice(&icmp(ROUTER_ADVERTISEMENT, &[0; 8]));
    assert_eq!(send(&hbh), Err(DropReason::IpMalformed));
}

#[test]
fn headers_and_nd_messages_that_cannot_be_read_are_malformed() {
    let ip = ipv6(BOUND, UDP, 64, &[]);
    assert_eq!(send(&ip[..39]), Err(DropReason::IpMalformed));
    let mut v4 = ip.clone();
    v4[0] = 0x45;
    assert_eq!(send(&v4), Err(DropReason::IpMalformed));
    let short_na = &nd(NEIGHBOR_ADVERTISEMENT, BOUND, &[])[..20];
    assert_eq!(
        send(&ipv6(BOUND, ICMPV6, 255, short_na)),
        Err(DropReason::IpMalformed)
    );
    assert_eq!(
        send(&ipv6(BOUND, ICMPV6, 255, &[])),
        Err(DropReason::IpMalformed),
        "no ICMPv6 type"
    );
    for opts in [vec![TARGET_LINK_LAYER_ADDRESS, 0, 0, 0, 0, 0, 0, 0], {
        let mut o = lla(TARGET_LINK_LAYER_ADDRESS, VM);
        o[1] = 2;
        o
    }] {
        let m = nd(NEIGHBOR_ADVERTISEMENT, BOUND, &opts);
        assert_eq!(
            send(&ipv6(BOUND, ICMPV6, 255, &m)),
            Err(DropReason::IpMalformed),
            "option length {}",
            opts[1]
        );
    }
    // Ethernet padding after the payload is not an option.
    let mut padded = ipv6(BOUND, ICMPV6, 255, &nd(NEIGHBOR_ADVERTISEMENT, BOUND, &[]));
    padded.extend_from_slice(&[0; 6]);
    assert_eq!(send(&padded), Ok(()));
}

#[test]
fn bindings_must_be_unicast_and_the_ports() {
    let build = |ip, mac| {
        EdgePortPolicy::builder(PortMode::Access { vid: 10 })
            .macs([VM])
            .arpless(ArplessMode::Enforce, [])
            .ipv6_bindings([Ipv6Binding { vid: 10, ip, mac }])
            .build()
    };
    assert!(build(BOUND, VM).is_ok());
    assert_eq!(
        build(UNSPEC, VM),
        Err(crate::PolicyError::Ipv6BindingNotUnicast(UNSPEC))
    );
    let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    assert_eq!(
        build(group, VM),
        Err(crate::PolicyError::Ipv6BindingNotUnicast(group))
    );
    assert_eq!(
        build(BOUND, PEER),
        Err(crate::PolicyError::BindingMacNotOwned {
            ip: BOUND.into(),
            mac: PEER
        })
    );
}

proptest! {
    #[test]
    fn no_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..160), at in 0usize..40) {
        let p = access();
        let _ = check_ipv6(&bytes, at, 10, VM, &p);
    }

    #[test]
    fn no_panic_on_arbitrary_icmpv6(
        src in prop_oneof![Just(BOUND), Just(UNSPEC), Just(link_local(VM))],
        next in prop_oneof![Just(ICMPV6), Just(HOP_BY_HOP), Just(FRAGMENT), Just(AUTHENTICATION), any::<u8>()],
        hops in any::<u8>(),
        payload in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        let _ = send(&ipv6(src, next, hops, &payload));
    }
}
