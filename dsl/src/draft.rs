//! `upstare diff OLD NEW`: a draft spec that lists every change between two versions as a
//! comment, with the automatic default the runtime applies, and a rule skeleton marked `TODO`
//! for each change that needs a rule.
//!
//! Skeletons are valid rules: a plausible statement (`new = old;` for numbers) where one exists,
//! `-> wait;` for frames that have nowhere to resume, and the placeholder expression `TODO`
//! (which the checker rejects as an unknown name) where nothing plausible exists. So the user
//! reads each TODO, edits or confirms it, and deletes the marker; a draft without any TODO is a
//! spec that passes `upstare check` (the conformance examples test exactly this).

use std::fmt::Write;

use upstare_meta::{diff, CType, Module, Transfer, TypeStatus};

/// The draft spec for an update from `old` to `new`.
pub fn draft(old: &Module, new: &Module) -> String {
    let vd = diff(old, new);
    let mut out = String::new();
    let mut todo = 0usize;
    // Writing into a String cannot fail.
    let _ = (|| -> std::fmt::Result {
        writeln!(out, "// Draft update spec written by `upstare diff`.")?;
        writeln!(
            out,
            "// Every change between the versions is listed with the automatic default the runtime"
        )?;
        writeln!(
            out,
            "// applies. Check each TODO, complete its rule, delete the marker, then run `upstare check`."
        )?;
        writeln!(out, "upstare 1;")?;

        let renamed: Vec<_> = vd.files.iter().filter(|(o, n)| o != n).collect();
        if !renamed.is_empty() {
            writeln!(out, "\n// ---- files")?;
            for (o, n) in renamed {
                writeln!(out, "// {o} is now {n}")?;
            }
        }

        // Globals.
        let mut same_globals = 0;
        let mut lines = String::new();
        for c in &vd.globals {
            let name = |m: &Module, id| global_name(m, id);
            match (&c.transfer, c.old, c.new) {
                (Transfer::Copy, Some(_), Some(_)) => same_globals += 1,
                (Transfer::Convert(conv), Some(o), Some(_)) if conv.is_identity() => {
                    let _ = o;
                    same_globals += 1;
                }
                (Transfer::Convert(conv), Some(o), Some(n)) => {
                    writeln!(
                        lines,
                        "// global {}: {} -> {}, converted automatically ({conv})",
                        name(old, o),
                        old.globals[o].ty.trim(),
                        new.globals[n].ty.trim()
                    )?;
                }
                (Transfer::Init, None, Some(n)) => {
                    writeln!(
                        lines,
                        "// global {} is new: it keeps its initialiser (or: init global {} {{ new = ...; }})",
                        name(new, n),
                        name(new, n)
                    )?;
                }
                (Transfer::Init, Some(_), Some(n)) => {
                    writeln!(
                        lines,
                        "// global {} is const: it keeps the new initialiser",
                        name(new, n)
                    )?;
                }
                (Transfer::Dropped, Some(o), _) => {
                    // A new global of the same name is likely the same variable, moved (a static
                    // local that became a global, or a global moved to another file).
                    let moved = vd.globals.iter().find_map(|c| match (c.old, c.new) {
                        (None, Some(n)) if new.globals[n].name == old.globals[o].name => Some(n),
                        _ => None,
                    });
                    let target = match moved {
                        Some(n) => key_text(&new.globals[n].key),
                        None => "NEW".to_string(),
                    };
                    writeln!(
                        lines,
                        "// global {} is gone: its value is dropped (or: global {} -> {target};)",
                        key_text(&old.globals[o].key),
                        key_text(&old.globals[o].key),
                    )?;
                }
                (Transfer::NeedsRule(why), Some(o), Some(n)) => {
                    let (ot, nt) = (
                        old.resolve(&upstare_meta::ctype::parse(&old.globals[o].ty)),
                        new.resolve(&upstare_meta::ctype::parse(&new.globals[n].ty)),
                    );
                    if let Some(rec) = same_records(old, &ot, new, &nt) {
                        writeln!(
                            lines,
                            "// global {}: converted with the rules of {rec} (below)",
                            name(old, o)
                        )?;
                        continue;
                    }
                    todo += 1;
                    let head = if old.globals[o].key == new.globals[n].key {
                        name(old, o)
                    } else {
                        format!("{} -> {}", name(old, o), name(new, n))
                    };
                    writeln!(lines, "// TODO: global {head}: {why}")?;
                    writeln!(lines, "global {head} {{")?;
                    if is_number(&ot) && is_number(&nt) {
                        writeln!(lines, "    new = old; // TODO: {} -> {}", ot, nt)?;
                    } else {
                        writeln!(lines, "    new = TODO; // old is `{ot}`, new is `{nt}`")?;
                    }
                    writeln!(lines, "}}")?;
                }
                (t, _, _) => writeln!(lines, "// global: {}", t.describe())?,
            }
        }
        writeln!(out, "\n// ---- globals ({same_globals} unchanged)")?;
        out.push_str(&lines);

        // Types.
        let mut same_types = 0;
        let mut lines = String::new();
        for t in &vd.types {
            match &t.status {
                TypeStatus::Same => same_types += 1,
                TypeStatus::Added => writeln!(lines, "// {} is new", t.name)?,
                TypeStatus::Removed => writeln!(
                    lines,
                    "// {} is gone (or: type {} -> NEW {{ ... }})",
                    t.name, t.name
                )?,
                TypeStatus::Changed {
                    added_fields,
                    dropped_fields,
                    retyped_fields,
                    conv,
                } => {
                    let mut what = Vec::new();
                    if !added_fields.is_empty() {
                        what.push(format!(
                            "new fields {} start as zero",
                            added_fields.join(", ")
                        ));
                    }
                    if !dropped_fields.is_empty() {
                        what.push(format!("fields {} are dropped", dropped_fields.join(", ")));
                    }
                    for (f, a, b) in retyped_fields {
                        what.push(format!("field {f} is now {} (was {})", b.trim(), a.trim()));
                    }
                    if what.is_empty() {
                        what.push("its layout changed".into());
                    }
                    match conv {
                        Some(_) => {
                            writeln!(
                                lines,
                                "// {}: {}; converted automatically",
                                t.name,
                                what.join("; ")
                            )?;
                        }
                        None => {
                            todo += 1;
                            writeln!(lines, "// TODO: {}: {}", t.name, what.join("; "))?;
                            writeln!(lines, "type {} {{", t.name)?;
                            for (f, a, b) in retyped_fields {
                                let (at, bt) = (
                                    old.resolve(&upstare_meta::ctype::parse(a)),
                                    new.resolve(&upstare_meta::ctype::parse(b)),
                                );
                                if is_number(&at) && is_number(&bt) {
                                    writeln!(
                                        lines,
                                        "    new.{f} = old.{f}; // TODO: {at} -> {bt}"
                                    )?;
                                } else {
                                    writeln!(
                                        lines,
                                        "    new.{f} = TODO; // old is `{at}`, new is `{bt}`"
                                    )?;
                                }
                            }
                            for f in added_fields {
                                writeln!(lines, "    // new.{f} = ...; (starts as zero)")?;
                            }
                            writeln!(lines, "}}")?;
                        }
                    }
                }
            }
        }
        writeln!(out, "\n// ---- types ({same_types} unchanged)")?;
        out.push_str(&lines);

        // Functions and frames.
        let mut lines = String::new();
        let mut same_fns = 0;
        for f in &vd.functions {
            let fname = |m: &Module, id: upstare_meta::FuncId| function_name(m, id);
            match (f.old, f.new) {
                (None, Some(n)) => writeln!(lines, "// function {} is new", fname(new, n))?,
                (Some(o), None) if f.points.is_empty() => {
                    writeln!(lines, "// function {} is gone", fname(old, o))?
                }
                (Some(o), None) => writeln!(
                    lines,
                    "// function {} is gone (or: function {} -> NEW;)",
                    fname(old, o),
                    fname(old, o)
                )?,
                _ => {}
            }
            let Some(o) = f.old else { continue };
            let mut all_ok = true;
            for p in &f.points {
                let key = &old.points[p.old].key;
                match &p.frame {
                    Ok(_) => {}
                    Err(why) => {
                        all_ok = false;
                        if old.functions[o].flags.not_updatable {
                            continue;
                        }
                        todo += 1;
                        writeln!(
                            lines,
                            "// TODO: frames of {} at {key}: {why}",
                            fname(old, o)
                        )?;
                        if let Some(n) = f.new {
                            let keys: Vec<String> = new.functions[n]
                                .points
                                .iter()
                                .map(|&q| new.points[q].key.to_string())
                                .collect();
                            if !keys.is_empty() {
                                writeln!(
                                    lines,
                                    "// (the new {} has points {})",
                                    fname(new, n),
                                    keys.join(", ")
                                )?;
                            }
                        }
                        writeln!(
                            lines,
                            "frame {} @ {key} -> wait; // or: -> NEW @ POINT {{ new.x = old.x; }}",
                            fname(old, o)
                        )?;
                    }
                }
            }
            if let (true, Some(n)) = (all_ok, f.new) {
                // Every frame resumes; say so when a record changed (locals convert by name).
                let changed: Vec<String> = f
                    .points
                    .iter()
                    .filter_map(|p| {
                        let np = p.new?;
                        let (a, b) = (&old.points[p.old], &new.points[np]);
                        let same = a.record_size == b.record_size
                            && a.locals.len() == b.locals.len()
                            && a.locals.iter().zip(&b.locals).all(|(x, y)| {
                                x.name == y.name && x.offset == y.offset && x.ty == y.ty
                            });
                        (!same).then(|| a.key.to_string())
                    })
                    .collect();
                if changed.is_empty() {
                    same_fns += 1;
                } else {
                    writeln!(
                        lines,
                        "// frames of {} at {}: locals converted by name, new ones zero",
                        fname(new, n),
                        changed.join(", ")
                    )?;
                }
            }
        }
        writeln!(
            out,
            "\n// ---- functions and frames ({same_fns} resume where they were)"
        )?;
        out.push_str(&lines);
        out.push_str(&untyped_pointers(old, &vd));
        if todo == 0 {
            writeln!(
                out,
                "\n// Nothing needs a rule: the automatic transfer covers every change."
            )?;
        } else {
            writeln!(out, "\n// {todo} rule(s) to complete (TODO).")?;
        }
        Ok(())
    })();
    out
}

