//! Edge-port filters of Satellite: VLAN stacks, Interstellar tenant
//! isolation and ARPless (ARP anti-spoofing plus an in-switch responder).
//!
//! Everything here is a pure function of a frame's bytes, one port's
//! [`EdgePortPolicy`] and the shared, immutable [`FilterTables`]. The crate
//! guarantees that [`filter_ingress`] and [`filter_egress`] never panic on
//! any input, never allocate, and end every frame in a named verdict whose
//! drop reasons ([`DropReason::ALL`]) are stable metrics labels. It leaves
//! to others: mbufs and transmission (the data plane applies the returned
//! [`TagAction`] and sends replies), FDB lookups, learning (it only asks for
//! bindings through [`FilterVerdict::Learn`]) and building the tables
//! (the control thread). Fabric ports are not filtered here: frames on them
//! were policed where they entered the network.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use satellite_filters::*;
//!
//! let iid = InterstellarId::new(42).unwrap();
//! let me = InterstellarMac::compose(iid, VmIndex::new(1).unwrap());
//! let peer = InterstellarMac::compose(iid, VmIndex::new(2).unwrap());
//! let bind = |ip, mac| Ipv4Binding { vid: 10, ip, mac };
//! let tables = FilterTables::builder()
//!     .bindings([bind(Ipv4Addr::new(10, 0, 0, 1), me), bind(Ipv4Addr::new(10, 0, 0, 2), peer)])
//!     .build();
//! let port = EdgePortPolicy::builder(PortMode::Access { vid: 10 })
//!     .macs([me])
//!     .interstellar(InterstellarPolicy::new(iid, [], []))
//!     .arpless(ArplessMode::Enforce, [bind(Ipv4Addr::new(10, 0, 0, 1), me)])
//!     .build()
//!     .unwrap();
//!
//! // who-has 10.0.0.2 tell 10.0.0.1
//! let mut frame = Vec::new();
//! frame.extend_from_slice(&MacAddr::BROADCAST.0);
//! frame.extend_from_slice(&me.0);
//! frame.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
//! frame.extend_from_slice(&me.0);
//! frame.extend_from_slice(&[10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
//!
//! let mut reply = [0u8; REPLY_BUF_LEN];
//! let verdict = filter_ingress(&frame, &port, &tables, &mut reply);
//! assert_eq!(verdict, FilterVerdict::Reply { len: 60 });
//! assert_eq!(&reply[..6], &me.0); // back to the asker
//! assert_eq!(&reply[6..12], &peer.0); // from the owner of 10.0.0.2
//! ```
#![forbid(unsafe_code)]

pub mod arp;
pub mod arpless;
#[doc(hidden)]
pub mod bench_fixtures;
pub mod dhcp;
pub mod dhcp_cast;
pub mod dhcp_server;
pub mod drop_reason;
pub mod interstellar;
pub mod ipv6_guard;
pub mod mac;
pub mod policy;
pub mod source_guard;
pub mod verdict;
pub mod vlan;

#[cfg(test)]
mod guard_tests;
#[cfg(test)]
mod tests;

pub use dhcp_server::{DhcpConfigError, DhcpServerConfig, DhcpSettings, StaticRoute};
pub use interstellar::{
    InterstellarError, InterstellarId, InterstellarMac, InterstellarPolicy, Oui, VmIndex,
};
pub use mac::MacAddr;
pub use policy::{
    ArplessMode, EdgePortPolicy, EdgePortPolicyBuilder, FilterTables, FilterTablesBuilder,
    Ipv4Binding, Ipv6Binding, PolicyError,
};
pub use verdict::{DropReason, EgressFrame, EgressVerdict, FilterVerdict, IngressClass};
pub use vlan::{PortMode, TagAction, Vid, VidSet, VlanConfig, VlanTag};

/// A reply buffer large enough for any reply: 14-byte header, up to
/// [`vlan::MAX_TAGS`] tags, then the larger of 28 bytes of ARP and a
/// DHCP answer in IPv4/UDP (at most 576 octets, RFC 2131 §2).
pub const REPLY_BUF_LEN: usize = dhcp_server::max_reply_len(vlan::MAX_TAGS);
const _: () = assert!(
    REPLY_BUF_LEN
        >= mac::ETHERNET_HEADER_LEN + vlan::MAX_TAGS * vlan::TAG_LEN + arp::ArpRepr::BUFFER_LEN
);

