//! Unit tests of the machines, driving one bridge by hand with BPDUs that
//! a neighbour would send.

use super::*;
use crate::wire::{BpduBody, BpduTime, Flags, PortRoleFlag, PriorityBpdu};

const S: Duration = Duration::from_secs(1);

fn mac(n: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0, n])
}

fn bridge(n: u8, ports: u16) -> (Bridge, Vec<Action>) {
    bridge_with(n, (1..=ports).map(PortConfig::new).collect())
}

/// Bridge `n` with these ports, every one up at 1 Gb/s.
fn bridge_with(n: u8, ports: Vec<PortConfig>) -> (Bridge, Vec<Action>) {
    let mut b = Bridge::new(BridgeConfig::new(mac(n))).unwrap();
    let numbers: Vec<u16> = ports.iter().map(|p| p.number).collect();
    for p in ports {
        b.add_port(p).unwrap();
    }
    let mut out = Vec::new();
    for port in numbers {
        b.handle(
            Duration::ZERO,
            Event::PortUp {
                port,
                speed_mbps: Some(1000),
            },
            &mut out,
        );
    }
    (b, out)
}

/// A BPDU from bridge `n` claiming `root` with `cost`, sent from its port `port`.
fn from(n: u8, root: u8, cost: u32, port: u16, flags: u8) -> PriorityBpdu {
    PriorityBpdu {
        flags: Flags(flags),
        root_id: BridgeId::new(0x8000, mac(root)),
        root_path_cost: cost,
        bridge_id: BridgeId::new(0x8000, mac(n)),
        port_id: PortId::new(128, port),
        message_age: BpduTime::from_secs(if root == n { 0 } else { 1 }),
        max_age: BpduTime::from_secs(20),
        hello_time: BpduTime::from_secs(2),
        forward_delay: BpduTime::from_secs(15),
    }
}

fn designated(flags: u8) -> u8 {
    let mut f = Flags(flags);
    f.set_role(PortRoleFlag::Designated);
    f.0
}

fn sent(out: &[Action], port: u16) -> Vec<Bpdu> {
    out.iter()
        .filter_map(|a| match a {
            Action::Transmit { port: p, bpdu } if *p == port => Some(*bpdu),
            _ => None,
        })
        .collect()
}

fn tick_until(b: &mut Bridge, until: Duration, out: &mut Vec<Action>) {
    while let Some(t) = b.poll_timeout() {
        if t > until {
            break;
        }
        b.handle(t, Event::Tick, out);
    }
}

fn port(b: &Bridge, n: u16) -> PortStatus {
    b.status().ports.into_iter().find(|p| p.port == n).unwrap()
}

#[test]
fn config_is_validated() {
    let mut c = BridgeConfig::new(mac(1));
    c.priority = 4097;
    assert_eq!(
        Bridge::new(c).unwrap_err(),
        ConfigError::BridgePriority(4097)
    );
    c.priority = 61440;
    c.max_age = 40; // needs Forward Delay >= 21
    assert!(matches!(Bridge::new(c), Err(ConfigError::Timers { .. })));
    c.max_age = 20;
    c.force_version = 1;
    assert_eq!(Bridge::new(c).unwrap_err(), ConfigError::ForceVersion(1));
    c.force_version = 2;
    let mut b = Bridge::new(c).unwrap();
    assert_eq!(
        b.add_port(PortConfig::new(0)),
        Err(ConfigError::PortNumber(0))
    );
    assert_eq!(
        b.add_port(PortConfig::new(4096)),
        Err(ConfigError::PortNumber(4096))
    );
    let mut p = PortConfig::new(1);
    p.priority = 24;
    assert_eq!(b.add_port(p), Err(ConfigError::PortPriority(24)));
    p.priority = 240;
    p.path_cost = Some(0);
    assert_eq!(b.add_port(p), Err(ConfigError::PathCost(0)));
    p.path_cost = None;
    assert_eq!(b.add_port(p), Ok(1));
    assert_eq!(b.add_port(p), Err(ConfigError::DuplicatePort(1)));
    let mut out = Vec::new();
    assert_eq!(
        b.try_handle(S, Event::SetBridgePriority(100), &mut out),
        Err(ConfigError::BridgePriority(100))
    );
    assert_eq!(
        b.try_handle(S, Event::PortDown { port: 9 }, &mut out),
        Err(ConfigError::NoSuchPort(9))
    );
}

