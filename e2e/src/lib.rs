//! The harness behind upstare's end-to-end tests: find the built tools, give each test a work
//! folder, run commands with a timeout, compile with plain gcc and with upstare-cc, and explain
//! failures so that a reader can reproduce them by pasting one command.
//!
//! The tests themselves live in `tests/` (csmith differential, Lua, focused C constructs and
//! unsupported constructs) and their inputs in `data/`. This library knows nothing of any one
//! test; it deliberately does not build the workspace either: `scripts/test.sh` runs
//! `cargo build --release --workspace` first, because `cargo test -p upstare-e2e` alone does not
//! build the `upstare-cc` binary or the runtime staticlib.
//!
//! Environment understood by every test:
//! - `UPSTARE_E2E_CC_OVERRIDE=gcc` (harness self-check): use this compiler wherever upstare-cc
//!   would be used. With plain gcc every upstare-side check must pass, which validates the seeds,
//!   timeouts and expectations independently of the compiler's state. Self-update counts are not
//!   checked in this mode (gcc-built programs print none).
//! - `UPSTARE_BLESS=1`: rewrite expected-output files from the plain gcc build.
//! - `UPSTARE_E2E_JOBS=N`: how many child processes a test binary runs at once (default 2).
//!
//! Self-update counts: a self-test run sets `UPSTARE_VERBOSE=1`; the runtime then prints counts to
//! stderr at exit. The harness reads the first integer on the first stderr line that mentions
//! "self-update" (any case), e.g. `upstare: 1234 self-updates`, and a test may require it to be
//! positive so that a self-test that never fired cannot pass.

pub mod live;

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The folder of the current cargo profile (`target/<profile>/`), where cargo puts `upstare-cc`
/// and `libupstare_runtime.a`. A test executable lives in `target/<profile>/deps/`, a binary such
/// as the benchmark driver directly in `target/<profile>/`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe.parent().expect("executable has a parent").to_path_buf();
    if dir.file_name() == Some(OsStr::new("deps")) {
        dir.pop();
    }
    dir
}

/// The root of this package (`e2e/`), fixed at compile time.
pub fn package_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `e2e/data/`, where test inputs and expectations live.
pub fn data_dir() -> PathBuf {
    package_dir().join("data")
}

/// True when `UPSTARE_BLESS=1`: expectation files are rewritten from the gcc build.
pub fn blessing() -> bool {
    std::env::var("UPSTARE_BLESS")
        .map(|v| v == "1")
        .unwrap_or(false)
}

/// Which compiler builds a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cc {
    /// Plain `gcc`: the reference.
    Gcc,
    /// `upstare-cc` (or the override compiler in a harness self-check).
    Upstare,
}

impl Cc {
    /// A short name for messages and folder names.
    pub fn label(self) -> &'static str {
        match self {
            Cc::Gcc => "gcc",
            Cc::Upstare => "upstare",
        }
    }
}

/// The compilers used by the tests, located once per test binary.
#[derive(Debug)]
pub struct Toolchain {
    /// Path (or name on PATH) of the compiler used for [`Cc::Upstare`].
    pub upstare_cc: PathBuf,
    /// Where the runtime staticlib was found (None in a self-check).
    pub runtime_lib: Option<PathBuf>,
    /// True when `UPSTARE_E2E_CC_OVERRIDE` replaced upstare-cc.
    pub overridden: bool,
}

