use super::*;
use crate::dhcp::{
    self, opt, DhcpRepr, MessageType, OptionSet, Packet, BOOTREQUEST, FLAG_BROADCAST,
};
use crate::policy::{ArplessMode, Ipv4Binding};
use crate::vlan::PortMode;
use crate::{filter_ingress, REPLY_BUF_LEN};
use proptest::prelude::*;

const VM: MacAddr = MacAddr([0x02, 0, 0, 0x04, 0, 1]);
const UNBOUND: MacAddr = MacAddr([0x02, 0, 0, 0x04, 0, 2]);
const OTHER: MacAddr = MacAddr([0x02, 0, 0, 0x04, 0, 9]);
const RESPONDER: MacAddr = MacAddr([0x02, 0x53, 0x41, 0x54, 0, 1]);
const BOUND: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);
const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn settings() -> DhcpSettings {
    DhcpSettings {
        prefix_len: 24,
        server_id: ROUTER,
        router: Some(ROUTER),
        dns: vec![Ipv4Addr::new(10, 0, 0, 53), Ipv4Addr::new(10, 0, 1, 53)],
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
    }
}

fn port_with(s: &DhcpSettings, mode: PortMode) -> EdgePortPolicy {
    EdgePortPolicy::builder(mode)
        .macs([VM, UNBOUND])
        .arpless(
            ArplessMode::Enforce,
            [Ipv4Binding {
                vid: 10,
                ip: BOUND,
                mac: VM,
            }],
        )
        .dhcp(DhcpServerConfig::new(s).unwrap())
        .build()
        .unwrap()
}

fn port() -> EdgePortPolicy {
    port_with(&settings(), PortMode::Access { vid: 10 })
}

fn tables() -> FilterTables {
    FilterTables::builder()
        .responder(RESPONDER, Ipv4Addr::new(10, 0, 0, 254))
        .build()
}

fn request(t: MessageType) -> DhcpRepr {
    let mut parameters = OptionSet::default();
    for c in [1, 3, 6, 15, 26, 28, 42, 119, 121] {
        parameters.insert(c);
    }
    DhcpRepr {
        op: BOOTREQUEST,
        message_type: t,
        xid: 0x1234_5678,
        secs: 3,
        flags: FLAG_BROADCAST,
        hops: 0,
        ciaddr: Ipv4Addr::UNSPECIFIED,
        yiaddr: Ipv4Addr::UNSPECIFIED,
        siaddr: Ipv4Addr::UNSPECIFIED,
        giaddr: Ipv4Addr::UNSPECIFIED,
        chaddr: VM,
        requested_ip: None,
        server_id: None,
        lease_secs: None,
        parameters,
    }
}

/// The client's frame: Ethernet from `src` (with `tags`), IPv4 from
/// `ciaddr` to broadcast, UDP 68 → 67, the message.
fn frame(r: &DhcpRepr, src: MacAddr, tags: &[[u8; 4]]) -> Vec<u8> {
    let mut msg = [0u8; 548];
    let n = r.emit(&mut msg).unwrap();
    let msg = &msg[..n.max(300)];
    let mut f = Vec::new();
    f.extend_from_slice(&MacAddr::BROADCAST.0);
    f.extend_from_slice(&src.0);
    for t in tags {
        f.extend_from_slice(t);
    }
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + 8 + msg.len()) as u16;
    f.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0]);
    f[16 + tags.len() * 4..18 + tags.len() * 4].copy_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&r.ciaddr.octets());
    f.extend_from_slice(&[255, 255, 255, 255]);
    f.extend_from_slice(&68u16.to_be_bytes());
    f.extend_from_slice(&67u16.to_be_bytes());
    f.extend_from_slice(&(8 + msg.len() as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(msg);
    f
}

/// A parsed reply: Ethernet dst, IPv4 src/dst, the DHCP repr and every
/// option as (code, data) in order.
struct Reply {
    eth_dst: MacAddr,
    eth_src: MacAddr,
    ip_src: Ipv4Addr,
    ip_dst: Ipv4Addr,
    repr: DhcpRepr,
    options: Vec<(u8, Vec<u8>)>,
    msg_len: usize,
}

impl Reply {
    fn opt(&self, code: u8) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, d)| &d[..])
    }
}

