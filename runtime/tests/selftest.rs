//! End-to-end self-update tests: hand-instrumented C programs in `tests/c/` (written against the
//! real `include/upstare_rt.h` ABI, in the form upstare-cc emits) are compiled with `gcc -O2`
//! and linked against the runtime's staticlib, then run plainly and with
//! `UPSTARE_SELFTEST_EVERY=1, 7, 1000`. Output must be identical, and the runtime's report
//! (`UPSTARE_VERBOSE=1`) must show that self-updates really happened.
//!
//! The staticlib is not rebuilt by `cargo test`: run `cargo build -p upstare-runtime` first.
//! This file deliberately does not test the compiler; the C programs stand in for its output.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>/libupstare_runtime.a`, found from this test executable
/// (`target/<profile>/deps/selftest-HASH`).
fn staticlib() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let lib = profile_dir.join("libupstare_runtime.a");
    assert!(
        lib.exists(),
        "{} is missing: run `cargo build -p upstare-runtime` before `cargo test -p upstare-runtime` \
         (an integration test does not build the staticlib artifact)",
        lib.display()
    );
    lib
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("upstare-selftest-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

/// Compiles `tests/c/NAME.c` into an executable linked with the runtime, as the driver would.
fn build(name: &str) -> PathBuf {
    let lib = staticlib();
    let dir = scratch(name);
    let out = dir.join(name);
    let src = manifest_dir().join("tests/c").join(format!("{name}.c"));
    let status = Command::new("gcc")
        .args(["-O2", "-Wall", "-Werror", "-I"])
        .arg(manifest_dir().join("include"))
        .arg(&src)
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm"])
        .args(["-Wl,--wrap=pthread_create", "-Wl,--wrap=pthread_join", "-o"])
        .arg(&out)
        .status()
        .expect("run gcc");
    assert!(status.success(), "gcc failed on {}", src.display());
    out
}

/// Removes a test's scratch directory (only after success, to keep evidence of failures).
fn clean(exe: &Path) {
    if let Some(d) = exe.parent() {
        let _ = std::fs::remove_dir_all(d);
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    report: Option<Report>,
}

#[derive(Debug, Default)]
struct Report {
    self_updates: u64,
    aborted: u64,
    points: u64,
    thread_rebuilds: u64,
    max_threads: u64,
}

fn parse_report(stderr: &str) -> Option<Report> {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("upstare: self-updates="))?;
    let mut r = Report::default();
    for kv in line.trim_start_matches("upstare: ").split_whitespace() {
        let (k, v) = kv.split_once('=')?;
        // Pause times are decimals; the counters this test reads are integers.
        let Ok(v) = v.parse::<u64>() else { continue };
        match k {
            "self-updates" => r.self_updates = v,
            "aborted-rounds" => r.aborted = v,
            "points" => r.points = v,
            "thread-rebuilds" => r.thread_rebuilds = v,
            "max-threads-per-round" => r.max_threads = v,
            _ => {}
        }
    }
    Some(r)
}

fn run(exe: &Path, every: Option<u64>) -> Run {
    let mut cmd = Command::new(exe);
    cmd.env_remove("UPSTARE_SELFTEST_EVERY")
        .env("UPSTARE_VERBOSE", "1");
    if let Some(n) = every {
        cmd.env("UPSTARE_SELFTEST_EVERY", n.to_string());
    }
    let out = cmd.output().expect("run test program");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // Programs may exit with any status (it is compared across runs), but not die of a signal.
    assert!(
        out.status.code().is_some(),
        "{} (every={every:?}) died: {:?}\nstderr:\n{stderr}",
        exe.display(),
        out.status
    );
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        report: parse_report(&stderr),
    }
}

/// Runs `name` plainly and under forced self-updates; returns the reports per N.
fn check_selftest(name: &str) -> Vec<(u64, Report)> {
    let exe = build(name);
    let plain = run(&exe, None);
    assert!(!plain.stdout.is_empty());
    assert!(plain.code.is_some());
    let plain_report = plain.report.expect("verbose report");
    assert_eq!(plain_report.self_updates, 0, "no update without a request");
    let mut reports = Vec::new();
    for every in [1u64, 7, 1000] {
        let r = run(&exe, Some(every));
        assert_eq!(
            r.stdout, plain.stdout,
            "{name}: output differs with UPSTARE_SELFTEST_EVERY={every}"
        );
        assert_eq!(
            r.code, plain.code,
            "{name}: exit status differs with every={every}"
        );
        let rep = r.report.expect("verbose report");
        assert!(rep.points > 0, "{name}: no update point reached");
        assert!(
            rep.self_updates + rep.aborted > 0 && rep.thread_rebuilds > 0,
            "{name}: no self-update happened with every={every}: {rep:?}"
        );
        reports.push((every, rep));
    }
    clean(&exe);
    reports
}

#[test]
fn single_threaded_program_survives_self_updates() {
    let reports = check_selftest("single");
    let (_, at1) = &reports[0];
    // Single thread, N=1: every point requests a round; the points inside the signal handler
    // (24 signals x 10 points) must be refused, as must a few points right after it (the walk
    // backoff); all others complete their round, and none times out.
    assert_eq!(at1.aborted, 0, "{at1:?}");
    let refused = at1.points - at1.self_updates;
    assert!(refused >= 240 && refused < at1.points / 20, "{at1:?}");
}

#[test]
fn multi_threaded_program_with_qsort_callbacks_survives_self_updates() {
    let reports = check_selftest("threads");
    // Rounds really gathered several threads (at least the one waiting for the qsort thread).
    let most = reports
        .iter()
        .map(|(_, r)| r.max_threads)
        .max()
        .unwrap_or(0);
    assert!(
        most >= 2,
        "no round parked more than one thread: {reports:?}"
    );
}

#[test]
fn program_requests_its_own_updates() {
    let exe = build("request");
    let r = run(&exe, None);
    assert_eq!(r.code, Some(0));
    assert_eq!(
        r.stdout,
        "request at 40: queued 1\n\
         request at 70: queued 1\n\
         sum=166650 x=4950 rebuilt_at=71 pending_at_end=0\n"
    );
    let rep = r.report.expect("verbose report");
    assert_eq!(
        (rep.self_updates, rep.aborted, rep.thread_rebuilds),
        (2, 0, 2),
        "{rep:?}"
    );
    clean(&exe);
}
