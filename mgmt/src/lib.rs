//! `satellited` and `satctl`: configuration, the control socket, the
//! Prometheus exporter and the wiring of data plane and protocol engine.
//!
//! The daemon's main thread is the control lcore: the only writer of
//! forwarding snapshots and of all switch state. Management threads (the
//! socket server, the metrics server) never touch that state; they send
//! requests to the control lcore and wait for its answer.
#![forbid(unsafe_code)]

pub mod config;
pub mod control;
pub mod daemon;
pub mod edge_filters;
pub mod metrics;
pub mod server;
pub mod spanning_tree;
