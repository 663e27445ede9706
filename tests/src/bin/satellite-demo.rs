//! The main job: Satellite switching host namespaces, with a summary.
//! Run through `scripts/demo.sh` (needs root).
#![forbid(unsafe_code)]

use satellite_e2e::*;
use std::time::Duration;

fn main() {
    if !is_root() {
        eprintln!("satellite-demo needs root (network namespaces): sudo scripts/demo.sh");
        std::process::exit(1);
    }
    println!("== Satellite demo: three host namespaces switched by one satellited ==");
    let lab = StarLab::new(3, &[]);
    println!("satellited running (pid {}), ports:", lab.daemon.pid());
    print!(
        "{}",
        sh(&format!(
            "{} -s {} show ports",
            bin("satctl").display(),
            lab.socket.display()
        ))
    );
    let mut ok = 0;
    let mut total = 0;
    for i in 0..3 {
        for j in 0..3 {
            if i != j {
                total += 1;
                let up = lab.ping(i, j);
                ok += up as u32;
                println!("ping h{i} -> h{j}: {}", if up { "ok" } else { "FAILED" });
            }
        }
    }
    wait_until(Duration::from_secs(2), || {
        lab.satctl("show fdb")
            .as_array()
            .is_some_and(|a| a.len() >= 3)
    });
    println!("\nsatctl show fdb:");
    print!(
        "{}",
        sh(&format!(
            "{} -s {} show fdb",
            bin("satctl").display(),
            lab.socket.display()
        ))
    );
    println!("\nsatctl show stats:");
    print!(
        "{}",
        sh(&format!(
            "{} -s {} show stats",
            bin("satctl").display(),
            lab.socket.display()
        ))
    );
    println!("\nSummary: {ok}/{total} host pairs reachable through Satellite.");
    if ok != total {
        std::process::exit(1);
    }
}
