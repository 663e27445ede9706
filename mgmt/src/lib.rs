//! `satellited` and `satctl`: configuration, the control socket, the
//! Prometheus exporter and the wiring of data plane and protocol engine.
//!
//! Each job has an owner (docs/architecture.md has the whole map):
//! [`config`] reads and checks the file; [`hugepages`] decides the memory
//! the EAL runs on; `ports` owns the devices and their carrier; `workers` the worker lcores and their queues; `plane`
//! the control plane, the only writer of switch state and of forwarding
//! snapshots; `protocols` drives the sans-IO protocol node; `bindings`
//! the run-time ARPless bindings; `requests` answers satctl from
//! read-only views; `reload` owns run-time changes (ports added and
//! removed through `port_changes`, configuration reloads); [`daemon`] only assembles them and waits for the
//! earliest deadline. Management threads ([`server`], [`metrics`]) never
//! touch switch state: they send requests to the control lcore and wait
//! for its answer. [`table`] and [`topology`] are satctl's: column tables,
//! and the fabric picture built from daemons' reports (docs/topology.md).
#![forbid(unsafe_code)]

mod bindings;
pub mod config;
pub mod control;
pub mod daemon;
pub mod hugepages;
mod learn_refusals;
mod link_events;
mod link_state;
pub mod metrics;
mod mtu;
mod plane;
mod port_changes;
mod ports;
mod protocols;
mod reload;
mod requests;
pub mod server;
pub mod table;
pub mod topology;
mod workers;

pub use ports::eal_args;
pub use requests::Envelope;
