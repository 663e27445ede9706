//! Ethernet addresses and the EtherTypes the filters look at.

/// EtherType of ARP and InARP (RFC 826, RFC 2390).
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of RARP and DRARP (RFC 903, RFC 1931).
pub const ETHERTYPE_RARP: u16 = 0x8035;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6 (RFC 8200).
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

// The address type and the header sizes are the wire format's: one
// definition each for the workspace.
pub use satellite_protocol::wire::{MacAddr, ETHERNET_HEADER_LEN, MIN_FRAME_LEN};
