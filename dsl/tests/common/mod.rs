//! Shared by the data-driven tests: building C versions with the real `upstare-cc`, and
//! comparing output with expected files (`UPSTARE_BLESS=1` rewrites them; a missing one is
//! created).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use upstare_meta::Module;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("dsl/ has a parent")
        .to_path_buf()
}

/// The `upstare-cc` built by `cargo build --release --workspace` (or `$UPSTARE_CC`).
pub fn compiler() -> PathBuf {
    if let Some(cc) = std::env::var_os("UPSTARE_CC") {
        return PathBuf::from(cc);
    }
    let cc = root().join("target/release/upstare-cc");
    assert!(
        cc.exists(),
        "{} is missing: run `cargo build --release --workspace` first",
        cc.display()
    );
    cc
}

/// A scratch directory for one test, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target/dsl-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// Builds `source` as an update module with upstare-cc and reads its metadata. The file is
/// compiled as `prog.c` inside `dir/<tag>/`, so both versions of a case have the same source
/// path (the metadata's keys of static symbols contain it).
pub fn build(dir: &Path, tag: &str, source: &Path) -> Module {
    let sub = dir.join(tag);
    std::fs::create_dir_all(&sub).expect("create version directory");
    std::fs::copy(source, sub.join("prog.c")).expect("copy source");
    let out = Command::new(compiler())
        .current_dir(&sub)
        .args(["-O2", "-shared", "-fPIC", "-o", "prog.so", "prog.c"])
        .output()
        .expect("run upstare-cc");
    assert!(
        out.status.success(),
        "upstare-cc failed on {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Module::read(&sub.join("prog.so")).expect("read metadata")
}

/// Compares `actual` with the file `expected`; with `UPSTARE_BLESS=1` (or when the file is
/// missing) writes it instead. Returns a description of the mismatch.
pub fn compare(expected: &Path, actual: &str) -> Result<(), String> {
    let bless = std::env::var_os("UPSTARE_BLESS").is_some_and(|v| v == "1");
    if bless || !expected.exists() {
        std::fs::write(expected, actual).expect("write expected file");
        if !bless {
            eprintln!("created {}", expected.display());
        }
        return Ok(());
    }
    let want = std::fs::read_to_string(expected).expect("read expected file");
    if want == actual {
        return Ok(());
    }
    Err(format!(
        "{} differs (UPSTARE_BLESS=1 rewrites it)\n--- expected\n{want}\n--- actual\n{actual}",
        expected.display()
    ))
}

/// The rendered outcome of a check: diagnostics in plain text and a last line with the result.
pub fn outcome(source: &str, old: &Module, new: &Module) -> String {
    let (diags, ok) = match upstare_dsl::check(source, "spec.upd", old, new) {
        Ok((_, warnings)) => (warnings, true),
        Err(diags) => (diags, false),
    };
    let mut out = upstare_dsl::render(&diags, source, "spec.upd", false);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    out.push_str(&if ok {
        format!("result: ok, {warnings} warning(s)\n")
    } else {
        format!("result: failed, {errors} error(s), {warnings} warning(s)\n")
    });
    out
}
