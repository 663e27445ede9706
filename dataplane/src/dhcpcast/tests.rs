//! The DHCPCAST decision through `classify_frame`, as the worker makes it:
//! steered, server or client unknown, answers rewritten, other frames
//! untouched, tagged frames looked up in their VLAN.

use std::sync::Arc;

use satellite_filters::dhcp::{BOOTREPLY, BOOTREQUEST, HEADER_LEN, MAGIC_COOKIE};
use satellite_filters::{EdgePortPolicy, FilterTables, MacAddr, PortMode, VidSet};

use crate::fdb::{Fdb, FdbKey};
use crate::frame::{classify_frame, DropReason, Verdict};
use crate::snapshot::{ForwardingSnapshot, SnapshotBuilder};
use crate::PortIndex;

const CLIENT: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];
const SERVER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x53];
const ROGUE: [u8; 6] = [0x02, 0, 0, 0, 0, 0x66];
const BCAST: [u8; 6] = [0xff; 6];

/// Port 0 casts to SERVER (untagged, or a trunk of VLAN 10); ports 1..
/// are plain.
const CAST_PORT: PortIndex = 0;
const SERVER_PORT: PortIndex = 1;

/// A DHCP message over UDP `sport` → `dport` in IPv4, after `tags` (VIDs,
/// C-tags), from `src` to `dst`.
fn dhcp_frame(dst: [u8; 6], src: [u8; 6], tags: &[u16], sport: u16, dport: u16, op: u8) -> Vec<u8> {
    let mut msg = vec![0u8; HEADER_LEN + 4];
    msg[0] = op;
    msg[1] = 1;
    msg[2] = 6;
    msg[28..34].copy_from_slice(&CLIENT);
    msg[236..240].copy_from_slice(&MAGIC_COOKIE);
    msg[240..244].copy_from_slice(&[53, 1, if op == BOOTREPLY { 2 } else { 1 }, 255]);
    let udp_len = (8 + msg.len()) as u16;
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    for vid in tags {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&vid.to_be_bytes());
    }
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0]);
    let at = f.len() - 10;
    f[at..at + 2].copy_from_slice(&(20 + udp_len).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0, 255, 255, 255, 255]);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&udp_len.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&msg);
    f
}

fn discover(tags: &[u16]) -> Vec<u8> {
    dhcp_frame(BCAST, CLIENT, tags, 68, 67, BOOTREQUEST)
}

fn offer_from(server: [u8; 6], dst: [u8; 6]) -> Vec<u8> {
    dhcp_frame(dst, server, &[], 67, 68, BOOTREPLY)
}

/// Four ports; port 0's policy casts to SERVER in `mode`; the snapshot
/// designates `servers`.
fn switch(fdb: &Fdb, mode: PortMode, servers: &[[u8; 6]]) -> ForwardingSnapshot {
    let mut b = SnapshotBuilder::new(4);
    b.policies = vec![
        Some(Arc::new(
            EdgePortPolicy::builder(mode)
                .dhcp_cast(MacAddr(SERVER))
                .build()
                .unwrap(),
        )),
        None,
        None,
        None,
    ];
    b.filters = Some(Arc::new(FilterTables::default()));
    b.set_dhcp_cast_servers(servers.iter().map(|m| MacAddr(*m).to_u64()));
    b.build(1, fdb.view())
}

fn untagged() -> PortMode {
    crate::snapshot::transparent_mode()
}

fn verdict(f: &[u8], in_port: PortIndex, s: &ForwardingSnapshot) -> Verdict {
    decide(f, in_port, s).0
}

/// The verdict, and for a steered frame the destination the worker is to
/// write (from the reply buffer).
fn decide(f: &[u8], in_port: PortIndex, s: &ForwardingSnapshot) -> (Verdict, Option<[u8; 6]>) {
    let mut reply = [0u8; satellite_filters::REPLY_BUF_LEN];
    let v = classify_frame(f, f.len() as u32, in_port, s, 0, &mut reply).verdict;
    let dst = matches!(v, Verdict::Steered { .. }).then(|| {
        let mut d = [0u8; 6];
        d.copy_from_slice(&reply[..6]);
        d
    });
    (v, dst)
}