fn verify_sum(data: &[u8]) -> bool {
    ones_sum(0, data) == 0xffff
}

fn read_reply(buf: &[u8], len: usize, tags: usize) -> Reply {
    let f = &buf[..len];
    let ip_at = 14 + 4 * tags;
    assert_eq!(&f[ip_at - 2..ip_at], &[0x08, 0x00]);
    let ip = &f[ip_at..ip_at + 20];
    assert!(verify_sum(ip), "IPv4 header checksum");
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    assert_eq!(total, len - ip_at);
    let udp = &f[ip_at + 20..];
    assert_eq!(&udp[0..4], &[0, 67, 0, 68]);
    assert_eq!(usize::from(u16::from_be_bytes([udp[4], udp[5]])), udp.len());
    let mut pseudo = Vec::from(&ip[12..20]);
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&udp[4..6]);
    assert!(verify_sum(&[&pseudo[..], udp].concat()), "UDP checksum");
    let msg = &udp[8..];
    assert!(msg.len() >= 300 && msg.len() <= 548, "{}", msg.len());
    let p = Packet::new_checked(msg).unwrap();
    let options = p
        .options()
        .map(|o| o.map(|(c, d)| (c, d.to_vec())).unwrap())
        .collect();
    Reply {
        eth_dst: MacAddr::from_slice(&f[0..6]).unwrap(),
        eth_src: MacAddr::from_slice(&f[6..12]).unwrap(),
        ip_src: Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
        ip_dst: Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
        repr: DhcpRepr::parse(&p).unwrap(),
        options,
        msg_len: msg.len(),
    }
}

fn run(r: &DhcpRepr, src: MacAddr) -> (FilterVerdict, [u8; REPLY_BUF_LEN]) {
    let mut buf = [0xAAu8; REPLY_BUF_LEN];
    let v = filter_ingress(&frame(r, src, &[]), &port(), &tables(), &mut buf);
    (v, buf)
}

fn answered(r: &DhcpRepr) -> Reply {
    match run(r, VM) {
        (FilterVerdict::Reply { len }, buf) => read_reply(&buf, len, 0),
        (v, _) => panic!("{v:?}"),
    }
}

#[test]
fn rfc3397_example_encodes_with_a_compression_pointer() {
    // RFC 3397 §3: "eng.apple.com." and "marketing.apple.com.".
    let got = encode_search_list(&["eng.apple.com.".into(), "marketing.apple.com".into()]).unwrap();
    let mut want = vec![3];
    want.extend_from_slice(b"eng");
    want.push(5);
    want.extend_from_slice(b"apple");
    want.push(3);
    want.extend_from_slice(b"com");
    want.push(0);
    want.push(9);
    want.extend_from_slice(b"marketing");
    want.extend_from_slice(&[0xc0, 0x04]);
    assert_eq!(got, want);
}

#[test]
fn rfc3442_destination_descriptors() {
    // RFC 3442 §2's table, each via 10.0.0.1.
    let cases: [([u8; 4], u8, &[u8]); 6] = [
        ([0, 0, 0, 0], 0, &[0]),
        ([10, 0, 0, 0], 8, &[8, 10]),
        ([10, 0, 0, 0], 24, &[24, 10, 0, 0]),
        ([10, 17, 0, 0], 16, &[16, 10, 17]),
        ([10, 229, 0, 128], 25, &[25, 10, 229, 0, 128]),
        ([10, 198, 122, 47], 32, &[32, 10, 198, 122, 47]),
    ];
    for (dst, prefix_len, want) in cases {
        let r = StaticRoute {
            dst: Ipv4Addr::from(dst),
            prefix_len,
            via: ROUTER,
        };
        let got = encode_routes(&[r]).unwrap();
        assert_eq!(&got[..want.len()], want, "{r:?}");
        assert_eq!(&got[want.len()..], &[10, 0, 0, 1]);
    }
    let host_bits = StaticRoute {
        dst: Ipv4Addr::new(10, 0, 0, 1),
        prefix_len: 24,
        via: ROUTER,
    };
    assert!(matches!(
        encode_routes(&[host_bits]),
        Err(DhcpConfigError::Route { .. })
    ));
}

