//! The switch's DHCP responder for VM ports: a pure function from a
//! client's frame, the port's binding and the port's [`DhcpServerConfig`]
//! to the reply frame (RFC 2131). The address a client gets is the one
//! ARPless already binds to its MAC, so there is no pool and no lease
//! state: every answer is computed from configuration.
//!
//! | message | answer |
//! |---|---|
//! | DISCOVER | OFFER of the binding |
//! | REQUEST (selecting, init-reboot, renewing, rebinding) | ACK when the requested address (option 50, else `ciaddr`) is the binding, NAK otherwise; nothing when it names another server (§4.3.2) |
//! | INFORM | ACK with the options and no lease (§4.3.5) |
//! | RELEASE, DECLINE | consumed and counted: bindings are static, there is nothing to free |
//! | OFFER, ACK, NAK, any BOOTREPLY | dropped: a VM is not a DHCP server |
//!
//! A client whose MAC is the port's but has no binding in the frame's VLAN
//! is dropped and counted (`dhcp_unbound_client`), not NAKed: a NAK only
//! answers a REQUEST (a DISCOVER cannot be refused, RFC 2131 §4.3.1), and a
//! client NAKed restarts at INIT at once, so a NAK would turn one
//! misconfiguration into a steady DISCOVER/REQUEST/NAK loop through the
//! worker. Silence makes the client back off (§4.1) and the counter names
//! the port.

use core::net::Ipv4Addr;

use crate::dhcp::{
    opt, DhcpError, DhcpRepr, MessageType, OptionSet, OptionWriter, OptionsFull, Packet, BOOTREPLY,
    BOOTREQUEST, CLIENT_PORT, FLAG_BROADCAST, HEADER_LEN, MAX_MESSAGE_LEN, MIN_MESSAGE_LEN,
    SERVER_PORT,
};
use crate::mac::{MacAddr, ETHERNET_HEADER_LEN, ETHERTYPE_IPV4};
use crate::policy::{EdgePortPolicy, FilterTables};
use crate::verdict::{DropReason, FilterVerdict};
use crate::vlan::Vid;

const IPV4_HEADER_LEN: usize = 20;
const UDP_HEADER_LEN: usize = 8;
const PROTO_UDP: u8 = 17;

/// Octets of the options every answer carries besides the configured ones:
/// 53 (3), 54 (6), 51/58/59 (18), 1 (6), 28 (6) and End (1).
const PER_REPLY_OPTIONS_LEN: usize = 3 + 6 + 18 + 6 + 6 + 1;
/// Room for the configured options: the options field of the largest
/// message every client accepts (RFC 2131 §2), less the per-reply ones.
pub const CONFIGURED_OPTIONS_MAX: usize = MAX_MESSAGE_LEN - HEADER_LEN - PER_REPLY_OPTIONS_LEN;

/// Octets of the largest reply frame: Ethernet, `max_tags` VLAN tags, IPv4,
/// UDP and the largest DHCP message.
pub const fn max_reply_len(max_tags: usize) -> usize {
    ETHERNET_HEADER_LEN
        + max_tags * crate::vlan::TAG_LEN
        + IPV4_HEADER_LEN
        + UDP_HEADER_LEN
        + MAX_MESSAGE_LEN
}

/// One classless static route (RFC 3442).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StaticRoute {
    /// Destination network (no bits set beyond `prefix_len`).
    pub dst: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub prefix_len: u8,
    /// Next hop.
    pub via: Ipv4Addr,
}

/// What a port's DHCP answers say, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpSettings {
    /// Prefix length of the client's subnet (options 1 and 28).
    pub prefix_len: u8,
    /// Server identifier (option 54) and the replies' IPv4 source.
    pub server_id: Ipv4Addr,
    /// Default router (option 3).
    pub router: Option<Ipv4Addr>,
    /// DNS servers (option 6).
    pub dns: Vec<Ipv4Addr>,
    /// NTP servers (option 42).
    pub ntp: Vec<Ipv4Addr>,
    /// Domain name (option 15).
    pub domain: Option<String>,
    /// Domain search list (option 119).
    pub search: Vec<String>,
    /// Classless static routes (option 121).
    pub routes: Vec<StaticRoute>,
    /// Interface MTU (option 26).
    pub mtu: Option<u16>,
    /// Lease time in seconds (option 51); T1 and T2 are half and seven
    /// eighths of it (RFC 2131 §4.4.5).
    pub lease_secs: u32,
}

