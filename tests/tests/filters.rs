//! End-to-end tests of the edge filters in satellited: Interstellar tenant
//! isolation, ARPless (anti-spoofing and the in-switch ARP/RARP/InARP
//! responder) and ARP under VLAN tag stacks, over one switch and over two
//! switches joined by a fabric link. Frames are crafted with scapy inside
//! host namespaces; captures are taken with tcpdump.

use satellite_e2e::filterlab::*;
use satellite_e2e::*;

const BCAST: &str = "ff:ff:ff:ff:ff:ff";

fn a1() -> String {
    iid_mac(1, 1)
}
fn a2() -> String {
    iid_mac(1, 2)
}
fn b1() -> String {
    iid_mac(2, 1)
}
fn b2() -> String {
    iid_mac(2, 2)
}

/// Tenant 1 (IID 1): a1 10.0.0.1, a2 10.0.0.2; tenant 2 (IID 2): b1
/// 10.0.0.3, b2 10.0.0.4; all on switch `sw[i]`.
fn tenant_hosts(sw: [usize; 4]) -> Vec<HostSpec> {
    [
        ("a1", a1(), "10.0.0.1"),
        ("a2", a2(), "10.0.0.2"),
        ("b1", b1(), "10.0.0.3"),
        ("b2", b2(), "10.0.0.4"),
    ]
    .into_iter()
    .zip(sw)
    .map(|((n, mac, ip), s)| HostSpec::new(n, &mac, ip, s, &vm_port_toml(&mac, ip, "")))
    .collect()
}

/// A scapy ARP request (who-has `tpa`) from `mac`/`ip`, broadcast.
fn arp_req(mac: &str, ip: &str, tpa: &str) -> String {
    format!(
        "Ether(dst=\"{BCAST}\", src=\"{mac}\")/ARP(op=1, hwsrc=\"{mac}\", psrc=\"{ip}\", hwdst=\"00:00:00:00:00:00\", pdst=\"{tpa}\")"
    )
}

fn arp_replies(frames: &[Frame]) -> Vec<&Frame> {
    frames
        .iter()
        .filter(|f| f.arp.as_ref().is_some_and(|a| a.op == 2))
        .collect()
}

#[test]
fn interstellar_mac_layout_matches_filters_md() {
    assert_eq!(iid_mac(1, 1), "02:00:00:04:00:01");
    assert_eq!(iid_mac(2, 1), "02:00:00:08:00:01");
    assert_eq!(iid_mac((1 << 28) - 1, (1 << 18) - 1), "fe:ff:ff:ff:ff:ff");
    assert_eq!(iid_mac(1 << 22, 1 << 16), "06:00:00:01:00:00");
}

#[test]
fn two_tenants_on_one_switch_are_isolated_and_the_switch_answers_arp() {
    require_root!();
    let mut lab = FilterLab::new(&[""], tenant_hosts([0; 4]));
    // Every port reports every verdict and drop label, zero included.
    let all = lab.satctl(0, "show filters");
    for p in ["a1", "a2", "b1", "b2"] {
        let v = lab.verdicts(0, p);
        for l in DROP_LABELS.iter().chain(&["pass", "reply", "learn"]) {
            assert!(v[*l].is_u64(), "port {p} lacks verdict {l}: {all}");
        }
    }
    let reply0 = lab.verdict(0, "a1", "reply");

    // Same tenant: ping works, and no ARP request ever reaches a2 (the
    // switch answers for it).
    let cap = Capture::start(&lab, lab.host("a2"), "eth0", true);
    assert!(
        lab.ping("a1", "10.0.0.2"),
        "a1 cannot ping a2 (same tenant)\n{}",
        lab.logs()
    );
    let seen = cap.finish();
    assert!(
        seen.contains("10.0.0.1 > 10.0.0.2: ICMP echo request"),
        "a2 never saw a1's ping:\n{seen}"
    );
    assert!(
        !seen.contains("Request who-has"),
        "an ARP request reached a2 (ARPless should answer it in the switch):\n{seen}"
    );
    assert_eq!(lab.neigh("a1", "10.0.0.2"), Some(a2()), "a1's ARP answer");
    assert!(
        lab.ping("b1", "10.0.0.4"),
        "b1 cannot ping b2 (same tenant)"
    );
    assert!(
        lab.verdict(0, "a1", "reply") > reply0,
        "ARP answered but no reply verdict counted on a1: {}",
        lab.satctl(0, "show filters")
    );
    assert!(lab.verdict(0, "a1", "pass") >= 1);

    // Other tenant: the switch does not answer ARP for b1.
    let iso0 = lab.verdict(0, "a1", "arp_target_isolated");
    let r = lab.exchange("a1", &[arp_req(&a1(), "10.0.0.1", "10.0.0.3")], 1.0);
    assert!(
        arp_replies(&r).is_empty(),
        "a1 got an ARP reply about b1 (other tenant): {r:?}"
    );
    assert!(
        !lab.ping_once("a1", "10.0.0.3"),
        "a1 pinged b1 (other tenant)"
    );
    assert_ne!(lab.neigh("a1", "10.0.0.3"), Some(b1()));
    let iso = lab.wait_verdict(0, "a1", "arp_target_isolated", iso0, 2);
    assert!(
        iso >= iso0 + 2,
        "arp_target_isolated on a1 went {iso0} -> {iso}: {}",
        lab.satctl(0, "show filters")
    );

    // With a static neighbour entry, unicast to b1 is dropped at ingress.
    lab.host("a1").sh(&format!(
        "ip neigh replace 10.0.0.3 lladdr {} dev eth0 nud permanent",
        b1()
    ));
    let mm0 = lab.verdict(0, "a1", "interstellar_mismatch");
    let cap = Capture::start(&lab, lab.host("b1"), "eth0", true);
    assert!(!lab.ping_once("a1", "10.0.0.3"), "ICMP crossed tenants");
    let seen = cap.finish();
    assert!(
        !seen.contains("10.0.0.1 > 10.0.0.3"),
        "b1 received a1's packets:\n{seen}"
    );
    let mm = lab.wait_verdict(0, "a1", "interstellar_mismatch", mm0, 2);
    assert!(
        mm >= mm0 + 2,
        "interstellar_mismatch on a1 went {mm0} -> {mm}: {}",
        lab.satctl(0, "show filters")
    );
    // The same counter in Prometheus.
    let body = lab.metrics(0);
    let line = body
        .lines()
        .find(|l| {
            l.starts_with(
                "satellite_filter_verdicts_total{port=\"a1\",verdict=\"interstellar_mismatch\"}",
            )
        })
        .unwrap_or_else(|| panic!("no interstellar_mismatch series for a1 in /metrics:\n{body}"));
    let n: f64 = line
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(n >= 2.0, "{line}");
    let alive = lab.daemons[0].alive();
    assert!(alive, "satellited died:\n{}", lab.logs());
}

