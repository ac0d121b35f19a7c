//! upstare-bench-quiesce: what routing blocking calls through the runtime's wrappers costs, and
//! how fast threads blocked in them quiesce (`e2e/data/quiesce/bench.c`).
//!
//! 1. Overhead: the same program built with gcc and upstare-cc; ping-pong between two threads
//!    (every read blocks: the wrappers' slow path) and same-thread operations whose data is
//!    always there (the fast path), in nanoseconds per operation, median of `--runs`.
//! 2. Quiescence: T threads blocked in one kind of call (or a mix), updated `--updates` times
//!    with the real `upstare update` (alternating two modules of the same source); the median
//!    and 90th percentile of the quiesce phase (request to every thread parked) and of the whole
//!    pause, as the runtime reports them.
//!
//! Usage: `upstare-bench-quiesce [--runs N] [--updates N] [--threads 16,64,256]
//! [--kinds read,cond,sem,sleep,poll,epoll,mix] [--skip-overhead] [--skip-quiesce]`.
//! Never a test: timings on a shared machine are no pass/fail criterion.

use std::path::{Path, PathBuf};
use std::time::Duration;

use upstare_e2e::live::{build, Live};
use upstare_e2e::{Cc, Cmd, Compile, WorkDir};

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn list(args: &[String], name: &str, default: &str) -> Vec<String> {
    arg(args, name)
        .unwrap_or(default)
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return 0.0;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/quiesce/bench.c")
}

/// Runs `exe mode n` and returns its ns/op.
fn ns_per_op(exe: &Path, mode: &str, n: u64) -> Option<f64> {
    let o = Cmd::new(exe)
        .arg(mode)
        .arg(n.to_string())
        .timeout(Duration::from_secs(120))
        .run();
    if !o.success() {
        eprintln!("{mode}: {}", o.report());
        return None;
    }
    o.stdout_str()
        .trim()
        .strip_prefix("ns/op ")
        .and_then(|v| v.parse().ok())
}

fn overhead(work: &WorkDir, runs: usize) {
    let mut exes = Vec::new();
    for cc in [Cc::Gcc, Cc::Upstare] {
        let exe = work.join(format!("bench-{}", cc.label()));
        let inputs = [source()];
        Compile {
            cc,
            flags: &["-O2", "-pthread"],
            inputs: &inputs,
            libs: &[],
            output: &exe,
            cwd: work.path(),
            timeout: Duration::from_secs(120),
        }
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
        exes.push(exe);
    }
    println!("wrapper overhead (ns per operation, median of {runs} runs)");
    println!(
        "{:<8} {:<46} {:>10} {:>10} {:>7}",
        "mode", "what", "gcc", "upstare", "ratio"
    );
    let modes: &[(&str, u64, &str)] = &[
        ("pipe", 100_000, "pipe ping-pong: write + blocking read, x2"),
        (
            "sock",
            100_000,
            "socketpair ping-pong: send + blocking recv, x2",
        ),
        ("cond", 100_000, "condition ping-pong: signal + wait, x2"),
        (
            "piperw",
            1_000_000,
            "pipe: write 1 byte, read it (never blocks)",
        ),
        ("sockrw", 1_000_000, "socketpair: write 1 byte, read it"),
        ("mutex", 20_000_000, "mutex lock + unlock, uncontended"),
        ("poll", 2_000_000, "poll a ready pipe, timeout 1 s"),
    ];
    for (mode, n, what) in modes {
        let mut v: Vec<Vec<f64>> = vec![Vec::new(), Vec::new()];
        for _ in 0..runs {
            for (i, exe) in exes.iter().enumerate() {
                if let Some(x) = ns_per_op(exe, mode, *n) {
                    v[i].push(x);
                }
            }
        }
        let g = quantile(&mut v[0], 0.5);
        let u = quantile(&mut v[1], 0.5);
        println!(
            "{:<8} {:<46} {:>10.1} {:>10.1} {:>7.2}",
            mode,
            what,
            g,
            u,
            if g > 0.0 { u / g } else { 0.0 }
        );
    }
}

fn quiesce(work: &WorkDir, updates: usize, threads: &[String], kinds: &[String]) {
    let mut mods = Vec::new();
    for v in ["v1", "v2", "v3"] {
        let dir = work.join(v);
        std::fs::create_dir_all(&dir).expect("version folder");
        std::fs::copy(source(), dir.join("bench.c")).expect("copy source");
        if v != "v1" {
            let m = work.join(format!("{v}.so"));
            build(&[dir.join("bench.c")], &m, true, &[]);
            mods.push(m);
        }
    }
    let exe = work.join("bench-live");
    build(&[work.join("v1/bench.c")], &exe, false, &[]);
    println!();
    println!("quiescence of blocked threads ({updates} updates each; milliseconds, median / p90)");
    println!(
        "{:>7} {:<6} | {:>17} | {:>17} | {:>6}",
        "threads", "kind", "quiesce", "pause", "failed"
    );
    for t in threads {
        for kind in kinds {
            let mut p = Live::start(work, &exe, &["blocked", t, kind], &[]);
            p.wait_for("ready", Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(200));
            let (mut q, mut pause, mut failed) = (Vec::new(), Vec::new(), 0);
            for k in 0..updates {
                let o = p.update(&mods[k % 2], &["--json", "--deadline", "10s"]);
                let v: serde_json::Value =
                    serde_json::from_str(o.stdout_str().trim()).unwrap_or_default();
                let r = &v["response"]["report"];
                if r.is_null() || !v["response"]["failure"].is_null() {
                    failed += 1;
                    eprintln!("update {k} ({t} {kind}) failed:\n{}", o.report());
                    continue;
                }
                let g = |k: &str| r[k].as_u64().unwrap_or(0) as f64 / 1000.0;
                q.push(g("quiesce_us"));
                pause.push(g("pause_us"));
            }
            let cell =
                |v: &mut Vec<f64>| format!("{:>7.3} / {:>7.3}", quantile(v, 0.5), quantile(v, 0.9));
            println!(
                "{:>7} {:<6} | {} | {} | {:>6}",
                t,
                kind,
                cell(&mut q),
                cell(&mut pause),
                failed
            );
            p.send("done\n");
            let _ = p.finish(Duration::from_secs(30));
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = arg(&args, "--runs")
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let updates = arg(&args, "--updates")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let threads = list(&args, "--threads", "16,64,256");
    let kinds = list(&args, "--kinds", "read,cond,sem,sleep,poll,epoll,mix");
    let work = WorkDir::new("bench-quiesce");
    if !args.iter().any(|a| a == "--skip-overhead") {
        overhead(&work, runs);
    }
    if !args.iter().any(|a| a == "--skip-quiesce") {
        quiesce(&work, updates, &threads, &kinds);
    }
}
