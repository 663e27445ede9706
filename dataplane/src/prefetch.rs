//! Software prefetch: the one tool that hides a cache miss behind useful
//! work. The worker asks for the FDB buckets (and frame headers) of a whole
//! burst before classifying its first frame, so the misses overlap.

/// Asks the CPU to start loading the cache line holding `p` into all cache
/// levels. A hint: never faults, whatever the address.
#[inline(always)]
pub fn read<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint; it does not fault on any address and
    // does not change memory.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
