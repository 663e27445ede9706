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
//! The kernel does not send every carrier loss at once: its link watcher
//! (`net/core/link_watch.c`) sends "urgent" events at once and holds the
//! others until a second after the last one it sent, and a carrier loss
//! is urgent only on a bond's port or master or on an interface with a
//! lower link, which it tests as `ifindex != iflink`. A physical NIC has none (iflink is itself), and
//! neither, by that test, has a veth whose peer happens to have the same
//! index in its own namespace. Measured here (2026-12-08, two namespaces,
//! `ip -ts monitor link`): a veth pair with indexes 2 and 2, its peer set
//! down 0.3 s after an earlier change, was reported 700 ms later; a pair
//! with indexes 2 and 4, 3 ms later. In the soak such a port took 82-90 ms
//! to notice (the control loop's safety poll), against under 1 ms for the
//! others. So ports behind such an interface (`iflink == ifindex` in sysfs)
//! have their carrier read every [`CARRIER_POLL_DEFERRED`] by a second
//! thread, which clears and rings exactly as an event would.
//!
//! The thread only ever *clears* bits. Setting one is the engine's
//! verdict alone (an adjacency two-way and in sync), and after each pass
//! that read carrier the control loop writes its whole verdict back
//! ([`crate::link_state::LinkState::resync_live`]): a carrier that came
//! back before the loop looked leaves the port live as it was, and a
//! clear that raced the write-back is followed by another ring, so the
//! next pass clears it for good.

use crossbeam::channel::{Receiver, Sender};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tracing::warn;

/// How often the carrier of a port whose losses the kernel may hold back
/// is read (module docs).
pub(crate) const CARRIER_POLL_DEFERRED: Duration = Duration::from_millis(1);
/// How often the polling thread looks for such ports while there are none.
const POLL_IDLE: Duration = Duration::from_millis(50);

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
    /// Ports whose carrier losses the kernel may send late: read instead.
    polled: Mutex<Vec<Polled>>,
}

/// A port whose carrier is read from sysfs: its slot, its interface index
/// and its open `carrier` attribute (read again at offset 0 each time).
struct Polled {
    slot: usize,
    index: u32,
    carrier: File,
}

impl FastCarrier {
    pub(crate) fn new() -> FastCarrier {
        FastCarrier {
            live: OnceLock::new(),
            ifindex: std::array::from_fn(|_| AtomicU32::new(0)),
            cleared_at: std::array::from_fn(|_| AtomicU64::new(0)),
            base: Instant::now(),
            polled: Mutex::new(Vec::new()),
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
        let read = |what: &str| {
            std::fs::read_to_string(format!("/sys/class/net/{iface}/{what}"))
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
        };
        let index = read("ifindex");
        let (Some(cell), Some(index)) = (self.ifindex.get(slot), index) else {
            return;
        };
        cell.store(index, Ordering::Release);
        let mut polled = self.polled.lock().unwrap_or_else(|e| e.into_inner());
        polled.retain(|p| p.slot != slot);
        if read("iflink") == Some(index) {
            if let Ok(carrier) = File::open(format!("/sys/class/net/{iface}/carrier")) {
                polled.push(Polled {
                    slot,
                    index,
                    carrier,
                });
            }
        }
    }

    /// Port `slot` is gone (or is no kernel interface any more).
    pub(crate) fn forget(&self, slot: usize) {
        if let Some(cell) = self.ifindex.get(slot) {
            cell.store(0, Ordering::Release);
        }
        let mut polled = self.polled.lock().unwrap_or_else(|e| e.into_inner());
        polled.retain(|p| p.slot != slot);
    }

    /// Reads the carrier of every polled port; a port without one (`0`,
    /// or EINVAL: the interface is down here) is cleared as a kernel event
    /// would clear it. Returns whether any bit was cleared now, and
    /// whether there are polled ports at all.
    fn poll_carriers(&self) -> (bool, bool) {
        let polled = self.polled.lock().unwrap_or_else(|e| e.into_inner());
        let mut cleared = false;
        let mut buf = [0u8; 4];
        for p in polled.iter() {
            let up = matches!(p.carrier.read_at(&mut buf, 0), Ok(n) if n > 0 && buf[0] == b'1');
            if !up && self.clear(p.slot, p.index) {
                cleared = true;
            }
        }
        (cleared, !polled.is_empty())
    }

    /// Clears port `slot`'s bit if it is still interface `index`'s and
    /// set; returns whether it did.
    fn clear(&self, slot: usize, index: u32) -> bool {
        let Some(live) = self.live.get() else {
            return false;
        };
        if self.ifindex[slot].load(Ordering::Acquire) != index {
            return false;
        }
        let bit = 1u64 << slot;
        if live.fetch_and(!bit, Ordering::Release) & bit == 0 {
            return false;
        }
        let ns = self.base.elapsed().as_nanos().max(1) as u64;
        self.cleared_at[slot].store(ns, Ordering::Relaxed);
        true
    }

    /// The kernel says interface `index` has no carrier: the port behind
    /// it, if any, is dead to the workers from their next burst. Returns
    /// that port.
    fn carrier_lost(&self, index: u32) -> Option<usize> {
        self.live.get()?;
        let slot = self
            .ifindex
            .iter()
            .position(|c| index != 0 && c.load(Ordering::Acquire) == index)?;
        self.clear(slot, index);
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
    let (fast2, tx2) = (fast.clone(), tx.clone());
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
    spawned.ok()?;
    poll_deferred(fast2, tx2);
    Some(rx)
}

/// Starts the thread that reads the carrier of ports whose losses the
/// kernel may send late (module docs), ringing `tx` when it clears one.
fn poll_deferred(fast: Arc<FastCarrier>, tx: Sender<()>) {
    let spawned = std::thread::Builder::new()
        .name("carrier-poll".into())
        .spawn(move || loop {
            let (cleared, any) = fast.poll_carriers();
            if cleared {
                if let Err(crossbeam::channel::TrySendError::Disconnected(_)) = tx.try_send(()) {
                    return;
                }
            }
            std::thread::sleep(if any {
                CARRIER_POLL_DEFERRED
            } else {
                POLL_IDLE
            });
        });
    if let Err(e) = spawned {
        warn!("no carrier-poll thread ({e}): some carrier losses are seen only by the control loop's poll");
    }
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
    fn a_polled_port_is_cleared_once_when_its_carrier_reads_0() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("carrier");
        std::fs::write(&path, "1\n").unwrap();
        let fast = FastCarrier::new();
        let word = Arc::new(AtomicU64::new(0b1000));
        fast.attach(word.clone());
        fast.ifindex[3].store(7, Ordering::Release);
        fast.polled.lock().unwrap().push(Polled {
            slot: 3,
            index: 7,
            carrier: File::open(&path).unwrap(),
        });
        assert_eq!(fast.poll_carriers(), (false, true));
        assert_eq!(word.load(Ordering::Acquire), 0b1000);
        // The same open file, read again from the start, as sysfs is.
        std::fs::write(&path, "0\n").unwrap();
        assert_eq!(fast.poll_carriers(), (true, true));
        assert_eq!(word.load(Ordering::Acquire), 0);
        assert!(fast.take_cleared(3).is_some());
        // Still down: nothing new, nothing to ring.
        assert_eq!(fast.poll_carriers(), (false, true));
        // The control loop sets the bit again; a forgotten port is no
        // longer read.
        word.store(0b1000, Ordering::Release);
        fast.forget(3);
        assert_eq!(fast.poll_carriers(), (false, false));
        assert_eq!(word.load(Ordering::Acquire), 0b1000);
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
