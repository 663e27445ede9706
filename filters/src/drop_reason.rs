//! Why the filters drop a frame: every reason is a metrics label. A leaf
//! module, so the VLAN, Interstellar and ARPless code can name reasons
//! without importing the verdict types that are built from theirs.

macro_rules! drop_reasons {
    ($( $(#[$doc:meta])* $variant:ident => $label:literal, )*) => {
        /// Why a frame was dropped. Labels are stable: they are Prometheus
        /// label values and `satctl show arp` column names.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum DropReason {
            $( $(#[$doc])* $variant, )*
        }

        impl DropReason {
            /// Every reason, so the daemon can create one counter each up front.
            pub const ALL: &'static [DropReason] = &[ $( DropReason::$variant, )* ];

            /// Stable snake_case label for metrics.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( DropReason::$variant => $label, )*
                }
            }
        }
    };
}

drop_reasons! {
    /// Shorter than an Ethernet header.
    FrameTooShort => "frame_too_short",
    /// A VLAN tag (or the EtherType after it) is cut off.
    VlanTruncated => "vlan_truncated",
    /// More VLAN tags than the configured depth (after a tunnel push too).
    VlanTooDeep => "vlan_too_deep",
    /// The VID is not allowed on this port (trunk allowed set, access or
    /// tunnel VID mismatch on egress).
    VlanNotAllowed => "vlan_not_allowed",
    /// Untagged frame on a trunk without a native VLAN.
    VlanUntaggedNotAllowed => "vlan_untagged_not_allowed",
    /// Tagged frame on an access port whose tag is not the access VID.
    VlanAccessTagged => "vlan_access_tagged",
    /// Source MAC is a group address or all zeros.
    InvalidSrcMac => "invalid_src_mac",
    /// Source MAC is not one of the port's MACs.
    SpoofedSrcMac => "spoofed_src_mac",
    /// Unicast destination carries an IID outside the port's IID set.
    InterstellarMismatch => "interstellar_mismatch",
    /// Unicast destination is not an Interstellar MAC and its OUI is not allowed.
    InterstellarOuiNotAllowed => "interstellar_oui_not_allowed",
    /// Egress: the source's IID/OUI may not reach this port.
    InterstellarEgressMismatch => "interstellar_egress_mismatch",
    /// ARP/RARP body shorter than its header says.
    ArpMalformed => "arp_malformed",
    /// ARP for something other than Ethernet/IPv4.
    ArpUnsupported => "arp_unsupported",
    /// RARP/DRARP operation under the ARP EtherType or vice versa.
    ArpWrongEthertype => "arp_wrong_ethertype",
    /// Sender hardware or protocol address is not the port's binding.
    ArpSpoofedSender => "arp_spoofed_sender",
    /// The port has no binding and learn-once is off.
    ArpUnboundSender => "arp_unbound_sender",
    /// ARP about the sender's own address (gratuitous ARP, RFC 5227 probe):
    /// nothing to answer, and never forwarded.
    ArpGratuitous => "arp_gratuitous",
    /// No binding for the target address in the VLAN.
    ArpUnknownTarget => "arp_unknown_target",
    /// The target is bound, but Interstellar rules forbid the sender to reach it.
    ArpTargetIsolated => "arp_target_isolated",
    /// RARP/DRARP asked for a hardware address that is not the port's.
    ArpForeignTarget => "arp_foreign_target",
    /// RARP asked for the port's own address but the port has no binding.
    ArpNoBinding => "arp_no_binding",
    /// A server-side operation (RARP reply, DRARP reply/error, ARP-NAK) sent
    /// by a VM.
    ArpServerOpFromVm => "arp_server_op_from_vm",
    /// Operation code outside 1..=10.
    ArpUnknownOpcode => "arp_unknown_opcode",
    /// IP source guard: an IPv4 or IPv6 source that is not the port's
    /// binding for the frame's source MAC (0.0.0.0 only for a DHCP client,
    /// `::` only for duplicate address detection and MLDv2 reports).
    IpSpoofedSource => "ip_spoofed_source",
    /// IP source guard: IPv4 header cut off or not version 4; IPv6 header,
    /// extension header chain or neighbour discovery message cut off, or
    /// not version 6.
    IpMalformed => "ip_malformed",
    /// Neighbour discovery not held to the bindings: an advertisement for
    /// a target not bound to the sender's MAC, a link-layer address option
    /// other than the frame's source, a DAD probe for a foreign address.
    NdSpoofed => "nd_spoofed",
    /// A Router Advertisement or Redirect from an ARPless (host) port: only
    /// routers send them (RA guard, RFC 6105).
    NdRouterMessage => "nd_router_message",
    /// The caller's reply buffer cannot hold the reply.
    ReplyBufferTooSmall => "reply_buffer_too_small",
    /// DHCP (UDP to port 67 on a DHCP port) whose IPv4, UDP or DHCP framing
    /// is cut off or invalid, a fragment, or a REQUEST naming no address.
    DhcpMalformed => "dhcp_malformed",
    /// A DHCP server's message (BOOTREPLY, OFFER/ACK/NAK, or UDP from port
    /// 67) sent by a VM: a rogue server.
    DhcpServerMessage => "dhcp_server_message",
    /// A DHCP message type the responder does not serve (lease queries...).
    DhcpUnknownMessage => "dhcp_unknown_message",
    /// A DHCP client hardware address that is not one of the port's MACs.
    DhcpForeignClient => "dhcp_foreign_client",
    /// A DHCP client MAC of the port's with no binding in the VLAN: dropped,
    /// not NAKed (docs/dhcp.md).
    DhcpUnboundClient => "dhcp_unbound_client",
    /// A DHCPREQUEST naming another server: the client chose it.
    DhcpOtherServer => "dhcp_other_server",
    /// A DHCPINFORM from an address that is not the client's binding.
    DhcpWrongAddress => "dhcp_wrong_address",
    /// DHCPRELEASE: consumed; bindings are static, nothing to free.
    DhcpRelease => "dhcp_release",
    /// DHCPDECLINE: the client found its address in use; consumed.
    DhcpDecline => "dhcp_decline",
}

impl core::fmt::Display for DropReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for r in DropReason::ALL {
            let l = r.as_str();
            assert!(seen.insert(l), "duplicate label {l}");
            assert!(!l.is_empty());
            assert!(
                l.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{l}"
            );
        }
        assert_eq!(DropReason::ALL.len(), 37);
        assert_eq!(DropReason::VlanTooDeep.as_str(), "vlan_too_deep");
        assert_eq!(
            DropReason::ArpUnknownOpcode.to_string(),
            "arp_unknown_opcode"
        );
    }
}
