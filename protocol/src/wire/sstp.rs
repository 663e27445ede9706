//! SSTP PDUs: the link-state protocol between Satellite switches
//! (HELLO, LSP, complete and partial sequence-number summaries, FAIL).
//!
//! The layout is pinned in `docs/sstp.md` ("Wire format") and by the byte
//! fixtures of this file's tests. In short: an Ethernet II frame to
//! [`SSTP_GROUP_ADDRESS`] with EtherType [`SSTP_ETHERTYPE`], then a PDU of at
//! most [`MAX_PDU_LEN`] octets: a 16-octet common header (version, type,
//! length, CRC-32, sender, sender port), a fixed part per type, and TLVs.
//!
//! As in the BPDU codec, [`SstpPacket`] is a zero-copy view whose
//! `new_checked` validates the header once, and [`SstpPdu`] is the validated
//! value with `parse`/`emit`. Parsing is total: any byte string yields a
//! value or an [`SstpError`], never a panic. Encoding never truncates: a PDU
//! that would not fit is an error.
//!
//! LSPs are the one PDU that travels beyond a link: every switch re-encodes
//! an LSP when it floods it (with its own sender header and the remaining
//! lifetime). So that the re-encoding is byte-identical to the originator's,
//! and the content checksum names the same content at every switch, an LSP
//! has exactly one valid encoding (see [`Lsp`]); the codec emits only that
//! and rejects any other ([`SstpError::NonCanonical`]).

use super::{BridgeId, EthernetFrame, MacAddr, ETHERNET_HEADER_LEN, MIN_FRAME_LEN};
use core::fmt;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// The identity of a Satellite switch in SSTP: its bridge address (the
/// lowest port MAC). Unlike the RSTP Bridge Identifier it carries no
/// priority, so moving the root by priority never changes who a switch is
/// to the link state.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct SystemId(pub MacAddr);

impl fmt::Display for SystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for SystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<SystemId> for String {
    fn from(s: SystemId) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for SystemId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse().map(SystemId)
    }
}

/// Destination of every SSTP frame: the 802.1Q "nearest bridge" group
/// address, which no bridge (nor TPMR) forwards, so an SSTP PDU never leaves
/// the link it was sent on and an adjacency always means a direct cable.
pub const SSTP_GROUP_ADDRESS: MacAddr = MacAddr([0x01, 0x80, 0xC2, 0x00, 0x00, 0x0E]);
/// EtherType of SSTP: IEEE Std 802 Local Experimental EtherType 1.
pub const SSTP_ETHERTYPE: u16 = 0x88B5;
/// The only protocol version this codec reads and writes.
pub const SSTP_VERSION: u8 = 1;
/// Largest PDU (version octet to the end of the last TLV): one untagged
/// Ethernet payload, so no PDU ever needs IP-style fragmentation.
pub const MAX_PDU_LEN: usize = 1500;
/// Octets of the common header.
pub const SSTP_HEADER_LEN: usize = 16;
/// Octets of a TLV's type and length.
pub const TLV_HEADER_LEN: usize = 4;
/// Octets of the HELLO fixed part (after the common header).
pub const HELLO_FIXED_LEN: usize = 32;
/// Octets of the LSP fixed part (after the common header).
pub const LSP_FIXED_LEN: usize = 24;
/// Octets of the CSNP fixed part (after the common header).
pub const CSNP_FIXED_LEN: usize = 16;
/// Octets of the FAIL fixed part (after the common header).
pub const FAIL_FIXED_LEN: usize = 22;
/// Octets an LSP has for its TLVs: [`MAX_PDU_LEN`] less header and fixed part.
pub const LSP_TLV_ROOM: usize = MAX_PDU_LEN - SSTP_HEADER_LEN - LSP_FIXED_LEN;
/// Octets of the SYSTEM TLV value (bridge ID, flags, reserved).
pub const SYSTEM_TLV_LEN: usize = 10;
/// Octets of the RSTP bridge ID TLV value.
pub const BRIDGE_ID_TLV_LEN: usize = 8;
/// Octets of one ADJACENCIES entry.
pub const ADJACENCY_LEN: usize = 14;
/// Octets of one MAC_HOMES entry.
pub const MAC_HOME_LEN: usize = 8;
/// Octets of one IPV4_BINDINGS entry.
pub const BINDING_LEN: usize = 12;
/// Octets of one LSP_ENTRIES entry.
pub const LSP_ENTRY_LEN: usize = 22;
/// Octets of one MAC_MOVES entry.
pub const MAC_MOVE_LEN: usize = 12;

/// TLV type: HOSTNAME (HELLO, LSP), UTF-8, at most [`Hostname::MAX_LEN`].
pub const TLV_HOSTNAME: u16 = 0x0002;
/// TLV type: the RSTP bridge ID the sender uses (HELLO).
pub const TLV_BRIDGE_ID: u16 = 0x0003;
/// TLV type: ADJACENCIES (LSP), entries of [`ADJACENCY_LEN`].
pub const TLV_ADJACENCIES: u16 = 0x0004;
/// TLV type: MAC_HOMES (LSP), entries of [`MAC_HOME_LEN`].
pub const TLV_MAC_HOMES: u16 = 0x0005;
/// TLV type: IPV4_BINDINGS (LSP), entries of [`BINDING_LEN`].
pub const TLV_IPV4_BINDINGS: u16 = 0x0006;
/// TLV type: LSP_ENTRIES (CSNP, PSNP), entries of [`LSP_ENTRY_LEN`].
pub const TLV_LSP_ENTRIES: u16 = 0x0007;
/// TLV type: MAC_MOVES (LSP), entries of [`MAC_MOVE_LEN`]: the move
/// sequence of a MAC home of the same fragment that has moved.
pub const TLV_MAC_MOVES: u16 = 0x0008;
/// TLV type: LSP_SEQUENCE (FAIL), 8 octets: the origin's fragment-0
/// sequence number when it sent the notice, so a receiver can tell a
/// notice that arrives after the origin's newer LSP (which already states
/// the truth) from news. Optional: without it a receiver takes the
/// fragment 0 it holds on arrival as the reference.
pub const TLV_LSP_SEQUENCE: u16 = 0x0009;
/// Octets of the LSP_SEQUENCE value.
pub const LSP_SEQUENCE_TLV_LEN: usize = 8;
/// TLV type: SYSTEM (LSP fragment 0 only). Mandatory: a receiver that did
/// not know it could not use the LSP at all.
pub const TLV_SYSTEM: u16 = 0x8001;
/// The mandatory bit of a TLV type: a receiver that does not know the type
/// drops the whole PDU. It is part of the type number (as Geneve's critical
/// bit is), so 0x0001 and 0x8001 are two different types.
pub const TLV_MANDATORY: u16 = 0x8000;

/// Every TLV type version 1 defines, whatever PDU it belongs to. A known
/// type in a PDU that does not carry it is [`SstpError::UnexpectedTlv`]
/// rather than "unknown": the sender is broken, not newer.
pub const KNOWN_TLV_TYPES: &[u16] = &[
    TLV_SYSTEM,
    TLV_HOSTNAME,
    TLV_BRIDGE_ID,
    TLV_ADJACENCIES,
    TLV_MAC_HOMES,
    TLV_IPV4_BINDINGS,
    TLV_LSP_ENTRIES,
    TLV_MAC_MOVES,
    TLV_LSP_SEQUENCE,
];

/// Byte offsets of the PDU fields, from the version octet (smoltcp's
/// `mod field`). Each type's fixed part starts at [`SSTP_HEADER_LEN`].
mod field {
    use core::ops::Range;
    pub const VERSION: usize = 0;
    pub const PDU_TYPE: usize = 1;
    pub const PDU_LENGTH: Range<usize> = 2..4;
    pub const CHECKSUM: Range<usize> = 4..8;
    pub const SENDER: Range<usize> = 8..14;
    pub const SENDER_PORT: Range<usize> = 14..16;

    /// LSP fields, the ones the checksums treat specially.
    pub mod lsp {
        use core::ops::Range;
        pub const ORIGIN: usize = 16;
        pub const LIFETIME: Range<usize> = 32..34;
        pub const CHECKSUM: Range<usize> = 34..38;
    }
}

/// Why a byte string is not a valid SSTP frame or PDU, or why a value cannot
/// be encoded. Each variant is one drop reason ([`SstpError::reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SstpError {
    /// The buffer ends before the Ethernet header, the common header, or
    /// the end of the PDU that the length field announces.
    #[error("truncated {what}: {len} octets, need {need}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Octets available.
        len: usize,
        /// Octets required.
        need: usize,
    },
    /// The frame is not SSTP: the destination is not
    /// [`SSTP_GROUP_ADDRESS`], or the EtherType is not [`SSTP_ETHERTYPE`]
    /// (a VLAN-tagged frame shows its TPID here: SSTP is never tagged).
    #[error("not SSTP: destination {dst}, EtherType {ethertype:#06x}")]
    NotSstp {
        /// Destination address of the frame.
        dst: MacAddr,
        /// The EtherType (or TPID) after the source address.
        ethertype: u16,
    },
    /// The version octet is not [`SSTP_VERSION`]. Checked before anything
    /// else, since another version may lay out the rest differently.
    #[error("SSTP version {0} is not {SSTP_VERSION}")]
    UnknownVersion(u8),
    /// The PDU length field is shorter than the header and fixed part of
    /// the PDU's type, or longer than [`MAX_PDU_LEN`].
    #[error("PDU length {length} invalid (need {min}..={max})")]
    BadLength {
        /// The PDU length field.
        length: u16,
        /// The least this PDU type needs.
        min: usize,
        /// The most allowed.
        max: usize,
    },
    /// A CRC-32 does not match: the PDU checksum of the common header, or
    /// the content checksum of an LSP.
    #[error("bad {what}: carried {carried:#010x}, computed {computed:#010x}")]
    BadChecksum {
        /// `"PDU checksum"` or `"LSP content checksum"`.
        what: &'static str,
        /// The value in the PDU.
        carried: u32,
        /// The value computed over the received octets.
        computed: u32,
    },
    /// The PDU type octet is not one version 1 defines.
    #[error("unknown SSTP PDU type {0}")]
    UnknownPduType(u8),
    /// A TLV with the mandatory bit set whose type this receiver does not
    /// know: the sender relies on it, so the PDU cannot be used without it.
    #[error("unknown mandatory TLV type {tlv_type:#06x}")]
    UnknownMandatoryTlv {
        /// The TLV type.
        tlv_type: u16,
    },
    /// A TLV runs past the end of the PDU (or its 4-octet header does), or
    /// a known TLV's value length is not what its layout needs.
    #[error("TLV type {tlv_type:#06x} has a bad length {length}")]
    BadTlvLength {
        /// The TLV type (0 if not even the type fits).
        tlv_type: u16,
        /// The value length field, or the octets left when the header is cut.
        length: usize,
    },
    /// A known TLV's value is malformed beyond its length (a hostname that
    /// is not UTF-8).
    #[error("TLV type {tlv_type:#06x} has a malformed value")]
    BadTlvValue {
        /// The TLV type.
        tlv_type: u16,
    },
    /// A known TLV where it does not belong: in a PDU type that does not
    /// carry it, a SYSTEM TLV in an LSP fragment other than 0, or a second
    /// copy of a TLV that a PDU carries at most once.
    #[error("TLV type {tlv_type:#06x} unexpected in PDU type {pdu_type}")]
    UnexpectedTlv {
        /// The PDU type octet.
        pdu_type: u8,
        /// The TLV type.
        tlv_type: u16,
    },
    /// LSP fragment 0 without its SYSTEM TLV: without the bridge ID the
    /// originator cannot take part in the spanning-tree enhancements.
    #[error("LSP fragment 0 of {0} has no SYSTEM TLV")]
    MissingSystemTlv(SystemId),
    /// An LSP in any encoding but its one canonical encoding (TLVs in
    /// order, each known list in one non-empty TLV, reserved octets zero).
    /// Relays re-encode LSPs, so a non-canonical one would change its
    /// content checksum on the way.
    #[error("LSP {0} is not in its canonical encoding")]
    NonCanonical(LspId),
    /// Encoding this value would exceed [`MAX_PDU_LEN`] (or a hostname
    /// [`Hostname::MAX_LEN`]): never truncated silently.
    #[error("encoding needs {len} octets, more than the {max} allowed")]
    TooLong {
        /// Octets the encoding would need.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The buffer given to an `emit` is too small.
    #[error("buffer of {len} octets too small, need {need}")]
    BufferTooSmall {
        /// Octets available.
        len: usize,
        /// Octets required.
        need: usize,
    },
}