/// The record name when both types are the same-named record (or arrays of it).
fn same_records(old: &Module, a: &CType, new: &Module, b: &CType) -> Option<String> {
    let peel = |mut t: &CType| {
        while let CType::Array(e, _) = t {
            t = e;
        }
        t.clone()
    };
    let (a, b) = (peel(a), peel(b));
    let (ra, rb) = (old.record(&a)?, new.record(&b)?);
    (old.types[ra].name == new.types[rb].name).then(|| old.types[ra].name.clone())
}

fn is_number(t: &CType) -> bool {
    t.is_integer() || matches!(t, CType::Float { .. })
}

/// How a rule names a global: its name when it is the only global so named, else its key
/// (quoted when it holds characters a key token cannot).
fn global_name(m: &Module, id: upstare_meta::GlobalId) -> String {
    let g = &m.globals[id];
    let unique = m
        .globals
        .iter()
        .filter(|(_, x)| x.name == g.name)
        .nth(1)
        .is_none();
    if unique {
        g.name.clone()
    } else {
        key_text(&g.key)
    }
}

fn function_name(m: &Module, id: upstare_meta::FuncId) -> String {
    let f = &m.functions[id];
    let unique = m
        .functions
        .iter()
        .filter(|(_, x)| x.name == f.name)
        .nth(1)
        .is_none();
    if unique {
        f.name.clone()
    } else {
        key_text(&format!("{}/{}", f.file, f.name))
    }
}

