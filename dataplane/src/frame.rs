//! Per-frame classification: the worker's decision for one frame, as a pure
//! function of the frame's bytes and the current snapshot, so it is unit
//! tested and benchmarked without DPDK.

#![forbid(unsafe_code)]

use crate::fdb::{FdbHome, FdbKey};
use crate::snapshot::{ForwardingSnapshot, PortView};
use crate::PortIndex;
use satellite_protocol::sstp;
use satellite_protocol::wire::{
    unicast_tag_from_word, unicast_tag_word, BRIDGE_GROUP_ADDRESS, ETHERNET_HEADER_LEN,
    UNICAST_TAG_ETHERTYPE,
};

/// EtherType of SSTP PDUs (moves to the SSTP codec when it lands).
const SSTP_ETHERTYPE: u16 = 0x88B5;

/// EtherTypes recognised as VLAN tags when walking a tag stack: the
/// filters' defaults, so a VLAN-only edge port can be mapped from the
/// header parsed here ([`ForwardingSnapshot::vlan_only`]).
pub use satellite_filters::vlan::DEFAULT_TPIDS;
/// Deepest tag stack the data path accepts (the filters' default depth).
pub const MAX_TAGS: usize = satellite_filters::vlan::DEFAULT_DEPTH;

/// Why a frame was dropped. Each is a counter and a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// Shorter than an Ethernet header, or shorter than its own 802.3
    /// length field says (IEEE 802.3 clause 3.2.6: such a frame is invalid).
    /// Unpadded frames are not runts: veth delivers ARP in 42 octets.
    Runt,
    /// Longer than the configured maximum frame size.
    Oversize,
    /// Source MAC is multicast, broadcast or all zero: no station sends
    /// that, so the frame is garbage (and must not be learned).
    InvalidSrcMac,
    /// A VLAN tag stack cut short by the end of the frame.
    VlanTruncated,
    /// More VLAN tags than the data path accepts.
    VlanTooDeep,
    /// IEEE 802.1D reserved link-local group address (01-80-C2-00-00-0x)
    /// that is not a protocol we speak: never forwarded.
    LinkLocal,
    /// The ingress port is not forwarding (spanning tree, or down).
    PortBlocked,
    /// The destination lives on the port the frame came in on.
    Hairpin,
    /// Flooding found no other forwarding port.
    NoEgress,
    /// The device's TX queue was full.
    TxFull,
    /// A BPDU arrived on an edge port with BPDU guard.
    BpduGuard,
    /// The queue to the control lcore was full.
    PuntQueueFull,
    /// The header spans more than the first mbuf segment.
    Fragmented,
    /// A VLAN tag could not be pushed or popped (no headroom, or the copy
    /// of a shared frame failed).
    TagRewrite,
    /// SSTP: the MAC home's switch is not reachable.
    SstpUnreachable,
    /// SSTP: the frame came in on one of this switch's own next hops
    /// toward its destination (a U-turn, `sstp::forward`).
    SstpUTurn,
    /// SSTP: every next hop and alternate toward the home is dead.
    SstpNoLivePort,
    /// SSTP: a tagged frame whose sender was not farther from its
    /// destination than this switch (their databases disagree for now).
    SstpNotDownhill,
    /// SSTP: a frame already repaired once met a dead next hop again.
    SstpRepairedTwice,
    /// An SSTP unicast tag where none belongs: from a host port, or a
    /// second one.
    StrayUnicastTag,
    /// SSTP: a frame that came in on a link the spanning tree blocks (it
    /// carries only unicast to MAC homes) and would have been flooded or
    /// sent by the tree.
    NotTree,
    /// A host port at its learn limit (`fdb.host_port_limit`) got a frame
    /// from a source it has not learned.
    SourceLimit,
    /// Storm control: the port's broadcast rate was spent.
    StormBroadcast,
    /// Storm control: the port's multicast rate was spent.
    StormMulticast,
    /// Storm control: the port's unknown-unicast rate was spent.
    StormUnknownUnicast,
    /// DHCPCAST: a client's broadcast to a server this switch has no
    /// entry (FDB or MAC home) for. Never flooded instead: that is what
    /// DHCPCAST exists to prevent; the client retransmits.
    DhcpcastServerUnknown,
    /// DHCPCAST: a designated server's broadcast answer for a client
    /// (`chaddr`) this switch has no entry for.
    DhcpcastClientUnknown,
}

impl DropReason {
    pub const ALL: [DropReason; 27] = [
        DropReason::Runt,
        DropReason::Oversize,
        DropReason::InvalidSrcMac,
        DropReason::VlanTruncated,
        DropReason::VlanTooDeep,
        DropReason::LinkLocal,
        DropReason::PortBlocked,
        DropReason::Hairpin,
        DropReason::NoEgress,
        DropReason::TxFull,
        DropReason::BpduGuard,
        DropReason::PuntQueueFull,
        DropReason::Fragmented,
        DropReason::TagRewrite,
        DropReason::SstpUnreachable,
        DropReason::SstpUTurn,
        DropReason::SstpNoLivePort,
        DropReason::SstpNotDownhill,
        DropReason::SstpRepairedTwice,
        DropReason::StrayUnicastTag,
        DropReason::NotTree,
        DropReason::SourceLimit,
        DropReason::StormBroadcast,
        DropReason::StormMulticast,
        DropReason::StormUnknownUnicast,
        DropReason::DhcpcastServerUnknown,
        DropReason::DhcpcastClientUnknown,
    ];
    pub const COUNT: usize = Self::ALL.len();

    /// Stable label for metrics and `satctl`.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Runt => "runt",
            DropReason::Oversize => "oversize",
            DropReason::InvalidSrcMac => "invalid_src_mac",
            DropReason::VlanTruncated => "vlan_truncated",
            DropReason::VlanTooDeep => "vlan_too_deep",
            DropReason::LinkLocal => "link_local",
            DropReason::PortBlocked => "port_blocked",
            DropReason::Hairpin => "hairpin",
            DropReason::NoEgress => "no_egress",
            DropReason::TxFull => "tx_full",
            DropReason::BpduGuard => "bpdu_guard",
            DropReason::PuntQueueFull => "punt_queue_full",
            DropReason::Fragmented => "fragmented_header",
            DropReason::TagRewrite => "tag_rewrite_failed",
            DropReason::SstpUnreachable => "sstp_unreachable",
            DropReason::SstpUTurn => "sstp_u_turn",
            DropReason::SstpNoLivePort => "sstp_no_live_port",
            DropReason::SstpNotDownhill => "sstp_not_downhill",
            DropReason::SstpRepairedTwice => "sstp_repaired_twice",
            DropReason::StrayUnicastTag => "stray_unicast_tag",
            DropReason::NotTree => "not_tree",
            DropReason::SourceLimit => "source_limit",
            DropReason::StormBroadcast => "storm_broadcast",
            DropReason::StormMulticast => "storm_multicast",
            DropReason::StormUnknownUnicast => "storm_unknown_unicast",
            DropReason::DhcpcastServerUnknown => "dhcpcast_server_unknown",
            DropReason::DhcpcastClientUnknown => "dhcpcast_client_unknown",
        }
    }
}

/// Control frames the worker hands to the control lcore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PuntKind {
    /// 802.1D/802.1w BPDU (LLC 42-42-03 to the Bridge Group Address).
    Bpdu,
    /// Satellite link-state PDU.
    Sstp,
}

