//! End-to-end tests of the switch's DHCP responder (docs/dhcp.md) against
//! real clients: busybox `udhcpc` and ISC `dhclient`, each in a host
//! namespace on a VM port with `[port.dhcp]`. Each client's script applies
//! what it was given (address and prefix, MTU, default and classless
//! routes) to its interface and writes a resolv.conf into the test's
//! scratch directory, never the machine's; the test checks every option
//! took effect, that the VM then reaches its router, and that no DHCP
//! frame reached another port.

use satellite_e2e::filterlab::*;
use satellite_e2e::*;
use std::path::Path;
use std::time::Duration;

const VM_IP: &str = "10.0.0.5";
const ROUTER_IP: &str = "10.0.0.1";

fn vm_mac() -> String {
    iid_mac(1, 1)
}

fn router_mac() -> String {
    iid_mac(1, 2)
}

const DHCP_TOML: &str = "[port.dhcp]\nprefix = 24\nrouter = \"10.0.0.1\"\n\
    dns = [\"10.0.0.53\", \"10.0.0.54\"]\nntp = [\"10.0.0.123\"]\n\
    domain = \"vm.example\"\nsearch = [\"vm.example\", \"corp.example\"]\n\
    routes = [{ dst = \"192.168.0.0/16\", via = \"10.0.0.2\" }]\nmtu = 1400\nlease_secs = 600\n";

/// Where the DHCP settings live.
#[derive(Clone, Copy, PartialEq)]
enum Settings {
    /// `[port.dhcp]` of the VM's port.
    Port,
    /// `[filters.interstellar_dhcp.1]`, the VM's Interstellar.
    Interstellar,
}

/// A switch with the DHCP VM port `vm` (bound to 10.0.0.5, no address yet)
/// and the router's port `rtr` (10.0.0.1), both Interstellar 1, ARPless.
/// With [`Settings::Interstellar`] the router's port, of the same tenant
/// but without a binding for the VM's MAC, answers DHCP too (and has no
/// DHCP client to ask it).
fn lab_with(at: Settings) -> FilterLab {
    let (port_dhcp, filters) = match at {
        Settings::Port => (DHCP_TOML.to_string(), String::new()),
        Settings::Interstellar => (
            String::new(),
            DHCP_TOML.replace("[port.dhcp]", "[filters.interstellar_dhcp.1]"),
        ),
    };
    let hosts = vec![
        HostSpec::new(
            "vm",
            &vm_mac(),
            VM_IP,
            0,
            &vm_port_toml(&vm_mac(), VM_IP, &port_dhcp),
        ),
        HostSpec::new(
            "rtr",
            &router_mac(),
            ROUTER_IP,
            0,
            &vm_port_toml(&router_mac(), ROUTER_IP, ""),
        ),
    ];
    // FilterLab writes its argument as the `[filters]` body; a sub-table
    // header after it is still part of `[filters]`.
    let lab = FilterLab::new(&[&filters], hosts);
    // The lab gives every host its address; this one must get it by DHCP.
    lab.host("vm").sh("ip addr flush dev eth0");
    lab
}

fn lab() -> FilterLab {
    lab_with(Settings::Port)
}

/// Starts a capture of DHCP on the router's port (the "any other port").
fn dhcp_capture(lab: &FilterLab) -> Proc {
    let pcap = lab.scratch.join("rtr-dhcp.pcap");
    lab.host("rtr").tcpdump(
        "eth0",
        &pcap,
        &[],
        &["udp", "port", "67", "or", "udp", "port", "68"],
    )
}

fn dhcp_frames_seen(lab: &FilterLab, mut cap: Proc) -> String {
    std::thread::sleep(Duration::from_millis(300));
    cap.stop();
    sh(&format!(
        "tcpdump -r {} -e -nn 2>/dev/null",
        lab.scratch.join("rtr-dhcp.pcap").display()
    ))
}

