//! The probe stream of MEASURE.md: a UDP sender of sequence-numbered
//! datagrams at a fixed rate, and a receiver that records every gap.
//!
//! Wire format of a datagram (big endian): magic `SATP` (4 bytes), kind
//! (1 byte: 0 data, 1 end), sequence number (8 bytes), then padding to
//! the datagram size. An end datagram carries the number of data datagrams
//! sent in its sequence field; the sender sends it a few times so that the
//! receiver learns the total even when the tail of the stream was lost.
//!
//! **Outage** = the longest gap: for a run of lost datagrams, the time
//! between the arrival of the last datagram before it and the first one
//! after it (at 1,000/s, one lost datagram is a gap of about 2 ms).
//! A tail that never arrived counts as a gap of `count / rate` seconds.
//! Pure std sockets; no root needed (run it inside host namespaces).

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

const MAGIC: &[u8; 4] = b"SATP";
const KIND_DATA: u8 = 0;
const KIND_END: u8 = 1;
const HEADER: usize = 13;

/// One run of lost datagrams.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    /// First missing sequence number.
    pub start: u64,
    /// How many consecutive datagrams are missing.
    pub count: u64,
    /// Silence around the gap in milliseconds.
    pub ms: f64,
}

/// What a receiver saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Data datagrams the sender says it sent (from the end datagram), or
    /// the highest sequence seen + 1 when no end datagram arrived.
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    /// Datagrams that arrived twice or out of order (not counted lost).
    pub duplicates: u64,
    pub reordered: u64,
    /// Longest gap in ms (0 when nothing was lost).
    pub outage_ms: f64,
    /// Longest silence between two consecutive arrivals, lost or not (shows
    /// scheduling stalls that lost nothing).
    pub max_silence_ms: f64,
    pub gaps: Vec<Gap>,
    /// Sequence numbers that arrived twice (the first [`DUPLICATES_KEPT`]),
    /// so a duplicate can be set beside what happened at its send time.
    pub duplicate_seqs: Vec<u64>,
    /// Whether the end datagram arrived.
    pub end_seen: bool,
    /// Last sequence number received (None when nothing arrived).
    pub last_seq: Option<u64>,
}