/// The worker's decision for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Forward(PortIndex),
    /// SSTP unicast to another Satellite switch: out of `port` with the
    /// unicast tag in front (`tag`: its word, [`unicast_tag_word`]; a
    /// plain word keeps the verdict a plain copy).
    Routed {
        port: PortIndex,
        tag: u32,
    },
    Flood,
    /// DHCPCAST (docs/dhcp.md): a broadcast DHCP frame made unicast. The
    /// worker writes the reply buffer's first six octets (the server's or
    /// the client's MAC) as its destination, then sends it out of `port`
    /// as [`Verdict::Forward`] would, or, when `routed`, as
    /// [`Verdict::Routed`] with `tag`. `reply`: a server's answer to its
    /// client, else a client's message to its server (the counters tell
    /// them apart). The MAC travels in the buffer, not here: six more
    /// octets in the verdict cost every frame some three instructions in
    /// copies (callgrind, `classify_loop`).
    Steered {
        port: PortIndex,
        tag: u32,
        routed: bool,
        reply: bool,
    },
    Punt(PuntKind),
    Drop(DropReason),
    /// An edge-port filter dropped the frame.
    FilterDrop(FilterDropReason),
    /// ARPless answered: send the reply buffer's first `len` bytes back
    /// out of the ingress port; the frame itself is consumed.
    Reply {
        len: u16,
    },
    /// ARPless learn-once: the control lcore should bind `ip` to `mac` on
    /// the ingress port; an answer may be in the reply buffer.
    LearnBinding {
        vid: u16,
        ip: std::net::Ipv4Addr,
        mac: [u8; 6],
        reply_len: Option<u16>,
    },
}

/// A reply length as [`Verdict`] keeps it: at most the reply buffer
/// (which is all the filter can have written), in 16 bits.
#[inline]
fn reply_len(len: usize) -> u16 {
    len.min(satellite_filters::REPLY_BUF_LEN) as u16
}
const _: () = assert!(satellite_filters::REPLY_BUF_LEN <= u16::MAX as usize);

use satellite_filters::vlan::{self, predicted_vid};
pub use satellite_filters::DropReason as FilterDropReason;
use satellite_filters::{
    filter_ingress, EdgePortPolicy, FilterTables, FilterVerdict, InterstellarId, TagAction,
};

/// What the worker needs after the decision: the frame's VLAN inside the
/// switch, the rewrite ingress asks for, and what egress filters check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameFacts {
    pub vid: u16,
    /// Whether, after `ingress_action`, the outermost tag carries `vid`.
    pub outer_tagged: bool,
    pub ingress_action: TagAction,
    /// IID of the Interstellar port the frame entered on, if it did.
    pub sender_iid: Option<InterstellarId>,
}

/// The full outcome of [`classify_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub learn: Option<LearnHint>,
    pub facts: FrameFacts,
}

const NO_FACTS: FrameFacts = FrameFacts {
    vid: 0,
    outer_tagged: false,
    ingress_action: TagAction::None,
    sender_iid: None,
};

impl Decision {
    /// A verdict reached before the frame's VLAN and addresses matter.
    #[inline]
    fn early(verdict: Verdict) -> Decision {
        Decision {
            verdict,
            learn: None,
            facts: NO_FACTS,
        }
    }
}

/// What the worker should tell the control lcore about the frame's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnHint {
    /// Source unknown, or known on another port.
    Learn(FdbKey),
    /// Known here, but the entry's age stamp is old: keep it alive.
    Refresh(FdbKey),
}

/// The parts of an Ethernet header the switch decides on: 24 bytes, the
/// MACs as words and the rest packed into one more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2Header {
    /// Destination MAC as a word ([`MacAddr::to_u64`](satellite_protocol::wire::MacAddr::to_u64)): one register
    /// instead of six bytes, which the compiler otherwise shuffles one at a
    /// time through the hot loop.
    pub dst: u64,
    /// Source MAC, laid out like `dst`.
    pub src: u64,
    /// VID of the outermost tag, 0 when untagged.
    pub outer_vid: u16,
    /// PCP of the outermost tag, 0 when untagged (a tunnel port's S-tag
    /// inherits it).
    pub outer_pcp: u8,
    pub tags: u8,
    /// EtherType (or 802.3 length) after the tag stack.
    pub ethertype: u16,
    /// Offset of the first octet after the EtherType/length field (at most
    /// 14 + 4 × [`MAX_TAGS`]).
    pub payload_offset: u8,
    /// More than [`MAX_TAGS`] tags: the walk stopped at the limit. Plain
    /// ports drop such frames; filtered ports leave it to their own
    /// (configurable) VLAN parser.
    pub too_deep: bool,
}

#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Parses the Ethernet header and walks up to [`MAX_TAGS`] VLAN tags.
#[inline]
pub fn parse_l2(frame: &[u8]) -> Result<L2Header, DropReason> {
    if frame.len() < ETHERNET_HEADER_LEN {
        return Err(DropReason::Runt);
    }
    let mut w = [0u8; 8];
    w.copy_from_slice(&frame[0..8]);
    let dst = u64::from_be_bytes(w) >> 16;
    w.copy_from_slice(&frame[6..14]);
    let src = u64::from_be_bytes(w) >> 16;
    let mut at = 12;
    let mut ethertype = be16(frame, at).ok_or(DropReason::Runt)?;
    if ethertype == UNICAST_TAG_ETHERTYPE {
        // The worker takes a neighbour's tag off before parsing.
        return Err(DropReason::StrayUnicastTag);
    }
    let mut tags = 0u8;
    let mut outer_vid = 0u16;
    let mut outer_pcp = 0u8;
    let mut too_deep = false;
    while DEFAULT_TPIDS.contains(&ethertype) {
        if tags as usize == MAX_TAGS {
            too_deep = true;
            break;
        }
        let tci = be16(frame, at + 2).ok_or(DropReason::VlanTruncated)?;
        if tags == 0 {
            outer_vid = tci & 0x0FFF;
            outer_pcp = (tci >> 13) as u8;
        }
        tags += 1;
        at += 4;
        ethertype = be16(frame, at).ok_or(DropReason::VlanTruncated)?;
    }
    Ok(L2Header {
        dst,
        src,
        outer_vid,
        outer_pcp,
        tags,
        ethertype,
        payload_offset: (at + 2) as u8,
        too_deep,
    })
}

/// The I/G bit: group (multicast or broadcast) address.
#[inline]
pub fn is_multicast(mac: u64) -> bool {
    mac & (1 << 40) != 0
}

/// 01-80-C2-00-00-00 .. 0F, the 802.1D reserved link-local group.
#[inline]
fn is_link_local(mac: u64) -> bool {
    mac & !0xF == BRIDGE_GROUP_ADDRESS.to_u64()
}

