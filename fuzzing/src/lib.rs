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
use satellite_filters::dhcp::{DhcpRepr, Packet as DhcpPacket, MAX_MESSAGE_LEN};
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
    ("dhcp", dhcp),
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
        // The fixture ports answer ARP only (no DHCP): header, at most
        // MAX_TAGS tags, 28 octets of ARP, whatever REPLY_BUF_LEN allows.
        let arp_max = ETHERNET_HEADER_LEN + vlan::MAX_TAGS * vlan::TAG_LEN + ArpRepr::BUFFER_LEN;
        assert!((60..=arp_max).contains(&len), "reply length {len}");
        // Replies go back to the asker only.
        assert_eq!(
            &reply[..6],
            &frame[6..12],
            "reply not addressed to the asker"
        );
    }
}

/// A DHCP message (UDP payload): the codec round trip, then the message
/// from the fixture VM in IPv4/UDP to port 67 through `filter_ingress` on
/// the fixture DHCP port, untagged and under its VLAN's tag.
pub fn dhcp(data: &[u8]) {
    if let Ok(r) = DhcpPacket::new_checked(data).and_then(|p| DhcpRepr::parse(&p)) {
        let mut buf = [0u8; MAX_MESSAGE_LEN];
        let n = r
            .emit(&mut buf)
            .expect("a parsed message fits the largest one");
        let back = DhcpPacket::new_checked(&buf[..n]).and_then(|p| DhcpRepr::parse(&p));
        assert_eq!(back, Ok(r), "DHCP round trip");
    }
    for tags in [&[][..], &[0x81, 0x00, 0x00, 0x0a][..]] {
        let mut frame = Vec::with_capacity(ETHERNET_HEADER_LEN + 32 + data.len());
        frame.extend_from_slice(&[0xff; 6]);
        frame.extend_from_slice(&fixtures::VM.0);
        frame.extend_from_slice(tags);
        frame.extend_from_slice(&[0x08, 0x00]);
        let udp_len = (8 + data.len()).min(usize::from(u16::MAX) - 20) as u16;
        frame.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0]);
        let at = frame.len() - 10;
        frame[at..at + 2].copy_from_slice(&(udp_len + 20).to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0, 0, 255, 255, 255, 255, 0, 68, 0, 67]);
        frame.extend_from_slice(&udp_len.to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(data);
        // DHCPCAST's view: a client's message is one whatever its body;
        // the same datagram from the server's port names its chaddr, a
        // station's, or nothing.
        let ip_at = ETHERNET_HEADER_LEN + tags.len();
        assert!(satellite_filters::dhcp_cast::is_client_to_server(
            &frame, ip_at
        ));
        let mut answer = frame.clone();
        answer[ip_at + 20..ip_at + 24].copy_from_slice(&[0, 67, 0, 68]);
        if let Some(c) = satellite_filters::dhcp_cast::server_reply_client(&answer, ip_at) {
            assert_eq!(Some(&c.0[..]), data.get(28..34), "DHCPCAST chaddr");
            assert!(c.is_valid_source(), "DHCPCAST to a group");
        }
        let port = fixtures::dhcp_port();
        let mut reply = [0u8; REPLY_BUF_LEN];
        if let FilterVerdict::Reply { len } =
            filter_ingress(&frame, port, fixtures::tables(), &mut reply)
        {
            check_dhcp_reply(&frame, &reply[..len.min(REPLY_BUF_LEN)], tags.len());
        }
    }
}

/// A DHCP answer goes back to the asker (or to broadcast, on its port
/// only), under the asker's tags, as a BOOTREPLY to its transaction that
/// parses, in a datagram whose IPv4 checksum holds.
fn check_dhcp_reply(frame: &[u8], reply: &[u8], tags: usize) {
    let ip_at = ETHERNET_HEADER_LEN + tags;
    assert!(reply.len() >= ip_at + 28 + 300, "short DHCP reply");
    assert!(
        reply[..6] == frame[6..12] || reply[..6] == [0xff; 6],
        "DHCP reply to a third party"
    );
    assert_eq!(&reply[12..ip_at], &frame[12..ip_at], "tags changed");
    let ip = &reply[ip_at..ip_at + 20];
    let mut sum = 0u32;
    for c in ip.chunks_exact(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    assert_eq!(sum, 0xffff, "IPv4 header checksum");
    let req = DhcpPacket::new_checked(&frame[ip_at + 28..]).expect("answered, so it parsed");
    let rep = DhcpPacket::new_checked(&reply[ip_at + 28..]).expect("the reply parses");
    let rep = DhcpRepr::parse(&rep).expect("the reply parses");
    assert_eq!(rep.op, satellite_filters::dhcp::BOOTREPLY);
    assert_eq!(rep.xid, req.xid(), "reply to another transaction");
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
