//! The satctl requests: settings go to the control plane, reports are read
//! from read-only views of the plane, the devices and the workers.

use crossbeam::channel::Sender;
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::info;

use satellite_dataplane::counters::{dhcpcast_label, filter_slot_label, PortTally, FILTER_SLOTS};
use satellite_dataplane::frame::DropReason;
use satellite_filters::{Ipv4Binding, MacAddr};

use crate::bindings::{BindingOrigin, RuntimeBinding};
use crate::config::filters::default_binding_vid;
use crate::control::{
    FdbRow, FdbStatsReport, MemoryReport, PortInfo, PortStats, Request, Response, SstpStatsReport,
    StatsReport, WorkerStats,
};
use crate::link_state;
use crate::plane::{secs, ControlPlane};
use crate::ports::Ports;
use crate::protocols::{role_name, state_name};
use crate::workers::Workers;

/// A request from a management thread with the channel to answer on.
pub type Envelope = (Request, Sender<Response>);

/// The drop reason under which a port's start-up discards are reported.
const BEFORE_START: &str = "before_start";

/// What reports read besides the plane: the devices, the workers and the
/// process.
pub(crate) struct Views<'a> {
    pub(crate) ports: &'a Ports,
    pub(crate) workers: &'a Workers,
    pub(crate) mempool_available: u64,
    pub(crate) tsc_hz: u64,
    /// The EAL runs on hugepages.
    pub(crate) hugepages: bool,
    /// Ports added and removed, reloads, since start.
    pub(crate) changes: crate::control::ChangesReport,
}

/// Answers one request at `now`. Settings take effect (and are published)
/// before the answer.
pub(crate) fn handle(
    req: Request,
    now: Duration,
    plane: &mut ControlPlane,
    views: &Views<'_>,
) -> Response {
    let r: Result<serde_json::Value, String> = match req {
        Request::ShowPorts => {
            Ok(serde_json::to_value(port_infos(plane, views)).unwrap_or_default())
        }
        Request::ShowFdb => Ok(serde_json::to_value(fdb_rows(plane, now)).unwrap_or_default()),
        Request::ShowStats => {
            Ok(serde_json::to_value(stats(plane, views, now)).unwrap_or_default())
        }
        Request::ShowStp => plane
            .protocols()
            .map(|p| p.status_json())
            .ok_or_else(|| "spanning tree is disabled ([stp] enabled = false)".into()),
        Request::ShowSstp | Request::ShowLsdb | Request::ShowRoutes => {
            let names: Vec<String> = plane.ports().iter().map(|p| p.name.clone()).collect();
            let p = plane.protocols();
            match p.and_then(|p| p.sstp()) {
                None => Err(
                    "SSTP is disabled ([sstp] enabled = false, or [stp] enabled = false)".into(),
                ),
                Some(e) => Ok(match req {
                    Request::ShowSstp => link_state::sstp_report(
                        e,
                        &names,
                        plane.link_state().live(),
                        p.and_then(|p| p.lsdb_changed()),
                        now,
                    ),
                    Request::ShowLsdb => link_state::lsdb_report(e, now),
                    _ => link_state::routes_report(e, &names),
                }),
            }
        }
        Request::ShowFilters => Ok(filter_report(plane, views)),
        Request::ArpShow => Ok(plane.bindings_report()),
        setting => {
            let r = apply(setting, now, plane);
            plane.settle(now);
            r.map(|()| serde_json::Value::Null)
        }
    };
    match r {
        Ok(v) => Response {
            ok: true,
            error: None,
            data: v,
        },
        Err(e) => Response::err(e),
    }
}

/// Carries out a setting.
fn apply(req: Request, now: Duration, plane: &mut ControlPlane) -> Result<(), String> {
    match req {
        Request::SetPriority { priority } => {
            plane.set_priority(now, priority)?;
            info!(target: "sstp", priority, "bridge priority set");
        }
        Request::SetPortCost { port, cost } => {
            let i = plane.port_index(&port)?;
            plane.set_port_cost(now, i, cost)?;
            info!(target: "sstp", %port, cost, "port path cost set");
        }
        Request::SetPortPriority { port, priority } => {
            let i = plane.port_index(&port)?;
            plane.set_port_priority(now, i, priority)?;
            info!(target: "sstp", %port, priority, "port priority set");
        }
        Request::ArpAdd {
            port,
            ip,
            mac,
            vlan,
        } => {
            let i = plane.port_index(&port)?;
            let m = crate::config::parse_mac(&mac)
                .ok_or_else(|| format!("{mac:?} is not a MAC address"))?;
            let vid = vlan.unwrap_or_else(|| default_binding_vid(&plane.ports()[i].cfg));
            plane.add_binding(RuntimeBinding {
                port: i,
                binding: Ipv4Binding {
                    vid,
                    ip,
                    mac: MacAddr(m),
                },
                origin: BindingOrigin::Api,
            })?;
            info!(%port, %ip, %mac, vid, "ARPless binding added");
        }
        Request::ArpDel { port, ip, vlan } => {
            let i = plane.port_index(&port)?;
            let vid = vlan.unwrap_or_else(|| default_binding_vid(&plane.ports()[i].cfg));
            plane.remove_binding(i, ip, vid)?;
            info!(%port, %ip, vid, "ARPless binding removed");
        }
        Request::PortAdmin { port, up } => {
            let i = plane.port_index(&port)?;
            info!(target: "sstp", %port, up, "port administratively {}", if up { "up" } else { "down" });
            plane.set_admin(now, i, up);
        }
        Request::ShowPorts
        | Request::ShowFdb
        | Request::ShowStats
        | Request::ShowStp
        | Request::ShowSstp
        | Request::ShowLsdb
        | Request::ShowRoutes
        | Request::ShowFilters
        | Request::ArpShow => {}
        Request::PortAdd { .. } | Request::PortDel { .. } | Request::Reload => {
            return Err("run-time changes are answered by the reload owner".into())
        }
    }
    Ok(())
}

