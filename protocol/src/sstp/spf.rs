//! Shortest paths from this switch to every other Satellite switch, with all
//! equal-cost first hops (ECMP) and the repair choices the data path falls
//! back on when a port dies, before any PDU is exchanged.
//!
//! The link-state database fills a [`GraphBuilder`] from its LSPs and builds
//! a [`Graph`] (CSR adjacency over LSDB slots); [`Spf::compute`] writes a
//! [`Routes`] table. Both the graph and [`Spf`] keep their buffers, so a
//! recompute on an unchanged topology size allocates nothing.
//!
//! What one run does (`SSTP.md`, "Failure and repair"):
//! 1. Dijkstra from `me` (binary heap, lazy deletion) that keeps every
//!    equal-cost predecessor: each node carries the bit set of `me`'s links
//!    that start one of its shortest paths, ORed in on ties.
//! 2. Dijkstra from each distinct neighbour of `me` (a torus switch has at
//!    most 6), for the RFC 5286 tests, and one graph walk per neighbour
//!    over the graph without `me`, for the wrap test.
//! 3. Per destination: the ECMP ports; the loop-free alternate; the wrap.
//!
//! Choices:
//! - Link costs are clamped to `1..=`[`MAX_COST`]: a zero cost would make
//!   "strictly closer" meaningless and break the ECMP bookkeeping.
//! - The LFA is chosen by (node-protecting first, then lowest
//!   `cost(S,N) + dist(N,D)`, then lowest port). Node protection is judged
//!   against every primary next-hop bridge except the destination itself,
//!   which no alternate can protect.
//! - The wrap is the lowest `cost(S,q) + dist(q,D)` over ports outside the
//!   ECMP set (ties: lowest port) whose neighbour can still reach `D` in
//!   the graph without this switch. The neighbour's shortest path may come
//!   back through this switch (that is what the U-turn guard is for), but a
//!   port whose every path comes back (a line, a tree) is no repair at all,
//!   so it is not offered.
//! - Equal-cost first hops beyond [`MAX_ECMP`](super::routes::MAX_ECMP)
//!   are dropped from the entry (highest port indices first) and counted;
//!   they are not offered as LFA or wrap either, since they are downhill
//!   members, not detours.
//!
//! Cost, measured with `cargo bench -p satellite-protocol --bench spf`
//! (criterion medians, release, this project's 2-core VM; unit costs, so
//! ECMP everywhere; `repair` is the full run the data path's snapshot needs):
//!
//! | topology                          | primary  | repair   | target  |
//! |-----------------------------------|---------:|---------:|--------:|
//! | ring:24                           |  0.61 µs |  1.44 µs |         |
//! | ring:1024                         |  28.4 µs |  60.2 µs |         |
//! | torus 5×5                         |  0.86 µs |  3.11 µs |         |
//! | torus 32×32 (1,024 sw, 4,096 arcs)|  43.6 µs |   156 µs | ≤ 1 ms  |
//! | torus 10×10×10 (6,000 arcs)       |  56.8 µs |   295 µs | ≤ 2 ms  |
//!
//! Building the 32×32 graph from its links takes 21.6 µs more. A full run is
//! well inside the targets, so there is no incremental SPF: a change simply
//! recomputes. At 1,024 switches the routes, the scratch, the graph and its
//! builder hold 211 KiB (the `torus_32_memory` test).

use super::routes::{BridgeRoute, Routes, NO_PORT};
use crate::PortIndex;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A node of the graph: the LSDB's stable index of an origin. Slots of
/// purged origins are holes (nodes without links), never renumbered.
pub type Slot = u32;

/// Largest link cost (802.1t's cost of a 100 kb/s link).
pub const MAX_COST: u32 = 200_000_000;

const INF: u64 = u64::MAX;

/// One directed link, as the originator `from` advertises it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Link {
    /// The advertising switch.
    pub from: Slot,
    /// The neighbour.
    pub to: Slot,
    /// Cost in this direction (clamped to `1..=MAX_COST`).
    pub cost: u32,
    /// `from`'s local port. Parallel links differ in it; on links leaving
    /// the computing switch it is the port frames leave by.
    pub port: PortIndex,
}

/// One adjacency from an LSP, not yet checked two-way: kept only if `to`
/// advertises the same cable back (its `local_port` is our `remote_port`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Advertisement {
    /// The advertising switch.
    pub from: Slot,
    /// The neighbour it names.
    pub to: Slot,
    /// `from`'s port.
    pub local_port: PortIndex,
    /// The neighbour's port, as heard in its hellos.
    pub remote_port: PortIndex,
    /// Cost from `from` to `to`.
    pub cost: u32,
}

