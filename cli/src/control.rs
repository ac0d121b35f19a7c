//! Talking to a running program's runtime: find its control socket, send one request, read
//! the answer (protocol: the `upstare-proto` crate).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use upstare_proto::{Request, Response, SOCKET_DIR_ENV};

/// The owner's uid and the `UPSTARE_SOCKET_DIR` of process `pid`.
fn process_facts(pid: u32) -> Result<(u32, Option<String>), String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|_| format!("no process with pid {pid}"))?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|u| u.parse().ok())
        .ok_or_else(|| format!("cannot read the owner of process {pid}"))?;
    // Unreadable for other users: then the default directory is the only guess.
    let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    let dir = env
        .split(|&b| b == 0)
        .filter_map(|kv| std::str::from_utf8(kv).ok())
        .find_map(|kv| {
            kv.strip_prefix(&format!("{SOCKET_DIR_ENV}="))
                .map(String::from)
        });
    Ok((uid, dir))
}

/// The control socket of process `pid`.
pub fn socket_of(pid: u32) -> Result<PathBuf, String> {
    let (uid, dir) = process_facts(pid)?;
    let dir = upstare_proto::socket_dir(uid, dir.as_deref());
    Ok(upstare_proto::socket_path(&dir, pid))
}

/// Sends `req` to process `pid` and waits up to `timeout` for the answer.
pub fn ask(pid: u32, req: &Request, timeout: Duration) -> Result<Response, String> {
    let path = socket_of(pid)?;
    let mut s = UnixStream::connect(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => format!(
            "process {pid} has no upstare control socket at {} (not built with upstare-cc, or started with UPSTARE_CONTROL=0)",
            path.display()
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "permission denied: {} belongs to another user (only the program's user or root may update it)",
            path.display()
        ),
        _ => format!("{}: {e}", path.display()),
    })?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut line = serde_json::to_string(req).map_err(|e| e.to_string())?;
    line.push('\n');
    s.write_all(line.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut answer = String::new();
    BufReader::new(&s)
        .read_line(&mut answer)
        .map_err(|e| format!("process {pid} did not answer: {e}"))?;
    if answer.trim().is_empty() {
        return Err(format!(
            "process {pid} closed the connection without answering"
        ));
    }
    serde_json::from_str(answer.trim())
        .map_err(|e| format!("process {pid} sent a malformed answer: {e}"))
}

/// `pid` and all its descendants, parents before children.
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            // The field after the command (which may hold spaces and parentheses) is the
            // state, then the parent pid.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1))
                .and_then(|x| x.parse::<u32>().ok());
            if let Some(pp) = ppid {
                parent_of.push((p, pp));
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        let mut kids: Vec<u32> = parent_of
            .iter()
            .filter(|(_, pp)| *pp == cur)
            .map(|(p, _)| *p)
            .collect();
        kids.sort_unstable();
        out.extend(kids);
        i += 1;
    }
    out
}
