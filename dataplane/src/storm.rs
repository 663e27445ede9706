//! Storm control: a host port may flood only so many broadcast, multicast
//! and unknown-unicast frames per second, each class on its own token
//! bucket, so one host's storm (a looped cable, a broken NIC, a flood of
//! ARP) cannot fill every other port of the fabric.
//!
//! Buckets live in the worker that polls the port's queue (no locks, no
//! shared state): each worker holds its share of the port's rate (the
//! port's queues are spread over the workers). Time is the TSC read once
//! per poll iteration; credit is counted in TSC cycles, so admitting a
//! frame is an add, a compare and a subtract. Only frames the switch would
//! flood ask: known unicast never comes here.

use crate::frame::{is_multicast, DropReason};

/// Flooded frames per second a port may send, per class (0: unlimited),
/// and the burst each bucket holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StormLimits {
    pub broadcast_pps: u32,
    pub multicast_pps: u32,
    pub unknown_unicast_pps: u32,
    /// Frames a bucket lets through at once after a quiet spell.
    pub burst: u32,
}

impl StormLimits {
    /// This worker's share when `workers` workers poll the port.
    pub fn share(self, workers: u32) -> StormLimits {
        let w = workers.max(1);
        let part = |pps: u32| if pps == 0 { 0 } else { pps.div_ceil(w) };
        StormLimits {
            broadcast_pps: part(self.broadcast_pps),
            multicast_pps: part(self.multicast_pps),
            unknown_unicast_pps: part(self.unknown_unicast_pps),
            burst: self.burst.div_ceil(w).max(1),
        }
    }
}

/// One class's bucket, in TSC cycles of credit.
#[derive(Debug, Clone, Copy)]
struct TokenBucket {
    /// Cycles of credit one frame costs (0: unlimited).
    cost: u64,
    /// Most credit held.
    cap: u64,
    credit: u64,
    last: u64,
}

impl TokenBucket {
    fn new(pps: u32, burst: u32, tsc_hz: u64) -> TokenBucket {
        let cost = if pps == 0 {
            0
        } else {
            (tsc_hz / u64::from(pps)).max(1)
        };
        let cap = cost.saturating_mul(u64::from(burst.max(1)));
        TokenBucket {
            cost,
            cap,
            credit: cap,
            last: 0,
        }
    }

    #[inline]
    fn admit(&mut self, now: u64) -> bool {
        if self.cost == 0 {
            return true;
        }
        let earned = now.saturating_sub(self.last);
        self.last = now;
        self.credit = self.credit.saturating_add(earned).min(self.cap);
        if self.credit >= self.cost {
            self.credit -= self.cost;
            true
        } else {
            false
        }
    }
}

/// Every port's three buckets, for one worker.
pub struct StormControl {
    /// Per port: broadcast, multicast, unknown unicast.
    buckets: Vec<[TokenBucket; 3]>,
    /// Whether any port has a limit (else [`StormControl::admit`] is one
    /// branch).
    any: bool,
}

impl StormControl {
    /// Buckets for `limits` (per port, already this worker's share) on a
    /// TSC of `tsc_hz`.
    pub fn new(limits: &[StormLimits], tsc_hz: u64) -> StormControl {
        let buckets = limits
            .iter()
            .map(|l| {
                [l.broadcast_pps, l.multicast_pps, l.unknown_unicast_pps]
                    .map(|pps| TokenBucket::new(pps, l.burst, tsc_hz))
            })
            .collect::<Vec<_>>();
        let any = buckets.iter().flatten().any(|b| b.cost > 0);
        StormControl { buckets, any }
    }

    /// Gives port `port` fresh buckets for `limits` (this worker's share):
    /// a port added at run time, or one whose limits were reloaded.
    pub fn set_port(&mut self, port: usize, limits: StormLimits, tsc_hz: u64) {
        let fresh = [
            limits.broadcast_pps,
            limits.multicast_pps,
            limits.unknown_unicast_pps,
        ]
        .map(|pps| TokenBucket::new(pps, limits.burst, tsc_hz));
        if self.buckets.len() <= port {
            let open = StormLimits::default();
            let unlimited = [0; 3].map(|pps| TokenBucket::new(pps, open.burst, tsc_hz));
            self.buckets.resize(port + 1, unlimited);
        }
        self.buckets[port] = fresh;
        self.any = self.buckets.iter().flatten().any(|b| b.cost > 0);
    }

