//! Cross-module tests of the two entry points: byte fixtures, the ARP
//! opcode table, and property tests.

use core::net::Ipv4Addr;

use proptest::prelude::*;

use crate::arp::{ArpRepr, Operation, Packet};
use crate::interstellar::{InterstellarId, InterstellarMac, InterstellarPolicy, Oui, VmIndex};
use crate::mac::{MacAddr, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_RARP};
use crate::policy::{ArplessMode, EdgePortPolicy, FilterTables, Ipv4Binding, PolicyError};
use crate::verdict::{DropReason, EgressFrame, EgressVerdict, FilterVerdict};
use crate::vlan::{self, PortMode, TagAction, VidSet, VlanConfig, VlanTag};
use crate::{egress_checks_addresses, filter_egress, filter_ingress, REPLY_BUF_LEN};

const VID: u16 = 10;

fn iid(v: u32) -> InterstellarId {
    InterstellarId::new(v).unwrap()
}
fn vm_mac(i: u32, vm: u32) -> MacAddr {
    InterstellarMac::compose(iid(i), VmIndex::new(vm).unwrap())
}
fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, last)
}

/// Our VM (IID 100, resonance 200).
fn a() -> MacAddr {
    vm_mac(100, 1)
}
/// Same Interstellar.
fn b() -> MacAddr {
    vm_mac(100, 2)
}
/// Another Interstellar.
fn c() -> MacAddr {
    vm_mac(300, 1)
}
/// A resonance Interstellar.
fn r() -> MacAddr {
    vm_mac(200, 1)
}
/// A gateway under a globally allowed OUI.
fn g() -> MacAddr {
    MacAddr([0x00, 0x1b, 0x21, 0, 0, 1])
}
const RESPONDER: MacAddr = MacAddr([0x02, 0x53, 0x41, 0x54, 0, 1]);

fn binding(ip: Ipv4Addr, mac: MacAddr) -> Ipv4Binding {
    Ipv4Binding { vid: VID, ip, mac }
}

fn tables() -> FilterTables {
    FilterTables::builder()
        .global_ouis([Oui::new(0x001b21).unwrap()])
        .bindings([
            binding(ip(1), a()),
            binding(ip(2), b()),
            binding(ip(3), c()),
            binding(ip(4), r()),
            binding(ip(254), g()),
        ])
        .responder(RESPONDER, ip(250))
        .build()
}

fn vm_port_in(mode: PortMode, arpless: ArplessMode, bound: bool) -> EdgePortPolicy {
    let bindings = if bound {
        vec![binding(ip(1), a())]
    } else {
        vec![]
    };
    EdgePortPolicy::builder(mode)
        .macs([a()])
        .interstellar(InterstellarPolicy::new(iid(100), [iid(200)], []))
        .arpless(arpless, bindings)
        .build()
        .unwrap()
}

fn vm_port(arpless: ArplessMode, bound: bool) -> EdgePortPolicy {
    vm_port_in(PortMode::Access { vid: VID }, arpless, bound)
}

fn trunk10() -> PortMode {
    PortMode::Trunk {
        allowed: [VID, 20, 30].into_iter().collect(),
        native: None,
    }
}

fn eth(dst: MacAddr, src: MacAddr, tags: &[VlanTag], ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    for t in tags {
        f.extend_from_slice(&t.to_bytes());
    }
    f.extend_from_slice(&ether_type.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn arp_body(op: u16, sha: MacAddr, spa: Ipv4Addr, tha: MacAddr, tpa: Ipv4Addr) -> [u8; 28] {
    let mut body = [0u8; 28];
    ArpRepr {
        operation: Operation::from(op),
        source_hardware_addr: sha,
        source_protocol_addr: spa,
        target_hardware_addr: tha,
        target_protocol_addr: tpa,
    }
    .emit(&mut Packet::new_unchecked(&mut body[..]));
    body
}

/// 46 bytes of IPv4 from `src` (header fields past the source are filler).
fn ipv4_from(src: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0x45; 46];
    p[12..16].copy_from_slice(&src.octets());
    p
}

fn ctag(vid: u16) -> VlanTag {
    VlanTag {
        tpid: vlan::TPID_CTAG,
        pcp: 0,
        dei: false,
        vid,
    }
}

fn stack(depth: usize) -> Vec<VlanTag> {
    // Outer tag carries the port's VID; inner ones are customer tags.
    let mut s = vec![VlanTag {
        tpid: vlan::TPID_STAG,
        pcp: 2,
        dei: false,
        vid: VID,
    }];
    s.extend([ctag(77), ctag(88)]);
    s.truncate(depth);
    s
}

fn run(
    frame: &[u8],
    port: &EdgePortPolicy,
    t: &FilterTables,
) -> (FilterVerdict, [u8; REPLY_BUF_LEN]) {
    let mut buf = [0xeeu8; REPLY_BUF_LEN];
    let v = filter_ingress(frame, port, t, &mut buf);
    (v, buf)
}

fn reply_repr(buf: &[u8], len: usize) -> (u16, ArpRepr) {
    let p = vlan::parse(&buf[..len], &VlanConfig::default()).unwrap();
    let repr = ArpRepr::parse(&Packet::new_checked(&buf[p.payload_offset..len]).unwrap()).unwrap();
    (p.ether_type, repr)
}

#[test]
fn arp_request_answered_with_exact_bytes() {
    let t = tables();
    let port = vm_port(ArplessMode::Enforce, true);
    let req = eth(
        MacAddr::BROADCAST,
        a(),
        &[],
        ETHERTYPE_ARP,
        &arp_body(1, a(), ip(1), MacAddr::ZERO, ip(2)),
    );
    let (v, buf) = run(&req, &port, &t);
    assert_eq!(v, FilterVerdict::Reply { len: 60 });
    let mut want = Vec::new();
    want.extend_from_slice(&a().0); // to the requester
    want.extend_from_slice(&b().0); // from the target
    want.extend_from_slice(&[0x08, 0x06]);
    want.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02]);
    want.extend_from_slice(&b().0);
    want.extend_from_slice(&[10, 0, 0, 2]);
    want.extend_from_slice(&a().0);
    want.extend_from_slice(&[10, 0, 0, 1]);
    want.resize(60, 0);
    assert_eq!(&buf[..60], &want[..]);
}

