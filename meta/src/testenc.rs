//! A test-only encoder of `upstare_meta` entries (the real producer is the C code upstare-cc
//! generates), and the decoder's unit tests: well-formed sections decode to the expected model,
//! corrupt ones give the expected error and never panic.

use crate::decode::{
    KIND_FUNCTION, KIND_GLOBAL, KIND_POINT, KIND_TYPE, KIND_TYPEDEF, KIND_UNIT, MAGIC,
};
use crate::{render_text, Callee, FieldLayout, MetaError, Module, PointKey};

/// Encodes one entry as FORMAT.md lays it out, padded to 8 bytes.
fn entry(kind: u32, numbers: &[u64], strings: &[&str]) -> Vec<u8> {
    let text: Vec<u8> = strings.iter().flat_map(|s| s.bytes().chain([0])).collect();
    let mut out = Vec::new();
    for word in [MAGIC, kind, numbers.len() as u32, text.len() as u32] {
        out.extend(word.to_le_bytes());
    }
    for n in numbers {
        out.extend(n.to_le_bytes());
    }
    out.extend(&text);
    out.resize(out.len().next_multiple_of(8), 0);
    out
}

/// A small but complete section: points come before their function and the linker left a zero
/// word between two entries, both of which a reader must accept.
fn sample() -> Vec<u8> {
    let mut s = Vec::new();
    s.extend(entry(KIND_UNIT, &[1], &["demo.c", "upstare-cc test"]));
    s.extend(entry(
        KIND_TYPE,
        &[8, 4, 2, 0, 4, 0, u64::MAX, 0, 3],
        &["struct pair", "a", "int", "bits", "unsigned int"],
    ));
    s.extend([0u8; 8]);
    s.extend(entry(
        KIND_GLOBAL,
        &[4, 4, 1 | 4],
        &["demo.c/limit", "limit", "const int"],
    ));
    s.extend(entry(
        KIND_POINT,
        &[1, 7, 16, 8, 2, 0, 4, 4, 8, 8, 1],
        &["work", "loop#1", "demo.c", "n", "int", "p", "int *"],
    ));
    s.extend(entry(
        KIND_POINT,
        &[0, 3, 4, 4, 1, 0, 4, 4],
        &["work", "entry", "demo.c", "n", "int"],
    ));
    s.extend(entry(KIND_FUNCTION, &[2, 3, 1], &["demo.c", "work"]));
    s
}

#[test]
fn sample_decodes() {
    let m = Module::from_section(&sample()).unwrap();
    assert_eq!(m.units.len(), 1);
    assert_eq!(
        m.types.iter().next().unwrap().1.fields[1].layout,
        FieldLayout::Bits { width: 3 }
    );
    let g = &m.globals[m.find_global("demo.c/limit").unwrap()];
    assert!(g.flags.internal && g.flags.constant && !g.flags.static_local);
    let f = m.find_function("demo.c", "work").unwrap();
    // Points are listed by index, whatever their order in the section.
    let keys: Vec<_> = m.functions[f]
        .points
        .iter()
        .map(|&p| m.points[p].key.clone())
        .collect();
    assert_eq!(keys, [PointKey::Entry, PointKey::Loop(1)]);
    let lp = m.find_point(f, &PointKey::Loop(1)).unwrap();
    assert_eq!(m.points[lp].function, f);
    assert!(m.points[lp].locals[1].flags.boxed);
    assert!(m
        .find_point(
            f,
            &PointKey::Call {
                callee: Callee::Indirect,
                nth: 1
            }
        )
        .is_none());
}

#[test]
fn sample_renders() {
    let text = render_text(&Module::from_section(&sample()).unwrap());
    let want = "\
# upstare metadata: 1 unit, 1 type, 1 global, 1 function, 2 points
unit demo.c (producer upstare-cc test, format 1)
type struct pair: size 8, align 4
  field a: int, offset 0, size 4
  field bits: unsigned int, bit-field of width 3
global limit: const int, key demo.c/limit, size 4, align 4, internal, const
function demo.c:work, line 3, 2 points, internal
  point 0 entry, line 3, record size 4, align 4
    local n: int, offset 0, size 4, parameter
  point 1 loop#1, line 7, record size 16, align 8
    local n: int, offset 0, size 4, parameter
    local p: int *, offset 8, size 8, boxed
";
    assert_eq!(text, want);
}