impl SstpError {
    /// Every label [`SstpError::reason`] returns, so that metrics can
    /// register one counter per reason up front.
    pub const REASONS: &'static [&'static str] = &[
        "truncated",
        "not_sstp",
        "unknown_version",
        "bad_length",
        "bad_checksum",
        "unknown_pdu_type",
        "unknown_mandatory_tlv",
        "bad_tlv_length",
        "bad_tlv_value",
        "unexpected_tlv",
        "missing_system_tlv",
        "non_canonical",
        "too_long",
        "buffer_too_small",
    ];

    /// A stable snake_case label for this kind of error: a metric label
    /// value (`satellite_sstp_rx_dropped_total{reason="bad_checksum"}`).
    pub fn reason(&self) -> &'static str {
        match self {
            SstpError::Truncated { .. } => "truncated",
            SstpError::NotSstp { .. } => "not_sstp",
            SstpError::UnknownVersion(_) => "unknown_version",
            SstpError::BadLength { .. } => "bad_length",
            SstpError::BadChecksum { .. } => "bad_checksum",
            SstpError::UnknownPduType(_) => "unknown_pdu_type",
            SstpError::UnknownMandatoryTlv { .. } => "unknown_mandatory_tlv",
            SstpError::BadTlvLength { .. } => "bad_tlv_length",
            SstpError::BadTlvValue { .. } => "bad_tlv_value",
            SstpError::UnexpectedTlv { .. } => "unexpected_tlv",
            SstpError::MissingSystemTlv(_) => "missing_system_tlv",
            SstpError::NonCanonical(_) => "non_canonical",
            SstpError::TooLong { .. } => "too_long",
            SstpError::BufferTooSmall { .. } => "buffer_too_small",
        }
    }
}

/// The PDU type octet. Total: unknown types are kept, so the view can
/// report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PduType {
    /// 1: HELLO, the per-link adjacency PDU.
    Hello,
    /// 2: LSP, one fragment of a switch's link-state advertisement.
    Lsp,
    /// 3: CSNP, complete sequence-number summary of a range of LSPs.
    Csnp,
    /// 4: PSNP, partial sequence-number summary (acknowledge or request).
    Psnp,
    /// 5: FAIL, a failure notice flooded ahead of the new LSP.
    Fail,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for PduType {
    fn from(v: u8) -> Self {
        match v {
            1 => PduType::Hello,
            2 => PduType::Lsp,
            3 => PduType::Csnp,
            4 => PduType::Psnp,
            5 => PduType::Fail,
            v => PduType::Unknown(v),
        }
    }
}

impl From<PduType> for u8 {
    fn from(t: PduType) -> u8 {
        match t {
            PduType::Hello => 1,
            PduType::Lsp => 2,
            PduType::Csnp => 3,
            PduType::Psnp => 4,
            PduType::Fail => 5,
            PduType::Unknown(v) => v,
        }
    }
}

impl PduType {
    /// Octets of this type's fixed part; `None` for an unknown type.
    pub const fn fixed_len(self) -> Option<usize> {
        match self {
            PduType::Hello => Some(HELLO_FIXED_LEN),
            PduType::Lsp => Some(LSP_FIXED_LEN),
            PduType::Csnp => Some(CSNP_FIXED_LEN),
            PduType::Psnp => Some(0),
            PduType::Fail => Some(FAIL_FIXED_LEN),
            PduType::Unknown(_) => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Reading and writing octets.

/// A cursor over received octets (rustls' `Reader`): every read is bounds
/// checked and returns `None` past the end, so no input can make it panic.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_be_bytes)
    }
    fn mac(&mut self) -> Option<MacAddr> {
        self.array().map(MacAddr)
    }
    fn system_id(&mut self) -> Option<SystemId> {
        self.mac().map(SystemId)
    }
    fn bridge_id(&mut self) -> Option<BridgeId> {
        Some(BridgeId::new(self.u16()?, self.mac()?))
    }
    fn lsp_id(&mut self) -> Option<LspId> {
        Some(LspId {
            origin: self.system_id()?,
            fragment: self.u16()?,
        })
    }
    fn rest(&self) -> &'a [u8] {
        self.buf
    }
}

/// Where encoded octets go: a caller's buffer, a CRC, or a comparison with
/// received octets. One encoder serves all three, so the checksum and the
/// canonical check can never disagree with what `emit` writes.
trait Sink {
    fn put(&mut self, bytes: &[u8]);

    fn u8(&mut self, v: u8) {
        self.put(&[v])
    }
    fn u16(&mut self, v: u16) {
        self.put(&v.to_be_bytes())
    }
    fn u32(&mut self, v: u32) {
        self.put(&v.to_be_bytes())
    }
    fn u64(&mut self, v: u64) {
        self.put(&v.to_be_bytes())
    }
    fn mac(&mut self, m: MacAddr) {
        self.put(&m.0)
    }
    fn bridge_id(&mut self, b: BridgeId) {
        self.u16(b.priority);
        self.mac(b.mac);
    }
    fn lsp_id(&mut self, id: LspId) {
        self.mac(id.origin.0);
        self.u16(id.fragment);
    }
    /// A TLV header; the caller has checked that `len` fits the PDU, so it
    /// fits in 16 bits.
    fn tlv_header(&mut self, tlv_type: u16, len: usize) {
        self.u16(tlv_type);
        self.u16(u16::try_from(len).unwrap_or(u16::MAX));
    }
}

/// Writes into a slice the caller sized with `encoded_len`. Octets past its
/// end are dropped rather than panicking; `emit` checks the count.
struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Sink for Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
        }
        self.pos = end;
    }
}

impl Sink for crc32fast::Hasher {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes)
    }
}

/// Compares what is put with the octets expected, without a copy.
struct Compare<'a> {
    expect: &'a [u8],
    pos: usize,
    equal: bool,
}

impl Sink for Compare<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        self.equal &= self.expect.get(self.pos..end) == Some(bytes);
        self.pos = end;
    }
}

// ---------------------------------------------------------------------------
// The common header.

/// A zero-copy view of an SSTP PDU (from the version octet), validated once
/// by [`SstpPacket::new_checked`] so that no getter can panic.
#[derive(Debug, Clone, Copy)]
pub struct SstpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> SstpPacket<T> {
    /// Wraps a buffer without checking it; getters may then panic.
    pub const fn new_unchecked(buffer: T) -> Self {
        SstpPacket { buffer }
    }

    /// Wraps a buffer after [`SstpPacket::check`]. Octets after the PDU
    /// length (Ethernet padding) are allowed and ignored.
    pub fn new_checked(buffer: T) -> Result<Self, SstpError> {
        let p = Self::new_unchecked(buffer);
        p.check()?;
        Ok(p)
    }

    /// Checks, in this order: the header fits; the version is
    /// [`SSTP_VERSION`] (another version may have another header); the PDU
    /// length is at least the header and at most [`MAX_PDU_LEN`]; the
    /// buffer holds that many octets. The checksum and the PDU type are
    /// left to [`SstpPdu::parse`].
    pub fn check(&self) -> Result<(), SstpError> {
        let b = self.buffer.as_ref();
        if b.len() < SSTP_HEADER_LEN {
            return Err(SstpError::Truncated {
                what: "SSTP header",
                len: b.len(),
                need: SSTP_HEADER_LEN,
            });
        }
        if b[field::VERSION] != SSTP_VERSION {
            return Err(SstpError::UnknownVersion(b[field::VERSION]));
        }
        let length = self.pdu_length();
        if !(SSTP_HEADER_LEN..=MAX_PDU_LEN).contains(&usize::from(length)) {
            return Err(SstpError::BadLength {
                length,
                min: SSTP_HEADER_LEN,
                max: MAX_PDU_LEN,
            });
        }
        if usize::from(length) > b.len() {
            return Err(SstpError::Truncated {
                what: "SSTP PDU",
                len: b.len(),
                need: length.into(),
            });
        }
        Ok(())
    }

    /// Releases the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }
    /// Version octet.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION]
    }
    /// PDU type.
    pub fn pdu_type(&self) -> PduType {
        self.buffer.as_ref()[field::PDU_TYPE].into()
    }
    /// PDU length: octets from the version to the end of the last TLV.
    pub fn pdu_length(&self) -> u16 {
        self.u16_at(field::PDU_LENGTH)
    }
    /// The PDU checksum as carried.
    pub fn checksum(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    /// The switch that sent this PDU on this link.
    pub fn sender(&self) -> SystemId {
        let mut a = [0u8; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::SENDER]);
        SystemId(MacAddr(a))
    }
    /// The sending switch's port index (0-based).
    pub fn sender_port(&self) -> u16 {
        self.u16_at(field::SENDER_PORT)
    }
    /// The PDU's octets, without any padding after it.
    pub fn pdu(&self) -> &[u8] {
        &self.buffer.as_ref()[..usize::from(self.pdu_length())]
    }
    /// The type-specific fixed part and the TLVs.
    pub fn body(&self) -> &[u8] {
        &self.pdu()[SSTP_HEADER_LEN..]
    }
    /// CRC-32 of the PDU with the checksum field taken as zero.
    pub fn compute_checksum(&self) -> u32 {
        pdu_checksum(self.pdu())
    }
    /// Checks the PDU checksum.
    pub fn verify_checksum(&self) -> Result<(), SstpError> {
        let (carried, computed) = (self.checksum(), self.compute_checksum());
        if carried != computed {
            return Err(SstpError::BadChecksum {
                what: "PDU checksum",
                carried,
                computed,
            });
        }
        Ok(())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SstpPacket<T> {
    /// Sets the version octet.
    pub fn set_version(&mut self, v: u8) {
        self.buffer.as_mut()[field::VERSION] = v;
    }
    /// Sets the PDU type.
    pub fn set_pdu_type(&mut self, t: PduType) {
        self.buffer.as_mut()[field::PDU_TYPE] = t.into();
    }
    /// Sets the PDU length.
    pub fn set_pdu_length(&mut self, l: u16) {
        self.buffer.as_mut()[field::PDU_LENGTH].copy_from_slice(&l.to_be_bytes());
    }
    /// Sets the sender.
    pub fn set_sender(&mut self, s: SystemId) {
        self.buffer.as_mut()[field::SENDER].copy_from_slice(&s.0 .0);
    }
    /// Sets the sender port.
    pub fn set_sender_port(&mut self, p: u16) {
        self.buffer.as_mut()[field::SENDER_PORT].copy_from_slice(&p.to_be_bytes());
    }
    /// Computes and writes the PDU checksum; call it last, after every
    /// other field of the PDU is written.
    pub fn fill_checksum(&mut self) {
        let c = self.compute_checksum();
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }
    /// Computes and writes an LSP's content checksum over the PDU as it
    /// stands, if the PDU is long enough to hold one; then
    /// [`fill_checksum`](Self::fill_checksum) must follow. For tools that
    /// edit PDUs byte by byte (fuzzers), so edits reach the TLV parser
    /// instead of stopping at the checksums.
    pub fn fill_lsp_checksum(&mut self) {
        let len = usize::from(self.pdu_length()).min(self.buffer.as_ref().len());
        let pdu = &mut self.buffer.as_mut()[..len];
        if pdu.len() >= field::lsp::CHECKSUM.end {
            let c = lsp_content_checksum(pdu);
            pdu[field::lsp::CHECKSUM].copy_from_slice(&c.to_be_bytes());
        }
    }
}

/// CRC-32 (IEEE 802.3) of `pdu` with octets 4..8 taken as zero.
fn pdu_checksum(pdu: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&pdu[..field::CHECKSUM.start]);
    h.update(&[0; 4]);
    h.update(&pdu[field::CHECKSUM.end..]);
    h.finalize()
}

// ---------------------------------------------------------------------------
// TLVs.

/// One TLV as received: its type (mandatory bit included) and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The type, mandatory bit included.
    pub tlv_type: u16,
    /// The value.
    pub value: &'a [u8],
}

impl Tlv<'_> {
    /// True when a receiver that does not know the type must drop the PDU.
    pub const fn is_mandatory(&self) -> bool {
        self.tlv_type & TLV_MANDATORY != 0
    }
}

/// Walks the TLVs of a PDU; yields an error (and then nothing) when one
/// runs past the end.
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
}

