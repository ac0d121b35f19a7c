//! `upstare-demo`: the live self-update demo behind `scripts/demo.sh`.
//!
//! Builds the Lua interpreter twice (plain gcc, upstare-cc), runs `examples/lua-selfupdate/
//! demo.lua` on both, the upstare build with a self-update (every thread unwound into frame
//! records and rebuilt in the same code) every N update points, shows that the outputs agree and
//! prints how many updates happened and how long each paused the program. It does not switch to
//! another version: that is the update transaction's job (next milestone).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use upstare_e2e::{build_lua, package_dir, Cc, Cmd, WorkDir};

fn step(what: &str) -> Instant {
    print!("  {what} ... ");
    let _ = std::io::stdout().flush();
    Instant::now()
}

fn done(t: Instant) {
    println!("done ({:.1} s)", t.elapsed().as_secs_f64());
}

fn main() -> ExitCode {
    let every: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let script = package_dir().join("../examples/lua-selfupdate/demo.lua");
    println!(
        "upstare demo: Lua 5.4 built with upstare-cc, self-updated every {every} update points\n"
    );
    let dir = WorkDir::new("demo");
    let t = step("building Lua with gcc -O2");
    let plain = match build_lua(Cc::Gcc, &WorkDir::new("demo-gcc")) {
        Ok((exe, _)) => exe,
        Err(e) => return fail(&e),
    };
    done(t);
    let t = step("building Lua with upstare-cc -O2 (instrumenting every function)");
    let inst = match build_lua(Cc::Upstare, &dir) {
        Ok((exe, _)) => exe,
        Err(e) => return fail(&e),
    };
    done(t);
    let run = |exe: &Path, every: Option<u64>| {
        let mut c = Cmd::new(exe).arg(&script).timeout(Duration::from_secs(600));
        if let Some(n) = every {
            c = c
                .env("UPSTARE_SELFTEST_EVERY", n.to_string())
                .env("UPSTARE_VERBOSE", "1");
        }
        c.run()
    };
    let t = step("running demo.lua on the plain build");
    let a = run(&plain, None);
    done(t);
    let t = step("running demo.lua on the upstare build, no update requested");
    let quiet = run(&inst, None);
    done(t);
    let t = step("running demo.lua on the upstare build with live self-updates");
    let b = run(&inst, Some(every));
    done(t);
    println!("\nprogram output (upstare build, while its stacks were being rebuilt):");
    for line in b.stdout_str().lines() {
        println!("  | {line}");
    }
    if !a.success() || !b.success() || !quiet.success() {
        return fail(&format!(
            "a run failed:\n{}\n{}\n{}",
            a.report(),
            quiet.report(),
            b.report()
        ));
    }
    if a.stdout != b.stdout || a.stdout != quiet.stdout {
        return fail(&format!(
            "outputs differ:\nplain:\n{}\nupstare:\n{}",
            a.stdout_str(),
            b.stdout_str()
        ));
    }
    println!("\nidentical to the plain gcc build: yes");
    let stats = b.stderr_str();
    let line = stats
        .lines()
        .find(|l| l.starts_with("upstare:"))
        .unwrap_or("(no runtime report)");
    println!("runtime report:");
    for field in line.trim_start_matches("upstare:").split_whitespace() {
        println!("  {}", field.replace('=', ": "));
    }
    println!(
        "\nwall time: plain {:.2} s, upstare {:.2} s, upstare with self-updates {:.2} s",
        a.elapsed.as_secs_f64(),
        quiet.elapsed.as_secs_f64(),
        b.elapsed.as_secs_f64()
    );
    println!(
        "(the self-test sends every update point through the runtime's slow path to count it;"
    );
    println!(" steady-state overhead is measured side by side by bench/run.sh, see BENCHMARKS.md)");
    ExitCode::SUCCESS
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("\nupstare demo failed: {msg}");
    ExitCode::FAILURE
}