/// What a build kept and dropped, for the LSDB's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildStats {
    /// Directed links in the graph.
    pub links: usize,
    /// Advertisements dropped because the other end did not advertise the
    /// link back.
    pub one_way: usize,
    /// Links refused: a self-loop, port `PortIndex::MAX` (the routes' "no
    /// port"), or slot `Slot::MAX`.
    pub rejected: usize,
}

/// Collects links for the next [`Graph`]; reused across builds.
#[derive(Clone, Debug, Default)]
pub struct GraphBuilder {
    slot_count: u32,
    links: Vec<Link>,
    adverts: Vec<Advertisement>,
    cursor: Vec<u32>,
    one_way: usize,
    rejected: usize,
}

impl GraphBuilder {
    /// An empty builder.
    pub fn new() -> GraphBuilder {
        GraphBuilder::default()
    }

    /// Makes the graph have at least `slot + 1` slots, so a Routes table
    /// covers the whole LSDB slot range even where slots have no links.
    pub fn add_slot(&mut self, slot: Slot) {
        if slot != Slot::MAX {
            self.slot_count = self.slot_count.max(slot + 1);
        }
    }

    fn accept(&mut self, from: Slot, to: Slot, port: PortIndex) -> bool {
        let ok = from != to && port != NO_PORT && from != Slot::MAX && to != Slot::MAX;
        if ok {
            self.slot_count = self.slot_count.max(from.max(to) + 1);
        } else {
            self.rejected += 1;
        }
        ok
    }

    /// Adds a link whose two-way check is already done.
    pub fn add_link(&mut self, link: Link) {
        if self.accept(link.from, link.to, link.port) {
            let cost = link.cost.clamp(1, MAX_COST);
            self.links.push(Link { cost, ..link });
        }
    }

    /// Adds one direction as advertised; [`Self::build_into`] keeps it only
    /// if the reverse direction, on the same two ports, is advertised too.
    /// Each direction keeps its own advertised cost.
    pub fn add_advertisement(&mut self, adv: Advertisement) {
        if adv.remote_port == NO_PORT {
            self.rejected += 1;
        } else if self.accept(adv.from, adv.to, adv.local_port) {
            self.adverts.push(adv);
        }
    }

    /// Pairs advertisements into two-way links.
    fn pair_advertisements(&mut self) {
        // The same cable seen from either end has the same key; `from > to`
        // then orders the two ends within it.
        fn cable(a: &Advertisement) -> (Slot, Slot, PortIndex, PortIndex) {
            if a.from < a.to {
                (a.from, a.to, a.local_port, a.remote_port)
            } else {
                (a.to, a.from, a.remote_port, a.local_port)
            }
        }
        self.adverts
            .sort_unstable_by_key(|a| (cable(a), a.from > a.to, a.cost));
        let mut i = 0;
        while i < self.adverts.len() {
            let k = cable(&self.adverts[i]);
            let mut j = i;
            let mut low_side = None;
            let mut high_side = None;
            while j < self.adverts.len() && cable(&self.adverts[j]) == k {
                let a = self.adverts[j];
                let side = if a.from < a.to {
                    &mut low_side
                } else {
                    &mut high_side
                };
                side.get_or_insert(a);
                j += 1;
            }
            match (low_side, high_side) {
                (Some(a), Some(b)) => {
                    for a in [a, b] {
                        self.links.push(Link {
                            from: a.from,
                            to: a.to,
                            cost: a.cost.clamp(1, MAX_COST),
                            port: a.local_port,
                        });
                    }
                    // Repeats of either end are one-way noise, not links.
                    self.one_way += j - i - 2;
                }
                _ => self.one_way += j - i,
            }
            i = j;
        }
        self.adverts.clear();
    }

    /// Builds `graph` from everything added since the last build, reusing
    /// its buffers, and leaves this builder empty (capacity kept).
    pub fn build_into(&mut self, graph: &mut Graph) -> BuildStats {
        self.pair_advertisements();
        let n = self.slot_count as usize;
        graph.slot_count = self.slot_count;

        // Counting sort by `from`: O(links), and each slot's arcs then sorted
        // by (to, port, cost) so the graph, and every tie-break that follows
        // from it, does not depend on the order links were added in.
        graph.offsets.clear();
        graph.offsets.resize(n + 1, 0);
        for l in &self.links {
            graph.offsets[l.from as usize + 1] += 1;
        }
        for i in 0..n {
            graph.offsets[i + 1] += graph.offsets[i];
        }
        self.cursor.clear();
        self.cursor.extend_from_slice(&graph.offsets[..n]);
        graph.arcs.clear();
        graph.arcs.resize(self.links.len(), Arc::default());
        for l in &self.links {
            let at = &mut self.cursor[l.from as usize];
            graph.arcs[*at as usize] = Arc {
                to: l.to,
                cost: l.cost,
                port: l.port,
            };
            *at += 1;
        }
        for w in graph.offsets.windows(2) {
            graph.arcs[w[0] as usize..w[1] as usize]
                .sort_unstable_by_key(|a| (a.to, a.port, a.cost));
        }

        let stats = BuildStats {
            links: self.links.len(),
            one_way: self.one_way,
            rejected: self.rejected,
        };
        self.links.clear();
        self.slot_count = 0;
        self.one_way = 0;
        self.rejected = 0;
        stats
    }

