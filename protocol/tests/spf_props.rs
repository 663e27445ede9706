//! Property tests of SPF against a brute-force reference: Floyd–Warshall
//! distances, first hops read off them, and the repair rules of `spf.rs`
//! restated plainly. Random graphs, connected or not, with holes in the slot
//! numbering, parallel links, asymmetric costs and small costs so that ties
//! (ECMP) are common.

use proptest::prelude::*;
use satellite_protocol::sstp::routes::{Routes, MAX_ECMP};
use satellite_protocol::sstp::spf::{Advertisement, Graph, GraphBuilder, Link, Slot, Spf};
use satellite_protocol::PortIndex;
use std::collections::BTreeSet;

const INF: u64 = u64::MAX;

/// A random topology: slots in use and their links (both directions).
#[derive(Clone, Debug)]
struct Topology {
    slots: Vec<Slot>,
    /// One entry per cable: (a, b, cost a→b, cost b→a, port at a, port at b).
    cables: Vec<(Slot, Slot, u32, u32, PortIndex, PortIndex)>,
}

impl Topology {
    fn links(&self) -> Vec<Link> {
        let mut v = Vec::new();
        for &(a, b, ab, ba, pa, pb) in &self.cables {
            v.push(Link {
                from: a,
                to: b,
                cost: ab,
                port: pa,
            });
            v.push(Link {
                from: b,
                to: a,
                cost: ba,
                port: pb,
            });
        }
        v
    }

    fn slot_count(&self) -> usize {
        *self.slots.last().unwrap() as usize + 1
    }
}

fn build(slots: &[Slot], links: &[Link]) -> Graph {
    let mut b = GraphBuilder::new();
    slots.iter().for_each(|&s| b.add_slot(s));
    links.iter().for_each(|&l| b.add_link(l));
    b.build()
}

/// `connected` adds a random spanning tree first.
fn topology(connected: bool) -> impl Strategy<Value = Topology> {
    (1usize..=10)
        .prop_flat_map(move |n| {
            let tree = if connected && n > 1 {
                (1..n).map(|i| (0..i).boxed()).collect::<Vec<_>>().boxed()
            } else {
                Just(Vec::new()).boxed()
            };
            (
                prop::collection::vec(1u32..=3, n),
                tree,
                prop::collection::vec((0..n, 0..n, 1u32..=3, 1u32..=3), 0..=14),
                prop::collection::vec(1u32..=3, 0..=n),
            )
        })
        .prop_map(|(gaps, tree, extra, tree_costs)| {
            // Holes: each node's slot is the previous one plus a gap of 1..=3.
            let mut slots = Vec::new();
            let mut next = gaps[0] - 1;
            for g in &gaps {
                slots.push(next);
                next += g;
            }
            let mut pairs: Vec<(usize, usize, u32, u32)> = tree
                .iter()
                .enumerate()
                .map(|(i, &j)| {
                    let c = tree_costs.get(i).copied().unwrap_or(1);
                    (i + 1, j, c, c)
                })
                .collect();
            pairs.extend(extra.into_iter().filter(|&(a, b, _, _)| a != b));
            // Distinct ports per switch, not in neighbour order.
            let mut used = vec![0u16; slots.len()];
            let mut port = |i: usize| {
                used[i] += 1;
                (used[i] * 7 + i as u16) % 29
            };
            let cables = pairs
                .into_iter()
                .map(|(a, b, ab, ba)| (slots[a], slots[b], ab, ba, port(a), port(b)))
                .collect();
            Topology { slots, cables }
        })
}

/// All-pairs distances over directed links, by Floyd–Warshall.
fn floyd_warshall(m: usize, links: &[Link]) -> Vec<Vec<u64>> {
    let mut d = vec![vec![INF; m]; m];
    for (i, row) in d.iter_mut().enumerate() {
        row[i] = 0;
    }
    for l in links {
        let (a, b) = (l.from as usize, l.to as usize);
        d[a][b] = d[a][b].min(u64::from(l.cost));
    }
    for k in 0..m {
        for i in 0..m {
            for j in 0..m {
                if d[i][k] != INF && d[k][j] != INF {
                    d[i][j] = d[i][j].min(d[i][k] + d[k][j]);
                }
            }
        }
    }
    d
}

/// Slots reachable from `from` without entering `avoid`.
fn reachable_avoiding(m: usize, links: &[Link], from: Slot, avoid: Slot) -> Vec<bool> {
    let mut seen = vec![false; m];
    let mut stack = vec![from];
    seen[from as usize] = true;
    while let Some(u) = stack.pop() {
        for l in links.iter().filter(|l| l.from == u && l.to != avoid) {
            if !seen[l.to as usize] {
                seen[l.to as usize] = true;
                stack.push(l.to);
            }
        }
    }
    seen
}

