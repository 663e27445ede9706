//! The demo's topology pictures: `satctl show topology` over every switch
//! of the ring, relabelled with the names the walkthroughs use (s1..s8,
//! ports l and r) and drawn by Graphviz into `target/demo/`.

use satellite_e2e::ring::Ring;
use satellite_e2e::{bin, bin_dir, run};
use serde_json::Value;
use std::path::PathBuf;

/// Where the pictures go: `target/demo/`, next to the binaries.
pub fn dir() -> PathBuf {
    bin_dir()
        .parent()
        .map_or_else(|| "demo".into(), |t| t.join("demo"))
}

/// The name switch `i` has in the walkthroughs.
pub fn switch(i: usize) -> String {
    format!("s{}", i + 1)
}

/// A ring port of switch `i` as the walkthroughs would say it: the port
/// of s5 toward s6 is `s5→s6`; the host port `s5→h5`.
pub fn port(ring: &Ring, i: usize, name: &str) -> String {
    let n = ring.n();
    let to = match name.chars().next() {
        Some('l') => switch((i + n - 1) % n),
        Some('r') => switch((i + 1) % n),
        _ => format!("h{}", i + 1),
    };
    format!("{}→{to}", switch(i))
}

/// Writes `NN-tag.{json,dot,svg}`, asking `first` first (its database
/// gives the links: a live switch), then every other switch for its
/// ports' roles. Returns the SVG's path, or why there is none.
pub fn write(ring: &Ring, first: usize, step: usize, tag: &str) -> Result<PathBuf, String> {
    let dir = dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let order = std::iter::once(first).chain((0..ring.n()).filter(|&i| i != first));
    let from: String = order
        .map(|i| format!(" --from {}", ring.sockets[i].display()))
        .collect();
    let satctl = bin("satctl");
    let out = run(&format!(
        "{} show topology{from} --format json",
        satctl.display()
    ));
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let mut t: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("satctl's JSON: {e}"))?;
    relabel(ring, &mut t);
    let base = dir.join(format!("{step:02}-{tag}"));
    let json = base.with_extension("json");
    std::fs::write(&json, serde_json::to_string_pretty(&t).unwrap_or_default())
        .map_err(|e| format!("{}: {e}", json.display()))?;
    for format in ["dot", "svg"] {
        let file = base.with_extension(format);
        let out = run(&format!(
            "{} show topology --input {} --format {format} > {}",
            satctl.display(),
            json.display(),
            file.display()
        ));
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
    }
    Ok(base.with_extension("svg"))
}

/// Switch names `{tag}s{i}` become s{i+1}; port names l{i}, r{i}, h{i}
/// become l, r, h (the picture's edges say where they lead).
fn relabel(ring: &Ring, t: &mut Value) {
    let port = |v: &mut Value| {
        if let Some(s) = v.as_str() {
            *v = Value::from(s.trim_end_matches(|c: char| c.is_ascii_digit()));
        }
    };
    for b in t["bridges"].as_array_mut().into_iter().flatten() {
        if let Some(i) = b["name"]
            .as_str()
            .and_then(|n| n.strip_prefix(&format!("{}s", ring.tag)))
            .and_then(|i| i.parse::<usize>().ok())
        {
            b["name"] = Value::from(switch(i));
        }
        for p in b["ports"].as_array_mut().into_iter().flatten() {
            port(&mut p["name"]);
        }
    }
    for l in t["links"].as_array_mut().into_iter().flatten() {
        port(&mut l["a"]["port_name"]);
        port(&mut l["b"]["port_name"]);
    }
}