impl<'a> TlvIter<'a> {
    /// Walks `bytes`, which must end where the PDU ends.
    pub const fn new(bytes: &'a [u8]) -> Self {
        TlvIter { rest: bytes }
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>, SstpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let mut r = Reader::new(self.rest);
        let parsed = (|| {
            let tlv_type = r.u16();
            let length = r.u16();
            let (Some(tlv_type), Some(length)) = (tlv_type, length) else {
                let tlv_type = tlv_type.unwrap_or(0);
                return Err(SstpError::BadTlvLength {
                    tlv_type,
                    length: self.rest.len(),
                });
            };
            let value = r.take(length.into()).ok_or(SstpError::BadTlvLength {
                tlv_type,
                length: length.into(),
            })?;
            Ok(Tlv { tlv_type, value })
        })();
        self.rest = if parsed.is_ok() { r.rest() } else { &[] };
        Some(parsed)
    }
}

/// A TLV this receiver does not handle in this PDU: a known type is a
/// broken sender; an unknown mandatory one cannot be ignored; an unknown
/// optional one is returned for the caller to skip or keep.
fn not_handled(pdu_type: PduType, t: Tlv<'_>) -> Result<Tlv<'_>, SstpError> {
    if KNOWN_TLV_TYPES.contains(&t.tlv_type) {
        Err(SstpError::UnexpectedTlv {
            pdu_type: pdu_type.into(),
            tlv_type: t.tlv_type,
        })
    } else if t.is_mandatory() {
        Err(SstpError::UnknownMandatoryTlv {
            tlv_type: t.tlv_type,
        })
    } else {
        Ok(t)
    }
}

/// Sets a TLV that a PDU carries at most once.
fn set_once<V>(
    slot: &mut Option<V>,
    pdu_type: PduType,
    t: &Tlv<'_>,
    value: V,
) -> Result<(), SstpError> {
    if slot.is_some() {
        return Err(SstpError::UnexpectedTlv {
            pdu_type: pdu_type.into(),
            tlv_type: t.tlv_type,
        });
    }
    *slot = Some(value);
    Ok(())
}

/// The entries of a list TLV, each `len` octets; a value that is not a
/// whole number of entries is [`SstpError::BadTlvLength`].
fn entries<'a>(
    t: &Tlv<'a>,
    len: usize,
) -> Result<impl Iterator<Item = Reader<'a>> + 'a, SstpError> {
    let chunks = t.value.chunks_exact(len);
    if !chunks.remainder().is_empty() {
        return Err(SstpError::BadTlvLength {
            tlv_type: t.tlv_type,
            length: t.value.len(),
        });
    }
    Ok(chunks.map(Reader::new))
}

/// Octets of a list TLV of `n` entries of `len` octets: none when empty, as
/// the canonical encoding never sends an empty list.
const fn list_len(n: usize, len: usize) -> usize {
    if n == 0 {
        0
    } else {
        TLV_HEADER_LEN + n * len
    }
}

/// A TLV whose type this codec does not know, kept so that an LSP can be
/// flooded on unchanged by switches older than its originator.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawTlv {
    /// The type; never mandatory, never one of [`KNOWN_TLV_TYPES`].
    pub tlv_type: u16,
    /// The value.
    pub value: Vec<u8>,
}

impl RawTlv {
    fn emit(&self, out: &mut impl Sink) {
        out.tlv_header(self.tlv_type, self.value.len());
        out.put(&self.value);
    }
}

/// Writes the unknown TLVs that sort before the known type `known`.
fn put_raw_before<'a>(
    out: &mut impl Sink,
    others: &mut core::iter::Peekable<core::slice::Iter<'a, RawTlv>>,
    known: u16,
) {
    while let Some(t) = others.next_if(|t| tlv_order(t.tlv_type) < tlv_order(known)) {
        t.emit(out);
    }
}

/// The order of TLVs in a canonical LSP: by type code without the
/// mandatory bit, then by the whole type.
fn tlv_order(tlv_type: u16) -> (u16, u16) {
    (tlv_type & !TLV_MANDATORY, tlv_type)
}

/// A hostname for display (`show sstp`), UTF-8, at most
/// [`Hostname::MAX_LEN`] octets: the type makes an over-long one
/// unrepresentable, so `emit` never has to truncate it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Hostname(String);

impl Hostname {
    /// Most octets a hostname has on the wire.
    pub const MAX_LEN: usize = 64;

    /// The hostname `s`, or `None` if it is longer than [`Hostname::MAX_LEN`].
    pub fn new(s: &str) -> Option<Hostname> {
        (s.len() <= Self::MAX_LEN).then(|| Hostname(s.to_owned()))
    }

    /// The longest prefix of `s` that fits, cut at a character boundary:
    /// for a system name that may be longer than the wire allows.
    pub fn truncated(s: &str) -> Hostname {
        let mut end = s.len().min(Self::MAX_LEN);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        Hostname(s[..end].to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn from_tlv(t: &Tlv<'_>) -> Result<Hostname, SstpError> {
        if t.value.len() > Self::MAX_LEN {
            return Err(SstpError::BadTlvLength {
                tlv_type: t.tlv_type,
                length: t.value.len(),
            });
        }
        let s = core::str::from_utf8(t.value).map_err(|_| SstpError::BadTlvValue {
            tlv_type: t.tlv_type,
        })?;
        Ok(Hostname(s.to_owned()))
    }

    fn tlv_len(&self) -> usize {
        TLV_HEADER_LEN + self.0.len()
    }

    fn emit(&self, out: &mut impl Sink) {
        out.tlv_header(TLV_HOSTNAME, self.0.len());
        out.put(self.0.as_bytes());
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl From<Hostname> for String {
    fn from(h: Hostname) -> String {
        h.0
    }
}

impl TryFrom<String> for Hostname {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s.len() > Self::MAX_LEN {
            return Err(format!(
                "hostname of {} octets is over {}",
                s.len(),
                Self::MAX_LEN
            ));
        }
        Ok(Hostname(s))
    }
}

// ---------------------------------------------------------------------------
// HELLO.

/// The neighbour a HELLO's sender last heard on this port: the two-way
/// check (the adjacency is up when each side sees itself here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct HelloNeighbour {
    /// The neighbour switch.
    pub system: SystemId,
    /// The neighbour's port index, from its HELLO's sender port.
    pub port: u16,
    /// The neighbour's session nonce, from its HELLO.
    pub nonce: u64,
}

impl HelloNeighbour {
    fn is_none(&self) -> bool {
        *self == HelloNeighbour::default()
    }
}

/// HELLO (type 1): sent on every fabric port every hello interval.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Hello {
    /// Chosen at random when the sender starts, new on every restart: a
    /// neighbour that sees it change knows the adjacency restarted even if
    /// it missed no HELLO.
    pub nonce: u64,
    /// The sender's hello interval, in microseconds.
    pub hello_interval_us: u32,
    /// Missed HELLOs after which the receiver declares the adjacency down.
    pub dead_count: u8,
    /// Flags; none defined, sent as 0, kept as received.
    pub flags: u8,
    /// The neighbour last heard on this port; `None` is sent as all zeros
    /// (so `Some` of all zeros encodes as `None`).
    pub neighbour: Option<HelloNeighbour>,
    /// The sender's hostname (optional TLV).
    pub hostname: Option<Hostname>,
    /// The RSTP bridge ID the sender uses (optional TLV).
    pub bridge_id: Option<BridgeId>,
}

impl Hello {
    fn body_len(&self) -> usize {
        HELLO_FIXED_LEN
            + self.hostname.as_ref().map_or(0, Hostname::tlv_len)
            + self
                .bridge_id
                .map_or(0, |_| TLV_HEADER_LEN + BRIDGE_ID_TLV_LEN)
    }

    fn parse(body: &[u8]) -> Result<Hello, SstpError> {
        let mut r = Reader::new(body);
        let mut fixed = || -> Option<Hello> {
            let nonce = r.u64()?;
            let hello_interval_us = r.u32()?;
            let dead_count = r.u8()?;
            let flags = r.u8()?;
            let _reserved = r.u16()?;
            let n = HelloNeighbour {
                system: r.system_id()?,
                port: r.u16()?,
                nonce: r.u64()?,
            };
            Some(Hello {
                nonce,
                hello_interval_us,
                dead_count,
                flags,
                neighbour: (!n.is_none()).then_some(n),
                hostname: None,
                bridge_id: None,
            })
        };
        let Some(mut h) = fixed() else {
            return Err(bad_length(PduType::Hello, body.len()));
        };
        for t in TlvIter::new(r.rest()) {
            let t = t?;
            match t.tlv_type {
                TLV_HOSTNAME => {
                    set_once(&mut h.hostname, PduType::Hello, &t, Hostname::from_tlv(&t)?)?
                }
                TLV_BRIDGE_ID => {
                    let mut v = Reader::new(t.value);
                    let bridge_id = match (v.bridge_id(), v.rest().is_empty()) {
                        (Some(b), true) => b,
                        _ => {
                            return Err(SstpError::BadTlvLength {
                                tlv_type: t.tlv_type,
                                length: t.value.len(),
                            })
                        }
                    };
                    set_once(&mut h.bridge_id, PduType::Hello, &t, bridge_id)?
                }
                _ => {
                    not_handled(PduType::Hello, t)?;
                }
            }
        }
        Ok(h)
    }

    fn emit(&self, out: &mut impl Sink) {
        out.u64(self.nonce);
        out.u32(self.hello_interval_us);
        out.u8(self.dead_count);
        out.u8(self.flags);
        out.u16(0);
        let n = self.neighbour.unwrap_or_default();
        out.mac(n.system.0);
        out.u16(n.port);
        out.u64(n.nonce);
        if let Some(h) = &self.hostname {
            h.emit(out);
        }
        if let Some(b) = self.bridge_id {
            out.tlv_header(TLV_BRIDGE_ID, BRIDGE_ID_TLV_LEN);
            out.bridge_id(b);
        }
    }
}

/// The length error for a PDU whose length field leaves no room for its
/// fixed part.
fn bad_length(t: PduType, body_len: usize) -> SstpError {
    SstpError::BadLength {
        length: u16::try_from(SSTP_HEADER_LEN + body_len).unwrap_or(u16::MAX),
        min: SSTP_HEADER_LEN + t.fixed_len().unwrap_or(0),
        max: MAX_PDU_LEN,
    }
}

// ---------------------------------------------------------------------------
// LSP.

/// Names one LSP fragment: its originator and fragment number. Ordered by
/// origin, then fragment, as summaries list them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct LspId {
    /// The switch that originated the LSP.
    pub origin: SystemId,
    /// The fragment number, 0 first.
    pub fragment: u16,
}

impl fmt::Display for LspId {
    /// `02:00:00:00:00:01-0003`, like IS-IS's `system-id.00-fragment`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:04x}", self.origin, self.fragment)
    }
}

/// The LSP flags octet, kept raw so that bits a later version defines
/// survive relaying by this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LspFlags(pub u8);

impl LspFlags {
    /// Bit 0: the originator hit a limit (too many entries for its
    /// fragments) and this LSP is incomplete; do not trust it as the whole
    /// truth about the originator.
    pub const OVERLOAD: u8 = 0x01;

    /// The overload bit.
    pub const fn overload(self) -> bool {
        self.0 & Self::OVERLOAD != 0
    }
    /// Sets or clears the overload bit.
    pub fn set_overload(&mut self, v: bool) {
        if v {
            self.0 |= Self::OVERLOAD
        } else {
            self.0 &= !Self::OVERLOAD
        }
    }
}

/// The SYSTEM TLV of LSP fragment 0: what the spanning-tree layer needs to
/// know of a Satellite switch it has never heard a BPDU from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SystemInfo {
    /// The RSTP bridge ID the originator uses (priority included), so that
    /// root information naming it can be checked against reachability.
    pub bridge_id: BridgeId,
    /// Flags; none defined, sent as 0, kept as received.
    pub flags: u8,
}

/// One link of the originator to another Satellite switch.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Adjacency {
    /// The switch at the other end.
    pub neighbour: SystemId,
    /// The originator's port index.
    pub local_port: u16,
    /// The neighbour's port index.
    pub remote_port: u16,
    /// Path cost of the link (802.1t, from the link speed).
    pub cost: u32,
}

/// A MAC address the originator owns: learned on one of its edge ports.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct MacHome {
    /// Outer VLAN ID (0: untagged).
    pub vid: u16,
    /// The host's MAC.
    pub mac: MacAddr,
}

/// The move sequence of a MAC home (the MAC mobility sequence of RFC 7432
/// section 15, per switch fabric instead of per BGP route): a switch that
/// learns a host another switch advertises advertises it with a higher
/// sequence, and every switch gives the host to the highest. A home with
/// no entry has sequence 0, so hosts that never moved cost nothing.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct MacMove {
    /// The home that moved.
    pub home: MacHome,
    /// How many moves its owners have counted; higher is more recent.
    pub sequence: u32,
}

