//! upstare-bench-pause: how long an update pauses a program, by number of threads and stack
//! depth (`bench/c/pause.c`). For each configuration it starts the program, lets it settle,
//! then updates it `--updates` times, alternating between two update modules built from the
//! same source (no type changes: the pure cost of quiescence, transform and rebuild), and
//! prints the median and 90th percentile of the phases the runtime reports.
//!
//! Usage: `upstare-bench-pause [--updates N] [--threads 1,16,64] [--depths 1,20]`.
//! Never a test: timings on a shared machine are no pass/fail criterion.

use std::path::Path;
use std::time::Duration;

use upstare_e2e::bench::{arg_list, ms, quantile};
use upstare_e2e::live::{build, Live};
use upstare_e2e::WorkDir;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let updates = arg_list(&args, "--updates", &[15])[0] as usize;
    let threads = arg_list(&args, "--threads", &[1, 16, 64]);
    let depths = arg_list(&args, "--depths", &[1, 20]);
    let work = WorkDir::new("bench-pause");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/c/pause.c");
    // The versions must live in folders of their own with the same file name (one program).
    let mut mods = Vec::new();
    for v in ["v1", "v2", "v3"] {
        let dir = work.join(v);
        std::fs::create_dir_all(&dir).expect("version folder");
        std::fs::copy(&src, dir.join("pause.c")).expect("copy source");
        if v != "v1" {
            let m = work.join(format!("{v}.so"));
            build(&[dir.join("pause.c")], &m, true, &[]);
            mods.push(m);
        }
    }
    let exe = work.join("pause");
    build(&[work.join("v1/pause.c")], &exe, false, &[]);
    println!(
        "update pause by threads and depth ({updates} updates each; milliseconds, median / p90)"
    );
    println!(
        "{:>7} {:>6} {:>7} | {:>15} | {:>15} | {:>15} | {:>15} | {:>9}",
        "threads", "depth", "frames", "pause", "quiesce", "transform", "rebuild", "prepare"
    );
    for &t in &threads {
        for &d in &depths {
            let mut p = Live::start(&work, &exe, &[&t.to_string(), &d.to_string()], &[]);
            p.wait_for("ready", Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(200));
            let (mut pause, mut quiesce, mut transform, mut rebuild, mut prepare) =
                (vec![], vec![], vec![], vec![], vec![]);
            let mut frames = 0;
            for k in 0..updates {
                let o = p.update(&mods[k % 2], &["--json", "--deadline", "5s"]);
                let v: serde_json::Value =
                    serde_json::from_str(o.stdout_str().trim()).unwrap_or_default();
                let r = &v["response"]["report"];
                if r.is_null() {
                    eprintln!("update {k} failed:\n{}", o.report());
                    continue;
                }
                let g = |k: &str| r[k].as_u64().unwrap_or(0);
                pause.push(g("pause_us"));
                quiesce.push(g("quiesce_us"));
                transform.push(g("transform_us"));
                rebuild.push(g("rebuild_us"));
                prepare.push(g("prepare_us"));
                frames = g("frames");
            }
            let cell = |v: &mut Vec<u64>| {
                let m = quantile(v, 0.5);
                let p90 = quantile(v, 0.9);
                format!("{:>7} / {:>6}", ms(m), ms(p90))
            };
            println!(
                "{:>7} {:>6} {:>7} | {} | {} | {} | {} | {:>9}",
                t,
                d,
                frames,
                cell(&mut pause),
                cell(&mut quiesce),
                cell(&mut transform),
                cell(&mut rebuild),
                ms(quantile(&mut prepare, 0.5))
            );
        }
    }
}
