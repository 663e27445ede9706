//! Exponential back-off for work that changes trigger (LSP generation,
//! SPF): the first change after a quiet period runs at once; while changes
//! keep coming, runs are spaced by a hold time that doubles up to a
//! maximum; a quiet spell of twice the maximum resets it. The same shape
//! as IS-IS's `spf-interval` / `lsp-gen-interval` throttles.

use std::time::Duration;

/// Settings of a throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ThrottleConfig {
    /// Hold after the first run of a burst.
    pub initial_hold: Duration,
    /// Largest hold.
    pub max_hold: Duration,
}

/// A throttle's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    cfg: ThrottleConfig,
    last_run: Option<Duration>,
    hold: Duration,
    due: Option<Duration>,
}

impl Throttle {
    /// A throttle that has never run.
    pub fn new(cfg: ThrottleConfig) -> Throttle {
        Throttle {
            cfg,
            last_run: None,
            hold: cfg.initial_hold,
            due: None,
        }
    }

    /// Something changed at `now`: schedule a run (at once if quiet).
    pub fn trigger(&mut self, now: Duration) {
        let at = match self.last_run {
            Some(last) if now < last + self.hold => last + self.hold,
            _ => now,
        };
        self.due = Some(self.due.map_or(at, |d| d.min(at)));
    }

    /// When the pending run is due.
    pub fn due(&self) -> Option<Duration> {
        self.due
    }

    /// If a run is due at `now`, records it and returns true.
    pub fn take(&mut self, now: Duration) -> bool {
        match self.due {
            Some(d) if d <= now => {
                self.due = None;
                let quiet = match self.last_run {
                    None => true,
                    Some(l) => now.saturating_sub(l) >= 2 * self.cfg.max_hold,
                };
                self.hold = if quiet {
                    self.cfg.initial_hold
                } else {
                    (self.hold * 2).min(self.cfg.max_hold)
                };
                self.last_run = Some(now);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn first_change_at_once_then_doubling_holds_then_reset_after_quiet() {
        let mut t = Throttle::new(ThrottleConfig {
            initial_hold: 10 * MS,
            max_hold: 40 * MS,
        });
        t.trigger(Duration::ZERO);
        assert!(t.take(Duration::ZERO));
        assert!(!t.take(MS), "nothing pending");
        t.trigger(MS);
        assert_eq!(t.due(), Some(10 * MS));
        assert!(!t.take(9 * MS));
        assert!(t.take(10 * MS));
        t.trigger(11 * MS);
        assert_eq!(t.due(), Some(30 * MS), "hold doubled to 20 ms");
        assert!(t.take(30 * MS));
        t.trigger(31 * MS);
        assert_eq!(t.due(), Some(70 * MS), "capped at 40 ms");
        assert!(t.take(70 * MS));
        // Quiet for 2 × max: back to at once, hold reset.
        t.trigger(150 * MS);
        assert_eq!(t.due(), Some(150 * MS));
        assert!(t.take(150 * MS));
        t.trigger(151 * MS);
        assert_eq!(t.due(), Some(160 * MS));
    }
}
