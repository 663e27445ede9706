//! The Wireshark dissector `contrib/wireshark/sstp.lua` against the codec:
//! a pcap of one frame of every PDU type from `encode_sstp_frame`, read by
//! `tshark` with the dissector, must show every field with the value that
//! was encoded, both checksums good, and nothing malformed.
//!
//! tshark is a lab package (`dpdk-build/install-deps.sh --lab`); without it
//! this test fails rather than passing silently.

use satellite_protocol::wire::{
    encode_sstp_frame, Adjacency, BindingEntry, BridgeId, Csnp, FailNotice, FailReason, Hello,
    HelloNeighbour, Hostname, Lsp, LspEntry, LspFlags, LspId, MacAddr, MacHome, MacMove, Psnp,
    RawTlv, SstpPdu, SystemId, SystemInfo,
};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sid(n: u8) -> SystemId {
    SystemId(MacAddr([2, 0, 0, 0, 0, n]))
}

const SRC: MacAddr = MacAddr([2, 1, 0, 0, 0, 1]);
const SENDER_PORT: u16 = 5;

/// Every field the dissector has, in the order tshark is asked for them.
const FIELDS: &[&str] = &[
    "satsstp.version",
    "satsstp.type",
    "satsstp.length",
    "satsstp.checksum",
    "satsstp.checksum.status",
    "satsstp.sender",
    "satsstp.sender_port",
    "satsstp.hello.nonce",
    "satsstp.hello.interval",
    "satsstp.hello.dead_count",
    "satsstp.hello.flags",
    "satsstp.hello.reserved",
    "satsstp.hello.neighbour",
    "satsstp.hello.neighbour_port",
    "satsstp.hello.neighbour_nonce",
    "satsstp.lsp.origin",
    "satsstp.lsp.fragment",
    "satsstp.lsp.sequence",
    "satsstp.lsp.lifetime",
    "satsstp.lsp.checksum",
    "satsstp.lsp.checksum.status",
    "satsstp.lsp.flags",
    "satsstp.lsp.flags.overload",
    "satsstp.lsp.reserved",
    "satsstp.csnp.start.origin",
    "satsstp.csnp.start.fragment",
    "satsstp.csnp.end.origin",
    "satsstp.csnp.end.fragment",
    "satsstp.fail.origin",
    "satsstp.fail.sequence",
    "satsstp.fail.neighbour",
    "satsstp.fail.local_port",
    "satsstp.fail.remote_port",
    "satsstp.fail.reason",
    "satsstp.fail.hop_limit",
    "satsstp.tlv.type",
    "satsstp.tlv.mandatory",
    "satsstp.tlv.length",
    "satsstp.tlv.value",
    "satsstp.hostname",
    "satsstp.bridge_id.priority",
    "satsstp.bridge_id.mac",
    "satsstp.system.flags",
    "satsstp.system.reserved",
    "satsstp.adj.neighbour",
    "satsstp.adj.local_port",
    "satsstp.adj.remote_port",
    "satsstp.adj.cost",
    "satsstp.mac_home.vid",
    "satsstp.mac_home.mac",
    "satsstp.binding.vid",
    "satsstp.binding.ip",
    "satsstp.binding.mac",
    "satsstp.mac_move.vid",
    "satsstp.mac_move.mac",
    "satsstp.mac_move.sequence",
    "satsstp.entry.origin",
    "satsstp.entry.fragment",
    "satsstp.entry.sequence",
    "satsstp.entry.lifetime",
    "satsstp.entry.checksum",
    "satsstp.padding",
];

fn hello() -> Hello {
    Hello {
        nonce: 0x1122_3344_5566_7788,
        hello_interval_us: 10_000,
        dead_count: 3,
        flags: 0,
        neighbour: Some(HelloNeighbour {
            system: sid(2),
            port: 7,
            nonce: 0x99aa_bbcc_ddee_ff00,
        }),
        hostname: Hostname::new("satellite-1"),
        bridge_id: Some(BridgeId::new(0x8001, sid(1).0)),
    }
}

