//! Generators of regular topologies: ring, 2-D torus, 3-D torus. Each
//! produces a [`Scenario`] whose expectations follow from geometry: the
//! bridge with the lowest address is root, and every bridge's root path
//! cost is its hop distance to the root times the link cost.

use super::scenario::{
    BridgeExpect, BridgeSpec, Expectation, PortSpec, Scenario, SegmentSpec, Step,
};
use crate::wire::MacAddr;
use std::collections::BTreeMap;

/// Cost of every generated link (1 Gb/s in table 17-3).
pub const LINK_COST: u32 = 20_000;

/// Timers used by generated scenarios: the largest Max Age 17.14 allows
/// (40 s, which needs Forward Delay 21 s or more), since the diameter of
/// large rings and tori exceeds the default Max Age of 20 hops.
pub const GEN_MAX_AGE: u16 = 40;
/// Forward Delay paired with [`GEN_MAX_AGE`].
pub const GEN_FORWARD_DELAY: u16 = 21;

fn mac(i: usize) -> MacAddr {
    let i = i as u32 + 1;
    MacAddr([0x02, 0, 0, (i >> 16) as u8, (i >> 8) as u8, i as u8])
}

/// A torus of any dimension: `dims` sizes; a size of 1 or 2 adds no
/// wrap-around link beyond the direct one.
pub fn torus(dims: &[usize], run_s: f64) -> Scenario {
    let n: usize = dims.iter().product();
    let coords = |mut i: usize| {
        let mut c = Vec::with_capacity(dims.len());
        for &d in dims {
            c.push(i % d);
            i /= d;
        }
        c
    };
    let index = |c: &[usize]| {
        let mut i = 0;
        for (k, &d) in dims.iter().enumerate().rev() {
            i = i * d + c[k];
        }
        i
    };
    let name = |i: usize| {
        let c = coords(i);
        format!(
            "B{}",
            c.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("_")
        )
    };
    let mut ports: Vec<Vec<PortSpec>> = vec![Vec::new(); n];
    let mut links = Vec::new();
    for i in 0..n {
        let c = coords(i);
        for (k, &d) in dims.iter().enumerate() {
            if d < 2 || (d == 2 && c[k] == 1) {
                continue;
            }
            let mut c2 = c.clone();
            c2[k] = (c[k] + 1) % d;
            let j = index(&c2);
            let pi = ports[i].len() as u16 + 1;
            let pj = ports[j].len() as u16 + 1;
            for (b, p) in [(i, pi), (j, pj)] {
                ports[b].push(PortSpec {
                    number: p,
                    priority: 128,
                    path_cost: Some(LINK_COST),
                    speed_mbps: None,
                    admin_edge: false,
                    auto_edge: true,
                    point_to_point: None,
                });
            }
            links.push(SegmentSpec {
                name: format!("{}-{}", name(i), name(j)),
                ports: vec![(name(i), pi), (name(j), pj)],
                latency_ms: None,
                loss: 0.0,
                up: true,
            });
        }
    }
    let bridges = (0..n)
        .map(|i| BridgeSpec {
            name: name(i),
            address: mac(i),
            priority: 32768,
            force_version: 2,
            hello_time: 2,
            max_age: GEN_MAX_AGE,
            forward_delay: GEN_FORWARD_DELAY,
            tx_hold_count: 6,
            ports: std::mem::take(&mut ports[i]),
        })
        .collect();
    let mut expect = BTreeMap::new();
    for i in 0..n {
        let hops: usize = coords(i)
            .iter()
            .zip(dims)
            .map(|(&x, &d)| x.min(d - x))
            .sum();
        expect.insert(
            name(i),
            BridgeExpect {
                root: Some(name(0)),
                root_path_cost: Some(hops as u32 * LINK_COST),
                ..Default::default()
            },
        );
    }
    let label = dims
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x");
    Scenario {
        name: format!(
            "generated-{}-{label}",
            if dims.len() == 1 { "ring" } else { "torus" }
        ),
        description: format!("Generated: {n} bridges, root {} by lowest address", name(0)),
        seed: 1,
        latency_ms: 1.0,
        boot_spread_ms: 1000.0,
        sstp: false,
        bridges,
        links,
        lans: Vec::new(),
        steps: vec![
            Step::Run(run_s),
            Step::Expect(Expectation {
                bridges: expect,
                converged_within: None,
                loop_free: true,
            }),
        ],
    }
}

/// A ring of `n` bridges.
pub fn ring(n: usize, run_s: f64) -> Scenario {
    torus(&[n], run_s)
}
