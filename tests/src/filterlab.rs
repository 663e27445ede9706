//! Labs for the edge filters (VLAN stacks, Interstellars, ARPless): one or
//! two satellited switches, each in its own namespace, with host namespaces
//! whose `eth0` carries an Interstellar (or any) MAC, per-port filter
//! configuration written as TOML, frames crafted with scapy and captures
//! taken with tcpdump.
//!
//! Everything is owned by RAII values ([`Netns`], [`Veth`], [`Proc`],
//! [`Scratch`]), so a failing test still cleans up.

use crate::{
    bin, free_port, run, satctl_answers, satctl_json, sh, unique, wait_until, Netns, Proc, Scratch,
    Veth,
};
use std::path::PathBuf;
use std::time::Duration;

/// The Debian python3 with scapy (a pyenv `python3` on PATH may lack it).
pub const PYTHON: &str = "/usr/bin/python3";

/// An Interstellar MAC (FILTERS.md layout) for a 28-bit IID and an 18-bit
/// VM index.
pub fn iid_mac(iid: u32, vm: u32) -> String {
    assert!(iid < 1 << 28 && vm < 1 << 18);
    let o = [
        (((iid >> 22) & 0x3f) << 2) | 0b10,
        (iid >> 14) & 0xff,
        (iid >> 6) & 0xff,
        ((iid & 0x3f) << 2) | ((vm >> 16) & 0x3),
        (vm >> 8) & 0xff,
        vm & 0xff,
    ];
    o.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// One host: a namespace attached to switch `sw` by a veth whose switch end
/// is `port`, configured by `port_toml` (lines inside its `[[port]]`).
#[derive(Clone, Debug)]
pub struct HostSpec {
    pub name: String,
    pub mac: String,
    pub ip: String,
    pub sw: usize,
    pub port: String,
    pub port_toml: String,
}

impl HostSpec {
    pub fn new(name: &str, mac: &str, ip: &str, sw: usize, port_toml: &str) -> HostSpec {
        HostSpec {
            name: name.into(),
            mac: mac.into(),
            ip: ip.into(),
            sw,
            port: name.into(),
            port_toml: port_toml.into(),
        }
    }
}

/// Port kind of host ports in these labs. `auto` (edge after the 3 s RSTP
/// migrate time): satellited at 9d9f06d leaves `kind = "edge"` ports
/// discarding in the data path on a switch without fabric ports (see
/// `edge_ports_forward_at_once` in tests/filters.rs).
pub const HOST_KIND: &str = "kind = \"edge\"\n";

/// TOML lines of an Interstellar VM port with ARPless enforcing one
/// binding (its own MAC and IP, untagged).
pub fn vm_port_toml(mac: &str, ip: &str, extra: &str) -> String {
    format!(
        "{HOST_KIND}macs = [\"{mac}\"]\ninterstellar = true\narpless = \"enforce\"\n\
         bindings = [ {{ ip = \"{ip}\", mac = \"{mac}\" }} ]\n{extra}"
    )
}

/// An ARP-family frame (or any frame) as seen on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub bytes: Vec<u8>,
    pub dst: String,
    pub src: String,
    /// (TPID, VID) from the outside in.
    pub tags: Vec<(u16, u16)>,
    pub ethertype: u16,
    pub arp: Option<Arp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arp {
    pub htype: u16,
    pub ptype: u16,
    pub hlen: u8,
    pub plen: u8,
    pub op: u16,
    pub sha: String,
    pub spa: String,
    pub tha: String,
    pub tpa: String,
}

fn mac_str(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn ip_str(b: &[u8]) -> String {
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex: String = self.bytes.iter().map(|b| format!("{b:02x}")).collect();
        write!(
            f,
            "Frame {{ {} > {}, tags {:x?}, ethertype {:#06x}, arp {:?}, {} bytes: {hex} }}",
            self.src,
            self.dst,
            self.tags,
            self.ethertype,
            self.arp,
            self.bytes.len()
        )
    }
}

impl Frame {
    pub fn parse(bytes: Vec<u8>) -> Option<Frame> {
        if bytes.len() < 14 {
            return None;
        }
        let be = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        let mut off = 12;
        let mut tags = vec![];
        while off + 4 <= bytes.len() && matches!(be(off), 0x8100 | 0x88a8 | 0x9100 | 0x9200) {
            tags.push((be(off), be(off + 2) & 0x0fff));
            off += 4;
        }
        if off + 2 > bytes.len() {
            return None;
        }
        let ethertype = be(off);
        off += 2;
        let arp = if matches!(ethertype, 0x0806 | 0x8035) && bytes.len() >= off + 28 {
            let a = &bytes[off..];
            Some(Arp {
                htype: u16::from_be_bytes([a[0], a[1]]),
                ptype: u16::from_be_bytes([a[2], a[3]]),
                hlen: a[4],
                plen: a[5],
                op: u16::from_be_bytes([a[6], a[7]]),
                sha: mac_str(&a[8..14]),
                spa: ip_str(&a[14..18]),
                tha: mac_str(&a[18..24]),
                tpa: ip_str(&a[24..28]),
            })
        } else {
            None
        };
        Some(Frame {
            dst: mac_str(&bytes[0..6]),
            src: mac_str(&bytes[6..12]),
            tags,
            ethertype,
            arp,
            bytes,
        })
    }
}

/// The drop reason labels of `satellite_filters::DropReason::ALL`
/// (filters/README.md).
pub const DROP_LABELS: &[&str] = &[
    "frame_too_short",
    "vlan_truncated",
    "vlan_too_deep",
    "vlan_not_allowed",
    "vlan_untagged_not_allowed",
    "vlan_access_tagged",
    "invalid_src_mac",
    "spoofed_src_mac",
    "interstellar_mismatch",
    "interstellar_oui_not_allowed",
    "interstellar_egress_mismatch",
    "arp_malformed",
    "arp_unsupported",
    "arp_wrong_ethertype",
    "arp_spoofed_sender",
    "arp_unbound_sender",
    "arp_gratuitous",
    "arp_unknown_target",
    "arp_target_isolated",
    "arp_foreign_target",
    "arp_no_binding",
    "arp_server_op_from_vm",
    "arp_unknown_opcode",
    "ip_spoofed_source",
    "ip_malformed",
    "nd_spoofed",
    "nd_router_message",
    "reply_buffer_too_small",
    "dhcp_malformed",
    "dhcp_server_message",
    "dhcp_unknown_message",
    "dhcp_foreign_client",
    "dhcp_unbound_client",
    "dhcp_other_server",
    "dhcp_wrong_address",
    "dhcp_release",
    "dhcp_decline",
];

/// One or two switches and their hosts. Field order is drop order: the
/// daemons stop before their links and namespaces vanish.
pub struct FilterLab {
    pub daemons: Vec<Proc>,
    pub links: Vec<Veth>,
    pub hosts: Vec<Netns>,
    pub specs: Vec<HostSpec>,
    pub sw: Vec<Netns>,
    pub sockets: Vec<PathBuf>,
    pub metrics_ports: Vec<u16>,
    pub configs: Vec<String>,
    pub scratch: Scratch,
}

impl FilterLab {
    /// Builds `filters.len()` switches (1 or 2); switch i gets `[filters]`
    /// body `filters[i]`. With two switches, they are linked by the fabric
    /// veth `f0` (switch 0) – `f1` (switch 1), kind = "fabric".
    pub fn new(filters: &[&str], hosts: Vec<HostSpec>) -> FilterLab {
        let n = filters.len();
        assert!(n == 1 || n == 2);
        let tag = unique("f");
        let scratch = Scratch::new(&tag);
        let mut lab = FilterLab {
            daemons: vec![],
            links: vec![],
            hosts: vec![],
            specs: hosts.clone(),
            sw: (0..n).map(|i| Netns::new(&format!("{tag}s{i}"))).collect(),
            sockets: (0..n)
                .map(|i| scratch.join(&format!("s{i}.sock")))
                .collect(),
            metrics_ports: vec![],
            configs: vec![],
            scratch,
        };
        for h in &hosts {
            let ns = Netns::new(&format!("{tag}{}", h.name));
            lab.links
                .push(Veth::new("eth0", Some(&ns), &h.port, Some(&lab.sw[h.sw])));
            ns.sh(&format!("ip link set eth0 address {}", h.mac));
            ns.sh(&format!("ip addr add {}/24 dev eth0", h.ip));
            lab.hosts.push(ns);
        }
        if n == 2 {
            lab.links
                .push(Veth::fabric("f0", Some(&lab.sw[0]), "f1", Some(&lab.sw[1])));
        }
        for (i, f) in filters.iter().enumerate() {
            let mut cfg = format!(
                "[bridge]\nname = \"{tag}s{i}\"\n\n[dataplane]\nworkers = 1\nmemory_mb = 128\n\n\
                 [stp]\nenabled = true\n\n[filters]\n{f}\n"
            );
            if n == 2 {
                cfg.push_str(&format!(
                    "\n[[port]]\nname = \"f{i}\"\nbackend = \"af_packet\"\nkind = \"fabric\"\n"
                ));
            }
            for h in hosts.iter().filter(|h| h.sw == i) {
                cfg.push_str(&format!(
                    "\n[[port]]\nname = \"{}\"\nbackend = \"af_packet\"\n{}\n",
                    h.port, h.port_toml
                ));
            }
            let path = lab.scratch.join(&format!("s{i}.toml"));
            std::fs::write(&path, &cfg).expect("write config");
            let mport = free_port();
            let name = format!("{tag}s{i}");
            let sock = lab.sockets[i].display().to_string();
            let cfgs = path.display().to_string();
            let metrics = format!("127.0.0.1:{mport}");
            let args = [
                "--name",
                &name,
                "--socket",
                &sock,
                "--config",
                &cfgs,
                "--metrics",
                &metrics,
            ];
            let p = lab.sw[i].spawn(
                &bin("satellited"),
                &args,
                &lab.scratch.join(&format!("s{i}.log")),
            );
            lab.daemons.push(p);
            lab.metrics_ports.push(mport);
            lab.configs.push(cfg);
        }
        for i in 0..n {
            let sock = lab.sockets[i].clone();
            let ready = satctl_answers(&sock, Duration::from_secs(20));
            let alive = lab.daemons[i].alive();
            assert!(
                ready && alive,
                "satellited s{i} did not start with config\n{}\nlog:\n{}",
                lab.configs[i],
                lab.daemons[i].log_text()
            );
        }
        for i in 0..n {
            let ok = wait_until(Duration::from_secs(20), || {
                lab.satctl(i, "show ports")
                    .as_array()
                    .is_some_and(|ps| ps.iter().all(|p| p["forwarding"] == true))
            });
            assert!(
                ok,
                "ports of s{i} never all forwarding: {}\n{}",
                lab.satctl(i, "show ports"),
                lab.logs()
            );
        }
        lab
    }

    /// Index of host `name`.
    pub fn idx(&self, name: &str) -> usize {
        self.specs
            .iter()
            .position(|h| h.name == name)
            .unwrap_or_else(|| panic!("no host {name}"))
    }

    pub fn host(&self, name: &str) -> &Netns {
        &self.hosts[self.idx(name)]
    }

    pub fn spec(&self, name: &str) -> &HostSpec {
        &self.specs[self.idx(name)]
    }

    pub fn satctl(&self, sw: usize, args: &str) -> serde_json::Value {
        satctl_json(&self.sockets[sw], args)
    }

    /// `satctl -s SOCK ARGS` (text), whatever its status.
    pub fn satctl_text(&self, sw: usize, args: &str) -> std::process::Output {
        run(&format!(
            "{} -s {} {args}",
            bin("satctl").display(),
            self.sockets[sw].display()
        ))
    }

    /// Every daemon's config and log, for failure messages.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for (i, d) in self.daemons.iter().enumerate() {
            s.push_str(&format!(
                "--- s{i} config ---\n{}\n--- s{i} log ---\n{}\n",
                self.configs[i],
                d.log_text()
            ));
        }
        s
    }

    /// The verdict counters of port `port` on switch `sw`.
    pub fn verdicts(&self, sw: usize, port: &str) -> serde_json::Value {
        let all = self.satctl(sw, "show filters");
        all["ports"]
            .as_array()
            .unwrap_or_else(|| panic!("show filters: no ports array: {all}"))
            .iter()
            .find(|p| p["name"] == port)
            .unwrap_or_else(|| panic!("show filters: no port {port}: {all}"))["verdicts"]
            .clone()
    }

    /// One verdict counter (panics when the label is missing).
    pub fn verdict(&self, sw: usize, port: &str, label: &str) -> u64 {
        let v = self.verdicts(sw, port);
        v[label]
            .as_u64()
            .unwrap_or_else(|| panic!("show filters: port {port} has no verdict {label}: {v}"))
    }

    /// Waits (up to 5 s) until counter `label` of `port` exceeds `before`
    /// by at least `by`; returns the last value.
    pub fn wait_verdict(&self, sw: usize, port: &str, label: &str, before: u64, by: u64) -> u64 {
        let mut last = 0;
        wait_until(Duration::from_secs(5), || {
            last = self.verdict(sw, port, label);
            last >= before + by
        });
        last
    }

    /// Pings `ip` from host `from` (3 tries of 1 s).
    pub fn ping(&self, from: &str, ip: &str) -> bool {
        self.host(from)
            .run(&format!(
                "ping -c 1 -W 1 {ip} || ping -c 1 -W 1 {ip} || ping -c 1 -W 1 {ip}"
            ))
            .status
            .success()
    }

    /// One ping (1 s), for paths that must fail.
    pub fn ping_once(&self, from: &str, ip: &str) -> bool {
        self.host(from)
            .run(&format!("ping -c 2 -i 0.3 -W 1 {ip}"))
            .status
            .success()
    }

    /// The link-layer address host `from` has for `ip`, if any (reachable,
    /// stale, delay or permanent).
    pub fn neigh(&self, from: &str, ip: &str) -> Option<String> {
        let out = self.host(from).sh(&format!("ip neigh show {ip} dev eth0"));
        let words: Vec<&str> = out.split_whitespace().collect();
        words
            .iter()
            .position(|w| *w == "lladdr")
            .and_then(|i| words.get(i + 1))
            .map(|s| s.to_string())
    }

    /// Sends the scapy frames `frames` (Python expressions) from host
    /// `from`'s eth0 and returns every frame received there within `wait`
    /// seconds (frames identical to the ones sent are left out).
    pub fn exchange(&self, from: &str, frames: &[String], wait: f64) -> Vec<Frame> {
        let py = format!(
            "import time\nfrom scapy.all import *\nconf.verb = 0\n\
             frames = [{}]\n\
             sent = set(bytes(f) for f in frames)\n\
             s = AsyncSniffer(iface=\"eth0\", store=True)\n\
             s.start()\n\
             time.sleep(0.5)\n\
             for f in frames:\n    sendp(f, iface=\"eth0\")\n\
             time.sleep({wait})\n\
             s.stop()\n\
             for p in s.results:\n    b = bytes(p)\n    if b not in sent:\n        print(\"RX \" + b.hex())\n",
            frames.join(", ")
        );
        let path = self.scratch.join(&format!("{}.py", unique("x")));
        std::fs::write(&path, py).expect("write script");
        let out = self
            .host(from)
            .sh(&format!("{PYTHON} {} 2>/dev/null", path.display()));
        out.lines()
            .filter_map(|l| l.strip_prefix("RX "))
            .filter_map(|h| {
                let b = (0..h.len() / 2)
                    .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok())
                    .collect::<Option<Vec<u8>>>()?;
                Frame::parse(b)
            })
            .collect()
    }

    /// Sends frames without waiting for anything.
    pub fn send(&self, from: &str, frames: &[String]) {
        let py = format!(
            "from scapy.all import *\nconf.verb = 0\nfor f in [{}]:\n    sendp(f, iface=\"eth0\")\n",
            frames.join(", ")
        );
        let path = self.scratch.join(&format!("{}.py", unique("x")));
        std::fs::write(&path, py).expect("write script");
        self.host(from)
            .sh(&format!("{PYTHON} {} 2>/dev/null", path.display()));
    }

    /// The `/metrics` text of switch `sw`.
    pub fn metrics(&self, sw: usize) -> String {
        let url = format!("http://127.0.0.1:{}/metrics", self.metrics_ports[sw]);
        let mut body = String::new();
        wait_until(Duration::from_secs(5), || {
            let out = self.sw[sw].run(&format!("curl -sf {url}"));
            body = String::from_utf8_lossy(&out.stdout).into_owned();
            out.status.success()
        });
        body
    }
}

/// A tcpdump capture into a file; read it with [`Capture::finish`].
pub struct Capture {
    proc: Proc,
    file: PathBuf,
}

impl Capture {
    /// Captures on `iface` in `ns` (inbound only when `inbound_only`).
    pub fn start(lab: &FilterLab, ns: &Netns, iface: &str, inbound_only: bool) -> Capture {
        let file = lab.scratch.join(&format!("{}.pcap", unique("cap")));
        let extra: &[&str] = if inbound_only { &["-Q", "in"] } else { &[] };
        let proc = ns.tcpdump(iface, &file, extra, &[]);
        Capture { proc, file }
    }

    /// Stops the capture and returns `tcpdump -r -e -nn` text (one line per
    /// frame, with MAC addresses).
    pub fn finish(mut self) -> String {
        std::thread::sleep(Duration::from_millis(300));
        self.proc.stop();
        sh(&format!(
            "tcpdump -r {} -e -nn 2>/dev/null",
            self.file.display()
        ))
    }
}
