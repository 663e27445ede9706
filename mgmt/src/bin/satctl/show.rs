//! The readable forms of `satctl show ...`: tables whose columns fit their
//! widest cell ([`Table`]), as `mstpctl showport` and `bridge fdb` print.

use satellite::control::{FdbRow, PortInfo, StatsReport};
use satellite::table::Table;
use satellite::topology::Topology;
use serde_json::Value;
use std::fmt::Write as _;

/// A JSON value as a table cell: strings bare, null as "-".
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn yes(v: &Value) -> &'static str {
    if v.as_bool() == Some(true) {
        "yes"
    } else {
        "no"
    }
}

pub fn ports(o: &mut String, ports: Vec<PortInfo>) {
    let mut t = Table::new(&[
        ">idx", "port", "backend", "mac", "link", "kind", "state", ">fdb",
    ]);
    for p in ports {
        let state = match (p.learning, p.forwarding) {
            (_, true) => "forwarding",
            (true, false) => "learning",
            _ => "discarding",
        };
        t.row([
            p.index.to_string(),
            p.name,
            p.backend,
            p.mac,
            if p.link_up { "up" } else { "down" }.into(),
            p.kind,
            state.into(),
            p.fdb_entries.to_string(),
        ]);
    }
    o.push_str(&t.render());
}

pub fn fdb(o: &mut String, rows: Vec<FdbRow>) {
    let mut t = Table::new(&[">vlan", "mac", "port", ">age"]);
    for r in &rows {
        t.row([
            r.vlan.to_string(),
            r.mac.clone(),
            r.port.clone(),
            r.age_secs.to_string(),
        ]);
    }
    o.push_str(&t.render());
    let _ = writeln!(o, "{} entries", rows.len());
}

pub fn stats(o: &mut String, s: StatsReport) {
    let _ = writeln!(o, "bridge {}  up {:.0} s", s.bridge, s.uptime_secs);
    let mut t = Table::new(&[
        "port",
        ">rx_packets",
        ">rx_bytes",
        ">tx_packets",
        ">tx_bytes",
        ">punted",
        ">drops",
    ]);
    for p in &s.ports {
        let drops: u64 = p.drops.values().sum();
        t.row([
            p.name.clone(),
            p.rx_packets.to_string(),
            p.rx_bytes.to_string(),
            p.tx_packets.to_string(),
            p.tx_bytes.to_string(),
            p.punted.to_string(),
            drops.to_string(),
        ]);
    }
    o.push_str(&t.render());
    let mut d = Table::new(&["port", "drop reason", ">frames"]);
    for p in &s.ports {
        for (r, n) in p.drops.iter().filter(|(_, n)| **n > 0) {
            d.row([p.name.clone(), r.clone(), n.to_string()]);
        }
    }
    if !d.is_empty() {
        o.push('\n');
        o.push_str(&d.render());
    }
    let mut c = Table::new(&["port", "dhcpcast", ">frames"]);
    for p in &s.ports {
        for (dir, n) in p.dhcpcast_steered.iter().filter(|(_, n)| **n > 0) {
            c.row([p.name.clone(), format!("{dir} steered"), n.to_string()]);
        }
    }
    if !c.is_empty() {
        o.push('\n');
        o.push_str(&c.render());
    }
    let f = &s.fdb;
    let _ = writeln!(
        o,
        "\nfdb: {} / {} entries; learned {} moved {} aged {} flushed {}; \
         table_full {} port_limit {} learn_queue_full {}",
        f.entries,
        f.capacity,
        f.learned,
        f.moved,
        f.aged,
        f.flushed,
        f.table_full,
        f.port_limit,
        f.learn_queue_full
    );
    let _ = writeln!(
        o,
        "snapshots published: {} (epoch {})",
        s.snapshot_publishes, s.snapshot_epoch
    );
    for w in &s.workers {
        let cpp = if w.busy_packets > 0 {
            w.busy_cycles as f64 / w.busy_packets as f64
        } else {
            0.0
        };
        let _ = writeln!(
            o,
            "worker {}: {} packets, {:.1} cycles/packet (TSC {:.2} GHz)",
            w.index,
            w.busy_packets,
            cpp,
            s.tsc_hz as f64 / 1e9
        );
    }
    for (k, v) in &s.control_frames {
        let _ = writeln!(o, "control frames {k}: {v}");
    }
}

