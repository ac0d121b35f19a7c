//! upstare-bench: the benchmark driver behind `bench/run.sh`. It measures, side by side in one
//! run, programs built with upstare-cc against the same programs built with plain `gcc -O2`, and
//! prints a table of medians and ratios:
//! (a) `bench/c/sort.c` (loop-heavy), (b) `bench/c/fib.c` (call-heavy), (c) the Lua interpreter
//! running `e2e/data/lua/bench_*.lua`, (d) compile time of the Lua sources.
//!
//! Runs alternate plain/instrumented (gcc, upstare, gcc, upstare, ...) so that drift of the
//! machine's load hits both sides alike, and the median of each side is reported. Each output is
//! checked to be equal on both sides. It is never run as a test: timings on a shared CI machine
//! are not a pass/fail criterion.
//!
//! Usage: `upstare-bench [--reps N] [--compile-reps N]` (defaults 5 and 3). Honours
//! `UPSTARE_E2E_CC_OVERRIDE` like the tests (then every ratio should be about 1).

use std::path::{Path, PathBuf};
use std::time::Duration;

use upstare_e2e::{build_lua, files_with_ext, stem, Cc, Cmd, Compile, Output, Toolchain, WorkDir};

struct Row {
    name: String,
    gcc: Duration,
    upstare: Duration,
    note: String,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    if v.is_empty() {
        Duration::ZERO
    } else {
        v[v.len() / 2]
    }
}

/// A row for a benchmark that could not be measured; the error goes to stderr.
fn failed_row(name: &str, error: &str) -> Row {
    eprintln!("upstare-bench: {name}: {error}");
    Row {
        name: name.to_string(),
        gcc: Duration::ZERO,
        upstare: Duration::ZERO,
        note: "FAILED (see stderr)".into(),
    }
}

fn describe_failure(side: &str, out: &Output) -> String {
    format!("the {side} run failed\n{}", out.report())
}

/// Runs `gcc_cmd` and `up_cmd` alternately `reps` times; returns both medians after checking that
/// their outputs agree.
fn alternate(name: &str, gcc_cmd: &Cmd, up_cmd: &Cmd, reps: usize) -> Row {
    let (mut g, mut u) = (Vec::new(), Vec::new());
    let mut outputs = (String::new(), String::new());
    for _ in 0..reps {
        let a = gcc_cmd.run();
        if !a.success() {
            return failed_row(name, &describe_failure("gcc", &a));
        }
        let b = up_cmd.run();
        if !b.success() {
            return failed_row(name, &describe_failure("upstare", &b));
        }
        g.push(a.elapsed);
        u.push(b.elapsed);
        outputs = (a.stdout_str(), b.stdout_str());
    }
    let note = if outputs.0 == outputs.1 {
        String::new()
    } else {
        "OUTPUTS DIFFER".to_string()
    };
    Row {
        name: name.to_string(),
        gcc: median(g),
        upstare: median(u),
        note,
    }
}

fn build(cc: Cc, src: &Path, dir: &WorkDir) -> Result<PathBuf, String> {
    let exe = dir.join(format!("{}-{}", stem(src), cc.label()));
    let inputs = [src.to_path_buf()];
    let c = Compile {
        cc,
        flags: &["-O2"],
        inputs: &inputs,
        libs: &[],
        output: &exe,
        cwd: dir.path(),
        timeout: Duration::from_secs(600),
    };
    c.run().map(|_| exe)
}

