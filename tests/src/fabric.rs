//! Fabric labs: Satellite switches on any topology (rings, 2-D tori), each
//! in its own namespace, cabled by veth pairs, with one host each. The
//! ring kit (`ring.rs`) mixes in kernel bridges and Open vSwitch; this one
//! is for what only Satellite switches do between themselves (SSTP).
//!
//! Naming, inside switch namespace i: fabric ports `f0`, `f1`, ... in the
//! order its links were listed, host port `host`. MACs: fabric port k of
//! switch i is 02:00:00:03:{i}:{k+1}, the host port 02:00:00:03:{i}:f0, so
//! switch i's bridge address (and SSTP SystemId) is 02:00:00:03:{i}:01.
//! Host i has `eth0`, 10.0.{i/200}.{i%200+1}/16, MAC 02:00:00:04:00:{i+1}
//! (i < 256).

use crate::{bin, run, satctl_answers, satctl_json, unique, Netns, Proc, Scratch, Veth};
use std::path::PathBuf;
use std::time::Duration;

/// A topology: switch count and links (switch a, switch b). Ports are
/// numbered per switch in the order of `links`; links in `cut` keep their
/// port numbers but carry nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub n: usize,
    pub links: Vec<(usize, usize)>,
    pub cut: Vec<usize>,
}

impl Topology {
    /// A ring of `n`.
    pub fn ring(n: usize) -> Topology {
        Topology {
            n,
            links: (0..n).map(|i| (i, (i + 1) % n)).collect(),
            cut: Vec::new(),
        }
    }

    /// A `rows` × `cols` 2-D torus; switch (r, c) is `r * cols + c`.
    pub fn torus(rows: usize, cols: usize) -> Topology {
        let id = |r: usize, c: usize| (r % rows) * cols + (c % cols);
        let mut links = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                links.push((id(r, c), id(r, c + 1)));
                links.push((id(r, c), id(r + 1, c)));
            }
        }
        Topology {
            n: rows * cols,
            links,
            cut: Vec::new(),
        }
    }

    /// The ports of switch `i` on links that are not cut: (local port
    /// index, neighbour, its port).
    pub fn ports(&self, i: usize) -> Vec<(usize, usize, usize)> {
        self.all_ports(i)
            .into_iter()
            .filter(|p| !self.cut.contains(&p.3))
            .map(|(p, v, q, _)| (p, v, q))
            .collect()
    }

    /// Every port of switch `i`, cut or not: (port, neighbour, its port,
    /// link index).
    pub fn all_ports(&self, i: usize) -> Vec<(usize, usize, usize, usize)> {
        let mut next = vec![0usize; self.n];
        let mut out = Vec::new();
        for (k, &(a, b)) in self.links.iter().enumerate() {
            let (pa, pb) = (next[a], next[b]);
            next[a] += 1;
            next[b] += 1;
            if a == i {
                out.push((pa, b, pb, k));
            }
            if b == i {
                out.push((pb, a, pa, k));
            }
        }
        out
    }

    /// Hop distances from `src` (BFS).
    pub fn distances(&self, src: usize) -> Vec<usize> {
        let mut d = vec![usize::MAX; self.n];
        d[src] = 0;
        let mut q = std::collections::VecDeque::from([src]);
        while let Some(u) = q.pop_front() {
            for (_, v, _) in self.ports(u) {
                if d[v] == usize::MAX {
                    d[v] = d[u] + 1;
                    q.push_back(v);
                }
            }
        }
        d
    }

    /// The ports of `src` that start a shortest path to `dst`.
    pub fn first_hops(&self, src: usize, dst: usize) -> Vec<usize> {
        let to_dst = self.distances(dst);
        self.ports(src)
            .into_iter()
            .filter(|&(_, v, _)| to_dst[v] + 1 == to_dst[src])
            .map(|(p, _, _)| p)
            .collect()
    }
}

/// SystemId (bridge address) of switch `i`.
pub fn system_id(i: usize) -> String {
    format!("02:00:00:03:{i:02x}:01")
}

/// The MAC of host `i`.
pub fn host_mac(i: usize) -> String {
    format!("02:00:00:04:00:{:02x}", i + 1)
}

/// The IP of host `i`.
pub fn host_ip(i: usize) -> String {
    format!("10.0.{}.{}", i / 200, i % 200 + 1)
}

/// A running fabric.
pub struct Fabric {
    // Field order is drop order: processes, then links, then namespaces.
    pub sats: Vec<Option<Proc>>,
    pub links: Vec<Veth>,
    pub host_links: Vec<Veth>,
    pub hosts: Vec<Netns>,
    pub sw: Vec<Netns>,
    pub sockets: Vec<PathBuf>,
    pub topo: Topology,
    pub scratch: Scratch,
    pub tag: String,
    /// Extra lines for every switch's `[sstp]` section.
    pub extra: String,
}

