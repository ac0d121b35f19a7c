//! JIT code and its tables are freed with the `Compiled`: compiling, running and dropping a
//! spec 200 times does not grow the process.

mod common;

use common::{Buf, World};

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("resident pages");
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize
}

#[test]
fn compile_and_drop_does_not_grow() {
    let case = common::root().join("jit/tests/cases/basics");
    let dir = common::scratch("memory");
    let old = common::build(&dir, "v1", &case.join("v1.c"));
    let new = common::build(&dir, "v2", &case.join("v2.c"));
    let source = std::fs::read_to_string(case.join("spec.upd")).unwrap();
    let (spec, _) = upstare_dsl::check(&source, "spec.upd", &old, &new).expect("checks");
    let world = World::new(old, new);
    let rec = |m: &upstare_meta::Module| m.types[m.find_type("struct conn").unwrap()].size as usize;
    let (ob, nb) = (Buf::new(rec(&world.old)), Buf::new(rec(&world.new)));

    let once = |i: usize| {
        let c = upstare_jit::compile_with_source(
            &spec, "spec.upd", &source, &world.old, &world.new, &world,
        )
        .expect("compiles");
        assert!(c.code_bytes() > 0);
        let (_, rule) = c.type_rules().nth(1).expect("struct conn's rule");
        let mut s = world.services(None);
        // SAFETY: the buffers have the layouts of the two `struct conn`s.
        unsafe { rule.run(ob.ptr(), nb.ptr(), &mut s) }.unwrap_or_else(|e| panic!("{i}: {e}"));
        drop(c);
    };
    // Warm up allocator pools and lazily initialised state.
    for i in 0..20 {
        once(i);
    }
    let before = rss_bytes();
    for i in 0..200 {
        once(i);
    }
    let after = rss_bytes();
    let grown = after.saturating_sub(before);
    eprintln!(
        "RSS before {} KiB, after 200 compile+run+drop {} KiB (+{} KiB)",
        before / 1024,
        after / 1024,
        grown / 1024
    );
    // One compilation of this spec maps a few pages of code; 200 leaked ones would add
    // megabytes. Allow allocator noise only.
    assert!(grown < 1 << 20, "RSS grew by {} KiB", grown / 1024);
}