#[test]
fn path_costs_follow_table_17_3() {
    for (mbps, cost) in [
        (10, 2_000_000),
        (100, 200_000),
        (1_000, 20_000),
        (10_000, 2_000),
        (100_000, 200),
        (1_000_000, 20),
        (10_000_000, 2),
        (100_000_000, 1),
    ] {
        assert_eq!(path_cost_from_speed(mbps), cost, "{mbps} Mb/s");
    }
    let (b, _) = bridge(1, 1);
    assert_eq!(port(&b, 1).path_cost, 20_000);
}

#[test]
fn ptx_sends_proposal_then_hellos_and_respects_hold_count() {
    let (mut b, out) = bridge(1, 1);
    let tx = sent(&out, 1);
    assert_eq!(tx.len(), 1, "one BPDU when the port comes up: {tx:?}");
    let BpduBody::Rst(f) = tx[0].body else {
        panic!("{tx:?}")
    };
    assert!(f.flags.proposal());
    assert_eq!(f.flags.role(), PortRoleFlag::Designated);
    assert_eq!(f.root_id, b.status().bridge_id);
    assert_eq!(b.poll_timeout(), Some(S));
    let mut out = Vec::new();
    tick_until(&mut b, 10 * S, &mut out);
    // Hello every 2 s.
    let n = sent(&out, 1).len();
    assert!((4..=6).contains(&n), "{n} hellos in 10 s");
    // A storm of superior-then-inferior BPDUs: at most TxHoldCount per
    // second, and TxHoldCount more of news (each BPDU of the storm changes
    // the port's role, so each answer would be news).
    let n = storm(&mut b, 10 * S);
    assert_eq!(n, 12, "TxHoldCount, then TxHoldCount of news");
    // A second later: txCount has fallen by one, txNews is back.
    tick_until(&mut b, 11 * S, &mut out);
    let n = storm(&mut b, 11 * S + S / 2);
    assert_eq!(
        n, 6,
        "TxHoldCount of news again (the unit of txCount the tick gave back \
         went to the BPDU that was waiting)"
    );
}

#[test]
fn pim_accepts_superior_info_and_ages_it_out() {
    let (mut b, _) = bridge(5, 2);
    let mut out = Vec::new();
    let bp = Bpdu::rst(from(1, 1, 0, 3, designated(0)));
    b.handle(S / 2, Event::BpduReceived { port: 2, bpdu: bp }, &mut out);
    let st = b.status();
    assert_eq!(st.root_id.mac, mac(1));
    assert_eq!(st.root_port, Some(2));
    assert_eq!(st.root_path_cost, 20_000);
    assert_eq!(port(&b, 2).designated_port, PortId::new(128, 3));
    // Root port without competitors forwards at once (reRooted).
    assert_eq!(port(&b, 2).state, PortState::Forwarding);
    // No more BPDUs: rcvdInfoWhile = 3 x Hello = 6 s, then it ages out.
    tick_until(&mut b, 5 * S, &mut out);
    assert_eq!(
        b.status().root_id.mac,
        mac(1),
        "still valid before 3 x hello"
    );
    tick_until(&mut b, 6 * S, &mut out);
    let st = b.status();
    assert_eq!(st.root_id, st.bridge_id, "aged out, back to being root");
    assert_eq!(port(&b, 2).role, PortRole::Designated);
}

#[test]
fn restricted_role_holds_a_superior_port_alternate_until_the_information_ages_out() {
    let mut guarded = PortConfig::new(2);
    guarded.restricted_role = true;
    let (mut b, mut out) = bridge_with(5, vec![PortConfig::new(1), guarded]);
    // Bridge 1 claims the root on the guarded port: it is not believed.
    let bp = Bpdu::rst(from(1, 1, 0, 3, designated(0)));
    b.handle(S / 2, Event::BpduReceived { port: 2, bpdu: bp }, &mut out);
    let st = b.status();
    assert_eq!(st.root_id, st.bridge_id, "this bridge stays root");
    assert_eq!(st.root_port, None);
    let g = port(&b, 2);
    assert_eq!(g.role, PortRole::Alternate);
    assert_eq!(g.state, PortState::Discarding);
    assert!(g.root_inconsistent);
    assert!(!port(&b, 1).root_inconsistent);
    assert_eq!(port(&b, 1).role, PortRole::Designated);
    // The same BPDU on the unguarded port makes bridge 1 the root.
    let (mut plain, _) = bridge(5, 2);
    plain.handle(S / 2, Event::BpduReceived { port: 2, bpdu: bp }, &mut out);
    assert_eq!(plain.status().root_port, Some(2));
    // Once the superior information ages out, the port comes back by itself.
    tick_until(&mut b, 7 * S, &mut out);
    let g = port(&b, 2);
    assert_eq!(g.role, PortRole::Designated);
    assert!(!g.root_inconsistent);
}

