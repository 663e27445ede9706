//! End-to-end tests of DHCPCAST (docs/dhcp.md, issue 18 item 3): a port
//! (or an Interstellar) whose DHCP clients are steered to one designated
//! server. The server is a real `dnsmasq` (from `dnsmasq-base`) in its own
//! namespace, the client busybox `udhcpc`, and a bystander host captures
//! every DHCP frame that reaches it: none may.
//!
//! dnsmasq is started as a child of the test (`-k`, its pid file, lease
//! file and log in the test's scratch directory, no configuration file,
//! DNS off) and stopped by its PID when the lab drops.

use satellite_e2e::filterlab::*;
use satellite_e2e::*;
use std::time::Duration;

const SERVER_IP: &str = "10.0.0.1";
const BYSTANDER_IP: &str = "10.0.0.9";
/// The address dnsmasq gives the client (its range is this one address
/// wide, so the test knows the answer came from it).
const LEASED_IP: &str = "10.0.0.123";

/// The client's and the server's MACs: Interstellar MACs of IID 1 for an
/// Interstellar's cast; universally administered ones otherwise, since a
/// locally administered MAC carries an Interstellar by design and its
/// broadcasts (the ping's ARP) stay in it (FILTERS.md).
fn macs(at: CastAt) -> (String, String) {
    match at {
        CastAt::Interstellar => (iid_mac(1, 1), iid_mac(1, 9)),
        CastAt::Port => ("00:16:3e:00:00:01".into(), "00:16:3e:00:00:09".into()),
    }
}

/// Where the designated server is configured.
#[derive(Clone, Copy, PartialEq, Debug)]
enum CastAt {
    /// `[port.dhcp] cast_to` of the client's plain port.
    Port,
    /// `[filters.interstellar_dhcp.1] cast_to`; the client's port is an
    /// Interstellar port of IID 1.
    Interstellar,
}

/// A lab, dnsmasq serving in it, and what the test watches.
struct CastLab {
    // Field order is drop order: dnsmasq and the captures stop before the
    // lab's namespaces go.
    dnsmasq: Proc,
    server_mac: String,
    captures: Vec<(String, Proc, std::path::PathBuf)>,
    lab: FilterLab,
}

/// Hosts: `vm` (the DHCP client, no address), `srv` (dnsmasq) and `by`
/// (a bystander) on switch 0; with `two_switches`, `srv` and a second
/// bystander `by1` are on switch 1, behind the fabric link, and both
/// switches know the Interstellar's server.
fn cast_lab(at: CastAt, two_switches: bool) -> CastLab {
    cast_lab_with(at, two_switches, "")
}

/// [`cast_lab`] with `port_extra` (TOML lines) on every host port.
fn cast_lab_with(at: CastAt, two_switches: bool, port_extra: &str) -> CastLab {
    let (client_mac, server_mac) = macs(at);
    let cast = format!("cast_to = \"{server_mac}\"\n");
    let host = format!("{HOST_KIND}{port_extra}");
    let (vm_toml, filters) = match at {
        CastAt::Port => (format!("{host}[port.dhcp]\n{cast}"), String::new()),
        CastAt::Interstellar => (
            format!("{host}macs = [\"{client_mac}\"]\ninterstellar = true\n"),
            format!("[filters.interstellar_dhcp.1]\n{cast}"),
        ),
    };
    let srv_sw = usize::from(two_switches);
    let mut hosts = vec![
        HostSpec::new("vm", &client_mac, "10.0.0.5", 0, &vm_toml),
        HostSpec::new("srv", &server_mac, SERVER_IP, srv_sw, &host),
        HostSpec::new("by", "02:00:00:00:0b:01", BYSTANDER_IP, 0, &host),
    ];
    if two_switches {
        hosts.push(HostSpec::new(
            "by1",
            "02:00:00:00:0b:02",
            "10.0.0.10",
            1,
            &host,
        ));
    }
    let switches: Vec<&str> = if two_switches {
        vec![&filters, &filters]
    } else {
        vec![&filters]
    };
    let lab = FilterLab::new(&switches, hosts);
    lab.host("vm").sh("ip addr flush dev eth0");
    let captures = lab
        .specs
        .iter()
        .filter(|h| h.name.starts_with("by"))
        .map(|h| {
            let pcap = lab.scratch.join(&format!("{}-dhcp.pcap", h.name));
            let cap = lab.host(&h.name).tcpdump(
                "eth0",
                &pcap,
                &[],
                &["udp", "port", "67", "or", "udp", "port", "68"],
            );
            (h.name.clone(), cap, pcap)
        })
        .collect();
    let dnsmasq = start_dnsmasq(&lab);
    CastLab {
        dnsmasq,
        server_mac,
        captures,
        lab,
    }
}

