//! Prometheus `/metrics`, named in node_exporter style.
//!
//! Counters live in the data plane as per-worker atomics; on each scrape the
//! control lcore sums them into a [`StatsReport`], and this module renders
//! it into a fresh registry, so the exporter holds no state of its own.

use crossbeam::channel::Sender;
use prometheus::{Encoder, GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use tracing::{info, warn};

use crate::control::{Request, StatsReport};
use crate::requests::Envelope;
use crate::server::ask;

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("unique metric");
    c
}

fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(g.clone())).expect("unique metric");
    g
}

/// Renders a report in the Prometheus text format.
pub fn render(s: &StatsReport) -> String {
    let r = Registry::new();
    let rx_p = counter(
        &r,
        "satellite_port_rx_packets_total",
        "Frames received on the port.",
        &["port"],
    );
    let rx_b = counter(
        &r,
        "satellite_port_rx_bytes_total",
        "Bytes received on the port.",
        &["port"],
    );
    let tx_p = counter(
        &r,
        "satellite_port_tx_packets_total",
        "Frames sent on the port.",
        &["port"],
    );
    let tx_b = counter(
        &r,
        "satellite_port_tx_bytes_total",
        "Bytes sent on the port.",
        &["port"],
    );
    let tx_c = counter(
        &r,
        "satellite_port_tx_control_packets_total",
        "Of the frames sent, the switch's own (BPDUs, SSTP PDUs, ARPless replies).",
        &["port"],
    );
    let punt = counter(
        &r,
        "satellite_port_punted_packets_total",
        "Control frames handed to the control lcore.",
        &["port"],
    );
    let drops = counter(
        &r,
        "satellite_port_drops_total",
        "Frames dropped, by reason.",
        &["port", "reason"],
    );
    let missed = counter(
        &r,
        "satellite_port_rx_missed_total",
        "Frames the device lost before the switch saw them.",
        &["port"],
    );
    for p in &s.ports {
        let l = [p.name.as_str()];
        rx_p.with_label_values(&l).inc_by(p.rx_packets);
        rx_b.with_label_values(&l).inc_by(p.rx_bytes);
        tx_p.with_label_values(&l).inc_by(p.tx_packets);
        tx_b.with_label_values(&l).inc_by(p.tx_bytes);
        tx_c.with_label_values(&l).inc_by(p.tx_control_packets);
        punt.with_label_values(&l).inc_by(p.punted);
        missed.with_label_values(&l).inc_by(p.rx_missed);
        for (reason, n) in &p.drops {
            drops
                .with_label_values(&[p.name.as_str(), reason.as_str()])
                .inc_by(*n);
        }
    }
    let up = gauge(
        &r,
        "satellite_port_up",
        "1 when the port has carrier and is administratively up.",
        &["port"],
    );
    let role = gauge(
        &r,
        "satellite_stp_port_role",
        "Spanning-tree role of the port (1 for the current role).",
        &["port", "role"],
    );
    let state = gauge(
        &r,
        "satellite_stp_port_state",
        "Spanning-tree state of the port (1 for the current state).",
        &["port", "state"],
    );
    let brx = counter(
        &r,
        "satellite_stp_bpdus_received_total",
        "BPDUs received, by type.",
        &["port", "type"],
    );
    let btx = counter(
        &r,
        "satellite_stp_bpdus_sent_total",
        "BPDUs sent, by type.",
        &["port", "type"],
    );
    let guard = counter(
        &r,
        "satellite_stp_bpdu_guard_trips_total",
        "Times BPDU guard disabled the port.",
        &["port"],
    );
    let fv = counter(
        &r,
        "satellite_filter_verdicts_total",
        "Edge-filter verdicts (pass, reply, learn, drop reasons).",
        &["port", "verdict"],
    );
    let cast = counter(
        &r,
        "satellite_port_dhcpcast_steered_total",
        "Broadcast DHCP frames received on the port and sent on as unicast (DHCPCAST), by direction.",
        &["port", "direction"],
    );
    for p in &s.ports {
        let n = p.name.as_str();
        up.with_label_values(&[n])
            .set((p.link_up && p.admin_up) as i64);
        if let (Some(ro), Some(st)) = (&p.stp_role, &p.stp_state) {
            for x in ["root", "designated", "alternate", "backup", "disabled"] {
                role.with_label_values(&[n, x]).set((x == ro) as i64);
            }
            for x in ["discarding", "learning", "forwarding"] {
                state.with_label_values(&[n, x]).set((x == st) as i64);
            }
        }
        for (k, v) in &p.bpdus_rx {
            brx.with_label_values(&[n, k.as_str()]).inc_by(*v);
        }
        for (k, v) in &p.bpdus_tx {
            btx.with_label_values(&[n, k.as_str()]).inc_by(*v);
        }
        guard.with_label_values(&[n]).inc_by(p.bpdu_guard_trips);
        for (k, v) in &p.filter_verdicts {
            fv.with_label_values(&[n, k.as_str()]).inc_by(*v);
        }
        for (k, v) in &p.dhcpcast_steered {
            cast.with_label_values(&[n, k.as_str()]).inc_by(*v);
        }
    }
    let c = counter(
        &r,
        "satellite_stp_topology_changes_total",
        "Topology changes seen by the spanning tree.",
        &[],
    );
    c.with_label_values(&[]).inc_by(s.stp_topology_changes);
    let c = counter(
        &r,
        "satellite_stp_invalid_bpdus_total",
        "BPDUs dropped because they failed to parse.",
        &[],
    );
    c.with_label_values(&[]).inc_by(s.stp_invalid_bpdus);
    let c = counter(
        &r,
        "satellite_control_tx_failed_total",
        "Frames of the control lcore lost before transmission.",
        &[],
    );
    c.with_label_values(&[]).inc_by(s.control_tx_failed);
    let g = gauge(
        &r,
        "satellite_fdb_entries",
        "Entries in the filtering database.",
        &[],
    );
    g.with_label_values(&[]).set(s.fdb.entries as i64);
    let g = gauge(
        &r,
        "satellite_fdb_capacity_entries",
        "Most entries the filtering database holds.",
        &[],
    );
    g.with_label_values(&[]).set(s.fdb.capacity as i64);
    let c = counter(
        &r,
        "satellite_fdb_events_total",
        "Filtering database events, by kind.",
        &["event"],
    );
    for (k, v) in [
        ("learned", s.fdb.learned),
        ("moved", s.fdb.moved),
        ("aged", s.fdb.aged),
        ("flushed", s.fdb.flushed),
        ("table_full", s.fdb.table_full),
        ("port_limit", s.fdb.port_limit),
        ("learn_queue_full", s.fdb.learn_queue_full),
    ] {
        c.with_label_values(&[k]).inc_by(v);
    }
    let c = counter(
        &r,
        "satellite_snapshot_publishes_total",
        "Forwarding snapshots published.",
        &[],
    );
    c.with_label_values(&[]).inc_by(s.snapshot_publishes);
    let c = counter(
        &r,
        "satellite_control_frames_total",
        "Control frames received by the control lcore, by kind.",
        &["kind"],
    );
    for (k, v) in &s.control_frames {
        c.with_label_values(&[k.as_str()]).inc_by(*v);
    }
    let c = counter(
        &r,
        "satellite_worker_busy_cycles_total",
        "TSC cycles workers spent in polls that found packets.",
        &["worker"],
    );
    let p = counter(
        &r,
        "satellite_worker_busy_packets_total",
        "Packets handled in those polls.",
        &["worker"],
    );
    for w in &s.workers {
        let l = [w.index.to_string()];
        c.with_label_values(&[l[0].as_str()]).inc_by(w.busy_cycles);
        p.with_label_values(&[l[0].as_str()]).inc_by(w.busy_packets);
    }
    let g = gauge(
        &r,
        "satellite_mempool_available_mbufs",
        "Free mbufs in the packet pool.",
        &[],
    );
    g.with_label_values(&[]).set(s.mempool_available as i64);
    let up = GaugeVec::new(
        Opts::new(
            "satellite_uptime_seconds",
            "Seconds since satellited started.",
        ),
        &[],
    )
    .expect("valid");
    r.register(Box::new(up.clone())).expect("unique");
    up.with_label_values(&[]).set(s.uptime_secs);
    let ports_changed = counter(
        &r,
        "satellite_port_changes_total",
        "Ports added or removed at run time (satctl port add|del, reload).",
        &["change"],
    );
    ports_changed
        .with_label_values(&["added"])
        .inc_by(s.changes.ports_added);
    ports_changed
        .with_label_values(&["removed"])
        .inc_by(s.changes.ports_removed);
    let reloads = counter(
        &r,
        "satellite_config_reloads_total",
        "Configuration reloads (SIGHUP, satctl reload), applied or refused.",
        &["result"],
    );
    reloads
        .with_label_values(&["applied"])
        .inc_by(s.changes.reloads);
    reloads
        .with_label_values(&["refused"])
        .inc_by(s.changes.reloads_refused);

    if let Some(x) = &s.sstp {
        render_sstp(&r, x);
    }

    let mut buf = Vec::new();
    TextEncoder::new()
        .encode(&r.gather(), &mut buf)
        .expect("text encoding cannot fail");
    let mut text = String::from_utf8(buf).expect("prometheus text is UTF-8");
    if let Some(x) = &s.sstp {
        spf_histogram(&mut text, x);
    }
    text
}

