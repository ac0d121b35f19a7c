//! Heap migration in live processes: programs in `data/heap/<case>/` (`v1/prog.c` built with
//! upstare-cc as an executable, `v2/prog.c` as an update module, specs beside them) build their
//! heap structures at start, then obey `check` and `quit` on stdin while blocked in `fgets` (an
//! update point). Each test checks version 1's summary line, updates the process with the real
//! `upstare` CLI, and checks version 2's summary line byte for byte: version 2 walks the
//! migrated structures with its own types, so a heap object left in its old layout, a pointer
//! not redirected or a new field not zeroed shows up as other numbers or as `BAD <what>`.
//! Some programs also print the addresses of kept (unchanged) heap objects after their summary
//! (`vN at ...`): those objects must stay where they are. `quit` frees every object, so migrated
//! objects must also be blocks that `free` accepts.
//!
//! The expected lines were computed by hand from the programs' formulas (commented at each
//! test) and agree with plain gcc builds of both versions: version 2 built alone constructs
//! exactly the state a correct migration yields, and prints the same line. The harness
//! self-check (`UPSTARE_E2E_CC_OVERRIDE=gcc`), where nothing can be updated, checks just that:
//! version 1's lines, then version 2 run as a program of its own.
//!
//! Not here: the update transaction's other checks (`tests/update.rs`) and timings
//! (`src/bin/bench_heap.rs`).

use std::path::PathBuf;
use std::time::Duration;

use upstare_e2e::live::{build, c_sources, Live};
use upstare_e2e::{data_dir, Output, Toolchain, WorkDir};

const T: Duration = Duration::from_secs(30);

fn case_dir(case: &str) -> PathBuf {
    data_dir().join("heap").join(case)
}

/// The C files of one version folder of `case`.
fn sources(case: &str, version: &str) -> Vec<PathBuf> {
    c_sources(&case_dir(case).join(version))
}

/// Builds `case/v1` as an executable and `case/v2` as an update module (as `update.rs` does).
fn build_case(work: &WorkDir, case: &str) -> (PathBuf, PathBuf) {
    let exe = work.join("v1");
    build(&sources(case, "v1"), &exe, false, &[]);
    let module = work.join("v2.so");
    build(&sources(case, "v2"), &module, true, &[]);
    (exe, module)
}

/// The path of a spec of `case`, as the CLI takes it.
fn spec(case: &str, file: &str) -> String {
    case_dir(case).join(file).display().to_string()
}

/// A started version 1 of `case` in the work folder `heap-NAME` (tests run in parallel in one
/// process, so two tests of one case need two names): the process, the update module, and its
/// checksum line (printed right after `ready`).
fn start(case: &str, name: &str) -> (WorkDir, Live, PathBuf, String) {
    let work = WorkDir::new(&format!("heap-{name}"));
    let (exe, module) = build_case(&work, case);
    let mut p = Live::start(&work, &exe, &[], &[]);
    p.wait_for("ready", T);
    let sum = p.wait_for("v1 ", T);
    (work, p, module, sum)
}

/// Sends `check` and returns the summary line, found by the first two words of `want` (the
/// version and the case), so that a wrong line is shown whole by the caller's assert instead of
/// timing out.
fn check(p: &mut Live, want: &str) -> String {
    let prefix: String = want
        .split_inclusive(' ')
        .take(2)
        .collect::<Vec<_>>()
        .concat();
    p.send("check\n");
    p.wait_for(&prefix, T)
}

fn assert_updated(o: &Output) {
    assert!(
        o.success()
            && o.stdout_str()
                .contains("updated from version 1 to version 2"),
        "update failed:\n{}",
        o.report()
    );
}

/// An update that must not happen: the CLI exits 1, the program keeps version 1, and the
/// output holds every one of `words`.
fn assert_refused(o: &Output, words: &[&str]) {
    assert_eq!(o.status.and_then(|s| s.code()), Some(1), "{}", o.report());
    let out = o.stdout_str();
    assert!(out.contains("keeps running version 1"), "{}", o.report());
    for w in words {
        assert!(out.contains(w), "missing `{w}`:\n{}", o.report());
    }
}

/// Sends `quit` and checks that the program freed `freed` objects in `version` and exited 0.
fn quit(mut p: Live, version: &str, freed: u32) {
    p.send("quit\n");
    let (code, lines, err) = p.finish(T);
    let want = format!("{version} freed {freed}");
    assert!(
        lines.last() == Some(&want),
        "expected `{want}` last:\n{}\nstderr:\n{err}",
        lines.join("\n")
    );
    assert_eq!(code, Some(0), "stderr:\n{err}");
}

