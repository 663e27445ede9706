//! The foundation's end-to-end tests: one satellited switching three host
//! namespaces over AF_PACKET ports on veth pairs.

use satellite_e2e::*;
use std::time::Duration;

fn port_stat(stats: &serde_json::Value, port: &str, field: &str) -> u64 {
    stats["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == port)
        .unwrap_or_else(|| panic!("no port {port} in {stats}"))[field]
        .as_u64()
        .unwrap()
}

fn drop_stat(stats: &serde_json::Value, port: &str, reason: &str) -> u64 {
    stats["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == port)
        .unwrap()["drops"][reason]
        .as_u64()
        .unwrap_or_else(|| panic!("no drop reason {reason}"))
}

#[test]
fn three_hosts_ping_learn_and_count() {
    require_root!();
    let lab = StarLab::new(3, &[]);
    for i in 0..3 {
        for j in 0..3 {
            if i != j {
                assert!(
                    lab.ping(i, j),
                    "host {i} cannot ping host {j}\n{}",
                    lab.daemon.log_text()
                );
            }
        }
    }
    let ok = wait_until(Duration::from_secs(5), || {
        lab.satctl("show fdb")
            .as_array()
            .map(|a| a.len() >= 3)
            .unwrap_or(false)
    });
    let fdb = lab.satctl("show fdb");
    assert!(ok, "FDB never held three entries: {fdb}");
    for i in 0..3 {
        let mac = format!("02:00:00:00:01:{:02x}", i + 1);
        let row = fdb
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["mac"] == mac.as_str())
            .unwrap_or_else(|| panic!("{mac} not in FDB: {fdb}"));
        assert_eq!(
            row["port"],
            format!("p{i}").as_str(),
            "{mac} on the wrong port: {fdb}"
        );
        assert_eq!(row["vlan"], 0);
    }
    let stats = lab.satctl("show stats");
    for i in 0..3 {
        let p = format!("p{i}");
        assert!(port_stat(&stats, &p, "rx_packets") >= 4, "{stats}");
        assert!(port_stat(&stats, &p, "tx_packets") >= 4, "{stats}");
        assert!(port_stat(&stats, &p, "rx_bytes") > 200, "{stats}");
    }
    assert!(stats["snapshot_publishes"].as_u64().unwrap() >= 2);
    let ports = lab.satctl("show ports");
    assert_eq!(ports.as_array().unwrap().len(), 3);
    assert_eq!(ports[0]["backend"], "af_packet");
    // Human-readable forms work too.
    let text = sh(&format!(
        "{} -s {} show fdb",
        bin("satctl").display(),
        lab.socket.display()
    ));
    assert!(
        text.contains("02:00:00:00:01:02") && text.contains(" entries"),
        "{text}"
    );
    // A reader that leaves early (`| head`) is no error: no panic, exit 0.
    // `true` has usually exited before satctl has its answer to write.
    for cmd in ["show fdb", "show stats", "show ports --json"] {
        let out = run(&format!(
            "{{ {} -s {} {cmd}; echo \"satctl exit $?\" >&2; }} | true",
            bin("satctl").display(),
            lab.socket.display()
        ));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("satctl exit 0") && !err.contains("panicked"),
            "satctl {cmd} into a closed pipe: {err}"
        );
    }
}

/// Sends raw frames from host 0 with a packet socket.
fn send_raw(lab: &StarLab, frames_hex: &[String]) {
    let list = frames_hex
        .iter()
        .map(|f| format!("'{f}'"))
        .collect::<Vec<_>>()
        .join(",");
    let py = format!(
        "import socket\ns=socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\ns.bind(('eth0',0))\nfor f in [{list}]:\n    s.send(bytes.fromhex(f))\n"
    );
    let path = lab.scratch.join("send.py");
    std::fs::write(&path, py).unwrap();
    lab.hosts[0].sh(&format!("python3 {}", path.display()));
}

