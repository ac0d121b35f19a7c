//! Lua 5.4 as a real program: the interpreter from the pinned `lua-src` crate (its
//! `lua-5.4.9/` sources, which lack `lua.c`, plus our `data/lua_main.c`) is built twice by
//! separate compilation (`-c` per file, then a link with `-lm -ldl`; see
//! `upstare_e2e::build_lua`): once with plain gcc and once with upstare-cc, both with
//! `-O2 -DLUA_USE_LINUX -DLUA_USE_JUMPTABLE=0`.
//!
//! Every `data/lua/*.lua` script except the benchmarks (`bench_*.lua`, used by `bench/run.sh`)
//! must print exactly `NAME.out` with the gcc build, with the upstare build, and with the upstare
//! build under `UPSTARE_SELFTEST_EVERY` at 1, 17 and 5000. A missing `NAME.out` is created from
//! the gcc build; `UPSTARE_BLESS=1` rewrites them. Scripts run with their folder as working
//! directory and must be deterministic (no addresses, times or unsorted `pairs` output: string
//! hashing in Lua 5.4 is seeded per run).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use upstare_e2e::{
    bless_or_read, build_lua, check_self_updates, explain_diff, files_with_ext, par_map, read_text,
    run_program, stem, Cc, Failures, WorkDir,
};

const SELFTEST_EVERY: &[u64] = &[1, 17, 5000];
const PLAIN_TIMEOUT: Duration = Duration::from_secs(30);

fn scripts() -> Vec<PathBuf> {
    files_with_ext(&upstare_e2e::data_dir().join("lua"), "lua")
        .into_iter()
        .filter(|p| !stem(p).starts_with("bench_"))
        .collect()
}

/// The gcc-built interpreter's transcript of each script and its run time (shared by both tests:
/// the upstare test needs the expectations this creates and the times its timeouts derive from).
struct GccPass {
    error: Option<String>,
    runs: Vec<(String, Result<String, String>, Duration)>,
}

fn gcc_pass() -> &'static GccPass {
    static PASS: OnceLock<GccPass> = OnceLock::new();
    PASS.get_or_init(|| {
        let dir = WorkDir::new("lua-gcc");
        let lua = match build_lua(Cc::Gcc, &dir) {
            Ok((exe, _)) => exe,
            Err(e) => {
                return GccPass {
                    error: Some(e),
                    runs: Vec::new(),
                }
            }
        };
        let runs = par_map(&scripts(), |script| {
            let name = stem(script);
            // The bare file name, so that error messages in expectations hold no absolute path.
            let arg = script.file_name().expect("file name").to_string_lossy();
            let cwd = script.parent().expect("script folder");
            let out = run_program(&lua, &[&arg], cwd, None, PLAIN_TIMEOUT);
            // A second run checks that the script is deterministic before it becomes an expectation.
            let again = run_program(&lua, &[&arg], cwd, None, PLAIN_TIMEOUT);
            let t = out.transcript();
            let r = if out.timed_out {
                Err(format!("the gcc build timed out\n{}", out.report()))
            } else if let Some(d) = explain_diff(&t, &again.transcript()) {
                Err(format!(
                    "the script is not deterministic: two gcc runs differ: {d}"
                ))
            } else {
                bless_or_read(&script.with_extension("out"), &t);
                Ok(t)
            };
            (name, r, out.elapsed)
        });
        GccPass { error: None, runs }
    })
}

#[test]
fn lua_gcc_matches_expected() {
    let pass = gcc_pass();
    if let Some(e) = &pass.error {
        panic!("{e}");
    }
    let mut fails = Failures::default();
    for ((name, r, _), script) in pass.runs.iter().zip(scripts()) {
        match r {
            Err(e) => fails.add(name, e.clone()),
            Ok(t) => {
                if let Some(d) = explain_diff(&read_text(&script.with_extension("out")), t) {
                    fails.add(name, format!("gcc build vs {name}.out: {d}"));
                }
            }
        }
    }
    let n = pass.runs.len();
    assert!(
        n >= 10,
        "expected at least 10 Lua scripts in data/lua, found {n}"
    );
    let summary = format!("{} of {n} scripts match with gcc", n - fails.len());
    fails.finish("lua_gcc_matches_expected", &summary);
}

#[test]
fn lua_upstare_matches_expected() {
    let pass = gcc_pass();
    if let Some(e) = &pass.error {
        panic!("the gcc build of Lua failed, so there is nothing to compare with:\n{e}");
    }
    let dir = WorkDir::new("lua-upstare");
    let lua = match build_lua(Cc::Upstare, &dir) {
        Ok((exe, _)) => exe,
        Err(e) => panic!("{e}"),
    };
    let items: Vec<(PathBuf, &(String, Result<String, String>, Duration))> =
        scripts().into_iter().zip(pass.runs.iter()).collect();
    let results = par_map(
        &items,
        |(script, (name, gcc, elapsed))| -> Result<(), String> {
            if gcc.is_err() {
                return Err(
                    "no expectation: the gcc run failed (see lua_gcc_matches_expected)".into(),
                );
            }
            let expected = read_text(&script.with_extension("out"));
            let arg = script.file_name().expect("file name").to_string_lossy();
            let cwd = script.parent().expect("script folder");
            let timeout = *elapsed * 20 + Duration::from_secs(10);
            let mut errors = Vec::new();
            for mode in std::iter::once(None).chain(SELFTEST_EVERY.iter().map(|&n| Some(n))) {
                let out = run_program(&lua, &[&arg], cwd, mode, timeout);
                let what = match mode {
                    None => "upstare build".to_string(),
                    Some(n) => format!("upstare build with UPSTARE_SELFTEST_EVERY={n}"),
                };
                if let Some(d) = explain_diff(&expected, &out.transcript()) {
                    errors.push(format!("{what} vs {name}.out: {d}{}", out.report()));
                } else if mode == Some(1) {
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
        },
    );
    let mut fails = Failures::default();
    for ((_, (name, _, _)), r) in items.iter().zip(results) {
        if let Err(e) = r {
            fails.add(name, e);
        }
    }
    let n = items.len();
    let summary = format!(
        "{} of {n} scripts match with upstare-cc (plain, SELFTEST_EVERY={SELFTEST_EVERY:?})",
        n - fails.len()
    );
    fails.finish("lua_upstare_matches_expected", &summary);
}