    /// Bytes this builder holds on the heap (its capacity).
    pub fn heap_bytes(&self) -> usize {
        use core::mem::size_of;
        self.links.capacity() * size_of::<Link>()
            + self.adverts.capacity() * size_of::<Advertisement>()
            + self.cursor.capacity() * 4
    }

    /// Builds a new graph (see [`Self::build_into`]).
    pub fn build(&mut self) -> Graph {
        let mut g = Graph::new();
        self.build_into(&mut g);
        g
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Arc {
    to: Slot,
    cost: u32,
    port: PortIndex,
}

/// The two-way links between Satellite switches, in compressed sparse row
/// form: the arcs leaving a slot are contiguous and sorted by
/// (neighbour, port, cost). Equal sets of links give equal graphs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    slot_count: u32,
    offsets: Vec<u32>,
    arcs: Vec<Arc>,
}

impl Graph {
    /// A graph with no slots.
    pub fn new() -> Graph {
        Graph::default()
    }

    /// One more than the highest slot named.
    pub fn slot_count(&self) -> u32 {
        self.slot_count
    }

    /// Number of directed links.
    pub fn link_count(&self) -> usize {
        self.arcs.len()
    }

    fn arcs(&self, slot: Slot) -> &[Arc] {
        let s = slot as usize;
        match (self.offsets.get(s), self.offsets.get(s + 1)) {
            (Some(&a), Some(&b)) => &self.arcs[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The links leaving `slot`, in the graph's order.
    pub fn links_from(&self, slot: Slot) -> impl Iterator<Item = Link> + '_ {
        self.arcs(slot).iter().map(move |a| Link {
            from: slot,
            to: a.to,
            cost: a.cost,
            port: a.port,
        })
    }

    /// Bytes this graph holds on the heap (its capacity).
    pub fn heap_bytes(&self) -> usize {
        self.offsets.capacity() * 4 + self.arcs.capacity() * core::mem::size_of::<Arc>()
    }
}

/// Counts from one run, for metrics and `satctl`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpfStats {
    /// Reachable switches other than this one.
    pub reachable: u32,
    /// Destinations with more equal-cost first hops than [`MAX_ECMP`](super::routes::MAX_ECMP).
    pub ecmp_overflow: u32,
    /// Destinations with a loop-free alternate.
    pub lfa: u32,
    /// ... of which node-protecting.
    pub lfa_node_protecting: u32,
    /// Destinations with one first hop, no LFA, but a wrap.
    pub wrap_only: u32,
    /// Destinations that one link failure cuts off until global repair:
    /// one first hop, no LFA, no wrap.
    pub unprotected: u32,
}

/// A first hop of the computing switch: one of its links.
#[derive(Clone, Copy, Debug)]
struct FirstHop {
    port: PortIndex,
    cost: u32,
    /// Index of the neighbour in `Spf::nbrs`.
    nbr: usize,
}

/// SPF scratch kept between runs, so a recompute allocates nothing once the
/// topology has been seen at its size.
#[derive(Clone, Debug, Default)]
pub struct Spf {
    dist: Vec<u64>,
    /// Per slot, `words` words: the bit set of `first` indices that start a
    /// shortest path to it.
    hops: Vec<u64>,
    words: usize,
    heap: BinaryHeap<Reverse<(u64, Slot)>>,
    first: Vec<FirstHop>,
    /// Distinct neighbour slots of the computing switch.
    nbrs: Vec<Slot>,
    /// Per neighbour, distances from it to every slot.
    nbr_dist: Vec<u64>,
    /// Per slot, `nbr_words` words: the neighbours that reach it without
    /// passing through the computing switch.
    reach: Vec<u64>,
    nbr_words: usize,
    stack: Vec<Slot>,
    ports: Vec<PortIndex>,
}

/// One full run (primary and repair) with fresh scratch; see [`Spf`] to
/// keep the scratch between runs.
pub fn compute(graph: &Graph, me: Slot, out: &mut Routes) -> SpfStats {
    Spf::new().compute(graph, me, out)
}

fn bits(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
    words.iter().enumerate().flat_map(|(w, &word)| {
        let mut x = word;
        core::iter::from_fn(move || {
            (x != 0).then(|| {
                let b = x.trailing_zeros() as usize;
                x &= x - 1;
                w * 64 + b
            })
        })
    })
}

fn has_bit(words: &[u64], i: usize) -> bool {
    words[i / 64] & (1 << (i % 64)) != 0
}

/// Plain Dijkstra from `src` into `dist` (length = slot count).
fn dijkstra(
    graph: &Graph,
    src: Slot,
    dist: &mut [u64],
    heap: &mut BinaryHeap<Reverse<(u64, Slot)>>,
) {
    dist.fill(INF);
    heap.clear();
    dist[src as usize] = 0;
    heap.push(Reverse((0, src)));
    while let Some(Reverse((d, u))) = heap.pop() {
        if d > dist[u as usize] {
            continue;
        }
        for a in graph.arcs(u) {
            let nd = d + u64::from(a.cost);
            let v = a.to as usize;
            if nd < dist[v] {
                dist[v] = nd;
                heap.push(Reverse((nd, a.to)));
            }
        }
    }
}

impl Spf {
    /// Empty scratch.
    pub fn new() -> Spf {
        Spf::default()
    }

