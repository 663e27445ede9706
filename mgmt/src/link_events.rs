//! The kernel's link events (rtnetlink `RTMGRP_LINK`) and the fast path
//! they feed.
//!
//! A thread blocks on the netlink socket. For each event it does two
//! things: it rings the control loop ("look now": the loop reads carrier
//! from sysfs and tells the protocols), and, when the event says a kernel
//! interface behind one of our ports lost its carrier, it clears that
//! port's bit in the data path's liveness word itself ([`FastCarrier`]).
//! Workers read the word once per burst, so they stop sending unicast on
//! the port and repair around it (SSTP.md, "Failure and repair") one
//! thread wake-up after the kernel's event, instead of after the control
//! loop has woken, drained its queues and run the engine: on a loaded
//! machine each wake-up can cost milliseconds, and the control loop may be
//! busy with SPF or flooding exactly when links fail.
//!
//! The thread only ever *clears* bits. Setting one is the engine's
//! verdict alone (an adjacency two-way and in sync), and after each pass
//! that read carrier the control loop writes its whole verdict back
//! ([`crate::link_state::LinkState::resync_live`]): a carrier that came
//! back before the loop looked leaves the port live as it was, and a
//! clear that raced the write-back is followed by another ring, so the
//! next pass clears it for good.

use crossbeam::channel::Receiver;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tracing::warn;

/// Netlink multicast group of link changes (`RTMGRP_LINK`, rtnetlink(7)).
const RTMGRP_LINK: u32 = 1;
/// `RTM_NEWLINK` and `RTM_DELLINK` (linux/rtnetlink.h).
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
/// `IFF_LOWER_UP` (linux/if.h): the driver's carrier.
const IFF_LOWER_UP: u32 = 1 << 16;
/// `struct nlmsghdr` and `struct ifinfomsg` sizes.
const NLMSG_HDR: usize = 16;
const IFINFOMSG: usize = 16;

/// Ports the liveness word can name (one bit each).
pub(crate) const WORD_PORTS: usize = 64;

/// What the link-event thread needs to take a port out of the data path
/// on its own: which kernel interface is behind each port, and the word.
pub(crate) struct FastCarrier {
    /// The data path's liveness word, once the control plane exists.
    live: OnceLock<Arc<AtomicU64>>,
    /// Interface index behind port slot i (0: none, or not watched).
    ifindex: [AtomicU32; WORD_PORTS],
    /// When the thread last cleared port i's bit (ns since `base`, 0:
    /// not since the control loop last asked).
    cleared_at: [AtomicU64; WORD_PORTS],
    base: Instant,
}

impl FastCarrier {
    pub(crate) fn new() -> FastCarrier {
        FastCarrier {
            live: OnceLock::new(),
            ifindex: std::array::from_fn(|_| AtomicU32::new(0)),
            cleared_at: std::array::from_fn(|_| AtomicU64::new(0)),
            base: Instant::now(),
        }
    }

    /// From now on the thread clears bits of `live`.
    pub(crate) fn attach(&self, live: Arc<AtomicU64>) {
        let _ = self.live.set(live);
    }

    /// Port `slot` is kernel interface `iface` (by its index in sysfs);
    /// ports beyond the word, or whose index cannot be read, are left to
    /// the control loop.
    pub(crate) fn watch(&self, slot: usize, iface: &str) {
        let index = std::fs::read_to_string(format!("/sys/class/net/{iface}/ifindex"))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        if let (Some(cell), Some(index)) = (self.ifindex.get(slot), index) {
            cell.store(index, Ordering::Release);
        }
    }

    /// Port `slot` is gone (or is no kernel interface any more).
    pub(crate) fn forget(&self, slot: usize) {
        if let Some(cell) = self.ifindex.get(slot) {
            cell.store(0, Ordering::Release);
        }
    }

    /// The kernel says interface `index` has no carrier: the port behind
    /// it, if any, is dead to the workers from their next burst. Returns
    /// that port.
    fn carrier_lost(&self, index: u32) -> Option<usize> {
        let live = self.live.get()?;
        let slot = self
            .ifindex
            .iter()
            .position(|c| index != 0 && c.load(Ordering::Acquire) == index)?;
        let bit = 1u64 << slot;
        if live.fetch_and(!bit, Ordering::Release) & bit != 0 {
            let ns = self.base.elapsed().as_nanos().max(1) as u64;
            self.cleared_at[slot].store(ns, Ordering::Relaxed);
        }
        Some(slot)
    }

    /// How long ago the thread took port `slot` out of the data path, if
    /// it did since the last call (for the control loop's log line).
    pub(crate) fn take_cleared(&self, slot: usize) -> Option<Duration> {
        let ns = self.cleared_at.get(slot)?.swap(0, Ordering::Relaxed);
        (ns != 0).then(|| self.base.elapsed().saturating_sub(Duration::from_nanos(ns)))
    }
}

/// Calls `f(interface index, carrier)` for every link message in one
/// netlink datagram (several messages may share it); stops at the first
/// malformed header.
fn for_each_link(buf: &[u8], mut f: impl FnMut(u32, bool)) {
    let mut at = 0;
    while at + NLMSG_HDR <= buf.len() {
        let h = &buf[at..];
        let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let kind = u16::from_ne_bytes([h[4], h[5]]);
        if len < NLMSG_HDR || at + len > buf.len() {
            return;
        }
        if (kind == RTM_NEWLINK || kind == RTM_DELLINK) && len >= NLMSG_HDR + IFINFOMSG {
            let m = &h[NLMSG_HDR..];
            let index = i32::from_ne_bytes([m[4], m[5], m[6], m[7]]);
            let flags = u32::from_ne_bytes([m[8], m[9], m[10], m[11]]);
            if index > 0 {
                f(
                    index as u32,
                    kind == RTM_NEWLINK && flags & IFF_LOWER_UP != 0,
                );
            }
        }
        // NLMSG_ALIGN: messages start on 4-octet boundaries.
        at += (len + 3) & !3;
    }
}