/// An IPv4-to-MAC binding the originator owns (ARPless).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BindingEntry {
    /// Outer VLAN ID (0: untagged).
    pub vid: u16,
    /// The host's IPv4 address.
    pub ip: Ipv4Addr,
    /// The host's MAC.
    pub mac: MacAddr,
}

/// LSP (type 2): one fragment of a switch's link-state advertisement.
///
/// The canonical encoding, the only one emitted or accepted: after the
/// fixed part, the TLVs ordered by type code (the type without its
/// mandatory bit): SYSTEM (fragment 0 only), HOSTNAME, ADJACENCIES,
/// MAC_HOMES, IPV4_BINDINGS, MAC_MOVES, with [`Lsp::other_tlvs`] in their places by
/// code; each known list in one TLV, left out when empty; reserved octets
/// zero. Entries keep their order (the originator chooses it; sorting them
/// is the engine's business).
///
/// The content checksum is not a field: it is a function of the value
/// ([`Lsp::content_checksum`]), computed by `emit` and verified by `parse`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Lsp {
    /// Originator and fragment number.
    pub id: LspId,
    /// Sequence number: higher is newer.
    pub sequence: u64,
    /// Remaining lifetime in seconds; the only field that changes as the
    /// LSP is flooded, so neither checksum of content covers it.
    pub lifetime_secs: u16,
    /// Flags (overload).
    pub flags: LspFlags,
    /// SYSTEM TLV: present in fragment 0, absent in every other.
    pub system: Option<SystemInfo>,
    /// HOSTNAME TLV.
    pub hostname: Option<Hostname>,
    /// ADJACENCIES TLV.
    pub adjacencies: Vec<Adjacency>,
    /// MAC_HOMES TLV.
    pub mac_homes: Vec<MacHome>,
    /// IPV4_BINDINGS TLV.
    pub bindings: Vec<BindingEntry>,
    /// MAC_MOVES TLV.
    pub mac_moves: Vec<MacMove>,
    /// Optional TLVs of types this codec does not know, kept in order.
    pub other_tlvs: Vec<RawTlv>,
}

impl Lsp {
    /// An empty fragment; fragment 0 still needs [`Lsp::system`].
    pub fn new(id: LspId, sequence: u64, lifetime_secs: u16) -> Lsp {
        Lsp {
            id,
            sequence,
            lifetime_secs,
            ..Lsp::default()
        }
    }

    /// Octets of the whole PDU this LSP encodes to, header included.
    pub fn encoded_len(&self) -> usize {
        SSTP_HEADER_LEN
            + LSP_FIXED_LEN
            + self.system.map_or(0, |_| TLV_HEADER_LEN + SYSTEM_TLV_LEN)
            + self.hostname.as_ref().map_or(0, Hostname::tlv_len)
            + list_len(self.adjacencies.len(), ADJACENCY_LEN)
            + list_len(self.mac_homes.len(), MAC_HOME_LEN)
            + list_len(self.bindings.len(), BINDING_LEN)
            + list_len(self.mac_moves.len(), MAC_MOVE_LEN)
            + self
                .other_tlvs
                .iter()
                .map(|t| TLV_HEADER_LEN + t.value.len())
                .sum::<usize>()
    }

    /// True when the LSP fits in one PDU ([`MAX_PDU_LEN`]).
    pub fn fits(&self) -> bool {
        self.encoded_len() <= MAX_PDU_LEN
    }

    /// Octets still free in this fragment (0 when it is already too big).
    /// The first entry of an empty list costs [`TLV_HEADER_LEN`] more than
    /// its entry length; every further entry just its length.
    pub fn room_left(&self) -> usize {
        MAX_PDU_LEN.saturating_sub(self.encoded_len())
    }

    /// CRC-32 of the canonical encoding from the origin to the end of the
    /// TLVs, with remaining lifetime and checksum taken as zero: the same at
    /// every switch and for the whole life of this sequence number, so
    /// summaries compare it. Meaningful only for an LSP that [`Lsp::fits`].
    pub fn content_checksum(&self) -> u32 {
        let mut h = crc32fast::Hasher::new();
        self.emit_content(&mut h, 0, 0);
        h.finalize()
    }

    /// The summary entry for this LSP, as a CSNP or PSNP lists it.
    pub fn entry(&self) -> LspEntry {
        LspEntry {
            id: self.id,
            sequence: self.sequence,
            lifetime_secs: self.lifetime_secs,
            checksum: self.content_checksum(),
        }
    }

    /// The errors `emit` reports for a value with no valid encoding.
    fn check_encodable(&self) -> Result<(), SstpError> {
        match (self.id.fragment, self.system.is_some()) {
            (0, false) => return Err(SstpError::MissingSystemTlv(self.id.origin)),
            (1.., true) => {
                return Err(SstpError::UnexpectedTlv {
                    pdu_type: PduType::Lsp.into(),
                    tlv_type: TLV_SYSTEM,
                })
            }
            _ => {}
        }
        for t in &self.other_tlvs {
            if KNOWN_TLV_TYPES.contains(&t.tlv_type) {
                return Err(SstpError::UnexpectedTlv {
                    pdu_type: PduType::Lsp.into(),
                    tlv_type: t.tlv_type,
                });
            }
            if t.tlv_type & TLV_MANDATORY != 0 {
                return Err(SstpError::UnknownMandatoryTlv {
                    tlv_type: t.tlv_type,
                });
            }
        }
        if self
            .other_tlvs
            .windows(2)
            .any(|w| tlv_order(w[0].tlv_type) > tlv_order(w[1].tlv_type))
        {
            return Err(SstpError::NonCanonical(self.id));
        }
        Ok(())
    }

    /// Writes the LSP from the origin to the end of the TLVs in canonical
    /// form, with the given lifetime and checksum fields.
    fn emit_content(&self, out: &mut impl Sink, lifetime: u16, checksum: u32) {
        out.lsp_id(self.id);
        out.u64(self.sequence);
        out.u16(lifetime);
        out.u32(checksum);
        out.u8(self.flags.0);
        out.u8(0);
        let mut others = self.other_tlvs.iter().peekable();
        // The known types in canonical order, each preceded by the unknown
        // ones whose code sorts before it.
        put_raw_before(out, &mut others, TLV_SYSTEM);
        if let Some(s) = self.system {
            out.tlv_header(TLV_SYSTEM, SYSTEM_TLV_LEN);
            out.bridge_id(s.bridge_id);
            out.u8(s.flags);
            out.u8(0);
        }
        put_raw_before(out, &mut others, TLV_HOSTNAME);
        if let Some(h) = &self.hostname {
            h.emit(out);
        }
        put_raw_before(out, &mut others, TLV_ADJACENCIES);
        if !self.adjacencies.is_empty() {
            out.tlv_header(TLV_ADJACENCIES, self.adjacencies.len() * ADJACENCY_LEN);
            for a in &self.adjacencies {
                out.mac(a.neighbour.0);
                out.u16(a.local_port);
                out.u16(a.remote_port);
                out.u32(a.cost);
            }
        }
        put_raw_before(out, &mut others, TLV_MAC_HOMES);
        if !self.mac_homes.is_empty() {
            out.tlv_header(TLV_MAC_HOMES, self.mac_homes.len() * MAC_HOME_LEN);
            for m in &self.mac_homes {
                out.u16(m.vid);
                out.mac(m.mac);
            }
        }
        put_raw_before(out, &mut others, TLV_IPV4_BINDINGS);
        if !self.bindings.is_empty() {
            out.tlv_header(TLV_IPV4_BINDINGS, self.bindings.len() * BINDING_LEN);
            for b in &self.bindings {
                out.u16(b.vid);
                out.put(&b.ip.octets());
                out.mac(b.mac);
            }
        }
        put_raw_before(out, &mut others, TLV_MAC_MOVES);
        if !self.mac_moves.is_empty() {
            out.tlv_header(TLV_MAC_MOVES, self.mac_moves.len() * MAC_MOVE_LEN);
            for m in &self.mac_moves {
                out.u16(m.home.vid);
                out.mac(m.home.mac);
                out.u32(m.sequence);
            }
        }
        for t in others {
            t.emit(out);
        }
    }

    /// Parses and verifies an LSP; `pdu` is the whole PDU (header included,
    /// padding excluded).
    fn parse(pdu: &[u8]) -> Result<Lsp, SstpError> {
        let content = pdu.get(field::lsp::ORIGIN..).unwrap_or_default();
        let mut r = Reader::new(content);
        let mut fixed = || -> Option<(Lsp, u32, u8)> {
            let id = r.lsp_id()?;
            let sequence = r.u64()?;
            let lifetime_secs = r.u16()?;
            let checksum = r.u32()?;
            let flags = LspFlags(r.u8()?);
            let reserved = r.u8()?;
            let mut lsp = Lsp::new(id, sequence, lifetime_secs);
            lsp.flags = flags;
            Some((lsp, checksum, reserved))
        };
        let Some((mut lsp, carried, _reserved)) = fixed() else {
            return Err(bad_length(PduType::Lsp, content.len()));
        };
        let computed = lsp_content_checksum(pdu);
        if carried != computed {
            return Err(SstpError::BadChecksum {
                what: "LSP content checksum",
                carried,
                computed,
            });
        }
        let t_lsp = PduType::Lsp;
        for t in TlvIter::new(r.rest()) {
            let t = t?;
            let bad_len = SstpError::BadTlvLength {
                tlv_type: t.tlv_type,
                length: t.value.len(),
            };
            match t.tlv_type {
                TLV_SYSTEM if lsp.id.fragment == 0 => {
                    if t.value.len() != SYSTEM_TLV_LEN {
                        return Err(bad_len);
                    }
                    let mut v = Reader::new(t.value);
                    let s = (|| {
                        Some(SystemInfo {
                            bridge_id: v.bridge_id()?,
                            flags: v.u8()?,
                        })
                    })()
                    .ok_or(bad_len)?;
                    set_once(&mut lsp.system, t_lsp, &t, s)?;
                }
                TLV_HOSTNAME => set_once(&mut lsp.hostname, t_lsp, &t, Hostname::from_tlv(&t)?)?,
                TLV_ADJACENCIES => {
                    for mut e in entries(&t, ADJACENCY_LEN)? {
                        lsp.adjacencies.push(
                            (|| {
                                Some(Adjacency {
                                    neighbour: e.system_id()?,
                                    local_port: e.u16()?,
                                    remote_port: e.u16()?,
                                    cost: e.u32()?,
                                })
                            })()
                            .ok_or(bad_len)?,
                        );
                    }
                }
                TLV_MAC_HOMES => {
                    for mut e in entries(&t, MAC_HOME_LEN)? {
                        lsp.mac_homes.push(
                            (|| {
                                Some(MacHome {
                                    vid: e.u16()?,
                                    mac: e.mac()?,
                                })
                            })()
                            .ok_or(bad_len)?,
                        );
                    }
                }
                TLV_IPV4_BINDINGS => {
                    for mut e in entries(&t, BINDING_LEN)? {
                        lsp.bindings.push(
                            (|| {
                                Some(BindingEntry {
                                    vid: e.u16()?,
                                    ip: Ipv4Addr::from(e.array::<4>()?),
                                    mac: e.mac()?,
                                })
                            })()
                            .ok_or(bad_len)?,
                        );
                    }
                }
                TLV_MAC_MOVES => {
                    for mut e in entries(&t, MAC_MOVE_LEN)? {
                        lsp.mac_moves.push(
                            (|| {
                                Some(MacMove {
                                    home: MacHome {
                                        vid: e.u16()?,
                                        mac: e.mac()?,
                                    },
                                    sequence: e.u32()?,
                                })
                            })()
                            .ok_or(bad_len)?,
                        );
                    }
                }
                _ => {
                    let t = not_handled(t_lsp, t)?;
                    lsp.other_tlvs.push(RawTlv {
                        tlv_type: t.tlv_type,
                        value: t.value.to_vec(),
                    });
                }
            }
        }
        if lsp.id.fragment == 0 && lsp.system.is_none() {
            return Err(SstpError::MissingSystemTlv(lsp.id.origin));
        }
        // Only the canonical encoding is accepted: re-encode and compare.
        let mut cmp = Compare {
            expect: content,
            pos: 0,
            equal: true,
        };
        lsp.emit_content(&mut cmp, lsp.lifetime_secs, carried);
        if !cmp.equal || cmp.pos != content.len() || lsp.check_encodable().is_err() {
            return Err(SstpError::NonCanonical(lsp.id));
        }
        Ok(lsp)
    }
}

