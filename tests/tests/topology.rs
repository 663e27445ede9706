//! `satctl show topology` against a running fabric: one daemon's picture
//! names every switch and link of the ring and marks the root; merged
//! with the others' views it marks the one blocked link; the dot text is
//! what Graphviz draws, and a switch that goes down shows as such.

use satellite_e2e::fabric::{system_id, Fabric, Topology};
use satellite_e2e::{bin, require_root, run, sh, wait_until};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

const N: usize = 4;

/// `satctl show topology ARGS` with every `--from` of `from`.
fn topology(f: &Fabric, from: &[usize], args: &str) -> String {
    let socks: String = from
        .iter()
        .map(|&i| format!(" --from {}", f.sockets[i].display()))
        .collect();
    sh(&format!(
        "{} show topology{socks} {args}",
        bin("satctl").display()
    ))
}

fn json(f: &Fabric, from: &[usize]) -> Value {
    let text = topology(f, from, "--format json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{text}"))
}

/// The links of a picture as unordered pairs of (system, port).
fn links(t: &Value) -> BTreeSet<[(String, u64); 2]> {
    t["links"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            let e = |x: &Value| {
                (
                    x["bridge"].as_str().unwrap_or("").to_string(),
                    x["port"].as_u64().unwrap_or(u64::MAX),
                )
            };
            let mut p = [e(&l["a"]), e(&l["b"])];
            p.sort();
            p
        })
        .collect()
}

/// The ring's links as the kit cabled them.
fn want_links(topo: &Topology) -> BTreeSet<[(String, u64); 2]> {
    (0..topo.links.len())
        .map(|k| {
            let (a, b) = topo.links[k];
            let (pa, pb) = topo
                .all_ports(a)
                .into_iter()
                .find(|p| p.3 == k)
                .map(|p| (p.0, p.2))
                .unwrap();
            let mut p = [(system_id(a), pa as u64), (system_id(b), pb as u64)];
            p.sort();
            p
        })
        .collect()
}

fn count(t: &Value, key: &str) -> usize {
    t["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l[key] == true)
        .count()
}

#[test]
fn the_picture_names_every_switch_and_link_marks_the_root_and_the_blocked_link() {
    require_root!();
    let f = Fabric::new(Topology::ring(N), "");
    let all: Vec<usize> = (0..N).collect();
    // Converged: every link up in the link state, one blocked by RSTP.
    let ok = wait_until(Duration::from_secs(60), || {
        let t = json(&f, &all);
        count(&t, "up") == N && count(&t, "blocked") == 1
    });
    assert!(ok, "not converged:\n{}", topology(&f, &all, ""));

    // One daemon alone knows every switch and link, and the root.
    let one = json(&f, &[1]);
    let ids: BTreeSet<&str> = one["bridges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["id"].as_str())
        .collect();
    let want_ids: Vec<String> = (0..N).map(system_id).collect();
    assert_eq!(
        ids,
        want_ids.iter().map(String::as_str).collect(),
        "{one:#}"
    );
    assert_eq!(links(&one), want_links(&f.topo), "{one:#}");
    assert_eq!(count(&one, "up"), N);
    // Every switch has the default priority: the lowest address is root.
    let roots: Vec<&Value> = one["bridges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["root"] == true)
        .collect();
    assert_eq!(roots.len(), 1, "{one:#}");
    assert_eq!(roots[0]["id"], system_id(0).as_str());
    assert!(one["root"].as_str().unwrap().ends_with(&system_id(0)));

    // Merged views carry every port's role: one blocked link, at an
    // alternate port, and the root's ports all designated.
    let merged = json(&f, &all);
    assert_eq!(count(&merged, "blocked"), 1, "{merged:#}");
    for l in merged["links"].as_array().unwrap() {
        for e in [&l["a"], &l["b"]] {
            assert!(e["role"].is_string() && e["port_name"].is_string(), "{l}");
            if e["bridge"] == system_id(0).as_str() {
                assert_eq!(e["role"], "designated", "{l}");
            }
        }
        if l["blocked"] == true {
            let roles = [&l["a"]["role"], &l["b"]["role"]];
            assert!(roles.contains(&&Value::from("alternate")), "{l}");
        }
    }

    // dot: every switch by name, every link, the root filled.
    let dot = topology(&f, &all, "--format dot");
    for i in 0..N {
        assert!(
            dot.contains(&format!("\"{}\" [label=\"{}s{i}", system_id(i), f.tag)),
            "{dot}"
        );
    }
    for [(a, _), (b, _)] in want_links(&f.topo) {
        let pair = |x: &str, y: &str| dot.contains(&format!("\"{x}\" -- \"{y}\""));
        assert!(pair(&a, &b) || pair(&b, &a), "no link {a} -- {b}:\n{dot}");
    }
    assert_eq!(dot.matches(" -- ").count(), N);
    let root_line = dot
        .lines()
        .find(|l| l.contains("fillcolor=gold"))
        .unwrap_or_else(|| panic!("no root in\n{dot}"));
    assert!(root_line.contains(&system_id(0)), "{root_line}");
    assert_eq!(dot.matches("color=red").count(), 1, "{dot}");
    // ... and Graphviz draws it.
    let svg = topology(&f, &all, "--format svg");
    assert!(
        svg.contains("<svg") && svg.contains(&format!("{}s3", f.tag)),
        "{svg}"
    );
    // The text form lists the same links.
    let text = topology(&f, &[0], "");
    println!("{text}\n{dot}");
    assert_eq!(
        text.lines().filter(|l| l.contains(" up ")).count(),
        N,
        "{text}"
    );

    // A switch down: still in the database, drawn unreachable, its two
    // links down, the others up.
    f.switch_down(2);
    let ok = wait_until(Duration::from_secs(30), || {
        let t = json(&f, &[0]);
        let s2 = t["bridges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == system_id(2).as_str())
            .cloned();
        s2.is_some_and(|b| b["reachable"] == false) && count(&t, "up") == N - 2
    });
    let out = run(&format!(
        "{} show topology --from {}",
        bin("satctl").display(),
        f.sockets[0].display()
    ));
    assert!(
        ok,
        "s2 down is not in the picture:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
