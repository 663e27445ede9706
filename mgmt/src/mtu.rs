//! The fabric's MTU against its hosts'. A frame one Satellite switch
//! routes to another carries the 6-octet unicast tag (docs/sstp.md,
//! "Unicast tag"), so a fabric link must carry 6 octets more than the
//! largest frame a host sends; otherwise a host's full-size frame routed
//! across the fabric is lost on the fabric link, silently, by the kernel
//! or the NIC. The switch cannot fix an interface's MTU for the operator,
//! so it says so at start-up, naming the ports.

use crate::config::{Config, PortKind};
use tracing::warn;

/// Octets the unicast tag adds on fabric links.
pub(crate) const UNICAST_TAG_LEN: u32 = 6;

/// For each fabric port whose MTU is below the largest host port's plus
/// the tag: (fabric port, its MTU, the MTU it needs).
pub(crate) fn shortfalls(fabric: &[(&str, u32)], hosts: &[(&str, u32)]) -> Vec<(String, u32, u32)> {
    let Some(need) = hosts.iter().map(|h| h.1 + UNICAST_TAG_LEN).max() else {
        return Vec::new();
    };
    fabric
        .iter()
        .filter(|f| f.1 < need)
        .map(|f| (f.0.to_string(), f.1, need))
        .collect()
}

/// A kernel interface's MTU, when the port is one and sysfs has it.
fn kernel_mtu(name: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Warns about every fabric port too small for the unicast tag (kernel
/// interfaces only: a DPDK or vhost-user device's MTU is not read here).
pub(crate) fn check(cfg: &Config) {
    let kernel = |kind: PortKind| -> Vec<(&str, u32)> {
        cfg.ports
            .iter()
            .filter(|p| p.kind == kind && !p.dpdk && !p.is_vhost())
            .filter_map(|p| kernel_mtu(&p.name).map(|m| (p.name.as_str(), m)))
            .collect()
    };
    let (fabric, hosts) = (kernel(PortKind::Fabric), kernel(PortKind::Edge));
    for (port, mtu, need) in shortfalls(&fabric, &hosts) {
        warn!(
            port = %port, mtu, need,
            "fabric port MTU too small for the unicast tag: host frames of full size \
             routed across it will be lost; set its MTU to {need} or more"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fabric_port_needs_the_largest_host_mtu_plus_the_tag() {
        let hosts = [("h0", 1500), ("h1", 9000)];
        let fabric = [("f0", 9006), ("f1", 9000), ("f2", 1506)];
        assert_eq!(
            shortfalls(&fabric, &hosts),
            vec![
                ("f1".to_string(), 9000, 9006),
                ("f2".to_string(), 1506, 9006)
            ]
        );
        assert!(shortfalls(&fabric, &[]).is_empty(), "no hosts, no need");
        assert!(shortfalls(&[("f0", 1506)], &[("h0", 1500)]).is_empty());
    }
}
