//! Verdicts: every frame the filters touch ends in exactly one named
//! outcome ([`DropReason`] names the drops).

use core::net::Ipv4Addr;

pub use crate::drop_reason::DropReason;
use crate::interstellar::InterstellarId;
use crate::mac::MacAddr;
use crate::vlan::{TagAction, Vid};

/// What the worker learns about a frame that passed ingress, so it does not
/// parse the header twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IngressClass {
    /// The VLAN the frame belongs to inside the switch; the FDB key.
    pub vid: Vid,
    /// True when, after `action`, the outermost tag in the buffer carries
    /// `vid` (egress pops it where the port wants the frame untagged).
    pub outer_tagged: bool,
    /// Rewrite to apply before forwarding (tunnel ports push their S-tag).
    pub action: TagAction,
    /// Destination MAC.
    pub dst: MacAddr,
    /// Source MAC.
    pub src: MacAddr,
    /// EtherType after the VLAN stack.
    pub ether_type: u16,
    /// Offset of the payload after the stack, in the frame as received.
    pub payload_offset: usize,
    /// IID of the ingress port when it is an Interstellar port: scopes the
    /// frame's broadcast/multicast to that Interstellar on egress.
    pub sender_iid: Option<InterstellarId>,
}

/// What [`crate::filter_egress`] needs to know about a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EgressFrame {
    /// Source MAC.
    pub src: MacAddr,
    /// Destination MAC.
    pub dst: MacAddr,
    /// VLAN of the frame inside the switch.
    pub vid: Vid,
    /// Whether the outermost tag in the buffer carries `vid`.
    pub outer_tagged: bool,
    /// IID of the Interstellar port the frame entered the network on, if
    /// any. For frames from fabric ports the data plane supplies it from
    /// what it knows of the source (e.g. its MAC home is a VM port), else `None`.
    pub sender_iid: Option<InterstellarId>,
}

impl From<&IngressClass> for EgressFrame {
    fn from(c: &IngressClass) -> EgressFrame {
        EgressFrame {
            src: c.src,
            dst: c.dst,
            vid: c.vid,
            outer_tagged: c.outer_tagged,
            sender_iid: c.sender_iid,
        }
    }
}

/// The outcome of [`crate::filter_ingress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterVerdict {
    /// Forward the frame (FDB lookup on `class.vid`).
    Pass(IngressClass),
    /// Transmit the `len` bytes written into the reply buffer back out of the
    /// ingress port only, and consume the original frame.
    Reply {
        /// Bytes of the reply frame at the start of the reply buffer.
        len: usize,
    },
    /// Learn-once: ask the control plane to install this binding for the
    /// ingress port (the snapshot is immutable). If `reply_len` is set, the
    /// reply buffer also holds an answer to send back on the ingress port.
    /// The original frame is consumed either way.
    Learn {
        /// VLAN of the binding.
        vid: Vid,
        /// IPv4 address the port claimed first.
        ip: Ipv4Addr,
        /// MAC it claimed it for (one of the port's MACs).
        mac: MacAddr,
        /// Length of a reply written into the reply buffer, if any.
        reply_len: Option<usize>,
    },
    /// Discard the frame and count it under this reason.
    Drop(DropReason),
}

impl FilterVerdict {
    /// Metrics label of the verdict: `pass`, `reply`, `learn`, or the drop
    /// reason's label.
    pub const fn label(&self) -> &'static str {
        match self {
            FilterVerdict::Pass(_) => "pass",
            FilterVerdict::Reply { .. } => "reply",
            FilterVerdict::Learn { .. } => "learn",
            FilterVerdict::Drop(r) => r.as_str(),
        }
    }
}

/// The outcome of [`crate::filter_egress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EgressVerdict {
    /// Transmit on the port after applying the tag rewrite.
    Transmit(TagAction),
    /// Do not transmit on this port; count under this reason.
    Drop(DropReason),
}
