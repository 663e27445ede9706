//! VLAN stacks: parsing up to a configured number of 802.1Q/802.1ad tags,
//! port modes (access, trunk, tunnel), and in-place tag push/pop.
//!
//! Frames are never copied here: [`parse`] reads the header once and hands
//! back offsets; rewrites move only the 12 address bytes, the way a DPDK
//! `rte_pktmbuf_prepend`/`rte_pktmbuf_adj` pair would.

use crate::drop_reason::DropReason;
use crate::mac::{MacAddr, ETHERNET_HEADER_LEN};

/// A 12-bit VLAN identifier. 0 means "priority tag / untagged", 4095 is reserved.
pub type Vid = u16;

/// Customer tag (802.1Q C-tag).
pub const TPID_CTAG: u16 = 0x8100;
/// Service tag (802.1ad S-tag), pushed by tunnel ports.
pub const TPID_STAG: u16 = 0x88A8;
/// Pre-standard QinQ TPID still found on older gear.
pub const TPID_QINQ_9100: u16 = 0x9100;
/// Pre-standard QinQ TPID still found on older gear.
pub const TPID_QINQ_9200: u16 = 0x9200;

/// Hard upper bound on the configurable depth; sizes the inline stack array
/// so parsing never allocates.
pub const MAX_TAGS: usize = 8;
/// Default depth of FILTERS.md.
pub const DEFAULT_DEPTH: usize = 3;
/// How many distinct TPIDs a configuration may recognise.
pub const MAX_TPIDS: usize = 8;
/// Bytes one tag adds to the frame.
pub const TAG_LEN: usize = 4;
/// Bytes of destination + source MAC that move when a tag is pushed or popped.
const ADDRS_LEN: usize = 12;

/// One VLAN tag: TPID plus the decoded TCI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct VlanTag {
    /// Tag protocol identifier (the EtherType that announced the tag).
    pub tpid: u16,
    /// Priority code point (3 bits).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier (12 bits).
    pub vid: Vid,
}

impl VlanTag {
    /// Decodes a tag from its TPID and 16-bit TCI.
    #[inline]
    pub const fn from_tci(tpid: u16, tci: u16) -> VlanTag {
        VlanTag {
            tpid,
            pcp: (tci >> 13) as u8,
            dei: tci & 0x1000 != 0,
            vid: tci & 0x0fff,
        }
    }

    /// The 16-bit TCI; out-of-range PCP/VID bits are masked off.
    #[inline]
    pub const fn tci(&self) -> u16 {
        (((self.pcp & 0x7) as u16) << 13) | ((self.dei as u16) << 12) | (self.vid & 0x0fff)
    }

    /// The four wire bytes (TPID, TCI), big-endian.
    #[inline]
    pub const fn to_bytes(&self) -> [u8; 4] {
        let t = self.tpid.to_be_bytes();
        let c = self.tci().to_be_bytes();
        [t[0], t[1], c[0], c[1]]
    }
}

/// Why a VLAN configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VlanConfigError {
    /// More TPIDs than [`MAX_TPIDS`].
    #[error("at most {MAX_TPIDS} TPIDs can be configured, got {0}")]
    TooManyTpids(usize),
    /// Depth 0 would drop every tagged frame; above [`MAX_TAGS`] it cannot be parsed inline.
    #[error("VLAN depth must be 1..={MAX_TAGS}, got {0}")]
    DepthOutOfRange(usize),
    /// A TPID below 0x0600 is a length field, not an EtherType.
    #[error("TPID {0:#06x} is not an EtherType")]
    InvalidTpid(u16),
}

/// Which EtherTypes announce a tag, and how many tags a frame may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VlanConfig {
    tpids: [u16; MAX_TPIDS],
    n_tpids: u8,
    max_depth: u8,
}

/// The TPIDs recognised by default, as FILTERS.md lists them.
pub const DEFAULT_TPIDS: [u16; 4] = [TPID_CTAG, TPID_STAG, TPID_QINQ_9100, TPID_QINQ_9200];

impl Default for VlanConfig {
    /// [`DEFAULT_TPIDS`] and depth [`DEFAULT_DEPTH`], as FILTERS.md says.
    fn default() -> Self {
        VlanConfig::new(&DEFAULT_TPIDS, DEFAULT_DEPTH).expect("default VLAN config is valid")
    }
}

