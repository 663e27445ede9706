//! EAL initialisation from Rust arguments.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::sync::atomic::{AtomicBool, Ordering};

static EAL_STARTED: AtomicBool = AtomicBool::new(false);

#[derive(Debug, thiserror::Error)]
pub enum EalError {
    #[error("the EAL was already initialised in this process (DPDK allows it once)")]
    AlreadyInitialised,
    #[error("EAL argument contains a NUL byte: {0:?}")]
    NulInArgument(String),
    #[error("rte_eal_init failed: {0}")]
    InitFailed(String),
}

/// DPDK's error text for `rte_errno` as it stands now.
pub fn last_error() -> String {
    // SAFETY: sat_errno reads a thread-local; rte_strerror returns a pointer
    // to a static or thread-local NUL-terminated string, valid until the next
    // call on this thread, and we copy it out at once.
    unsafe {
        let code = dpdk_sys::sat_errno();
        let p = dpdk_sys::rte_strerror(code);
        if p.is_null() {
            format!("rte_errno {code}")
        } else {
            format!("{} (rte_errno {code})", CStr::from_ptr(p).to_string_lossy())
        }
    }
}

/// The initialised Environment Abstraction Layer. Dropping it runs
/// `rte_eal_cleanup`, so keep it alive for as long as any port or mempool.
pub struct Eal {
    /// The runtime directory DPDK made for this process's private file
    /// prefix, removed after cleanup (EAL leaves it behind, and a test run
    /// of many daemons would leave a thousand).
    private_runtime_dir: Option<std::path::PathBuf>,
}

impl Eal {
    /// Initialises the EAL with `args` (without the program name). Typical
    /// lab arguments: `--no-huge -m 256 --no-pci --file-prefix NAME --vdev ...`.
    pub fn init<S: AsRef<str>>(args: &[S]) -> Result<Eal, EalError> {
        if EAL_STARTED.swap(true, Ordering::SeqCst) {
            return Err(EalError::AlreadyInitialised);
        }
        let mut owned = vec![CString::new("satellited").expect("static string")];
        for a in args {
            let a = a.as_ref();
            owned.push(CString::new(a).map_err(|_| EalError::NulInArgument(a.to_owned()))?);
        }
        // rte_eal_init may permute argv; give it a private array of pointers
        // into strings that outlive the call (DPDK keeps no reference to argv
        // after init except through its own copies).
        let mut argv: Vec<*mut c_char> = owned.iter().map(|s| s.as_ptr() as *mut c_char).collect();
        let argc = argv.len() as i32;
        // SAFETY: argv holds argc valid NUL-terminated strings that live until
        // the end of this function; the EAL is initialised at most once per
        // process (guarded by EAL_STARTED).
        let rc = unsafe { dpdk_sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        if rc < 0 {
            return Err(EalError::InitFailed(last_error()));
        }
        // DPDK's log keeps pointers into argv on some paths; leak the strings
        // (a few bytes, once per process) rather than risk a dangling pointer.
        std::mem::forget(owned);
        Ok(Eal {
            private_runtime_dir: private_runtime_dir(args),
        })
    }

    /// Whether the EAL runs on hugepages (not `--no-huge`).
    pub fn hugepages(&self) -> bool {
        // SAFETY: a read of a flag set during the initialisation `self`
        // proves has happened.
        unsafe { dpdk_sys::rte_eal_has_hugepages() != 0 }
    }

    /// TSC frequency in Hz, for converting cycle counts.
    pub fn tsc_hz(&self) -> u64 {
        // SAFETY: plain read of a value the EAL computed at init.
        unsafe { dpdk_sys::sat_get_tsc_hz() }
    }
}

/// The runtime directory of this process, when the arguments gave it a
/// file prefix of its own (the default prefix is shared with other DPDK
/// processes, so its directory is never removed).
fn private_runtime_dir<S: AsRef<str>>(args: &[S]) -> Option<std::path::PathBuf> {
    let prefix = args
        .iter()
        .find_map(|a| a.as_ref().strip_prefix("--file-prefix=").map(str::to_owned))?;
    // SAFETY: after a successful rte_eal_init the runtime directory is a
    // NUL-terminated string owned by the EAL; it is copied out at once.
    let dir = unsafe {
        let p = dpdk_sys::rte_eal_get_runtime_dir();
        if p.is_null() {
            return None;
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    };
    let dir = std::path::PathBuf::from(dir);
    (!prefix.is_empty() && dir.file_name().is_some_and(|n| n == prefix.as_str())).then_some(dir)
}

impl Drop for Eal {
    fn drop(&mut self) {
        let live = crate::tablemem::stop_using_dpdk_heap();
        if live > 0 {
            // Cleanup would unmap memory tables still point into; the
            // process is ending, so leaving the EAL up costs nothing.
            tracing::warn!(
                blocks = live,
                "tables still hold DPDK memory; EAL cleanup skipped"
            );
        } else {
            // SAFETY: called once, after every user of the EAL (held by
            // lifetimes in the daemon's shutdown order) is gone, and no
            // table holds DPDK heap memory any more (checked above).
            unsafe {
                dpdk_sys::rte_eal_cleanup();
            }
        }
        if let Some(dir) = &self.private_runtime_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Reads the time-stamp counter: the cycle count used for cycles/packet.
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc has no preconditions.
    unsafe { dpdk_sys::sat_rdtsc() }
}