/// Why DHCP settings were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DhcpConfigError {
    /// The prefix length is not 1..=32 (a /0 has no subnet mask to give).
    #[error("prefix length {0} is not 1..=32")]
    PrefixLen(u8),
    /// RFC 2132 §5.1: the MTU is at least 68.
    #[error("MTU {0} is below 68 (RFC 2132 §5.1)")]
    Mtu(u16),
    /// A lease of zero seconds.
    #[error("the lease time must be at least one second")]
    Lease,
    /// The server identifier is 0.0.0.0 or a group address.
    #[error("{0} cannot be a DHCP server identifier")]
    ServerId(Ipv4Addr),
    /// A domain name that DNS cannot carry (labels of 1..=63 octets of
    /// letters, digits, '-' or '_', 253 octets in all).
    #[error("{0:?} is not a domain name")]
    DomainName(String),
    /// A route prefix longer than 32 or with host bits set.
    #[error("{dst}/{prefix_len} is not a network prefix")]
    Route {
        /// The destination as configured.
        dst: Ipv4Addr,
        /// Its prefix length.
        prefix_len: u8,
    },
    /// The options do not fit in a message every client accepts.
    #[error("the options take {0} octets; at most {CONFIGURED_OPTIONS_MAX} fit in a 576-octet DHCP datagram")]
    TooLong(usize),
}

/// A port's DHCP settings, validated, with the options that are the same
/// in every answer encoded once, here, rather than per reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpServerConfig {
    prefix_len: u8,
    server_id: Ipv4Addr,
    lease_secs: u32,
    /// Options 3, 26, 6, 42, 15 and 119, encoded.
    common: Box<[u8]>,
    /// Option 121 (with the default route when there is a router, RFC 3442
    /// §3: a client that takes 121 ignores option 3), sent only to clients
    /// that ask for it; empty without routes.
    routes: Box<[u8]>,
}

fn put_split(out: &mut Vec<u8>, code: u8, data: &[u8]) {
    // RFC 3396: a long option is several instances of the same code,
    // concatenated by the client.
    if data.is_empty() {
        out.extend_from_slice(&[code, 0]);
    }
    for chunk in data.chunks(255) {
        out.extend_from_slice(&[code, chunk.len() as u8]);
        out.extend_from_slice(chunk);
    }
}

fn put_ips(out: &mut Vec<u8>, code: u8, ips: &[Ipv4Addr]) {
    if !ips.is_empty() {
        let data: Vec<u8> = ips.iter().flat_map(|i| i.octets()).collect();
        put_split(out, code, &data);
    }
}

fn check_domain(name: &str) -> Result<&str, DhcpConfigError> {
    let n = name.strip_suffix('.').unwrap_or(name);
    let ok = !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(n)
    } else {
        Err(DhcpConfigError::DomainName(name.to_string()))
    }
}

/// Encodes a domain search list (RFC 3397 §2): each name in DNS wire form
/// (RFC 1035 §3.1), a suffix already written replaced by a compression
/// pointer (RFC 1035 §4.1.4) to its offset in the option's data.
pub fn encode_search_list(names: &[String]) -> Result<Vec<u8>, DhcpConfigError> {
    let mut out = Vec::new();
    let mut written: Vec<(String, usize)> = Vec::new();
    for name in names {
        let n = check_domain(name)?;
        let labels: Vec<&str> = n.split('.').collect();
        let mut pointer = None;
        for i in 0..labels.len() {
            let suffix = labels[i..].join(".");
            if let Some((_, at)) = written
                .iter()
                .find(|(s, _)| s.eq_ignore_ascii_case(&suffix))
            {
                pointer = Some((i, *at));
                break;
            }
            if out.len() <= 0x3fff {
                written.push((suffix, out.len()));
            }
            out.push(labels[i].len() as u8);
            out.extend_from_slice(labels[i].as_bytes());
        }
        match pointer {
            Some((_, at)) => out.extend_from_slice(&(0xc000 | at as u16).to_be_bytes()),
            None => out.push(0),
        }
    }
    Ok(out)
}

