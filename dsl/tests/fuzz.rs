//! The parser and the checker never panic: random specs (token soup and grammar-shaped
//! generation) and mutations of every spec in `spec/`, checked against a real pair of versions,
//! for a bounded time (`UPSTARE_FUZZ_SECS`, 10 by default; the seed is `UPSTARE_FUZZ_SEED` or
//! the clock, printed so that a failure can be replayed).
//!
//! An input that panics is saved as `dsl/tests/regress/crash-<hash>.upd` and the test fails;
//! every file there is checked again on each run (`regressions_do_not_panic`), so once-crashing
//! inputs stay covered after the fix.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use upstare_meta::Module;

/// xorshift64*: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const TOKENS: &[&str] = &[
    "upstare",
    "1",
    "option",
    "deadline",
    "=",
    "200ms",
    "type",
    "struct",
    "union",
    "enum",
    "node",
    "cell",
    "->",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    ",",
    ".",
    "field",
    "init",
    "global",
    "hits",
    "total",
    "cells",
    "head",
    "started",
    "count",
    "prog.c/walk/count",
    "function",
    "walk",
    "other",
    "inc",
    "main",
    "frame",
    "@",
    "loop#1",
    "entry",
    "call:cb#1",
    "call:*#1",
    "wait",
    "thread",
    "layout",
    "opaque",
    "string",
    "fnptr",
    "case",
    "=>",
    "else",
    "nul",
    "assert",
    "\"msg\"",
    "let",
    "if",
    "for",
    "in",
    "..",
    "as",
    "sizeof",
    "old",
    "new",
    "base",
    "new_base",
    "old::",
    "new::",
    "key",
    "weight",
    "next",
    "data",
    "label",
    "flags",
    "color",
    "tag",
    "v",
    "i",
    "d",
    "sum",
    "n",
    "+",
    "-",
    "*",
    "/",
    "%",
    "<<",
    ">>",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "!=",
    "&&",
    "||",
    "&",
    "|",
    "^",
    "!",
    "~",
    "?",
    ":",
    "0",
    "42",
    "0xff",
    "1.5",
    "'a'",
    "null",
    "true",
    "migrate",
    "migrate_str",
    "migrate_array",
    "newfn",
    "oldfn",
    "\"inc\"",
    "memcpy",
    "strlen",
    "strdup",
    "now_ms",
    "min",
    "max",
    "alloc",
    "int",
    "long",
    "unsigned",
    "char",
    "void",
    "u64",
    "f32",
    "<",
    ">",
    "T",
    "+=",
    "//c\n",
    "/*c*/",
    "\n",
];

const PLACES: &[&str] = &[
    "old",
    "new",
    "old.key",
    "new.key",
    "old.next",
    "new.next",
    "old.next->key",
    "old.label",
    "old.data",
    "old::hits",
    "new::total",
    "old::cells[1].v.d",
    "new.color",
    "base.key",
    "old.sum",
    "new.sum",
    "old.i",
    "old::head->next",
    "x",
    "old[0]",
    "new[1].tag",
];