    /// Shortest paths, ECMP sets, LFAs and wraps from `me` into `out`,
    /// which gets one entry per graph slot (and at least `me + 1`).
    pub fn compute(&mut self, graph: &Graph, me: Slot, out: &mut Routes) -> SpfStats {
        self.run(graph, me, out, true)
    }

    /// Like [`Self::compute`] without the repair fields (every `lfa` and
    /// `wrap` is `None`): the part a topology change cannot wait for.
    pub fn compute_primary(&mut self, graph: &Graph, me: Slot, out: &mut Routes) -> SpfStats {
        self.run(graph, me, out, false)
    }

    /// Bytes this scratch holds on the heap (its capacity).
    pub fn heap_bytes(&self) -> usize {
        use core::mem::size_of;
        (self.dist.capacity()
            + self.hops.capacity()
            + self.nbr_dist.capacity()
            + self.reach.capacity())
            * 8
            + self.heap.capacity() * size_of::<Reverse<(u64, Slot)>>()
            + self.first.capacity() * size_of::<FirstHop>()
            + (self.nbrs.capacity() + self.stack.capacity()) * size_of::<Slot>()
            + self.ports.capacity() * size_of::<PortIndex>()
    }

    fn run(&mut self, graph: &Graph, me: Slot, out: &mut Routes, repair: bool) -> SpfStats {
        let n = graph.slot_count as usize;
        out.reset(me, n);
        let mut stats = SpfStats::default();
        if me as usize >= n {
            return stats;
        }
        self.first_hops(graph, me);
        self.primary(graph, me);
        if repair {
            self.neighbour_distances(graph, me);
        }

        let w = self.words;
        for d in 0..n {
            let dist = self.dist[d];
            if dist == INF || d == me as usize {
                continue;
            }
            let hops = &self.hops[d * w..(d + 1) * w];
            self.ports.clear();
            self.ports.extend(bits(hops).map(|i| self.first[i].port));
            let mut route = BridgeRoute::new(dist, &self.ports);
            stats.reachable += 1;
            stats.ecmp_overflow += u32::from(route.ecmp_overflow() > 0);
            if repair {
                let (lfa, wrap) = self.repair(me, d, hops);
                route = route
                    .with_lfa(lfa.map(|(p, _)| p), lfa.is_some_and(|(_, np)| np))
                    .with_wrap(wrap);
                let single = route.ecmp().len() + usize::from(route.ecmp_overflow()) == 1;
                stats.lfa += u32::from(lfa.is_some());
                stats.lfa_node_protecting += u32::from(route.lfa_is_node_protecting());
                stats.wrap_only += u32::from(single && lfa.is_none() && wrap.is_some());
                stats.unprotected += u32::from(single && lfa.is_none() && wrap.is_none());
            }
            out.set(d as Slot, route);
        }
        stats
    }

    fn first_hops(&mut self, graph: &Graph, me: Slot) {
        self.first.clear();
        self.nbrs.clear();
        // Arcs are sorted by neighbour, so parallel links are adjacent.
        for a in graph.arcs(me) {
            if self.nbrs.last() != Some(&a.to) {
                self.nbrs.push(a.to);
            }
            self.first.push(FirstHop {
                port: a.port,
                cost: a.cost,
                nbr: self.nbrs.len() - 1,
            });
        }
        self.words = self.first.len().div_ceil(64).max(1);
    }

