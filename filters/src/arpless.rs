//! ARPless: ARP anti-spoofing and the in-switch responder for VM ports.
//!
//! Disposition per IANA operation code (the sender is a VM on an ARPless port):
//!
//! | code | name | action |
//! |---|---|---|
//! | 1 | REQUEST | answer from the bindings if the target is reachable; never forwarded |
//! | 2 | REPLY | forward only if it matches the sender's own binding |
//! | 3 | request-Reverse (RARP) | answer the VM's own RARP from its binding |
//! | 4 | reply-Reverse | drop: VMs are not RARP servers |
//! | 5 | DRARP-Request | DRARP-Reply from the binding, DRARP-Error if none |
//! | 6, 7 | DRARP-Reply/-Error | drop: VMs are not DRARP servers |
//! | 8 | InARP-Request | answer with the target's bound IP |
//! | 9 | InARP-Reply | forward only if it matches the sender's own binding |
//! | 10 | ARP-NAK | drop: VMs are not ARP servers |
//! | other | | drop, `arp_unknown_opcode` |
//!
//! The seed text called 9 "ARP_NAK"; IANA assigns 9 to InARP-Reply and 10 to
//! ARP-NAK, and this module follows IANA.

use core::net::Ipv4Addr;

use crate::arp::{ArpError, ArpRepr, Operation, Packet};
use crate::mac::{MacAddr, ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_RARP, MIN_FRAME_LEN};
use crate::policy::{ArplessMode, EdgePortPolicy, FilterTables};
use crate::verdict::{DropReason, FilterVerdict, IngressClass};
use crate::vlan::{ParsedFrame, Vid};

/// Whether a frame with this EtherType goes through [`handle`] on an ARPless port.
#[inline]
pub fn is_arp_ethertype(ether_type: u16) -> bool {
    ether_type == ETHERTYPE_ARP || ether_type == ETHERTYPE_RARP
}

/// How the sender's (IP, MAC) claim relates to the port's bindings.
enum Sender {
    /// Matches a binding.
    Bound,
    /// Port has no binding at all and is in learn-once mode.
    Learn,
    /// ARP probe (RFC 5227, sender IP 0.0.0.0): claims nothing.
    Probe,
}

fn check_sender(
    port: &EdgePortPolicy,
    vid: Vid,
    spa: Ipv4Addr,
    sha: MacAddr,
    probe_ok: bool,
) -> Result<Sender, DropReason> {
    if probe_ok && spa.is_unspecified() {
        return Ok(Sender::Probe);
    }
    if port.has_binding(vid, spa, sha) {
        return Ok(Sender::Bound);
    }
    if port.bindings().is_empty() {
        return match port.arpless() {
            ArplessMode::LearnOnce if !spa.is_unspecified() => Ok(Sender::Learn),
            _ => Err(DropReason::ArpUnboundSender),
        };
    }
    Err(DropReason::ArpSpoofedSender)
}

/// The MAC the port should be told owns `ip`.
fn resolve_ip(
    port: &EdgePortPolicy,
    tables: &FilterTables,
    vid: Vid,
    ip: Ipv4Addr,
) -> Result<MacAddr, DropReason> {
    let candidates = tables.macs_for_ip(vid, ip);
    if candidates.is_empty() {
        return Err(DropReason::ArpUnknownTarget);
    }
    if candidates.iter().any(|m| port.owns_mac(*m)) {
        // Asking for an address of its own (e.g. an RFC 5227 probe):
        // answering would report a conflict that does not exist.
        return Err(DropReason::ArpGratuitous);
    }
    candidates
        .iter()
        .copied()
        .find(|m| port.may_reach(*m, &tables.global_ouis))
        .ok_or(DropReason::ArpTargetIsolated)
}

