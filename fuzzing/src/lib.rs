//! Fuzz entry points: one function per parser that faces untrusted bytes.
//!
//! Each takes arbitrary bytes, runs them through the parser as the daemon
//! would, and checks what must hold for any input: no panic, and for a
//! value that parses, that encoding it and parsing again gives it back. A
//! broken invariant panics, which is what a fuzzer reports. The cargo-fuzz
//! targets in `fuzz/` (nightly, outside the workspace) and the corpus
//! replay test here (`tests/corpus.rs`, stable, part of `cargo test`) call
//! the same functions, so every corpus entry is a regression test.
#![forbid(unsafe_code)]

mod fixtures;

use satellite::config::Config;
use satellite::control::parse_request;
use satellite_filters::arp::{ArpRepr, Packet as ArpPacket};
use satellite_filters::vlan::{self, VlanConfig};
use satellite_filters::{filter_ingress, FilterVerdict, REPLY_BUF_LEN};
use satellite_protocol::wire::{
    decode_bpdu_frame, decode_sstp_frame, encode_bpdu_frame, Bpdu, SstpPacket, SstpPdu,
};

/// A fuzz target: its name (the directory of its corpus) and entry.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by the name `cargo fuzz run` and `fuzz/corpus/` use.
pub const TARGETS: &[Target] = &[
    ("bpdu", bpdu),
    ("sstp", sstp),
    ("vlan_frame", vlan_frame),
    ("arp", arp),
    ("control_request", control_request),
    ("config", config),
];

/// Ethernet (6 + 6 + 2) and LLC (3) headers in front of a BPDU.
const BPDU_OFFSET: usize = 17;
const ETHERNET_HEADER_LEN: usize = 14;

/// A whole BPDU frame as the control lcore decodes it, and the bare BPDU
/// after its headers.
pub fn bpdu(data: &[u8]) {
    if let Ok(f) = decode_bpdu_frame(data) {
        let again = decode_bpdu_frame(&encode_bpdu_frame(f.src_addr, &f.bpdu));
        assert_eq!(again, Ok(f), "BPDU frame does not survive encode/decode");
    }
    if let Ok(b) = Bpdu::parse_bytes(data.get(BPDU_OFFSET..).unwrap_or_default()) {
        assert_eq!(Bpdu::parse_bytes(&b.to_vec()), Ok(b), "BPDU round trip");
    }
}

/// An SSTP frame, raw and then with both checksums repaired, so that
/// mutations reach the TLV parsers instead of stopping at a CRC.
pub fn sstp(data: &[u8]) {
    if let Ok(f) = decode_sstp_frame(data) {
        let mut buf = vec![0; f.encoded_len()];
        let n = f.emit(&mut buf).expect("a decoded frame encodes");
        assert_eq!(decode_sstp_frame(&buf[..n]), Ok(f), "SSTP frame round trip");
    }
    let mut pdu = data.get(ETHERNET_HEADER_LEN..).unwrap_or_default().to_vec();
    if let Ok(mut p) = SstpPacket::new_checked(&mut pdu[..]) {
        p.fill_lsp_checksum();
        p.fill_checksum();
    }
    if let Ok((sender, port, parsed)) = SstpPdu::parse_bytes(&pdu) {
        let bytes = parsed.to_vec(sender, port).expect("a parsed PDU encodes");
        assert_eq!(
            SstpPdu::parse_bytes(&bytes),
            Ok((sender, port, parsed)),
            "SSTP PDU round trip"
        );
    }
}

/// A frame on an edge port: the VLAN stack parser, then the whole ingress
/// filter (VLAN mode, source MAC, ARPless, IP source guard, Interstellar)
/// on each fixture port.
pub fn vlan_frame(data: &[u8]) {
    if let Ok(p) = vlan::parse(data, &VlanConfig::default()) {
        assert!(p.payload_offset <= data.len(), "payload past the frame");
    }
    for port in fixtures::ports() {
        check_ingress(data, port);
    }
}

/// An ARP body: the codec round trip, then the ARPless handler with the
/// body behind an Ethernet header from the fixture VM, under the ARP and
/// the RARP EtherType.
pub fn arp(data: &[u8]) {
    if let Ok(r) = ArpPacket::new_checked(data).and_then(|p| ArpRepr::parse(&p)) {
        let mut buf = [0; ArpRepr::BUFFER_LEN];
        r.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        let back = ArpRepr::parse(&ArpPacket::new_unchecked(&buf[..]));
        assert_eq!(back, Ok(r), "ARP round trip");
    }
    for ether_type in [0x0806u16, 0x8035] {
        let mut frame = Vec::with_capacity(ETHERNET_HEADER_LEN + data.len());
        frame.extend_from_slice(&[0xff; 6]);
        frame.extend_from_slice(&fixtures::VM.0);
        frame.extend_from_slice(&ether_type.to_be_bytes());
        frame.extend_from_slice(data);
        for port in fixtures::ports() {
            check_ingress(&frame, port);
        }
    }
}

fn check_ingress(frame: &[u8], port: &satellite_filters::EdgePortPolicy) {
    let mut reply = [0u8; REPLY_BUF_LEN];
    let reply_len = match filter_ingress(frame, port, fixtures::tables(), &mut reply) {
        FilterVerdict::Reply { len } => Some(len),
        FilterVerdict::Learn { reply_len, .. } => reply_len,
        FilterVerdict::Pass(c) => {
            assert!(c.payload_offset <= frame.len(), "payload past the frame");
            None
        }
        FilterVerdict::Drop(_) => None,
    };
    if let Some(len) = reply_len {
        assert!((60..=REPLY_BUF_LEN).contains(&len), "reply length {len}");
        // Replies go back to the asker only.
        assert_eq!(
            &reply[..6],
            &frame[6..12],
            "reply not addressed to the asker"
        );
    }
}

/// One control-socket request line.
pub fn control_request(data: &[u8]) {
    if let Ok(req) = parse_request(data) {
        let line = serde_json::to_vec(&req).expect("a request serializes");
        assert_eq!(parse_request(&line), Ok(req), "request round trip");
    }
}

/// A configuration file (the daemon reads files as UTF-8, so other bytes
/// never reach the parser). Errors must render: they are what a user sees.
pub fn config(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = Config::parse(src, "fuzz.toml") {
        let _ = e.to_string();
    }
}
