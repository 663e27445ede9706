//! Writes one SSTP frame of each PDU type into `fuzz/corpus/sstp/`, from
//! the codec itself (there is no capture of SSTP from anyone else).

use std::net::Ipv4Addr;
use std::path::PathBuf;

use satellite_protocol::wire::{
    encode_sstp_frame, Adjacency, BindingEntry, BridgeId, Csnp, FailNotice, FailReason, Hello,
    HelloNeighbour, Hostname, Lsp, LspId, MacAddr, MacHome, Psnp, SstpPdu, SystemId, SystemInfo,
};

fn sid(n: u8) -> SystemId {
    SystemId(MacAddr([2, 0, 0, 0, 0, n]))
}

fn main() -> std::io::Result<()> {
    let id = |n, fragment| LspId {
        origin: sid(n),
        fragment,
    };
    let lsp = Lsp {
        system: Some(SystemInfo {
            bridge_id: BridgeId::new(0x8000, sid(1).0),
            flags: 0,
        }),
        hostname: Hostname::new("sw1"),
        adjacencies: vec![Adjacency {
            neighbour: sid(2),
            local_port: 0,
            remote_port: 1,
            cost: 2000,
        }],
        mac_homes: vec![MacHome {
            vid: 10,
            mac: MacAddr([2, 0, 0, 0xa8, 0, 1]),
        }],
        bindings: vec![BindingEntry {
            vid: 10,
            ip: Ipv4Addr::new(10, 0, 0, 1),
            mac: MacAddr([2, 0, 0, 0xa8, 0, 1]),
        }],
        ..Lsp::new(id(1, 0), 7, 1200)
    };
    let pdus = [
        SstpPdu::Hello(Hello {
            nonce: 1,
            hello_interval_us: 10_000,
            dead_count: 3,
            flags: 0,
            neighbour: Some(HelloNeighbour {
                system: sid(2),
                port: 1,
                nonce: 2,
            }),
            hostname: Hostname::new("sw1"),
            bridge_id: Some(BridgeId::new(0x8000, sid(1).0)),
        }),
        SstpPdu::Csnp(Csnp {
            start: id(0, 0),
            end: LspId {
                origin: SystemId(MacAddr([0xff; 6])),
                fragment: 0xffff,
            },
            entries: vec![lsp.entry()],
        }),
        SstpPdu::Psnp(Psnp {
            entries: vec![lsp.entry()],
        }),
        SstpPdu::Fail(FailNotice {
            origin: sid(1),
            sequence: 3,
            neighbour: sid(2),
            local_port: 0,
            remote_port: 1,
            reason: FailReason::DeadTimer,
            hop_limit: 15,
            lsp_sequence: None,
        }),
        SstpPdu::Lsp(lsp),
    ];
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/sstp");
    std::fs::create_dir_all(&dir)?;
    for (i, pdu) in pdus.iter().enumerate() {
        let frame = encode_sstp_frame(MacAddr([2, 1, 0, 0, 0, 1]), sid(1), 5, pdu)
            .map_err(std::io::Error::other)?;
        std::fs::write(dir.join(format!("seed-{i}")), frame)?;
    }
    Ok(())
}
