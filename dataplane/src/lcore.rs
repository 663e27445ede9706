//! Worker threads: registered with DPDK (so they get an lcore id and
//! mempool caches) and pinned to a CPU core.

use crate::eal::last_error;

/// Registers the calling thread with DPDK and pins it to `core` (when
/// given). Returns the lcore id DPDK assigned.
pub fn register_current_thread(core: Option<usize>) -> Result<u32, String> {
    if let Some(core) = core {
        // Not core_affinity::get_core_ids(): it lists only the CPUs the
        // spawning thread may use, and the EAL may have pinned that thread.
        let online = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let cpus = std::fs::read_to_string("/sys/devices/system/cpu/online")
            .ok()
            .and_then(|s| last_cpu(&s))
            .map(|last| last + 1)
            .unwrap_or(online);
        if core >= cpus {
            tracing::warn!(core, cpus, "no such CPU core; worker left unpinned");
        } else if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
            tracing::warn!(core, "could not pin worker thread");
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

/// The highest CPU number in a kernel CPU list such as "0-3,8".
fn last_cpu(list: &str) -> Option<usize> {
    list.trim()
        .split(',')
        .filter_map(|r| r.rsplit('-').next()?.trim().parse().ok())
        .max()
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_lists() {
        assert_eq!(super::last_cpu("0-1\n"), Some(1));
        assert_eq!(super::last_cpu("0-3,8"), Some(8));
        assert_eq!(super::last_cpu("0"), Some(0));
        assert_eq!(super::last_cpu(""), None);
    }
}
