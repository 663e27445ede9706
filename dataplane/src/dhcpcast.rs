//! DHCPCAST in the data path (docs/dhcp.md): a DHCP client's broadcast
//! from a cast port goes as unicast to its one designated server, and a
//! designated server's broadcast answer as unicast to the client it names
//! (`chaddr`), each through the ordinary unicast lookup — the local FDB,
//! or the link state's route to the MAC home at another switch. What the
//! lookup would flood is dropped and counted instead: a steered frame is
//! never flooded, which is the point.
//!
//! A pure function of the frame and the snapshot, called only for
//! broadcasts on a cast port or while some server is designated (the
//! caller tests that), and out of line so the flood path carries none of
//! it.

#![forbid(unsafe_code)]

use satellite_filters::dhcp_cast::{is_client_to_server, server_reply_client};
use satellite_protocol::sstp;

use crate::fdb::FdbKey;
use crate::frame::{route_home, DropReason, L2Header, Routed, Verdict};
use crate::snapshot::ForwardingSnapshot;
use crate::PortIndex;

/// The verdict for a broadcast IPv4 frame (`hdr`, in VLAN `vid`) that
/// came in on `in_port`, whose DHCP clients are steered to the server
/// `cast` (a MAC word, 0: not a cast port). `None` when DHCPCAST has
/// nothing to do with it: it is flooded as before. A
/// [`Verdict::Steered`] leaves the new destination MAC in `dst_out`'s
/// first six octets (the worker's reply buffer).
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn steer(
    frame: &[u8],
    hdr: &L2Header,
    in_port: PortIndex,
    snap: &ForwardingSnapshot,
    vid: u16,
    cast: u64,
    arrival_tag: Option<sstp::forward::Tag>,
    dst_out: &mut [u8],
) -> Option<Verdict> {
    let at = hdr.payload_offset as usize;
    let (dst, reply) = if cast != 0 && is_client_to_server(frame, at) {
        (cast, false)
    } else if snap.dhcp_cast_servers.binary_search(&hdr.src).is_ok() {
        (server_reply_client(frame, at)?.to_u64(), true)
    } else {
        return None;
    };
    let unknown = if reply {
        DropReason::DhcpcastClientUnknown
    } else {
        DropReason::DhcpcastServerUnknown
    };
    let mut steered = |port, tag: Option<sstp::forward::Tag>| {
        if let Some(out) = dst_out.get_mut(..6) {
            out.copy_from_slice(&satellite_protocol::wire::MacAddr::from_u64(dst).0);
        }
        Verdict::Steered {
            port,
            tag: tag.map_or(0, satellite_protocol::wire::unicast_tag_word),
            routed: tag.is_some(),
            reply,
        }
    };
    // The unicast path of `classify_prepared`, but where it would flood
    // (no entry; an entry on a port that is not forwarding and no MAC
    // home) the frame is dropped.
    Some(match snap.fdb.get(FdbKey::from_mac48(vid, dst)) {
        Some(e) if e.port == in_port => Verdict::Drop(DropReason::Hairpin),
        Some(e) if snap.port(e.port).is_some_and(|p| p.forwarding) => steered(e.port, None),
        Some(e) => match e.home() {
            Some(slot) => match route_home(frame, hdr, in_port, snap, slot, arrival_tag) {
                Ok(Routed::Switch(p, tag)) => steered(p, Some(tag)),
                Ok(Routed::Host(p)) => steered(p, None),
                Err(r) => Verdict::Drop(r),
            },
            None => Verdict::Drop(unknown),
        },
        None => Verdict::Drop(unknown),
    })
}

#[cfg(test)]
mod tests;