/// Decides what to do with one received frame (the plain switching part of
/// [`classify_frame`], for callers that do not filter).
#[inline]
pub fn classify(
    frame: &[u8],
    pkt_len: u32,
    in_port: PortIndex,
    snap: &ForwardingSnapshot,
    now_secs: u32,
) -> (Verdict, Option<LearnHint>) {
    // The reply buffer holds a DHCP answer (over 600 octets): one per
    // thread rather than a zeroed stack array per frame. (The worker keeps
    // its own in `Worker`.)
    thread_local! {
        static REPLY: core::cell::RefCell<[u8; satellite_filters::REPLY_BUF_LEN]> =
            const { core::cell::RefCell::new([0u8; satellite_filters::REPLY_BUF_LEN]) };
    }
    REPLY.with_borrow_mut(|reply| {
        let d = classify_frame(frame, pkt_len, in_port, snap, now_secs, reply);
        (d.verdict, d.learn)
    })
}

/// The port a burst came in on, with what classification reads about it,
/// looked up once per burst rather than once per frame.
#[derive(Clone, Copy)]
pub struct Ingress<'a> {
    pub port: PortIndex,
    /// `None` when the snapshot does not know the port.
    pub view: Option<&'a PortView>,
    /// The port's edge filter policy and the shared tables, if it has one.
    pub policy: Option<(&'a EdgePortPolicy, &'a FilterTables)>,
    /// The policy is only a VLAN mode and the filters parse VLANs as
    /// [`parse_l2`] does ([`ForwardingSnapshot::vlan_only`]): the data path
    /// maps the frame itself from the header it parsed.
    pub vlan_only: bool,
}

impl<'a> Ingress<'a> {
    #[inline]
    pub fn new(snap: &'a ForwardingSnapshot, port: PortIndex) -> Ingress<'a> {
        Ingress {
            port,
            view: snap.port(port),
            policy: snap.policy(port),
            vlan_only: snap.vlan_only.get(port as usize).copied().unwrap_or(false),
        }
    }
}

/// The first look at a frame, taken for a whole burst before any frame of
/// it is classified: the parsed header and the FDB home buckets of source
/// and destination, which [`prepare`] has asked the CPU to load. By the
/// time the burst's frames are classified the misses have overlapped
/// instead of stalling one after another.
#[derive(Debug, Clone, Copy)]
pub struct Prepared<'a> {
    hdr: Result<L2Header, DropReason>,
    /// The VLAN the buckets were found for (the ingress policy's usual
    /// answer; [`classify_prepared`] looks up afresh when the filters
    /// decide otherwise).
    vid: u16,
    src_home: FdbHome<'a>,
    dst_home: FdbHome<'a>,
    /// The SSTP unicast tag the worker took off the frame
    /// ([`unicast_tag_word`]), if `tagged`. (Two fields, not an
    /// `Option<Tag>`: they fit the padding beside `vid`.)
    arrival_word: u32,
    tagged: bool,
}

impl Prepared<'_> {
    /// Source and destination MACs ([`MacAddr::to_u64`](satellite_protocol::wire::MacAddr::to_u64) words) of a frame whose
    /// header parsed; what egress filters check.
    #[inline]
    pub fn macs(&self) -> (u64, u64) {
        match &self.hdr {
            Ok(h) => (h.src, h.dst),
            Err(_) => (0, 0),
        }
    }

    /// Whether the parser stopped at an SSTP unicast tag (which the worker
    /// takes off a fabric port's frames, and which is a stray anywhere
    /// else).
    #[inline(always)]
    pub fn has_unicast_tag(&self) -> bool {
        matches!(self.hdr, Err(DropReason::StrayUnicastTag))
    }

    /// Records the unicast tag the worker took off the frame.
    #[inline(always)]
    pub fn set_arrival_tag(&mut self, tag: sstp::forward::Tag) {
        self.arrival_word = unicast_tag_word(tag);
        self.tagged = true;
    }

    /// The unicast tag the frame came with from a neighbour, if any.
    #[inline(always)]
    pub fn arrival_tag(&self) -> Option<sstp::forward::Tag> {
        self.tagged
            .then(|| unicast_tag_from_word(self.arrival_word))
    }

    /// A placeholder for arrays of not-yet-prepared frames.
    pub const EMPTY: Prepared<'static> = Prepared {
        hdr: Err(DropReason::Runt),
        vid: 0,
        src_home: FdbHome::NONE,
        dst_home: FdbHome::NONE,
        arrival_word: 0,
        tagged: false,
    };
}

/// Parses `frame`'s header and prefetches the FDB buckets its source and
/// (unicast) destination will be looked up in. Always inlined: the
/// worker's burst loop is what it is for (out of line it cost the loop
/// some 17 instructions a frame in calls and spills).
#[inline(always)]
pub fn prepare<'s>(
    frame: &[u8],
    ingress: &Ingress<'_>,
    snap: &'s ForwardingSnapshot,
) -> Prepared<'s> {
    let hdr = parse_l2(frame);
    let Ok(h) = &hdr else {
        return Prepared {
            hdr,
            ..Prepared::EMPTY
        };
    };
    let vid = match ingress.policy {
        Some((p, _)) => predicted_vid(p.mode(), h.outer_vid),
        None => h.outer_vid,
    };
    let src_home = snap.fdb.home_of(FdbKey::from_mac48(vid, h.src));
    src_home.prefetch();
    let dst_home = if is_multicast(h.dst) {
        FdbHome::NONE
    } else {
        let d = snap.fdb.home_of(FdbKey::from_mac48(vid, h.dst));
        d.prefetch();
        d
    };
    Prepared {
        hdr,
        vid,
        src_home,
        dst_home,
        arrival_word: 0,
        tagged: false,
    }
}

/// Decides what to do with one received frame.
///
/// `pkt_len` is the whole packet's length (all segments); `frame` is the
/// first segment. `now_secs` is the coarse clock the FDB stamps entries
/// with. On an edge port with a filter policy the filters run first and
/// may write an ARPless answer into `reply_buf`.
#[inline]
pub fn classify_frame(
    frame: &[u8],
    pkt_len: u32,
    in_port: PortIndex,
    snap: &ForwardingSnapshot,
    now_secs: u32,
    reply_buf: &mut [u8; satellite_filters::REPLY_BUF_LEN],
) -> Decision {
    let ingress = Ingress::new(snap, in_port);
    let prep = prepare(frame, &ingress, snap);
    classify_prepared(frame, pkt_len, &ingress, snap, now_secs, reply_buf, &prep)
}

