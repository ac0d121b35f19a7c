//! The conformance cases of `spec/cases/`: each directory holds `v1.c` and `v2.c` (built here
//! with the real upstare-cc), `spec.upd`, and `expected.txt`, the plain-text diagnostics and
//! result line that `upstare_dsl::check` + `render` must produce byte for byte.
//! `UPSTARE_BLESS=1 cargo test -p upstare-dsl --test cases` rewrites the expected files.
//!
//! The examples of `spec/examples/` are full updates: `draft.upd` must be exactly what
//! `upstare_dsl::draft` prints for the two versions, and `spec.upd` (the draft with its TODOs
//! filled in by hand) must pass the checker without errors.

mod common;

use std::path::Path;

fn case_dirs(under: &str) -> Vec<std::path::PathBuf> {
    let dir = common::root().join(under);
    let mut dirs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One conformance case: its outcome against `expected.txt`.
fn check_case(case: &Path) -> Result<(), String> {
    let name = name_of(case);
    let dir = common::scratch(&format!("cases/{name}"));
    let old = common::build(&dir, "v1", &case.join("v1.c"));
    let new = common::build(&dir, "v2", &case.join("v2.c"));
    let source =
        std::fs::read_to_string(case.join("spec.upd")).map_err(|e| format!("{name}: {e}"))?;
    let out = common::outcome(&source, &old, &new);
    common::compare(&case.join("expected.txt"), &out)
}

/// One example: the draft, and the filled-in spec.
fn check_example(ex: &Path) -> Result<(), String> {
    let name = name_of(ex);
    let dir = common::scratch(&format!("examples/{name}"));
    let old = common::build(&dir, "v1", &ex.join("v1.c"));
    let new = common::build(&dir, "v2", &ex.join("v2.c"));
    let draft = upstare_dsl::draft(&old, &new);
    common::compare(&ex.join("draft.upd"), &draft)?;
    if !draft.contains("TODO") {
        let out = common::outcome(&draft, &old, &new);
        if !out.contains("result: ok") {
            return Err(format!(
                "{name}: the draft has no TODO but does not pass:\n{out}"
            ));
        }
    }
    let source =
        std::fs::read_to_string(ex.join("spec.upd")).map_err(|e| format!("{name}: {e}"))?;
    let out = common::outcome(&source, &old, &new);
    common::compare(&ex.join("expected.txt"), &out)?;
    if !out.contains("result: ok") {
        return Err(format!("{name}: the filled-in spec does not pass:\n{out}"));
    }
    Ok(())
}

#[test]
fn conformance_cases() {
    let cases = case_dirs("spec/cases");
    assert!(!cases.is_empty(), "no cases in spec/cases");
    let failures: Vec<String> = cases.iter().filter_map(|c| check_case(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn examples_update_with_the_filled_in_draft() {
    let examples = case_dirs("spec/examples");
    assert!(
        examples.len() >= 3,
        "spec/examples needs at least three programs"
    );
    let failures: Vec<String> = examples
        .iter()
        .filter_map(|c| check_example(c).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every diagnostic class has a conformance case whose expected output shows it.
#[test]
fn every_diagnostic_class_has_a_case() {
    let mut all = String::new();
    for case in case_dirs("spec/cases") {
        all.push_str(&std::fs::read_to_string(case.join("expected.txt")).unwrap_or_default());
    }
    let missing: Vec<&str> = upstare_dsl::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !all.lines().any(|l| l.trim() == *c))
        .collect();
    assert!(
        missing.is_empty(),
        "no case in spec/cases shows {missing:?}"
    );
}
