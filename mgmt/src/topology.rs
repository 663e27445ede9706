//! The fabric as a picture (`satctl show topology`): built only from what
//! daemons already report. One daemon knows every Satellite switch and
//! link from SSTP's database (`show lsdb`), and the roles, states and
//! counters of its own ports (`show stp`, `show stats`); several daemons'
//! views merge, so the spanning tree's roles show on every switch asked.
//! Drawing is left to Graphviz: this module writes `dot` text, never
//! pixels.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

/// What one daemon answered (any part may be missing: SSTP or the
/// spanning tree may be disabled).
#[derive(Debug, Clone, Default)]
pub struct View {
    pub stp: Option<Value>,
    pub sstp: Option<Value>,
    pub lsdb: Option<Value>,
    pub stats: Option<Value>,
}

/// The merged picture; `--format json` prints it as is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Topology {
    /// The root bridge ID most asked daemons name.
    pub root: Option<String>,
    pub bridges: Vec<Bridge>,
    pub links: Vec<Link>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bridge {
    /// SSTP SystemId, or the bridge address of a bridge known only by
    /// its BPDUs.
    pub id: String,
    pub name: Option<String>,
    pub bridge_id: Option<String>,
    pub root: bool,
    /// Reachable in the link state (always true for a daemon asked).
    pub reachable: bool,
    /// Runs Satellite (is in the link state or was asked).
    pub satellite: bool,
    /// Was asked: its ports below are its own report.
    pub viewed: bool,
    pub ports: Vec<Port>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Port {
    pub index: u16,
    pub name: String,
    pub role: Option<String>,
    pub state: Option<String>,
    pub edge: bool,
    pub rx_packets: u64,
    pub tx_packets: u64,
}

/// One end of a link: a bridge and, when known, its port.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct End {
    pub bridge: String,
    pub port: Option<u16>,
    pub port_name: Option<String>,
    pub role: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub a: End,
    pub b: End,
    /// SSTP cost, when the link state has the link.
    pub cost: Option<u64>,
    /// Both ends advertise it and both switches are reachable.
    pub up: bool,
    /// An end is alternate/backup and discarding (or STP blocking).
    pub blocked: bool,
    /// Frames both ways, from the counters of an asked end.
    pub packets: Option<u64>,
    /// Frames per second both ways, when sampled twice.
    pub packets_per_sec: Option<f64>,
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_lowercase)
}

/// The MAC part of a bridge ID (`8000.02:00:...` -> `02:00:...`).
fn mac_of(bridge_id: &str) -> String {
    bridge_id
        .rsplit_once('.')
        .map_or(bridge_id, |(_, m)| m)
        .to_lowercase()
}

impl End {
    fn blocked(&self) -> bool {
        let (r, s) = (self.role.as_deref(), self.state.as_deref());
        s == Some("blocking")
            || (s == Some("discarding") && matches!(r, Some("alternate" | "backup")))
    }
}

