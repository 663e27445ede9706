//! The control socket server: one thread accepting `satctl` connections and
//! relaying each request to the control lcore.

use crossbeam::channel::{self, Sender};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tracing::{info, warn};

use crate::control::{parse_request, Request, Response, MAX_REQUEST_LEN};
use crate::requests::Envelope;

/// Owner and group read/write: satctl needs write to connect, and nobody
/// outside the group may reconfigure the switch.
pub const SOCKET_MODE: u32 = 0o660;

/// Asks the control lcore and waits (bounded) for the answer.
pub fn ask(to: &Sender<Envelope>, req: Request) -> Response {
    let (tx, rx) = channel::bounded(1);
    if to.send((req, tx)).is_err() {
        return Response::err("daemon is shutting down");
    }
    rx.recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| Response::err("control lcore did not answer in 5 s"))
}

/// The gid of `group`: a number, or a name in /etc/group.
pub fn group_id(group: &str) -> Result<u32, String> {
    if let Ok(gid) = group.parse() {
        return Ok(gid);
    }
    let db = std::fs::read_to_string("/etc/group").map_err(|e| format!("/etc/group: {e}"))?;
    db.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 3 && f[0] == group)
        .and_then(|f| f[2].parse().ok())
        .ok_or_else(|| format!("control.group: no group {group:?} in /etc/group"))
}

/// Binds a socket at `path` with [`SOCKET_MODE`] and, if given, `group`.
/// It is made under a temporary name and renamed into place, so no client
/// ever sees it with the umask's permissions.
fn bind(path: &Path, group: Option<&str>) -> Result<UnixListener, String> {
    let gid = group.map(group_id).transpose()?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let shown = path.display();
    let listener = UnixListener::bind(&tmp).map_err(|e| format!("bind {shown}: {e}"))?;
    let made = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(SOCKET_MODE))
        .map_err(|e| format!("chmod {shown}: {e}"))
        .and_then(|()| match gid {
            Some(g) => std::os::unix::fs::chown(&tmp, None, Some(g))
                .map_err(|e| format!("chgrp {shown} to {g}: {e}")),
            None => Ok(()),
        })
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| format!("{shown}: {e}")));
    if let Err(e) = made {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(listener)
}

/// Reads one request line of at most [`MAX_REQUEST_LEN`] bytes and decodes
/// it; anything else is an error reply, and nothing reaches the control
/// lcore.
fn serve(stream: &UnixStream, to: &Sender<Envelope>) -> Response {
    let mut line = Vec::new();
    let limit = MAX_REQUEST_LEN as u64 + 1;
    if let Err(e) = BufReader::new(stream.take(limit)).read_until(b'\n', &mut line) {
        return Response::err(format!("read: {e}"));
    }
    match parse_request(&line) {
        Ok(req) => ask(to, req),
        Err(e) => {
            warn!("refused control request: {e}");
            Response::err(e.to_string())
        }
    }
}

/// Binds `path` (replacing a stale socket) with mode 0660 and group
/// `group`, and serves it on a thread.
pub fn spawn(path: &Path, group: Option<&str>, to: Sender<Envelope>) -> Result<PathBuf, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    if path.exists() {
        // A live daemon answers; only a dead socket is replaced.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!(
                "{} is in use by another satellited",
                path.display()
            ));
        }
        let _ = std::fs::remove_file(path);
    }
    let listener = bind(path, group)?;
    info!(socket = %path.display(), "control socket listening");
    std::thread::Builder::new()
        .name("ctl-socket".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(stream) = conn else { continue };
                let to = to.clone();
                let _ = std::thread::Builder::new()
                    .name("ctl-conn".into())
                    .spawn(move || {
                        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
                        let resp = serve(&stream, &to);
                        let mut out = serde_json::to_string(&resp).unwrap_or_default();
                        out.push('\n');
                        let _ = (&stream).write_all(out.as_bytes());
                    });
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    /// Sends `bytes`, closes the sending half, returns the reply.
    fn call_raw(path: &Path, bytes: &[u8]) -> Response {
        let s = UnixStream::connect(path).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        (&s).write_all(bytes).expect("write");
        s.shutdown(std::net::Shutdown::Write).expect("shutdown");
        let mut line = String::new();
        BufReader::new(&s).read_line(&mut line).expect("reply");
        serde_json::from_str(&line).expect("reply is a Response")
    }

    #[test]
    fn the_socket_is_0660_in_the_configured_group() {
        let dir = tempfile::tempdir().unwrap();
        let gid = std::fs::metadata(dir.path()).unwrap().gid();
        let path = dir.path().join("s.sock");
        let (tx, _rx) = channel::bounded(1);
        spawn(&path, Some(&gid.to_string()), tx.clone()).unwrap();
        let m = std::fs::metadata(&path).unwrap();
        assert!(m.file_type().is_socket());
        assert_eq!(m.mode() & 0o777, SOCKET_MODE);
        assert_eq!(m.gid(), gid);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary socket left behind: {names:?}");
        let other = dir.path().join("t.sock");
        let e = spawn(&other, Some("no-such-group-satellite"), tx).unwrap_err();
        assert!(e.contains("no group"), "{e}");
        assert!(!other.exists());
        assert_eq!(group_id("root"), Ok(0));
    }

    #[test]
    fn malformed_or_oversized_requests_get_an_error_and_reach_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let (tx, rx) = channel::bounded::<Envelope>(4);
        spawn(&path, None, tx).unwrap();
        let mut huge = br#"{"cmd":"set_priority","priority":4096"#.to_vec();
        huge.resize(MAX_REQUEST_LEN + 10, b' ');
        huge.extend_from_slice(b"}\n");
        let bad: [(&[u8], &str); 6] = [
            (b"not json\n", "bad request"),
            (
                br#"{"cmd":"set_priority","priority":"high"}"#,
                "bad request",
            ),
            (br#"{"cmd":"reboot"}"#, "bad request"),
            (b"\xff\xfe\n", "bad request"),
            (b"", "bad request"),
            (&huge, "longer than 4096 bytes"),
        ];
        for (req, want) in bad {
            let r = call_raw(&path, req);
            let e = r.error.unwrap_or_default();
            assert!(
                !r.ok && e.contains(want),
                "{:?}: {e}",
                String::from_utf8_lossy(req)
            );
            assert!(
                rx.try_recv().is_err(),
                "a refused request reached the control lcore"
            );
        }
        // A good request still goes through.
        let answer = std::thread::spawn(move || {
            let (req, reply) = rx.recv_timeout(Duration::from_secs(5)).expect("request");
            reply.send(Response::ok("done")).unwrap();
            req
        });
        let r = call_raw(&path, b"{\"cmd\":\"set_priority\",\"priority\":4096}\n");
        assert!(r.ok, "{r:?}");
        assert_eq!(
            answer.join().unwrap(),
            Request::SetPriority { priority: 4096 }
        );
    }
}
