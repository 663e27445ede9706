//! SSTP between real satellited switches in network namespaces: every
//! adjacency forms, `show routes` lists every other switch at its true
//! distance with every equal-cost first hop, and a link's carrier loss
//! takes its adjacency down at once and is known everywhere within
//! milliseconds. Timings are read from the daemons' own log timestamps
//! and printed; the assertions are on what must hold, with bounds loose
//! enough for a loaded 2-core machine.

use satellite_e2e::fabric::{system_id, Fabric, Topology};
use satellite_e2e::{require_root, wait_until};
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Microseconds since the epoch of an RFC 3339 UTC timestamp as tracing
/// writes it (`2026-12-06T04:12:33.123456Z`).
fn parse_ts(s: &str) -> Option<u64> {
    let (date, time) = s.trim_end_matches('Z').split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, m, dd) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|x| x.parse::<i64>());
    let (hh, mm, ss) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + dd - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    let micros: String = format!("{frac:0<6}").chars().take(6).collect();
    Some(secs as u64 * 1_000_000 + micros.parse::<u64>().ok()?)
}

/// Time of the first log line at or after `since` that contains every
/// one of `words`.
fn log_time(log: &str, since: u64, words: &[&str]) -> Option<u64> {
    log.lines()
        .filter(|l| words.iter().all(|w| l.contains(w)))
        .filter_map(|l| parse_ts(l.split_whitespace().next()?))
        .find(|&t| t >= since)
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// Checks `show routes` of switch `i` against the topology: every other
/// switch, at hops × `cost`, over exactly the ports that start a shortest
/// path. Returns how many destinations have more than one next hop.
fn check_routes(f: &Fabric, topo: &Topology, i: usize, cost: u64) -> Result<usize, String> {
    let v = f.json(i, "show routes");
    let routes = v["routes"].as_array().cloned().unwrap_or_default();
    let dist = topo.distances(i);
    let mut multi = 0;
    for j in (0..topo.n).filter(|&j| j != i) {
        let r = routes
            .iter()
            .find(|r| r["bridge"] == system_id(j).as_str())
            .ok_or_else(|| format!("s{i} has no route to s{j}"))?;
        let want_d = dist[j] as u64 * cost;
        if r["distance"].as_u64() != Some(want_d) {
            return Err(format!(
                "s{i} → s{j}: distance {} want {want_d}",
                r["distance"]
            ));
        }
        let got: BTreeSet<String> = r["next_hops"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(String::from))
            .collect();
        let want: BTreeSet<String> = topo
            .first_hops(i, j)
            .into_iter()
            .map(|p| format!("f{p}"))
            .collect();
        if got != want {
            return Err(format!("s{i} → s{j}: next hops {got:?} want {want:?}"));
        }
        multi += usize::from(want.len() > 1);
    }
    Ok(multi)
}

/// The link cost every switch uses (all links alike in these labs).
fn link_cost(f: &Fabric) -> u64 {
    f.json(0, "show sstp")["adjacencies"][0]["cost"]
        .as_u64()
        .expect("cost")
}

/// Every switch's database as (origin, sequence) of fragment 0.
fn lsdb_heads(f: &Fabric, i: usize) -> BTreeSet<(String, u64)> {
    f.json(i, "show lsdb")["origins"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["origin"].as_str().unwrap_or("").to_string(),
                o["sequence"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn converge(f: &Fabric) {
    let ok = wait_until(Duration::from_secs(60), || f.all_adjacencies_up());
    assert!(
        ok,
        "adjacencies did not all come up:\n{}",
        f.text(0, "show sstp")
    );
    let cost = link_cost(f);
    let ok = wait_until(Duration::from_secs(30), || {
        (0..f.topo.n).all(|i| check_routes(f, &f.topo, i, cost).is_ok())
    });
    if !ok {
        let errs: Vec<String> = (0..f.topo.n)
            .filter_map(|i| check_routes(f, &f.topo, i, cost).err())
            .collect();
        let heads: Vec<_> = (0..f.topo.n).map(|i| lsdb_heads(f, i)).collect();
        let differ: Vec<usize> = (0..f.topo.n).filter(|&i| heads[i] != heads[0]).collect();
        panic!(
            "routes wrong: {errs:?}\nswitches whose LSDB differs from s0's: {differ:?}\n{}\n{}\n{}",
            f.text(0, "show routes"),
            f.text(0, "show lsdb"),
            f.text(0, "show sstp --json")
        );
    }
}

#[test]
fn a_ring_of_eight_routes_every_switch_at_its_distance_with_both_ways_to_the_far_side() {
    require_root!();
    let f = Fabric::new(Topology::ring(8), "");
    converge(&f);
    let cost = link_cost(&f);
    for i in 0..8 {
        // The switch opposite has two equal paths round the ring.
        assert_eq!(check_routes(&f, &f.topo, i, cost), Ok(1), "s{i}");
    }
    let text = f.text(3, "show routes");
    assert!(
        text.contains("f0,f1"),
        "the far side by both ports:\n{text}"
    );
    let text = f.text(3, "show sstp");
    assert!(text.contains("s4") && text.contains("up"), "{text}");

    // The Wireshark dissector over what the ring really sent: capture on
    // s3's port toward s2 while the far link s5 — s6 goes down and up
    // (FAIL, LSPs, PSNPs, CSNPs and HELLOs all pass there).
    let pcap = f.scratch.join("ring.pcap");
    let pcap_s = pcap.display().to_string();
    let mut dump = f.sw[3].tcpdump("f0", &pcap, &[], &["ether", "proto", "0x88b5"]);
    f.link_down(5);
    std::thread::sleep(Duration::from_millis(1500));
    f.link_up(5);
    std::thread::sleep(Duration::from_millis(2500));
    dump.stop();
    let dissector = format!(
        "lua_script:{}/../contrib/wireshark/sstp.lua",
        env!("CARGO_MANIFEST_DIR")
    );
    let tshark = |args: &[&str]| -> String {
        let out = std::process::Command::new("tshark")
            .args(["-n", "-r", &pcap_s, "-X", &dissector])
            .args(args)
            .output()
            .expect("tshark (a lab package: dpdk-build/install-deps.sh --lab)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let rows = tshark(&[
        "-T",
        "fields",
        "-e",
        "satsstp.type",
        "-e",
        "satsstp.checksum.status",
        "-e",
        "satsstp.lsp.checksum.status",
    ]);
    let mut types = BTreeSet::new();
    for row in rows.lines() {
        let cols: Vec<&str> = row.split('\t').collect();
        types.insert(cols[0].to_string());
        assert_eq!(cols.get(1), Some(&"good"), "PDU checksum of {row:?}");
        if cols[0] == "2" {
            assert_eq!(cols.get(2), Some(&"good"), "LSP checksum of {row:?}");
        }
    }
    eprintln!(
        "ring capture: {} SSTP frames, types {types:?}",
        rows.lines().count()
    );
    for t in ["1", "2", "3", "4", "5"] {
        assert!(types.contains(t), "no PDU of type {t} captured: {types:?}");
    }
    let text = tshark(&["-V"]);
    for bad in ["Malformed", "Expert Info (Error", "Expert Info (Warn"] {
        assert!(!text.contains(bad), "{bad} in the ring's capture");
    }
}

#[test]
fn a_torus_routes_over_every_shortest_path_and_a_cut_link_is_known_everywhere_in_milliseconds() {
    require_root!();
    let f = Fabric::new(Topology::torus(4, 4), "");
    converge(&f);
    let cost = link_cost(&f);
    let multi: usize = (0..16)
        .map(|i| check_routes(&f, &f.topo, i, cost).unwrap())
        .sum();
    // From a 4 × 4 torus switch, 11 of the 15 others have several equal
    // first hops (both coordinates differ, or one differs by 2).
    assert_eq!(multi, 16 * 11);

    // A failure in a network at rest: no database change for 2.5 s, so
    // the throttles have gone back to "at once" (twice the largest hold).
    let quiet = wait_until(Duration::from_secs(30), || {
        (0..16)
            .filter_map(|i| f.json(i, "show sstp")["lsdb_changed_unix_us"].as_u64())
            .max()
            .is_some_and(|t| now_us().saturating_sub(t) > 2_500_000)
    });
    assert!(quiet, "the fabric never came to rest");

    // Cut link 0 (s0 — s1), let everything settle, check the new routes.
    let before: Vec<_> = (0..16).map(|i| lsdb_heads(&f, i)).collect();
    assert!(
        before.iter().all(|h| *h == before[0]),
        "in sync before the cut"
    );
    let (pa, b, pb) = f.port_of_link(0);
    let t0 = now_us();
    f.link_down(0);
    let mut cut = f.topo.clone();
    cut.cut.push(0);
    let settled = wait_until(Duration::from_secs(20), || {
        let heads: Vec<_> = (0..16).map(|i| lsdb_heads(&f, i)).collect();
        heads.iter().all(|h| *h == heads[0]) && heads[0] != before[0]
    });
    assert!(settled, "databases did not agree again after the cut");
    // The port numbering is the fabric's own, so the cut topology keeps it.
    let routes_ok = wait_until(Duration::from_secs(5), || {
        (0..16).all(|i| check_routes(&f, &cut, i, cost).is_ok())
    });
    if !routes_ok {
        let errs: Vec<String> = (0..16)
            .filter_map(|i| check_routes(&f, &cut, i, cost).err())
            .collect();
        panic!("after the cut: {errs:?}");
    }

    // Timings from the daemons' own clocks.
    let detect = |i: usize, port: usize| -> (u64, u64) {
        let log = f.log(i);
        let port = format!("port=f{port}");
        let carrier = log_time(&log, t0, &["link down", &port]).expect("carrier loss logged");
        let adj = log_time(&log, t0, &["adjacency down", &port]).expect("adjacency down logged");
        (carrier, adj)
    };
    let (ca, aa) = detect(0, pa);
    let (cb, ab) = detect(b, pb);
    let changes: Vec<u64> = (0..16)
        .filter_map(|i| f.json(i, "show sstp")["lsdb_changed_unix_us"].as_u64())
        .collect();
    let last_change = changes.iter().copied().max().unwrap();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!(
        "torus 4x4, link s0-s{b} down: carrier seen {} / {} µs after the command, \
         adjacency down {} / {} µs after carrier, every LSDB in sync {} µs after the first carrier loss \
         (load {})",
        ca.saturating_sub(t0),
        cb.saturating_sub(t0),
        aa.saturating_sub(ca),
        ab.saturating_sub(cb),
        last_change.saturating_sub(ca.min(cb)),
        load.trim()
    );
    // The carrier, not the dead timer, takes the adjacency down: the log
    // says so, and it happens well inside the dead interval the timer
    // would have needed (a wall-clock bound of one loop pass would measure
    // the scheduler of 16 poll-mode daemons on 2 cores, not the switch).
    for (i, port) in [(0, pa), (b, pb)] {
        let log = f.log(i);
        let line = log
            .lines()
            .filter(|l| l.contains("adjacency down") && l.contains(&format!("port=f{port}")))
            .find(|l| {
                l.split_whitespace()
                    .next()
                    .and_then(parse_ts)
                    .is_some_and(|t| t >= t0)
            })
            .expect("adjacency down logged");
        assert!(line.contains("reason=\"carrier_lost\""), "s{i}: {line}");
    }
    let dead_us = 10_000 * u64::from(satellite_e2e::fabric::LAB_DEAD_COUNT);
    assert!(aa.saturating_sub(ca) < dead_us, "s0: {} µs", aa - ca);
    assert!(ab.saturating_sub(cb) < dead_us, "s{b}: {} µs", ab - cb);
    // A bound for a loaded machine (the design's is 10 ms, printed above).
    assert!(
        last_change.saturating_sub(ca.min(cb)) < 200_000,
        "per switch, µs after the carrier loss: {:?}\n{}\n{}",
        changes
            .iter()
            .map(|c| *c as i64 - ca.min(cb) as i64)
            .collect::<Vec<_>>(),
        f.log(0),
        f.text(0, "show sstp --json")
    );

    // Back up: routes as at the start.
    f.link_up(0);
    converge(&f);
}

#[test]
fn after_a_root_failure_in_a_torus_no_switch_keeps_the_dead_roots_information() {
    require_root!();
    let f = Fabric::new(Topology::torus(4, 4), "");
    converge(&f);
    // Switch 0 has the lowest address: the RSTP root (default priorities),
    // once the spanning tree (2 s hellos) has converged too.
    let rstp = wait_until(Duration::from_secs(60), || {
        (1..16).all(|i| f.stp_root(i, "").0.ends_with("020000030001"))
    });
    let old = f.stp_root(1, "").0;
    assert!(
        rstp,
        "the spanning tree did not converge on s0: s1 says {old}"
    );
    let t0 = std::time::Instant::now();
    f.switch_down(0);
    // Polling 15 switches takes a while on this machine: the time is an
    // upper bound of when the last one let go.
    let forgotten = wait_until(Duration::from_secs(30), || {
        (1..16).all(|i| {
            let (root, holds) = f.stp_root(i, &old);
            root != old && !holds
        })
    });
    let forgotten_after = t0.elapsed();
    let agreed = wait_until(Duration::from_secs(60), || {
        let roots: BTreeSet<String> = (1..16).map(|i| f.stp_root(i, &old).0).collect();
        roots.len() == 1
    });
    let aged: u64 = (1..16)
        .map(|i| {
            f.json(i, "show stats")["sstp"]["stale_roots_aged"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!(
        "torus 4x4 root failure: every switch had forgotten the dead root within {forgotten_after:?} \
         (one sweep of satctl takes ~{:?}), the link state aged it {aged} times; one root again after {:?} (load {})",
        forgotten_after / 2,
        t0.elapsed(),
        load.trim()
    );
    assert!(
        forgotten,
        "a switch still holds the dead root's information"
    );
    assert!(agreed, "the switches never agreed on a new root");
    assert!(aged >= 1, "the link state aged the dead root nowhere");
}

/// Forwarded packets sent per fabric port of switch `i` (`f0`, `f1`,
/// ...): what the port sent less the switch's own PDUs (SSTP hellos at
/// 10 ms would otherwise outnumber the traffic).
fn fabric_tx(f: &Fabric, i: usize) -> Vec<(String, u64)> {
    let v = f.json(i, "show stats");
    v["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with('f')))
        .map(|p| {
            (
                p["name"].as_str().unwrap_or("").to_string(),
                p["tx_packets"].as_u64().unwrap_or(0)
                    - p["tx_control_packets"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// Packets host `i`'s interface has received.
fn host_rx(f: &Fabric, i: usize) -> u64 {
    f.hosts[i]
        .sh("cat /sys/class/net/eth0/statistics/rx_packets")
        .trim()
        .parse()
        .unwrap_or(0)
}

/// SSTP.md: "every link is used". A 4 × 4 torus, and from every host to
/// every other 24 UDP flows (one packet each, distinct source ports):
/// every fabric port, the ones the spanning tree blocks included, sends
/// unicast, and no port sends more than twice what the least busy sends —
/// the flow hash spreads flows over the equal-cost first hops at every
/// switch. Nothing is dropped on the way (every host receives its share).
#[test]
fn in_a_torus_every_link_carries_unicast_and_equal_cost_links_share_the_flows() {
    require_root!();
    const FLOWS: usize = 24;
    let f = Fabric::new(Topology::torus(4, 4), "");
    converge(&f);
    let n = f.topo.n;
    // Every host speaks once, so its switch advertises it as a MAC home,
    // then wait until every switch routes all of them.
    f.announce_hosts();
    let routed = wait_until(Duration::from_secs(30), || f.all_homes_routed());
    assert!(
        routed,
        "not every switch routes every other host: {:?}",
        (0..n).map(|i| f.homes_routed(i)).collect::<Vec<_>>()
    );
    let tx0: Vec<_> = (0..n).map(|i| fabric_tx(&f, i)).collect();
    let rx0: Vec<_> = (0..n).map(|i| host_rx(&f, i)).collect();
    let targets: Vec<String> = (0..n).map(satellite_e2e::fabric::host_ip).collect();
    for i in 0..n {
        let dsts: Vec<String> = (0..n)
            .filter(|&j| j != i)
            .map(|j| format!("'{}'", targets[j]))
            .collect();
        f.hosts[i].sh(&format!(
            "python3 -c \"
import socket, time
for d in [{}]:
    for p in range(40000, 40000 + {FLOWS}):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('', p))
        s.sendto(b'x' * 32, (d, 9))
        s.close()
        time.sleep(0.0005)
\"",
            dsts.join(", ")
        ));
    }
    // Let the last packets land.
    std::thread::sleep(Duration::from_millis(500));
    let mut sent = vec![];
    for (i, tx0) in tx0.iter().enumerate() {
        for ((name, after), (_, before)) in fabric_tx(&f, i).into_iter().zip(tx0) {
            sent.push((format!("s{i}/{name}"), after - before));
        }
    }
    let received: Vec<u64> = (0..n).map(|i| host_rx(&f, i) - rx0[i]).collect();
    let least = sent.iter().map(|x| x.1).min().unwrap();
    let most = sent.iter().map(|x| x.1).max().unwrap();
    let total: u64 = sent.iter().map(|x| x.1).sum();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!(
        "torus 4x4, {} flows: {} fabric ports sent {total} packets, least {least}, most {most} \
         (ratio {:.2}); hosts received {:?} (load {})",
        n * (n - 1) * FLOWS,
        sent.len(),
        most as f64 / least.max(1) as f64,
        received,
        load.trim()
    );
    assert_eq!(sent.len(), 2 * f.topo.links.len(), "{sent:?}");
    let expected = ((n - 1) * FLOWS) as u64;
    assert!(
        received.iter().all(|&r| r >= expected),
        "every host should have received {expected}: {received:?}"
    );
    assert!(least > 0, "a fabric port sent nothing: {sent:?}");
    assert!(
        most <= 2 * least,
        "the busiest fabric port sent more than twice the least busy: {sent:?}"
    );
}

/// SSTP unicast carries the unicast tag between switches — the sender's
/// distance to the destination switch, which the receiver's downhill test
/// reads — and never reaches a host with it: the capture on a fabric link
/// shows it (decoded by the dissector), the capture at the destination
/// host shows plain frames.
#[test]
fn routed_frames_carry_the_unicast_tag_between_switches_and_never_reach_a_host() {
    require_root!();
    let f = Fabric::new(Topology::ring(8), "");
    converge(&f);
    let cost = link_cost(&f);
    // h0 → h2 goes s0 → s1 → s2; s1's port toward s0 is its f0.
    for i in [0, 2] {
        f.hosts[i].sh(&format!(
            "ping -c 1 -W 1 {} >/dev/null 2>&1 || true",
            satellite_e2e::fabric::host_ip(2 - i)
        ));
    }
    let routed = wait_until(Duration::from_secs(20), || {
        f.json(0, "show stats")["sstp"]["mac_homes_routed"].as_u64() >= Some(1)
    });
    assert!(routed, "s0 does not route h2's MAC home");
    let fabric_pcap = f.scratch.join("tagged.pcap");
    let host_pcap = f.scratch.join("host.pcap");
    let mut on_link = f.sw[1].tcpdump("f0", &fabric_pcap, &[], &["icmp or ether proto 0x88b6"]);
    let mut at_host = f.hosts[2].tcpdump("eth0", &host_pcap, &[], &[]);
    let out = f.hosts[0].sh(&format!(
        "ping -c 20 -i 0.05 -W 1 {} 2>&1 || true",
        satellite_e2e::fabric::host_ip(2)
    ));
    std::thread::sleep(Duration::from_millis(500));
    on_link.stop();
    at_host.stop();
    assert!(out.contains(" 0% packet loss"), "{out}");
    let dissector = format!(
        "lua_script:{}/../contrib/wireshark/sstp.lua",
        env!("CARGO_MANIFEST_DIR")
    );
    let fields = |pcap: &std::path::Path, filter: &str, field: &str| -> Vec<String> {
        let out = std::process::Command::new("tshark")
            .args(["-n", "-r", &pcap.display().to_string(), "-X", &dissector])
            .args(["-Y", filter, "-T", "fields", "-e", field])
            .output()
            .expect("tshark");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    };
    // s0 is two links from s2: every echo request s1 gets from s0 says so.
    let requests = fields(&fabric_pcap, "satuc && icmp.type == 8", "satuc.distance");
    assert!(
        requests.len() >= 20,
        "tagged echo requests on s1/f0: {requests:?}; tcpdump: {}; ping: {out}",
        on_link.log_text()
    );
    let want = (2 * cost).to_string();
    assert!(
        requests.iter().all(|d| *d == want),
        "distances {requests:?}, want {want}"
    );
    let untagged = fields(&fabric_pcap, "!satuc && icmp.type == 8", "frame.number");
    assert!(
        untagged.is_empty(),
        "untagged routed frames on s1/f0: {untagged:?}"
    );
    // At the host: the echo requests, plain.
    let at_h2 = fields(&host_pcap, "icmp.type == 8", "frame.number");
    assert!(at_h2.len() >= 20, "h2 saw {} echo requests", at_h2.len());
    let leaked = fields(&host_pcap, "satuc || eth.type == 0x88b6", "frame.number");
    assert!(leaked.is_empty(), "a tag reached h2: frames {leaked:?}");
    // The lab's fabric links carry the tag (FABRIC_MTU): no warning.
    assert!(
        !f.log(1).contains("MTU too small"),
        "s1 warns about its fabric MTU:\n{}",
        f.log(1)
    );
    eprintln!(
        "unicast tag: {} tagged echo requests on s1/f0 at distance {want}; h2 saw {} plain",
        requests.len(),
        at_h2.len()
    );
}

/// The largest gap between two consecutive replies of a `ping -D` run
/// whose span ends in `[from, to]` (epoch seconds): (echoes missing in a
/// row, milliseconds between the two replies).
fn largest_gap(out: &str, from: f64, to: f64) -> (u64, f64) {
    let replies: Vec<(f64, u64)> = out
        .lines()
        .filter_map(|l| {
            let ts = l
                .strip_prefix('[')?
                .split(']')
                .next()?
                .parse::<f64>()
                .ok()?;
            let seq = l
                .split("icmp_seq=")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()?;
            Some((ts, seq))
        })
        .collect();
    replies
        .windows(2)
        .filter(|w| w[1].0 >= from && w[1].0 <= to)
        .map(|w| (w[1].1.saturating_sub(w[0].1 + 1), (w[1].0 - w[0].0) * 1e3))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, 0.0))
}

/// The echoes a `ping` run got no reply to, of `sent`.
fn missing(out: &str, sent: u64) -> Vec<u64> {
    let got: BTreeSet<u64> = out
        .lines()
        .filter_map(|l| l.split("icmp_seq=").nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    (1..=sent).filter(|s| !got.contains(s)).collect()
}

/// Packets transmitted and received, from ping's summary.
fn ping_counts(out: &str) -> (u64, u64) {
    let line = out
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .unwrap_or("");
    let num = |word: &str| -> u64 {
        line.split(", ")
            .find(|p| p.contains(word))
            .and_then(|p| p.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (num("transmitted"), num("received"))
}

/// A host moves from s0 to s2 while s0's port toward it stays up (it sat
/// behind a bridge that has other members, as a VM behind a hypervisor's
/// bridge does), and announces itself at s2 with one frame. s0 keeps a
/// stale entry for it until aging, and s0 has the lowest SystemId: without
/// move sequences every switch would keep sending the host's traffic to
/// s0. With them, s2 outranks s0's advertisement, every switch follows at
/// once and s0 withdraws. Flows to the moved host lose what was in flight
/// to the old place; other flows lose nothing.
#[test]
fn a_host_that_moves_to_another_switch_is_followed_by_every_switch_at_once() {
    require_root!();
    let f = Fabric::new(Topology::ring(4), "");
    converge(&f);
    // The spanning tree too: the other flow's first replies are flooded
    // on it (h3 is not yet known at s1).
    let root = system_id(0).replace(':', "");
    let tree = wait_until(Duration::from_secs(30), || {
        (0..4).all(|i| f.stp_root(i, &root).0.ends_with(&root))
    });
    assert!(
        tree,
        "the tree has no single root:\n{}",
        f.text(1, "show stp")
    );
    const MAC: &str = "02:00:00:04:00:99";
    const IP: &str = "10.0.1.99";
    // h0's namespace becomes a hypervisor's bridge: s0's host port stays up
    // whether the mover is there or not.
    let hv = &f.hosts[0];
    hv.sh("ip addr flush dev eth0 && ip link add br0 type bridge && ip link set eth0 master br0 && ip link set br0 up");
    let mover = satellite_e2e::Netns::new(&format!("{}mv", f.tag));
    let _at_s0 = satellite_e2e::Veth::new("eth0", Some(&mover), "mv", Some(hv));
    hv.sh("ip link set mv master br0");
    let _at_s2 = satellite_e2e::Veth::new("eth1", Some(&mover), "mover", Some(&f.sw[2]));
    let add = f.text(2, "port add mover --kind edge");
    assert!(!add.contains("rror"), "port add: {add}");
    let neigh = |dev: &str| {
        [1, 3]
            .iter()
            .map(|&j| {
                format!(
                    "ip neigh replace {} lladdr {} dev {dev} nud permanent",
                    satellite_e2e::fabric::host_ip(j),
                    satellite_e2e::fabric::host_mac(j)
                )
            })
            .collect::<Vec<_>>()
            .join(" && ")
    };
    mover.sh(&format!(
        "ip link set eth0 address {MAC} && ip link set eth1 address {MAC} && ip addr add {IP}/16 dev eth0 && {}",
        neigh("eth0")
    ));
    for j in [1, 3] {
        f.hosts[j].sh(&format!(
            "ip neigh replace {IP} lladdr {MAC} dev eth0 nud permanent"
        ));
    }
    let h1 = satellite_e2e::fabric::host_ip(1);
    // The mover is heard at s0, advertised, and routed there by s1.
    let has = |i: usize, port: &str| {
        f.text(i, "show fdb")
            .lines()
            .any(|l| l.contains(MAC) && l.split_whitespace().nth(2) == Some(port))
    };
    let routed = wait_until(Duration::from_secs(20), || {
        mover.sh(&format!("ping -c 1 -W 1 {h1} >/dev/null 2>&1 || true"));
        has(0, "host") && f.text(1, "show fdb").contains(MAC)
    });
    let homes_at_s0 = f.json(0, "show stats")["sstp"]["mac_homes_local"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        routed,
        "the mover is not routed to s0: port add: {add}\ns0 {}\ns1 {}\ns0 fdb {}\ns2 {}",
        f.json(0, "show stats")["sstp"],
        f.json(1, "show stats")["sstp"],
        f.text(0, "show fdb"),
        f.text(2, "show ports")
    );
    // h1 pings the mover every millisecond; h3 pings h1 (a flow the move
    // does not touch).
    let pinger = |ns: &satellite_e2e::Netns, dst: &str, name: &str| {
        ns.spawn(
            std::path::Path::new("/bin/ping"),
            &["-D", "-i", "0.001", "-c", "3000", "-W", "1", dst],
            &f.scratch.join(name),
        )
    };
    // At the new place: the announcement going out and the first echo
    // request coming in, on one clock.
    let pcap = f.scratch.join("new-place.pcap");
    let mut at_new = mover.tcpdump("eth1", &pcap, &[], &["icmp"]);
    let mut to_mover = pinger(&f.hosts[1], IP, "to-mover.log");
    let mut other = pinger(&f.hosts[3], &h1, "other.log");
    std::thread::sleep(Duration::from_millis(1000));
    let move_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    // The move: gone from the bridge, its address on the new port, one
    // frame out of it (a migrated VM's announcement).
    mover.sh(&format!(
        "ip link set eth0 down && ip addr del {IP}/16 dev eth0 && ip addr add {IP}/16 dev eth1 && {} && (ping -c 1 -W 1 {h1} >/dev/null || true)",
        neigh("eth1")
    ));
    let done = wait_until(Duration::from_secs(30), || {
        !to_mover.alive() && !other.alive()
    });
    assert!(done, "pings did not end");
    at_new.stop();
    let dump = satellite_e2e::sh(&format!(
        "tcpdump -tt -nn -r {} 2>/dev/null",
        pcap.display()
    ));
    let when = |pat: &str| -> Option<f64> {
        dump.lines()
            .find(|l| l.contains(pat))
            .and_then(|l| l.split(' ').next()?.parse().ok())
    };
    let announced = when(&format!("{IP} > {h1}: ICMP echo request"));
    let first_in = when(&format!("{h1} > {IP}: ICMP echo request"));
    let follow_ms = announced.zip(first_in).map(|(a, b)| (b - a) * 1e3);
    let (to_text, other_text) = (to_mover.log_text(), other.log_text());
    let (sent, got) = ping_counts(&to_text);
    // The outage: the longest silence that ends within 2 s of the move's
    // start (it includes the move's own shell commands).
    let (gap, gap_ms) = largest_gap(&to_text, move_at, move_at + 2.0);
    let (ogap, ogap_ms) = largest_gap(&other_text, move_at, move_at + 2.0);
    let (osent, ogot) = ping_counts(&other_text);
    let s0 = f.json(0, "show stats");
    let downs: Vec<u64> = (0..4)
        .map(|i| {
            f.json(i, "show stats")["sstp"]["adjacency_downs"]
                .as_u64()
                .unwrap_or(0)
        })
        .collect();
    eprintln!(
        "relocation (load {}): announcement to the first echo at the new place {follow_ms:.1?} ms; \
         to the mover {sent} sent, {got} received, outage at the move {gap} echoes / {gap_ms:.1} ms; \
         other flow {osent} sent, {ogot} received, longest silence at the move {ogap} echoes / {ogap_ms:.1} ms; \
         missing to the mover {:?}, in the other flow {:?}; s0 moves away {}; adjacency downs {downs:?}",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        missing(&to_text, sent),
        missing(&other_text, osent),
        s0["sstp"]["mac_moves_away"]
    );
    assert!(sent > 0 && osent > 0, "{to_text}\n{other_text}");
    // Followed: the last echoes reach the mover at its new place, and
    // s0 no longer claims it.
    assert!(
        to_text.contains("icmp_seq=2999 ") || to_text.contains("icmp_seq=3000 "),
        "the mover is unreachable after its move (s1 routes: {})\n{to_text}",
        f.text(1, "show fdb")
    );
    assert!(gap_ms < 1000.0, "outage {gap_ms:.1} ms");
    assert!(
        follow_ms.is_some(),
        "no announcement or echo at the new place:\n{dump}"
    );
    assert_eq!(s0["sstp"]["mac_moves_away"].as_u64(), Some(1), "{s0}");
    assert_eq!(
        s0["sstp"]["mac_homes_local"].as_u64(),
        Some(homes_at_s0 - 1),
        "{s0}"
    );
    to_mover.stop();
    other.stop();
}
