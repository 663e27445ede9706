//! Floods from a host: frames with a million different source MACs (a MAC
//! flood) or from one source to the broadcast address (a storm), as fast as one
//! AF_PACKET socket in a host namespace sends them. Scapy manages some
//! thousands a second; this loop, a few hundred thousand.

use crate::{Netns, Scratch};

/// What one flood did.
#[derive(Debug, Clone, Copy)]
pub struct Flood {
    pub sent: u64,
    pub secs: f64,
}

impl Flood {
    pub fn rate(&self) -> f64 {
        self.sent as f64 / self.secs.max(1e-9)
    }
}

/// The sender: source MACs `02:xx:xx:xx:xx:xx` with the low 40 bits
/// `i × 2654435761 mod 2^40` (an odd multiplier: a bijection, so `count`
/// distinct, locally administered unicast addresses, spread over the hash
/// space rather than counting up), EtherType 0x88B5 (IEEE local
/// experimental: no host stack answers it).
const SENDER: &str = r#"
import socket, sys, time
iface, count, dst = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3].replace(':', ''))
rate = float(sys.argv[4])
fixed = bytes.fromhex(sys.argv[5].replace(':', '')) if sys.argv[5] != 'vary' else None
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
frame = bytearray(dst + (fixed or bytes(6)) + b'\x88\xb5' + bytes(46))
send = s.send
sent = 0
t = time.monotonic()
for i in range(count):
    if rate > 0 and i % 1000 == 0:
        ahead = t + i / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    if fixed is None:
        frame[6:12] = (0x020000000000 | (i * 2654435761 & 0xffffffffff)).to_bytes(6, 'big')
    try:
        send(frame)
        sent += 1
    except OSError:
        pass
print(sent, time.monotonic() - t)
"#;

/// Sends `count` frames with distinct source MACs to `dst` out of `iface`
/// in `ns`, at `rate` frames/s (0: as fast as it goes); returns once they
/// are sent.
pub fn mac_flood(
    ns: &Netns,
    scratch: &Scratch,
    iface: &str,
    count: u64,
    dst: &str,
    rate: u32,
) -> Flood {
    send(ns, scratch, iface, count, dst, rate, "vary")
}

/// Sends `count` frames from `src` to `dst` (a broadcast storm when `dst`
/// is ff:ff:ff:ff:ff:ff) out of `iface` in `ns`, at `rate` frames/s (0: as
/// fast as it goes).
pub fn storm(
    ns: &Netns,
    scratch: &Scratch,
    iface: &str,
    count: u64,
    src: &str,
    dst: &str,
    rate: u32,
) -> Flood {
    send(ns, scratch, iface, count, dst, rate, src)
}

fn send(
    ns: &Netns,
    scratch: &Scratch,
    iface: &str,
    count: u64,
    dst: &str,
    rate: u32,
    src: &str,
) -> Flood {
    let path = scratch.join("flood-sender.py");
    std::fs::write(&path, SENDER).expect("write the flood sender");
    let out = ns.sh(&format!(
        "/usr/bin/python3 {} {iface} {count} {dst} {rate} {src}",
        path.display()
    ));
    let mut it = out.split_whitespace();
    let sent = it.next().and_then(|s| s.parse().ok());
    let secs = it.next().and_then(|s| s.parse().ok());
    match (sent, secs) {
        (Some(sent), Some(secs)) => Flood { sent, secs },
        _ => panic!("the flood sender said {out:?}"),
    }
}