#[test]
fn empty_and_zero_sections_are_empty_modules() {
    assert_eq!(Module::from_section(&[]).unwrap(), Module::default());
    assert_eq!(Module::from_section(&[0; 20]).unwrap(), Module::default());
}

#[test]
fn bad_magic_is_located() {
    let mut s = sample();
    let at = entry(KIND_UNIT, &[1], &["demo.c", "upstare-cc test"]).len();
    s[at] = b'X';
    assert!(
        matches!(Module::from_section(&s), Err(MetaError::BadMagic { offset, .. }) if offset == at as u64)
    );
}

#[test]
fn truncation_is_reported() {
    let s = sample();
    let err = Module::from_section(&s[..s.len() - 20]).unwrap_err();
    assert!(matches!(err, MetaError::Truncated { .. }), "{err}");
    let err = Module::from_section(&s[..10]).unwrap_err();
    assert!(
        matches!(
            err,
            MetaError::Truncated {
                offset: 0,
                needed: 16,
                available: 10
            }
        ),
        "{err}"
    );
}

#[test]
fn bad_utf8_is_reported() {
    let s = entry(KIND_UNIT, &[1], &["d\u{e9}mo.c", "p"]);
    let mut bad = s.clone();
    let at = bad.iter().position(|&b| b == 0xc3).unwrap();
    bad[at] = 0xff;
    assert!(
        matches!(Module::from_section(&bad), Err(MetaError::BadUtf8 { offset }) if offset == at as u64)
    );
    assert_eq!(
        Module::from_section(&s).unwrap().units[crate::UnitId(0)].source,
        "d\u{e9}mo.c"
    );
}

#[test]
fn wrong_counts_are_reported() {
    let cases = [
        entry(KIND_UNIT, &[1], &["only one string"]),
        entry(
            KIND_TYPE,
            &[8, 4, 2, 0, 4, 0],
            &["struct s", "a", "int", "b", "int"],
        ),
        entry(KIND_TYPE, &[8, 4, u64::MAX], &["struct s"]),
        entry(KIND_TYPE, &[8, 4], &["struct s"]),
        entry(KIND_POINT, &[0, 1, 0, 1, 3], &["f", "entry", "a.c"]),
        entry(KIND_GLOBAL, &[4, 4], &["k", "n", "int"]),
        entry(KIND_TYPEDEF, &[8, 8], &["name", "a.c"]),
        entry(KIND_TYPEDEF, &[8], &["name", "a.c", "long"]),
        // A function declaring two points of which the section holds one.
        [
            entry(KIND_FUNCTION, &[2, 1, 0], &["a.c", "f"]),
            entry(KIND_POINT, &[0, 1, 0, 1, 0], &["f", "entry", "a.c"]),
        ]
        .concat(),
    ];
    for (i, s) in cases.iter().enumerate() {
        let err = Module::from_section(s).unwrap_err();
        assert!(
            matches!(err, MetaError::WrongCount { .. }),
            "case {i}: {err}"
        );
    }
}

#[test]
fn inconsistent_entries_are_reported() {
    let cases = [
        (
            entry(KIND_POINT, &[0, 1, 0, 1, 0], &["f", "entry", "a.c"]),
            "has no function entry",
        ),
        (
            entry(KIND_UNIT, &[1], &["a.c", "p"])
                .into_iter()
                .chain(entry(7, &[1], &["x"]))
                .collect(),
            "unknown entry kind 7",
        ),
        (
            [
                entry(KIND_FUNCTION, &[1, 1, 0], &["a.c", "f"]),
                entry(KIND_POINT, &[0, 1, 0, 1, 0], &["f", "exit", "a.c"]),
            ]
            .concat(),
            "`exit` is not a point key",
        ),
        (
            [
                entry(KIND_FUNCTION, &[1, 1, 0], &["a.c", "f"]),
                entry(KIND_POINT, &[3, 1, 0, 1, 0], &["f", "entry", "a.c"]),
            ]
            .concat(),
            "point 3 of `f`, which declares 1 points",
        ),
        (
            [
                entry(KIND_FUNCTION, &[2, 1, 0], &["a.c", "f"]),
                entry(KIND_POINT, &[1, 1, 0, 1, 0], &["f", "entry", "a.c"]),
                entry(KIND_POINT, &[1, 1, 0, 1, 0], &["f", "loop#1", "a.c"]),
            ]
            .concat(),
            "point 1 of `f` appears twice",
        ),
        (
            entry(KIND_TYPE, &[4, 4, 1, 0, 4, 2], &["struct s", "a", "int"]),
            "neither a field nor a bit-field",
        ),
        (
            entry(KIND_GLOBAL, &[4, 4, 8], &["k", "n", "int"]),
            "unknown flag bits 0x8",
        ),
        (
            entry(KIND_UNIT, &[2], &["a.c", "p"]),
            "version 2 of unit a.c",
        ),
    ];
    for (s, want) in cases {
        let err = Module::from_section(&s).unwrap_err().to_string();
        assert!(err.contains(want), "`{err}` should contain `{want}`");
    }
}