#[test]
fn arp_reply_carries_the_request_vlan_stack() {
    let t = tables();
    let port = vm_port_in(trunk10(), ArplessMode::Enforce, true);
    for depth in 1..=3 {
        let tags = stack(depth);
        let req = eth(
            MacAddr::BROADCAST,
            a(),
            &tags,
            ETHERTYPE_ARP,
            &arp_body(1, a(), ip(1), MacAddr::ZERO, ip(2)),
        );
        let (v, buf) = run(&req, &port, &t);
        let FilterVerdict::Reply { len } = v else {
            panic!("depth {depth}: {v:?}")
        };
        assert_eq!(len, 60, "padded to the minimum even with three tags");
        let p = vlan::parse(&buf[..len], &VlanConfig::default()).unwrap();
        assert_eq!(p.stack.iter().collect::<Vec<_>>(), &tags[..]);
        assert_eq!(&buf[12..12 + 4 * depth], &req[12..12 + 4 * depth]);
        let (et, repr) = reply_repr(&buf, len);
        assert_eq!(et, ETHERTYPE_ARP);
        assert_eq!(repr.operation, Operation::Reply);
        assert_eq!(repr.source_hardware_addr, b());
        assert!(
            buf[p.payload_offset + 28..len].iter().all(|&x| x == 0),
            "zero padding"
        );
    }
}

/// The sender situation of the opcode table.
#[derive(Clone, Copy, Debug)]
enum Sender {
    /// Port has the binding (10.0.0.1, A); the packet claims it.
    Bound,
    /// Port has no binding, enforce mode.
    UnboundEnforce,
    /// Port has no binding, learn-once mode.
    UnboundLearn,
    /// Sender hardware address is another VM's (Ethernet source is still A).
    SpoofedMac,
    /// Sender hardware address is A, protocol address is another VM's.
    SpoofedIp,
}

#[derive(Debug, PartialEq)]
enum Want {
    /// Reply with this ARP operation code.
    Reply(u16),
    Pass,
    /// Learn (10.0.0.1, A), with a reply of this code or none.
    Learn(Option<u16>),
    Drop(DropReason),
}

fn opcode_case(op: u16, sender: Sender) -> Want {
    let t = tables();
    let port = match sender {
        Sender::Bound | Sender::SpoofedMac | Sender::SpoofedIp => {
            vm_port(ArplessMode::Enforce, true)
        }
        Sender::UnboundEnforce => vm_port(ArplessMode::Enforce, false),
        Sender::UnboundLearn => vm_port(ArplessMode::LearnOnce, false),
    };
    let (sha, spa) = match sender {
        Sender::SpoofedMac => (c(), ip(3)),
        Sender::SpoofedIp => (a(), ip(3)),
        _ => (a(), ip(1)),
    };
    // Targets per RFC: RARP/DRARP ask about the sender's own hardware
    // address; InARP about a known hardware address; ARP about an IP.
    let (tha, tpa, et) = match op {
        3..=7 => (sha, Ipv4Addr::UNSPECIFIED, ETHERTYPE_RARP),
        8 | 9 => (b(), Ipv4Addr::UNSPECIFIED, ETHERTYPE_ARP),
        _ => (b(), ip(2), ETHERTYPE_ARP),
    };
    let frame = eth(
        MacAddr::BROADCAST,
        a(),
        &[],
        et,
        &arp_body(op, sha, spa, tha, tpa),
    );
    let (v, buf) = run(&frame, &port, &t);
    match v {
        FilterVerdict::Reply { len } => {
            assert_eq!(len, 60);
            let (reply_et, repr) = reply_repr(&buf, len);
            assert_eq!(reply_et, et, "reply uses the request's EtherType");
            assert_eq!(&buf[..6], &a().0, "reply goes back to the requester");
            Want::Reply(repr.operation.into())
        }
        FilterVerdict::Pass(_) => Want::Pass,
        FilterVerdict::Learn {
            vid,
            ip: lip,
            mac,
            reply_len,
        } => {
            assert_eq!((vid, lip, mac), (VID, ip(1), a()));
            Want::Learn(reply_len.map(|len| reply_repr(&buf, len).1.operation.into()))
        }
        FilterVerdict::Drop(r) => Want::Drop(r),
    }
}

