//! Calls to blocking libc functions go to the runtime's wrappers (src/instrument/blocking.rs):
//! `tests/data/blocking/routes.c` is compiled with `upstare-cc -c` and the object's undefined
//! symbols say where each call goes (the points of such calls are checked by points.rs, with
//! `tests/data/points/blocking.c`). Every routed function in one unit (`blocking/all.c`) also
//! compiles without warnings, fortified or not.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSymbol};

const UPSTARE_CC: &str = env!("CARGO_BIN_EXE_upstare-cc");

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn compile(src: &Path, flags: &[&str], out: &Path) {
    let o = Command::new(UPSTARE_CC)
        .args(flags)
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(out)
        .output()
        .expect("spawn upstare-cc");
    assert!(
        o.status.success(),
        "upstare-cc {flags:?} -c {} failed:\n{}{}",
        src.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn undefined(obj: &Path) -> BTreeSet<String> {
    let bytes = std::fs::read(obj).expect("read object");
    let file = object::File::parse(&*bytes).expect("parse object");
    file.symbols()
        .filter(|s| s.is_undefined())
        .filter_map(|s| s.name().ok().map(str::to_string))
        .collect()
}

#[test]
fn blocking_calls_go_to_the_wrappers() {
    let work = tempfile::tempdir().expect("temp dir");
    let obj = work.path().join("blocking.o");
    compile(&data().join("blocking/routes.c"), &["-O2"], &obj);
    let u = undefined(&obj);
    for w in [
        "__us_w_read",                 // a call point
        "__us_w_sleep",                // in main
        "__us_w_pthread_mutex_lock",   // a call point
        "__us_w_pthread_mutex_unlock", // counted, also in an uninstrumented function
        "__us_wn_pthread_mutex_lock",  // statement expression, variadic function
    ] {
        assert!(u.contains(w), "{w} not referenced; undefined: {u:?}");
    }
    for plain in ["pthread_mutex_lock", "pthread_mutex_unlock", "sleep"] {
        assert!(!u.contains(plain), "{plain} still called directly: {u:?}");
    }
    // `read` passed as a value (and called through a parameter named `read`) stays libc's.
    assert!(u.contains("read"), "{u:?}");
}

#[test]
fn every_routed_function_compiles_without_warnings() {
    let work = tempfile::tempdir().expect("temp dir");
    let obj = work.path().join("all.o");
    let src = data().join("blocking/all.c");
    for flags in [
        &["-O2", "-Wall", "-Wextra", "-Werror"][..],
        &["-O2", "-D_FORTIFY_SOURCE=2", "-Wall", "-Wextra", "-Werror"][..],
        &["-O0", "-g", "-Wall", "-Wextra", "-Werror"][..],
    ] {
        compile(&src, flags, &obj);
        let u = undefined(&obj);
        let direct: Vec<&String> = u
            .iter()
            .filter(|s| {
                !s.starts_with("__us_")
                    && !s.starts_with("__start_")
                    && !s.starts_with("__stop_")
                    && !matches!(
                        s.as_str(),
                        "_GLOBAL_OFFSET_TABLE_" | "pthread_self" | "sigemptyset"
                    )
            })
            .collect();
        assert!(direct.is_empty(), "{flags:?}: called directly: {direct:?}");
    }
}
