//! The version diff: what changed between two versions' metadata, and the default way each
//! piece of old state becomes new state (the automatic state transfer rules).
//!
//! [`diff`] pairs the two versions' source files, globals (and static locals), struct and union
//! types, functions and update points, and for each pair decides a [`Transfer`] or a [`Conv`]:
//! - same key and same representation: copy (pointer slots relocated by the caller);
//! - structs: field by field by name, new fields zero, dropped fields reported;
//! - integers widen automatically (sign or zero extension by the old type's signedness),
//!   `float` widens to `double` (and both to `long double`); narrowing, a signedness change or
//!   any other change of type needs a rule (a [`Transfer::NeedsRule`] saying why);
//! - new globals keep their initialisers; so do `const` ones (they are program text, not state);
//! - unions, structs with bit-fields, and members of anonymous struct types (whose fields the
//!   metadata does not hold) are copied only when unchanged; opaque types (system typedefs,
//!   `__typeof__` text) when their text and size are the same;
//! - frame records: locals by name, new locals zero, address-taken (boxed) locals and compiler
//!   temporaries only when unchanged.
//!
//! Plans are [`Conv`]s, executed by [`crate::transfer::apply`]. Pointers always come out as
//! slots the caller relocates: [`Conv::Pointer`] for a pointer on its own, and the `pointers`
//! offsets of [`Conv::Copy`] for pointers inside a copied aggregate. So a `Conv::Copy` with no
//! pointer offsets is a plain `memcpy`, and [`Transfer::Copy`] means exactly that; an unchanged
//! value that holds pointers is a [`Transfer::Convert`] with an identity plan
//! ([`Conv::is_identity`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::{self, Write};

use serde::Serialize;

use crate::ctype::{parse, CType};
use crate::ids::{FuncId, GlobalId, PointId, TypeId};
use crate::model::{FieldLayout, Global, Local, Module, Point, Type};

/// Everything that differs (or not) between an old and a new version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionDiff {
    /// Old source file -> new source file, sorted by the old path.
    pub files: Vec<(String, String)>,
    /// Every global and static local of either version: the old ones in table order, then the
    /// new ones without an old counterpart.
    pub globals: Vec<GlobalChange>,
    /// Every struct and union type entry (by name) of either version, sorted by name.
    pub types: Vec<TypeChange>,
    /// Every function of either version: the old ones in table order, then the new ones.
    pub functions: Vec<FunctionChange>,
}

/// One global of the old version, the new one, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GlobalChange {
    pub old: Option<GlobalId>,
    pub new: Option<GlobalId>,
    pub transfer: Transfer,
}

/// What happens to a global's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Transfer {
    /// Identical representation without pointers: copy the bytes.
    Copy,
    /// Run the plan (it may be an identity plan that relocates pointers).
    Convert(Conv),
    /// A new global (or a `const` one): it keeps its initialiser.
    Init,
    /// Removed: its value is lost (reported).
    Dropped,
    /// No automatic conversion; why, in words ("type changed from long to int (narrowing)").
    NeedsRule(String),
}

/// One struct or union, by name, of either version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeChange {
    /// The type entry's name: `struct foo`, `union u`, or a typedef name of an anonymous one.
    pub name: String,
    pub old: Option<TypeId>,
    pub new: Option<TypeId>,
    pub status: TypeStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TypeStatus {
    /// Same representation (same fields at the same offsets, same size).
    Same,
    Added,
    Removed,
    Changed {
        added_fields: Vec<String>,
        dropped_fields: Vec<String>,
        /// (field, old type text, new type text) of fields whose type changed meaning.
        retyped_fields: Vec<(String, String, String)>,
        /// How an old value becomes a new one; `None`: it needs a rule.
        conv: Option<Conv>,
    },
}

/// One function of either version, with its old points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionChange {
    pub old: Option<FuncId>,
    pub new: Option<FuncId>,
    /// One per point of the old function, in index order (empty for a new function).
    pub points: Vec<PointChange>,
}

/// Where a thread parked at an old point resumes, and how its frame record converts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PointChange {
    pub old: PointId,
    pub new: Option<PointId>,
    /// How an old record becomes a new one (always a [`Conv::Struct`] of the new record's
    /// size), or why it cannot.
    pub frame: Result<Conv, String>,
}

/// A byte-level plan turning an old value into a new one, executed by
/// [`crate::transfer::apply`]. Offsets are in bytes from the start of the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Conv {
    /// Identical representation: copy `bytes`, then relocate the 8-byte pointer slots at the
    /// offsets `pointers` (sorted; empty for a plain copy).
    Copy { bytes: u64, pointers: Vec<u64> },
    /// An integer conversion, (bytes, signed): extension by the old signedness, or truncation.
    Int { from: (u8, bool), to: (u8, bool) },
    /// A float conversion by size (4 `float`, 8 `double`, 16 `long double`).
    Float { from: u8, to: u8 },
    /// One 8-byte pointer, relocated by the caller's relocator.
    Pointer,
    /// A new value of `bytes` zeros (reads nothing).
    Zero { bytes: u64 },
    /// A struct (or frame record): the new value is zeroed, then each field (new offset, old
    /// offset or `None` for a new one, its plan) is converted.
    Struct {
        new_size: u64,
        fields: Vec<(u64, Option<u64>, Conv)>,
    },
    /// `count` elements, each converted by `elem`.
    Array {
        count: u64,
        old_stride: u64,
        new_stride: u64,
        elem: Box<Conv>,
    },
}

impl Conv {
    /// A plain copy of `bytes` bytes.
    pub fn copy(bytes: u64) -> Conv {
        Conv::Copy {
            bytes,
            pointers: Vec::new(),
        }
    }

    /// The number of old bytes the plan reads (from the start of the old value).
    pub fn old_size(&self) -> u64 {
        match self {
            Conv::Copy { bytes, .. } => *bytes,
            Conv::Int { from, .. } => u64::from(from.0),
            Conv::Float { from, .. } => u64::from(*from),
            Conv::Pointer => 8,
            Conv::Zero { .. } => 0,
            Conv::Struct { fields, .. } => fields
                .iter()
                .filter_map(|(_, old, c)| old.map(|o| o.saturating_add(c.old_size())))
                .max()
                .unwrap_or(0),
            Conv::Array {
                count, old_stride, ..
            } => count.saturating_mul(*old_stride),
        }
    }

    /// The number of new bytes the plan writes.
    pub fn new_size(&self) -> u64 {
        match self {
            Conv::Copy { bytes, .. } | Conv::Zero { bytes } => *bytes,
            Conv::Int { to, .. } => u64::from(to.0),
            Conv::Float { to, .. } => u64::from(*to),
            Conv::Pointer => 8,
            Conv::Struct { new_size, .. } => *new_size,
            Conv::Array {
                count, new_stride, ..
            } => count.saturating_mul(*new_stride),
        }
    }

    /// True when the new value is the old one with pointers relocated (same bytes otherwise).
    pub fn is_identity(&self) -> bool {
        match self {
            Conv::Copy { .. } | Conv::Pointer => true,
            Conv::Int { from, to } => from == to,
            Conv::Float { from, to } => from == to,
            Conv::Zero { .. } | Conv::Struct { .. } => false,
            Conv::Array {
                old_stride,
                new_stride,
                elem,
                ..
            } => old_stride == new_stride && elem.is_identity(),
        }
    }

    /// The pointer slots of an identity plan, offset by `base`, appended to `out`.
    fn slots(&self, base: u64, out: &mut Vec<u64>) {
        match self {
            Conv::Copy { pointers, .. } => out.extend(pointers.iter().map(|p| base + p)),
            Conv::Pointer => out.push(base),
            Conv::Array {
                count,
                new_stride,
                elem,
                ..
            } => {
                for k in 0..*count {
                    elem.slots(base + k * new_stride, out);
                }
            }
            _ => {}
        }
    }

    /// The pointer offsets of an identity plan (empty for others).
    pub fn pointer_slots(&self) -> Vec<u64> {
        let mut out = Vec::new();
        if self.is_identity() {
            self.slots(0, &mut out);
        }
        out
    }
}