impl Toolchain {
    /// Locates the tools; panics with instructions when they were not built.
    pub fn get() -> &'static Toolchain {
        static TOOLS: OnceLock<Toolchain> = OnceLock::new();
        TOOLS.get_or_init(|| match Toolchain::locate() {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        })
    }

    fn locate() -> Result<Toolchain, String> {
        if let Some(cc) = std::env::var_os("UPSTARE_E2E_CC_OVERRIDE").filter(|v| !v.is_empty()) {
            eprintln!(
                "upstare-e2e: harness self-check: UPSTARE_E2E_CC_OVERRIDE={} replaces upstare-cc",
                cc.to_string_lossy()
            );
            return Ok(Toolchain {
                upstare_cc: PathBuf::from(cc),
                runtime_lib: None,
                overridden: true,
            });
        }
        let dir = profile_dir();
        let cc = dir.join("upstare-cc");
        let lib = dir.join("libupstare_runtime.a");
        let mut missing = Vec::new();
        for p in [&cc, &lib] {
            if !p.is_file() {
                missing.push(p.display().to_string());
            }
        }
        if !missing.is_empty() {
            return Err(format!(
                "upstare-e2e: built tools not found: {}\n\
                 Build the workspace first with the same profile, e.g. `cargo build --release --workspace` \
                 (scripts/test.sh does this), or set UPSTARE_E2E_CC_OVERRIDE=gcc for a harness self-check.",
                missing.join(", ")
            ));
        }
        Ok(Toolchain {
            upstare_cc: cc,
            runtime_lib: Some(lib),
            overridden: false,
        })
    }

    /// The program that compiles with `cc`.
    pub fn program(&self, cc: Cc) -> &Path {
        match cc {
            Cc::Gcc => Path::new("gcc"),
            Cc::Upstare => &self.upstare_cc,
        }
    }
}

/// A per-test work folder under `target/<profile>/e2e-work/`, emptied when created and kept
/// afterwards so that the commands printed in a failure can be re-run by hand.
#[derive(Debug, Clone)]
pub struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    /// Creates (or empties) the work folder `name-PID`. The process id keeps two test runs that
    /// share a target folder (several engineers, or CI beside a developer) out of each other's
    /// way; folders of earlier runs whose process is gone are removed here.
    pub fn new(name: &str) -> WorkDir {
        let root = profile_dir().join("e2e-work");
        let pid = std::process::id();
        if let Ok(rd) = std::fs::read_dir(&root) {
            for e in rd.flatten() {
                let file_name = e.file_name();
                let Some(rest) = file_name
                    .to_str()
                    .and_then(|n| n.strip_prefix(name))
                    .and_then(|r| r.strip_prefix('-'))
                else {
                    continue;
                };
                if let Ok(other) = rest.parse::<u32>() {
                    if other != pid && !Path::new("/proc").join(other.to_string()).exists() {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        let path = root.join(format!("{name}-{pid}"));
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .unwrap_or_else(|e| panic!("cannot empty {}: {e}", path.display()));
        }
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        WorkDir { path }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the folder.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }
}

/// A folder under `target/` that survives between runs (generated programs keyed by content).
pub fn cache_dir(name: &str) -> PathBuf {
    let dir = profile_dir()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(profile_dir)
        .join("e2e-cache")
        .join(name);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// A command to run: program, arguments, environment changes, working folder and timeout.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    cwd: Option<PathBuf>,
    timeout: Duration,
}

impl Cmd {
    /// A command with a default timeout of 60 seconds.
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            timeout: Duration::from_secs(60),
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Cmd {
        self.args.push(a.as_ref().to_owned());
        self
    }

    /// Appends arguments.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, it: I) -> Cmd {
        self.args
            .extend(it.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Cmd {
        self.env
            .push((k.as_ref().to_owned(), Some(v.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable for the child (so the caller's environment cannot leak in).
    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Cmd {
        self.env.push((k.as_ref().to_owned(), None));
        self
    }

    /// Runs in `dir`.
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Kills the child after `t`.
    pub fn timeout(mut self, t: Duration) -> Cmd {
        self.timeout = t;
        self
    }

    /// The timeout in force.
    pub fn get_timeout(&self) -> Duration {
        self.timeout
    }

    /// The command as one line of shell, to paste into a terminal.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if let Some(d) = &self.cwd {
            let _ = write!(s, "cd {} && ", shell_quote(d.as_os_str()));
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => {
                    let _ = write!(s, "{}={} ", k.to_string_lossy(), shell_quote(v));
                }
                None => {
                    let _ = write!(s, "env -u {} ", k.to_string_lossy());
                }
            }
        }
        s.push_str(&shell_quote(&self.program));
        for a in &self.args {
            s.push(' ');
            s.push_str(&shell_quote(a));
        }
        s
    }

    /// Runs the command to completion or timeout. Never panics on the child's behaviour; panics
    /// only when the program cannot be started at all.
    pub fn run(&self) -> Output {
        let _slot = JobSlot::acquire();
        let mut c = Command::new(&self.program);
        c.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        if let Some(d) = &self.cwd {
            c.current_dir(d);
        }
        let start = Instant::now();
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", self.render()));
        // Drain both pipes on their own threads so that a chatty child cannot block on a full pipe
        // while we wait for it.
        let mut out_pipe = child.stdout.take().expect("piped stdout");
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let out_t = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = out_pipe.read_to_end(&mut v);
            v
        });
        let err_t = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = err_pipe.read_to_end(&mut v);
            v
        });
        let mut timed_out = false;
        let mut nap = Duration::from_millis(1);
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break Some(st),
                Ok(None) => {}
                Err(e) => panic!("waiting for `{}`: {e}", self.render()),
            }
            if start.elapsed() >= self.timeout {
                timed_out = true;
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(20));
        };
        let elapsed = start.elapsed();
        let stdout = out_t.join().unwrap_or_default();
        let stderr = err_t.join().unwrap_or_default();
        Output {
            cmd: self.render(),
            status,
            timed_out,
            elapsed,
            stdout,
            stderr,
            timeout: self.timeout,
        }
    }
}