/// What both clients must end with on the VM's interface.
fn assert_applied(lab: &FilterLab, resolv: &str, client: &str) {
    let vm = lab.host("vm");
    let addr = vm.sh("ip -4 -o addr show dev eth0");
    assert!(
        addr.contains("inet 10.0.0.5/24") && addr.contains("brd 10.0.0.255"),
        "{client}: address and prefix not applied: {addr}"
    );
    let link = vm.sh("ip -o link show dev eth0");
    assert!(
        link.contains("mtu 1400"),
        "{client}: MTU not applied: {link}"
    );
    let routes = vm.sh("ip -4 route show dev eth0");
    assert!(
        routes.contains("default via 10.0.0.1"),
        "{client}: no default route: {routes}"
    );
    assert!(
        routes.contains("192.168.0.0/16 via 10.0.0.2"),
        "{client}: classless static route not applied: {routes}"
    );
    // dhclient writes search domains fully qualified ("vm.example.").
    let resolv = std::fs::read_to_string(lab.scratch.join(resolv))
        .unwrap_or_default()
        .replace(". ", " ")
        .replace(".\n", "\n");
    for want in [
        "nameserver 10.0.0.53",
        "nameserver 10.0.0.54",
        "domain vm.example",
        "search vm.example corp.example",
        "ntp 10.0.0.123",
    ] {
        assert!(
            resolv.contains(want),
            "{client}: {want:?} missing from resolv.conf:\n{resolv}"
        );
    }
    assert!(
        lab.ping("vm", ROUTER_IP),
        "{client}: the leased address does not reach the router\n{}",
        lab.logs()
    );
}

#[test]
fn udhcpc_gets_every_option_from_the_switch() {
    require_root!();
    udhcpc_lease(Settings::Port);
}

#[test]
fn udhcpc_gets_its_interstellars_settings() {
    require_root!();
    udhcpc_lease(Settings::Interstellar);
}

fn udhcpc_lease(at: Settings) {
    let lab = lab_with(at);
    let dir = lab.scratch.path.display().to_string();
    let script = lab.scratch.join("udhcpc.sh");
    // busybox exports `mask` as a prefix length, `staticroutes` as
    // "dst/len gw" pairs, `search` decoded from option 119.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             env > {dir}/udhcpc.env.$1\n\
             case \"$1\" in\n\
             deconfig) ip addr flush dev $interface; ip link set $interface up ;;\n\
             bound|renew)\n\
               ip addr add $ip/$mask broadcast $broadcast dev $interface\n\
               [ -n \"$mtu\" ] && ip link set $interface mtu $mtu\n\
               for r in $router; do ip route replace default via $r dev $interface; done\n\
               set -- $staticroutes\n\
               while [ $# -ge 2 ]; do ip route replace $1 via $2 dev $interface; shift 2; done\n\
               {{ echo \"domain $domain\"; echo \"search $search\";\n\
                  for d in $dns; do echo \"nameserver $d\"; done;\n\
                  for n in $ntpsrv; do echo \"# ntp $n\"; done; }} > {dir}/udhcpc.resolv.conf\n\
               ;;\n\
             esac\n\
             exit 0\n"
        ),
    )
    .unwrap();
    sh(&format!("chmod +x {}", script.display()));
    let cap = dhcp_capture(&lab);
    let replies0 = lab.verdict(0, "vm", "reply");
    let started = std::time::Instant::now();
    let out = lab.host("vm").run(&format!(
        "busybox udhcpc -f -q -n -t 5 -T 1 -i eth0 -s {} -O mtu -O staticroutes -O search -O ntpsrv",
        script.display()
    ));
    // Issue 18's target for a guest is a lease within 2 s of link-up;
    // here the whole client run (DISCOVER to script done) is timed.
    let took = started.elapsed();
    eprintln!("udhcpc: lease applied in {took:?}");
    assert!(
        out.status.success(),
        "udhcpc got no lease: {}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        lab.logs()
    );
    assert_applied(&lab, "udhcpc.resolv.conf", "udhcpc");
    assert!(
        took < Duration::from_secs(2),
        "lease took {took:?}, over issue 18's 2 s"
    );
    // OFFER and ACK, both from the switch.
    assert!(lab.verdict(0, "vm", "reply") >= replies0 + 2);
    let seen = dhcp_frames_seen(&lab, cap);
    assert!(seen.trim().is_empty(), "DHCP left the VM's port:\n{seen}");
}

