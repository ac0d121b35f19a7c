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
//! generic parameters are substituted per use. A `case` hint (a union whose member depends on
//! the object) is not supported by the traversal yet: a shape that needs one records the
//! problem, and the update is refused when such an object is reached.
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
}

#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub off: u64,
    pub target: Target,
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
    /// Why the traversal cannot read this type (an unsupported hint), if it cannot.
    pub problem: Option<String>,
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
}

impl<'a> Shapes<'a> {
    pub fn new(old: &'a Module, layouts: &'a [Layout]) -> Shapes<'a> {
        Shapes {
            old,
            layouts,
            by_key: HashMap::new(),
            shapes: Vec::new(),
        }
    }

    pub fn get(&self, id: ShapeId) -> &Shape {
        &self.shapes[id.index()]
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
            problem: None,
        });
        self.by_key.insert(key, id);
        let mut slots = Vec::new();
        let mut problem = None;
        self.slots(t, args, 0, &mut slots, &mut problem, 0);
        slots.sort_by_key(|s| s.off);
        let flexible = self.flexible(t);
        let s = &mut self.shapes[id.index()];
        s.slots = slots;
        s.problem = problem;
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

    fn slots(
        &mut self,
        t: &CType,
        args: &[CType],
        base: u64,
        out: &mut Vec<Slot>,
        problem: &mut Option<String>,
        depth: usize,
    ) {
        if depth > MAX_DEPTH || out.len() > MAX_SLOTS {
            return;
        }
        let t = self.old.resolve(t);
        match &t {
            CType::Pointer(inner) => {
                let target = self.pointee(inner);
                out.push(Slot { off: base, target });
            }
            CType::Array(elem, Some(n)) => {
                let Some(es) = self.old.size_of(elem).filter(|&s| s > 0) else {
                    return;
                };
                let mut one = Vec::new();
                self.slots(elem, args, 0, &mut one, problem, depth + 1);
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
                            self.hinted(&hint, args, layout, eb, base + off, out, problem);
                        }
                        None => {
                            let ft = upstare_meta::ctype::parse(&ty);
                            self.slots(&ft, args, base + off, out, problem, depth + 1);
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

    /// The slot a hinted value at `off` contributes.
    #[allow(clippy::too_many_arguments)]
    pub fn hinted(
        &mut self,
        hint: &Hint,
        args: &[CType],
        layout: usize,
        expr: usize,
        off: u64,
        out: &mut Vec<Slot>,
        problem: &mut Option<String>,
    ) {
        match hint {
            Hint::Opaque => {}
            // `plain` on a global: relocated like any pointer (fields take their declared type
            // before reaching here).
            Hint::Str | Hint::FnPtr | Hint::Plain => out.push(Slot {
                off,
                target: Target::Untyped(Untyped::Other),
            }),
            Hint::Ptr { pointee, len } => {
                let Some((t, targs)) = self.pointee_type(pointee, args) else {
                    out.push(Slot {
                        off,
                        target: Target::Untyped(Untyped::Other),
                    });
                    return;
                };
                let shape = self.of(&t, &targs);
                let count = match len {
                    PtrLen::One => Count::One,
                    PtrLen::Count(_) => Count::Expr(layout, expr),
                    PtrLen::Nul => Count::Nul,
                };
                out.push(Slot {
                    off,
                    target: Target::Typed { shape, count },
                });
            }
            Hint::Case(_) => {
                *problem = Some(
                    "a `case` layout hint (a union chosen per object) is not supported by the heap traversal yet"
                        .into(),
                );
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
