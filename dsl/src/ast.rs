//! The syntax tree of a `.upd` spec, as written: every node carries the byte span of its text.
//!
//! Names here are still text (`struct conn`, `prog.c/hits`, `loop#2`); the checker resolves
//! them against the two versions' metadata and produces [`crate::checked`]. Nothing here knows
//! of types beyond their spelling, and no node is ever rewritten after parsing.

use std::fmt;

/// A byte range `start..end` of the spec's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub fn len(self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        miette::SourceSpan::new(s.start.into(), s.len())
    }
}

/// An identifier with its place.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole spec file.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// `upstare N;` when present.
    pub header: Option<(u64, Span)>,
    pub items: Vec<Item>,
}

/// One top-level item.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Option(OptionItem),
    Type(TypeRule),
    Field(FieldRule),
    Global(GlobalRule),
    Function(FunctionRule),
    Frame(FrameRule),
    Thread(ThreadRule),
    Layout(Layout),
    Assert(AssertStmt),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Option(i) => i.span,
            Item::Type(i) => i.span,
            Item::Field(i) => i.span,
            Item::Global(i) => i.span,
            Item::Function(i) => i.span,
            Item::Frame(i) => i.span,
            Item::Thread(i) => i.span,
            Item::Layout(i) => i.span,
            Item::Assert(i) => i.span,
        }
    }
}

/// `option NAME = VALUE;`
#[derive(Debug, Clone, PartialEq)]
pub struct OptionItem {
    pub name: Ident,
    pub value: OptionValue,
    pub value_span: Span,
    pub span: Span,
}

/// The value of an option.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    /// `200ms`, `2s`, `500us`, in microseconds.
    Duration(u64),
    Int(u64),
    Float(f64),
    Str(String),
    Bool(bool),
    Word(String),
}

/// A symbol key as written: `hits`, `prog.c/hits`, `prog.c/main/calls` or a quoted string.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub text: String,
    pub span: Span,
}

/// Which version a name or a type belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ver {
    Old,
    New,
}

impl fmt::Display for Ver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ver::Old => "old",
            Ver::New => "new",
        })
    }
}

/// A type as written: `struct conn *`, `unsigned long`, `u64`, `conn_t`, `old struct conn *`,
/// and in layout hints `struct list<struct task> *`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeName {
    pub version: Option<Ver>,
    pub base: TypeBase,
    /// Generic arguments (layout hints only).
    pub args: Vec<TypeName>,
    /// Number of `*`.
    pub ptrs: u32,
    pub span: Span,
}

/// The base of a type name.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeBase {
    /// `struct NAME`, `union NAME`, `enum NAME`.
    Tagged { tag: Tag, name: Ident },
    /// A sequence of C keywords: `unsigned long`, `const char`, `void`.
    Scalar(Vec<String>),
    /// A typedef name, a short alias (`u32`, `f64`) or a generic parameter.
    Named(Ident),
}

/// The keyword of a tagged type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Struct,
    Union,
    Enum,
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = self.version {
            write!(f, "{v} ")?;
        }
        write!(f, "{}", self.base)?;
        if !self.args.is_empty() {
            f.write_str("<")?;
            for (i, a) in self.args.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{a}")?;
            }
            f.write_str(">")?;
        }
        if self.ptrs > 0 {
            f.write_str(" ")?;
            for _ in 0..self.ptrs {
                f.write_str("*")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for TypeBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeBase::Tagged { tag, name } => {
                let kw = match tag {
                    Tag::Struct => "struct",
                    Tag::Union => "union",
                    Tag::Enum => "enum",
                };
                write!(f, "{kw} {}", name.name)
            }
            TypeBase::Scalar(words) => f.write_str(&words.join(" ")),
            TypeBase::Named(n) => f.write_str(&n.name),
        }
    }
}

/// `type OLD -> NEW { ... }`, `type T { ... }`, `type OLD -> NEW;`
#[derive(Debug, Clone, PartialEq)]
pub struct TypeRule {
    pub old: TypeName,
    pub new: Option<TypeName>,
    pub body: Option<Block>,
    pub span: Span,
}

/// `field T.f { ... }`, `field T.f -> g { ... }`, `init field T.f { ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRule {
    pub init: bool,
    pub ty: TypeName,
    pub field: Ident,
    /// `-> [NEWTYPE.]NEWFIELD`
    pub target: Option<(Option<TypeName>, Ident)>,
    pub body: Option<Block>,
    pub span: Span,
}

/// `global a { ... }`, `global a -> b { ... }`, `global a -> b;`, `init global a { ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalRule {
    pub init: bool,
    pub old: Key,
    pub new: Option<Key>,
    pub body: Option<Block>,
    pub span: Span,
}

/// `function old_name -> new_name;` (a renamed function: pointers to it and its frames follow).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionRule {
    pub old: Key,
    pub new: Key,
    pub span: Span,
}

/// `FUNC @ POINT`
#[derive(Debug, Clone, PartialEq)]
pub struct FrameAt {
    pub func: Key,
    pub point: PointRef,
}

