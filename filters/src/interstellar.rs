//! Interstellars: tenant isolation carried in the MAC address itself.
//!
//! A VM's vNIC MAC is locally administered unicast and embeds a 28-bit
//! Interstellar ID (IID) and an 18-bit VM index (FILTERS.md):
//!
//! ```text
//! octet0 = (IID[27:22] << 2) | 0b10
//! octet1 =  IID[21:14]
//! octet2 =  IID[13:6]
//! octet3 = (IID[5:0] << 2) | VM[17:16]
//! octet4 =  VM[15:8]
//! octet5 =  VM[7:0]
//! ```
//!
//! Because the tenant is in the address, isolation needs no per-VM table on
//! the fast path: one decode and a membership test in the port's small IID set.

use core::fmt;

use crate::drop_reason::DropReason;
use crate::mac::MacAddr;

/// Why an identifier was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InterstellarError {
    /// IIDs are 28 bits.
    #[error("Interstellar ID {0:#x} does not fit in 28 bits")]
    IidOutOfRange(u32),
    /// VM indexes are 18 bits.
    #[error("VM index {0:#x} does not fit in 18 bits")]
    VmIndexOutOfRange(u32),
    /// OUIs are 24 bits.
    #[error("OUI {0:#x} does not fit in 24 bits")]
    OuiOutOfRange(u32),
}

/// A 28-bit Interstellar (tenant) ID.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct InterstellarId(u32);

impl InterstellarId {
    /// Largest valid IID.
    pub const MAX: u32 = (1 << 28) - 1;

    /// Rejects values wider than 28 bits rather than truncating them, so a
    /// typo in configuration cannot silently land a VM in another tenant.
    pub const fn new(raw: u32) -> Result<InterstellarId, InterstellarError> {
        if raw > Self::MAX {
            Err(InterstellarError::IidOutOfRange(raw))
        } else {
            Ok(InterstellarId(raw))
        }
    }

    /// The raw 28-bit value.
    #[inline]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for InterstellarId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#09x}", self.0)
    }
}

/// An 18-bit VM index inside an Interstellar.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct VmIndex(u32);

impl VmIndex {
    /// Largest valid index.
    pub const MAX: u32 = (1 << 18) - 1;

    /// Rejects values wider than 18 bits.
    pub const fn new(raw: u32) -> Result<VmIndex, InterstellarError> {
        if raw > Self::MAX {
            Err(InterstellarError::VmIndexOutOfRange(raw))
        } else {
            Ok(VmIndex(raw))
        }
    }

    /// The raw 18-bit value.
    #[inline]
    pub const fn get(self) -> u32 {
        self.0
    }
}

/// A 24-bit organisationally unique identifier: the first three octets of a MAC.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Oui(u32);

impl Oui {
    /// Rejects values wider than 24 bits.
    pub const fn new(raw: u32) -> Result<Oui, InterstellarError> {
        if raw > 0xff_ffff {
            Err(InterstellarError::OuiOutOfRange(raw))
        } else {
            Ok(Oui(raw))
        }
    }

    /// The OUI of an address: its first three octets.
    #[inline]
    pub const fn of(mac: MacAddr) -> Oui {
        Oui::from_octets([mac.0[0], mac.0[1], mac.0[2]])
    }

    /// The OUI made of three MAC octets.
    #[inline]
    pub const fn from_octets(o: [u8; 3]) -> Oui {
        Oui(((o[0] as u32) << 16) | ((o[1] as u32) << 8) | o[2] as u32)
    }

    /// The raw 24-bit value.
    #[inline]
    pub const fn get(self) -> u32 {
        self.0
    }
}

/// Encoding and decoding of Interstellar MACs.
pub struct InterstellarMac;

impl InterstellarMac {
    /// The MAC of VM `vm` in Interstellar `iid`.
    pub const fn compose(iid: InterstellarId, vm: VmIndex) -> MacAddr {
        let i = iid.0;
        let v = vm.0;
        MacAddr([
            (((i >> 22) & 0x3f) as u8) << 2 | 0b10,
            (i >> 14) as u8,
            (i >> 6) as u8,
            ((i & 0x3f) as u8) << 2 | ((v >> 16) & 0x3) as u8,
            (v >> 8) as u8,
            v as u8,
        ])
    }

