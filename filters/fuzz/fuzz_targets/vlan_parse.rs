#![no_main]
//! The VLAN parser must accept or reject any bytes without panicking, and
//! what it accepts must be self-consistent.

use libfuzzer_sys::fuzz_target;
use satellite_filters::vlan::{self, VlanConfig};

fuzz_target!(|data: &[u8]| {
    let cfg = VlanConfig::default();
    if let Ok(p) = vlan::parse(data, &cfg) {
        assert!(p.stack.len() <= cfg.max_depth());
        assert_eq!(p.payload_offset, 14 + 4 * p.stack.len());
        assert!(p.payload_offset <= data.len());
        assert!(!cfg.is_tpid(p.ether_type));
    }
});
