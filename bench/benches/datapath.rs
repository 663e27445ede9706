//! Micro benchmarks of the data path: parse, FDB lookup, snapshot publish
//! and the per-burst classify pipeline. Short measurement times on purpose:
//! the whole suite runs in a few minutes (`cargo bench -p satellite-bench`).
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use satellite_bench::{
    classify_burst, frame, interleaved_frames, learned_fdb, station_mac, two_port_snapshot,
    two_port_snapshot_filtered, Mix, Side, FRAME_LEN,
};
use satellite_dataplane::fdb::{Fdb, FdbKey};
use satellite_dataplane::frame::{classify, parse_l2, LearnHint, Verdict};
use satellite_dataplane::snapshot::{ForwardingSnapshot, Publisher, SnapshotBuilder};
use satellite_dataplane::PortIndex;

const SIZES: [(u32, &str); 3] = [(1 << 10, "1k"), (1 << 16, "64k"), (1 << 20, "1M")];
const BATCH: usize = 32;

fn mix(macs_per_side: u32, triple_tagged: bool) -> Mix {
    Mix {
        macs_per_side,
        triple_tagged,
    }
}

fn short<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20);
    g
}

/// A permutation of 0..n that jumps around the table (odd stride modulo a
/// power of two), so consecutive lookups do not share cache lines.
fn scattered(n: u32, i: u64) -> u32 {
    (i.wrapping_mul(0x9E37_79B1) % n as u64) as u32
}

fn parse(c: &mut Criterion) {
    let mut g = short(c, "parse_l2");
    g.throughput(Throughput::Elements(1));
    for (label, triple) in [("untagged", false), ("triple_tagged", true)] {
        let f = frame(mix(1, triple), Side::A, 0);
        g.bench_function(label, |b| b.iter(|| parse_l2(black_box(&f))));
    }
    g.finish();
}

fn fdb_get(c: &mut Criterion) {
    const LOOKUPS: u64 = 1024;
    let mut g = short(c, "fdb_get");
    g.throughput(Throughput::Elements(LOOKUPS));
    for (n, label) in SIZES {
        let m = mix(n, false);
        let fdb = learned_fdb(m);
        let view = fdb.view();
        let keys: Vec<FdbKey> = (0..n)
            .map(|i| FdbKey::new(0, station_mac(Side::A, scattered(n, i as u64))))
            .collect();
        let mut at = 0usize;
        g.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                let mut hits = 0u32;
                for _ in 0..LOOKUPS {
                    hits += view.get(black_box(keys[at])).is_some() as u32;
                    at = if at + 1 == keys.len() { 0 } else { at + 1 };
                }
                hits
            })
        });
    }
    g.finish();
}

/// One learn (a refresh, which rewrites an entry: the shard is shared with
/// the published view, so it is copied), one snapshot build and one publish:
/// what the control lcore pays per publish interval in steady state.
fn publish(c: &mut Criterion) {
    let mut g = short(c, "publish_after_one_learn");
    g.throughput(Throughput::Elements(1));
    for (n, label) in &SIZES[1..] {
        let m = mix(*n, false);
        let mut fdb = learned_fdb(m);
        let mut builder = SnapshotBuilder::new(2);
        let publisher = Publisher::new(builder.build(0, fdb.view()));
        let mut epoch = 0u64;
        g.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                epoch += 1;
                let i = scattered(*n, epoch);
                fdb.learn(
                    FdbKey::new(0, station_mac(Side::A, i)),
                    Side::A.port(),
                    epoch as u32,
                );
                publisher.publish(builder.build(epoch, fdb.view()));
                fdb.mark_published();
            })
        });
        // The same without the learn: the floor (shard pointers only).
        g.bench_function(BenchmarkId::new("no_learn", label), |b| {
            b.iter(|| {
                epoch += 1;
                publisher.publish(builder.build(epoch, fdb.view()));
            })
        });
    }
    g.finish();
}

/// A burst classifier: classifies `burst`, returns how many it forwards.
type BurstFn = fn(
    &[([u8; FRAME_LEN], PortIndex)],
    &ForwardingSnapshot,
    &mut Vec<(Verdict, Option<LearnHint>)>,
) -> usize;

/// Bursts of 32 frames from both sides, every destination known, walking
/// the whole capture so large tables miss in cache as they would on the
/// wire.
fn pipeline_group(
    c: &mut Criterion,
    name: &str,
    snapshot: fn(&Fdb) -> ForwardingSnapshot,
    run: BurstFn,
) {
    let mut g = short(c, name);
    g.throughput(Throughput::Elements(BATCH as u64));
    for (label_t, triple) in [("untagged", false), ("triple_tagged", true)] {
        for (n, label) in SIZES {
            let m = mix(n, triple);
            let fdb = learned_fdb(m);
            let snap = snapshot(&fdb);
            let frames = interleaved_frames(m);
            let mut out = Vec::with_capacity(BATCH);
            let mut at = 0usize;
            g.bench_function(BenchmarkId::new(label_t, label), |b| {
                b.iter(|| {
                    let forwarded = run(black_box(&frames[at..at + BATCH]), &snap, &mut out);
                    at += BATCH;
                    if at + BATCH > frames.len() {
                        at = 0;
                    }
                    forwarded
                })
            });
        }
    }
    g.finish();
}

/// `classify`, frame by frame.
fn pipeline(c: &mut Criterion) {
    pipeline_group(
        c,
        "classify_burst32",
        two_port_snapshot,
        |burst, snap, _| {
            burst
                .iter()
                .filter(|(f, port)| {
                    let (v, _) = classify(f, FRAME_LEN as u32, *port, snap, 0);
                    matches!(v, Verdict::Forward(_))
                })
                .count()
        },
    );
}

/// The same bursts the way the worker takes them (see
/// `satellite_bench::classify_burst`): every frame of the burst prepared
/// (parsed, hashed, FDB buckets prefetched) before any is classified.
fn pipeline_prepared(c: &mut Criterion) {
    pipeline_group(
        c,
        "classify_burst32_prepared",
        two_port_snapshot,
        prepared_burst,
    );
}

/// The worker's burst path with edge filters on both ports (frames pass:
/// transparent VLAN mode, Interstellar and ARPless off): what the
/// ingress filter adds to a frame.
fn pipeline_filtered(c: &mut Criterion) {
    pipeline_group(
        c,
        "classify_burst32_filtered",
        two_port_snapshot_filtered,
        prepared_burst,
    );
}

fn prepared_burst(
    burst: &[([u8; FRAME_LEN], PortIndex)],
    snap: &ForwardingSnapshot,
    out: &mut Vec<(Verdict, Option<LearnHint>)>,
) -> usize {
    classify_burst(burst, snap, 0, out);
    out.iter()
        .filter(|(v, _)| matches!(v, Verdict::Forward(_)))
        .count()
}

criterion_group!(
    benches,
    parse,
    fdb_get,
    publish,
    pipeline,
    pipeline_prepared,
    pipeline_filtered
);
criterion_main!(benches);
