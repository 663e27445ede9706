//! Property test of the engine: any sequence of valid BPDUs, port events
//! and ticks leaves a bridge in a state that respects clause 17's
//! invariants, and it never panics.

use proptest::prelude::*;
use satellite_protocol::rstp::{Bridge, BridgeConfig, Event, PortConfig, PortRole, PortState};
use satellite_protocol::wire::{
    Bpdu, BpduBody, BpduTime, BridgeId, Flags, MacAddr, PortId, PriorityBpdu, ProtocolVersion,
};
use std::time::Duration;

fn bpdu() -> impl Strategy<Value = Bpdu> {
    (
        0u8..3,
        any::<u8>(),
        0u8..6,
        0u32..100_000,
        0u8..6,
        any::<u16>(),
        0u16..30,
        (6u16..40, 1u16..10, 4u16..30),
    )
        .prop_map(
            |(kind, flags, root, cost, br, port, age, (max, hello, fwd))| {
                let id = |n: u8| BridgeId::new(0x8000, MacAddr([2, 0, 0, 0, 0, n]));
                let f = PriorityBpdu {
                    flags: Flags(flags),
                    root_id: id(root),
                    root_path_cost: cost,
                    bridge_id: id(br),
                    port_id: PortId(port),
                    message_age: BpduTime::from_secs(age),
                    max_age: BpduTime::from_secs(max),
                    hello_time: BpduTime::from_secs(hello),
                    forward_delay: BpduTime::from_secs(fwd),
                };
                match kind {
                    0 => Bpdu::config(f),
                    1 => Bpdu::tcn(),
                    _ => Bpdu {
                        version: ProtocolVersion::Rstp,
                        body: BpduBody::Rst(f),
                    },
                }
            },
        )
}

#[derive(Debug, Clone)]
enum Input {
    Bpdu(u16, Bpdu),
    Up(u16),
    Down(u16),
    Wait(u16),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        6 => (1u16..4, bpdu()).prop_map(|(p, b)| Input::Bpdu(p, b)),
        1 => (1u16..4).prop_map(Input::Up),
        1 => (1u16..4).prop_map(Input::Down),
        3 => (0u16..5000).prop_map(Input::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn invariants_hold(force_stp in any::<bool>(), inputs in proptest::collection::vec(input(), 1..120)) {
        let mut cfg = BridgeConfig::new(MacAddr([2, 0, 0, 0, 0, 3]));
        if force_stp {
            cfg.force_version = 0;
        }
        let mut b = Bridge::new(cfg).unwrap();
        for p in 1..4 {
            b.add_port(PortConfig::new(p)).unwrap();
        }
        let mut now = Duration::ZERO;
        let mut out = Vec::new();
        for p in 1..4 {
            b.handle(now, Event::PortUp { port: p, speed_mbps: Some(1000) }, &mut out);
        }
        for i in inputs {
            match i {
                Input::Bpdu(port, bpdu) => b.handle(now, Event::BpduReceived { port, bpdu }, &mut out),
                Input::Up(port) => b.handle(now, Event::PortUp { port, speed_mbps: None }, &mut out),
                Input::Down(port) => b.handle(now, Event::PortDown { port }, &mut out),
                Input::Wait(ms) => {
                    now += Duration::from_millis(ms.into());
                    b.handle(now, Event::Tick, &mut out);
                }
            }
            let st = b.status();
            prop_assert!(st.ports.iter().filter(|p| p.role == PortRole::Root).count() <= 1);
            if st.root_id == st.bridge_id {
                prop_assert!(st.root_port.is_none(), "root bridge with a root port");
            }
            for p in &st.ports {
                if p.state != PortState::Discarding {
                    prop_assert!(
                        matches!(p.role, PortRole::Root | PortRole::Designated),
                        "port {} {:?} but {:?}", p.port, p.role, p.state
                    );
                }
                if !p.enabled {
                    prop_assert_eq!(p.role, PortRole::Disabled);
                }
            }
            prop_assert!(st.root_id <= st.bridge_id, "root {} worse than self {}", st.root_id, st.bridge_id);
            prop_assert!(b.poll_timeout().unwrap() > now);
        }
    }
}