#[test]
fn corruptions_never_panic() {
    let s = sample();
    for len in 0..s.len() {
        let _ = Module::from_section(&s[..len]);
    }
    for at in 0..s.len() {
        for v in [0x00, 0xff, 0x80, 0x01] {
            let mut c = s.clone();
            c[at] ^= v;
            let _ = Module::from_section(&c);
        }
    }
}

#[test]
fn non_elf_input_is_an_elf_error() {
    assert!(matches!(
        Module::from_elf(b"not an elf file"),
        Err(MetaError::Elf(_))
    ));
}

#[test]
fn json_names_fields_plainly() {
    let json = crate::render_json(&Module::from_section(&sample()).unwrap());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["points"][0]["key"], "loop#1");
    assert_eq!(v["functions"][0]["points"], serde_json::json!([1, 0]));
    assert_eq!(
        v["types"][0]["fields"][1]["layout"],
        serde_json::json!({"bits": {"width": 3}})
    );
}

#[test]
fn typedefs_decode_render_and_serialise() {
    let mut s = sample();
    s.extend(entry(
        KIND_TYPEDEF,
        &[8, 8],
        &["handler", "demo.c", "int (*)(int)"],
    ));
    s.extend(entry(
        KIND_TYPEDEF,
        &[4, 4],
        &["u32", "demo.c", "unsigned int"],
    ));
    let m = Module::from_section(&s).unwrap();
    assert_eq!(m.typedefs.len(), 2);
    let id = m.find_typedef(Some("demo.c"), "u32").unwrap();
    assert_eq!(
        m.typedefs[id],
        crate::Typedef {
            name: "u32".into(),
            file: "demo.c".into(),
            target: "unsigned int".into(),
            size: 4,
            align: 4
        }
    );
    assert_eq!(m.find_typedef(None, "u32"), Some(id));
    assert_eq!(m.find_typedef(Some("other.c"), "u32"), Some(id));
    assert_eq!(m.find_typedef(None, "nothing"), None);
    assert_eq!(
        m.resolve(&crate::ctype::parse("u32 *")),
        crate::CType::Pointer(Box::new(crate::CType::Int {
            bytes: 4,
            signed: false
        }))
    );
    let text = render_text(&m);
    assert!(
        text.starts_with(
            "# upstare metadata: 1 unit, 1 type, 2 typedefs, 1 global, 1 function, 2 points\n"
        ),
        "{text}"
    );
    assert!(text.contains(
        "\ntypedef handler: int (*)(int), file demo.c, size 8, align 8\ntypedef u32: unsigned int, file demo.c, size 4, align 4\nglobal limit"
    ));
    let v: serde_json::Value = serde_json::from_str(&crate::render_json(&m)).unwrap();
    assert_eq!(v["typedefs"][1]["target"], "unsigned int");
    // Without typedefs the JSON form has no `typedefs` member, as before typedefs existed.
    let v: serde_json::Value = serde_json::from_str(&crate::render_json(
        &Module::from_section(&sample()).unwrap(),
    ))
    .unwrap();
    assert!(v.get("typedefs").is_none());
}

/// Builds a module entry by entry through the encoder and the decoder, as the compiler's C
/// output would: the diff and transfer tests describe two versions with it.
#[derive(Default)]
pub(crate) struct Builder {
    section: Vec<u8>,
}

/// A field of [`Builder::ty`]: name, type text, offset, size (`u64::MAX` offset and 0 size with
/// a width make a bit-field).
pub(crate) type FieldSpec<'a> = (&'a str, &'a str, u64, u64, u64);