/// What a finished (or killed) command did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command, rendered as shell.
    pub cmd: String,
    /// Exit status; None when killed for the timeout.
    pub status: Option<ExitStatus>,
    /// True when the timeout expired and the child was killed.
    pub timed_out: bool,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// Captured standard output.
    pub stdout: Vec<u8>,
    /// Captured standard error.
    pub stderr: Vec<u8>,
    /// The timeout that was in force.
    pub timeout: Duration,
}

impl Output {
    /// True when the command exited with status 0 in time.
    pub fn success(&self) -> bool {
        !self.timed_out && self.status.is_some_and(|s| s.success())
    }

    /// Standard output as text (lossy).
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (lossy).
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// How the command ended, in words: "exit 0", "killed by signal 11", "timed out after 10s".
    pub fn ending(&self) -> String {
        if self.timed_out {
            return format!(
                "timed out after {:.1}s (killed)",
                self.timeout.as_secs_f64()
            );
        }
        match self.status {
            Some(s) => describe_status(s),
            None => "unknown".to_string(),
        }
    }

    /// Standard output followed by a line recording an abnormal ending, so that expectations
    /// cover exit codes and signals too: `[exit status 3]`, `[signal 6]`, `[timed out]`.
    pub fn transcript(&self) -> String {
        let mut s = self.stdout_str();
        if self.timed_out {
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str("[timed out]\n");
            return s;
        }
        if let Some(st) = self.status {
            use std::os::unix::process::ExitStatusExt;
            let extra = match (st.code(), st.signal()) {
                (Some(0), _) => None,
                (Some(c), _) => Some(format!("[exit status {c}]")),
                (None, Some(sig)) => Some(format!("[signal {sig}]")),
                (None, None) => Some("[unknown ending]".to_string()),
            };
            if let Some(e) = extra {
                if !s.is_empty() && !s.ends_with('\n') {
                    s.push('\n');
                }
                s.push_str(&e);
                s.push('\n');
            }
        }
        s
    }

    /// A readable report: the command, how it ended, and the tails of both streams.
    pub fn report(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "  command: {}", self.cmd);
        let _ = writeln!(
            s,
            "  ended:   {} in {:.2}s",
            self.ending(),
            self.elapsed.as_secs_f64()
        );
        for (name, bytes) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            if bytes.is_empty() {
                let _ = writeln!(s, "  {name}: (empty)");
            } else {
                let text = String::from_utf8_lossy(bytes);
                // A compiler's first error is what matters and a tail may cut it off, so the first
                // few lines that mention "error" come first when the stream is long.
                if text.lines().count() > 25 {
                    let errs: Vec<&str> = text
                        .lines()
                        .filter(|l| l.contains("error"))
                        .take(5)
                        .collect();
                    if !errs.is_empty() {
                        let _ = writeln!(s, "  {name} (first error lines):");
                        for line in errs {
                            let _ = writeln!(s, "    | {line}");
                        }
                    }
                }
                let _ = writeln!(s, "  {name} (tail):");
                for line in tail(&String::from_utf8_lossy(bytes), 25, 3000).lines() {
                    let _ = writeln!(s, "    | {line}");
                }
            }
        }
        s
    }

    /// The self-update count printed by the runtime under `UPSTARE_VERBOSE=1`, if any (see the
    /// module header for the accepted format).
    pub fn self_updates(&self) -> Option<u64> {
        self_update_count(&self.stderr_str())
    }
}

