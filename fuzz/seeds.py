#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/ (run from the repository root).

BPDU seeds are frames of the captures in /work/shared/data/bpdu-captures
(real kernel and Open vSwitch traffic), when that directory is present;
SSTP seeds come from the codec (cargo run -p satellite-fuzzing --example
sstp_seeds). Frames use the fixture VM 02:00:00:a8:00:01 of
fuzzing/src/fixtures.rs as source, so mutations start past anti-spoofing.
"""
import glob, hashlib, os, struct, sys

def put(target, data):
    d = os.path.join("fuzz/corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def pcap_frames(path):
    b = open(path, "rb").read()
    endian = "<" if b[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    off = 24
    while off + 16 <= len(b):
        _, _, incl, _ = struct.unpack(endian + "IIII", b[off:off + 16])
        yield b[off + 16:off + 16 + incl]
        off += 16 + incl

caps = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/bpdu-captures"
for p in sorted(glob.glob(os.path.join(caps, "*.pcap"))):
    seen = set()
    for fr in pcap_frames(p):
        key = fr[17:21] + fr[21:22]  # version, type, flags: one per kind
        if key not in seen and len(seen) < 6:
            seen.add(key)
            put("bpdu", fr)

VM = bytes.fromhex("020000a80001")
PEER = bytes.fromhex("020000a80002")
BCAST = b"\xff" * 6
ip = lambda s: bytes(int(x) for x in s.split("."))

def arp_body(op, sha, spa, tha, tpa):
    return struct.pack(">HHBBH", 1, 0x0800, 6, 4, op) + sha + ip(spa) + tha + ip(tpa)

def ipv4(src, dst, proto, payload):
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, ip(src), ip(dst))
    return h + payload

udp = lambda sp, dp, data: struct.pack(">HHHH", sp, dp, 8 + len(data), 0) + data
tag = lambda tpid, vid: struct.pack(">HH", tpid, vid)

bodies = [
    arp_body(1, VM, "10.0.0.1", b"\0" * 6, "10.0.0.2"),   # request
    arp_body(2, VM, "10.0.0.1", PEER, "10.0.0.2"),        # reply
    arp_body(1, VM, "0.0.0.0", b"\0" * 6, "10.0.0.1"),    # RFC 5227 probe
    arp_body(3, VM, "0.0.0.0", VM, "0.0.0.0"),            # RARP request
    arp_body(5, VM, "0.0.0.0", VM, "0.0.0.0"),            # DRARP request
    arp_body(8, VM, "10.0.0.1", PEER, "0.0.0.0"),         # InARP request
    arp_body(10, VM, "10.0.0.1", PEER, "10.0.0.2"),       # ARP-NAK
]
for b in bodies:
    put("arp", b)

# DHCP messages (RFC 2131) from the fixture VM: BOOTP header, cookie, options.
def dhcp(mtype, ciaddr="0.0.0.0", opts=b"", flags=0x8000):
    h = struct.pack(">BBBBIHH4s4s4s4s", 1, 1, 6, 0, 0x3903F326, 0, flags,
                    ip(ciaddr), ip("0.0.0.0"), ip("0.0.0.0"), ip("0.0.0.0"))
    h += VM + b"\0" * 10 + b"\0" * 192 + bytes([99, 130, 83, 99])
    prl = bytes([55, 9, 1, 3, 6, 15, 26, 28, 42, 119, 121])
    return h + bytes([53, 1, mtype]) + prl + opts + b"\xff" + b"\0" * 8

for m in [
    dhcp(1),                                                          # DISCOVER
    dhcp(3, opts=bytes([50, 4, 10, 0, 0, 1, 54, 4, 10, 0, 0, 254])),  # REQUEST, selecting
    dhcp(3, opts=bytes([50, 4, 10, 0, 0, 7])),                        # REQUEST, init-reboot, NAKed
    dhcp(3, ciaddr="10.0.0.1", flags=0),                              # REQUEST, renewing
    dhcp(8, ciaddr="10.0.0.1", flags=0),                              # INFORM
    dhcp(7, ciaddr="10.0.0.1", opts=bytes([54, 4, 10, 0, 0, 254])),   # RELEASE
    dhcp(4, opts=bytes([50, 4, 10, 0, 0, 1])),                        # DECLINE
]:
    put("dhcp", m)

BOUND6 = bytes.fromhex("20010db8000000000000000000000001")
UNSPEC6 = b"\0" * 16
DST6 = bytes.fromhex("ff020000000000000000000000000001")
MCAST6 = bytes.fromhex("333300000001")

def ipv6(src, dst, nh, hlim, payload):
    return struct.pack(">IHBB", 6 << 28, len(payload), nh, hlim) + src + dst + payload

icmp6 = lambda kind, body, opts=b"": bytes([kind, 0, 0, 0, 0, 0, 0, 0]) + body + opts

eth = lambda dst, tags, et, payload: dst + VM + b"".join(tags) + struct.pack(">H", et) + payload
frames = [
    eth(PEER, [], 0x0800, ipv4("10.0.0.1", "10.0.0.2", 17, udp(1000, 2000, b"x" * 18))),
    eth(PEER, [], 0x0800, ipv4("10.9.9.9", "10.0.0.2", 17, udp(1000, 2000, b"x" * 18))),
    eth(BCAST, [], 0x0800, ipv4("0.0.0.0", "255.255.255.255", 17, udp(68, 67, b"\x01" * 240))),
    eth(PEER, [tag(0x8100, 10)], 0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, b"\0" * 20)),
    eth(PEER, [tag(0x88A8, 100), tag(0x8100, 10)], 0x0800, ipv4("10.0.0.1", "10.0.0.2", 1, b"\x08" + b"\0" * 7)),
    eth(BCAST, [tag(0x88A8, 100), tag(0x9100, 20), tag(0x8100, 10)], 0x0806, bodies[0]),
    eth(BCAST, [], 0x0806, bodies[0]),
    eth(BCAST, [tag(0x8100, 10)], 0x8035, bodies[3]),
    eth(PEER, [], 0x86DD, b"\x60" + b"\0" * 39),
    # IPv6 source guard and ND (filters/src/ipv6_guard.rs): bound UDP, a
    # DAD probe from ::, an NA with a TLLA, an RA behind hop-by-hop, MLDv2 from ::.
    eth(PEER, [], 0x86DD, ipv6(BOUND6, DST6, 17, 64, udp(1000, 2000, b"x" * 18))),
    eth(MCAST6, [], 0x86DD, ipv6(UNSPEC6, DST6, 58, 255, icmp6(135, BOUND6))),
    eth(PEER, [], 0x86DD, ipv6(BOUND6, DST6, 58, 255, icmp6(136, BOUND6, b"\x02\x01" + VM))),
    eth(MCAST6, [], 0x86DD, ipv6(BOUND6, DST6, 0, 255, bytes([58, 0, 5, 2, 0, 0, 1, 0]) + icmp6(134, b"\0" * 8))),
    eth(MCAST6, [], 0x86DD, ipv6(UNSPEC6, DST6, 0, 1, bytes([58, 0, 5, 2, 0, 0, 1, 0]) + icmp6(143, b"\0" * 20))),
    eth(PEER, [tag(0x8100, 10)] * 4, 0x0800, b""),
]
for f in frames:
    put("vlan_frame", f)

for line in [
    '{"cmd":"show_ports"}', '{"cmd":"show_stats"}', '{"cmd":"show_lsdb"}',
    '{"cmd":"set_priority","priority":4096}',
    '{"cmd":"set_port_cost","port":"eth1","cost":2000}',
    '{"cmd":"set_port_priority","port":"eth1","priority":64}',
    '{"cmd":"port_admin","port":"eth1","up":false}',
    '{"cmd":"arp_add","port":"vm1","ip":"10.0.0.1","mac":"02:00:00:a8:00:01","vlan":10}',
    '{"cmd":"arp_del","port":"vm1","ip":"10.0.0.1","vlan":null}',
    '{"cmd":"arp_show"}',
]:
    put("control_request", (line + "\n").encode())

for p in sorted(glob.glob("configs/*.toml")):
    put("config", open(p, "rb").read())
