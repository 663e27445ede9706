#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| satellite_fuzzing::dhcp(data));