/// Parses the self-update count from runtime stderr: the first integer on the first line that
/// mentions "self-update" (any case).
pub fn self_update_count(stderr: &str) -> Option<u64> {
    let line = stderr
        .lines()
        .find(|l| l.to_ascii_lowercase().contains("self-update"))?;
    let mut digits = String::new();
    for ch in line.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
        } else if !digits.is_empty() {
            break;
        }
    }
    digits.parse().ok()
}

fn describe_status(s: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => format!("{s}"),
    }
}

/// The last `max_lines` lines of `text`, at most about `max_bytes` bytes, marked when cut.
pub fn tail(text: &str, max_lines: usize, max_bytes: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(max_lines);
    let mut out = lines[start..].join("\n");
    if out.len() > max_bytes {
        let mut cut = out.len() - max_bytes;
        while !out.is_char_boundary(cut) {
            cut += 1;
        }
        out = out[cut..].to_string();
    }
    if start > 0 || out.len() < text.trim_end().len() {
        out = format!("[... cut ...]\n{out}");
    }
    out
}

/// Quotes one word for a POSIX shell when it needs it.
pub fn shell_quote(w: &OsStr) -> String {
    let s = w.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Limits how many child processes one test binary runs at once (`UPSTARE_E2E_JOBS`, default 2),
/// so that tests running on parallel threads do not oversubscribe the machine and distort the
/// timings that timeouts are derived from.
struct JobSlot;

static SLOTS: Mutex<usize> = Mutex::new(0);
static SLOT_FREED: Condvar = Condvar::new();

impl JobSlot {
    fn acquire() -> JobSlot {
        let max = jobs();
        let mut used = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
        while *used >= max {
            used = SLOT_FREED.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += 1;
        JobSlot
    }
}

impl Drop for JobSlot {
    fn drop(&mut self) {
        let mut used = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
        *used -= 1;
        SLOT_FREED.notify_one();
    }
}

/// How many jobs run at once (`UPSTARE_E2E_JOBS`, default 2).
pub fn jobs() -> usize {
    std::env::var("UPSTARE_E2E_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}

/// Applies `f` to every item on [`jobs`] threads; results keep the items' order.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs().min(items.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= items.len() {
                    break;
                }
                let r = f(&items[i]);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item was processed"))
        .collect()
}

/// One compilation: which compiler, sources, flags before the sources, flags after (libraries),
/// output path.
#[derive(Debug, Clone)]
pub struct Compile<'a> {
    /// The compiler.
    pub cc: Cc,
    /// Flags such as `-O2 -w -I...` (and `-c` for separate compilation).
    pub flags: &'a [&'a str],
    /// Source or object files.
    pub inputs: &'a [PathBuf],
    /// Libraries and other flags that go after the inputs (`-lm`).
    pub libs: &'a [&'a str],
    /// The output file (`-o`).
    pub output: &'a Path,
    /// Folder to run in.
    pub cwd: &'a Path,
    /// Timeout.
    pub timeout: Duration,
}

impl Compile<'_> {
    /// The command this compilation runs.
    pub fn cmd(&self) -> Cmd {
        let tools = Toolchain::get();
        Cmd::new(tools.program(self.cc))
            .args(self.flags)
            .args(self.inputs)
            .args(self.libs)
            .arg("-o")
            .arg(self.output)
            .cwd(self.cwd)
            .timeout(self.timeout)
    }

    /// Runs the compiler; Err holds a readable report when it fails or times out.
    pub fn run(&self) -> Result<Output, String> {
        let out = self.cmd().run();
        if out.success() && self.output.exists() {
            Ok(out)
        } else if out.success() {
            Err(format!(
                "{} exited 0 but wrote no {}\n{}",
                self.cc.label(),
                self.output.display(),
                out.report()
            ))
        } else {
            Err(format!(
                "{} compilation failed\n{}",
                self.cc.label(),
                out.report()
            ))
        }
    }
}

