//! Differential check of the lowering: random well-typed rule bodies over every C integer type
//! (and pointers into an array), written both as `.upd` and as C. The C is compiled by gcc
//! (`-O2 -fwrapv`: the language wraps on signed overflow, as the JIT does) and run; the spec is
//! checked and JIT-compiled and run on the same input bytes; every result field must hold the
//! same bytes. Seeded (`UPSTARE_DIFF_SEED`), bounded: 10 programs of 20 results, 6 inputs each.
//!
//! Operations C leaves undefined are kept out by construction: divisors are `(e & 15) + 1`,
//! shift counts `e & (width - 1)`, indexes masked into their arrays.

mod common;

use std::fmt::Write as _;
use std::process::Command;

use common::World;
use upstare_jit::Services;
use upstare_meta::FieldLayout;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
}

/// A C integer type.
#[derive(Debug, Clone, Copy, PartialEq)]
struct T {
    bytes: u8,
    signed: bool,
    boolean: bool,
}

const fn t(bytes: u8, signed: bool) -> T {
    T {
        bytes,
        signed,
        boolean: false,
    }
}

const BOOL: T = T {
    bytes: 1,
    signed: false,
    boolean: true,
};
const INT: T = t(4, true);
const LONG: T = t(8, true);

/// (field prefix, C type, type).
const TYPES: &[(&str, &str, T)] = &[
    ("c", "char", t(1, true)),
    ("sc", "signed char", t(1, true)),
    ("uc", "unsigned char", t(1, false)),
    ("ss", "short", t(2, true)),
    ("us", "unsigned short", t(2, false)),
    ("si", "int", t(4, true)),
    ("ui", "unsigned", t(4, false)),
    ("sl", "long", t(8, true)),
    ("ul", "unsigned long", t(8, false)),
    ("sll", "long long", t(8, true)),
    ("ull", "unsigned long long", t(8, false)),
    ("b", "_Bool", BOOL),
    ("s128", "__int128", t(16, true)),
    ("u128", "unsigned __int128", t(16, false)),
];

/// Cast targets: (`.upd` name, C name, type).
const CASTS: &[(&str, &str, T)] = &[
    ("i8", "signed char", t(1, true)),
    ("u8", "unsigned char", t(1, false)),
    ("i16", "short", t(2, true)),
    ("u16", "unsigned short", t(2, false)),
    ("i32", "int", t(4, true)),
    ("u32", "unsigned", t(4, false)),
    ("i64", "long", t(8, true)),
    ("u64", "unsigned long", t(8, false)),
    ("bool", "_Bool", BOOL),
    ("unsigned long long", "unsigned long long", t(8, false)),
    ("short", "short", t(2, true)),
    ("char", "char", t(1, true)),
];

fn promote(a: T) -> T {
    if a.bytes < 4 {
        INT
    } else {
        T {
            boolean: false,
            ..a
        }
    }
}

fn common_type(a: T, b: T) -> T {
    let (a, b) = (promote(a), promote(b));
    if a.signed == b.signed {
        return t(a.bytes.max(b.bytes), a.signed);
    }
    let (u, s) = if a.signed { (b, a) } else { (a, b) };
    if u.bytes >= s.bytes {
        u
    } else {
        s
    }
}

/// An expression in both languages.
struct E {
    upd: String,
    c: String,
    ty: T,
}

struct Gen {
    rng: Rng,
    /// Input fields: (name, type).
    fields: Vec<(String, T)>,
}

impl Gen {
    fn leaf(&mut self) -> E {
        if self.rng.chance(30) {
            return self.literal();
        }
        let (n, ty) = self.fields[self.rng.below(self.fields.len())].clone();
        E {
            upd: format!("old.{n}"),
            c: format!("old->{n}"),
            ty,
        }
    }