impl VlanConfig {
    /// Validates a TPID set and depth.
    pub fn new(tpids: &[u16], max_depth: usize) -> Result<VlanConfig, VlanConfigError> {
        if tpids.len() > MAX_TPIDS {
            return Err(VlanConfigError::TooManyTpids(tpids.len()));
        }
        if max_depth == 0 || max_depth > MAX_TAGS {
            return Err(VlanConfigError::DepthOutOfRange(max_depth));
        }
        if let Some(&t) = tpids.iter().find(|&&t| t < 0x0600) {
            return Err(VlanConfigError::InvalidTpid(t));
        }
        // Unused slots repeat a configured TPID (or hold 0xFFFF, reserved),
        // so the membership test can compare all slots at once.
        let fill = tpids.first().copied().unwrap_or(0xffff);
        let mut set = [fill; MAX_TPIDS];
        set[..tpids.len()].copy_from_slice(tpids);
        Ok(VlanConfig {
            tpids: set,
            n_tpids: tpids.len() as u8,
            max_depth: max_depth as u8,
        })
    }

    /// Whether `ether_type` announces a VLAN tag.
    #[inline]
    pub fn is_tpid(&self, ether_type: u16) -> bool {
        // Fixed-length compare: branch-free, vectorisable.
        self.tpids
            .iter()
            .fold(false, |hit, &t| hit | (t == ether_type))
    }

    /// The configured TPIDs.
    pub fn tpids(&self) -> &[u16] {
        &self.tpids[..self.n_tpids as usize]
    }

    /// Most tags a frame may carry.
    #[inline]
    pub fn max_depth(&self) -> usize {
        self.max_depth as usize
    }
}

/// The tags of one frame, outermost first, stored inline as the raw 32-bit
/// wire words (TPID, TCI) so parsing is one load and one store per tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct VlanStack {
    words: [u32; MAX_TAGS],
    len: u8,
}

impl VlanStack {
    /// Number of tags.
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True for an untagged frame.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Tag `i` (0 = outermost).
    #[inline]
    pub fn get(&self, i: usize) -> Option<VlanTag> {
        if i < self.len() {
            self.words
                .get(i)
                .map(|&w| VlanTag::from_tci((w >> 16) as u16, w as u16))
        } else {
            None
        }
    }

    /// The tags, outermost first.
    pub fn iter(&self) -> impl Iterator<Item = VlanTag> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The outermost tag, if any.
    #[inline]
    pub fn outer(&self) -> Option<VlanTag> {
        self.get(0)
    }

    /// The outer VID; 0 for untagged or priority-tagged frames, which belong
    /// to the port's native/access VLAN.
    #[inline]
    pub fn outer_vid(&self) -> Vid {
        if self.len == 0 {
            0
        } else {
            (self.words[0] & 0x0fff) as Vid
        }
    }

    #[inline]
    fn push(&mut self, word: u32) {
        if let Some(slot) = self.words.get_mut(self.len as usize) {
            *slot = word;
            self.len += 1;
        }
    }
}

/// An Ethernet header with its VLAN stack, as offsets into the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedFrame {
    /// Destination MAC.
    pub dst: MacAddr,
    /// Source MAC.
    pub src: MacAddr,
    /// Tags, outermost first.
    pub stack: VlanStack,
    /// The EtherType after the last tag.
    pub ether_type: u16,
    /// Offset of the first payload byte.
    pub payload_offset: usize,
}

/// Why a frame's header could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VlanError {
    /// Fewer than 14 bytes.
    #[error("frame shorter than an Ethernet header")]
    FrameTooShort,
    /// A tag or the final EtherType is cut off.
    #[error("VLAN stack truncated")]
    Truncated,
    /// More tags than the configured depth.
    #[error("VLAN stack deeper than configured")]
    TooDeep,
}

impl From<VlanError> for DropReason {
    fn from(e: VlanError) -> DropReason {
        match e {
            VlanError::FrameTooShort => DropReason::FrameTooShort,
            VlanError::Truncated => DropReason::VlanTruncated,
            VlanError::TooDeep => DropReason::VlanTooDeep,
        }
    }
}

