//! Focused construct tests: one small C program per construct that instrumentation must get right
//! (`data/constructs/NAME.c`), and one per construct upstare-cc must refuse with a diagnostic
//! (`data/unsupported/NAME.c`).
//!
//! Supported cases: each program is built with `gcc -O2` and with `upstare-cc -O2` (both with
//! `-pthread`, linked with `-lm`), run with the arguments `alpha beta`, plainly and with
//! `UPSTARE_SELFTEST_EVERY` at 1 and 5; every transcript (stdout plus a line for an abnormal exit)
//! must equal `NAME.out`, which is created from the gcc build when missing and rewritten under
//! `UPSTARE_BLESS=1`. The gcc side and the upstare side are separate tests, so the gcc side (the
//! expectations themselves) stays checkable while the compiler is incomplete.
//! The N=1 self-test must report at least one self-update, so every case needs an update point
//! that runs: a `while` loop or recursion (upstare-cc gives a counted `for` loop none of its own).
//!
//! Unsupported cases: `upstare-cc -O2 -c NAME.c` must exit non-zero, and every non-empty line of
//! `NAME.err` must occur in its stderr (we write the location, `NAME.c:LINE:`, and `error`, so the
//! wording of the message stays the compiler's choice). Each program is also valid GNU C that gcc
//! compiles, which the test checks so the cases cannot rot.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use upstare_e2e::{
    bless_or_read, check_self_updates, explain_diff, files_with_ext, par_map, read_text,
    run_program, stem, Cc, Compile, Failures, Toolchain, WorkDir,
};

const CFLAGS: &[&str] = &["-O2", "-pthread"];
const LIBS: &[&str] = &["-lm"];
const ARGS: &[&str] = &["alpha", "beta"];
const SELFTEST_EVERY: &[u64] = &[1, 5];
/// Each case should run in well under a second; this is the plain-run limit.
const RUN_TIMEOUT: Duration = Duration::from_secs(10);

fn cases() -> Vec<PathBuf> {
    files_with_ext(&upstare_e2e::data_dir().join("constructs"), "c")
}

/// The result of building and running one case with gcc (done once per test binary and shared
/// by both tests, since the upstare test needs the expectations the gcc pass creates).
struct GccRun {
    name: String,
    /// The gcc transcript, or why there is none.
    transcript: Result<String, String>,
    /// Plain-run time, from which the upstare timeouts are derived.
    elapsed: Duration,
}

fn gcc_pass() -> &'static [GccRun] {
    static PASS: OnceLock<Vec<GccRun>> = OnceLock::new();
    PASS.get_or_init(|| {
        let dir = WorkDir::new("constructs-gcc");
        par_map(&cases(), |src| {
            let name = stem(src);
            let exe = dir.join(&name);
            let inputs = [src.clone()];
            let built = Compile {
                cc: Cc::Gcc,
                flags: CFLAGS,
                inputs: &inputs,
                libs: LIBS,
                output: &exe,
                cwd: dir.path(),
                timeout: Duration::from_secs(120),
            }
            .run();
            let (transcript, elapsed) = match built {
                Err(e) => (Err(e), Duration::ZERO),
                Ok(_) => {
                    let out = run_program(&exe, ARGS, dir.path(), None, RUN_TIMEOUT);
                    // A second run checks that the case is deterministic before it becomes an
                    // expectation.
                    let again = run_program(&exe, ARGS, dir.path(), None, RUN_TIMEOUT);
                    let t = if out.timed_out {
                        Err(format!("the gcc build timed out\n{}", out.report()))
                    } else if let Some(d) = explain_diff(&out.transcript(), &again.transcript()) {
                        Err(format!(
                            "the case is not deterministic: two gcc runs differ: {d}"
                        ))
                    } else {
                        let t = out.transcript();
                        bless_or_read(&src.with_extension("out"), &t);
                        Ok(t)
                    };
                    (t, out.elapsed)
                }
            };
            GccRun {
                name,
                transcript,
                elapsed,
            }
        })
    })
}

#[test]
fn constructs_gcc_matches_expected() {
    let mut fails = Failures::default();
    let pass = gcc_pass();
    for (run, src) in pass.iter().zip(cases()) {
        match &run.transcript {
            Err(e) => fails.add(&run.name, e.clone()),
            Ok(t) => {
                if let Some(d) = explain_diff(&read_text(&src.with_extension("out")), t) {
                    fails.add(&run.name, format!("gcc build vs {}.out: {d}", run.name));
                }
            }
        }
    }
    let n = pass.len();
    let summary = format!(
        "{} of {n} cases match their expectation with gcc",
        n - fails.len()
    );
    fails.finish("constructs_gcc_matches_expected", &summary);
}