    /// Whether a frame to `dst` that came in on `port` (a host port when
    /// `host`: only those are held) may be flooded at TSC time `now`;
    /// else the drop reason of its class.
    #[inline]
    pub fn admit(&mut self, host: bool, port: usize, dst: u64, now: u64) -> Result<(), DropReason> {
        if !(self.any && host) {
            return Ok(());
        }
        let Some(b) = self.buckets.get_mut(port) else {
            return Ok(());
        };
        let (class, reason) = if dst == 0xFFFF_FFFF_FFFF {
            (0, DropReason::StormBroadcast)
        } else if is_multicast(dst) {
            (1, DropReason::StormMulticast)
        } else {
            (2, DropReason::StormUnknownUnicast)
        };
        if b[class].admit(now) {
            Ok(())
        } else {
            Err(reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HZ: u64 = 1_000_000_000;
    const BCAST: u64 = 0xFFFF_FFFF_FFFF;
    const MCAST: u64 = 0x0100_5E00_0001;
    const UCAST: u64 = 0x0200_0000_0001;

    fn limits(b: u32, m: u32, u: u32, burst: u32) -> StormLimits {
        StormLimits {
            broadcast_pps: b,
            multicast_pps: m,
            unknown_unicast_pps: u,
            burst,
        }
    }

    /// Frames admitted out of `n` offered evenly over `secs` seconds.
    fn admitted(s: &mut StormControl, port: usize, dst: u64, n: u64, secs: f64, t0: u64) -> u64 {
        let step = (secs * HZ as f64 / n as f64) as u64;
        (0..n)
            .filter(|i| s.admit(true, port, dst, t0 + i * step).is_ok())
            .count() as u64
    }

    fn admitted_fabric(s: &mut StormControl, n: u64) -> u64 {
        (0..n)
            .filter(|&i| s.admit(false, 0, BCAST, i).is_ok())
            .count() as u64
    }

    #[test]
    fn a_class_gets_its_rate_plus_the_burst_and_the_others_are_apart() {
        let mut s = StormControl::new(&[limits(1000, 5000, 0, 100)], HZ);
        // A broadcast storm of 1 M frames in one second: 1,000/s + 100.
        let n = admitted(&mut s, 0, BCAST, 1_000_000, 1.0, 10 * HZ);
        assert!((1095..=1105).contains(&n), "{n}");
        // Multicast has its own bucket, full.
        let n = admitted(&mut s, 0, MCAST, 1_000_000, 1.0, 10 * HZ);
        assert!((5095..=5105).contains(&n), "{n}");
        // Unknown unicast is unlimited here.
        assert_eq!(admitted(&mut s, 0, UCAST, 10_000, 0.001, 12 * HZ), 10_000);
        let t = 11 * HZ;
        let (a, b) = (s.admit(true, 0, BCAST, t), s.admit(true, 0, BCAST, t));
        assert!(
            a.is_err() || b.is_err(),
            "the bucket holds less than two frames right after the storm"
        );
        assert_eq!(a.err().or(b.err()), Some(DropReason::StormBroadcast));
    }

    #[test]
    fn a_rate_under_the_limit_is_never_dropped_and_ports_are_apart() {
        let mut s = StormControl::new(&[limits(1000, 1000, 1000, 10); 2], HZ);
        assert_eq!(admitted(&mut s, 0, UCAST, 900, 1.0, HZ), 900);
        let n = admitted(&mut s, 1, UCAST, 100_000, 0.5, HZ);
        assert!((505..=515).contains(&n), "port 1 has its own buckets: {n}");
        assert_eq!(s.admit(true, 0, UCAST, 3 * HZ), Ok(()));
        assert_eq!(
            s.admit(true, 7, UCAST, 3 * HZ),
            Ok(()),
            "no limits for unknown ports"
        );
    }

    #[test]
    fn no_limit_admits_everything_and_shares_split_the_rate() {
        let mut s = StormControl::new(&[StormLimits::default()], HZ);
        assert_eq!(admitted(&mut s, 0, BCAST, 100_000, 0.001, HZ), 100_000);
        let mut s = StormControl::new(&[limits(1, 1, 1, 1)], HZ);
        let n = admitted_fabric(&mut s, 100);
        assert_eq!(n, 100, "a fabric port is never held");
        let l = limits(1000, 0, 3, 9).share(2);
        assert_eq!(l, limits(500, 0, 2, 5));
    }

    #[test]
    fn a_port_added_later_gets_its_limits_and_a_vacated_one_none() {
        let mut s = StormControl::new(&[], HZ);
        assert_eq!(admitted(&mut s, 2, BCAST, 10_000, 0.01, HZ), 10_000);
        s.set_port(2, limits(1000, 0, 0, 10), HZ);
        let n = admitted(&mut s, 2, BCAST, 100_000, 1.0, 2 * HZ);
        assert!((1005..=1015).contains(&n), "{n}");
        assert_eq!(
            admitted(&mut s, 1, BCAST, 1000, 0.01, 2 * HZ),
            1000,
            "slot 1 is unlimited"
        );
        s.set_port(2, StormLimits::default(), HZ);
        assert_eq!(admitted(&mut s, 2, BCAST, 10_000, 0.01, 4 * HZ), 10_000);
    }
}
