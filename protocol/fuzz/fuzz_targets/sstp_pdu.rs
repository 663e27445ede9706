//! Feeds arbitrary bytes to the SSTP frame and PDU decoders: they must
//! never panic, and whatever decodes must re-encode to something that
//! decodes to the same value (for an LSP, to the very same octets, as an
//! LSP has one encoding).
//!
//! Random mutations almost never produce a valid CRC-32, so each input is
//! also decoded a second time with both checksums made right: that is what
//! lets the fuzzer reach the fixed parts and the TLV code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satellite_protocol::wire::{
    decode_sstp_frame, encode_sstp_frame, SstpPacket, SstpPdu, ETHERNET_HEADER_LEN, MAX_PDU_LEN,
};

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut fixed = data.to_vec();
    if fix_checksums(&mut fixed) {
        check(&fixed);
    }
});

fn check(data: &[u8]) {
    if let Ok(f) = decode_sstp_frame(data) {
        let again = encode_sstp_frame(f.src, f.sender, f.sender_port, &f.pdu)
            .expect("a decoded PDU re-encodes");
        assert_eq!(decode_sstp_frame(&again).as_ref(), Ok(&f));
        if let SstpPdu::Lsp(_) = f.pdu {
            let n = ETHERNET_HEADER_LEN + f.pdu.encoded_len();
            assert_eq!(&again[..n], &data[..n]);
        }
    }
    if let Ok((sender, port, pdu)) = SstpPdu::parse_bytes(data) {
        let again = pdu.to_vec(sender, port).expect("a decoded PDU re-encodes");
        assert_eq!(SstpPdu::parse_bytes(&again), Ok((sender, port, pdu)));
    }
}

/// Rewrites the LSP content checksum and the PDU checksum of the PDU after
/// the Ethernet header, as far as the length field is plausible.
fn fix_checksums(frame: &mut [u8]) -> bool {
    let Some(pdu) = frame.get_mut(ETHERNET_HEADER_LEN..) else {
        return false;
    };
    if pdu.len() < 16 {
        return false;
    }
    let len = usize::from(u16::from_be_bytes([pdu[2], pdu[3]]));
    if !(16..=MAX_PDU_LEN).contains(&len) || len > pdu.len() {
        return false;
    }
    let pdu = &mut pdu[..len];
    if pdu[1] == 2 && len >= 40 {
        let mut h = crc32fast::Hasher::new();
        h.update(&pdu[16..32]);
        h.update(&[0; 6]);
        h.update(&pdu[38..]);
        pdu[34..38].copy_from_slice(&h.finalize().to_be_bytes());
    }
    SstpPacket::new_unchecked(pdu).fill_checksum();
    true
}
