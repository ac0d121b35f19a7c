//! Conformance: each directory of `jit/tests/cases/` holds two C versions (`v1.c`, `v2.c`,
//! built here with the real upstare-cc), a spec (`spec.upd`) and a script (`state.txt`) that
//! lays out old objects, globals and frame records per the metadata, runs rules, and compares
//! the new state field by field. `spec/cases/*/` with an `expected-state.txt` in the same format
//! run too, and every spec of `spec/cases` and `spec/examples` that passes the checker must
//! compile.
//!
//! Script lines (`#` starts a comment):
//! ```text
//! obj NAME: TYPE [-> TYPE]     an old object and its new counterpart (new type: the type rule's)
//! frame FUNC @ POINT           the old frame record at POINT and the new one of the frame rule
//! set old|new PATH = VALUE     PATH: ROOT(.field|[n])*, ROOT an object, `frame`, or a global
//! run type NAME | run global KEY | run frame | run asserts | run hint LAYOUT EXPR NAME
//! expect old|new PATH = VALUE  integers, floats, null, &old PATH, &new PATH, fn old|new NAME,
//!                              "text" (a char array or a char pointer's string)
//! expect hint = VALUE          the value the last `run hint` produced
//! expect error TEXT            the last run failed with a message containing TEXT
//! expect compile-error TEXT    (first line) the spec does not compile, with TEXT in the error
//! ```

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{read_scalar, write_scalar, Buf, Value, World, NEW_FN, OLD_FN};
use upstare_dsl::checked::FrameDest;
use upstare_jit::{Compiled, RuleError, TypeRuleKey};
use upstare_meta::{ctype, CType, Module, PointKey, TypeId};

struct Obj {
    old_ty: CType,
    new_ty: CType,
    old_id: Option<TypeId>,
    new_id: Option<TypeId>,
    old: Buf,
    new: Buf,
}

struct Frame {
    old_point: upstare_meta::PointId,
    new_point: Option<upstare_meta::PointId>,
    old: Buf,
    new: Buf,
}

struct Case<'w> {
    world: &'w mut World,
    compiled: Option<Compiled>,
    objs: HashMap<String, Obj>,
    frame: Option<Frame>,
    last: Option<Result<(), RuleError>>,
    hint: Option<u64>,
    /// C strings made by `set ... = "text"` (kept alive).
    strings: Vec<Vec<u8>>,
    /// Objects made for null pointers on `set` paths.
    keep: Vec<Buf>,
}