#[test]
fn opcode_table() {
    use DropReason::*;
    use Sender::*;
    use Want::Drop as D;
    let server = || D(ArpServerOpFromVm);
    #[rustfmt::skip]
    let table: Vec<(u16, [Want; 5])> = vec![
        //      Bound          UnboundEnforce          UnboundLearn             SpoofedMac              SpoofedIp
        (1,  [Want::Reply(2), D(ArpUnboundSender), Want::Learn(Some(2)), D(ArpSpoofedSender), D(ArpSpoofedSender)]),
        (2,  [Want::Pass,     D(ArpUnboundSender), Want::Learn(None),    D(ArpSpoofedSender), D(ArpSpoofedSender)]),
        (3,  [Want::Reply(4), D(ArpNoBinding),     D(ArpNoBinding),      D(ArpSpoofedSender), Want::Reply(4)]),
        (4,  [server(), server(), server(), server(), server()]),
        (5,  [Want::Reply(6), Want::Reply(7),      Want::Reply(7),       D(ArpSpoofedSender), Want::Reply(6)]),
        (6,  [server(), server(), server(), server(), server()]),
        (7,  [server(), server(), server(), server(), server()]),
        (8,  [Want::Reply(9), D(ArpUnboundSender), Want::Learn(Some(9)), D(ArpSpoofedSender), D(ArpSpoofedSender)]),
        (9,  [Want::Pass,     D(ArpUnboundSender), Want::Learn(None),    D(ArpSpoofedSender), D(ArpSpoofedSender)]),
        (10, [server(), server(), server(), server(), server()]),
        (11, [D(ArpUnknownOpcode), D(ArpUnknownOpcode), D(ArpUnknownOpcode), D(ArpUnknownOpcode), D(ArpUnknownOpcode)]),
        (0,  [D(ArpUnknownOpcode), D(ArpUnknownOpcode), D(ArpUnknownOpcode), D(ArpUnknownOpcode), D(ArpUnknownOpcode)]),
    ];
    for (op, row) in table {
        for (sender, want) in [Bound, UnboundEnforce, UnboundLearn, SpoofedMac, SpoofedIp]
            .into_iter()
            .zip(row)
        {
            assert_eq!(opcode_case(op, sender), want, "opcode {op}, {sender:?}");
        }
    }
}

#[test]
fn rarp_and_drarp_replies_speak_for_the_switch() {
    let t = tables();
    let port = vm_port(ArplessMode::Enforce, true);
    let frame = eth(
        MacAddr::BROADCAST,
        a(),
        &[],
        ETHERTYPE_RARP,
        &arp_body(3, a(), Ipv4Addr::UNSPECIFIED, a(), Ipv4Addr::UNSPECIFIED),
    );
    let (v, buf) = run(&frame, &port, &t);
    assert_eq!(v, FilterVerdict::Reply { len: 60 });
    assert_eq!(&buf[6..12], &RESPONDER.0);
    let (_, repr) = reply_repr(&buf, 60);
    assert_eq!(repr.source_hardware_addr, RESPONDER);
    assert_eq!(repr.source_protocol_addr, ip(250));
    assert_eq!(repr.target_hardware_addr, a());
    assert_eq!(repr.target_protocol_addr, ip(1), "the VM's own bound IP");
    // Asking for someone else's MAC.
    let foreign = eth(
        MacAddr::BROADCAST,
        a(),
        &[],
        ETHERTYPE_RARP,
        &arp_body(3, a(), Ipv4Addr::UNSPECIFIED, b(), Ipv4Addr::UNSPECIFIED),
    );
    assert_eq!(
        run(&foreign, &port, &t).0,
        FilterVerdict::Drop(DropReason::ArpForeignTarget)
    );
}

#[test]
fn inarp_answers_with_the_target_ip() {
    let t = tables();
    let port = vm_port(ArplessMode::Enforce, true);
    let frame = eth(
        MacAddr::BROADCAST,
        a(),
        &[],
        ETHERTYPE_ARP,
        &arp_body(8, a(), ip(1), r(), ip(0)),
    );
    let (v, buf) = run(&frame, &port, &t);
    assert_eq!(v, FilterVerdict::Reply { len: 60 });
    let (_, repr) = reply_repr(&buf, 60);
    assert_eq!(
        (repr.source_hardware_addr, repr.source_protocol_addr),
        (r(), ip(4))
    );
    assert_eq!(
        (repr.target_hardware_addr, repr.target_protocol_addr),
        (a(), ip(1))
    );
    let isolated = eth(
        MacAddr::BROADCAST,
        a(),
        &[],
        ETHERTYPE_ARP,
        &arp_body(8, a(), ip(1), c(), ip(0)),
    );
    assert_eq!(
        run(&isolated, &port, &t).0,
        FilterVerdict::Drop(DropReason::ArpTargetIsolated)
    );
    let unknown = eth(
        MacAddr::BROADCAST,
        a(),
        &[],
        ETHERTYPE_ARP,
        &arp_body(8, a(), ip(1), vm_mac(100, 99), ip(0)),
    );
    assert_eq!(
        run(&unknown, &port, &t).0,
        FilterVerdict::Drop(DropReason::ArpUnknownTarget)
    );
}