#[test]
fn prt_answers_a_proposal_with_an_agreement() {
    let (mut b, _) = bridge(5, 2);
    let mut out = Vec::new();
    let bp = Bpdu::rst(from(1, 1, 0, 1, designated(Flags::PROPOSAL)));
    b.handle(S / 2, Event::BpduReceived { port: 1, bpdu: bp }, &mut out);
    let tx = sent(&out, 1);
    let agreement = tx.iter().any(|x| match x.body {
        BpduBody::Rst(f) => f.flags.agreement() && f.flags.role() == PortRoleFlag::Root,
        _ => false,
    });
    assert!(agreement, "{tx:?}");
    // Port 2 was synced (made discarding) before agreeing, then proposes.
    let tx2 = sent(&out, 2);
    assert!(
        tx2.iter()
            .any(|x| matches!(x.body, BpduBody::Rst(f) if f.flags.proposal())),
        "{tx2:?}"
    );
    assert_eq!(port(&b, 2).state, PortState::Discarding);
    // Its neighbour agrees: port 2 forwards at once.
    let mut ag = from(7, 1, 40_000, 1, Flags::AGREEMENT);
    ag.flags.set_role(PortRoleFlag::Root);
    b.handle(
        S / 2,
        Event::BpduReceived {
            port: 2,
            bpdu: Bpdu::rst(ag),
        },
        &mut out,
    );
    assert_eq!(port(&b, 2).state, PortState::Forwarding);
}

#[test]
fn prt_designated_port_without_agreement_waits() {
    // 17.20.6: forwardDelay is HelloTime on an RSTP port, after fdWhile
    // (Max Age from BEGIN) has run out. (Not an edge port: no auto-edge.)
    let mut b = Bridge::new(BridgeConfig::new(mac(1))).unwrap();
    let mut p = PortConfig::new(1);
    p.auto_edge = false;
    b.add_port(p).unwrap();
    let mut out = Vec::new();
    b.handle(
        Duration::ZERO,
        Event::PortUp {
            port: 1,
            speed_mbps: None,
        },
        &mut out,
    );
    tick_until(&mut b, 19 * S, &mut out);
    assert_eq!(port(&b, 1).state, PortState::Discarding);
    tick_until(&mut b, 21 * S, &mut out);
    assert_eq!(port(&b, 1).state, PortState::Learning);
    tick_until(&mut b, 23 * S, &mut out);
    assert_eq!(port(&b, 1).state, PortState::Forwarding);
}

#[test]
fn ppm_migrates_to_stp_and_back_on_mcheck() {
    let (mut b, _) = bridge(1, 1);
    let mut out = Vec::new();
    tick_until(&mut b, 4 * S, &mut out); // past Migrate Time: SENSING
    let cfg = Bpdu::config(from(9, 9, 0, 1, 0));
    b.handle(4 * S, Event::BpduReceived { port: 1, bpdu: cfg }, &mut out);
    assert_eq!(port(&b, 1).protocol, ProtocolInUse::Stp);
    let mut out = Vec::new();
    tick_until(&mut b, 8 * S, &mut out);
    let tx = sent(&out, 1);
    assert!(
        !tx.is_empty() && tx.iter().all(|x| matches!(x.body, BpduBody::Config(_))),
        "{tx:?}"
    );
    b.handle(8 * S, Event::McheckRequest { port: 1 }, &mut out);
    assert_eq!(port(&b, 1).protocol, ProtocolInUse::Rstp);
}

