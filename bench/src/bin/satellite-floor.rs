//! satellite-floor — the least a learning switch must do, on the throughput
//! harness's devices, to tell the machine's share of a cost from ours.
//!
//!     satellite-floor io|lookup|touch MACS untagged|triple WARM_S WINDOW_S -- EAL-ARGS...
//!
//! One thread (the EAL main lcore: pin it with `-l CPU`) polls both ports
//! with Satellite's own DPDK wrappers and sends every frame out of the other
//! port (`io`), or first does what no learning switch can skip: parse both
//! addresses and look both up, burst-wise with the buckets prefetched as
//! the worker does, in an FDB of Satellite's own kind and size holding
//! every station (`lookup`, which forwards by the answer), or read the two
//! 8-byte slots the addresses hash to in an array of one slot per station
//! (`touch`: the smallest memory any table of these stations can have, so
//! a bound for every design). No learning, no filters, no counters but its
//! own totals.
//!
//! After `WARM_S` seconds it measures `WINDOW_S` seconds and prints one line:
//! `mpps cycles_per_packet on_cpu_share` (busy TSC cycles per received
//! packet, as testpmd's `--record-core-cycles` counts them; the share of the
//! window the thread was on a CPU, from /proc/thread-self/schedstat).
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use satellite_bench::{learned_fdb_sized, Mix, BURST};
use satellite_dataplane::eal::rdtsc;
use satellite_dataplane::fdb::{FdbHome, FdbKey, FdbView};
use satellite_dataplane::frame::parse_l2;
use satellite_dataplane::tablemem::SharedSlice;
use satellite_dataplane::{prefetch, Eal, EthPort, MbufBatch, Mempool};

const USAGE: &str =
    "usage: satellite-floor io|lookup|touch MACS untagged|triple WARM_S WINDOW_S -- EAL-ARGS...";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Io,
    Lookup,
    Touch,
}

/// The `touch` table: one 8-byte slot per station (rounded up to a power
/// of two), indexed by a multiplicative hash of the address.
struct Slots(SharedSlice<u64>);

impl Slots {
    fn new(stations: usize) -> Slots {
        let len = stations.next_power_of_two();
        Slots(SharedSlice::from_fn(len, |i| i as u64))
    }
    #[inline(always)]
    fn index(&self, mac: u64) -> usize {
        (mac.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) as usize & (self.0.len() - 1)
    }
}

/// What a mode looks frames up in.
enum Table {
    None,
    Fdb(FdbView),
    Slots(Slots),
}

struct Args {
    mode: Mode,
    mix: Mix,
    warm: Duration,
    window: Duration,
    eal: Vec<String>,
}

/// The command line, program name excluded.
fn parse_args(args: Vec<String>) -> Result<Args, String> {
    let split = args.iter().position(|a| a == "--").ok_or(USAGE)?;
    let (ours, eal) = (&args[..split], &args[split + 1..]);
    let [mode, macs, mix, warm, window] = ours else {
        return Err(USAGE.into());
    };
    let mode = match mode.as_str() {
        "io" => Mode::Io,
        "lookup" => Mode::Lookup,
        "touch" => Mode::Touch,
        m => return Err(format!("unknown mode {m:?}\n{USAGE}")),
    };
    let macs_per_side = macs.parse().map_err(|_| format!("bad MACS {macs:?}"))?;
    let triple_tagged = match mix.as_str() {
        "untagged" => false,
        "triple" => true,
        m => return Err(format!("unknown mix {m:?}\n{USAGE}")),
    };
    let secs = |s: &String| {
        s.parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| format!("bad seconds {s:?}"))
    };
    Ok(Args {
        mode,
        mix: Mix {
            macs_per_side,
            triple_tagged,
        },
        warm: secs(warm)?,
        window: secs(window)?,
        eal: eal.to_vec(),
    })
}