#[inline]
fn be16(frame: &[u8], at: usize) -> Option<u16> {
    let b = frame.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Parses the Ethernet header and VLAN stack of `frame`.
#[inline]
pub fn parse(frame: &[u8], cfg: &VlanConfig) -> Result<ParsedFrame, VlanError> {
    if frame.len() < ETHERNET_HEADER_LEN {
        return Err(VlanError::FrameTooShort);
    }
    let dst = MacAddr::from_slice(&frame[0..6]).ok_or(VlanError::FrameTooShort)?;
    let src = MacAddr::from_slice(&frame[6..12]).ok_or(VlanError::FrameTooShort)?;
    let mut stack = VlanStack::default();
    let mut off = ADDRS_LEN;
    loop {
        let et = be16(frame, off).ok_or(VlanError::Truncated)?;
        if !cfg.is_tpid(et) {
            return Ok(ParsedFrame {
                dst,
                src,
                stack,
                ether_type: et,
                payload_offset: off + 2,
            });
        }
        if stack.len() >= cfg.max_depth() {
            return Err(VlanError::TooDeep);
        }
        let word = frame.get(off..off + TAG_LEN).ok_or(VlanError::Truncated)?;
        stack.push(u32::from_be_bytes([word[0], word[1], word[2], word[3]]));
        off += TAG_LEN;
    }
}

/// A set of VIDs as a 4096-bit bitmap: constant-time lookup, no allocation.
#[derive(Clone, PartialEq, Eq)]
pub struct VidSet([u64; 64]);

impl Default for VidSet {
    fn default() -> Self {
        VidSet([0; 64])
    }
}

impl core::fmt::Debug for VidSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set()
            .entries((0..4096u16).filter(|&v| self.contains(v)))
            .finish()
    }
}

impl VidSet {
    /// The empty set.
    pub fn new() -> VidSet {
        VidSet::default()
    }

    /// Adds `vid`; returns false (and adds nothing) for 0 and 4095, which
    /// 802.1Q reserves and which can therefore never be allowed.
    pub fn insert(&mut self, vid: Vid) -> bool {
        if vid == 0 || vid >= 4095 {
            return false;
        }
        self.0[(vid >> 6) as usize] |= 1 << (vid & 63);
        true
    }

    /// Whether `vid` is in the set.
    #[inline]
    pub fn contains(&self, vid: Vid) -> bool {
        vid < 4096 && self.0[(vid >> 6) as usize] & (1 << (vid & 63)) != 0
    }
}

impl FromIterator<Vid> for VidSet {
    fn from_iter<I: IntoIterator<Item = Vid>>(iter: I) -> Self {
        let mut s = VidSet::new();
        for v in iter {
            s.insert(v);
        }
        s
    }
}

/// How a port maps frames to VLANs.
// The trunk bitmap stays inline: one policy per port, and no pointer chase
// on the per-packet VID check.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortMode {
    /// Untagged ↔ one VID. Ingress accepts untagged and priority-tagged
    /// (VID 0) frames, and frames whose outer tag already carries `vid`;
    /// any other tagged frame is dropped (`vlan_access_tagged`).
    Access {
        /// The access VLAN.
        vid: Vid,
    },
    /// Tagged frames for the allowed VIDs; untagged frames go to `native`
    /// if set, otherwise they are dropped.
    Trunk {
        /// VIDs accepted and sent tagged.
        allowed: VidSet,
        /// VLAN of untagged frames; sent untagged on egress.
        native: Option<Vid>,
    },
    /// QinQ: every ingress frame gets an S-tag with `svid` pushed in front of
    /// whatever tags the customer sent; egress pops it.
    Tunnel {
        /// Service VLAN.
        svid: Vid,
    },
}

/// A header rewrite the data plane applies to a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagAction {
    /// Leave the header alone.
    None,
    /// Insert this tag as the new outermost tag ([`push_tag`]).
    Push(VlanTag),
    /// Remove the outermost tag ([`pop_tag`]).
    Pop,
}

/// The VLAN a frame belongs to inside the switch and how to rewrite it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IngressVlan {
    /// FDB key.
    pub vid: Vid,
    /// Whether, after `action`, the outermost tag in the buffer carries `vid`.
    pub outer_tagged: bool,
    /// Rewrite to apply on ingress.
    pub action: TagAction,
}

