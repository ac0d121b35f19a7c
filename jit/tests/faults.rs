//! Fault containment: every failure class comes back as a `RuleError` with the rule's name,
//! the failing span and its line, and the process carries on (the next rule runs, the handlers
//! are put back afterwards).

mod common;

use std::sync::OnceLock;

use common::World;
use upstare_jit::{guard_scope, Compiled, RuleError, Services};

const V1: &str = r#"
struct rec { int a; int b; struct rec *next; };
int d0;
int d1;
int idx;
int arr[4];
int *ptr;
struct rec *rp;
char *str;
unsigned sh;
long q;
int main(void) { return 0; }
"#;

// The same globals; `q` changed type so that its rule is not only a warning.
const V2: &str = r#"
struct rec { int a; int b; struct rec *next; };
int d0;
int d1;
int idx;
int arr[4];
int *ptr;
struct rec *rp;
char *str;
unsigned sh;
int q;
int main(void) { return 0; }
"#;

const SPEC: &str = r#"upstare 1;
global d1 { new = 100 / old::d0; }
global idx { new = old::arr[old]; }
global d0 { new = *old::ptr; }
global sh { new = 1u << old; }
global q { new = strlen(old::str) as int; }
global arr {
    let p = old::rp;
    new[0] = p->next->a;
    new[1] = old::d1 % old::d0;
}
assert old::d0 != 7, "d0 must not be 7";
"#;

struct Fixture {
    world: World,
    compiled: Compiled,
}

// SAFETY (for the statics below): the fixture is built once and only read afterwards; the
// JIT code and buffers it owns are usable from any thread.
unsafe impl Sync for Fixture {}
unsafe impl Send for Fixture {}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = common::scratch("faults");
        let old = common::build_text(&dir, "v1", V1);
        let new = common::build_text(&dir, "v2", V2);
        let (spec, _) = upstare_dsl::check(SPEC, "faults.upd", &old, &new)
            .unwrap_or_else(|d| panic!("{}", upstare_dsl::render(&d, SPEC, "faults.upd", false)));
        let world = World::new(old, new);
        let compiled = upstare_jit::compile_with_source(
            &spec,
            "faults.upd",
            SPEC,
            &world.old,
            &world.new,
            &world,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Fixture { world, compiled }
    })
}

/// Tests that change the fixture's globals take turns.
fn lock() -> std::sync::MutexGuard<'static, ()> {
    static L: std::sync::Mutex<()> = std::sync::Mutex::new(());
    L.lock().unwrap_or_else(|e| e.into_inner())
}

fn set_old<T: Copy>(f: &Fixture, name: &str, v: T) {
    let id = f.world.old.find_global(name).expect("old global");
    let b = &f.world.old_globals[&id];
    assert!(std::mem::size_of::<T>() <= b.size);
    // SAFETY: the buffer holds the global (size checked).
    unsafe { (b.ptr() as *mut T).write_unaligned(v) };
}

fn get_new<T: Copy>(f: &Fixture, name: &str) -> T {
    let id = f.world.new.find_global(name).expect("new global");
    // SAFETY: as above.
    unsafe { (f.world.new_globals[&id].ptr() as *const T).read_unaligned() }
}

fn run_global(f: &Fixture, name: &str) -> Result<(), RuleError> {
    let id = f.world.new.find_global(name).expect("new global");
    let rule = f.compiled.global_rule(id).expect("a rule");
    let old = f.compiled.global_source(id).map_or(std::ptr::null(), |o| {
        f.world.old_globals[&o].ptr() as *const u8
    });
    let mut s = f.world.services(None);
    // SAFETY: the world's buffers are laid out per the metadata.
    unsafe { rule.run(old, f.world.new_globals[&id].ptr(), &mut s) }
}

/// The text of the spec a span covers.
fn text(e: &RuleError) -> &'static str {
    &SPEC[e.span.start..e.span.end]
}

fn reset(f: &Fixture) {
    set_old(f, "d0", 1i32);
    set_old(f, "d1", 0i32);
    set_old(f, "idx", 0i32);
    set_old(f, "ptr", 0usize);
    set_old(f, "rp", 0usize);
    set_old(f, "str", 0usize);
    set_old(f, "sh", 0u32);
}

