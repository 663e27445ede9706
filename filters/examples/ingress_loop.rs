//! Runs `filter_ingress` N times on one case, for instruction counting:
//! `valgrind --tool=callgrind target/release/examples/ingress_loop <case> <n>`
//! and divide the `filter_ingress` inclusive count by `n`.

use std::hint::black_box;

use satellite_filters::bench_fixtures::{Case, Fixture};
use satellite_filters::{filter_ingress, REPLY_BUF_LEN};

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "untagged_ipv4".into());
    let n: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let Some(case) = Case::ALL.into_iter().find(|c| c.name() == name) else {
        eprintln!(
            "unknown case {name}; one of: untagged_ipv4, triple_tagged_ipv4, arp_request_answered, untagged_ipv6"
        );
        std::process::exit(2);
    };
    let fx = Fixture::new();
    let frame = fx.frame(case);
    let port = fx.port(case);
    let mut reply = [0u8; REPLY_BUF_LEN];
    let mut ok = 0u64;
    for _ in 0..n {
        let v = filter_ingress(
            black_box(&frame),
            black_box(port),
            black_box(&fx.tables),
            &mut reply,
        );
        ok += u64::from(fx.verdict_ok(case, &v));
    }
    println!("{name}: {ok}/{n} expected verdicts");
}
