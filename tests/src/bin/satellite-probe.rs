//! The probe stream (MEASURE.md): `satellite-probe send` sends sequence-
//! numbered UDP datagrams at a fixed rate; `satellite-probe recv` records
//! every gap and prints a JSON report on stdout.
//!
//! ```text
//! satellite-probe send --to 10.0.0.5:5001 [--rate 1000] [--duration 10] [--size 64]
//! satellite-probe recv [--bind 0.0.0.0:5001] [--rate 1000] [--idle 3] [--first-wait 30]
//! ```
#![forbid(unsafe_code)]

use satellite_e2e::probe::{self, RecvOpts, SendOpts};
use std::time::Duration;

fn usage() -> ! {
    eprintln!(
        "usage:\n  satellite-probe send --to ADDR:PORT [--rate N] [--duration SECS] [--size BYTES]\n  \
         satellite-probe recv [--bind ADDR:PORT] [--rate N] [--idle SECS] [--first-wait SECS]"
    );
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first() else { usage() };
    let mut opt = std::collections::HashMap::new();
    let mut it = args[1..].iter();
    while let Some(k) = it.next() {
        let Some(k) = k.strip_prefix("--") else {
            usage()
        };
        let Some(v) = it.next() else { usage() };
        opt.insert(k.to_string(), v.clone());
    }
    let num = |k: &str, d: f64| -> f64 {
        opt.get(k)
            .map(|v| v.parse().unwrap_or_else(|_| usage()))
            .unwrap_or(d)
    };
    let rate = num("rate", 1000.0) as u32;
    match mode.as_str() {
        "send" => {
            let to = opt
                .get("to")
                .unwrap_or_else(|| usage())
                .parse()
                .unwrap_or_else(|_| usage());
            let o = SendOpts {
                to,
                rate,
                duration: Duration::from_secs_f64(num("duration", 10.0)),
                size: num("size", 64.0) as usize,
            };
            match probe::send(&o) {
                Ok(n) => println!(
                    "{}",
                    serde_json::json!({"role": "sender", "sent": n, "rate": rate})
                ),
                Err(e) => {
                    eprintln!("satellite-probe send: {e}");
                    std::process::exit(1);
                }
            }
        }
        "recv" => {
            let bind = opt
                .get("bind")
                .map(String::as_str)
                .unwrap_or("0.0.0.0:5001")
                .parse()
                .unwrap_or_else(|_| usage());
            let o = RecvOpts {
                bind,
                rate,
                idle: Duration::from_secs_f64(num("idle", 3.0)),
                first_wait: Duration::from_secs_f64(num("first-wait", 30.0)),
            };
            match probe::receive(&o) {
                Ok(r) => {
                    let mut j = r.to_json();
                    j["role"] = "receiver".into();
                    println!("{j}");
                }
                Err(e) => {
                    eprintln!("satellite-probe recv: {e}");
                    std::process::exit(1);
                }
            }
        }
        _ => usage(),
    }
}
