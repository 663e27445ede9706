#![no_main]
//! The ARP view and repr must never panic, and a parsed repr must emit back
//! to the same 28 bytes.

use libfuzzer_sys::fuzz_target;
use satellite_filters::arp::{ArpRepr, Packet};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Packet::new_checked(data) else { return };
    let _ = (p.operation(), p.source_hardware_addr(), p.target_protocol_addr());
    if let Ok(repr) = ArpRepr::parse(&p) {
        let mut out = [0u8; ArpRepr::BUFFER_LEN];
        repr.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], &data[..ArpRepr::BUFFER_LEN]);
    }
});