/// Runs `exe` with `args`; `selftest` sets `UPSTARE_SELFTEST_EVERY` (and `UPSTARE_VERBOSE=1`), and
/// otherwise both are removed from the environment so the caller's settings cannot leak in.
pub fn run_program(
    exe: &Path,
    args: &[&str],
    cwd: &Path,
    selftest: Option<u64>,
    timeout: Duration,
) -> Output {
    let mut cmd = Cmd::new(exe).args(args).cwd(cwd).timeout(timeout);
    cmd = match selftest {
        Some(n) => cmd
            .env("UPSTARE_SELFTEST_EVERY", n.to_string())
            .env("UPSTARE_VERBOSE", "1"),
        None => cmd
            .env_remove("UPSTARE_SELFTEST_EVERY")
            .env_remove("UPSTARE_VERBOSE"),
    };
    cmd.run()
}

/// Checks the self-update count of a self-test run with `UPSTARE_SELFTEST_EVERY=1`: the runtime
/// must report one, and it must be positive when `must_fire` (the program has update points).
/// Always Ok in a harness self-check.
pub fn check_self_updates(out: &Output, must_fire: bool) -> Result<Option<u64>, String> {
    if Toolchain::get().overridden {
        return Ok(None);
    }
    match out.self_updates() {
        None => Err(format!(
            "the runtime printed no self-update count under UPSTARE_VERBOSE=1 (expected a stderr line \
             mentioning \"self-update\" with a number)\n{}",
            out.report()
        )),
        Some(0) if must_fire => Err(format!(
            "no self-update happened with UPSTARE_SELFTEST_EVERY=1: the self-test did not test anything\n{}",
            out.report()
        )),
        Some(n) => Ok(Some(n)),
    }
}

/// Compares `actual` with the expectation file `path`. A missing file is created from `actual`
/// (which must come from the gcc build), and so is an existing one under `UPSTARE_BLESS=1`.
/// Returns the expectation.
pub fn bless_or_read(path: &Path, actual_from_gcc: &str) -> String {
    if blessing() || !path.exists() {
        std::fs::write(path, actual_from_gcc)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        eprintln!("upstare-e2e: wrote expectation {}", path.display());
        return actual_from_gcc.to_string();
    }
    read_text(path)
}

/// Reads a text file or panics naming it.
pub fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Explains how `actual` differs from `expected`: the first differing line with context, and the
/// line counts. Returns None when they are equal.
pub fn explain_diff(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let first = (0..e.len().max(a.len()))
        .find(|&i| e.get(i) != a.get(i))
        .unwrap_or(e.len().min(a.len()));
    let mut s = format!(
        "output differs from expectation at line {} (expected {} lines, got {}):\n",
        first + 1,
        e.len(),
        a.len()
    );
    let from = first.saturating_sub(2);
    for i in from..(first + 3).min(e.len().max(a.len())) {
        let el = e.get(i).copied().unwrap_or("<none>");
        let al = a.get(i).copied().unwrap_or("<none>");
        if el == al {
            let _ = writeln!(s, "    {:>5}   {}", i + 1, el);
        } else {
            let _ = writeln!(s, "    {:>5} - {}", i + 1, el);
            let _ = writeln!(s, "    {:>5} + {}", i + 1, al);
        }
    }
    if e.len() == a.len() && first >= e.len() {
        s.push_str("    (only line endings or a final newline differ)\n");
    }
    Some(s)
}

/// Files in `dir` whose name ends with `.ext`, sorted by name.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension() == Some(OsStr::new(ext)))
        .collect();
    v.sort();
    v
}

/// The file stem of `p` as a String.
pub fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Collects failures and turns them into one panic message at the end of a test, so that a run
/// reports every failing case, not just the first.
#[derive(Debug, Default)]
pub struct Failures {
    items: Vec<(String, String)>,
}

