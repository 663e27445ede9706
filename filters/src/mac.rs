//! Ethernet addresses and the EtherTypes the filters look at.

use core::fmt;

/// EtherType of ARP and InARP (RFC 826, RFC 2390).
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of RARP and DRARP (RFC 903, RFC 1931).
pub const ETHERTYPE_RARP: u16 = 0x8035;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;

/// Length of the untagged Ethernet header (destination, source, EtherType).
pub const ETHERNET_HEADER_LEN: usize = 14;
/// Minimum Ethernet frame length without the FCS; shorter replies are padded.
pub const MIN_FRAME_LEN: usize = 60;

/// A 48-bit IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The all-ones broadcast address.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// The all-zeros address; never a valid source.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// Builds an address from the first six bytes of `bytes`; `None` if shorter.
    #[inline]
    pub fn from_slice(bytes: &[u8]) -> Option<MacAddr> {
        let six: [u8; 6] = bytes.get(..6)?.try_into().ok()?;
        Some(MacAddr(six))
    }

    /// The I/G bit: set for multicast and broadcast (group) addresses.
    #[inline]
    pub const fn is_group(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// The U/L bit: set for locally administered addresses.
    #[inline]
    pub const fn is_locally_administered(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// A valid source address: individual (not group) and not all zeros.
    #[inline]
    pub fn is_valid_source(&self) -> bool {
        !self.is_group() && *self != MacAddr::ZERO
    }

    /// The address as the low 48 bits of a word, first octet highest: one
    /// register to compare, hash or key a table with, instead of six bytes.
    #[inline]
    pub const fn to_u64(self) -> u64 {
        let b = self.0;
        u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]])
    }

    /// The address in the low 48 bits of `m` (see [`MacAddr::to_u64`]).
    #[inline]
    pub const fn from_u64(m: u64) -> MacAddr {
        let b = m.to_be_bytes();
        MacAddr([b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    /// The 24-bit organisationally unique identifier (first three octets).
    #[inline]
    pub const fn oui(&self) -> crate::interstellar::Oui {
        crate::interstellar::Oui::from_octets([self.0[0], self.0[1], self.0[2]])
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_and_local_bits() {
        assert!(MacAddr::BROADCAST.is_group());
        assert!(!MacAddr::BROADCAST.is_valid_source());
        assert!(!MacAddr::ZERO.is_valid_source());
        let m = MacAddr([0x02, 0, 0, 0, 0, 1]);
        assert!(m.is_locally_administered());
        assert!(!m.is_group());
        assert!(m.is_valid_source());
        assert!(MacAddr([0x01, 0, 0x5e, 0, 0, 1]).is_group());
        assert_eq!(m.to_string(), "02:00:00:00:00:01");
        assert_eq!(m.to_u64(), 0x0200_0000_0001);
        assert_eq!(MacAddr::from_u64(m.to_u64()), m);
        assert_eq!(MacAddr::from_slice(&[1, 2, 3, 4, 5]), None);
        assert_eq!(
            MacAddr::from_slice(&[1, 2, 3, 4, 5, 6, 7]),
            Some(MacAddr([1, 2, 3, 4, 5, 6]))
        );
    }
}
