//! satellite-bench: synthetic traffic for Satellite's benchmarks.
//!
//! This crate guarantees that the micro benchmarks (`benches/datapath.rs`),
//! the callgrind loop (`examples/classify_loop.rs`) and the throughput
//! harness (`scripts/bench.sh`, through the `satellite-pcapgen` binary) all
//! see the same frames: 64-byte frames (60 octets captured, FCS excluded),
//! `n` stations per side, side A's station `i` talking to side B's station
//! `i` and back, so that once both sides have been heard every destination
//! is known. It measures nothing by itself and is not part of the test
//! suite; the switch under test is built and driven by others.

#![forbid(unsafe_code)]

use std::io::{self, Write};

use satellite_dataplane::fdb::{Fdb, FdbKey};
use satellite_dataplane::frame::{
    classify_prepared, prepare, Ingress, LearnHint, Prepared, Verdict,
};
use satellite_dataplane::snapshot::{ForwardingSnapshot, SnapshotBuilder};
use satellite_dataplane::PortIndex;
use satellite_filters::REPLY_BUF_LEN;

/// Captured length of every generated frame: 64 octets on the wire minus
/// the 4-octet FCS, which captures do not hold.
pub const FRAME_LEN: usize = 60;

/// VLAN tags of the triple-tagged mix, outermost first: (TPID, VID).
pub const TRIPLE_TAGS: [(u16, u16); 3] = [(0x88A8, 100), (0x8100, 200), (0x8100, 300)];

/// Which side of the switch a station sits on; side A is switch port 0,
/// side B switch port 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn port(self) -> PortIndex {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
    pub fn peer(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
    fn octet(self) -> u8 {
        match self {
            Side::A => 0x0A,
            Side::B => 0x0B,
        }
    }
}

/// The traffic mix: stations per side and whether frames carry three tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    pub macs_per_side: u32,
    pub triple_tagged: bool,
}

impl Mix {
    /// VID the switch keys its FDB on (the outermost tag's, 0 untagged).
    pub fn outer_vid(self) -> u16 {
        if self.triple_tagged {
            TRIPLE_TAGS[0].1
        } else {
            0
        }
    }
}

/// Station `i` of `side`: a locally administered unicast address.
pub fn station_mac(side: Side, i: u32) -> [u8; 6] {
    let b = i.to_be_bytes();
    [0x02, side.octet(), b[0], b[1], b[2], b[3]]
}

/// The frame station `i` of `side` sends to its mirror on the other side.
pub fn frame(mix: Mix, side: Side, i: u32) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&station_mac(side.peer(), i));
    f[6..12].copy_from_slice(&station_mac(side, i));
    let mut at = 12;
    if mix.triple_tagged {
        for (tpid, vid) in TRIPLE_TAGS {
            f[at..at + 2].copy_from_slice(&tpid.to_be_bytes());
            f[at + 2..at + 4].copy_from_slice(&vid.to_be_bytes());
            at += 4;
        }
    }
    // IPv4 EtherType; the payload stays zero (no switch here looks at it).
    f[at..at + 2].copy_from_slice(&0x0800u16.to_be_bytes());
    f
}

