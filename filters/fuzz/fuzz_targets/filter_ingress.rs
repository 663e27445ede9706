#![no_main]
//! The worker's entry point on arbitrary frames, for every fixture port:
//! no panic, and nothing from a foreign source MAC is ever accepted.

use libfuzzer_sys::fuzz_target;
use satellite_filters::bench_fixtures::{Case, Fixture};
use satellite_filters::{filter_ingress, FilterVerdict, REPLY_BUF_LEN};
use std::sync::OnceLock;

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let fx = FIXTURE.get_or_init(Fixture::new);
    let mut reply = [0u8; REPLY_BUF_LEN];
    for case in Case::ALL {
        let port = fx.port(case);
        let v = filter_ingress(data, port, &fx.tables, &mut reply);
        if data.len() >= 12 && data[6..12] != fx.me.0 {
            assert!(matches!(v, FilterVerdict::Drop(_)), "{v:?}");
        }
        if let FilterVerdict::Reply { len } = v {
            assert!((60..=REPLY_BUF_LEN).contains(&len));
        }
    }
});