    /// Dijkstra from `me` keeping every equal-cost predecessor's first hops.
    /// With costs ≥ 1 every predecessor on a shortest path is settled before
    /// its successor, so a node's set is complete when it is popped.
    fn primary(&mut self, graph: &Graph, me: Slot) {
        let n = graph.slot_count as usize;
        let w = self.words;
        self.dist.clear();
        self.dist.resize(n, INF);
        self.hops.clear();
        self.hops.resize(n * w, 0);
        self.heap.clear();
        self.dist[me as usize] = 0;

        for (i, a) in graph.arcs(me).iter().enumerate() {
            let (v, d) = (a.to as usize, u64::from(a.cost));
            if d <= self.dist[v] {
                if d < self.dist[v] {
                    self.dist[v] = d;
                    self.hops[v * w..(v + 1) * w].fill(0);
                    self.heap.push(Reverse((d, a.to)));
                }
                self.hops[v * w + i / 64] |= 1 << (i % 64);
            }
        }
        while let Some(Reverse((d, u))) = self.heap.pop() {
            let u = u as usize;
            if d > self.dist[u] {
                continue;
            }
            for a in graph.arcs(u as Slot) {
                let nd = d + u64::from(a.cost);
                let v = a.to as usize;
                if nd < self.dist[v] {
                    self.dist[v] = nd;
                    self.heap.push(Reverse((nd, a.to)));
                    for k in 0..w {
                        self.hops[v * w + k] = self.hops[u * w + k];
                    }
                } else if nd == self.dist[v] {
                    for k in 0..w {
                        self.hops[v * w + k] |= self.hops[u * w + k];
                    }
                }
            }
        }
    }

    /// Distances from every neighbour, and which neighbours reach each slot
    /// without passing through `me`.
    fn neighbour_distances(&mut self, graph: &Graph, me: Slot) {
        let n = graph.slot_count as usize;
        let k = self.nbrs.len();
        self.nbr_dist.clear();
        self.nbr_dist.resize(k * n, INF);
        for (j, &nb) in self.nbrs.iter().enumerate() {
            dijkstra(
                graph,
                nb,
                &mut self.nbr_dist[j * n..(j + 1) * n],
                &mut self.heap,
            );
        }

        let nw = k.div_ceil(64).max(1);
        self.nbr_words = nw;
        self.reach.clear();
        self.reach.resize(n * nw, 0);
        for (j, &nb) in self.nbrs.iter().enumerate() {
            let (word, bit) = (j / 64, 1u64 << (j % 64));
            self.stack.clear();
            self.stack.push(nb);
            self.reach[nb as usize * nw + word] |= bit;
            while let Some(u) = self.stack.pop() {
                for a in graph.arcs(u) {
                    let r = &mut self.reach[a.to as usize * nw + word];
                    if a.to != me && *r & bit == 0 {
                        *r |= bit;
                        self.stack.push(a.to);
                    }
                }
            }
        }
    }

