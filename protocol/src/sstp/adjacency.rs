//! The adjacency of one fabric port: HELLOs, the three-way handshake and
//! the dead timer.
//!
//! An adjacency is **up** when each side has seen itself — SystemId, port
//! and session nonce — in the other's HELLO (the three-way check of
//! RFC 5303, without its separate state TLV: the neighbour fields of our
//! HELLO carry what RFC 5303 puts there). It goes down at once on carrier
//! loss, and after the neighbour's own `hello interval × dead count`
//! without a HELLO (the sender says how long to wait, as IS-IS's holding
//! time does, so neighbours with different intervals agree).
//!
//! Only point-to-point links form adjacencies: a port that hears two
//! Satellite switches within one dead interval (a hub, a kernel bridge
//! between them, a mis-cabled LAN) is [`AdjacencyState::NotPointToPoint`]
//! and stays so until one of them has been silent for its dead interval.
//! A changed nonce is a restarted neighbour: the old adjacency ends and a
//! new one begins.

use std::time::Duration;

use crate::wire::{Hello, HelloNeighbour, SystemId};
use crate::PortIndex;

/// Where an adjacency stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjacencyState {
    /// The port is down, or nothing has been heard on it.
    Down,
    /// A neighbour is heard, but it does not list us yet (one-way).
    Init,
    /// Each side lists the other: the link is an SSTP link.
    Up,
    /// Two different Satellite switches are heard on this port.
    NotPointToPoint,
}

impl AdjacencyState {
    /// The name used in logs, satctl and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            AdjacencyState::Down => "down",
            AdjacencyState::Init => "init",
            AdjacencyState::Up => "up",
            AdjacencyState::NotPointToPoint => "not_point_to_point",
        }
    }
}

/// Why an adjacency left [`AdjacencyState::Up`] or never got there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjacencyReason {
    /// The neighbour's HELLO listed us: the handshake completed.
    TwoWay,
    /// A neighbour was heard for the first time.
    Heard,
    /// The port lost carrier or was disabled.
    CarrierLost,
    /// `dead count` HELLOs in a row were missed.
    DeadTimer,
    /// The neighbour's HELLO no longer lists us.
    OneWay,
    /// The neighbour's nonce changed: it restarted.
    NeighbourRestarted,
    /// A second switch was heard on the port.
    SecondNeighbour,
    /// Only one switch is heard again on a port that had two.
    PointToPointAgain,
}

impl AdjacencyReason {
    /// The name used in logs and satctl.
    pub fn as_str(self) -> &'static str {
        match self {
            AdjacencyReason::TwoWay => "two_way",
            AdjacencyReason::Heard => "heard",
            AdjacencyReason::CarrierLost => "carrier_lost",
            AdjacencyReason::DeadTimer => "dead_timer",
            AdjacencyReason::OneWay => "one_way",
            AdjacencyReason::NeighbourRestarted => "neighbour_restarted",
            AdjacencyReason::SecondNeighbour => "second_neighbour",
            AdjacencyReason::PointToPointAgain => "point_to_point_again",
        }
    }
}

/// A change of an adjacency's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The state before.
    pub from: AdjacencyState,
    /// The state now.
    pub to: AdjacencyState,
    /// Why.
    pub reason: AdjacencyReason,
}

/// What this switch says about itself in HELLOs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalIdentity {
    /// This switch.
    pub system: SystemId,
    /// This session's nonce.
    pub nonce: u64,
    /// The HELLO interval this switch sends at.
    pub hello_interval: Duration,
    /// HELLOs a neighbour may miss before it declares us dead.
    pub dead_count: u8,
}

/// The switch heard on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbour {
    /// Who, on which of its ports, in which session.
    pub id: HelloNeighbour,
    /// How long it may stay silent: its interval × its dead count.
    pub hold: Duration,
    /// When its last HELLO arrived.
    pub last_heard: Duration,
}

