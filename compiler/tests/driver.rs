//! End-to-end tests of the `upstare-cc` executable: each test gets its own temporary directory,
//! writes a small C project there and runs the real binary (and the real C compiler) on it.
//!
//! Tests marked "needs the instrumenter" depend on `upstare_cc::instrument` doing its job (and
//! "needs the runtime" on `libupstare_runtime.a`, built on demand); the others set
//! `UPSTARE_NO_RUNTIME=1` and so exercise only the driver's plumbing. Expected dumps live in
//! `tests/data/dump/`; a missing expectation is written, `UPSTARE_BLESS=1` rewrites them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UPSTARE_CC: &str = env!("CARGO_BIN_EXE_upstare-cc");

/// A per-test directory and the way to run commands in it.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::Builder::new()
                .prefix("upstare-cc-test.")
                .tempdir()
                .unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> &Self {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
        self
    }

    /// A command run in the sandbox, with the environment of upstare-cc cleared of switches.
    fn cmd(&self, program: &str, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.args(args).current_dir(self.dir.path());
        for v in [
            "UPSTARE_CC",
            "UPSTARE_RUNTIME",
            "UPSTARE_KEEP_TEMPS",
            "UPSTARE_VERBOSE",
            "UPSTARE_NO_RUNTIME",
        ] {
            c.env_remove(v);
        }
        c
    }

    /// upstare-cc without the runtime or the instrumenter (plumbing only).
    fn plain(&self, args: &[&str]) -> Output {
        self.cmd(UPSTARE_CC, args)
            .env("UPSTARE_NO_RUNTIME", "1")
            .output()
            .unwrap()
    }

    /// upstare-cc as users run it.
    fn real(&self, args: &[&str]) -> Output {
        self.cmd(UPSTARE_CC, args)
            .env("UPSTARE_RUNTIME", runtime())
            .output()
            .unwrap()
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        self.cmd(program, args).output().unwrap()
    }
}

/// Asserts success and returns stdout.
#[track_caller]
fn ok(out: Output) -> String {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout.into_owned()
}

/// Asserts failure and returns stderr.
#[track_caller]
fn fails(out: Output) -> String {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        !out.status.success(),
        "should have failed:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stderr.into_owned()
}

/// The runtime archive, built with cargo if it is not there yet.
fn runtime() -> PathBuf {
    let path = Path::new(UPSTARE_CC).with_file_name("libupstare_runtime.a");
    if !path.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "upstare-runtime"])
            .status()
            .unwrap();
        assert!(
            status.success() && path.is_file(),
            "cannot build the runtime: cargo build -p upstare-runtime"
        );
    }
    path
}