/// [`classify_frame`] for a frame [`prepare`] has already looked at.
#[inline]
pub fn classify_prepared(
    frame: &[u8],
    pkt_len: u32,
    ingress: &Ingress<'_>,
    snap: &ForwardingSnapshot,
    now_secs: u32,
    reply_buf: &mut [u8; satellite_filters::REPLY_BUF_LEN],
    prep: &Prepared,
) -> Decision {
    if pkt_len > snap.max_frame_len {
        return Decision::early(Verdict::Drop(DropReason::Oversize));
    }
    let hdr = match &prep.hdr {
        Ok(h) => h,
        Err(DropReason::Runt) if pkt_len as usize >= ETHERNET_HEADER_LEN => {
            return Decision::early(Verdict::Drop(DropReason::Fragmented))
        }
        Err(r) => return Decision::early(Verdict::Drop(*r)),
    };
    // An 802.3 length field (values up to 1500) that promises more than the
    // frame holds marks a truncated frame.
    if hdr.ethertype <= 1500
        && hdr.payload_offset as usize + hdr.ethertype as usize > pkt_len as usize
    {
        return Decision::early(Verdict::Drop(DropReason::Runt));
    }
    if is_multicast(hdr.src) || hdr.src == 0 {
        return Decision::early(Verdict::Drop(DropReason::InvalidSrcMac));
    }
    // Reserved link-local group: 01-80-C2-00-00-00 .. 0F. Never forwarded.
    if is_link_local(hdr.dst) {
        let port = ingress.view;
        return Decision::early(match hdr.dst & 0xF {
            // On a guarded port the first BPDU goes up so the control
            // lcore can disable the port; once it is down, the rest are
            // dropped here.
            0x00 if hdr.tags == 0 => {
                if port.is_some_and(|p| p.bpdu_guard && !p.learning && !p.forwarding) {
                    Verdict::Drop(DropReason::BpduGuard)
                } else {
                    Verdict::Punt(PuntKind::Bpdu)
                }
            }
            0x0E if hdr.ethertype == SSTP_ETHERTYPE => Verdict::Punt(PuntKind::Sstp),
            _ => Verdict::Drop(DropReason::LinkLocal),
        });
    }
    let in_port = ingress.port;
    let Some(port) = ingress.view else {
        return Decision::early(Verdict::Drop(DropReason::PortBlocked));
    };
    if hdr.too_deep && ingress.policy.is_none() {
        return Decision::early(Verdict::Drop(DropReason::VlanTooDeep));
    }
    let mut facts = FrameFacts {
        vid: hdr.outer_vid,
        outer_tagged: hdr.tags > 0,
        ingress_action: TagAction::None,
        sender_iid: None,
    };
    if let Some((policy, tables)) = ingress.policy {
        if !port.forwarding {
            return Decision::early(Verdict::Drop(DropReason::PortBlocked));
        }
        if ingress.vlan_only {
            // What `filter_ingress` does for such a port, without building
            // and reading back its parsed header (store-forwarding stalls
            // made that half its cost, bench/README.md). The checks it would
            // make first are made above: runts, group or zero sources.
            if hdr.too_deep {
                return Decision::early(Verdict::FilterDrop(FilterDropReason::VlanTooDeep));
            }
            match vlan::classify_outer(
                hdr.outer_vid,
                hdr.outer_pcp,
                hdr.tags as usize,
                policy.mode(),
                tables.vlan(),
            ) {
                Ok(iv) => {
                    facts.vid = iv.vid;
                    facts.outer_tagged = iv.outer_tagged;
                    facts.ingress_action = iv.action;
                }
                Err(r) => return Decision::early(Verdict::FilterDrop(r)),
            }
        } else {
            match filter_ingress(frame, policy, tables, reply_buf) {
                FilterVerdict::Pass(c) => {
                    facts.vid = c.vid;
                    facts.outer_tagged = c.outer_tagged;
                    facts.ingress_action = c.action;
                    facts.sender_iid = c.sender_iid;
                }
                FilterVerdict::Reply { len } => {
                    return Decision::early(Verdict::Reply {
                        len: reply_len(len),
                    })
                }
                FilterVerdict::Learn {
                    vid,
                    ip,
                    mac,
                    reply_len,
                } => {
                    return Decision::early(Verdict::LearnBinding {
                        vid,
                        ip,
                        mac: mac.0,
                        reply_len: reply_len.map(self::reply_len),
                    })
                }
                FilterVerdict::Drop(r) => return Decision::early(Verdict::FilterDrop(r)),
            }
        }
    }
    let src_key = FdbKey::from_mac48(facts.vid, hdr.src);
    let relocate = facts.vid != prep.vid;
    let learn = if port.learning {
        let found = if relocate {
            snap.fdb.get(src_key)
        } else {
            snap.fdb.get_from(prep.src_home, src_key)
        };
        match found {
            Some(e) if e.port == in_port => (now_secs.wrapping_sub(e.stamp)
                > snap.refresh_after_secs)
                .then_some(LearnHint::Refresh(src_key)),
            // A host of another switch, heard from the fabric: the link
            // state already says where it lives. (Heard on a host port, it
            // has moved here, and is learned.)
            Some(e) if e.home().is_some() && !port.host => None,
            _ if port.source_limit_reached => {
                return Decision::early(Verdict::Drop(DropReason::SourceLimit))
            }
            _ => Some(LearnHint::Learn(src_key)),
        }
    } else {
        None
    };
    if !port.forwarding {
        // A port the spanning tree blocks still takes SSTP unicast while
        // the link state says it is alive; nothing else comes in there.
        return Decision {
            verdict: routed(off_tree(frame, hdr, in_port, snap, prep, facts.vid)),
            learn,
            facts,
        };
    }
    if is_multicast(hdr.dst) {
        // DHCPCAST: only IPv4 broadcasts pay, and only a look at the
        // port's policy (in cache: the filter just read it) and at the
        // designated servers' count. `Ingress` stays as it was: some
        // callers build it per frame. (One return for both verdicts: a
        // return of its own for the steered one cost every frame some
        // twelve instructions, callgrind `classify_loop`.)
        let verdict = if hdr.dst == BROADCAST && hdr.ethertype == ETHERTYPE_IPV4 && !hdr.too_deep {
            let cast = ingress.policy.and_then(|(p, _)| p.dhcp_cast());
            if cast.is_some() || !snap.dhcp_cast_servers.is_empty() {
                crate::dhcpcast::steer(
                    frame,
                    hdr,
                    in_port,
                    snap,
                    facts.vid,
                    cast.map_or(0, |m| m.to_u64()),
                    prep.arrival_tag(),
                    reply_buf,
                )
                .unwrap_or(Verdict::Flood)
            } else {
                Verdict::Flood
            }
        } else {
            Verdict::Flood
        };
        return Decision {
            verdict,
            learn,
            facts,
        };
    }
    let dst_key = FdbKey::from_mac48(facts.vid, hdr.dst);
    let found = if relocate {
        snap.fdb.get(dst_key)
    } else {
        snap.fdb.get_from(prep.dst_home, dst_key)
    };
    // The order of SSTP.md: a MAC home at another switch by the link
    // state; a tree-learned entry by its port if forwarding; else flood on
    // the tree. (A home at this switch is a learned entry on a host port.)
    // A MAC home's port is past every real port (`fdb::HOME_BASE`), so the
    // first two arms never take one, and tree traffic pays nothing for
    // SSTP until its lookup misses.
    let verdict = match found {
        Some(e) if e.port == in_port => Verdict::Drop(DropReason::Hairpin),
        Some(e) if snap.port(e.port).is_some_and(|p| p.forwarding) => Verdict::Forward(e.port),
        Some(e) => match e.home() {
            Some(slot) => routed(route_home(
                frame,
                hdr,
                in_port,
                snap,
                slot,
                prep.arrival_tag(),
            )),
            None => Verdict::Flood,
        },
        None => Verdict::Flood,
    };
    Decision {
        verdict,
        learn,
        facts,
    }
}

/// The broadcast MAC as a word.
const BROADCAST: u64 = 0xFFFF_FFFF_FFFF;
const ETHERTYPE_IPV4: u16 = 0x0800;

/// Where the link state sends a frame: to another Satellite switch, with
/// the tag to put on it, or out of a host port of this switch.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Routed {
    Switch(PortIndex, sstp::forward::Tag),
    Host(PortIndex),
}

