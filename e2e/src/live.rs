//! Live processes for update tests: build versions with upstare-cc, start version 1 as a real
//! process with its own control-socket folder, watch its output line by line, and drive the
//! real `upstare` CLI against it.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::{profile_dir, Cmd, Output, Toolchain, WorkDir};

/// Compiles `sources` with upstare-cc into `out` (`-shared` when `module`). Panics with the
/// compiler's output on failure.
pub fn build(sources: &[PathBuf], out: &Path, module: bool, extra: &[&str]) {
    let tc = Toolchain::get();
    let mut cmd = Cmd::new(&tc.upstare_cc).args(["-O2", "-g0", "-pthread"]);
    if module {
        cmd = cmd.args(["-shared", "-fPIC"]);
    }
    let out_s = out.display().to_string();
    cmd = cmd.args(extra).args(sources).args(["-o", out_s.as_str()]);
    let o = cmd.timeout(Duration::from_secs(120)).run();
    assert!(o.success(), "build failed:\n{}", o.report());
}

/// The C files of one version folder (`v1/`, `v2/`...), sorted: the versions of a program
/// share file names.
pub fn c_sources(dir: &Path) -> Vec<PathBuf> {
    let mut s: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    s.sort();
    s
}

/// The `upstare` CLI.
pub fn upstare_cli() -> PathBuf {
    profile_dir().join("upstare")
}

/// A running program.
pub struct Live {
    child: Child,
    pub pid: u32,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Every stdout line seen so far.
    pub seen: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    /// The control-socket folder (UPSTARE_SOCKET_DIR) of this program.
    pub sock_dir: PathBuf,
}

impl Live {
    /// Starts `exe` with `args` in `work`, with its own socket folder and `env`.
    pub fn start(work: &WorkDir, exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Live {
        let sock_dir = work.join("sock");
        std::fs::create_dir_all(&sock_dir).expect("socket folder");
        std::fs::set_permissions(&sock_dir, std::fs::Permissions::from_mode(0o700))
            .expect("chmod socket folder");
        let mut c = Command::new(exe);
        c.args(args)
            .current_dir(work.path())
            .env("UPSTARE_SOCKET_DIR", &sock_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let out = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(l) = line else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Live {
            pid: child.id(),
            stdin: child.stdin.take(),
            child,
            lines: rx,
            seen: Vec::new(),
            stderr: Some(stderr),
            sock_dir,
        }
    }

    /// Waits for a stdout line containing `pat`; returns it. Panics after `timeout` with what
    /// was seen.
    pub fn wait_for(&mut self, pat: &str, timeout: Duration) -> String {
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(pat) {
                        return l;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no line containing `{pat}` within {timeout:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the program ended before printing `{pat}`; output:\n{}\nstderr:\n{}",
                    self.seen.join("\n"),
                    self.take_stderr()
                ),
            }
        }
    }

    /// Like `wait_for`, but a line already seen counts too (for lines whose order among
    /// threads is not fixed).
    pub fn wait_seen(&mut self, pat: &str, timeout: Duration) -> String {
        if let Some(l) = self.seen.iter().find(|l| l.contains(pat)) {
            return l.clone();
        }
        self.wait_for(pat, timeout)
    }

    /// Writes `text` to the program's stdin.
    pub fn send(&mut self, text: &str) {
        let s = self.stdin.as_mut().expect("stdin open");
        s.write_all(text.as_bytes()).expect("write to program");
        s.flush().expect("flush");
    }

    /// Closes the program's stdin.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Runs `upstare update PID MODULE extra...`.
    pub fn update(&self, module: &Path, extra: &[&str]) -> Output {
        Cmd::new(upstare_cli())
            .arg("update")
            .arg(self.pid.to_string())
            .arg(module)
            .args(extra)
            .timeout(Duration::from_secs(60))
            .run()
    }

    /// Runs `upstare status PID extra...`.
    pub fn status(&self, extra: &[&str]) -> Output {
        Cmd::new(upstare_cli())
            .arg("status")
            .arg(self.pid.to_string())
            .args(extra)
            .timeout(Duration::from_secs(30))
            .run()
    }

    /// Waits for the program to exit; returns (exit code, every stdout line, stderr).
    pub fn finish(mut self, timeout: Duration) -> (Option<i32>, Vec<String>, String) {
        self.stdin = None;
        let end = Instant::now() + timeout;
        let code = loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                break st.code();
            }
            if Instant::now() >= end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "the program did not end within {timeout:?}; output:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        let err = self.take_stderr();
        (code, std::mem::take(&mut self.seen), err)
    }

    fn take_stderr(&mut self) -> String {
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