#[test]
fn resonance_reaches_the_other_tenant_only_where_the_far_port_accepts_it() {
    require_root!();
    let r = iid_mac(1, 3);
    let hosts = vec![
        HostSpec::new(
            "a1",
            &a1(),
            "10.0.0.1",
            0,
            &vm_port_toml(&a1(), "10.0.0.1", ""),
        ),
        // Tenant 1 VM with resonance ID 2.
        HostSpec::new(
            "r",
            &r,
            "10.0.0.5",
            0,
            &vm_port_toml(&r, "10.0.0.5", "resonance = [2]\n"),
        ),
        // FILTERS.md egress rule: a VM port accepts a source only if the
        // source's IID is in the port's IID set, so b1 lists IID 1.
        HostSpec::new(
            "b1",
            &b1(),
            "10.0.0.3",
            0,
            &vm_port_toml(&b1(), "10.0.0.3", "resonance = [1]\n"),
        ),
        // b2 has no resonance: by the egress rule r cannot reach it.
        HostSpec::new(
            "b2",
            &b2(),
            "10.0.0.4",
            0,
            &vm_port_toml(&b2(), "10.0.0.4", ""),
        ),
    ];
    let lab = FilterLab::new(&[""], hosts);
    assert!(
        lab.ping("r", "10.0.0.1"),
        "r cannot reach its own tenant\n{}",
        lab.logs()
    );
    assert!(lab.ping("a1", "10.0.0.5"), "a1 cannot reach r");
    assert!(
        lab.ping("r", "10.0.0.3"),
        "r (resonance 2) cannot reach b1 (resonance 1)\n{}",
        lab.logs()
    );
    assert!(lab.ping("b1", "10.0.0.5"), "b1 cannot reach r");
    assert_eq!(lab.neigh("r", "10.0.0.3"), Some(b1()));

    let sum = |label: &str| -> u64 {
        ["a1", "r", "b1", "b2"]
            .iter()
            .map(|p| lab.verdict(0, p, label))
            .sum()
    };
    // r -> b2: b2's port does not accept IID 1 on egress.
    let eg0 = sum("interstellar_egress_mismatch");
    let iso0 = lab.verdict(0, "r", "arp_target_isolated");
    let cap = Capture::start(&lab, lab.host("b2"), "eth0", true);
    assert!(
        !lab.ping_once("r", "10.0.0.4"),
        "r reached b2, whose port has no resonance for IID 1"
    );
    let seen = cap.finish();
    assert!(
        !seen.contains("10.0.0.5 > 10.0.0.4"),
        "b2 got r's ping:\n{seen}"
    );
    let counted = wait_until(std::time::Duration::from_secs(5), || {
        sum("interstellar_egress_mismatch") > eg0
            || lab.verdict(0, "r", "arp_target_isolated") > iso0
    });
    assert!(
        counted,
        "r -> b2 blocked but neither interstellar_egress_mismatch nor arp_target_isolated counted: {}",
        lab.satctl(0, "show filters")
    );
    // b1's resonance does not open tenant 1 to it: a1's port accepts only
    // IID 1 (a static entry gets past ARP; egress still drops).
    lab.host("b1").sh(&format!(
        "ip neigh replace 10.0.0.1 lladdr {} dev eth0 nud permanent",
        a1()
    ));
    let eg1 = sum("interstellar_egress_mismatch");
    assert!(
        !lab.ping_once("b1", "10.0.0.1"),
        "b1 reached a1 (a1 has no resonance)"
    );
    let eg = {
        let mut last = eg1;
        wait_until(std::time::Duration::from_secs(5), || {
            last = sum("interstellar_egress_mismatch");
            last > eg1
        });
        last
    };
    assert!(
        eg > eg1,
        "b1 -> a1 not counted as interstellar_egress_mismatch: {}",
        lab.satctl(0, "show filters")
    );
}

