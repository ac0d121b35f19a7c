//! Benchmarks (ignored by default; they print numbers, nothing here is pass/fail):
//!
//! ```text
//! cargo test --release -p upstare-jit --test bench -- --ignored --nocapture --test-threads 1
//! ```
//!
//! - compile time of 500 rules (check time shown apart);
//! - a 10-field type rule over 1,000,000 structs: the JIT (one guarded batch, and one guarded
//!   call per object) against the same transformation hand-written in C and compiled by
//!   `gcc -O2` (a loop over the array, and a loop calling a non-inlined per-object function),
//!   timed in one process on the same buffers, best of several repetitions.

mod common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use common::World;
use upstare_jit::{guard_scope, Services};

/// CPU time of the whole process (all threads).
fn cpu_time() -> Duration {
    // SAFETY: clock_gettime writes the timespec.
    unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts);
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

fn best<F: FnMut()>(reps: usize, mut f: F) -> Duration {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .expect("at least one repetition")
}

/// Compiles `spec` (500 rules) best of 11 times; prints wall and CPU time.
fn time_compile(what: &str, v1: &str, v2: &str, spec: &str, dir: &str) {
    let dir = common::scratch(dir);
    let old = common::build_text(&dir, "v1", v1);
    let new = common::build_text(&dir, "v2", v2);
    let t = Instant::now();
    let (checked, _) = upstare_dsl::check(spec, "bench.upd", &old, &new).expect("checks");
    let check_time = t.elapsed();
    let world = World::new(old, new);
    let mut bytes = 0;
    let mut functions = 0;
    let mut cpu = Duration::MAX;
    let compile = best(11, || {
        let c0 = cpu_time();
        let c = upstare_jit::compile(&checked, &world.old, &world.new, &world).expect("compiles");
        cpu = cpu.min(cpu_time() - c0);
        functions = c.functions();
        bytes = c.code_bytes();
    });
    println!(
        "compile {functions} {what}: {:.1} ms wall, {:.1} ms CPU (best of 11; {bytes} bytes of \
         code); check: {:.1} ms",
        compile.as_secs_f64() * 1e3,
        cpu.as_secs_f64() * 1e3,
        check_time.as_secs_f64() * 1e3
    );
}

#[test]
#[ignore]
fn compile_500_rules() {
    const N: usize = 500;
    // Global rules (compiled without the optimiser: they run once per update).
    let mut v1 = String::new();
    let mut v2 = String::new();
    let mut spec = String::from("upstare 1;\n");
    for k in 0..N {
        let _ = writeln!(v1, "int g{k};");
        let _ = writeln!(v2, "long g{k};");
        let _ = writeln!(
            spec,
            "global g{k} {{ if old < 0 {{ new = -(old as long); }} else {{ new = old * {} + (old >> 2); }} }}",
            k + 1
        );
    }
    time_compile("global rules", &v1, &v2, &spec, "bench-compile-globals");
    // Type rules (optimised: they run once per migrated object).
    let (mut v1, mut v2) = (String::new(), String::new());
    let mut spec = String::from("upstare 1;\n");
    for k in 0..N {
        let _ = writeln!(v1, "struct s{k} {{ int a; int b; }}; struct s{k} x{k};");
        let _ = writeln!(
            v2,
            "struct s{k} {{ long a; int b; int c; }}; struct s{k} x{k};"
        );
        let _ = writeln!(
            spec,
            "type struct s{k} {{ if old.a < 0 {{ new.c = -old.b; }} else {{ new.c = old.a * {} + (old.b >> 2); }} }}",
            k + 1
        );
    }
    time_compile("type rules", &v1, &v2, &spec, "bench-compile-types");
}

const OLD: &str = "struct rec {
    int a;
    int b;
    short c;
    unsigned d;
    long e;
    signed char f;
    int g;
    unsigned short h;
    int i;
    long j;
};
";

const NEW: &str = "struct rec {
    long a;
    long b;
    int c;
    unsigned long d;
    long e;
    int f;
    long g;
    unsigned h;
    int i;
    long j;
};
";

const SPEC: &str = "upstare 1;
type struct rec {
    new.a = old.a * 2;
    new.b = old.b + old.a;
    new.c = old.c;
    new.d = old.d >> 1;
    new.e = old.e - 7;
    new.f = old.f;
    new.g = old.g * 3;
    new.h = old.h;
    new.i = old.i ^ 5;
    new.j = old.j + old.e;
}
";

const BODY: &str = "    n->a = o->a * 2;
    n->b = o->b + o->a;
    n->c = o->c;
    n->d = o->d >> 1;
    n->e = o->e - 7;
    n->f = o->f;
    n->g = o->g * 3;
    n->h = o->h;
    n->i = o->i ^ 5;
    n->j = o->j + o->e;
";

type Batch = unsafe extern "C" fn(*const u8, *mut u8, libc::c_long);

