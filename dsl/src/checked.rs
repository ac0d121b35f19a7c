//! The checked representation of a spec: what the JIT compiles and the runtime executes.
//!
//! [`crate::check`] produces a [`Spec`] only when the spec has no errors, so everything here is
//! already known to be well formed: every name is resolved to an id of the old or the new
//! version's metadata ([`upstare_meta::TypeId`], [`GlobalId`], [`FuncId`], [`PointId`]), every
//! expression carries its C type ([`CType`], typedefs resolved) and the version whose layouts
//! that type refers to, every implicit C conversion is an explicit [`ExprKind::Convert`], every
//! field access is a byte offset and size taken from the metadata, and each rule keeps its name
//! and source span for error reports at update time. Nothing here holds text to be looked up
//! again, machine types, or cranelift types.
//!
//! # How rules run
//!
//! Every rule with a body is one function for the JIT:
//! `extern "C" fn(old: *const u8, new: *mut u8, ctx: *mut Ctx) -> i32`.
//! What `old` and `new` point to depends on the rule:
//!
//! | rule | `old` | `new` |
//! |---|---|---|
//! | [`TypeRule`] (and the field rules folded into it) | the old object | the new object |
//! | [`GlobalRule`] | the old global (null for `init`) | the new global |
//! | [`FrameRule`] | the old frame record | the new frame record |
//! | [`Spec::asserts`] | null | null |
//!
//! Before a rule's body runs, the runtime has already filled `new` with the automatic default
//! (fields or locals of the same name copied or converted, new ones zeroed): a body only states
//! what differs. Rule bodies run after all memory of the new version exists, so a body can
//! store pointers to new objects made by [`Builtin::Migrate`] or [`Builtin::Alloc`].
//!
//! # Memory
//!
//! A [`Place`] says where a value lives: relative to `old`/`new`, in a global of either
//! version, in a JIT-frame variable ([`Var`]), or behind a pointer. Places rooted in old memory
//! are never assigned (the checker guarantees it: transformers write only new memory). Pointer
//! values carry in their [`Expr::ver`] which version's memory they point into; the checker
//! refuses to store an old pointer into new state except through `migrate`.
//!
//! # What the JIT must check itself
//!
//! Division by zero, shifts by the width or more, null and out-of-bounds pointers: the generated
//! code checks them and fails the rule with its span (the update aborts, nothing is written to
//! the running version). Array [`Proj::Index`] carries the array length when it is known.
//!
//! # Bit-fields
//!
//! The metadata (format 1) gives a bit-field's width but not its bit offset, so a
//! [`Proj::BitField`] names the field by record and index; the JIT needs the offset from a later
//! metadata format or refuses the rule.

pub use upstare_meta::CType;
use upstare_meta::{FuncId, GlobalId, PointId, TypeId};

pub use crate::ast::{BinOp, Span, Ver};

/// A whole checked spec.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Spec {
    pub options: Options,
    /// Explicit function correspondences (`function a -> b;`), on top of same-name matching.
    pub functions: Vec<FunctionMap>,
    /// One entry per (old type, new type) pair that has a type rule or field rules.
    pub types: Vec<TypeRule>,
    pub globals: Vec<GlobalRule>,
    pub frames: Vec<FrameRule>,
    pub threads: Vec<ThreadRule>,
    pub layouts: Vec<Layout>,
    /// Top-level asserts, evaluated on the old state before anything is transformed; a false
    /// one aborts the update with its message.
    pub asserts: Vec<Assert>,
}

/// `option` values; `None` means the runtime's default.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Options {
    /// The longest the update may keep the program paused (microseconds); past it, the update
    /// aborts and the old version continues.
    pub deadline_us: Option<u64>,
    /// How long to wait for every thread to reach an update point whose frames all have a
    /// mapping (microseconds).
    pub quiesce_us: Option<u64>,
    /// Whether the heap is traversed.
    pub heap: Option<HeapMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeapMode {
    /// Objects reachable from globals and frames are migrated by their types and the layout hints.
    Traverse,
    /// Only globals and frames are transformed; heap objects are kept as they are.
    None,
}