/// Maps a parsed frame on a port to its VLAN.
///
/// Only tunnel ports rewrite on ingress (the S-tag must exist on every later
/// hop); access frames stay untagged and egress pushes a tag only where a
/// trunk needs one, so the common access→access path never moves bytes.
/// The VLAN a frame whose outermost VID is `outer` (0: untagged) gets on
/// a port in `mode`, if the port admits it; otherwise `outer`. Cheap and
/// never wrong about admitted frames' usual case, so the data path can
/// prefetch FDB buckets before the full [`classify_ingress`] runs.
#[inline]
pub fn predicted_vid(mode: &PortMode, outer: u16) -> u16 {
    match mode {
        PortMode::Access { vid } => *vid,
        PortMode::Trunk {
            native: Some(n), ..
        } if outer == 0 => *n,
        PortMode::Tunnel { svid } => *svid,
        _ => outer,
    }
}

pub fn classify_ingress(
    frame: &ParsedFrame,
    mode: &PortMode,
    cfg: &VlanConfig,
) -> Result<IngressVlan, DropReason> {
    let outer = frame.stack.outer();
    classify_outer(
        frame.stack.outer_vid(),
        outer.map_or(0, |t| t.pcp),
        frame.stack.len(),
        mode,
        cfg,
    )
}

/// [`classify_ingress`] from the only parts of the header it reads: the
/// outermost tag's VID and PCP (0 and 0 when untagged) and the number of
/// tags. For a data path that has walked the stack already and keeps
/// those as scalars, so no [`ParsedFrame`] is built and read back.
#[inline]
pub fn classify_outer(
    outer: Vid,
    outer_pcp: u8,
    depth: usize,
    mode: &PortMode,
    cfg: &VlanConfig,
) -> Result<IngressVlan, DropReason> {
    let untagged = IngressVlan {
        vid: 0,
        outer_tagged: false,
        action: TagAction::None,
    };
    match mode {
        PortMode::Access { vid } => {
            if outer == 0 {
                Ok(IngressVlan {
                    vid: *vid,
                    ..untagged
                })
            } else if outer == *vid {
                Ok(IngressVlan {
                    vid: *vid,
                    outer_tagged: true,
                    ..untagged
                })
            } else {
                Err(DropReason::VlanAccessTagged)
            }
        }
        PortMode::Trunk { allowed, native } => {
            if outer == 0 {
                match native {
                    Some(n) => Ok(IngressVlan {
                        vid: *n,
                        ..untagged
                    }),
                    None => Err(DropReason::VlanUntaggedNotAllowed),
                }
            } else if allowed.contains(outer) {
                Ok(IngressVlan {
                    vid: outer,
                    outer_tagged: true,
                    ..untagged
                })
            } else {
                Err(DropReason::VlanNotAllowed)
            }
        }
        PortMode::Tunnel { svid } => {
            if depth + 1 > cfg.max_depth() {
                return Err(DropReason::VlanTooDeep);
            }
            // Uniform QoS: the S-tag inherits the customer's outer priority.
            let pcp = outer_pcp;
            Ok(IngressVlan {
                vid: *svid,
                outer_tagged: true,
                action: TagAction::Push(VlanTag {
                    tpid: TPID_STAG,
                    pcp,
                    dei: false,
                    vid: *svid,
                }),
            })
        }
    }
}

/// The FDB key of a frame arriving on a port: its outer VID, or the port's
/// native/access VLAN when untagged; the tunnel's S-VID on tunnel ports.
pub fn fdb_vid(frame: &ParsedFrame, mode: &PortMode, cfg: &VlanConfig) -> Result<Vid, DropReason> {
    classify_ingress(frame, mode, cfg).map(|c| c.vid)
}

/// The rewrite for sending a frame of VLAN `vid` out of a port in `mode`.
/// `outer_tagged` is [`IngressVlan::outer_tagged`] of the frame.
pub fn egress_action(
    vid: Vid,
    outer_tagged: bool,
    mode: &PortMode,
) -> Result<TagAction, DropReason> {
    let strip = if outer_tagged {
        TagAction::Pop
    } else {
        TagAction::None
    };
    match mode {
        PortMode::Access { vid: a } | PortMode::Tunnel { svid: a } => {
            if vid == *a {
                Ok(strip)
            } else {
                Err(DropReason::VlanNotAllowed)
            }
        }
        PortMode::Trunk { allowed, native } => {
            if *native == Some(vid) {
                Ok(strip)
            } else if allowed.contains(vid) {
                Ok(if outer_tagged {
                    TagAction::None
                } else {
                    TagAction::Push(VlanTag {
                        tpid: TPID_CTAG,
                        pcp: 0,
                        dei: false,
                        vid,
                    })
                })
            } else {
                Err(DropReason::VlanNotAllowed)
            }
        }
    }
}