/// The verdict for what the link state decided. (The SSTP paths return
/// this small `Result`, not a 16-byte `Verdict`: merging a returned
/// `Verdict` with the inline ones kept it in memory for every frame.)
#[inline(always)]
fn routed(r: Result<Routed, DropReason>) -> Verdict {
    match r {
        Ok(Routed::Switch(port, tag)) => Verdict::Routed {
            port,
            tag: unicast_tag_word(tag),
        },
        Ok(Routed::Host(p)) => Verdict::Forward(p),
        Err(d) => Verdict::Drop(d),
    }
}

/// A frame that came in on a port the spanning tree blocks: only SSTP
/// unicast, on a live link, to a MAC home elsewhere (routed on) or to a
/// host of this switch (delivered). Nothing is flooded from here: that
/// would be a loop the tree exists to prevent. Out of line so tree
/// traffic does not carry its registers.
#[cold]
#[inline(never)]
fn off_tree(
    frame: &[u8],
    hdr: &L2Header,
    in_port: PortIndex,
    snap: &ForwardingSnapshot,
    prep: &Prepared,
    vid: u16,
) -> Result<Routed, DropReason> {
    if !sstp::forward::is_live(snap.live_ports(), in_port) {
        return Err(DropReason::PortBlocked);
    }
    if is_multicast(hdr.dst) {
        return Err(DropReason::NotTree);
    }
    let dst_key = FdbKey::from_mac48(vid, hdr.dst);
    let found = if vid != prep.vid {
        snap.fdb.get(dst_key)
    } else {
        snap.fdb.get_from(prep.dst_home, dst_key)
    };
    match found {
        Some(e) => match e.home() {
            Some(slot) => route_home(frame, hdr, in_port, snap, slot, prep.arrival_tag()),
            None if e.port == in_port => Err(DropReason::Hairpin),
            // SSTP unicast that reached the switch its destination lives
            // at; a destination the tree learned elsewhere is not ours.
            None if snap.port(e.port).is_some_and(|p| p.host && p.forwarding) => {
                Ok(Routed::Host(e.port))
            }
            None => Err(DropReason::NotTree),
        },
        None => Err(DropReason::NotTree),
    }
}