/// Where a rule came from, for reports at update time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// A short name: `type struct conn`, `global hits`, `frame main @ loop#1`.
    pub name: String,
    pub span: Span,
}

/// `function old -> new;`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionMap {
    pub old: FuncId,
    pub new: FuncId,
    pub origin: Origin,
}

/// How objects of one old type become objects of one new type. The default before `fields`
/// and `body` run is the automatic conversion field by field by name, also when the two types
/// have different names (`type A -> B`, which `upstare_meta::diff` does not pair by itself).
#[derive(Debug, Clone, PartialEq)]
pub struct TypeRule {
    pub origin: Origin,
    pub old: TypeId,
    pub new: TypeId,
    /// Field rules for this pair, in source order; they run before `body`.
    pub fields: Vec<FieldRule>,
    /// The `type` rule's body, if any.
    pub body: Option<Body>,
}

/// A field rule, run with `old`/`new` pointing to the enclosing objects (the field itself is a
/// [`Proj::Field`] of them inside the body).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRule {
    pub origin: Origin,
    /// Index into the old type's fields; `None` for `init field`.
    pub old_field: Option<u32>,
    /// Index into the new type's fields.
    pub new_field: u32,
    /// `None`: the old field's value is converted to the new field's type (a rename).
    pub body: Option<Body>,
}

/// A global rule.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalRule {
    pub origin: Origin,
    /// `None` for `init global`.
    pub old: Option<GlobalId>,
    pub new: GlobalId,
    /// `None`: the old value is converted to the new global's type (a rename or a move between
    /// a static local and a global).
    pub body: Option<Body>,
}

/// A frame rule: an old frame stopped at `old_point` resumes as described by `dest`.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameRule {
    pub origin: Origin,
    pub old_func: FuncId,
    pub old_point: PointId,
    pub dest: FrameDest,
    /// Runs with `old`/`new` pointing to the frame records; `None`: locals of the same name are
    /// converted, others zeroed.
    pub body: Option<Body>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameDest {
    /// Resume in `func` (possibly another function than the old one) at `point`.
    At { func: FuncId, point: PointId },
    /// The update must not happen while a frame is stopped at this point: the runtime lets the
    /// thread run on and tries again (until the quiesce time is over).
    Wait,
}

/// `thread old_start -> new_start;`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadRule {
    pub origin: Origin,
    pub old: FuncId,
    pub new: FuncId,
}