#[test]
fn arp_request_targets() {
    let t = tables();
    let port = vm_port(ArplessMode::Enforce, true);
    let ask = |spa: Ipv4Addr, tpa: Ipv4Addr| {
        let f = eth(
            MacAddr::BROADCAST,
            a(),
            &[],
            ETHERTYPE_ARP,
            &arp_body(1, a(), spa, MacAddr::ZERO, tpa),
        );
        run(&f, &port, &t)
    };
    assert_eq!(
        ask(ip(1), ip(99)).0,
        FilterVerdict::Drop(DropReason::ArpUnknownTarget)
    );
    assert_eq!(
        ask(ip(1), ip(3)).0,
        FilterVerdict::Drop(DropReason::ArpTargetIsolated)
    );
    assert_eq!(
        ask(ip(1), ip(1)).0,
        FilterVerdict::Drop(DropReason::ArpGratuitous)
    );
    // RFC 5227 probe for its own address: no false conflict.
    assert_eq!(
        ask(Ipv4Addr::UNSPECIFIED, ip(1)).0,
        FilterVerdict::Drop(DropReason::ArpGratuitous)
    );
    // Probe for an address in use: answered, so the VM sees the conflict.
    let (v, buf) = ask(Ipv4Addr::UNSPECIFIED, ip(2));
    assert_eq!(v, FilterVerdict::Reply { len: 60 });
    assert_eq!(
        reply_repr(&buf, 60).1.target_protocol_addr,
        Ipv4Addr::UNSPECIFIED
    );
    // Resonance and allowed-OUI targets are reachable.
    let (v, buf) = ask(ip(1), ip(4));
    assert_eq!(v, FilterVerdict::Reply { len: 60 });
    assert_eq!(reply_repr(&buf, 60).1.source_hardware_addr, r());
    assert_eq!(ask(ip(1), ip(254)).0, FilterVerdict::Reply { len: 60 });
    // Same IP reused by two tenants: the reachable one is chosen.
    let shared = FilterTables::builder()
        .bindings([binding(ip(7), c()), binding(ip(7), b())])
        .build();
    let f = eth(
        MacAddr::BROADCAST,
        a(),
        &[],
        ETHERTYPE_ARP,
        &arp_body(1, a(), ip(1), MacAddr::ZERO, ip(7)),
    );
    let (v, buf) = run(&f, &port, &shared);
    assert_eq!(v, FilterVerdict::Reply { len: 60 });
    assert_eq!(reply_repr(&buf, 60).1.source_hardware_addr, b());
}

#[test]
fn arp_malformed_and_wrong_ethertype() {
    let t = tables();
    let port = vm_port(ArplessMode::Enforce, true);
    let body = arp_body(1, a(), ip(1), MacAddr::ZERO, ip(2));
    let short = eth(MacAddr::BROADCAST, a(), &[], ETHERTYPE_ARP, &body[..20]);
    assert_eq!(
        run(&short, &port, &t).0,
        FilterVerdict::Drop(DropReason::ArpMalformed)
    );
    let mut ieee = body;
    ieee[1] = 6;
    let f = eth(MacAddr::BROADCAST, a(), &[], ETHERTYPE_ARP, &ieee);
    assert_eq!(
        run(&f, &port, &t).0,
        FilterVerdict::Drop(DropReason::ArpUnsupported)
    );
    let f = eth(MacAddr::BROADCAST, a(), &[], ETHERTYPE_RARP, &body);
    assert_eq!(
        run(&f, &port, &t).0,
        FilterVerdict::Drop(DropReason::ArpWrongEthertype)
    );
    let rarp = arp_body(3, a(), ip(0), a(), ip(0));
    let f = eth(MacAddr::BROADCAST, a(), &[], ETHERTYPE_ARP, &rarp);
    assert_eq!(
        run(&f, &port, &t).0,
        FilterVerdict::Drop(DropReason::ArpWrongEthertype)
    );
}

#[test]
fn reply_buffer_too_small_is_a_drop_not_a_panic() {
    let t = tables();
    let port = vm_port(ArplessMode::Enforce, true);
    let f = eth(
        MacAddr::BROADCAST,
        a(),
        &[],
        ETHERTYPE_ARP,
        &arp_body(1, a(), ip(1), MacAddr::ZERO, ip(2)),
    );
    let mut small = [0u8; 59];
    assert_eq!(
        filter_ingress(&f, &port, &t, &mut small),
        FilterVerdict::Drop(DropReason::ReplyBufferTooSmall)
    );
}

#[test]
fn source_mac_anti_spoofing() {
    let t = tables();
    let port = vm_port(ArplessMode::Enforce, true);
    let f = eth(b(), c(), &[], ETHERTYPE_IPV4, &[0x45; 46]);
    assert_eq!(
        run(&f, &port, &t).0,
        FilterVerdict::Drop(DropReason::SpoofedSrcMac)
    );
    let f = eth(b(), MacAddr::BROADCAST, &[], ETHERTYPE_IPV4, &[0x45; 46]);
    assert_eq!(
        run(&f, &port, &t).0,
        FilterVerdict::Drop(DropReason::InvalidSrcMac)
    );
    let f = eth(b(), a(), &[], ETHERTYPE_IPV4, &ipv4_from(ip(1)));
    assert!(matches!(run(&f, &port, &t).0, FilterVerdict::Pass(_)));
}

