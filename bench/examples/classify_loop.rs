//! A loop for `valgrind --tool=callgrind`: classifies PACKETS frames in
//! bursts of 32 against a learned FDB, the way the worker does
//! (`satellite_bench::classify_burst`). Only `classify_bursts` is meant to
//! be collected (`--toggle-collect='*classify_bursts*'`), so the count
//! divided by PACKETS is instructions per packet, set-up excluded.
//!
//! `cargo run --release -p satellite-bench --example classify_loop -- MACS PACKETS untagged|triple [filters]`
#![forbid(unsafe_code)]

use std::hint::black_box;

use satellite_bench::{
    classify_burst, interleaved_frames, learned_fdb, two_port_snapshot, two_port_snapshot_filtered,
    Mix, FRAME_LEN,
};
use satellite_dataplane::frame::Verdict;
use satellite_dataplane::snapshot::ForwardingSnapshot;
use satellite_dataplane::PortIndex;

#[inline(never)]
fn classify_bursts(
    frames: &[([u8; FRAME_LEN], PortIndex)],
    snap: &ForwardingSnapshot,
    packets: usize,
) -> u64 {
    let mut forwarded = 0u64;
    let mut at = 0usize;
    let mut done = 0usize;
    let mut out = Vec::with_capacity(32);
    while done < packets {
        let end = (at + 32).min(frames.len());
        classify_burst(black_box(&frames[at..end]), snap, 0, &mut out);
        forwarded += out
            .iter()
            .filter(|(v, _)| matches!(v, Verdict::Forward(_)))
            .count() as u64;
        done += end - at;
        at = if end == frames.len() { 0 } else { end };
    }
    forwarded
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let macs: u32 = args.first().and_then(|s| s.parse().ok()).unwrap_or(1024);
    let packets: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let triple_tagged = args.get(2).is_some_and(|s| s == "triple");
    let mix = Mix {
        macs_per_side: macs,
        triple_tagged,
    };
    let fdb = learned_fdb(mix);
    // A fourth argument `filters` puts edge filters on both ports.
    let filtered = args.get(3).is_some_and(|s| s == "filters");
    let snap = if filtered {
        two_port_snapshot_filtered(&fdb)
    } else {
        two_port_snapshot(&fdb)
    };
    let frames = interleaved_frames(mix);
    let fwd = classify_bursts(&frames, &snap, packets);
    println!(
        "macs_per_side={macs} packets={packets} triple_tagged={triple_tagged} filters={filtered} forwarded={fwd}"
    );
}