impl Topology {
    /// Merges the views. The first is "this switch": the links come from
    /// its database, and it wins a tie on who the root is.
    pub fn build(views: &[View]) -> Topology {
        let mut t = Topology::default();
        // Root ID -> (views naming it, first view naming it).
        let mut roots: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        // (origin, local port) -> (neighbour, remote port, cost)
        let mut claims: BTreeMap<(String, u16), (String, u16, u64)> = BTreeMap::new();
        let mut foreign: Vec<(String, u16, String)> = vec![];
        for (k, v) in views.iter().enumerate() {
            let null = Value::Null;
            let stp = v.stp.as_ref().unwrap_or(&null);
            let bid = text(&stp["bridge_id"]);
            let me = v
                .sstp
                .as_ref()
                .and_then(|s| text(&s["system"]))
                .or_else(|| bid.as_deref().map(mac_of));
            let Some(me) = me else { continue };
            if let Some(r) = text(&stp["root_id"]) {
                roots.entry(r).or_insert((0, k)).0 += 1;
            }
            let name = v
                .sstp
                .as_ref()
                .and_then(|s| s["hostname"].as_str().map(String::from))
                .or_else(|| v.stats.as_ref()?["bridge"].as_str().map(String::from));
            let ports = own_ports(stp, v.stats.as_ref());
            for p in stp["ports"].as_array().into_iter().flatten() {
                let db = text(&p["designated_bridge"]).unwrap_or_default();
                let idx = p["port"].as_u64().unwrap_or(0).saturating_sub(1) as u16;
                let role = text(&p["role"]).unwrap_or_default();
                if p["edge"] != true && role != "disabled" && Some(&db) != bid.as_ref() {
                    foreign.push((me.clone(), idx, db));
                }
            }
            let b = t.bridge_mut(&me);
            b.name = name.or(b.name.take());
            b.bridge_id = bid.or(b.bridge_id.take());
            b.reachable = true;
            b.satellite = true;
            b.viewed = true;
            b.ports = ports;
        }
        // The links and reachability are one daemon's (the first with a
        // database): a switch cut off keeps stale LSPs of its neighbours,
        // and merging those would draw links that are gone.
        let db = views.iter().find_map(|v| v.lsdb.as_ref());
        for o in db
            .and_then(|l| l["origins"].as_array())
            .into_iter()
            .flatten()
        {
            let Some(id) = text(&o["origin"]) else {
                continue;
            };
            let b = t.bridge_mut(&id);
            b.satellite = true;
            b.reachable = o["reachable"] == true;
            if b.name.is_none() {
                b.name = o["hostname"].as_str().map(String::from);
            }
            if !b.viewed {
                b.bridge_id = text(&o["bridge_id"]).or(b.bridge_id.take());
            }
            for a in o["adjacencies"].as_array().into_iter().flatten() {
                let (Some(n), Some(lp), Some(rp)) = (
                    text(&a["neighbour"]),
                    a["local_port"].as_u64(),
                    a["remote_port"].as_u64(),
                ) else {
                    continue;
                };
                claims.insert(
                    (id.clone(), lp as u16),
                    (n, rp as u16, a["cost"].as_u64().unwrap_or(0)),
                );
            }
        }
        t.links_from_claims(&claims);
        t.links_to_foreign(foreign);
        // Most views win; a tie goes to the earliest (a switch cut off
        // names itself root).
        t.root = roots
            .into_iter()
            .max_by_key(|(_, (n, first))| (*n, std::cmp::Reverse(*first)))
            .map(|(r, _)| r);
        if let Some(root) = t.root.clone() {
            let b = t.bridge_mut(&mac_of(&root));
            b.root = true;
            if b.bridge_id.is_none() {
                b.bridge_id = Some(root);
            }
        }
        t.fill_ends();
        t
    }

    fn bridge_mut(&mut self, id: &str) -> &mut Bridge {
        let i = match self.bridges.iter().position(|b| b.id == id) {
            Some(i) => i,
            None => {
                self.bridges.push(Bridge {
                    id: id.to_string(),
                    ..Bridge::default()
                });
                self.bridges.len() - 1
            }
        };
        &mut self.bridges[i]
    }

    fn links_from_claims(&mut self, claims: &BTreeMap<(String, u16), (String, u16, u64)>) {
        let mut done = BTreeSet::new();
        for ((a, pa), (b, pb, cost)) in claims {
            let key = if (a, pa) <= (b, pb) {
                ((a, pa), (b, pb))
            } else {
                ((b, pb), (a, pa))
            };
            if !done.insert(key) {
                continue;
            }
            let back = claims
                .get(&(b.clone(), *pb))
                .is_some_and(|(n, p, _)| n == a && p == pa);
            let reach = |id: &str| self.bridges.iter().any(|x| x.id == id && x.reachable);
            let up = back && reach(a) && reach(b);
            self.links.push(Link {
                a: end(a, Some(*pa)),
                b: end(b, Some(*pb)),
                cost: Some(*cost),
                up,
                ..Link::default()
            });
        }
    }

    /// Ports whose BPDUs come from a bridge outside the link state (a
    /// kernel bridge, Open vSwitch) link to it.
    fn links_to_foreign(&mut self, foreign: Vec<(String, u16, String)>) {
        for (me, port, db) in foreign {
            let id = mac_of(&db);
            let covered = self.links.iter().any(|l| {
                [&l.a, &l.b]
                    .iter()
                    .any(|e| e.bridge == me && e.port == Some(port))
            });
            if covered || self.bridges.iter().any(|b| b.id == id && b.satellite) {
                continue;
            }
            let b = self.bridge_mut(&id);
            b.bridge_id = Some(db);
            b.reachable = true;
            self.links.push(Link {
                a: end(&me, Some(port)),
                b: end(&id, None),
                up: true,
                ..Link::default()
            });
        }
    }

