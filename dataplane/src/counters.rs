//! Lock-free per-worker counters, aggregated when scraped.
//!
//! Each counter has exactly one writer (its worker), which keeps running
//! totals in plain integers and stores them into the shared atomics once per
//! poll iteration with a relaxed store — an ordinary `mov` on x86, no locked
//! instruction on the packet path. Readers (metrics, `satctl`) sum over
//! workers.

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::frame::DropReason;

/// Slots of the per-port filter verdict counters: `pass`, `reply`,
/// `learn`, then every filter drop reason in
/// [`satellite_filters::DropReason::ALL`] order.
pub const FILTER_SLOTS: usize = 3 + satellite_filters::DropReason::ALL.len();
pub const FILTER_PASS: usize = 0;
pub const FILTER_REPLY: usize = 1;
pub const FILTER_LEARN: usize = 2;

/// Counter slot of a filter drop reason.
#[inline]
pub fn filter_drop_slot(r: satellite_filters::DropReason) -> usize {
    3 + r as usize
}

/// Label of a filter counter slot.
pub fn filter_slot_label(i: usize) -> &'static str {
    match i {
        FILTER_PASS => "pass",
        FILTER_REPLY => "reply",
        FILTER_LEARN => "learn",
        _ => satellite_filters::DropReason::ALL
            .get(i - 3)
            .map_or("unknown", |r| r.as_str()),
    }
}

/// Slots of [`PortTally::dhcpcast_steered`]: a client's broadcast made
/// unicast to its server, a server's broadcast answer to its client.
pub const DHCPCAST_REQUEST: usize = 0;
pub const DHCPCAST_REPLY: usize = 1;

/// Label of a [`PortTally::dhcpcast_steered`] slot (the `direction` of
/// `satellite_port_dhcpcast_steered_total`).
pub fn dhcpcast_label(i: usize) -> &'static str {
    match i {
        DHCPCAST_REQUEST => "request",
        _ => "reply",
    }
}

/// Shared, per-port counters of one worker.
pub struct PortCounters {
    pub rx_packets: AtomicU64,
    pub rx_bytes: AtomicU64,
    pub tx_packets: AtomicU64,
    pub tx_bytes: AtomicU64,
    pub tx_control: AtomicU64,
    pub punted: AtomicU64,
    pub drops: [AtomicU64; DropReason::COUNT],
    pub filter: [AtomicU64; FILTER_SLOTS],
    pub dhcpcast_steered: [AtomicU64; 2],
}