pub fn stp(o: &mut String, v: &Value) {
    let root_port = v["root_port_name"]
        .as_str()
        .unwrap_or("none (this bridge is root)");
    let since = v["time_since_topology_change"]
        .as_f64()
        .map(|t| format!("{t:.1} s ago"))
        .unwrap_or_else(|| "never".into());
    let tc = if v["topology_change"].as_bool() == Some(true) {
        ", in progress"
    } else {
        ""
    };
    let mut h = Table::new(&["", ""]);
    h.row(["bridge id".into(), cell(&v["bridge_id"])]);
    h.row(["root id".into(), cell(&v["root_id"])]);
    h.row(["root port".into(), root_port.to_string()]);
    h.row(["root path cost".into(), cell(&v["root_path_cost"])]);
    h.row([
        "topology changes".into(),
        format!("{} (last {since}){tc}", cell(&v["topology_change_count"])),
    ]);
    // The header row of a key/value block is blank: skip it.
    o.push_str(h.render().split_once('\n').map_or("", |(_, rest)| rest));
    o.push('\n');
    let mut t = Table::new(&[
        "port",
        "role",
        "state",
        ">cost",
        "designated bridge",
        "dport",
        "edge",
        "p2p",
        "proto",
    ]);
    for p in v["ports"].as_array().into_iter().flatten() {
        t.row([
            cell(&p["name"]),
            cell(&p["role"]),
            cell(&p["state"]),
            cell(&p["path_cost"]),
            cell(&p["designated_bridge"]),
            cell(&p["designated_port"]),
            yes(&p["edge"]).into(),
            yes(&p["point_to_point"]).into(),
            cell(&p["protocol"]),
        ]);
    }
    o.push_str(&t.render());
}

pub fn sstp(o: &mut String, v: &Value) {
    let _ = writeln!(
        o,
        "system    {} ({})\nhello     {} ms, dead after {} missed\nswitches  {} known, {} reachable (this one included)\n",
        cell(&v["system"]),
        cell(&v["hostname"]),
        cell(&v["hello_interval_ms"]),
        cell(&v["dead_count"]),
        cell(&v["bridges_known"]),
        cell(&v["bridges_reachable"])
    );
    let mut t = Table::new(&[
        "port",
        "state",
        "neighbour",
        "name",
        ">nport",
        ">uptime",
        "synced",
        ">cost",
    ]);
    for a in v["adjacencies"].as_array().into_iter().flatten() {
        let uptime = a["uptime_secs"]
            .as_f64()
            .map_or("-".into(), |t| format!("{t:.1}s"));
        let synced = match (a["synced"].as_bool(), a["advertised"].as_bool()) {
            (Some(true), Some(true)) => "yes",
            (Some(true), _) => "yes*",
            _ => "no",
        };
        t.row([
            cell(&a["port"]),
            cell(&a["state"]),
            cell(&a["neighbour"]),
            cell(&a["neighbour_name"]),
            cell(&a["neighbour_port"]),
            uptime,
            synced.into(),
            cell(&a["cost"]),
        ]);
    }
    o.push_str(&t.render());
}

pub fn lsdb(o: &mut String, v: &Value) {
    let mut t = Table::new(&[
        "origin",
        "name",
        ">sequence",
        ">frags",
        ">age",
        ">homes",
        ">links",
        "reachable",
    ]);
    let mut links = Table::new(&["origin", ">port", "neighbour", "name", ">nport", ">cost"]);
    for r in v["origins"].as_array().into_iter().flatten() {
        let me = if r["me"].as_bool() == Some(true) {
            " (this switch)"
        } else {
            ""
        };
        let adj = r["adjacencies"].as_array().cloned().unwrap_or_default();
        t.row([
            cell(&r["origin"]),
            cell(&r["hostname"]),
            cell(&r["sequence"]),
            cell(&r["fragments"]),
            format!("{}s", cell(&r["age_secs"])),
            cell(&r["mac_homes"]),
            adj.len().to_string(),
            format!("{}{me}", yes(&r["reachable"])),
        ]);
        for a in &adj {
            links.row([
                cell(&r["hostname"]),
                cell(&a["local_port"]),
                cell(&a["neighbour"]),
                cell(&a["neighbour_name"]),
                cell(&a["remote_port"]),
                cell(&a["cost"]),
            ]);
        }
    }
    o.push_str(&t.render());
    o.push('\n');
    o.push_str(&links.render());
}

pub fn routes(o: &mut String, v: &Value) {
    let mut t = Table::new(&["switch", "name", ">distance", "next hops", "lfa", "wrap"]);
    for r in v["routes"].as_array().into_iter().flatten() {
        let hops: Vec<String> = r["next_hops"]
            .as_array()
            .into_iter()
            .flatten()
            .map(cell)
            .collect();
        let lfa = match (&r["lfa"], r["lfa_node_protecting"].as_bool()) {
            (Value::Null, _) => "-".to_string(),
            (p, Some(true)) => format!("{} (node)", cell(p)),
            (p, _) => cell(p),
        };
        let hops = if hops.is_empty() {
            "unreachable".to_string()
        } else {
            hops.join(",")
        };
        t.row([
            cell(&r["bridge"]),
            cell(&r["hostname"]),
            cell(&r["distance"]),
            hops,
            lfa,
            cell(&r["wrap"]),
        ]);
    }
    o.push_str(&t.render());
}

