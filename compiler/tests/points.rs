//! Point placement and record contents, as data: each `tests/data/points/NAME.c` is compiled
//! with `upstare-cc -c` and its metadata (`--dump-meta`) compared with `NAME.meta`. The dumps
//! show which functions got which points and which locals each record holds, so a change to the
//! analysis, to liveness or to boxing shows up as a readable diff. A missing expectation is
//! written; `UPSTARE_BLESS=1` rewrites them.

use std::path::{Path, PathBuf};
use std::process::Command;

const UPSTARE_CC: &str = env!("CARGO_BIN_EXE_upstare-cc");

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/points")
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn point_placement_and_records_match_expectations() {
    let dir = data_dir();
    let work = tempfile::tempdir().expect("temp dir");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("data dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    let mut failures = Vec::new();
    for src in &cases {
        let stem = src.file_stem().and_then(|s| s.to_str()).expect("name");
        let obj = work.path().join(format!("{stem}.o"));
        // Run from the data directory with a relative name, so the dump holds no absolute path.
        run(Command::new(UPSTARE_CC)
            .current_dir(&dir)
            .args(["-O2", "-c", &format!("{stem}.c"), "-o"])
            .arg(&obj));
        let dump = run(Command::new(UPSTARE_CC).arg("--dump-meta").arg(&obj));
        let expected = dir.join(format!("{stem}.meta"));
        if std::env::var_os("UPSTARE_BLESS").is_some() || !expected.exists() {
            std::fs::write(&expected, &dump).expect("write expectation");
        } else if std::fs::read_to_string(&expected).expect("read expectation") != dump {
            failures.push(format!(
                "{stem}: metadata differs from {}:\n{dump}",
                expected.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(UPSTARE_BLESS=1 rewrites the expectations)",
        failures.join("\n")
    );
}

#[test]
fn instrumented_code_adds_no_warnings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/warnings");
    let work = tempfile::tempdir().expect("temp dir");
    for flags in [
        &["-Wall", "-Wextra", "-Werror", "-O2", "-c"][..],
        &["-Wall", "-Wextra", "-Werror", "-O0", "-g", "-c"][..],
    ] {
        run(Command::new("cc")
            .args(flags)
            .arg(dir.join("clean.c"))
            .arg("-o")
            .arg(work.path().join("plain.o")));
        run(Command::new(UPSTARE_CC)
            .args(flags)
            .arg(dir.join("clean.c"))
            .arg("-o")
            .arg(work.path().join("up.o")));
    }
}