/// A one-line summary: `copy 8 bytes`, `sign-extend 4 -> 8 bytes`, `struct of 24 bytes: ...`.
impl fmt::Display for Conv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conv::Copy { bytes, pointers } if pointers.is_empty() => {
                write!(f, "copy {bytes} bytes")
            }
            Conv::Copy { bytes, pointers } => write!(
                f,
                "copy {bytes} bytes, relocating {} pointer{}",
                pointers.len(),
                if pointers.len() == 1 { "" } else { "s" }
            ),
            Conv::Int { from, to } if from == to => write!(f, "copy {} bytes", from.0),
            Conv::Int { from, to } if to.0 > from.0 => write!(
                f,
                "{} {} -> {} bytes",
                if from.1 { "sign-extend" } else { "zero-extend" },
                from.0,
                to.0
            ),
            Conv::Int { from, to } => write!(f, "truncate {} -> {} bytes", from.0, to.0),
            Conv::Float { from, to } => write!(f, "float {from} -> {to} bytes"),
            Conv::Pointer => f.write_str("relocate a pointer"),
            Conv::Zero { bytes } => write!(f, "zero {bytes} bytes"),
            Conv::Struct { new_size, fields } => {
                let zeroed = fields.iter().filter(|(_, o, _)| o.is_none()).count();
                let moved = fields
                    .iter()
                    .filter(|(n, o, _)| Some(*n) != *o && o.is_some());
                let converted = fields
                    .iter()
                    .filter(|(_, o, c)| o.is_some() && !c.is_identity())
                    .count();
                write!(
                    f,
                    "struct of {new_size} bytes: {} kept ({} moved, {converted} converted), {zeroed} zeroed",
                    fields.len() - zeroed,
                    moved.count()
                )
            }
            Conv::Array { count, elem, .. } => write!(f, "{count} elements, each: {elem}"),
        }
    }
}

/// Compares two versions' metadata.
pub fn diff(old: &Module, new: &Module) -> VersionDiff {
    let files = match_files(&files_of(old), &files_of(new));
    let fmap: HashMap<&str, &str> = files
        .iter()
        .map(|(o, n)| (o.as_str(), n.as_str()))
        .collect();
    VersionDiff {
        globals: globals(old, new, &fmap),
        types: types(old, new),
        functions: functions(old, new, &fmap),
        files,
    }
}

// ---------------------------------------------------------------------------------------------
// Files

/// Every source file a module mentions.
fn files_of(m: &Module) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    out.extend(m.units.iter().map(|(_, u)| u.source.clone()));
    out.extend(m.functions.iter().map(|(_, f)| f.file.clone()));
    out.extend(m.points.iter().map(|(_, p)| p.file.clone()));
    out.extend(m.typedefs.iter().map(|(_, t)| t.file.clone()));
    out.extend(
        m.globals
            .iter()
            .filter_map(|(_, g)| key_parts(g).map(|(f, _)| f.to_string())),
    );
    out
}

/// The file of a static global's or static local's key, and the rest after it (`name` or
/// `function/name`). `None` for external globals, whose key is their name.
fn key_parts(g: &Global) -> Option<(&str, &str)> {
    if !g.flags.internal && !g.flags.static_local {
        return None;
    }
    let head = g.key.strip_suffix(g.name.as_str())?.strip_suffix('/')?;
    let file = if g.flags.static_local {
        head.rsplit_once('/')?.0
    } else {
        head
    };
    Some((file, &g.key[file.len() + 1..]))
}

/// Pairs old and new files: same path; else the same path but for one directory component
/// (`v1/a.c` and `v2/a.c`), when that pairing is unique both ways; else the same base name,
/// when it is unique on both sides among the files left.
fn match_files(old: &BTreeSet<String>, new: &BTreeSet<String>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut old_left: Vec<&str> = Vec::new();
    for o in old {
        if new.contains(o) {
            pairs.push((o.clone(), o.clone()));
        } else {
            old_left.push(o);
        }
    }
    let mut new_left: Vec<&str> = new
        .iter()
        .filter(|n| !old.contains(*n))
        .map(String::as_str)
        .collect();
    let one_dir_apart = |a: &str, b: &str| {
        let (ca, cb): (Vec<&str>, Vec<&str>) = (a.split('/').collect(), b.split('/').collect());
        ca.len() == cb.len()
            && ca.last() == cb.last()
            && ca.iter().zip(&cb).filter(|(x, y)| x != y).count() == 1
    };
    let basename = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    type Rule<'r> = &'r dyn Fn(&str, &str) -> bool;
    let same_base = |a: &str, b: &str| basename(a) == basename(b);
    let rules: [Rule; 2] = [&one_dir_apart, &same_base];
    for rule in rules {
        let mut matched = Vec::new();
        for &o in &old_left {
            let cands: Vec<&str> = new_left.iter().copied().filter(|n| rule(o, n)).collect();
            if let [n] = cands[..] {
                if old_left.iter().filter(|o2| rule(o2, n)).count() == 1 {
                    matched.push((o, n));
                }
            }
        }
        for (o, n) in matched {
            pairs.push((o.to_string(), n.to_string()));
            old_left.retain(|x| *x != o);
            new_left.retain(|x| *x != n);
        }
    }
    pairs.sort();
    pairs
}

// ---------------------------------------------------------------------------------------------
// Value conversion

/// A value's type, resolved in its module, and its size when known.
#[derive(Clone)]
struct Val<'a> {
    m: &'a Module,
    file: Option<&'a str>,
    ty: CType,
    size: Option<u64>,
}

impl<'a> Val<'a> {
    fn new(m: &'a Module, file: Option<&'a str>, text: &str, size: Option<u64>) -> Self {
        let ty = m.resolve_in(file, &parse(text));
        let size = size.or_else(|| m.size_of_in(file, &ty));
        Val { m, file, ty, size }
    }

    /// A part of this value (an element), of an already resolved type.
    fn part(&self, ty: CType, size: Option<u64>) -> Self {
        let size = size.or_else(|| self.m.size_of_in(self.file, &ty));
        Val {
            m: self.m,
            file: self.file,
            ty,
            size,
        }
    }

    /// `(bytes, signed)` of an integer-like value; an enum takes its size from the metadata.
    fn int_repr(&self) -> Option<(u8, bool)> {
        match (&self.ty, self.size) {
            (CType::Enum(_), Some(s @ (1 | 2 | 4 | 8))) => Some((s as u8, true)),
            (t, _) => t.int_repr(),
        }
    }

    fn is_union(&self) -> bool {
        match &self.ty {
            CType::Record { union, .. } => *union,
            CType::Typedef(name) => self.m.find_typedef(self.file, name).is_some_and(|id| {
                self.m.typedefs[id]
                    .target
                    .trim_start()
                    .strip_prefix("union")
                    .is_some_and(|r| !r.starts_with(|c: char| c == '_' || c.is_alphanumeric()))
            }),
            _ => false,
        }
    }
}

/// Records nest; this bounds the recursion on corrupt metadata (a struct containing itself).
const MAX_DEPTH: usize = 64;

/// How an old value becomes a new one, or why it cannot automatically.
fn convert(o: &Val, n: &Val, depth: usize) -> Result<Conv, String> {
    if depth > MAX_DEPTH {
        return Err("types nest too deeply".into());
    }
    let changed = || format!("type changed from {} to {}", o.ty, n.ty);
    let conv = match (&o.ty, &n.ty) {
        (CType::Bool, CType::Bool) => Conv::copy(1),
        (a, CType::Bool) if a.is_integer() => {
            return Err(format!("{} (a new _Bool holds only 0 and 1)", changed()))
        }
        (a, b) if a.is_integer() && b.is_integer() => {
            let (from, to) = (
                o.int_repr().expect("integer"),
                n.int_repr().expect("integer"),
            );
            if from == to {
                Conv::copy(u64::from(from.0))
            } else if to.0 > from.0 {
                Conv::Int { from, to }
            } else if to.0 < from.0 {
                return Err(format!("{} (narrowing)", changed()));
            } else {
                return Err(format!("{} (signedness)", changed()));
            }
        }
        (CType::Float { bytes: a }, CType::Float { bytes: b }) => match a.cmp(b) {
            std::cmp::Ordering::Equal => Conv::copy(u64::from(*a)),
            std::cmp::Ordering::Less => Conv::Float { from: *a, to: *b },
            std::cmp::Ordering::Greater => return Err(format!("{} (narrowing)", changed())),
        },
        (CType::Pointer(a), CType::Pointer(b))
            if **a == CType::Void || **b == CType::Void || a == b =>
        {
            Conv::Pointer
        }
        (CType::Array(ae, ac), CType::Array(be, bc)) => {
            let oe = o.part((**ae).clone(), None);
            let ne = n.part((**be).clone(), None);
            return array(o, &oe, *ac, n, &ne, *bc, depth);
        }
        (CType::Record { .. } | CType::Typedef(_), CType::Record { .. } | CType::Typedef(_)) => {
            if o.ty != n.ty {
                return Err(changed());
            }
            let entries = (o.m.record_in(o.file, &o.ty), n.m.record_in(n.file, &n.ty));
            match entries {
                (Some(a), Some(b)) => record(o, a, n, b, depth)?,
                (None, None) => opaque(o, n)?,
                (Some(_), None) | (None, Some(_)) => {
                    return Err(format!(
                        "{} is described in only one version's metadata",
                        o.ty
                    ))
                }
            }
        }
        // A field of an anonymous struct or union type is recorded as bare `struct`/`union`
        // (the compiler cuts the body off): its contents are unknown, so equal text proves
        // nothing.
        (CType::Opaque(a), CType::Opaque(_)) if a == "struct" || a == "union" => {
            return Err(format!(
                "an anonymous {a} (its fields are not in the metadata)"
            ))
        }
        (CType::Opaque(a), CType::Opaque(b)) if a == b => opaque(o, n)?,
        _ => return Err(changed()),
    };
    // The metadata's sizes are the compiler's: a plan that disagrees with them is wrong.
    if let Some(ns) = n.size {
        if conv.new_size() != ns {
            return Err(format!(
                "{}: the new value has {ns} bytes but its type suggests {}",
                n.ty,
                conv.new_size()
            ));
        }
    }
    if let Some(os) = o.size {
        if conv.old_size() > os {
            return Err(format!(
                "{}: the old value has {os} bytes but its type suggests {}",
                o.ty,
                conv.old_size()
            ));
        }
    }
    Ok(conv)
}

