//! The data plane of Satellite.
//!
//! Two halves with one seam between them:
//!
//! * the **safe DPDK layer** ([`eal`], [`mempool`], [`mbuf`], [`port`],
//!   [`lcore`], [`prefetch`], [`simd`], [`tablemem`]) — the only code in the workspace besides `dpdk-sys` that
//!   contains `unsafe`, each block justified by a `// SAFETY:` comment;
//! * the **switching logic** ([`frame`], [`fdb`], [`snapshot`], [`worker`])
//!   — safe Rust. Workers read an immutable [`snapshot::ForwardingSnapshot`]
//!   published by the control lcore with one atomic pointer swap, report
//!   what they learn over bounded lock-free queues, and never lock, allocate
//!   or block per packet.
//!
//! What the control lcore does with learn events, punted frames and
//! protocol state is left to `satellite` (mgmt/); this crate only provides
//! the FDB authority and the publisher it drives.

pub mod backoff;
pub mod counters;
pub mod dhcpcast;
pub mod eal;
pub mod egress;
pub mod fdb;
pub mod flow;
pub mod frame;
pub mod lcore;
pub mod mbuf;
pub mod mempool;
pub mod port;
pub mod prefetch;
pub mod simd;
pub mod snapshot;
pub mod storm;
pub mod tablemem;
pub mod worker;

pub use eal::{Eal, EalError};
pub use mbuf::{Mbuf, MbufBatch};
pub use mempool::Mempool;
pub use port::{EthPort, LinkStatus, PortError};
/// The dense 0-based port index every crate shares.
pub use satellite_protocol::PortIndex;
