//! Warnings for refused learning, at most one per port per interval: a MAC
//! flood refuses a learn per frame, and a log line per refusal would be a
//! second flood (into the journal).

use std::time::Duration;

/// How often a port may warn that it refuses to learn.
pub(crate) const WARN_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, Default)]
struct PortRefusals {
    last_warned: Option<Duration>,
    since_warned: u64,
}

/// Per port: when it last warned, and the refusals since.
#[derive(Debug, Default)]
pub(crate) struct RefusalLog {
    ports: Vec<PortRefusals>,
}

impl RefusalLog {
    /// Counts a refusal on `port`; returns the refusals to report (this
    /// one included) when the port may warn now.
    pub(crate) fn refused(&mut self, now: Duration, port: usize) -> Option<u64> {
        if self.ports.len() <= port {
            self.ports.resize(port + 1, PortRefusals::default());
        }
        let p = &mut self.ports[port];
        p.since_warned += 1;
        let due = p
            .last_warned
            .is_none_or(|t| now.saturating_sub(t) >= WARN_INTERVAL);
        if !due {
            return None;
        }
        p.last_warned = Some(now);
        Some(std::mem::take(&mut p.since_warned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_warns_once_per_interval_with_the_refusals_in_between() {
        let mut log = RefusalLog::default();
        let t = Duration::from_secs(100);
        assert_eq!(log.refused(t, 2), Some(1), "the first refusal warns");
        for i in 0..999 {
            assert_eq!(log.refused(t + Duration::from_millis(i), 2), None);
        }
        assert_eq!(log.refused(t, 0), Some(1), "ports warn apart");
        assert_eq!(
            log.refused(t + WARN_INTERVAL, 2),
            Some(1000),
            "the next warning counts what was not reported"
        );
        assert_eq!(log.refused(t + WARN_INTERVAL, 2), None);
    }
}