/// dnsmasq on `srv`'s eth0, DHCP only, one address in its range.
fn start_dnsmasq(lab: &FilterLab) -> Proc {
    let dir = &lab.scratch;
    let pid = dir.join("dnsmasq.pid").display().to_string();
    let leases = dir.join("dnsmasq.leases").display().to_string();
    let args = [
        "-k".to_string(),
        "--conf-file=/dev/null".into(),
        "--port=0".into(),
        "--interface=eth0".into(),
        "--bind-interfaces".into(),
        "--except-interface=lo".into(),
        format!("--dhcp-range={LEASED_IP},{LEASED_IP},255.255.255.0,10m"),
        format!("--dhcp-leasefile={leases}"),
        format!("--pid-file={pid}"),
        "--no-ping".into(),
        "--log-dhcp".into(),
        "--log-facility=-".into(),
        "--user=root".into(),
    ];
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let dnsmasq = std::path::PathBuf::from(sh("command -v dnsmasq").trim());
    let mut p = lab
        .host("srv")
        .spawn(&dnsmasq, &argv, &dir.join("dnsmasq.log"));
    let up = wait_until(Duration::from_secs(10), || {
        p.log_text().contains("DHCP, IP range") || !p.alive()
    });
    assert!(up && p.alive(), "dnsmasq did not start: {}", p.log_text());
    p
}

impl CastLab {
    /// Makes the switches hear from the server, as any server's first
    /// frame would teach them: DHCPCAST never floods to find it.
    fn server_speaks(&self) {
        let _ = self
            .lab
            .host("srv")
            .run(&format!("ping -c 1 -W 1 {BYSTANDER_IP}"));
        let server = &self.server_mac;
        for sw in 0..self.lab.sw.len() {
            let known = wait_until(Duration::from_secs(5), || {
                self.lab
                    .satctl(sw, "show fdb")
                    .to_string()
                    .contains(server.as_str())
            });
            assert!(
                known,
                "switch {sw} never learned the server\n{}",
                self.lab.logs()
            );
        }
    }

