//! The unicast tag: six octets a Satellite switch puts between the source
//! MAC and the rest of a frame it routes to another Satellite switch by the
//! link state, so the receiver can apply the downhill test and the repair
//! rules of [`crate::sstp::forward`]. It never leaves the fabric: the
//! switch a frame's destination lives at takes it off before delivery, and
//! a switch only tags toward a neighbour whose HELLOs say it reads tags.
//!
//! | octets | field                                                        |
//! |--------|--------------------------------------------------------------|
//! | 0–1    | EtherType 0x88B6 (IEEE 802 Local Experimental EtherType 2)   |
//! | 2–5    | bit 31: repair hop; bit 30: repaired; bits 29–0: distance    |
//!
//! then the frame's own EtherType or VLAN tags. The tag sits where an
//! outer VLAN tag would, so a fabric link needs an MTU six octets above its
//! edge ports' (docs/sstp.md, "Unicast tag").

use crate::sstp::forward::{Tag, TAG_DISTANCE_MAX};

/// EtherType of the unicast tag.
pub const UNICAST_TAG_ETHERTYPE: u16 = 0x88B6;
/// Octets the tag adds to a frame.
pub const UNICAST_TAG_LEN: usize = 6;
/// Where the tag starts: after the destination and source MACs.
pub const UNICAST_TAG_OFFSET: usize = 12;

const REPAIR_HOP: u32 = 1 << 31;
const REPAIRED: u32 = 1 << 30;

/// The tag's six octets.
pub fn encode_unicast_tag(tag: Tag) -> [u8; UNICAST_TAG_LEN] {
    unicast_tag_bytes(unicast_tag_word(tag))
}

/// The six octets of the tag whose [`unicast_tag_word`] is `word`.
pub fn unicast_tag_bytes(word: u32) -> [u8; UNICAST_TAG_LEN] {
    let mut out = [0; UNICAST_TAG_LEN];
    out[..2].copy_from_slice(&UNICAST_TAG_ETHERTYPE.to_be_bytes());
    out[2..].copy_from_slice(&word.to_be_bytes());
    out
}

/// The tag's last four octets as a word: how the data path keeps a tag in
/// its per-frame record.
pub fn unicast_tag_word(tag: Tag) -> u32 {
    tag.distance.min(TAG_DISTANCE_MAX)
        | if tag.repair_hop { REPAIR_HOP } else { 0 }
        | if tag.repaired { REPAIRED } else { 0 }
}

/// The tag a [`unicast_tag_word`] holds.
pub fn unicast_tag_from_word(word: u32) -> Tag {
    Tag {
        distance: word & TAG_DISTANCE_MAX,
        repair_hop: word & REPAIR_HOP != 0,
        repaired: word & REPAIRED != 0,
    }
}

/// The tag of `frame` (a whole Ethernet frame), or `None` when it has none
/// or is too short to hold one and an EtherType after it.
#[inline]
pub fn decode_unicast_tag(frame: &[u8]) -> Option<Tag> {
    let at = UNICAST_TAG_OFFSET;
    let bytes = frame.get(at..at + UNICAST_TAG_LEN + 2)?;
    if u16::from_be_bytes([bytes[0], bytes[1]]) != UNICAST_TAG_ETHERTYPE {
        return None;
    }
    let word = u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]);
    Some(unicast_tag_from_word(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout() {
        let t = Tag {
            distance: 0x0102_0304,
            repair_hop: true,
            repaired: false,
        };
        assert_eq!(encode_unicast_tag(t), [0x88, 0xB6, 0x81, 0x02, 0x03, 0x04]);
    }

    #[test]
    fn short_and_foreign_frames_have_no_tag() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&encode_unicast_tag(Tag::default()));
        assert_eq!(decode_unicast_tag(&f), None, "no EtherType after the tag");
        f.extend_from_slice(&[0x08, 0x00]);
        assert_eq!(decode_unicast_tag(&f), Some(Tag::default()));
        f[12] = 0x81;
        assert_eq!(decode_unicast_tag(&f), None);
    }

    proptest! {
        #[test]
        fn round_trip(distance in 0..=TAG_DISTANCE_MAX, repair_hop: bool, repaired: bool, rest in proptest::collection::vec(any::<u8>(), 2..64)) {
            let t = Tag { distance, repair_hop, repaired };
            let mut f = vec![0u8; 12];
            f.extend_from_slice(&encode_unicast_tag(t));
            f.extend_from_slice(&rest);
            prop_assert_eq!(decode_unicast_tag(&f), Some(t));
            prop_assert_eq!(unicast_tag_from_word(unicast_tag_word(t)), t);
        }

        #[test]
        fn no_panic_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = decode_unicast_tag(&bytes);
        }
    }
}