/// Builds one case with upstare-cc and runs it plainly and under self-tests; Err on the first
/// kind of failure with everything needed to reproduce it.
fn check_upstare(src: &Path, gcc: &GccRun, dir: &WorkDir) -> Result<(), String> {
    let expected = read_text(&src.with_extension("out"));
    let exe = dir.join(&gcc.name);
    let inputs = [src.to_path_buf()];
    Compile {
        cc: Cc::Upstare,
        flags: CFLAGS,
        inputs: &inputs,
        libs: LIBS,
        output: &exe,
        cwd: dir.path(),
        timeout: Duration::from_secs(300),
    }
    .run()?;
    let timeout = gcc.elapsed * 20 + RUN_TIMEOUT;
    let mut errors = Vec::new();
    let modes = std::iter::once(None).chain(SELFTEST_EVERY.iter().map(|&n| Some(n)));
    for mode in modes {
        let out = run_program(&exe, ARGS, dir.path(), mode, timeout);
        let what = match mode {
            None => "upstare build".to_string(),
            Some(n) => format!("upstare build with UPSTARE_SELFTEST_EVERY={n}"),
        };
        if let Some(d) = explain_diff(&expected, &out.transcript()) {
            errors.push(format!("{what} vs {}.out: {d}{}", gcc.name, out.report()));
            continue;
        }
        if mode == Some(1) {
            if let Err(e) = check_self_updates(&out, true) {
                errors.push(format!("{what}: {e}"));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

#[test]
fn constructs_upstare_matches_expected() {
    let pass = gcc_pass();
    let dir = WorkDir::new("constructs-upstare");
    let srcs = cases();
    let items: Vec<(&PathBuf, &GccRun)> = srcs.iter().zip(pass.iter()).collect();
    let results = par_map(&items, |(src, gcc)| match &gcc.transcript {
        Err(_) => Err(
            "no expectation: the gcc build failed (see constructs_gcc_matches_expected)"
                .to_string(),
        ),
        Ok(_) => check_upstare(src, gcc, &dir),
    });
    let mut fails = Failures::default();
    for ((_, gcc), r) in items.iter().zip(results) {
        if let Err(e) = r {
            fails.add(&gcc.name, e);
        }
    }
    let n = items.len();
    let summary = format!(
        "{} of {n} cases match with upstare-cc (plain, SELFTEST_EVERY={SELFTEST_EVERY:?})",
        n - fails.len()
    );
    fails.finish("constructs_upstare_matches_expected", &summary);
}

#[test]
fn unsupported_constructs_are_diagnosed() {
    let dir = WorkDir::new("unsupported");
    let srcs = files_with_ext(&upstare_e2e::data_dir().join("unsupported"), "c");
    assert!(!srcs.is_empty(), "no cases in data/unsupported");
    let overridden = Toolchain::get().overridden;
    let results = par_map(&srcs, |src| -> Result<(), String> {
        let name = stem(src);
        let inputs = [src.clone()];
        let compile = |cc: Cc| {
            Compile {
                cc,
                flags: &["-O2", "-c"],
                inputs: &inputs,
                libs: &[],
                output: &dir.join(format!("{name}.{}.o", cc.label())),
                cwd: dir.path(),
                timeout: Duration::from_secs(120),
            }
            .cmd()
            .run()
        };
        // The case must be valid GNU C, or the refusal would prove nothing.
        let gcc = compile(Cc::Gcc);
        if !gcc.success() {
            return Err(format!(
                "gcc cannot compile this case: fix the case\n{}",
                gcc.report()
            ));
        }
        if overridden {
            // In a harness self-check the "upstare" compiler is gcc, which accepts these.
            return Ok(());
        }
        let errfile = src.with_extension("err");
        let wanted = read_text(&errfile);
        let up = compile(Cc::Upstare);
        if up.timed_out {
            return Err(format!("upstare-cc timed out\n{}", up.report()));
        }
        if up.success() {
            return Err(format!(
                "upstare-cc accepted an unsupported construct (exit 0)\n{}",
                up.report()
            ));
        }
        let stderr = up.stderr_str();
        let missing: Vec<&str> = wanted
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !stderr.contains(*l))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "upstare-cc exited non-zero but its stderr lacks {:?} (from {})\n{}",
                missing,
                errfile.display(),
                up.report()
            ));
        }
        Ok(())
    });
    let mut fails = Failures::default();
    for (src, r) in srcs.iter().zip(results) {
        if let Err(e) = r {
            fails.add(stem(src), e);
        }
    }
    let n = srcs.len();
    let summary = if overridden {
        format!(
            "{} of {n} unsupported cases are valid GNU C (self-check: upstare-cc not run)",
            n - fails.len()
        )
    } else {
        format!(
            "{} of {n} unsupported cases diagnosed as expected",
            n - fails.len()
        )
    };
    fails.finish("unsupported_constructs_are_diagnosed", &summary);
}