/// Writes one side's capture in classic pcap format (microsecond stamps,
/// Ethernet link type), one frame per station.
pub fn write_pcap(out: &mut impl Write, mix: Mix, side: Side) -> io::Result<()> {
    let mut hdr = Vec::with_capacity(24);
    hdr.extend_from_slice(&0xA1B2_C3D4u32.to_le_bytes());
    hdr.extend_from_slice(&2u16.to_le_bytes());
    hdr.extend_from_slice(&4u16.to_le_bytes());
    hdr.extend_from_slice(&0i32.to_le_bytes());
    hdr.extend_from_slice(&0u32.to_le_bytes());
    hdr.extend_from_slice(&65535u32.to_le_bytes());
    hdr.extend_from_slice(&1u32.to_le_bytes());
    out.write_all(&hdr)?;
    for i in 0..mix.macs_per_side {
        let mut rec = [0u8; 16 + FRAME_LEN];
        rec[0..4].copy_from_slice(&(i / 1_000_000).to_le_bytes());
        rec[4..8].copy_from_slice(&(i % 1_000_000).to_le_bytes());
        rec[8..12].copy_from_slice(&(FRAME_LEN as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&(FRAME_LEN as u32).to_le_bytes());
        rec[16..].copy_from_slice(&frame(mix, side, i));
        out.write_all(&rec)?;
    }
    Ok(())
}

/// The FDB hash seed of the benches' tables ([`Fdb::new_seeded`]).
pub const BENCH_SEED: u64 = 0x5A7E_111E_0000_0001;

/// An FDB that has learned every station of both sides on its own port,
/// as the switch's is once warm. Sized so no limit gets in the way.
pub fn learned_fdb(mix: Mix) -> Fdb {
    let n = mix.macs_per_side as usize;
    learned_fdb_sized(mix, 2 * n + 1024)
}

/// [`learned_fdb`] with the table capacity the caller's switch would have
/// (the capacity sets the shard count).
pub fn learned_fdb_sized(mix: Mix, capacity: usize) -> Fdb {
    let n = mix.macs_per_side as usize;
    // A fixed seed: which keys overflow their home bucket depends on it,
    // and callgrind counts should not move between runs for that.
    let mut fdb = Fdb::new_seeded(capacity, 2 * n as u32 + 1024, 300, BENCH_SEED);
    for i in 0..mix.macs_per_side {
        for side in [Side::A, Side::B] {
            fdb.learn(
                FdbKey::new(mix.outer_vid(), station_mac(side, i)),
                side.port(),
                0,
            );
        }
    }
    fdb.mark_published();
    fdb
}

/// A two-port snapshot over `fdb`, both ports learning and forwarding.
pub fn two_port_snapshot(fdb: &Fdb) -> ForwardingSnapshot {
    SnapshotBuilder::new(2).build(1, fdb.view())
}

/// The same snapshot with edge filters on both ports: VLANs passed as they
/// come (the transparent mode) and Interstellar/ARPless off, so it measures
/// what running `filter_ingress`/`filter_egress` costs a frame that passes.
pub fn two_port_snapshot_filtered(fdb: &Fdb) -> ForwardingSnapshot {
    use satellite_filters::{EdgePortPolicy, FilterTables};
    use std::sync::Arc;
    let mut b = SnapshotBuilder::new(2);
    let policy = EdgePortPolicy::builder(satellite_dataplane::snapshot::transparent_mode())
        .build()
        .expect("transparent policy is valid");
    b.policies = vec![Some(Arc::new(policy.clone())), Some(Arc::new(policy))];
    b.filters = Some(Arc::new(FilterTables::builder().build()));
    b.build(1, fdb.view())
}

/// Every frame of both sides interleaved (A0, B0, A1, B1, ...) with the
/// port it arrives on: the order a worker polling both ports sees them in,
/// burst granularity aside.
pub fn interleaved_frames(mix: Mix) -> Vec<([u8; FRAME_LEN], PortIndex)> {
    (0..mix.macs_per_side)
        .flat_map(|i| [Side::A, Side::B].map(|s| (frame(mix, s, i), s.port())))
        .collect()
}

/// Frames per burst, as in the worker.
pub const BURST: usize = 32;

/// What the worker does with a burst (dataplane `worker::run`): first
/// [`prepare`] every frame (parse, hash, prefetch the FDB buckets), then
/// classify each, so the cache misses of a large table overlap instead of
/// being paid one after another. `out` gets one result per frame;
/// `frames.len()` must not exceed [`BURST`].
pub fn classify_burst<F: AsRef<[u8]>>(
    frames: &[(F, PortIndex)],
    snap: &ForwardingSnapshot,
    now_secs: u32,
    out: &mut Vec<(Verdict, Option<LearnHint>)>,
) {
    assert!(frames.len() <= BURST);
    out.clear();
    let mut prepared = [Prepared::EMPTY; BURST];
    for (p, (f, port)) in prepared.iter_mut().zip(frames) {
        *p = prepare(f.as_ref(), &Ingress::new(snap, *port), snap);
    }
    let mut reply = [0u8; REPLY_BUF_LEN];
    for (p, (f, port)) in prepared.iter().zip(frames) {
        let f = f.as_ref();
        let ingress = Ingress::new(snap, *port);
        let d = classify_prepared(f, f.len() as u32, &ingress, snap, now_secs, &mut reply, p);
        out.push((d.verdict, d.learn));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use satellite_dataplane::frame::{classify, parse_l2};
    use satellite_protocol::wire::BRIDGE_GROUP_ADDRESS;

    #[test]
    fn burst_path_agrees_with_classify() {
        let mix = Mix {
            macs_per_side: 40,
            triple_tagged: true,
        };
        // Half the stations learned, so Learn, Flood and Forward all occur.
        let mut fdb = Fdb::new(1000, 1000, 300);
        for i in 0..20 {
            fdb.learn(FdbKey::new(100, station_mac(Side::A, i)), 0, 0);
            fdb.learn(FdbKey::new(100, station_mac(Side::B, i)), 0, 0);
        }
        let snap = two_port_snapshot(&fdb);
        let mut frames: Vec<(Vec<u8>, PortIndex)> = interleaved_frames(mix)
            .into_iter()
            .map(|(f, p)| (f.to_vec(), p))
            .collect();
        frames.push((vec![0u8; 10], 0));
        frames.push((frame(mix, Side::A, 1)[..20].to_vec(), 1));
        let mut bpdu = frame(mix, Side::A, 3).to_vec();
        bpdu[..6].copy_from_slice(&BRIDGE_GROUP_ADDRESS.0);
        frames.push((bpdu, 0));
        frames.push((frame(mix, Side::A, 5).to_vec(), 9));
        let mut out = Vec::new();
        for burst in frames.chunks(BURST) {
            classify_burst(burst, &snap, 100, &mut out);
            for ((f, p), got) in burst.iter().zip(&out) {
                assert_eq!(*got, classify(f, f.len() as u32, *p, &snap, 100));
            }
        }
    }

    #[test]
    fn mirrored_frames_forward_to_the_other_side() {
        for triple_tagged in [false, true] {
            let mix = Mix {
                macs_per_side: 64,
                triple_tagged,
            };
            let fdb = learned_fdb(mix);
            let snap = two_port_snapshot(&fdb);
            for (f, port) in interleaved_frames(mix) {
                let h = parse_l2(&f).unwrap();
                assert_eq!(h.tags, if triple_tagged { 3 } else { 0 });
                assert_eq!(
                    classify(&f, FRAME_LEN as u32, port, &snap, 0),
                    (Verdict::Forward(1 - port), None)
                );
            }
        }
    }

    #[test]
    fn pcap_has_one_record_per_station() {
        let mix = Mix {
            macs_per_side: 10,
            triple_tagged: false,
        };
        let mut v = Vec::new();
        write_pcap(&mut v, mix, Side::B).unwrap();
        assert_eq!(v.len(), 24 + 10 * (16 + FRAME_LEN));
        assert_eq!(&v[24 + 16 + 6..24 + 16 + 12], &station_mac(Side::B, 0));
    }
}
