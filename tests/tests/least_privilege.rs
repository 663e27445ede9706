//! A running satellited's control socket: mode 0660, and requests that are
//! malformed or too large are answered with an error and change nothing
//! (docs/least-privilege.md).

use satellite_e2e::*;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Sends `bytes` as they are, closes the sending half, returns the reply.
fn raw(socket: &Path, bytes: &[u8]) -> serde_json::Value {
    let s = UnixStream::connect(socket).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    (&s).write_all(bytes).expect("write");
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut line = String::new();
    BufReader::new(&s).read_line(&mut line).expect("reply");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("reply {line:?}: {e}"))
}

#[test]
fn the_control_socket_is_0660_and_bad_requests_change_nothing() {
    require_root!();
    let lab = StarLab::new(1, &[]);
    let m = std::fs::metadata(&lab.socket).unwrap();
    assert!(m.file_type().is_socket());
    assert_eq!(m.mode() & 0o777, 0o660, "socket mode {:o}", m.mode());

    let bridge = || lab.satctl("show stp")["bridge_id"].clone();
    let before = bridge();
    let set = br#"{"cmd":"set_priority","priority":4096"#;
    let mut huge = set.to_vec();
    huge.resize(8192, b' ');
    huge.extend_from_slice(b"}\n");
    let mut wrong = set.to_vec();
    wrong.extend_from_slice(b", \"port\": }\n");
    for (req, want) in [
        (huge, "longer than"),
        (wrong, "bad request"),
        (
            b"{\"cmd\":\"set_priority\",\"priority\":\"4096\"}\n".to_vec(),
            "bad request",
        ),
        (b"\xff\n".to_vec(), "bad request"),
    ] {
        let r = raw(&lab.socket, &req);
        let e = r["error"].as_str().unwrap_or_default();
        assert!(r["ok"] == false && e.contains(want), "{r}");
        assert_eq!(bridge(), before, "a refused request changed the bridge");
    }
    // The same setting, well-formed, does change it: the check can fail.
    let r = raw(&lab.socket, &[set.as_slice(), b"}\n"].concat());
    assert_eq!(r["ok"], true, "{r}");
    assert_ne!(bridge(), before);
}