    /// Names, roles, states and load of every end an asked daemon owns.
    fn fill_ends(&mut self) {
        let ports: BTreeMap<(String, u16), Port> = self
            .bridges
            .iter()
            .flat_map(|b| b.ports.iter().map(|p| ((b.id.clone(), p.index), p.clone())))
            .collect();
        for l in &mut self.links {
            for e in [&mut l.a, &mut l.b] {
                if let Some(p) = e.port.and_then(|i| ports.get(&(e.bridge.clone(), i))) {
                    e.port_name = Some(p.name.clone());
                    e.role = p.role.clone();
                    e.state = p.state.clone();
                    if l.packets.is_none() {
                        l.packets = Some(p.rx_packets + p.tx_packets);
                    }
                }
            }
            l.blocked = l.a.blocked() || l.b.blocked();
        }
    }

    /// Sets each link's rate from an earlier picture `secs` before.
    pub fn rates_since(&mut self, earlier: &Topology, secs: f64) {
        for l in &mut self.links {
            let before = earlier
                .links
                .iter()
                .find(|e| {
                    (&e.a.bridge, e.a.port, &e.b.bridge) == (&l.a.bridge, l.a.port, &l.b.bridge)
                })
                .and_then(|e| e.packets);
            if let (Some(now), Some(then)) = (l.packets, before) {
                if secs > 0.0 {
                    l.packets_per_sec = Some(now.saturating_sub(then) as f64 / secs);
                }
            }
        }
    }

    /// Hop distance of every bridge from the root over links that are up
    /// and not blocked: the tree's ranks.
    fn depths(&self) -> BTreeMap<&str, usize> {
        let mut d = BTreeMap::new();
        let Some(root) = self.bridges.iter().find(|b| b.root) else {
            return d;
        };
        d.insert(root.id.as_str(), 0);
        let mut q = VecDeque::from([root.id.as_str()]);
        while let Some(u) = q.pop_front() {
            let du = d[u];
            for l in self.links.iter().filter(|l| l.up && !l.blocked) {
                let v = match (l.a.bridge == u, l.b.bridge == u) {
                    (true, _) => l.b.bridge.as_str(),
                    (_, true) => l.a.bridge.as_str(),
                    _ => continue,
                };
                if !d.contains_key(v) {
                    d.insert(v, du + 1);
                    q.push_back(v);
                }
            }
        }
        d
    }

    /// Graphviz `dot` text: the root on top, the tree's links solid and
    /// ranked from it, blocked links dashed red, links down dotted grey.
    pub fn to_dot(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "graph satellite {{");
        let _ = writeln!(
            o,
            "  graph [fontname=\"Helvetica\" labelloc=t label={}];",
            quote(&self.title())
        );
        let _ = writeln!(
            o,
            "  node [shape=box style=\"rounded,filled\" fillcolor=white fontname=\"Helvetica\"];"
        );
        let _ = writeln!(o, "  edge [fontname=\"Helvetica\" fontsize=9];");
        for b in &self.bridges {
            let mut label = b.name.clone().unwrap_or_else(|| b.id.clone());
            if let Some(id) = &b.bridge_id {
                label.push('\n');
                label.push_str(id);
            }
            if b.root {
                label.push_str("\nroot");
            }
            let mut attrs = vec![format!("label={}", quote(&label))];
            if b.root {
                attrs.push("fillcolor=gold penwidth=2".into());
            }
            if !b.reachable {
                attrs.push("style=\"rounded,dashed\" color=grey fontcolor=grey".into());
            }
            if !b.satellite {
                attrs.push("shape=ellipse".into());
            }
            let _ = writeln!(o, "  {} [{}];", quote(&b.id), attrs.join(" "));
        }
        let depth = self.depths();
        for l in &self.links {
            // Parent first, so dot ranks the tree from the root down.
            let da = depth
                .get(l.a.bridge.as_str())
                .copied()
                .unwrap_or(usize::MAX);
            let db = depth
                .get(l.b.bridge.as_str())
                .copied()
                .unwrap_or(usize::MAX);
            let (x, y) = if da <= db { (&l.a, &l.b) } else { (&l.b, &l.a) };
            let mut attrs = vec![
                format!("taillabel={}", quote(&end_label(x))),
                format!("headlabel={}", quote(&end_label(y))),
            ];
            let mut label = vec![];
            if let Some(c) = l.cost {
                label.push(format!("cost {c}"));
            }
            match (l.packets_per_sec, l.packets) {
                (Some(r), _) => label.push(format!("{} pkt/s", si(r))),
                (None, Some(n)) => label.push(format!("{} pkts", si(n as f64))),
                _ => {}
            }
            if l.blocked {
                label.push("blocked".into());
                attrs.push("style=dashed color=red constraint=false".into());
            } else if !l.up {
                label.push("down".into());
                attrs.push("style=dotted color=grey constraint=false".into());
            } else {
                attrs.push("penwidth=2".into());
            }
            attrs.push(format!("label={}", quote(&label.join("\n"))));
            let _ = writeln!(
                o,
                "  {} -- {} [{}];",
                quote(&x.bridge),
                quote(&y.bridge),
                attrs.join(" ")
            );
        }
        o.push_str("}\n");
        o
    }

    fn title(&self) -> String {
        let up = self.links.iter().filter(|l| l.up).count();
        let blocked = self.links.iter().filter(|l| l.blocked).count();
        format!(
            "{} bridges, {up} links up, {blocked} blocked; root {}",
            self.bridges.len(),
            self.root.as_deref().unwrap_or("unknown")
        )
    }
}