    /// The LFA (port, node-protecting) and the wrap port toward `d`, whose
    /// first-hop set is `hops`.
    fn repair(
        &self,
        me: Slot,
        d: usize,
        hops: &[u64],
    ) -> (Option<(PortIndex, bool)>, Option<PortIndex>) {
        let n = self.dist.len();
        let nd = |j: usize, x: usize| self.nbr_dist[j * n + x];
        let dist_sd = self.dist[d];
        let mut lfa: Option<(bool, u64, PortIndex)> = None;
        let mut wrap: Option<(u64, PortIndex)> = None;
        for (i, fh) in self.first.iter().enumerate() {
            if has_bit(hops, i) {
                continue;
            }
            let n_d = nd(fh.nbr, d);
            if n_d == INF {
                continue;
            }
            let total = u64::from(fh.cost) + n_d;
            if has_bit(&self.reach[d * self.nbr_words..], fh.nbr) {
                let cand = (total, fh.port);
                wrap = Some(wrap.map_or(cand, |w| w.min(cand)));
            }
            // RFC 5286 inequality 1: N's shortest path to D does not come
            // back through S.
            if n_d >= nd(fh.nbr, me as usize).saturating_add(dist_sd) {
                continue;
            }
            // Inequality 3, against each primary next-hop bridge E ≠ D.
            let node_protecting = bits(hops).all(|p| {
                let e = self.first[p].nbr;
                let e_slot = self.nbrs[e] as usize;
                e_slot == d || (e != fh.nbr && n_d < nd(fh.nbr, e_slot).saturating_add(nd(e, d)))
            });
            let cand = (!node_protecting, total, fh.port);
            lfa = Some(lfa.map_or(cand, |l| l.min(cand)));
        }
        (lfa.map(|(np, _, p)| (p, !np)), wrap.map(|(_, p)| p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Links both ways, same cost: (a, b, cost, port at a, port at b).
    fn bidir(links: &[(Slot, Slot, u32, PortIndex, PortIndex)]) -> Graph {
        let mut b = GraphBuilder::new();
        for &(x, y, cost, px, py) in links {
            b.add_link(Link {
                from: x,
                to: y,
                cost,
                port: px,
            });
            b.add_link(Link {
                from: y,
                to: x,
                cost,
                port: py,
            });
        }
        b.build()
    }

    /// A ring where node i's port 0 goes to i + 1 and port 1 to i - 1.
    fn ring(n: Slot) -> Graph {
        let links: Vec<_> = (0..n).map(|i| (i, (i + 1) % n, 1, 0, 1)).collect();
        bidir(&links)
    }

    /// A torus with unit costs; port 2k leaves along +dimension k, 2k+1
    /// along -k.
    fn torus(dims: &[u32]) -> Graph {
        let n: u32 = dims.iter().product();
        let mut b = GraphBuilder::new();
        for node in 0..n {
            let mut stride = 1;
            for (k, &size) in dims.iter().enumerate() {
                let coord = node / stride % size;
                let next = node - coord * stride + (coord + 1) % size * stride;
                let k = k as PortIndex;
                b.add_link(Link {
                    from: node,
                    to: next,
                    cost: 1,
                    port: 2 * k,
                });
                b.add_link(Link {
                    from: next,
                    to: node,
                    cost: 1,
                    port: 2 * k + 1,
                });
                stride *= size;
            }
        }
        b.build()
    }

    fn run(g: &Graph, me: Slot) -> (Routes, SpfStats) {
        let mut routes = Routes::new();
        let stats = compute(g, me, &mut routes);
        (routes, stats)
    }

    type Entry = (u64, Vec<PortIndex>, Option<PortIndex>, Option<PortIndex>);

    fn entry(routes: &Routes, slot: Slot) -> Entry {
        let r = routes.get(slot).expect("reachable");
        (r.distance().unwrap(), r.ecmp().to_vec(), r.lfa(), r.wrap())
    }

    #[test]
    fn line() {
        let g = bidir(&[(0, 1, 1, 0, 0), (1, 2, 1, 1, 0), (2, 3, 1, 1, 0)]);
        let (r, s) = run(&g, 0);
        assert_eq!(r.get(0), Some(&BridgeRoute::LOCAL));
        assert_eq!(entry(&r, 1), (1, vec![0], None, None));
        assert_eq!(entry(&r, 3), (3, vec![0], None, None));
        assert_eq!((s.reachable, s.unprotected), (3, 3));
        // From the middle, the other port reaches the far side only back
        // through this switch: no wrap.
        let (r, _) = run(&g, 1);
        assert_eq!(entry(&r, 0), (1, vec![0], None, None));
        assert_eq!(entry(&r, 3), (2, vec![1], None, None));
    }

    #[test]
    fn square_with_two_equal_paths() {
        // 0 -p0- 1 -- 3 -- 2 -p1- 0
        let g = bidir(&[
            (0, 1, 1, 0, 0),
            (0, 2, 1, 1, 0),
            (1, 3, 1, 1, 0),
            (2, 3, 1, 1, 1),
        ]);
        let (r, s) = run(&g, 0);
        assert_eq!(entry(&r, 3), (2, vec![0, 1], None, None));
        // dist(2,1) = 2 is not < dist(2,0) + dist(0,1) = 2: no LFA, but 2
        // reaches 1 around the square.
        assert_eq!(entry(&r, 1), (1, vec![0], None, Some(1)));
        assert_eq!(entry(&r, 2), (1, vec![1], None, Some(0)));
        assert_eq!((s.lfa, s.wrap_only, s.unprotected), (0, 2, 0));
    }

    #[test]
    fn triangle_with_unequal_costs() {
        // 0 -p0- 1 cost 1, 1 - 2 cost 1, 0 -p1- 2 cost 5.
        let g = bidir(&[(0, 1, 1, 0, 0), (1, 2, 1, 1, 0), (0, 2, 5, 1, 1)]);
        let (r, s) = run(&g, 0);
        assert_eq!(entry(&r, 2), (2, vec![0], Some(1), Some(1)));
        assert!(r.get(2).unwrap().lfa_is_node_protecting());
        // Toward the primary neighbour itself, node protection is moot.
        assert_eq!(entry(&r, 1), (1, vec![0], Some(1), Some(1)));
        assert_eq!((s.lfa, s.lfa_node_protecting), (2, 2));
    }

    #[test]
    fn parallel_links() {
        let g = bidir(&[(0, 1, 1, 0, 0), (0, 1, 1, 1, 1), (1, 2, 1, 2, 0)]);
        let (r, _) = run(&g, 0);
        assert_eq!(entry(&r, 1), (1, vec![0, 1], None, None));
        assert_eq!(entry(&r, 2), (2, vec![0, 1], None, None));

        // Unequal: the dearer cable protects the link, never the node.
        let g = bidir(&[(0, 1, 1, 0, 0), (0, 1, 3, 1, 1), (1, 2, 1, 2, 0)]);
        let (r, _) = run(&g, 0);
        assert_eq!(entry(&r, 1), (1, vec![0], Some(1), Some(1)));
        assert_eq!(entry(&r, 2), (2, vec![0], Some(1), Some(1)));
        assert!(!r.get(2).unwrap().lfa_is_node_protecting());
    }

    #[test]
    fn ring_of_6_wraps() {
        let (r, s) = run(&ring(6), 0);
        assert_eq!(entry(&r, 1), (1, vec![0], None, Some(1)));
        assert_eq!(entry(&r, 2), (2, vec![0], None, Some(1)));
        assert_eq!(entry(&r, 3), (3, vec![0, 1], None, None));
        assert_eq!(entry(&r, 4), (2, vec![1], None, Some(0)));
        assert_eq!(entry(&r, 5), (1, vec![1], None, Some(0)));
        assert_eq!((s.lfa, s.wrap_only, s.unprotected), (0, 4, 0));
    }

    #[test]
    fn ring_of_5_has_an_lfa_where_the_far_side_is_closer() {
        let (r, _) = run(&ring(5), 0);
        // dist(4,2) = 2 < dist(4,0) + dist(0,2) = 3, and 4's path avoids 1.
        assert_eq!(entry(&r, 2), (2, vec![0], Some(1), Some(1)));
        assert!(r.get(2).unwrap().lfa_is_node_protecting());
        // dist(4,1) = 2 is not < 1 + 1: only the wrap.
        assert_eq!(entry(&r, 1), (1, vec![0], None, Some(1)));
    }

    #[test]
    fn unreachable_slots_and_holes() {
        let mut b = GraphBuilder::new();
        b.add_link(Link {
            from: 0,
            to: 2,
            cost: 4,
            port: 3,
        });
        b.add_link(Link {
            from: 2,
            to: 0,
            cost: 4,
            port: 0,
        });
        b.add_link(Link {
            from: 5,
            to: 6,
            cost: 1,
            port: 0,
        });
        b.add_link(Link {
            from: 6,
            to: 5,
            cost: 1,
            port: 0,
        });
        b.add_slot(9);
        let g = b.build();
        assert_eq!(g.slot_count(), 10);
        let (r, s) = run(&g, 0);
        assert_eq!(r.len(), 10);
        assert_eq!(entry(&r, 2), (4, vec![3], None, None));
        for slot in [1, 3, 4, 5, 6, 7, 8, 9, 10] {
            assert!(!r.is_reachable(slot), "slot {slot}");
        }
        assert_eq!(s.reachable, 1);
        // A switch the graph does not know yet reaches only itself.
        let (r, _) = run(&g, 12);
        assert_eq!((r.len(), r.reachable_count(), r.me()), (13, 1, Some(12)));
        assert!(r.get(12).unwrap().is_local());
    }

    #[test]
    fn advertisements_are_kept_only_two_way() {
        let adv = |from, to, local_port, remote_port, cost| Advertisement {
            from,
            to,
            local_port,
            remote_port,
            cost,
        };
        let mut b = GraphBuilder::new();
        b.add_advertisement(adv(1, 0, 3, 0, 5));
        b.add_advertisement(adv(0, 1, 0, 3, 2));
        b.add_advertisement(adv(1, 2, 1, 0, 1)); // 2 does not answer
        b.add_advertisement(adv(0, 2, 1, 1, 1)); // 2 names another port
        b.add_advertisement(adv(2, 0, 2, 2, 1));
        let mut g = Graph::new();
        let stats = b.build_into(&mut g);
        assert_eq!((stats.links, stats.one_way, stats.rejected), (2, 3, 0));
        let l = |from, to, cost, port| Link {
            from,
            to,
            cost,
            port,
        };
        assert_eq!(g.links_from(0).collect::<Vec<_>>(), [l(0, 1, 2, 0)]);
        assert_eq!(g.links_from(1).collect::<Vec<_>>(), [l(1, 0, 5, 3)]);
        assert_eq!(g.links_from(2).count(), 0);
        assert_eq!(g.slot_count(), 3);

        // The builder is empty again and reusable.
        assert_eq!(b.build_into(&mut g), BuildStats::default());
        assert_eq!((g.slot_count(), g.link_count()), (0, 0));
    }

    #[test]
    fn bad_links_are_refused_and_costs_clamped() {
        let mut b = GraphBuilder::new();
        b.add_link(Link {
            from: 1,
            to: 1,
            cost: 1,
            port: 0,
        });
        b.add_link(Link {
            from: 0,
            to: 1,
            cost: 1,
            port: PortIndex::MAX,
        });
        b.add_link(Link {
            from: 0,
            to: Slot::MAX,
            cost: 1,
            port: 0,
        });
        b.add_link(Link {
            from: 0,
            to: 1,
            cost: 0,
            port: 0,
        });
        b.add_link(Link {
            from: 1,
            to: 0,
            cost: u32::MAX,
            port: 0,
        });
        let mut g = Graph::new();
        let stats = b.build_into(&mut g);
        assert_eq!((stats.links, stats.rejected), (2, 3));
        assert_eq!(g.links_from(0).next().unwrap().cost, 1);
        assert_eq!(g.links_from(1).next().unwrap().cost, MAX_COST);
    }

    #[test]
    fn ecmp_overflow_keeps_the_lowest_ports() {
        for cables in [10, 70] {
            let links: Vec<_> = (0..cables).map(|p| (0, 1, 7, p, p)).collect();
            let (r, s) = run(&bidir(&links), 0);
            let e = r.get(1).unwrap();
            assert_eq!(e.ecmp(), &[0, 1, 2, 3, 4, 5, 6, 7]);
            assert_eq!(usize::from(e.ecmp_overflow()), cables as usize - 8);
            assert_eq!((e.lfa(), e.wrap()), (None, None));
            assert_eq!(s.ecmp_overflow, 1);
        }
    }

    #[test]
    fn primary_only_leaves_repair_empty() {
        let g = ring(6);
        let mut spf = Spf::new();
        let mut r = Routes::new();
        let s = spf.compute_primary(&g, 0, &mut r);
        assert_eq!(entry(&r, 1), (1, vec![0], None, None));
        assert_eq!((s.reachable, s.wrap_only), (5, 0));
    }

    #[test]
    fn scratch_reuse_matches_fresh_runs() {
        let graphs = [torus(&[5, 5]), ring(24), ring(3), torus(&[3, 4, 5])];
        let mut spf = Spf::new();
        let mut r = Routes::new();
        for g in graphs.iter().chain(graphs.iter().rev()) {
            for me in [0, 2, g.slot_count() - 1] {
                spf.compute(g, me, &mut r);
                assert_eq!(r, run(g, me).0);
            }
        }
    }

    #[test]
    fn torus_5x5() {
        let (r, s) = run(&torus(&[5, 5]), 0);
        // (2, 2) is 4 hops away along +x and +y.
        assert_eq!(entry(&r, 12).0, 4);
        assert_eq!(entry(&r, 12).1, [0, 2]);
        // (1, 0): one port; the odd ring gives no LFA one hop out, but the
        // other three ports reach it.
        let e = entry(&r, 1);
        assert_eq!((e.0, e.1), (1, vec![0]));
        assert!(e.3.is_some());
        assert_eq!((s.reachable, s.unprotected), (24, 0));
    }

    #[test]
    fn torus_32_memory() {
        let mut b = GraphBuilder::new();
        let mut g = torus(&[32, 32]);
        // Rebuild through a kept builder, as the LSDB does.
        for slot in 0..g.slot_count() {
            let links: Vec<_> = g.links_from(slot).collect();
            links.into_iter().for_each(|l| b.add_link(l));
        }
        b.build_into(&mut g);
        let mut spf = Spf::new();
        let mut r = Routes::new();
        let s = spf.compute(&g, 0, &mut r);
        assert_eq!(
            (g.link_count(), s.reachable, s.unprotected),
            (4096, 1023, 0)
        );
        assert_eq!(r.heap_bytes(), 1024 * 32);
        let total = r.heap_bytes() + spf.heap_bytes() + g.heap_bytes() + b.heap_bytes();
        // Measured: 32 KiB routes, 59 KiB SPF scratch, 52 KiB graph, 68 KiB
        // builder: 211 KiB.
        assert!(total < 256 * 1024, "{total} bytes");
    }
}