/// Why a tag could not be pushed or popped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TagEditError {
    /// `start..end` is not inside the buffer.
    #[error("frame range outside the buffer")]
    BadRange,
    /// Fewer than 4 bytes of headroom before `start`.
    #[error("no headroom for a VLAN tag")]
    NoHeadroom,
    /// The frame is too short to hold (or lose) a tag.
    #[error("frame too short for the tag edit")]
    FrameTooShort,
}

/// The 16 bytes that begin the frame after pushing `tag`: destination,
/// source, then the tag. For a DPDK mbuf: `rte_pktmbuf_prepend(m, 4)` and
/// write these 16 bytes at the new data start (the rest is untouched).
pub fn pushed_header(frame: &[u8], tag: VlanTag) -> Option<[u8; 16]> {
    let addrs = frame.get(..ADDRS_LEN)?;
    let mut out = [0u8; 16];
    out[..ADDRS_LEN].copy_from_slice(addrs);
    out[ADDRS_LEN..].copy_from_slice(&tag.to_bytes());
    Some(out)
}

/// The 12 address bytes to write after popping the outer tag. For a DPDK
/// mbuf: `rte_pktmbuf_adj(m, 4)` and write these at the new data start.
pub fn popped_header(frame: &[u8]) -> Option<[u8; 12]> {
    if frame.len() < ADDRS_LEN + TAG_LEN + 2 {
        return None;
    }
    frame.get(..ADDRS_LEN)?.try_into().ok()
}

/// Pushes `tag` as the outermost tag of the frame held in `buf[start..end]`,
/// using 4 bytes of headroom before `start`. Returns the new start (the
/// frame is then `buf[new_start..end]`, 4 bytes longer). The caller must
/// check depth (see [`classify_ingress`]).
pub fn push_tag(
    buf: &mut [u8],
    start: usize,
    end: usize,
    tag: VlanTag,
) -> Result<usize, TagEditError> {
    if start > end || end > buf.len() {
        return Err(TagEditError::BadRange);
    }
    if end - start < ETHERNET_HEADER_LEN {
        return Err(TagEditError::FrameTooShort);
    }
    let new_start = start.checked_sub(TAG_LEN).ok_or(TagEditError::NoHeadroom)?;
    buf.copy_within(start..start + ADDRS_LEN, new_start);
    buf[new_start + ADDRS_LEN..new_start + ADDRS_LEN + TAG_LEN].copy_from_slice(&tag.to_bytes());
    Ok(new_start)
}

/// Removes the outermost tag of the frame held in `buf[start..end]`; the
/// caller knows (from [`parse`]) that there is one. Returns the new start
/// (4 bytes later; the freed bytes become headroom) and the removed tag.
pub fn pop_tag(buf: &mut [u8], start: usize, end: usize) -> Result<(usize, VlanTag), TagEditError> {
    if start > end || end > buf.len() {
        return Err(TagEditError::BadRange);
    }
    if end - start < ETHERNET_HEADER_LEN + TAG_LEN {
        return Err(TagEditError::FrameTooShort);
    }
    let t = start + ADDRS_LEN;
    let tag = VlanTag::from_tci(
        u16::from_be_bytes([buf[t], buf[t + 1]]),
        u16::from_be_bytes([buf[t + 2], buf[t + 3]]),
    );
    buf.copy_within(start..start + ADDRS_LEN, start + TAG_LEN);
    Ok((start + TAG_LEN, tag))
}