fn key_text(k: &str) -> String {
    let plain = k.split('/').all(|seg| {
        !seg.is_empty()
            && seg
                .chars()
                .all(|c| c == '_' || c == '.' || c.is_ascii_alphanumeric())
    });
    if plain {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

/// When some struct changed: every `void *` field and global of the old version, which the heap
/// traversal does not follow. An object of a changed type reached only through one would not
/// migrate, so the runtime refuses such an update; a layout hint says what the pointer holds.
fn untyped_pointers(old: &Module, vd: &upstare_meta::VersionDiff) -> String {
    let changed = vd
        .types
        .iter()
        .any(|t| matches!(t.status, TypeStatus::Changed { .. }));
    if !changed {
        return String::new();
    }
    let is_void_ptr = |text: &str| matches!(old.resolve(&upstare_meta::ctype::parse(text)), CType::Pointer(p) if *p == CType::Void);
    let mut lines = String::new();
    for (_, t) in old.types.iter() {
        if t.name.starts_with("union ") || t.name.starts_with("enum ") {
            continue;
        }
        for f in t.fields.iter().filter(|f| is_void_ptr(&f.ty)) {
            let _ = writeln!(
                lines,
                "// {}.{} is `void *`: if it can hold a changed object, say which: layout {} {{ {}: TYPE*; }} (or `opaque`)",
                t.name, f.name, t.name, f.name
            );
        }
    }
    for (_, g) in old.globals.iter().filter(|(_, g)| is_void_ptr(&g.ty)) {
        let _ = writeln!(
            lines,
            "// global {} is `void *`: if it can hold a changed object, say which: layout global {}: TYPE*;",
            g.key, g.key
        );
    }
    if lines.is_empty() {
        return lines;
    }
    format!("\n// ---- untyped pointers (the heap traversal does not follow them)\n{lines}")
}