#[test]
fn a_gateway_with_an_allowed_oui_is_reachable_and_others_are_not() {
    require_root!();
    let gw = "00:1b:21:00:00:01";
    let bad = "00:1c:22:00:00:01";
    let filters = format!(
        "interstellar_ouis = [\"00:1b:21\"]\n\
         bindings = [ {{ ip = \"10.0.0.100\", mac = \"{gw}\", vlan = 0 }}, {{ ip = \"10.0.0.101\", mac = \"{bad}\", vlan = 0 }} ]\n"
    );
    let hosts = vec![
        HostSpec::new(
            "a1",
            &a1(),
            "10.0.0.1",
            0,
            &vm_port_toml(&a1(), "10.0.0.1", ""),
        ),
        HostSpec::new("gw", gw, "10.0.0.100", 0, HOST_KIND),
        HostSpec::new("bad", bad, "10.0.0.101", 0, HOST_KIND),
    ];
    let lab = FilterLab::new(&[&filters], hosts);
    assert!(
        lab.ping("a1", "10.0.0.100"),
        "a1 cannot reach the gateway with an allowed OUI\n{}",
        lab.logs()
    );
    assert_eq!(lab.neigh("a1", "10.0.0.100"), Some(gw.to_string()));
    assert!(lab.ping("gw", "10.0.0.1"), "the gateway cannot reach a1");

    // Not an allowed OUI: no ARP answer, and unicast is dropped.
    let iso0 = lab.verdict(0, "a1", "arp_target_isolated");
    let r = lab.exchange("a1", &[arp_req(&a1(), "10.0.0.1", "10.0.0.101")], 1.0);
    assert!(arp_replies(&r).is_empty(), "ARP answered for {bad}: {r:?}");
    let iso = lab.wait_verdict(0, "a1", "arp_target_isolated", iso0, 1);
    assert!(iso > iso0, "{}", lab.satctl(0, "show filters"));
    lab.host("a1").sh(&format!(
        "ip neigh replace 10.0.0.101 lladdr {bad} dev eth0 nud permanent"
    ));
    let o0 = lab.verdict(0, "a1", "interstellar_oui_not_allowed");
    let cap = Capture::start(&lab, lab.host("bad"), "eth0", true);
    assert!(!lab.ping_once("a1", "10.0.0.101"), "a1 reached {bad}");
    let seen = cap.finish();
    assert!(!seen.contains("10.0.0.1 > 10.0.0.101"), "{seen}");
    let o = lab.wait_verdict(0, "a1", "interstellar_oui_not_allowed", o0, 1);
    assert!(o > o0, "{}", lab.satctl(0, "show filters"));
    // And the other way: a1's port does not take frames from that OUI.
    assert!(!lab.ping_once("bad", "10.0.0.1"), "{bad} reached a1");
}

#[test]
fn spoofed_source_mac_and_arp_poisoning_are_dropped_counted_and_unseen() {
    require_root!();
    let mut lab = FilterLab::new(&[""], tenant_hosts([0; 4]));
    let (a1, a2, b1) = (a1(), a2(), b1());
    let fake = iid_mac(1, 0x99);
    let frames = vec![
        // Source MAC not the port's (a made-up one, then b1's).
        format!("Ether(dst=\"{BCAST}\", src=\"{fake}\")/IP(src=\"10.0.0.1\", dst=\"10.0.0.255\")/UDP(dport=9999)/Raw(b\"spoofbcast\")"),
        format!("Ether(dst=\"{a2}\", src=\"{b1}\")/IP(src=\"10.0.0.3\", dst=\"10.0.0.2\")/UDP(dport=9998)/Raw(b\"spoofuni\")"),
        // Gratuitous ARP claiming b1's IP, as request and as reply.
        format!("Ether(dst=\"{BCAST}\", src=\"{a1}\")/ARP(op=1, hwsrc=\"{a1}\", psrc=\"10.0.0.3\", hwdst=\"00:00:00:00:00:00\", pdst=\"10.0.0.3\")"),
        format!("Ether(dst=\"{BCAST}\", src=\"{a1}\")/ARP(op=2, hwsrc=\"{a1}\", psrc=\"10.0.0.3\", hwdst=\"{BCAST}\", pdst=\"10.0.0.3\")"),
        // Poisoning a2's cache directly.
        format!("Ether(dst=\"{a2}\", src=\"{a1}\")/ARP(op=2, hwsrc=\"{a1}\", psrc=\"10.0.0.3\", hwdst=\"{a2}\", pdst=\"10.0.0.2\")"),
        // A legitimate frame, so the captures are known to work.
        format!("Ether(dst=\"{a2}\", src=\"{a1}\")/IP(src=\"10.0.0.1\", dst=\"10.0.0.2\")/UDP(dport=9997)/Raw(b\"legit\")"),
    ];
    let s0 = lab.verdict(0, "a1", "spoofed_src_mac");
    let p0 = lab.verdict(0, "a1", "arp_spoofed_sender");
    let caps: Vec<(&str, Capture)> = ["a2", "b1", "b2"]
        .into_iter()
        .map(|h| (h, Capture::start(&lab, lab.host(h), "eth0", true)))
        .collect();
    lab.send("a1", &frames);
    std::thread::sleep(std::time::Duration::from_millis(700));
    let s = lab.wait_verdict(0, "a1", "spoofed_src_mac", s0, 2);
    let p = lab.wait_verdict(0, "a1", "arp_spoofed_sender", p0, 3);
    for (h, cap) in caps {
        let seen = cap.finish();
        if h == "a2" {
            assert!(
                seen.contains("10.0.0.2.9997"),
                "a2 did not get a1's legitimate frame:\n{seen}"
            );
        }
        for bad in [
            fake.as_str(),
            "10.0.0.2.9998",
            "10.0.0.3 is-at",
            "tell 10.0.0.3",
        ] {
            assert!(
                !seen.contains(bad),
                "{h} saw a spoofed frame ({bad}):\n{seen}"
            );
        }
        assert!(
            !seen
                .lines()
                .any(|l| l.starts_with(&b1) || l.contains(&format!(" {b1} >"))),
            "{h} saw a frame with b1's MAC as source:\n{seen}"
        );
    }
    assert!(
        s >= s0 + 2,
        "spoofed_src_mac on a1 went {s0} -> {s}: {}",
        lab.satctl(0, "show filters")
    );
    assert!(
        p >= p0 + 3,
        "arp_spoofed_sender on a1 went {p0} -> {p}: {}",
        lab.satctl(0, "show filters")
    );
    assert_ne!(
        lab.neigh("a2", "10.0.0.3"),
        Some(a1.clone()),
        "a2's cache poisoned"
    );
    // Forwarding goes on.
    assert!(lab.ping("a1", "10.0.0.2"));
    let alive = lab.daemons[0].alive();
    assert!(alive, "satellited died:\n{}", lab.logs());
}