    /// The IID and VM index carried by `mac`; `None` unless `mac` is a
    /// locally administered unicast address (burned-in and group addresses
    /// carry no IID).
    #[inline]
    pub const fn decompose(mac: MacAddr) -> Option<(InterstellarId, VmIndex)> {
        let o = mac.0;
        if o[0] & 0b11 != 0b10 {
            return None;
        }
        let iid = ((o[0] as u32 >> 2) << 22)
            | ((o[1] as u32) << 14)
            | ((o[2] as u32) << 6)
            | (o[3] as u32 >> 2);
        let vm = (((o[3] & 0b11) as u32) << 16) | ((o[4] as u32) << 8) | o[5] as u32;
        Some((InterstellarId(iid), VmIndex(vm)))
    }

    /// Just the IID of `mac`, if it carries one.
    #[inline]
    pub const fn iid(mac: MacAddr) -> Option<InterstellarId> {
        match Self::decompose(mac) {
            Some((iid, _)) => Some(iid),
            None => None,
        }
    }
}

/// The OUIs any Interstellar port may reach (routers, gateways, appliances).
pub type OuiSet = hashbrown::HashSet<Oui, ahash::RandomState>;

/// The Interstellar part of an edge port's policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterstellarPolicy {
    iid: InterstellarId,
    /// Sorted, deduplicated; small, so a binary search beats hashing.
    resonance: Box<[InterstellarId]>,
    /// Per-port additions to the global OUI list; usually zero to a few.
    extra_ouis: Box<[Oui]>,
}

impl InterstellarPolicy {
    /// A port in Interstellar `iid`, which may also talk to the `resonance`
    /// IIDs and to MACs under `extra_ouis` (on top of the global OUI list).
    pub fn new(
        iid: InterstellarId,
        resonance: impl IntoIterator<Item = InterstellarId>,
        extra_ouis: impl IntoIterator<Item = Oui>,
    ) -> InterstellarPolicy {
        let mut r: Vec<InterstellarId> = resonance.into_iter().filter(|r| *r != iid).collect();
        r.sort_unstable();
        r.dedup();
        let mut o: Vec<Oui> = extra_ouis.into_iter().collect();
        o.sort_unstable();
        o.dedup();
        InterstellarPolicy {
            iid,
            resonance: r.into_boxed_slice(),
            extra_ouis: o.into_boxed_slice(),
        }
    }

    /// The port's own IID.
    pub fn iid(&self) -> InterstellarId {
        self.iid
    }

    /// The resonance IIDs, sorted.
    pub fn resonance(&self) -> &[InterstellarId] {
        &self.resonance
    }

    /// The per-port OUI additions, sorted.
    pub fn extra_ouis(&self) -> &[Oui] {
        &self.extra_ouis
    }

    /// Whether `iid` is the port's IID or one of its resonance IDs.
    #[inline]
    pub fn in_iid_set(&self, iid: InterstellarId) -> bool {
        iid == self.iid || self.resonance.binary_search(&iid).is_ok()
    }

    /// Whether MACs under `oui` are reachable from / may reach this port.
    #[inline]
    pub fn oui_allowed(&self, oui: Oui, global: &OuiSet) -> bool {
        self.extra_ouis.binary_search(&oui).is_ok() || global.contains(&oui)
    }

    /// Ingress rule for a unicast destination.
    #[inline]
    pub fn check_unicast_dst(&self, dst: MacAddr, global: &OuiSet) -> Result<(), DropReason> {
        let iid = InterstellarMac::iid(dst);
        if iid.is_some_and(|i| self.in_iid_set(i)) || self.oui_allowed(Oui::of(dst), global) {
            Ok(())
        } else if iid.is_some() {
            Err(DropReason::InterstellarMismatch)
        } else {
            Err(DropReason::InterstellarOuiNotAllowed)
        }
    }

