//! Engine tests: a few switches wired by links with a delay, driven in
//! virtual time by a small harness (the simulator in `crate::sim` does the
//! same at scale, through the node).

use super::*;
use crate::wire::{Hello, MacHome};
use std::collections::BTreeMap;

const US: Duration = Duration::from_micros(1);
const MS: Duration = Duration::from_millis(1);

fn sys(i: usize) -> SystemId {
    SystemId(MacAddr([2, 0, 0, 0, 0, i as u8 + 1]))
}

fn port_mac(i: usize, p: PortIndex) -> MacAddr {
    MacAddr([2, 0, 0, 1, i as u8 + 1, p as u8])
}

struct Net {
    nodes: Vec<Sstp>,
    /// (node, port) → (node, port), both directions; absent when cut.
    wires: BTreeMap<(usize, PortIndex), (usize, PortIndex)>,
    /// Frames in flight: (arrival, seq) → (node, port, bytes).
    flight: BTreeMap<(Duration, u64), (usize, PortIndex, Vec<u8>)>,
    seq: u64,
    now: Duration,
    delay: Duration,
    log: Vec<(usize, Action)>,
    /// Drop one frame in `loss` (0: none), decided by a seeded generator.
    loss: u64,
    rng: u64,
}

impl Net {
    fn new(n: usize) -> Net {
        let nodes = (0..n)
            .map(|i| {
                let mut c = SstpConfig::new(sys(i));
                c.nonce = 100 + i as u64;
                Sstp::new(c).unwrap()
            })
            .collect();
        Net {
            nodes,
            wires: BTreeMap::new(),
            flight: BTreeMap::new(),
            seq: 0,
            now: Duration::ZERO,
            delay: 10 * US,
            log: Vec::new(),
            loss: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }

    fn link(&mut self, a: usize, pa: PortIndex, b: usize, pb: PortIndex) {
        self.nodes[a].add_port(pa, port_mac(a, pa));
        self.nodes[b].add_port(pb, port_mac(b, pb));
        self.wires.insert((a, pa), (b, pb));
        self.wires.insert((b, pb), (a, pa));
        let now = self.now;
        self.event(a, Event::PortUp { port: pa, cost: 10 }, now);
        self.event(b, Event::PortUp { port: pb, cost: 10 }, now);
    }

    fn cut(&mut self, a: usize, pa: PortIndex) {
        let (b, pb) = self.wires.remove(&(a, pa)).unwrap();
        self.wires.remove(&(b, pb));
        let now = self.now;
        let reason = FailReason::CarrierLost;
        self.event(a, Event::PortDown { port: pa, reason }, now);
        self.event(b, Event::PortDown { port: pb, reason }, now);
    }

    fn event(&mut self, i: usize, ev: Event<'_>, now: Duration) {
        let mut out = Vec::new();
        self.nodes[i].handle(now, ev, &mut out);
        for a in out {
            if let Action::Transmit { port, frame, .. } = &a {
                if self.loss > 0 {
                    // SplitMix64.
                    self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = self.rng;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    if (z ^ (z >> 31)).is_multiple_of(self.loss) {
                        continue;
                    }
                }
                if let Some(&(j, pj)) = self.wires.get(&(i, *port)) {
                    self.seq += 1;
                    self.flight
                        .insert((now + self.delay, self.seq), (j, pj, frame.clone()));
                }
            } else {
                self.log.push((i, a));
            }
        }
    }

    /// Runs until `until`, delivering frames and waking nodes on time.
    fn run(&mut self, until: Duration) {
        loop {
            let next_frame = self.flight.keys().next().map(|k| k.0);
            let next_timer = self
                .nodes
                .iter()
                .enumerate()
                .filter_map(|(i, n)| n.poll_timeout().map(|t| (t, i)))
                .min();
            let t_frame = next_frame.unwrap_or(Duration::MAX);
            let t_timer = next_timer.map_or(Duration::MAX, |x| x.0);
            let t = t_frame.min(t_timer).max(self.now);
            if t > until {
                self.now = until;
                return;
            }
            self.now = t;
            if t_frame <= t_timer {
                let (k, (j, pj, frame)) = self.flight.pop_first().unwrap();
                let _ = k;
                self.event(
                    j,
                    Event::Frame {
                        port: pj,
                        frame: &frame,
                    },
                    t,
                );
            } else {
                let i = next_timer.unwrap().1;
                self.event(i, Event::Tick, t);
            }
        }
    }

    /// Runs long enough for start-up bursts to end and the throttles to
    /// rest (twice the LSP generation's largest hold).
    fn settle(&mut self) {
        self.run(self.now + Duration::from_secs(3));
    }

    fn slot(&self, i: usize, of: usize) -> Slot {
        self.nodes[i].lsdb().slot_of(sys(of)).unwrap()
    }

    fn route(&self, i: usize, to: usize) -> routes::BridgeRoute {
        self.nodes[i]
            .routes()
            .get(self.slot(i, to))
            .copied()
            .unwrap_or(routes::BridgeRoute::UNREACHABLE)
    }

    /// Node `of`'s fragment 0 as node 0 holds it, one sequence newer: the
    /// origin's next LSP, as node 0's neighbour would relay it.
    fn next_lsp_of(&self, of: usize) -> Lsp {
        let id = LspId {
            origin: sys(of),
            fragment: 0,
        };
        let mut l = self.nodes[0].lsdb().get(&id).unwrap().to_send(self.now);
        l.sequence += 1;
        l
    }

    fn in_sync(&self) -> bool {
        let db = |n: &Sstp| -> Vec<LspEntry> {
            n.lsdb()
                .all()
                .iter()
                .map(|s| s.entry(Duration::ZERO))
                .map(|e| LspEntry {
                    lifetime_secs: 0,
                    ..e
                })
                .collect()
        };
        let first = db(&self.nodes[0]);
        self.nodes.iter().all(|n| db(n) == first)
    }
}

/// A line 0 — 1 — 2 and a ring of four.
fn line3() -> Net {
    let mut n = Net::new(3);
    n.link(0, 0, 1, 0);
    n.link(1, 1, 2, 0);
    n
}

#[test]
fn a_line_forms_adjacencies_syncs_and_routes_within_tens_of_milliseconds() {
    let mut n = line3();
    // Start-up: adjacencies in microseconds, the second LSP change of a
    // switch after its generation hold (10 ms).
    n.run(25 * MS);

    for i in 0..3 {
        assert!(n.nodes[i].adjacencies().iter().all(|a| a.advertised), "{i}");
    }
    assert!(n.in_sync());
    assert_eq!(n.route(0, 2).distance(), Some(20));
    assert_eq!(n.route(0, 2).ecmp(), &[0]);
    assert_eq!(n.route(2, 0).ecmp(), &[0]);
    assert_eq!(n.route(1, 0).ecmp(), &[0]);
    assert_eq!(n.route(1, 2).ecmp(), &[1]);
    let ups = n
        .log
        .iter()
        .filter(|(_, a)| matches!(a, Action::LinkSynced { .. }))
        .count();
    assert_eq!(ups, 4, "each end of both links");
}

#[test]
fn a_ring_of_four_has_two_equal_paths_to_the_opposite_switch() {
    let mut n = Net::new(4);
    for i in 0..4 {
        n.link(i, 1, (i + 1) % 4, 0);
    }
    n.run(25 * MS);
    assert!(n.in_sync());
    let r = n.route(0, 2);
    assert_eq!((r.distance(), r.ecmp()), (Some(20), &[0, 1][..]));
    // One neighbour each way: no LFA toward it, but the wrap is the other port.
    let r = n.route(0, 1);
    assert_eq!((r.ecmp(), r.wrap()), (&[1][..], Some(0)));
}

#[test]
fn a_cut_link_is_announced_and_routed_around_at_once() {
    let mut n = Net::new(4);
    for i in 0..4 {
        n.link(i, 1, (i + 1) % 4, 0);
    }
    n.settle();
    n.log.clear();
    let t0 = n.now;
    n.cut(0, 1); // 0 — 1
                 // Both ends stop using the port before anything else.
    assert!(n.log.iter().any(|(i, a)| *i == 0
        && *a
            == Action::PortLiveness {
                port: 1,
                alive: false
            }));
    n.run(t0 + MS);
    assert_eq!(n.route(0, 1).ecmp(), &[0], "the long way round");
    assert_eq!(n.route(0, 1).distance(), Some(30));
    assert_eq!(n.route(2, 0).ecmp(), &[1], "only via 3 now");
    assert_eq!(n.route(3, 1).ecmp(), &[0], "via 2");
    assert!(n.in_sync());
    let fails: u64 = n.nodes.iter().map(|x| x.stats().fails_originated).sum();
    assert_eq!(fails, 2);
    // Back up: the link carries unicast again once synced.
    n.settle();
    n.link(0, 1, 1, 0);
    n.run(n.now + 5 * MS);
    assert_eq!(n.route(0, 1).ecmp(), &[1]);
    assert_eq!(n.route(0, 2).ecmp(), &[0, 1]);
}

#[test]
fn silence_takes_the_adjacency_down_after_the_dead_interval() {
    let mut n = line3();
    n.settle();
    // Node 2 goes silent without a carrier change: drop its wire one way.
    n.wires.remove(&(2, 0));
    let t0 = n.now;
    // Its last HELLO arrived within the 10 ms before t0; the hold is 30 ms.
    n.run(t0 + 20 * MS);
    assert!(n.nodes[1].is_sstp_link(1), "within 3 × 10 ms it stays");
    n.run(t0 + 30 * MS + 11 * US);
    assert!(!n.nodes[1].is_sstp_link(1));
    assert!(!n.route(0, 2).is_reachable());
}

#[test]
fn mac_homes_reach_every_switch_and_leave_again() {
    let mut n = line3();
    n.settle();
    let h = MacHome {
        vid: 5,
        mac: MacAddr([2, 0xAA, 0, 0, 0, 1]),
    };
    let t = n.now;
    n.event(2, Event::MacHomeAdded(h), t);
    n.run(t + MS);
    assert_eq!(n.nodes[0].lsdb().home(&h), Some(n.slot(0, 2)));
    assert!(n
        .log
        .iter()
        .any(|(i, a)| *i == 0 && *a == Action::HomesChanged));
    let spf_before = n.nodes[0].stats().spf_runs;
    let t = n.now;
    n.event(2, Event::MacHomeRemoved(h), t);
    n.run(t + 20 * MS);
    assert_eq!(n.nodes[0].lsdb().home(&h), None);
    assert_eq!(
        n.nodes[0].stats().spf_runs,
        spf_before,
        "hosts never cost an SPF"
    );
}

#[test]
fn a_host_that_moves_is_given_to_its_new_switch_everywhere_and_back_again() {
    let mut n = line3();
    n.settle();
    let h = MacHome {
        vid: 0,
        mac: MacAddr([2, 0xAA, 0, 0, 0, 7]),
    };
    // At s0 (the lowest SystemId) first.
    let t = n.now;
    n.event(0, Event::MacHomeAdded(h), t);
    n.run(t + 20 * MS);
    // Heard at s2, while s0 still advertises it: s2 outranks s0.
    let t = n.now;
    n.event(2, Event::MacHomeAdded(h), t);
    n.run(t + 20 * MS);
    for i in 0..3 {
        assert_eq!(n.nodes[i].lsdb().home(&h), Some(n.slot(i, 2)), "s{i}");
    }
    assert_eq!(n.nodes[0].home_moved_away(&h), Some(n.slot(0, 2)));
    assert_eq!(n.nodes[2].home_moved_away(&h), None);
    // s0 withdraws (as the daemon does on home_moved_away); then the host
    // comes back to s0, which outranks s2's sequence in turn.
    let t = n.now;
    n.event(0, Event::MacHomeRemoved(h), t);
    n.run(t + 20 * MS);
    let t = n.now;
    n.event(0, Event::MacHomeAdded(h), t);
    n.run(t + 20 * MS);
    for i in 0..3 {
        assert_eq!(n.nodes[i].lsdb().home(&h), Some(n.slot(i, 0)), "s{i}");
    }
    assert_eq!(n.nodes[2].home_moved_away(&h), Some(n.slot(2, 0)));
    assert_eq!(n.nodes[1].lsdb().others_sequence(&h), Some(2));
}

#[test]
fn a_restarted_switch_rejoins_and_outbids_its_old_lsps() {
    let mut n = line3();
    n.settle();
    let old_seq = n.nodes[1]
        .lsdb()
        .get(&LspId {
            origin: sys(2),
            fragment: 0,
        })
        .unwrap()
        .lsp
        .sequence;
    // Node 2 restarts with a new nonce and sequence numbers from zero.
    let mut c = SstpConfig::new(sys(2));
    c.nonce = 999;
    n.nodes[2] = Sstp::new(c).unwrap();
    n.nodes[2].add_port(0, port_mac(2, 0));
    let t = n.now;
    n.event(2, Event::PortUp { port: 0, cost: 10 }, t);
    n.run(t + 50 * MS);
    let seq = n.nodes[0]
        .lsdb()
        .get(&LspId {
            origin: sys(2),
            fragment: 0,
        })
        .unwrap()
        .lsp
        .sequence;
    assert!(seq > old_seq, "{seq} > {old_seq}");
    assert!(n.in_sync());
    assert_eq!(n.route(0, 2).distance(), Some(20));
    assert!(n.log.iter().any(|(i, a)| *i == 1
        && matches!(a, Action::AdjacencyChanged { transition, .. } if transition.reason == AdjacencyReason::NeighbourRestarted)));
}

#[test]
fn bad_pdus_are_dropped_by_reason_and_nothing_changes() {
    let mut n = line3();
    n.settle();
    let before = n.nodes[1].routes().clone();
    let t = n.now;
    let good = encode_sstp_frame(
        port_mac(0, 0),
        sys(0),
        0,
        &SstpPdu::Hello(Hello {
            nonce: 100,
            hello_interval_us: 10_000,
            dead_count: 3,
            ..Hello::default()
        }),
    )
    .unwrap();
    let mut bad_sum = good.clone();
    bad_sum[20] ^= 1;
    let mut bad_version = good.clone();
    bad_version[14] = 9;
    for f in [&good[..10], &bad_sum[..], &bad_version[..]] {
        n.event(1, Event::Frame { port: 0, frame: f }, t);
    }
    // An LSP from a switch that is not our neighbour on that port.
    let stranger =
        encode_sstp_frame(port_mac(7, 0), sys(7), 0, &SstpPdu::Psnp(Psnp::default())).unwrap();
    n.event(
        1,
        Event::Frame {
            port: 0,
            frame: &stranger,
        },
        t,
    );
    let d = &n.nodes[1].stats().dropped;
    assert_eq!(d.get("truncated"), Some(&1));
    assert_eq!(d.get("bad_checksum"), Some(&1));
    assert_eq!(d.get("unknown_version"), Some(&1));
    assert_eq!(d.get("no_adjacency"), Some(&1));
    assert_eq!(n.nodes[1].routes(), &before);
}

#[test]
fn the_engine_is_quiet_but_for_hellos_and_summaries_in_steady_state() {
    let mut n = line3();
    n.settle();
    let s0 = n.nodes[1].stats().clone();
    n.run(n.now + Duration::from_secs(2));
    let s1 = n.nodes[1].stats().clone();
    let d = |k: &str| s1.tx.get(k).unwrap_or(&0) - s0.tx.get(k).unwrap_or(&0);
    assert_eq!(d("lsp"), 0);
    assert_eq!(d("psnp"), 0);
    assert!(
        (398..=402).contains(&d("hello")),
        "{} hellos on 2 ports in 2 s",
        d("hello")
    );
    assert_eq!(d("csnp"), 4, "one per link per second");
    assert_eq!(s1.spf_runs, s0.spf_runs);
}

#[test]
fn configuration_is_checked() {
    let mut c = SstpConfig::new(sys(0));
    c.hello_interval = Duration::from_micros(500);
    assert_eq!(
        Sstp::new(c.clone()).unwrap_err(),
        SstpConfigError::HelloInterval(Duration::from_micros(500))
    );
    c.hello_interval = MS;
    c.dead_count = 1;
    assert!(Sstp::new(c.clone()).is_err());
    c.dead_count = 3;
    c.limits.max_bridges = 0;
    assert_eq!(
        Sstp::new(c).unwrap_err(),
        SstpConfigError::Limit("max_bridges")
    );
}

/// Routes every switch should have: ECMP first-hop ports by BFS over the
/// wires (unit costs), compared with each engine's table.
fn routes_are_true(n: &Net) -> Result<(), String> {
    let k = n.nodes.len();
    let nbrs = |i: usize| -> Vec<(PortIndex, usize)> {
        n.wires
            .iter()
            .filter(|((a, _), _)| *a == i)
            .map(|((_, p), (b, _))| (*p, *b))
            .collect()
    };
    for dst in 0..k {
        let mut d = vec![usize::MAX; k];
        d[dst] = 0;
        let mut q = std::collections::VecDeque::from([dst]);
        while let Some(u) = q.pop_front() {
            for (_, v) in nbrs(u) {
                if d[v] == usize::MAX {
                    d[v] = d[u] + 1;
                    q.push_back(v);
                }
            }
        }
        for src in (0..k).filter(|&s| s != dst) {
            let want: Vec<PortIndex> = {
                let mut v: Vec<PortIndex> = nbrs(src)
                    .into_iter()
                    .filter(|&(_, v)| d[v] + 1 == d[src])
                    .map(|(p, _)| p)
                    .collect();
                v.sort_unstable();
                v
            };
            let r = n.route(src, dst);
            if r.ecmp() != &want[..] || r.distance() != Some(10 * d[src] as u64) {
                return Err(format!(
                    "{src} -> {dst}: {:?} at {:?}, want {want:?} at {}",
                    r.ecmp(),
                    r.distance(),
                    10 * d[src]
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn a_torus_brought_up_port_by_port_over_lossy_links_converges_once_the_loss_stops() {
    for seed in 1..=20u64 {
        let mut n = Net::new(16);
        n.loss = 20;
        n.rng = seed;
        let id = |r: usize, c: usize| (r % 4) * 4 + (c % 4);
        let mut next = [0 as PortIndex; 16];
        let mut links = Vec::new();
        for r in 0..4 {
            for c in 0..4 {
                for (a, b) in [(id(r, c), id(r, c + 1)), (id(r, c), id(r + 1, c))] {
                    links.push((a, next[a], b, next[b]));
                    next[a] += 1;
                    next[b] += 1;
                }
            }
        }
        // Links come up one by one, a few milliseconds apart, in an order
        // that depends on the seed.
        let mut order: Vec<usize> = (0..links.len()).collect();
        order
            .sort_by_key(|&i| (i as u64 + 1).wrapping_mul(seed.wrapping_mul(0x9E37_79B9) | 1) % 97);
        for i in order {
            let (a, pa, b, pb) = links[i];
            n.link(a, pa, b, pb);
            let t = n.now + 3 * MS;
            n.run(t);
        }
        // Loss went on through the bring-up (adjacencies flapped, LSPs and
        // summaries were lost); from now on the links are clean, and
        // within a few seconds (retransmits, the periodic CSNP, the
        // throttles' holds) everything must agree.
        n.run(n.now + Duration::from_secs(2));
        n.loss = 0;
        n.run(n.now + Duration::from_secs(5));
        assert!(n.in_sync(), "seed {seed}: databases differ");
        if let Err(e) = routes_are_true(&n) {
            panic!("seed {seed}: {e}");
        }
    }
}

/// Node 2's notice that its port 0 (to node 1) failed, sent against its
/// fragment 0 `lsp_sequence` (None: a sender that does not say).
fn node2_fail(sequence: u32, lsp_sequence: Option<u64>) -> FailNotice {
    FailNotice {
        origin: sys(2),
        sequence,
        neighbour: sys(1),
        local_port: 0,
        remote_port: 1,
        reason: FailReason::CarrierLost,
        hop_limit: 10,
        lsp_sequence,
    }
}

/// Node 1 relays `pdu` to node 0 at `at`.
fn relay_to_node0(n: &mut Net, pdu: &SstpPdu, at: Duration) {
    let frame = encode_sstp_frame(port_mac(1, 0), sys(1), 0, pdu).unwrap();
    n.event(
        0,
        Event::Frame {
            port: 0,
            frame: &frame,
        },
        at,
    );
}

/// A FAIL notice keeps its link out of SPF until the origin's next
/// fragment 0. When that LSP lists the same adjacencies as the copy held
/// (the link failed and came back before the origin's throttled LSP went
/// out), installing it changes no topology, yet lifting the notice does:
/// SPF must run, or the link stays unused until the notice's time to live.
#[test]
fn lifting_a_fail_notice_reruns_spf_even_when_the_lsp_is_unchanged() {
    let mut n = line3();
    n.settle();
    let t = n.now;
    assert_eq!(n.route(0, 2).distance(), Some(20));
    // Node 1 relays to node 0 a notice from node 2.
    relay_to_node0(&mut n, &SstpPdu::Fail(node2_fail(1, None)), t);
    assert!(
        !n.route(0, 2).is_reachable(),
        "the notice takes the link out"
    );
    // Then node 2's next fragment 0, same content, newer sequence.
    let lsp = SstpPdu::Lsp(n.next_lsp_of(2));
    relay_to_node0(&mut n, &lsp, t + US);
    n.run(t + 5 * MS);
    assert_eq!(
        n.route(0, 2).distance(),
        Some(20),
        "the origin's newer LSP lifts the notice"
    );
}

/// Lifting a notice about a link one hop away (node 2's link to our
/// neighbour node 1) runs SPF at once, even while the hold that the notice
/// itself started lasts: the switches behind us hear of the returning link
/// from the same LSP and route through us at once. Found by the simulator
/// (torus:5x5, random sequence 633): held here, the revisit came back.
#[test]
fn lifting_a_notice_about_a_link_one_hop_away_reruns_spf_at_once() {
    let mut n = line3();
    n.settle();
    let t = n.now;
    relay_to_node0(&mut n, &SstpPdu::Fail(node2_fail(1, None)), t);
    assert!(
        !n.route(0, 2).is_reachable(),
        "the notice takes the link out"
    );
    // One microsecond later: the SPF throttle holds for a millisecond.
    let lsp = SstpPdu::Lsp(n.next_lsp_of(2));
    relay_to_node0(&mut n, &lsp, t + US);
    assert_eq!(
        n.route(0, 2).distance(),
        Some(20),
        "the lift is routed in the same pass, not after the hold"
    );
}

/// A ring of six, node 0's port 0 to node 1's port 0 (as
/// [`relay_to_node0`] sends), then round: 1 — 2 — 3 — 4 — 5 — 0.
fn ring6() -> Net {
    let mut n = Net::new(6);
    n.link(0, 0, 1, 0);
    for i in 1..5 {
        n.link(i, 1, i + 1, 0);
    }
    n.link(5, 1, 0, 1);
    n
}

/// A neighbour's LSP that changes its links runs SPF at once even while
/// the hold lasts; news from farther away waits. Found by the simulator
/// (torus:5x5, random sequence 334): a neighbour's link came back, our SPF
/// waited while switches two hops away ran theirs and sent frames for it
/// round a ring back to us.
#[test]
fn a_neighbours_lsp_is_routed_at_once_and_farther_news_waits_for_the_hold() {
    let mut n = ring6();
    n.settle();
    let t = n.now;
    assert_eq!(n.route(0, 2).distance(), Some(20));
    assert_eq!(n.route(0, 3).distance(), Some(30));
    // Node 3's word that its link to node 4 failed: far from node 0, so it
    // goes through the throttle, at rest, and runs at once.
    let far = FailNotice {
        origin: sys(3),
        sequence: 1,
        neighbour: sys(4),
        local_port: 1,
        remote_port: 0,
        reason: FailReason::CarrierLost,
        hop_limit: 10,
        lsp_sequence: None,
    };
    relay_to_node0(&mut n, &SstpPdu::Fail(far), t);
    assert_eq!(n.route(0, 4).distance(), Some(20), "the way round 5");
    // Within the hold: node 2's LSP without its link to node 3 (far news)
    // waits.
    let mut l2 = n.next_lsp_of(2);
    l2.adjacencies.retain(|a| a.neighbour != sys(3));
    relay_to_node0(&mut n, &SstpPdu::Lsp(l2), t + US);
    assert!(n.route(0, 3).is_reachable(), "far news waits for the hold");
    // Node 1's LSP without its link to node 2 (a neighbour's news) does not.
    let mut l1 = n.next_lsp_of(1);
    l1.adjacencies.retain(|a| a.neighbour != sys(2));
    relay_to_node0(&mut n, &SstpPdu::Lsp(l1), t + 2 * US);
    assert!(
        !n.route(0, 2).is_reachable(),
        "a neighbour's news is routed in the same pass"
    );
}

/// A FAIL notice names the origin's fragment 0 it is news against. One
/// that comes the long way round after the origin's newer LSP came the
/// short way (a link that failed and came back, the LSP flooded over the
/// restored link) is stale: overlaying it would keep the working link out
/// of SPF for the notice's two seconds. Found in the torus lab: a switch
/// returning from a failure dropped a flow's frames as not downhill for
/// 1.98 s.
#[test]
fn a_fail_notice_older_than_the_origins_lsp_held_is_not_overlaid() {
    let mut n = line3();
    n.settle();
    let t = n.now;
    assert_eq!(n.route(0, 2).distance(), Some(20));
    let id = LspId {
        origin: sys(2),
        fragment: 0,
    };
    let held = n.nodes[0].lsdb().get(&id).unwrap().lsp.sequence;
    // Sent when node 2 held an older fragment 0 than node 0 holds now.
    relay_to_node0(&mut n, &SstpPdu::Fail(node2_fail(1, Some(held - 1))), t);
    n.run(t + 5 * MS);
    assert_eq!(
        n.route(0, 2).distance(),
        Some(20),
        "a stale notice is ignored"
    );
    assert_eq!(n.nodes[0].stats().fails_stale, 1);
    // News (sent against the fragment 0 held here): the link goes out.
    relay_to_node0(
        &mut n,
        &SstpPdu::Fail(node2_fail(2, Some(held))),
        t + 6 * MS,
    );
    assert!(
        !n.route(0, 2).is_reachable(),
        "the notice takes the link out"
    );
}

/// The memory target of the design: the database and routes of one switch
/// among 1,024 (a 32 × 32 torus), each advertising 64 hosts, within 32 MB.
/// Built straight into one switch's database, graph and SPF scratch, as a
/// switch holds them once converged.
#[test]
fn one_switch_of_1024_with_64_hosts_each_holds_its_link_state_in_32_mb() {
    use crate::wire::{Adjacency, Lsp, LspId, MacHome, SystemInfo};
    let k = 32usize;
    let sys = |i: usize| SystemId(MacAddr([2, 0, 0, 0, (i >> 8) as u8, i as u8]));
    let id = |r: usize, c: usize| (r % k) * k + (c % k);
    let mut db = lsdb::Lsdb::new(sys(0), lsdb::Limits::default());
    for r in 0..k {
        for c in 0..k {
            let me = id(r, c);
            let mut f0 = Lsp::new(
                LspId {
                    origin: sys(me),
                    fragment: 0,
                },
                1,
                1200,
            );
            f0.system = Some(SystemInfo::default());
            // Ports 0..4: +col, -col, +row, -row; the neighbour's matching
            // port is the opposite direction.
            for (p, (n, q)) in [
                (id(r, c + 1), 1u16),
                (id(r, c + k - 1), 0),
                (id(r + 1, c), 3),
                (id(r + k - 1, c), 2),
            ]
            .into_iter()
            .enumerate()
            {
                f0.adjacencies.push(Adjacency {
                    neighbour: sys(n),
                    local_port: p as u16,
                    remote_port: q,
                    cost: 20_000,
                });
            }
            let mut f1 = Lsp::new(
                LspId {
                    origin: sys(me),
                    fragment: 1,
                },
                1,
                1200,
            );
            f1.mac_homes = (0..64u8)
                .map(|h| MacHome {
                    vid: 0,
                    mac: MacAddr([2, 0xAA, (me >> 8) as u8, me as u8, 0, h]),
                })
                .collect();
            db.install(Duration::ZERO, f0).unwrap();
            db.install(Duration::ZERO, f1).unwrap();
        }
    }
    let mut builder = spf::GraphBuilder::new();
    let mut graph = spf::Graph::new();
    db.graph_into(&mut builder, |_, _| false);
    let built = builder.build_into(&mut graph);
    assert_eq!(built.links, 4 * 1024, "every link two-way");
    let mut spf = spf::Spf::new();
    let mut routes = Routes::new();
    let stats = spf.compute(&graph, db.my_slot(), &mut routes);
    assert_eq!(stats.reachable, 1023);
    db.set_reachability(Duration::ZERO, |s| routes.is_reachable(s));
    assert_eq!(db.homes().count(), 1024 * 64);
    let bytes = db.heap_bytes()
        + builder.heap_bytes()
        + graph.heap_bytes()
        + spf.heap_bytes()
        + routes.heap_bytes();
    eprintln!("1,024 switches × 64 hosts: {bytes} bytes of link state at one switch");
    assert!(bytes <= 32 << 20, "{bytes} bytes");
}