/// The link state's counters and gauges.
fn render_sstp(r: &Registry, x: &crate::control::SstpStatsReport) {
    for (name, help, v) in [
        (
            "satellite_sstp_adjacencies_up",
            "SSTP adjacencies up.",
            x.adjacencies_up,
        ),
        (
            "satellite_sstp_links_advertised",
            "SSTP links up and in sync: carrying unicast.",
            x.links_advertised,
        ),
        (
            "satellite_sstp_bridges_known",
            "Switches in the link-state database.",
            x.bridges_known,
        ),
        (
            "satellite_sstp_bridges_reachable",
            "Switches reachable over SSTP links, this one included.",
            x.bridges_reachable,
        ),
        (
            "satellite_sstp_lsp_fragments",
            "LSP fragments in the database.",
            x.lsp_fragments,
        ),
        (
            "satellite_sstp_mac_homes_local",
            "Hosts this switch advertises.",
            x.mac_homes_local,
        ),
        (
            "satellite_sstp_mac_homes_known",
            "MAC homes in the database.",
            x.mac_homes_known,
        ),
        (
            "satellite_sstp_mac_homes_routed",
            "Hosts of other switches in the FDB, forwarded by the link state.",
            x.mac_homes_routed,
        ),
    ] {
        gauge(r, name, help, &[])
            .with_label_values(&[])
            .set(v as i64);
    }
    for (name, help, v) in [
        (
            "satellite_sstp_mac_moves_away_total",
            "Hosts that moved from this switch to another and were withdrawn here.",
            x.mac_moves_away,
        ),
        (
            "satellite_sstp_mac_duplicates_total",
            "Hosts heard here but not advertised: their MAC moved away too often (a duplicate).",
            x.mac_duplicates,
        ),
        (
            "satellite_sstp_lsps_originated_total",
            "LSP fragments this switch originated.",
            x.lsps_originated,
        ),
        (
            "satellite_sstp_lsps_received_total",
            "Newer LSPs received and stored.",
            x.lsps_received,
        ),
        (
            "satellite_sstp_lsps_flooded_total",
            "LSPs sent on a link for the first time.",
            x.lsps_flooded,
        ),
        (
            "satellite_sstp_lsps_retransmitted_total",
            "LSPs sent again for want of an acknowledgement.",
            x.lsps_retransmitted,
        ),
        (
            "satellite_sstp_fail_notices_originated_total",
            "FAIL notices originated.",
            x.fails_originated,
        ),
        (
            "satellite_sstp_fail_notices_relayed_total",
            "FAIL notices relayed.",
            x.fails_relayed,
        ),
        (
            "satellite_sstp_fail_notices_stale_total",
            "FAIL notices not applied: the origin's newer LSP was already here.",
            x.fails_stale,
        ),
        (
            "satellite_sstp_adjacency_ups_total",
            "Adjacencies that came up.",
            x.adjacency_ups,
        ),
        (
            "satellite_sstp_adjacency_downs_total",
            "Adjacencies that went down.",
            x.adjacency_downs,
        ),
        ("satellite_sstp_spf_runs_total", "SPF runs.", x.spf_runs),
        (
            "satellite_sstp_stale_root_bpdus_total",
            "BPDUs dropped on SSTP links for naming a root the link state shows unreachable.",
            x.stale_root_bpdus,
        ),
        (
            "satellite_sstp_stale_roots_aged_total",
            "Times a dead root's information was aged out on every port.",
            x.stale_roots_aged,
        ),
        (
            "satellite_sstp_route_changes_total",
            "Times the routes or MAC homes changed.",
            x.route_changes,
        ),
    ] {
        counter(r, name, help, &[]).with_label_values(&[]).inc_by(v);
    }
    for (name, help, label, m) in [
        (
            "satellite_sstp_pdus_received_total",
            "SSTP PDUs received and accepted, by type.",
            "type",
            &x.rx,
        ),
        (
            "satellite_sstp_pdus_sent_total",
            "SSTP PDUs sent, by type.",
            "type",
            &x.tx,
        ),
        (
            "satellite_sstp_pdus_dropped_total",
            "SSTP PDUs dropped, by reason.",
            "reason",
            &x.dropped,
        ),
        (
            "satellite_sstp_overflows_total",
            "Entries left out of the link state by a limit, by kind.",
            "kind",
            &x.overflows,
        ),
    ] {
        let c = counter(r, name, help, &[label]);
        for (k, v) in m {
            c.with_label_values(&[k.as_str()]).inc_by(*v);
        }
    }
}