fn end(bridge: &str, port: Option<u16>) -> End {
    End {
        bridge: bridge.to_string(),
        port,
        ..End::default()
    }
}

/// An asked daemon's ports: roles and states from `show stp`, counters
/// from `show stats`, matched by name.
fn own_ports(stp: &Value, stats: Option<&Value>) -> Vec<Port> {
    let counters = |name: &str| {
        stats
            .and_then(|s| s["ports"].as_array())
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name)
            .map_or((0, 0), |p| {
                (
                    p["rx_packets"].as_u64().unwrap_or(0),
                    p["tx_packets"].as_u64().unwrap_or(0),
                )
            })
    };
    let mut ports: Vec<Port> = stp["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let name = p["name"].as_str().unwrap_or("").to_string();
            let (rx, tx) = counters(&name);
            Port {
                index: p["port"].as_u64().unwrap_or(1).saturating_sub(1) as u16,
                role: text(&p["role"]),
                state: text(&p["state"]),
                edge: p["edge"] == true,
                rx_packets: rx,
                tx_packets: tx,
                name,
            }
        })
        .collect();
    if ports.is_empty() {
        // No spanning tree: the stats list the ports in index order.
        for (i, p) in stats
            .and_then(|s| s["ports"].as_array())
            .into_iter()
            .flatten()
            .enumerate()
        {
            let name = p["name"].as_str().unwrap_or("").to_string();
            let (rx, tx) = counters(&name);
            ports.push(Port {
                index: i as u16,
                name,
                rx_packets: rx,
                tx_packets: tx,
                ..Port::default()
            });
        }
    }
    ports
}

/// A link end as the picture labels it: `r0 root/fwd`.
fn end_label(e: &End) -> String {
    let name = e
        .port_name
        .clone()
        .or_else(|| e.port.map(|p| format!("#{p}")))
        .unwrap_or_default();
    match (&e.role, &e.state) {
        (Some(r), Some(s)) => {
            let s = match s.as_str() {
                "forwarding" => "fwd",
                "discarding" => "disc",
                "learning" => "lrn",
                "blocking" => "blk",
                "listening" => "lst",
                other => other,
            };
            format!("{name} {r}/{s}")
        }
        _ => name,
    }
}

/// 1234567 -> "1.2M".
fn si(x: f64) -> String {
    match x {
        x if x >= 1e9 => format!("{:.1}G", x / 1e9),
        x if x >= 1e6 => format!("{:.1}M", x / 1e6),
        x if x >= 1e3 => format!("{:.1}k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

/// A dot string literal.
fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// SVG from dot text, by Graphviz's `dot` (Debian package `graphviz`).
pub fn render_svg(dot: &str) -> Result<String, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run Graphviz `dot` ({e}): apt-get install graphviz"))?;
    let mut stdin = child.stdin.take().ok_or("dot: no stdin")?;
    stdin
        .write_all(dot.as_bytes())
        .map_err(|e| format!("dot: {e}"))?;
    drop(stdin);
    let out = child.wait_with_output().map_err(|e| format!("dot: {e}"))?;
    if !out.status.success() {
        return Err(format!("dot: {}", String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("dot: {e}"))
}

#[cfg(test)]
mod tests;