/// All cases in one test: they share the globals of the fixture.
#[test]
fn every_fault_class_is_contained() {
    let f = fixture();
    let _l = lock();
    reset(f);

    // Division by zero (the rule's own check).
    set_old(f, "d0", 0i32);
    let e = run_global(f, "d1").unwrap_err();
    assert_eq!(e.rule, "global d1");
    assert_eq!(e.message, "division by zero");
    assert_eq!(text(&e), "old::d0");
    assert_eq!((e.file.as_str(), e.line), ("faults.upd", 2));
    assert_eq!(
        e.to_string(),
        "rule `global d1` (faults.upd:2): division by zero"
    );
    set_old(f, "d0", 4i32);
    run_global(f, "d1").unwrap();
    assert_eq!(get_new::<i32>(f, "d1"), 25);

    // An index out of a known bound, with the index in the message.
    set_old(f, "idx", 4i32);
    let e = run_global(f, "idx").unwrap_err();
    assert_eq!(e.rule, "global idx");
    assert_eq!(
        e.message,
        "index 4 is out of bounds for an array of 4 elements"
    );
    assert_eq!(text(&e), "old");
    set_old(f, "idx", -1i32);
    let e = run_global(f, "idx").unwrap_err();
    assert!(e.message.starts_with("index -1 is out of bounds"), "{e}");
    set_old(f, "idx", 3i32);
    run_global(f, "idx").unwrap();

    // A null dereference (checked) and a wild one (SIGSEGV caught at the load).
    let e = run_global(f, "d0").unwrap_err();
    assert_eq!(e.message, "dereference of a null pointer");
    assert_eq!(text(&e), "old::ptr");
    set_old(f, "ptr", 0x10usize);
    let e = run_global(f, "d0").unwrap_err();
    assert_eq!(e.rule, "global d0");
    assert!(
        e.message
            .starts_with("invalid memory access at 0x10 (SIGSEGV)"),
        "{e}"
    );
    assert_eq!(text(&e), "*old::ptr");
    assert_eq!(e.line, 4);
    let x = 77i32;
    set_old(f, "ptr", &x as *const i32 as usize);
    run_global(f, "d0").unwrap();
    assert_eq!(get_new::<i32>(f, "d0"), 77);

    // A shift count past the width.
    set_old(f, "sh", 32u32);
    let e = run_global(f, "sh").unwrap_err();
    assert_eq!(
        e.message,
        "shift count 32 is out of range for a 32-bit value"
    );
    set_old(f, "sh", 31u32);
    run_global(f, "sh").unwrap();
    assert_eq!(get_new::<u32>(f, "sh"), 1 << 31);

    // A fault inside a library call made by the rule: reported at the call.
    set_old(f, "str", 0x18usize);
    let e = run_global(f, "q").unwrap_err();
    assert_eq!(e.rule, "global q");
    assert!(e.message.contains("SIGSEGV"), "{e}");
    assert!(e.message.ends_with("inside `strlen`"), "{e}");
    assert_eq!(text(&e), "strlen(old::str)");
    let s = c"hello".as_ptr();
    set_old(f, "str", s as usize);
    run_global(f, "q").unwrap();
    assert_eq!(get_new::<i32>(f, "q"), 5);

    // Through two pointers: the null one is found by the check, at the inner `->`.
    let mut r2 = [0i32; 6];
    set_old(f, "rp", r2.as_mut_ptr() as usize);
    let e = run_global(f, "arr").unwrap_err();
    assert_eq!(e.message, "dereference of a null pointer");
    assert_eq!(text(&e), "p->next");
    // A failed assert, with its message.
    set_old(f, "d0", 7i32);
    let mut s = f.world.services(None);
    let e = f
        .compiled
        .asserts()
        .iter()
        .map(|a| unsafe { a.run(std::ptr::null(), std::ptr::null_mut(), &mut s) })
        .find_map(Result::err)
        .expect("the assert fails");
    assert_eq!(e.rule, "assert old::d0 != 7");
    assert_eq!(e.message, "d0 must not be 7");
    assert_eq!(e.line, 12);
    reset(f);
}