    /// Runs udhcpc on `vm` (with `-B`: asking for broadcast answers) and
    /// returns the address it was given.
    fn udhcpc(&self, broadcast: bool) -> String {
        let dir = self.lab.scratch.path.display().to_string();
        let script = self.lab.scratch.join("udhcpc.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n\
                 case \"$1\" in\n\
                 deconfig) ip addr flush dev $interface; ip link set $interface up ;;\n\
                 bound|renew) ip addr add $ip/$mask dev $interface; echo $ip > {dir}/leased ;;\n\
                 esac\n\
                 exit 0\n"
            ),
        )
        .unwrap();
        sh(&format!("chmod +x {}", script.display()));
        let b = if broadcast { "-B" } else { "" };
        let started = std::time::Instant::now();
        let out = self.lab.host("vm").run(&format!(
            "busybox udhcpc -f -q -n {b} -t 5 -T 1 -i eth0 -s {}",
            script.display()
        ));
        eprintln!("udhcpc {b}: lease applied in {:?}", started.elapsed());
        assert!(
            out.status.success(),
            "udhcpc got no lease: {}{}\ndnsmasq:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.dnsmasq.log_text(),
            self.lab.logs()
        );
        std::fs::read_to_string(self.lab.scratch.join("leased"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// A counter of `port` on switch `sw` (`show stats`), once it is at
    /// least `at_least` or 5 s have passed (workers publish their counts
    /// when they go idle, a moment after the last frame).
    fn counter(&self, sw: usize, port: &str, path: [&str; 2], at_least: u64) -> u64 {
        let mut n = 0;
        wait_until(Duration::from_secs(5), || {
            let stats = self.lab.satctl(sw, "show stats");
            n = stats["ports"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == port))
                .and_then(|p| p[path[0]][path[1]].as_u64())
                .unwrap_or(0);
            n >= at_least
        });
        n
    }

    /// The steered counter of `port` on switch `sw` for `direction`.
    fn steered(&self, sw: usize, port: &str, direction: &str, at_least: u64) -> u64 {
        self.counter(sw, port, ["dhcpcast_steered", direction], at_least)
    }

    /// Every DHCP frame the bystanders saw (`tcpdump -e` lines).
    fn bystanders_saw(&mut self) -> String {
        std::thread::sleep(Duration::from_millis(300));
        let mut seen = String::new();
        for (name, cap, pcap) in &mut self.captures {
            cap.stop();
            let lines = sh(&format!("tcpdump -r {} -e -nn 2>/dev/null", pcap.display()));
            for l in lines.lines() {
                seen.push_str(&format!("{name}: {l}\n"));
            }
        }
        seen
    }
}

/// The whole exchange through one switch: the lease comes from dnsmasq,
/// no bystander sees a DHCP frame, and the counters say what was steered.
fn lease_through_cast(at: CastAt, broadcast: bool) {
    lease_through_cast_with(at, broadcast, "")
}

fn lease_through_cast_with(at: CastAt, broadcast: bool, port_extra: &str) {
    let mut c = cast_lab_with(at, false, port_extra);
    c.server_speaks();
    let leased = c.udhcpc(broadcast);
    assert_eq!(leased, LEASED_IP, "not dnsmasq's address");
    let addr = c.lab.host("vm").sh("ip -4 -o addr show dev eth0");
    assert!(addr.contains(&format!("inet {LEASED_IP}/24")), "{addr}");
    assert!(
        c.dnsmasq
            .log_text()
            .contains(&format!("DHCPACK(eth0) {LEASED_IP}")),
        "dnsmasq did not ACK: {}",
        c.dnsmasq.log_text()
    );
    let seen = c.bystanders_saw();
    assert!(seen.is_empty(), "a bystander saw DHCP:\n{seen}");
    // DISCOVER and REQUEST, at least, from the client's port; the
    // answers, when broadcast, from the server's.
    let requests = c.steered(0, "vm", "request", 2);
    let replies = c.steered(0, "srv", "reply", if broadcast { 2 } else { 0 });
    eprintln!("{at:?} broadcast {broadcast}: steered requests {requests}, replies {replies}");
    assert!(requests >= 2, "requests steered: {requests}");
    if broadcast {
        assert!(replies >= 2, "replies steered: {replies}");
    } else {
        assert_eq!(replies, 0, "dnsmasq answered by unicast, nothing to steer");
    }
    let metrics = c.lab.metrics(0);
    let line = format!(
        "satellite_port_dhcpcast_steered_total{{direction=\"request\",port=\"vm\"}} {requests}"
    );
    assert!(
        metrics.contains(&line),
        "{line} not in /metrics:\n{}",
        metrics
            .lines()
            .filter(|l| l.contains("dhcpcast"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The client's ping reaches the server from its new address.
    assert!(c.lab.ping("vm", SERVER_IP), "{}", c.lab.logs());
}

#[test]
fn a_port_casts_dhcp_to_dnsmasq_and_no_bystander_sees_it() {
    require_root!();
    lease_through_cast(CastAt::Port, true);
}

/// Every port an access port of VLAN 10: the steered frame is tagged on
/// the way in like any other, looked up in VLAN 10, and untagged on the
/// way out.
#[test]
fn an_access_port_casts_within_its_vlan() {
    require_root!();
    lease_through_cast_with(CastAt::Port, true, "vlan_mode = \"access\"\nvlan = 10\n");
}

#[test]
fn an_interstellar_casts_dhcp_to_dnsmasq_answering_by_unicast() {
    require_root!();
    lease_through_cast(CastAt::Interstellar, false);
}

/// Before the switch has heard from the server, a DISCOVER is dropped and
/// counted, not flooded; once the server speaks, the client's next try
/// gets through.
#[test]
fn a_server_not_yet_heard_from_is_a_counted_drop_not_a_flood() {
    require_root!();
    let mut c = cast_lab(CastAt::Port, false);
    let out = c
        .lab
        .host("vm")
        .run("busybox udhcpc -f -q -n -t 3 -T 1 -i eth0 -s /bin/true");
    assert!(!out.status.success(), "a lease without the server known?");
    // Three DISCOVERs; two at least, should a loaded machine lose one.
    let dropped = c.counter(0, "vm", ["drops", "dhcpcast_server_unknown"], 2);
    assert!(dropped >= 2, "dhcpcast_server_unknown {dropped}");
    c.server_speaks();
    assert_eq!(c.udhcpc(false), LEASED_IP);
    let seen = c.bystanders_saw();
    assert!(seen.is_empty(), "a bystander saw DHCP:\n{seen}");
}

/// The server behind another switch: the client's broadcast crosses the
/// fabric as unicast to the server's MAC home, the broadcast answers come
/// back as unicast to the client, and bystanders on both switches see no
/// DHCP frame.
#[test]
fn a_server_behind_another_switch_is_reached_across_the_fabric() {
    require_root!();
    let mut c = cast_lab(CastAt::Interstellar, true);
    c.server_speaks();
    assert_eq!(c.udhcpc(true), LEASED_IP);
    let seen = c.bystanders_saw();
    assert!(seen.is_empty(), "a bystander saw DHCP:\n{seen}");
    let requests = c.steered(0, "vm", "request", 2);
    let replies = c.steered(1, "srv", "reply", 2);
    eprintln!("two switches: steered requests {requests} at s0, replies {replies} at s1");
    assert!(requests >= 2 && replies >= 2, "{requests} {replies}");
}

/// `satctl reload` with another `cast_to`: the next DISCOVER goes to the
/// new server — here one the switch never heard from, so it is a counted
/// drop, still not a flood.
#[test]
fn a_reloaded_cast_to_steers_the_next_discover() {
    require_root!();
    let mut c = cast_lab(CastAt::Port, false);
    c.server_speaks();
    assert_eq!(c.udhcpc(false), LEASED_IP);
    let path = c.lab.scratch.join("s0.toml");
    let cfg = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, cfg.replace(&c.server_mac, "00:16:3e:00:99:99")).unwrap();
    let o = c.lab.satctl_text(0, "reload --json");
    assert!(
        o.status.success(),
        "reload: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    c.lab.host("vm").sh("ip addr flush dev eth0");
    let out = c
        .lab
        .host("vm")
        .run("busybox udhcpc -f -q -n -t 3 -T 1 -i eth0 -s /bin/true");
    assert!(
        !out.status.success(),
        "a lease from the old server after reload"
    );
    let dropped = c.counter(0, "vm", ["drops", "dhcpcast_server_unknown"], 2);
    assert!(dropped >= 2, "dhcpcast_server_unknown {dropped}");
    let seen = c.bystanders_saw();
    assert!(seen.is_empty(), "a bystander saw DHCP:\n{seen}");
}