/// IP source guard: a1 keeps its own MAC but claims b1's IP, or one nobody
/// has; a2 sees neither and `ip_spoofed_source` counts both, while a1's
/// bound IP and a DHCP client's 0.0.0.0 pass.
#[test]
fn a_bound_mac_with_a_foreign_source_ip_is_dropped_and_counted() {
    require_root!();
    let mut lab = FilterLab::new(&[""], tenant_hosts([0; 4]));
    let (a1, a2) = (a1(), a2());
    let udp = |src: &str, dst: &str, ports: &str, tag: &str| {
        format!("Ether(dst=\"{dst}\", src=\"{a1}\")/IP(src=\"{src}\", dst=\"10.0.0.2\")/UDP({ports})/Raw(b\"{tag}\")")
    };
    let frames = vec![
        udp("10.0.0.3", &a2, "dport=9996", "foreignip"),
        udp("192.0.2.7", &a2, "dport=9995", "madeupip"),
        udp("0.0.0.0", BCAST, "sport=68, dport=67", "dhcpdiscover"),
        udp("10.0.0.1", &a2, "dport=9994", "boundip"),
    ];
    let d0 = lab.verdict(0, "a1", "ip_spoofed_source");
    let cap = Capture::start(&lab, lab.host("a2"), "eth0", true);
    lab.send("a1", &frames);
    std::thread::sleep(std::time::Duration::from_millis(700));
    let d = lab.wait_verdict(0, "a1", "ip_spoofed_source", d0, 2);
    let seen = cap.finish();
    assert!(
        seen.contains("10.0.0.1.") && seen.contains("10.0.0.2.9994"),
        "a2 did not get a1's packet from its bound IP:\n{seen}"
    );
    assert!(
        seen.contains("0.0.0.0.68 >"),
        "a2 did not see the DHCP client's broadcast:\n{seen}"
    );
    for bad in ["10.0.0.2.9996", "10.0.0.2.9995", "10.0.0.3.", "192.0.2.7"] {
        assert!(
            !seen.contains(bad),
            "a2 saw a spoofed source ({bad}):\n{seen}"
        );
    }
    assert_eq!(
        d,
        d0 + 2,
        "ip_spoofed_source on a1: {}",
        lab.satctl(0, "show filters")
    );
    let series = "satellite_filter_verdicts_total{port=\"a1\",verdict=\"ip_spoofed_source\"}";
    let body = lab.metrics(0);
    assert!(
        body.lines()
            .any(|l| l.starts_with(series) && l.ends_with(&format!(" {d}"))),
        "no {series} {d} in /metrics:\n{body}"
    );
    assert!(lab.ping("a1", "10.0.0.2"), "a1 lost its bound address");
    let alive = lab.daemons[0].alive();
    assert!(alive, "satellited died:\n{}", lab.logs());
}