/// The LSP content checksum over a received PDU (header included), whose
/// fixed part the caller has checked is there.
fn lsp_content_checksum(pdu: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(
        pdu.get(field::lsp::ORIGIN..field::lsp::LIFETIME.start)
            .unwrap_or_default(),
    );
    h.update(&[0; 6]);
    h.update(pdu.get(field::lsp::CHECKSUM.end..).unwrap_or_default());
    h.finalize()
}

// ---------------------------------------------------------------------------
// CSNP and PSNP.

/// What a summary says of one LSP: enough to tell whether the receiver's
/// copy is older, newer or the same.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct LspEntry {
    /// Which LSP.
    pub id: LspId,
    /// Its sequence number.
    pub sequence: u64,
    /// Its remaining lifetime, in seconds (0: purged).
    pub lifetime_secs: u16,
    /// Its content checksum ([`Lsp::content_checksum`]).
    pub checksum: u32,
}

fn parse_lsp_entries(
    pdu_type: PduType,
    tlvs: &[u8],
    out: &mut Vec<LspEntry>,
) -> Result<(), SstpError> {
    for t in TlvIter::new(tlvs) {
        let t = t?;
        if t.tlv_type != TLV_LSP_ENTRIES {
            not_handled(pdu_type, t)?;
            continue;
        }
        let bad_len = SstpError::BadTlvLength {
            tlv_type: t.tlv_type,
            length: t.value.len(),
        };
        for mut e in entries(&t, LSP_ENTRY_LEN)? {
            out.push(
                (|| {
                    Some(LspEntry {
                        id: e.lsp_id()?,
                        sequence: e.u64()?,
                        lifetime_secs: e.u16()?,
                        checksum: e.u32()?,
                    })
                })()
                .ok_or(bad_len)?,
            );
        }
    }
    Ok(())
}

fn emit_lsp_entries(entries: &[LspEntry], out: &mut impl Sink) {
    if entries.is_empty() {
        return;
    }
    out.tlv_header(TLV_LSP_ENTRIES, entries.len() * LSP_ENTRY_LEN);
    for e in entries {
        out.lsp_id(e.id);
        out.u64(e.sequence);
        out.u16(e.lifetime_secs);
        out.u32(e.checksum);
    }
}

/// CSNP (type 3): a complete summary of the sender's LSPs in
/// `[start, end]`. Every LSP in that range the receiver does not see listed
/// is unknown to the sender. Several TLVs of entries are read as one list;
/// one is written. Order and range of the entries are the engine's rules,
/// not checked here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Csnp {
    /// First LSP ID of the range covered, inclusive.
    pub start: LspId,
    /// Last LSP ID of the range covered, inclusive.
    pub end: LspId,
    /// The sender's LSPs in the range.
    pub entries: Vec<LspEntry>,
}

impl Csnp {
    /// Most entries one CSNP holds.
    pub const MAX_ENTRIES: usize =
        (MAX_PDU_LEN - SSTP_HEADER_LEN - CSNP_FIXED_LEN - TLV_HEADER_LEN) / LSP_ENTRY_LEN;

    fn parse(body: &[u8]) -> Result<Csnp, SstpError> {
        let mut r = Reader::new(body);
        let (Some(start), Some(end)) = (r.lsp_id(), r.lsp_id()) else {
            return Err(bad_length(PduType::Csnp, body.len()));
        };
        let mut c = Csnp {
            start,
            end,
            entries: Vec::new(),
        };
        parse_lsp_entries(PduType::Csnp, r.rest(), &mut c.entries)?;
        Ok(c)
    }

    fn emit(&self, out: &mut impl Sink) {
        out.lsp_id(self.start);
        out.lsp_id(self.end);
        emit_lsp_entries(&self.entries, out);
    }
}

/// PSNP (type 4): the listed LSPs, acknowledged (the sender has them) or
/// requested (the entry is older than the receiver's), as the engine says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Psnp {
    /// The LSPs listed.
    pub entries: Vec<LspEntry>,
}

impl Psnp {
    /// Most entries one PSNP holds.
    pub const MAX_ENTRIES: usize = (MAX_PDU_LEN - SSTP_HEADER_LEN - TLV_HEADER_LEN) / LSP_ENTRY_LEN;

    fn parse(body: &[u8]) -> Result<Psnp, SstpError> {
        let mut p = Psnp::default();
        parse_lsp_entries(PduType::Psnp, body, &mut p.entries)?;
        Ok(p)
    }
}

// ---------------------------------------------------------------------------
// FAIL.

/// Why the origin of a FAIL notice declared a link down. Total: unknown
/// values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailReason {
    /// 1: the port lost carrier.
    CarrierLost,
    /// 2: dead count HELLOs were missed.
    DeadTimer,
    /// 3: the port was taken down by the administrator.
    AdminDown,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for FailReason {
    fn from(v: u8) -> Self {
        match v {
            1 => FailReason::CarrierLost,
            2 => FailReason::DeadTimer,
            3 => FailReason::AdminDown,
            v => FailReason::Unknown(v),
        }
    }
}

impl From<FailReason> for u8 {
    fn from(r: FailReason) -> u8 {
        match r {
            FailReason::CarrierLost => 1,
            FailReason::DeadTimer => 2,
            FailReason::AdminDown => 3,
            FailReason::Unknown(v) => v,
        }
    }
}

/// FAIL (type 5): a link failure, flooded hop by hop ahead of the new LSP
/// so that switches can repair before SPF has the new database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FailNotice {
    /// The switch that detected the failure.
    pub origin: SystemId,
    /// Per origin, increasing: tells a relay it has seen this notice.
    pub sequence: u32,
    /// The switch at the other end of the failed link.
    pub neighbour: SystemId,
    /// The origin's port index.
    pub local_port: u16,
    /// The neighbour's port index.
    pub remote_port: u16,
    /// Why the link is down.
    pub reason: FailReason,
    /// Hops left: decremented when relayed; a notice received with 0 is
    /// not relayed.
    pub hop_limit: u8,
    /// The origin's fragment-0 sequence number when it sent the notice
    /// (TLV LSP_SEQUENCE): any later fragment 0 of the origin lifts it.
    pub lsp_sequence: Option<u64>,
}

impl FailNotice {
    fn body_len(&self) -> usize {
        FAIL_FIXED_LEN
            + self
                .lsp_sequence
                .map_or(0, |_| TLV_HEADER_LEN + LSP_SEQUENCE_TLV_LEN)
    }

    fn parse(body: &[u8]) -> Result<FailNotice, SstpError> {
        let mut r = Reader::new(body);
        let mut fixed = || -> Option<FailNotice> {
            Some(FailNotice {
                origin: r.system_id()?,
                sequence: r.u32()?,
                neighbour: r.system_id()?,
                local_port: r.u16()?,
                remote_port: r.u16()?,
                reason: r.u8()?.into(),
                hop_limit: r.u8()?,
                lsp_sequence: None,
            })
        };
        let Some(mut f) = fixed() else {
            return Err(bad_length(PduType::Fail, body.len()));
        };
        for t in TlvIter::new(r.rest()) {
            let t = t?;
            match t.tlv_type {
                TLV_LSP_SEQUENCE => {
                    let mut v = Reader::new(t.value);
                    let seq = match (v.u64(), v.rest().is_empty()) {
                        (Some(s), true) => s,
                        _ => {
                            return Err(SstpError::BadTlvLength {
                                tlv_type: t.tlv_type,
                                length: t.value.len(),
                            })
                        }
                    };
                    set_once(&mut f.lsp_sequence, PduType::Fail, &t, seq)?
                }
                _ => {
                    not_handled(PduType::Fail, t)?;
                }
            }
        }
        Ok(f)
    }

    fn emit(&self, out: &mut impl Sink) {
        out.mac(self.origin.0);
        out.u32(self.sequence);
        out.mac(self.neighbour.0);
        out.u16(self.local_port);
        out.u16(self.remote_port);
        out.u8(self.reason.into());
        out.u8(self.hop_limit);
        if let Some(seq) = self.lsp_sequence {
            out.tlv_header(TLV_LSP_SEQUENCE, LSP_SEQUENCE_TLV_LEN);
            out.u64(seq);
        }
    }
}

// ---------------------------------------------------------------------------
// The PDU.

/// A validated SSTP PDU, by type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SstpPdu {
    /// HELLO.
    Hello(Hello),
    /// LSP.
    Lsp(Lsp),
    /// Complete sequence-number summary.
    Csnp(Csnp),
    /// Partial sequence-number summary.
    Psnp(Psnp),
    /// Failure notice.
    Fail(FailNotice),
}

impl SstpPdu {
    /// The type this value encodes as.
    pub fn pdu_type(&self) -> PduType {
        match self {
            SstpPdu::Hello(_) => PduType::Hello,
            SstpPdu::Lsp(_) => PduType::Lsp,
            SstpPdu::Csnp(_) => PduType::Csnp,
            SstpPdu::Psnp(_) => PduType::Psnp,
            SstpPdu::Fail(_) => PduType::Fail,
        }
    }

    /// Octets of the encoded PDU, header included; may exceed
    /// [`MAX_PDU_LEN`], in which case `emit` fails.
    pub fn encoded_len(&self) -> usize {
        match self {
            SstpPdu::Hello(h) => SSTP_HEADER_LEN + h.body_len(),
            SstpPdu::Lsp(l) => l.encoded_len(),
            SstpPdu::Csnp(c) => {
                SSTP_HEADER_LEN + CSNP_FIXED_LEN + list_len(c.entries.len(), LSP_ENTRY_LEN)
            }
            SstpPdu::Psnp(p) => SSTP_HEADER_LEN + list_len(p.entries.len(), LSP_ENTRY_LEN),
            SstpPdu::Fail(f) => SSTP_HEADER_LEN + f.body_len(),
        }
    }

    /// Validates a PDU: the header ([`SstpPacket::check`]), then the PDU
    /// checksum, the type, the fixed part, the TLVs, and for an LSP the
    /// content checksum and the canonical encoding. Padding after the PDU
    /// length is ignored.
    pub fn parse<T: AsRef<[u8]>>(p: &SstpPacket<T>) -> Result<SstpPdu, SstpError> {
        p.check()?;
        p.verify_checksum()?;
        let body = p.body();
        Ok(match p.pdu_type() {
            PduType::Hello => SstpPdu::Hello(Hello::parse(body)?),
            PduType::Lsp => SstpPdu::Lsp(Lsp::parse(p.pdu())?),
            PduType::Csnp => SstpPdu::Csnp(Csnp::parse(body)?),
            PduType::Psnp => SstpPdu::Psnp(Psnp::parse(body)?),
            PduType::Fail => SstpPdu::Fail(FailNotice::parse(body)?),
            PduType::Unknown(t) => return Err(SstpError::UnknownPduType(t)),
        })
    }

    /// Parses a PDU from raw octets (padding allowed after it); returns the
    /// header's sender and sender port with it.
    pub fn parse_bytes(b: &[u8]) -> Result<(SystemId, u16, SstpPdu), SstpError> {
        let p = SstpPacket::new_checked(b)?;
        let pdu = Self::parse(&p)?;
        Ok((p.sender(), p.sender_port(), pdu))
    }

    /// Writes the PDU, header and both checksums included, at the start of
    /// `buf`; returns the octets written. Fails, writing nothing, if the
    /// value has no valid encoding or does not fit [`MAX_PDU_LEN`] or `buf`.
    pub fn emit(
        &self,
        sender: SystemId,
        sender_port: u16,
        buf: &mut [u8],
    ) -> Result<usize, SstpError> {
        let len = self.encoded_len();
        if len > MAX_PDU_LEN {
            return Err(SstpError::TooLong {
                len,
                max: MAX_PDU_LEN,
            });
        }
        if let SstpPdu::Lsp(l) = self {
            l.check_encodable()?;
        }
        if buf.len() < len {
            return Err(SstpError::BufferTooSmall {
                len: buf.len(),
                need: len,
            });
        }
        let buf = &mut buf[..len];
        let mut w = Writer { buf, pos: 0 };
        w.u8(SSTP_VERSION);
        w.u8(self.pdu_type().into());
        w.u16(len as u16); // <= MAX_PDU_LEN, checked above
        w.u32(0);
        w.mac(sender.0);
        w.u16(sender_port);
        match self {
            SstpPdu::Hello(h) => h.emit(&mut w),
            SstpPdu::Lsp(l) => l.emit_content(&mut w, 0, 0),
            SstpPdu::Csnp(c) => c.emit(&mut w),
            SstpPdu::Psnp(p) => emit_lsp_entries(&p.entries, &mut w),
            SstpPdu::Fail(f) => f.emit(&mut w),
        }
        debug_assert_eq!(w.pos, len, "encoded_len disagrees with emit");
        let buf = w.buf;
        if let SstpPdu::Lsp(l) = self {
            // Lifetime and checksum were written as zero: the checksum
            // covers the content with both zeroed, then both are filled in.
            let c = lsp_content_checksum(buf);
            buf[field::lsp::CHECKSUM].copy_from_slice(&c.to_be_bytes());
            buf[field::lsp::LIFETIME].copy_from_slice(&l.lifetime_secs.to_be_bytes());
        }
        SstpPacket::new_unchecked(&mut buf[..]).fill_checksum();
        Ok(len)
    }