/// Encodes classless static routes (RFC 3442 §2): per route the prefix
/// length, the significant octets of the destination, then the router.
pub fn encode_routes(routes: &[StaticRoute]) -> Result<Vec<u8>, DhcpConfigError> {
    let mut out = Vec::new();
    for r in routes {
        let bad = DhcpConfigError::Route {
            dst: r.dst,
            prefix_len: r.prefix_len,
        };
        if r.prefix_len > 32 {
            return Err(bad);
        }
        let mask = prefix_mask(r.prefix_len);
        if u32::from(r.dst) & !mask != 0 {
            return Err(bad);
        }
        out.push(r.prefix_len);
        out.extend_from_slice(&r.dst.octets()[..usize::from(r.prefix_len).div_ceil(8)]);
        out.extend_from_slice(&r.via.octets());
    }
    Ok(out)
}

fn prefix_mask(len: u8) -> u32 {
    match len {
        0 => 0,
        l => u32::MAX << (32 - u32::from(l.min(32))),
    }
}

impl DhcpServerConfig {
    /// Validates `s` and encodes its options.
    pub fn new(s: &DhcpSettings) -> Result<DhcpServerConfig, DhcpConfigError> {
        if !(1..=32).contains(&s.prefix_len) {
            return Err(DhcpConfigError::PrefixLen(s.prefix_len));
        }
        if let Some(m) = s.mtu.filter(|m| *m < 68) {
            return Err(DhcpConfigError::Mtu(m));
        }
        if s.lease_secs == 0 {
            return Err(DhcpConfigError::Lease);
        }
        if s.server_id.is_unspecified() || s.server_id.is_broadcast() || s.server_id.is_multicast()
        {
            return Err(DhcpConfigError::ServerId(s.server_id));
        }
        let mut common = Vec::new();
        if let Some(r) = s.router {
            put_split(&mut common, opt::ROUTER, &r.octets());
        }
        if let Some(m) = s.mtu {
            put_split(&mut common, opt::INTERFACE_MTU, &m.to_be_bytes());
        }
        put_ips(&mut common, opt::DNS, &s.dns);
        put_ips(&mut common, opt::NTP, &s.ntp);
        if let Some(d) = &s.domain {
            put_split(&mut common, opt::DOMAIN_NAME, check_domain(d)?.as_bytes());
        }
        if !s.search.is_empty() {
            put_split(
                &mut common,
                opt::DOMAIN_SEARCH,
                &encode_search_list(&s.search)?,
            );
        }
        let mut routes = Vec::new();
        if !s.routes.is_empty() {
            let mut all = s.routes.clone();
            if let Some(r) = s.router {
                if !all.iter().any(|x| x.prefix_len == 0) {
                    all.push(StaticRoute {
                        dst: Ipv4Addr::UNSPECIFIED,
                        prefix_len: 0,
                        via: r,
                    });
                }
            }
            put_split(&mut routes, opt::CLASSLESS_ROUTES, &encode_routes(&all)?);
        }
        let len = common.len() + routes.len();
        if len > CONFIGURED_OPTIONS_MAX {
            return Err(DhcpConfigError::TooLong(len));
        }
        Ok(DhcpServerConfig {
            prefix_len: s.prefix_len,
            server_id: s.server_id,
            lease_secs: s.lease_secs,
            common: common.into_boxed_slice(),
            routes: routes.into_boxed_slice(),
        })
    }

    /// The server identifier (option 54), also the replies' IPv4 source.
    pub fn server_id(&self) -> Ipv4Addr {
        self.server_id
    }

    /// The subnet mask given with every address.
    pub fn subnet_mask(&self) -> Ipv4Addr {
        Ipv4Addr::from(prefix_mask(self.prefix_len))
    }
}

/// Whether the IPv4 packet at `ip_offset` is UDP to the DHCP server port,
/// or from it to the client port (a VM playing server): the frames a DHCP
/// port consumes. Reads four octets past the IPv4 header; anything shorter
/// is not DHCP here (and meets the source guard or forwarding as before).
#[inline]
pub fn is_dhcp(frame: &[u8], ip_offset: usize) -> bool {
    let Some(hdr) = frame.get(ip_offset..ip_offset + IPV4_HEADER_LEN) else {
        return false;
    };
    // Only where a UDP header can be: version 4, a whole IPv4 header, the
    // first fragment (a later one's bytes there are payload, not ports).
    let ihl = usize::from(hdr[0] & 0x0f) * 4;
    let offset = u16::from_be_bytes([hdr[6], hdr[7]]) & 0x1fff;
    if hdr[0] >> 4 != 4 || ihl < IPV4_HEADER_LEN || offset != 0 || hdr[9] != PROTO_UDP {
        return false;
    }
    let udp = ip_offset + ihl;
    match frame.get(udp..udp + 4) {
        Some(u) => {
            let (src, dst) = (
                u16::from_be_bytes([u[0], u[1]]),
                u16::from_be_bytes([u[2], u[3]]),
            );
            dst == SERVER_PORT || (src == SERVER_PORT && dst == CLIENT_PORT)
        }
        None => false,
    }
}