/// Faults inside the runtime's callbacks (SIGSEGV, SIGFPE, SIGILL from an instruction, and
/// a panic) are contained too and reported at the builtin that called them.
#[test]
fn faults_inside_callbacks_are_contained() {
    let dir = common::scratch("faults-callbacks");
    let v1 = "long t; int main(void) { return 0; }\n";
    let v2 = "long t; long u; int main(void) { return 0; }\n";
    let spec = "upstare 1;\ninit global u {\n    new = now_ms() as long;\n}\n";
    let old = common::build_text(&dir, "v1", v1);
    let new = common::build_text(&dir, "v2", v2);
    let (checked, _) = upstare_dsl::check(spec, "cb.upd", &old, &new).expect("checks");
    let world = World::new(old, new);
    let compiled =
        upstare_jit::compile_with_source(&checked, "cb.upd", spec, &world.old, &world.new, &world)
            .expect("compiles");
    let u = world.new.find_global("u").unwrap();
    let rule = compiled.global_rule(u).unwrap();
    let out = world.new_globals[&u].ptr();
    let run = |now: &mut dyn FnMut() -> u64| {
        let mut s = Services::new(|_| Err("no".into()), |_| Err("no".into()), Ok, Ok, now);
        // SAFETY: `u` is a long in the world's buffers; `init` rules take a null old.
        unsafe { rule.run(std::ptr::null(), out, &mut s) }
    };
    let sig = |what: &str, f: &mut dyn FnMut() -> u64| {
        let e = run(f).unwrap_err();
        assert_eq!(e.rule, "init global u");
        assert_eq!(&spec[e.span.start..e.span.end], "now_ms()");
        assert_eq!(e.line, 3);
        assert!(e.message.contains(what), "{e}");
        assert!(e.message.ends_with("inside now_ms()"), "{e}");
    };
    sig("SIGSEGV", &mut || {
        // SAFETY: deliberately reads an unmapped address; the guard catches it.
        unsafe { std::ptr::read_volatile(std::ptr::without_provenance::<u64>(0x8)) }
    });
    #[cfg(target_arch = "x86_64")]
    {
        sig("integer division by zero (SIGFPE)", &mut || {
            let r: u32;
            // SAFETY: a deliberate hardware division by zero; the guard catches the SIGFPE.
            unsafe {
                std::arch::asm!("xor edx, edx", "xor ecx, ecx", "div ecx", inout("eax") 1u32 => r, out("ecx") _, out("edx") _)
            };
            u64::from(r)
        });
        sig("illegal instruction", &mut || {
            // SAFETY: a deliberate undefined instruction; the guard catches the SIGILL.
            unsafe { std::arch::asm!("ud2") };
            0
        });
    }
    let e = run(&mut || panic!("the clock broke")).unwrap_err();
    assert!(e.message.contains("the clock broke"), "{e}");
    run(&mut || 1234).unwrap();
    // SAFETY: the global was just written by the rule.
    assert_eq!(unsafe { *(out as *const i64) }, 1234);
}

/// A SIGBUS (a mapped file shorter than the mapping) is contained.
#[test]
fn sigbus_is_contained() {
    let f = fixture();
    let _l = lock();
    let path = common::scratch("sigbus").join("short");
    std::fs::write(&path, [0u8; 16]).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    use std::os::fd::AsRawFd;
    // SAFETY: a fresh read-only mapping of two pages of a 16-byte file; the second page is
    // past the end, so touching it raises SIGBUS.
    let map = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            8192,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    assert_ne!(map, libc::MAP_FAILED);
    set_old(f, "ptr", map as usize + 4096);
    let e = {
        let id = f.world.new.find_global("d0").unwrap();
        let rule = f.compiled.global_rule(id).unwrap();
        let mut s = f.world.services(None);
        // SAFETY: as in `run_global`.
        unsafe {
            rule.run(
                f.world.old_globals[&f.world.old.find_global("d0").unwrap()].ptr(),
                f.world.new_globals[&id].ptr(),
                &mut s,
            )
        }
        .unwrap_err()
    };
    assert!(e.message.contains("(SIGBUS)"), "{e}");
    // SAFETY: unmapping what was mapped above.
    unsafe { libc::munmap(map, 8192) };
    set_old(f, "ptr", 0usize);
}

/// The handlers are installed only inside a scope, and the previous actions come back.
#[test]
fn handlers_are_scoped_and_restored() {
    let f = fixture();
    let before = current_action(libc::SIGSEGV);
    guard_scope(|| {
        assert!(upstare_jit::handler_installed(libc::SIGSEGV));
        assert!(upstare_jit::handler_installed(libc::SIGFPE));
        guard_scope(|| assert!(upstare_jit::handler_installed(libc::SIGBUS)));
        assert!(upstare_jit::handler_installed(libc::SIGILL));
        // Many faulting runs inside one scope, each contained.
        let _l = lock();
        set_old(f, "ptr", 0x20usize);
        for _ in 0..1000 {
            let e = run_global(f, "d0").unwrap_err();
            assert!(
                e.message.starts_with("invalid memory access at 0x20"),
                "{e}"
            );
        }
        set_old(f, "ptr", 0usize);
    });
    // Only if no other test thread holds a scope right now can we see the restore.
    let after = current_action(libc::SIGSEGV);
    if !upstare_jit::handler_installed(libc::SIGSEGV) {
        assert_eq!(before, after);
    }
}

fn current_action(sig: i32) -> usize {
    // SAFETY: reads the current action only.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut sa);
        sa.sa_sigaction
    }
}