/// Where a frame for a host at another Satellite switch (link-state `slot`)
/// goes: the shared next-hop rule over the snapshot's route, the flow hash
/// computed only when there is more than one equal-cost port to choose.
/// Out of line and given scalars, not `&Ingress`: a reference passed to a
/// call keeps the whole `Ingress` in memory for every frame (callgrind:
/// +35 instructions/packet of spills and reloads in `classify_loop`).
#[cold]
#[inline(never)]
pub(crate) fn route_home(
    frame: &[u8],
    hdr: &L2Header,
    in_port: PortIndex,
    snap: &ForwardingSnapshot,
    slot: u32,
    arrival_tag: Option<sstp::forward::Tag>,
) -> Result<Routed, DropReason> {
    use sstp::forward::{next_hop, Arrival, ForwardDrop, NextHop, Tag};
    let Some(route) = snap.routes.get(slot as usize) else {
        return Err(DropReason::SstpUnreachable);
    };
    let hash = if route.ecmp().len() > 1 {
        crate::flow::flow_hash(frame, hdr)
    } else {
        0
    };
    let from = match arrival_tag {
        Some(t) => Arrival::Tagged(in_port, t),
        None => Arrival::Untagged(in_port),
    };
    let repaired = arrival_tag.is_some_and(Tag::was_repaired);
    match next_hop(route, hash, from, snap.live_ports()) {
        NextHop::Port(p) => Ok(Routed::Switch(p, Tag::sent(route, false, repaired))),
        NextHop::Repair(p) => Ok(Routed::Switch(p, Tag::sent(route, true, true))),
        NextHop::Local | NextHop::Drop(ForwardDrop::Unreachable) => {
            Err(DropReason::SstpUnreachable)
        }
        NextHop::Drop(ForwardDrop::UTurn) => Err(DropReason::SstpUTurn),
        NextHop::Drop(ForwardDrop::NotDownhill) => Err(DropReason::SstpNotDownhill),
        NextHop::Drop(ForwardDrop::NoLivePort) => Err(DropReason::SstpNoLivePort),
        NextHop::Drop(ForwardDrop::RepairedTwice) => Err(DropReason::SstpRepairedTwice),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fdb::Fdb;
    use crate::snapshot::{PortView, SnapshotBuilder};

    const A: [u8; 6] = [0x02, 0, 0, 0, 0, 0xA];
    const B: [u8; 6] = [0x02, 0, 0, 0, 0, 0xB];

    fn frame(dst: [u8; 6], src: [u8; 6], tags: &[u16], ethertype: u16) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&dst);
        f.extend_from_slice(&src);
        for (i, vid) in tags.iter().enumerate() {
            let tpid: u16 = if i + 1 == tags.len() { 0x8100 } else { 0x88A8 };
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&vid.to_be_bytes());
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.resize(f.len().max(60), 0);
        f
    }

    fn snap(fdb: &Fdb, ports: usize) -> ForwardingSnapshot {
        SnapshotBuilder::new(ports).build(1, fdb.view())
    }

    /// On a snapshot without policies (`ForwardingSnapshot::plain`) the
    /// worker sends every frame out unchanged without asking
    /// `egress_decision`: whatever frame arrives, the decision says so.
    #[test]
    fn plain_ports_pass_frames_unchanged() {
        let mut fdb = Fdb::new(1024, 1024, 300);
        fdb.learn(FdbKey::new(0, B), 1, 0);
        fdb.learn(FdbKey::new(10, B), 1, 0);
        let s = snap(&fdb, 3);
        assert!(s.plain);
        let frames = [
            frame(B, A, &[], 0x0800),
            frame(B, A, &[0], 0x0800),
            frame(B, A, &[10], 0x0800),
            frame(B, A, &[10, 20, 30], 0x0800),
            frame([0xFF; 6], A, &[5], 0x0806),
            frame([0x01, 0, 0x5E, 0, 0, 1], A, &[], 0x0800),
        ];
        let mut seen = 0;
        for f in &frames {
            let mut reply = [0u8; satellite_filters::REPLY_BUF_LEN];
            let d = classify_frame(f, f.len() as u32, 0, &s, 0, &mut reply);
            assert!(
                matches!(d.verdict, Verdict::Forward(_) | Verdict::Flood),
                "{d:?}"
            );
            assert_eq!(d.facts.ingress_action, TagAction::None);
            for p in 0..3 {
                let e = crate::egress::egress_decision(&s, p, &d.facts, (A48, B48));
                assert_eq!(e, Ok(TagAction::None), "{f:02x?} to port {p}");
                seen += 1;
            }
        }
        assert_eq!(seen, 18);
        // A policy on any port turns the plain path off.
        let mut b = SnapshotBuilder::new(2);
        b.policies = vec![
            None,
            Some(std::sync::Arc::new(
                satellite_filters::EdgePortPolicy::builder(satellite_filters::PortMode::Access {
                    vid: 10,
                })
                .build()
                .unwrap(),
            )),
        ];
        b.filters = Some(std::sync::Arc::new(
            satellite_filters::FilterTables::default(),
        ));
        assert!(!b.build(1, fdb.view()).plain);
    }

    const A48: u64 = 0x0200_0000_000A;
    const B48: u64 = 0x0200_0000_000B;

    /// What the worker writes and reads back per frame stays small.
    #[test]
    fn per_frame_records_are_small() {
        assert_eq!(std::mem::size_of::<L2Header>(), 24);
        assert_eq!(std::mem::size_of::<Result<L2Header, DropReason>>(), 24);
        assert!(std::mem::size_of::<Prepared>() <= 48);
        assert!(std::mem::size_of::<Decision>() <= 56);
    }

    #[test]
    fn unknown_unicast_floods_and_learns() {
        let fdb = Fdb::new(1024, 1024, 300);
        let s = snap(&fdb, 3);
        let f = frame(B, A, &[], 0x0800);
        let (v, l) = classify(&f, f.len() as u32, 0, &s, 0);
        assert_eq!(v, Verdict::Flood);
        assert_eq!(l, Some(LearnHint::Learn(FdbKey::new(0, A))));
    }

    #[test]
    fn a_host_port_at_its_source_limit_drops_new_sources_and_passes_known_ones() {
        let mut fdb = Fdb::new(1024, 1024, 300);
        fdb.learn(FdbKey::new(0, A), 0, 0);
        let mut b = SnapshotBuilder::new(3);
        b.ports[0].host = true;
        b.ports[0].source_limit_reached = true;
        let s = b.build(1, fdb.view());
        // A is learned on port 0: its frames go on as before.
        let f = frame(B, A, &[], 0x0800);
        assert_eq!(classify(&f, f.len() as u32, 0, &s, 0).0, Verdict::Flood);
        // C is not: port security drops it, and nothing is learned.
        let c = [2, 0, 0, 0, 0, 0x0c];
        let f = frame(B, c, &[], 0x0800);
        assert_eq!(
            classify(&f, f.len() as u32, 0, &s, 0),
            (Verdict::Drop(DropReason::SourceLimit), None)
        );
        // Another port is not limited.
        assert_eq!(classify(&f, f.len() as u32, 1, &s, 0).0, Verdict::Flood);
    }

    #[test]
    fn known_unicast_forwards_and_hairpin_drops() {
        let mut fdb = Fdb::new(1024, 1024, 300);
        fdb.learn(FdbKey::new(0, B), 2, 0);
        fdb.learn(FdbKey::new(0, A), 0, 0);
        let s = snap(&fdb, 3);
        let f = frame(B, A, &[], 0x0800);
        assert_eq!(classify(&f, 60, 0, &s, 0), (Verdict::Forward(2), None));
        // B's frame to A arriving on A's own port is a hairpin.
        let f = frame(A, B, &[], 0x0800);
        assert_eq!(
            classify(&f, 60, 0, &s, 0).0,
            Verdict::Drop(DropReason::Hairpin)
        );
    }

    #[test]
    fn vlan_separates_fdb_entries() {
        let mut fdb = Fdb::new(1024, 1024, 300);
        fdb.learn(FdbKey::new(10, B), 2, 0);
        let s = snap(&fdb, 3);
        let f = frame(B, A, &[10], 0x0800);
        assert_eq!(classify(&f, 60, 0, &s, 0).0, Verdict::Forward(2));
        let f = frame(B, A, &[20], 0x0800);
        assert_eq!(classify(&f, 60, 0, &s, 0).0, Verdict::Flood);
        let f = frame(B, A, &[10, 5, 7], 0x0800);
        assert_eq!(classify(&f, 60, 0, &s, 0).0, Verdict::Forward(2));
    }

    #[test]
    fn malformed_frames_have_reasons() {
        let fdb = Fdb::new(16, 16, 300);
        let s = snap(&fdb, 2);
        assert_eq!(
            classify(&[0u8; 10], 10, 0, &s, 0).0,
            Verdict::Drop(DropReason::Runt)
        );
        let mut f = frame(B, A, &[], 100);
        f.truncate(20);
        assert_eq!(
            classify(&f, 20, 0, &s, 0).0,
            Verdict::Drop(DropReason::Runt)
        );
        // A short but honest 802.3 frame (an unpadded TCN BPDU's size) passes.
        let mut f = frame(B, A, &[], 7);
        f.truncate(21);
        assert_eq!(classify(&f, 21, 0, &s, 0).0, Verdict::Flood);
        let f = frame(B, A, &[], 0x0800);
        assert_eq!(
            classify(&f, 9000, 0, &s, 0).0,
            Verdict::Drop(DropReason::Oversize)
        );
        let f = frame(B, [0xFF; 6], &[], 0x0800);
        assert_eq!(
            classify(&f, 60, 0, &s, 0).0,
            Verdict::Drop(DropReason::InvalidSrcMac)
        );
        let f = frame(B, A, &[1, 2, 3, 4], 0x0800);
        assert_eq!(
            classify(&f, 60, 0, &s, 0).0,
            Verdict::Drop(DropReason::VlanTooDeep)
        );
        let mut f = frame(B, A, &[1], 0x0800);
        f.truncate(16);
        assert_eq!(
            classify(&f, 16, 0, &s, 0).0,
            Verdict::Drop(DropReason::VlanTruncated)
        );
    }

    #[test]
    fn bpdus_are_punted_never_forwarded() {
        let fdb = Fdb::new(16, 16, 300);
        let s = snap(&fdb, 2);
        let f = frame(BRIDGE_GROUP_ADDRESS.0, A, &[], 0x0026);
        assert_eq!(classify(&f, 52, 0, &s, 0).0, Verdict::Punt(PuntKind::Bpdu));
        let f = frame([0x01, 0x80, 0xC2, 0, 0, 0x02], A, &[], 0x8809);
        assert_eq!(
            classify(&f, 60, 0, &s, 0).0,
            Verdict::Drop(DropReason::LinkLocal)
        );
    }

    #[test]
    fn blocked_port_neither_forwards_nor_learns_when_discarding() {
        let fdb = Fdb::new(16, 16, 300);
        let mut b = SnapshotBuilder::new(2);
        b.ports[0] = PortView {
            learning: false,
            forwarding: false,
            ..PortView::default()
        };
        let s = b.build(1, fdb.view());
        let f = frame(B, A, &[], 0x0800);
        assert_eq!(
            classify(&f, 60, 0, &s, 0),
            (Verdict::Drop(DropReason::PortBlocked), None)
        );
    }

    /// Ports whose policy is only a VLAN mode skip `filter_ingress` (see
    /// `ForwardingSnapshot::vlan_only`); whatever the frame, the decision
    /// must be the one the filter reaches, and a port with more to its
    /// policy must still run the filter.
    #[test]
    fn vlan_only_ports_decide_as_the_filter_does() {
        use satellite_filters::{
            EdgePortPolicy, FilterTables, MacAddr, PortMode, VidSet, VlanConfig,
        };
        use std::sync::Arc;
        let fdb = Fdb::new(16, 16, 300);
        let modes = [
            PortMode::Access { vid: 10 },
            PortMode::Trunk {
                allowed: [10, 20].into_iter().collect::<VidSet>(),
                native: Some(30),
            },
            PortMode::Trunk {
                allowed: [10].into_iter().collect::<VidSet>(),
                native: None,
            },
            PortMode::Tunnel { svid: 40 },
        ];
        let mut frames = vec![
            frame(B, A, &[], 0x0800),
            frame(B, A, &[10], 0x0800),
            frame(B, A, &[20], 0x0800),
            frame(B, A, &[99], 0x0800),
            frame(B, A, &[0], 0x0800),
            frame(B, A, &[10, 5], 0x0800),
            frame(B, A, &[10, 5, 7], 0x0800),
            frame(B, A, &[10, 5, 7, 9], 0x0800),
            frame([0xFF; 6], A, &[], 0x0806),
        ];
        // Priority 5 on the outer tag: a tunnel's S-tag inherits it.
        let mut pcp = frame(B, A, &[10], 0x0800);
        pcp[14] |= 5 << 5;
        frames.push(pcp);
        for mode in modes {
            for with_mac in [false, true] {
                let mut policy = EdgePortPolicy::builder(mode.clone());
                if with_mac {
                    policy = policy.macs([MacAddr(A)]);
                }
                let policy = policy.build().unwrap();
                let tables = FilterTables::builder().build();
                let mut b = SnapshotBuilder::new(2);
                b.policies = vec![Some(Arc::new(policy.clone())), None];
                b.filters = Some(Arc::new(tables.clone()));
                let s = b.build(1, fdb.view());
                assert_eq!(s.vlan_only[0], !with_mac, "{mode:?}");
                assert!(!s.vlan_only[1]);
                for f in &frames {
                    let mut reply = [0u8; satellite_filters::REPLY_BUF_LEN];
                    let d = classify_frame(f, f.len() as u32, 0, &s, 0, &mut reply);
                    let expected = filter_ingress(f, &policy, &tables, &mut reply);
                    let ctx = format!("{mode:?} macs {with_mac} {f:02x?}: {d:?} vs {expected:?}");
                    match (d.verdict, expected) {
                        (Verdict::FilterDrop(r), FilterVerdict::Drop(e)) => {
                            assert_eq!(r, e, "{ctx}")
                        }
                        (Verdict::Forward(_) | Verdict::Flood, FilterVerdict::Pass(c)) => {
                            assert_eq!(
                                (d.facts.vid, d.facts.outer_tagged, d.facts.ingress_action),
                                (c.vid, c.outer_tagged, c.action),
                                "{ctx}"
                            )
                        }
                        _ => panic!("{ctx}"),
                    }
                }
            }
        }
        // Other VLAN rules in the tables: the filter runs.
        let mut b = SnapshotBuilder::new(1);
        b.policies = vec![Some(Arc::new(
            EdgePortPolicy::builder(PortMode::Access { vid: 10 })
                .build()
                .unwrap(),
        ))];
        b.filters = Some(Arc::new(
            FilterTables::builder()
                .vlan(VlanConfig::new(&[0x8100], 2).unwrap())
                .build(),
        ));
        assert!(!b.build(1, fdb.view()).vlan_only[0]);
    }

    /// The data path's tag walk is the filters' default one.
    #[test]
    fn data_path_vlan_rules_are_the_filters_defaults() {
        assert_eq!(
            satellite_filters::VlanConfig::new(&DEFAULT_TPIDS, MAX_TAGS).unwrap(),
            satellite_filters::VlanConfig::default()
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let fdb = Fdb::new(16, 16, 300);
            let s = snap(&fdb, 2);
            let mut reply = [0u8; satellite_filters::REPLY_BUF_LEN];
            let d = classify_frame(&bytes, bytes.len() as u32, 0, &s, 0, &mut reply);
            // The worker's plain shortcut holds for any frame a plain port forwards.
            if matches!(d.verdict, Verdict::Forward(_) | Verdict::Flood) {
                proptest::prop_assert_eq!(
                    crate::egress::egress_decision(&s, 1, &d.facts, (0, 0)),
                    Ok(TagAction::None)
                );
            }
            let _ = classify(&bytes, bytes.len() as u32, 0, &s, 0);
            let _ = classify(&bytes, bytes.len() as u32, 7, &s, 0);
            // And on a VLAN-only filtered port (the data path's own mapping).
            let mut b = SnapshotBuilder::new(2);
            let policy = satellite_filters::EdgePortPolicy::builder(
                satellite_filters::PortMode::Tunnel { svid: 40 },
            )
            .build()
            .unwrap();
            b.policies = vec![Some(std::sync::Arc::new(policy)), None];
            b.filters = Some(std::sync::Arc::new(satellite_filters::FilterTables::default()));
            let s = b.build(1, fdb.view());
            let _ = classify(&bytes, bytes.len() as u32, 0, &s, 0);
        }
    }

    /// A switch with host port 0 and fabric ports 1, 2, 3; the MAC home H
    /// lives at link-state slot 5, reached over ports 1 and 2 (equal
    /// cost), port 3 an alternate. Port 3 is blocked by the spanning tree.
    fn sstp_switch(live: u64) -> (ForwardingSnapshot, Fdb) {
        use satellite_protocol::sstp::routes::{BridgeRoute, Routes};
        let mut fdb = Fdb::new(1024, 1024, 300);
        assert!(fdb.set_home(FdbKey::new(0, B), 5));
        let mut b = SnapshotBuilder::new(4);
        b.ports[3].forwarding = false;
        b.ports[3].learning = false;
        let mut routes = Routes::new();
        routes.reset(0, 6);
        routes.set(0, BridgeRoute::LOCAL);
        routes.set(5, BridgeRoute::new(40, &[1, 2]).with_lfa(Some(3), true));
        b.set_routes(&routes);
        b.live.store(live, std::sync::atomic::Ordering::Relaxed);
        (b.build(1, fdb.view()), fdb)
    }

    fn ip_udp_frame(dst: [u8; 6], src: [u8; 6], sport: u16) -> Vec<u8> {
        let mut f = frame(dst, src, &[], 0x0800);
        f[14..34].copy_from_slice(&[
            0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        f[34..36].copy_from_slice(&sport.to_be_bytes());
        f[36..38].copy_from_slice(&53u16.to_be_bytes());
        f
    }

    fn verdict_of(f: &[u8], in_port: PortIndex, s: &ForwardingSnapshot) -> Verdict {
        let mut reply = [0u8; satellite_filters::REPLY_BUF_LEN];
        classify_frame(f, f.len() as u32, in_port, s, 0, &mut reply).verdict
    }

    /// The verdict for `f` as the worker classifies it after taking `tag`
    /// off.
    fn verdict_tagged(
        f: &[u8],
        in_port: PortIndex,
        s: &ForwardingSnapshot,
        tag: sstp::forward::Tag,
    ) -> Verdict {
        let mut reply = [0u8; satellite_filters::REPLY_BUF_LEN];
        let ingress = Ingress::new(s, in_port);
        let mut prep = prepare(f, &ingress, s);
        prep.set_arrival_tag(tag);
        classify_prepared(f, f.len() as u32, &ingress, s, 0, &mut reply, &prep).verdict
    }

    /// The port of a frame routed to another Satellite switch.
    fn routed_port(v: Verdict) -> Option<PortIndex> {
        match v {
            Verdict::Routed { port, .. } => Some(port),
            _ => None,
        }
    }

    fn tag(distance: u32, repair_hop: bool) -> sstp::forward::Tag {
        sstp::forward::Tag {
            distance,
            repair_hop,
            repaired: repair_hop,
        }
    }

    #[test]
    fn frames_to_a_mac_home_follow_the_link_state_and_flows_spread() {
        let (s, _fdb) = sstp_switch(0b1110);
        let mut on = [0u32; 4];
        for sport in 0..200 {
            match verdict_of(&ip_udp_frame(B, A, sport), 0, &s) {
                Verdict::Routed { port, tag: t } => {
                    assert_eq!(
                        t,
                        unicast_tag_word(tag(40, false)),
                        "our own distance, no repair"
                    );
                    on[port as usize] += 1
                }
                v => panic!("{v:?}"),
            }
        }
        assert_eq!(on[0] + on[3], 0, "only the equal-cost ports");
        assert!(on[1] > 50 && on[2] > 50, "{on:?}");
        // One flow, one port, every time.
        let f = ip_udp_frame(B, A, 7);
        let first = verdict_of(&f, 0, &s);
        assert!((0..20).all(|_| verdict_of(&f, 0, &s) == first));
    }

    #[test]
    fn a_dead_port_is_routed_around_at_once_and_u_turns_dropped() {
        // Port 2 dead: everything on port 1, no snapshot needed.
        let (s, _fdb) = sstp_switch(0b1010);
        for sport in 0..50 {
            assert_eq!(
                routed_port(verdict_of(&ip_udp_frame(B, A, sport), 0, &s)),
                Some(1)
            );
        }
        // Both equal-cost ports dead: the loop-free alternate, even though
        // the spanning tree blocks it.
        let (s, _fdb) = sstp_switch(0b1000);
        assert_eq!(
            verdict_of(&ip_udp_frame(B, A, 1), 0, &s),
            Verdict::Routed {
                port: 3,
                tag: unicast_tag_word(tag(40, true))
            },
            "a repair hop, marked so"
        );
        // A frame repaired once already is not repaired again.
        assert_eq!(
            verdict_tagged(&ip_udp_frame(B, A, 1), 3, &s, tag(30, true)),
            Verdict::Drop(DropReason::SstpRepairedTwice)
        );
        // Nothing alive toward it.
        let (s, _fdb) = sstp_switch(0);
        assert_eq!(
            verdict_of(&ip_udp_frame(B, A, 1), 0, &s),
            Verdict::Drop(DropReason::SstpNoLivePort)
        );
        // A frame for H that came from one of our own next hops toward H.
        let (s, _fdb) = sstp_switch(0b1110);
        assert_eq!(
            verdict_of(&ip_udp_frame(B, A, 1), 1, &s),
            Verdict::Drop(DropReason::SstpUTurn)
        );
    }

    /// The downhill test on what a neighbour's tag says (`sstp::forward`),
    /// and tags where none belong.
    #[test]
    fn tagged_frames_go_on_only_downhill() {
        let (s, _fdb) = sstp_switch(0b1110);
        let f = ip_udp_frame(B, A, 1);
        // From a switch farther from H (60 > our 40): on, with our tag.
        assert!(matches!(
            verdict_tagged(&f, 3, &s, tag(60, false)),
            Verdict::Routed { port: 1 | 2, tag: t } if t == unicast_tag_word(tag(40, false))
        ));
        // From one as near or nearer: its view and ours disagree.
        for d in [40, 20] {
            assert_eq!(
                verdict_tagged(&f, 3, &s, tag(d, false)),
                Verdict::Drop(DropReason::SstpNotDownhill)
            );
        }
        // A repair hop is exempt, and the frame stays marked repaired.
        assert!(matches!(
            verdict_tagged(&f, 3, &s, tag(20, true)),
            Verdict::Routed { port: 1 | 2, tag: t }
                if unicast_tag_from_word(t).repaired && !unicast_tag_from_word(t).repair_hop
        ));
        // A tag the worker did not take off (a host sent it, or a second
        // one): never forwarded.
        let mut stray = f.clone();
        stray.splice(
            12..12,
            satellite_protocol::wire::encode_unicast_tag(tag(5, false)),
        );
        assert_eq!(
            verdict_of(&stray, 0, &s),
            Verdict::Drop(DropReason::StrayUnicastTag)
        );
    }

    #[test]
    fn a_host_of_another_switch_is_learned_only_when_it_moves_here() {
        let (mut s, _fdb) = sstp_switch(0b1110);
        let mut ports: Vec<PortView> = s.ports.to_vec();
        ports[0].host = true;
        s.ports = ports.into();
        let mut reply = [0u8; satellite_filters::REPLY_BUF_LEN];
        // From H (a home at slot 5), in from the fabric: the link state
        // already knows where H lives, so no learn is asked for.
        let f = ip_udp_frame(A, B, 1);
        let d = classify_frame(&f, f.len() as u32, 1, &s, 0, &mut reply);
        assert_eq!(d.learn, None);
        // In on a host port: H has moved here, and is learned.
        let d = classify_frame(&f, f.len() as u32, 0, &s, 0, &mut reply);
        assert_eq!(d.learn, Some(LearnHint::Learn(FdbKey::new(0, B))));
    }

    #[test]
    fn a_link_the_tree_blocks_carries_only_unicast_to_homes() {
        let (s, mut fdb) = sstp_switch(0b1110);
        // Unicast to a home, in on the blocked but live port 3: routed.
        assert!(matches!(
            routed_port(verdict_of(&ip_udp_frame(B, A, 1), 3, &s)),
            Some(1 | 2)
        ));
        // Broadcast or unknown unicast in on it: never flooded.
        assert_eq!(
            verdict_of(&frame([0xFF; 6], A, &[], 0x0806), 3, &s),
            Verdict::Drop(DropReason::NotTree)
        );
        let unknown = [2, 0, 0, 0, 0, 0xC];
        assert_eq!(
            verdict_of(&frame(unknown, A, &[], 0x0800), 3, &s),
            Verdict::Drop(DropReason::NotTree)
        );
        // A destination learned on a fabric port is the tree's business,
        // not this link's; one on a host port is delivered.
        fdb.learn(FdbKey::new(0, unknown), 1, 0);
        let s2 = {
            let (mut x, _) = sstp_switch(0b1110);
            x.fdb = fdb.view();
            x
        };
        assert_eq!(
            verdict_of(&frame(unknown, A, &[], 0x0800), 3, &s2),
            Verdict::Drop(DropReason::NotTree)
        );
        let mine = [2, 0, 0, 0, 0, 0xD];
        fdb.learn(FdbKey::new(0, mine), 0, 0);
        let s3 = {
            let (mut x, _) = sstp_switch(0b1110);
            x.fdb = fdb.view();
            let mut ports: Vec<PortView> = x.ports.to_vec();
            ports[0].host = true;
            x.ports = ports.into();
            x
        };
        assert_eq!(
            verdict_of(&frame(mine, A, &[], 0x0800), 3, &s3),
            Verdict::Forward(0)
        );
        // Not live: blocked as before SSTP.
        let (s, _fdb) = sstp_switch(0b0110);
        assert_eq!(
            verdict_of(&ip_udp_frame(B, A, 1), 3, &s),
            Verdict::Drop(DropReason::PortBlocked)
        );
        // And nothing is learned there.
        let mut reply = [0u8; satellite_filters::REPLY_BUF_LEN];
        let (s, _fdb) = sstp_switch(0b1110);
        let f = ip_udp_frame(B, A, 1);
        assert_eq!(
            classify_frame(&f, f.len() as u32, 3, &s, 0, &mut reply).learn,
            None
        );
    }
}