/// A point key as written (`entry`, `loop#2`, `call:f#1`, `call:*#1`).
#[derive(Debug, Clone, PartialEq)]
pub struct PointRef {
    pub text: String,
    pub span: Span,
}

/// Where an old frame resumes.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameDest {
    /// `-> G @ POINT`
    At(FrameAt),
    /// `-> @ POINT`: the same function (or its renamed counterpart).
    Point(PointRef),
    /// `-> wait`: the update must not happen while a frame is there.
    Wait(Span),
}

/// `frame F @ P -> G @ Q { ... }`
#[derive(Debug, Clone, PartialEq)]
pub struct FrameRule {
    pub old: FrameAt,
    pub dest: FrameDest,
    pub body: Option<Block>,
    pub span: Span,
}

/// `thread old_start -> new_start;`
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadRule {
    pub old: Key,
    pub new: Key,
    pub span: Span,
}

/// `layout TYPE<PARAMS> { field: hint; ... }` or `layout global KEY: hint;`
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub target: LayoutTarget,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LayoutTarget {
    Type {
        ty: TypeName,
        params: Vec<Ident>,
        fields: Vec<LayoutField>,
    },
    Global {
        key: Key,
        hint: Hint,
    },
}

/// `name: hint;`
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutField {
    pub name: Ident,
    pub hint: Hint,
    pub span: Span,
}

/// How the heap traversal treats one value.
#[derive(Debug, Clone, PartialEq)]
pub struct Hint {
    pub kind: HintKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HintKind {
    /// Copied as bytes, never followed.
    Opaque,
    /// A NUL-terminated `char` string.
    Str,
    /// A function pointer, mapped to the new function of the same name.
    FnPtr,
    /// Traversed by its declared type (the default).
    Plain,
    /// `T*` (one object), `T*[len]` (an array of `len`), `T*[nul]` (up to a null element).
    Ptr { ty: TypeName, len: Option<HintLen> },
    /// A union (or `void *`) whose member is chosen per object.
    Case(Vec<CaseArm>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum HintLen {
    Expr(Expr),
    Nul(Span),
}

/// `COND => member: hint;` or `else => opaque;`
#[derive(Debug, Clone, PartialEq)]
pub struct CaseArm {
    /// `None` for `else`.
    pub cond: Option<Expr>,
    pub member: Option<Ident>,
    pub hint: Option<Hint>,
    pub span: Span,
}

/// `{ stmt* }`
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    Let {
        name: Ident,
        ty: Option<TypeName>,
        init: Expr,
    },
    /// `lhs = rhs` (`op` is `None`) or `lhs op= rhs`.
    Assign {
        lhs: Expr,
        op: Option<BinOp>,
        op_span: Span,
        rhs: Expr,
    },
    If {
        cond: Expr,
        then: Block,
        els: Option<Box<Stmt>>,
    },
    For {
        var: Ident,
        lo: Expr,
        hi: Expr,
        body: Block,
    },
    Assert(AssertStmt),
    Expr(Expr),
    Block(Block),
}

/// `assert COND, "message";`
#[derive(Debug, Clone, PartialEq)]
pub struct AssertStmt {
    pub cond: Expr,
    pub message: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// The objects a rule body can name without a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfRef {
    /// The old object (type rule), value (global rule), field (field rule) or frame (frame rule).
    Old,
    /// The new one.
    New,
    /// The old object enclosing a field (field rules and layout hints).
    Base,
    /// The new object enclosing a field (field rules).
    NewBase,
}

impl fmt::Display for SelfRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SelfRef::Old => "old",
            SelfRef::New => "new",
            SelfRef::Base => "base",
            SelfRef::NewBase => "new_base",
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// An integer literal with its C suffix (`u`, `l`, `ul`, ...). `hex` matters for C's
    /// choice of type (a hex literal may be unsigned).
    Int {
        value: u64,
        unsigned: bool,
        long: bool,
        hex: bool,
    },
    Float {
        value: f64,
        single: bool,
    },
    Char(u8),
    Str(Vec<u8>),
    Bool(bool),
    Null,
    SelfRef(SelfRef),
    /// `old::name`, `new::"file.c/name"`.
    Symbol {
        ver: Ver,
        key: String,
    },
    /// A `let` variable or `for` variable.
    Var(String),
    Call {
        name: Ident,
        args: Vec<Expr>,
    },
    SizeofType(TypeName),
    SizeofExpr(Box<Expr>),
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `e.f` (`arrow` false) or `e->f`.
    Member {
        expr: Box<Expr>,
        field: Ident,
        arrow: bool,
    },
    Index {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    Cast {
        expr: Box<Expr>,
        ty: TypeName,
    },
    Cond {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnOp {
    Neg,
    Not,
    BitNot,
    Deref,
    Addr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BinOp {
    Or,
    And,
    BitOr,
    BitXor,
    BitAnd,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Shl,
    Shr,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::BitAnd => "&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }

    /// True for `== != < <= > >=`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}
