use super::*;
use serde_json::json;

/// System ID of switch `i` (1-based, as the walkthroughs name them).
fn sys(i: u8) -> String {
    format!("02:00:00:00:00:{i:02x}")
}

fn bid(i: u8) -> String {
    let prio = if i == 1 { "7000" } else { "8000" };
    format!("{prio}.{}", sys(i))
}

/// A ring of three: s1 -p0/p1- s2 -p0/p1- s3 -p0/p1- s1 (port 1 of each
/// toward the next). `dead` is a switch that is unreachable and whose
/// neighbours no longer advertise it.
fn lsdb(dead: Option<u8>) -> Value {
    let origins: Vec<Value> = (1..=3u8)
        .map(|i| {
            let next = i % 3 + 1;
            let prev = (i + 1) % 3 + 1;
            let mut adj = vec![];
            if dead != Some(next) {
                adj.push(
                    json!({"neighbour": sys(next), "local_port": 1, "remote_port": 0, "cost": 10}),
                );
            }
            if dead != Some(prev) {
                adj.push(
                    json!({"neighbour": sys(prev), "local_port": 0, "remote_port": 1, "cost": 10}),
                );
            }
            json!({"origin": sys(i), "hostname": format!("s{i}"), "reachable": dead != Some(i),
                   "bridge_id": bid(i), "adjacencies": adj})
        })
        .collect();
    json!({ "origins": origins })
}

/// Switch i's own view with its two ring ports' roles and states.
fn view(i: u8, ports: [(&str, &str); 2], dead: Option<u8>) -> View {
    let pv: Vec<Value> = ports
        .iter()
        .enumerate()
        .map(|(k, (role, state))| {
            json!({"port": k + 1, "name": format!("f{k}"), "role": role, "state": state,
                   "edge": false,
                   "designated_bridge": if *role == "designated" { bid(i) } else { bid(1) }})
        })
        .collect();
    View {
        stp: Some(json!({"bridge_id": bid(i), "root_id": bid(1), "ports": pv})),
        sstp: Some(json!({"system": sys(i), "hostname": format!("s{i}")})),
        lsdb: Some(lsdb(dead)),
        stats: Some(json!({"bridge": format!("s{i}"), "ports": [
            {"name": "f0", "rx_packets": 100, "tx_packets": 50},
            {"name": "f1", "rx_packets": 7, "tx_packets": 3}]})),
    }
}

fn link(t: &Topology, x: u8, y: u8) -> &Link {
    t.links
        .iter()
        .find(|l| {
            let ends = [l.a.bridge.as_str(), l.b.bridge.as_str()];
            ends.contains(&sys(x).as_str()) && ends.contains(&sys(y).as_str())
        })
        .unwrap_or_else(|| panic!("no link s{x}-s{y} in {t:#?}"))
}

#[test]
fn one_daemon_sees_every_switch_and_link_and_the_root() {
    let t = Topology::build(&[view(
        2,
        [("root", "forwarding"), ("designated", "forwarding")],
        None,
    )]);
    assert_eq!(t.bridges.len(), 3);
    assert_eq!(t.links.len(), 3, "{t:#?}");
    assert!(t.links.iter().all(|l| l.up && l.cost == Some(10)));
    assert_eq!(t.root.as_deref(), Some(bid(1).as_str()));
    let roots: Vec<&str> = t
        .bridges
        .iter()
        .filter(|b| b.root)
        .map(|b| b.id.as_str())
        .collect();
    assert_eq!(roots, [sys(1).as_str()]);
    // Only the asked switch's ports carry roles and load.
    let l = link(&t, 1, 2);
    let mine = if l.a.bridge == sys(2) { &l.a } else { &l.b };
    assert_eq!(mine.role.as_deref(), Some("root"));
    assert_eq!(mine.port_name.as_deref(), Some("f0"));
    assert_eq!(l.packets, Some(150));
    assert!(link(&t, 1, 3).a.role.is_none() && link(&t, 1, 3).b.role.is_none());
}

#[test]
fn merged_views_mark_the_blocked_link() {
    let t = Topology::build(&[
        view(
            1,
            [("designated", "forwarding"), ("designated", "forwarding")],
            None,
        ),
        view(
            2,
            [("root", "forwarding"), ("designated", "forwarding")],
            None,
        ),
        view(
            3,
            [("alternate", "discarding"), ("root", "forwarding")],
            None,
        ),
    ]);
    let blocked: Vec<_> = t.links.iter().filter(|l| l.blocked).collect();
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0], link(&t, 2, 3));
    assert!(t.bridges.iter().all(|b| b.viewed));
}