#[test]
fn plain_port_forwards_everything_valid() {
    let t = tables();
    let port = EdgePortPolicy::builder(PortMode::Access { vid: VID })
        .build()
        .unwrap();
    let arp = eth(
        MacAddr::BROADCAST,
        c(),
        &[],
        ETHERTYPE_ARP,
        &arp_body(1, c(), ip(9), MacAddr::ZERO, ip(2)),
    );
    let FilterVerdict::Pass(class) = run(&arp, &port, &t).0 else {
        panic!()
    };
    assert_eq!(
        (class.vid, class.ether_type, class.sender_iid),
        (VID, ETHERTYPE_ARP, None)
    );
    let f = eth(
        MacAddr([0, 0x11, 0x22, 0, 0, 1]),
        g(),
        &[],
        ETHERTYPE_IPV4,
        &[0; 46],
    );
    assert!(matches!(run(&f, &port, &t).0, FilterVerdict::Pass(_)));
}

#[test]
fn interstellar_ingress_under_every_depth() {
    let t = tables();
    let port = vm_port_in(trunk10(), ArplessMode::Enforce, true);
    for depth in 1..=3 {
        let tags = stack(depth);
        let send = |dst: MacAddr| {
            run(
                &eth(dst, a(), &tags, ETHERTYPE_IPV4, &ipv4_from(ip(1))),
                &port,
                &t,
            )
            .0
        };
        let FilterVerdict::Pass(class) = send(b()) else {
            panic!("depth {depth}")
        };
        assert_eq!((class.vid, class.outer_tagged), (VID, true));
        assert_eq!(class.payload_offset, 14 + 4 * depth);
        assert_eq!(class.sender_iid, Some(iid(100)));
        assert!(matches!(send(r()), FilterVerdict::Pass(_)));
        assert!(matches!(send(g()), FilterVerdict::Pass(_)));
        assert!(matches!(send(MacAddr::BROADCAST), FilterVerdict::Pass(_)));
        assert!(matches!(
            send(MacAddr([0x01, 0, 0x5e, 0, 0, 1])),
            FilterVerdict::Pass(_)
        ));
        assert_eq!(
            send(c()),
            FilterVerdict::Drop(DropReason::InterstellarMismatch)
        );
        assert_eq!(
            send(MacAddr([0x00, 0x11, 0x22, 0, 0, 1])),
            FilterVerdict::Drop(DropReason::InterstellarOuiNotAllowed)
        );
    }
    // Untagged on an access VM port.
    let port = vm_port(ArplessMode::Off, true);
    let f = eth(c(), a(), &[], ETHERTYPE_IPV4, &[0x45; 46]);
    assert_eq!(
        run(&f, &port, &t).0,
        FilterVerdict::Drop(DropReason::InterstellarMismatch)
    );
    // Four tags: too deep.
    let mut tags = stack(3);
    tags.push(ctag(5));
    let f = eth(b(), a(), &tags, ETHERTYPE_IPV4, &[0x45; 46]);
    assert_eq!(
        run(&f, &port, &t).0,
        FilterVerdict::Drop(DropReason::VlanTooDeep)
    );
}

#[test]
fn tunnel_port_pushes_on_ingress_and_pops_on_egress() {
    let t = tables();
    let port = EdgePortPolicy::builder(PortMode::Tunnel { svid: 500 })
        .build()
        .unwrap();
    let f = eth(
        MacAddr::BROADCAST,
        g(),
        &[ctag(7)],
        ETHERTYPE_IPV4,
        &[0x45; 46],
    );
    let FilterVerdict::Pass(class) = run(&f, &port, &t).0 else {
        panic!()
    };
    assert_eq!(class.vid, 500);
    let TagAction::Push(tag) = class.action else {
        panic!()
    };
    let mut buf = vec![0u8; 4 + f.len()];
    buf[4..].copy_from_slice(&f);
    let end = buf.len();
    let s = vlan::push_tag(&mut buf, 4, end, tag).unwrap();
    let p = vlan::parse(&buf[s..], &VlanConfig::default()).unwrap();
    assert_eq!(p.stack.iter().collect::<Vec<_>>(), &[tag, ctag(7)]);
    let out = filter_egress(&EgressFrame::from(&class), &port, &t);
    assert_eq!(out, EgressVerdict::Transmit(TagAction::Pop));
}

#[test]
fn egress_rules() {
    let t = tables();
    let vm = vm_port(ArplessMode::Enforce, true);
    let plain = EdgePortPolicy::builder(PortMode::Access { vid: VID })
        .build()
        .unwrap();
    let frame = |src: MacAddr, dst: MacAddr, sender: Option<u32>| EgressFrame {
        src,
        dst,
        vid: VID,
        outer_tagged: false,
        sender_iid: sender.map(iid),
    };
    let ok = EgressVerdict::Transmit(TagAction::None);
    let no = EgressVerdict::Drop(DropReason::InterstellarEgressMismatch);
    assert_eq!(filter_egress(&frame(b(), a(), Some(100)), &vm, &t), ok);
    assert_eq!(
        filter_egress(&frame(r(), a(), Some(200)), &vm, &t),
        ok,
        "resonance"
    );
    assert_eq!(
        filter_egress(&frame(g(), a(), None), &vm, &t),
        ok,
        "allowed OUI"
    );
    assert_eq!(filter_egress(&frame(c(), a(), Some(300)), &vm, &t), no);
    assert_eq!(
        filter_egress(&frame(c(), MacAddr::BROADCAST, Some(300)), &vm, &t),
        no
    );
    assert_eq!(
        filter_egress(&frame(b(), MacAddr::BROADCAST, Some(100)), &vm, &t),
        ok
    );
    let host = MacAddr([0x00, 0x11, 0x22, 0, 0, 1]);
    assert_eq!(filter_egress(&frame(host, a(), None), &vm, &t), no);
    // Plain ports: unicast passes; a VM's broadcast stays in its Interstellar.
    assert_eq!(filter_egress(&frame(c(), host, Some(300)), &plain, &t), ok);
    assert_eq!(
        filter_egress(&frame(c(), MacAddr::BROADCAST, Some(300)), &plain, &t),
        no
    );
    assert_eq!(
        filter_egress(&frame(host, MacAddr::BROADCAST, None), &plain, &t),
        ok
    );
    // VLAN mismatch beats everything.
    let mut f = frame(b(), a(), Some(100));
    f.vid = 11;
    assert_eq!(
        filter_egress(&f, &vm, &t),
        EgressVerdict::Drop(DropReason::VlanNotAllowed)
    );
}