#[test]
fn malformed_frames_are_dropped_and_counted_and_forwarding_goes_on() {
    require_root!();
    let mut lab = StarLab::new(2, &[]);
    assert!(lab.ping(0, 1));
    // Let host 0 send a frame longer than the switch accepts.
    lab.hosts[0].sh("ip link set eth0 mtu 3000");
    lab.sw.sh("ip link set p0 mtu 3000");
    let src = "020000000101";
    let dst = "020000000102";
    // Runt: an 802.3 frame whose length field claims 100 octets, 6 present.
    let runt = format!("{dst}{src}0064aaaa03000000");
    // Oversize: 1600 octets of IPv4 EtherType.
    let oversize = format!("{dst}{src}0800{}", "00".repeat(1600 - 14));
    // Garbage: a broadcast source address and random-looking payload.
    let garbage = format!("{dst}ffffffffffff0800{}", "5a3c".repeat(23));
    let before = lab.satctl("show stats");
    send_raw(&lab, &[runt.clone(), runt, oversize, garbage]);
    let ok = wait_until(Duration::from_secs(5), || {
        let s = lab.satctl("show stats");
        drop_stat(&s, "p0", "runt") >= drop_stat(&before, "p0", "runt") + 2
            && drop_stat(&s, "p0", "oversize") > drop_stat(&before, "p0", "oversize")
            && drop_stat(&s, "p0", "invalid_src_mac") > drop_stat(&before, "p0", "invalid_src_mac")
    });
    let after = lab.satctl("show stats");
    assert!(ok, "drops not counted: {after}");
    assert!(
        lab.daemon.alive(),
        "satellited died:\n{}",
        lab.daemon.log_text()
    );
    assert!(
        lab.ping(0, 1) && lab.ping(1, 0),
        "forwarding stopped after bad frames"
    );
    // Each bad frame was dropped exactly once, under its own reason.
    assert_eq!(
        drop_stat(&after, "p0", "runt") - drop_stat(&before, "p0", "runt"),
        2,
        "{after}"
    );
    assert_eq!(
        drop_stat(&after, "p0", "oversize") - drop_stat(&before, "p0", "oversize"),
        1
    );
    assert_eq!(
        drop_stat(&after, "p0", "invalid_src_mac") - drop_stat(&before, "p0", "invalid_src_mac"),
        1
    );
}

#[test]
fn metrics_are_valid_prometheus_text() {
    require_root!();
    let lab = StarLab::new(2, &[]);
    assert!(lab.ping(0, 1));
    let url = format!("http://127.0.0.1:{}/metrics", lab.metrics_port);
    let ok = wait_until(Duration::from_secs(5), || {
        lab.sw.run(&format!("curl -sf {url}")).status.success()
    });
    assert!(ok, "no /metrics");
    let body = lab.sw.sh(&format!("curl -sf {url}"));
    for name in [
        "satellite_port_rx_packets_total{port=\"p0\"}",
        "satellite_port_tx_bytes_total{port=\"p1\"}",
        "satellite_port_drops_total{port=\"p0\",reason=\"runt\"}",
        "satellite_fdb_entries",
        "satellite_fdb_capacity_entries 1048576",
        "satellite_snapshot_publishes_total",
        "satellite_stp_port_role{port=\"p0\",role=\"designated\"} 1",
        "satellite_stp_port_state{port=\"p0\",state=\"forwarding\"} 1",
        "satellite_stp_bpdus_sent_total{port=\"p0\",type=\"rst\"}",
        "satellite_port_up{port=\"p1\"} 1",
    ] {
        assert!(body.contains(name), "{name} missing from /metrics:\n{body}");
    }
    let path = lab.scratch.join("metrics.txt");
    std::fs::write(&path, &body).unwrap();
    let out = run(&format!("promtool check metrics < {}", path.display()));
    assert!(
        out.status.success(),
        "promtool rejects /metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn real_prometheus_scrapes_the_daemon() {
    require_root!();
    let lab = StarLab::new(2, &[]);
    assert!(lab.ping(0, 1));
    let prom_port = free_port();
    let cfg = lab.scratch.join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: satellite\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            lab.metrics_port
        ),
    )
    .unwrap();
    let data = lab.scratch.join("prom-data");
    let prom = which("prometheus");
    let _prom = lab.sw.spawn(
        &prom,
        &[
            &format!("--config.file={}", cfg.display()),
            &format!("--storage.tsdb.path={}", data.display()),
            &format!("--web.listen-address=127.0.0.1:{prom_port}"),
        ],
        &lab.scratch.join("prometheus.log"),
    );
    let q = format!(
        "curl -sf 'http://127.0.0.1:{prom_port}/api/v1/query?query=satellite_port_rx_packets_total'"
    );
    let mut last = String::new();
    let ok = wait_until(Duration::from_secs(30), || {
        let out = lab.sw.run(&q);
        last = String::from_utf8_lossy(&out.stdout).into_owned();
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&last) else {
            return false;
        };
        v["data"]["result"].as_array().is_some_and(|r| {
            r.iter().any(|s| {
                s["metric"]["port"] == "p0"
                    && s["value"][1]
                        .as_str()
                        .and_then(|x| x.parse::<f64>().ok())
                        .unwrap_or(0.0)
                        > 0.0
            })
        })
    });
    assert!(ok, "prometheus never scraped rx packets: {last}");
}

