//! Blocking calls and immediate quiescence (issue 3): the programs in `data/quiesce/`.
//!
//! - `plain.c`: the blocking calls upstare-cc routes to the runtime's wrappers
//!   (runtime/c/wrap.c) must behave exactly as libc's when no update is pending: the upstare
//!   build prints what the gcc build prints (`plain.out`, created from the gcc build when
//!   missing), plainly and under self-tests (`UPSTARE_SELFTEST_EVERY`), where the wrappers
//!   unwind at their entry whenever a round accepts the thread and the call is made again after
//!   the rebuild.
//! - `quiesce.c`: 17 threads blocked in as many kinds of blocking call (one in a CPU loop, one
//!   holding a contended mutex while it sleeps, one joining another); the program requests an update of
//!   itself (a strict round: every registered thread must park), then wakes every thread the
//!   normal way. The output must equal the gcc build's (`quiesce.out`), and the runtime's
//!   report must show one completed round, none aborted, and every thread that was blocked
//!   rebuilt: only possible if each blocked call woke up, unwound, and was made again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use upstare_e2e::{
    bless_or_read, data_dir, explain_diff, Cc, Cmd, Compile, Output, Toolchain, WorkDir,
};

const CFLAGS: &[&str] = &["-O2", "-pthread"];
const RUN: Duration = Duration::from_secs(60);

fn src(name: &str) -> PathBuf {
    data_dir().join("quiesce").join(format!("{name}.c"))
}

fn build(cc: Cc, name: &str, work: &WorkDir) -> PathBuf {
    let exe = work.join(format!("{name}-{}", cc.label()));
    let inputs = [src(name)];
    Compile {
        cc,
        flags: CFLAGS,
        inputs: &inputs,
        libs: &[],
        output: &exe,
        cwd: work.path(),
        timeout: Duration::from_secs(120),
    }
    .run()
    .unwrap_or_else(|e| panic!("{e}"));
    exe
}

fn run(exe: &Path, work: &WorkDir, env: &[(&str, &str)]) -> Output {
    let mut cmd = Cmd::new(exe)
        .cwd(work.path())
        .timeout(RUN)
        .env_remove("UPSTARE_SELFTEST_EVERY")
        .env_remove("UPSTARE_VERBOSE")
        .env_remove("UPSTARE_SELFTEST_DEADLINE_MS");
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.run()
}

/// `key=NUMBER` from the runtime's report line.
fn field(report: &str, key: &str) -> Option<f64> {
    let at = report.find(&format!("{key}="))? + key.len() + 1;
    let rest = &report[at..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[test]
fn wrapped_calls_behave_as_libc() {
    let work = WorkDir::new("quiesce-plain");
    let gcc = run(&build(Cc::Gcc, "plain", &work), &work, &[]);
    assert!(gcc.success(), "gcc build failed to run\n{}", gcc.report());
    let expected = bless_or_read(&src("plain").with_extension("out"), &gcc.transcript());
    if let Some(d) = explain_diff(&expected, &gcc.transcript()) {
        panic!("gcc build vs plain.out: {d}\n{}", gcc.report());
    }
    let exe = build(Cc::Upstare, "plain", &work);
    let mut runs = vec![("plain", run(&exe, &work, &[]))];
    for every in ["1", "3"] {
        runs.push((
            every,
            run(
                &exe,
                &work,
                &[("UPSTARE_SELFTEST_EVERY", every), ("UPSTARE_VERBOSE", "1")],
            ),
        ));
    }
    let mut fails = Vec::new();
    for (how, out) in &runs {
        if let Some(d) = explain_diff(&expected, &out.transcript()) {
            fails.push(format!("upstare build ({how}): {d}\n{}", out.report()));
        } else if *how != "plain" && !Toolchain::get().overridden {
            match out.self_updates() {
                Some(n) if n > 0 => {}
                _ => fails.push(format!(
                    "self-test {how}: no self-update happened\n{}",
                    out.report()
                )),
            }
        }
    }
    assert!(fails.is_empty(), "{}", fails.join("\n"));
}

#[test]
fn blocked_threads_quiesce_at_once() {
    let work = WorkDir::new("quiesce-strict");
    let gcc = run(&build(Cc::Gcc, "quiesce", &work), &work, &[]);
    assert!(gcc.success(), "gcc build failed to run\n{}", gcc.report());
    let expected = bless_or_read(&src("quiesce").with_extension("out"), &gcc.transcript());
    let exe = build(Cc::Upstare, "quiesce", &work);
    // A generous deadline: a loaded machine must not abort the round; the pause is measured.
    let out = run(
        &exe,
        &work,
        &[
            ("UPSTARE_VERBOSE", "1"),
            ("UPSTARE_SELFTEST_DEADLINE_MS", "20000"),
        ],
    );
    if let Some(d) = explain_diff(&expected, &out.transcript()) {
        panic!("upstare build: {d}\n{}", out.report());
    }
    if Toolchain::get().overridden {
        return;
    }
    let err = out.stderr_str();
    let report = err
        .lines()
        .find(|l| l.contains("self-updates="))
        .unwrap_or_else(|| panic!("no runtime report on stderr\n{}", out.report()));
    let get =
        |k: &str| field(report, k).unwrap_or_else(|| panic!("no {k}= in the report: {report}"));
    assert_eq!(get("self-updates"), 1.0, "{report}");
    assert_eq!(get("aborted-rounds"), 0.0, "{report}");
    // Every thread blocked when the round began (14 calls, the CPU loop, the main thread's
    // sleep) unwound and rebuilt; the mutex holder may not unwind (it holds a lock) and the
    // waiter gets the lock only when the holder lets it go, so both usually end in the round.
    let rebuilt = get("thread-rebuilds");
    assert!((16.0..=18.0).contains(&rebuilt), "{report}");
    if let Some(q) = field(report, "quiesce-median-us") {
        // Bounded by the holder's sleep with the lock (150 ms from its start), not by any
        // blocked call.
        assert!(q < 5_000_000.0, "quiesce took {q} us: {report}");
        eprintln!("quiesce-median-us={q}");
    }
}