/// Opaque bytes (unknown records and typedefs, unread type text): a copy when same size.
fn opaque(o: &Val, n: &Val) -> Result<Conv, String> {
    match (o.size, n.size) {
        (Some(a), Some(b)) if a == b => Ok(Conv::copy(a)),
        (Some(a), Some(b)) => Err(format!("{} changed size from {a} to {b} bytes", o.ty)),
        _ => Err(format!("the size of {} is unknown", o.ty)),
    }
}

/// An array: element by element; a longer new array gets zero elements, a shorter one needs a
/// rule. Counts come from the type or, for `T []`, from the metadata's size.
fn array(
    o: &Val,
    oe: &Val,
    ocount: Option<u64>,
    n: &Val,
    ne: &Val,
    ncount: Option<u64>,
    depth: usize,
) -> Result<Conv, String> {
    let (Some(os), Some(ns)) = (oe.size.filter(|&s| s > 0), ne.size.filter(|&s| s > 0)) else {
        return Err(format!("the element size of {} is unknown", o.ty));
    };
    let count = |c: Option<u64>, v: &Val, stride: u64| c.or(v.size.map(|s| s / stride));
    let (Some(oc), Some(nc)) = (count(ocount, o, os), count(ncount, n, ns)) else {
        return Err(format!("the length of {} is unknown", o.ty));
    };
    let elem = convert(oe, ne, depth + 1).map_err(|e| format!("array element: {e}"))?;
    let plan = array_plan(oc, os, ns, elem);
    match nc.cmp(&oc) {
        std::cmp::Ordering::Equal => Ok(plan),
        std::cmp::Ordering::Greater => Ok(Conv::Struct {
            new_size: nc * ns,
            fields: vec![(0, Some(0), plan)],
        }),
        std::cmp::Ordering::Less => Err(format!(
            "array shrinks from {oc} to {nc} elements ({} to {})",
            o.ty, n.ty
        )),
    }
}

/// `count` elements converted by `elem`; a plain copy when nothing changes and no pointer is
/// inside.
fn array_plan(count: u64, old_stride: u64, new_stride: u64, elem: Conv) -> Conv {
    if old_stride == new_stride && elem.is_identity() && elem.pointer_slots().is_empty() {
        return Conv::copy(count * old_stride);
    }
    Conv::Array {
        count,
        old_stride,
        new_stride,
        elem: Box::new(elem),
    }
}

/// A struct's or union's field as a value.
fn field_val<'a>(v: &Val<'a>, f: &crate::model::Field, size: u64) -> Val<'a> {
    Val::new(v.m, None, &f.ty, Some(size))
}

fn byte_field(f: &crate::model::Field) -> Option<(u64, u64)> {
    match f.layout {
        FieldLayout::Bytes { offset, size } => Some((offset, size)),
        FieldLayout::Bits { .. } => None,
    }
}

/// A field's plan. A field of an anonymous struct or union type (recorded as bare `struct` or
/// `union`, its body cut off) is copied only when its whole record is unchanged in the
/// metadata; otherwise its contents are unknown and it needs a rule.
#[allow(clippy::too_many_arguments)]
fn field_conv(
    o: &Val,
    of: &crate::model::Field,
    osize: u64,
    n: &Val,
    nf: &crate::model::Field,
    nsize: u64,
    entry_same: bool,
    depth: usize,
) -> Result<Conv, String> {
    let bare = matches!(norm(&of.ty).as_str(), "struct" | "union");
    if bare && entry_same && osize == nsize && norm(&of.ty) == norm(&nf.ty) {
        return Ok(Conv::copy(nsize));
    }
    convert(
        &field_val(o, of, osize),
        &field_val(n, nf, nsize),
        depth + 1,
    )
}

/// A struct or union with type entries on both sides.
fn record(o: &Val, a: TypeId, n: &Val, b: TypeId, depth: usize) -> Result<Conv, String> {
    let (ot, nt) = (&o.m.types[a], &n.m.types[b]);
    let name = &nt.name;
    let union = o.is_union();
    if union != n.is_union() {
        return Err(format!("{name} changed between struct and union"));
    }
    let has_bits = |t: &Type| t.fields.iter().any(|f| byte_field(f).is_none());
    let entry_same = ot.size == nt.size && ot.fields == nt.fields;
    if union || has_bits(ot) || has_bits(nt) {
        // Only an unchanged union or bit-field struct is copied: which member a union holds,
        // and where a bit-field lies, are not known.
        let why = if union {
            "a union converts only when unchanged"
        } else {
            "a struct with bit-fields converts only when unchanged"
        };
        let same = ot.size == nt.size
            && ot.fields.len() == nt.fields.len()
            && ot.fields.iter().zip(&nt.fields).all(|(of, nf)| {
                of.name == nf.name
                    && of.layout == nf.layout
                    && match byte_field(of) {
                        Some((_, size)) => field_conv(o, of, size, n, nf, size, entry_same, depth)
                            .is_ok_and(|c| c.is_identity()),
                        None => o.m.resolve(&parse(&of.ty)) == n.m.resolve(&parse(&nf.ty)),
                    }
            });
        if !same {
            return Err(format!("{name} changed ({why})"));
        }
        let pointers = if union {
            union_slots(n, nt, depth)
        } else {
            let mut out = Vec::new();
            for f in &nt.fields {
                if let Some((off, size)) = byte_field(f) {
                    let v = field_val(n, f, size);
                    if let Ok(c) = convert(&v, &v, depth + 1) {
                        c.slots(off, &mut out);
                    }
                }
            }
            out
        };
        return Ok(Conv::Copy {
            bytes: nt.size,
            pointers,
        });
    }
    let mut fields = Vec::new();
    let mut identity = ot.size == nt.size && ot.fields.len() == nt.fields.len();
    for nf in &nt.fields {
        let (noff, nsize) = byte_field(nf).expect("no bit-fields here");
        match ot.fields.iter().find(|of| of.name == nf.name) {
            Some(of) => {
                let (ooff, osize) = byte_field(of).expect("no bit-fields here");
                let c = field_conv(o, of, osize, n, nf, nsize, entry_same, depth)
                    .map_err(|e| format!("field `{}` of {name}: {e}", nf.name))?;
                identity &= ooff == noff && c.is_identity();
                fields.push((noff, Some(ooff), c));
            }
            None => {
                identity = false;
                fields.push((noff, None, Conv::Zero { bytes: nsize }));
            }
        }
    }
    if identity {
        let mut pointers = Vec::new();
        for (off, _, c) in &fields {
            c.slots(*off, &mut pointers);
        }
        pointers.sort_unstable();
        return Ok(Conv::Copy {
            bytes: nt.size,
            pointers,
        });
    }
    Ok(Conv::Struct {
        new_size: nt.size,
        fields,
    })
}

