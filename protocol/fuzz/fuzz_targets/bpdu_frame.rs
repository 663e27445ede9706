//! Feeds arbitrary bytes to the frame and BPDU parsers: they must never
//! panic, and whatever parses must re-emit to the same fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use satellite_protocol::wire::{decode_bpdu_frame, encode_bpdu_frame, Bpdu};

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = Bpdu::parse_bytes(data) {
        // Re-emitting reproduces the input, except the Version 1 Length
        // octet (35) of an RST BPDU, which emit always writes as 0.
        let out = b.to_vec();
        assert_eq!(&out[..out.len().min(35)], &data[..out.len().min(35)]);
        assert_eq!(Bpdu::parse_bytes(&out), Ok(b));
    }
    if let Ok(f) = decode_bpdu_frame(data) {
        let again = decode_bpdu_frame(&encode_bpdu_frame(f.src_addr, &f.bpdu)).unwrap();
        assert_eq!(again, f);
    }
});