#[test]
fn egress_without_an_address_check_is_the_vlan_mapping() {
    // The data path skips the address half whenever
    // `egress_checks_addresses` says so; that must never change a verdict.
    let t = tables();
    let trunk = EdgePortPolicy::builder(PortMode::Trunk {
        allowed: VidSet::from_iter([VID, 11]),
        native: Some(1),
    })
    .build()
    .unwrap();
    let ports = [
        vm_port(ArplessMode::Enforce, true),
        EdgePortPolicy::builder(PortMode::Access { vid: VID })
            .build()
            .unwrap(),
        EdgePortPolicy::builder(PortMode::Tunnel { svid: VID })
            .build()
            .unwrap(),
        trunk,
    ];
    let host = MacAddr([0x00, 0x11, 0x22, 0, 0, 1]);
    let mut skipped = 0;
    for port in &ports {
        for src in [a(), b(), c(), g(), r(), host] {
            for dst in [a(), host, MacAddr::BROADCAST] {
                for sender in [None, Some(iid(100)), Some(iid(300))] {
                    for (vid, outer_tagged) in [(VID, false), (VID, true), (1, false), (11, true)] {
                        let f = EgressFrame {
                            src,
                            dst,
                            vid,
                            outer_tagged,
                            sender_iid: sender,
                        };
                        if egress_checks_addresses(port, dst.is_group()) {
                            continue;
                        }
                        skipped += 1;
                        let vlan_only = match vlan::egress_action(vid, outer_tagged, port.mode()) {
                            Ok(a) => EgressVerdict::Transmit(a),
                            Err(r) => EgressVerdict::Drop(r),
                        };
                        assert_eq!(filter_egress(&f, port, &t), vlan_only, "{f:?}");
                    }
                }
            }
        }
    }
    assert!(skipped > 0);
}

#[test]
fn policy_validation() {
    let access = |vid| PortMode::Access { vid };
    assert_eq!(
        EdgePortPolicy::builder(access(0)).build(),
        Err(PolicyError::InvalidVid(0))
    );
    assert_eq!(
        EdgePortPolicy::builder(access(4095)).build(),
        Err(PolicyError::InvalidVid(4095))
    );
    assert_eq!(
        EdgePortPolicy::builder(access(1))
            .arpless(ArplessMode::Enforce, [])
            .build(),
        Err(PolicyError::ArplessWithoutMac)
    );
    assert_eq!(
        EdgePortPolicy::builder(access(1))
            .macs([a()])
            .arpless(ArplessMode::Enforce, [binding(ip(2), b())])
            .build(),
        Err(PolicyError::BindingMacNotOwned {
            ip: ip(2).into(),
            mac: b()
        })
    );
    assert_eq!(
        EdgePortPolicy::builder(access(1))
            .macs([MacAddr::BROADCAST])
            .build(),
        Err(PolicyError::InvalidPortMac(MacAddr::BROADCAST))
    );
}

// ---- property tests ----

fn arb_tag() -> impl Strategy<Value = VlanTag> {
    (
        prop::sample::select(vec![0x8100u16, 0x88a8, 0x9100, 0x9200, 0x1234]),
        0u8..8,
        any::<bool>(),
        0u16..4096,
    )
        .prop_map(|(tpid, pcp, dei, vid)| VlanTag {
            tpid,
            pcp,
            dei,
            vid,
        })
}

/// Frames that look like Ethernet: mostly valid headers and ARP bodies, so
/// the deep paths are reached, with arbitrary truncation.
fn arb_frame() -> impl Strategy<Value = Vec<u8>> {
    let mac = prop_oneof![
        Just(a()),
        Just(b()),
        Just(c()),
        Just(MacAddr::BROADCAST),
        any::<[u8; 6]>().prop_map(MacAddr)
    ];
    let ip = prop_oneof![
        Just(ip(1)),
        Just(ip(2)),
        Just(Ipv4Addr::UNSPECIFIED),
        any::<[u8; 4]>().prop_map(Ipv4Addr::from)
    ];
    let body = (0u16..13, mac.clone(), ip.clone(), mac.clone(), ip)
        .prop_map(|(op, sha, spa, tha, tpa)| arp_body(op, sha, spa, tha, tpa).to_vec());
    let payload = prop_oneof![body, prop::collection::vec(any::<u8>(), 0..64)];
    let et = prop_oneof![
        Just(ETHERTYPE_ARP),
        Just(ETHERTYPE_RARP),
        Just(ETHERTYPE_IPV4),
        any::<u16>()
    ];
    (
        mac.clone(),
        mac,
        prop::collection::vec(arb_tag(), 0..5),
        et,
        payload,
        any::<usize>(),
    )
        .prop_map(|(dst, src, tags, et, payload, cut)| {
            let mut f = eth(dst, src, &tags, et, &payload);
            if cut % 4 == 0 {
                f.truncate(cut % (f.len() + 1));
            }
            f
        })
}