/// The IP the port should be told `mac` has (InARP).
fn resolve_mac(
    port: &EdgePortPolicy,
    tables: &FilterTables,
    vid: Vid,
    mac: MacAddr,
) -> Result<Ipv4Addr, DropReason> {
    if port.owns_mac(mac) {
        return Err(DropReason::ArpGratuitous);
    }
    let ip = tables
        .ip_for_mac(vid, mac)
        .ok_or(DropReason::ArpUnknownTarget)?;
    if !port.may_reach(mac, &tables.global_ouis) {
        return Err(DropReason::ArpTargetIsolated);
    }
    Ok(ip)
}

/// Writes an Ethernet frame carrying `repr` into `out`, with the same VLAN
/// stack as the request in `frame`, padded to 60 bytes. Returns its length.
fn write_reply(
    out: &mut [u8],
    frame: &[u8],
    parsed: &ParsedFrame,
    eth_dst: MacAddr,
    eth_src: MacAddr,
    repr: &ArpRepr,
) -> Result<usize, DropReason> {
    let tags = frame
        .get(12..parsed.payload_offset.saturating_sub(2))
        .ok_or(DropReason::ArpMalformed)?;
    let hdr = ETHERNET_HEADER_LEN + tags.len();
    let len = (hdr + ArpRepr::BUFFER_LEN).max(MIN_FRAME_LEN);
    let out = out.get_mut(..len).ok_or(DropReason::ReplyBufferTooSmall)?;
    out[0..6].copy_from_slice(&eth_dst.0);
    out[6..12].copy_from_slice(&eth_src.0);
    out[12..12 + tags.len()].copy_from_slice(tags);
    out[hdr - 2..hdr].copy_from_slice(&parsed.ether_type.to_be_bytes());
    repr.emit(&mut Packet::new_unchecked(
        &mut out[hdr..hdr + ArpRepr::BUFFER_LEN],
    ));
    out[hdr + ArpRepr::BUFFER_LEN..].fill(0);
    Ok(len)
}

/// Polices one ARP/RARP/InARP frame from an ARPless port and, where the
/// operation asks for it, writes the answer into `reply_buf`.
///
/// Order of checks (first failure wins): parse; unknown opcode; EtherType
/// family (0x8035 for 3..=7, 0x0806 otherwise); server-only opcodes from a
/// VM; sender hardware address; sender protocol address; target.
pub fn handle(
    frame: &[u8],
    parsed: &ParsedFrame,
    class: &IngressClass,
    port: &EdgePortPolicy,
    tables: &FilterTables,
    reply_buf: &mut [u8],
) -> FilterVerdict {
    match answer(frame, parsed, class, port, tables, reply_buf) {
        Ok(v) => v,
        Err(r) => FilterVerdict::Drop(r),
    }
}

