//! Ethernet ports: virtual device creation, configuration and link state.

use crate::eal::last_error;
use crate::Mempool;
use std::ffi::{CStr, CString};

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("no DPDK port named {0:?} (is the device on the EAL command line?)")]
    NoSuchPort(String),
    #[error("creating virtual device {name} ({args}) failed: {reason}")]
    VdevFailed {
        name: String,
        args: String,
        reason: String,
    },
    #[error("port {port}: {op} failed: {reason}")]
    Dpdk {
        port: String,
        op: &'static str,
        reason: String,
    },
}

/// Link status as DPDK reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatus {
    pub up: bool,
    /// Mb/s; 0 when unknown.
    pub speed_mbps: u32,
    pub full_duplex: bool,
}

/// Per-port hardware counters as DPDK keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EthStats {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

/// Creates a virtual device such as `net_af_packet0` with `iface=veth0`.
pub fn create_vdev(name: &str, args: &str) -> Result<(), PortError> {
    let fail = |reason: String| PortError::VdevFailed {
        name: name.into(),
        args: args.into(),
        reason,
    };
    let cname = CString::new(name).map_err(|_| fail("NUL in name".into()))?;
    let cargs = CString::new(args).map_err(|_| fail("NUL in args".into()))?;
    // SAFETY: both strings are valid NUL-terminated for the call; the EAL is up.
    let rc = unsafe { dpdk_sys::rte_vdev_init(cname.as_ptr(), cargs.as_ptr()) };
    if rc != 0 {
        return Err(fail(format!(
            "rte_vdev_init returned {rc}: {}",
            last_error()
        )));
    }
    Ok(())
}

/// Removes a virtual device created with [`create_vdev`] (used when trying
/// one backend and falling back to another).
pub fn destroy_vdev(name: &str) {
    if let Ok(cname) = CString::new(name) {
        // SAFETY: valid string; uninit of an unknown name just fails.
        unsafe {
            dpdk_sys::rte_vdev_uninit(cname.as_ptr());
        }
    }
}

/// Number of ports DPDK knows.
pub fn port_count() -> u16 {
    // SAFETY: plain query.
    unsafe { dpdk_sys::rte_eth_dev_count_avail() }
}

/// One configured, started DPDK ethdev.
#[derive(Debug)]
pub struct EthPort {
    id: u16,
    name: String,
    mac: [u8; 6],
}

fn check(port: &str, op: &'static str, rc: i32) -> Result<(), PortError> {
    if rc < 0 {
        // DPDK ethdev calls return -errno rather than setting rte_errno.
        let reason = std::io::Error::from_raw_os_error(-rc).to_string();
        return Err(PortError::Dpdk {
            port: port.into(),
            op,
            reason,
        });
    }
    Ok(())
}