    fn literal(&mut self) -> E {
        const VALUES: &[u64] = &[
            0,
            1,
            2,
            3,
            7,
            31,
            32,
            63,
            64,
            127,
            128,
            255,
            256,
            32767,
            32768,
            65535,
            2147483647,
            2147483648,
            4294967295,
            4294967296,
            9223372036854775807,
        ];
        let v = if self.rng.chance(70) {
            VALUES[self.rng.below(VALUES.len())]
        } else {
            self.rng.next() >> self.rng.below(64)
        };
        let hex = self.rng.chance(30);
        let suffix = ["", "u", "l", "ul"][self.rng.below(4)];
        // A decimal literal without `u` past LONG_MAX has no C type; keep those in hex.
        let hex = hex || (v > i64::MAX as u64 && !suffix.contains('u'));
        let text = if hex {
            format!("{v:#x}{suffix}")
        } else {
            format!("{v}{suffix}")
        };
        let unsigned = suffix.contains('u');
        let long = suffix.contains('l');
        let ty = match (unsigned, long) {
            (true, true) => t(8, false),
            (true, false) if v <= u32::MAX as u64 => t(4, false),
            (true, false) => t(8, false),
            (false, true) if v <= i64::MAX as u64 => LONG,
            (false, true) => t(8, false),
            (false, false) if v <= i32::MAX as u64 => INT,
            (false, false) if hex && v <= u32::MAX as u64 => t(4, false),
            (false, false) if v <= i64::MAX as u64 => LONG,
            (false, false) => t(8, false),
        };
        E {
            upd: text.clone(),
            c: text,
            ty,
        }
    }

    /// An index in 0..=mask.
    fn masked(&mut self, depth: u32, mask: u32) -> (String, String) {
        let e = self.expr(depth);
        (
            format!("(({}) & {mask})", e.upd),
            format!("(({}) & {mask})", e.c),
        )
    }

    fn expr(&mut self, depth: u32) -> E {
        if depth == 0 || self.rng.chance(15) {
            return self.leaf();
        }
        let d = depth - 1;
        match self.rng.below(16) {
            0 => {
                let e = self.expr(d);
                let op = ["-", "~", "!"][self.rng.below(3)];
                let ty = if op == "!" { INT } else { promote(e.ty) };
                E {
                    upd: format!("({op}{})", e.upd),
                    c: format!("({op}{})", e.c),
                    ty,
                }
            }
            1..=5 => {
                let (a, b) = (self.expr(d), self.expr(d));
                let op = ["+", "-", "*", "&", "|", "^", "+", "-"][self.rng.below(8)];
                E {
                    upd: format!("({} {op} {})", a.upd, b.upd),
                    c: format!("({} {op} {})", a.c, b.c),
                    ty: common_type(a.ty, b.ty),
                }
            }
            6 => {
                let (a, b) = (self.expr(d), self.expr(d));
                let op = ["==", "!=", "<", "<=", ">", ">=", "&&", "||"][self.rng.below(8)];
                E {
                    upd: format!("({} {op} {})", a.upd, b.upd),
                    c: format!("({} {op} {})", a.c, b.c),
                    ty: INT,
                }
            }
            7 => {
                let (a, b) = (self.expr(d), self.expr(d));
                let op = ["/", "%"][self.rng.below(2)];
                let ty = common_type(a.ty, b.ty);
                E {
                    upd: format!("({} {op} ((({}) & 15) + 1))", a.upd, b.upd),
                    c: format!("({} {op} ((({}) & 15) + 1))", a.c, b.c),
                    ty: common_type(ty, INT),
                }
            }
            8 => {
                let a = self.expr(d);
                let pt = promote(a.ty);
                let (bu, bc) = self.masked(d, u32::from(pt.bytes) * 8 - 1);
                let op = ["<<", ">>"][self.rng.below(2)];
                E {
                    upd: format!("({} {op} {bu})", a.upd),
                    c: format!("({} {op} {bc})", a.c),
                    ty: pt,
                }
            }
            9 | 10 => {
                let e = self.expr(d);
                let (u, c, ty) = CASTS[self.rng.below(CASTS.len())];
                E {
                    upd: format!("(({}) as {u})", e.upd),
                    c: format!("(({c})({}))", e.c),
                    ty,
                }
            }
            11 => {
                let (c, a, b) = (self.expr(d), self.expr(d), self.expr(d));
                E {
                    upd: format!("({} ? {} : {})", c.upd, a.upd, b.upd),
                    c: format!("({} ? {} : {})", c.c, a.c, b.c),
                    ty: common_type(a.ty, b.ty),
                }
            }
            12 => {
                let (a, b) = (self.expr(d), self.expr(d));
                let min = self.rng.chance(50);
                let ty = common_type(a.ty, b.ty);
                let f = if min { "min" } else { "max" };
                let cmp = if min { "<" } else { ">" };
                E {
                    upd: format!("{f}({}, {})", a.upd, b.upd),
                    c: format!("(({a}) {cmp} ({b}) ? ({a}) : ({b}))", a = a.c, b = b.c),
                    ty,
                }
            }
            13 => {
                let (iu, ic) = self.masked(d, 7);
                if self.rng.chance(50) {
                    E {
                        upd: format!("old.arr[{iu}]"),
                        c: format!("old->arr[{ic}]"),
                        ty: INT,
                    }
                } else {
                    E {
                        upd: format!("old.larr[{iu}]"),
                        c: format!("old->larr[{ic}]"),
                        ty: LONG,
                    }
                }
            }
            14 => {
                let (iu, ic) = self.masked(d, 3);
                match self.rng.below(3) {
                    0 => E {
                        upd: format!("old.p[{iu}]"),
                        c: format!("old->p[{ic}]"),
                        ty: INT,
                    },
                    1 => E {
                        upd: format!("*(old.lp + {iu})"),
                        c: format!("*(old->lp + {ic})"),
                        ty: LONG,
                    },
                    _ => E {
                        upd: format!("(old.q - (old.p + {iu}))"),
                        c: format!("(old->q - (old->p + {ic}))"),
                        ty: LONG,
                    },
                }
            }
            _ => {
                let (iu, ic) = self.masked(d, 3);
                let op = ["<", "<=", "==", "!=", ">", ">="][self.rng.below(6)];
                E {
                    upd: format!("((old.p + {iu}) {op} old.q)"),
                    c: format!("((old->p + {ic}) {op} old->q)"),
                    ty: INT,
                }
            }
        }
    }
}