/// The pointer slots of a union: offsets where every member that overlaps the 8 bytes holds a
/// pointer there. Bytes some member uses otherwise are copied without relocation.
fn union_slots(v: &Val, t: &Type, depth: usize) -> Vec<u64> {
    let members: Vec<(u64, u64, Vec<u64>)> = t
        .fields
        .iter()
        .filter_map(|f| {
            let (off, size) = byte_field(f)?;
            let fv = field_val(v, f, size);
            let mut slots = Vec::new();
            if let Ok(c) = convert(&fv, &fv, depth + 1) {
                c.slots(off, &mut slots);
            }
            Some((off, size, slots))
        })
        .collect();
    let candidates: BTreeSet<u64> = members.iter().flat_map(|m| m.2.iter().copied()).collect();
    candidates
        .into_iter()
        .filter(|&s| {
            members
                .iter()
                .all(|(off, size, slots)| s + 8 <= *off || off + size <= s || slots.contains(&s))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Globals, types, functions

fn globals(old: &Module, new: &Module, fmap: &HashMap<&str, &str>) -> Vec<GlobalChange> {
    let mut out = Vec::new();
    let mut used = HashSet::new();
    for (oid, g) in old.globals.iter() {
        let new_key = match key_parts(g) {
            None => Some(g.key.clone()),
            Some((file, rest)) => fmap.get(file).map(|nf| format!("{nf}/{rest}")),
        };
        let nid = new_key
            .and_then(|k| new.find_global(&k))
            .filter(|id| !used.contains(id));
        let Some(nid) = nid else {
            out.push(GlobalChange {
                old: Some(oid),
                new: None,
                transfer: Transfer::Dropped,
            });
            continue;
        };
        used.insert(nid);
        let ng = &new.globals[nid];
        let transfer = if ng.flags.constant {
            Transfer::Init
        } else {
            let o = Val::new(old, key_parts(g).map(|p| p.0), &g.ty, Some(g.size));
            let n = Val::new(new, key_parts(ng).map(|p| p.0), &ng.ty, Some(ng.size));
            match convert(&o, &n, 0) {
                Ok(Conv::Copy { pointers, .. }) if pointers.is_empty() => Transfer::Copy,
                Ok(c) => Transfer::Convert(c),
                Err(why) => Transfer::NeedsRule(why),
            }
        };
        out.push(GlobalChange {
            old: Some(oid),
            new: Some(nid),
            transfer,
        });
    }
    for (nid, _) in new.globals.iter().filter(|(id, _)| !used.contains(id)) {
        out.push(GlobalChange {
            old: None,
            new: Some(nid),
            transfer: Transfer::Init,
        });
    }
    out
}

fn types(old: &Module, new: &Module) -> Vec<TypeChange> {
    let mut by_name: BTreeMap<&str, (Option<TypeId>, Option<TypeId>)> = BTreeMap::new();
    for (side, m) in [(0, old), (1, new)] {
        for (id, t) in m.types.iter().filter(|(_, t)| !t.name.starts_with("enum ")) {
            let slot = by_name.entry(&t.name).or_default();
            let slot = if side == 0 { &mut slot.0 } else { &mut slot.1 };
            slot.get_or_insert(id);
        }
    }
    by_name
        .into_iter()
        .map(|(name, (o, n))| {
            let status = match (o, n) {
                (Some(a), Some(b)) => type_status(old, a, new, b),
                (Some(_), None) => TypeStatus::Removed,
                _ => TypeStatus::Added,
            };
            TypeChange {
                name: name.to_string(),
                old: o,
                new: n,
                status,
            }
        })
        .collect()
}

fn type_status(old: &Module, a: TypeId, new: &Module, b: TypeId) -> TypeStatus {
    let (ot, nt) = (&old.types[a], &new.types[b]);
    let names = |t: &Type| t.fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    let (onames, nnames) = (names(ot), names(nt));
    let added_fields: Vec<String> = nnames
        .iter()
        .filter(|f| !onames.contains(f))
        .cloned()
        .collect();
    let dropped_fields: Vec<String> = onames
        .iter()
        .filter(|f| !nnames.contains(f))
        .cloned()
        .collect();
    let retyped_fields: Vec<(String, String, String)> = nt
        .fields
        .iter()
        .filter_map(|nf| {
            let of = ot.fields.iter().find(|of| of.name == nf.name)?;
            let differs = old.resolve(&parse(&of.ty)) != new.resolve(&parse(&nf.ty));
            differs.then(|| (nf.name.clone(), of.ty.clone(), nf.ty.clone()))
        })
        .collect();
    let o = Val::new(old, None, &ot.name, Some(ot.size));
    let n = Val::new(new, None, &nt.name, Some(nt.size));
    let conv = record(&o, a, &n, b, 0).ok();
    let same = conv.as_ref().is_some_and(Conv::is_identity)
        && added_fields.is_empty()
        && dropped_fields.is_empty()
        && retyped_fields.is_empty();
    if same {
        return TypeStatus::Same;
    }
    TypeStatus::Changed {
        added_fields,
        dropped_fields,
        retyped_fields,
        conv,
    }
}

fn functions(old: &Module, new: &Module, fmap: &HashMap<&str, &str>) -> Vec<FunctionChange> {
    let mut pairs: Vec<Option<FuncId>> = vec![None; old.functions.len()];
    let mut used = HashSet::new();
    // First by (corresponding file, name), then an external function by name alone.
    for (oid, f) in old.functions.iter() {
        let nid = fmap
            .get(f.file.as_str())
            .and_then(|nf| new.find_function(nf, &f.name));
        if let Some(nid) = nid.filter(|id| !used.contains(id)) {
            used.insert(nid);
            pairs[oid.0 as usize] = Some(nid);
        }
    }
    for (oid, f) in old.functions.iter() {
        if pairs[oid.0 as usize].is_some() || f.flags.internal {
            continue;
        }
        let cands: Vec<FuncId> = new
            .functions
            .iter()
            .filter(|(id, nf)| !nf.flags.internal && nf.name == f.name && !used.contains(id))
            .map(|(id, _)| id)
            .collect();
        if let [nid] = cands[..] {
            used.insert(nid);
            pairs[oid.0 as usize] = Some(nid);
        }
    }
    let mut out = Vec::new();
    for (oid, f) in old.functions.iter() {
        let nid = pairs[oid.0 as usize];
        let points = f
            .points
            .iter()
            .map(|&op| {
                let key = &old.points[op].key;
                let Some(nid) = nid else {
                    return PointChange {
                        old: op,
                        new: None,
                        frame: Err(format!(
                            "function `{}` of {} is gone in the new version",
                            f.name, f.file
                        )),
                    };
                };
                match new.find_point(nid, key) {
                    Some(np) => PointChange {
                        old: op,
                        new: Some(np),
                        frame: frame(old, &old.points[op], new, &new.points[np]),
                    },
                    None => PointChange {
                        old: op,
                        new: None,
                        frame: Err(format!(
                            "the new `{}` has no point {key}",
                            new.functions[nid].name
                        )),
                    },
                }
            })
            .collect();
        out.push(FunctionChange {
            old: Some(oid),
            new: nid,
            points,
        });
    }
    for (nid, _) in new.functions.iter().filter(|(id, _)| !used.contains(id)) {
        out.push(FunctionChange {
            old: None,
            new: Some(nid),
            points: Vec::new(),
        });
    }
    out
}

/// `text` with whitespace normalised, for comparing type texts.
fn norm(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The type text of a local, seeing through `__typeof__(x)` when `x` is another local of the
/// same record (so a temporary copied from a pointer local is known to hold a pointer).
fn local_type<'p>(p: &'p Point, l: &'p Local) -> &'p str {
    let mut text = l.ty.as_str();
    for _ in 0..8 {
        let inner = text.trim().strip_prefix("__typeof__").map(|r| {
            r.trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .trim()
        });
        let Some(name) = inner
            .filter(|n| !n.is_empty() && n.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()))
        else {
            break;
        };
        match p.locals.iter().find(|x| x.name == name) {
            Some(x) if !x.flags.boxed => text = &x.ty,
            _ => break,
        }
    }
    text
}

/// How an object of the old record type `a` becomes one of the new record type `b` (which may
/// have another name: a spec's `type A -> B`): fields by name, new fields zero. The default of
/// a heap object's migration. With `lenient`, a field without an automatic conversion becomes
/// zero instead of failing the whole record (a spec's type rule then sets it: the checker
/// makes sure it has one).
pub fn record_conv(
    old: &Module,
    a: TypeId,
    new: &Module,
    b: TypeId,
    lenient: bool,
) -> Result<Conv, String> {
    let o = Val::new(old, None, &old.types[a].name, Some(old.types[a].size));
    let n = Val::new(new, None, &new.types[b].name, Some(new.types[b].size));
    match record(&o, a, &n, b, 0) {
        Ok(c) => Ok(c),
        Err(_) if lenient => Ok(lenient_record(&o, a, &n, b)),
        Err(e) => Err(e),
    }
}

/// Field by field by name where a field converts automatically, zero elsewhere.
fn lenient_record(o: &Val, a: TypeId, n: &Val, b: TypeId) -> Conv {
    let (ot, nt) = (&o.m.types[a], &n.m.types[b]);
    let entry_same = ot.size == nt.size && ot.fields == nt.fields;
    let mut fields = Vec::new();
    for nf in &nt.fields {
        let Some((noff, nsize)) = byte_field(nf) else {
            continue;
        };
        let of = ot.fields.iter().find(|of| of.name == nf.name);
        let conv = of.and_then(|of| {
            let (ooff, osize) = byte_field(of)?;
            field_conv(o, of, osize, n, nf, nsize, entry_same, 1)
                .ok()
                .map(|c| (ooff, c))
        });
        match conv {
            Some((ooff, c)) => fields.push((noff, Some(ooff), c)),
            None => fields.push((noff, None, Conv::Zero { bytes: nsize })),
        }
    }
    Conv::Struct {
        new_size: nt.size,
        fields,
    }
}

/// How a value of the old type `old_ty` becomes one of the new type `new_ty` (type texts as the
/// metadata writes them, resolved in each module): the automatic default.
pub fn value_conv(old: &Module, old_ty: &str, new: &Module, new_ty: &str) -> Result<Conv, String> {
    convert(
        &Val::new(old, None, old_ty, None),
        &Val::new(new, None, new_ty, None),
        0,
    )
}

/// How an old point's record becomes the new point's: locals by name.
/// How a record saved at `op` (old version) becomes a record of `np` (new version), locals by
/// name: the automatic default of a frame, also when a spec moves the frame to another
/// function or point.
pub fn frame_conv(old: &Module, op: PointId, new: &Module, np: PointId) -> Result<Conv, String> {
    frame(old, &old.points[op], new, &new.points[np])
}

fn frame(old: &Module, op: &Point, new: &Module, np: &Point) -> Result<Conv, String> {
    let mut fields = Vec::new();
    for (i, nl) in np.locals.iter().enumerate() {
        let name = &nl.name;
        // Locals of one name (a shadowed one and its shadow) pair up in order: the k-th of
        // that name at the new point with the k-th at the old one.
        let nth = np.locals[..i].iter().filter(|l| l.name == *name).count();
        let ol = op.locals.iter().filter(|l| l.name == *name).nth(nth);
        let conv = match ol {
            None if nl.flags.temporary => {
                return Err(format!(
                    "temporary `{name}` ({}) has no counterpart at the old point: a re-executed call would read an unset value",
                    nl.ty
                ))
            }
            None if nl.flags.boxed => {
                return Err(format!(
                    "address-taken local `{name}` is new: the old frame has no box for it"
                ))
            }
            None => Conv::Zero { bytes: nl.size },
            Some(ol) => local(old, op, ol, new, np, nl)?,
        };
        fields.push((nl.offset, ol.map(|l| l.offset), conv));
    }
    Ok(Conv::Struct {
        new_size: np.record_size,
        fields,
    })
}

fn local(
    old: &Module,
    op: &Point,
    ol: &Local,
    new: &Module,
    np: &Point,
    nl: &Local,
) -> Result<Conv, String> {
    let name = &nl.name;
    if ol.flags.boxed != nl.flags.boxed {
        let how = if nl.flags.boxed {
            "became address-taken"
        } else {
            "is no longer address-taken"
        };
        return Err(format!("local `{name}` {how} (its value lives in a box)"));
    }
    if nl.flags.temporary
        && (!ol.flags.temporary || norm(&ol.ty) != norm(&nl.ty) || ol.size != nl.size)
    {
        return Err(format!(
            "temporary `{name}` changed from {} to {}: a re-executed call could read a wrong value",
            ol.ty, nl.ty
        ));
    }
    let size = |l: &Local| (!l.flags.boxed).then_some(l.size);
    let o = Val::new(old, Some(&op.file), local_type(op, ol), size(ol));
    let n = Val::new(new, Some(&np.file), local_type(np, nl), size(nl));
    if nl.flags.boxed {
        if norm(&ol.ty) == norm(&nl.ty) {
            // The same declaration: the box is reused whatever the type text says.
            return Ok(Conv::Pointer);
        }
        return match convert(&o, &n, 0) {
            Ok(c) if c.is_identity() => Ok(Conv::Pointer),
            _ => Err(format!(
                "local `{name}` is address-taken and changed type from {} to {}",
                ol.ty, nl.ty
            )),
        };
    }
    convert(&o, &n, 0).map_err(|e| format!("local `{name}`: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Rendering

impl Transfer {
    /// The default in words: `copy`, `convert: sign-extend 4 -> 8 bytes`, `needs a rule: ...`.
    pub fn describe(&self) -> String {
        match self {
            Transfer::Copy => "copy".into(),
            Transfer::Convert(c) if c.is_identity() => format!("copy, relocating pointers ({c})"),
            Transfer::Convert(c) => format!("convert: {c}"),
            Transfer::Init => "keeps its new initialiser".into(),
            Transfer::Dropped => "dropped, its value is lost".into(),
            Transfer::NeedsRule(why) => format!("needs a rule: {why}"),
        }
    }
}

impl VersionDiff {
    /// One line per file pair, global, type, function and old point, in the order of the
    /// lists, ending with a newline. Deterministic: tests compare it byte for byte.
    pub fn render_text(&self, old: &Module, new: &Module) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = self.write_text(&mut out, old, new);
        out
    }

    fn write_text(&self, out: &mut String, old: &Module, new: &Module) -> fmt::Result {
        let count = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        writeln!(
            out,
            "# version diff: {}, {}, {}, {}",
            count(self.files.len(), "file pair"),
            count(self.globals.len(), "global"),
            count(self.types.len(), "type"),
            count(self.functions.len(), "function")
        )?;
        for (o, n) in &self.files {
            writeln!(out, "file {o} -> {n}")?;
        }
        for g in &self.globals {
            let key = |m: &Module, id: Option<GlobalId>| id.map(|id| m.globals[id].key.clone());
            let label = match (key(old, g.old), key(new, g.new)) {
                (Some(o), Some(n)) if o == n => o,
                (Some(o), Some(n)) => format!("{o} -> {n}"),
                (Some(o), None) => o,
                (None, Some(n)) => format!("{n} (new)"),
                (None, None) => "?".into(),
            };
            writeln!(out, "global {label}: {}", g.transfer.describe())?;
        }
        for t in &self.types {
            let status = match &t.status {
                TypeStatus::Same => "same".to_string(),
                TypeStatus::Added => "added".to_string(),
                TypeStatus::Removed => "removed".to_string(),
                TypeStatus::Changed {
                    added_fields,
                    dropped_fields,
                    retyped_fields,
                    conv,
                } => {
                    let mut s = "changed".to_string();
                    if !added_fields.is_empty() {
                        write!(s, "; added fields {}", added_fields.join(", "))?;
                    }
                    if !dropped_fields.is_empty() {
                        write!(s, "; dropped fields {}", dropped_fields.join(", "))?;
                    }
                    for (f, a, b) in retyped_fields {
                        write!(s, "; field {f} retyped from {a} to {b}")?;
                    }
                    match conv {
                        Some(c) => write!(s, "; converts: {c}")?,
                        None => s.push_str("; needs a rule"),
                    }
                    s
                }
            };
            writeln!(out, "type {}: {status}", t.name)?;
        }
        let fname =
            |m: &Module, id: FuncId| format!("{}:{}", m.functions[id].file, m.functions[id].name);
        for f in &self.functions {
            match (f.old, f.new) {
                (Some(o), Some(n)) => {
                    let (a, b) = (fname(old, o), fname(new, n));
                    if a == b {
                        writeln!(out, "function {a}")?;
                    } else {
                        writeln!(out, "function {a} -> {b}")?;
                    }
                }
                (Some(o), None) => writeln!(out, "function {}: removed", fname(old, o))?,
                (None, Some(n)) => writeln!(out, "function {}: new", fname(new, n))?,
                (None, None) => writeln!(out, "function ?")?,
            }
            for p in &f.points {
                let key = &old.points[p.old].key;
                match &p.frame {
                    Ok(c) => writeln!(out, "  point {key}: frame {c}")?,
                    Err(why) => writeln!(out, "  point {key}: cannot resume: {why}")?,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testenc::Builder;
    use crate::transfer::{apply, Relocate};

    fn files(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn files_correspond_by_path_version_directory_and_base_name() {
        let old = files(&[
            "main.c",
            "v1/a.c",
            "examples/x/v1/src/a.c",
            "old/util.c",
            "v1/b.c",
            "x/dup.c",
            "y/dup.c",
            "gone.c",
        ]);
        let new = files(&[
            "main.c",
            "v2/a.c",
            "examples/x/v2/src/a.c",
            "lib/util.c",
            "v2/c.c",
            "z/dup.c",
            "w/dup.c",
            "fresh.c",
        ]);
        let got = match_files(&old, &new);
        let want: Vec<(String, String)> = [
            ("examples/x/v1/src/a.c", "examples/x/v2/src/a.c"),
            ("main.c", "main.c"),
            ("old/util.c", "lib/util.c"),
            ("v1/a.c", "v2/a.c"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    /// Two versions of a small program exercising every global rule.
    fn versions() -> (Module, Module) {
        let old = Builder::new()
            .unit("v1/a.c")
            .unit("v1/util.c")
            .ty(
                "struct conn",
                24,
                8,
                &[
                    ("fd", "int", 0, 4),
                    ("buf", "char *", 8, 8),
                    ("dropped", "long", 16, 8),
                ],
            )
            .ty(
                "struct node",
                16,
                8,
                &[("v", "int", 0, 4), ("next", "struct node *", 8, 8)],
            )
            .ty("struct old_only", 4, 4, &[("x", "int", 0, 4)])
            .ty(
                "union val",
                8,
                8,
                &[
                    ("p", "void *", 0, 8),
                    ("s", "char *", 0, 8),
                    ("i", "int", 0, 4),
                ],
            )
            .ty(
                "union ptrs",
                8,
                8,
                &[("p", "void *", 0, 8), ("f", "int (*)(int)", 0, 8)],
            )
            .ty_bits(
                "struct flags",
                4,
                4,
                &[
                    ("a", "unsigned", u64::MAX, 0, 3),
                    ("b", "unsigned", u64::MAX, 0, 5),
                ],
            )
            .ty_bits("struct flags2", 4, 4, &[("a", "unsigned", u64::MAX, 0, 3)])
            .ty("point", 8, 4, &[("x", "int", 0, 4), ("y", "int", 4, 4)])
            .typedef("u32", "v1/a.c", "unsigned int", 4)
            .typedef("point", "v1/a.c", "struct { int x, y; }", 8)
            .typedef("conn_t", "v1/a.c", "struct conn", 24)
            .global("count", "long", 8, 0)
            .global("ptr", "int *", 8, 0)
            .global("widen", "int", 4, 0)
            .global("uwiden", "unsigned int", 4, 0)
            .global("narrow", "long", 8, 0)
            .global("sign", "int", 4, 0)
            .global("flt", "float", 4, 0)
            .global("dbl", "double", 8, 0)
            .global("gone", "int", 4, 0)
            .global("v1/a.c/hidden", "int", 4, 1)
            .global("v1/a.c/work/calls", "unsigned long", 8, 2)
            .global("limit", "int", 4, 4)
            .global("sz", "size_t", 8, 0)
            .global("tdef", "u32", 4, 0)
            .global("conn", "conn_t", 24, 0)
            .global("tab", "struct conn [2]", 48, 0)
            .global("names", "const char *[4]", 32, 0)
            .global("buf", "char [16]", 16, 0)
            .global("shrink", "char [32]", 32, 0)
            .global("head", "struct node", 16, 0)
            .global("fp", "int (*)(int)", 8, 0)
            .global("val", "union val", 8, 0)
            .global("ptrs", "union ptrs", 8, 0)
            .global("fl", "struct flags", 4, 0)
            .global("fl2", "struct flags2", 4, 0)
            .global("out", "FILE *", 8, 0)
            .global("mtx", "pthread_mutex_t", 40, 0)
            .global("color", "enum color", 4, 0)
            .global("retarget", "int *", 8, 0)
            .global("pt", "point", 8, 0)
            .global("nodes", "struct node [3]", 48, 0)
            .global("tmp", "__typeof__(x)", 4, 0)
            .ty("struct outer", 8, 4, &[("in", "struct", 0, 8)])
            .ty("struct outer2", 8, 4, &[("in", "struct", 0, 8)])
            .global("anon", "struct outer", 8, 0)
            .global("anon2", "struct outer2", 8, 0)
            .global("body", "struct { int a, b; }", 8, 0)
            .build();
        let new = Builder::new()
            .unit("v2/a.c")
            .unit("v2/util.c")
            .ty(
                "struct conn",
                24,
                8,
                &[
                    ("fd", "long", 0, 8),
                    ("buf", "char *", 8, 8),
                    ("added", "int", 16, 4),
                ],
            )
            .ty(
                "struct node",
                16,
                8,
                &[("v", "int", 0, 4), ("next", "struct node *", 8, 8)],
            )
            .ty("struct new_only", 4, 4, &[("x", "int", 0, 4)])
            .ty(
                "union val",
                8,
                8,
                &[
                    ("p", "void *", 0, 8),
                    ("s", "char *", 0, 8),
                    ("i", "int", 0, 4),
                ],
            )
            .ty(
                "union ptrs",
                8,
                8,
                &[("p", "void *", 0, 8), ("f", "int (*)(int)", 0, 8)],
            )
            .ty_bits(
                "struct flags",
                4,
                4,
                &[
                    ("a", "unsigned", u64::MAX, 0, 3),
                    ("b", "unsigned", u64::MAX, 0, 5),
                ],
            )
            .ty_bits("struct flags2", 4, 4, &[("a", "unsigned", u64::MAX, 0, 4)])
            .ty("point", 8, 4, &[("x", "int", 0, 4), ("y", "int", 4, 4)])
            .typedef("u64", "v2/a.c", "unsigned long", 8)
            .typedef("point", "v2/a.c", "struct { int x, y; }", 8)
            .global("count", "long", 8, 0)
            .global("ptr", "int *", 8, 0)
            .global("widen", "long", 8, 0)
            .global("uwiden", "long", 8, 0)
            .global("narrow", "int", 4, 0)
            .global("sign", "unsigned int", 4, 0)
            .global("flt", "double", 8, 0)
            .global("dbl", "float", 4, 0)
            .global("fresh", "int", 4, 0)
            .global("v2/a.c/hidden", "int", 4, 1)
            .global("v2/a.c/work/calls", "unsigned long", 8, 2)
            .global("limit", "int", 4, 4)
            .global("sz", "unsigned long", 8, 0)
            .global("tdef", "u64", 8, 0)
            .global("conn", "struct conn", 24, 0)
            .global("tab", "struct conn [2]", 48, 0)
            .global("names", "const char *[4]", 32, 0)
            .global("buf", "char [32]", 32, 0)
            .global("shrink", "char [16]", 16, 0)
            .global("head", "struct node", 16, 0)
            .global("fp", "int (*)(int)", 8, 0)
            .global("val", "union val", 8, 0)
            .global("ptrs", "union ptrs", 8, 0)
            .global("fl", "struct flags", 4, 0)
            .global("fl2", "struct flags2", 4, 0)
            .global("out", "FILE *", 8, 0)
            .global("mtx", "pthread_mutex_t", 40, 0)
            .global("color", "int", 4, 0)
            .global("retarget", "long *", 8, 0)
            .global("pt", "point", 8, 0)
            .global("nodes", "struct node [4]", 64, 0)
            .global("tmp", "__typeof__(x)", 4, 0)
            .ty("struct outer", 8, 4, &[("in", "struct", 0, 8)])
            .ty(
                "struct outer2",
                12,
                4,
                &[("in", "struct", 0, 8), ("more", "int", 8, 4)],
            )
            .global("anon", "struct outer", 8, 0)
            .global("anon2", "struct outer2", 12, 0)
            .global("body", "struct { int a, b; }", 8, 0)
            .build();
        (old, new)
    }

    fn transfer_of<'d>(d: &'d VersionDiff, old: &Module, key: &str) -> &'d Transfer {
        let id = old.find_global(key).unwrap();
        &d.globals
            .iter()
            .find(|g| g.old == Some(id))
            .unwrap()
            .transfer
    }

    fn conn_plan() -> Conv {
        Conv::Struct {
            new_size: 24,
            fields: vec![
                (
                    0,
                    Some(0),
                    Conv::Int {
                        from: (4, true),
                        to: (8, true),
                    },
                ),
                (8, Some(8), Conv::Pointer),
                (16, None, Conv::Zero { bytes: 4 }),
            ],
        }
    }

    #[test]
    fn globals_follow_the_transfer_rules() {
        let (old, new) = versions();
        let d = diff(&old, &new);
        let t = |key| transfer_of(&d, &old, key).clone();
        let conv = |c| Transfer::Convert(c);
        let int = |from, to| Conv::Int { from, to };
        assert_eq!(t("count"), Transfer::Copy);
        assert_eq!(t("ptr"), conv(Conv::Pointer));
        assert_eq!(t("widen"), conv(int((4, true), (8, true))));
        assert_eq!(t("uwiden"), conv(int((4, false), (8, true))));
        assert_eq!(
            t("narrow"),
            Transfer::NeedsRule("type changed from long to int (narrowing)".into())
        );
        assert_eq!(
            t("sign"),
            Transfer::NeedsRule("type changed from int to unsigned int (signedness)".into())
        );
        assert_eq!(t("flt"), conv(Conv::Float { from: 4, to: 8 }));
        assert!(matches!(t("dbl"), Transfer::NeedsRule(w) if w.contains("narrowing")));
        assert_eq!(t("gone"), Transfer::Dropped);
        assert_eq!(t("v1/a.c/hidden"), Transfer::Copy);
        assert_eq!(t("v1/a.c/work/calls"), Transfer::Copy);
        assert_eq!(
            t("limit"),
            Transfer::Init,
            "a const global keeps its initialiser"
        );
        assert_eq!(t("sz"), Transfer::Copy);
        assert_eq!(t("tdef"), conv(int((4, false), (8, false))));
        assert_eq!(t("conn"), conv(conn_plan()));
        assert_eq!(
            t("tab"),
            conv(Conv::Array {
                count: 2,
                old_stride: 24,
                new_stride: 24,
                elem: Box::new(conn_plan())
            })
        );
        assert_eq!(
            t("names"),
            conv(Conv::Array {
                count: 4,
                old_stride: 8,
                new_stride: 8,
                elem: Box::new(Conv::Pointer)
            })
        );
        assert_eq!(
            t("buf"),
            conv(Conv::Struct {
                new_size: 32,
                fields: vec![(0, Some(0), Conv::copy(16))]
            })
        );
        assert!(
            matches!(t("shrink"), Transfer::NeedsRule(w) if w.contains("shrinks from 32 to 16"))
        );
        assert_eq!(
            t("head"),
            conv(Conv::Copy {
                bytes: 16,
                pointers: vec![8]
            })
        );
        assert_eq!(t("fp"), conv(Conv::Pointer));
        // `int i` overlaps the pointers of `union val`: copied, not relocated.
        assert_eq!(t("val"), Transfer::Copy);
        assert_eq!(
            t("ptrs"),
            conv(Conv::Copy {
                bytes: 8,
                pointers: vec![0]
            })
        );
        assert_eq!(t("fl"), Transfer::Copy);
        assert!(matches!(t("fl2"), Transfer::NeedsRule(w) if w.contains("bit-fields")));
        assert_eq!(t("out"), conv(Conv::Pointer));
        assert_eq!(t("mtx"), Transfer::Copy);
        assert_eq!(t("color"), Transfer::Copy);
        assert_eq!(
            t("retarget"),
            Transfer::NeedsRule("type changed from int * to long *".into())
        );
        assert_eq!(t("pt"), Transfer::Copy);
        assert_eq!(
            t("nodes"),
            conv(Conv::Struct {
                new_size: 64,
                fields: vec![(
                    0,
                    Some(0),
                    Conv::Array {
                        count: 3,
                        old_stride: 16,
                        new_stride: 16,
                        elem: Box::new(Conv::Copy {
                            bytes: 16,
                            pointers: vec![8]
                        })
                    }
                )]
            })
        );
        assert_eq!(t("tmp"), Transfer::Copy);
        assert_eq!(
            t("anon"),
            Transfer::Copy,
            "an unchanged anonymous member is copied"
        );
        let anon2 = t("anon2");
        assert!(
            matches!(&anon2, Transfer::NeedsRule(w) if w.contains("anonymous struct")),
            "{anon2:?}"
        );
        assert_eq!(t("body"), Transfer::Copy);
        // Every global of either version appears once; new ones keep their initialisers.
        assert_eq!(d.globals.len(), old.globals.len() + 1);
        let fresh = new.find_global("fresh").unwrap();
        assert!(d
            .globals
            .iter()
            .any(|g| g.old.is_none() && g.new == Some(fresh) && g.transfer == Transfer::Init));
        assert_eq!(
            d.files,
            [
                ("v1/a.c".to_string(), "v2/a.c".to_string()),
                ("v1/util.c".to_string(), "v2/util.c".to_string())
            ]
        );
    }

    #[test]
    fn types_report_their_status() {
        let (old, new) = versions();
        let d = diff(&old, &new);
        let status = |name: &str| &d.types.iter().find(|t| t.name == name).unwrap().status;
        assert_eq!(
            *status("struct conn"),
            TypeStatus::Changed {
                added_fields: vec!["added".into()],
                dropped_fields: vec!["dropped".into()],
                retyped_fields: vec![("fd".into(), "int".into(), "long".into())],
                conv: Some(conn_plan()),
            }
        );
        assert_eq!(*status("struct node"), TypeStatus::Same);
        assert_eq!(*status("point"), TypeStatus::Same);
        assert_eq!(*status("union val"), TypeStatus::Same);
        assert_eq!(*status("struct flags"), TypeStatus::Same);
        assert!(matches!(
            status("struct flags2"),
            TypeStatus::Changed { conv: None, .. }
        ));
        assert_eq!(*status("struct old_only"), TypeStatus::Removed);
        assert_eq!(*status("struct new_only"), TypeStatus::Added);
        let names: Vec<&str> = d.types.iter().map(|t| t.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), 11);
    }

    /// Flags of locals: 1 boxed, 2 temporary, 4 parameter.
    const BOXED: u64 = 1;
    const TEMP: u64 = 2;
    const PARAM: u64 = 4;

    fn program(v: u32) -> Module {
        let a = format!("v{v}/a.c");
        let b = if v == 1 { "v1/helper.c" } else { "lib/help.c" };
        let mut m = Builder::new().unit(&a).unit(b);
        if v == 1 {
            m = m
                .function(&a, "work", 3, false)
                .point(
                    &a,
                    "work",
                    0,
                    "loop#1",
                    64,
                    &[
                        ("n", "int", 0, 4, PARAM),
                        ("i", "int", 4, 4, 0),
                        ("buf", "char [8]", 8, 8, BOXED),
                        ("t1", "__typeof__(p)", 16, 8, TEMP),
                        ("p", "char *", 24, 8, 0),
                        ("old_only", "int", 32, 4, 0),
                        ("acc", "long", 40, 8, 0),
                    ],
                )
                .point(&a, "work", 1, "call:f#1", 8, &[("n", "int", 0, 4, PARAM)])
                .point(
                    &a,
                    "work",
                    2,
                    "call:g#1",
                    16,
                    &[
                        ("c", "int", 0, 4, BOXED),
                        ("t", "__typeof__(n + 1)", 8, 4, TEMP),
                    ],
                )
                .function(b, "helper", 1, false)
                .point(b, "helper", 0, "entry", 8, &[("x", "long", 0, 8, PARAM)])
                .function(b, "hidden", 1, true)
                .point(b, "hidden", 0, "entry", 8, &[("x", "long", 0, 8, PARAM)])
                .function(&a, "removed", 1, false)
                .point(&a, "removed", 0, "entry", 4, &[("x", "int", 0, 4, PARAM)]);
        } else {
            m = m
                .function(&a, "work", 2, false)
                .point(
                    &a,
                    "work",
                    0,
                    "loop#1",
                    64,
                    &[
                        ("n", "long", 0, 8, PARAM),
                        ("p", "char *", 8, 8, 0),
                        ("t1", "__typeof__(p)", 16, 8, TEMP),
                        ("buf", "char [8]", 24, 8, BOXED),
                        ("i", "int", 32, 4, 0),
                        ("j", "short", 36, 2, 0),
                        ("acc", "int", 40, 4, 0),
                    ],
                )
                .point(
                    &a,
                    "work",
                    1,
                    "call:g#1",
                    16,
                    &[("c", "long", 0, 8, BOXED), ("t2", "int", 8, 4, TEMP)],
                )
                .function(b, "helper", 1, false)
                .point(b, "helper", 0, "entry", 8, &[("x", "long", 0, 8, PARAM)])
                .function(b, "hidden", 1, true)
                .point(b, "hidden", 0, "entry", 8, &[("x", "long", 0, 8, PARAM)])
                .function(&a, "added", 0, false);
        }
        m.build()
    }

    #[test]
    fn functions_and_frames() {
        let (old, new) = (program(1), program(2));
        let d = diff(&old, &new);
        let change = |name: &str| {
            let id = old
                .functions
                .iter()
                .find(|(_, f)| f.name == name)
                .unwrap()
                .0;
            d.functions.iter().find(|f| f.old == Some(id)).unwrap()
        };
        let work = change("work");
        assert_eq!(work.new, new.find_function("v2/a.c", "work"));
        // An external function matches by name when its file moved; a static one does not.
        assert_eq!(
            change("helper").new,
            new.find_function("lib/help.c", "helper")
        );
        assert_eq!(change("hidden").new, None);
        assert_eq!(change("removed").new, None);
        assert!(change("removed").points[0]
            .frame
            .as_ref()
            .unwrap_err()
            .contains("is gone"));
        let added = new.find_function("v2/a.c", "added");
        assert!(d
            .functions
            .iter()
            .any(|f| f.old.is_none() && f.new == added));
        // The new `hidden` has no old counterpart, so it is listed as new.
        let new_hidden = new.find_function("lib/help.c", "hidden");
        assert!(d
            .functions
            .iter()
            .any(|f| f.old.is_none() && f.new == new_hidden));

        let [lp, call_f, call_g] = &work.points[..] else {
            panic!("three old points")
        };
        assert_eq!(
            lp.new,
            new.find_point(work.new.unwrap(), &PointKey::Loop(1))
        );
        let frame = lp.frame.as_ref().unwrap_err();
        assert_eq!(
            frame,
            "local `acc`: type changed from long to int (narrowing)"
        );
        assert_eq!(call_f.new, None);
        assert!(call_f
            .frame
            .as_ref()
            .unwrap_err()
            .contains("no point call:f#1"));
        assert_eq!(
            call_g.frame.as_ref().unwrap_err(),
            "local `c` is address-taken and changed type from int to long"
        );
    }

    use crate::PointKey;

    #[test]
    fn frames_convert_locals_by_name() {
        let (old, mut new) = (program(1), program(2));
        // Make `acc` convertible: widen instead of narrowing.
        let loop_point = new.functions[new.find_function("v2/a.c", "work").unwrap()].points[0];
        let np = &mut new.points.get_mut(loop_point).locals[6];
        np.ty = "long long".into();
        np.size = 8;
        let d = diff(&old, &new);
        let work = &d.functions[0];
        let plan = work.points[0].frame.clone().unwrap();
        assert_eq!(
            plan,
            Conv::Struct {
                new_size: 64,
                fields: vec![
                    (
                        0,
                        Some(0),
                        Conv::Int {
                            from: (4, true),
                            to: (8, true)
                        }
                    ),
                    (8, Some(24), Conv::Pointer),
                    // `__typeof__(p)` is seen through to `char *`: its pointer is relocated.
                    (16, Some(16), Conv::Pointer),
                    (24, Some(8), Conv::Pointer),
                    (32, Some(4), Conv::copy(4)),
                    (36, None, Conv::Zero { bytes: 2 }),
                    (40, Some(40), Conv::copy(8)),
                ]
            }
        );
        // Run it on an old record.
        let mut rec = vec![0u8; 64];
        rec[0..4].copy_from_slice(&(-2i32).to_le_bytes());
        rec[4..8].copy_from_slice(&9i32.to_le_bytes());
        rec[8..16].copy_from_slice(&0x7100u64.to_le_bytes()); // box pointer
        rec[16..24].copy_from_slice(&0x4000u64.to_le_bytes());
        rec[24..32].copy_from_slice(&0x4000u64.to_le_bytes());
        rec[32..36].copy_from_slice(&77i32.to_le_bytes());
        rec[40..48].copy_from_slice(&(-5i64).to_le_bytes());
        struct Globals;
        impl Relocate for Globals {
            fn pointer(&mut self, old: u64) -> Result<u64, String> {
                // The old data segment 0x4000.. moved to 0x9000..; the rest stays.
                Ok(if (0x4000..0x5000).contains(&old) {
                    old + 0x5000
                } else {
                    old
                })
            }
        }
        let mut out = vec![0xffu8; 64];
        apply(&plan, &rec, &mut out, &mut Globals).unwrap();
        assert_eq!(&out[0..8], &(-2i64).to_le_bytes());
        assert_eq!(&out[8..16], &0x9000u64.to_le_bytes());
        assert_eq!(&out[16..24], &0x9000u64.to_le_bytes());
        assert_eq!(&out[24..32], &0x7100u64.to_le_bytes());
        assert_eq!(&out[32..36], &9i32.to_le_bytes());
        assert_eq!(&out[36..40], &[0; 4]);
        assert_eq!(&out[40..48], &(-5i64).to_le_bytes());
        assert_eq!(&out[48..], &[0; 16]);
    }

    #[test]
    fn temporaries_need_identical_counterparts() {
        let (old, mut new) = (program(1), program(2));
        let wid = new.find_function("v2/a.c", "work").unwrap();
        let lp = new.functions[wid].points[0];
        // A temporary whose text changed.
        new.points.get_mut(lp).locals[2].ty = "__typeof__(q)".into();
        new.points.get_mut(lp).locals[6].ty = "long".into();
        new.points.get_mut(lp).locals[6].size = 8;
        let d = diff(&old, &new);
        let err = d.functions[0].points[0].frame.clone().unwrap_err();
        assert!(
            err.starts_with("temporary `t1` changed from __typeof__(p) to __typeof__(q)"),
            "{err}"
        );
        // A temporary with no counterpart.
        let cg = new.functions[wid].points[1];
        new.points.get_mut(cg).locals[0].ty = "int".into();
        let d = diff(&old, &new);
        let err = d.functions[0].points[2].frame.clone().unwrap_err();
        assert!(
            err.starts_with("temporary `t2` (int) has no counterpart"),
            "{err}"
        );
    }

    #[test]
    fn renders_deterministically() {
        let old = Builder::new()
            .unit("v1/a.c")
            .ty("struct s", 8, 4, &[("a", "int", 0, 4), ("b", "int", 4, 4)])
            .global("n", "int", 4, 0)
            .global("p", "struct s *", 8, 0)
            .global("s", "struct s", 8, 0)
            .global("v1/a.c/lost", "long", 8, 1)
            .function("v1/a.c", "f", 1, false)
            .point("v1/a.c", "f", 0, "loop#1", 8, &[("i", "int", 0, 4, 0)])
            .function("v1/a.c", "g", 1, true)
            .point("v1/a.c", "g", 0, "entry", 4, &[("x", "int", 0, 4, PARAM)])
            .build();
        let new = Builder::new()
            .unit("v2/a.c")
            .ty(
                "struct s",
                12,
                4,
                &[("a", "int", 0, 4), ("c", "int", 4, 4), ("b", "int", 8, 4)],
            )
            .global("n", "long", 8, 0)
            .global("p", "struct s *", 8, 0)
            .global("s", "struct s", 12, 0)
            .global("m", "short", 2, 0)
            .function("v2/a.c", "f", 1, false)
            .point("v2/a.c", "f", 0, "loop#1", 8, &[("i", "short", 0, 2, 0)])
            .function("v2/a.c", "h", 0, false)
            .build();
        let d = diff(&old, &new);
        let want = "\
# version diff: 1 file pair, 5 globals, 1 type, 3 functions
file v1/a.c -> v2/a.c
global n: convert: sign-extend 4 -> 8 bytes
global p: copy, relocating pointers (relocate a pointer)
global s: convert: struct of 12 bytes: 2 kept (1 moved, 0 converted), 1 zeroed
global v1/a.c/lost: dropped, its value is lost
global m (new): keeps its new initialiser
type struct s: changed; added fields c; converts: struct of 12 bytes: 2 kept (1 moved, 0 converted), 1 zeroed
function v1/a.c:f -> v2/a.c:f
  point loop#1: cannot resume: local `i`: type changed from int to short (narrowing)
function v1/a.c:g: removed
  point entry: cannot resume: function `g` of v1/a.c is gone in the new version
function v2/a.c:h: new
";
        assert_eq!(d.render_text(&old, &new), want);
        assert_eq!(d, diff(&old, &new));
        // The JSON form serialises too (for tools).
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(
            v["globals"][0]["transfer"]["Convert"]["Int"]["to"],
            serde_json::json!([8, true])
        );
    }

    #[test]
    fn identical_modules_are_all_copies() {
        let (old, _) = versions();
        let d = diff(&old, &old);
        for g in &d.globals {
            let t = &g.transfer;
            let ok = match t {
                Transfer::Copy | Transfer::Init => true,
                Transfer::Convert(c) => c.is_identity(),
                _ => false,
            };
            assert!(ok, "{:?}: {t:?}", old.globals[g.old.unwrap()].key);
        }
        assert!(
            d.types.iter().all(|t| t.status == TypeStatus::Same),
            "{:?}",
            d.types
        );
        let p = program(1);
        let d = diff(&p, &p);
        for f in &d.functions {
            for pc in &f.points {
                let plan = pc.frame.as_ref().unwrap();
                let Conv::Struct { fields, .. } = plan else {
                    panic!("{plan:?}")
                };
                assert!(fields
                    .iter()
                    .all(|(n, o, c)| Some(*n) == *o && c.is_identity()));
            }
        }
    }
}