/// The `[sstp]` dead count the labs use unless told otherwise: 16 poll-mode
/// daemons on 2 cores (load 10-25) can leave a worker without CPU for
/// tens of milliseconds, longer than the default 3 × 10 ms, and a lab that
/// flaps measures the machine, not the switch. HELLOs stay at 10 ms.
pub const LAB_DEAD_COUNT: u8 = 10;

impl Fabric {
    /// Builds the fabric and starts every switch; returns once each
    /// answers on its control socket. `sstp` holds extra lines for the
    /// `[sstp]` section (a `dead_count` there replaces the lab's).
    pub fn new(topo: Topology, sstp: &str) -> Fabric {
        let tag = unique("f");
        let scratch = Scratch::new(&tag);
        let n = topo.n;
        let mut f = Fabric {
            sats: (0..n).map(|_| None).collect(),
            links: vec![],
            host_links: vec![],
            hosts: vec![],
            sw: vec![],
            sockets: (0..n)
                .map(|i| scratch.join(&format!("s{i}.sock")))
                .collect(),
            topo,
            scratch,
            tag: tag.clone(),
            extra: sstp.to_string(),
        };
        for i in 0..n {
            f.sw.push(Netns::new(&format!("{tag}s{i}")));
            f.hosts.push(Netns::new(&format!("{tag}h{i}")));
        }
        for i in 0..n {
            let h = &f.hosts[i];
            f.host_links
                .push(Veth::new("eth0", Some(h), "host", Some(&f.sw[i])));
            h.sh(&format!("ip link set eth0 address {}", host_mac(i)));
            h.sh(&format!("ip addr add {}/16 dev eth0", host_ip(i)));
            h.sh("ethtool -K eth0 tx off >/dev/null 2>&1 || true");
            for j in (0..n).filter(|&j| j != i) {
                h.sh(&format!(
                    "ip neigh replace {} lladdr {} dev eth0 nud permanent",
                    host_ip(j),
                    host_mac(j)
                ));
            }
            f.sw[i].sh(&format!("ip link set host address 02:00:00:03:{i:02x}:f0"));
        }
        let mut next = vec![0usize; n];
        for &(a, b) in &f.topo.links.clone() {
            let (pa, pb) = (next[a], next[b]);
            next[a] += 1;
            next[b] += 1;
            f.links.push(Veth::fabric(
                &format!("f{pa}"),
                Some(&f.sw[a]),
                &format!("f{pb}"),
                Some(&f.sw[b]),
            ));
            f.sw[a].sh(&format!(
                "ip link set f{pa} address 02:00:00:03:{a:02x}:{:02x}",
                pa + 1
            ));
            f.sw[b].sh(&format!(
                "ip link set f{pb} address 02:00:00:03:{b:02x}:{:02x}",
                pb + 1
            ));
        }
        for i in 0..n {
            f.start(i);
        }
        for i in 0..n {
            let ok = satctl_answers(&f.sockets[i], Duration::from_secs(60));
            let p = f.sats[i].as_mut().expect("started");
            assert!(
                ok && p.alive(),
                "satellited s{i} did not start:\n{}",
                p.log_text()
            );
        }
        f
    }

    fn start(&mut self, i: usize) {
        let dead = if self.extra.contains("dead_count") {
            String::new()
        } else {
            format!("dead_count = {LAB_DEAD_COUNT}\n")
        };
        let mut cfg = format!(
            "[bridge]\nname = \"{}s{i}\"\n\n[dataplane]\nworkers = 1\nmemory_mb = 96\n\n\
             [sstp]\n{dead}{}\n\n",
            self.tag, self.extra
        );
        for (p, _, _, _) in self.topo.all_ports(i) {
            cfg.push_str(&format!(
                "[[port]]\nname = \"f{p}\"\nbackend = \"af_packet\"\nkind = \"fabric\"\n\n"
            ));
        }
        cfg.push_str("[[port]]\nname = \"host\"\nbackend = \"af_packet\"\nkind = \"edge\"\n");
        let path = self.scratch.join(&format!("s{i}.toml"));
        std::fs::write(&path, cfg).expect("write config");
        let name = format!("{}s{i}", self.tag);
        let sock = self.sockets[i].display().to_string();
        let cfgs = path.display().to_string();
        let args = ["--name", &name, "--socket", &sock, "--config", &cfgs];
        let p = self.sw[i].spawn(
            &bin("satellited"),
            &args,
            &self.scratch.join(&format!("s{i}.log")),
        );
        self.sats[i] = Some(p);
    }

    /// `satctl --json ARGS` on switch i.
    pub fn json(&self, i: usize, args: &str) -> serde_json::Value {
        satctl_json(&self.sockets[i], args)
    }