fn c_name(ty: T) -> &'static str {
    TYPES
        .iter()
        .find(|(_, _, x)| *x == ty && !matches!(x.bytes, 1 if x.signed))
        .or_else(|| TYPES.iter().find(|(_, _, x)| *x == ty))
        .map(|(_, c, _)| *c)
        .expect("a C type")
}

const RESULTS: usize = 20;
const PROGRAMS: usize = 10;
const INPUTS: usize = 6;

/// The old struct: two fields of every type, and arrays for the pointers.
fn input_fields() -> Vec<(String, &'static str, T)> {
    let mut v = Vec::new();
    for k in 0..2 {
        for (p, c, ty) in TYPES {
            v.push((format!("{p}{k}"), *c, *ty));
        }
    }
    v
}

fn struct_text(fields: &[(String, &str, T)], results: &[(String, T)]) -> String {
    let mut s = String::from("struct s {\n");
    for (n, c, _) in fields {
        let _ = writeln!(s, "    {c} {n};");
    }
    s.push_str("    int arr[8];\n    long larr[8];\n    int *p;\n    int *q;\n    long *lp;\n");
    for (n, ty) in results {
        let _ = writeln!(s, "    {} {n};", c_name(*ty));
    }
    s.push_str("};\n");
    s
}

/// upstare-cc does not parse `__int128`: its versions declare `long double` (the same size
/// and alignment on x86-64) in those fields, and the metadata's type text is put back.
fn for_upstare_cc(text: &str) -> String {
    text.replace("unsigned __int128 ", "long double ")
        .replace("__int128 ", "long double ")
}

fn restore_int128(
    m: &mut upstare_meta::Module,
    fields: &[(String, &str, T)],
    results: &[(String, T)],
) {
    let wide: std::collections::HashMap<String, &str> = fields
        .iter()
        .map(|(n, c, _)| (n.clone(), *c))
        .chain(results.iter().map(|(n, t)| (n.clone(), c_name(*t))))
        .filter(|(_, c)| c.contains("__int128"))
        .collect();
    let rec = m.find_type("struct s").expect("struct s");
    let mut t = m.types[rec].clone();
    for f in &mut t.fields {
        if let Some(c) = wide.get(&f.name) {
            assert_eq!(f.ty, "long double", "{}", f.name);
            f.ty = c.to_string();
        }
    }
    let mut types = upstare_meta::Table::new();
    for (id, ty) in m.types.iter() {
        types.push(if id == rec { t.clone() } else { ty.clone() });
    }
    m.types = types;
}

/// Random input bytes for the old object (pointers are set later): `_Bool`s hold 0 or 1.
fn input_bytes(rng: &mut Rng, world: &World, size: usize) -> Vec<u8> {
    let rec = world.old.find_type("struct s").expect("struct s");
    let mut b = vec![0u8; size];
    for f in &world.old.types[rec].fields {
        let FieldLayout::Bytes { offset, size } = f.layout else {
            continue;
        };
        if f.ty.contains('*') {
            continue;
        }
        let (o, n) = (offset as usize, size as usize);
        if f.ty == "_Bool" {
            b[o] = (rng.next() & 1) as u8;
            continue;
        }
        for byte in &mut b[o..o + n] {
            *byte = rng.next() as u8;
        }
        // Edge values often: all ones, zero, the sign bit alone, small numbers.
        match rng.below(6) {
            0 => b[o..o + n].fill(0xff),
            1 => b[o..o + n].fill(0),
            2 => {
                b[o..o + n].fill(0);
                b[o + n - 1] = 0x80;
            }
            3 => {
                b[o..o + n].fill(0);
                b[o] = rng.next() as u8 & 0x1f;
            }
            _ => {}
        }
    }
    b
}