/// A second switch heard on a port, remembered so the port can return to
/// point-to-point once one of the two falls silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Intruder {
    id: HelloNeighbour,
    hold: Duration,
    last_heard: Duration,
}

/// The adjacency of one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjacency {
    port: PortIndex,
    state: AdjacencyState,
    enabled: bool,
    neighbour: Option<Neighbour>,
    intruder: Option<Intruder>,
    /// When the adjacency last entered [`AdjacencyState::Up`].
    up_since: Option<Duration>,
    next_hello: Duration,
    /// Set when a HELLO should go out before the periodic one (a state
    /// change the neighbour must learn of to complete its handshake).
    hello_due_now: bool,
    /// Times the port has been enabled (carrier up); it varies the nonce
    /// this port's HELLOs carry ([`Adjacency::nonce`]).
    enables: u64,
}

/// Shortest hold a neighbour may ask for, so a HELLO with interval 0 (or a
/// dead count of 0) cannot make us declare it dead at once.
const MIN_HOLD: Duration = Duration::from_micros(100);

impl Adjacency {
    /// The adjacency of a port that is down.
    pub fn new(port: PortIndex) -> Adjacency {
        Adjacency {
            port,
            state: AdjacencyState::Down,
            enabled: false,
            neighbour: None,
            intruder: None,
            up_since: None,
            next_hello: Duration::ZERO,
            hello_due_now: false,
            enables: 0,
        }
    }