    /// Emits into a new vector.
    pub fn to_vec(&self, sender: SystemId, sender_port: u16) -> Result<Vec<u8>, SstpError> {
        let mut v = vec![0; self.encoded_len().min(MAX_PDU_LEN)];
        let n = self.emit(sender, sender_port, &mut v)?;
        v.truncate(n);
        Ok(v)
    }
}

// ---------------------------------------------------------------------------
// Frames.

/// A decoded SSTP frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SstpFrame {
    /// Source MAC of the frame: the neighbour port's address.
    pub src: MacAddr,
    /// The switch that sent the PDU (from the SSTP header).
    pub sender: SystemId,
    /// The sending switch's port index (from the SSTP header).
    pub sender_port: u16,
    /// The PDU.
    pub pdu: SstpPdu,
}

impl SstpFrame {
    /// Octets [`SstpFrame::emit`] writes: Ethernet header and PDU, padded
    /// to [`MIN_FRAME_LEN`].
    pub fn encoded_len(&self) -> usize {
        sstp_frame_len(&self.pdu)
    }
    /// Writes the frame at the start of `buf`; see [`emit_sstp_frame`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, SstpError> {
        emit_sstp_frame(self.src, self.sender, self.sender_port, &self.pdu, buf)
    }
}

/// Octets of the frame that carries `pdu`: Ethernet header and PDU, padded
/// to [`MIN_FRAME_LEN`].
pub fn sstp_frame_len(pdu: &SstpPdu) -> usize {
    (ETHERNET_HEADER_LEN + pdu.encoded_len()).max(MIN_FRAME_LEN)
}

/// Decodes a received frame: destination [`SSTP_GROUP_ADDRESS`], EtherType
/// [`SSTP_ETHERTYPE`] right after the source (no VLAN tag), then a valid PDU
/// ([`SstpPdu::parse`]). Octets after the PDU length, such as the padding
/// to 60 octets that a NIC adds and a veth does not, are ignored.
pub fn decode_sstp_frame(frame: &[u8]) -> Result<SstpFrame, SstpError> {
    if frame.len() < ETHERNET_HEADER_LEN {
        return Err(SstpError::Truncated {
            what: "Ethernet header",
            len: frame.len(),
            need: ETHERNET_HEADER_LEN,
        });
    }
    let eth = EthernetFrame::new_unchecked(frame);
    let (dst, ethertype) = (eth.dst_addr(), eth.length());
    if dst != SSTP_GROUP_ADDRESS || ethertype != SSTP_ETHERTYPE {
        return Err(SstpError::NotSstp { dst, ethertype });
    }
    let p = SstpPacket::new_checked(eth.payload())?;
    let pdu = SstpPdu::parse(&p)?;
    Ok(SstpFrame {
        src: eth.src_addr(),
        sender: p.sender(),
        sender_port: p.sender_port(),
        pdu,
    })
}

/// Writes the frame that carries `pdu` from the port whose MAC is `src` at
/// the start of `buf` (an mbuf's data room), zero-padded to
/// [`MIN_FRAME_LEN`]; returns the frame length. Writes nothing on error.
pub fn emit_sstp_frame(
    src: MacAddr,
    sender: SystemId,
    sender_port: u16,
    pdu: &SstpPdu,
    buf: &mut [u8],
) -> Result<usize, SstpError> {
    let pdu_len = pdu.encoded_len();
    if pdu_len > MAX_PDU_LEN {
        return Err(SstpError::TooLong {
            len: pdu_len,
            max: MAX_PDU_LEN,
        });
    }
    let len = sstp_frame_len(pdu);
    if buf.len() < len {
        return Err(SstpError::BufferTooSmall {
            len: buf.len(),
            need: len,
        });
    }
    let (head, rest) = buf.split_at_mut(ETHERNET_HEADER_LEN);
    let n = pdu.emit(sender, sender_port, rest)?;
    let mut eth = EthernetFrame::new_unchecked(head);
    eth.set_dst_addr(SSTP_GROUP_ADDRESS);
    eth.set_src_addr(src);
    eth.set_length(SSTP_ETHERTYPE);
    buf[ETHERNET_HEADER_LEN + n..len].fill(0);
    Ok(len)
}

