//! Wire formats and the sans-IO spanning-tree engine of Satellite.
//!
//! What this crate guarantees:
//! - **Parsing is total.** [`wire`] decodes 802.3/LLC frames and the BPDUs of
//!   802.1D-2004 clause 9 (Configuration, TCN, RST) without panicking on any
//!   input; every rejection is a [`wire::Error`] naming what was wrong.
//!   `parse(emit(x)) == x` for every representable BPDU. Unknown protocol
//!   versions are handled as 9.3.4 says.
//! - **The engine is the standard's.** [`rstp`] implements the state machines
//!   of 802.1D-2004 clause 17 (PIM, PRS, PRT, PST, TCM, PPM, PTX, PRX, PTI,
//!   BDM) as functions named after them, with the standard's state, variable
//!   and procedure names. Deliberate choices are listed in [`rstp`]'s docs.
//! - **No I/O, no clock.** [`rstp::Bridge`] takes `(now, Event)` and returns
//!   [`rstp::Action`]s; it never reads time, sockets or randomness, so the
//!   same code runs in the daemon, in unit tests and in [`sim`], a
//!   deterministic discrete-event simulator of many bridges.
//!
//! What it leaves to others: receiving and sending frames, BPDU guard on edge
//! ports, applying port states and FDB flushes to the data path, and the
//! SSTP link-state layer (not yet here).
//!
//! # Using the engine
//!
//! ```
//! use satellite_protocol::rstp::{Action, Bridge, BridgeConfig, Event, PortConfig};
//! use satellite_protocol::wire::{decode_bpdu_frame, encode_bpdu_frame, MacAddr};
//! use std::time::Duration;
//!
//! let mut bridge = Bridge::new(BridgeConfig::new(MacAddr([2, 0, 0, 0, 0, 1])))?;
//! bridge.add_port(PortConfig::new(1))?;
//! let mut actions = Vec::new();
//! let now = Duration::ZERO; // any monotonic clock
//! bridge.handle(now, Event::PortUp { port: 1, speed_mbps: Some(10_000) }, &mut actions);
//! for a in actions.drain(..) {
//!     match a {
//!         Action::Transmit { port, bpdu } => {
//!             let frame = encode_bpdu_frame(MacAddr([2, 1, 0, 0, 0, 1]), &bpdu);
//!             // ... send `frame` on `port`; on receipt, the daemon does:
//!             let rx = decode_bpdu_frame(&frame).expect("valid");
//!             let _ = Event::BpduReceived { port, bpdu: rx.bpdu };
//!         }
//!         Action::SetPortState { .. } | Action::FlushFdb { .. } => { /* data path */ }
//!         Action::TopologyChange { .. } | Action::RoleChanged { .. } => { /* logs, metrics */ }
//!     }
//! }
//! // Wake the engine when it asks to be woken.
//! let wake = bridge.poll_timeout().unwrap();
//! bridge.handle(wake, Event::Tick, &mut actions);
//! assert_eq!(bridge.status().ports[0].role, satellite_protocol::rstp::PortRole::Designated);
//! # Ok::<(), satellite_protocol::rstp::ConfigError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod node;
pub mod rstp;
pub mod sim;
pub mod sstp;
pub mod wire;

/// Index of a switch port: dense, 0-based, the same in every crate (the
/// data path's snapshot, the protocols, the control lcore). RSTP's port
/// number is this index plus one.
pub type PortIndex = u16;
