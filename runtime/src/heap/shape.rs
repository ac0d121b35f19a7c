//! Where the pointers are in a value of an old type, and what each points to: the map the heap
//! traversal reads memory by.
//!
//! A [`Shape`] is one C type of the old version (resolved through typedefs), its size, and the
//! pointer slots of one value of it, flattened (fields of nested structs and elements of
//! arrays by value included), each with its [`Target`]. Shapes are made on first use and
//! memoised by type (and by the generic arguments of a `layout struct list<T>` hint).
//!
//! Layout hints of the spec (`upstare_dsl::checked::Layout`) replace a field's slots: `opaque`
//! removes them, `string` and `fnptr` make the field a pointer that is relocated but not typed,
//! `T*`, `T*[len]` and `T*[nul]` give a `void *` (or any pointer) its real pointee and count,
//! generic parameters are substituted per use, and `case` (a union, or a `void *`, whose member
//! depends on the object) becomes a slot whose arms are chosen per object by evaluating their
//! conditions (compiled by the JIT) on the struct the hint belongs to.
//!
//! Pointers to `char`, `void`, functions and unread types are untyped: their values are still
//! relocated (a pointer to a migrated object, a global or a function is rewritten whatever its
//! declared type), but they never decide what a heap block holds. `void *` ones are remembered
//! by the traversal, because they may hide an object of a changed type.
//!
//! Deliberately not here: reading memory (migrate.rs) and deciding conversions (the version
//! diff, `upstare_meta::diff`).

use std::collections::HashMap;

use upstare_dsl::checked::{Hint, Layout, LayoutTarget, Pointee, PtrLen};
use upstare_meta::{CType, FieldLayout, GlobalId, Module, TypeId};

/// A shape's index in [`Shapes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShapeId(std::num::NonZeroU32);

impl ShapeId {
    fn from_index(i: usize) -> ShapeId {
        ShapeId(std::num::NonZeroU32::new(i as u32 + 1).expect("fewer than 2^32 shapes"))
    }

    /// Its index in the table of shapes (and in tables kept per shape).
    pub fn index(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// How many objects a typed pointer leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// As many as the block holds (`malloc(n * sizeof *p)`).
    Block,
    /// Exactly one (a `T*` hint).
    One,
    /// The value of a hint expression (`T*[old.n]`): layout index, expression index; it runs
    /// with `old` pointing to the object holding the pointer.
    Expr(usize, usize),
    /// Up to and including the first all-zero object (`T*[nul]`).
    Nul,
}

/// What an untyped pointer is declared to point to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untyped {
    /// `void *`: may hide an object of a changed type.
    Void,
    /// `char *` (and `_Bool *`): bytes; a migrated object it points into must hold bytes there.
    Char,
    /// Functions, unread types, hinted strings and function pointers.
    Other,
}

/// What a pointer slot's value leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Relocated, never followed.
    Untyped(Untyped),
    Typed {
        shape: ShapeId,
        count: Count,
    },
    /// A `case` hint (index into `Shapes::cases`): which arm's slots apply is decided per
    /// object by the arms' conditions.
    Case(u32),
}

#[derive(Debug, Clone, Copy)]
pub struct Slot {
    /// Where the pointer (or the union, for `Case`) is, from the start of the value.
    pub off: u64,
    pub target: Target,
    /// Where the struct whose layout hint made this slot starts (hint expressions read it as
    /// `old`), from the start of the value.
    pub hold: u64,
}

/// The arms of one `case` hint.
#[derive(Debug, Clone)]
pub struct CaseShape {
    /// The layout the hint belongs to (its expressions are that layout's `hint_exprs`).
    pub layout: usize,
    pub arms: Vec<CaseArmShape>,
}

#[derive(Debug, Clone)]
pub struct CaseArmShape {
    /// The index of the arm's condition among the layout's expressions; `None` for `else`.
    pub cond: Option<usize>,
    /// The slots when this arm holds, offsets from the start of the value.
    pub slots: Vec<Slot>,
}