/// The addresses of kept (unchanged) heap objects that a program prints after its summary line
/// (`vN at ...`), without the version.
fn places(p: &mut Live, version: &str) -> String {
    let l = p.wait_for(&format!("{version} at "), T);
    l[version.len()..].to_string()
}

/// In the harness self-check: version 2 built as a program of its own must print `v2` (see the
/// header) and free `freed` objects.
fn self_check_v2(work: &WorkDir, case: &str, v2: &str, freed: u32) {
    let exe = work.join("v2");
    build(&sources(case, "v2"), &exe, false, &[]);
    let mut p = Live::start(work, &exe, &[], &[]);
    p.wait_for("ready", T);
    assert_eq!(check(&mut p, v2), v2, "version 2 built alone");
    quit(p, "v2", freed);
}

/// The whole scenario of one case: version 1's line, the update (with `spec_file` if any),
/// version 2's line, `quit`. With `kept`, the program also prints where some unchanged heap
/// objects are, and they must not have moved.
fn migrate(case: &str, spec_file: Option<&str>, v1: &str, v2: &str, freed: u32, kept: bool) {
    let (work, mut p, module, _) = start(case, case);
    assert_eq!(check(&mut p, v1), v1);
    let before = kept.then(|| places(&mut p, "v1"));
    if Toolchain::get().overridden {
        quit(p, "v1", freed);
        return self_check_v2(&work, case, v2, freed);
    }
    let extra: Vec<String> = spec_file
        .map(|f| vec!["--spec".to_string(), spec(case, f)])
        .unwrap_or_default();
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let o = p.update(&module, &extra);
    assert_updated(&o);
    let got = check(&mut p, v2);
    assert_eq!(got, v2, "after the update:\n{}", o.report());
    if let Some(before) = before {
        let after = places(&mut p, "v2");
        assert_eq!(after, before, "kept heap objects moved:\n{}", o.report());
    }
    quit(p, "v2", freed);
}

/// A singly linked list of 1000 items whose struct is reordered, loses `stamp` and gains
/// `hits`; reached from a global, a frame local (item 500) and a boxed local (the tail). No
/// spec: the automatic transfer must do it all. keys = 0 + ... + 999, vals = sum of 3k + 1; the
/// digest is over the values common to both versions, so it is the same in both lines.
#[test]
fn list_items_migrate_with_every_pointer() {
    migrate(
        "list",
        None,
        "v1 list n=1000 keys=499500 vals=1499500 digest=445678fa818721bf ok",
        "v2 list n=1000 keys=499500 vals=1499500 hits=0 digest=445678fa818721bf ok",
        1000,
        false,
    );
}

/// A circular doubly linked list through a global sentinel struct of the changed type (so heap
/// nodes point at a global that converts too), with 200 nodes freed in between, a static local
/// cursor, and `weight` widened from int to long (negative values sign-extend). ids = the sum
/// of 0..1199 without those = 5 (mod 6); weights = 5 ids - 3 per node.
#[test]
fn dlist_ring_through_a_global_sentinel() {
    migrate(
        "dlist",
        None,
        "v1 dlist n=1000 back=1000 ids=599000 weights=2992000 digest=8b660610c56121ad ok",
        "v2 dlist n=1000 back=1000 ids=599000 weights=2992000 marks=0 digest=8b660610c56121ad ok",
        1000,
        false,
    );
}

/// A binary search tree with parent pointers whose node gains a field: version 2 checks the
/// in-order keys (3 k + 1 for k in 0..999), every child's parent, the root's null parent, the
/// depth (36: the shape is kept), and pointers held in two frames (main's and the command
/// loop's below it) to the leftmost node and the root's right child.
#[test]
fn tree_with_parent_pointers() {
    migrate(
        "tree",
        None,
        "v1 tree n=1000 keys=1499500 depth=36 digest=06541e3ac0aa7185 ok",
        "v2 tree n=1000 keys=1499500 depth=36 heights=0 digest=06541e3ac0aa7185 ok",
        1000,
        false,
    );
}