/// Run time of the calling thread in ns (first field of schedstat).
fn thread_run_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// `touch`: both addresses of every frame parsed and their slots read
/// (prefetched for the burst first); all frames go to the other port.
/// Returns the slots' sum, printed so the reads cannot be optimised away.
#[inline(always)]
fn touch(
    rx: &mut MbufBatch<BURST>,
    in_port: usize,
    slots: &Slots,
    tx: &mut [MbufBatch<BURST>; 2],
) -> u64 {
    let mut at = [(0usize, 0usize); BURST];
    for (a, m) in at.iter_mut().zip(rx.as_slice()) {
        if let Ok(hdr) = parse_l2(m.data()) {
            *a = (slots.index(hdr.src), slots.index(hdr.dst));
            prefetch::read(&slots.0[a.0]);
            prefetch::read(&slots.0[a.1]);
        }
    }
    let mut sum = 0u64;
    for (m, &(s, d)) in rx.drain().zip(at.iter()) {
        sum = sum.wrapping_add(slots.0[s] ^ slots.0[d]);
        let _ = tx[1 - in_port].push(m);
    }
    sum
}

/// `io`: the burst goes to the other port as it is.
#[inline(always)]
fn io(rx: &mut MbufBatch<BURST>, in_port: usize, tx: &mut [MbufBatch<BURST>; 2]) -> u64 {
    for m in rx.drain() {
        let _ = tx[1 - in_port].push(m);
    }
    0
}

