//! The control socket server: one thread accepting `satctl` connections and
//! relaying each request to the control lcore.

use crossbeam::channel::{self, Sender};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tracing::{info, warn};

use crate::control::{Request, Response};
use crate::requests::Envelope;

/// Asks the control lcore and waits (bounded) for the answer.
pub fn ask(to: &Sender<Envelope>, req: Request) -> Response {
    let (tx, rx) = channel::bounded(1);
    if to.send((req, tx)).is_err() {
        return Response::err("daemon is shutting down");
    }
    rx.recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| Response::err("control lcore did not answer in 5 s"))
}

/// Binds `path` (replacing a stale socket) and serves it on a thread.
pub fn spawn(path: &Path, to: Sender<Envelope>) -> Result<PathBuf, String> {
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
    let listener = UnixListener::bind(path).map_err(|e| format!("bind {}: {e}", path.display()))?;
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
                        let mut line = String::new();
                        if BufReader::new(&stream).read_line(&mut line).is_err() {
                            return;
                        }
                        let resp = match serde_json::from_str::<Request>(&line) {
                            Ok(req) => ask(&to, req),
                            Err(e) => {
                                warn!("bad control request: {e}");
                                Response::err(format!("bad request: {e}"))
                            }
                        };
                        let mut out = serde_json::to_string(&resp).unwrap_or_default();
                        out.push('\n');
                        let _ = (&stream).write_all(out.as_bytes());
                    });
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(path.to_path_buf())
}
