//! The egress half of the per-frame decision: how a frame classified by
//! [`crate::frame::classify_prepared`] leaves through one port. A pure
//! function of the snapshot and the frame's facts, like the ingress half,
//! so the filters plug in at one layer and both halves are unit tested and
//! benchmarked without mbufs.
#![forbid(unsafe_code)]

use crate::frame::{is_multicast, FilterDropReason, FrameFacts};
use crate::snapshot::ForwardingSnapshot;
use crate::PortIndex;
use satellite_filters::{
    egress_address_check, egress_checks_addresses, vlan::egress_action, EgressFrame,
    InterstellarMac, MacAddr, TagAction,
};

/// How a frame leaves through `port`: the tag rewrite it needs, or the
/// reason the port's egress filter (or VLAN mapping) refuses it.
///
/// `macs` are the frame's source and destination ([`MacAddr::to_u64`]
/// words, as [`crate::frame::Prepared::macs`] gives them). Ports with an
/// edge policy run `filter_egress` in its two halves: most frames need only
/// the VLAN one, and the frame description the address half reads (MACs as
/// bytes, the sender's Interstellar) is built only for the frames it
/// checks. Ports without one map VLANs transparently.
#[inline(always)]
pub fn egress_decision(
    snap: &ForwardingSnapshot,
    port: PortIndex,
    facts: &FrameFacts,
    macs: (u64, u64),
) -> Result<TagAction, FilterDropReason> {
    let Some((policy, tables)) = snap.policy(port) else {
        if facts.vid == 0 || facts.outer_tagged {
            return Ok(TagAction::None);
        }
        return egress_action(facts.vid, facts.outer_tagged, &snap.transparent);
    };
    let action = egress_action(facts.vid, facts.outer_tagged, policy.mode())?;
    let (src, dst) = macs;
    if !egress_checks_addresses(policy, is_multicast(dst)) {
        return Ok(action);
    }
    let (src, dst) = (MacAddr::from_u64(src), MacAddr::from_u64(dst));
    let frame = EgressFrame {
        src,
        dst,
        vid: facts.vid,
        outer_tagged: facts.outer_tagged,
        // From a fabric or plain port the sender's Interstellar is read
        // from its MAC, which carries it by design.
        sender_iid: facts
            .sender_iid
            .or_else(|| InterstellarMac::decompose(src).map(|(i, _)| i)),
    };
    egress_address_check(&frame, policy, tables).map(|()| action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fdb::Fdb;
    use crate::snapshot::SnapshotBuilder;
    use satellite_filters::{
        filter_egress, EdgePortPolicy, EgressVerdict, FilterTables, InterstellarId,
        InterstellarPolicy, PortMode, VidSet, VlanTag, VmIndex,
    };
    use std::sync::Arc;

    fn facts(vid: u16, outer_tagged: bool) -> FrameFacts {
        FrameFacts {
            vid,
            outer_tagged,
            ingress_action: TagAction::None,
            sender_iid: None,
        }
    }

    fn with_policy(policy: Option<EdgePortPolicy>) -> ForwardingSnapshot {
        let fdb = Fdb::new(16, 16, 300);
        let mut b = SnapshotBuilder::new(2);
        b.policies = vec![None, policy.map(Arc::new)];
        b.filters = Some(Arc::new(FilterTables::default()));
        b.build(1, fdb.view())
    }

    const A: u64 = 0x0200_0000_000A;
    const B: u64 = 0x0200_0000_000B;

    #[test]
    fn plain_ports_pass_tagged_and_untagged_frames_unchanged() {
        let s = with_policy(None);
        assert_eq!(
            egress_decision(&s, 1, &facts(0, false), (A, B)),
            Ok(TagAction::None)
        );
        assert_eq!(
            egress_decision(&s, 1, &facts(10, true), (A, B)),
            Ok(TagAction::None)
        );
        // A trunk's native VLAN entered untagged: a plain port tags it.
        assert_eq!(
            egress_decision(&s, 1, &facts(30, false), (A, B)),
            Ok(TagAction::Push(VlanTag {
                tpid: 0x8100,
                pcp: 0,
                dei: false,
                vid: 30
            }))
        );
    }

    /// Whatever the port and frame, the decision is `filter_egress`'s.
    #[test]
    fn edge_ports_decide_as_filter_egress_does() {
        let iid = InterstellarId::new(7).unwrap();
        let other = InterstellarId::new(8).unwrap();
        let vm = |i, n| InterstellarMac::compose(i, VmIndex::new(n).unwrap());
        let policies = [
            EdgePortPolicy::builder(PortMode::Access { vid: 10 })
                .build()
                .unwrap(),
            EdgePortPolicy::builder(PortMode::Trunk {
                allowed: [10, 20].into_iter().collect::<VidSet>(),
                native: Some(30),
            })
            .build()
            .unwrap(),
            EdgePortPolicy::builder(PortMode::Access { vid: 10 })
                .macs([vm(iid, 1)])
                .interstellar(InterstellarPolicy::new(iid, [], []))
                .build()
                .unwrap(),
        ];
        let srcs = [vm(iid, 2), vm(other, 2), MacAddr([2, 0, 0, 0, 0, 9])];
        let dsts = [vm(iid, 1), MacAddr::BROADCAST];
        for policy in policies {
            let s = with_policy(Some(policy.clone()));
            let tables = FilterTables::default();
            for src in srcs {
                for dst in dsts {
                    for (vid, tagged) in
                        [(10, true), (10, false), (20, true), (30, false), (5, true)]
                    {
                        let f = facts(vid, tagged);
                        let got = egress_decision(&s, 1, &f, (src.to_u64(), dst.to_u64()));
                        let ef = EgressFrame {
                            src,
                            dst,
                            vid,
                            outer_tagged: tagged,
                            sender_iid: InterstellarMac::decompose(src).map(|(i, _)| i),
                        };
                        let want = match filter_egress(&ef, &policy, &tables) {
                            EgressVerdict::Transmit(a) => Ok(a),
                            EgressVerdict::Drop(r) => Err(r),
                        };
                        assert_eq!(got, want, "{policy:?} {src} {dst} {vid} {tagged}");
                    }
                }
            }
        }
    }
}
