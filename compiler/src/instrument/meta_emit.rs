//! Prints metadata entries as C objects in the `upstare_meta` section (format: meta/FORMAT.md).
//!
//! Every number that is a layout fact is a C expression (`sizeof`, `__alignof__`,
//! `__builtin_offsetof`) so that the C compiler computes it; this module only chooses the
//! expressions and lays out the entry. It knows nothing of the AST.

use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

const MAGIC: &str = "0x54535055u";
pub const KIND_UNIT: u32 = 1;
pub const KIND_TYPE: u32 = 2;
pub const KIND_GLOBAL: u32 = 3;
pub const KIND_FUNCTION: u32 = 4;
pub const KIND_POINT: u32 = 5;
pub const KIND_TYPEDEF: u32 = 6;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A C string literal for `s` (octal escapes for anything unusual, so that a following digit
/// can never extend an escape).
pub fn c_string(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b" _-./:#*<>()[],+&=!~|^%@{};'$".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\{:03o}", b);
        }
    }
    out.push('"');
    out
}

/// One entry: `nums` are C expressions, `strs` plain strings.
pub fn entry(kind: u32, nums: &[String], strs: &[&str]) -> String {
    let mut bytes = String::new();
    let mut nbytes = 0;
    for s in strs {
        bytes.push_str(s);
        bytes.push('\0');
        nbytes += s.len() + 1;
    }
    // The literal holds all strings but the last NUL, which C adds.
    let lit = c_string(&bytes[..bytes.len() - 1]);
    let nums: Vec<String> = if nums.is_empty() {
        vec!["0".to_string()]
    } else {
        nums.to_vec()
    };
    let id = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "static const struct {{ unsigned m, k, n, s; unsigned long long v[{n}]; char t[{nbytes}]; }} __us_meta{id} __attribute__((section(\"upstare_meta\"), used, aligned(8))) = {{ {MAGIC}, {kind}, {n}, {nbytes}, {{ {} }}, {lit} }};\n",
        nums.join(", "),
        n = nums.len(),
    )
}

pub fn unit_entry(source: &str) -> String {
    entry(
        KIND_UNIT,
        &["1".into()],
        &[source, concat!("upstare-cc ", env!("CARGO_PKG_VERSION"))],
    )
}

pub fn function_entry(file: &str, name: &str, npoints: u32, line: u32, internal: bool) -> String {
    entry(
        KIND_FUNCTION,
        &[
            npoints.to_string(),
            line.to_string(),
            (internal as u32).to_string(),
        ],
        &[file, name],
    )
}

/// A function left uninstrumented although its callees may unwind (FORMAT.md flag 2): an
/// update cannot proceed while it is on a stack.
pub fn pinned_function_entry(file: &str, name: &str, line: u32, internal: bool) -> String {
    entry(
        KIND_FUNCTION,
        &[
            "0".to_string(),
            line.to_string(),
            ((internal as u32) | 2).to_string(),
        ],
        &[file, name],
    )
}

/// A global or static local: `expr` names it in C where the entry is emitted.
pub fn global_entry(key: &str, name: &str, ty: &str, expr: &str, flags: u32) -> String {
    entry(
        KIND_GLOBAL,
        &[
            format!("sizeof({expr})"),
            format!("__alignof__({expr})"),
            flags.to_string(),
        ],
        &[key, name, ty],
    )
}

/// A struct or union type: `cty` is its C spelling, fields are (name, type text, bit width).
pub fn type_entry(name: &str, cty: &str, fields: &[(String, String, Option<String>)]) -> String {
    let mut nums = vec![
        format!("sizeof({cty})"),
        format!("__alignof__({cty})"),
        fields.len().to_string(),
    ];
    let mut strs: Vec<&str> = vec![name];
    for (f, ty, bits) in fields {
        match bits {
            Some(w) => {
                nums.push("~0ull".into());
                nums.push("0".into());
                nums.push(w.clone());
            }
            None => {
                nums.push(format!("__builtin_offsetof({cty}, {f})"));
                nums.push(format!("sizeof((({cty} *)0)->{f})"));
                nums.push("0".into());
            }
        }
        strs.push(f);
        strs.push(ty);
    }
    entry(KIND_TYPE, &nums, &strs)
}

/// A point's record layout, emitted where `struct __us_r` is in scope. Locals are
/// (C name in the record, source name, type text, flags).
pub fn point_entry(
    func: &str,
    key: &str,
    file: &str,
    index: u32,
    line: u32,
    locals: &[(String, String, String, u64)],
) -> String {
    let mut nums = vec![
        index.to_string(),
        line.to_string(),
        "sizeof(struct __us_r)".to_string(),
        "__alignof__(struct __us_r)".to_string(),
        locals.len().to_string(),
    ];
    let mut strs: Vec<&str> = vec![func, key, file];
    for (c, name, ty, flags) in locals {
        nums.push(format!("__builtin_offsetof(struct __us_r, {c})"));
        nums.push(format!("sizeof(((struct __us_r *)0)->{c})"));
        nums.push(flags.to_string());
        strs.push(name);
        strs.push(ty);
    }
    entry(KIND_POINT, &nums, &strs)
}

/// An `upstare_addr` entry (meta/FORMAT.md): `addr` is a C address constant of the object.
pub fn addr_entry(kind: u32, addr: &str, key: &str, file: &str) -> String {
    let id = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "static struct __us_addr __us_addr{id} __attribute__((section(\"upstare_addr\"), used, aligned(8))) = {{ {kind}, (const void *)({addr}), {}, {} }};\n",
        c_string(key),
        c_string(file)
    )
}
pub const ADDR_GLOBAL: u32 = 1;
pub const ADDR_FUNCTION: u32 = 2;
pub const ADDR_DESCRIPTOR: u32 = 3;

/// A typedef of a user file: its target type as text, and its size when the C compiler can
/// compute it (`complete`).
pub fn typedef_entry(name: &str, file: &str, target: &str, complete: bool) -> String {
    let (size, align) = if complete {
        (format!("sizeof({name})"), format!("__alignof__({name})"))
    } else {
        ("0".to_string(), "0".to_string())
    };
    entry(KIND_TYPEDEF, &[size, align], &[name, file, target])
}

/// Defines `__us_module_tables` (upstare_rt.h) in every unit: weak, so that one copy survives
/// the link. A module's version script exports it and `-Bsymbolic` binds it locally; an
/// executable does not export it.
pub const MODULE_TABLES: &str = "extern const char __start_upstare_meta[] __attribute__((weak, visibility(\"hidden\")));\n\
extern const char __stop_upstare_meta[] __attribute__((weak, visibility(\"hidden\")));\n\
extern const char __start_upstare_addr[] __attribute__((weak, visibility(\"hidden\")));\n\
extern const char __stop_upstare_addr[] __attribute__((weak, visibility(\"hidden\")));\n\
extern const char __start_upstare_pinned[] __attribute__((weak, visibility(\"hidden\")));\n\
extern const char __stop_upstare_pinned[] __attribute__((weak, visibility(\"hidden\")));\n\
__attribute__((weak, used)) const void *__us_module_tables(int which) { switch (which) { case 0: return __start_upstare_meta; case 1: return __stop_upstare_meta; case 2: return __start_upstare_addr; case 3: return __stop_upstare_addr; case 4: return __start_upstare_pinned; case 5: return __stop_upstare_pinned; } return 0; }\n";