/// Heap traversal hints for objects of an old type or for one old global.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub origin: Origin,
    pub target: LayoutTarget,
    /// Number of generic parameters (`layout struct list<T>`): [`Pointee::Param`] indexes them.
    pub params: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LayoutTarget {
    /// Per field of the old record `ty`: (field index, byte offset, hint).
    Type { ty: TypeId, fields: Vec<FieldHint> },
    /// The old global itself.
    Global { global: GlobalId, hint: Hint },
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldHint {
    pub field: u32,
    pub offset: u64,
    pub hint: Hint,
}

/// How the traversal treats a value. Expressions in hints (`[len]`, case conditions) run with
/// `old` pointing to the enclosing old object (or the old global), like a rule body.
#[derive(Debug, Clone, PartialEq)]
pub enum Hint {
    /// Copy the bytes, never follow.
    Opaque,
    /// A NUL-terminated string: copy it into the new heap.
    Str,
    /// A function pointer: the new function of the same name (or `function` rule).
    FnPtr,
    /// Follow by the declared type.
    Plain,
    /// A pointer to one object (`len` `None`), to `len` objects, or to objects up to a null one.
    Ptr { pointee: Pointee, len: PtrLen },
    /// A union: the first arm whose condition holds gives the member (field index and offset)
    /// and its hint; `None` condition is `else`. No arm: copied as bytes.
    Case(Vec<CaseArm>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PtrLen {
    One,
    Count(Expr),
    Nul,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CaseArm {
    pub cond: Option<Expr>,
    /// Member of the union (index, offset); `None` when the arm names only a hint.
    pub member: Option<(u32, u64)>,
    pub hint: Hint,
}

/// What a pointer hint points to.
#[derive(Debug, Clone, PartialEq)]
pub enum Pointee {
    /// An old type (resolved), its record entry when it is a struct or union, its size, and the
    /// generic arguments when its layout has parameters.
    Type {
        ty: CType,
        record: Option<TypeId>,
        size: Option<u64>,
        args: Vec<Pointee>,
    },
    /// The N-th generic parameter of the enclosing layout.
    Param(u32),
}

/// A top-level assert.
#[derive(Debug, Clone, PartialEq)]
pub struct Assert {
    pub origin: Origin,
    pub cond: Expr,
    pub message: String,
}

/// A rule body: its variables (`let` and `for`, in JIT-frame slots) and statements.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Body {
    pub vars: Vec<Var>,
    pub stmts: Vec<Stmt>,
}

/// A variable of a body: scalars and pointers only.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    pub name: String,
    pub ty: CType,
    /// For a pointer, which version's memory it points into.
    pub ver: Option<Ver>,
    pub size: u64,
    pub span: Span,
}

/// An index into [`Body::vars`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarId(pub u32);

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// Store a scalar or pointer (a `let` is an `Assign` to its [`PlaceBase::Var`]) (`value` already has the place's type), or copy a record or
    /// array of the same version and type (`value` is a [`ExprKind::Load`]).
    Assign {
        place: Place,
        value: Expr,
        span: Span,
    },
    /// Convert the old value at `src` (of old type `from`) into the new place `dst` (of new type
    /// `to`) with the automatic conversion of the runtime, type rules included: the
    /// cross-version assignment of records and arrays.
    Transfer {
        dst: Place,
        src: Place,
        from: CType,
        to: CType,
        span: Span,
    },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        els: Vec<Stmt>,
    },
    /// `for var in lo..hi`: `lo` and `hi` are evaluated once (both of `var`'s type); the body
    /// runs for `lo <= var < hi`, and cannot assign `var`.
    For {
        var: VarId,
        lo: Expr,
        hi: Expr,
        body: Vec<Stmt>,
    },
    /// Aborts the update with `message` when `cond` is zero.
    Assert {
        cond: Expr,
        message: String,
        span: Span,
    },
    /// An expression evaluated for its effect (a builtin call).
    Eval(Expr),
}

/// A typed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    /// The C type of the value, typedefs resolved (integers are `Int`, never `Typedef`).
    pub ty: CType,
    /// For pointers, records and arrays: the version whose memory and layouts they refer to.
    /// `None` for scalars and the null pointer.
    pub ver: Option<Ver>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// An integer constant of [`Expr::ty`] (`Int` or `Bool`): the bits, truncated to its size.
    Int(u64),
    Float(f64),
    /// A string literal: the bytes (no NUL), static for the whole update; only builtins take it.
    Str(Vec<u8>),
    /// The null pointer.
    Null,
    /// The value stored at a place (scalar or pointer; for records and arrays only as the
    /// source of an [`Stmt::Assign`] copy).
    Load(Place),
    /// The address of a place (never of a [`PlaceBase::Var`]).
    AddrOf(Place),
    /// The implicit or explicit C conversion of `0` to [`Expr::ty`]: integer to integer
    /// (truncate or extend by the source's signedness), integer and float, float to float,
    /// scalar to `_Bool` (`!= 0`), pointer to pointer (same version), pointer to integer,
    /// array to pointer to its first element (not produced: arrays are indexed as places).
    Convert(Box<Expr>),
    /// An old pointer value relocated into the new version, as the automatic transfer does:
    /// a pointer to an old global, function or box becomes the pointer to the new one, a pointer
    /// to a heap object the pointer to its migrated copy (null stays null).
    Relocate(Box<Expr>),
    /// `-`, `~` (operand already promoted) and `!` (result `int`).
    Unary(UnOp, Box<Expr>),
    /// Arithmetic, bitwise and comparison operators on operands already converted to one type
    /// (for shifts, each promoted on its own); comparisons give `int`. Integer division and
    /// remainder trap on zero. `&&` and `||` are [`ExprKind::Logic`].
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// Short-circuit `&&` (`and` true) or `||`; operands are scalars, the result `int`.
    Logic {
        and: bool,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `ptr + index * stride` (`index` a signed or unsigned 64-bit integer).
    PtrAdd {
        ptr: Box<Expr>,
        index: Box<Expr>,
        stride: u64,
    },
    /// `(lhs - rhs) / stride`, a `long`.
    PtrDiff {
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        stride: u64,
    },
    /// Pointer comparison (`==`, `!=`, `<`, ...): an `int`.
    PtrCmp(BinOp, Box<Expr>, Box<Expr>),
    /// `cond ? then : els`, both arms of [`Expr::ty`].
    Cond {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    /// A builtin function.
    Call(Builtin, Vec<Expr>),
}

/// Unary operators of [`ExprKind::Unary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    BitNot,
    Not,
}

