//! Adaptive idle backoff for poll-mode loops.
//!
//! A poll-mode worker owns its core at full load; in a lab, eight to
//! twenty-four switch processes share two cores, so an idle worker must give
//! the CPU away. The backoff spins briefly (no latency cost for bursts that
//! arrive back to back), then yields, then sleeps in growing steps up to a
//! ceiling; the first packet resets it to full polling.

#![forbid(unsafe_code)]

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct IdleBackoff {
    idle_polls: u32,
    spin_polls: u32,
    yield_polls: u32,
    max_sleep: Duration,
    sleep: Duration,
}

/// What the caller should do after an empty poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleAction {
    Spin,
    Yield,
    Sleep(Duration),
}

impl IdleBackoff {
    /// `max_sleep` bounds the latency an idle switch adds to the first packet
    /// of a burst; zero disables sleeping (dedicated-core deployments).
    pub fn new(max_sleep: Duration) -> Self {
        IdleBackoff {
            idle_polls: 0,
            spin_polls: 256,
            yield_polls: 1024,
            max_sleep,
            sleep: Duration::from_micros(10),
        }
    }

    /// Work arrived: back to full-speed polling.
    #[inline]
    pub fn reset(&mut self) {
        self.idle_polls = 0;
        self.sleep = Duration::from_micros(10);
    }

    /// One empty poll happened; returns what to do about it.
    #[inline]
    pub fn idle(&mut self) -> IdleAction {
        self.idle_polls = self.idle_polls.saturating_add(1);
        if self.idle_polls < self.spin_polls {
            IdleAction::Spin
        } else if self.idle_polls < self.yield_polls || self.max_sleep.is_zero() {
            IdleAction::Yield
        } else {
            let s = self.sleep.min(self.max_sleep);
            self.sleep = (self.sleep * 2).min(self.max_sleep);
            IdleAction::Sleep(s)
        }
    }

    /// Performs [`IdleBackoff::idle`]'s advice.
    #[inline]
    pub fn wait(&mut self) {
        match self.idle() {
            IdleAction::Spin => std::hint::spin_loop(),
            IdleAction::Yield => std::thread::yield_now(),
            IdleAction::Sleep(d) => std::thread::sleep(d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalates_then_resets() {
        let mut b = IdleBackoff::new(Duration::from_micros(200));
        assert_eq!(b.idle(), IdleAction::Spin);
        let mut saw_yield = false;
        let mut last_sleep = Duration::ZERO;
        for _ in 0..2000 {
            match b.idle() {
                IdleAction::Yield => saw_yield = true,
                IdleAction::Sleep(d) => {
                    assert!(d >= last_sleep && d <= Duration::from_micros(200));
                    last_sleep = d;
                }
                IdleAction::Spin => {}
            }
        }
        assert!(saw_yield);
        assert_eq!(last_sleep, Duration::from_micros(200));
        b.reset();
        assert_eq!(b.idle(), IdleAction::Spin);
    }

    #[test]
    fn zero_ceiling_never_sleeps() {
        let mut b = IdleBackoff::new(Duration::ZERO);
        for _ in 0..5000 {
            assert!(!matches!(b.idle(), IdleAction::Sleep(_)));
        }
    }
}
