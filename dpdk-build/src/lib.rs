//! Raw FFI to the system DPDK (22.11 and later, found by pkg-config), plus
//! `sat_*` wrappers for the static-inline fast path (rx/tx burst, mbuf
//! alloc/free, lcore id, errno). Nothing here is safe to call directly:
//! `satellite-dataplane` is the safe layer above it.
#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code
)]
#![allow(clippy::all)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