#[test]
fn tcm_acknowledges_tcn_and_flushes_other_ports() {
    let mut c = BridgeConfig::new(mac(1));
    c.force_version = 0;
    let mut b = Bridge::new(c).unwrap();
    b.add_port(PortConfig::new(1)).unwrap();
    b.add_port(PortConfig::new(2)).unwrap();
    let mut out = Vec::new();
    for p in [1, 2] {
        b.handle(
            Duration::ZERO,
            Event::PortUp {
                port: p,
                speed_mbps: None,
            },
            &mut out,
        );
    }
    // STP timing: 20 s (fdWhile from BEGIN) + 2 x 15 s.
    tick_until(&mut b, 51 * S, &mut out);
    assert_eq!(port(&b, 1).state, PortState::Forwarding);
    let mut out = Vec::new();
    b.handle(
        51 * S,
        Event::BpduReceived {
            port: 1,
            bpdu: Bpdu::tcn(),
        },
        &mut out,
    );
    assert!(out.contains(&Action::FlushFdb { port: 2 }), "{out:?}");
    assert!(!out.contains(&Action::FlushFdb { port: 1 }), "{out:?}");
    // STP: the acknowledgment rides on the next Configuration BPDU.
    tick_until(&mut b, 53 * S, &mut out);
    let tca = sent(&out, 1).iter().any(|x| match x.body {
        BpduBody::Config(f) => f.flags.topology_change_ack() && f.flags.topology_change(),
        _ => false,
    });
    assert!(tca, "{out:?}");
    let st = b.status();
    assert!(st.topology_change && st.topology_change_count >= 1);
    assert_eq!(port(&b, 1).counters.rx_tcn, 1);
}

#[test]
fn bdm_admin_edge_forwards_at_once_and_a_bpdu_revokes_it() {
    let mut b = Bridge::new(BridgeConfig::new(mac(1))).unwrap();
    let mut p = PortConfig::new(1);
    p.admin_edge = true;
    b.add_port(p).unwrap();
    let mut out = Vec::new();
    b.handle(
        Duration::ZERO,
        Event::PortUp {
            port: 1,
            speed_mbps: None,
        },
        &mut out,
    );
    assert!(port(&b, 1).edge);
    assert_eq!(port(&b, 1).state, PortState::Forwarding);
    let bp = Bpdu::rst(from(9, 9, 0, 1, designated(0)));
    b.handle(S / 2, Event::BpduReceived { port: 1, bpdu: bp }, &mut out);
    assert!(!port(&b, 1).edge);
}

#[test]
fn bdm_auto_edge_after_migrate_time() {
    let (mut b, _) = bridge(1, 1);
    let mut out = Vec::new();
    tick_until(&mut b, 2 * S, &mut out);
    assert!(!port(&b, 1).edge);
    tick_until(&mut b, 4 * S, &mut out);
    assert!(port(&b, 1).edge);
    assert_eq!(port(&b, 1).state, PortState::Forwarding);
}

#[test]
fn prx_discards_invalid_config_bpdus() {
    let (mut b, _) = bridge(5, 1);
    let mut out = Vec::new();
    let mut f = from(1, 1, 0, 1, 0);
    f.message_age = BpduTime::from_secs(20); // = Max Age: invalid (9.3.4 a)
    b.handle(
        S / 2,
        Event::BpduReceived {
            port: 1,
            bpdu: Bpdu::config(f),
        },
        &mut out,
    );
    assert_eq!(port(&b, 1).counters.rx_discarded, 1);
    assert_eq!(b.status().root_port, None);
    b.handle(S / 2, Event::PortDown { port: 1 }, &mut out);
    let bp = Bpdu::config(from(1, 1, 0, 1, 0));
    b.handle(S / 2, Event::BpduReceived { port: 1, bpdu: bp }, &mut out);
    assert_eq!(port(&b, 1).counters.rx_discarded, 2);
    assert_eq!(port(&b, 1).role, PortRole::Disabled);
}

#[test]
fn pst_reports_every_state_change() {
    let (mut b, out) = bridge(5, 1);
    assert!(out.contains(&Action::SetPortState {
        port: 1,
        learning: false,
        forwarding: false
    }));
    let mut out = Vec::new();
    let bp = Bpdu::rst(from(1, 1, 0, 1, designated(0)));
    b.handle(S / 2, Event::BpduReceived { port: 1, bpdu: bp }, &mut out);
    let states: Vec<_> = out
        .iter()
        .filter_map(|a| match a {
            Action::SetPortState {
                learning,
                forwarding,
                ..
            } => Some((*learning, *forwarding)),
            _ => None,
        })
        .collect();
    assert_eq!(states, vec![(true, false), (true, true)]);
    assert!(out.contains(&Action::RoleChanged {
        port: 1,
        role: PortRole::Root
    }));
}

