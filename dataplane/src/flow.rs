//! The flow hash that picks one of several equal-cost next hops: the
//! frame's MACs, its VLAN tag stack, and where present its IPv4 or IPv6
//! addresses, protocol and TCP/UDP/SCTP ports. Every frame of one flow
//! hashes alike, so a flow keeps one path and is never reordered in steady
//! state; different flows between the same two hosts spread.
//!
//! Fragments of an IPv4 datagram carry ports only in the first one, so a
//! fragment hashes on its addresses and protocol alone (all fragments, and
//! the first too, stay on one path). IPv6 hashes the ports only when the
//! transport header follows the fixed header directly; with extension
//! headers it uses addresses and next header, the same for every packet
//! of the flow.
//!
//! It is computed only for frames routed toward a Satellite switch over
//! more than one live equal-cost port: everything else pays nothing.

#![forbid(unsafe_code)]

use crate::frame::L2Header;

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86DD;
const IP_TCP: u8 = 6;
const IP_UDP: u8 = 17;
const IP_SCTP: u8 = 132;

/// One round of mixing (a multiply and a fold, as in wyhash).
#[inline(always)]
fn mix(acc: u64, word: u64) -> u64 {
    let m = u128::from(acc ^ word) * 0x9E37_79B9_7F4A_7C15u128;
    (m as u64) ^ ((m >> 64) as u64)
}

fn be32(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 4)
        .map(|x| u64::from(u32::from_be_bytes([x[0], x[1], x[2], x[3]])))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    let x: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(x))
}

fn has_ports(proto: u8) -> bool {
    matches!(proto, IP_TCP | IP_UDP | IP_SCTP)
}

/// The flow hash of `frame`, whose header parsed as `h`.
pub fn flow_hash(frame: &[u8], h: &L2Header) -> u32 {
    let mut acc = mix(h.dst, h.src.rotate_left(17));
    // The tag stack (TPID and TCI words) between the source MAC and the
    // EtherType: VLANs are part of the flow.
    let tags_end = usize::from(h.payload_offset).saturating_sub(2);
    let mut at = 12;
    while at + 4 <= tags_end {
        acc = mix(acc, be32(frame, at).unwrap_or(0));
        at += 4;
    }
    acc = mix(acc, u64::from(h.ethertype));
    let l3 = usize::from(h.payload_offset);
    match h.ethertype {
        ETH_IPV4 => {
            let Some(&vihl) = frame.get(l3) else {
                return fold(acc);
            };
            let ihl = usize::from(vihl & 0x0F) * 4;
            let (Some(addrs), Some(&proto), Some(frag)) = (
                be64(frame, l3 + 12),
                frame.get(l3 + 9),
                frame.get(l3 + 6..l3 + 8),
            ) else {
                return fold(acc);
            };
            acc = mix(acc, addrs);
            acc = mix(acc, u64::from(proto));
            let fragment = u16::from_be_bytes([frag[0], frag[1]]) & 0x3FFF != 0;
            if has_ports(proto) && !fragment && ihl >= 20 {
                if let Some(ports) = be32(frame, l3 + ihl) {
                    acc = mix(acc, ports);
                }
            }
        }
        ETH_IPV6 => {
            let (Some(s0), Some(s1), Some(d0), Some(d1), Some(&next)) = (
                be64(frame, l3 + 8),
                be64(frame, l3 + 16),
                be64(frame, l3 + 24),
                be64(frame, l3 + 32),
                frame.get(l3 + 6),
            ) else {
                return fold(acc);
            };
            acc = mix(mix(mix(mix(acc, s0), s1), d0), d1);
            acc = mix(acc, u64::from(next));
            if has_ports(next) {
                if let Some(ports) = be32(frame, l3 + 40) {
                    acc = mix(acc, ports);
                }
            }
        }
        _ => {}
    }
    fold(acc)
}

#[inline(always)]
fn fold(acc: u64) -> u32 {
    (acc ^ (acc >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::parse_l2;

    fn eth(tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        for &vid in tags {
            f.extend_from_slice(&0x8100u16.to_be_bytes());
            f.extend_from_slice(&vid.to_be_bytes());
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn ipv4(proto: u8, sport: u16, dport: u16, frag: u16) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 40, 0, 1];
        p.extend_from_slice(&frag.to_be_bytes());
        p.extend_from_slice(&[64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&[0; 16]);
        p
    }

    fn ipv6(next: u8, sport: u16) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0, 0, 8, next, 64];
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&80u16.to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        p
    }

    fn hash(f: &[u8]) -> u32 {
        let h = parse_l2(f).expect("parses");
        flow_hash(f, &h)
    }

    #[test]
    fn one_flow_one_hash_and_every_field_counts() {
        let a = eth(&[], ETH_IPV4, &ipv4(IP_TCP, 1000, 80, 0));
        assert_eq!(hash(&a), hash(&a.clone()));
        // The payload beyond the ports does not matter.
        let mut b = a.clone();
        *b.last_mut().unwrap() ^= 0xFF;
        assert_eq!(hash(&a), hash(&b));
        for other in [
            eth(&[], ETH_IPV4, &ipv4(IP_TCP, 1001, 80, 0)),
            eth(&[], ETH_IPV4, &ipv4(IP_UDP, 1000, 80, 0)),
            eth(&[7], ETH_IPV4, &ipv4(IP_TCP, 1000, 80, 0)),
            eth(&[], ETH_IPV6, &ipv6(IP_TCP, 1000)),
        ] {
            assert_ne!(hash(&a), hash(&other));
        }
        assert_ne!(
            hash(&eth(&[7, 8], 0x88B5, &[0; 46])),
            hash(&eth(&[7, 9], 0x88B5, &[0; 46]))
        );
        assert_ne!(
            hash(&eth(&[], ETH_IPV6, &ipv6(IP_UDP, 1))),
            hash(&eth(&[], ETH_IPV6, &ipv6(IP_UDP, 2)))
        );
    }

    #[test]
    fn fragments_hash_without_ports_and_short_frames_do_not_panic() {
        let f1 = eth(&[], ETH_IPV4, &ipv4(IP_UDP, 1000, 53, 0x2000));
        let f2 = eth(&[], ETH_IPV4, &ipv4(IP_UDP, 0, 0, 0x00B9));
        assert_eq!(
            hash(&f1),
            hash(&f2),
            "fragments of one datagram stay together"
        );
        for len in 14..60 {
            let f = eth(&[], ETH_IPV4, &ipv4(IP_TCP, 1, 2, 0));
            let _ = hash(&f[..len.min(f.len())]);
            let g = eth(&[], ETH_IPV6, &ipv6(IP_TCP, 1));
            let _ = hash(&g[..len.min(g.len())]);
        }
    }

    #[test]
    fn flows_spread_evenly_over_members() {
        let mut counts = [0u32; 4];
        for sport in 0..4000u16 {
            let f = eth(&[], ETH_IPV4, &ipv4(IP_UDP, sport, 9, 0));
            counts[hash(&f) as usize % 4] += 1;
        }
        assert!(
            counts.iter().all(|&c| (850..=1150).contains(&c)),
            "{counts:?}"
        );
    }
}