#[test]
fn discover_gets_an_offer_of_the_binding_with_every_option() {
    let r = answered(&request(MessageType::Discover));
    assert_eq!(r.eth_dst, MacAddr::BROADCAST, "broadcast bit set");
    assert_eq!(r.eth_src, RESPONDER);
    assert_eq!(r.ip_src, ROUTER);
    assert_eq!(r.ip_dst, Ipv4Addr::BROADCAST);
    assert_eq!(r.repr.op, dhcp::BOOTREPLY);
    assert_eq!(r.repr.message_type, MessageType::Offer);
    assert_eq!(r.repr.xid, 0x1234_5678);
    assert_eq!(r.repr.yiaddr, BOUND);
    assert_eq!(r.repr.chaddr, VM);
    assert_eq!(r.opt(opt::SERVER_ID), Some(&[10, 0, 0, 1][..]));
    assert_eq!(r.opt(opt::LEASE_TIME), Some(&3600u32.to_be_bytes()[..]));
    assert_eq!(r.opt(opt::RENEWAL_TIME), Some(&1800u32.to_be_bytes()[..]));
    assert_eq!(r.opt(opt::REBINDING_TIME), Some(&3150u32.to_be_bytes()[..]));
    assert_eq!(r.opt(opt::SUBNET_MASK), Some(&[255, 255, 255, 0][..]));
    assert_eq!(r.opt(opt::BROADCAST), Some(&[10, 0, 0, 255][..]));
    assert_eq!(r.opt(opt::ROUTER), Some(&[10, 0, 0, 1][..]));
    assert_eq!(r.opt(opt::INTERFACE_MTU), Some(&1400u16.to_be_bytes()[..]));
    assert_eq!(r.opt(opt::DNS), Some(&[10, 0, 0, 53, 10, 0, 1, 53][..]));
    assert_eq!(r.opt(opt::NTP), Some(&[10, 0, 0, 123][..]));
    assert_eq!(r.opt(opt::DOMAIN_NAME), Some(&b"vm.example"[..]));
    assert_eq!(
        r.opt(opt::DOMAIN_SEARCH),
        Some(&b"\x02vm\x07example\x00\xc0\x03"[..])
    );
    // The configured route, then the default route (RFC 3442 §3).
    assert_eq!(
        r.opt(opt::CLASSLESS_ROUTES),
        Some(&[16, 192, 168, 10, 0, 0, 2, 0, 10, 0, 0, 1][..])
    );
}

#[test]
fn classless_routes_only_to_clients_that_ask() {
    let mut q = request(MessageType::Discover);
    q.parameters = OptionSet::default();
    let r = answered(&q);
    assert_eq!(r.opt(opt::CLASSLESS_ROUTES), None);
    assert_eq!(r.opt(opt::ROUTER), Some(&[10, 0, 0, 1][..]));
}

#[test]
fn unicast_offer_without_the_broadcast_bit() {
    let mut q = request(MessageType::Discover);
    q.flags = 0;
    let r = answered(&q);
    assert_eq!(r.eth_dst, VM);
    assert_eq!(r.ip_dst, BOUND);
}