/// Builtin functions. Arguments are already converted to the parameter types shown.
#[derive(Debug, Clone, PartialEq)]
pub enum Builtin {
    /// `now_ms() -> unsigned long`: wall-clock milliseconds since the Unix epoch.
    NowMs,
    /// `alloc(unsigned long n) -> void *` (new): `n` zeroed bytes of the new version's heap.
    Alloc,
    /// `migrate(T *p) -> T' *` (old to new): the new object that the old object at `p` becomes,
    /// migrated with the rules the first time (a shared object stays shared). `old_ty` is the
    /// old pointee, `new_ty` the new one.
    Migrate {
        old_ty: CType,
        new_ty: CType,
    },
    /// `migrate_array(T *p, unsigned long n) -> T' *`: `n` objects.
    MigrateArray {
        old_ty: CType,
        new_ty: CType,
    },
    /// `migrate_nt(T *p) -> T' *`: objects up to and including a zero one.
    MigrateNt {
        old_ty: CType,
        new_ty: CType,
    },
    /// `migrate_str(char *p) -> char *`: a NUL-terminated string copied to the new heap.
    MigrateStr,
    /// `newfn(fp) -> fp'`: the new version of the old function `fp` points to (null stays null).
    NewFn,
    /// `newfn("name")`: the address of a new function.
    NewFnNamed(FuncId),
    /// `oldfn("name")`: the address of an old function (to compare with old pointers).
    OldFnNamed(FuncId),
    /// `memcpy(void *dst, const void *src, unsigned long n)`: `dst` is new memory.
    Memcpy,
    /// `memset(void *dst, int byte, unsigned long n)`: `dst` is new memory.
    Memset,
    /// `strlen(const char *s) -> unsigned long`.
    Strlen,
    /// `strcmp(const char *a, const char *b) -> int`.
    Strcmp,
    /// `strdup(const char *s) -> char *` (new heap; takes string literals too).
    Strdup,
    /// `min(a, b)` and `max(a, b)`, arithmetic, of the operands' common type.
    Min,
    Max,
}

/// A memory location.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub base: PlaceBase,
    /// Field and index steps from the base, outermost last.
    pub proj: Vec<Proj>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlaceBase {
    /// What the rule's `old` argument points to.
    Old,
    /// What the rule's `new` argument points to.
    New,
    /// A global of the old version.
    OldGlobal(GlobalId),
    /// A global of the new version.
    NewGlobal(GlobalId),
    /// A body variable.
    Var(VarId),
    /// The object a pointer value points to (the pointer's [`Expr::ver`] says which memory).
    Deref(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Proj {
    /// A field at a byte offset (a frame record's local slot is one too).
    Field { offset: u64, size: u64 },
    /// A bit-field: the record entry, the field's index in it, its width and signedness.
    BitField {
        record: TypeId,
        index: u32,
        width: u64,
        signed: bool,
    },
    /// An element of an array place: `index * stride` bytes further; `len` when known.
    Index {
        index: Box<Expr>,
        stride: u64,
        len: Option<u64>,
    },
}

impl Place {
    pub fn new(base: PlaceBase) -> Place {
        Place {
            base,
            proj: Vec::new(),
        }
    }

    /// True when the place is in the old version's memory: rooted at `old`, an old global, or
    /// behind an old pointer.
    pub fn is_old(&self) -> bool {
        match &self.base {
            PlaceBase::Old | PlaceBase::OldGlobal(_) => true,
            PlaceBase::Deref(p) => p.ver == Some(Ver::Old),
            _ => false,
        }
    }
}
