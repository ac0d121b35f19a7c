//! The readable forms of a [`Module`] printed by `upstare-cc --dump-meta`.
//!
//! The text form is line-oriented and stable (tests compare it byte for byte): one line per
//! unit, type, typedef, global and function, indented lines for fields, points and locals, entries in
//! section order, points under their function in index order, flags as words. The JSON form is
//! the serde serialisation of the model; ids are positions in the tables.

use std::fmt::Write;

use crate::model::{FieldLayout, Module};

/// Renders `m` as text, ending with a newline.
pub fn render_text(m: &Module) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write_text(&mut out, m);
    out
}

/// Renders `m` as pretty-printed JSON, ending with a newline.
pub fn render_json(m: &Module) -> String {
    // The model holds only strings, numbers, lists and plain structs: serialising cannot fail.
    let mut s = serde_json::to_string_pretty(m).expect("metadata serialises to JSON");
    s.push('\n');
    s
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `, a, b` for the set flags, in the given order.
fn flags(list: &[(bool, &str)]) -> String {
    list.iter()
        .filter(|(on, _)| *on)
        .map(|(_, w)| format!(", {w}"))
        .collect()
}

fn write_text(out: &mut String, m: &Module) -> std::fmt::Result {
    // Typedefs are counted only when there are some, so older dumps read the same.
    let typedefs = match m.typedefs.len() {
        0 => String::new(),
        n => format!("{}, ", plural(n, "typedef")),
    };
    writeln!(
        out,
        "# upstare metadata: {}, {}, {typedefs}{}, {}, {}",
        plural(m.units.len(), "unit"),
        plural(m.types.len(), "type"),
        plural(m.globals.len(), "global"),
        plural(m.functions.len(), "function"),
        plural(m.points.len(), "point")
    )?;
    for (_, u) in m.units.iter() {
        writeln!(
            out,
            "unit {} (producer {}, format {})",
            u.source, u.producer, u.format_version
        )?;
    }
    for (_, t) in m.types.iter() {
        writeln!(out, "type {}: size {}, align {}", t.name, t.size, t.align)?;
        for f in &t.fields {
            match f.layout {
                FieldLayout::Bytes { offset, size } => writeln!(
                    out,
                    "  field {}: {}, offset {offset}, size {size}",
                    f.name, f.ty
                )?,
                FieldLayout::Bits { width } => writeln!(
                    out,
                    "  field {}: {}, bit-field of width {width}",
                    f.name, f.ty
                )?,
            }
        }
    }
    for (_, t) in m.typedefs.iter() {
        writeln!(
            out,
            "typedef {}: {}, file {}, size {}, align {}",
            t.name, t.target, t.file, t.size, t.align
        )?;
    }
    for (_, g) in m.globals.iter() {
        let fl = flags(&[
            (g.flags.internal, "internal"),
            (g.flags.static_local, "static local"),
            (g.flags.constant, "const"),
        ]);
        writeln!(
            out,
            "global {}: {}, key {}, size {}, align {}{fl}",
            g.name, g.ty, g.key, g.size, g.align
        )?;
    }
    for (_, f) in m.functions.iter() {
        let fl = flags(&[
            (f.flags.internal, "internal"),
            (f.flags.not_updatable, "not updatable"),
        ]);
        writeln!(
            out,
            "function {}:{}, line {}, {}{fl}",
            f.file,
            f.name,
            f.line,
            plural(f.points.len(), "point")
        )?;
        for &pid in &f.points {
            let p = &m.points[pid];
            writeln!(
                out,
                "  point {} {}, line {}, record size {}, align {}",
                p.index, p.key, p.line, p.record_size, p.record_align
            )?;
            for l in &p.locals {
                let fl = flags(&[
                    (l.flags.parameter, "parameter"),
                    (l.flags.boxed, "boxed"),
                    (l.flags.temporary, "temporary"),
                ]);
                writeln!(
                    out,
                    "    local {}: {}, offset {}, size {}{fl}",
                    l.name, l.ty, l.offset, l.size
                )?;
            }
        }
    }
    Ok(())
}