fn lsp() -> Lsp {
    Lsp {
        flags: LspFlags(LspFlags::OVERLOAD),
        system: Some(SystemInfo {
            bridge_id: BridgeId::new(0x7000, sid(1).0),
            flags: 0,
        }),
        hostname: Hostname::new("sw-é"),
        adjacencies: vec![
            Adjacency {
                neighbour: sid(2),
                local_port: 0,
                remote_port: 1,
                cost: 2000,
            },
            Adjacency {
                neighbour: sid(3),
                local_port: 1,
                remote_port: 0,
                cost: 20_000,
            },
        ],
        mac_homes: vec![
            MacHome {
                vid: 0,
                mac: MacAddr([0x52, 0x54, 0, 0, 0, 1]),
            },
            MacHome {
                vid: 100,
                mac: MacAddr([0x52, 0x54, 0, 0, 0, 2]),
            },
        ],
        bindings: vec![
            BindingEntry {
                vid: 100,
                ip: Ipv4Addr::new(10, 0, 0, 1),
                mac: MacAddr([0x52, 0x54, 0, 0, 0, 1]),
            },
            BindingEntry {
                vid: 4094,
                ip: Ipv4Addr::new(192, 168, 1, 254),
                mac: MacAddr([0x52, 0x54, 0, 0, 0, 2]),
            },
        ],
        mac_moves: vec![MacMove {
            home: MacHome {
                vid: 100,
                mac: MacAddr([0x52, 0x54, 0, 0, 0, 2]),
            },
            sequence: 3_000_000_000,
        }],
        other_tlvs: vec![RawTlv {
            tlv_type: 0x0100,
            value: vec![0xde, 0xad],
        }],
        ..Lsp::new(
            LspId {
                origin: sid(1),
                fragment: 0,
            },
            0x1_0000_0001,
            1199,
        )
    }
}

fn entries() -> Vec<LspEntry> {
    vec![
        lsp().entry(),
        LspEntry {
            id: LspId {
                origin: sid(9),
                fragment: 3,
            },
            sequence: 77,
            lifetime_secs: 0,
            checksum: 0xcafe_f00d,
        },
    ]
}

fn csnp() -> Csnp {
    Csnp {
        start: LspId {
            origin: sid(0),
            fragment: 0,
        },
        end: LspId {
            origin: SystemId(MacAddr([0xff; 6])),
            fragment: 0xffff,
        },
        entries: entries(),
    }
}

fn fail() -> FailNotice {
    FailNotice {
        origin: sid(4),
        sequence: 12,
        neighbour: sid(5),
        local_port: 2,
        remote_port: 3,
        reason: FailReason::DeadTimer,
        hop_limit: 15,
        lsp_sequence: Some(0x0102_0304_0506_0708),
    }
}

fn samples() -> Vec<SstpPdu> {
    vec![
        SstpPdu::Hello(hello()),
        SstpPdu::Lsp(lsp()),
        SstpPdu::Csnp(csnp()),
        SstpPdu::Psnp(Psnp {
            entries: entries()[1..].to_vec(),
        }),
        SstpPdu::Fail(fail()),
    ]
}

fn frame(pdu: &SstpPdu) -> Vec<u8> {
    encode_sstp_frame(SRC, sid(1), SENDER_PORT, pdu).unwrap()
}

/// A classic pcap (not pcapng): 24-octet global header, a 16-octet record
/// header per frame, link type 1 (Ethernet), little-endian.
fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic, microseconds
    out.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(i as u32).to_le_bytes()); // seconds
        out.extend_from_slice(&0u32.to_le_bytes()); // microseconds
        out.extend_from_slice(&(f.len() as u32).to_le_bytes()); // captured
        out.extend_from_slice(&(f.len() as u32).to_le_bytes()); // on the wire
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).unwrap();
}

fn dissector() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/wireshark/sstp.lua")
}

/// Runs tshark with the dissector on `pcap`; returns stdout. Fails the test
/// with the fix when tshark is not installed, or when the script errs.
fn tshark(pcap: &Path, args: &[&str]) -> String {
    let script = format!("lua_script:{}", dissector().display());
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args(["-X", &script])
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run tshark ({e}): it is a lab package, install it with \
                 `dpdk-build/install-deps.sh --lab`"
            )
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tshark failed: {stderr}");
    // tshark as root warns that it runs as root; a Lua error is different.
    assert!(
        !stderr.contains("Lua") && !stderr.contains("lua"),
        "the dissector did not load cleanly: {stderr}"
    );
    String::from_utf8(out.stdout).unwrap()
}

fn temp_pcap(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sstp-dissector-{}-{name}.pcap", std::process::id()))
}

fn hex(v: impl Into<u64>, digits: usize) -> String {
    format!("0x{:0digits$x}", v.into())
}

