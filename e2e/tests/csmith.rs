//! csmith differential test: random C programs must print the same checksum when built with
//! plain gcc, with upstare-cc, and with upstare-cc under forced self-updates at every N-th update
//! point (N in [`SELFTEST_EVERY`]), which unwinds and rebuilds every stack at arbitrary points.
//!
//! Seeds are fixed in `data/csmith-seeds.txt` and the generator options in [`CSMITH_OPTS`], so the
//! programs are reproducible (csmith 2.3.0 prints the same program for a seed and options; only
//! its header comment names the output file, which we avoid by reading stdout). The seeds were
//! chosen among 1..=270 as those whose programs build with gcc and run in under 50 ms (about one
//! in eight csmith programs runs for seconds or forever; those seeds are left out of the file).
//!
//! Skips: a seed is skipped (and reported) only when its plain gcc build fails to compile, times
//! out, crashes or prints no checksum, which can happen if the installed csmith differs from 2.3.0.
//! Everything on the upstare side is a failure: a compile error, a crash, a different checksum, a
//! timeout (limit: 20 x the plain run + 10 s), or a missing self-update count under
//! `UPSTARE_VERBOSE=1`.
//!
//! By default a deterministic sample runs (every 4th seed of the file, 50 of 200+); with
//! `UPSTARE_CSMITH_ALL=1` all seeds run. Generated programs are cached under
//! `target/e2e-cache/` keyed by csmith version, options and seed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use upstare_e2e::{
    cache_dir, check_self_updates, par_map, read_text, run_program, Cc, Cmd, Compile, Failures,
    Output, WorkDir,
};

/// Options that keep programs small and fast: few functions, shallow blocks, and no packed
/// structs (their unaligned fields are not what this test is about).
const CSMITH_OPTS: &[&str] = &[
    "--max-funcs",
    "8",
    "--max-block-depth",
    "4",
    "--no-packed-struct",
];
const CFLAGS: &[&str] = &["-O2", "-w", "-I/usr/include/csmith"];
/// Self-test periods, run cheapest first; after a timeout the remaining (slower) ones are not run.
const SELFTEST_EVERY: &[u64] = &[10000, 100, 3, 1];
const PLAIN_TIMEOUT: Duration = Duration::from_secs(10);
const SAMPLE_STRIDE: usize = 4;

fn seeds() -> Vec<u64> {
    let path = upstare_e2e::data_dir().join("csmith-seeds.txt");
    read_text(&path)
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.parse()
                .unwrap_or_else(|e| panic!("{}: bad seed {l:?}: {e}", path.display()))
        })
        .collect()
}

/// csmith's version text (first two lines), which keys the cache.
fn csmith_version() -> String {
    let out = Cmd::new("csmith")
        .arg("--version")
        .timeout(Duration::from_secs(30))
        .run();
    assert!(
        out.success(),
        "csmith is not installed or does not run (apt-get install csmith libcsmith-dev; .ci/run does)\n{}",
        out.report()
    );
    out.stdout_str()
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The cache folder for this csmith version and these options: `csmith-<FNV-1a hash>`, with the
/// hashed text written beside the programs in `key.txt`.
fn cache_for(version: &str) -> PathBuf {
    let raw = format!("{version}\n{}\n", CSMITH_OPTS.join(" "));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in raw.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let dir = cache_dir(&format!("csmith-{h:016x}"));
    let _ = std::fs::write(dir.join("key.txt"), raw);
    dir
}

fn gen_cmd(seed: u64) -> Cmd {
    Cmd::new("csmith")
        .arg("--seed")
        .arg(seed.to_string())
        .args(CSMITH_OPTS)
        .timeout(Duration::from_secs(60))
}

/// The program for `seed`, from the cache or freshly generated (written atomically, since two
/// test processes may share the cache).
fn program(seed: u64, cache: &Path) -> Result<PathBuf, String> {
    let path = cache.join(format!("seed-{seed}.c"));
    if path.is_file() {
        return Ok(path);
    }
    let out = gen_cmd(seed).run();
    if !out.success() || out.stdout.is_empty() {
        return Err(format!("csmith failed\n{}", out.report()));
    }
    let tmp = cache.join(format!("seed-{seed}.c.{}.tmp", std::process::id()));
    std::fs::write(&tmp, &out.stdout).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("renaming {}: {e}", tmp.display()))?;
    Ok(path)
}

fn checksum_line(out: &Output) -> Option<String> {
    out.stdout_str()
        .lines()
        .find(|l| l.starts_with("checksum = "))
        .map(str::to_string)
}

enum Verdict {
    Pass { self_updates_at_1: Option<u64> },
    Skip(String),
    Fail(String),
}