fn offset_of(m: &upstare_meta::Module, field: &str) -> usize {
    let rec = m.find_type("struct s").expect("struct s");
    m.types[rec]
        .fields
        .iter()
        .find_map(|f| match f.layout {
            FieldLayout::Bytes { offset, .. } if f.name == field => Some(offset as usize),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no field {field}"))
}

#[test]
fn jit_agrees_with_gcc() {
    let seed = std::env::var("UPSTARE_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_u64);
    let dir = common::scratch("differential");
    let fields = input_fields();
    let v1 = format!("{}struct s g;\n", struct_text(&fields, &[]));
    let mut old = common::build_text(&dir, "v1", &for_upstare_cc(&v1));
    restore_int128(&mut old, &fields, &[]);
    let mut rng = Rng(seed | 1);
    let mut failures = Vec::new();
    let mut checked = 0;
    for prog in 0..PROGRAMS {
        let mut g = Gen {
            rng: Rng(rng.next() | 1),
            fields: fields.iter().map(|(n, _, t)| (n.clone(), *t)).collect(),
        };
        // Result fields of random types, and the body assigning them.
        let results: Vec<(String, T)> = (0..RESULTS)
            .map(|k| (format!("r{k}"), TYPES[g.rng.below(TYPES.len())].2))
            .collect();
        let mut upd = String::from("upstare 1;\ntype struct s {\n");
        let mut c_body = String::new();
        let mut exprs = Vec::new();
        for (k, (r, rty)) in results.iter().enumerate() {
            let e = g.expr(4);
            exprs.push(e.upd.clone());
            match g.rng.below(6) {
                0 => {
                    let c = g.expr(2);
                    let e2 = g.expr(3);
                    let _ = writeln!(
                        upd,
                        "    if {} {{ new.{r} = {}; }} else {{ new.{r} = {}; }}",
                        c.upd, e.upd, e2.upd
                    );
                    let _ = writeln!(
                        c_body,
                        "    if ({}) new->{r} = {}; else new->{r} = {};",
                        c.c, e.c, e2.c
                    );
                }
                1 => {
                    let (au, ac) = if rty.bytes == 16 || rty.boolean {
                        ("i64", "long")
                    } else {
                        let (u, c, _) = CASTS[g.rng.below(8)];
                        (u, c)
                    };
                    let _ = writeln!(
                        upd,
                        "    let acc{k}: {au} = 0;\n    for i in 0..8 {{ acc{k} += old.arr[i] * ({}); }}\n    new.{r} = acc{k};",
                        e.upd
                    );
                    let _ = writeln!(
                        c_body,
                        "    {{ {ac} acc = 0; for (int i = 0; i < 8; i++) acc += old->arr[i] * ({}); new->{r} = acc; }}",
                        e.c
                    );
                }
                _ => {
                    let _ = writeln!(upd, "    new.{r} = {};", e.upd);
                    let _ = writeln!(c_body, "    new->{r} = {};", e.c);
                }
            }
        }
        upd.push_str("}\n");
        let v2 = format!("{}struct s g;\n", struct_text(&fields, &results));
        let pdir = dir.join(format!("p{prog}"));
        std::fs::create_dir_all(&pdir).unwrap();
        let mut new = common::build_text(&pdir, "v2", &for_upstare_cc(&v2));
        restore_int128(&mut new, &fields, &results);
        let spec = match upstare_dsl::check(&upd, "diff.upd", &old, &new) {
            Ok((s, _)) => s,
            Err(d) => panic!(
                "program {prog}: the generated spec does not check:\n{}\n{upd}",
                upstare_dsl::render(&d, &upd, "diff.upd", false)
            ),
        };
        let world = World::new(old.clone(), new);
        let compiled = upstare_jit::compile(&spec, &world.old, &world.new, &world)
            .unwrap_or_else(|e| panic!("program {prog}: {e}\n{upd}"));
        let (_, rule) = compiled.type_rules().next().expect("one type rule");
        let old_size = world
            .old
            .size_of(&upstare_meta::ctype::parse("struct s"))
            .unwrap() as usize;
        let new_size = world
            .new
            .size_of(&upstare_meta::ctype::parse("struct s"))
            .unwrap() as usize;

        // The C reference: the same inputs, the same body.
        let inputs: Vec<Vec<u8>> = (0..INPUTS)
            .map(|_| input_bytes(&mut g.rng, &world, old_size))
            .collect();
        let mut c = String::from("#include <stdio.h>\n#include <string.h>\n");
        c.push_str(&struct_text(&fields, &[]).replace("struct s", "struct s_old"));
        c.push_str(&struct_text(&fields, &results).replace("struct s", "struct s_new"));
        let _ = writeln!(
            c,
            "__attribute__((noinline)) static void rule(const struct s_old *old, struct s_new *new) {{\n{c_body}}}"
        );
        let _ = writeln!(
            c,
            "static const unsigned char inputs[{INPUTS}][{old_size}] = {{"
        );
        for inp in &inputs {
            let bytes: Vec<String> = inp.iter().map(|b| b.to_string()).collect();
            let _ = writeln!(c, "  {{{}}},", bytes.join(","));
        }
        c.push_str("};\nint main(void) {\n");
        let _ = writeln!(
            c,
            "  for (int k = 0; k < {INPUTS}; k++) {{\n    struct s_old o; struct s_new n;\n    memcpy(&o, inputs[k], sizeof o);\n    memset(&n, 0, sizeof n);\n    o.p = &o.arr[2]; o.q = &o.arr[5]; o.lp = &o.larr[1];\n    rule(&o, &n);"
        );
        for (r, _) in &results {
            let _ = writeln!(
                c,
                "    for (unsigned i = 0; i < sizeof n.{r}; i++) printf(\"%02x\", ((unsigned char *)&n.{r})[i]);\n    printf(\"\\n\");"
            );
        }
        c.push_str("  }\n  return 0;\n}\n");
        let cfile = pdir.join("ref.c");
        std::fs::write(&cfile, &c).unwrap();
        let exe = pdir.join("ref");
        let out = Command::new("gcc")
            .args(["-O2", "-fwrapv", "-w", "-o"])
            .arg(&exe)
            .arg(&cfile)
            .output()
            .expect("run gcc");
        assert!(
            out.status.success(),
            "gcc failed on program {prog}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new(&exe).output().expect("run the reference");
        let want = String::from_utf8_lossy(&out.stdout).into_owned();
        let want: Vec<&str> = want.lines().collect();
        assert_eq!(
            want.len(),
            INPUTS * RESULTS,
            "reference output of program {prog}"
        );

        // The JIT on the same bytes.
        let (p_off, q_off, lp_off) = (
            offset_of(&world.old, "p"),
            offset_of(&world.old, "q"),
            offset_of(&world.old, "lp"),
        );
        let (arr_off, larr_off) = (offset_of(&world.old, "arr"), offset_of(&world.old, "larr"));
        for (k, inp) in inputs.iter().enumerate() {
            let mut ob = common::Buf::new(old_size);
            let nb = common::Buf::new(new_size);
            ob.bytes_mut().copy_from_slice(inp);
            let base = ob.addr();
            for (off, to) in [
                (p_off, base + arr_off + 8),
                (q_off, base + arr_off + 20),
                (lp_off, base + larr_off + 8),
            ] {
                ob.bytes_mut()[off..off + 8].copy_from_slice(&(to as u64).to_le_bytes());
            }
            let mut s = Services::standalone();
            // SAFETY: both buffers have the layouts of the two `struct s`.
            if let Err(e) = unsafe { rule.run(ob.ptr(), nb.ptr(), &mut s) } {
                failures.push(format!("program {prog} input {k}: the rule failed: {e}"));
                continue;
            }
            for (j, (r, _)) in results.iter().enumerate() {
                let off = offset_of(&world.new, r);
                let size = world.new.types[world.new.find_type("struct s").unwrap()]
                    .fields
                    .iter()
                    .find_map(|f| match f.layout {
                        FieldLayout::Bytes { size, .. } if f.name == *r => Some(size as usize),
                        _ => None,
                    })
                    .unwrap();
                let got: String = nb.bytes()[off..off + size]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                checked += 1;
                if got != want[k * RESULTS + j] {
                    failures.push(format!(
                        "program {prog} input {k} new.{r} ({}): jit {got}, gcc {}\n    {}",
                        c_name(results[j].1),
                        want[k * RESULTS + j],
                        exprs[j]
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} results differ (seed {seed:#x}):\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{checked} results agree ({} expressions, seed {seed:#x})",
        PROGRAMS * RESULTS
    );
}
