//! The control protocol between `upstare` (the CLI) and the runtime inside a running program.
//!
//! One Unix stream socket per process, `<dir>/<pid>.sock`, where `<dir>` is
//! the program's `$UPSTARE_SOCKET_DIR`, else `/tmp/upstare-<uid>`; the directory has mode 0700
//! and belongs to the program's user (the runtime refuses any other). The CLI reads the
//! program's `UPSTARE_SOCKET_DIR` from `/proc/<pid>/environ`, so both agree. The client writes one request
//! as a JSON line; the runtime answers with one JSON line and closes the connection.
//! Both sides use these types, so the protocol is defined once.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A request from the CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// Move the process to the version in `module` (`None`: the current version again, which
    /// exercises the whole transaction with identity transformers).
    Update {
        module: Option<String>,
        spec: Option<SpecSource>,
        /// How long threads may take to reach update points, in milliseconds.
        deadline_ms: u64,
    },
    Status,
}

/// An update spec as the CLI read it (the program need not be able to read the file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecSource {
    pub path: String,
    pub text: String,
}

/// The runtime's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    Updated {
        report: Report,
    },
    /// The update did not happen; the program runs the version it ran before.
    Failed {
        failure: Failure,
    },
    Status {
        status: Status,
    },
    /// The request itself was malformed.
    BadRequest {
        message: String,
    },
}

/// Why an update did not happen, and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// `prepare` (refused before any thread stopped), `quiesce` (threads did not all reach
    /// update points in time), or `transform` (rolled back after quiescence).
    pub phase: String,
    /// One line per cause, each naming the item (global, frame, thread, file).
    pub reasons: Vec<String>,
    /// Timings so far (zero for phases not reached).
    pub report: Report,
}

/// What an update did and how long each phase took (microseconds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub from_version: u32,
    pub to_version: u32,
    pub module: String,
    /// Load, diff, check: the program kept running.
    pub prepare_us: u64,
    /// From the request to the last thread parked.
    pub quiesce_us: u64,
    /// State transformation, all threads parked.
    pub transform_us: u64,
    /// From the release to the last thread resumed.
    pub rebuild_us: u64,
    /// From the first thread parked to the last one resumed.
    pub pause_us: u64,
    pub threads: u64,
    pub frames: u64,
    pub globals: u64,
    pub bytes: u64,
    /// Heap objects migrated to a new type, and the bytes of their new blocks.
    #[serde(default)]
    pub heap_objects: u64,
    #[serde(default)]
    pub heap_bytes: u64,
    /// Old heap objects that stayed and had pointers rewritten at commit.
    #[serde(default)]
    pub heap_patched: u64,
    /// Automatic defaults applied and other remarks (new globals initialised, fields dropped).
    pub notes: Vec<String>,
}

/// `upstare status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub pid: u32,
    pub version: u32,
    /// The running version's file (the executable, or the last update module).
    pub module: String,
    /// Every version loaded so far, oldest first.
    pub versions: Vec<String>,
    pub threads: Vec<ThreadStatus>,
    pub last_update: Option<Report>,
}

/// One thread of the program.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadStatus {
    pub tid: i32,
    pub name: String,
    /// The kernel's state letter (R running, S sleeping, ...).
    pub state: String,
    /// Where the thread was at the last update, innermost frame first (`function @ point (file:line)`).
    pub frames: Vec<String>,
}

/// The environment variable that overrides the socket directory.
pub const SOCKET_DIR_ENV: &str = "UPSTARE_SOCKET_DIR";

/// The directory holding the control sockets of `uid`'s processes, given the program's
/// `UPSTARE_SOCKET_DIR` (if set).
pub fn socket_dir(uid: u32, env_dir: Option<&str>) -> PathBuf {
    match env_dir {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(format!("/tmp/upstare-{uid}")),
    }
}

/// The control socket of process `pid`.
pub fn socket_path(dir: &std::path::Path, pid: u32) -> PathBuf {
    dir.join(format!("{pid}.sock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_one_line() {
        let r = Request::Update {
            module: Some("/tmp/v2.so".into()),
            spec: None,
            deadline_ms: 200,
        };
        let line = serde_json::to_string(&r).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), r);
        let s = serde_json::to_string(&Request::Status).unwrap();
        assert_eq!(s, r#"{"cmd":"status"}"#);
    }
}