#[test]
fn bridge_priority_change_takes_the_root() {
    let (mut b, _) = bridge(5, 1);
    let mut out = Vec::new();
    let bp = Bpdu::rst(from(1, 1, 0, 1, designated(0)));
    b.handle(S / 2, Event::BpduReceived { port: 1, bpdu: bp }, &mut out);
    assert_eq!(b.status().root_port, Some(1));
    b.handle(S / 2, Event::SetBridgePriority(4096), &mut out);
    let st = b.status();
    assert_eq!(st.root_id, st.bridge_id);
    assert_eq!(st.bridge_id.priority, 4096);
    assert_eq!(port(&b, 1).role, PortRole::Designated);
}

/// A root made worse by priority hears its old identity again: in a ring
/// the other bridges still hold its old (better) vector and pass it on
/// until the news has gone round. Taking it as a root path would relay the
/// stale vector round the ring once more (count to infinity, see the module
/// docs); the bridge must block that port and stay root until the
/// neighbour sends current information.
#[test]
fn a_retired_root_does_not_take_its_old_identity_as_root() {
    let (mut b, _) = bridge(5, 2);
    let mut out = Vec::new();
    b.handle(S / 2, Event::SetBridgePriority(4096), &mut out);
    assert_eq!(b.status().root_port, None);
    b.handle(S / 2, Event::SetBridgePriority(32768), &mut out);
    let mut stale = from(1, 5, 700, 1, designated(0));
    stale.root_id = BridgeId::new(4096, mac(5));
    stale.message_age = BpduTime::from_secs(7);
    let mut out = Vec::new();
    b.handle(
        S / 2,
        Event::BpduReceived {
            port: 1,
            bpdu: Bpdu::rst(stale),
        },
        &mut out,
    );
    let st = b.status();
    assert_eq!(st.root_port, None, "took a path to its old self");
    assert_eq!(st.root_id, st.bridge_id);
    assert_eq!(port(&b, 1).role, PortRole::Alternate);
    assert_eq!(port(&b, 1).state, PortState::Discarding);
    // Port 2 passes on this bridge's own claim, not the stale vector.
    assert!(sent(&out, 2).iter().all(|bp| match bp.body {
        BpduBody::Rst(f) => f.root_id == st.bridge_id,
        _ => false,
    }));
    // The neighbour's current information is taken as usual.
    let current = Bpdu::rst(from(1, 1, 0, 1, designated(0)));
    b.handle(
        S / 2,
        Event::BpduReceived {
            port: 1,
            bpdu: current,
        },
        &mut out,
    );
    assert_eq!(b.status().root_port, Some(1));
    assert_eq!(port(&b, 1).role, PortRole::Root);
}