/// `lookup`: both addresses of every frame parsed and looked up (home
/// buckets prefetched for the burst first), each frame sent where its
/// destination was learned. Returns how many sources were found on an
/// unexpected port (none, when all is well; printed so the lookups cannot
/// be optimised away).
#[inline(always)]
fn lookup(
    rx: &mut MbufBatch<BURST>,
    in_port: usize,
    fdb: &FdbView,
    tx: &mut [MbufBatch<BURST>; 2],
) -> u64 {
    let other = 1 - in_port;
    let mut homes = [(
        FdbHome::NONE,
        FdbHome::NONE,
        FdbKey::new(0, [0; 6]),
        FdbKey::new(0, [0; 6]),
    ); BURST];
    for (h, m) in homes.iter_mut().zip(rx.as_slice()) {
        if let Ok(hdr) = parse_l2(m.data()) {
            let (src, dst) = (
                FdbKey::from_mac48(hdr.outer_vid, hdr.src),
                FdbKey::from_mac48(hdr.outer_vid, hdr.dst),
            );
            let (hs, hd) = (fdb.home_of(src), fdb.home_of(dst));
            hs.prefetch();
            hd.prefetch();
            *h = (hs, hd, src, dst);
        }
    }
    let mut odd = 0;
    for (m, &(hs, hd, src, dst)) in rx.drain().zip(homes.iter()) {
        odd += u64::from(fdb.get_from(hs, src).map(|e| e.port as usize) != Some(in_port));
        let out = fdb.get_from(hd, dst).map_or(other, |e| e.port as usize & 1);
        let _ = tx[out].push(m);
    }
    odd
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1).collect()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("satellite-floor: {e}");
            return ExitCode::from(2);
        }
    };
    let eal = match Eal::init(&args.eal) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("satellite-floor: EAL: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The tables in the memory satellited would give them (DPDK's
    // hugepage heap when the EAL runs on hugepages).
    satellite_dataplane::tablemem::use_dpdk_heap_if_hugepages(&eal);
    let n = args.mix.macs_per_side as usize;
    // As the harness sizes satellited's: one mbuf per stored frame, plus slack.
    let pool = match Mempool::new("floor", (2 * n + 32768) as u32, 256) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("satellite-floor: mempool: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut ports = Vec::new();
    for name in ["net_pcap0", "net_pcap1"] {
        match EthPort::id_by_name(name).and_then(|id| EthPort::start(id, 1, 1, 1024, &pool)) {
            Ok(p) => ports.push(p),
            Err(e) => {
                eprintln!("satellite-floor: {name}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let ids = [ports[0].id(), ports[1].id()];
    let table = match args.mode {
        Mode::Io => Table::None,
        // The table satellited's bench configuration builds: capacity 4n + 4096.
        Mode::Lookup => Table::Fdb(learned_fdb_sized(args.mix, 4 * n + 4096).view()),
        Mode::Touch => Table::Slots(Slots::new(2 * n)),
    };

    let mut rx: MbufBatch<BURST> = MbufBatch::new();
    let mut tx = [MbufBatch::<BURST>::new(), MbufBatch::new()];
    let (mut busy, mut packets, mut sent, mut odd) = (0u64, 0u64, 0u64, 0u64);
    let started = Instant::now();
    let mut window: Option<(Instant, u64)> = None;
    let mut polls = 0u32;
    loop {
        polls = polls.wrapping_add(1);
        if polls.is_multiple_of(1024) {
            let now = Instant::now();
            match window {
                None if now - started >= args.warm => {
                    (busy, packets, sent) = (0, 0, 0);
                    window = Some((now, thread_run_ns()));
                }
                Some((t0, _)) if now - t0 >= args.window => break,
                _ => {}
            }
        }
        let start = rdtsc();
        let mut got = 0;
        for (p, &id) in ids.iter().enumerate() {
            let k = rx.rx_burst(id, 0);
            if k > 0 {
                got += k;
                odd = odd.wrapping_add(match &table {
                    Table::None => io(&mut rx, p, &mut tx),
                    Table::Fdb(fdb) => lookup(&mut rx, p, fdb, &mut tx),
                    Table::Slots(slots) => touch(&mut rx, p, slots, &mut tx),
                });
            }
        }
        for (batch, &id) in tx.iter_mut().zip(ids.iter()) {
            sent += batch.tx_burst(id, 0) as u64;
            batch.free_all();
        }
        if got > 0 {
            busy += rdtsc().wrapping_sub(start);
            packets += got as u64;
        }
    }
    let (t0, run0) = window.expect("the window started");
    let wall = t0.elapsed();
    let share = (thread_run_ns().saturating_sub(run0)) as f64 / wall.as_nanos() as f64;
    let cycles = if packets > 0 {
        busy as f64 / packets as f64
    } else {
        f64::NAN
    };
    println!(
        "{:.3} {:.0} {:.2} tsc_hz={} check={}",
        sent as f64 / wall.as_secs_f64() / 1e6,
        cycles,
        share,
        eal.tsc_hz(),
        odd
    );
    for p in ports {
        p.stop();
    }
    // The pool lives as long as the process (DPDK pools are never freed);
    // the EAL is cleaned up last, after the table.
    drop(table);
    drop(eal);
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use satellite_bench::{station_mac, Side};
    use satellite_filters::MacAddr;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn command_lines() {
        let a = parse_args(args("touch 65536 triple 3 8 -- -l 1 --no-huge")).unwrap();
        assert_eq!(a.mode, Mode::Touch);
        assert_eq!(a.mix.macs_per_side, 65536);
        assert!(a.mix.triple_tagged);
        assert_eq!((a.warm.as_secs(), a.window.as_secs()), (3, 8));
        assert_eq!(a.eal, ["-l", "1", "--no-huge"]);
        for bad in [
            "touch 65536 triple 3 8",
            "scan 65536 triple 3 8 --",
            "io many untagged 3 8 --",
            "io 1024 double 3 8 --",
            "io 1024 untagged 3 --",
        ] {
            assert!(parse_args(args(bad)).is_err(), "{bad}");
        }
    }

    /// The stations spread over the slots: the floor reads as many
    /// distinct cache lines as a table of them would.
    #[test]
    fn touch_slots_spread_the_stations() {
        let n = 65536u32;
        let slots = Slots::new(2 * n as usize);
        assert_eq!(slots.0.len(), 131_072);
        let mut lines = std::collections::HashSet::new();
        for i in 0..n {
            for side in [Side::A, Side::B] {
                let at = slots.index(MacAddr(station_mac(side, i)).to_u64());
                assert!(at < slots.0.len());
                lines.insert(at / 8);
            }
        }
        // 16,384 lines of eight slots; random placement leaves almost none unused.
        assert!(lines.len() > 16_000, "{} lines", lines.len());
    }
}