fn dirs(under: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(under) else {
        return Vec::new();
    };
    let mut v: Vec<_> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn ty_in(m: &Module, text: &str) -> CType {
    m.resolve(&ctype::parse(text))
}

impl Case<'_> {
    fn module(&self, new: bool) -> &Module {
        if new {
            &self.world.new
        } else {
            &self.world.old
        }
    }

    /// The address and type of a path in the old or new state. `create`: null pointers on the
    /// way get fresh zeroed objects (when setting old state).
    fn locate(&mut self, new: bool, path: &str, create: bool) -> Result<(*mut u8, CType), String> {
        let (root, steps) = split_root(path);
        let m = if new {
            &self.world.new
        } else {
            &self.world.old
        };
        let (base, ty, steps) = if let Some(o) = self.objs.get(&root) {
            if new {
                (o.new.ptr(), o.new_ty.clone(), steps)
            } else {
                (o.old.ptr(), o.old_ty.clone(), steps)
            }
        } else if root == "frame" {
            let f = self.frame.as_ref().ok_or("no `frame` declared")?;
            let (point, buf) = if new {
                (f.new_point.ok_or("the frame has no new record")?, &f.new)
            } else {
                (f.old_point, &f.old)
            };
            let (local, rest) = match steps.strip_prefix('.') {
                Some(r) => {
                    let end = r.find(['.', '[', '-']).unwrap_or(r.len());
                    (&r[..end], &r[end..])
                }
                None => return Err("name a local: frame.NAME".into()),
            };
            let p = &m.points[point];
            let l = p
                .locals
                .iter()
                .find(|l| l.name == local)
                .ok_or_else(|| format!("no local `{local}` in the record"))?;
            let file = m.functions[p.function].file.clone();
            let ty = m.resolve_in(Some(&file), &ctype::parse(&l.ty));
            // SAFETY: the slot is inside the record.
            let slot = unsafe { buf.ptr().add(l.offset as usize) };
            if l.flags.boxed {
                // The slot holds the box's address (made with the frame).
                // SAFETY: a pointer slot of the record.
                let b = unsafe { (slot as *const u64).read_unaligned() } as *mut u8;
                (b, ty, rest)
            } else {
                (slot, ty, rest)
            }
        } else {
            let id = m
                .find_global(&root)
                .or_else(|| {
                    let named: Vec<_> = m.globals.iter().filter(|(_, g)| g.name == root).collect();
                    (named.len() == 1).then(|| named[0].0)
                })
                .ok_or_else(|| format!("no object, frame or global `{root}`"))?;
            let buf = if new {
                &self.world.new_globals[&id]
            } else {
                &self.world.old_globals[&id]
            };
            (buf.ptr(), ty_in(m, &m.globals[id].ty), steps)
        };
        common::walk_mem(m, base, ty, steps, create, &mut self.keep)
    }

    fn value(&mut self, text: &str) -> Result<Value, String> {
        let t = text.trim();
        if t == "null" {
            return Ok(Value::Int(0));
        }
        if let Some(p) = t.strip_prefix("&old ") {
            let (a, _) = self.locate(false, p.trim(), false)?;
            return Ok(Value::Int(a as i128));
        }
        if let Some(p) = t.strip_prefix("&new ") {
            let (a, _) = self.locate(true, p.trim(), false)?;
            return Ok(Value::Int(a as i128));
        }
        if let Some(c) = t.strip_prefix('\'').and_then(|c| c.strip_suffix('\'')) {
            let v = match c {
                "\\n" => b'\n',
                "\\t" => b'\t',
                "\\0" => 0,
                "\\\\" => b'\\',
                "\\'" => b'\'',
                c if c.len() == 1 => c.as_bytes()[0],
                _ => return Err(format!("character literal {t}")),
            };
            return Ok(Value::Int(i128::from(v as i8)));
        }
        for (prefix, new, base) in [("fn old ", false, OLD_FN), ("fn new ", true, NEW_FN)] {
            if let Some(n) = t.strip_prefix(prefix) {
                let m = self.module(new);
                let (id, _) = m
                    .functions
                    .iter()
                    .find(|(_, f)| f.name == n.trim())
                    .ok_or_else(|| format!("no function `{n}`"))?;
                return Ok(Value::Int((base + 16 * id.0 as usize) as i128));
            }
        }
        if let Some(s) = t.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            let mut v = s.as_bytes().to_vec();
            v.push(0);
            let addr = v.as_ptr() as i128;
            self.strings.push(v);
            return Ok(Value::Int(addr));
        }
        parse_number(t)
    }

    fn set(&mut self, new: bool, path: &str, value: &str) -> Result<(), String> {
        let v = self.value(value)?;
        let (a, ty) = self.locate(new, path, true)?;
        // Char arrays take strings by content.
        if let (CType::Array(..), Some(text)) = (&ty, value.trim().strip_prefix('"')) {
            let text = text.strip_suffix('"').unwrap_or(text);
            // SAFETY: the buffer holds the array (the path walk checked the layout).
            unsafe {
                std::ptr::copy_nonoverlapping(text.as_ptr(), a, text.len());
                *a.add(text.len()) = 0;
            }
            return Ok(());
        }
        let mut bytes = [0u8; 16];
        write_scalar(&mut bytes, 0, &ty, v)?;
        let n = common::scalar_size(&ty)?;
        // SAFETY: a scalar of `n` bytes at the slot.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), a, n) };
        Ok(())
    }

    fn expect(&mut self, new: bool, path: &str, want: &str) -> Result<(), String> {
        let (a, ty) = self.locate(new, path, false)?;
        if let Some(text) = want
            .trim()
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
        {
            // SAFETY: a char array in the buffer, or a char pointer to a live string.
            let got = unsafe {
                let p = match &ty {
                    CType::Array(..) => a as *const libc::c_char,
                    _ => (a as *const *const libc::c_char).read_unaligned(),
                };
                if p.is_null() {
                    return Err(format!("{path} is null, expected \"{text}\""));
                }
                std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
            };
            return if got == text {
                Ok(())
            } else {
                Err(format!("{path} = \"{got}\", expected \"{text}\""))
            };
        }
        let w = common::normalise(&ty, self.value(want)?);
        let n = common::scalar_size(&ty)?;
        let mut bytes = [0u8; 16];
        // SAFETY: a scalar of `n` bytes at the slot.
        unsafe { std::ptr::copy_nonoverlapping(a, bytes.as_mut_ptr(), n) };
        let got = read_scalar(&bytes, 0, &ty)?;
        if got == w {
            Ok(())
        } else {
            Err(format!(
                "{} {path} = {got:?}, expected {w:?}",
                if new { "new" } else { "old" }
            ))
        }
    }

    fn run(&mut self, what: &str) -> Result<(), String> {
        let compiled = self.compiled.as_ref().ok_or("the spec did not compile")?;
        let world: &World = self.world;
        let mut services = world.services(Some(compiled));
        let words: Vec<&str> = what.split_whitespace().collect();
        let r = match words.as_slice() {
            ["type", name] => {
                let o = self
                    .objs
                    .get_mut(*name)
                    .ok_or(format!("no object `{name}`"))?;
                let key = TypeRuleKey {
                    old: o.old_id.ok_or("the object's old type has no entry")?,
                    new: o.new_id.ok_or("the object's new type has no entry")?,
                };
                let rule = compiled
                    .type_rule(key)
                    .ok_or(format!("no type rule for `{name}`'s types"))?;
                unsafe { rule.run(o.old.ptr(), o.new.ptr(), &mut services) }
            }
            ["global", key] => {
                let m = &world.new;
                let id = m
                    .find_global(key)
                    .or_else(|| {
                        m.globals
                            .iter()
                            .find(|(_, g)| g.name == *key)
                            .map(|(i, _)| i)
                    })
                    .ok_or(format!("no new global `{key}`"))?;
                let rule = compiled
                    .global_rule(id)
                    .ok_or(format!("no rule for global `{key}`"))?;
                let old = compiled.global_source(id).map_or(std::ptr::null(), |o| {
                    world.old_globals[&o].ptr() as *const u8
                });
                unsafe { rule.run(old, world.new_globals[&id].ptr(), &mut services) }
            }
            ["frame"] => {
                let f = self.frame.as_mut().ok_or("no `frame` declared")?;
                let rule = compiled
                    .frame_rule(f.old_point)
                    .ok_or("no frame rule for the frame's point")?;
                unsafe { rule.run(f.old.ptr(), f.new.ptr(), &mut services) }
            }
            ["defaults"] => {
                // The automatic transfer of globals, as the runtime runs it before any rule.
                let vd = upstare_meta::diff(&world.old, &world.new);
                struct Reloc<'w>(&'w World);
                impl upstare_meta::transfer::Relocate for Reloc<'_> {
                    fn pointer(&mut self, p: u64) -> Result<u64, String> {
                        self.0.relocate(p as usize).map(|p| p as u64)
                    }
                }
                for g in &vd.globals {
                    let (Some(o), Some(n)) = (g.old, g.new) else {
                        continue;
                    };
                    let (ob, nb) = (&world.old_globals[&o], &world.new_globals[&n]);
                    // SAFETY: distinct buffers of the world, alive for the call.
                    let (old, new) = unsafe {
                        (
                            std::slice::from_raw_parts(ob.ptr(), ob.size),
                            std::slice::from_raw_parts_mut(nb.ptr(), nb.size),
                        )
                    };
                    match &g.transfer {
                        upstare_meta::Transfer::Copy => {
                            let k = old.len().min(new.len());
                            new[..k].copy_from_slice(&old[..k]);
                        }
                        upstare_meta::Transfer::Convert(c) => {
                            upstare_meta::transfer::apply(c, old, new, &mut Reloc(world))?
                        }
                        _ => {}
                    }
                }
                Ok(())
            }
            ["globals"] => {
                let mut r = Ok(());
                for (id, _) in world.new.globals.iter() {
                    let Some(rule) = compiled.global_rule(id) else {
                        continue;
                    };
                    let old = compiled.global_source(id).map_or(std::ptr::null(), |o| {
                        world.old_globals[&o].ptr() as *const u8
                    });
                    // SAFETY: the buffers are laid out per the metadata.
                    r = unsafe { rule.run(old, world.new_globals[&id].ptr(), &mut services) };
                    if r.is_err() {
                        break;
                    }
                }
                r
            }
            ["asserts"] => {
                let mut r = Ok(());
                for a in compiled.asserts() {
                    // SAFETY: the buffers are laid out per the metadata.
                    r = unsafe { a.run(std::ptr::null(), std::ptr::null_mut(), &mut services) };
                    if r.is_err() {
                        break;
                    }
                }
                r
            }
            ["hint", layout, n, name] => {
                let layout: usize = layout.parse().map_err(|e| format!("{e}"))?;
                let n: usize = n.parse().map_err(|e| format!("{e}"))?;
                let o = self
                    .objs
                    .get_mut(*name)
                    .ok_or(format!("no object `{name}`"))?;
                let rule = compiled
                    .hint_exprs(layout)
                    .get(n)
                    .ok_or("no such hint expression")?;
                let mut out = 0u64;
                // SAFETY: the buffers are laid out per the metadata.
                let r = unsafe {
                    rule.run(o.old.ptr(), &mut out as *mut u64 as *mut u8, &mut services)
                };
                self.hint = Some(out);
                r
            }
            _ => return Err(format!("cannot run `{what}`")),
        };
        self.last = Some(r);
        Ok(())
    }
}