/// IPv6 source guard: a1 and a2 each have an IPv6 binding. a1 pings a2
/// from its bound address (nodad, static neighbours: no DAD or ND timing
/// in the way); from an address it added itself every echo is dropped
/// and counted as `ip_spoofed_source`; a forged Neighbor Advertisement
/// for a2's address counts `nd_spoofed` and a Router Advertisement
/// `nd_router_message`, and a2 sees none of them.
#[test]
fn an_ipv6_source_not_bound_to_the_mac_is_dropped_and_counted() {
    require_root!();
    let (a1, a2) = (a1(), a2());
    let port = |mac: &str, ip4: &str, ip6: &str| {
        format!(
            "{HOST_KIND}macs = [\"{mac}\"]\ninterstellar = true\narpless = \"enforce\"\n\
             bindings = [ {{ ip = \"{ip4}\", mac = \"{mac}\" }}, {{ ip = \"{ip6}\", mac = \"{mac}\" }} ]\n"
        )
    };
    let hosts = vec![
        HostSpec::new("a1", &a1, "10.0.0.1", 0, &port(&a1, "10.0.0.1", "fd00::1")),
        HostSpec::new("a2", &a2, "10.0.0.2", 0, &port(&a2, "10.0.0.2", "fd00::2")),
    ];
    let mut lab = FilterLab::new(&[""], hosts);
    for (h, me, peer, peer_mac) in [("a1", 1, 2, &a2), ("a2", 2, 1, &a1)] {
        lab.host(h).sh(&format!(
            "sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0 net.ipv6.conf.eth0.router_solicitations=0 && \
             ip -6 addr add fd00::{me}/64 dev eth0 nodad && \
             ip -6 neigh replace fd00::{peer} lladdr {peer_mac} dev eth0 nud permanent"
        ));
    }
    let ping6 = |src: &str| {
        let out = lab
            .host("a1")
            .run(&format!("ping -6 -c 3 -i 0.3 -W 1 -I {src} fd00::2"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let bound = ping6("fd00::1");
    assert!(
        bound.contains(" 0% packet loss"),
        "a1 could not ping a2 from its bound address:\n{bound}\n{}",
        lab.satctl(0, "show filters")
    );

    let count = |label| lab.verdict(0, "a1", label);
    let (s0, n0, r0) = (
        count("ip_spoofed_source"),
        count("nd_spoofed"),
        count("nd_router_message"),
    );
    lab.host("a1")
        .sh("ip -6 addr add fd00::99/64 dev eth0 nodad");
    let cap = Capture::start(&lab, lab.host("a2"), "eth0", true);
    let spoofed = ping6("fd00::99");
    let forged = [
        format!(
            "Ether(dst=\"{a2}\", src=\"{a1}\")/IPv6(src=\"fd00::1\", dst=\"fd00::2\", hlim=255)\
             /ICMPv6ND_NA(tgt=\"fd00::2\", R=0, S=0, O=1)/ICMPv6NDOptDstLLAddr(lladdr=\"{a1}\")"
        ),
        format!(
            "Ether(dst=\"33:33:00:00:00:01\", src=\"{a1}\")/IPv6(src=\"fd00::1\", dst=\"ff02::1\", hlim=255)\
             /ICMPv6ND_RA()/ICMPv6NDOptPrefixInfo(prefix=\"2001:db8:bad::\", prefixlen=64)"
        ),
    ];
    lab.send("a1", &forged);
    let s = lab.wait_verdict(0, "a1", "ip_spoofed_source", s0, 3);
    let n = lab.wait_verdict(0, "a1", "nd_spoofed", n0, 1);
    let r = lab.wait_verdict(0, "a1", "nd_router_message", r0, 1);
    let seen = cap.finish();
    assert!(
        spoofed.contains("100% packet loss"),
        "a spoofed source got through:\n{spoofed}"
    );
    for bad in ["fd00::99", "neighbor advertisement", "router advertisement"] {
        assert!(!seen.contains(bad), "a2 saw {bad}:\n{seen}");
    }
    let filters = lab.satctl(0, "show filters");
    assert!(
        s >= s0 + 3,
        "ip_spoofed_source on a1 {s0} -> {s}: {filters}"
    );
    assert_eq!(
        (n, r),
        (n0 + 1, r0 + 1),
        "nd_spoofed, nd_router_message: {filters}"
    );
    let series = "satellite_filter_verdicts_total{port=\"a1\",verdict=\"ip_spoofed_source\"} ";
    let body = lab.metrics(0);
    let counted = body
        .lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|v| v.trim().parse::<u64>().ok());
    assert!(
        counted.is_some_and(|c| c >= s),
        "{series}is not at least {s} in /metrics:\n{body}"
    );
    assert!(
        ping6("fd00::1").contains(" 0% packet loss"),
        "a1 lost its bound IPv6 address"
    );
    let alive = lab.daemons[0].alive();
    assert!(alive, "satellited died:\n{}", lab.logs());
}

#[test]
fn two_switches_keep_tenants_apart_and_no_vm_arp_crosses_the_fabric() {
    require_root!();
    let bind = |h: &[(&str, String)]| {
        let items: Vec<String> = h
            .iter()
            .map(|(ip, mac)| format!("{{ ip = \"{ip}\", mac = \"{mac}\", vlan = 0 }}"))
            .collect();
        format!("bindings = [ {} ]\n", items.join(", "))
    };
    // s0: a1, b1; s1: a2, b2. Each lists the remote VMs' bindings.
    let f0 = bind(&[("10.0.0.2", a2()), ("10.0.0.4", b2())]);
    let f1 = bind(&[("10.0.0.1", a1()), ("10.0.0.3", b1())]);
    let lab = FilterLab::new(&[&f0, &f1], tenant_hosts([0, 1, 0, 1]));
    // satellited transmits past the kernel's taps (AF_PACKET), so each
    // end of the fabric veth sees what the other switch sent.
    let cap = Capture::start(&lab, &lab.sw[0], "f0", true);
    let cap1 = Capture::start(&lab, &lab.sw[1], "f1", true);
    assert!(
        lab.ping("a1", "10.0.0.2"),
        "a1 cannot ping a2 across the fabric\n{}",
        lab.logs()
    );
    assert!(
        lab.ping("b2", "10.0.0.3"),
        "b2 cannot ping b1 across the fabric"
    );
    assert_eq!(lab.neigh("a1", "10.0.0.2"), Some(a2()));
    assert_eq!(lab.neigh("b2", "10.0.0.3"), Some(b1()));

    let iso0 = lab.verdict(0, "a1", "arp_target_isolated");
    assert!(
        !lab.ping_once("a1", "10.0.0.4"),
        "a1 reached b2 across the fabric"
    );
    let iso = lab.wait_verdict(0, "a1", "arp_target_isolated", iso0, 1);
    assert!(iso > iso0, "{}", lab.satctl(0, "show filters"));
    lab.host("a1").sh(&format!(
        "ip neigh replace 10.0.0.4 lladdr {} dev eth0 nud permanent",
        b2()
    ));
    let mm0 = lab.verdict(0, "a1", "interstellar_mismatch");
    assert!(
        !lab.ping_once("a1", "10.0.0.4"),
        "ICMP a1 -> b2 crossed tenants"
    );
    let mm = lab.wait_verdict(0, "a1", "interstellar_mismatch", mm0, 1);
    assert!(mm > mm0, "{}", lab.satctl(0, "show filters"));

    let seen = cap.finish() + &cap1.finish();
    assert!(
        seen.contains("10.0.0.1 > 10.0.0.2: ICMP echo request"),
        "same-tenant ping never crossed f0:\n{seen}"
    );
    assert!(
        !seen.contains("10.0.0.1 > 10.0.0.4"),
        "cross-tenant ICMP on the fabric:\n{seen}"
    );
    let arp: Vec<&str> = seen
        .lines()
        .filter(|l| l.contains("ARP") && l.contains("Request"))
        .collect();
    assert!(arp.is_empty(), "ARP requests on the fabric: {arp:#?}");
}

#[test]
fn rarp_and_inarp_are_answered_from_bindings() {
    require_root!();
    let hosts: Vec<HostSpec> = tenant_hosts([0; 4]).into_iter().take(3).collect();
    let lab = FilterLab::new(&["responder_ip = \"10.0.0.254\"\n"], hosts);
    let (a1, a2, b1) = (a1(), a2(), b1());
    let rarp = |tha: &str| {
        format!(
            "Ether(dst=\"{BCAST}\", src=\"{a1}\", type=0x8035)/ARP(op=3, hwsrc=\"{a1}\", psrc=\"0.0.0.0\", hwdst=\"{tha}\", pdst=\"0.0.0.0\")"
        )
    };
    let got = lab.exchange("a1", &[rarp(&a1)], 1.0);
    let rep: Vec<&Frame> = got
        .iter()
        .filter(|f| f.ethertype == 0x8035 && f.arp.as_ref().is_some_and(|a| a.op == 4))
        .collect();
    assert_eq!(
        rep.len(),
        1,
        "expected one RARP reply, got {got:?}\n{}",
        lab.logs()
    );
    let f = rep[0];
    let a = f.arp.as_ref().unwrap();
    assert_eq!(f.dst, a1);
    assert!(f.tags.is_empty());
    assert!(
        f.bytes.len() >= 60,
        "reply not padded: {} bytes",
        f.bytes.len()
    );
    assert_eq!((a.htype, a.ptype, a.hlen, a.plen), (1, 0x0800, 6, 4));
    assert_eq!(a.tha, a1);
    assert_eq!(a.tpa, "10.0.0.1", "RARP reply must carry a1's bound IP");
    assert_eq!(
        a.spa, "10.0.0.254",
        "RARP replies speak for the responder IP"
    );
    assert_eq!(a.sha, f.src);

    // RARP for somebody else's MAC: no answer.
    let ft0 = lab.verdict(0, "a1", "arp_foreign_target");
    let got = lab.exchange("a1", &[rarp(&a2)], 1.0);
    assert!(
        !got.iter().any(|f| f.ethertype == 0x8035),
        "RARP for a2's MAC answered: {got:?}"
    );
    let ft = lab.wait_verdict(0, "a1", "arp_foreign_target", ft0, 1);
    assert!(ft > ft0, "{}", lab.satctl(0, "show filters"));

    // InARP request for a2's hardware address.
    let inarp = |tha: &str| {
        format!(
            "Ether(dst=\"{tha}\", src=\"{a1}\")/ARP(op=8, hwsrc=\"{a1}\", psrc=\"10.0.0.1\", hwdst=\"{tha}\", pdst=\"0.0.0.0\")"
        )
    };
    let got = lab.exchange("a1", &[inarp(&a2)], 1.0);
    let rep: Vec<&Frame> = got
        .iter()
        .filter(|f| f.ethertype == 0x0806 && f.arp.as_ref().is_some_and(|a| a.op == 9))
        .collect();
    assert_eq!(
        rep.len(),
        1,
        "expected one InARP reply, got {got:?}\n{}",
        lab.logs()
    );
    let f = rep[0];
    let a = f.arp.as_ref().unwrap();
    assert_eq!(f.dst, a1);
    assert!(f.bytes.len() >= 60);
    assert_eq!((a.htype, a.ptype, a.hlen, a.plen), (1, 0x0800, 6, 4));
    assert_eq!((a.sha.as_str(), a.spa.as_str()), (a2.as_str(), "10.0.0.2"));
    assert_eq!((a.tha.as_str(), a.tpa.as_str()), (a1.as_str(), "10.0.0.1"));

    // InARP for the other tenant's MAC: no answer.
    let iso0 = lab.verdict(0, "a1", "arp_target_isolated");
    let got = lab.exchange("a1", &[inarp(&b1)], 1.0);
    assert!(
        !got.iter()
            .any(|f| f.arp.as_ref().is_some_and(|a| a.op == 9)),
        "InARP about b1 answered: {got:?}"
    );
    let iso = lab.wait_verdict(0, "a1", "arp_target_isolated", iso0, 1);
    assert!(iso > iso0, "{}", lab.satctl(0, "show filters"));
}

#[test]
fn arp_under_one_two_and_three_tags_is_answered_under_the_same_tags() {
    require_root!();
    let trunk = |mac: &str, ip: &str| {
        format!(
            "{HOST_KIND}vlan_mode = \"trunk\"\nallowed_vlans = [10]\nmacs = [\"{mac}\"]\n\
             interstellar = true\narpless = \"enforce\"\n\
             bindings = [ {{ ip = \"{ip}\", mac = \"{mac}\", vlan = 10 }} ]\n"
        )
    };
    let (a1, a2) = (a1(), a2());
    let hosts = vec![
        HostSpec::new("a1", &a1, "10.0.0.1", 0, &trunk(&a1, "10.0.0.1")),
        HostSpec::new("a2", &a2, "10.0.0.2", 0, &trunk(&a2, "10.0.0.2")),
    ];
    let lab = FilterLab::new(&[""], hosts);
    let body = format!(
        "ARP(op=1, hwsrc=\"{a1}\", psrc=\"10.0.0.1\", hwdst=\"00:00:00:00:00:00\", pdst=\"10.0.0.2\")"
    );
    let cases: Vec<(String, Vec<(u16, u16)>)> = vec![
        (
            format!("Ether(dst=\"{BCAST}\", src=\"{a1}\")/Dot1Q(vlan=10)/{body}"),
            vec![(0x8100, 10)],
        ),
        // The outer tag is 0x8100 on purpose: the kernel hands AF_PACKET the
        // outer tag as metadata and DPDK's net_af_packet re-inserts it as
        // 0x8100 whatever it was (docs/ports-and-backends.md). Inner tags
        // travel as bytes, so their TPIDs must come back as sent.
        (
            format!("Ether(dst=\"{BCAST}\", src=\"{a1}\")/Dot1Q(vlan=10, type=0x88a8)/Dot1Q(vlan=20)/{body}"),
            vec![(0x8100, 10), (0x88a8, 20)],
        ),
        (
            format!("Ether(dst=\"{BCAST}\", src=\"{a1}\")/Dot1Q(vlan=10, type=0x9100)/Dot1Q(vlan=20, type=0x88a8)/Dot1Q(vlan=30)/{body}"),
            vec![(0x8100, 10), (0x9100, 20), (0x88a8, 30)],
        ),
    ];
    for (frame, tags) in &cases {
        // tcpdump reads the tag stack from the kernel's VLAN metadata too,
        // a cross-check of what scapy reconstructs.
        let cap = Capture::start(&lab, lab.host("a1"), "eth0", true);
        let got = lab.exchange("a1", std::slice::from_ref(frame), 1.0);
        let dump = cap.finish();
        let rep = arp_replies(&got);
        assert_eq!(
            rep.len(),
            1,
            "tags {tags:x?}: expected one ARP reply, got {got:?}\n{}",
            lab.logs()
        );
        let f = rep[0];
        let a = f.arp.as_ref().unwrap();
        assert_eq!(
            &f.tags, tags,
            "reply's tag stack differs from the request's; tcpdump on a1:\n{dump}"
        );
        assert_eq!(f.ethertype, 0x0806);
        assert_eq!(f.dst, a1);
        assert!(f.bytes.len() >= 60);
        assert_eq!((a.htype, a.ptype, a.hlen, a.plen), (1, 0x0800, 6, 4));
        assert_eq!((a.sha.as_str(), a.spa.as_str()), (a2.as_str(), "10.0.0.2"));
        assert_eq!((a.tha.as_str(), a.tpa.as_str()), (a1.as_str(), "10.0.0.1"));
    }
    // Outer VID not allowed, four tags, untagged on a trunk without native
    // VLAN: no answer, counted.
    let bad = [
        (
            format!("Ether(dst=\"{BCAST}\", src=\"{a1}\")/Dot1Q(vlan=20)/{body}"),
            "vlan_not_allowed",
        ),
        (
            format!("Ether(dst=\"{BCAST}\", src=\"{a1}\", type=0x88a8)/Dot1Q(vlan=10, type=0x9100)/Dot1Q(vlan=20, type=0x9200)/Dot1Q(vlan=30)/Dot1Q(vlan=40)/{body}"),
            "vlan_too_deep",
        ),
        (
            format!("Ether(dst=\"{BCAST}\", src=\"{a1}\")/{body}"),
            "vlan_untagged_not_allowed",
        ),
    ];
    for (frame, label) in &bad {
        let c0 = lab.verdict(0, "a1", label);
        let got = lab.exchange("a1", std::slice::from_ref(frame), 1.0);
        assert!(arp_replies(&got).is_empty(), "{label}: answered: {got:?}");
        let c = lab.wait_verdict(0, "a1", label, c0, 1);
        assert!(
            c > c0,
            "{label} not counted: {}",
            lab.satctl(0, "show filters")
        );
    }
}

#[test]
fn arp_bindings_added_and_removed_through_satctl() {
    require_root!();
    let hosts: Vec<HostSpec> = tenant_hosts([0; 4]).into_iter().take(2).collect();
    let lab = FilterLab::new(&[""], hosts);
    let (a1, a2) = (a1(), a2());
    let show = lab.satctl(0, "arp show");
    let rows = show
        .as_array()
        .unwrap_or_else(|| panic!("arp show: {show}"));
    assert!(
        rows.iter().any(|r| r["port"] == "a1"
            && r["ip"] == "10.0.0.1"
            && r["mac"] == a1.as_str()
            && r["vlan"] == 0
            && r["origin"] == "config"),
        "a1's configured binding missing: {show}"
    );
    let ask = || lab.exchange("a1", &[arp_req(&a1, "10.0.0.1", "10.0.0.9")], 1.0);
    let u0 = lab.verdict(0, "a1", "arp_unknown_target");
    assert!(
        arp_replies(&ask()).is_empty(),
        "10.0.0.9 answered before it was bound"
    );
    assert!(lab.wait_verdict(0, "a1", "arp_unknown_target", u0, 1) > u0);

    let out = lab.satctl_text(0, &format!("arp add a2 10.0.0.9 {a2}"));
    assert!(out.status.success(), "arp add failed: {out:?}");
    let show = lab.satctl(0, "arp show");
    assert!(
        show.as_array().unwrap().iter().any(|r| r["port"] == "a2"
            && r["ip"] == "10.0.0.9"
            && r["mac"] == a2.as_str()
            && r["origin"] == "api"),
        "api binding missing: {show}"
    );
    let mut got = vec![];
    let answered = wait_until(std::time::Duration::from_secs(10), || {
        got = ask();
        arp_replies(&got)
            .iter()
            .any(|f| f.arp.as_ref().unwrap().sha == a2 && f.arp.as_ref().unwrap().spa == "10.0.0.9")
    });
    assert!(
        answered,
        "10.0.0.9 never answered after arp add: {got:?}\n{}",
        lab.logs()
    );

    let out = lab.satctl_text(0, "arp del a2 10.0.0.9");
    assert!(out.status.success(), "arp del failed: {out:?}");
    let show = lab.satctl(0, "arp show");
    assert!(
        !show
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["ip"] == "10.0.0.9"),
        "binding still listed after arp del: {show}"
    );
    let gone = wait_until(std::time::Duration::from_secs(10), || {
        arp_replies(&ask()).is_empty()
    });
    assert!(gone, "10.0.0.9 still answered after arp del");
}

#[test]
fn edge_ports_forward_at_once() {
    require_root!();
    let edge = |mac: &str, ip: &str| HostSpec::new("x", mac, ip, 0, "kind = \"edge\"\n");
    let mut hosts = vec![edge(&a1(), "10.0.0.1"), edge(&a2(), "10.0.0.2")];
    hosts[1].name = "y".into();
    hosts[1].port = "y".into();
    let lab = FilterLab::new(&[""], hosts);
    assert!(lab.ping("x", "10.0.0.2"), "{}", lab.logs());
}

/// FILTERS.md: bindings are "distributed to all Satellite switches in
/// SSTP LSPs so any switch can answer for any VM". Neither switch's
/// configuration lists the other's VMs: each learns them from the other's
/// LSP, answers its own VMs' ARP for them, and no ARP crosses the fabric.
#[test]
fn bindings_reach_every_switch_in_the_link_state_and_the_nearest_switch_answers_arp() {
    require_root!();
    let lab = FilterLab::new(&["", ""], tenant_hosts([0, 1, 0, 1]));
    let cap = Capture::start(&lab, &lab.sw[0], "f0", true);
    let fabric_rows = |sw: usize| -> Vec<(String, String)> {
        lab.satctl(sw, "arp show")
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["origin"] == "fabric")
            .map(|r| {
                (
                    r["ip"].as_str().unwrap_or("").to_string(),
                    r["mac"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let learned = wait_until(std::time::Duration::from_secs(30), || {
        fabric_rows(0).contains(&("10.0.0.2".into(), a2()))
            && fabric_rows(1).contains(&("10.0.0.1".into(), a1()))
    });
    assert!(
        learned,
        "bindings did not cross: s0 {:?}, s1 {:?}\n{}",
        fabric_rows(0),
        fabric_rows(1),
        lab.logs()
    );
    // Each switch has exactly the other's two VMs from the fabric.
    assert_eq!(fabric_rows(0).len(), 2, "{:?}", fabric_rows(0));
    assert!(
        lab.ping("a1", "10.0.0.2"),
        "a1 cannot ping a2 across the fabric\n{}",
        lab.logs()
    );
    assert!(lab.ping("b2", "10.0.0.3"), "b2 cannot ping b1");
    assert_eq!(lab.neigh("a1", "10.0.0.2"), Some(a2()));
    // Tenants stay apart: a1 gets no answer for b2's address.
    assert!(!lab.ping_once("a1", "10.0.0.4"), "a1 reached b2");
    let seen = cap.finish();
    let arp: Vec<&str> = seen
        .lines()
        .filter(|l| l.contains("ARP") && l.contains("Request"))
        .collect();
    assert!(arp.is_empty(), "ARP requests on the fabric: {arp:#?}");
}
