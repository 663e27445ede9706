//! Packet mbuf pools.

use crate::eal::last_error;
use std::ffi::CString;
use std::ptr::NonNull;

/// A pool of packet buffers (`rte_pktmbuf_pool_create`). Mbufs from it are
/// returned to it on drop; the pool itself is never freed while the process
/// runs, because DPDK gives no way to know that every mbuf is back.
pub struct Mempool {
    raw: NonNull<dpdk_sys::rte_mempool>,
}

// SAFETY: rte_mempool is designed for concurrent use from many lcores; the
// pointer is only handed to DPDK functions that are thread-safe.
unsafe impl Send for Mempool {}
// SAFETY: as above, all operations we expose are thread-safe in DPDK.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Creates a pool of `n` mbufs with DPDK's default data room (2 KiB plus
    /// headroom) and a per-lcore cache of `cache` entries.
    pub fn new(name: &str, n: u32, cache: u32) -> Result<Mempool, String> {
        let cname = CString::new(name).map_err(|_| format!("bad mempool name {name:?}"))?;
        // SAFETY: cname is valid for the call; the EAL is initialised (the
        // caller holds an Eal); SOCKET_ID_ANY lets DPDK choose.
        let raw = unsafe {
            dpdk_sys::rte_pktmbuf_pool_create(
                cname.as_ptr(),
                n,
                cache,
                0,
                dpdk_sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16,
                dpdk_sys::SOCKET_ID_ANY,
            )
        };
        NonNull::new(raw)
            .map(|raw| Mempool { raw })
            .ok_or_else(|| format!("rte_pktmbuf_pool_create({name}, {n}): {}", last_error()))
    }

    pub(crate) fn as_ptr(&self) -> *mut dpdk_sys::rte_mempool {
        self.raw.as_ptr()
    }

    /// Allocates one mbuf, or `None` when the pool is empty.
    pub fn alloc(&self) -> Option<crate::Mbuf> {
        // SAFETY: the pool pointer is valid for the life of the process.
        let m = unsafe { dpdk_sys::sat_pktmbuf_alloc(self.raw.as_ptr()) };
        // SAFETY: a non-null pointer from alloc is a fresh mbuf we own.
        NonNull::new(m).map(|m| unsafe { crate::Mbuf::from_raw(m) })
    }

    /// Allocates an mbuf holding a copy of `bytes` (for frames the control
    /// lcore sends, e.g. BPDUs).
    pub fn alloc_with(&self, bytes: &[u8]) -> Option<crate::Mbuf> {
        let mut m = self.alloc()?;
        m.append(bytes).ok()?;
        Some(m)
    }

    /// Mbufs currently free in the pool (for the `mempool_available` gauge).
    pub fn available(&self) -> u32 {
        // SAFETY: read-only query on a valid pool.
        unsafe { dpdk_sys::rte_mempool_avail_count(self.raw.as_ptr()) }
    }
}