#[test]
fn a_dead_switch_is_drawn_unreachable_with_its_links_down() {
    let t = Topology::build(&[view(1, [("designated", "forwarding"); 2], Some(3))]);
    let s3 = t.bridges.iter().find(|b| b.id == sys(3)).unwrap();
    assert!(!s3.reachable);
    assert!(link(&t, 1, 2).up);
    assert!(!link(&t, 1, 3).up && !link(&t, 2, 3).up);
    let dot = t.to_dot();
    assert!(dot.contains("style=\"rounded,dashed\" color=grey"), "{dot}");
    assert_eq!(dot.matches("style=dotted").count(), 2, "{dot}");
}

#[test]
fn dot_names_every_switch_and_link_and_marks_the_root() {
    let t = Topology::build(&[
        view(
            1,
            [("designated", "forwarding"), ("designated", "forwarding")],
            None,
        ),
        view(
            3,
            [("alternate", "discarding"), ("root", "forwarding")],
            None,
        ),
    ]);
    let dot = t.to_dot();
    assert!(dot.starts_with("graph satellite {") && dot.ends_with("}\n"));
    for i in 1..=3 {
        assert!(
            dot.contains(&format!("\"{}\" [label=\"s{i}\\n{}", sys(i), bid(i))),
            "{dot}"
        );
    }
    assert_eq!(dot.matches(" -- ").count(), 3);
    assert_eq!(dot.matches("fillcolor=gold").count(), 1);
    assert!(dot.contains("root\" fillcolor=gold"), "{dot}");
    assert!(dot.contains("f0 alternate/disc"), "{dot}");
    assert_eq!(dot.matches("color=red").count(), 1, "{dot}");
    // The root is the tail of every tree link it is on: dot ranks it first.
    for line in dot
        .lines()
        .filter(|l| l.contains(" -- ") && l.contains(&sys(1)))
    {
        assert!(
            line.trim_start().starts_with(&format!("\"{}\"", sys(1))),
            "{line}"
        );
    }
}

#[test]
fn dot_strings_are_quoted() {
    assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    assert_eq!(si(1234.0), "1.2k");
    assert_eq!(si(12.0), "12");
    assert_eq!(si(3.5e6), "3.5M");
}

#[test]
fn json_round_trips_and_rates_come_from_two_samples() {
    let v = view(
        2,
        [("root", "forwarding"), ("designated", "forwarding")],
        None,
    );
    let before = Topology::build(std::slice::from_ref(&v));
    let mut later = v.clone();
    later.stats = Some(json!({"bridge": "s2", "ports": [
        {"name": "f0", "rx_packets": 300, "tx_packets": 50},
        {"name": "f1", "rx_packets": 7, "tx_packets": 3}]}));
    let mut t = Topology::build(&[later]);
    t.rates_since(&before, 2.0);
    assert_eq!(link(&t, 1, 2).packets_per_sec, Some(100.0));
    assert_eq!(link(&t, 2, 3).packets_per_sec, Some(0.0));
    let back: Topology = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
    assert_eq!(back, t);
    assert!(t.to_dot().contains("100 pkt/s"));
}

#[test]
fn a_bridge_outside_the_link_state_is_drawn_from_its_bpdus() {
    let mut v = view(
        2,
        [("root", "forwarding"), ("designated", "forwarding")],
        None,
    );
    v.lsdb = None;
    v.sstp = None;
    v.stp.as_mut().unwrap()["ports"][0]["designated_bridge"] = json!("8000.02:aa:00:00:00:01");
    let t = Topology::build(&[v]);
    let k = t
        .bridges
        .iter()
        .find(|b| b.id == "02:aa:00:00:00:01")
        .unwrap();
    assert!(!k.satellite);
    assert_eq!(t.links.len(), 1);
    assert!(t.to_dot().contains("shape=ellipse"));
}

#[test]
fn a_cut_off_switch_asked_too_does_not_bring_back_its_stale_links() {
    // s3 is cut off: it still holds s1's and s2's old LSPs naming it, and
    // calls itself root.
    let mut cut = view(3, [("designated", "disabled"); 2], None);
    cut.stp.as_mut().unwrap()["root_id"] = json!(bid(3));
    let t = Topology::build(&[view(1, [("designated", "forwarding"); 2], Some(3)), cut]);
    let s3 = t.bridges.iter().find(|b| b.id == sys(3)).unwrap();
    assert!(!s3.reachable && s3.viewed && !s3.root);
    assert_eq!(
        t.root.as_deref(),
        Some(bid(1).as_str()),
        "a tie goes to the first view"
    );
    assert!(!link(&t, 1, 3).up && !link(&t, 2, 3).up && link(&t, 1, 2).up);
}
