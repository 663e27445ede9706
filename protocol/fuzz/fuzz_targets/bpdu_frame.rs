//! Feeds arbitrary bytes to the frame and BPDU parsers: they must never
//! panic, and whatever parses must re-emit to the same octets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satellite_protocol::wire::{decode_bpdu_frame, encode_bpdu_frame, Bpdu};

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = Bpdu::parse_bytes(data) {
        let out = b.to_vec();
        assert_eq!(&out[..], &data[..out.len()]);
    }
    if let Ok(f) = decode_bpdu_frame(data) {
        let again = decode_bpdu_frame(&encode_bpdu_frame(f.src_addr, &f.bpdu)).unwrap();
        assert_eq!(again, f);
    }
});