fn filter_report(plane: &ControlPlane, views: &Views<'_>) -> serde_json::Value {
    let tallies = views.workers.tallies(plane.ports().len());
    let ports: Vec<_> = plane
        .present()
        .filter(|(i, _)| plane.has_policy(*i))
        .map(|(i, p)| {
            let verdicts: BTreeMap<&str, u64> = (0..FILTER_SLOTS)
                .map(|s| (filter_slot_label(s), tallies[i].filter[s]))
                .collect();
            serde_json::json!({ "name": p.name, "verdicts": verdicts })
        })
        .collect();
    serde_json::json!({ "ports": ports })
}

fn port_infos(plane: &ControlPlane, views: &Views<'_>) -> Vec<PortInfo> {
    let snap = plane.snapshot();
    plane
        .present()
        .filter_map(|(i, p)| Some((i, (p, views.ports.list.get(i)?.as_ref()?))))
        .map(|(i, (p, d))| {
            let view = snap.ports[i];
            PortInfo {
                index: i as u16,
                name: p.name.clone(),
                backend: d.backend.into(),
                dpdk_port: d.eth.id(),
                mac: MacAddr(p.mac).to_string(),
                link_up: p.carrier,
                speed_mbps: d.eth.link().speed_mbps,
                kind: format!("{:?}", p.kind).to_lowercase(),
                admin_up: p.admin_up,
                learning: view.learning,
                forwarding: view.forwarding,
                fdb_entries: plane.fdb().port_len(i as u16),
            }
        })
        .collect()
}

fn fdb_rows(plane: &ControlPlane, now: Duration) -> Vec<FdbRow> {
    let now = secs(now);
    plane
        .fdb()
        .entries()
        .into_iter()
        .map(|(k, e)| FdbRow {
            vlan: k.vid(),
            mac: MacAddr(k.mac()).to_string(),
            port: plane
                .ports()
                .get(e.port as usize)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            age_secs: now.saturating_sub(e.stamp),
        })
        .collect()
}