    /// Egress rule: may a frame from `src` leave through this port?
    #[inline]
    pub fn allows_src(&self, src: MacAddr, global: &OuiSet) -> bool {
        InterstellarMac::iid(src).is_some_and(|i| self.in_iid_set(i))
            || self.oui_allowed(Oui::of(src), global)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iid(v: u32) -> InterstellarId {
        InterstellarId::new(v).unwrap()
    }

    #[test]
    fn id_ranges() {
        assert!(InterstellarId::new(InterstellarId::MAX).is_ok());
        assert_eq!(
            InterstellarId::new(1 << 28),
            Err(InterstellarError::IidOutOfRange(1 << 28))
        );
        assert!(VmIndex::new(VmIndex::MAX).is_ok());
        assert!(VmIndex::new(1 << 18).is_err());
        assert!(Oui::new(0xff_ffff).is_ok());
        assert!(Oui::new(0x100_0000).is_err());
    }

    #[test]
    fn layout_matches_filters_md() {
        // IID 0xABCDEF1 = 1010_1011_1100_1101_1110_1111_0001, VM 0x2_1234.
        let mac = InterstellarMac::compose(iid(0xABC_DEF1), VmIndex::new(0x2_1234).unwrap());
        // IID[27:22] = 101010 -> octet0 = 101010_10.
        assert_eq!(mac.0[0], 0b1010_1010);
        // IID[21:14] = 11110011
        assert_eq!(mac.0[1], 0b1111_0011);
        // IID[13:6] = 01111011
        assert_eq!(mac.0[2], 0b0111_1011);
        // IID[5:0] = 110001, VM[17:16] = 10
        assert_eq!(mac.0[3], 0b1100_0110);
        assert_eq!(mac.0[4], 0x12);
        assert_eq!(mac.0[5], 0x34);
        assert!(mac.is_locally_administered() && !mac.is_group());
        let (i, v) = InterstellarMac::decompose(mac).unwrap();
        assert_eq!((i.get(), v.get()), (0xABC_DEF1, 0x2_1234));
    }

    #[test]
    fn only_local_unicast_carries_an_iid() {
        assert_eq!(
            InterstellarMac::decompose(MacAddr([0x00, 0x1b, 0x21, 1, 2, 3])),
            None
        );
        assert_eq!(InterstellarMac::decompose(MacAddr::BROADCAST), None);
        assert_eq!(
            InterstellarMac::decompose(MacAddr([0x03, 0, 0, 0, 0, 1])),
            None
        );
        assert!(InterstellarMac::decompose(MacAddr([0x02, 0, 0, 0, 0, 1])).is_some());
    }

    #[test]
    fn policy_rules() {
        let global: OuiSet = [Oui::new(0x001b21).unwrap()].into_iter().collect();
        let p = InterstellarPolicy::new(
            iid(7),
            [iid(9), iid(9), iid(7)],
            [Oui::new(0x00aabb).unwrap()],
        );
        assert_eq!(p.resonance(), &[iid(9)]);
        let vm = |i| InterstellarMac::compose(iid(i), VmIndex::new(3).unwrap());
        assert_eq!(p.check_unicast_dst(vm(7), &global), Ok(()));
        assert_eq!(p.check_unicast_dst(vm(9), &global), Ok(()));
        assert_eq!(
            p.check_unicast_dst(vm(8), &global),
            Err(DropReason::InterstellarMismatch)
        );
        assert_eq!(
            p.check_unicast_dst(MacAddr([0x00, 0x1b, 0x21, 0, 0, 1]), &global),
            Ok(())
        );
        assert_eq!(
            p.check_unicast_dst(MacAddr([0x00, 0xaa, 0xbb, 0, 0, 1]), &global),
            Ok(())
        );
        assert_eq!(
            p.check_unicast_dst(MacAddr([0x00, 0x11, 0x22, 0, 0, 1]), &global),
            Err(DropReason::InterstellarOuiNotAllowed)
        );
        assert!(p.allows_src(vm(9), &global));
        assert!(!p.allows_src(vm(10), &global));
        assert!(p.allows_src(MacAddr([0x00, 0x1b, 0x21, 9, 9, 9]), &global));
        assert!(!p.allows_src(MacAddr([0x00, 0x1c, 0x21, 9, 9, 9]), &global));
    }
}