#[test]
#[ignore]
fn type_rule_over_a_million_structs() {
    const COUNT: usize = 1_000_000;
    let dir = common::scratch("bench-exec");
    let old = common::build_text(&dir, "v1", &format!("{OLD}struct rec g;\n"));
    let new = common::build_text(&dir, "v2", &format!("{NEW}struct rec g;\n"));
    let (checked, _) = upstare_dsl::check(SPEC, "bench.upd", &old, &new).expect("checks");
    let world = World::new(old, new);
    let compiled =
        upstare_jit::compile(&checked, &world.old, &world.new, &world).expect("compiles");
    let (_, rule) = compiled.type_rules().next().expect("the rule");
    let size = |m: &upstare_meta::Module| m.types[m.find_type("struct rec").unwrap()].size as usize;
    let (os, ns) = (size(&world.old), size(&world.new));

    // The hand-written C, as a shared object loaded into this process.
    let c = format!(
        "#include <stddef.h>
struct o {}; struct n {};
void migrate_loop(const struct o *old, struct n *new, long count) {{
    for (long k = 0; k < count; k++) {{
        const struct o *o = &old[k]; struct n *n = &new[k];
{BODY}    }}
}}
__attribute__((noinline)) void migrate_one(const struct o *o, struct n *n) {{
{BODY}}}
void migrate_calls(const struct o *old, struct n *new, long count) {{
    for (long k = 0; k < count; k++) migrate_one(&old[k], &new[k]);
}}
size_t old_size(void) {{ return sizeof(struct o); }}
size_t new_size(void) {{ return sizeof(struct n); }}
",
        &OLD["struct rec ".len()..OLD.len() - 2],
        &NEW["struct rec ".len()..NEW.len() - 2],
    );
    let cfile = dir.join("hand.c");
    std::fs::write(&cfile, c).unwrap();
    let so = dir.join("libhand.so");
    let out = std::process::Command::new("gcc")
        .args(["-O2", "-fwrapv", "-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&cfile)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = std::ffi::CString::new(so.to_str().unwrap()).unwrap();
    // SAFETY: loading the object just built; the symbols have the declared signatures.
    let (c_loop, c_calls, c_sizes) = unsafe {
        let h = libc::dlopen(path.as_ptr(), libc::RTLD_NOW);
        assert!(!h.is_null(), "dlopen failed");
        let sym = |n: &std::ffi::CStr| {
            let p = libc::dlsym(h, n.as_ptr());
            assert!(!p.is_null());
            p
        };
        let sizes: (extern "C" fn() -> usize, extern "C" fn() -> usize) = (
            std::mem::transmute::<*mut libc::c_void, extern "C" fn() -> usize>(sym(c"old_size")),
            std::mem::transmute::<*mut libc::c_void, extern "C" fn() -> usize>(sym(c"new_size")),
        );
        (
            std::mem::transmute::<*mut libc::c_void, Batch>(sym(c"migrate_loop")),
            std::mem::transmute::<*mut libc::c_void, Batch>(sym(c"migrate_calls")),
            sizes,
        )
    };
    assert_eq!(
        (c_sizes.0(), c_sizes.1()),
        (os, ns),
        "gcc and the metadata agree on sizes"
    );

    let mut rng = 0x1234_5678_9abc_def1u64;
    let old_buf: Vec<u8> = (0..os * COUNT)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as u8
        })
        .collect();
    let mut new_jit = vec![0u8; ns * COUNT];
    let mut new_c = vec![0u8; ns * COUNT];
    // Touch every page first.
    new_jit.fill(1);
    new_c.fill(1);

    let reps = 9;
    let c_loop_t = best(reps, || {
        // SAFETY: the buffers hold COUNT objects of the two layouts.
        unsafe { c_loop(old_buf.as_ptr(), new_c.as_mut_ptr(), COUNT as libc::c_long) }
    });
    let c_calls_t = best(reps, || {
        // SAFETY: as above.
        unsafe { c_calls(old_buf.as_ptr(), new_c.as_mut_ptr(), COUNT as libc::c_long) }
    });
    let mut services = Services::standalone();
    let jit_batch = best(reps, || {
        // SAFETY: as above.
        unsafe {
            rule.run_many(
                old_buf.as_ptr(),
                os,
                new_jit.as_mut_ptr(),
                ns,
                COUNT,
                &mut services,
            )
        }
        .expect("runs");
    });
    if let Some(i) = (0..new_jit.len()).find(|&i| new_jit[i] != new_c[i]) {
        panic!(
            "the JIT and gcc disagree at object {} byte {}: jit {:?} gcc {:?}",
            i / ns,
            i % ns,
            &new_jit[i / ns * ns..i / ns * ns + ns],
            &new_c[i / ns * ns..i / ns * ns + ns]
        );
    }
    let jit_each = best(reps, || {
        guard_scope(|| {
            for k in 0..COUNT {
                // SAFETY: as above.
                unsafe {
                    rule.run(
                        old_buf.as_ptr().add(k * os),
                        new_jit.as_mut_ptr().add(k * ns),
                        &mut services,
                    )
                }
                .expect("runs");
            }
        })
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "10-field type rule over {COUNT} structs ({os} -> {ns} bytes), best of {reps}:\n\
         \x20 gcc -O2 loop (body inlined):          {:7.2} ms\n\
         \x20 gcc -O2 loop calling a function:      {:7.2} ms\n\
         \x20 JIT, Rule::run_many (one guard):      {:7.2} ms  ({:.2}x the inlined loop, {:.2}x the calls)\n\
         \x20 JIT, Rule::run per object (in scope): {:7.2} ms  ({:.2}x the inlined loop)",
        ms(c_loop_t),
        ms(c_calls_t),
        ms(jit_batch),
        ms(jit_batch) / ms(c_loop_t),
        ms(jit_batch) / ms(c_calls_t),
        ms(jit_each),
        ms(jit_each) / ms(c_loop_t),
    );
}