impl Failures {
    /// Records a failure of `case`.
    pub fn add(&mut self, case: impl Into<String>, message: impl Into<String>) {
        self.items.push((case.into(), message.into()));
    }

    /// Number of failures recorded.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing failed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Panics with every failure when there are any; `summary` is printed first either way.
    pub fn finish(self, test: &str, summary: &str) {
        eprintln!("{test}: {summary}");
        if self.items.is_empty() {
            return;
        }
        let mut s = format!("{test}: {} failing case(s); {summary}\n", self.items.len());
        for (case, msg) in &self.items {
            let _ = writeln!(s, "\n=== {case}\n{}", msg.trim_end());
        }
        let names: Vec<&str> = self.items.iter().map(|(c, _)| c.as_str()).collect();
        let _ = writeln!(s, "\n{test}: failing: {}", names.join(" "));
        panic!("{s}");
    }
}

/// Where the pinned Lua 5.4 sources are: `lua-5.4.9/` beside the manifest of the `lua-src`
/// package that e2e's dev-dependency pins, found with `cargo metadata` (or, failing that, in
/// `$CARGO_HOME/registry/src/*/`).
pub fn lua_source_dir() -> Result<PathBuf, String> {
    const PKG: &str = "lua-src";
    const VERSION: &str = "551.1.0";
    const SUBDIR: &str = "lua-5.4.9";
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let meta = Cmd::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .cwd(package_dir())
        .timeout(Duration::from_secs(120))
        .run();
    let mut notes = String::new();
    if meta.success() {
        match serde_json::from_slice::<serde_json::Value>(&meta.stdout) {
            Ok(v) => {
                let pkgs = v["packages"].as_array().cloned().unwrap_or_default();
                for p in pkgs {
                    if p["name"] == PKG && p["version"] == VERSION {
                        if let Some(m) = p["manifest_path"].as_str() {
                            let dir = Path::new(m).parent().unwrap_or(Path::new("/")).join(SUBDIR);
                            if dir.join("lua.h").is_file() {
                                return Ok(dir);
                            }
                            let _ = writeln!(notes, "{} has no lua.h", dir.display());
                        }
                    }
                }
                let _ = writeln!(notes, "cargo metadata lists no {PKG} {VERSION}");
            }
            Err(e) => {
                let _ = writeln!(notes, "cannot parse cargo metadata: {e}");
            }
        }
    } else {
        let _ = writeln!(notes, "cargo metadata failed\n{}", meta.report());
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(home) = home {
        if let Ok(rd) = std::fs::read_dir(home.join("registry").join("src")) {
            for e in rd.flatten() {
                let dir = e.path().join(format!("{PKG}-{VERSION}")).join(SUBDIR);
                if dir.join("lua.h").is_file() {
                    return Ok(dir);
                }
            }
        }
    }
    Err(format!(
        "cannot find the Lua sources of {PKG} {VERSION}:\n{notes}"
    ))
}

/// The Lua interpreter's C files: every `.c` of the Lua sources except the stand-alone programs
/// (`lua.c`, `luac.c`; lua-src ships neither), plus our own small `main` (`data/lua_main.c`).
pub fn lua_c_files(src: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = files_with_ext(src, "c")
        .into_iter()
        .filter(|p| {
            !matches!(
                p.file_name().and_then(OsStr::to_str),
                Some("lua.c" | "luac.c")
            )
        })
        .collect();
    v.push(data_dir().join("lua_main.c"));
    v
}

/// Compiler flags for the Lua sources.
pub const LUA_CFLAGS: &[&str] = &["-O2", "-DLUA_USE_LINUX", "-DLUA_USE_JUMPTABLE=0"];

/// Builds the Lua interpreter with `cc` in `dir` by separate compilation (each `.c` with `-c`, in
/// parallel, then one link with `-lm -ldl`). Returns the executable and the total wall time of the
/// compile steps, or a readable error.
pub fn build_lua(cc: Cc, dir: &WorkDir) -> Result<(PathBuf, Duration), String> {
    build_lua_as(cc, dir, false)
}

/// Builds the Lua interpreter with upstare-cc as an update module (`-fPIC`, `-shared`), the
/// next version of a `build_lua(Cc::Upstare, ..)` executable.
pub fn build_lua_module(dir: &WorkDir) -> Result<PathBuf, String> {
    build_lua_as(Cc::Upstare, dir, true).map(|(m, _)| m)
}

fn build_lua_as(cc: Cc, dir: &WorkDir, module: bool) -> Result<(PathBuf, Duration), String> {
    let src = lua_source_dir()?;
    let files = lua_c_files(&src);
    let inc = format!("-I{}", src.display());
    let mut flags: Vec<&str> = LUA_CFLAGS.to_vec();
    flags.push(&inc);
    flags.push("-c");
    if module {
        flags.push("-fPIC");
    }
    let start = Instant::now();
    let results = par_map(&files, |f| {
        let obj = dir.join(format!("{}.o", stem(f)));
        let inputs = [f.clone()];
        Compile {
            cc,
            flags: &flags,
            inputs: &inputs,
            libs: &[],
            output: &obj,
            cwd: dir.path(),
            timeout: Duration::from_secs(600),
        }
        .run()
        .map(|_| obj)
    });
    let mut objs = Vec::new();
    let mut errs = String::new();
    for r in results {
        match r {
            Ok(o) => objs.push(o),
            Err(e) => errs.push_str(&e),
        }
    }
    if !errs.is_empty() {
        return Err(format!("building Lua with {}:\n{errs}", cc.label()));
    }
    let exe = dir.join(if module { "lua.so" } else { "lua" });
    Compile {
        cc,
        flags: if module {
            &["-O2", "-shared"]
        } else {
            &["-O2"]
        },
        inputs: &objs,
        libs: &["-lm", "-ldl"],
        output: &exe,
        cwd: dir.path(),
        timeout: Duration::from_secs(600),
    }
    .run()
    .map_err(|e| format!("linking Lua with {}:\n{e}", cc.label()))?;
    Ok((exe, start.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_self_update_counts() {
        assert_eq!(
            self_update_count("upstare: 1234 self-updates, 3 threads\n"),
            Some(1234)
        );
        assert_eq!(self_update_count("x\nSelf-updates: 7\n"), Some(7));
        assert_eq!(self_update_count("nothing here\n"), None);
    }

    #[test]
    fn quotes_for_shell() {
        assert_eq!(shell_quote(OsStr::new("a/b.c")), "a/b.c");
        assert_eq!(shell_quote(OsStr::new("it's")), "'it'\\''s'");
        assert_eq!(shell_quote(OsStr::new("")), "''");
    }

    #[test]
    fn explains_diffs() {
        assert!(explain_diff("a\nb\n", "a\nb\n").is_none());
        let d = explain_diff("a\nb\nc\n", "a\nx\nc\n").unwrap();
        assert!(
            d.contains("line 2") && d.contains("- b") && d.contains("+ x"),
            "{d}"
        );
    }

    #[test]
    fn runs_with_timeout_and_captures() {
        let o = Cmd::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 3"])
            .run();
        assert_eq!(o.stdout_str(), "out\n");
        assert_eq!(o.stderr_str(), "err\n");
        assert_eq!(o.transcript(), "out\n[exit status 3]\n");
        let t = Cmd::new("sleep")
            .arg("5")
            .timeout(Duration::from_millis(200))
            .run();
        assert!(t.timed_out && t.elapsed < Duration::from_secs(3), "{t:?}");
    }
}

/// Small helpers the benchmark programs share (`src/bin/bench_*.rs`).
pub mod bench {
    /// The comma-separated numbers after `name` on the command line, or `default`.
    pub fn arg_list(args: &[String], name: &str, default: &[u64]) -> Vec<u64> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
            .unwrap_or_else(|| default.to_vec())
    }

    /// The `q` quantile of `v` (sorted in place); 0 for no values.
    pub fn quantile(v: &mut [u64], q: f64) -> u64 {
        v.sort_unstable();
        if v.is_empty() {
            return 0;
        }
        v[((v.len() - 1) as f64 * q).round() as usize]
    }

    /// Microseconds as milliseconds with three decimals.
    pub fn ms(us: u64) -> String {
        format!("{:.3}", us as f64 / 1000.0)
    }
}