/// Compares `actual` with `tests/data/dump/NAME`, writing it when missing or when blessing.
#[track_caller]
fn check_expected(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/dump")
        .join(name);
    if std::env::var_os("UPSTARE_BLESS").is_some() || !path.exists() {
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap();
    assert_eq!(
        actual,
        expected,
        "{} differs (UPSTARE_BLESS=1 rewrites it)",
        path.display()
    );
}

/// A two-file project with a header, built by make's usual rules with dependency files.
fn two_file_project(s: &Sandbox) {
    s.write("Makefile", "CFLAGS = -O2 -g -Wall -MMD -MP\nLDLIBS = -lm\n\nprog: main.o util.o\n\t$(CC) $(LDFLAGS) -o $@ main.o util.o $(LDLIBS)\n\nclean:\n\trm -f prog *.o *.d\n\n-include main.d util.d\n")
        .write("util.h", "#define SCALE 3\nint scaled(int x);\n")
        .write("util.c", "#include \"util.h\"\nint scaled(int x) { return SCALE * x; }\n")
        .write(
            "main.c",
            "#include <stdio.h>\n#include <math.h>\n#include \"util.h\"\n\
             int main(int argc, char **argv) {\n  int sum = 0;\n  for (int i = 0; i < 10; i++) sum += scaled(i);\n\
             printf(\"%d %.0f\\n\", sum, sqrt(16.0 * argc));\n  return argv == 0;\n}\n",
        );
}

#[test]
fn make_builds_a_project_with_separate_compilation() {
    let s = Sandbox::new();
    two_file_project(&s);
    let cc = format!("CC={UPSTARE_CC}");
    let make = |args: &[&str]| {
        s.cmd("make", args)
            .env("UPSTARE_NO_RUNTIME", "1")
            .output()
            .unwrap()
    };
    ok(make(&[&cc]));
    assert_eq!(
        ok(s.run(&s.path("prog").display().to_string(), &[])),
        "135 4\n"
    );
    // The dependency files name the object as target and the header as prerequisite.
    let deps = fs::read_to_string(s.path("main.d")).unwrap();
    assert!(deps.starts_with("main.o: main.c util.h"), "{deps}");
    assert!(
        deps.contains("\nutil.h:"),
        "-MP adds a phony target: {deps}"
    );
    // Changing the header rebuilds both objects.
    s.write("util.h", "#define SCALE 4\nint scaled(int x);\n");
    let out = ok(make(&[&cc]));
    assert!(out.contains("main.c") && out.contains("util.c"), "{out}");
    assert_eq!(
        ok(s.run(&s.path("prog").display().to_string(), &[])),
        "180 4\n"
    );
}

/// Needs the instrumenter and the runtime.
#[test]
fn make_builds_an_updatable_program() {
    let s = Sandbox::new();
    two_file_project(&s);
    ok(s.cmd("make", &[&format!("CC={UPSTARE_CC}")])
        .env("UPSTARE_RUNTIME", runtime())
        .output()
        .unwrap());
    assert_eq!(
        ok(s.run(&s.path("prog").display().to_string(), &[])),
        "135 4\n"
    );
    // Its metadata names both units and the user's main, and it exports the runtime ABI.
    let dump = ok(s.real(&["--dump-meta", "prog"]));
    assert!(
        dump.contains("unit main.c") && dump.contains("unit util.c"),
        "{dump}"
    );
    assert!(dump.contains("function main.c:main"), "{dump}");
    let dynsyms = ok(s.run("nm", &["-D", "--defined-only", "prog"]));
    assert!(
        dynsyms.contains(" __us_point") && dynsyms.contains(" __us_pending"),
        "{dynsyms}"
    );
}

/// Needs the instrumenter and the runtime archive (for its list of wrapped functions).
#[test]
fn update_module_exports_only_its_root_and_tables() {
    let s = Sandbox::new();
    two_file_project(&s);
    ok(s.real(&["-O2", "-shared", "-o", "v2.so", "main.c", "util.c"]));
    let defined = ok(s.run("nm", &["-D", "--defined-only", "v2.so"]));
    let names: Vec<&str> = defined
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    assert_eq!(names, ["__us_main", "__us_module_tables"], "{defined}");
    // `scaled` is extern across the module's units but local to the module.
    let all = ok(s.run("nm", &["v2.so"]));
    assert!(all.lines().any(|l| l.ends_with(" t scaled")), "{all}");
    assert!(ok(s.real(&["--dump-meta", "v2.so"])).contains("function util.c:scaled"));
}

#[test]
fn preprocessing_alone_behaves_like_cc() {
    let s = Sandbox::new();
    s.write("a.c", "#define TWICE(x) ((x) * 2)\nint v = TWICE(N);\n");
    let ours = ok(s.plain(&["-E", "-DN=21", "a.c"]));
    let theirs = ok(s.run("cc", &["-E", "-DN=21", "a.c"]));
    assert_eq!(ours, theirs);
    assert!(ours.contains("int v = ((21) * 2);"));
    // With -o, the output goes to the file; -E never instruments, with or without the runtime.
    ok(s.real(&["-E", "-DN=1", "a.c", "-o", "a.i"]));
    assert!(fs::read_to_string(s.path("a.i"))
        .unwrap()
        .contains("int v = ((1) * 2);"));
}

#[test]
fn preprocessing_errors_name_file_and_line() {
    let s = Sandbox::new();
    s.write("src/bad.c", "int ok;\n#include \"missing.h\"\nint x;\n");
    let err = fails(s.plain(&["-c", "src/bad.c", "-o", "bad.o"]));
    assert!(
        err.contains("src/bad.c:2:10: fatal error: missing.h"),
        "{err}"
    );
    assert!(!s.path("bad.o").exists());
}

/// Needs the instrumenter: its diagnostics are printed gcc-style and stop the unit.
#[test]
fn instrumenter_errors_name_file_and_line() {
    let s = Sandbox::new();
    s.write(
        "vla.c",
        "int f(int n) {\n  int a[n];\n  while (n-- > 0) a[n] = n;\n  return a[0];\n}\n",
    );
    let err = fails(s.real(&["-c", "vla.c", "-o", "vla.o"]));
    assert!(err.starts_with("vla.c:2:"), "{err}");
    assert!(err.contains(": error: variable-length array"), "{err}");
    assert!(!s.path("vla.o").exists());
}

#[test]
fn unknown_flags_reach_the_real_compiler() {
    let s = Sandbox::new();
    s.write("a.c", "int main(void) { return 0; }\n");
    // A flag upstare-cc does not know is handed over as is, so cc's own complaint appears.
    let err = fails(s.plain(&["-c", "--no-such-flag", "a.c"]));
    assert!(err.contains("--no-such-flag"), "{err}");
    // And one cc does know works: -v makes it describe itself.
    let out = s.plain(&["-v", "-c", "a.c", "-o", "a.o"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("gcc version"));
    ok(out);
    // Flags with a separate value keep it: --param's value is not taken for an input.
    ok(s.plain(&[
        "-O2",
        "--param",
        "max-inline-insns-single=10",
        "-Xlinker",
        "-O1",
        "a.c",
        "-o",
        "prog",
    ]));
    assert!(s.path("prog").exists());
}

#[test]
fn assembly_inputs_pass_through() {
    let s = Sandbox::new();
    s.write(
        "seven.s",
        "  .globl seven\n  .type seven,@function\nseven:\n  movl $7, %eax\n  ret\n",
    )
    .write(
        "main.c",
        "int seven(void);\nint main(void) { return seven(); }\n",
    );
    ok(s.plain(&["seven.s", "main.c", "-o", "prog"]));
    assert_eq!(
        s.run(&s.path("prog").display().to_string(), &[])
            .status
            .code(),
        Some(7)
    );
}

#[test]
fn dump_meta_of_hand_written_entries() {
    let s = Sandbox::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dump/entries.c");
    ok(s.run("cc", &["-c", &src.display().to_string(), "-o", "entries.o"]));
    check_expected("entries.txt", &ok(s.plain(&["--dump-meta", "entries.o"])));
    check_expected(
        "entries.json",
        &ok(s.plain(&["--dump-meta", "--json", "entries.o"])),
    );
}

#[test]
fn dump_meta_errors_are_explained() {
    let s = Sandbox::new();
    s.write("a.c", "int x;\n");
    ok(s.run("cc", &["-c", "a.c", "-o", "a.o"]));
    let err = fails(s.plain(&["--dump-meta", "a.o"]));
    assert_eq!(
        err,
        "upstare-cc: error: a.o: no `upstare_meta` section: not built by upstare-cc, or stripped\n"
    );
    let err = fails(s.plain(&["--dump-meta", "a.c"]));
    assert!(
        err.starts_with("upstare-cc: error: a.c: not an ELF file"),
        "{err}"
    );
}

#[test]
fn missing_runtime_is_a_clear_error() {
    let s = Sandbox::new();
    s.write("a.c", "int main(void) { return 0; }\n");
    let out = s
        .cmd(UPSTARE_CC, &["a.c"])
        .env("UPSTARE_RUNTIME", s.path("nowhere/libupstare_runtime.a"))
        .output()
        .unwrap();
    let err = fails(out);
    assert!(
        err.contains("build it with `cargo build -p upstare-runtime`"),
        "{err}"
    );
}

#[test]
fn temporaries_are_removed_or_kept_on_request() {
    let s = Sandbox::new();
    s.write("a.c", "int x;\n").write("tmp/.keep", "");
    let tmp = s.path("tmp");
    ok(s.cmd(UPSTARE_CC, &["-c", "a.c"])
        .env("UPSTARE_NO_RUNTIME", "1")
        .env("TMPDIR", &tmp)
        .output()
        .unwrap());
    assert!(s.path("a.o").exists());
    assert_eq!(fs::read_dir(&tmp).unwrap().count(), 1, "only .keep is left");
    let out = s
        .cmd(UPSTARE_CC, &["-c", "a.c"])
        .env("UPSTARE_NO_RUNTIME", "1")
        .env("UPSTARE_KEEP_TEMPS", "1")
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(out);
    assert!(
        err.starts_with("upstare-cc: keeping temporary files in "),
        "{err}"
    );
    assert_eq!(fs::read_dir(&tmp).unwrap().count(), 2);
}

#[test]
fn usage_errors_and_information() {
    let s = Sandbox::new();
    assert_eq!(fails(s.plain(&[])), "upstare-cc: error: no input files\n");
    assert!(fails(s.plain(&["-c", "a.c", "b.c", "-o", "x.o"])).contains("cannot specify '-o'"));
    assert!(ok(s.plain(&["--version"])).starts_with("upstare-cc "));
    assert!(ok(s.plain(&["--help"])).contains("--dump-meta"));
}