fn parse_args() -> (usize, usize) {
    let mut reps = 5;
    let mut compile_reps = 3;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let val = args.get(i + 1).and_then(|v| v.parse().ok());
        match (args[i].as_str(), val) {
            ("--reps", Some(n)) if n > 0 => reps = n,
            ("--compile-reps", Some(n)) if n > 0 => compile_reps = n,
            _ => {
                eprintln!("usage: upstare-bench [--reps N] [--compile-reps N]");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    (reps, compile_reps)
}

fn main() {
    let (reps, compile_reps) = parse_args();
    let tools = Toolchain::get();
    eprintln!(
        "upstare-bench: upstare-cc = {}{}; {reps} runs per side, {compile_reps} Lua builds per side",
        tools.upstare_cc.display(),
        if tools.overridden { " (override)" } else { "" }
    );
    let root = upstare_e2e::package_dir()
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let dir = WorkDir::new("bench");
    let run_timeout = Duration::from_secs(600);
    let mut rows = Vec::new();

    for (name, file) in [
        ("sort (loop-heavy)", "sort.c"),
        ("fib(40) (call-heavy)", "fib.c"),
        ("alloc (malloc/realloc/free-heavy)", "alloc.c"),
    ] {
        let src = root.join("bench").join("c").join(file);
        let (g, u) = match (build(Cc::Gcc, &src, &dir), build(Cc::Upstare, &src, &dir)) {
            (Ok(g), Ok(u)) => (g, u),
            (Err(e), _) | (_, Err(e)) => {
                rows.push(failed_row(name, &e));
                continue;
            }
        };
        let gc = Cmd::new(&g)
            .cwd(dir.path())
            .timeout(run_timeout)
            .env_remove("UPSTARE_SELFTEST_EVERY");
        let uc = Cmd::new(&u)
            .cwd(dir.path())
            .timeout(run_timeout)
            .env_remove("UPSTARE_SELFTEST_EVERY");
        rows.push(alternate(name, &gc, &uc, reps));
    }

    // (d) Lua compile time, alternating whole builds; the last builds are the ones run for (c).
    let (mut gt, mut ut) = (Vec::new(), Vec::new());
    let (mut lua_g, mut lua_u) = (PathBuf::new(), PathBuf::new());
    let mut lua_error = None;
    'builds: for _ in 0..compile_reps {
        for (cc, times, exe, sub) in [
            (Cc::Gcc, &mut gt, &mut lua_g, "bench-lua-gcc"),
            (Cc::Upstare, &mut ut, &mut lua_u, "bench-lua-upstare"),
        ] {
            let d = WorkDir::new(sub);
            match build_lua(cc, &d) {
                Ok((e, t)) => {
                    *exe = e;
                    times.push(t);
                }
                Err(e) => {
                    lua_error = Some(e);
                    break 'builds;
                }
            }
        }
    }
    let compile_name = format!("compile Lua ({} jobs)", upstare_e2e::jobs());
    let compile_row = match &lua_error {
        Some(e) => failed_row(&compile_name, e),
        None => Row {
            name: compile_name,
            gcc: median(gt),
            upstare: median(ut),
            note: String::new(),
        },
    };

    let lua_dir = upstare_e2e::data_dir().join("lua");
    for script in files_with_ext(&lua_dir, "lua")
        .into_iter()
        .filter(|p| stem(p).starts_with("bench_"))
    {
        if lua_error.is_some() {
            rows.push(failed_row(
                &format!("lua {}", stem(&script)),
                "Lua did not build",
            ));
            continue;
        }
        let arg = script
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        let gc = Cmd::new(&lua_g)
            .arg(&arg)
            .cwd(&lua_dir)
            .timeout(run_timeout)
            .env_remove("UPSTARE_SELFTEST_EVERY");
        let uc = Cmd::new(&lua_u)
            .arg(&arg)
            .cwd(&lua_dir)
            .timeout(run_timeout)
            .env_remove("UPSTARE_SELFTEST_EVERY");
        rows.push(alternate(&format!("lua {}", stem(&script)), &gc, &uc, reps));
    }
    rows.push(compile_row);

    println!(
        "{:<28} {:>12} {:>12} {:>8}  note",
        "benchmark", "gcc -O2", "upstare-cc", "ratio"
    );
    for r in &rows {
        let ratio = if r.gcc.is_zero() || r.upstare.is_zero() {
            f64::NAN
        } else {
            r.upstare.as_secs_f64() / r.gcc.as_secs_f64()
        };
        println!(
            "{:<28} {:>11.3}s {:>11.3}s {:>7.2}x  {}",
            r.name,
            r.gcc.as_secs_f64(),
            r.upstare.as_secs_f64(),
            ratio,
            r.note
        );
    }
    if rows.iter().any(|r| !r.note.is_empty()) {
        std::process::exit(1);
    }
}