    /// The nonce this port's HELLOs carry: the switch's, varied each time
    /// the carrier returns. A HELLO the neighbour sent before the link went
    /// down can wait in the port's receive ring and arrive after it comes
    /// back; it lists our nonce of then, so it no longer counts as the
    /// neighbour seeing us, and the adjacency does not come up on it only
    /// to drop to one-way at the neighbour's next HELLO (which flooded a
    /// FAIL notice for a link that never failed). For the neighbour the
    /// link is a new session, as it is.
    fn nonce(&self, me: &LocalIdentity) -> u64 {
        let returns = self.enables.saturating_sub(1);
        me.nonce
            .wrapping_add(returns.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    /// The port.
    pub fn port(&self) -> PortIndex {
        self.port
    }

    /// The state.
    pub fn state(&self) -> AdjacencyState {
        self.state
    }

    /// Whether the port carries SSTP now.
    pub fn is_up(&self) -> bool {
        self.state == AdjacencyState::Up
    }

    /// Whether the port is enabled (carrier and administratively up).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The switch heard on the port, if any.
    pub fn neighbour(&self) -> Option<&Neighbour> {
        self.neighbour.as_ref()
    }

    /// When the adjacency came up, if it is up.
    pub fn up_since(&self) -> Option<Duration> {
        self.up_since.filter(|_| self.is_up())
    }

    /// The port became operational: HELLOs start at once.
    pub fn enable(&mut self, now: Duration) {
        if !self.enabled {
            self.enables += 1;
        }
        self.enabled = true;
        self.next_hello = now;
        self.hello_due_now = true;
    }

    /// The port lost carrier or was disabled: down at once, neighbour
    /// forgotten.
    pub fn disable(&mut self) -> Option<Transition> {
        self.enabled = false;
        self.intruder = None;
        self.neighbour = None;
        self.hello_due_now = false;
        self.go(AdjacencyState::Down, AdjacencyReason::CarrierLost, None)
    }

    /// A HELLO arrived from `sender` (its SystemId and port) on this port.
    pub fn receive(
        &mut self,
        now: Duration,
        me: &LocalIdentity,
        sender: SystemId,
        sender_port: PortIndex,
        hello: &Hello,
    ) -> Option<Transition> {
        if !self.enabled || sender == me.system {
            // Our own HELLO looped back (a hub, a cable between two of our
            // ports) says nothing about a neighbour.
            return None;
        }
        let id = HelloNeighbour {
            system: sender,
            port: sender_port,
            nonce: hello.nonce,
        };
        let hold = hold_of(hello);
        let lists_us = hello.neighbour
            == Some(HelloNeighbour {
                system: me.system,
                port: self.port,
                nonce: self.nonce(me),
            });
        let known = self.neighbour;
        match known {
            Some(n) if n.id == id => {
                self.neighbour = Some(Neighbour {
                    id,
                    hold,
                    last_heard: now,
                });
            }
            Some(n) if n.id.system == id.system && n.id.port == id.port => {
                // Same switch and port, new session: a restart. The old
                // adjacency ends; the new one starts from one-way.
                self.neighbour = Some(Neighbour {
                    id,
                    hold,
                    last_heard: now,
                });
                self.hello_due_now = true;
                // Even if this HELLO already lists us, the adjacency passes
                // through Init, so whoever watches sees the old one end.
                return self.go(
                    AdjacencyState::Init,
                    AdjacencyReason::NeighbourRestarted,
                    Some(now),
                );
            }
            Some(n) if now.saturating_sub(n.last_heard) <= n.hold => {
                // A second live switch on the port.
                self.intruder = Some(Intruder {
                    id,
                    hold,
                    last_heard: now,
                });
                return self.go(
                    AdjacencyState::NotPointToPoint,
                    AdjacencyReason::SecondNeighbour,
                    Some(now),
                );
            }
            _ => {
                // First switch heard, or the old one had gone silent.
                self.neighbour = Some(Neighbour {
                    id,
                    hold,
                    last_heard: now,
                });
                self.hello_due_now = true;
            }
        }
        if self.state == AdjacencyState::NotPointToPoint {
            // The neighbour we keep spoke; the other may still be alive.
            if let Some(i) = self.intruder {
                if now.saturating_sub(i.last_heard) <= i.hold {
                    return None;
                }
            }
            self.intruder = None;
        }
        if lists_us {
            if self.state != AdjacencyState::Up {
                self.hello_due_now = true;
                return self.go(AdjacencyState::Up, AdjacencyReason::TwoWay, Some(now));
            }
            None
        } else {
            match self.state {
                AdjacencyState::Up => {
                    self.hello_due_now = true;
                    self.go(AdjacencyState::Init, AdjacencyReason::OneWay, Some(now))
                }
                AdjacencyState::Down => {
                    self.go(AdjacencyState::Init, AdjacencyReason::Heard, Some(now))
                }
                AdjacencyState::NotPointToPoint => self.go(
                    AdjacencyState::Init,
                    AdjacencyReason::PointToPointAgain,
                    Some(now),
                ),
                AdjacencyState::Init => None,
            }
        }
    }

    /// Runs the dead timers at `now`.
    pub fn tick(&mut self, now: Duration) -> Option<Transition> {
        if !self.enabled {
            return None;
        }
        if let Some(i) = self.intruder {
            if now.saturating_sub(i.last_heard) > i.hold {
                self.intruder = None;
                if self.state == AdjacencyState::NotPointToPoint {
                    return self.go(
                        AdjacencyState::Init,
                        AdjacencyReason::PointToPointAgain,
                        Some(now),
                    );
                }
            }
        }
        let n = self.neighbour?;
        if now.saturating_sub(n.last_heard) <= n.hold {
            return None;
        }
        match self.intruder.take() {
            // The other switch on the port remains: it is the neighbour
            // now, one-way until its next HELLO lists us.
            Some(i) => {
                self.neighbour = Some(Neighbour {
                    id: i.id,
                    hold: i.hold,
                    last_heard: i.last_heard,
                });
                self.hello_due_now = true;
                self.go(
                    AdjacencyState::Init,
                    AdjacencyReason::PointToPointAgain,
                    Some(now),
                )
            }
            None => {
                self.neighbour = None;
                self.hello_due_now = true;
                self.go(AdjacencyState::Down, AdjacencyReason::DeadTimer, Some(now))
            }
        }
    }

    /// The next time [`Adjacency::tick`] or a HELLO is due.
    pub fn next_deadline(&self) -> Option<Duration> {
        if !self.enabled {
            return None;
        }
        let mut t = self.next_hello;
        if let Some(n) = self.neighbour {
            t = t.min(n.last_heard + n.hold + Duration::from_nanos(1));
        }
        if let Some(i) = self.intruder {
            t = t.min(i.last_heard + i.hold + Duration::from_nanos(1));
        }
        Some(t)
    }

    /// The HELLO to send at `now`, if one is due (periodic, or at once
    /// after a change the neighbour must hear about).
    pub fn hello_due(&mut self, now: Duration, me: &LocalIdentity) -> Option<Hello> {
        if !self.enabled || (now < self.next_hello && !self.hello_due_now) {
            return None;
        }
        self.hello_due_now = false;
        self.next_hello = now + me.hello_interval;
        Some(Hello {
            nonce: self.nonce(me),
            hello_interval_us: u32::try_from(me.hello_interval.as_micros()).unwrap_or(u32::MAX),
            dead_count: me.dead_count,
            flags: 0,
            // The one neighbour we would form an adjacency with; none on a
            // port that is not point-to-point, so neither side comes up.
            neighbour: match self.state {
                AdjacencyState::NotPointToPoint => None,
                _ => self.neighbour.map(|n| n.id),
            },
            hostname: None,
            bridge_id: None,
        })
    }

    fn go(
        &mut self,
        to: AdjacencyState,
        reason: AdjacencyReason,
        now: Option<Duration>,
    ) -> Option<Transition> {
        let from = self.state;
        if from == to {
            return None;
        }
        self.state = to;
        if to == AdjacencyState::Up {
            self.up_since = now;
        }
        Some(Transition { from, to, reason })
    }
}

/// How long a neighbour may be silent: its interval times its dead count.
fn hold_of(h: &Hello) -> Duration {
    let interval = Duration::from_micros(u64::from(h.hello_interval_us));
    (interval * u32::from(h.dead_count.max(1))).max(MIN_HOLD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::MacAddr;

    const MS: Duration = Duration::from_millis(1);

    fn me(last: u8) -> LocalIdentity {
        LocalIdentity {
            system: SystemId(MacAddr([2, 0, 0, 0, 0, last])),
            nonce: 1000 + u64::from(last),
            hello_interval: 10 * MS,
            dead_count: 3,
        }
    }

    /// Two ports cabled together, exchanging HELLOs at each step.
    struct Pair {
        a: (LocalIdentity, Adjacency),
        b: (LocalIdentity, Adjacency),
        now: Duration,
        log: Vec<(char, Transition)>,
    }

    impl Pair {
        fn new() -> Pair {
            let mut p = Pair {
                a: (me(1), Adjacency::new(3)),
                b: (me(2), Adjacency::new(7)),
                now: Duration::ZERO,
                log: Vec::new(),
            };
            p.a.1.enable(p.now);
            p.b.1.enable(p.now);
            p
        }

        /// Delivers whatever HELLOs are due, both ways, `rounds` times.
        fn exchange(&mut self, rounds: usize) {
            for _ in 0..rounds {
                let ha = self.a.1.hello_due(self.now, &self.a.0);
                let hb = self.b.1.hello_due(self.now, &self.b.0);
                if let Some(h) = ha {
                    let (sys, port) = (self.a.0.system, self.a.1.port());
                    if let Some(t) = self.b.1.receive(self.now, &self.b.0, sys, port, &h) {
                        self.log.push(('b', t));
                    }
                }
                if let Some(h) = hb {
                    let (sys, port) = (self.b.0.system, self.b.1.port());
                    if let Some(t) = self.a.1.receive(self.now, &self.a.0, sys, port, &h) {
                        self.log.push(('a', t));
                    }
                }
            }
        }
    }

    #[test]
    fn three_way_handshake_brings_both_sides_up_within_two_exchanges() {
        let mut p = Pair::new();
        p.exchange(2);
        assert!(p.a.1.is_up() && p.b.1.is_up(), "{:?}", p.log);
        assert_eq!(p.a.1.neighbour().unwrap().id.system, p.b.0.system);
        assert_eq!(p.a.1.neighbour().unwrap().id.port, 7);
        assert_eq!(p.b.1.neighbour().unwrap().id.port, 3);
        assert_eq!(p.a.1.up_since(), Some(Duration::ZERO));
    }

    #[test]
    fn a_hello_that_does_not_list_us_is_one_way() {
        let mut a = Adjacency::new(0);
        let id = me(1);
        a.enable(Duration::ZERO);
        let other = me(2);
        let h = Hello {
            nonce: other.nonce,
            hello_interval_us: 10_000,
            dead_count: 3,
            // It lists somebody else.
            neighbour: Some(HelloNeighbour {
                system: SystemId(MacAddr([2, 0, 0, 0, 0, 9])),
                port: 0,
                nonce: 5,
            }),
            ..Hello::default()
        };
        let t = a.receive(Duration::ZERO, &id, other.system, 4, &h).unwrap();
        assert_eq!(t.to, AdjacencyState::Init);
        assert!(!a.is_up());
        // Our own HELLO coming back is ignored.
        assert!(a.receive(MS, &id, id.system, 0, &h).is_none());
    }

    /// Found in the torus lab: a switch returning from a failure brought
    /// each adjacency up on a HELLO its neighbour had sent before the link
    /// went down (it waited in the receive ring), then dropped to one-way
    /// at the neighbour's next HELLO. Each carrier-up is a new session of
    /// the port's nonce, so the stale HELLO no longer lists us.
    #[test]
    fn a_hello_from_before_the_carrier_went_down_does_not_bring_the_adjacency_up() {
        let mut p = Pair::new();
        p.exchange(2);
        assert!(p.a.1.is_up() && p.b.1.is_up());
        // b's HELLO of just before the failure, listing a.
        let stale = p.b.1.hello_due(p.now, &p.b.0);
        let stale = stale.unwrap_or_else(|| {
            p.now += 10 * MS;
            p.b.1.hello_due(p.now, &p.b.0).unwrap()
        });
        assert!(stale.neighbour.is_some_and(|n| n.system == p.a.0.system));
        p.a.1.disable();
        p.b.1.disable();
        p.now += 8000 * MS;
        p.a.1.enable(p.now);
        p.b.1.enable(p.now);
        p.log.clear();
        // a reads the stale HELLO first.
        let (sys, port) = (p.b.0.system, p.b.1.port());
        let t = p.a.1.receive(p.now, &p.a.0, sys, port, &stale).unwrap();
        assert_eq!(
            (t.to, t.reason),
            (AdjacencyState::Init, AdjacencyReason::Heard)
        );
        // Then the fresh ones: up once, never back to one-way.
        p.exchange(3);
        assert!(p.a.1.is_up() && p.b.1.is_up(), "{:?}", p.log);
        assert!(
            p.log
                .iter()
                .all(|(_, t)| t.reason != AdjacencyReason::OneWay),
            "{:?}",
            p.log
        );
    }

    #[test]
    fn carrier_loss_is_down_at_once_and_silence_after_the_neighbours_hold() {
        let mut p = Pair::new();
        p.exchange(2);
        let t = p.a.1.disable().unwrap();
        assert_eq!(t.reason, AdjacencyReason::CarrierLost);
        assert_eq!(p.a.1.state(), AdjacencyState::Down);
        assert_eq!(p.a.1.next_deadline(), None);
        // b hears nothing more: down after a's hold (10 ms × 3), not before.
        assert_eq!(p.b.1.tick(30 * MS), None);
        assert_eq!(p.b.1.next_deadline().unwrap(), 10 * MS, "its next hello");
        let t = p.b.1.tick(30 * MS + Duration::from_nanos(1)).unwrap();
        assert_eq!(t.reason, AdjacencyReason::DeadTimer);
        assert_eq!(t.to, AdjacencyState::Down);
    }

    #[test]
    fn the_senders_interval_sets_the_hold() {
        let mut p = Pair::new();
        p.a.0.hello_interval = 100 * MS;
        p.a.0.dead_count = 5;
        p.exchange(2);
        assert_eq!(p.b.1.neighbour().unwrap().hold, 500 * MS);
        assert_eq!(p.a.1.neighbour().unwrap().hold, 30 * MS);
    }

    #[test]
    fn a_restarted_neighbour_is_a_new_adjacency() {
        let mut p = Pair::new();
        p.exchange(2);
        p.log.clear();
        p.b.0.nonce = 77;
        p.now = MS;
        p.b.1.hello_due_now = true;
        p.exchange(1);
        let a_log: Vec<Transition> = p.log.iter().filter(|l| l.0 == 'a').map(|l| l.1).collect();
        assert_eq!(
            a_log[0],
            Transition {
                from: AdjacencyState::Up,
                to: AdjacencyState::Init,
                reason: AdjacencyReason::NeighbourRestarted
            }
        );
        p.exchange(2);
        assert!(p.a.1.is_up() && p.b.1.is_up(), "{:?}", p.log);
        assert_eq!(p.a.1.neighbour().unwrap().id.nonce, 77);
    }

    #[test]
    fn two_switches_on_one_port_is_not_point_to_point_until_one_falls_silent() {
        let mut a = Adjacency::new(0);
        let id = me(1);
        a.enable(Duration::ZERO);
        let (x, y) = (me(2), me(3));
        let hello = |n: &LocalIdentity| Hello {
            nonce: n.nonce,
            hello_interval_us: 10_000,
            dead_count: 3,
            neighbour: Some(HelloNeighbour {
                system: id.system,
                port: 0,
                nonce: id.nonce,
            }),
            ..Hello::default()
        };
        let t = a
            .receive(Duration::ZERO, &id, x.system, 1, &hello(&x))
            .unwrap();
        assert_eq!(t.to, AdjacencyState::Up);
        let t = a.receive(MS, &id, y.system, 1, &hello(&y)).unwrap();
        assert_eq!(t.to, AdjacencyState::NotPointToPoint);
        assert_eq!(t.reason, AdjacencyReason::SecondNeighbour);
        // Our HELLOs on the port now list nobody, so neither comes up.
        assert_eq!(a.hello_due(MS, &id).unwrap().neighbour, None);
        // x keeps talking, y goes quiet: point-to-point with x again.
        for k in 1..5u32 {
            let now = MS * (10 * k);
            a.receive(now, &id, x.system, 1, &hello(&x));
            a.tick(now);
        }
        // y fell silent past its hold: x, which lists us, is the neighbour.
        assert!(a.is_up());
        assert_eq!(a.neighbour().unwrap().id.system, x.system);
    }

    #[test]
    fn hellos_go_out_every_interval_and_at_once_after_a_change() {
        let mut p = Pair::new();
        assert!(p.a.1.hello_due(Duration::ZERO, &p.a.0.clone()).is_some());
        let a_id = p.a.0;
        assert!(p.a.1.hello_due(5 * MS, &a_id).is_none());
        assert!(p.a.1.hello_due(10 * MS, &a_id).is_some());
        // A change (a neighbour heard) makes the next HELLO due now.
        let b_id = p.b.0;
        let hb = p.b.1.hello_due(Duration::ZERO, &b_id).unwrap();
        p.a.1.receive(11 * MS, &a_id, b_id.system, 7, &hb);
        let h = p.a.1.hello_due(11 * MS, &a_id).unwrap();
        assert_eq!(h.neighbour.unwrap().system, b_id.system);
        assert_eq!(h.hello_interval_us, 10_000);
        assert_eq!(h.dead_count, 3);
    }
}