/// A chained hash table: `calloc(257, sizeof(struct entry *))` buckets (an unchanged array of
/// pointers, patched in place) over entries that lose `hash` and `flags`, widen `value` and gain
/// `lookups`; the strdup'd keys stay shared. Version 2 looks up all 1100 keys (the 100 removed
/// ones must be absent). values = the sum of 11 i - 5000 over the kept keys.
#[test]
fn hash_table_entries_gain_and_lose_fields() {
    migrate(
        "hash",
        None,
        "v1 hash found=1000 entries=1000 longest=11 values=1039000 digest=6392287e780c6082 ok",
        "v2 hash found=1000 entries=1000 longest=11 values=1039000 lookups=0 \
         digest=6392287e780c6082 ok",
        1000,
        true,
    );
}

/// One `malloc(1000 * sizeof(struct rec))` block whose element grows from 24 to 32 bytes and
/// is reordered: migrated whole, with interior pointers to element 6, to element 3's `amount`,
/// into element 5's `code` array and (from main's frame) to the last element all leading to
/// the same element and field of the new array. amounts = the sum of i * i - 7, kinds = the
/// sum of i % 5 - 1.
#[test]
fn array_of_structs_with_interior_pointers() {
    migrate(
        "array",
        None,
        "v1 array n=1000 amounts=332826500 kinds=1000 digest=74c12f1e97d63a6a ok",
        "v2 array n=1000 amounts=332826500 kinds=1000 ratios=0 digest=74c12f1e97d63a6a ok",
        1000,
        false,
    );
}

/// A generic `void *` container holding 1000 items (changed) in one list and 100 labels
/// (unchanged) in another: the spec's generic layout hint types each list, so the items migrate
/// and the nodes, left in place, lead to the new items. weights = the sum of 1000 i + 17; freed
/// counts 1100 nodes (their data is freed with them).
#[test]
fn generic_container_follows_layout_hints() {
    migrate(
        "generic",
        Some("generic.upd"),
        "v1 generic items=1000 labels=100 weights=499517000 digest=dd87b65c47031c66 ok",
        "v2 generic items=1000 labels=100 weights=499517000 fresh=0 digest=dd87b65c47031c66 ok",
        1100,
        true,
    );
}

/// The same container without hints: `void *data` may reach `struct item`, which changed, and
/// nothing says how to treat it, so the update must be refused (issue 6, honest limits) rather
/// than leave old-layout items behind; version 1 runs on unchanged and frees everything.
#[test]
fn generic_container_without_hints_is_refused() {
    let (_work, mut p, module, _) = start("generic", "generic-unhinted");
    let v1 = "v1 generic items=1000 labels=100 weights=499517000 digest=dd87b65c47031c66 ok";
    assert_eq!(check(&mut p, v1), v1);
    if Toolchain::get().overridden {
        return quit(p, "v1", 1100);
    }
    let before = places(&mut p, "v1");
    let o = p.update(&module, &[]);
    assert_refused(&o, &[]);
    assert_eq!(check(&mut p, v1), v1, "{}", o.report());
    assert_eq!(places(&mut p, "v1"), before, "{}", o.report());
    quit(p, "v1", 1100);
}

/// A type rule whose assert fails on the item with id 500, halfway through the heap: the update
/// rolls back naming the rule, and version 1's checksum over the bytes of every object it
/// reaches (items, shared blobs, the realloc'd index, the globals) is exactly what it was. Then
/// the same rule without the assert goes through and computes the new field, and the kept
/// objects (the index, the blobs) are still where they were. sum = the sum of a + b = 7 i - 300.
#[test]
fn failed_type_rule_leaves_the_old_heap_as_it_was() {
    let (work, mut p, module, fnv) = start("rollback", "rollback");
    let v2 = "v2 rollback n=1000 sum=3196500 c=3196500 ok";
    let v1 = "v1 rollback n=1000 sum=3196500 ok";
    // After each `check`, version 1 prints where the kept objects are and the checksum of its
    // heap's bytes again.
    let check_bytes = |p: &mut Live, when: &str, report: &str| {
        assert_eq!(check(p, v1), v1, "{when}:\n{report}");
        let at = places(p, "v1");
        let now = p.wait_for("v1 fnv=", T);
        assert_eq!(now, fnv, "{when}: the old heap changed:\n{report}");
        at
    };
    let before = check_bytes(&mut p, "before the update", "");
    if Toolchain::get().overridden {
        quit(p, "v1", 1000);
        return self_check_v2(&work, "rollback", v2, 1000);
    }
    let bad = p.update(&module, &["--spec", &spec("rollback", "bad.upd")]);
    assert_refused(&bad, &["phase `transform`", "bad.upd:5", "id 500"]);
    let after = check_bytes(&mut p, "after the failed update", &bad.report());
    assert_eq!(after, before, "{}", bad.report());
    let st = p.status(&[]);
    assert!(st.stdout_str().contains("version 1 "), "{}", st.report());
    let good = p.update(&module, &["--spec", &spec("rollback", "good.upd")]);
    assert_updated(&good);
    assert_eq!(check(&mut p, v2), v2, "{}", good.report());
    let moved = places(&mut p, "v2");
    assert_eq!(moved, before, "kept heap objects moved:\n{}", good.report());
    quit(p, "v2", 1000);
}

