//! The control channel: a Unix socket per process on which `upstare` asks for updates and
//! status (protocol: the `upstare-proto` crate).
//!
//! Two runtime threads, created at start-up outside the thread roots (they never run
//! instrumented code, so updates never wait for them): the *listener* accepts connections,
//! checks the peer's uid (`SO_PEERCRED`: the program's own user or root) and reads one JSON
//! request line; the *updater* runs update transactions one at a time, whether they come from
//! the socket or from the program itself (`upstare_request_self_update`). The socket directory
//! must belong to the program's user with mode 0700; anything else is refused (another user
//! could otherwise plant a socket or read requests).
//!
//! After `fork`, the child starts its own pair on its own socket (`fork_child`).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

use upstare_proto::{Request, Response, SOCKET_DIR_ENV};

extern "C" {
    fn us_set_internal_spawn(on: i32);
}

/// A job for the updater thread: a request and where to send its answer (none for requests
/// the program made itself).
type Job = (Request, Option<Sender<Response>>);

static JOBS: Mutex<Option<Sender<Job>>> = Mutex::new(None);
/// The socket this process listens on, removed at exit.
static SOCKET: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Largest request line accepted (a spec travels inside it).
const MAX_REQUEST: u64 = 16 << 20;

fn verbose(msg: &str) {
    if crate::coord::verbose() {
        eprintln!("upstare: {msg}");
    }
}

/// Spawns a runtime thread that must not get a thread root.
fn spawn_internal(name: &str, f: impl FnOnce() + Send + 'static) {
    // SAFETY: sets a thread-local flag read by __wrap_pthread_create on this thread.
    unsafe { us_set_internal_spawn(1) };
    let r = std::thread::Builder::new().name(name.into()).spawn(f);
    // SAFETY: as above.
    unsafe { us_set_internal_spawn(0) };
    if let Err(e) = r {
        verbose(&format!("cannot start the {name} thread: {e}"));
    }
}

/// Starts the control threads (once per process; again in a forked child).
pub fn start() {
    if std::env::var("UPSTARE_CONTROL").is_ok_and(|v| v == "0") {
        return;
    }
    let (tx, rx) = channel::<Job>();
    *JOBS.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    spawn_internal("upstare-updater", move || updater(rx));
    match bind() {
        Ok((listener, path)) => {
            *SOCKET.lock().unwrap_or_else(|e| e.into_inner()) = Some(path);
            spawn_internal("upstare-control", move || listen(listener));
        }
        Err(e) => verbose(&format!("no control socket: {e}")),
    }
}

/// Called in the child after fork: the parent's control threads do not exist here.
pub fn fork_child() {
    *SOCKET.lock().unwrap_or_else(|e| e.into_inner()) = None;
    start();
}

/// Removes this process's socket (at exit).
pub fn remove_socket() {
    if let Some(p) = SOCKET.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = std::fs::remove_file(p);
    }
}

/// Queues a request made by the program itself; false when there is no updater.
pub fn submit_own(req: Request) -> bool {
    match JOBS.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        Some(tx) => tx.send((req, None)).is_ok(),
        None => false,
    }
}

/// The private directory of this user's sockets (and module copies), created 0700.
pub fn private_dir() -> Result<PathBuf, String> {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let env = std::env::var(SOCKET_DIR_ENV).ok();
    let dir = upstare_proto::socket_dir(uid, env.as_deref());
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    }
    let md = std::fs::symlink_metadata(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !md.is_dir() || md.uid() != uid || md.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "{}: must be a directory owned by uid {uid} with mode 0700",
            dir.display()
        ));
    }
    Ok(dir)
}

