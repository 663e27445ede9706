//! IP source guard for IPv6 (RFC 8200), and neighbour discovery (RFC 4861)
//! held to the same bindings: on an ARPless port, IPv6 must come from an
//! address bound to the frame's source MAC in its VLAN, and ND may only
//! speak for such addresses, so a VM can neither send as another nor
//! redirect another's traffic to itself through the neighbour caches.
//!
//! Bound are the port's IPv6 bindings and, for each port MAC, the
//! link-local address modified EUI-64 makes of it (RFC 4291 appendix A):
//! every host has a link-local address and ND, MLD and router
//! solicitation use it, so an operator who had to bind it by hand would
//! bind it for every VM. Other link-local addresses (RFC 7217 stable
//! privacy, RFC 8981 temporary) are bound explicitly.
//!
//! Exceptions from `::` (the unspecified address while a host acquires
//! one): a duplicate address detection probe (RFC 4862 5.4.2: Neighbor
//! Solicitation, hop limit 255, no Source Link-Layer Address option), for
//! a target bound to the sender; and an MLDv2 report (RFC 3810 5.2.13,
//! hop limit 1), which a host sends for the solicited-node group before
//! its link-local address is usable.
//!
//! ND rules for any source: Router Advertisements and Redirects are
//! router messages and never come from a host port (RA guard, RFC 6105);
//! a Neighbor Advertisement's target must be bound to the sender and its
//! Target Link-Layer Address option, if any, must be the frame's source;
//! the Source Link-Layer Address option of a Neighbor or Router
//! Solicitation, if any, must be the frame's source.
//!
//! To find ICMPv6 the guard walks hop-by-hop, routing, destination options,
//! fragment and authentication headers, at most
//! [`MAX_EXTENSION_HEADERS`] (MLD carries a hop-by-hop Router Alert, and
//! RFC 7113 shows RA guard evaded behind extension headers). A chain cut
//! off or longer than that is `ip_malformed` (RFC 7112: the first fragment
//! holds the whole chain). A later fragment carries no upper-layer header
//! and is held by its source only; receivers drop fragmented ND anyway
//! (RFC 6980).

use core::net::Ipv6Addr;

use crate::policy::EdgePortPolicy;
use crate::verdict::DropReason;
use crate::vlan::Vid;
use crate::MacAddr;

const HEADER_LEN: usize = 40;
/// fe80::/64, the upper half of every link-local address (RFC 4291 2.5.6).
const LINK_LOCAL_PREFIX: u128 = 0xfe80 << 48;
/// Extension headers walked before giving up (RFC 8200 4.1 orders at most
/// seven in a legitimate chain).
pub const MAX_EXTENSION_HEADERS: usize = 8;

const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const AUTHENTICATION: u8 = 51;
const DESTINATION_OPTIONS: u8 = 60;
const ICMPV6: u8 = 58;

const ROUTER_SOLICITATION: u8 = 133;
const ROUTER_ADVERTISEMENT: u8 = 134;
const NEIGHBOR_SOLICITATION: u8 = 135;
const NEIGHBOR_ADVERTISEMENT: u8 = 136;
const REDIRECT: u8 = 137;
const MLDV2_REPORT: u8 = 143;

const SOURCE_LINK_LAYER_ADDRESS: u8 = 1;
const TARGET_LINK_LAYER_ADDRESS: u8 = 2;
/// Offset of the options in a Router Solicitation, and of the target
/// address and the options in a Neighbor Solicitation or Advertisement.
const RS_OPTIONS: usize = 8;
const NS_TARGET: usize = 8;
const NS_OPTIONS: usize = 24;
const ND_HOP_LIMIT: u8 = 255;
const MLD_HOP_LIMIT: u8 = 1;

/// Who sends: the frame's source MAC, in the frame's VLAN, on a port.
#[derive(Clone, Copy)]
struct Sender<'a> {
    port: &'a EdgePortPolicy,
    vid: Vid,
    mac: MacAddr,
}

impl Sender<'_> {
    /// Whether `ip` is bound to the sender: an IPv6 binding, or its MAC's
    /// modified EUI-64 link-local address.
    #[inline]
    fn owns(&self, ip: Ipv6Addr) -> bool {
        if u128::from(ip) >> 64 == LINK_LOCAL_PREFIX {
            // Only the link-local prefix pays for composing the address.
            if ip == eui64_link_local(self.mac) {
                return true;
            }
        }
        self.port.has_ipv6_binding(self.vid, ip, self.mac)
    }
}

