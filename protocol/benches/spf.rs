//! SPF cost on the topologies SSTP must scale to (`SSTP.md`, "Scale"):
//! rings, 2-D and 3-D tori, unit costs so that ECMP is everywhere. Each
//! topology has a `primary` run (distances and ECMP sets) and a `repair` run
//! (plus LFAs and wraps: what a recompute after a change costs), and the
//! 32×32 torus also the graph build the LSDB does before each run.
//!
//! `cargo bench -p satellite-protocol --bench spf`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use satellite_protocol::sstp::routes::Routes;
use satellite_protocol::sstp::spf::{Graph, GraphBuilder, Link, Slot, Spf};
use satellite_protocol::PortIndex;
use std::time::Duration;

/// The links of a torus with the given side lengths (a ring is 1-D); port
/// 2k leaves along +dimension k, 2k+1 along -k.
fn torus_links(dims: &[u32]) -> Vec<Link> {
    let n: u32 = dims.iter().product();
    let mut links = Vec::new();
    for node in 0..n {
        let mut stride = 1;
        for (k, &size) in dims.iter().enumerate() {
            let coord = node / stride % size;
            let next = node - coord * stride + (coord + 1) % size * stride;
            let k = k as PortIndex;
            links.push(Link {
                from: node,
                to: next,
                cost: 1,
                port: 2 * k,
            });
            links.push(Link {
                from: next,
                to: node,
                cost: 1,
                port: 2 * k + 1,
            });
            stride *= size;
        }
    }
    links
}

fn build(links: &[Link]) -> Graph {
    let mut b = GraphBuilder::new();
    links.iter().for_each(|&l| b.add_link(l));
    b.build()
}

fn topologies() -> Vec<(&'static str, Vec<Link>)> {
    vec![
        ("ring:24", torus_links(&[24])),
        ("ring:1024", torus_links(&[1024])),
        ("torus:5x5", torus_links(&[5, 5])),
        ("torus:32x32", torus_links(&[32, 32])),
        ("torus:10x10x10", torus_links(&[10, 10, 10])),
    ]
}

fn spf(c: &mut Criterion) {
    let mut group = c.benchmark_group("spf");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    for (name, links) in topologies() {
        let g = build(&links);
        // Not slot 0, so a run does not start at the lowest index.
        let me: Slot = g.slot_count() / 3;
        let mut spf = Spf::new();
        let mut routes = Routes::new();
        group.bench_function(BenchmarkId::new("primary", name), |b| {
            b.iter(|| spf.compute_primary(black_box(&g), me, &mut routes))
        });
        group.bench_function(BenchmarkId::new("repair", name), |b| {
            b.iter(|| spf.compute(black_box(&g), me, &mut routes))
        });
    }
    group.finish();
}

fn graph_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("graph_build");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    let links = torus_links(&[32, 32]);
    let mut builder = GraphBuilder::new();
    let mut g = Graph::new();
    group.bench_function("torus:32x32", |b| {
        b.iter(|| {
            links.iter().for_each(|&l| builder.add_link(l));
            builder.build_into(&mut g)
        })
    });
    group.finish();
}

criterion_group!(benches, spf, graph_build);
criterion_main!(benches);