fn arb_port() -> impl Strategy<Value = EdgePortPolicy> {
    let mode = prop_oneof![
        Just(PortMode::Access { vid: VID }),
        Just(trunk10()),
        Just(PortMode::Tunnel { svid: VID }),
    ];
    let arpless = prop_oneof![
        Just(ArplessMode::Off),
        Just(ArplessMode::Enforce),
        Just(ArplessMode::LearnOnce)
    ];
    (mode, arpless, any::<bool>()).prop_map(|(m, arp, bound)| vm_port_in(m, arp, bound))
}

proptest! {
    #[test]
    fn ingress_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..128), port in arb_port(), buf_len in 0usize..80) {
        let mut buf = vec![0u8; buf_len];
        let v = filter_ingress(&bytes, &port, &tables(), &mut buf);
        if let FilterVerdict::Reply { len } = v {
            prop_assert!((60..=buf_len).contains(&len));
        }
    }

    #[test]
    fn ingress_never_panics_on_framelike_input(frame in arb_frame(), port in arb_port()) {
        let (v, buf) = run(&frame, &port, &tables());
        match v {
            FilterVerdict::Reply { len } | FilterVerdict::Learn { reply_len: Some(len), .. } => {
                // Every reply is well-formed ARP of the minimum size at least.
                prop_assert!(len >= 60);
                let (et, _) = reply_repr(&buf, len);
                prop_assert!(et == ETHERTYPE_ARP || et == ETHERTYPE_RARP);
                prop_assert_eq!(&buf[..6], &frame[6..12]);
            }
            _ => {}
        }
    }

    #[test]
    fn anti_spoof_never_passes_a_foreign_source(frame in arb_frame(), port in arb_port()) {
        let mut frame = frame;
        if frame.len() >= 12 && frame[6..12] == a().0 {
            frame[11] ^= 0x80;
        }
        let (v, _) = run(&frame, &port, &tables());
        prop_assert!(matches!(v, FilterVerdict::Drop(_)), "{:?}", v);
    }

    #[test]
    fn arp_sender_must_be_the_ports(frame in arb_frame(), port in arb_port()) {
        // Whatever passes, answers or learns from an ARPless port carries
        // the port's MAC as sender hardware address.
        let (v, _) = run(&frame, &port, &tables());
        let p = vlan::parse(&frame, &VlanConfig::default());
        if let (Ok(p), false) = (p, matches!(v, FilterVerdict::Drop(_))) {
            prop_assert_eq!(p.src, a());
            if port.arpless() != ArplessMode::Off && (p.ether_type == ETHERTYPE_ARP || p.ether_type == ETHERTYPE_RARP) {
                let body = &frame[p.payload_offset..];
                let repr = ArpRepr::parse(&Packet::new_checked(body).unwrap()).unwrap();
                prop_assert_eq!(repr.source_hardware_addr, a());
            }
        }
    }

    #[test]
    fn vlan_push_pop_roundtrip(payload in prop::collection::vec(any::<u8>(), 2..64), tags in prop::collection::vec(arb_tag(), 0..3), tag in arb_tag(), headroom in 4usize..16) {
        let f = eth(b(), a(), &tags, ETHERTYPE_IPV4, &payload);
        let mut buf = vec![0u8; headroom + f.len()];
        buf[headroom..].copy_from_slice(&f);
        let end = buf.len();
        let s = vlan::push_tag(&mut buf, headroom, end, tag).unwrap();
        prop_assert_eq!(s, headroom - 4);
        prop_assert_eq!(&buf[s + 12..s + 16], &tag.to_bytes());
        prop_assert_eq!(&buf[s + 16..], &f[12..]);
        prop_assert_eq!(&buf[s..s + 16], &vlan::pushed_header(&f, tag).unwrap());
        let (s2, popped) = vlan::pop_tag(&mut buf, s, end).unwrap();
        prop_assert_eq!(s2, headroom);
        // Reserved bits beyond 3/12 are masked on the wire.
        prop_assert_eq!(popped, VlanTag::from_tci(tag.tpid, tag.tci()));
        prop_assert_eq!(&buf[s2..], &f[..]);
    }

    #[test]
    fn iid_compose_decompose_roundtrip(i in 0u32..(1 << 28), v in 0u32..(1 << 18)) {
        let mac = InterstellarMac::compose(iid(i), VmIndex::new(v).unwrap());
        prop_assert!(mac.is_locally_administered() && !mac.is_group());
        let (di, dv) = InterstellarMac::decompose(mac).unwrap();
        prop_assert_eq!((di.get(), dv.get()), (i, v));
    }

    #[test]
    fn iid_decompose_compose_roundtrip(bytes in any::<[u8; 6]>()) {
        let mac = MacAddr(bytes);
        match InterstellarMac::decompose(mac) {
            Some((i, v)) => prop_assert_eq!(InterstellarMac::compose(i, v), mac),
            None => prop_assert!(bytes[0] & 0b11 != 0b10),
        }
    }

    #[test]
    fn iid_constructor_rejects_wide_values(raw in (1u32 << 28)..) {
        prop_assert!(InterstellarId::new(raw).is_err());
    }

    #[test]
    fn arp_repr_roundtrip(op in any::<u16>(), sha in any::<[u8; 6]>(), spa in any::<[u8; 4]>(), tha in any::<[u8; 6]>(), tpa in any::<[u8; 4]>()) {
        let repr = ArpRepr {
            operation: Operation::from(op),
            source_hardware_addr: MacAddr(sha),
            source_protocol_addr: Ipv4Addr::from(spa),
            target_hardware_addr: MacAddr(tha),
            target_protocol_addr: Ipv4Addr::from(tpa),
        };
        let mut buf = [0u8; 28];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        prop_assert_eq!(ArpRepr::parse(&Packet::new_checked(&buf[..]).unwrap()), Ok(repr));
    }

    #[test]
    fn arp_view_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        if let Ok(p) = Packet::new_checked(&bytes[..]) {
            let _ = (p.operation(), p.source_hardware_addr(), p.source_protocol_addr());
            let _ = (p.target_hardware_addr(), p.target_protocol_addr());
            let _ = ArpRepr::parse(&p);
        }
    }

    #[test]
    fn vlan_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(p) = vlan::parse(&bytes, &VlanConfig::default()) {
            prop_assert!(p.payload_offset <= bytes.len());
            prop_assert!(p.stack.len() <= 3);
            prop_assert_eq!(p.payload_offset, 14 + 4 * p.stack.len());
        }
    }
}