impl Report {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "sent": self.sent,
            "received": self.received,
            "lost": self.lost,
            "duplicates": self.duplicates,
            "reordered": self.reordered,
            "outage_ms": round3(self.outage_ms),
            "max_silence_ms": round3(self.max_silence_ms),
            "end_seen": self.end_seen,
            "last_seq": self.last_seq,
            "gaps": self.gaps.iter().map(|g| serde_json::json!({
                "start": g.start, "count": g.count, "ms": round3(g.ms)
            })).collect::<Vec<_>>(),
            "duplicate_seqs": self.duplicate_seqs,
        })
    }

    pub fn from_json(v: &serde_json::Value) -> Option<Report> {
        let gaps = v["gaps"]
            .as_array()?
            .iter()
            .map(|g| {
                Some(Gap {
                    start: g["start"].as_u64()?,
                    count: g["count"].as_u64()?,
                    ms: g["ms"].as_f64()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Report {
            sent: v["sent"].as_u64()?,
            received: v["received"].as_u64()?,
            lost: v["lost"].as_u64()?,
            duplicates: v["duplicates"].as_u64()?,
            reordered: v["reordered"].as_u64()?,
            outage_ms: v["outage_ms"].as_f64()?,
            max_silence_ms: v["max_silence_ms"].as_f64()?,
            gaps,
            duplicate_seqs: v["duplicate_seqs"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_u64()).collect())
                .unwrap_or_default(),
            end_seen: v["end_seen"].as_bool()?,
            last_seq: v["last_seq"].as_u64(),
        })
    }

    /// One line for humans.
    pub fn summary(&self) -> String {
        format!(
            "sent {} received {} lost {} reordered {} duplicated {} outage {:.1} ms ({} gaps, longest silence {:.1} ms)",
            self.sent,
            self.received,
            self.lost,
            self.reordered,
            self.duplicates,
            self.outage_ms,
            self.gaps.len(),
            self.max_silence_ms
        )
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// How many duplicated sequence numbers a report lists.
pub const DUPLICATES_KEPT: usize = 64;

/// Gap accounting over arrivals (sequence number, arrival time since the
/// start of the receiver). Pure, so it is unit-tested without sockets.
#[derive(Debug, Default)]
pub struct GapTracker {
    next: u64,
    last_arrival: Option<Duration>,
    received: u64,
    duplicates: u64,
    duplicate_seqs: Vec<u64>,
    reordered: u64,
    max_silence: Duration,
    gaps: Vec<Gap>,
    seen_any: bool,
    last_seq: Option<u64>,
}

impl GapTracker {
    pub fn new() -> GapTracker {
        GapTracker::default()
    }

    /// Records one data datagram.
    pub fn record(&mut self, seq: u64, at: Duration) {
        if let Some(prev) = self.last_arrival {
            self.max_silence = self.max_silence.max(at.saturating_sub(prev));
        }
        if seq < self.next {
            // Late: it was counted as lost in a gap (reordered), or it is a
            // duplicate of one already received.
            if let Some(g) = self
                .gaps
                .iter_mut()
                .find(|g| seq >= g.start && seq < g.start + g.count)
            {
                // Fill the hole: split the gap around seq.
                let (start, count, ms) = (g.start, g.count, g.ms);
                let before = seq - start;
                let after = start + count - seq - 1;
                let idx = self.gaps.iter().position(|x| x.start == start).unwrap();
                self.gaps.remove(idx);
                let mut ins = Vec::new();
                if before > 0 {
                    ins.push(Gap {
                        start,
                        count: before,
                        ms,
                    });
                }
                if after > 0 {
                    ins.push(Gap {
                        start: seq + 1,
                        count: after,
                        ms,
                    });
                }
                for (k, g) in ins.into_iter().enumerate() {
                    self.gaps.insert(idx + k, g);
                }
                self.reordered += 1;
                self.received += 1;
            } else {
                self.duplicates += 1;
                if self.duplicate_seqs.len() < DUPLICATES_KEPT {
                    self.duplicate_seqs.push(seq);
                }
            }
            self.last_arrival = Some(at);
            return;
        }
        if seq > self.next {
            // The first datagram ever seen may not be 0: a gap from 0 whose
            // silence is unknown (counted from the receiver's start).
            let since = self.last_arrival.unwrap_or(Duration::ZERO);
            self.gaps.push(Gap {
                start: self.next,
                count: seq - self.next,
                ms: at.saturating_sub(since).as_secs_f64() * 1000.0,
            });
        }
        self.seen_any = true;
        self.received += 1;
        self.next = seq + 1;
        self.last_seq = Some(seq);
        self.last_arrival = Some(at);
    }

    /// Closes the record: `sent` is the sender's total when known; a tail
    /// that never arrived is a gap of `count / rate`.
    pub fn finish(mut self, sent: Option<u64>, rate: f64) -> Report {
        // A sender that stalled and caught up sends a burst, which squeezes
        // arrival times: a run of `count` lost datagrams spans at least
        // `count + 1` send periods, whatever the arrivals say.
        let period_ms = 1000.0 / rate.max(1.0);
        for g in &mut self.gaps {
            g.ms = g.ms.max((g.count + 1) as f64 * period_ms);
        }
        let end_seen = sent.is_some();
        let sent = sent.unwrap_or(self.next).max(self.next);
        if sent > self.next {
            let count = sent - self.next;
            self.gaps.push(Gap {
                start: self.next,
                count,
                ms: count as f64 * 1000.0 / rate.max(1.0),
            });
        }
        let lost = self.gaps.iter().map(|g| g.count).sum();
        let outage_ms = self.gaps.iter().map(|g| g.ms).fold(0.0, f64::max);
        Report {
            sent,
            received: self.received,
            lost,
            duplicates: self.duplicates,
            duplicate_seqs: self.duplicate_seqs,
            reordered: self.reordered,
            outage_ms,
            max_silence_ms: self.max_silence.as_secs_f64() * 1000.0,
            gaps: self.gaps,
            end_seen,
            last_seq: self.last_seq,
        }
    }
}

/// Encodes one datagram.
pub fn encode(kind: u8, seq: u64, size: usize) -> Vec<u8> {
    let mut b = vec![0u8; size.max(HEADER)];
    b[..4].copy_from_slice(MAGIC);
    b[4] = kind;
    b[5..13].copy_from_slice(&seq.to_be_bytes());
    b
}

/// Decodes one datagram: (kind, seq).
pub fn decode(b: &[u8]) -> Option<(u8, u64)> {
    if b.len() < HEADER || &b[..4] != MAGIC {
        return None;
    }
    Some((b[4], u64::from_be_bytes(b[5..13].try_into().ok()?)))
}

/// Sender settings.
#[derive(Debug, Clone)]
pub struct SendOpts {
    pub to: SocketAddr,
    pub rate: u32,
    pub duration: Duration,
    pub size: usize,
}

/// Sends the stream; returns the number of data datagrams sent. Paced by
/// the clock: after a stall it sends what is due at once, so the count is
/// always rate × duration.
pub fn send(opts: &SendOpts) -> std::io::Result<u64> {
    let sock = UdpSocket::bind(if opts.to.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    })?;
    sock.connect(opts.to)?;
    let total = (opts.rate as f64 * opts.duration.as_secs_f64()).round() as u64;
    let rate = opts.rate.max(1) as u64;
    let due_at = |seq: u64| Duration::from_nanos(seq * 1_000_000_000 / rate);
    let start = Instant::now();
    let mut seq = 0u64;
    while seq < total {
        let due = start + due_at(seq);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let mut buf = encode(KIND_DATA, seq, opts.size);
        // Send everything that is due now (catch up after a stall).
        let now = Instant::now();
        while seq < total && start + due_at(seq) <= now {
            buf[5..13].copy_from_slice(&seq.to_be_bytes());
            // A send error (no route for a moment, buffer full) is a lost
            // datagram, which the receiver counts.
            let _ = sock.send(&buf);
            seq += 1;
        }
    }
    for _ in 0..5 {
        let _ = sock.send(&encode(KIND_END, total, HEADER));
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(total)
}

/// Receiver settings.
#[derive(Debug, Clone)]
pub struct RecvOpts {
    pub bind: SocketAddr,
    /// Expected rate (for the length of a lost tail).
    pub rate: u32,
    /// Give up when nothing arrives for this long after the first datagram
    /// (or this long plus `first_wait` before it).
    pub idle: Duration,
    pub first_wait: Duration,
}

/// Receives one stream until its end datagram (or silence); returns what
/// it saw.
pub fn receive(opts: &RecvOpts) -> std::io::Result<Report> {
    let sock = UdpSocket::bind(opts.bind)?;
    receive_on(&sock, opts)
}

/// Like [`receive`] on a bound socket.
pub fn receive_on(sock: &UdpSocket, opts: &RecvOpts) -> std::io::Result<Report> {
    sock.set_read_timeout(Some(Duration::from_millis(50)))?;
    let start = Instant::now();
    let mut tracker = GapTracker::new();
    let mut buf = [0u8; 2048];
    let mut last = None::<Instant>;
    let mut sent = None;
    loop {
        match sock.recv(&mut buf) {
            Ok(n) => {
                let now = Instant::now();
                match decode(&buf[..n]) {
                    Some((KIND_DATA, seq)) => {
                        tracker.record(seq, now - start);
                        last = Some(now);
                    }
                    Some((KIND_END, total)) => {
                        sent = Some(total);
                        break;
                    }
                    _ => {}
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => return Err(e),
        }
        let quiet_since = last.unwrap_or(start + opts.first_wait);
        if Instant::now().saturating_duration_since(quiet_since) > opts.idle {
            break;
        }
    }
    Ok(tracker.finish(sent, opts.rate as f64))
}

/// A probe stream between two host namespaces, run as two
/// `satellite-probe` processes (receiver first).
pub struct Stream {
    pub rx: crate::Proc,
    pub tx: crate::Proc,
    pub started: Instant,
    pub duration: Duration,
    pub rate: u32,
}

impl Stream {
    /// Starts a receiver in `dst` bound to `to` (the destination host's
    /// address and a UDP port) and a sender in `src`. Their outputs go to
    /// `{log_prefix}-recv.json` and `{log_prefix}-send.json`.
    pub fn start(
        src: &crate::Netns,
        dst: &crate::Netns,
        to: SocketAddr,
        rate: u32,
        duration: Duration,
        log_prefix: &std::path::Path,
    ) -> Stream {
        let probe = crate::bin("satellite-probe");
        let bind = to.to_string();
        let port = to.port();
        let log = |what: &str| {
            let mut p = log_prefix.as_os_str().to_owned();
            p.push(format!("-{what}.json"));
            std::path::PathBuf::from(p)
        };
        let rate_s = rate.to_string();
        let mut rx = dst.spawn(
            &probe,
            &["recv", "--bind", &bind, "--rate", &rate_s, "--idle", "3"],
            &log("recv"),
        );
        // Wait until the receiver's socket is bound.
        let bound = crate::wait_until(Duration::from_secs(5), || {
            let out = dst.run(&format!("ss -Huln sport = :{port}"));
            !String::from_utf8_lossy(&out.stdout).trim().is_empty()
        });
        assert!(
            bound && rx.alive(),
            "probe receiver did not start: {}",
            rx.log_text()
        );
        let dur = format!("{}", duration.as_secs_f64());
        let tx = src.spawn(
            &probe,
            &["send", "--to", &bind, "--rate", &rate_s, "--duration", &dur],
            &log("send"),
        );
        Stream {
            rx,
            tx,
            started: Instant::now(),
            duration,
            rate,
        }
    }

    /// Waits for both ends and returns the receiver's report.
    pub fn finish(mut self) -> Report {
        let left = (self.started + self.duration).saturating_duration_since(Instant::now());
        let code = self.tx.wait_timeout(left + Duration::from_secs(10));
        assert_eq!(code, Some(0), "probe sender failed: {}", self.tx.log_text());
        let code = self.rx.wait_timeout(Duration::from_secs(10));
        assert_eq!(
            code,
            Some(0),
            "probe receiver failed: {}",
            self.rx.log_text()
        );
        let text = self.rx.log_text();
        let line = text.lines().last().unwrap_or_default();
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad probe report ({e}): {text}"));
        Report::from_json(&v).unwrap_or_else(|| panic!("bad probe report: {text}"))
    }
}

/// Probe rate of the failure labs, datagrams/s: 1,000 (as the demo and the
/// issues' targets have), or `SATELLITE_LAB_RATE` (100 ..= 50,000). At
/// 1,000/s one lost datagram reads as a 2 ms outage (the silence spans two
/// periods), so a sub-millisecond repair can only be told from a 2 ms one
/// at a higher rate.
pub fn lab_rate() -> u32 {
    std::env::var("SATELLITE_LAB_RATE")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .map_or(1000, |r| r.clamp(100, 50_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: u64) -> Duration {
        Duration::from_millis(x)
    }

    #[test]
    fn no_loss_no_gaps() {
        let mut t = GapTracker::new();
        for s in 0..100 {
            t.record(s, ms(s));
        }
        let r = t.finish(Some(100), 1000.0);
        assert_eq!(r.received, 100);
        assert_eq!(r.lost, 0);
        assert!(r.gaps.is_empty());
        assert_eq!(r.outage_ms, 0.0);
        assert!((r.max_silence_ms - 1.0).abs() < 1e-9);
        assert!(r.end_seen);
    }

    #[test]
    fn a_gap_is_measured_between_surrounding_arrivals() {
        let mut t = GapTracker::new();
        for s in 0..10 {
            t.record(s, ms(s));
        }
        // 10..=14 lost; 15 arrives at 15 ms: silence 9 ms -> 15 ms = 6 ms.
        for s in 15..20 {
            t.record(s, ms(s));
        }
        // 20..=49 lost, 50 arrives late (stalled path) at 80 ms.
        t.record(50, ms(80));
        let r = t.finish(Some(51), 1000.0);
        assert_eq!(r.lost, 5 + 30);
        assert_eq!(r.received, 16);
        assert_eq!(
            r.gaps,
            vec![
                Gap {
                    start: 10,
                    count: 5,
                    ms: 6.0
                },
                Gap {
                    start: 20,
                    count: 30,
                    ms: 61.0
                }
            ]
        );
        assert_eq!(r.outage_ms, 61.0);
    }

    #[test]
    fn lost_tail_and_lost_head() {
        let mut t = GapTracker::new();
        t.record(3, ms(10));
        t.record(4, ms(11));
        let r = t.finish(Some(10), 1000.0);
        assert_eq!(r.lost, 3 + 5);
        assert_eq!(r.gaps[0].start, 0);
        assert_eq!(r.gaps[0].count, 3);
        assert_eq!(
            r.gaps[1],
            Gap {
                start: 5,
                count: 5,
                ms: 5.0
            }
        );
        assert_eq!(r.outage_ms, 10.0);
        // Without the end datagram, the total is what was seen.
        let mut t = GapTracker::new();
        t.record(0, ms(0));
        t.record(1, ms(1));
        let r = t.finish(None, 1000.0);
        assert_eq!((r.sent, r.lost, r.end_seen), (2, 0, false));
    }

    #[test]
    fn reordering_fills_holes_and_duplicates_are_counted() {
        let mut t = GapTracker::new();
        t.record(0, ms(0));
        t.record(1, ms(1));
        t.record(4, ms(2));
        t.record(2, ms(3)); // late
        t.record(1, ms(4)); // duplicate
        t.record(5, ms(5));
        let r = t.finish(Some(6), 1000.0);
        assert_eq!(r.received, 5);
        assert_eq!(r.reordered, 1);
        assert_eq!(r.duplicates, 1);
        assert_eq!(r.duplicate_seqs, vec![1]);
        assert_eq!(r.lost, 1);
        assert_eq!(r.gaps.len(), 1);
        assert_eq!(r.gaps[0].start, 3);
        assert_eq!(r.gaps[0].count, 1);
    }

    #[test]
    fn a_squeezed_gap_lasts_at_least_its_send_periods() {
        let mut t = GapTracker::new();
        t.record(0, Duration::from_micros(0));
        // 1..=3 lost; 4 arrives 1.5 ms later (the sender caught up).
        t.record(4, Duration::from_micros(1500));
        let r = t.finish(Some(5), 1000.0);
        assert_eq!(r.gaps[0].count, 3);
        assert_eq!(r.gaps[0].ms, 4.0);
        assert_eq!(r.outage_ms, 4.0);
    }

    #[test]
    fn json_round_trip() {
        let mut t = GapTracker::new();
        t.record(0, ms(0));
        t.record(7, ms(9));
        let r = t.finish(Some(8), 1000.0);
        let back = Report::from_json(&r.to_json()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn wire_format() {
        let b = encode(KIND_DATA, 0x0102030405060708, 64);
        assert_eq!(b.len(), 64);
        assert_eq!(decode(&b), Some((KIND_DATA, 0x0102030405060708)));
        assert_eq!(decode(b"nope-nope-nope"), None);
    }

    #[test]
    fn loopback_stream_at_1000_per_second() {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        let rx = std::thread::spawn(move || {
            receive_on(
                &sock,
                &RecvOpts {
                    bind: addr,
                    rate: 1000,
                    idle: Duration::from_secs(2),
                    first_wait: Duration::from_secs(5),
                },
            )
            .unwrap()
        });
        let sent = send(&SendOpts {
            to: addr,
            rate: 1000,
            duration: Duration::from_millis(300),
            size: 64,
        })
        .unwrap();
        let r = rx.join().unwrap();
        assert_eq!(sent, 300);
        assert_eq!(r.sent, 300);
        assert!(r.end_seen);
        assert_eq!(r.received + r.lost, 300, "{r:?}");
    }
}