/// fe80::/64 with the modified EUI-64 interface identifier of `mac`
/// (RFC 4291 appendix A: ff:fe in the middle, universal/local bit flipped).
pub fn eui64_link_local(mac: MacAddr) -> Ipv6Addr {
    let [a, b, c, d, e, f] = mac.0;
    let iid = u64::from_be_bytes([a ^ 0x02, b, c, 0xff, 0xfe, d, e, f]);
    Ipv6Addr::from((LINK_LOCAL_PREFIX << 64) | u128::from(iid))
}

/// The address in the first 16 octets of `b`; callers pass 16 or more,
/// and a shorter slice reads as `::`, which is bound to nobody.
fn addr(b: &[u8]) -> Ipv6Addr {
    match b.get(..16).and_then(|a| <[u8; 16]>::try_from(a).ok()) {
        Some(a) => Ipv6Addr::from(a),
        None => Ipv6Addr::UNSPECIFIED,
    }
}

/// Checks the IPv6 packet at `ip_offset` in `frame`, sent by `src` (one of
/// the port's MACs) in `vid`, against the port's bindings.
#[inline]
pub fn check_ipv6(
    frame: &[u8],
    ip_offset: usize,
    vid: Vid,
    src: MacAddr,
    port: &EdgePortPolicy,
) -> Result<(), DropReason> {
    let hdr = crate::source_guard::ip_header(frame, ip_offset, HEADER_LEN, 6)?;
    let sender = Sender {
        port,
        vid,
        mac: src,
    };
    let source = addr(&hdr[8..24]);
    let bound = sender.owns(source);
    if !bound && !source.is_unspecified() {
        return Err(DropReason::IpSpoofedSource);
    }
    let next = hdr[6];
    if bound && next != ICMPV6 && !is_extension_header(next) {
        return Ok(());
    }
    let end = packet_end(frame, ip_offset, hdr);
    let (proto, at) = upper_layer(frame, ip_offset + HEADER_LEN, next, end)?;
    if proto != ICMPV6 {
        return if bound {
            Ok(())
        } else {
            Err(DropReason::IpSpoofedSource)
        };
    }
    let msg = frame.get(at..end).ok_or(DropReason::IpMalformed)?;
    check_icmpv6(msg, hdr[7], bound, &sender)
}

fn is_extension_header(next: u8) -> bool {
    matches!(
        next,
        HOP_BY_HOP | ROUTING | FRAGMENT | AUTHENTICATION | DESTINATION_OPTIONS
    )
}

/// Where the packet ends: the payload length says, not Ethernet padding;
/// a jumbogram (length 0) or a packet cut short ends with the frame.
fn packet_end(frame: &[u8], ip_offset: usize, hdr: &[u8]) -> usize {
    let payload = usize::from(u16::from_be_bytes([hdr[4], hdr[5]]));
    if payload == 0 {
        return frame.len();
    }
    (ip_offset + HEADER_LEN + payload).min(frame.len())
}

/// The upper-layer protocol and its offset, past the extension headers.
/// A later fragment has none: it reports [`FRAGMENT`].
fn upper_layer(
    frame: &[u8],
    mut at: usize,
    mut next: u8,
    end: usize,
) -> Result<(u8, usize), DropReason> {
    for _ in 0..MAX_EXTENSION_HEADERS {
        if !is_extension_header(next) {
            return Ok((next, at));
        }
        let h = frame
            .get(at..at + 8)
            .filter(|_| at + 8 <= end)
            .ok_or(DropReason::IpMalformed)?;
        let len = match next {
            FRAGMENT if u16::from_be_bytes([h[2], h[3]]) >> 3 != 0 => return Ok((FRAGMENT, end)),
            FRAGMENT => 8,
            AUTHENTICATION => (usize::from(h[1]) + 2) * 4,
            _ => (usize::from(h[1]) + 1) * 8,
        };
        next = h[0];
        at += len;
    }
    if is_extension_header(next) {
        return Err(DropReason::IpMalformed);
    }
    Ok((next, at))
}