#[test]
fn dhclient_gets_every_option_from_the_switch() {
    require_root!();
    let lab = lab();
    let (conf, script) = dhclient_files(&lab);
    let cap = dhcp_capture(&lab);
    let lease = lab.scratch.join("dhclient.leases");
    let mut client = dhclient_bound(&lab, &conf, &script, &lease);
    // The lease file says what dhclient understood, option by option.
    let leases = std::fs::read_to_string(&lease)
        .unwrap_or_default()
        .replace(", ", ",");
    for want in [
        "fixed-address 10.0.0.5;",
        "option subnet-mask 255.255.255.0;",
        "option routers 10.0.0.1;",
        "option dhcp-lease-time 600;",
        "option dhcp-server-identifier 10.0.0.1;",
        "option interface-mtu 1400;",
        "option domain-name \"vm.example\";",
        "option domain-search \"vm.example.\",\"corp.example.\";",
        "option ntp-servers 10.0.0.123;",
        "option domain-name-servers 10.0.0.53,10.0.0.54;",
        "option rfc3442-classless-static-routes 16,192,168,10,0,0,2,0,10,0,0,1;",
    ] {
        assert!(
            leases.contains(want),
            "dhclient lease lacks {want:?}:\n{leases}"
        );
    }
    assert_applied(&lab, "dhclient.resolv.conf", "dhclient");
    client.stop();

    // A release is consumed and counted, never forwarded. (`dhclient -r`
    // signals the PID in its pid file: a fresh file, so it never signals
    // the stopped client's PID, which may have been reused.)
    let released0 = lab.verdict(0, "vm", "dhcp_release");
    let rel = lab.host("vm").run(&format!(
        "dhclient -r -4 -v -cf {} -sf {} -lf {} -pf {} eth0",
        conf.display(),
        script.display(),
        lease.display(),
        lab.scratch.join("release.pid").display()
    ));
    assert!(
        rel.status.success(),
        "dhclient -r: {}",
        String::from_utf8_lossy(&rel.stderr)
    );
    assert!(
        lab.wait_verdict(0, "vm", "dhcp_release", released0, 1) > released0,
        "RELEASE not counted: {}",
        lab.verdicts(0, "vm")
    );
    let seen = dhcp_frames_seen(&lab, cap);
    assert!(seen.trim().is_empty(), "DHCP left the VM's port:\n{seen}");
}

/// dhclient's configuration (asking for every option the switch gives)
/// and a script that applies them, in the lab's scratch directory.
fn dhclient_files(lab: &FilterLab) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = lab.scratch.path.display().to_string();
    let conf = lab.scratch.join("dhclient.conf");
    std::fs::write(
        &conf,
        "option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;\n\
         request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers,\n\
         domain-search, interface-mtu, rfc3442-classless-static-routes, ntp-servers;\n",
    )
    .unwrap();
    let script = lab.scratch.join("dhclient.sh");
    // dhclient hands option 121 over as its octets; the loop decodes
    // RFC 3442 (width, significant octets, router).
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             env > {dir}/dhclient.env.$reason\n\
             case \"$reason\" in\n\
             PREINIT) ip link set $interface up ;;\n\
             BOUND|RENEW|REBIND|REBOOT)\n\
               ip addr add $new_ip_address/$new_subnet_mask broadcast $new_broadcast_address dev $interface\n\
               [ -n \"$new_interface_mtu\" ] && ip link set $interface mtu $new_interface_mtu\n\
               for r in $new_routers; do ip route replace default via $r dev $interface; done\n\
               set -- $new_rfc3442_classless_static_routes\n\
               while [ $# -gt 0 ]; do\n\
                 w=$1; shift; n=$(( (w + 7) / 8 )); d=; i=0\n\
                 while [ $i -lt 4 ]; do\n\
                   if [ $i -lt $n ]; then o=$1; shift; else o=0; fi\n\
                   d=$d${{d:+.}}$o; i=$((i + 1))\n\
                 done\n\
                 g=$1.$2.$3.$4; shift 4\n\
                 [ $w -gt 0 ] && ip route replace $d/$w via $g dev $interface\n\
               done\n\
               {{ echo \"domain $new_domain_name\"; echo \"search $new_domain_search\";\n\
                  for d in $new_domain_name_servers; do echo \"nameserver $d\"; done;\n\
                  for n in $new_ntp_servers; do echo \"# ntp $n\"; done; }} > {dir}/dhclient.resolv.conf\n\
               touch {dir}/dhclient.bound\n\
               ;;\n\
             esac\n\
             exit 0\n"
        ),
    )
    .unwrap();
    sh(&format!("chmod +x {}", script.display()));
    (conf, script)
}

/// `dhclient -d` on the VM (the Proc stops it by PID on drop), with the
/// lease file `lease`; waits for its script to report a lease.
fn dhclient_bound(lab: &FilterLab, conf: &Path, script: &Path, lease: &Path) -> Proc {
    let dhclient = std::path::PathBuf::from(sh("command -v dhclient").trim());
    let pidf = lab.scratch.join("dhclient.pid");
    let args = format!(
        "-d -4 -1 -v -cf {} -sf {} -lf {} -pf {} eth0",
        conf.display(),
        script.display(),
        lease.display(),
        pidf.display()
    );
    let client = lab.host("vm").spawn(
        &dhclient,
        &args.split(' ').collect::<Vec<_>>(),
        &lab.scratch.join("dhclient.log"),
    );
    let bound = wait_until(Duration::from_secs(20), || {
        lab.scratch.join("dhclient.bound").exists()
    });
    assert!(
        bound,
        "dhclient got no lease:\n{}\n{}",
        client.log_text(),
        lab.logs()
    );
    client
}

