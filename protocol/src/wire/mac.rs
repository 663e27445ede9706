//! The IEEE 802 MAC address: the one definition every crate of Satellite
//! uses (the filters, the data path and the protocols all name stations by
//! it, so a second type would only add conversions).

use core::fmt;
use serde::{Deserialize, Serialize};

/// A 48-bit IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The all-ones broadcast address.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// The all-zeros address; never a valid source.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// The address in the first six octets of `bytes`; `None` if shorter.
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

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<MacAddr> for String {
    fn from(m: MacAddr) -> String {
        m.to_string()
    }
}

impl core::str::FromStr for MacAddr {
    type Err = String;
    /// Accepts `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff`.
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(format!("MAC address {s:?} must have six octets"));
        }
        let mut a = [0u8; 6];
        for (o, p) in a.iter_mut().zip(parts) {
            if p.is_empty() || p.len() > 2 {
                return Err(format!("bad octet {p:?} in {s:?}"));
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| format!("bad octet {p:?} in {s:?}"))?;
        }
        Ok(MacAddr(a))
    }
}

impl TryFrom<String> for MacAddr {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
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

    #[test]
    fn parses_both_notations_and_rejects_junk() {
        let m: MacAddr = "02-00-00-00-00-09".parse().unwrap();
        assert_eq!(m, "02:00:00:00:00:09".parse().unwrap());
        for bad in [
            "02:00",
            "02:00:00:00:00:0g",
            "02:00:00:00:00:",
            "002:0:0:0:0:0",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }
}