/// Watches the kernel's link changes (any interface) from a thread that
/// clears dead ports through `fast` and rings the returned channel on
/// each event; what changed is read from sysfs by the control loop, so
/// carrier changes are seen within microseconds instead of at the next
/// poll. `None` when the socket cannot be had (then polling alone serves,
/// every `fallback`).
pub(crate) fn watch(fast: Arc<FastCarrier>, fallback: Duration) -> Option<Receiver<()>> {
    use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
    let mut sock = match Socket::new(NETLINK_ROUTE) {
        Ok(s) => s,
        Err(e) => {
            warn!("no rtnetlink socket ({e}): carrier polled every {fallback:?}");
            return None;
        }
    };
    if let Err(e) = sock.bind(&SocketAddr::new(0, RTMGRP_LINK)) {
        warn!("cannot join rtnetlink link events ({e}): carrier polled every {fallback:?}");
        return None;
    }
    let (tx, rx) = crossbeam::channel::bounded(1);
    let spawned = std::thread::Builder::new()
        .name("link-events".into())
        .spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match sock.recv(&mut &mut buf[..], 0) {
                    Ok(n) => {
                        for_each_link(&buf[..n.min(buf.len())], |index, carrier| {
                            if !carrier {
                                fast.carrier_lost(index);
                            }
                        });
                        // A full channel already says "look now".
                        if let Err(crossbeam::channel::TrySendError::Disconnected(_)) =
                            tx.try_send(())
                        {
                            return;
                        }
                    }
                    // ENOBUFS: events were lost; looking now covers them.
                    Err(e) if e.raw_os_error() == Some(105) => {
                        let _ = tx.try_send(());
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        warn!("rtnetlink link events stopped: {e}");
                        return;
                    }
                }
            }
        });
    spawned.ok().map(|_| rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One link message as the kernel writes it (header, ifinfomsg, and
    /// `attrs` octets of attributes).
    fn message(kind: u16, index: i32, flags: u32, attrs: usize) -> Vec<u8> {
        let len = NLMSG_HDR + IFINFOMSG + attrs;
        let mut m = Vec::new();
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(&[0, 0, 1, 0]);
        m.extend_from_slice(&index.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&[0; 4]);
        m.resize(len, 0xee);
        m
    }

    fn links(buf: &[u8]) -> Vec<(u32, bool)> {
        let mut v = vec![];
        for_each_link(buf, |i, c| v.push((i, c)));
        v
    }

    #[test]
    fn link_messages_give_index_and_carrier_and_padding_is_skipped() {
        let mut buf = message(RTM_NEWLINK, 7, 0x1 | IFF_LOWER_UP, 5);
        buf.resize(buf.len().next_multiple_of(4), 0);
        buf.extend(message(RTM_NEWLINK, 8, 0x1, 0));
        buf.extend(message(RTM_DELLINK, 9, 0x1 | IFF_LOWER_UP, 4));
        // Not a link message.
        buf.extend(message(20, 10, 0, 0));
        assert_eq!(links(&buf), vec![(7, true), (8, false), (9, false)]);
    }

    #[test]
    fn truncated_or_lying_headers_end_the_walk_without_a_panic() {
        let good = message(RTM_NEWLINK, 3, 0, 0);
        assert_eq!(links(&good[..good.len() - 1]), vec![]);
        let mut lying = good.clone();
        lying[0..4].copy_from_slice(&4u32.to_ne_bytes());
        assert_eq!(links(&lying), vec![]);
        let short = message(RTM_NEWLINK, 3, 0, 0);
        let mut header_only = short[..NLMSG_HDR].to_vec();
        header_only[0..4].copy_from_slice(&(NLMSG_HDR as u32).to_ne_bytes());
        assert_eq!(links(&header_only), vec![]);
        for n in 0..good.len() {
            let _ = links(&good[..n]);
        }
    }

    #[test]
    fn a_lost_carrier_clears_only_its_ports_bit_and_is_reported_once() {
        let fast = FastCarrier::new();
        let word = Arc::new(AtomicU64::new(0b1110));
        // Before the word is attached nothing is cleared.
        fast.ifindex[1].store(41, Ordering::Release);
        assert_eq!(fast.carrier_lost(41), None);
        fast.attach(word.clone());
        fast.ifindex[2].store(42, Ordering::Release);
        assert_eq!(fast.carrier_lost(99), None);
        assert_eq!(fast.carrier_lost(42), Some(2));
        assert_eq!(word.load(Ordering::Acquire), 0b1010);
        assert!(fast.take_cleared(2).is_some());
        assert!(fast.take_cleared(2).is_none());
        // Already dead: nothing new to report.
        assert_eq!(fast.carrier_lost(42), Some(2));
        assert!(fast.take_cleared(2).is_none());
        fast.forget(2);
        assert_eq!(fast.carrier_lost(42), None);
        // Index 0 never matches an empty slot.
        assert_eq!(fast.carrier_lost(0), None);
    }
}
