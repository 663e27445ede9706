//! What the source guards' tests share (IPv4 in `source_guard`, IPv6 in
//! `ipv6_guard`): the VM and its peer, an Ethernet frame around a packet,
//! and the verdict `filter_ingress` gives it.

use crate::policy::{EdgePortPolicy, FilterTables};
use crate::verdict::{DropReason, FilterVerdict};
use crate::{filter_ingress, MacAddr, REPLY_BUF_LEN};

/// The VM on the port under test.
pub const VM: MacAddr = MacAddr([0x02, 0, 0, 0x04, 0, 1]);
/// Where its frames go.
pub const PEER: MacAddr = MacAddr([0x02, 0, 0, 0x04, 0, 2]);

/// A frame from `src` to [`PEER`] behind the 802.1Q tags `tags`.
pub fn frame(src: MacAddr, tags: &[u16], ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&PEER.0);
    f.extend_from_slice(&src.0);
    for vid in tags {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&vid.to_be_bytes());
    }
    f.extend_from_slice(&ether_type.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Passed (`Ok`) or dropped (`Err` with the reason); anything else panics.
pub fn verdict(f: &[u8], p: &EdgePortPolicy) -> Result<(), DropReason> {
    let mut buf = [0u8; REPLY_BUF_LEN];
    match filter_ingress(f, p, &FilterTables::default(), &mut buf) {
        FilterVerdict::Pass(_) => Ok(()),
        FilterVerdict::Drop(r) => Err(r),
        other => panic!("unexpected {other:?}"),
    }
}