/// A type rule computing the new field from two old ones (`new.total = old.a + old.b`) runs
/// for every heap account (reached through a heap array of pointers), for the global `summary`
/// and for main's by-value copy of account 7 (73 + 951). a = 10 i + 3, b = 1000 - i * i.
#[test]
fn type_rule_computes_a_new_field_everywhere() {
    migrate(
        "spec_rule",
        Some("spec.upd"),
        "v1 spec_rule n=1000 a=4998000 b=-331833500 ok",
        "v2 spec_rule n=1000 a=4998000 b=-331833500 totals=-326835500 summary=-326835500 \
         probe=1024 ok",
        1000,
        true,
    );
}

/// A vector whose popped slots keep pointers to freed items, one of whose blocks a live string
/// now occupies. Without a hint the traversal reads every slot of the block, finds an "item"
/// where the string is, and must refuse rather than rewrite the string; version 1 runs on.
/// With `items: struct item*[old.n]` only the live slots count: the eight items migrate (ids
/// 0 + ... + 7, weights 100 + ... + 107, `rank` zero) and the string is intact.
#[test]
fn stale_vector_slots_refuse_without_a_count_hint() {
    let v1 = "v1 stale n=8 ids=28 weights=828 name=abcdefghijklmno";
    let v2 = "v2 stale n=8 ids=28 weights=828 ranks=0 name=abcdefghijklmno";
    let (_work, mut p, module, first) = start("stale", "stale");
    assert_eq!(first, v1);
    if Toolchain::get().overridden {
        return quit(p, "v1", 8);
    }
    let o = p.update(&module, &[]);
    assert_refused(&o, &["`char *` in global `name`", "stale pointer"]);
    assert_eq!(check(&mut p, v1), v1, "{}", o.report());
    let o = p.update(&module, &["--spec", &spec("stale", "hint.upd")]);
    assert_updated(&o);
    assert_eq!(check(&mut p, v2), v2, "{}", o.report());
    quit(p, "v2", 8);
}

/// Items reached only through a tagged union: the spec's `case` hint chooses the member by the
/// value's `kind`, so the items migrate (50 of them, ids 1001 + 1003 + ... + 1099, weights
/// zero) and the numbers in the other values stay numbers (0 + 2 + ... + 98).
#[test]
fn tagged_union_follows_a_case_hint() {
    let v1 = "v1 tagged nums=2450 ids=52500";
    let v2 = "v2 tagged nums=2450 ids=52500 weights=0";
    let (work, mut p, module, first) = start("tagged", "tagged");
    assert_eq!(first, v1);
    if Toolchain::get().overridden {
        p.send("quit\n");
        let _ = p.finish(T);
        return self_check_v2_line(&work, "tagged", v2);
    }
    let o = p.update(&module, &["--spec", &spec("tagged", "case.upd")]);
    assert_updated(&o);
    assert!(
        o.stdout_str().contains("heap: 50 objects migrated"),
        "{}",
        o.report()
    );
    assert_eq!(check(&mut p, v2), v2, "{}", o.report());
    p.send("quit\n");
    let (code, _, err) = p.finish(T);
    assert_eq!(code, Some(0), "{err}");
}

/// In the harness self-check: version 2 alone prints `v2`.
fn self_check_v2_line(work: &WorkDir, case: &str, v2: &str) {
    let exe = work.join("v2");
    build(&sources(case, "v2"), &exe, false, &[]);
    let mut p = Live::start(work, &exe, &[], &[]);
    p.wait_for("ready", T);
    assert_eq!(check(&mut p, v2), v2, "version 2 built alone");
    p.send("quit\n");
    let _ = p.finish(T);
}
