//! Compiles the C half of the runtime (`c/abi.c`, `c/root.c`, `c/wrap.c`) into a static library
//! that rustc bundles into both the staticlib and the rlib. It deliberately does nothing else:
//! no bindgen, no feature detection.

fn main() {
    println!("cargo:rerun-if-changed=c/abi.c");
    println!("cargo:rerun-if-changed=c/root.c");
    println!("cargo:rerun-if-changed=c/wrap.c");
    println!("cargo:rerun-if-changed=include/upstare_rt.h");
    cc::Build::new()
        .file("c/abi.c")
        .file("c/root.c")
        .file("c/wrap.c")
        .include("include")
        .opt_level(2)
        .flag_if_supported("-fno-omit-frame-pointer")
        .warnings(true)
        .extra_warnings(true)
        .compile("upstare_rt_c");
}