fn which(prog: &str) -> std::path::PathBuf {
    let out = sh(&format!("command -v {prog}"));
    std::path::PathBuf::from(out.trim())
}

#[test]
fn bad_config_names_file_line_and_key_and_exits_non_zero() {
    let dir = Scratch::new("cfg");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "[bridge]\nname = \"s1\"\n\n[fdb]\naging_time = \"five minutes\"\n",
    )
    .unwrap();
    let out = run(&format!(
        "{} --config {}",
        bin("satellited").display(),
        path.display()
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}:5:", path.display())), "{err}");
    assert!(err.contains("fdb.aging_time"), "{err}");

    std::fs::write(&path, "[dataplane]\nworkers = 1\nwrokers = 2\n").unwrap();
    let out = run(&format!(
        "{} --config {}",
        bin("satellited").display(),
        path.display()
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:3:", path.display())) && err.contains("wrokers"),
        "{err}"
    );

    let out = run(&format!(
        "{} --config {}/missing.toml",
        bin("satellited").display(),
        dir.path.display()
    ));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn shipped_example_configs_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            satellite::config::Config::load(&p).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 1, "no example configs in {}", dir.display());
}

/// Writes a pcap file holding one 60-byte frame from 02:00:00:00:05:01 to
/// 02:00:00:00:05:02.
fn write_one_frame_pcap(path: &std::path::Path) {
    let mut frame = vec![0u8; 60];
    frame[..6].copy_from_slice(&[2, 0, 0, 0, 5, 2]);
    frame[6..12].copy_from_slice(&[2, 0, 0, 0, 5, 1]);
    frame[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let mut f = Vec::new();
    // Global header: magic, version 2.4, zone 0, sigfigs 0, snaplen, Ethernet.
    f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    for w in [0u32, 0, 65535, 1] {
        f.extend_from_slice(&w.to_le_bytes());
    }
    // Record header: seconds, microseconds, captured and original length.
    for w in [0u32, 0, 60, 60] {
        f.extend_from_slice(&w.to_le_bytes());
    }
    f.extend_from_slice(&frame);
    std::fs::write(path, f).expect("write pcap");
}

/// A port that never runs dry (a replaying `net_pcap`, as the bench
/// harness uses) must not hold up start-up: the daemon answers and
/// forwards. (The af_packet start-up discard once drained ports until
/// empty, and this one never is.)
#[test]
fn a_port_that_never_runs_dry_does_not_stall_start_up() {
    require_root!();
    let scratch = Scratch::new("busy");
    let ns = Netns::new(&unique("busy"));
    let pcap = scratch.join("one.pcap");
    write_one_frame_pcap(&pcap);
    let socket = scratch.join("ctl.sock");
    let eal = format!(
        "--vdev net_pcap0,rx_pcap={},infinite_rx=1 --vdev net_null0",
        pcap.display()
    );
    let name = unique("busy");
    let sock = socket.display().to_string();
    let args = ["--name", &name, "--socket", &sock, "--eal", &eal];
    let mut daemon = ns.spawn(&bin("satellited"), &args, &scratch.join("satellited.log"));
    let answered = satctl_answers(&socket, Duration::from_secs(20));
    assert!(
        answered && daemon.alive(),
        "satellited did not come up:\n{}",
        daemon.log_text()
    );
    let forwarded = wait_until(Duration::from_secs(10), || {
        let s = satctl_json(&socket, "show stats");
        port_stat(&s, "net_pcap0", "rx_packets") > 1000
            && port_stat(&s, "net_null0", "tx_packets") > 1000
    });
    assert!(
        forwarded,
        "no forwarding: {}",
        satctl_json(&socket, "show stats")
    );
    daemon.stop();
}