/// The DHCP message inside the IPv4 packet at `at`: header length, total
/// length and UDP length checked, fragments refused.
pub(crate) fn udp_payload(frame: &[u8], at: usize) -> Result<(u16, &[u8]), DropReason> {
    let bad = DropReason::DhcpMalformed;
    let ip = frame.get(at..).ok_or(bad)?;
    let hdr = ip.get(..IPV4_HEADER_LEN).ok_or(bad)?;
    let ihl = usize::from(hdr[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
    let more_or_offset = u16::from_be_bytes([hdr[6], hdr[7]]) & 0x3fff;
    if ihl < IPV4_HEADER_LEN || total < ihl + UDP_HEADER_LEN || more_or_offset != 0 {
        return Err(bad);
    }
    let udp = ip.get(ihl..total).ok_or(bad)?;
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    let src_port = u16::from_be_bytes([udp[0], udp[1]]);
    let body = udp
        .get(UDP_HEADER_LEN..udp_len.max(UDP_HEADER_LEN))
        .ok_or(bad)?;
    Ok((src_port, body))
}

/// How the answer is addressed (RFC 2131 §4.1, `giaddr` zero).
struct Destination {
    eth: MacAddr,
    ip: Ipv4Addr,
}

/// One answer: the message type and the addresses that differ per type.
struct Answer {
    message_type: MessageType,
    ciaddr: Ipv4Addr,
    yiaddr: Ipv4Addr,
    lease: bool,
    options: bool,
}

/// Answers one DHCP frame from a VM on a port with DHCP configured
/// ([`is_dhcp`] said yes) in VLAN `vid`, its IPv4 header at
/// `payload_offset` after the VLAN tags. The reply goes back out of the ingress port
/// only; the frame itself never leaves it. Out of line and cold: DHCP is a
/// few frames per VM per lease, and inlined it would cost every other
/// frame through `filter_ingress` spilled registers (likewise it takes the
/// payload offset, not the parsed header, which would then have to live in
/// memory).
#[cold]
#[inline(never)]
pub fn handle(
    frame: &[u8],
    payload_offset: usize,
    vid: Vid,
    port: &EdgePortPolicy,
    cfg: &DhcpServerConfig,
    tables: &FilterTables,
    reply_buf: &mut [u8],
) -> FilterVerdict {
    match answer(frame, payload_offset, vid, port, cfg, tables, reply_buf) {
        Ok(len) => FilterVerdict::Reply { len },
        Err(r) => FilterVerdict::Drop(r),
    }
}

fn answer(
    frame: &[u8],
    payload_offset: usize,
    vid: Vid,
    port: &EdgePortPolicy,
    cfg: &DhcpServerConfig,
    tables: &FilterTables,
    reply_buf: &mut [u8],
) -> Result<usize, DropReason> {
    let src = frame
        .get(6..12)
        .and_then(MacAddr::from_slice)
        .ok_or(DropReason::DhcpMalformed)?;
    let (src_port, body) = udp_payload(frame, payload_offset)?;
    if src_port == SERVER_PORT {
        return Err(DropReason::DhcpServerMessage);
    }
    let req = Packet::new_checked(body)
        .and_then(|p| DhcpRepr::parse(&p))
        .map_err(|e: DhcpError| match e {
            DhcpError::Truncated
            | DhcpError::BadMagic
            | DhcpError::OptionTruncated
            | DhcpError::OptionLength(_)
            | DhcpError::NoMessageType
            | DhcpError::Unsupported => DropReason::DhcpMalformed,
        })?;
    if req.op != BOOTREQUEST {
        return Err(DropReason::DhcpServerMessage);
    }
    let answer = match req.message_type {
        MessageType::Offer | MessageType::Ack | MessageType::Nak => {
            return Err(DropReason::DhcpServerMessage)
        }
        MessageType::Unknown(_) => return Err(DropReason::DhcpUnknownMessage),
        _ => {
            if !port.owns_mac(req.chaddr) {
                return Err(DropReason::DhcpForeignClient);
            }
            let bound = port
                .ip_of(vid, req.chaddr)
                .ok_or(DropReason::DhcpUnboundClient)?;
            decide(&req, bound, cfg)?
        }
    };
    let dst = if answer.message_type == MessageType::Nak {
        // §4.1: with giaddr zero, a NAK is always broadcast.
        Destination {
            eth: MacAddr::BROADCAST,
            ip: Ipv4Addr::BROADCAST,
        }
    } else if !req.ciaddr.is_unspecified() {
        Destination {
            eth: src,
            ip: req.ciaddr,
        }
    } else if req.flags & FLAG_BROADCAST != 0 {
        Destination {
            eth: MacAddr::BROADCAST,
            ip: Ipv4Addr::BROADCAST,
        }
    } else {
        Destination {
            eth: req.chaddr,
            ip: answer.yiaddr,
        }
    };
    write_reply(
        reply_buf,
        frame,
        payload_offset,
        tables.responder_mac,
        &dst,
        cfg,
        &req,
        &answer,
    )
}

/// RFC 2131 §4.3: which answer, if any, a client message gets.
fn decide(req: &DhcpRepr, bound: Ipv4Addr, cfg: &DhcpServerConfig) -> Result<Answer, DropReason> {
    let ack = |ciaddr| Answer {
        message_type: MessageType::Ack,
        ciaddr,
        yiaddr: bound,
        lease: true,
        options: true,
    };
    let nak = Answer {
        message_type: MessageType::Nak,
        ciaddr: Ipv4Addr::UNSPECIFIED,
        yiaddr: Ipv4Addr::UNSPECIFIED,
        lease: false,
        options: false,
    };
    match req.message_type {
        // §4.3.1: the offer is the binding, whatever option 50 asked for.
        MessageType::Discover => Ok(Answer {
            message_type: MessageType::Offer,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: bound,
            lease: true,
            options: true,
        }),
        MessageType::Request => {
            // §4.3.2: SELECTING names a server; another one's is not ours
            // to answer.
            if req.server_id.is_some_and(|s| s != cfg.server_id) {
                return Err(DropReason::DhcpOtherServer);
            }
            // SELECTING and INIT-REBOOT put the address in option 50,
            // RENEWING and REBINDING in ciaddr.
            let wanted = req
                .requested_ip
                .or((!req.ciaddr.is_unspecified()).then_some(req.ciaddr))
                .ok_or(DropReason::DhcpMalformed)?;
            Ok(if wanted == bound {
                ack(req.ciaddr)
            } else {
                nak
            })
        }
        // §4.3.5: no lease, no yiaddr; the client already has its address,
        // and only the binding may ask.
        MessageType::Inform => {
            if req.ciaddr != bound {
                return Err(DropReason::DhcpWrongAddress);
            }
            Ok(Answer {
                message_type: MessageType::Ack,
                ciaddr: req.ciaddr,
                yiaddr: Ipv4Addr::UNSPECIFIED,
                lease: false,
                options: true,
            })
        }
        MessageType::Release => Err(DropReason::DhcpRelease),
        MessageType::Decline => Err(DropReason::DhcpDecline),
        MessageType::Offer | MessageType::Ack | MessageType::Nak => {
            Err(DropReason::DhcpServerMessage)
        }
        MessageType::Unknown(_) => Err(DropReason::DhcpUnknownMessage),
    }
}

fn options(
    w: &mut OptionWriter<'_>,
    cfg: &DhcpServerConfig,
    params: &OptionSet,
    a: &Answer,
) -> Result<(), OptionsFull> {
    w.option(opt::MESSAGE_TYPE, &[a.message_type.into()])?;
    w.ip(opt::SERVER_ID, cfg.server_id)?;
    if a.lease {
        let lease = u64::from(cfg.lease_secs);
        w.u32(opt::LEASE_TIME, cfg.lease_secs)?;
        w.u32(opt::RENEWAL_TIME, (lease / 2) as u32)?;
        w.u32(opt::REBINDING_TIME, (lease * 7 / 8) as u32)?;
    }
    if a.options {
        let mask = prefix_mask(cfg.prefix_len);
        // For INFORM the address is the client's own, in ciaddr.
        let me = if a.yiaddr.is_unspecified() {
            a.ciaddr
        } else {
            a.yiaddr
        };
        w.ip(opt::SUBNET_MASK, Ipv4Addr::from(mask))?;
        w.ip(opt::BROADCAST, Ipv4Addr::from(u32::from(me) | !mask))?;
        w.raw(&cfg.common)?;
        // RFC 3442 §3: only to clients that ask for it.
        if params.contains(opt::CLASSLESS_ROUTES) {
            w.raw(&cfg.routes)?;
        }
    }
    w.end()
}

/// One's complement sum of `data` (RFC 1071), folded, not complemented.
fn ones_sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

#[allow(clippy::too_many_arguments)]
fn write_reply(
    out: &mut [u8],
    frame: &[u8],
    payload_offset: usize,
    eth_src: MacAddr,
    dst: &Destination,
    cfg: &DhcpServerConfig,
    req: &DhcpRepr,
    a: &Answer,
) -> Result<usize, DropReason> {
    let tags = frame
        .get(12..payload_offset.saturating_sub(2))
        .ok_or(DropReason::DhcpMalformed)?;
    let ip_at = ETHERNET_HEADER_LEN + tags.len();
    let udp_at = ip_at + IPV4_HEADER_LEN;
    let msg_at = udp_at + UDP_HEADER_LEN;
    let room = out
        .get_mut(msg_at..msg_at + MAX_MESSAGE_LEN)
        .ok_or(DropReason::ReplyBufferTooSmall)?;
    let rep = DhcpRepr {
        op: BOOTREPLY,
        message_type: a.message_type,
        xid: req.xid,
        secs: 0,
        flags: req.flags,
        hops: 0,
        ciaddr: a.ciaddr,
        yiaddr: a.yiaddr,
        siaddr: Ipv4Addr::UNSPECIFIED,
        giaddr: req.giaddr,
        chaddr: req.chaddr,
        requested_ip: None,
        server_id: None,
        lease_secs: None,
        parameters: OptionSet::default(),
    };
    let mut p = Packet::new_unchecked(&mut *room);
    rep.emit_header(&mut p);
    let mut w = OptionWriter::new(p.options_mut());
    // The configuration was sized to fit (CONFIGURED_OPTIONS_MAX).
    options(&mut w, cfg, &req.parameters, a).map_err(|_| DropReason::ReplyBufferTooSmall)?;
    let used = HEADER_LEN + w.len();
    let msg_len = used.max(MIN_MESSAGE_LEN);
    room[used..msg_len].fill(0);

    let out = &mut out[..msg_at + msg_len];
    out[0..6].copy_from_slice(&dst.eth.0);
    out[6..12].copy_from_slice(&eth_src.0);
    out[12..12 + tags.len()].copy_from_slice(tags);
    out[ip_at - 2..ip_at].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());

    let udp_len = (UDP_HEADER_LEN + msg_len) as u16;
    let src = cfg.server_id.octets();
    let dst_ip = dst.ip.octets();
    let ip = &mut out[ip_at..udp_at];
    ip.copy_from_slice(&[
        0x45, 0, 0, 0, 0, 0, 0, 0, 64, PROTO_UDP, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    ip[2..4].copy_from_slice(&(IPV4_HEADER_LEN as u16 + udp_len).to_be_bytes());
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst_ip);
    let ip_sum = !(ones_sum(0, ip) as u16);
    ip[10..12].copy_from_slice(&ip_sum.to_be_bytes());

    let udp = &mut out[udp_at..];
    udp[0..2].copy_from_slice(&SERVER_PORT.to_be_bytes());
    udp[2..4].copy_from_slice(&CLIENT_PORT.to_be_bytes());
    udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
    udp[6..8].fill(0);
    // RFC 768: checksum over the pseudo-header and the datagram; a result
    // of zero is sent as all ones.
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&src);
    pseudo[4..8].copy_from_slice(&dst_ip);
    pseudo[9] = PROTO_UDP;
    pseudo[10..12].copy_from_slice(&udp_len.to_be_bytes());
    let sum = !(ones_sum(ones_sum(0, &pseudo), udp) as u16);
    let sum = if sum == 0 { 0xffff } else { sum };
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    Ok(msg_at + msg_len)
}

/// The octets of a DHCP message a reply frame carries, for tests and tools.
pub fn reply_message(reply: &[u8], payload_offset: usize) -> Option<&[u8]> {
    reply.get(payload_offset + IPV4_HEADER_LEN + UDP_HEADER_LEN..)
}

#[cfg(test)]
mod tests;
