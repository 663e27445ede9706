//! Worker threads: registered with DPDK (so they get an lcore id and
//! mempool caches) and pinned to a CPU core.

use crate::eal::last_error;

/// Registers the calling thread with DPDK and pins it to `core` (when
/// given). Returns the lcore id DPDK assigned.
pub fn register_current_thread(core: Option<usize>) -> Result<u32, String> {
    if let Some(core) = core {
        let ids = core_affinity::get_core_ids().unwrap_or_default();
        match ids.into_iter().find(|c| c.id == core) {
            Some(id) => {
                if !core_affinity::set_for_current(id) {
                    tracing::warn!(core, "could not pin worker thread");
                }
            }
            None => tracing::warn!(core, "no such CPU core; worker left unpinned"),
        }
    }
    // SAFETY: called once per thread, after EAL init.
    let rc = unsafe { dpdk_sys::rte_thread_register() };
    if rc != 0 {
        return Err(format!("rte_thread_register: {}", last_error()));
    }
    Ok(current_lcore_id())
}

/// Unregisters the calling thread (before it exits).
pub fn unregister_current_thread() {
    // SAFETY: the thread was registered with rte_thread_register.
    unsafe { dpdk_sys::rte_thread_unregister() }
}

/// DPDK's lcore id of the calling thread (`LCORE_ID_ANY` if unregistered).
pub fn current_lcore_id() -> u32 {
    // SAFETY: reads a thread-local.
    unsafe { dpdk_sys::sat_lcore_id() }
}