fn check_seed(seed: u64, cache: &Path, work: &WorkDir) -> Verdict {
    let src = match program(seed, cache) {
        Ok(p) => p,
        Err(e) => return Verdict::Skip(format!("generation failed: {e}")),
    };
    let build = |cc: Cc| {
        let exe = work.join(format!("seed-{seed}-{}", cc.label()));
        let inputs = [src.clone()];
        let c = Compile {
            cc,
            flags: CFLAGS,
            inputs: &inputs,
            libs: &[],
            output: &exe,
            cwd: work.path(),
            timeout: Duration::from_secs(if cc == Cc::Gcc { 120 } else { 600 }),
        };
        (c.cmd().render(), c.run().map(|_| exe))
    };
    let (gcc_cmd, gcc_exe) = build(Cc::Gcc);
    let gcc_exe = match gcc_exe {
        Ok(e) => e,
        Err(e) => return Verdict::Skip(format!("plain gcc build failed\n{e}")),
    };
    let plain = run_program(&gcc_exe, &[], work.path(), None, PLAIN_TIMEOUT);
    let expected = match (plain.success(), checksum_line(&plain)) {
        (true, Some(c)) => c,
        _ => {
            return Verdict::Skip(format!(
                "plain gcc run did not print a checksum\n{}",
                plain.report()
            ))
        }
    };
    let repro_head = format!(
        "  reproduce:\n    {} > {}\n    {gcc_cmd}\n",
        gen_cmd(seed).render(),
        src.display()
    );
    let (up_cmd, up_exe) = build(Cc::Upstare);
    let up_exe = match up_exe {
        Ok(e) => e,
        Err(e) => {
            return Verdict::Fail(format!(
                "{repro_head}    {up_cmd}\nupstare-cc failed on a program gcc compiles:\n{e}"
            ))
        }
    };
    let timeout = plain.elapsed * 20 + Duration::from_secs(10);
    let mut problems = Vec::new();
    let mut fired = None;
    let modes = std::iter::once(None).chain(SELFTEST_EVERY.iter().map(|&n| Some(n)));
    for mode in modes {
        let out = run_program(&up_exe, &[], work.path(), mode, timeout);
        let what = match mode {
            None => "upstare build".to_string(),
            Some(n) => format!("upstare build with UPSTARE_SELFTEST_EVERY={n}"),
        };
        let got = checksum_line(&out);
        if !out.success() || got.as_deref() != Some(expected.as_str()) {
            problems.push(format!(
                "{what}: expected `{expected}`, got {} ({})\n{}",
                got.map(|g| format!("`{g}`"))
                    .unwrap_or_else(|| "no checksum".into()),
                out.ending(),
                out.report()
            ));
            if mode.is_none() {
                // The self-tests would only repeat this failure.
                break;
            }
            if out.timed_out {
                problems.push(format!(
                    "(smaller UPSTARE_SELFTEST_EVERY values not run after the timeout at {what})"
                ));
                break;
            }
            continue;
        }
        if mode == Some(1) {
            match check_self_updates(&out, false) {
                Ok(n) => fired = n,
                Err(e) => problems.push(format!("{what}: {e}")),
            }
        }
    }
    if problems.is_empty() {
        Verdict::Pass {
            self_updates_at_1: fired,
        }
    } else {
        Verdict::Fail(format!("{repro_head}    {up_cmd}\n{}", problems.join("\n")))
    }
}

/// Regenerates the program of `seed` and compares it with the cached one: the cache (and the seed
/// list) are only meaningful if this csmith prints the same program for a seed every time.
fn check_generator_is_deterministic(seed: u64, cache: &Path) {
    let cached = program(seed, cache).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let fresh = gen_cmd(seed).run();
    assert!(fresh.success(), "csmith failed\n{}", fresh.report());
    let old = std::fs::read(&cached).unwrap_or_default();
    assert!(
        old == fresh.stdout,
        "csmith printed a different program for seed {seed} than the cached {}: the generator is not \
         deterministic or the cache is stale (delete {})",
        cached.display(),
        cache.display()
    );
}

#[test]
fn csmith_differential() {
    let started = Instant::now();
    let version = csmith_version();
    if !version.contains("2.3.0") {
        eprintln!("csmith_differential: warning: seeds were chosen with csmith 2.3.0, this is `{version}`");
    }
    let cache = cache_for(&version);
    let all = seeds();
    assert!(
        all.len() >= 200,
        "data/csmith-seeds.txt must list at least 200 seeds, it has {}",
        all.len()
    );
    let run_all = std::env::var("UPSTARE_CSMITH_ALL")
        .map(|v| v == "1")
        .unwrap_or(false);
    let chosen: Vec<u64> = if run_all {
        all.clone()
    } else {
        all.iter().step_by(SAMPLE_STRIDE).copied().collect()
    };
    let work = WorkDir::new("csmith");
    check_generator_is_deterministic(chosen[0], &cache);
    let verdicts = par_map(&chosen, |&seed| (seed, check_seed(seed, &cache, &work)));
    let mut fails = Failures::default();
    let (mut passed, mut skipped, mut quiet) = (0, Vec::new(), 0);
    for (seed, v) in verdicts {
        match v {
            Verdict::Pass { self_updates_at_1 } => {
                passed += 1;
                if self_updates_at_1 == Some(0) {
                    quiet += 1;
                }
            }
            Verdict::Skip(why) => {
                eprintln!(
                    "csmith_differential: seed {seed} skipped: {}",
                    why.lines().next().unwrap_or("")
                );
                skipped.push(seed);
            }
            Verdict::Fail(msg) => fails.add(format!("seed {seed}"), msg),
        }
    }
    let summary = format!(
        "{} seeds ({}), {passed} agree, {} differ, {} skipped {:?}, {quiet} passing seeds had no self-update at N=1; \
         {:.0}s; csmith `{version}`",
        chosen.len(),
        if run_all { "all" } else { "every 4th; UPSTARE_CSMITH_ALL=1 runs all" },
        fails.len(),
        skipped.len(),
        skipped,
        started.elapsed().as_secs_f64()
    );
    fails.finish("csmith_differential", &summary);
}
