//! DHCPCAST's view of a frame (docs/dhcp.md): which DHCP frames the data
//! path steers to one designated server instead of flooding, and to whom
//! a server's broadcast answer belongs. Pure functions of the bytes; the
//! data path does the FDB lookups and the rewrite.
//!
//! Only first fragments of IPv4 UDP are matched: a later fragment's
//! octets where the ports would be are payload.

use crate::dhcp::{Packet, BOOTREPLY, CLIENT_PORT, HTYPE_ETHERNET, SERVER_PORT};
use crate::dhcp_server::udp_payload;
use crate::mac::MacAddr;

const IPV4_HEADER_LEN: usize = 20;
const PROTO_UDP: u8 = 17;

/// Source and destination UDP ports of the IPv4 packet at `ip_offset`,
/// when it is the first (or only) fragment of a UDP datagram.
#[inline]
fn udp_ports(frame: &[u8], ip_offset: usize) -> Option<(u16, u16)> {
    let hdr = frame.get(ip_offset..ip_offset + IPV4_HEADER_LEN)?;
    let ihl = usize::from(hdr[0] & 0x0f) * 4;
    let offset = u16::from_be_bytes([hdr[6], hdr[7]]) & 0x1fff;
    if hdr[0] >> 4 != 4 || ihl < IPV4_HEADER_LEN || offset != 0 || hdr[9] != PROTO_UDP {
        return None;
    }
    let u = frame.get(ip_offset + ihl..ip_offset + ihl + 4)?;
    Some((
        u16::from_be_bytes([u[0], u[1]]),
        u16::from_be_bytes([u[2], u[3]]),
    ))
}

/// Whether the IPv4 packet at `ip_offset` is a DHCP client's message to
/// servers (UDP 68 → 67): what a cast port's broadcast must carry to be
/// steered. The DHCP body is not read: the server judges it, as it would
/// had the frame been flooded to it.
#[inline]
pub fn is_client_to_server(frame: &[u8], ip_offset: usize) -> bool {
    udp_ports(frame, ip_offset) == Some((CLIENT_PORT, SERVER_PORT))
}

/// The client a DHCP server's answer (UDP 67 → 68, BOOTREPLY) is for: its
/// `chaddr`, when the hardware type is Ethernet and the address a unicast
/// station's. `None` for anything else, which then goes as it would
/// without DHCPCAST.
pub fn server_reply_client(frame: &[u8], ip_offset: usize) -> Option<MacAddr> {
    if udp_ports(frame, ip_offset)? != (SERVER_PORT, CLIENT_PORT) {
        return None;
    }
    let (_, body) = udp_payload(frame, ip_offset).ok()?;
    let p = Packet::new_checked(body).ok()?;
    if p.op() != BOOTREPLY || p.htype() != HTYPE_ETHERNET || p.hlen() != 6 {
        return None;
    }
    MacAddr::from_slice(&p.chaddr_field()[..6]).filter(|m| m.is_valid_source())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::{DhcpRepr, MessageType, OptionSet, BOOTREQUEST, HEADER_LEN};
    use core::net::Ipv4Addr;

    const CLIENT: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x11]);

    /// An IPv4/UDP datagram from `sport` to `dport` carrying a DHCP
    /// message with `op`, after 14 octets of Ethernet header.
    fn datagram(sport: u16, dport: u16, op: u8) -> Vec<u8> {
        let repr = DhcpRepr {
            op,
            message_type: MessageType::Discover,
            xid: 7,
            secs: 0,
            flags: 0,
            hops: 0,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: CLIENT,
            requested_ip: None,
            server_id: None,
            lease_secs: None,
            parameters: OptionSet::default(),
        };
        let mut msg = vec![0u8; HEADER_LEN + 16];
        let mut p = Packet::new_unchecked(&mut msg[..]);
        repr.emit_header(&mut p);
        msg[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&[53, 1, 1, 255]);
        let udp_len = (8 + msg.len()) as u16;
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&CLIENT.0);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0]);
        f[16..18].copy_from_slice(&(20 + udp_len).to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0, 255, 255, 255, 255]);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&udp_len.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&msg);
        f
    }

    #[test]
    fn client_messages_are_udp_68_to_67() {
        assert!(is_client_to_server(&datagram(68, 67, BOOTREQUEST), 14));
        assert!(!is_client_to_server(&datagram(67, 68, BOOTREPLY), 14));
        assert!(!is_client_to_server(&datagram(1000, 67, BOOTREQUEST), 14));
        assert!(!is_client_to_server(&datagram(68, 53, BOOTREQUEST), 14));
        // A later fragment: its octets there are payload.
        let mut frag = datagram(68, 67, BOOTREQUEST);
        frag[20] = 0x01;
        assert!(!is_client_to_server(&frag, 14));
        // TCP, and cut short.
        let mut tcp = datagram(68, 67, BOOTREQUEST);
        tcp[23] = 6;
        assert!(!is_client_to_server(&tcp, 14));
        assert!(!is_client_to_server(
            &datagram(68, 67, BOOTREQUEST)[..36],
            14
        ));
    }

    #[test]
    fn a_servers_answer_names_its_client() {
        assert_eq!(
            server_reply_client(&datagram(67, 68, BOOTREPLY), 14),
            Some(CLIENT)
        );
        // A request, other ports, a truncated message: not an answer.
        assert_eq!(
            server_reply_client(&datagram(67, 68, BOOTREQUEST), 14),
            None
        );
        assert_eq!(server_reply_client(&datagram(68, 67, BOOTREPLY), 14), None);
        let short = datagram(67, 68, BOOTREPLY);
        assert_eq!(server_reply_client(&short[..200], 14), None);
        // A group chaddr is nobody's port.
        let mut group = datagram(67, 68, BOOTREPLY);
        group[14 + 28 + 28] = 0x01;
        assert_eq!(server_reply_client(&group, 14), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let f = datagram(67, 68, BOOTREPLY);
        for cut in 0..f.len() {
            for at in [0, 14, 18, 60] {
                let _ = is_client_to_server(&f[..cut], at);
                let _ = server_reply_client(&f[..cut], at);
            }
        }
    }
}
