//! Compiles the fault guard (`c/guard.c`: the signal handler and the sigsetjmp around rule calls)
//! into a static library bundled with the crate. Nothing else.

fn main() {
    println!("cargo:rerun-if-changed=c/guard.c");
    cc::Build::new()
        .file("c/guard.c")
        .opt_level(2)
        .warnings(true)
        .extra_warnings(true)
        .compile("upstare_jit_guard");
}