fn steered(dst: [u8; 6], port: PortIndex, reply: bool) -> (Verdict, Option<[u8; 6]>) {
    (
        Verdict::Steered {
            port,
            tag: 0,
            routed: false,
            reply,
        },
        Some(dst),
    )
}

#[test]
fn a_clients_broadcast_goes_to_its_servers_port_only() {
    let mut fdb = Fdb::new(64, 64, 300);
    fdb.learn(FdbKey::new(0, SERVER), SERVER_PORT, 0);
    let s = switch(&fdb, untagged(), &[SERVER]);
    assert_eq!(
        decide(&discover(&[]), CAST_PORT, &s),
        steered(SERVER, SERVER_PORT, false)
    );
    // From a port that does not cast: flooded as ever.
    assert_eq!(verdict(&discover(&[]), 2, &s), Verdict::Flood);
}

#[test]
fn an_unknown_server_is_a_counted_drop_never_a_flood() {
    let mut fdb = Fdb::new(64, 64, 300);
    let s = switch(&fdb, untagged(), &[SERVER]);
    assert_eq!(
        verdict(&discover(&[]), CAST_PORT, &s),
        Verdict::Drop(DropReason::DhcpcastServerUnknown)
    );
    // Known on a port that does not forward (and no MAC home): what the
    // unicast path would flood, DHCPCAST drops.
    fdb.learn(FdbKey::new(0, SERVER), 3, 0);
    let mut s = switch(&fdb, untagged(), &[SERVER]);
    let mut ports = s.ports.to_vec();
    ports[3].forwarding = false;
    s.ports = ports.into();
    assert_eq!(
        verdict(&discover(&[]), CAST_PORT, &s),
        Verdict::Drop(DropReason::DhcpcastServerUnknown)
    );
    // Behind the cast port itself: it heard the broadcast already.
    let mut fdb = Fdb::new(64, 64, 300);
    fdb.learn(FdbKey::new(0, SERVER), CAST_PORT, 0);
    let s = switch(&fdb, untagged(), &[SERVER]);
    assert_eq!(
        verdict(&discover(&[]), CAST_PORT, &s),
        Verdict::Drop(DropReason::Hairpin)
    );
}

#[test]
fn a_server_at_another_switch_is_reached_by_its_mac_home() {
    use satellite_protocol::sstp::routes::{BridgeRoute, Routes};
    let mut fdb = Fdb::new(64, 64, 300);
    assert!(fdb.set_home(FdbKey::new(0, SERVER), 5));
    let mut b = SnapshotBuilder::new(4);
    b.policies = vec![
        Some(Arc::new(
            EdgePortPolicy::builder(untagged())
                .dhcp_cast(MacAddr(SERVER))
                .build()
                .unwrap(),
        )),
        None,
        None,
        None,
    ];
    b.filters = Some(Arc::new(FilterTables::default()));
    let mut routes = Routes::new();
    routes.reset(0, 6);
    routes.set(0, BridgeRoute::LOCAL);
    routes.set(5, BridgeRoute::new(40, &[2]));
    b.set_routes(&routes);
    b.live.store(0b0100, std::sync::atomic::Ordering::Relaxed);
    let s = b.build(1, fdb.view());
    match decide(&discover(&[]), CAST_PORT, &s) {
        (
            Verdict::Steered {
                port: 2,
                routed: true,
                reply: false,
                tag,
            },
            Some(dst),
        ) => {
            assert_eq!(dst, SERVER);
            assert_eq!(
                satellite_protocol::wire::unicast_tag_from_word(tag).distance,
                40
            );
        }
        v => panic!("{v:?}"),
    }
    // The link to it dead: the link state's own drop, not a flood.
    b.live.store(0, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        verdict(&discover(&[]), CAST_PORT, &s),
        Verdict::Drop(DropReason::SstpNoLivePort)
    );
}