/// Checks every slot's entry in `routes` (computed from `me`).
fn check(topo: &Topology, me: Slot, routes: &Routes) -> Result<(), TestCaseError> {
    let links = topo.links();
    let m = topo.slot_count();
    let d = floyd_warshall(m, &links);
    let s = me as usize;
    let mine: Vec<&Link> = links.iter().filter(|l| l.from == me).collect();
    prop_assert_eq!(routes.len(), m);
    prop_assert_eq!(routes.me(), Some(me));

    for dst in 0..m {
        let r = routes.get(dst as Slot);
        if d[s][dst] == INF {
            prop_assert!(r.is_none(), "slot {} should be unreachable", dst);
            continue;
        }
        let r = *r.expect("reachable");
        prop_assert_eq!(r.distance(), Some(d[s][dst]), "distance to {}", dst);
        if dst == s {
            prop_assert!(r.is_local() && r.ecmp().is_empty() && r.lfa().is_none());
            continue;
        }

        // A first hop is a member iff it starts a shortest path.
        let on_shortest = |l: &Link| {
            d[l.to as usize][dst] != INF && u64::from(l.cost) + d[l.to as usize][dst] == d[s][dst]
        };
        let members: BTreeSet<PortIndex> = mine
            .iter()
            .filter(|l| on_shortest(l))
            .map(|l| l.port)
            .collect();
        let kept: Vec<PortIndex> = members.iter().copied().take(MAX_ECMP).collect();
        prop_assert_eq!(r.ecmp(), &kept[..], "ECMP toward {}", dst);
        prop_assert_eq!(
            usize::from(r.ecmp_overflow()),
            members.len().saturating_sub(MAX_ECMP)
        );
        for &p in r.ecmp() {
            prop_assert!(mine.iter().any(|l| l.port == p && on_shortest(l)));
        }

        // The repair choices, restated.
        let primaries: Vec<usize> = mine
            .iter()
            .filter(|l| on_shortest(l))
            .map(|l| l.to as usize)
            .collect();
        let mut lfa: Option<(bool, u64, PortIndex)> = None;
        let mut wrap: Option<(u64, PortIndex)> = None;
        for l in mine.iter().filter(|l| !members.contains(&l.port)) {
            let nb = l.to as usize;
            if d[nb][dst] == INF {
                continue;
            }
            let total = u64::from(l.cost) + d[nb][dst];
            if reachable_avoiding(m, &links, l.to, me)[dst] {
                let c = (total, l.port);
                wrap = Some(wrap.map_or(c, |x| x.min(c)));
            }
            if d[nb][dst] < d[nb][s] + d[s][dst] {
                let np = primaries
                    .iter()
                    .all(|&e| e == dst || (e != nb && d[nb][dst] < d[nb][e] + d[e][dst]));
                let c = (!np, total, l.port);
                lfa = Some(lfa.map_or(c, |x| x.min(c)));
            }
        }
        prop_assert_eq!(r.lfa(), lfa.map(|x| x.2), "LFA toward {}", dst);
        prop_assert_eq!(r.lfa_is_node_protecting(), lfa.is_some_and(|x| !x.0));
        prop_assert_eq!(r.wrap(), wrap.map(|x| x.1), "wrap toward {}", dst);

        // The properties the data path relies on, checked directly.
        if let Some(p) = r.lfa() {
            prop_assert!(!members.contains(&p));
            let l = mine.iter().find(|l| l.port == p).unwrap();
            let nb = l.to as usize;
            prop_assert!(d[nb][dst] < d[nb][s] + d[s][dst], "RFC 5286 inequality");
        }
        if let Some(p) = r.wrap() {
            prop_assert!(!members.contains(&p), "wrap {} is an ECMP member", p);
        }
    }
    Ok(())
}

fn check_all(topo: &Topology) -> Result<(), TestCaseError> {
    let g = build(&topo.slots, &topo.links());
    let mut spf = Spf::new();
    let mut routes = Routes::new();
    for me in 0..topo.slot_count() as Slot {
        spf.compute(&g, me, &mut routes);
        check(topo, me, &routes)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn connected_graphs_match_the_reference(topo in topology(true)) {
        check_all(&topo)?;
    }

    #[test]
    fn arbitrary_graphs_match_the_reference(topo in topology(false)) {
        check_all(&topo)?;
    }

    #[test]
    fn link_order_does_not_matter(
        (topo, shuffled) in topology(false).prop_flat_map(|t| {
            let links = t.links();
            (Just(t), Just(links).prop_shuffle())
        })
    ) {
        let a = build(&topo.slots, &topo.links());
        let b = build(&topo.slots, &shuffled);
        prop_assert_eq!(&a, &b);
        let (mut ra, mut rb) = (Routes::new(), Routes::new());
        let mut spf = Spf::new();
        for me in topo.slots.iter().copied() {
            spf.compute(&a, me, &mut ra);
            Spf::new().compute(&b, me, &mut rb);
            prop_assert_eq!(&ra, &rb);
        }
    }

    /// Advertisements with some directions missing give the graph of the
    /// cables advertised from both ends.
    #[test]
    fn advertisements_keep_two_way_cables(
        (topo, keep) in topology(false).prop_flat_map(|t| {
            let n = t.cables.len();
            (Just(t), prop::collection::vec((any::<bool>(), any::<bool>()), n))
        })
    ) {
        let mut adverts = GraphBuilder::new();
        let mut direct = GraphBuilder::new();
        topo.slots.iter().for_each(|&s| {
            adverts.add_slot(s);
            direct.add_slot(s);
        });
        let mut expected_one_way = 0;
        for (&(a, b, ab, ba, pa, pb), &(ka, kb)) in topo.cables.iter().zip(&keep) {
            if ka {
                adverts.add_advertisement(Advertisement { from: a, to: b, local_port: pa, remote_port: pb, cost: ab });
            }
            if kb {
                adverts.add_advertisement(Advertisement { from: b, to: a, local_port: pb, remote_port: pa, cost: ba });
            }
            if ka && kb {
                direct.add_link(Link { from: a, to: b, cost: ab, port: pa });
                direct.add_link(Link { from: b, to: a, cost: ba, port: pb });
            } else {
                expected_one_way += usize::from(ka) + usize::from(kb);
            }
        }
        let mut g = Graph::new();
        let stats = adverts.build_into(&mut g);
        prop_assert_eq!(stats.one_way, expected_one_way);
        prop_assert_eq!(g, direct.build());
    }
}
