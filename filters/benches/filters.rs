//! Per-packet cost of `filter_ingress` on the three hot cases: an untagged
//! IPv4 frame, a triple-tagged IPv4 frame (both pass through the VLAN,
//! anti-spoof and Interstellar checks), and an ARP request answered by the
//! responder.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use satellite_filters::bench_fixtures::{Case, Fixture};
use satellite_filters::{filter_ingress, REPLY_BUF_LEN};

fn ingress(c: &mut Criterion) {
    let fx = Fixture::new();
    let mut g = c.benchmark_group("filter_ingress");
    g.throughput(Throughput::Elements(1));
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    for case in Case::ALL {
        let frame = fx.frame(case);
        let port = fx.port(case);
        let mut reply = [0u8; REPLY_BUF_LEN];
        assert!(fx.verdict_ok(case, &filter_ingress(&frame, port, &fx.tables, &mut reply)));
        g.bench_function(case.name(), |b| {
            b.iter(|| {
                filter_ingress(
                    black_box(&frame),
                    black_box(port),
                    black_box(&fx.tables),
                    &mut reply,
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, ingress);
criterion_main!(benches);
