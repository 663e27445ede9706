//! Adding and removing ports on the running switch: the order of steps
//! across the owners (devices, control plane, workers) that keeps every
//! other port forwarding.
//!
//! Adding: the device is made and started first (no worker polls it yet),
//! then the control plane takes the port (protocols, filters) and
//! publishes a snapshot whose port devices include it; each worker starts
//! polling it at its next poll iteration. Removing: the control plane
//! drops the port and publishes a snapshot without its device; once every
//! worker runs on that snapshot's port generation (one poll iteration), no
//! worker can touch the device any more, and only then is it stopped and
//! closed. Other ports' queues are never stopped, reconfigured or left
//! unpolled, so their frames are not lost (docs/runtime-changes.md).

use std::time::Duration;
use tracing::info;

use satellite_dataplane::Mempool;

use crate::config::PortConfig;
use crate::plane::ControlPlane;
use crate::ports::Ports;
use crate::workers::Workers;

/// Longest wait for the workers to leave a removed port's device: far
/// beyond one poll iteration and idle sleep (a fraction of a millisecond).
const QUIESCE_TIMEOUT: Duration = Duration::from_secs(2);

/// The owners a port change goes through.
pub(crate) struct Parts<'a> {
    pub(crate) plane: &'a mut ControlPlane,
    pub(crate) ports: &'a mut Ports,
    pub(crate) workers: &'a Workers,
    pub(crate) pool: &'a Mempool,
}

/// Ports added and removed at run time, counted.
#[derive(Debug, Default)]
pub(crate) struct PortChanges {
    pub(crate) added: u64,
    pub(crate) removed: u64,
}

impl PortChanges {
    /// Adds a port on kernel interface `cfg.name`, or a vhost-user port
    /// (`cfg.backend`); returns its index.
    /// Refused, changing nothing, when the name is already a port, the
    /// interface does not exist, the switch is full or the device cannot
    /// be made.
    pub(crate) fn add(
        &mut self,
        parts: &mut Parts<'_>,
        now: Duration,
        cfg: &PortConfig,
    ) -> Result<usize, String> {
        if parts.plane.port_index(&cfg.name).is_ok() {
            return Err(format!("{} is already a port", cfg.name));
        }
        let slot = parts.plane.next_slot()?;
        let setup = parts.ports.open_at_run_time(slot, cfg, parts.pool)?;
        let i = match parts.plane.add_port(now, setup) {
            Ok(i) => i,
            Err(e) => {
                // No snapshot named the device: no worker has seen it.
                parts.ports.close(slot);
                return Err(e);
            }
        };
        parts.plane.settle(now);
        self.added += 1;
        info!(port = %cfg.name, index = i, kind = ?cfg.kind, "port added");
        Ok(i)
    }

    /// Removes the port named `name`. Refused, changing nothing, when
    /// there is no such port or it is the last one.
    pub(crate) fn remove(
        &mut self,
        parts: &mut Parts<'_>,
        now: Duration,
        name: &str,
    ) -> Result<(), String> {
        let i = parts.plane.port_index(name)?;
        parts.plane.remove_port(now, i)?;
        parts.plane.settle(now);
        let generation = parts.plane.devices_generation();
        if parts.workers.wait_for_devices(generation, QUIESCE_TIMEOUT) {
            parts.ports.close(i);
        } else {
            parts.ports.abandon(i);
        }
        self.removed += 1;
        info!(port = %name, index = i, "port removed");
        Ok(())
    }
}