/// A ring neighbour's failure as the daemon sees it (ring-of-8 demo, s3,
/// from its log): the root port goes down, the bridge claims root, and the
/// neighbour whose alternate port took over sends a Proposal on the
/// bridge's other port. The bridge must answer with an Agreement at once,
/// not after the next tick. Port 3 is the host (edge) port; ring ports
/// cost 100 as in the lab.
///
/// The start-up is the lab's too: BPDUs arrive in bursts (s2 passes on
/// three root claims within microseconds), and each makes the bridge send
/// on port 2, which spends most of that port's TxHoldCount. With a Hello
/// Time of 1 s that budget must still come back before the failure.
fn agrees_at_once_after_losing_the_root_port(hello: u16, max_age: u16, fwd: u16) {
    let mut cfg = BridgeConfig::new(mac(30));
    (cfg.hello_time, cfg.max_age, cfg.forward_delay) = (hello, max_age, fwd);
    let mut b = Bridge::new(cfg).unwrap();
    let mut out = Vec::new();
    for p in 1..=3 {
        let mut pc = PortConfig::new(p);
        pc.path_cost = (p != 3).then_some(100);
        pc.admin_edge = p == 3;
        b.add_port(pc).unwrap();
        b.handle(
            Duration::ZERO,
            Event::PortUp {
                port: p,
                speed_mbps: Some(10_000),
            },
            &mut out,
        );
    }
    let times = |mut x: PriorityBpdu, age: u16| {
        x.message_age = BpduTime::from_secs(age);
        x.max_age = BpduTime::from_secs(max_age);
        x.hello_time = BpduTime::from_secs(hello);
        x.forward_delay = BpduTime::from_secs(fwd);
        x
    };
    let rx = |b: &mut Bridge, out: &mut Vec<Action>, t: Duration, port: u16, x: PriorityBpdu| {
        b.handle(
            t,
            Event::BpduReceived {
                port,
                bpdu: Bpdu::rst(x),
            },
            out,
        )
    };
    let root_role = |flags: u8| {
        let mut f = Flags(flags);
        f.set_role(PortRoleFlag::Root);
        f.0
    };
    const TC: u8 = 0x01;
    const P: u8 = 0x02;
    const LF: u8 = 0x10 | 0x20;
    const A: u8 = 0x40;
    // Port 1 toward s2 (bridge 20, its port 2): s2 proposes its own root
    // claim, s1's (bridge 21) and s0's (bridge 1, root) in a row. Port 2
    // toward s4 (bridge 40, its port 1): s4 proposes its own claim.
    let t = Duration::from_millis(1);
    for (port, (bridge, root, cost, their_port), age) in [
        (1, (20, 20, 0, 2), 0),
        (1, (20, 21, 100, 2), 1),
        (1, (20, 1, 200, 2), 2),
        (2, (40, 40, 0, 1), 0),
    ] {
        let bpdu = from(bridge, root, cost, their_port, designated(P));
        rx(&mut b, &mut out, t, port, times(bpdu, age));
    }
    // 5 ms later s2 forwards toward us, and s4 (port 2 is its root port)
    // agrees to our claims.
    let t = Duration::from_millis(6);
    rx(
        &mut b,
        &mut out,
        t,
        1,
        times(from(20, 1, 200, 2, designated(TC | LF)), 2),
    );
    for (root, cost, age) in [(20, 200, 2), (1, 400, 4)] {
        let ag = from(40, root, cost, 1, root_role(TC | LF | A));
        rx(&mut b, &mut out, t, 2, times(ag, age));
    }
    // s2 keeps sending hellos until t = 5 s.
    for sec in 1..5u64 {
        tick_until(&mut b, Duration::from_secs(sec), &mut out);
        let at = Duration::from_secs(sec) + Duration::from_millis(1);
        rx(
            &mut b,
            &mut out,
            at,
            1,
            times(from(20, 1, 200, 2, designated(LF)), 2),
        );
    }
    tick_until(&mut b, Duration::from_secs(5), &mut out);
    assert_eq!(port(&b, 1).role, PortRole::Root);
    assert_eq!(port(&b, 2).state, PortState::Forwarding);
    assert_eq!(port(&b, 3).state, PortState::Forwarding);
    assert!(port(&b, 3).edge);

    // s2 fails: port 1 loses carrier. We claim root on port 2.
    let t = Duration::from_millis(5_000);
    b.handle(t, Event::PortDown { port: 1 }, &mut out);
    assert!(
        !sent(&out, 2).is_empty(),
        "no root claim on port 2: {out:?}"
    );
    // 1 ms later s4 (its alternate now its root port) proposes on port 2.
    out.clear();
    let t = t + Duration::from_millis(1);
    rx(
        &mut b,
        &mut out,
        t,
        2,
        times(from(40, 1, 400, 1, designated(TC | P)), 4),
    );
    assert_eq!(port(&b, 2).role, PortRole::Root);
    let agreed = sent(&out, 2).iter().any(|bp| match bp.body {
        BpduBody::Rst(p) => p.flags.agreement(),
        _ => false,
    });
    assert!(agreed, "no Agreement on port 2 after its Proposal: {out:?}");
}

#[test]
fn proposal_after_losing_the_root_port_is_agreed_at_once() {
    agrees_at_once_after_losing_the_root_port(2, 20, 15);
}

#[test]
fn proposal_after_losing_the_root_port_is_agreed_at_once_with_lab_timers() {
    agrees_at_once_after_losing_the_root_port(1, 6, 4);
}