/// BPDU counts by type, for the JSON map.
fn by_type(config: u64, tcn: u64, rst: u64) -> BTreeMap<String, u64> {
    [("config", config), ("tcn", tcn), ("rst", rst)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn port_stats(
    plane: &ControlPlane,
    i: usize,
    t: &PortTally,
    d: &crate::ports::DevicePort,
    stp: Option<&satellite_protocol::rstp::BridgeStatus>,
) -> PortStats {
    let p = &plane.ports()[i];
    let number = satellite_protocol::node::rstp_number(i as u16);
    let ps = stp.and_then(|s| s.ports.iter().find(|ps| ps.port == number));
    let c = ps.map(|ps| ps.counters);
    PortStats {
        name: p.name.clone(),
        rx_packets: t.rx_packets,
        rx_bytes: t.rx_bytes,
        tx_packets: t.tx_packets,
        tx_bytes: t.tx_bytes,
        tx_control_packets: t.tx_control,
        punted: t.punted,
        drops: DropReason::ALL
            .iter()
            .map(|r| (r.as_str().to_string(), t.drop_count(*r)))
            .chain([(BEFORE_START.to_string(), d.rx_before_start)])
            .collect(),
        rx_missed: {
            let s = d.eth.stats();
            s.imissed + s.rx_nombuf
        },
        stp_role: ps.map(|ps| role_name(ps.role).into()),
        stp_state: ps.map(|ps| state_name(ps.state).into()),
        bpdus_rx: c
            .map(|c| by_type(c.rx_config, c.rx_tcn, c.rx_rst))
            .unwrap_or_default(),
        bpdus_tx: c
            .map(|c| by_type(c.tx_config, c.tx_tcn, c.tx_rst))
            .unwrap_or_default(),
        bpdu_guard_trips: p.bpdu_guard_trips,
        sstp_refused: p.sstp_refused,
        filter_verdicts: if plane.has_policy(i) {
            (0..FILTER_SLOTS)
                .map(|s| (filter_slot_label(s).to_string(), t.filter[s]))
                .collect()
        } else {
            BTreeMap::new()
        },
        dhcpcast_steered: (0..t.dhcpcast_steered.len())
            .map(|s| (dhcpcast_label(s).to_string(), t.dhcpcast_steered[s]))
            .collect(),
        admin_up: p.admin_up,
        link_up: p.carrier,
    }
}

/// Every counter, summed over workers.
pub(crate) fn stats(plane: &ControlPlane, views: &Views<'_>, now: Duration) -> StatsReport {
    let tallies = views.workers.tallies(plane.ports().len());
    let (busy, learn_queue_full) = views.workers.load();
    let stp = plane.protocols().map(|p| p.status());
    let node = plane.protocols().map(|p| p.stats()).unwrap_or_default();
    let ports = plane
        .present()
        .filter_map(|(i, _)| Some((i, views.ports.list.get(i)?.as_ref()?)))
        .map(|(i, d)| port_stats(plane, i, &tallies[i], d, stp.as_ref()))
        .collect();
    let fs = plane.fdb().stats();
    StatsReport {
        bridge: plane.config().name().into(),
        uptime_secs: now.as_secs_f64(),
        ports,
        fdb: FdbStatsReport {
            entries: plane.fdb().len() as u64,
            capacity: plane.fdb().capacity() as u64,
            learned: fs.learned,
            moved: fs.moved,
            aged: fs.aged,
            flushed: fs.flushed,
            table_full: fs.table_full,
            port_limit: fs.port_limit,
            learn_queue_full,
        },
        snapshot_publishes: plane.publisher().publishes(),
        snapshot_epoch: plane.epoch(),
        workers: busy
            .into_iter()
            .enumerate()
            .map(|(index, (busy_cycles, busy_packets))| WorkerStats {
                index,
                busy_cycles,
                busy_packets,
            })
            .collect(),
        mempool_available: views.mempool_available,
        tsc_hz: views.tsc_hz,
        control_frames: plane.control_frames().clone(),
        stp_topology_changes: node.topology_changes,
        stp_invalid_bpdus: node.invalid_bpdus,
        control_tx_failed: views.workers.inject_failed(),
        sstp: sstp_stats(plane),
        memory: memory_report(views),
        changes: views.changes.clone(),
    }
}

fn memory_report(views: &Views<'_>) -> MemoryReport {
    let t = satellite_dataplane::tablemem::stats();
    MemoryReport {
        hugepages: views.hugepages,
        tables_in_dpdk_heap: t.dpdk_heap,
        dpdk_table_blocks: t.dpdk_blocks as u64,
        table_fallbacks: t.fallbacks,
    }
}

fn sstp_stats(plane: &ControlPlane) -> Option<SstpStatsReport> {
    let p = plane.protocols()?;
    let e = p.sstp()?;
    let s = e.stats();
    let node = p.stats();
    let adj = e.adjacencies();
    let times = p.spf_times();
    let strings = |m: &BTreeMap<&'static str, u64>| {
        m.iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<_, _>>()
    };
    Some(SstpStatsReport {
        adjacencies_up: adj.iter().filter(|a| a.state.as_str() == "up").count() as u64,
        links_advertised: adj.iter().filter(|a| a.advertised).count() as u64,
        bridges_known: e.lsdb().origin_count() as u64,
        bridges_reachable: e.routes().reachable_count() as u64,
        mac_homes_local: plane.link_state().home_count() as u64,
        mac_homes_known: e.lsdb().home_count() as u64,
        mac_homes_routed: plane.link_state().installed_count() as u64,
        lsp_fragments: e.lsdb().fragment_count() as u64,
        lsps_originated: s.lsps_originated,
        lsps_received: s.lsps_received,
        lsps_flooded: s.lsps_flooded,
        lsps_retransmitted: s.lsps_retransmitted,
        fails_originated: s.fails_originated,
        fails_relayed: s.fails_relayed,
        fails_stale: s.fails_stale,
        adjacency_ups: s.adjacency_ups,
        adjacency_downs: s.adjacency_downs,
        rx: strings(&s.rx),
        tx: strings(&s.tx),
        dropped: strings(&s.dropped),
        overflows: strings(&s.overflows),
        spf_runs: s.spf_runs,
        spf_duration_buckets: crate::protocols::SPF_BUCKETS
            .iter()
            .copied()
            .zip(times.buckets)
            .collect(),
        spf_duration_count: times.count,
        spf_duration_sum_secs: times.sum_secs,
        stale_root_bpdus: node.stale_root_bpdus,
        stale_roots_aged: node.stale_roots_aged,
        route_changes: plane.route_changes(),
        mac_moves_away: plane.link_state().moves_away(),
        mac_duplicates: plane.link_state().duplicates(),
    })
}