fn answer(
    frame: &[u8],
    parsed: &ParsedFrame,
    class: &IngressClass,
    port: &EdgePortPolicy,
    tables: &FilterTables,
    reply_buf: &mut [u8],
) -> Result<FilterVerdict, DropReason> {
    let body = frame
        .get(parsed.payload_offset..)
        .ok_or(DropReason::ArpMalformed)?;
    let pkt = Packet::new_checked(body).map_err(|_| DropReason::ArpMalformed)?;
    let req = ArpRepr::parse(&pkt).map_err(|e| match e {
        ArpError::Truncated => DropReason::ArpMalformed,
        ArpError::Unsupported => DropReason::ArpUnsupported,
    })?;
    let op = req.operation;
    if let Operation::Unknown(_) = op {
        return Err(DropReason::ArpUnknownOpcode);
    }
    let want_et = if op.is_reverse_family() {
        ETHERTYPE_RARP
    } else {
        ETHERTYPE_ARP
    };
    if parsed.ether_type != want_et {
        return Err(DropReason::ArpWrongEthertype);
    }
    if matches!(
        op,
        Operation::ReplyReverse | Operation::DrarpReply | Operation::DrarpError | Operation::ArpNak
    ) {
        return Err(DropReason::ArpServerOpFromVm);
    }
    let sha = req.source_hardware_addr;
    let spa = req.source_protocol_addr;
    if !port.owns_mac(sha) {
        return Err(DropReason::ArpSpoofedSender);
    }
    let vid = class.vid;

    // A learning sender is installed whatever happens to its question.
    let finish = |sender: Sender, reply: Result<Option<usize>, DropReason>| match (sender, reply) {
        (Sender::Learn, r) => Ok(FilterVerdict::Learn {
            vid,
            ip: spa,
            mac: sha,
            reply_len: r.ok().flatten(),
        }),
        (_, Ok(Some(len))) => Ok(FilterVerdict::Reply { len }),
        (_, Ok(None)) => Ok(FilterVerdict::Pass(*class)),
        (_, Err(e)) => Err(e),
    };

    match op {
        Operation::Reply | Operation::InArpReply => {
            let s = check_sender(port, vid, spa, sha, false)?;
            finish(s, Ok(None))
        }
        Operation::Request => {
            let s = check_sender(port, vid, spa, sha, true)?;
            let tpa = req.target_protocol_addr;
            let reply = if tpa == spa {
                // Gratuitous announcement of its own (checked) address.
                Err(DropReason::ArpGratuitous)
            } else {
                resolve_ip(port, tables, vid, tpa).and_then(|target| {
                    let rep = ArpRepr {
                        operation: Operation::Reply,
                        source_hardware_addr: target,
                        source_protocol_addr: tpa,
                        target_hardware_addr: sha,
                        target_protocol_addr: spa,
                    };
                    write_reply(reply_buf, frame, parsed, parsed.src, target, &rep).map(Some)
                })
            };
            finish(s, reply)
        }
        Operation::InArpRequest => {
            let s = check_sender(port, vid, spa, sha, false)?;
            let tha = req.target_hardware_addr;
            let reply = resolve_mac(port, tables, vid, tha).and_then(|ip| {
                let rep = ArpRepr {
                    operation: Operation::InArpReply,
                    source_hardware_addr: tha,
                    source_protocol_addr: ip,
                    target_hardware_addr: sha,
                    target_protocol_addr: spa,
                };
                write_reply(reply_buf, frame, parsed, parsed.src, tha, &rep).map(Some)
            });
            finish(s, reply)
        }
        Operation::RequestReverse | Operation::DrarpRequest => {
            // RFC 903/1931: the client asks for the IP of the hardware
            // address in the target field; a VM may only ask for its own.
            let tha = req.target_hardware_addr;
            if !port.owns_mac(tha) {
                return Err(DropReason::ArpForeignTarget);
            }
            let bound = port.ip_of(vid, tha);
            let (operation, ip) = match (op, bound) {
                (Operation::RequestReverse, Some(ip)) => (Operation::ReplyReverse, ip),
                (Operation::RequestReverse, None) => return Err(DropReason::ArpNoBinding),
                (_, Some(ip)) => (Operation::DrarpReply, ip),
                // No address to give: DRARP-Error with no protocol address.
                (_, None) => (Operation::DrarpError, Ipv4Addr::UNSPECIFIED),
            };
            let rep = ArpRepr {
                operation,
                source_hardware_addr: tables.responder_mac,
                source_protocol_addr: tables.responder_ip,
                target_hardware_addr: tha,
                target_protocol_addr: ip,
            };
            let len = write_reply(
                reply_buf,
                frame,
                parsed,
                parsed.src,
                tables.responder_mac,
                &rep,
            )?;
            Ok(FilterVerdict::Reply { len })
        }
        // Handled above; kept explicit so a new code cannot slip through.
        Operation::ReplyReverse
        | Operation::DrarpReply
        | Operation::DrarpError
        | Operation::ArpNak => Err(DropReason::ArpServerOpFromVm),
        Operation::Unknown(_) => Err(DropReason::ArpUnknownOpcode),
    }
}
