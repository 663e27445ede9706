//! Wire formats of the spanning-tree protocols: the IEEE 802.3 header with
//! its LLC header, and the BPDUs of 802.1D-2004 clause 9; and the SSTP
//! PDUs that only Satellite switches exchange ([`SstpPdu`], laid out in
//! `docs/sstp.md`).
//!
//! Each format has a zero-copy view (`*Frame`, `*Packet`) whose
//! `new_checked` validates the length once, so that no getter can panic, and
//! a small validated `Repr` with `parse`/`emit`. Parsing is total: any byte
//! string yields either a value or an [`Error`] (for SSTP, an [`SstpError`])
//! naming what was wrong.

mod bpdu;
mod ethernet;
mod frame;
mod mac;
mod sstp;
mod unicast_tag;

pub use bpdu::{
    Bpdu, BpduBody, BpduPacket, BpduTime, BpduType, BridgeId, Flags, PortId, PortRoleFlag,
    PriorityBpdu, ProtocolVersion, CONFIG_BPDU_LEN, RST_BPDU_LEN, TCN_BPDU_LEN,
};
pub use ethernet::{
    EthernetFrame, EthernetRepr, LlcPdu, LlcRepr, BRIDGE_GROUP_ADDRESS, ETHERNET_HEADER_LEN,
    LLC_HEADER_LEN, LLC_SAP_BRIDGE, LLC_UI,
};
pub use frame::{decode_bpdu_frame, encode_bpdu_frame, BpduFrame, MIN_FRAME_LEN};
pub use mac::MacAddr;
pub use sstp::{
    decode_sstp_frame, emit_sstp_frame, encode_sstp_frame, sstp_frame_len, Adjacency, BindingEntry,
    Csnp, FailNotice, FailReason, Hello, HelloNeighbour, Hostname, Lsp, LspEntry, LspFlags, LspId,
    MacHome, MacMove, PduType, Psnp, RawTlv, SstpError, SstpFrame, SstpPacket, SstpPdu, SystemId,
    SystemInfo, Tlv, TlvIter, ADJACENCY_LEN, BINDING_LEN, BRIDGE_ID_TLV_LEN, CSNP_FIXED_LEN,
    FAIL_FIXED_LEN, HELLO_FIXED_LEN, KNOWN_TLV_TYPES, LSP_ENTRY_LEN, LSP_FIXED_LEN, LSP_TLV_ROOM,
    MAC_HOME_LEN, MAC_MOVE_LEN, MAX_PDU_LEN, SSTP_ETHERTYPE, SSTP_GROUP_ADDRESS, SSTP_HEADER_LEN,
    SSTP_VERSION, SYSTEM_TLV_LEN, TLV_ADJACENCIES, TLV_BRIDGE_ID, TLV_HEADER_LEN, TLV_HOSTNAME,
    TLV_IPV4_BINDINGS, TLV_LSP_ENTRIES, TLV_MAC_HOMES, TLV_MAC_MOVES, TLV_MANDATORY, TLV_SYSTEM,
};
pub use unicast_tag::{
    decode_unicast_tag, encode_unicast_tag, unicast_tag_bytes, unicast_tag_from_word,
    unicast_tag_word, UNICAST_TAG_ETHERTYPE, UNICAST_TAG_LEN, UNICAST_TAG_OFFSET,
};

/// Why a byte string is not a valid frame, header or BPDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The buffer ends before the fixed part of the header or PDU.
    #[error("truncated {what}: {len} octets, need at least {need}")]
    Truncated {
        /// Which header or PDU was being read.
        what: &'static str,
        /// Octets available.
        len: usize,
        /// Octets required.
        need: usize,
    },
    /// The destination is not the Bridge Group Address 01-80-C2-00-00-00.
    #[error("destination {0} is not the bridge group address")]
    NotBridgeGroupAddress(MacAddr),
    /// The 802.3 length field is an EtherType (> 1500) or exceeds the frame.
    #[error("802.3 length field {length} invalid for a {frame_len}-octet frame")]
    BadLength {
        /// Value of the length field.
        length: u16,
        /// Octets in the frame.
        frame_len: usize,
    },
    /// The LLC header is not DSAP 0x42, SSAP 0x42, control 0x03 (UI).
    #[error(
        "LLC header {dsap:#04x} {ssap:#04x} {control:#04x} is not the bridge spanning tree SAP"
    )]
    NotSpanningTreeLlc {
        /// Destination SAP.
        dsap: u8,
        /// Source SAP.
        ssap: u8,
        /// Control octet.
        control: u8,
    },
    /// The Protocol Identifier is not 0x0000 (9.3.4).
    #[error("protocol identifier {0:#06x} is not 0x0000")]
    UnknownProtocolId(u16),
    /// The BPDU type is not one clause 9.3.4 accepts at this protocol version.
    #[error("BPDU type {bpdu_type:#04x} is not valid at protocol version {version}")]
    UnknownBpduType {
        /// BPDU Type octet.
        bpdu_type: u8,
        /// Protocol Version Identifier octet.
        version: u8,
    },
    /// The buffer given to `emit` is too small.
    #[error("buffer of {len} octets too small, need {need}")]
    BufferTooSmall {
        /// Octets available.
        len: usize,
        /// Octets required.
        need: usize,
    },
}