/// SPF durations as a Prometheus histogram. The control lcore keeps the
/// buckets itself, so they are written out in the text format directly.
fn spf_histogram(text: &mut String, x: &crate::control::SstpStatsReport) {
    use std::fmt::Write as _;
    let n = "satellite_sstp_spf_duration_seconds";
    let _ = writeln!(
        text,
        "# HELP {n} Wall time of the control-lcore events that ran SPF (an upper bound of SPF itself)."
    );
    let _ = writeln!(text, "# TYPE {n} histogram");
    for (le, c) in &x.spf_duration_buckets {
        let _ = writeln!(text, "{n}_bucket{{le=\"{le}\"}} {c}");
    }
    let _ = writeln!(text, "{n}_bucket{{le=\"+Inf\"}} {}", x.spf_duration_count);
    let _ = writeln!(text, "{n}_sum {}", x.spf_duration_sum_secs);
    let _ = writeln!(text, "{n}_count {}", x.spf_duration_count);
}

/// Serves `/metrics` on `addr` from a thread (from
/// [`MetricsConfig::addr`](crate::config::MetricsConfig::addr): localhost
/// unless the configuration names another address).
pub fn spawn(addr: std::net::SocketAddr, to: Sender<Envelope>) -> Result<(), String> {
    let server =
        tiny_http::Server::http(addr).map_err(|e| format!("metrics listen {addr}: {e}"))?;
    if addr.ip().is_loopback() {
        info!(%addr, "metrics listening");
    } else {
        warn!(%addr, "metrics listening beyond localhost, as configured");
    }
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for req in server.incoming_requests() {
                let resp = if req.url() == "/metrics" {
                    let r = ask(&to, Request::ShowStats);
                    match serde_json::from_value::<StatsReport>(r.data) {
                        Ok(s) if r.ok => tiny_http::Response::from_string(render(&s)).with_header(
                            "Content-Type: text/plain; version=0.0.4"
                                .parse::<tiny_http::Header>()
                                .expect("static header"),
                        ),
                        _ => tiny_http::Response::from_string("control lcore unavailable\n")
                            .with_status_code(503),
                    }
                } else {
                    tiny_http::Response::from_string("see /metrics\n").with_status_code(404)
                };
                if let Err(e) = req.respond(resp) {
                    warn!("metrics response: {e}");
                }
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}
