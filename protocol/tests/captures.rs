//! Parses every BPDU of the captures of real bridges (Linux kernel STP,
//! Open vSwitch RSTP) and checks each decoded field against tcpdump's
//! decode of the same file (`tcpdump -t -r FILE -vvv -n stp`, stored next to
//! the capture as `*.tcpdump.txt`). Also checks that re-encoding the parsed
//! BPDU gives back the captured octets.

use satellite_protocol::wire::{
    decode_bpdu_frame, encode_bpdu_frame, Bpdu, BpduBody, Flags, PortRoleFlag, PriorityBpdu,
};
use std::path::PathBuf;

/// Reads a classic little- or big-endian pcap file into its packets.
fn read_pcap(bytes: &[u8]) -> Vec<Vec<u8>> {
    assert!(bytes.len() >= 24, "pcap global header");
    let le = match bytes[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] => false,
        _ => panic!("not a pcap file"),
    };
    let u32_at = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    assert_eq!(u32_at(&bytes[20..24]), 1, "linktype Ethernet");
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= bytes.len() {
        let incl = u32_at(&bytes[off + 8..off + 12]) as usize;
        let start = off + 16;
        out.push(bytes[start..start + incl].to_vec());
        off = start + incl;
    }
    assert_eq!(off, bytes.len(), "no trailing garbage");
    out
}

fn flags_text(f: Flags, rst: bool) -> String {
    let mut v = Vec::new();
    if f.topology_change() {
        v.push("Topology change");
    }
    if rst {
        if f.proposal() {
            v.push("Proposal");
        }
        if f.learning() {
            v.push("Learn");
        }
        if f.forwarding() {
            v.push("Forward");
        }
        if f.agreement() {
            v.push("Agreement");
        }
    }
    if f.topology_change_ack() {
        v.push("Topology change ACK");
    }
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Renders a BPDU the way tcpdump 4.99 does with `-t -vvv`.
fn tcpdump_text(b: &Bpdu) -> String {
    let body = |kind: &str, p: &PriorityBpdu, rst: bool, len: usize| {
        let mut s = format!(
            "STP {kind}, Flags [{}], bridge-id {}.{}, length {len}\n\
             \tmessage-age {:.2}s, max-age {:.2}s, hello-time {:.2}s, forwarding-delay {:.2}s\n\
             \troot-id {}, root-pathcost {}",
            flags_text(p.flags, rst),
            p.bridge_id,
            p.port_id,
            p.message_age.as_secs_f64(),
            p.max_age.as_secs_f64(),
            p.hello_time.as_secs_f64(),
            p.forward_delay.as_secs_f64(),
            p.root_id,
            p.root_path_cost
        );
        if rst {
            let role = match p.flags.role() {
                PortRoleFlag::Unknown => "Unknown",
                PortRoleFlag::AlternateOrBackup => "Alternate",
                PortRoleFlag::Root => "Root",
                PortRoleFlag::Designated => "Designated",
            };
            s += &format!(", port-role {role}");
        }
        s
    };
    match &b.body {
        BpduBody::Config(p) => body("802.1d, Config", p, false, 35),
        BpduBody::Rst(p) => body("802.1w, Rapid STP", p, true, 36),
        BpduBody::Tcn => "STP 802.1d, Topology Change".into(),
    }
}

fn check(name: &str, want_config: usize, want_tcn: usize, want_rst: usize) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let pcap = std::fs::read(dir.join(format!("{name}.pcap"))).unwrap();
    let expected = std::fs::read_to_string(dir.join(format!("{name}.tcpdump.txt"))).unwrap();
    let frames = read_pcap(&pcap);
    let mut text = String::new();
    let (mut c, mut t, mut r) = (0, 0, 0);
    for f in &frames {
        let d = decode_bpdu_frame(f).unwrap_or_else(|e| panic!("{name}: {e}"));
        match d.bpdu.body {
            BpduBody::Config(_) => c += 1,
            BpduBody::Tcn => t += 1,
            BpduBody::Rst(_) => r += 1,
        }
        text += &tcpdump_text(&d.bpdu);
        text.push('\n');
        // Re-encoding reproduces the captured octets (ours pad to 60).
        let again = encode_bpdu_frame(d.src_addr, &d.bpdu);
        assert_eq!(
            &again[..f.len()],
            &f[..],
            "{name}: re-encoded frame differs"
        );
        assert!(again[f.len()..].iter().all(|&b| b == 0));
    }
    assert_eq!(text, expected, "{name}: decode differs from tcpdump's");
    assert_eq!(
        (c, t, r),
        (want_config, want_tcn, want_rst),
        "{name}: counts"
    );
}

#[test]
fn kernel_stp_ring4() {
    check("kernel-stp-802.1d_ring4_tuned", 19, 3, 0);
}

#[test]
fn kernel_stp_ring8_rootfail() {
    check("kernel-stp-802.1d_ring8_tuned_rootfail", 40, 9, 0);
}

#[test]
fn ovs_rstp_ring4() {
    check("ovs-rstp-802.1w_ring4", 0, 0, 16);
}

#[test]
fn ovs_rstp_ring8_rootfail() {
    check("ovs-rstp-802.1w_ring8_rootfail", 0, 0, 47);
}