/// The ICMPv6 rules: ND held to the bindings, and what `::` may send.
fn check_icmpv6(
    msg: &[u8],
    hop_limit: u8,
    bound: bool,
    sender: &Sender<'_>,
) -> Result<(), DropReason> {
    let &kind = msg.first().ok_or(DropReason::IpMalformed)?;
    match kind {
        ROUTER_ADVERTISEMENT | REDIRECT => Err(DropReason::NdRouterMessage),
        NEIGHBOR_SOLICITATION if bound => link_layer_options(
            options(msg, NS_OPTIONS)?,
            SOURCE_LINK_LAYER_ADDRESS,
            sender.mac,
        ),
        NEIGHBOR_SOLICITATION => duplicate_address_detection(msg, hop_limit, sender),
        NEIGHBOR_ADVERTISEMENT if bound => neighbor_advertisement(msg, sender),
        ROUTER_SOLICITATION if bound => link_layer_options(
            options(msg, RS_OPTIONS)?,
            SOURCE_LINK_LAYER_ADDRESS,
            sender.mac,
        ),
        MLDV2_REPORT if !bound && hop_limit == MLD_HOP_LIMIT => Ok(()),
        _ if bound => Ok(()),
        _ => Err(DropReason::IpSpoofedSource),
    }
}

/// A Neighbor Solicitation from `::` (RFC 4862 5.4.2): hop limit 255, no
/// Source Link-Layer Address option (RFC 4861 7.1.1), and a target bound
/// to the sender, since a probe for another's tentative address makes its
/// owner give it up (RFC 4862 5.4.3).
fn duplicate_address_detection(
    msg: &[u8],
    hop_limit: u8,
    sender: &Sender<'_>,
) -> Result<(), DropReason> {
    if hop_limit != ND_HOP_LIMIT {
        return Err(DropReason::IpSpoofedSource);
    }
    let opts = options(msg, NS_OPTIONS)?;
    if !sender.owns(addr(&msg[NS_TARGET..])) || has_option(opts, SOURCE_LINK_LAYER_ADDRESS)? {
        return Err(DropReason::NdSpoofed);
    }
    Ok(())
}

/// A Neighbor Advertisement speaks for its target: it must be bound to
/// the sender, and the Target Link-Layer Address option name the sender.
fn neighbor_advertisement(msg: &[u8], sender: &Sender<'_>) -> Result<(), DropReason> {
    let opts = options(msg, NS_OPTIONS)?;
    if !sender.owns(addr(&msg[NS_TARGET..])) {
        return Err(DropReason::NdSpoofed);
    }
    link_layer_options(opts, TARGET_LINK_LAYER_ADDRESS, sender.mac)
}

/// The options of an ND message whose fixed part is `fixed` bytes.
fn options(msg: &[u8], fixed: usize) -> Result<&[u8], DropReason> {
    msg.get(fixed..).ok_or(DropReason::IpMalformed)
}

/// Each option as (type, body): RFC 4861 4.6, length in units of 8 octets.
/// A zero length or an option past the end is malformed (receivers
/// discard the message, RFC 4861 4.6).
fn for_each_option(
    mut opts: &[u8],
    mut f: impl FnMut(u8, &[u8]) -> Result<(), DropReason>,
) -> Result<(), DropReason> {
    while let [kind, len, ..] = *opts {
        let n = usize::from(len) * 8;
        if n == 0 || n > opts.len() {
            return Err(DropReason::IpMalformed);
        }
        f(kind, &opts[2..n])?;
        opts = &opts[n..];
    }
    Ok(())
}

/// Every link-layer address option of type `kind` names `mac`.
fn link_layer_options(opts: &[u8], kind: u8, mac: MacAddr) -> Result<(), DropReason> {
    for_each_option(opts, |k, body| match body.get(..6) {
        Some(lla) if k == kind && lla != mac.0 => Err(DropReason::NdSpoofed),
        _ => Ok(()),
    })
}

fn has_option(opts: &[u8], kind: u8) -> Result<bool, DropReason> {
    let mut found = false;
    for_each_option(opts, |k, _| {
        found |= k == kind;
        Ok(())
    })?;
    Ok(found)
}

#[cfg(test)]
mod tests;