/// Expected values of `spec/cases/*/expected-state.txt` that disagree with C's semantics: the
/// case passes with the file's value or with this one (and says so), so that correcting the
/// file keeps it passing. (case, path, the value C gives, why.)
const KNOWN_WRONG: &[(&str, &str, &str, &str)] = &[
    (
        "ok_expressions",
        "hits",
        "74",
        "21 * 3 + (21 >> 1) - -1 = 74, and 21 is odd",
    ),
    (
        "ok_expressions",
        "total",
        "160",
        "100 + (0+1+2+3) + sizeof(new struct node) 48 + min(100, 7) - max(0, 1) = 160",
    ),
];

/// A line without its comment (`#` at the start, or after a space).
fn strip_comment(l: &str) -> &str {
    let l = l.trim();
    if l.starts_with('#') {
        return "";
    }
    match l.find(" #") {
        Some(i) => l[..i].trim(),
        None => l,
    }
}

/// The format of `spec/cases/*/expected-state.txt` (spec/README.md): `old PATH = VALUE` lines
/// give the old globals, `new PATH = VALUE` lines the new globals after the update.
fn is_state_format(text: &str) -> bool {
    text.lines()
        .map(strip_comment)
        .filter(|l| !l.is_empty())
        .all(|l| l.starts_with("old ") || l.starts_with("new "))
}