#[test]
fn request_for_the_binding_is_acked_and_any_other_nakked() {
    let mut q = request(MessageType::Request);
    q.server_id = Some(ROUTER);
    q.requested_ip = Some(BOUND);
    let r = answered(&q);
    assert_eq!(r.repr.message_type, MessageType::Ack);
    assert_eq!(r.repr.yiaddr, BOUND);
    assert!(r.opt(opt::LEASE_TIME).is_some());

    // INIT-REBOOT for an address the port does not have.
    q.server_id = None;
    q.requested_ip = Some(Ipv4Addr::new(10, 0, 0, 6));
    q.flags = 0;
    let r = answered(&q);
    assert_eq!(r.repr.message_type, MessageType::Nak);
    assert_eq!(r.eth_dst, MacAddr::BROADCAST, "NAKs are broadcast");
    assert_eq!(r.ip_dst, Ipv4Addr::BROADCAST);
    assert_eq!(r.repr.yiaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(r.opt(opt::LEASE_TIME), None);
    assert_eq!(r.opt(opt::ROUTER), None);
    assert_eq!(r.opt(opt::SERVER_ID), Some(&[10, 0, 0, 1][..]));

    // SELECTING another server's offer.
    q.server_id = Some(Ipv4Addr::new(10, 0, 0, 99));
    q.requested_ip = Some(BOUND);
    assert_eq!(
        run(&q, VM).0,
        FilterVerdict::Drop(DropReason::DhcpOtherServer)
    );

    // A REQUEST naming no address at all.
    q.server_id = None;
    q.requested_ip = None;
    assert_eq!(
        run(&q, VM).0,
        FilterVerdict::Drop(DropReason::DhcpMalformed)
    );
}

#[test]
fn renewal_is_acked_by_unicast_to_ciaddr() {
    let mut q = request(MessageType::Request);
    q.ciaddr = BOUND;
    q.flags = 0;
    let r = answered(&q);
    assert_eq!(r.repr.message_type, MessageType::Ack);
    assert_eq!(r.repr.ciaddr, BOUND);
    assert_eq!(r.eth_dst, VM);
    assert_eq!(r.ip_dst, BOUND);
}

#[test]
fn inform_is_acked_without_a_lease() {
    let mut q = request(MessageType::Inform);
    q.ciaddr = BOUND;
    let r = answered(&q);
    assert_eq!(r.repr.message_type, MessageType::Ack);
    assert_eq!(r.repr.yiaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(r.repr.ciaddr, BOUND);
    assert_eq!(r.ip_dst, BOUND);
    assert_eq!(r.opt(opt::LEASE_TIME), None);
    assert_eq!(r.opt(opt::RENEWAL_TIME), None);
    assert_eq!(r.opt(opt::SUBNET_MASK), Some(&[255, 255, 255, 0][..]));
    assert_eq!(r.opt(opt::DNS).map(<[u8]>::len), Some(8));
    q.ciaddr = Ipv4Addr::new(10, 0, 0, 6);
    assert_eq!(
        run(&q, VM).0,
        FilterVerdict::Drop(DropReason::DhcpWrongAddress)
    );
}

#[test]
fn every_other_case_is_dropped_under_its_reason() {
    let drop = |q: &DhcpRepr, src| run(q, src).0;
    use DropReason::*;
    assert_eq!(
        drop(&request(MessageType::Release), VM),
        FilterVerdict::Drop(DhcpRelease)
    );
    assert_eq!(
        drop(&request(MessageType::Decline), VM),
        FilterVerdict::Drop(DhcpDecline)
    );
    for t in [MessageType::Offer, MessageType::Ack, MessageType::Nak] {
        assert_eq!(
            drop(&request(t), VM),
            FilterVerdict::Drop(DhcpServerMessage)
        );
    }
    assert_eq!(
        drop(&request(MessageType::Unknown(13)), VM),
        FilterVerdict::Drop(DhcpUnknownMessage)
    );
    let mut q = request(MessageType::Discover);
    q.op = dhcp::BOOTREPLY;
    assert_eq!(drop(&q, VM), FilterVerdict::Drop(DhcpServerMessage));
    // A MAC of the port's without a binding: dropped, not NAKed.
    let mut q = request(MessageType::Discover);
    q.chaddr = UNBOUND;
    assert_eq!(drop(&q, UNBOUND), FilterVerdict::Drop(DhcpUnboundClient));
    let mut q = request(MessageType::Request);
    q.chaddr = UNBOUND;
    q.requested_ip = Some(BOUND);
    assert_eq!(drop(&q, UNBOUND), FilterVerdict::Drop(DhcpUnboundClient));
    // Asking for another MAC's address.
    let mut q = request(MessageType::Discover);
    q.chaddr = OTHER;
    assert_eq!(drop(&q, VM), FilterVerdict::Drop(DhcpForeignClient));
    // From a MAC that is not the port's: the MAC check comes first.
    assert_eq!(
        drop(&request(MessageType::Discover), OTHER),
        FilterVerdict::Drop(SpoofedSrcMac)
    );
    // A VM answering DHCP (UDP 67 -> 68).
    let mut f = frame(&request(MessageType::Discover), VM, &[]);
    f[34..38].copy_from_slice(&[0, 67, 0, 68]);
    let mut buf = [0u8; REPLY_BUF_LEN];
    assert_eq!(
        filter_ingress(&f, &port(), &tables(), &mut buf),
        FilterVerdict::Drop(DhcpServerMessage)
    );
    // Cut short: the UDP length promises more than there is.
    let f = frame(&request(MessageType::Discover), VM, &[]);
    assert_eq!(
        filter_ingress(&f[..f.len() - 100], &port(), &tables(), &mut buf),
        FilterVerdict::Drop(DhcpMalformed)
    );
    // A fragment.
    let mut f = frame(&request(MessageType::Discover), VM, &[]);
    f[20] = 0x20;
    assert_eq!(
        filter_ingress(&f, &port(), &tables(), &mut buf),
        FilterVerdict::Drop(DhcpMalformed)
    );
}

#[test]
fn a_later_fragment_is_not_dhcp_whatever_its_bytes() {
    // Fragment offset 8 (64 octets): the "ports" are payload.
    let mut f = frame(&request(MessageType::Discover), VM, &[]);
    f[26..30].copy_from_slice(&BOUND.octets());
    f[20..22].copy_from_slice(&8u16.to_be_bytes());
    assert!(!is_dhcp(&f, 14));
    let mut buf = [0u8; REPLY_BUF_LEN];
    assert!(matches!(
        filter_ingress(&f, &port(), &tables(), &mut buf),
        FilterVerdict::Pass(_)
    ));
    // A header length below 20 octets: not read as UDP either.
    let mut f = frame(&request(MessageType::Discover), VM, &[]);
    f[14] = 0x44;
    assert!(!is_dhcp(&f, 14));
}

#[test]
fn other_udp_is_not_dhcp() {
    let mut f = frame(&request(MessageType::Discover), VM, &[]);
    f[26..30].copy_from_slice(&BOUND.octets());
    f[36..38].copy_from_slice(&53u16.to_be_bytes());
    let mut buf = [0u8; REPLY_BUF_LEN];
    assert!(matches!(
        filter_ingress(&f, &port(), &tables(), &mut buf),
        FilterVerdict::Pass(_)
    ));
}

#[test]
fn a_tagged_request_is_answered_under_the_same_tags() {
    let trunk = PortMode::Trunk {
        allowed: [10].into_iter().collect(),
        native: None,
    };
    let p = port_with(&settings(), trunk);
    let f = frame(&request(MessageType::Discover), VM, &[[0x81, 0x00, 0, 10]]);
    let mut buf = [0u8; REPLY_BUF_LEN];
    let FilterVerdict::Reply { len } = filter_ingress(&f, &p, &tables(), &mut buf) else {
        panic!()
    };
    assert_eq!(&buf[12..16], &[0x81, 0x00, 0, 10]);
    let r = read_reply(&buf, len, 1);
    assert_eq!(r.repr.yiaddr, BOUND);
}

#[test]
fn settings_are_validated() {
    let with = |f: &dyn Fn(&mut DhcpSettings)| {
        let mut s = settings();
        f(&mut s);
        DhcpServerConfig::new(&s)
    };
    assert_eq!(
        with(&|s| s.prefix_len = 0),
        Err(DhcpConfigError::PrefixLen(0))
    );
    assert_eq!(
        with(&|s| s.prefix_len = 33),
        Err(DhcpConfigError::PrefixLen(33))
    );
    assert_eq!(with(&|s| s.mtu = Some(67)), Err(DhcpConfigError::Mtu(67)));
    assert_eq!(with(&|s| s.lease_secs = 0), Err(DhcpConfigError::Lease));
    assert!(matches!(
        with(&|s| s.server_id = Ipv4Addr::UNSPECIFIED),
        Err(DhcpConfigError::ServerId(_))
    ));
    assert!(matches!(
        with(&|s| s.domain = Some("a..b".into())),
        Err(DhcpConfigError::DomainName(_))
    ));
    assert!(matches!(
        with(&|s| s.search = vec!["x".repeat(64)]),
        Err(DhcpConfigError::DomainName(_))
    ));
    assert!(matches!(
        with(&|s| s.dns = vec![ROUTER; 70]),
        Err(DhcpConfigError::TooLong(_))
    ));
    // The largest configuration that fits still makes a reply that fits.
    let mut s = settings();
    s.routes.clear();
    s.search.clear();
    s.domain = None;
    while DhcpServerConfig::new(&s).is_ok() {
        s.ntp.push(ROUTER);
    }
    s.ntp.pop();
    let cfg = DhcpServerConfig::new(&s).unwrap();
    assert!(cfg.common.len() + 4 > CONFIGURED_OPTIONS_MAX);
    let p = port_with(&s, PortMode::Access { vid: 10 });
    let f = frame(&request(MessageType::Discover), VM, &[]);
    let mut buf = [0u8; REPLY_BUF_LEN];
    let FilterVerdict::Reply { len } = filter_ingress(&f, &p, &tables(), &mut buf) else {
        panic!()
    };
    assert!(read_reply(&buf, len, 0).msg_len <= 548);
}

#[test]
fn a_port_with_dhcp_is_not_vlan_only() {
    let p = EdgePortPolicy::builder(PortMode::Access { vid: 10 })
        .macs([VM])
        .dhcp(DhcpServerConfig::new(&settings()).unwrap())
        .build()
        .unwrap();
    assert!(!p.is_vlan_only());
    assert!(p.dhcp().is_some());
}

/// DHCPCAST: the data path steers, so the filter passes a cast port's
/// client broadcast untouched, and a port cannot both answer and cast.
#[test]
fn a_cast_port_passes_dhcp_to_the_data_path_and_cannot_also_answer() {
    let server = MacAddr([0x02, 0, 0, 0, 0x53, 1]);
    let p = EdgePortPolicy::builder(PortMode::Access { vid: 10 })
        .dhcp_cast(server)
        .build()
        .unwrap();
    assert_eq!(p.dhcp_cast(), Some(server));
    assert!(p.is_vlan_only(), "the filter has nothing to do for a cast");
    let with_macs = EdgePortPolicy::builder(PortMode::Access { vid: 10 })
        .macs([VM])
        .dhcp_cast(server)
        .build()
        .unwrap();
    let f = frame(&request(MessageType::Discover), VM, &[]);
    let mut buf = [0u8; REPLY_BUF_LEN];
    assert!(matches!(
        filter_ingress(&f, &with_macs, &tables(), &mut buf),
        FilterVerdict::Pass(c) if c.dst == MacAddr::BROADCAST
    ));
    assert_eq!(
        EdgePortPolicy::builder(PortMode::Access { vid: 10 })
            .macs([VM])
            .dhcp(DhcpServerConfig::new(&settings()).unwrap())
            .dhcp_cast(server)
            .build(),
        Err(crate::policy::PolicyError::DhcpCastAndResponder)
    );
    assert_eq!(
        EdgePortPolicy::builder(PortMode::Access { vid: 10 })
            .dhcp_cast(MacAddr::BROADCAST)
            .build(),
        Err(crate::policy::PolicyError::InvalidDhcpCastServer(
            MacAddr::BROADCAST
        ))
    );
}

proptest! {
    #[test]
    fn any_message_after_valid_headers_is_handled_without_panic(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        cookie in any::<bool>(),
    ) {
        let mut body = body;
        if cookie && body.len() >= 240 {
            body[236..240].copy_from_slice(&dhcp::MAGIC_COOKIE);
            body[0] = 1;
            body[1] = 1;
            body[2] = 6;
        }
        let mut f = frame(&request(MessageType::Discover), VM, &[]);
        f.truncate(42);
        f.extend_from_slice(&body);
        let total = (f.len() - 14) as u16;
        f[16..18].copy_from_slice(&total.to_be_bytes());
        f[38..40].copy_from_slice(&(total - 20).to_be_bytes());
        let mut buf = [0u8; REPLY_BUF_LEN];
        if let FilterVerdict::Reply { len } = filter_ingress(&f, &port(), &tables(), &mut buf) {
            prop_assert!(len <= REPLY_BUF_LEN);
            read_reply(&buf, len, 0);
        }
    }
}