/// A local of [`Builder::point`]: name, type text, offset, size, flags (1 boxed, 2 temporary,
/// 4 parameter).
pub(crate) type LocalSpec<'a> = (&'a str, &'a str, u64, u64, u64);

impl Builder {
    pub(crate) fn new() -> Self {
        Builder::default()
    }

    pub(crate) fn unit(mut self, file: &str) -> Self {
        self.section
            .extend(entry(KIND_UNIT, &[1], &[file, "upstare-cc test"]));
        self
    }

    /// A struct or union of plain fields: (name, type text, offset, size).
    pub(crate) fn ty(
        self,
        name: &str,
        size: u64,
        align: u64,
        fields: &[(&str, &str, u64, u64)],
    ) -> Self {
        let fields: Vec<FieldSpec> = fields.iter().map(|&(n, t, o, s)| (n, t, o, s, 0)).collect();
        self.ty_bits(name, size, align, &fields)
    }

    pub(crate) fn ty_bits(
        mut self,
        name: &str,
        size: u64,
        align: u64,
        fields: &[FieldSpec],
    ) -> Self {
        let mut numbers = vec![size, align, fields.len() as u64];
        let mut strings = vec![name];
        for &(n, t, o, s, w) in fields {
            numbers.extend([o, s, w]);
            strings.extend([n, t]);
        }
        self.section.extend(entry(KIND_TYPE, &numbers, &strings));
        self
    }

    pub(crate) fn typedef(mut self, name: &str, file: &str, target: &str, size: u64) -> Self {
        self.section.extend(entry(
            KIND_TYPEDEF,
            &[size, size.clamp(1, 8)],
            &[name, file, target],
        ));
        self
    }

    /// A global: its key (`name`, `FILE/name`, `FILE/fn/name`) and flags (1 internal, 2 static
    /// local, 4 const).
    pub(crate) fn global(mut self, key: &str, ty: &str, size: u64, flags: u64) -> Self {
        let name = key.rsplit('/').next().unwrap();
        self.section.extend(entry(
            KIND_GLOBAL,
            &[size, size.clamp(1, 8), flags],
            &[key, name, ty],
        ));
        self
    }

    /// A function with `npoints` points (give each with [`Builder::point`], indices from 0).
    pub(crate) fn function(mut self, file: &str, name: &str, npoints: u64, internal: bool) -> Self {
        self.section.extend(entry(
            KIND_FUNCTION,
            &[npoints, 1, u64::from(internal)],
            &[file, name],
        ));
        self
    }

    pub(crate) fn point(
        mut self,
        file: &str,
        function: &str,
        index: u64,
        key: &str,
        record_size: u64,
        locals: &[LocalSpec],
    ) -> Self {
        let mut numbers = vec![index, 10 + index, record_size, 8, locals.len() as u64];
        let mut strings = vec![function, key, file];
        for &(n, t, o, s, f) in locals {
            numbers.extend([o, s, f]);
            strings.extend([n, t]);
        }
        self.section.extend(entry(KIND_POINT, &numbers, &strings));
        self
    }

    pub(crate) fn build(&self) -> Module {
        Module::from_section(&self.section).expect("the test module decodes")
    }
}

#[test]
fn builder_round_trips() {
    let m = Builder::new()
        .unit("a.c")
        .ty(
            "struct s",
            16,
            8,
            &[("a", "int", 0, 4), ("p", "char *", 8, 8)],
        )
        .typedef("s_t", "a.c", "struct s", 16)
        .global("count", "long", 8, 0)
        .global("a.c/hidden", "int", 4, 1 | 4)
        .global("a.c/f/calls", "int", 4, 2)
        .function("a.c", "f", 1, true)
        .point(
            "a.c",
            "f",
            0,
            "loop#1",
            16,
            &[("x", "int", 0, 4, 4), ("p", "int *", 8, 8, 1)],
        )
        .build();
    let hidden = &m.globals[m.find_global("a.c/hidden").unwrap()];
    assert!(hidden.flags.internal && hidden.flags.constant);
    assert!(
        m.globals[m.find_global("a.c/f/calls").unwrap()]
            .flags
            .static_local
    );
    let f = m.find_function("a.c", "f").unwrap();
    assert!(m.functions[f].flags.internal);
    assert!(m.points[m.functions[f].points[0]].locals[0].flags.parameter);
    assert_eq!(
        m.record(&crate::ctype::parse("s_t")),
        m.find_type("struct s")
    );
}