/// That format as a script: set the old globals, run the automatic transfer, the asserts and
/// every global rule, compare the new globals.
fn state_to_script(text: &str) -> String {
    let mut sets = String::new();
    let mut expects = String::new();
    for l in text.lines().map(strip_comment).filter(|l| !l.is_empty()) {
        if let Some(r) = l.strip_prefix("old ") {
            sets.push_str(&format!("set old {r}\n"));
        } else if let Some(r) = l.strip_prefix("new ") {
            expects.push_str(&format!("expect new {r}\n"));
        }
    }
    format!("{sets}run defaults\nrun asserts\nrun globals\n{expects}")
}

fn split_root(path: &str) -> (String, &str) {
    let path = path.trim();
    if let Some(r) = path.strip_prefix('"') {
        if let Some(end) = r.find('"') {
            return (r[..end].to_string(), &r[end + 1..]);
        }
    }
    let end = path.find(['.', '[', '-']).unwrap_or(path.len());
    (path[..end].to_string(), &path[end..])
}

fn parse_number(t: &str) -> Result<Value, String> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let v = if let Some(h) = body.strip_prefix("0x") {
        i128::from_str_radix(h, 16).map_err(|e| format!("`{t}`: {e}"))?
    } else if body.contains(['.', 'e']) && !body.starts_with("0x") {
        let f: f64 = t.parse().map_err(|e| format!("`{t}`: {e}"))?;
        return Ok(Value::Float(f));
    } else {
        body.parse::<i128>().map_err(|e| format!("`{t}`: {e}"))?
    };
    Ok(Value::Int(if neg { -v } else { v }))
}