fn bind() -> Result<(UnixListener, PathBuf), String> {
    let dir = private_dir()?;
    let path = upstare_proto::socket_path(&dir, std::process::id());
    // A socket of an earlier process with our pid is stale.
    let _ = std::fs::remove_file(&path);
    let l = UnixListener::bind(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((l, path))
}

/// Whether the peer of `s` may control this process: same user or root.
fn peer_allowed(s: &UnixStream) -> Result<(), String> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid out-parameters of the size given.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut libc::ucred as *mut libc::c_void,
            &mut len,
        )
    };
    if rc != 0 {
        return Err("cannot read the peer's credentials".into());
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    check_peer(cred.uid, me)
}

/// The policy of `peer_allowed`, separate so that it can be tested.
pub fn check_peer(peer_uid: u32, my_uid: u32) -> Result<(), String> {
    if peer_uid == my_uid || peer_uid == 0 {
        Ok(())
    } else {
        Err(format!(
            "permission denied: uid {peer_uid} may not control a process of uid {my_uid}"
        ))
    }
}

fn listen(l: UnixListener) {
    for conn in l.incoming() {
        let Ok(s) = conn else { continue };
        crate::thread::guard(|| serve(s));
    }
}

/// Answers read but not yet written (an update in progress).
static ANSWERS_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// At exit: waits (at most two seconds) until every request being served has its answer
/// written, so that an update which committed just before the program ended is reported as
/// done rather than as a connection closed without an answer.
pub fn drain_answers() {
    for _ in 0..2000 {
        if ANSWERS_IN_FLIGHT.load(Ordering::Acquire) == 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn serve(mut s: UnixStream) {
    ANSWERS_IN_FLIGHT.fetch_add(1, Ordering::AcqRel);
    serve_one(&mut s);
    ANSWERS_IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
}

fn serve_one(s: &mut UnixStream) {
    let answer = match peer_allowed(s) {
        Err(m) => Response::BadRequest { message: m },
        Ok(()) => {
            let mut line = String::new();
            let read = BufReader::new((&*s).take(MAX_REQUEST)).read_line(&mut line);
            match read.map_err(|e| e.to_string()).and_then(|_| {
                serde_json::from_str::<Request>(line.trim()).map_err(|e| e.to_string())
            }) {
                Err(e) => Response::BadRequest {
                    message: format!("malformed request: {e}"),
                },
                Ok(req) => run_job(req),
            }
        }
    };
    if let Ok(mut text) = serde_json::to_string(&answer) {
        text.push('\n');
        let _ = s.write_all(text.as_bytes());
    }
}

fn run_job(req: Request) -> Response {
    let (tx, rx) = channel();
    let sent = JOBS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|jobs| jobs.send((req, Some(tx))).is_ok())
        .unwrap_or(false);
    if !sent {
        return Response::BadRequest {
            message: "the runtime's updater is not running".into(),
        };
    }
    rx.recv().unwrap_or(Response::BadRequest {
        message: "the runtime's updater stopped".into(),
    })
}

fn updater(rx: Receiver<Job>) {
    // Threads this one starts (the JIT compiles on worker threads) are the runtime's own: no
    // thread root, never waited for by an update.
    // SAFETY: sets a thread-local flag of this thread.
    unsafe { us_set_internal_spawn(1) };
    for (req, reply) in rx {
        let answer = crate::thread::guard(|| match req {
            Request::Status => Response::Status {
                status: crate::update::status(),
            },
            Request::Update {
                module,
                spec,
                deadline_ms,
            } => crate::update::run(module.as_deref(), spec, deadline_ms),
        });
        match reply {
            Some(tx) => {
                let _ = tx.send(answer);
            }
            None => {
                if let Response::Failed { failure } = &answer {
                    verbose(&format!(
                        "self-requested update failed ({}): {}",
                        failure.phase,
                        failure.reasons.join("; ")
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_peer;

    #[test]
    fn only_the_same_user_or_root_may_control() {
        assert!(check_peer(1000, 1000).is_ok());
        assert!(check_peer(0, 1000).is_ok());
        let e = check_peer(1001, 1000).unwrap_err();
        assert!(e.contains("uid 1001"), "{e}");
    }
}
