//! Property tests of the codecs: `parse(emit(x)) == x`, and no input makes
//! the parsers panic.

use proptest::prelude::*;
use satellite_protocol::wire::{
    decode_bpdu_frame, encode_bpdu_frame, Bpdu, BpduBody, BpduTime, BridgeId, Flags, MacAddr,
    PortId, PriorityBpdu, ProtocolVersion,
};

fn bridge_id() -> impl Strategy<Value = BridgeId> {
    (any::<u16>(), any::<[u8; 6]>()).prop_map(|(p, m)| BridgeId::new(p, MacAddr(m)))
}

fn priority_bpdu() -> impl Strategy<Value = PriorityBpdu> {
    (
        any::<u8>(),
        bridge_id(),
        any::<u32>(),
        bridge_id(),
        any::<u16>(),
        any::<[u16; 4]>(),
    )
        .prop_map(|(f, root, cost, br, port, t)| PriorityBpdu {
            flags: Flags(f),
            root_id: root,
            root_path_cost: cost,
            bridge_id: br,
            port_id: PortId(port),
            message_age: BpduTime(t[0]),
            max_age: BpduTime(t[1]),
            hello_time: BpduTime(t[2]),
            forward_delay: BpduTime(t[3]),
        })
}

fn bpdu() -> impl Strategy<Value = Bpdu> {
    let v = any::<u8>().prop_map(ProtocolVersion::from);
    prop_oneof![
        (v.clone(), priority_bpdu()).prop_map(|(version, p)| Bpdu {
            version,
            body: BpduBody::Config(p)
        }),
        v.prop_map(|version| Bpdu {
            version,
            body: BpduBody::Tcn
        }),
        ((2u8..=255).prop_map(ProtocolVersion::from), priority_bpdu()).prop_map(|(version, p)| {
            Bpdu {
                version,
                body: BpduBody::Rst(p),
            }
        }),
    ]
}

proptest! {
    #[test]
    fn bpdu_round_trip(b in bpdu()) {
        prop_assert_eq!(Bpdu::parse_bytes(&b.to_vec()), Ok(b));
    }

    #[test]
    fn frame_round_trip(b in bpdu(), src in any::<[u8; 6]>()) {
        let f = encode_bpdu_frame(MacAddr(src), &b);
        let d = decode_bpdu_frame(&f).unwrap();
        prop_assert_eq!(d.bpdu, b);
        prop_assert_eq!(d.src_addr, MacAddr(src));
        // The unpadded frame decodes the same.
        let d2 = decode_bpdu_frame(&f[..17 + b.buffer_len()]).unwrap();
        prop_assert_eq!(d2.bpdu, b);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(b) = Bpdu::parse_bytes(&data) {
            // Whatever parses re-emits to a prefix of the input (but for
            // the Version 1 Length octet, always emitted as 0).
            let out = b.to_vec();
            let n = out.len().min(35);
            prop_assert_eq!(&out[..n], &data[..n]);
            prop_assert_eq!(Bpdu::parse_bytes(&out), Ok(b));
        }
        let _ = decode_bpdu_frame(&data);
    }

    #[test]
    fn arbitrary_bpdu_bodies_never_panic(
        version in any::<u8>(), t in prop_oneof![Just(0u8), Just(2u8), Just(0x80u8), any::<u8>()],
        rest in proptest::collection::vec(any::<u8>(), 0..40)
    ) {
        // Valid protocol identifier and a likely type, so the BPDU parser
        // gets past its first checks often.
        let mut data = vec![0, 0, version, t];
        data.extend_from_slice(&rest);
        if let Ok(b) = Bpdu::parse_bytes(&data) {
            let out = b.to_vec();
            let n = out.len().min(35);
            prop_assert_eq!(&out[..n], &data[..n]);
            prop_assert_eq!(Bpdu::parse_bytes(&out), Ok(b));
        }
    }

    #[test]
    fn arbitrary_bpdu_frames_never_panic(
        len in 0u16..64, tail in proptest::collection::vec(any::<u8>(), 0..60)
    ) {
        // A well-formed header in front of random content reaches the BPDU parser.
        let mut f = vec![1, 0x80, 0xC2, 0, 0, 0, 2, 0, 0, 0, 0, 1];
        f.extend_from_slice(&len.to_be_bytes());
        f.extend_from_slice(&[0x42, 0x42, 3]);
        f.extend_from_slice(&tail);
        if let Ok(d) = decode_bpdu_frame(&f) {
            prop_assert!(usize::from(len) >= 3 + d.bpdu.buffer_len());
        }
    }
}