/// What tshark's `-T fields` prints for each field of the frame carrying
/// `pdu`: fields that occur several times are joined by commas.
fn expected(pdu: &SstpPdu, frame: &[u8]) -> BTreeMap<&'static str, String> {
    let mut m: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut put = |k: &'static str, v: String| m.entry(k).or_default().push(v);
    let len = pdu.encoded_len();
    let pdu_bytes = &frame[14..14 + len];
    put("satsstp.version", "1".into());
    put("satsstp.type", u8::from(pdu.pdu_type()).to_string());
    put("satsstp.length", len.to_string());
    let crc = u32::from_be_bytes(pdu_bytes[4..8].try_into().unwrap());
    put("satsstp.checksum", hex(crc, 8));
    put("satsstp.checksum.status", "good".into());
    put("satsstp.sender", sid(1).to_string());
    put("satsstp.sender_port", SENDER_PORT.to_string());
    let tlv = |put: &mut dyn FnMut(&'static str, String), t: u16, l: usize| {
        put("satsstp.tlv.type", hex(t, 4));
        put(
            "satsstp.tlv.mandatory",
            u8::from(t & 0x8000 != 0).to_string(),
        );
        put("satsstp.tlv.length", l.to_string());
    };
    let bridge = |put: &mut dyn FnMut(&'static str, String), b: BridgeId| {
        put("satsstp.bridge_id.priority", hex(b.priority, 4));
        put("satsstp.bridge_id.mac", b.mac.to_string());
    };
    let entry = |put: &mut dyn FnMut(&'static str, String), e: &LspEntry| {
        put("satsstp.entry.origin", e.id.origin.to_string());
        put("satsstp.entry.fragment", e.id.fragment.to_string());
        put("satsstp.entry.sequence", e.sequence.to_string());
        put("satsstp.entry.lifetime", e.lifetime_secs.to_string());
        put("satsstp.entry.checksum", hex(e.checksum, 8));
    };
    match pdu {
        SstpPdu::Hello(h) => {
            put("satsstp.hello.nonce", hex(h.nonce, 16));
            put("satsstp.hello.interval", h.hello_interval_us.to_string());
            put("satsstp.hello.dead_count", h.dead_count.to_string());
            put("satsstp.hello.flags", hex(h.flags, 2));
            put("satsstp.hello.reserved", hex(0u16, 4));
            let n = h.neighbour.unwrap();
            put("satsstp.hello.neighbour", n.system.to_string());
            put("satsstp.hello.neighbour_port", n.port.to_string());
            put("satsstp.hello.neighbour_nonce", hex(n.nonce, 16));
            let name = h.hostname.as_ref().unwrap();
            tlv(&mut put, 0x0002, name.as_str().len());
            put("satsstp.hostname", name.to_string());
            tlv(&mut put, 0x0003, 8);
            bridge(&mut put, h.bridge_id.unwrap());
        }
        SstpPdu::Lsp(l) => {
            put("satsstp.lsp.origin", l.id.origin.to_string());
            put("satsstp.lsp.fragment", l.id.fragment.to_string());
            put("satsstp.lsp.sequence", l.sequence.to_string());
            put("satsstp.lsp.lifetime", l.lifetime_secs.to_string());
            put("satsstp.lsp.checksum", hex(l.content_checksum(), 8));
            put("satsstp.lsp.checksum.status", "good".into());
            put("satsstp.lsp.flags", hex(l.flags.0, 2));
            put(
                "satsstp.lsp.flags.overload",
                u8::from(l.flags.overload()).to_string(),
            );
            put("satsstp.lsp.reserved", hex(0u8, 2));
            let s = l.system.unwrap();
            tlv(&mut put, 0x8001, 10);
            bridge(&mut put, s.bridge_id);
            put("satsstp.system.flags", hex(s.flags, 2));
            put("satsstp.system.reserved", hex(0u8, 2));
            let name = l.hostname.as_ref().unwrap();
            tlv(&mut put, 0x0002, name.as_str().len());
            put("satsstp.hostname", name.to_string());
            tlv(&mut put, 0x0004, 14 * l.adjacencies.len());
            for a in &l.adjacencies {
                put("satsstp.adj.neighbour", a.neighbour.to_string());
                put("satsstp.adj.local_port", a.local_port.to_string());
                put("satsstp.adj.remote_port", a.remote_port.to_string());
                put("satsstp.adj.cost", a.cost.to_string());
            }
            tlv(&mut put, 0x0005, 8 * l.mac_homes.len());
            for h in &l.mac_homes {
                put("satsstp.mac_home.vid", h.vid.to_string());
                put("satsstp.mac_home.mac", h.mac.to_string());
            }
            tlv(&mut put, 0x0006, 12 * l.bindings.len());
            for b in &l.bindings {
                put("satsstp.binding.vid", b.vid.to_string());
                put("satsstp.binding.ip", b.ip.to_string());
                put("satsstp.binding.mac", b.mac.to_string());
            }
            tlv(&mut put, 0x0008, 12 * l.mac_moves.len());
            for m in &l.mac_moves {
                put("satsstp.mac_move.vid", m.home.vid.to_string());
                put("satsstp.mac_move.mac", m.home.mac.to_string());
                put("satsstp.mac_move.sequence", m.sequence.to_string());
            }
            for t in &l.other_tlvs {
                tlv(&mut put, t.tlv_type, t.value.len());
                let v: String = t.value.iter().map(|b| format!("{b:02x}")).collect();
                put("satsstp.tlv.value", v);
            }
        }
        SstpPdu::Csnp(c) => {
            put("satsstp.csnp.start.origin", c.start.origin.to_string());
            put("satsstp.csnp.start.fragment", c.start.fragment.to_string());
            put("satsstp.csnp.end.origin", c.end.origin.to_string());
            put("satsstp.csnp.end.fragment", c.end.fragment.to_string());
            tlv(&mut put, 0x0007, 22 * c.entries.len());
            for e in &c.entries {
                entry(&mut put, e);
            }
        }
        SstpPdu::Psnp(p) => {
            tlv(&mut put, 0x0007, 22 * p.entries.len());
            for e in &p.entries {
                entry(&mut put, e);
            }
        }
        SstpPdu::Fail(f) => {
            put("satsstp.fail.origin", f.origin.to_string());
            put("satsstp.fail.sequence", f.sequence.to_string());
            put("satsstp.fail.neighbour", f.neighbour.to_string());
            put("satsstp.fail.local_port", f.local_port.to_string());
            put("satsstp.fail.remote_port", f.remote_port.to_string());
            put("satsstp.fail.reason", u8::from(f.reason).to_string());
            put("satsstp.fail.hop_limit", f.hop_limit.to_string());
            if let Some(seq) = f.lsp_sequence {
                tlv(&mut put, 0x0009, 8);
                put("satsstp.fail.lsp_sequence", seq.to_string());
            }
        }
    }
    if frame.len() > 14 + len {
        let pad: String = frame[14 + len..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        put("satsstp.padding", pad);
    }
    m.into_iter().map(|(k, v)| (k, v.join(","))).collect()
}