impl EthPort {
    /// Looks a port up by its DPDK device name.
    pub fn id_by_name(name: &str) -> Result<u16, PortError> {
        let cname = CString::new(name).map_err(|_| PortError::NoSuchPort(name.into()))?;
        let mut id = 0u16;
        // SAFETY: valid string and out pointer.
        let rc = unsafe { dpdk_sys::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id) };
        if rc != 0 {
            return Err(PortError::NoSuchPort(name.into()));
        }
        Ok(id)
    }

    /// Name DPDK gives port `id`.
    pub fn name_of(id: u16) -> String {
        let mut buf = [0 as std::os::raw::c_char; dpdk_sys::RTE_ETH_NAME_MAX_LEN as usize];
        // SAFETY: buf is RTE_ETH_NAME_MAX_LEN long as the API requires.
        let rc = unsafe { dpdk_sys::rte_eth_dev_get_name_by_port(id, buf.as_mut_ptr()) };
        if rc != 0 {
            return format!("port{id}");
        }
        // SAFETY: DPDK NUL-terminates within the buffer.
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    /// Configures `rx_queues`/`tx_queues` queues of `ring_size` descriptors,
    /// turns on promiscuous and all-multicast reception (a switch must see
    /// every frame) and starts the port.
    pub fn start(
        id: u16,
        rx_queues: u16,
        tx_queues: u16,
        ring_size: u16,
        pool: &Mempool,
    ) -> Result<EthPort, PortError> {
        let name = Self::name_of(id);
        let conf = dpdk_sys::rte_eth_conf::default();
        // SAFETY: conf is a zeroed default configuration; id is a valid port.
        check(&name, "configure", unsafe {
            dpdk_sys::rte_eth_dev_configure(id, rx_queues, tx_queues, &conf)
        })?;
        // SAFETY: plain query on a valid port.
        let socket = unsafe { dpdk_sys::rte_eth_dev_socket_id(id) };
        let socket = if socket < 0 { 0 } else { socket as u32 };
        for q in 0..rx_queues {
            // SAFETY: queue index in range; null rxconf means the driver default;
            // the pool outlives the port (pools are never freed).
            check(&name, "rx_queue_setup", unsafe {
                dpdk_sys::rte_eth_rx_queue_setup(
                    id,
                    q,
                    ring_size,
                    socket,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            })?;
        }
        for q in 0..tx_queues {
            // SAFETY: queue index in range; null txconf means the driver default.
            check(&name, "tx_queue_setup", unsafe {
                dpdk_sys::rte_eth_tx_queue_setup(id, q, ring_size, socket, std::ptr::null())
            })?;
        }
        // SAFETY: the port is configured with all queues set up.
        check(&name, "start", unsafe { dpdk_sys::rte_eth_dev_start(id) })?;
        // Not every PMD supports these (net_null does not need them); a
        // failure is logged, not fatal.
        // SAFETY: valid started port.
        let rc = unsafe { dpdk_sys::rte_eth_promiscuous_enable(id) };
        if rc != 0 {
            tracing::debug!(port = %name, rc, "promiscuous mode not supported");
        }
        // SAFETY: valid started port.
        unsafe { dpdk_sys::rte_eth_allmulticast_enable(id) };
        let mut addr = dpdk_sys::rte_ether_addr::default();
        // SAFETY: valid port and out pointer.
        unsafe { dpdk_sys::rte_eth_macaddr_get(id, &mut addr) };
        Ok(EthPort {
            id,
            name,
            mac: addr.addr_bytes,
        })
    }

    pub fn id(&self) -> u16 {
        self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Link status without waiting (DPDK's `link_get_nowait`).
    pub fn link(&self) -> LinkStatus {
        let mut link = dpdk_sys::rte_eth_link::default();
        // SAFETY: valid port and out pointer.
        unsafe { dpdk_sys::rte_eth_link_get_nowait(self.id, &mut link) };
        LinkStatus {
            up: link.link_status() != 0,
            speed_mbps: link.link_speed,
            full_duplex: link.link_duplex() != 0,
        }
    }

    /// DPDK's basic counters for this port.
    pub fn stats(&self) -> EthStats {
        let mut s = dpdk_sys::rte_eth_stats::default();
        // SAFETY: valid port and out pointer.
        unsafe { dpdk_sys::rte_eth_stats_get(self.id, &mut s) };
        EthStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        }
    }

    /// Receives and frees up to `max_per_queue` frames from each of the
    /// port's first `queues` RX queues; returns how many that was. Bounded,
    /// because a busy port (or a replaying PMD) never runs dry.
    ///
    /// Why: the af_packet PMD opens its socket for every protocol and sets up
    /// the RX ring *before* binding it to the interface, so for a moment the
    /// ring takes frames from every interface of the namespace. The daemon
    /// discards them once all ports are up, before any worker polls, or a
    /// neighbour's BPDU on another port would read as arriving on this one
    /// (and trip BPDU guard on a host port).
    pub fn discard_rx(&self, queues: u16, max_per_queue: u64) -> u64 {
        let mut total = 0u64;
        for q in 0..queues {
            let mut taken = 0u64;
            while taken < max_per_queue {
                let mut batch = crate::mbuf::MbufBatch::<32>::new();
                let n = batch.rx_burst(self.id, q) as u64;
                taken += n;
                // Dropping the batch frees the mbufs.
                if n == 0 {
                    break;
                }
            }
            total += taken;
        }
        total
    }

    /// Stops and closes the port.
    pub fn stop(self) {
        // SAFETY: valid port; no worker uses it any more (the daemon joins
        // the workers first).
        unsafe {
            dpdk_sys::rte_eth_dev_stop(self.id);
            dpdk_sys::rte_eth_dev_close(self.id);
        }
    }
}