/// A bridge with the lab's timers (Hello 1 s, Max Age 6 s, Forward Delay
/// 4 s) and `ports` ports, all up at time zero.
fn lab_bridge(n: u8, ports: u16) -> (Bridge, Vec<Action>) {
    let mut cfg = BridgeConfig::new(mac(n));
    (cfg.hello_time, cfg.max_age, cfg.forward_delay) = (1, 6, 4);
    let mut b = Bridge::new(cfg).unwrap();
    let mut out = Vec::new();
    for p in 1..=ports {
        b.add_port(PortConfig::new(p)).unwrap();
        b.handle(
            Duration::ZERO,
            Event::PortUp {
                port: p,
                speed_mbps: Some(10_000),
            },
            &mut out,
        );
    }
    (b, out)
}

/// A BPDU storm on port 1 of `b` at `t`: alternately superior and
/// inferior information from bridge 0. Returns what was sent on port 1.
fn storm(b: &mut Bridge, t: Duration) -> usize {
    let mut out = Vec::new();
    for i in 0..40u32 {
        let bp = if i % 2 == 0 {
            from(0, 0, 0, 1, designated(0))
        } else {
            from(0, 9, 0, 1, designated(0))
        };
        b.handle(
            t,
            Event::BpduReceived {
                port: 1,
                bpdu: Bpdu::rst(bp),
            },
            &mut out,
        );
    }
    sent(&out, 1).len()
}

/// TxHoldCount bounds bursts, and a burst's budget comes back: the hello
/// a designated port sends every Hello Time must not use up the one
/// credit each tick returns, or, with a Hello Time of 1 s, a port that
/// once sent a burst stays limited to its hellos for ever (and any BPDU
/// an event needs waits for the next tick).
#[test]
fn ptx_hold_count_recovers_while_sending_hellos_every_second() {
    let (mut b, _) = lab_bridge(1, 1);
    let mut out = Vec::new();
    tick_until(&mut b, 10 * S, &mut out);
    let first = storm(&mut b, 10 * S + S / 2);
    assert_eq!(
        first, 12,
        "a storm gets TxHoldCount BPDUs out, and as many of news"
    );
    // Hellos every second from the designated port in between.
    let mut out = Vec::new();
    tick_until(&mut b, 20 * S, &mut out);
    assert_eq!(port(&b, 1).role, PortRole::Designated);
    let hellos = sent(&out, 1).len();
    assert!((9..=10).contains(&hellos), "{hellos} hellos in 10 s");
    let second = storm(&mut b, 20 * S + S / 2);
    assert_eq!(second, 12, "the budget came back after 10 s of hellos only");
}

/// A neighbour that claims to be designated with worse information has not
/// heard this port (its first BPDU after a link came up was lost, say):
/// the designated port answers at once, not at its next hello, and a storm
/// of such claims is answered within TxHoldCount and as much news.
#[test]
fn a_designated_port_answers_inferior_designated_information_at_once() {
    // Not an edge port: becoming none on the first BPDU would send one.
    let mut cfg = PortConfig::new(1);
    cfg.auto_edge = false;
    let (mut b, _) = bridge_with(1, vec![cfg]);
    let inferior = || Event::BpduReceived {
        port: 1,
        bpdu: Bpdu::rst(from(5, 5, 0, 1, designated(0))),
    };
    let mut out = Vec::new();
    tick_until(&mut b, 10 * S, &mut out);
    assert_eq!(port(&b, 1).role, PortRole::Designated);
    assert!(!port(&b, 1).edge);
    let mut out = Vec::new();
    b.handle(10 * S + S / 2, inferior(), &mut out);
    let tx = sent(&out, 1);
    assert_eq!(tx.len(), 1, "answered between two hellos: {tx:?}");
    let BpduBody::Rst(f) = tx[0].body else {
        panic!("{tx:?}")
    };
    assert_eq!(f.root_id, b.status().bridge_id);
    assert_eq!(f.flags.role(), PortRoleFlag::Designated);
    let mut out = Vec::new();
    for _ in 0..40 {
        b.handle(10 * S + S / 2, inferior(), &mut out);
    }
    assert_eq!(
        sent(&out, 1).len(),
        11,
        "the rest of TxHoldCount (5), then TxHoldCount of news (6)"
    );
}
