//! upstare-bench-heap: how long an update pauses a program that must migrate N heap objects,
//! and how that grows with N (`data/heap/bench/`: N separate 64-byte `struct obj` in a linked
//! list; version 2 adds a field, 72 bytes). For each N it starts the program, then updates it
//! `--updates` times, alternating between version 2 and version 1 built again as a module, so
//! that every update migrates all N objects; after each update the program walks and checks
//! every object. It prints the first update's pause (its new blocks come from fresh pages;
//! later updates reuse the blocks the one before freed), the median and 90th percentile of the
//! pause and of the transform phase, the fewest heap objects the runtime reported migrating in
//! one update (`heap_objects`), the objects per second of the median pause beside issue 6's
//! target (10 million per second), and the resident memory of the process: before the first
//! update, the peak during an update (VmHWM after resetting it through `/proc/PID/clear_refs`;
//! the largest over the updates), and after the last update.
//!
//! Usage: `upstare-bench-heap [--updates N] [--sizes 10000,100000,1000000]`.
//! Never a test: timings on a shared machine are no pass/fail criterion. A wrong walk after an
//! update is reported (last column), leaves that update out of the timings, and makes the exit
//! status 1.

use std::path::Path;
use std::time::Duration;

use upstare_e2e::bench::{arg_list, ms, quantile};
use upstare_e2e::live::{build, Live};
use upstare_e2e::WorkDir;

/// Issue 6's target for migrating objects, per second.
const TARGET_PER_S: f64 = 10_000_000.0;

/// A `/proc/PID/status` field in kB (`VmRSS`, `VmHWM`), 0 when unreadable.
fn vm_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::to_owned))
        })
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resets the process's peak resident size to its current one, so that VmHWM afterwards is
/// the peak of what follows (Linux: writing 5 to clear_refs).
fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

fn mb(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let updates = arg_list(&args, "--updates", &[5])[0] as usize;
    let sizes = arg_list(&args, "--sizes", &[10_000, 100_000, 1_000_000]);
    let work = WorkDir::new("bench-heap");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/heap/bench");
    // The versions must live in folders of their own with the same file name (one program);
    // v3 is version 1's source again, as a module, so that updates can go back and forth.
    let mut mods = Vec::new();
    for (v, from) in [("v1", "v1"), ("v2", "v2"), ("v3", "v1")] {
        let dir = work.join(v);
        std::fs::create_dir_all(&dir).expect("version folder");
        std::fs::copy(data.join(from).join("obj.c"), dir.join("obj.c")).expect("copy source");
        if v != "v1" {
            let m = work.join(format!("{v}.so"));
            build(&[dir.join("obj.c")], &m, true, &[]);
            mods.push((m, if from == "v1" { 64 } else { 72 }));
        }
    }
    let exe = work.join("obj");
    build(&[work.join("v1/obj.c")], &exe, false, &[]);
    println!(
        "heap migration: N separate 64-byte objects, each update migrating all of them \
         (64 <-> 72 bytes; {updates} updates each; milliseconds, median / p90)"
    );
    println!(
        "{:>8} | {:>9} | {:>17} | {:>17} | {:>8} | {:>12} | {:>8} | {:>9} {:>9} {:>9} | {:>7}",
        "objects",
        "first",
        "pause",
        "transform",
        "migrated",
        "objects/s",
        "/ 10M/s",
        "RSS MB",
        "peak MB",
        "after MB",
        "walks"
    );
    let mut all_walks_ok = true;
    for &n in &sizes {
        let long = Duration::from_secs(120);
        let mut p = Live::start(&work, &exe, &[&n.to_string()], &[]);
        p.wait_for("ready", long);
        std::thread::sleep(Duration::from_millis(200));
        let rss_before = vm_kb(p.pid, "VmRSS");
        let (mut pause, mut transform) = (vec![], vec![]);
        // The first update's pause: its new blocks come from fresh pages, later ones reuse the
        // blocks the update before freed.
        let mut first: Option<u64> = None;
        // The fewest heap objects the runtime reported migrating in one timed update.
        let mut migrated: Option<u64> = None;
        let mut peak = 0;
        let (mut walks_ok, mut walks) = (0, 0);
        let mut size = 64;
        let keys = n * n.saturating_sub(1) / 2;
        for k in 0..updates {
            let (module, new_size) = &mods[k % 2];
            // Where the reset is refused, VmHWM stays the peak of the whole run so far.
            reset_peak(p.pid);
            let o = p.update(module, &["--json", "--deadline", "10s"]);
            peak = peak.max(vm_kb(p.pid, "VmHWM"));
            let v: serde_json::Value =
                serde_json::from_str(o.stdout_str().trim()).unwrap_or_default();
            let r = &v["response"]["report"];
            if r.is_null() {
                let reasons = &v["response"]["failure"]["reasons"];
                eprintln!(
                    "N={n} update {k} failed: {}",
                    if reasons.is_null() {
                        o.report()
                    } else {
                        reasons.to_string()
                    }
                );
            } else {
                size = *new_size;
            }
            // Whether or not it updated, the program must walk all N objects of its version;
            // only updates whose walk is right count in the timings.
            p.send("check\n");
            let line = p.wait_for(" n=", long);
            let want = format!("obj{size} n={n} keys={keys} ok");
            walks += 1;
            if line == want {
                walks_ok += 1;
                if !r.is_null() {
                    let g = |k: &str| r[k].as_u64().unwrap_or(0);
                    pause.push(g("pause_us"));
                    if k == 0 {
                        first = Some(g("pause_us"));
                    }
                    transform.push(g("transform_us"));
                    migrated =
                        Some(migrated.map_or(g("heap_objects"), |m| m.min(g("heap_objects"))));
                }
            } else {
                eprintln!("N={n} after update {k}: `{line}`, expected `{want}`");
            }
        }
        let rss_after = vm_kb(p.pid, "VmRSS");
        p.send("quit\n");
        let (code, _, err) = p.finish(long);
        if code != Some(0) {
            eprintln!("N={n}: the program exited with {code:?}: {err}");
        }
        all_walks_ok &= walks_ok == walks && code == Some(0);
        let cell = |v: &mut Vec<u64>| {
            if v.is_empty() {
                return format!("{:>17}", "failed");
            }
            let m = quantile(v, 0.5);
            let p90 = quantile(v, 0.9);
            format!("{:>8} / {:>6}", ms(m), ms(p90))
        };
        let med = quantile(&mut pause, 0.5);
        let (rate, ratio) = if med > 0 {
            let r = n as f64 / (med as f64 / 1e6);
            (format!("{:.3e}", r), format!("{:.2}", r / TARGET_PER_S))
        } else {
            ("-".into(), "-".into())
        };
        println!(
            "{:>8} | {:>9} | {} | {} | {:>8} | {:>12} | {:>8} | {:>9} {:>9} {:>9} | {:>3}/{:<3}",
            n,
            first.map_or("-".to_string(), ms),
            cell(&mut pause),
            cell(&mut transform),
            migrated.map_or("-".to_string(), |m| m.to_string()),
            rate,
            ratio,
            mb(rss_before),
            mb(peak),
            mb(rss_after),
            walks_ok,
            walks
        );
    }
    if !all_walks_ok {
        std::process::exit(1);
    }
}