/// Threads fault at the same time, each in its own rule run; each gets its own error.
#[test]
fn concurrent_faults_stay_on_their_threads() {
    let dir = common::scratch("faults-threads");
    let v1 = "struct s { long *p; long v; }; struct s x; int main(void) { return 0; }\n";
    let v2 = "struct s { long *p; long v; long w; }; struct s x; int main(void) { return 0; }\n";
    let spec = "upstare 1;\ntype struct s {\n    new.w = *old.p + old.v;\n}\n";
    let old = common::build_text(&dir, "v1", v1);
    let new = common::build_text(&dir, "v2", v2);
    let (checked, _) = upstare_dsl::check(spec, "t.upd", &old, &new).expect("checks");
    let world = World::new(old, new);
    let compiled =
        upstare_jit::compile_with_source(&checked, "t.upd", spec, &world.old, &world.new, &world)
            .expect("compiles");
    let (_, rule) = compiled.type_rules().next().unwrap();
    std::thread::scope(|sc| {
        for t in 0..4u64 {
            let rule = &*rule;
            sc.spawn(move || {
                let good = 5i64;
                let mut s = Services::standalone();
                for k in 0..2000u64 {
                    let bad = k % 2 == 0;
                    let old: [u64; 2] = [
                        if bad {
                            0x40 + t * 8
                        } else {
                            &good as *const i64 as u64
                        },
                        k,
                    ];
                    let mut new = [0u64; 3];
                    // SAFETY: old and new have the layouts of the two `struct s`.
                    let r = unsafe {
                        rule.run(
                            old.as_ptr() as *const u8,
                            new.as_mut_ptr() as *mut u8,
                            &mut s,
                        )
                    };
                    if bad {
                        let e = r.unwrap_err();
                        assert!(
                            e.message.starts_with(&format!(
                                "invalid memory access at {:#x}",
                                0x40 + t * 8
                            )),
                            "{e}"
                        );
                        assert_eq!(&spec[e.span.start..e.span.end], "*old.p", "{e}");
                    } else {
                        r.unwrap();
                        assert_eq!(new[2], 5 + k);
                    }
                }
            });
        }
    });
}

/// A loop whose range would pass the run's loop budget fails before it starts.
#[test]
fn loop_budget_stops_long_loops() {
    let dir = common::scratch("faults-budget");
    let v1 = "long n; int s; int main(void) { return 0; }\n";
    let v2 = "long n; long s; int main(void) { return 0; }\n";
    let spec = "upstare 1;\nglobal s {\n    let acc: long = 0;\n    for i in 0..old::n {\n        for j in 0..3 { acc += i + j; }\n    }\n    new = acc;\n}\n";
    let old = common::build_text(&dir, "v1", v1);
    let new = common::build_text(&dir, "v2", v2);
    let (checked, _) = upstare_dsl::check(spec, "b.upd", &old, &new).expect("checks");
    let world = World::new(old, new);
    let compiled =
        upstare_jit::compile_with_source(&checked, "b.upd", spec, &world.old, &world.new, &world)
            .expect("compiles");
    let n = world.old.find_global("n").unwrap();
    let s_new = world.new.find_global("s").unwrap();
    let s_old = world.old.find_global("s").unwrap();
    let rule = compiled.global_rule(s_new).unwrap();
    let run = |count: i64, budget: u64| {
        // SAFETY: `n` is a long in the world's buffers.
        unsafe { (world.old_globals[&n].ptr() as *mut i64).write(count) };
        let mut s = Services::standalone().loop_budget(budget);
        // SAFETY: the globals' buffers have their layouts.
        unsafe {
            rule.run(
                world.old_globals[&s_old].ptr(),
                world.new_globals[&s_new].ptr(),
                &mut s,
            )
        }
    };
    // 10 outer + 10 x 3 inner iterations = 40.
    run(10, 40).unwrap();
    // SAFETY: the rule wrote the new long.
    assert_eq!(
        unsafe { *(world.new_globals[&s_new].ptr() as *const i64) },
        165
    );
    let e = run(10, 39).unwrap_err();
    assert_eq!(&spec[e.span.start..e.span.end], "0..3");
    assert!(
        e.message.starts_with("a loop of 3 iterations would pass"),
        "{e}"
    );
    let e = run(1 << 40, 1 << 32).unwrap_err();
    assert_eq!(&spec[e.span.start..e.span.end], "0..old::n");
    assert_eq!(e.line, 4);
    assert!(
        e.message.starts_with("a loop of 1099511627776 iterations"),
        "{e}"
    );
    // An empty or backward range costs nothing.
    run(-5, 0).unwrap();
}