/// Applies `action` to `buf[start..end]`; returns the new start.
pub fn apply_tag_action(
    buf: &mut [u8],
    start: usize,
    end: usize,
    action: TagAction,
) -> Result<usize, TagEditError> {
    match action {
        TagAction::None => {
            if start > end || end > buf.len() {
                Err(TagEditError::BadRange)
            } else {
                Ok(start)
            }
        }
        TagAction::Push(tag) => push_tag(buf, start, end, tag),
        TagAction::Pop => pop_tag(buf, start, end).map(|(s, _)| s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DST: [u8; 6] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const SRC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

    fn frame(tags: &[[u8; 4]], ether_type: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&DST);
        f.extend_from_slice(&SRC);
        for t in tags {
            f.extend_from_slice(t);
        }
        f.extend_from_slice(&ether_type.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn trunk(vids: &[Vid], native: Option<Vid>) -> PortMode {
        PortMode::Trunk {
            allowed: vids.iter().copied().collect(),
            native,
        }
    }

    /// Whatever a port admits gets the VLAN the prefetch predicted.
    #[test]
    fn predicted_vid_matches_every_admitted_frame() {
        let cfg = VlanConfig::default();
        let modes = [
            PortMode::Access { vid: 5 },
            trunk(&[5, 7], Some(9)),
            trunk(&[5, 7], None),
            PortMode::Tunnel { svid: 11 },
        ];
        let tagged = |vid: u16| [[0x81, 0x00, (vid >> 8) as u8, vid as u8]];
        for mode in &modes {
            for outer in [0u16, 5, 7, 9, 11, 12] {
                let f = if outer == 0 {
                    frame(&[], 0x0800, &[0x45])
                } else {
                    frame(&tagged(outer), 0x0800, &[0x45])
                };
                let p = parse(&f, &cfg).unwrap();
                if let Ok(iv) = classify_ingress(&p, mode, &cfg) {
                    assert_eq!(predicted_vid(mode, outer), iv.vid, "{mode:?} outer {outer}");
                }
            }
        }
    }

    #[test]
    fn untagged() {
        let f = frame(&[], 0x0800, &[0x45]);
        let p = parse(&f, &VlanConfig::default()).unwrap();
        assert!(p.stack.is_empty());
        assert_eq!(p.ether_type, 0x0800);
        assert_eq!(p.payload_offset, 14);
        assert_eq!(p.dst, MacAddr(DST));
        assert_eq!(p.src, MacAddr(SRC));
        assert_eq!(p.stack.outer_vid(), 0);
    }

    #[test]
    fn triple_tagged_fixture() {
        // S-tag 0x88a8 pcp 5 dei vid 100, 0x9100 vid 4094, C-tag pcp 0 vid 1; ARP.
        let f = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, //
            0x88, 0xa8, 0xb0, 0x64, //
            0x91, 0x00, 0x0f, 0xfe, //
            0x81, 0x00, 0x00, 0x01, //
            0x08, 0x06, 0xaa,
        ];
        let p = parse(&f, &VlanConfig::default()).unwrap();
        assert_eq!(
            p.stack.iter().collect::<Vec<_>>(),
            &[
                VlanTag {
                    tpid: 0x88a8,
                    pcp: 5,
                    dei: true,
                    vid: 100
                },
                VlanTag {
                    tpid: 0x9100,
                    pcp: 0,
                    dei: false,
                    vid: 4094
                },
                VlanTag {
                    tpid: 0x8100,
                    pcp: 0,
                    dei: false,
                    vid: 1
                },
            ]
        );
        assert_eq!(p.stack.outer_vid(), 100);
        assert_eq!(p.ether_type, 0x0806);
        assert_eq!(p.payload_offset, 26);
    }

    #[test]
    fn too_deep_and_truncated() {
        let t = [0x81, 0x00, 0x00, 0x05];
        let cfg = VlanConfig::default();
        assert_eq!(
            parse(&frame(&[t, t, t, t], 0x0800, &[]), &cfg),
            Err(VlanError::TooDeep)
        );
        assert!(parse(&frame(&[t, t, t], 0x0800, &[]), &cfg).is_ok());
        // Depth 1: a second tag is too deep.
        let one = VlanConfig::new(&[TPID_CTAG], 1).unwrap();
        assert_eq!(
            parse(&frame(&[t, t], 0x0800, &[]), &one),
            Err(VlanError::TooDeep)
        );
        // Cut inside the TCI, and right after a complete tag.
        let f = frame(&[t], 0x0800, &[]);
        assert_eq!(parse(&f[..15], &cfg), Err(VlanError::Truncated));
        assert_eq!(parse(&f[..16], &cfg), Err(VlanError::Truncated));
        assert_eq!(parse(&f[..17], &cfg), Err(VlanError::Truncated));
        assert!(parse(&f[..18], &cfg).is_ok());
        assert_eq!(parse(&f[..13], &cfg), Err(VlanError::FrameTooShort));
        assert_eq!(
            DropReason::from(VlanError::TooDeep),
            DropReason::VlanTooDeep
        );
    }

    #[test]
    fn tpid_set_is_configurable() {
        let t = [0x91, 0x00, 0x00, 0x07];
        let only_ctag = VlanConfig::new(&[TPID_CTAG], 3).unwrap();
        let p = parse(&frame(&[t], 0x0800, &[]), &only_ctag).unwrap();
        assert!(
            p.stack.is_empty(),
            "0x9100 is an EtherType when not configured"
        );
        assert_eq!(p.ether_type, 0x9100);
        assert_eq!(
            VlanConfig::new(&[0x0500], 3),
            Err(VlanConfigError::InvalidTpid(0x0500))
        );
        assert_eq!(
            VlanConfig::new(&[TPID_CTAG], 0),
            Err(VlanConfigError::DepthOutOfRange(0))
        );
        assert_eq!(
            VlanConfig::new(&[TPID_CTAG], 9),
            Err(VlanConfigError::DepthOutOfRange(9))
        );
        assert_eq!(
            VlanConfig::new(&[TPID_CTAG; 9], 3),
            Err(VlanConfigError::TooManyTpids(9))
        );
    }

    #[test]
    fn access_mode() {
        let cfg = VlanConfig::default();
        let mode = PortMode::Access { vid: 10 };
        let un = parse(&frame(&[], 0x0800, &[]), &cfg).unwrap();
        let c = classify_ingress(&un, &mode, &cfg).unwrap();
        assert_eq!(
            (c.vid, c.outer_tagged, c.action),
            (10, false, TagAction::None)
        );
        let prio = parse(&frame(&[[0x81, 0, 0xa0, 0]], 0x0800, &[]), &cfg).unwrap();
        assert_eq!(classify_ingress(&prio, &mode, &cfg).unwrap().vid, 10);
        assert!(!classify_ingress(&prio, &mode, &cfg).unwrap().outer_tagged);
        let own = parse(&frame(&[[0x81, 0, 0, 10]], 0x0800, &[]), &cfg).unwrap();
        assert!(classify_ingress(&own, &mode, &cfg).unwrap().outer_tagged);
        let other = parse(&frame(&[[0x81, 0, 0, 11]], 0x0800, &[]), &cfg).unwrap();
        assert_eq!(
            classify_ingress(&other, &mode, &cfg),
            Err(DropReason::VlanAccessTagged)
        );
        assert_eq!(fdb_vid(&un, &mode, &cfg), Ok(10));
    }

    #[test]
    fn trunk_mode() {
        let cfg = VlanConfig::default();
        let t20 = parse(&frame(&[[0x81, 0, 0, 20]], 0x0800, &[]), &cfg).unwrap();
        let t30 = parse(&frame(&[[0x81, 0, 0, 30]], 0x0800, &[]), &cfg).unwrap();
        let un = parse(&frame(&[], 0x0800, &[]), &cfg).unwrap();
        let m = trunk(&[20], None);
        assert_eq!(fdb_vid(&t20, &m, &cfg), Ok(20));
        assert_eq!(fdb_vid(&t30, &m, &cfg), Err(DropReason::VlanNotAllowed));
        assert_eq!(
            fdb_vid(&un, &m, &cfg),
            Err(DropReason::VlanUntaggedNotAllowed)
        );
        assert_eq!(fdb_vid(&un, &trunk(&[20], Some(5)), &cfg), Ok(5));
        // 4095 can never be allowed.
        let reserved = parse(&frame(&[[0x81, 0, 0x0f, 0xff]], 0x0800, &[]), &cfg).unwrap();
        let mut all = VidSet::new();
        for v in 0..=4095 {
            all.insert(v);
        }
        assert!(!all.contains(0) && !all.contains(4095) && all.contains(4094));
        let m = PortMode::Trunk {
            allowed: all,
            native: None,
        };
        assert_eq!(
            fdb_vid(&reserved, &m, &cfg),
            Err(DropReason::VlanNotAllowed)
        );
    }

    #[test]
    fn tunnel_mode_pushes_stag_and_respects_depth() {
        let cfg = VlanConfig::default();
        let m = PortMode::Tunnel { svid: 300 };
        let c2 = parse(
            &frame(&[[0x81, 0, 0x60, 7], [0x81, 0, 0, 8]], 0x0800, &[]),
            &cfg,
        )
        .unwrap();
        let c = classify_ingress(&c2, &m, &cfg).unwrap();
        assert_eq!(c.vid, 300);
        assert!(c.outer_tagged);
        assert_eq!(
            c.action,
            TagAction::Push(VlanTag {
                tpid: TPID_STAG,
                pcp: 3,
                dei: false,
                vid: 300
            })
        );
        let c3 = parse(&frame(&[[0x81, 0, 0, 7]; 3], 0x0800, &[]), &cfg).unwrap();
        assert_eq!(
            classify_ingress(&c3, &m, &cfg),
            Err(DropReason::VlanTooDeep)
        );
    }

    #[test]
    fn egress_actions() {
        let ctag = |vid| {
            TagAction::Push(VlanTag {
                tpid: TPID_CTAG,
                pcp: 0,
                dei: false,
                vid,
            })
        };
        let access = PortMode::Access { vid: 10 };
        assert_eq!(egress_action(10, false, &access), Ok(TagAction::None));
        assert_eq!(egress_action(10, true, &access), Ok(TagAction::Pop));
        assert_eq!(
            egress_action(11, false, &access),
            Err(DropReason::VlanNotAllowed)
        );
        let t = trunk(&[10, 20], Some(20));
        assert_eq!(egress_action(10, false, &t), Ok(ctag(10)));
        assert_eq!(egress_action(10, true, &t), Ok(TagAction::None));
        assert_eq!(egress_action(20, true, &t), Ok(TagAction::Pop));
        assert_eq!(egress_action(20, false, &t), Ok(TagAction::None));
        assert_eq!(egress_action(30, true, &t), Err(DropReason::VlanNotAllowed));
        let tun = PortMode::Tunnel { svid: 300 };
        assert_eq!(egress_action(300, true, &tun), Ok(TagAction::Pop));
        assert_eq!(
            egress_action(301, true, &tun),
            Err(DropReason::VlanNotAllowed)
        );
    }

    #[test]
    fn push_then_pop_fixture() {
        let payload = [0x45, 0x00];
        let f = frame(&[], 0x0800, &payload);
        let mut buf = [0u8; 64];
        let start = 8;
        let end = start + f.len();
        buf[start..end].copy_from_slice(&f);
        let tag = VlanTag {
            tpid: TPID_CTAG,
            pcp: 1,
            dei: false,
            vid: 0x123,
        };
        let s = push_tag(&mut buf, start, end, tag).unwrap();
        assert_eq!(s, 4);
        assert_eq!(
            &buf[s..end],
            &frame(&[[0x81, 0x00, 0x21, 0x23]], 0x0800, &payload)[..]
        );
        assert_eq!(&buf[s..s + 16], &pushed_header(&f, tag).unwrap());
        let before_pop = buf;
        let (s2, popped) = pop_tag(&mut buf, s, end).unwrap();
        assert_eq!((s2, popped), (start, tag));
        assert_eq!(&buf[s2..end], &f[..]);
        assert_eq!(
            &buf[s2..s2 + 12],
            &popped_header(&before_pop[s..end]).unwrap()
        );
    }

    #[test]
    fn tag_edit_errors() {
        let mut buf = [0u8; 32];
        let t = VlanTag::default();
        assert_eq!(push_tag(&mut buf, 2, 20, t), Err(TagEditError::NoHeadroom));
        assert_eq!(push_tag(&mut buf, 4, 40, t), Err(TagEditError::BadRange));
        assert_eq!(
            push_tag(&mut buf, 4, 10, t),
            Err(TagEditError::FrameTooShort)
        );
        assert_eq!(pop_tag(&mut buf, 0, 17), Err(TagEditError::FrameTooShort));
        assert_eq!(pop_tag(&mut buf, 5, 4), Err(TagEditError::BadRange));
        assert_eq!(apply_tag_action(&mut buf, 4, 20, TagAction::None), Ok(4));
        assert_eq!(popped_header(&[0u8; 17]), None);
        assert_eq!(pushed_header(&[0u8; 11], t), None);
    }

    #[test]
    fn tci_roundtrip() {
        let t = VlanTag {
            tpid: TPID_STAG,
            pcp: 7,
            dei: true,
            vid: 4094,
        };
        assert_eq!(VlanTag::from_tci(t.tpid, t.tci()), t);
        assert_eq!(t.to_bytes(), [0x88, 0xa8, 0xff, 0xfe]);
    }
}