#[test]
fn dhclient_rebooting_with_another_address_is_nakked_then_leased() {
    require_root!();
    let lab = lab();
    let (conf, script) = dhclient_files(&lab);
    // A lease of 10.0.0.7 that has not expired: dhclient starts in
    // INIT-REBOOT and asks for it (RFC 2131 §3.2); the switch NAKs, and
    // the client starts over and gets its binding.
    let lease = lab.scratch.join("stale.leases");
    std::fs::write(
        &lease,
        "lease {\n  interface \"eth0\";\n  fixed-address 10.0.0.7;\n\
         option subnet-mask 255.255.255.0;\n  option dhcp-server-identifier 10.0.0.1;\n\
         renew 4 2037/01/01 00:00:00;\n  rebind 4 2037/01/01 00:00:00;\n\
         expire 4 2037/01/01 00:00:00;\n}\n",
    )
    .unwrap();
    let replies0 = lab.verdict(0, "vm", "reply");
    let client = dhclient_bound(&lab, &conf, &script, &lease);
    let log = client.log_text();
    assert!(
        log.contains("DHCPREQUEST for 10.0.0.7") && log.contains("DHCPNAK"),
        "no INIT-REBOOT NAK:\n{log}"
    );
    let addr = lab.host("vm").sh("ip -4 -o addr show dev eth0");
    assert!(addr.contains("inet 10.0.0.5/24"), "{addr}\n{log}");
    assert!(!addr.contains("10.0.0.7"), "{addr}");
    // NAK, OFFER, ACK.
    assert!(lab.verdict(0, "vm", "reply") >= replies0 + 3);
}

#[test]
fn reloaded_settings_reach_the_next_lease() {
    require_root!();
    let lab = lab();
    let lease = |mtu: &str| {
        let env = lab.scratch.join("reload.env");
        let script = lab.scratch.join("reload.sh");
        std::fs::write(&script, format!("#!/bin/sh\nenv > {}\n", env.display())).unwrap();
        sh(&format!("chmod +x {}", script.display()));
        let _ = std::fs::remove_file(&env);
        let out = lab.host("vm").run(&format!(
            "busybox udhcpc -f -q -n -t 5 -T 1 -i eth0 -s {} -O mtu",
            script.display()
        ));
        assert!(out.status.success(), "no lease");
        let env = std::fs::read_to_string(&env).unwrap_or_default();
        assert!(
            env.contains(&format!("mtu={mtu}\n")),
            "want mtu {mtu}:\n{env}"
        );
    };
    lease("1400");
    // `satctl reload` with the port's MTU changed: the port's policy is
    // rebuilt, and the next answer says so.
    let path = lab.scratch.join("s0.toml");
    let cfg = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, cfg.replace("mtu = 1400", "mtu = 1300")).unwrap();
    let o = lab.satctl_text(0, "reload --json");
    assert!(
        o.status.success(),
        "reload: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    lease("1300");
}

#[test]
fn an_unbound_client_is_dropped_and_counted() {
    require_root!();
    // A port MAC with no binding: no answer (not a NAK), one counter.
    let mac = vm_mac();
    let toml = format!(
        "{HOST_KIND}macs = [\"{mac}\"]\ninterstellar = true\narpless = \"learn_once\"\n{DHCP_TOML}"
    );
    let lab = FilterLab::new(&[""], vec![HostSpec::new("vm", &mac, VM_IP, 0, &toml)]);
    lab.host("vm").sh("ip addr flush dev eth0");
    let before = lab.verdict(0, "vm", "dhcp_unbound_client");
    let out = lab
        .host("vm")
        .run("busybox udhcpc -f -q -n -t 2 -T 1 -i eth0 -s /bin/true");
    assert!(!out.status.success(), "an unbound client got a lease");
    assert!(
        lab.wait_verdict(0, "vm", "dhcp_unbound_client", before, 2) >= before + 2,
        "{}",
        lab.verdicts(0, "vm")
    );
    assert_eq!(lab.verdict(0, "vm", "reply"), 0);
}