/// Encodes the frame that carries `pdu` from the port whose MAC is `src`,
/// zero-padded to [`MIN_FRAME_LEN`].
pub fn encode_sstp_frame(
    src: MacAddr,
    sender: SystemId,
    sender_port: u16,
    pdu: &SstpPdu,
) -> Result<Vec<u8>, SstpError> {
    let mut v = vec![0; sstp_frame_len(pdu).min(ETHERNET_HEADER_LEN + MAX_PDU_LEN)];
    let n = emit_sstp_frame(src, sender, sender_port, pdu, &mut v)?;
    v.truncate(n);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Fixtures written field by field; the CRC-32s were computed with an
    // independent implementation (Python's zlib.crc32), so they pin the
    // checksum definition as well as the layout.
    const HELLO: [u8; 67] = [
        0x01, // version
        0x01, // PDU type
        0x00, 0x43, // PDU length
        0xbb, 0xd1, 0xde, 0xd8, // PDU checksum (CRC-32)
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // sender
        0x00, 0x03, // sender port
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, // nonce
        0x00, 0x00, 0x27, 0x10, // hello interval 10000 us
        0x03, // dead count
        0x00, // flags
        0x00, 0x00, // reserved
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // neighbour
        0x00, 0x01, // neighbour port
        0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10, // neighbour nonce
        0x00, 0x02, 0x00, 0x03, // TLV HOSTNAME, length 3
        0x73, 0x77, 0x31, //   "sw1"
        0x00, 0x03, 0x00, 0x08, // TLV BRIDGE_ID, length 8
        0x80, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, //   8000.02:00:00:00:00:01
    ];
    const LSP: [u8; 107] = [
        0x01, // version
        0x02, // PDU type
        0x00, 0x6b, // PDU length
        0x48, 0xf5, 0x30, 0xde, // PDU checksum (CRC-32)
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // sender
        0x00, 0x01, // sender port
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // origin
        0x00, 0x00, // fragment
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, // sequence
        0x04, 0xb0, // remaining lifetime 1200 s
        0xaf, 0xce, 0x5f, 0x9c, // content checksum (CRC-32, lifetime and checksum zeroed)
        0x01, // flags: overload
        0x00, // reserved
        0x80, 0x01, 0x00, 0x0a, // TLV SYSTEM (mandatory), length 10
        0x80, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, //   bridge ID 8000.02:00:00:00:00:01
        0x00, 0x00, //   flags, reserved
        0x00, 0x02, 0x00, 0x03, // TLV HOSTNAME, length 3
        0x73, 0x77, 0x31, //   "sw1"
        0x00, 0x04, 0x00, 0x0e, // TLV ADJACENCIES, length 14
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, //   neighbour
        0x00, 0x01, 0x00, 0x02, //   local port 1, remote port 2
        0x00, 0x00, 0x07, 0xd0, //   cost 2000
        0x00, 0x05, 0x00, 0x08, // TLV MAC_HOMES, length 8
        0x00, 0x0a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x99, //   VID 10, MAC
        0x00, 0x06, 0x00, 0x0c, // TLV IPV4_BINDINGS, length 12
        0x00, 0x0a, 0xc0, 0xa8, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x99, //   VID 10, 192.168.0.1, MAC
    ];
    const LSP_CONTENT_CHECKSUM: u32 = 0xafce5f9c;
    const CSNP: [u8; 58] = [
        0x01, // version
        0x03, // PDU type
        0x00, 0x3a, // PDU length
        0x1c, 0x62, 0xb8, 0xef, // PDU checksum (CRC-32)
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // sender
        0x00, 0x03, // sender port
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // start: origin
        0x00, 0x00, // start: fragment
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // end: origin
        0xff, 0xff, // end: fragment
        0x00, 0x07, 0x00, 0x16, // TLV LSP_ENTRIES, length 22
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, //   origin
        0x00, 0x00, //   fragment
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, //   sequence
        0x04, 0xb0, //   remaining lifetime
        0xaf, 0xce, 0x5f, 0x9c, //   content checksum
    ];
    const PSNP: [u8; 42] = [
        0x01, // version
        0x04, // PDU type
        0x00, 0x2a, // PDU length
        0x31, 0x0a, 0xe9, 0x78, // PDU checksum (CRC-32)
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // sender
        0x00, 0x03, // sender port
        0x00, 0x07, 0x00, 0x16, // TLV LSP_ENTRIES, length 22
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, //   origin
        0x00, 0x00, //   fragment
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, //   sequence
        0x04, 0xb0, //   remaining lifetime
        0xaf, 0xce, 0x5f, 0x9c, //   content checksum
    ];
    const FAIL: [u8; 38] = [
        0x01, // version
        0x05, // PDU type
        0x00, 0x26, // PDU length
        0x96, 0x37, 0xed, 0xe1, // PDU checksum (CRC-32)
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // sender
        0x00, 0x03, // sender port
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // origin
        0x00, 0x00, 0x00, 0x07, // fail sequence
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // neighbour
        0x00, 0x01, // local port
        0x00, 0x02, // remote port
        0x01, // reason: carrier lost
        0x10, // hop limit
    ];

    const A: SystemId = SystemId(MacAddr([2, 0, 0, 0, 0, 1]));
    const B: SystemId = SystemId(MacAddr([2, 0, 0, 0, 0, 2]));
    const HOST: MacAddr = MacAddr([2, 0, 0, 0, 0, 0x99]);
    const BRIDGE: BridgeId = BridgeId::new(0x8000, MacAddr([2, 0, 0, 0, 0, 1]));

    fn hello() -> Hello {
        Hello {
            nonce: 0x0123_4567_89ab_cdef,
            hello_interval_us: 10_000,
            dead_count: 3,
            flags: 0,
            neighbour: Some(HelloNeighbour {
                system: B,
                port: 1,
                nonce: 0xfedc_ba98_7654_3210,
            }),
            hostname: Hostname::new("sw1"),
            bridge_id: Some(BRIDGE),
        }
    }

    fn lsp() -> Lsp {
        Lsp {
            flags: LspFlags(LspFlags::OVERLOAD),
            system: Some(SystemInfo {
                bridge_id: BRIDGE,
                flags: 0,
            }),
            hostname: Hostname::new("sw1"),
            adjacencies: vec![Adjacency {
                neighbour: B,
                local_port: 1,
                remote_port: 2,
                cost: 2000,
            }],
            mac_homes: vec![MacHome { vid: 10, mac: HOST }],
            bindings: vec![BindingEntry {
                vid: 10,
                ip: Ipv4Addr::new(192, 168, 0, 1),
                mac: HOST,
            }],
            ..Lsp::new(
                LspId {
                    origin: A,
                    fragment: 0,
                },
                5,
                1200,
            )
        }
    }

    fn entry() -> LspEntry {
        LspEntry {
            id: LspId {
                origin: A,
                fragment: 0,
            },
            sequence: 5,
            lifetime_secs: 1200,
            checksum: LSP_CONTENT_CHECKSUM,
        }
    }

    fn fail() -> FailNotice {
        FailNotice {
            origin: A,
            sequence: 7,
            neighbour: B,
            local_port: 1,
            remote_port: 2,
            reason: FailReason::CarrierLost,
            hop_limit: 16,
            lsp_sequence: None,
        }
    }

    fn parse(b: &[u8]) -> Result<SstpPdu, SstpError> {
        SstpPdu::parse_bytes(b).map(|(_, _, p)| p)
    }

    /// Rewrites the length field and both checksums after a test edited a
    /// PDU, so that the edit, not a checksum, is what the parser sees.
    fn refill(mut b: Vec<u8>) -> Vec<u8> {
        let len = b.len() as u16;
        b[2..4].copy_from_slice(&len.to_be_bytes());
        if b[1] == 2 && b.len() >= 40 {
            let c = lsp_content_checksum(&b);
            b[34..38].copy_from_slice(&c.to_be_bytes());
        }
        SstpPacket::new_unchecked(&mut b[..]).fill_checksum();
        b
    }

    /// `pdu` with `tlv` appended.
    fn with(pdu: &[u8], tlv: &[u8]) -> Vec<u8> {
        refill([pdu, tlv].concat())
    }

    #[test]
    fn hello_fixture() {
        let (sender, port, p) = SstpPdu::parse_bytes(&HELLO).unwrap();
        assert_eq!((sender, port), (A, 3));
        assert_eq!(p, SstpPdu::Hello(hello()));
        assert_eq!(p.to_vec(A, 3).unwrap(), HELLO);
        assert_eq!(p.encoded_len(), HELLO.len());
    }

    #[test]
    fn lsp_fixture() {
        let (sender, port, p) = SstpPdu::parse_bytes(&LSP).unwrap();
        assert_eq!((sender, port), (B, 1));
        assert_eq!(p, SstpPdu::Lsp(lsp()));
        assert_eq!(p.to_vec(B, 1).unwrap(), LSP);
        assert_eq!(lsp().content_checksum(), LSP_CONTENT_CHECKSUM);
        assert_eq!(lsp().entry(), entry());
        assert!(lsp().flags.overload());
    }

    #[test]
    fn filling_both_checksums_restores_an_lsp() {
        let mut b = LSP.to_vec();
        b[field::lsp::CHECKSUM].fill(0);
        b[field::CHECKSUM].fill(0);
        let mut p = SstpPacket::new_checked(&mut b[..]).unwrap();
        p.fill_lsp_checksum();
        p.fill_checksum();
        assert_eq!(b, LSP);
        // Too short to hold an LSP checksum: nothing is written.
        let mut short = HELLO[..SSTP_HEADER_LEN].to_vec();
        short[2..4].copy_from_slice(&(SSTP_HEADER_LEN as u16).to_be_bytes());
        let before = short.clone();
        SstpPacket::new_unchecked(&mut short[..]).fill_lsp_checksum();
        assert_eq!(short, before);
    }

    #[test]
    fn csnp_psnp_fail_fixtures() {
        let csnp = Csnp {
            start: LspId::default(),
            end: LspId {
                origin: SystemId(MacAddr([0xff; 6])),
                fragment: 0xffff,
            },
            entries: vec![entry()],
        };
        assert_eq!(parse(&CSNP).unwrap(), SstpPdu::Csnp(csnp.clone()));
        assert_eq!(SstpPdu::Csnp(csnp).to_vec(A, 3).unwrap(), CSNP);
        let psnp = SstpPdu::Psnp(Psnp {
            entries: vec![entry()],
        });
        assert_eq!(parse(&PSNP).unwrap(), psnp);
        assert_eq!(psnp.to_vec(A, 3).unwrap(), PSNP);
        assert_eq!(parse(&FAIL).unwrap(), SstpPdu::Fail(fail()));
        assert_eq!(SstpPdu::Fail(fail()).to_vec(A, 3).unwrap(), FAIL);
    }

    #[test]
    fn a_fail_notice_carries_the_origins_lsp_sequence_in_an_optional_tlv() {
        let with = FailNotice {
            lsp_sequence: Some(0x1122_3344_5566_7788),
            ..fail()
        };
        let bytes = SstpPdu::Fail(with).to_vec(A, 3).unwrap();
        assert_eq!(bytes.len(), FAIL.len() + 12);
        // After the fixed part: type 0x0009, length 8, the sequence.
        assert_eq!(
            &bytes[FAIL.len()..],
            &[0x00, 0x09, 0x00, 0x08, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]
        );
        assert_eq!(parse(&bytes).unwrap(), SstpPdu::Fail(with));
        // A value of the wrong size is refused by name.
        let mut bad = bytes.clone();
        bad.pop();
        bad[FAIL.len() + 3] = 7;
        let bad = refill(bad);
        assert!(matches!(
            parse(&bad),
            Err(SstpError::BadTlvLength {
                tlv_type: TLV_LSP_SEQUENCE,
                length: 7
            })
        ));
    }

    #[test]
    fn content_checksum_ignores_lifetime() {
        let mut l = lsp();
        l.lifetime_secs = 1;
        assert_eq!(l.content_checksum(), LSP_CONTENT_CHECKSUM);
        let b = SstpPdu::Lsp(l.clone()).to_vec(B, 1).unwrap();
        assert_eq!(&b[34..38], &LSP[34..38]);
        assert_ne!(&b[4..8], &LSP[4..8], "the PDU checksum covers it");
        l.sequence += 1;
        assert_ne!(l.content_checksum(), LSP_CONTENT_CHECKSUM);
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            parse(&HELLO[..15]),
            Err(SstpError::Truncated {
                what: "SSTP header",
                len: 15,
                need: 16
            })
        );
        assert_eq!(
            parse(&HELLO[..66]),
            Err(SstpError::Truncated {
                what: "SSTP PDU",
                len: 66,
                need: 67
            })
        );
        let mut b = HELLO;
        b[0] = 2;
        assert_eq!(parse(&b), Err(SstpError::UnknownVersion(2)));
        let mut b = HELLO;
        b[2..4].copy_from_slice(&15u16.to_be_bytes());
        assert!(matches!(
            parse(&b),
            Err(SstpError::BadLength { length: 15, .. })
        ));
        let mut b = vec![0u8; 1600];
        b[..67].copy_from_slice(&HELLO);
        b[2..4].copy_from_slice(&1501u16.to_be_bytes());
        assert!(matches!(
            parse(&b),
            Err(SstpError::BadLength { length: 1501, .. })
        ));
        // A HELLO whose length leaves no room for its fixed part.
        let short = refill(HELLO[..40].to_vec());
        assert_eq!(
            parse(&short),
            Err(SstpError::BadLength {
                length: 40,
                min: 48,
                max: 1500
            })
        );
        for (t, n) in [(2u8, 39usize), (3, 31), (5, 37)] {
            let mut b = refill(vec![0; n]);
            b[0] = 1;
            b[1] = t;
            let b = refill(b);
            assert!(
                matches!(parse(&b), Err(SstpError::BadLength { .. })),
                "type {t}: {:?}",
                parse(&b)
            );
        }
        let mut b = HELLO;
        b[1] = 9;
        let b = refill(b.to_vec());
        assert_eq!(parse(&b), Err(SstpError::UnknownPduType(9)));
    }

    #[test]
    fn checksums_catch_corruption() {
        let mut b = HELLO;
        b[20] ^= 0x10;
        assert!(matches!(
            parse(&b),
            Err(SstpError::BadChecksum {
                what: "PDU checksum",
                ..
            })
        ));
        // A corrupted LSP whose PDU checksum was recomputed (a relay that
        // damaged it in memory) still fails the content checksum.
        let mut b = LSP.to_vec();
        b[60] ^= 1;
        SstpPacket::new_unchecked(&mut b[..]).fill_checksum();
        assert!(matches!(
            parse(&b),
            Err(SstpError::BadChecksum {
                what: "LSP content checksum",
                ..
            })
        ));
    }

    #[test]
    fn unknown_tlvs() {
        // Unknown optional: skipped in a HELLO.
        let b = with(&HELLO, &[0x12, 0x34, 0, 2, 0xaa, 0xbb]);
        assert_eq!(parse(&b).unwrap(), SstpPdu::Hello(hello()));
        // Unknown mandatory: the PDU is dropped.
        let b = with(&HELLO, &[0x92, 0x34, 0, 0]);
        assert_eq!(
            parse(&b),
            Err(SstpError::UnknownMandatoryTlv { tlv_type: 0x9234 })
        );
        let b = with(&FAIL, &[0x80, 0x99, 0, 0]);
        assert_eq!(
            parse(&b),
            Err(SstpError::UnknownMandatoryTlv { tlv_type: 0x8099 })
        );
        // Unknown optional in an LSP: kept, and re-emitted in place.
        let b = with(&LSP, &[0x00, 0x19, 0, 1, 0x5a]);
        let SstpPdu::Lsp(l) = parse(&b).unwrap() else {
            panic!()
        };
        assert_eq!(
            l.other_tlvs,
            vec![RawTlv {
                tlv_type: 0x19,
                value: vec![0x5a]
            }]
        );
        assert_eq!(SstpPdu::Lsp(l).to_vec(B, 1).unwrap(), b);
        // One whose code sorts between SYSTEM and HOSTNAME goes there.
        let mut l = lsp();
        l.other_tlvs.push(RawTlv {
            tlv_type: 0x7fff,
            value: vec![],
        });
        l.other_tlvs.insert(
            0,
            RawTlv {
                tlv_type: 0x0000,
                value: vec![1, 2],
            },
        );
        let b = SstpPdu::Lsp(l.clone()).to_vec(B, 1).unwrap();
        assert_eq!(&b[40..46], &[0, 0, 0, 2, 1, 2]);
        assert_eq!(&b[b.len() - 4..], &[0x7f, 0xff, 0, 0]);
        assert_eq!(parse(&b).unwrap(), SstpPdu::Lsp(l));
    }

    #[test]
    fn bad_tlv_lengths() {
        // Runs past the PDU.
        let b = with(&HELLO, &[0x12, 0x34, 0, 3, 0xaa, 0xbb]);
        assert_eq!(
            parse(&b),
            Err(SstpError::BadTlvLength {
                tlv_type: 0x1234,
                length: 3
            })
        );
        // A header cut short.
        let b = with(&PSNP, &[0x00]);
        assert_eq!(
            parse(&b),
            Err(SstpError::BadTlvLength {
                tlv_type: 0,
                length: 1
            })
        );
        let b = with(&PSNP, &[0x00, 0x07, 0]);
        assert_eq!(
            parse(&b),
            Err(SstpError::BadTlvLength {
                tlv_type: 7,
                length: 3
            })
        );
        // Known TLVs whose value does not fit their layout.
        let b = with(&HELLO[..48], &[0, 3, 0, 7, 0x80, 0, 2, 0, 0, 0, 0]);
        assert!(matches!(
            parse(&b),
            Err(SstpError::BadTlvLength { tlv_type: 3, .. })
        ));
        let b = with(
            &PSNP[..16],
            &[0, 7, 0, 21]
                .iter()
                .chain(&[0; 21])
                .copied()
                .collect::<Vec<_>>(),
        );
        assert!(matches!(
            parse(&b),
            Err(SstpError::BadTlvLength {
                tlv_type: 7,
                length: 21
            })
        ));
        let mut long = vec![0, 2, 0, 65];
        long.extend([b'x'; 65]);
        assert!(matches!(
            parse(&with(&HELLO[..48], &long)),
            Err(SstpError::BadTlvLength {
                tlv_type: 2,
                length: 65
            })
        ));
        let mut lsp13 = LSP[..54].to_vec(); // up to the end of SYSTEM
        lsp13.extend([0, 4, 0, 13]);
        lsp13.extend([0; 13]);
        assert!(matches!(
            parse(&refill(lsp13)),
            Err(SstpError::BadTlvLength {
                tlv_type: 4,
                length: 13
            })
        ));
        let mut sys = LSP[..40].to_vec();
        sys.extend([0x80, 1, 0, 9]);
        sys.extend([0; 9]);
        assert!(matches!(
            parse(&refill(sys)),
            Err(SstpError::BadTlvLength {
                tlv_type: 0x8001,
                length: 9
            })
        ));
    }

    #[test]
    fn bad_hostname_value() {
        let b = with(&HELLO[..48], &[0, 2, 0, 2, 0xc3, 0x28]);
        assert_eq!(parse(&b), Err(SstpError::BadTlvValue { tlv_type: 2 }));
    }

    #[test]
    fn unexpected_tlvs() {
        // A second hostname.
        let b = with(&HELLO, &[0, 2, 0, 1, b'x']);
        assert_eq!(
            parse(&b),
            Err(SstpError::UnexpectedTlv {
                pdu_type: 1,
                tlv_type: 2
            })
        );
        // An LSP's TLV in a HELLO.
        let b = with(&HELLO, &[0, 4, 0, 0]);
        assert_eq!(
            parse(&b),
            Err(SstpError::UnexpectedTlv {
                pdu_type: 1,
                tlv_type: 4
            })
        );
        // SYSTEM in fragment 1, on the wire and on emit.
        let mut b = LSP.to_vec();
        b[23] = 1;
        assert_eq!(
            parse(&refill(b)),
            Err(SstpError::UnexpectedTlv {
                pdu_type: 2,
                tlv_type: TLV_SYSTEM
            })
        );
        let mut l = lsp();
        l.id.fragment = 1;
        assert_eq!(
            SstpPdu::Lsp(l).to_vec(A, 0),
            Err(SstpError::UnexpectedTlv {
                pdu_type: 2,
                tlv_type: TLV_SYSTEM
            })
        );
        // A known type can't be smuggled in as an unknown one.
        let mut l = lsp();
        l.other_tlvs.push(RawTlv {
            tlv_type: TLV_LSP_ENTRIES,
            value: vec![],
        });
        assert!(matches!(
            SstpPdu::Lsp(l).to_vec(A, 0),
            Err(SstpError::UnexpectedTlv { tlv_type: 7, .. })
        ));
        let mut l = lsp();
        l.other_tlvs.push(RawTlv {
            tlv_type: 0x8100,
            value: vec![],
        });
        assert!(matches!(
            SstpPdu::Lsp(l).to_vec(A, 0),
            Err(SstpError::UnknownMandatoryTlv { tlv_type: 0x8100 })
        ));
    }

    #[test]
    fn missing_system_tlv() {
        let mut b = LSP[..40].to_vec();
        b.extend_from_slice(&LSP[54..]);
        assert_eq!(parse(&refill(b)), Err(SstpError::MissingSystemTlv(A)));
        let mut l = lsp();
        l.system = None;
        assert_eq!(
            SstpPdu::Lsp(l.clone()).to_vec(A, 0),
            Err(SstpError::MissingSystemTlv(A))
        );
        l.id.fragment = 2;
        assert!(SstpPdu::Lsp(l).to_vec(A, 0).is_ok());
    }

    #[test]
    fn mac_moves_follow_the_bindings_as_twelve_octet_entries() {
        let mut l = lsp();
        let home = MacHome {
            vid: 10,
            mac: MacAddr([2, 0, 0, 0, 0, 0x99]),
        };
        l.mac_moves.push(MacMove {
            home,
            sequence: 0x0102_0304,
        });
        let b = SstpPdu::Lsp(l.clone()).to_vec(A, 0).unwrap();
        let tail = [
            0x00, 0x08, 0x00, 0x0c, 0x00, 0x0a, 2, 0, 0, 0, 0, 0x99, 1, 2, 3, 4,
        ];
        assert!(b.ends_with(&tail), "{b:02x?}");
        assert_eq!(parse(&b).unwrap(), SstpPdu::Lsp(l));
        // Cut short, it is an error, not a panic.
        assert!(parse(&b[..b.len() - 1]).is_err());
    }

    #[test]
    fn only_canonical_lsps() {
        let id = lsp().id;
        // Reserved octet set.
        let mut b = LSP.to_vec();
        b[39] = 1;
        assert_eq!(parse(&refill(b)), Err(SstpError::NonCanonical(id)));
        // Reserved octet of SYSTEM set.
        let mut b = LSP.to_vec();
        b[53] = 1;
        assert_eq!(parse(&refill(b)), Err(SstpError::NonCanonical(id)));
        // TLVs out of order: MAC_HOMES before ADJACENCIES.
        let mut b = LSP[..61].to_vec();
        b.extend_from_slice(&LSP[79..91]);
        b.extend_from_slice(&LSP[61..79]);
        b.extend_from_slice(&LSP[91..]);
        assert_eq!(parse(&refill(b)), Err(SstpError::NonCanonical(id)));
        // A list split over two TLVs.
        let b = with(
            &LSP,
            &[0, 6, 0, 12, 0, 10, 10, 0, 0, 2, 2, 0, 0, 0, 0, 0x99],
        );
        assert_eq!(parse(&b), Err(SstpError::NonCanonical(id)));
        // An empty list TLV.
        let b = with(&LSP, &[0, 6, 0, 0]);
        assert_eq!(parse(&b), Err(SstpError::NonCanonical(id)));
        // Unknown TLVs out of order, on the wire and on emit.
        let b = with(&LSP, &[0, 0x1a, 0, 0, 0, 0x19, 0, 0]);
        assert_eq!(parse(&b), Err(SstpError::NonCanonical(id)));
        let mut l = lsp();
        for t in [0x1a, 0x19] {
            l.other_tlvs.push(RawTlv {
                tlv_type: t,
                value: vec![],
            });
        }
        assert_eq!(
            SstpPdu::Lsp(l).to_vec(A, 0),
            Err(SstpError::NonCanonical(id))
        );
        // Split entries are fine where nothing is relayed.
        let mut b = PSNP.to_vec();
        b.extend_from_slice(&PSNP[16..]);
        b.extend_from_slice(&[0, 7, 0, 0]);
        let SstpPdu::Psnp(p) = parse(&refill(b)).unwrap() else {
            panic!()
        };
        assert_eq!(p.entries, vec![entry(), entry()]);
    }

    #[test]
    fn too_long_and_buffer_too_small() {
        let mut l = lsp();
        l.adjacencies = vec![Adjacency::default(); 200];
        let pdu = SstpPdu::Lsp(l);
        assert!(!matches!(&pdu, SstpPdu::Lsp(l) if l.fits()));
        assert_eq!(
            pdu.to_vec(A, 0),
            Err(SstpError::TooLong {
                len: pdu.encoded_len(),
                max: 1500
            })
        );
        assert!(matches!(
            encode_sstp_frame(MacAddr::default(), A, 0, &pdu),
            Err(SstpError::TooLong { .. })
        ));
        let h = SstpPdu::Hello(hello());
        let mut buf = [0u8; 66];
        assert_eq!(
            h.emit(A, 3, &mut buf),
            Err(SstpError::BufferTooSmall { len: 66, need: 67 })
        );
        assert_eq!(buf, [0; 66], "nothing written on error");
        let mut buf = [0u8; 80];
        assert_eq!(
            emit_sstp_frame(MacAddr::default(), A, 3, &h, &mut buf),
            Err(SstpError::BufferTooSmall { len: 80, need: 81 })
        );
        assert_eq!(Hostname::new(&"x".repeat(65)), None);
        assert_eq!(Hostname::truncated(&"é".repeat(40)).as_str().len(), 64);
        assert_eq!(Hostname::truncated("sw1").as_str(), "sw1");
    }

    #[test]
    fn frames() {
        let src = MacAddr([2, 1, 0, 0, 0, 7]);
        let empty = SstpPdu::Psnp(Psnp::default());
        let f = encode_sstp_frame(src, A, 4, &empty).unwrap();
        assert_eq!(f.len(), 60, "padded to the Ethernet minimum");
        assert_eq!(
            &f[..16],
            &[1, 0x80, 0xc2, 0, 0, 0x0e, 2, 1, 0, 0, 0, 7, 0x88, 0xb5, 1, 4]
        );
        assert!(f[30..].iter().all(|&b| b == 0));
        let want = SstpFrame {
            src,
            sender: A,
            sender_port: 4,
            pdu: empty,
        };
        assert_eq!(decode_sstp_frame(&f).unwrap(), want);
        assert_eq!(decode_sstp_frame(&f[..30]).unwrap(), want, "unpadded");
        let mut junk = f.clone();
        junk[40] = 0xff;
        assert_eq!(decode_sstp_frame(&junk).unwrap(), want, "padding ignored");
        let mut buf = [0xeeu8; 100];
        assert_eq!(want.emit(&mut buf), Ok(60));
        assert_eq!(&buf[..60], &f[..]);
        assert_eq!(want.encoded_len(), 60);
        // No padding once the PDU fills the minimum.
        let f = encode_sstp_frame(src, A, 3, &SstpPdu::Hello(hello())).unwrap();
        assert_eq!(f.len(), 14 + HELLO.len());
        assert_eq!(&f[14..], &HELLO);

        assert!(matches!(
            decode_sstp_frame(&f[..13]),
            Err(SstpError::Truncated { need: 14, .. })
        ));
        let mut g = f.clone();
        g[5] = 0;
        assert!(matches!(
            decode_sstp_frame(&g),
            Err(SstpError::NotSstp {
                ethertype: 0x88b5,
                ..
            })
        ));
        let mut tagged = f[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0, 0, 10]);
        tagged.extend_from_slice(&f[12..]);
        assert_eq!(
            decode_sstp_frame(&tagged),
            Err(SstpError::NotSstp {
                dst: SSTP_GROUP_ADDRESS,
                ethertype: 0x8100
            })
        );
    }

    #[test]
    fn reasons_are_listed_and_distinct() {
        let all = [
            SstpError::Truncated {
                what: "",
                len: 0,
                need: 0,
            },
            SstpError::NotSstp {
                dst: MacAddr::default(),
                ethertype: 0,
            },
            SstpError::UnknownVersion(0),
            SstpError::BadLength {
                length: 0,
                min: 0,
                max: 0,
            },
            SstpError::BadChecksum {
                what: "",
                carried: 0,
                computed: 0,
            },
            SstpError::UnknownPduType(0),
            SstpError::UnknownMandatoryTlv { tlv_type: 0 },
            SstpError::BadTlvLength {
                tlv_type: 0,
                length: 0,
            },
            SstpError::BadTlvValue { tlv_type: 0 },
            SstpError::UnexpectedTlv {
                pdu_type: 0,
                tlv_type: 0,
            },
            SstpError::MissingSystemTlv(A),
            SstpError::NonCanonical(LspId::default()),
            SstpError::TooLong { len: 0, max: 0 },
            SstpError::BufferTooSmall { len: 0, need: 0 },
        ];
        let reasons: Vec<_> = all.iter().map(SstpError::reason).collect();
        assert_eq!(reasons, SstpError::REASONS);
        for e in &all {
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn room_per_fragment() {
        // What the engine's fragmenter can count on (docs/sstp.md).
        assert_eq!(LSP_TLV_ROOM, 1460);
        let mut l = lsp();
        l.hostname = None;
        l.mac_homes.clear();
        l.bindings.clear();
        l.adjacencies = vec![Adjacency::default(); 103];
        assert!(l.fits());
        assert_eq!(l.room_left(), 1500 - 40 - 14 - 4 - 103 * 14);
        l.adjacencies.push(Adjacency::default());
        assert!(!l.fits());
        assert_eq!(l.room_left(), 0);
        let mut l = Lsp::new(
            LspId {
                origin: A,
                fragment: 1,
            },
            1,
            1,
        );
        l.mac_homes = vec![MacHome::default(); 182];
        assert!(l.fits());
        l.mac_homes.clear();
        l.bindings = vec![
            BindingEntry {
                vid: 0,
                ip: Ipv4Addr::UNSPECIFIED,
                mac: MacAddr::default()
            };
            121
        ];
        assert!(l.fits());
        assert_eq!(Csnp::MAX_ENTRIES, 66);
        assert_eq!(Psnp::MAX_ENTRIES, 67);
        let full = |n| {
            SstpPdu::Csnp(Csnp {
                entries: vec![entry(); n],
                ..Csnp::default()
            })
        };
        assert!(full(66).to_vec(A, 0).is_ok());
        assert!(full(67).to_vec(A, 0).is_err());
        let full = |n| {
            SstpPdu::Psnp(Psnp {
                entries: vec![entry(); n],
            })
        };
        assert!(full(67).to_vec(A, 0).is_ok());
        assert!(full(68).to_vec(A, 0).is_err());
    }

    #[test]
    fn hello_without_neighbour_is_zeros() {
        let h = Hello {
            neighbour: Some(HelloNeighbour::default()),
            ..hello()
        };
        let b = SstpPdu::Hello(h).to_vec(A, 0).unwrap();
        assert!(b[32..48].iter().all(|&x| x == 0));
        let SstpPdu::Hello(back) = parse(&b).unwrap() else {
            panic!()
        };
        assert_eq!(back.neighbour, None);
    }

    #[test]
    fn enums_are_total() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(PduType::from(v)), v);
            assert_eq!(u8::from(FailReason::from(v)), v);
        }
        assert_eq!(FailReason::from(3), FailReason::AdminDown);
        assert_eq!(
            LspId {
                origin: A,
                fragment: 2
            }
            .to_string(),
            "02:00:00:00:00:01-0002"
        );
        assert!(
            LspId {
                origin: A,
                fragment: 9
            } < LspId {
                origin: B,
                fragment: 0
            }
        );
    }
}