fn expr(r: &mut Rng, depth: u32) -> String {
    if depth == 0 {
        return match r.below(4) {
            0 => r.pick(PLACES).to_string(),
            1 => r
                .pick(&[
                    "0",
                    "1",
                    "-1",
                    "0x7fffffff",
                    "18446744073709551615",
                    "2.5",
                    "'c'",
                ])
                .into(),
            2 => r
                .pick(&["null", "true", "\"s\"", "sizeof(struct node)"])
                .into(),
            _ => r.pick(PLACES).to_string(),
        };
    }
    let d = depth - 1;
    match r.below(9) {
        0 => format!(
            "{} {} {}",
            expr(r, d),
            r.pick(&["+", "-", "*", "/", "%", "<<", "==", "<", "&&", "||", "&", "^"]),
            expr(r, d)
        ),
        1 => format!("{}{}", r.pick(&["-", "!", "~", "*", "&"]), expr(r, d)),
        2 => format!("({})", expr(r, d)),
        3 => format!(
            "{} as {}",
            expr(r, d),
            r.pick(&[
                "int",
                "u8",
                "long",
                "struct node *",
                "void *",
                "char *",
                "double",
                "old struct node *"
            ])
        ),
        4 => format!("{} ? {} : {}", expr(r, d), expr(r, d), expr(r, d)),
        5 => format!(
            "{}({})",
            r.pick(&[
                "migrate",
                "migrate_str",
                "newfn",
                "oldfn",
                "strlen",
                "strdup",
                "min",
                "alloc",
                "now_ms",
                "memcpy",
                "max",
                "migrate_array",
                "nope"
            ]),
            (0..r.below(4))
                .map(|_| expr(r, d))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        6 => format!("{}[{}]", expr(r, d), expr(r, d)),
        7 => format!(
            "{}.{}",
            expr(r, d),
            r.pick(&["key", "next", "v", "d", "tag", "zz"])
        ),
        _ => format!("{}->{}", expr(r, d), r.pick(&["key", "next", "label"])),
    }
}

fn stmt(r: &mut Rng, depth: u32) -> String {
    let d = depth.saturating_sub(1);
    match r.below(7) {
        0 => format!("let x = {};", expr(r, depth)),
        1 => format!(
            "{} {} {};",
            r.pick(PLACES),
            r.pick(&["=", "+=", "<<=", "|="]),
            expr(r, depth)
        ),
        2 if depth > 0 => format!(
            "if {} {{ {} }} else {{ {} }}",
            expr(r, d),
            stmt(r, d),
            stmt(r, d)
        ),
        3 if depth > 0 => format!(
            "for x in {}..{} {{ {} }}",
            expr(r, d),
            expr(r, d),
            stmt(r, d)
        ),
        4 => format!("assert {}, \"m\";", expr(r, depth)),
        5 => format!("{};", expr(r, depth)),
        _ => format!("new = {};", expr(r, depth)),
    }
}

fn body(r: &mut Rng) -> String {
    let n = r.below(4);
    let stmts: Vec<String> = (0..n).map(|_| stmt(r, 3)).collect();
    format!("{{ {} }}", stmts.join(" "))
}

/// A spec shaped like the grammar, with names of the versions and some that do not exist.
fn generate(r: &mut Rng) -> String {
    let mut out = String::new();
    if r.below(3) == 0 {
        out.push_str("upstare 1;\n");
    }
    for _ in 0..r.below(6) + 1 {
        let item = match r.below(12) {
            0 => format!(
                "option {} = {};",
                r.pick(&["deadline", "quiesce", "heap", "x"]),
                r.pick(&["20ms", "3", "traverse", "\"s\""])
            ),
            1 => format!(
                "type {} {}",
                r.pick(&[
                    "struct node",
                    "struct cell",
                    "union val",
                    "struct nope",
                    "struct node -> struct cell"
                ]),
                body(r)
            ),
            2 => format!(
                "{}field struct node.{} {}",
                r.pick(&["", "init "]),
                r.pick(&["key", "color", "weight -> color", "zz"]),
                body(r)
            ),
            3 => format!(
                "{}global {} {}",
                r.pick(&["", "init "]),
                r.pick(&[
                    "hits",
                    "total",
                    "started",
                    "cells",
                    "head",
                    "prog.c/walk/count",
                    "count",
                    "hits -> total"
                ]),
                body(r)
            ),
            4 => format!(
                "function {} -> {};",
                r.pick(&["walk", "inc", "x"]),
                r.pick(&["walk", "other", "y"])
            ),
            5 => format!(
                "frame {} @ {} -> {} {}",
                r.pick(&["walk", "other", "main", "zz"]),
                r.pick(&["loop#1", "entry", "call:cb#1", "loop#9"]),
                r.pick(&["walk @ loop#1", "@ entry", "wait", "main @ call:walk#1"]),
                if r.below(2) == 0 { body(r) } else { ";".into() }
            ),
            6 => format!(
                "thread {} -> {};",
                r.pick(&["walk", "main"]),
                r.pick(&["walk", "other"])
            ),
            7 => format!(
                "layout struct node {{ {}: {}; }}",
                r.pick(&["next", "label", "data", "key", "zz"]),
                r.pick(&[
                    "opaque",
                    "string",
                    "fnptr",
                    "struct node*",
                    "struct node*[old.key]",
                    "char*[nul]",
                    "case { old.key == 0 => i; else => opaque; }",
                    "T*"
                ])
            ),
            8 => format!(
                "layout global {}: {};",
                r.pick(&["head", "cells", "hits"]),
                r.pick(&["struct node*", "opaque", "struct node*[3]"])
            ),
            9 => format!("assert {}, \"m\";", expr(r, 3)),
            10 => stress(r),
            _ => format!("global hits {}", body(r)),
        };
        out.push_str(&item);
        out.push('\n');
    }
    out
}

/// Inputs around the nesting and chain limits: long operator chains, deep brackets, long
/// `else if` and `?:` chains, prefix and postfix runs.
fn stress(r: &mut Rng) -> String {
    let n = r.below(260);
    match r.below(6) {
        0 => format!("assert {}1;", "old::hits + ".repeat(n)),
        1 => format!("assert {}1{};", "(".repeat(n), ")".repeat(n)),
        2 => format!(
            "global hits {{ {} {{ new = 2; }} }}",
            "if old == 1 { new = 1; } else ".repeat(n)
        ),
        3 => format!("assert {}0;", "1 ? 2 : ".repeat(n)),
        4 => format!("assert {}old::hits;", "-!~".repeat(n / 3 + 1)),
        _ => format!("assert old::head{}->key;", "->next".repeat(n)),
    }
}

fn soup(r: &mut Rng) -> String {
    (0..r.below(60) + 1)
        .map(|_| r.pick(TOKENS))
        .collect::<Vec<_>>()
        .join(" ")
}

fn mutate(r: &mut Rng, seed: &str) -> String {
    let mut b: Vec<u8> = seed.as_bytes().to_vec();
    for _ in 0..r.below(4) + 1 {
        let len = b.len();
        match r.below(5) {
            0 if len > 0 => {
                let at = r.below(len);
                let n = r.below(8).min(len - at);
                b.drain(at..at + n);
            }
            1 => {
                let at = r.below(len + 1);
                let t = r.pick(TOKENS).as_bytes().to_vec();
                b.splice(at..at, t);
            }
            2 if len > 1 => {
                let (x, y) = (r.below(len), r.below(len));
                b.swap(x, y);
            }
            3 if len > 0 => {
                let at = r.below(len);
                let n = r.below(40).min(len - at);
                let piece = b[at..at + n].to_vec();
                let to = r.below(len + 1);
                b.splice(to..to, piece);
            }
            _ => {
                let at = r.below(len + 1);
                b.insert(at, (r.next() & 0xff) as u8);
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn corpus() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["spec/cases", "spec/examples"] {
        let Ok(rd) = std::fs::read_dir(common::root().join(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            if let Ok(s) = std::fs::read_to_string(e.path().join("spec.upd")) {
                out.push(s);
            }
        }
    }
    out.sort();
    out
}

fn versions(tag: &str) -> (Module, Module) {
    let case = common::root().join("spec/cases/ok_expressions");
    let dir = common::scratch(tag);
    (
        common::build(&dir, "v1", &case.join("v1.c")),
        common::build(&dir, "v2", &case.join("v2.c")),
    )
}

/// Parses, checks and renders one input; `Err` with the panic message when anything panics.
fn run_one(src: &str, old: &Module, new: &Module) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| {
        let diags = match upstare_dsl::check(src, "fuzz.upd", old, new) {
            Ok((_, w)) => w,
            Err(d) => d,
        };
        let _ = upstare_dsl::render(&diags, src, "fuzz.upd", false);
        let _ = upstare_dsl::render(&diags, src, "fuzz.upd", true);
    }))
    .map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

fn regress_dir() -> PathBuf {
    common::root().join("dsl/tests/regress")
}

#[test]
fn random_and_mutated_specs_never_panic() {
    let secs: u64 = std::env::var("UPSTARE_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("UPSTARE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
        | 1;
    eprintln!("fuzz: seed {seed} (UPSTARE_FUZZ_SEED={seed} replays), {secs} s");
    let (old, new) = versions("fuzz");
    let seeds = corpus();
    let mut r = Rng(seed);
    let start = Instant::now();
    let mut runs = 0u64;
    // Silence the default panic message: a panic is reported below, with its input.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failure = None;
    while start.elapsed() < Duration::from_secs(secs) {
        let input = match r.below(4) {
            0 => soup(&mut r),
            1 => generate(&mut r),
            _ if !seeds.is_empty() => {
                let s = seeds[r.below(seeds.len())].clone();
                mutate(&mut r, &s)
            }
            _ => generate(&mut r),
        };
        runs += 1;
        if let Err(msg) = run_one(&input, &old, &new) {
            failure = Some((input, msg));
            break;
        }
    }
    std::panic::set_hook(hook);
    eprintln!(
        "fuzz: {runs} inputs in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    if let Some((input, msg)) = failure {
        let hash = input.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let path = regress_dir().join(format!("crash-{hash:016x}.upd"));
        let _ = std::fs::create_dir_all(regress_dir());
        let _ = std::fs::write(&path, &input);
        panic!(
            "check panicked ({msg}) on an input saved as {}",
            path.display()
        );
    }
}

#[test]
fn regressions_do_not_panic() {
    let (old, new) = versions("fuzz-regress");
    let mut files: Vec<PathBuf> = std::fs::read_dir(regress_dir())
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "upd"))
    {
        let src = String::from_utf8_lossy(&std::fs::read(f).expect("read regression")).into_owned();
        if let Err(msg) = run_one(&src, &old, &new) {
            panic!("{} panics again: {msg}", f.display());
        }
    }
}