#[test]
fn dissector_decodes_every_field_of_every_pdu() {
    let pdus = samples();
    let frames: Vec<Vec<u8>> = pdus.iter().map(frame).collect();
    let pcap = temp_pcap("all");
    write_pcap(&pcap, &frames);

    let mut args = vec![
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ];
    for f in FIELDS {
        args.extend(["-e", f]);
    }
    let table = tshark(&pcap, &args);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), pdus.len(), "one line per frame:\n{table}");
    let mut wrong = Vec::new();
    for ((pdu, frame), line) in pdus.iter().zip(&frames).zip(&lines) {
        let want = expected(pdu, frame);
        let got: Vec<&str> = line.split('\t').collect();
        assert_eq!(got.len(), FIELDS.len(), "{line}");
        for (field, got) in FIELDS.iter().zip(got) {
            let want = want.get(field).map_or("", String::as_str);
            if want != got {
                wrong.push(format!(
                    "{:?} {field}: tshark {got:?}, encoded {want:?}",
                    pdu.pdu_type()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Nothing malformed, no expert error or warning; the one unknown TLV
    // (in the LSP) is the only expert note.
    let text = tshark(&pcap, &["-V"]);
    assert_eq!(
        text.matches("[Protocols in frame: eth:ethertype:satsstp]")
            .count(),
        pdus.len(),
        "{text}"
    );
    for bad in [
        "Malformed",
        "Expert Info (Error",
        "Expert Info (Warn",
        "Unknown SSTP",
    ] {
        assert!(!text.contains(bad), "{bad} in:\n{text}");
    }
    assert_eq!(text.matches("Expert Info (Note").count(), 1, "{text}");
    let _ = std::fs::remove_file(&pcap);
}

#[test]
fn dissector_flags_bad_checksums() {
    // A bit flipped in the LSP's adjacency: both checksums are wrong; then
    // the PDU checksum made right again: only the content checksum is.
    let good = frame(&SstpPdu::Lsp(lsp()));
    let mut both = good.clone();
    both[14 + 70] ^= 0x01;
    let mut content_only = both.clone();
    let len = 14 + SstpPdu::Lsp(lsp()).encoded_len();
    satellite_protocol::wire::SstpPacket::new_unchecked(&mut content_only[14..len]).fill_checksum();
    let pcap = temp_pcap("bad");
    write_pcap(&pcap, &[both, content_only]);
    let lines = tshark(
        &pcap,
        &[
            "-T",
            "fields",
            "-e",
            "satsstp.checksum.status",
            "-e",
            "satsstp.lsp.checksum.status",
        ],
    );
    assert_eq!(lines, "bad\tbad\ngood\tbad\n");
    let text = tshark(&pcap, &["-V"]);
    assert_eq!(
        text.matches("Expert Info (Error/Checksum)").count(),
        3,
        "{text}"
    );
    let _ = std::fs::remove_file(&pcap);
}