/// Filters one frame received on an edge port.
///
/// Order: header and VLAN stack; port VLAN mode; source MAC (valid, and the
/// port's own when the port has MACs); DHCP on ports that answer it (UDP to
/// port 67 is consumed and may be answered into `reply_buf`,
/// [`dhcp_server`]); ARPless (ARP/RARP on ARPless ports:
/// may answer into `reply_buf`, at least [`REPLY_BUF_LEN`] bytes to fit
/// every reply; IPv4 and IPv6 sources and neighbour discovery held to the
/// bindings, [`source_guard`], [`ipv6_guard`]); Interstellar rule for
/// unicast destinations. Group
/// destinations pass here and are scoped per port by [`filter_egress`].
pub fn filter_ingress(
    frame: &[u8],
    port: &EdgePortPolicy,
    tables: &FilterTables,
    reply_buf: &mut [u8],
) -> FilterVerdict {
    let parsed = match vlan::parse(frame, &tables.vlan) {
        Ok(p) => p,
        Err(e) => return FilterVerdict::Drop(e.into()),
    };
    let iv = match vlan::classify_ingress(&parsed, port.mode(), &tables.vlan) {
        Ok(v) => v,
        Err(r) => return FilterVerdict::Drop(r),
    };
    if !parsed.src.is_valid_source() {
        return FilterVerdict::Drop(DropReason::InvalidSrcMac);
    }
    if !port.macs().is_empty() && !port.owns_mac(parsed.src) {
        return FilterVerdict::Drop(DropReason::SpoofedSrcMac);
    }
    let class = IngressClass {
        vid: iv.vid,
        outer_tagged: iv.outer_tagged,
        action: iv.action,
        dst: parsed.dst,
        src: parsed.src,
        ether_type: parsed.ether_type,
        payload_offset: parsed.payload_offset,
        sender_iid: port.interstellar().map(|p| p.iid()),
    };
    if parsed.ether_type == mac::ETHERTYPE_IPV4 {
        let at = parsed.payload_offset;
        if let Some(dhcp) = port.dhcp() {
            if dhcp_server::is_dhcp(frame, at) {
                return dhcp_server::handle(frame, at, iv.vid, port, dhcp, tables, reply_buf);
            }
        }
        if port.arpless() != ArplessMode::Off {
            if let Err(r) = source_guard::check_ipv4(frame, at, class.vid, parsed.src, port) {
                return FilterVerdict::Drop(r);
            }
        }
    } else if port.arpless() != ArplessMode::Off {
        if arpless::is_arp_ethertype(parsed.ether_type) {
            match arpless::handle(frame, &parsed, &class, port, tables, reply_buf) {
                FilterVerdict::Pass(_) => {}
                other => return other,
            }
        } else if parsed.ether_type == mac::ETHERTYPE_IPV6 {
            let at = parsed.payload_offset;
            if let Err(r) = ipv6_guard::check_ipv6(frame, at, class.vid, parsed.src, port) {
                return FilterVerdict::Drop(r);
            }
        }
    }
    if let Some(is) = port.interstellar() {
        if !parsed.dst.is_group() {
            if let Err(r) = is.check_unicast_dst(parsed.dst, &tables.global_ouis) {
                return FilterVerdict::Drop(r);
            }
        }
    }
    FilterVerdict::Pass(class)
}

/// Decides whether `frame` may leave through edge port `dst_port`, and how
/// to rewrite its tags. Fabric ports are not filtered.
///
/// Interstellar ports accept a frame iff the source MAC's IID is in their
/// IID set or its OUI is allowed for them. Plain ports accept everything
/// except broadcast/multicast sent from an Interstellar port, which
/// FILTERS.md scopes to edge ports of the sender's Interstellar.
///
/// It is the two halves below in order; the data path calls them apart so
/// that a unicast frame to a port without an Interstellar, which only the
/// VLAN half can stop, costs no more than the VLAN mapping.
pub fn filter_egress(
    frame: &EgressFrame,
    dst_port: &EdgePortPolicy,
    tables: &FilterTables,
) -> EgressVerdict {
    let action = match vlan::egress_action(frame.vid, frame.outer_tagged, dst_port.mode()) {
        Ok(a) => a,
        Err(r) => return EgressVerdict::Drop(r),
    };
    if egress_checks_addresses(dst_port, frame.dst.is_group()) {
        if let Err(r) = egress_address_check(frame, dst_port, tables) {
            return EgressVerdict::Drop(r);
        }
    }
    EgressVerdict::Transmit(action)
}

/// Whether [`filter_egress`] looks at a frame's addresses on `dst_port`:
/// an Interstellar port checks every source, any other edge port only
/// group frames (a VM's broadcast stays in its Interstellar). When this is
/// false the VLAN mapping ([`vlan::egress_action`]) is the whole filter.
#[inline]
pub fn egress_checks_addresses(dst_port: &EdgePortPolicy, dst_is_group: bool) -> bool {
    dst_port.interstellar().is_some() || dst_is_group
}

/// The address half of [`filter_egress`], for a frame whose VLAN may leave.
#[inline]
pub fn egress_address_check(
    frame: &EgressFrame,
    dst_port: &EdgePortPolicy,
    tables: &FilterTables,
) -> Result<(), DropReason> {
    let allowed = match dst_port.interstellar() {
        Some(p) => p.allows_src(frame.src, &tables.global_ouis),
        None => !(frame.dst.is_group() && frame.sender_iid.is_some()),
    };
    if allowed {
        Ok(())
    } else {
        Err(DropReason::InterstellarEgressMismatch)
    }
}
