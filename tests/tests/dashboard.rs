//! The Grafana dashboard (`contrib/grafana/satellite.json`) only queries
//! what satellited exports: every metric name in its queries, template
//! variables and annotations is a sample of a running daemon's /metrics.
//! The daemon is one of a ring of three Satellite switches, so the
//! spanning-tree and SSTP series exist (BPDUs and PDUs both ways, and a
//! bad PDU sent to it on purpose).

use satellite_e2e::fabric::{Fabric, Topology};
use satellite_e2e::{require_root, wait_until};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

const METRICS: &str = "127.0.0.1:9477";

fn dashboard() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contrib/grafana/satellite.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// Every string under a key Grafana evaluates as PromQL.
fn queries(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expr" | "query" | "definition", Value::String(s)) => out.push(s.clone()),
                    _ => queries(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| queries(x, out)),
        _ => {}
    }
}

/// The `satellite_...` metric names a query uses.
fn metric_names(q: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = q;
    while let Some(i) = rest.find("satellite_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

/// Sample names in a Prometheus text exposition.
fn exported(body: &str) -> BTreeSet<String> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(String::from)
        .collect()
}

/// Every query is PromQL Prometheus accepts: each becomes a recording
/// rule (Grafana's variables replaced by what they stand for) and
/// `promtool check rules` reads the file.
fn promql_parses(qs: &[String]) {
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, q) in qs
        .iter()
        .filter(|q| !q.starts_with("label_values("))
        .enumerate()
    {
        let q = q
            .replace("$__rate_interval", "1m")
            .replace("$instance", ".*")
            .replace("$port", ".*");
        rules.push_str(&format!(
            "      - record: dashboard:q{i}\n        expr: {}\n",
            serde_json::to_string(&q).unwrap()
        ));
    }
    let dir = std::env::temp_dir().join(format!("satdash{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rules.yml");
    std::fs::write(&file, &rules).unwrap();
    let out = satellite_e2e::run(&format!("promtool check rules {}", file.display()));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "promtool rejects a dashboard query:\n{}{}\n{rules}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn names_are_found_in_queries() {
    assert_eq!(
        metric_names("sum by (reason) (rate(satellite_port_drops_total{port=~\"$p\"}[1m])) / satellite_fdb_entries"),
        BTreeSet::from(["satellite_port_drops_total".into(), "satellite_fdb_entries".into()])
    );
    let body = "# TYPE satellite_up gauge\nsatellite_up 1\nsatellite_x_bucket{le=\"1\"} 2\n";
    assert_eq!(
        exported(body),
        BTreeSet::from(["satellite_up".into(), "satellite_x_bucket".into()])
    );
}

#[test]
fn every_metric_the_dashboard_queries_is_exported() {
    let mut qs = vec![];
    queries(&dashboard(), &mut qs);
    let used: BTreeSet<String> = qs.iter().flat_map(|q| metric_names(q)).collect();
    // What the dashboard is for: each of these must have a panel.
    for want in [
        "satellite_port_rx_bytes_total",
        "satellite_port_tx_packets_total",
        "satellite_port_drops_total",
        "satellite_fdb_entries",
        "satellite_stp_port_role",
        "satellite_stp_port_state",
        "satellite_stp_topology_changes_total",
        "satellite_stp_bpdus_received_total",
        "satellite_sstp_pdus_received_total",
        "satellite_sstp_pdus_sent_total",
    ] {
        assert!(used.contains(want), "the dashboard has no panel on {want}");
    }

    promql_parses(&qs);

    require_root!();
    // Each switch serves /metrics on its own namespace's loopback; the
    // kit puts these lines in the `[sstp]` section, so a new table starts.
    let f = Fabric::new(
        Topology::ring(3),
        &format!("\n[metrics]\nlisten = \"{METRICS}\"\n"),
    );
    // The dropped-PDU series exist from the first drop: s1 sends s0 one
    // SSTP frame too short to be a PDU, over the link between them (f0
    // at both ends).
    f.sw[1].sh(
        "python3 -c \"import socket; s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); \
         s.bind(('f0', 0)); s.send(bytes.fromhex('0180c200000e02000000009988b501') + bytes(46))\"",
    );
    let url = format!("http://{METRICS}/metrics");
    let body = || f.sw[0].run(&format!("curl -sf {url}"));
    // Until the ring has converged some labelled series have no sample.
    let ok = wait_until(Duration::from_secs(60), || {
        let out = body();
        out.status.success() && {
            let have = exported(&String::from_utf8_lossy(&out.stdout));
            used.iter().all(|n| have.contains(n))
        }
    });
    let text = String::from_utf8_lossy(&body().stdout).into_owned();
    let have = exported(&text);
    let missing: Vec<&String> = used.iter().filter(|n| !have.contains(*n)).collect();
    assert!(
        ok && missing.is_empty(),
        "the dashboard queries metrics satellited does not export: {missing:?}\n{text}"
    );
    println!("{} metric names in the dashboard, all exported", used.len());
}