// By hand: `Default` for arrays stops at 32 elements, and the filter
// slots outgrew that with the DHCP drop reasons.
impl Default for PortCounters {
    fn default() -> Self {
        PortCounters {
            rx_packets: AtomicU64::new(0),
            rx_bytes: AtomicU64::new(0),
            tx_packets: AtomicU64::new(0),
            tx_bytes: AtomicU64::new(0),
            tx_control: AtomicU64::new(0),
            punted: AtomicU64::new(0),
            drops: std::array::from_fn(|_| AtomicU64::new(0)),
            filter: std::array::from_fn(|_| AtomicU64::new(0)),
            dhcpcast_steered: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// A plain copy of [`PortCounters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortTally {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Of `tx_packets`, the control lcore's own frames (BPDUs, SSTP PDUs,
    /// ARPless replies it injected): what is left is forwarded traffic.
    pub tx_control: u64,
    pub punted: u64,
    pub drops: [u64; DropReason::COUNT],
    pub filter: [u64; FILTER_SLOTS],
    /// DHCPCAST: broadcast DHCP frames that came in here and were steered
    /// as unicast, by [`DHCPCAST_REQUEST`] / [`DHCPCAST_REPLY`].
    pub dhcpcast_steered: [u64; 2],
}

impl Default for PortTally {
    fn default() -> Self {
        PortTally {
            rx_packets: 0,
            rx_bytes: 0,
            tx_packets: 0,
            tx_bytes: 0,
            tx_control: 0,
            punted: 0,
            drops: [0; DropReason::COUNT],
            filter: [0; FILTER_SLOTS],
            dhcpcast_steered: [0; 2],
        }
    }
}

impl PortTally {
    /// Adds another tally (summing workers).
    pub fn add(&mut self, o: &PortTally) {
        self.rx_packets += o.rx_packets;
        self.rx_bytes += o.rx_bytes;
        self.tx_packets += o.tx_packets;
        self.tx_bytes += o.tx_bytes;
        self.tx_control += o.tx_control;
        self.punted += o.punted;
        for (a, b) in self.drops.iter_mut().zip(o.drops.iter()) {
            *a += b;
        }
        for (a, b) in self.filter.iter_mut().zip(o.filter.iter()) {
            *a += b;
        }
        for (a, b) in self.dhcpcast_steered.iter_mut().zip(o.dhcpcast_steered) {
            *a += b;
        }
    }

    pub fn drop_count(&self, r: DropReason) -> u64 {
        self.drops[r as usize]
    }

    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Stores this (running) tally into the shared counters.
    #[inline]
    pub fn store(&self, to: &PortCounters) {
        to.rx_packets.store(self.rx_packets, Relaxed);
        to.rx_bytes.store(self.rx_bytes, Relaxed);
        to.tx_packets.store(self.tx_packets, Relaxed);
        to.tx_bytes.store(self.tx_bytes, Relaxed);
        to.tx_control.store(self.tx_control, Relaxed);
        to.punted.store(self.punted, Relaxed);
        for (a, b) in to.drops.iter().zip(self.drops.iter()) {
            a.store(*b, Relaxed);
        }
        for (a, b) in to.filter.iter().zip(self.filter.iter()) {
            a.store(*b, Relaxed);
        }
        for (a, b) in to.dhcpcast_steered.iter().zip(self.dhcpcast_steered) {
            a.store(b, Relaxed);
        }
    }
}

impl PortCounters {
    pub fn read(&self) -> PortTally {
        let mut t = PortTally {
            rx_packets: self.rx_packets.load(Relaxed),
            rx_bytes: self.rx_bytes.load(Relaxed),
            tx_packets: self.tx_packets.load(Relaxed),
            tx_bytes: self.tx_bytes.load(Relaxed),
            tx_control: self.tx_control.load(Relaxed),
            punted: self.punted.load(Relaxed),
            ..PortTally::default()
        };
        for (a, b) in t.drops.iter_mut().zip(self.drops.iter()) {
            *a = b.load(Relaxed);
        }
        for (a, b) in t.filter.iter_mut().zip(self.filter.iter()) {
            *a = b.load(Relaxed);
        }
        for (a, b) in t.dhcpcast_steered.iter_mut().zip(&self.dhcpcast_steered) {
            *a = b.load(Relaxed);
        }
        t
    }
}

/// All counters of one worker.
pub struct WorkerCounters {
    pub ports: Box<[PortCounters]>,
    /// Learn events lost because the queue to the control lcore was full
    /// (the address is learned on a later frame).
    pub learn_queue_full: AtomicU64,
    /// TSC cycles spent in poll iterations that received packets.
    pub busy_cycles: AtomicU64,
    /// Packets processed in those iterations.
    pub busy_packets: AtomicU64,
}

impl WorkerCounters {
    pub fn new(ports: usize) -> Self {
        WorkerCounters {
            ports: (0..ports).map(|_| PortCounters::default()).collect(),
            learn_queue_full: AtomicU64::new(0),
            busy_cycles: AtomicU64::new(0),
            busy_packets: AtomicU64::new(0),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn filter_slots_cover_every_filter_reason() {
        assert_eq!(
            super::FILTER_SLOTS,
            3 + satellite_filters::DropReason::ALL.len()
        );
        for (i, r) in satellite_filters::DropReason::ALL.iter().enumerate() {
            assert_eq!(super::filter_drop_slot(*r), 3 + i);
            assert_eq!(super::filter_slot_label(3 + i), r.as_str());
        }
    }
}