pub fn filters(o: &mut String, v: &Value) {
    let ports = v["ports"].as_array().cloned().unwrap_or_default();
    if ports.is_empty() {
        let _ = writeln!(o, "no port has edge filters");
        return;
    }
    let mut t = Table::new(&["port", "verdict", ">frames"]);
    for p in ports {
        for (k, n) in p["verdicts"].as_object().into_iter().flatten() {
            if n.as_u64() != Some(0) || ["pass", "reply"].contains(&k.as_str()) {
                t.row([cell(&p["name"]), k.clone(), cell(n)]);
            }
        }
    }
    o.push_str(&t.render());
}

pub fn arp(o: &mut String, v: &Value) {
    let mut t = Table::new(&["port", ">vlan", "ip", "mac", "origin"]);
    for r in v.as_array().into_iter().flatten() {
        let port = r["port"].as_str().unwrap_or("(remote)");
        t.row([
            port.to_string(),
            cell(&r["vlan"]),
            cell(&r["ip"]),
            cell(&r["mac"]),
            cell(&r["origin"]),
        ]);
    }
    o.push_str(&t.render());
}

/// `port add`: where the port went.
pub fn port_added(o: &mut String, v: &Value) {
    let _ = writeln!(
        o,
        "port {} added (index {}, kind {})",
        cell(&v["port"]),
        cell(&v["index"]),
        cell(&v["kind"])
    );
}

/// `reload`: what changed, and what waits for a restart.
pub fn reload(o: &mut String, v: &Value) {
    let _ = writeln!(o, "reloaded {}", cell(&v["file"]));
    let list =
        |k: &str| -> Vec<String> { v[k].as_array().into_iter().flatten().map(cell).collect() };
    let mut any = false;
    for (key, what) in [
        ("ports_added", "ports added"),
        ("ports_removed", "ports removed"),
        ("ports_changed", "ports changed"),
        ("ports_replaced", "ports replaced"),
    ] {
        let l = list(key);
        if !l.is_empty() {
            any = true;
            let _ = writeln!(o, "  {what}: {}", l.join(", "));
        }
    }
    if !v["bridge_priority"].is_null() {
        any = true;
        let _ = writeln!(o, "  bridge priority: {}", cell(&v["bridge_priority"]));
    }
    let t = &v["stp_times"];
    if !t.is_null() {
        any = true;
        let _ = writeln!(
            o,
            "  stp times: hello {} s, max age {} s, forward delay {} s",
            cell(&t["hello_time"]),
            cell(&t["max_age"]),
            cell(&t["forward_delay"])
        );
    }
    if v["settings_changed"].as_bool() == Some(true) {
        any = true;
        let _ = writeln!(o, "  filters, limits or storm control changed");
    }
    if !any {
        let _ = writeln!(o, "  nothing changed");
    }
    let later = list("restart_needed");
    if !later.is_empty() {
        let _ = writeln!(
            o,
            "  not applied until a restart (running values kept): {}",
            later.join(", ")
        );
    }
}

/// `show topology` as text: the bridges, then every link with both ends.
pub fn topology(o: &mut String, t: &Topology) {
    let name = |id: &str| {
        t.bridges
            .iter()
            .find(|b| b.id == id)
            .and_then(|b| b.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let _ = writeln!(o, "root {}", t.root.as_deref().unwrap_or("unknown"));
    let mut b = Table::new(&["bridge", "name", "bridge id", "root", "reachable", "asked"]);
    for x in &t.bridges {
        b.row([
            x.id.clone(),
            x.name.clone().unwrap_or_else(|| "-".into()),
            x.bridge_id.clone().unwrap_or_else(|| "-".into()),
            if x.root { "root" } else { "" }.into(),
            if x.reachable { "yes" } else { "no" }.into(),
            if x.viewed { "yes" } else { "no" }.into(),
        ]);
    }
    o.push_str(&b.render());
    o.push('\n');
    let mut l = Table::new(&[
        "from",
        "port",
        "role/state",
        "to",
        "port",
        "role/state",
        ">cost",
        "link",
        ">packets",
    ]);
    let end = |e: &satellite::topology::End| {
        (
            e.port_name
                .clone()
                .or_else(|| e.port.map(|p| format!("#{p}")))
                .unwrap_or_else(|| "-".into()),
            match (&e.role, &e.state) {
                (Some(r), Some(s)) => format!("{r}/{s}"),
                _ => "-".into(),
            },
        )
    };
    for x in &t.links {
        let (ap, ar) = end(&x.a);
        let (bp, br) = end(&x.b);
        let state = match (x.up, x.blocked) {
            (_, true) => "blocked",
            (true, false) => "up",
            (false, false) => "down",
        };
        let load = match (x.packets_per_sec, x.packets) {
            (Some(r), _) => format!("{r:.0}/s"),
            (None, Some(n)) => n.to_string(),
            _ => "-".into(),
        };
        l.row([
            name(&x.a.bridge),
            ap,
            ar,
            name(&x.b.bridge),
            bp,
            br,
            x.cost.map_or("-".into(), |c| c.to_string()),
            state.into(),
            load,
        ]);
    }
    o.push_str(&l.render());
}
