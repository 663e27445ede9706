//! The SSTP link-state engine: adjacency, the link-state database, reliable
//! flooding, SPF with ECMP and precomputed repair. Sans-IO like [`crate::rstp`],
//! and never importing it: [`crate::node`] joins the two.

pub mod routes;
pub mod spf;