/// Carries `frame` from an ingress port in `from` across a fabric trunk to
/// an egress port in `to`, applying every rewrite the filters ask for, as
/// the data planes of two switches would. Returns the bytes sent out, or
/// the drop reason.
fn journey(frame: &[u8], from: PortMode, to: PortMode) -> Result<Vec<u8>, DropReason> {
    let t = FilterTables::default();
    let fabric = PortMode::Trunk {
        allowed: [VID, 20].into_iter().collect(),
        native: None,
    };
    let fabric_port = EdgePortPolicy::builder(fabric.clone()).build().unwrap();
    let ingress = EdgePortPolicy::builder(from).build().unwrap();
    let egress = EdgePortPolicy::builder(to).build().unwrap();
    let mut reply = [0u8; REPLY_BUF_LEN];
    let class = match filter_ingress(frame, &ingress, &t, &mut reply) {
        FilterVerdict::Pass(c) => c,
        FilterVerdict::Drop(r) => return Err(r),
        other => panic!("{other:?}"),
    };
    let apply = |bytes: &[u8], action: TagAction| {
        let mut buf = vec![0u8; 8 + bytes.len()];
        buf[8..].copy_from_slice(bytes);
        let end = buf.len();
        let s = vlan::apply_tag_action(&mut buf, 8, end, action).unwrap();
        buf[s..].to_vec()
    };
    // Switch 1: ingress rewrite, then out of the fabric trunk.
    let mut f = apply(frame, class.action);
    let EgressVerdict::Transmit(a) = filter_egress(&EgressFrame::from(&class), &fabric_port, &t)
    else {
        return Err(DropReason::VlanNotAllowed);
    };
    f = apply(&f, a);
    // Switch 2: the fabric trunk classifies by the outer tag.
    let p = vlan::parse(&f, t.vlan()).unwrap();
    let c2 = vlan::classify_ingress(&p, &fabric, t.vlan())?;
    assert_eq!(c2.vid, class.vid, "the VLAN survives the fabric hop");
    let out = EgressFrame {
        vid: c2.vid,
        outer_tagged: c2.outer_tagged,
        ..EgressFrame::from(&class)
    };
    match filter_egress(&out, &egress, &t) {
        EgressVerdict::Transmit(a) => Ok(apply(&f, a)),
        EgressVerdict::Drop(r) => Err(r),
    }
}

proptest! {
    #[test]
    fn access_and_tunnel_frames_leave_as_they_came(
        payload in prop::collection::vec(any::<u8>(), 46..64),
        customer in prop::collection::vec(arb_tag().prop_filter("configured TPID", |t| t.tpid != 0x1234), 0..3),
    ) {
        // Untagged access → access in the same VLAN: byte-identical.
        let f = eth(b(), g(), &[], ETHERTYPE_IPV4, &payload);
        let acc = PortMode::Access { vid: VID };
        prop_assert_eq!(journey(&f, acc.clone(), acc.clone()), Ok(f.clone()));
        // Another access VLAN never sees it.
        prop_assert_eq!(journey(&f, acc.clone(), PortMode::Access { vid: 20 }), Err(DropReason::VlanNotAllowed));
        // Customer frame with up to two tags through a QinQ tunnel: identical.
        let f = eth(b(), g(), &customer, ETHERTYPE_IPV4, &payload);
        let tun = PortMode::Tunnel { svid: VID };
        prop_assert_eq!(journey(&f, tun.clone(), tun), Ok(f.clone()));
    }
}
