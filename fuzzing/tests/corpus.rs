//! Replays every entry of `fuzz/corpus/<target>/` through its entry
//! function: what a fuzzer once found (or was seeded with) stays a
//! regression test under plain `cargo test`, with no nightly needed.

use std::path::PathBuf;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

#[test]
fn every_corpus_entry_replays_without_a_failure() {
    for (name, entry) in satellite_fuzzing::TARGETS {
        let dir = corpus_dir(name);
        let files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        assert!(
            !files.is_empty(),
            "{name}: empty corpus in {}",
            dir.display()
        );
        for f in files {
            let data = std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let run = std::panic::catch_unwind(|| entry(&data));
            assert!(run.is_ok(), "{name}: {} fails", f.display());
        }
    }
}

fn entries(target: &str) -> Vec<Vec<u8>> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(corpus_dir(target))
        .expect("corpus directory")
        .map(|e| {
            let p = e.expect("directory entry").path();
            let d = std::fs::read(&p).expect("corpus file");
            (p, d)
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, d)| d).collect()
}

/// A corpus that the parsers reject at the first byte would make the
/// campaigns and this replay test hollow: the seeds must be valid input.
#[test]
fn seeds_are_valid_input_for_their_parser() {
    use satellite_protocol::wire::{decode_bpdu_frame, decode_sstp_frame};
    let valid = |t: &str, ok: &dyn Fn(&[u8]) -> bool| entries(t).iter().filter(|d| ok(d)).count();
    assert!(valid("bpdu", &|d| decode_bpdu_frame(d).is_ok()) >= 4);
    assert!(valid("sstp", &|d| decode_sstp_frame(d).is_ok()) >= 5);
    assert!(
        valid("control_request", &|d| satellite::control::parse_request(d)
            .is_ok())
            >= 10
    );
    let config_ok = |d: &[u8]| {
        std::str::from_utf8(d).is_ok_and(|s| satellite::config::Config::parse(s, "c").is_ok())
    };
    assert!(valid("config", &config_ok) >= 2);
    let dhcp_ok = |d: &[u8]| {
        use satellite_filters::dhcp::{DhcpRepr, Packet};
        Packet::new_checked(d).is_ok_and(|p| DhcpRepr::parse(&p).is_ok())
    };
    assert!(valid("dhcp", &dhcp_ok) >= 7);
}
