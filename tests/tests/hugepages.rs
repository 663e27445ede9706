//! satellited's memory: `[dataplane] hugepages`. One switch on two
//! `net_null` devices (no namespaces needed), once with `hugepages = false`
//! (what CI and the labs run: no hugepages are set up there) and once with
//! `hugepages = true` on 2 MB pages this test reserves itself and gives back
//! (a guard's `Drop`, so also when an assertion fails).

use satellite_e2e::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Starts satellited with `dataplane` as its `[dataplane]` section on two
/// net_null ports; waits until satctl answers.
fn start(scratch: &Scratch, dataplane: &str) -> (Proc, PathBuf) {
    let name = unique("hp");
    let cfg = scratch.join("sat.toml");
    let socket = scratch.join("sat.sock");
    std::fs::write(
        &cfg,
        format!(
            "[bridge]\nname = \"{name}\"\n\n[dataplane]\nworkers = 1\nmemory_mb = 64\n\
             mbufs = 2048\n{dataplane}\n\n[fdb]\ncapacity = 4096\n\n[stp]\nenabled = false\n"
        ),
    )
    .unwrap();
    let log = scratch.join("satellited.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = std::process::Command::new(bin("satellited"))
        .args(["-c", cfg.to_str().unwrap(), "--socket"])
        .arg(&socket)
        .args(["--eal", "--vdev net_null0 --vdev net_null1"])
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("spawn satellited");
    let mut p = Proc::from_child(child, log);
    let up = satctl_answers(&socket, Duration::from_secs(20));
    assert!(
        up && p.alive(),
        "satellited did not start:\n{}",
        p.log_text()
    );
    (p, socket)
}

/// The `memory` part of `show stats`, once the worker has polled.
fn memory_after_traffic(socket: &Path, p: &Proc) -> serde_json::Value {
    let polled = wait_until(Duration::from_secs(10), || {
        let s = satctl_json(socket, "show stats");
        s["ports"][0]["rx_packets"].as_u64().unwrap_or(0) > 0
    });
    assert!(polled, "the worker never received:\n{}", p.log_text());
    satctl_json(socket, "show stats")["memory"].clone()
}

#[test]
fn starts_without_hugepages_when_told() {
    require_root!();
    let scratch = Scratch::new("hpoff");
    let (mut p, socket) = start(&scratch, "hugepages = false");
    let mem = memory_after_traffic(&socket, &p);
    assert_eq!(mem["hugepages"], false, "{mem}");
    assert_eq!(mem["tables_in_dpdk_heap"], false, "{mem}");
    assert_eq!(mem["dpdk_table_blocks"], 0, "{mem}");
    let log = p.log_text();
    assert!(
        log.contains("running without hugepages") && log.contains("hugepages = false"),
        "{log}"
    );
    assert!(log.contains("--no-huge"), "{log}");
    assert_eq!(p.stop(), Some(0), "{}", p.log_text());
}

/// 2 MB pages added to the kernel's pool and a private hugetlbfs mount;
/// `Drop` unmounts and takes back exactly the pages it added.
struct Reservation {
    added: u64,
    dir: PathBuf,
    mounted: bool,
}

const NR: &str = "/proc/sys/vm/nr_hugepages";

fn nr_hugepages() -> u64 {
    std::fs::read_to_string(NR).unwrap().trim().parse().unwrap()
}

impl Reservation {
    fn new(pages: u64, dir: PathBuf) -> Reservation {
        let before = nr_hugepages();
        std::fs::write(NR, (before + pages).to_string()).expect("write nr_hugepages");
        let mut r = Reservation {
            added: nr_hugepages().saturating_sub(before),
            dir,
            mounted: false,
        };
        assert!(
            r.added >= pages,
            "the kernel gave {} of {pages} hugepages",
            r.added
        );
        std::fs::create_dir_all(&r.dir).unwrap();
        let out = run(&format!(
            "mount -t hugetlbfs -o pagesize=2M none {}",
            r.dir.display()
        ));
        assert!(out.status.success(), "mount: {out:?}");
        r.mounted = true;
        r
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.mounted {
            let _ = run(&format!("umount {}", self.dir.display()));
        }
        let _ = std::fs::remove_dir(&self.dir);
        let now = nr_hugepages();
        let _ = std::fs::write(NR, now.saturating_sub(self.added).to_string());
    }
}

#[test]
fn runs_its_tables_on_hugepages_when_it_has_them() {
    require_root!();
    let scratch = Scratch::new("hpon");
    // Declared first, so dropped last: after the daemon has stopped.
    let pages = Reservation::new(64, scratch.join("huge"));
    let (mut p, socket) = start(&scratch, "hugepages = true");
    let mem = memory_after_traffic(&socket, &p);
    assert_eq!(mem["hugepages"], true, "{mem}");
    assert_eq!(mem["tables_in_dpdk_heap"], true, "{mem}");
    // 256 FDB shards, their groups and index, the snapshot's arrays.
    assert!(mem["dpdk_table_blocks"].as_u64().unwrap() > 256, "{mem}");
    assert_eq!(mem["table_fallbacks"], 0, "{mem}");
    let log = p.log_text();
    assert!(log.contains("running on hugepages"), "{log}");
    assert!(log.contains("--in-memory"), "{log}");
    assert_eq!(p.stop(), Some(0), "{}", p.log_text());
    // Every page is free again once the daemon is gone (--in-memory leaves
    // no files in the mount).
    let files = std::fs::read_dir(&pages.dir).unwrap().count();
    assert_eq!(files, 0, "files left in {}", pages.dir.display());
}