#[test]
fn a_designated_servers_broadcast_answer_goes_to_its_client_only() {
    let mut fdb = Fdb::new(64, 64, 300);
    fdb.learn(FdbKey::new(0, CLIENT), CAST_PORT, 0);
    let s = switch(&fdb, untagged(), &[SERVER]);
    assert_eq!(
        decide(&offer_from(SERVER, BCAST), SERVER_PORT, &s),
        steered(CLIENT, CAST_PORT, true)
    );
    // A unicast answer is ordinary unicast.
    assert_eq!(
        verdict(&offer_from(SERVER, CLIENT), SERVER_PORT, &s),
        Verdict::Forward(CAST_PORT)
    );
    // Another server's broadcast is not DHCPCAST's (docs/dhcp.md).
    assert_eq!(
        verdict(&offer_from(ROGUE, BCAST), SERVER_PORT, &s),
        Verdict::Flood
    );
    // With no server designated, nothing is looked at.
    let s = switch(&fdb, untagged(), &[]);
    assert_eq!(
        verdict(&offer_from(SERVER, BCAST), SERVER_PORT, &s),
        Verdict::Flood
    );
    // A client the switch never heard of.
    let fdb = Fdb::new(64, 64, 300);
    let s = switch(&fdb, untagged(), &[SERVER]);
    assert_eq!(
        verdict(&offer_from(SERVER, BCAST), SERVER_PORT, &s),
        Verdict::Drop(DropReason::DhcpcastClientUnknown)
    );
}

#[test]
fn other_frames_of_a_cast_port_are_untouched() {
    let mut fdb = Fdb::new(64, 64, 300);
    fdb.learn(FdbKey::new(0, SERVER), SERVER_PORT, 0);
    let s = switch(&fdb, untagged(), &[SERVER]);
    // Broadcast UDP that is not to port 67, and ARP.
    let dns = dhcp_frame(BCAST, CLIENT, &[], 68, 53, BOOTREQUEST);
    assert_eq!(verdict(&dns, CAST_PORT, &s), Verdict::Flood);
    let mut arp = discover(&[]);
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(verdict(&arp, CAST_PORT, &s), Verdict::Flood);
    // A later fragment's bytes where the ports would be are payload.
    let mut frag = discover(&[]);
    frag[20] = 0x01;
    assert_eq!(verdict(&frag, CAST_PORT, &s), Verdict::Flood);
    // Unicast DHCP (a renewal) takes the ordinary path.
    let renew = dhcp_frame(SERVER, CLIENT, &[], 68, 67, BOOTREQUEST);
    assert_eq!(
        verdict(&renew, CAST_PORT, &s),
        Verdict::Forward(SERVER_PORT)
    );
    // A multicast that is not broadcast is not DHCP's.
    let mut mcast = discover(&[]);
    mcast[..6].copy_from_slice(&[0x01, 0, 0x5e, 0, 0, 1]);
    assert_eq!(verdict(&mcast, CAST_PORT, &s), Verdict::Flood);
}

#[test]
fn a_tagged_client_is_steered_within_its_vlan() {
    let trunk = PortMode::Trunk {
        allowed: [10].into_iter().collect::<VidSet>(),
        native: None,
    };
    let mut fdb = Fdb::new(64, 64, 300);
    // The server is known in VLAN 10 only.
    fdb.learn(FdbKey::new(10, SERVER), SERVER_PORT, 0);
    let s = switch(&fdb, trunk.clone(), &[SERVER]);
    assert_eq!(
        decide(&discover(&[10]), CAST_PORT, &s),
        steered(SERVER, SERVER_PORT, false)
    );
    // Known in another VLAN only: unknown in this one.
    let mut fdb = Fdb::new(64, 64, 300);
    fdb.learn(FdbKey::new(20, SERVER), SERVER_PORT, 0);
    let s = switch(&fdb, trunk, &[SERVER]);
    assert_eq!(
        verdict(&discover(&[10]), CAST_PORT, &s),
        Verdict::Drop(DropReason::DhcpcastServerUnknown)
    );
    // And on a port without filters, a tagged answer from the server is
    // looked up in its outer VLAN.
    let mut fdb = Fdb::new(64, 64, 300);
    fdb.learn(FdbKey::new(10, CLIENT), CAST_PORT, 0);
    let s = switch(&fdb, untagged(), &[SERVER]);
    let offer = dhcp_frame(BCAST, SERVER, &[10], 67, 68, BOOTREPLY);
    assert_eq!(
        decide(&offer, SERVER_PORT, &s),
        steered(CLIENT, CAST_PORT, true)
    );
}

#[test]
fn a_steered_verdict_keeps_the_decision_small() {
    assert!(std::mem::size_of::<crate::frame::Decision>() <= 56);
}