    /// `satctl ARGS` (text) on switch i, or the error it printed.
    pub fn text(&self, i: usize, args: &str) -> String {
        let out = run(&format!(
            "{} -s {} {args}",
            bin("satctl").display(),
            self.sockets[i].display()
        ));
        String::from_utf8_lossy(if out.status.success() {
            &out.stdout
        } else {
            &out.stderr
        })
        .into_owned()
    }

    /// The log of switch i so far.
    pub fn log(&self, i: usize) -> String {
        self.sats[i]
            .as_ref()
            .map(Proc::log_text)
            .unwrap_or_default()
    }

    /// Takes link k down (`ip link set down` on its first end: both ends
    /// lose carrier, as a pulled cable does).
    pub fn link_down(&self, k: usize) {
        let (a, _) = self.topo.links[k];
        let (pa, _, _) = self.port_of_link(k);
        self.sw[a].sh(&format!("ip link set f{pa} down"));
    }

    /// Brings link k back.
    pub fn link_up(&self, k: usize) {
        let (a, _) = self.topo.links[k];
        let (pa, _, _) = self.port_of_link(k);
        self.sw[a].sh(&format!("ip link set f{pa} up"));
    }

    /// Takes every port of switch `i` down (its neighbours lose carrier,
    /// as when a server loses power).
    pub fn switch_down(&self, i: usize) {
        let mut cmd: Vec<String> = self
            .topo
            .all_ports(i)
            .iter()
            .map(|(p, _, _, _)| format!("ip link set f{p} down"))
            .collect();
        cmd.push("ip link set host down".into());
        self.sw[i].sh(&cmd.join("; "));
    }

    /// Whether every adjacency of every switch is up and advertised.
    pub fn all_adjacencies_up(&self) -> bool {
        (0..self.topo.n).all(|i| {
            let v = self.json(i, "show sstp");
            let adj = v["adjacencies"].as_array().cloned().unwrap_or_default();
            adj.len() == self.topo.all_ports(i).len()
                && adj
                    .iter()
                    .all(|a| a["state"] == "up" && a["advertised"] == true)
        })
    }

    /// MAC homes switch `i` routes (`show stats`), or none when it does
    /// not answer.
    pub fn homes_routed(&self, i: usize) -> Option<u64> {
        self.json(i, "show stats")["sstp"]["mac_homes_routed"].as_u64()
    }

    /// Every host speaks once (a ping to the next host), so its switch
    /// advertises it as a MAC home.
    pub fn announce_hosts(&self) {
        let n = self.topo.n;
        for i in 0..n {
            self.hosts[i].sh(&format!(
                "ping -c 1 -W 1 {} >/dev/null 2>&1 || true",
                host_ip((i + 1) % n)
            ));
        }
    }

    /// Whether every switch routes every other switch's host.
    pub fn all_homes_routed(&self) -> bool {
        let n = self.topo.n as u64;
        (0..self.topo.n).all(|i| self.homes_routed(i) == Some(n - 1))
    }

    /// Every switch's non-zero drop counters, by (port, reason).
    pub fn all_drops(&self) -> Vec<std::collections::BTreeMap<(String, String), u64>> {
        (0..self.topo.n)
            .map(|i| crate::ring::drops_of(&self.json(i, "show stats")))
            .collect()
    }

    /// What every switch dropped since `before` ([`Fabric::all_drops`]),
    /// as `s1 f0 sstp_u_turn +2` lines.
    pub fn drops_since(
        &self,
        before: &[std::collections::BTreeMap<(String, String), u64>],
    ) -> Vec<String> {
        crate::ring::drops_between(before, &self.all_drops())
    }

    /// Brings every port of switch `i` back (the server is powered again;
    /// its daemon kept running).
    pub fn switch_up(&self, i: usize) {
        let mut cmd: Vec<String> = self
            .topo
            .all_ports(i)
            .iter()
            .map(|(p, _, _, _)| format!("ip link set f{p} up"))
            .collect();
        cmd.push("ip link set host up".into());
        self.sw[i].sh(&cmd.join("; "));
    }

    /// The spanning tree's root as switch `i` sees it (`show stp`), and
    /// whether any of its enabled ports still holds information naming
    /// `root`.
    pub fn stp_root(&self, i: usize, root: &str) -> (String, bool) {
        let v = self.json(i, "show stp");
        let norm = |x: &serde_json::Value| x.as_str().unwrap_or("").replace([':', '-'], "");
        let holds = v["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["enabled"] == true && norm(&p["designated_root"]) == root);
        (norm(&v["root_id"]), holds)
    }

    /// (port at the first end, the other switch, port at the other end)
    /// of link k.
    pub fn port_of_link(&self, k: usize) -> (usize, usize, usize) {
        let mut next = vec![0usize; self.topo.n];
        for (j, &(a, b)) in self.topo.links.iter().enumerate() {
            let (pa, pb) = (next[a], next[b]);
            next[a] += 1;
            next[b] += 1;
            if j == k {
                return (pa, b, pb);
            }
        }
        panic!("no link {k}")
    }
}
