//! Wire formats and the sans-IO spanning-tree engine of Satellite.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod rstp;
pub mod sim;
pub mod wire;