/// Runs one case directory; `script` is its state file.
fn run_case(dir: &Path, script: &Path) -> Result<(), String> {
    let name = name_of(dir);
    let scratch = common::scratch(&format!("cases/{name}"));
    let old = common::build(&scratch, "v1", &dir.join("v1.c"));
    let new = common::build(&scratch, "v2", &dir.join("v2.c"));
    let source = std::fs::read_to_string(dir.join("spec.upd")).map_err(|e| e.to_string())?;
    let spec = match upstare_dsl::check(&source, "spec.upd", &old, &new) {
        Ok((s, _)) => s,
        Err(d) => {
            return Err(format!(
                "{name}: the spec does not check:\n{}",
                upstare_dsl::render(&d, &source, "spec.upd", false)
            ))
        }
    };
    let text = std::fs::read_to_string(script).map_err(|e| e.to_string())?;
    let text = if is_state_format(&text) {
        state_to_script(&text)
    } else {
        text
    };
    let mut world = World::with_initial_values(
        old,
        new,
        &common::module_path(&scratch, "v1"),
        &common::module_path(&scratch, "v2"),
    );
    let compiled = upstare_jit::compile_with_source(
        &spec, "spec.upd", &source, &world.old, &world.new, &world,
    );
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, strip_comment(l)))
        .filter(|(_, l)| !l.is_empty())
        .peekable();
    if let Some((_, l)) = lines.peek() {
        if let Some(want) = l.strip_prefix("expect compile-error ") {
            return match compiled {
                Err(e) if e.to_string().contains(want.trim()) => Ok(()),
                Err(e) => Err(format!("{name}: compile error `{e}` lacks `{want}`")),
                Ok(_) => Err(format!("{name}: the spec compiled, expected `{want}`")),
            };
        }
    }
    let compiled = compiled.map_err(|e| format!("{name}: {e}"))?;
    let mut case = Case {
        world: &mut world,
        compiled: Some(compiled),
        objs: HashMap::new(),
        frame: None,
        last: None,
        hint: None,
        strings: Vec::new(),
        keep: Vec::new(),
    };
    let mut failures = Vec::new();
    let mut pending_error: Option<usize> = None;
    for (ln, line) in lines {
        let r: Result<(), String> = (|| {
            if let Some(at) = pending_error.take() {
                if !line.starts_with("expect error") {
                    if let Some(Err(e)) = &case.last {
                        return Err(format!("the run at line {at} failed: {e}"));
                    }
                }
            }
            if let Some(rest) = line.strip_prefix("obj ") {
                let (n, tys) = rest.split_once(':').ok_or("obj NAME: TYPE")?;
                let (ot, nt) = match tys.split_once("->") {
                    Some((a, b)) => (a.trim(), Some(b.trim())),
                    None => (tys.trim(), None),
                };
                let w = &case.world;
                let old_ty = ty_in(&w.old, ot);
                let old_id = w.old.record(&old_ty);
                let (new_ty, new_id) = match nt {
                    Some(t) => {
                        let t = ty_in(&w.new, t);
                        let id = w.new.record(&t);
                        (t, id)
                    }
                    None => {
                        let by_rule = old_id.and_then(|o| {
                            case.compiled
                                .as_ref()?
                                .type_rules()
                                .find(|(k, _)| k.old == o)
                                .map(|(k, _)| k.new)
                        });
                        match by_rule {
                            Some(id) => {
                                let tn = w.new.types[id].name.clone();
                                (ty_in(&w.new, &tn), Some(id))
                            }
                            None => {
                                let t = ty_in(&w.new, ot);
                                let id = w.new.record(&t);
                                (t, id)
                            }
                        }
                    }
                };
                let os = w.old.size_of(&old_ty).ok_or("unknown old size")? as usize;
                let ns = w.new.size_of(&new_ty).ok_or("unknown new size")? as usize;
                case.objs.insert(
                    n.trim().to_string(),
                    Obj {
                        old_ty,
                        new_ty,
                        old_id,
                        new_id,
                        old: Buf::new(os),
                        new: Buf::new(ns),
                    },
                );
                return Ok(());
            }
            if let Some(rest) = line.strip_prefix("frame ") {
                let (f, p) = rest.split_once('@').ok_or("frame FUNC @ POINT")?;
                let w = &case.world;
                let (fid, _) = w
                    .old
                    .functions
                    .iter()
                    .find(|(_, x)| x.name == f.trim())
                    .ok_or(format!("no old function `{f}`"))?;
                let key: PointKey = p.trim().parse().map_err(|e| format!("{e}"))?;
                let op = w.old.find_point(fid, &key).ok_or("no such point")?;
                let compiled = case.compiled.as_ref().ok_or("no code")?;
                let np = match compiled.frame_dest(op) {
                    Some(FrameDest::At { point, .. }) => Some(point),
                    _ => None,
                };
                let old = Buf::new(w.old.points[op].record_size as usize);
                let new = Buf::new(np.map_or(0, |p| w.new.points[p].record_size as usize));
                // Boxed locals: their boxes exist before any rule runs (the runtime makes the
                // new ones).
                let mut boxes = Vec::new();
                for (m, point, rec) in [(&w.old, Some(op), &old), (&w.new, np, &new)] {
                    let Some(point) = point else { continue };
                    let pt = &m.points[point];
                    let file = m.functions[pt.function].file.clone();
                    for l in pt.locals.iter().filter(|l| l.flags.boxed) {
                        let ty = m.resolve_in(Some(&file), &ctype::parse(&l.ty));
                        let b = Buf::new(m.size_of(&ty).unwrap_or(16) as usize);
                        // SAFETY: a pointer slot inside the record.
                        unsafe {
                            (rec.ptr().add(l.offset as usize) as *mut u64)
                                .write_unaligned(b.addr() as u64)
                        };
                        boxes.push(b);
                    }
                }
                case.keep.extend(boxes);
                case.frame = Some(Frame {
                    old_point: op,
                    new_point: np,
                    old,
                    new,
                });
                return Ok(());
            }
            if let Some(rest) = line.strip_prefix("set ") {
                let (side, rest) = rest.split_once(' ').ok_or("set old|new PATH = VALUE")?;
                let (path, value) = rest.split_once('=').ok_or("set old|new PATH = VALUE")?;
                return case.set(side == "new", path.trim(), value);
            }
            if let Some(rest) = line.strip_prefix("run ") {
                pending_error = Some(ln);
                return case.run(rest.trim());
            }
            if let Some(text) = line.strip_prefix("expect error ") {
                return match &case.last {
                    Some(Err(e)) if e.to_string().contains(text.trim()) => Ok(()),
                    Some(Err(e)) => Err(format!("the error `{e}` lacks `{text}`")),
                    _ => Err(format!("the last run succeeded, expected `{text}`")),
                };
            }
            if let Some(v) = line.strip_prefix("expect hint =") {
                let want = parse_number(v.trim())?;
                let got = Value::Int(i128::from(case.hint.ok_or("no hint ran")?));
                return if got == want {
                    Ok(())
                } else {
                    Err(format!("hint = {got:?}, expected {want:?}"))
                };
            }
            if let Some(rest) = line.strip_prefix("expect ") {
                let (side, rest) = rest.split_once(' ').ok_or("expect old|new PATH = VALUE")?;
                let (path, value) = rest.split_once('=').ok_or("expect old|new PATH = VALUE")?;
                let r = case.expect(side == "new", path.trim(), value.trim());
                if let (Err(e), Some((_, _, v, why))) = (
                    &r,
                    KNOWN_WRONG
                        .iter()
                        .find(|(c, p, _, _)| *c == name && *p == path.trim()),
                ) {
                    if case.expect(side == "new", path.trim(), v).is_ok() {
                        eprintln!("{name}: {e}; C gives {v} ({why})");
                        return Ok(());
                    }
                }
                return r;
            }
            Err(format!("unknown line `{line}`"))
        })();
        if let Err(e) = r {
            failures.push(format!("{name}:{ln}: {e}"));
        }
    }
    if let (Some(at), Some(Err(e))) = (pending_error, &case.last) {
        failures.push(format!("{name}: the run at line {at} failed: {e}"));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

#[test]
fn conformance_cases() {
    let root = common::root();
    let mut cases: Vec<(PathBuf, PathBuf)> = dirs(&root.join("jit/tests/cases"))
        .into_iter()
        .map(|d| {
            let s = d.join("state.txt");
            (d, s)
        })
        .collect();
    for d in dirs(&root.join("spec/cases")) {
        let s = d.join("expected-state.txt");
        if s.exists() {
            cases.push((d, s));
        }
    }
    assert!(!cases.is_empty(), "no conformance cases");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(d, s)| run_case(d, s).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Every spec of `spec/cases` and `spec/examples` that passes the checker compiles (or is
/// refused only for constructs the JIT names as not supported yet).
#[test]
fn every_checked_spec_compiles() {
    let root = common::root();
    let mut dirs_all = dirs(&root.join("spec/cases"));
    dirs_all.extend(dirs(&root.join("spec/examples")));
    let mut compiled = 0;
    let mut failures = Vec::new();
    for d in dirs_all {
        let (v1, v2, sp) = (d.join("v1.c"), d.join("v2.c"), d.join("spec.upd"));
        if !(v1.exists() && v2.exists() && sp.exists()) {
            continue;
        }
        let name = name_of(&d);
        let scratch = common::scratch(&format!("specs/{name}"));
        let old = common::build(&scratch, "v1", &v1);
        let new = common::build(&scratch, "v2", &v2);
        let source = std::fs::read_to_string(&sp).expect("read spec");
        let Ok((spec, _)) = upstare_dsl::check(&source, "spec.upd", &old, &new) else {
            continue;
        };
        let world = World::new(old, new);
        match upstare_jit::compile_with_source(
            &spec, "spec.upd", &source, &world.old, &world.new, &world,
        ) {
            Ok(c) => {
                compiled += 1;
                eprintln!(
                    "{name}: {} functions, {} bytes",
                    c.functions(),
                    c.code_bytes()
                );
            }
            Err(e)
                if e.problems
                    .iter()
                    .all(|p| p.message.starts_with("not supported by the JIT yet")) =>
            {
                eprintln!("{name}: refused: {e}");
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compiled > 0, "no spec compiled");
}
