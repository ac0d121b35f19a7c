//! Parse + check time of a large spec against large versions (the benchmark):
//! `cargo run --release -p upstare-dsl --example bench_check [RULES TYPES GLOBALS]`, by default
//! 2,000 rules against versions of 5,000 types and 20,000 globals, built in memory.
//!
//! Prints the median of several runs for: the version diff alone, and parse + check (which
//! includes the diff).

use std::time::{Duration, Instant};

use upstare_meta::{
    Field, FieldLayout, FuncId, Function, Global, GlobalFlags, Local, LocalFlags, Module, Point,
    PointId, PointKey, Type, Unit,
};

/// A version with `types` structs and `globals` globals; `changed` says whether this is the
/// new version, in which every fifth struct's `b` narrows from `long` to `int` and every tenth
/// global from `int` to `short`.
fn version(types: usize, globals: usize, changed: bool) -> Module {
    let mut m = Module::default();
    m.units.push(Unit {
        source: "big.c".into(),
        producer: "bench".into(),
        format_version: 1,
    });
    for i in 0..types {
        let narrow = changed && i % 5 == 0;
        let f = |name: &str, ty: String, offset: u64, size: u64| Field {
            name: name.into(),
            ty,
            layout: FieldLayout::Bytes { offset, size },
        };
        m.types.push(Type {
            name: format!("struct t{i}"),
            size: 32,
            align: 8,
            fields: vec![
                f("a", "int".into(), 0, 4),
                if narrow {
                    f("b", "int".into(), 4, 4)
                } else {
                    f("b", "long".into(), 8, 8)
                },
                f("next", format!("struct t{} *", (i + 1) % types), 16, 8),
                f("name", "char [8]".into(), 24, 8),
            ],
        });
    }
    for i in 0..globals {
        let (ty, size) = match i % 4 {
            0 => (format!("struct t{}", i % types), 32),
            1 if changed && i % 10 == 1 => ("short".to_string(), 2),
            1 => ("int".to_string(), 4),
            2 => ("long".to_string(), 8),
            _ => (format!("struct t{} *", i % types), 8),
        };
        m.globals.push(Global {
            key: format!("g{i}"),
            name: format!("g{i}"),
            ty,
            size,
            align: size.min(8),
            flags: GlobalFlags::default(),
        });
    }
    // Function i has point i, its only one (ids are positions in their tables).
    for i in 0..200u32 {
        m.functions.push(Function {
            file: "big.c".into(),
            name: format!("f{i}"),
            line: 1,
            flags: Default::default(),
            points: vec![PointId(i)],
        });
        m.points.push(Point {
            function: FuncId(i),
            key: PointKey::Loop(1),
            index: 0,
            file: "big.c".into(),
            line: 2,
            record_size: 16,
            record_align: 8,
            locals: vec![Local {
                name: "i".into(),
                ty: "int".into(),
                offset: 0,
                size: 4,
                flags: LocalFlags::default(),
            }],
        });
    }
    m
}

/// `rules` rules: type rules for the narrowed structs, global rules for the narrowed globals,
/// then frame rules and field rules.
fn spec(rules: usize, types: usize, globals: usize) -> String {
    let mut out = String::from("upstare 1;\noption deadline = 200ms;\n");
    let mut n = 0;
    for i in (0..types).step_by(5) {
        if n >= rules / 2 {
            break;
        }
        out.push_str(&format!(
            "type struct t{i} {{\n    assert old.b <= 2147483647, \"too big\";\n    new.b = old.b as int;\n    if old.a < 0 {{ new.a = 0; }}\n}}\n"
        ));
        n += 1;
    }
    for i in (1..globals).step_by(20) {
        if n >= rules {
            break;
        }
        out.push_str(&format!("global g{i} {{ new = old as short; }}\n"));
        n += 1;
    }
    let mut f = 0;
    while n < rules {
        out.push_str(&format!(
            "frame f{} @ loop#1 -> f{} @ loop#1 {{ new.i = old.i + 1; }}\n",
            f % 200,
            f % 200
        ));
        f += 1;
        n += 1;
        if f >= 200 {
            break;
        }
    }
    let mut i = 0;
    while n < rules {
        out.push_str(&format!(
            "field struct t{}.a {{ new = old * 2; }}\n",
            i % types
        ));
        i += 1;
        n += 1;
    }
    out
}

/// "median M ms, best B ms": the best run is the least disturbed by other load.
fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "median {:>8.2} ms, best {:>8.2} ms",
        ms(v[v.len() / 2]),
        ms(v[0])
    )
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (rules, types, globals) = match args[..] {
        [r, t, g] => (r, t, g),
        _ => (2000, 5000, 20000),
    };
    let old = version(types, globals, false);
    let new = version(types, globals, true);
    let src = spec(rules, types, globals);
    // UPSTARE_BENCH_RUNS=1 under a profiler (callgrind counts are stable on a loaded machine).
    let runs: usize = std::env::var("UPSTARE_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let mut diff_t = Vec::new();
    let mut check_t = Vec::new();
    let mut given_t = Vec::new();
    let mut parse_t = Vec::new();
    let mut outcome = String::new();
    for _ in 0..runs {
        let t = Instant::now();
        let vd = upstare_meta::diff(&old, &new);
        diff_t.push(t.elapsed());
        let t = Instant::now();
        let ast = upstare_dsl::parse(&src);
        parse_t.push(t.elapsed());
        assert!(ast.is_ok());
        let t = Instant::now();
        let r = upstare_dsl::check_with_diff(&src, "big.upd", &old, &new, &vd);
        given_t.push(t.elapsed());
        assert!(r.is_ok());
        let t = Instant::now();
        let r = upstare_dsl::check(&src, "big.upd", &old, &new);
        check_t.push(t.elapsed());
        outcome = match r {
            Ok((s, w)) => format!(
                "ok: {} type rules, {} global rules, {} frame rules, {} warnings",
                s.types.len(),
                s.globals.len(),
                s.frames.len(),
                w.len()
            ),
            Err(d) => format!("{} diagnostics, first: {}", d.len(), d[0].message),
        };
    }
    println!(
        "{rules} rules, {types} types, {globals} globals ({} bytes of spec): {outcome}",
        src.len()
    );
    println!("runs: {runs}");
    println!("version diff alone:             {}", stats(diff_t));
    println!("parse alone:                    {}", stats(parse_t));
    println!("parse + check, given the diff:  {}", stats(given_t));
    println!("parse + check, diff included:   {}", stats(check_t));
}
