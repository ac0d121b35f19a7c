//! `upstare check` and `upstare diff` as a user runs them: the real binary (built by
//! `cargo build --release --workspace`) on versions built by the real upstare-cc. Exit status 0
//! for a passing spec, 1 for errors, 2 for a file that cannot be used (named in the message).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn upstare() -> PathBuf {
    let bin = common::root().join("target/release/upstare");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release --workspace` first",
        bin.display()
    );
    bin
}

fn run(args: &[&Path]) -> Output {
    Command::new(upstare())
        .args(args)
        .output()
        .expect("run upstare")
}

/// The versions of the sort_switch example, built once for this test.
fn versions(tag: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ex = common::root().join("spec/examples/sort_switch");
    let dir = common::scratch(tag);
    common::build(&dir, "v1", &ex.join("v1.c"));
    common::build(&dir, "v2", &ex.join("v2.c"));
    (ex, dir.join("v1/prog.so"), dir.join("v2/prog.so"))
}

#[test]
fn check_exit_status_and_output() {
    let (ex, v1, v2) = versions("cli-check");
    let spec = ex.join("spec.upd");
    let ok = run(&[
        Path::new("check"),
        &spec,
        Path::new("--from"),
        &v1,
        Path::new("--to"),
        &v2,
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stderr).contains("ok (0 warning(s))"));

    // The draft has TODO frames with `wait`, so it passes; an empty spec does not.
    let dir = common::scratch("cli-check-bad");
    let bad = dir.join("bad.upd");
    std::fs::write(&bad, "upstare 1;\nglobal nope { new = 1; }\n").unwrap();
    let out = run(&[
        Path::new("check"),
        &bad,
        Path::new("--from"),
        &v1,
        Path::new("--to"),
        &v2,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("upstare::dsl::unknown_global"), "{err}");
    assert!(err.contains("upstare::dsl::unmapped_frame"), "{err}");

    let json = run(&[
        Path::new("check"),
        &bad,
        Path::new("--from"),
        &v1,
        Path::new("--to"),
        &v2,
        Path::new("--json"),
    ]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    let first = &v[0];
    assert_eq!(first["code"], "upstare::dsl::unknown_global");
    assert_eq!(first["labels"][0]["line"], 2);
    assert_eq!(first["labels"][0]["column"], 8);
}

#[test]
fn unusable_files_are_named_with_status_2() {
    let (ex, v1, v2) = versions("cli-files");
    let spec = ex.join("spec.upd");
    let missing = Path::new("/nonexistent/spec.upd");
    let out = run(&[
        Path::new("check"),
        missing,
        Path::new("--from"),
        &v1,
        Path::new("--to"),
        &v2,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/spec.upd"));

    // A file that is not an ELF module.
    let out = run(&[
        Path::new("check"),
        &spec,
        Path::new("--from"),
        &spec,
        Path::new("--to"),
        &v2,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("spec.upd") && err.contains("not an ELF"),
        "{err}"
    );

    let out = run(&[Path::new("diff"), &v1, Path::new("/nonexistent/v2.so")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/v2.so"));
}

#[test]
fn diff_prints_the_draft() {
    let (ex, v1, v2) = versions("cli-diff");
    let out = run(&[Path::new("diff"), &v1, &v2]);
    assert_eq!(out.status.code(), Some(0));
    let want = std::fs::read_to_string(ex.join("draft.upd")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}