#[derive(Debug)]
pub struct Shape {
    /// The resolved old type.
    pub ty: CType,
    /// Its size (0 when unknown: such a pointee is not followed).
    pub size: u64,
    /// The struct or union entry, for records.
    pub record: Option<TypeId>,
    /// The pointer slots of one value, by offset.
    pub slots: Vec<Slot>,
    /// A struct ending in a flexible array member: one object per block, the rest its array.
    pub flexible: bool,
    /// Whether a slot is a `case` (objects then need their conditions evaluated).
    pub has_cases: bool,
}

/// Values nest; this bounds the recursion on corrupt metadata (a struct containing itself).
const MAX_DEPTH: usize = 48;
/// More slots than this in one value (a huge array of pointers by value) are not expanded.
const MAX_SLOTS: usize = 1 << 20;

/// The shapes of one update, made on demand.
pub struct Shapes<'a> {
    old: &'a Module,
    layouts: &'a [Layout],
    by_key: HashMap<(CType, Vec<CType>), ShapeId>,
    shapes: Vec<Shape>,
    cases: Vec<CaseShape>,
}

impl<'a> Shapes<'a> {
    pub fn new(old: &'a Module, layouts: &'a [Layout]) -> Shapes<'a> {
        Shapes {
            old,
            layouts,
            by_key: HashMap::new(),
            shapes: Vec::new(),
            cases: Vec::new(),
        }
    }

    pub fn get(&self, id: ShapeId) -> &Shape {
        &self.shapes[id.index()]
    }

    pub fn case(&self, i: u32) -> &CaseShape {
        &self.cases[i as usize]
    }

    /// The shape of old type text `text` (a global's or a local's type).
    pub fn of_text(&mut self, text: &str) -> ShapeId {
        let t = self.old.resolve(&upstare_meta::ctype::parse(text));
        self.of(&t, &[])
    }

    /// The shape of the resolved old type `t` with generic arguments `args`.
    pub fn of(&mut self, t: &CType, args: &[CType]) -> ShapeId {
        let key = (t.clone(), args.to_vec());
        if let Some(&id) = self.by_key.get(&key) {
            return id;
        }
        let id = ShapeId::from_index(self.shapes.len());
        // Placeholder first: a struct pointing to itself finds its own id.
        self.shapes.push(Shape {
            ty: t.clone(),
            size: self.old.size_of(t).unwrap_or(0),
            record: self.old.record(t),
            slots: Vec::new(),
            flexible: false,
            has_cases: false,
        });
        self.by_key.insert(key, id);
        let mut slots = Vec::new();
        self.slots(t, args, 0, &mut slots, 0);
        slots.sort_by_key(|s| s.off);
        let flexible = self.flexible(t);
        let s = &mut self.shapes[id.index()];
        s.has_cases = slots.iter().any(|x| matches!(x.target, Target::Case(_)));
        s.slots = slots;
        s.flexible = flexible;
        id
    }

    /// Whether `t` is a struct whose last field is an array without a length.
    fn flexible(&self, t: &CType) -> bool {
        let Some(r) = self.old.record(t) else {
            return false;
        };
        let Some(last) = self.old.types[r].fields.last() else {
            return false;
        };
        matches!(
            self.old.resolve(&upstare_meta::ctype::parse(&last.ty)),
            CType::Array(_, None) | CType::Array(_, Some(0))
        )
    }

    /// The target of a pointer to `inner` (resolved).
    fn pointee(&mut self, inner: &CType) -> Target {
        match inner {
            CType::Void => Target::Untyped(Untyped::Void),
            CType::Function | CType::Opaque(_) => Target::Untyped(Untyped::Other),
            CType::Int { bytes: 1, .. } | CType::Bool => Target::Untyped(Untyped::Char),
            t => {
                let shape = self.of(t, &[]);
                if self.get(shape).size == 0 {
                    Target::Untyped(Untyped::Other)
                } else {
                    Target::Typed {
                        shape,
                        count: Count::Block,
                    }
                }
            }
        }
    }

    fn slots(&mut self, t: &CType, args: &[CType], base: u64, out: &mut Vec<Slot>, depth: usize) {
        if depth > MAX_DEPTH || out.len() > MAX_SLOTS {
            return;
        }
        let t = self.old.resolve(t);
        match &t {
            CType::Pointer(inner) => {
                let target = self.pointee(inner);
                out.push(Slot {
                    off: base,
                    target,
                    hold: base,
                });
            }
            CType::Array(elem, Some(n)) => {
                let Some(es) = self.old.size_of(elem).filter(|&s| s > 0) else {
                    return;
                };
                let mut one = Vec::new();
                self.slots(elem, args, 0, &mut one, depth + 1);
                if one.is_empty() {
                    return;
                }
                for k in 0..*n {
                    if out.len() > MAX_SLOTS {
                        break;
                    }
                    out.extend(one.iter().map(|s| Slot {
                        off: base + k * es + s.off,
                        target: s.target,
                        hold: base + k * es + s.hold,
                    }));
                }
            }
            CType::Record { .. } | CType::Typedef(_) => {
                let Some(r) = self.old.record(&t) else {
                    return;
                };
                let rt = &self.old.types[r];
                // Unions: which member is live is not known, so none is followed (a `case`
                // hint would say).
                if rt.name.starts_with("union ") {
                    return;
                }
                let hints = self.field_hints(r);
                let fields: Vec<(usize, u64, String)> = rt
                    .fields
                    .iter()
                    .enumerate()
                    .filter_map(|(i, f)| match f.layout {
                        FieldLayout::Bytes { offset, .. } => Some((i, offset, f.ty.clone())),
                        FieldLayout::Bits { .. } => None,
                    })
                    .collect();
                for (i, off, ty) in fields {
                    let hint = hints
                        .iter()
                        .find(|h| h.0 == i as u32 && !matches!(h.3, Hint::Plain));
                    match hint {
                        Some((_, layout, expr_base, hint)) => {
                            let (layout, eb, hint) = (*layout, *expr_base, (*hint).clone());
                            let ft = self.old.resolve(&upstare_meta::ctype::parse(&ty));
                            let at = Place {
                                off: base + off,
                                hold: base,
                            };
                            self.hinted(&hint, &ft, args, layout, eb, at, out);
                        }
                        None => {
                            let ft = upstare_meta::ctype::parse(&ty);
                            self.slots(&ft, args, base + off, out, depth + 1);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The hints on the fields of old record `r`: (field, layout index, index of the layout's
    /// first expression for this hint, hint).
    fn field_hints(&self, r: TypeId) -> Vec<(u32, usize, usize, &'a Hint)> {
        let mut out = Vec::new();
        for (li, l) in self.layouts.iter().enumerate() {
            if let LayoutTarget::Type { ty, fields } = &l.target {
                if *ty != r {
                    continue;
                }
                let mut next_expr = 0;
                for f in fields {
                    out.push((f.field, li, next_expr, &f.hint));
                    next_expr += expr_count(&f.hint);
                }
            }
        }
        out
    }

    /// The hint of old global `g`, if the spec gives one: (layout index, hint).
    pub fn global_hint(&self, g: GlobalId) -> Option<(usize, &'a Hint)> {
        self.layouts
            .iter()
            .enumerate()
            .find_map(|(li, l)| match &l.target {
                LayoutTarget::Global { global, hint } if *global == g => Some((li, hint)),
                _ => None,
            })
    }

    /// The slots a hinted value of declared type `ty` at `at` contributes.
    #[allow(clippy::too_many_arguments)]
    pub fn hinted(
        &mut self,
        hint: &Hint,
        ty: &CType,
        args: &[CType],
        layout: usize,
        expr: usize,
        at: Place,
        out: &mut Vec<Slot>,
    ) {
        let slot = |target| Slot {
            off: at.off,
            target,
            hold: at.hold,
        };
        match hint {
            Hint::Opaque => {}
            // `plain` on a global: relocated like any pointer (fields take their declared type
            // before reaching here; members of a `case` arm below).
            Hint::Str | Hint::FnPtr | Hint::Plain => {
                out.push(slot(Target::Untyped(Untyped::Other)))
            }
            Hint::Ptr { pointee, len } => {
                let Some((t, targs)) = self.pointee_type(pointee, args) else {
                    out.push(slot(Target::Untyped(Untyped::Other)));
                    return;
                };
                let shape = self.of(&t, &targs);
                let count = match len {
                    PtrLen::One => Count::One,
                    PtrLen::Count(_) => Count::Expr(layout, expr),
                    PtrLen::Nul => Count::Nul,
                };
                out.push(slot(Target::Typed { shape, count }));
            }
            Hint::Case(arms) => {
                // The union's members, for arms that name one.
                let members: Vec<(u64, String)> = self
                    .old
                    .record(ty)
                    .map(|r| {
                        self.old.types[r]
                            .fields
                            .iter()
                            .map(|f| match f.layout {
                                FieldLayout::Bytes { offset, .. } => (offset, f.ty.clone()),
                                FieldLayout::Bits { .. } => (0, f.ty.clone()),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let mut next = expr;
                let mut shaped = Vec::new();
                for arm in arms {
                    let cond = arm.cond.as_ref().map(|_| {
                        next += 1;
                        next - 1
                    });
                    let mut slots = Vec::new();
                    let member = arm
                        .member
                        .and_then(|(i, _)| members.get(i as usize).cloned());
                    match (&arm.hint, member) {
                        (Hint::Plain, Some((moff, mty))) => {
                            let t = upstare_meta::ctype::parse(&mty);
                            self.slots(&t, args, at.off + moff, &mut slots, 1);
                        }
                        (h, Some((moff, mty))) => {
                            let t = self.old.resolve(&upstare_meta::ctype::parse(&mty));
                            let place = Place {
                                off: at.off + moff,
                                hold: at.hold,
                            };
                            self.hinted(h, &t, args, layout, next, place, &mut slots);
                        }
                        (h, None) => {
                            self.hinted(h, ty, args, layout, next, at, &mut slots);
                        }
                    }
                    next += expr_count(&arm.hint);
                    shaped.push(CaseArmShape { cond, slots });
                }
                let id = self.cases.len() as u32;
                self.cases.push(CaseShape {
                    layout,
                    arms: shaped,
                });
                out.push(slot(Target::Case(id)));
            }
        }
    }

    /// The type a pointer hint names, with generic parameters substituted.
    fn pointee_type(&self, p: &Pointee, args: &[CType]) -> Option<(CType, Vec<CType>)> {
        match p {
            Pointee::Param(i) => args.get(*i as usize).map(|t| (t.clone(), Vec::new())),
            Pointee::Type { ty, args: a, .. } => {
                let targs = a
                    .iter()
                    .filter_map(|x| self.pointee_type(x, args).map(|(t, _)| t))
                    .collect();
                Some((self.old.resolve(ty), targs))
            }
        }
    }
}

/// Where a hinted value is: its offset, and the offset of the struct whose layout hint it is
/// (both from the start of the value being shaped).
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub off: u64,
    pub hold: u64,
}

/// How many hint expressions a hint holds (the JIT's pre-order: a `[len]` count, each case
/// arm's condition before the arm's own hint).
fn expr_count(h: &Hint) -> usize {
    match h {
        Hint::Ptr {
            len: PtrLen::Count(_),
            ..
        } => 1,
        Hint::Case(arms) => arms
            .iter()
            .map(|a| usize::from(a.cond.is_some()) + expr_count(&a.hint))
            .sum(),
        _ => 0,
    }
}
