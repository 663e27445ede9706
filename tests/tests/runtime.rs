//! Run-time changes of a running switch: ports added and removed with
//! `satctl port add|del`, and the configuration reloaded (`satctl reload`,
//! SIGHUP), while a probe stream between two other ports must lose
//! nothing and see nothing twice.

use satellite_e2e::probe::{Report, Stream};
use satellite_e2e::*;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// `satctl -s SOCKET ARGS`, whatever its exit status.
fn satctl(socket: &Path, args: &str) -> Output {
    run(&format!(
        "{} -s {} {args}",
        bin("satctl").display(),
        socket.display()
    ))
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Port names `show ports` lists.
fn port_names(socket: &Path) -> Vec<String> {
    satctl_json(socket, "show ports")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect()
}

/// Checks a probe report: everything sent arrived, once.
fn assert_lossless(r: &Report, what: &str, log: &str) {
    assert!(
        r.end_seen,
        "{what}: the end of the stream never arrived: {r:?}"
    );
    assert!(r.sent > 1000, "{what}: too short a stream to tell: {r:?}");
    assert_eq!(
        r.lost, 0,
        "{what}: lost {} of {}: {r:?}\n{log}",
        r.lost, r.sent
    );
    assert_eq!(r.duplicates, 0, "{what}: duplicates: {r:?}\n{log}");
}

/// A host namespace `name` with `eth0` (10.0.0.`n`/24) linked to `port`
/// in the switch's namespace.
fn host(name: &str, n: u8, sw: &Netns, port: &str) -> (Netns, Veth) {
    let h = Netns::new(name);
    let link = Veth::new("eth0", Some(&h), port, Some(sw));
    h.sh(&format!("ip link set eth0 address 02:00:00:00:01:{n:02x}"));
    h.sh(&format!("ip addr add 10.0.0.{n}/24 dev eth0"));
    (h, link)
}

/// A stream of 1,000 datagrams a second from host 0 to host 1 of `lab`.
fn stream(lab: &StarLab, secs: u64, tag: &str) -> Stream {
    assert!(
        lab.ping(0, 1),
        "hosts 0 and 1 cannot talk before the change"
    );
    Stream::start(
        &lab.hosts[0],
        &lab.hosts[1],
        "10.0.0.2:5001".parse().expect("address"),
        1000,
        Duration::from_secs(secs),
        &lab.scratch.join(tag),
    )
}

#[test]
fn a_port_added_and_removed_at_run_time_costs_the_other_ports_nothing() {
    require_root!();
    let lab = StarLab::new(2, &[]);
    let tag = lab.sw.name.trim_end_matches("sw").to_string();
    // The third host's cable is there before its port is.
    let (h2, _link) = host(&format!("{tag}h2"), 3, &lab.sw, "p2");
    let s = stream(&lab, 12, "add-del");
    std::thread::sleep(Duration::from_secs(2));

    let add = satctl(&lab.socket, "port add p2 --kind edge");
    assert!(add.status.success(), "port add: {}", text(&add));
    assert!(
        String::from_utf8_lossy(&add.stdout).contains("port p2 added"),
        "{}",
        text(&add)
    );
    assert!(port_names(&lab.socket).contains(&"p2".to_string()));
    let reached = wait_until(Duration::from_secs(10), || {
        h2.run("ping -c 1 -W 1 10.0.0.1").status.success()
    });
    assert!(
        reached,
        "the host on the added port is not reachable\n{}",
        lab.daemon.log_text()
    );
    let stats = lab.satctl("show stats");
    assert_eq!(stats["changes"]["ports_added"], 1, "{}", stats["changes"]);

    std::thread::sleep(Duration::from_secs(2));
    let del = satctl(&lab.socket, "port del p2");
    assert!(del.status.success(), "port del: {}", text(&del));
    assert!(!port_names(&lab.socket).contains(&"p2".to_string()));
    assert!(
        !h2.run("ping -c 1 -W 1 10.0.0.1").status.success(),
        "the removed port still forwards"
    );

    let r = s.finish();
    eprintln!("add/del stream: {}", r.summary());
    assert_lossless(
        &r,
        "host 0 -> host 1 across port add and del",
        &lab.daemon.log_text(),
    );
    // The port comes back as often as it goes.
    let again = satctl(&lab.socket, "port add p2 --kind edge");
    assert!(again.status.success(), "second add: {}", text(&again));
    let metrics = run(&format!(
        "ip netns exec {} curl -s 127.0.0.1:{}/metrics",
        lab.sw.name, lab.metrics_port
    ));
    let m = String::from_utf8_lossy(&metrics.stdout);
    assert!(
        m.contains("satellite_port_changes_total{change=\"added\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("satellite_port_changes_total{change=\"removed\"} 1"),
        "{m}"
    );
    assert!(lab.daemon.log_text().contains("port added"));
}

#[test]
fn port_changes_that_cannot_be_made_are_refused_and_change_nothing() {
    require_root!();
    let mut lab = StarLab::new(1, &[]);
    let before = port_names(&lab.socket);
    for (args, says) in [
        ("port add nosuch0", "no such network interface"),
        ("port add p0", "already a port"),
        ("port del nosuch0", "no port \"nosuch0\""),
        ("port del p0", "last port"),
    ] {
        let o = satctl(&lab.socket, args);
        assert!(!o.status.success(), "`{args}` succeeded: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(says),
            "`{args}`: expected {says:?}: {}",
            text(&o)
        );
    }
    assert_eq!(port_names(&lab.socket), before);
    assert!(
        lab.daemon.alive(),
        "the daemon died: {}",
        lab.daemon.log_text()
    );
}

/// What stands behind switch A's fabric port: switch B in its own
/// namespace. Field order is drop order: B stops before its cable and
/// namespace go.
struct SwitchB {
    _daemon: Proc,
    socket: std::path::PathBuf,
    _cable: Veth,
    _ns: Netns,
}

/// Starts switch B (one port, `f0`, default priority 32768) cabled to
/// `f0` in `a`'s namespace; B runs before A so A's fabric port meets a
/// spanning tree at once.
fn switch_b(a: &Netns, scratch: &Scratch) -> SwitchB {
    let ns = Netns::new(&format!("{}b", a.name));
    let cable = Veth::new("f0", Some(a), "f0", Some(&ns));
    let socket = scratch.join("b.sock");
    let daemon = ns.spawn(
        &bin("satellited"),
        &[
            "--name",
            &ns.name,
            "--socket",
            &socket.display().to_string(),
            "--iface",
            "f0",
        ],
        &scratch.join("b.log"),
    );
    assert!(
        satctl_answers(&socket, Duration::from_secs(20)),
        "switch B did not start"
    );
    SwitchB {
        _daemon: daemon,
        socket,
        _cable: cable,
        _ns: ns,
    }
}

/// Switch A's file: hosts on edge ports p0 and p1, switch B on fabric f0.
fn a_config(priority: u32) -> String {
    format!(
        "[stp]\npriority = {priority}\n\
         [[port]]\nname = \"p0\"\nkind = \"edge\"\n\
         [[port]]\nname = \"p1\"\nkind = \"edge\"\n\
         [[port]]\nname = \"f0\"\nkind = \"fabric\"\n"
    )
}

fn stp(socket: &Path) -> (String, String) {
    let v = satctl_json(socket, "show stp");
    (
        v["bridge_id"].as_str().unwrap_or_default().to_string(),
        v["root_id"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn reload_moves_the_root_by_priority_without_loss_elsewhere() {
    require_root!();
    let files = Scratch::new("rl");
    let config = files.join("a.toml");
    std::fs::write(&config, a_config(61440)).expect("config");
    let cfg_arg = config.display().to_string();
    let (lab, b) = StarLab::new_with(2, &["--config", &cfg_arg], |sw| switch_b(sw, &files));
    let (a_id, _) = stp(&lab.socket);
    let (b_id, _) = stp(&b.socket);
    let b_is_root = wait_until(Duration::from_secs(10), || stp(&lab.socket).1 == b_id);
    assert!(
        b_is_root,
        "B (32768) never became root over A (61440): A says {:?}",
        stp(&lab.socket)
    );

    let s = stream(&lab, 14, "reload");
    std::thread::sleep(Duration::from_secs(2));
    std::fs::write(&config, a_config(4096)).expect("config");
    let o = satctl(&lab.socket, "reload --json");
    assert!(o.status.success(), "reload: {}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["bridge_priority"], 4096, "{v}");
    let a_root = wait_until(Duration::from_secs(10), || {
        stp(&lab.socket).1 == stp(&lab.socket).0 && stp(&b.socket).1 != b_id
    });
    let (a_now, root_now) = stp(&lab.socket);
    assert!(
        a_root,
        "A did not become root: A {a_now} root {root_now}, B says {:?}\n{}",
        stp(&b.socket),
        lab.daemon.log_text()
    );
    assert_ne!(a_now, a_id, "A's bridge ID carries the new priority");
    assert_eq!(stp(&b.socket).1, a_now, "B agrees A is root");

    // SIGHUP does the same: back to 61440, B is root again.
    std::fs::write(&config, a_config(61440)).expect("config");
    let pid = nix::unistd::Pid::from_raw(lab.daemon.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
    let back = wait_until(Duration::from_secs(10), || stp(&lab.socket).1 == b_id);
    assert!(back, "SIGHUP did not reload: A says {:?}", stp(&lab.socket));

    // A's root port goes at run time: A is its own root again, and B's
    // link state sees the adjacency go.
    let up = |v: &serde_json::Value| {
        v["adjacencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["state"] == "up")
            .count()
    };
    let synced = wait_until(Duration::from_secs(5), || {
        up(&satctl_json(&b.socket, "show sstp")) == 1
    });
    assert!(
        synced,
        "no SSTP adjacency between A and B: {}",
        satctl_json(&b.socket, "show sstp")
    );
    let del = satctl(&lab.socket, "port del f0");
    assert!(del.status.success(), "port del f0: {}", text(&del));
    let alone = wait_until(Duration::from_secs(5), || {
        let (id, root) = stp(&lab.socket);
        id == root && up(&satctl_json(&b.socket, "show sstp")) == 0
    });
    assert!(
        alone,
        "after removing its root port A says {:?}, B's link state {}",
        stp(&lab.socket),
        satctl_json(&b.socket, "show sstp")
    );

    let r = s.finish();
    eprintln!("reload stream: {}", r.summary());
    assert_lossless(
        &r,
        "host 0 -> host 1 across two reloads",
        &lab.daemon.log_text(),
    );
    let changes = lab.satctl("show stats")["changes"].clone();
    assert_eq!(changes["reloads"], 2, "{changes}");
    assert!(lab.daemon.log_text().contains("configuration reloaded"));
    drop(b);
}

#[test]
fn an_invalid_file_is_refused_with_its_line_and_key_and_nothing_changes() {
    require_root!();
    let files = Scratch::new("rf");
    let config = files.join("sw.toml");
    std::fs::write(
        &config,
        "[stp]\npriority = 32768\n[[port]]\nname = \"p0\"\nkind = \"edge\"\n\
         [[port]]\nname = \"p1\"\nkind = \"edge\"\n",
    )
    .expect("config");
    let cfg_arg = config.display().to_string();
    let lab = StarLab::new(2, &["--config", &cfg_arg]);
    let (id_before, _) = stp(&lab.socket);
    let s = stream(&lab, 8, "refused");
    std::thread::sleep(Duration::from_secs(1));
    // A type error (from the parser) and a range error (from the check).
    for (body, line, key) in [
        ("[stp]\npriority = \"high\"\n", 2, "stp.priority"),
        (
            "[fdb]\naging_time = 300\n\n[stp]\npriority = 1000\n",
            5,
            "stp.priority",
        ),
    ] {
        std::fs::write(&config, body).expect("config");
        let o = satctl(&lab.socket, "reload");
        assert!(
            !o.status.success(),
            "an invalid file was taken: {}",
            text(&o)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        let at = format!("{}:{line}: key `{key}`", config.display());
        assert!(err.contains(&at), "expected {at:?} in {}", text(&o));
        assert!(err.contains("running configuration stays"), "{}", text(&o));
    }
    assert_eq!(stp(&lab.socket).0, id_before, "the bridge ID changed");
    assert_eq!(port_names(&lab.socket), vec!["p0", "p1"]);
    let r = s.finish();
    eprintln!("refused-reload stream: {}", r.summary());
    assert_lossless(
        &r,
        "host 0 -> host 1 across refused reloads",
        &lab.daemon.log_text(),
    );
    let changes = lab.satctl("show stats")["changes"].clone();
    assert_eq!(changes["reloads_refused"], 2, "{changes}");
    assert_eq!(changes["reloads"], 0, "{changes}");
}

#[test]
fn reload_adds_and_removes_the_ports_the_file_lists_without_loss_elsewhere() {
    require_root!();
    let files = Scratch::new("rp");
    let config = files.join("sw.toml");
    let ports = |names: &[&str]| -> String {
        names
            .iter()
            .map(|n| format!("[[port]]\nname = \"{n}\"\nkind = \"edge\"\n"))
            .collect()
    };
    std::fs::write(&config, ports(&["p0", "p1"])).expect("config");
    let cfg_arg = config.display().to_string();
    let lab = StarLab::new(2, &["--config", &cfg_arg]);
    let tag = lab.sw.name.trim_end_matches("sw").to_string();
    let (h2, _link) = host(&format!("{tag}h2"), 3, &lab.sw, "p2");
    let s = stream(&lab, 12, "reload-ports");
    std::thread::sleep(Duration::from_secs(2));

    // p2 joins; a key only a restart changes is named, not applied.
    let body = format!("[dataplane]\nworkers = 2\n{}", ports(&["p0", "p1", "p2"]));
    std::fs::write(&config, body).expect("config");
    let o = satctl(&lab.socket, "reload --json");
    assert!(o.status.success(), "reload: {}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["ports_added"], serde_json::json!(["p2"]), "{v}");
    assert_eq!(
        v["restart_needed"],
        serde_json::json!(["dataplane.workers"]),
        "{v}"
    );
    let reached = wait_until(Duration::from_secs(10), || {
        h2.run("ping -c 1 -W 1 10.0.0.1").status.success()
    });
    assert!(reached, "the host on the reloaded port is not reachable");
    assert_eq!(
        lab.satctl("show stats")["workers"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(lab.daemon.log_text().contains("change only at a restart"));

    // p2 leaves again.
    std::thread::sleep(Duration::from_secs(2));
    std::fs::write(&config, ports(&["p0", "p1"])).expect("config");
    let o = satctl(&lab.socket, "reload");
    assert!(o.status.success(), "reload: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("ports removed: p2"), "{}", text(&o));
    assert_eq!(port_names(&lab.socket), vec!["p0", "p1"]);

    let r = s.finish();
    eprintln!("reload-ports stream: {}", r.summary());
    assert_lossless(
        &r,
        "host 0 -> host 1 across ports reloaded in and out",
        &lab.daemon.log_text(),
    );

    // A port of the file removed by hand comes back with the next reload,
    // as at a restart.
    let del = satctl(&lab.socket, "port del p1");
    assert!(del.status.success(), "port del p1: {}", text(&del));
    let o = satctl(&lab.socket, "reload --json");
    assert!(o.status.success(), "reload: {}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["ports_added"], serde_json::json!(["p1"]), "{v}");
    assert_eq!(port_names(&lab.socket), vec!["p0", "p1"]);
    assert!(lab.ping(0, 1), "host 1 is not back after the reload");
}
