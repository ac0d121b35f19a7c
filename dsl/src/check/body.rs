//! Checking rule bodies: statements and expressions to [`checked`] form.
//!
//! Every expression gets its C type and the version its memory belongs to; C's implicit
//! conversions become explicit `Convert` nodes; `.`, `->` and `[]` become byte offsets from the
//! metadata; names become ids. Errors are reported once, where they arise: a sub-expression that
//! failed yields `None`, and its parents stay silent, so one mistake gives one diagnostic.
//!
//! What `old`, `new`, `base` and `new_base` mean is the rule's [`Subject`].

use upstare_meta::{CType, FieldLayout, PointId, TypeId};

use super::cty::{self, is_aggregate, is_arith, is_scalar, ptr, INT, LONG, ULONG};
use super::Checker;
use crate::ast::{self, BinOp, ExprKind as A, Ident, SelfRef, Span, StmtKind, Ver};
use crate::checked::{
    Body, Builtin, Expr, ExprKind, Place, PlaceBase, Proj, Stmt, UnOp, Var, VarId,
};
use crate::diag::{did_you_mean, Code, Diagnostic};

/// What a body's `old`, `new`, `base` and `new_base` denote.
#[derive(Debug, Clone)]
pub enum Subject {
    /// Top-level asserts: only `old::name` symbols.
    None,
    /// Type and global rules: `old` and `new` are whole objects of these (resolved) types;
    /// `old` is absent for `init` rules.
    Object {
        old: Option<CType>,
        new: Option<CType>,
    },
    /// Field rules: `old`/`new` are the fields, `base`/`new_base` the enclosing records.
    Field {
        old_rec: TypeId,
        new_rec: TypeId,
        old_field: Option<u32>,
        new_field: u32,
    },
    /// Frame rules: `old.x` and `new.x` are locals of the two points' records.
    Frame { old: PointId, new: Option<PointId> },
    /// Layout hints: `old` is the enclosing old object (read only).
    Hint { old: CType },
}

/// A typed place.
#[derive(Clone)]
struct PlaceT {
    place: Place,
    ty: CType,
    /// The version whose memory (and layouts) the place is in; for a variable, the version its
    /// pointer value points into.
    ver: Option<Ver>,
    root: Root,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Root {
    Old,
    New,
    Var { readonly: bool },
}

pub struct BodyCx<'c, 'a> {
    ck: &'c mut Checker<'a>,
    subj: Subject,
    vars: Vec<Var>,
    readonly: Vec<bool>,
    scopes: Vec<Vec<(String, VarId)>>,
    /// `new` and `new::` are refused (top-level asserts, layout hints).
    old_only: bool,
}

type O<T> = Option<T>;

impl<'c, 'a> BodyCx<'c, 'a> {
    pub fn new(ck: &'c mut Checker<'a>, subj: Subject) -> Self {
        let old_only = matches!(subj, Subject::None | Subject::Hint { .. });
        BodyCx {
            ck,
            subj,
            vars: Vec::new(),
            readonly: Vec::new(),
            scopes: vec![Vec::new()],
            old_only,
        }
    }

    fn err(&mut self, d: Diagnostic) {
        self.ck.diags.push(d);
    }

    /// Checks a block as a whole body.
    pub fn body(mut self, b: &ast::Block) -> O<Body> {
        let stmts = self.block(b);
        let vars = std::mem::take(&mut self.vars);
        Some(Body {
            vars,
            stmts: stmts?,
        })
    }

    /// Checks a condition-like expression outside a body (asserts, hint lengths and cases).
    pub fn scalar_expr(&mut self, e: &ast::Expr, what: &str) -> O<Expr> {
        let v = self.expr(e)?;
        if !is_scalar(&v.ty) {
            self.err(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!("{what} must be a number or a pointer"),
                )
                .label(e.span, format!("this is `{}`", v.ty)),
            );
            return None;
        }
        Some(v)
    }

    /// Checks an integer-valued expression (hint lengths).
    pub fn integer_expr(&mut self, e: &ast::Expr, what: &str) -> O<Expr> {
        let v = self.expr(e)?;
        if !v.ty.is_integer() {
            self.err(
                Diagnostic::error(Code::TypeMismatch, format!("{what} must be an integer"))
                    .label(e.span, format!("this is `{}`", v.ty)),
            );
            return None;
        }
        Some(convert(v, ULONG, None))
    }

    // ------------------------------------------------------------ statements

    fn block(&mut self, b: &ast::Block) -> O<Vec<Stmt>> {
        self.scopes.push(Vec::new());
        let mut out = Some(Vec::new());
        for s in &b.stmts {
            let r = self.stmt(s, out.as_mut());
            if r.is_none() {
                out = None;
            }
        }
        self.scopes.pop();
        out
    }

    /// Checks one statement, appending its checked form to `out` (when still collecting).
    fn stmt(&mut self, s: &ast::Stmt, out: Option<&mut Vec<Stmt>>) -> O<()> {
        let st = match &s.kind {
            StmtKind::Let { name, ty, init } => {
                let value = self.expr(init);
                let declared = match ty {
                    Some(t) => Some(self.ck.ast_type(t, t.version.unwrap_or(Ver::New))?),
                    None => None,
                };
                let value = value?;
                let (ty, ver, value) = match declared {
                    Some(t) => {
                        if is_aggregate(&t) {
                            return self
                                .let_aggregate(name, ty.as_ref().map_or(s.span, |t| t.span));
                        }
                        let ver = if matches!(t, CType::Pointer(_)) {
                            value.ver.or(Some(Ver::New))
                        } else {
                            None
                        };
                        let v = self.assign_conv(value, &t, ver, init.span)?;
                        (t, ver, v)
                    }
                    None => {
                        if is_aggregate(&value.ty) || !is_scalar(&value.ty) {
                            return self.let_aggregate(name, init.span);
                        }
                        if matches!(value.kind, ExprKind::Str(_)) {
                            self.err(
                                Diagnostic::error(
                                    Code::TypeMismatch,
                                    "a string literal can only be passed to a builtin",
                                )
                                .label(init.span, "string literal")
                                .help("use `strdup(\"...\")` for a string in the new heap"),
                            );
                            return None;
                        }
                        (value.ty.clone(), value.ver, value)
                    }
                };
                let id = self.new_var(name, ty, ver, false);
                Stmt::Assign {
                    place: Place::new(PlaceBase::Var(id)),
                    value,
                    span: s.span,
                }
            }
            StmtKind::Assign {
                lhs,
                op,
                op_span,
                rhs,
            } => self.assign(lhs, *op, *op_span, rhs, s.span)?,
            StmtKind::If { cond, then, els } => {
                let c = self.cond(cond);
                let t = self.block(then);
                let e = match els {
                    None => Some(Vec::new()),
                    Some(e) => {
                        let mut v = Vec::new();
                        match self.stmt(e, Some(&mut v)) {
                            Some(()) => Some(v),
                            None => None,
                        }
                    }
                };
                Stmt::If {
                    cond: c?,
                    then: t?,
                    els: e?,
                }
            }
            StmtKind::For { var, lo, hi, body } => {
                let lo = self.expr(lo);
                let hi = self.expr(hi);
                let (lo, hi) = (lo?, hi?);
                for (e, sp) in [(&lo, lo.span), (&hi, hi.span)] {
                    if !e.ty.is_integer() {
                        self.err(
                            Diagnostic::error(Code::TypeMismatch, "a `for` range needs integers")
                                .label(sp, format!("this is `{}`", e.ty)),
                        );
                        return None;
                    }
                }
                let t = cty::common(&lo.ty, &hi.ty);
                let (lo, hi) = (convert(lo, t.clone(), None), convert(hi, t.clone(), None));
                self.scopes.push(Vec::new());
                let id = self.new_var(var, t, None, true);
                let b = self.block(body);
                self.scopes.pop();
                Stmt::For {
                    var: id,
                    lo,
                    hi,
                    body: b?,
                }
            }
            StmtKind::Assert(a) => {
                let c = self.cond(&a.cond)?;
                Stmt::Assert {
                    cond: c,
                    message: self.assert_message(a),
                    span: a.span,
                }
            }
            StmtKind::Expr(e) => {
                if !matches!(e.kind, A::Call { .. }) {
                    self.err(
                        Diagnostic::error(Code::Misplaced, "this expression does nothing")
                            .label(e.span, "value not used")
                            .help("write `new.field = ...;` to store it"),
                    );
                    return None;
                }
                Stmt::Eval(self.expr(e)?)
            }
            StmtKind::Block(b) => {
                let stmts = self.block(b)?;
                Stmt::If {
                    cond: int_const(1, INT, b.span),
                    then: stmts,
                    els: Vec::new(),
                }
            }
        };
        if let Some(out) = out {
            out.push(st);
        }
        Some(())
    }

    /// The message of an assert: its own, or the condition's text.
    pub fn assert_message(&self, a: &ast::AssertStmt) -> String {
        match &a.message {
            Some(m) => m.clone(),
            None => {
                let text = self
                    .ck
                    .source
                    .get(a.cond.span.start..a.cond.span.end)
                    .unwrap_or("");
                format!("assertion failed: {text}")
            }
        }
    }

    fn let_aggregate(&mut self, name: &Ident, span: Span) -> O<()> {
        self.err(
            Diagnostic::error(
                Code::TypeMismatch,
                format!("`let {}` must hold a number or a pointer", name.name),
            )
            .label(span, "a struct, union or array")
            .help("take its address instead: `let p = &old.field;`"),
        );
        None
    }

    fn new_var(&mut self, name: &Ident, ty: CType, ver: Option<Ver>, readonly: bool) -> VarId {
        let id = VarId(self.vars.len() as u32);
        let size = self.ck.view(Ver::New).size_of(&ty).unwrap_or(8);
        self.vars.push(Var {
            name: name.name.clone(),
            ty,
            ver,
            size,
            span: name.span,
        });
        self.readonly.push(readonly);
        if let Some(scope) = self.scopes.last_mut() {
            scope.push((name.name.clone(), id));
        }
        id
    }

    fn lookup_var(&self, name: &str) -> Option<VarId> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| n == name)
            .map(|&(_, id)| id)
    }

    fn cond(&mut self, e: &ast::Expr) -> O<Expr> {
        let v = self.expr(e)?;
        if !is_scalar(&v.ty) {
            self.err(
                Diagnostic::error(
                    Code::TypeMismatch,
                    "a condition must be a number or a pointer",
                )
                .label(e.span, format!("this is `{}`", v.ty)),
            );
            return None;
        }
        Some(v)
    }

    fn assign(
        &mut self,
        lhs: &ast::Expr,
        op: Option<BinOp>,
        op_span: Span,
        rhs: &ast::Expr,
        span: Span,
    ) -> O<Stmt> {
        let target = self.place(lhs);
        let target = target?;
        match target.root {
            Root::Old => {
                self.err(
                    Diagnostic::error(Code::WriteToOld, "cannot assign to old state")
                        .label(lhs.span, "this is in the old version")
                        .help("rules read the old version and write only the new one"),
                );
                return None;
            }
            Root::Var { readonly: true } => {
                self.err(
                    Diagnostic::error(Code::NotAssignable, "a `for` variable cannot be assigned")
                        .label(lhs.span, "loop variable"),
                );
                return None;
            }
            _ => {}
        }
        if is_aggregate(&target.ty) {
            if op.is_some() {
                self.err(
                    Diagnostic::error(Code::TypeMismatch, "compound assignment needs numbers")
                        .label(op_span, format!("the target is `{}`", target.ty)),
                );
                return None;
            }
            return self.assign_aggregate(target, rhs, span);
        }
        let value = match op {
            None => self.expr(rhs)?,
            Some(op) => {
                let cur = self.load(target.clone(), lhs.span);
                let r = self.expr(rhs)?;
                self.binary(op, cur, r, span, op_span)?
            }
        };
        let value = self.assign_conv(value, &target.ty, target.ver, rhs.span)?;
        Some(Stmt::Assign {
            place: target.place,
            value,
            span,
        })
    }

    /// `new.rec = <place>`: a copy within a version or a conversion from old to new.
    fn assign_aggregate(&mut self, target: PlaceT, rhs: &ast::Expr, span: Span) -> O<Stmt> {
        if !is_place_syntax(rhs) {
            let v = self.expr(rhs)?;
            self.err(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!("cannot assign `{}` to `{}`", v.ty, target.ty),
                )
                .label(rhs.span, format!("this is `{}`", v.ty)),
            );
            return None;
        }
        let src = self.place(rhs)?;
        let same_ver = src.ver == target.ver || src.root == Root::New && target.root == Root::New;
        if same_ver && src.ty == target.ty {
            let ver = src.ver;
            return Some(Stmt::Assign {
                value: Expr {
                    kind: ExprKind::Load(src.place),
                    ty: src.ty,
                    ver,
                    span: rhs.span,
                },
                place: target.place,
                span,
            });
        }
        if src.ver == Some(Ver::Old) && target.ver == Some(Ver::New) {
            if self.ck.corresponds(&src.ty, &target.ty) {
                return Some(Stmt::Transfer {
                    dst: target.place,
                    src: src.place,
                    from: src.ty,
                    to: target.ty,
                    span,
                });
            }
            self.err(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!("old `{}` does not convert to new `{}`", src.ty, target.ty),
                )
                .label(rhs.span, format!("old `{}`", src.ty))
                .help("assign the fields one by one, or add a `type` rule mapping the two types"),
            );
            return None;
        }
        self.err(
            Diagnostic::error(
                Code::TypeMismatch,
                format!("cannot assign `{}` to `{}`", src.ty, target.ty),
            )
            .label(rhs.span, format!("this is `{}`", src.ty)),
        );
        None
    }

    /// `value` converted for storing into a place of type `to` in version `to_ver`, with C's
    /// assignment rules plus the version rules for pointers.
    fn assign_conv(&mut self, value: Expr, to: &CType, to_ver: Option<Ver>, span: Span) -> O<Expr> {
        let from = value.ty.clone();
        if is_arith(to) && is_arith(&from) {
            return Some(convert(value, to.clone(), None));
        }
        if matches!(to, CType::Bool) && matches!(from, CType::Pointer(_)) {
            return Some(convert(value, to.clone(), None));
        }
        if let CType::Pointer(to_pointee) = to {
            if matches!(value.kind, ExprKind::Null)
                || matches!(value.kind, ExprKind::Int(0)) && from.is_integer()
            {
                return Some(Expr {
                    kind: ExprKind::Null,
                    ty: to.clone(),
                    ver: to_ver,
                    span: value.span,
                });
            }
            if let ExprKind::Str(_) = value.kind {
                self.err(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        "a string literal would not outlive the update",
                    )
                    .label(span, "string literal")
                    .help("use `strdup(\"...\")` to make the string in the new heap"),
                );
                return None;
            }
            if let CType::Pointer(from_pointee) = &from {
                if value.ver == Some(Ver::Old) && to_ver == Some(Ver::New) {
                    // The automatic transfer's relocation, when the pointees correspond.
                    if self.ck.corresponds_pointee(from_pointee, to_pointee) {
                        return Some(Expr {
                            span: value.span,
                            kind: ExprKind::Relocate(Box::new(value)),
                            ty: to.clone(),
                            ver: Some(Ver::New),
                        });
                    }
                    self.err(
                        Diagnostic::error(
                            Code::OldPointer,
                            format!("an old `{from}` cannot be stored as a new `{to}`"),
                        )
                        .label(span, "points into old memory, to another type")
                        .help("migrate what it points to: `migrate(p as T *)`, `migrate_str(p)` or `newfn(p)`"),
                    );
                    return None;
                }
                if value.ver == Some(Ver::New) && to_ver == Some(Ver::Old) {
                    self.err(
                        Diagnostic::error(
                            Code::TypeMismatch,
                            "a `let` pointer into old memory cannot take a new pointer",
                        )
                        .label(span, "points into new memory"),
                    );
                    return None;
                }
                let compatible = from_pointee == to_pointee
                    || matches!(**from_pointee, CType::Void)
                    || matches!(**to_pointee, CType::Void);
                if compatible {
                    let mut v = convert(value, to.clone(), to_ver);
                    v.ver = to_ver.or(v.ver);
                    return Some(v);
                }
            }
        }
        if from == *to && is_scalar(to) {
            return Some(value);
        }
        self.err(
            Diagnostic::error(
                Code::TypeMismatch,
                format!("expected `{to}`, found `{from}`"),
            )
            .label(span, format!("this is `{from}`")),
        );
        None
    }

    // ------------------------------------------------------------ places

    fn view_ver(&self, ver: Option<Ver>) -> Ver {
        ver.unwrap_or(Ver::New)
    }

    fn self_ref(&mut self, which: SelfRef, span: Span) -> O<PlaceT> {
        let misplaced = |what: &str| {
            Diagnostic::error(Code::Misplaced, format!("`{which}` {what}")).label(span, "here")
        };
        if self.old_only && matches!(which, SelfRef::New | SelfRef::NewBase) {
            let d = misplaced("is not available here: only the old state is");
            self.err(d);
            return None;
        }
        match (&self.subj, which) {
            (Subject::None, _) => {
                let d = misplaced("means nothing in a top-level assert")
                    .help("name globals with `old::name`");
                self.err(d);
                None
            }
            (Subject::Object { old: Some(t), .. }, SelfRef::Old)
            | (Subject::Hint { old: t }, SelfRef::Old) => Some(PlaceT {
                place: Place::new(PlaceBase::Old),
                ty: t.clone(),
                ver: Some(Ver::Old),
                root: Root::Old,
            }),
            (Subject::Object { old: None, .. }, SelfRef::Old) => {
                let d = misplaced("does not exist in an `init` rule").help(
                    "an `init` rule makes a new value; read other old state with `old::name`",
                );
                self.err(d);
                None
            }
            (Subject::Object { new: Some(t), .. }, SelfRef::New) => Some(PlaceT {
                place: Place::new(PlaceBase::New),
                ty: t.clone(),
                ver: Some(Ver::New),
                root: Root::New,
            }),
            (
                Subject::Field {
                    old_rec, old_field, ..
                },
                SelfRef::Old,
            ) => {
                let (rec, field) = (*old_rec, *old_field);
                let Some(field) = field else {
                    let d = misplaced("does not exist: the field is new (`init field`)")
                        .help("read the old object with `base`");
                    self.err(d);
                    return None;
                };
                let base = self.record_place(rec, Ver::Old, PlaceBase::Old, Root::Old);
                Some(self.field_at(base, rec, field, Ver::Old))
            }
            (
                Subject::Field {
                    new_rec, new_field, ..
                },
                SelfRef::New,
            ) => {
                let (rec, field) = (*new_rec, *new_field);
                let base = self.record_place(rec, Ver::New, PlaceBase::New, Root::New);
                Some(self.field_at(base, rec, field, Ver::New))
            }
            (Subject::Field { old_rec, .. }, SelfRef::Base) => {
                let rec = *old_rec;
                Some(self.record_place(rec, Ver::Old, PlaceBase::Old, Root::Old))
            }
            (Subject::Field { new_rec, .. }, SelfRef::NewBase) => {
                let rec = *new_rec;
                Some(self.record_place(rec, Ver::New, PlaceBase::New, Root::New))
            }
            (Subject::Frame { .. }, SelfRef::Old | SelfRef::New) => {
                let d = misplaced("is a frame record, not a value")
                    .help(format!("name one of its locals: `{which}.NAME`"));
                self.err(d);
                None
            }
            (Subject::Object { new: None, .. }, SelfRef::New) => {
                let d = misplaced("is not available here");
                self.err(d);
                None
            }
            (_, SelfRef::Base | SelfRef::NewBase) => {
                let d = misplaced("exists only in `field` rules");
                self.err(d);
                None
            }
            (Subject::Hint { .. }, SelfRef::New) => None,
        }
    }

    fn record_place(&self, rec: TypeId, ver: Ver, base: PlaceBase, root: Root) -> PlaceT {
        let name = &self.ck.view(ver).m.types[rec].name;
        PlaceT {
            place: Place::new(base),
            ty: record_ctype(name),
            ver: Some(ver),
            root,
        }
    }

    /// Field `index` of record `rec` inside place `base`.
    fn field_at(&self, base: PlaceT, rec: TypeId, index: u32, ver: Ver) -> PlaceT {
        let view = self.ck.view(ver);
        let f = &view.m.types[rec].fields[index as usize];
        let ty = view.parse_type(None, &f.ty);
        let proj = match f.layout {
            FieldLayout::Bytes { offset, size } => Proj::Field { offset, size },
            FieldLayout::Bits { width } => Proj::BitField {
                record: rec,
                index,
                width,
                signed: ty.int_repr().is_some_and(|(_, s)| s),
            },
        };
        let mut place = base.place;
        place.proj.push(proj);
        PlaceT {
            place,
            ty,
            ver: base.ver,
            root: base.root,
        }
    }

    /// The place an expression denotes, or an error when it is not one.
    fn place(&mut self, e: &ast::Expr) -> O<PlaceT> {
        match &e.kind {
            A::SelfRef(w) => self.self_ref(*w, e.span),
            A::Symbol { ver, key } => self.symbol(*ver, key, e.span),
            A::Var(name) => match self.lookup_var(name) {
                Some(id) => {
                    let v = &self.vars[id.0 as usize];
                    Some(PlaceT {
                        place: Place::new(PlaceBase::Var(id)),
                        ty: v.ty.clone(),
                        ver: v.ver,
                        root: Root::Var {
                            readonly: self.readonly[id.0 as usize],
                        },
                    })
                }
                None => {
                    let names: Vec<String> = self
                        .scopes
                        .iter()
                        .flat_map(|s| s.iter().map(|(n, _)| n.clone()))
                        .collect();
                    let mut d =
                        Diagnostic::error(Code::UnknownName, format!("no variable `{name}` here"))
                            .label(e.span, "unknown name");
                    d.help = did_you_mean(name, names.iter().map(String::as_str)).or_else(|| {
                        Some("state is named `old.field`, `new.field` or `old::global`".into())
                    });
                    self.err(d);
                    None
                }
            },
            A::Member { expr, field, arrow } => {
                if !*arrow {
                    if let A::SelfRef(w @ (SelfRef::Old | SelfRef::New)) = expr.kind {
                        if let Subject::Frame { old, new } = self.subj {
                            return self.frame_local(w, old, new, field, expr.span);
                        }
                    }
                }
                let base = if *arrow {
                    let p = self.expr(expr)?;
                    self.deref(p, expr.span)?
                } else {
                    self.place(expr)?
                };
                let ver = self.view_ver(base.ver);
                let Some(rec) = self.ck.view(ver).record(&base.ty) else {
                    self.not_a_record(&base.ty, expr.span, *arrow);
                    return None;
                };
                let fields = &self.ck.view(ver).m.types[rec].fields;
                match fields.iter().position(|f| f.name == field.name) {
                    Some(i) => Some(self.field_at(base, rec, i as u32, ver)),
                    None => {
                        let tname = self.ck.view(ver).m.types[rec].name.clone();
                        let help =
                            did_you_mean(&field.name, fields.iter().map(|f| f.name.as_str()));
                        let mut d = Diagnostic::error(
                            Code::UnknownField,
                            format!("{ver} `{tname}` has no field `{}`", field.name),
                        )
                        .label(field.span, "unknown field");
                        d.help = help;
                        self.err(d);
                        None
                    }
                }
            }
            A::Index { expr, index } => {
                let idx = self.expr(index);
                if is_place_syntax(expr) {
                    let base = self.place(expr)?;
                    if let CType::Array(elem, len) = &base.ty {
                        let idx = self.index_value(idx?, index.span)?;
                        let ver = self.view_ver(base.ver);
                        let elem = (**elem).clone();
                        let Some(stride) = self.ck.view(ver).size_of(&elem) else {
                            self.no_size(&elem, expr.span);
                            return None;
                        };
                        let mut place = base.place;
                        place.proj.push(Proj::Index {
                            index: Box::new(idx),
                            stride,
                            len: *len,
                        });
                        return Some(PlaceT {
                            place,
                            ty: elem,
                            ver: base.ver,
                            root: base.root,
                        });
                    }
                    let p = self.load(base, expr.span);
                    let sum = self.ptr_add(p, idx?, index.span, false, e.span)?;
                    return self.deref(sum, e.span);
                }
                let p = self.expr(expr)?;
                let sum = self.ptr_add(p, idx?, index.span, false, e.span)?;
                self.deref(sum, e.span)
            }
            A::Unary {
                op: ast::UnOp::Deref,
                expr,
            } => {
                let p = self.expr(expr)?;
                self.deref(p, e.span)
            }
            _ => {
                let _ = self.expr(e)?;
                self.err(
                    Diagnostic::error(Code::NotAssignable, "this is a value, not a place")
                        .label(e.span, "not a field, global, variable or `*p`"),
                );
                None
            }
        }
    }

    fn not_a_record(&mut self, t: &CType, span: Span, arrow: bool) {
        let what = if arrow {
            "a pointer to a struct or union"
        } else {
            "a struct or union"
        };
        let help = match (arrow, t) {
            (false, CType::Pointer(_)) => Some("use `->` to go through a pointer"),
            (true, CType::Record { .. }) => Some("use `.` on a struct"),
            _ => None,
        };
        let mut d = Diagnostic::error(Code::TypeMismatch, format!("expected {what}, found `{t}`"))
            .label(span, format!("this is `{t}`"));
        d.help = help.map(String::from);
        self.err(d);
    }

    fn no_size(&mut self, t: &CType, span: Span) {
        self.err(
            Diagnostic::error(
                Code::TypeMismatch,
                format!("the size of `{t}` is not known"),
            )
            .label(span, "unknown size"),
        );
    }

    /// A local of a frame record.
    fn frame_local(
        &mut self,
        which: SelfRef,
        old: PointId,
        new: Option<PointId>,
        name: &Ident,
        span: Span,
    ) -> O<PlaceT> {
        let (ver, point) = match which {
            SelfRef::Old => (Ver::Old, old),
            _ => match new {
                Some(p) => (Ver::New, p),
                None => {
                    self.err(
                        Diagnostic::error(Code::Misplaced, "a `wait` frame has no new record")
                            .label(span, "here"),
                    );
                    return None;
                }
            },
        };
        if self.old_only && ver == Ver::New {
            let _ = self.self_ref(SelfRef::New, span);
            return None;
        }
        let view = self.ck.view(ver);
        let pt = &view.m.points[point];
        let Some(local) = pt.locals.iter().find(|l| l.name == name.name) else {
            let func = &view.m.functions[pt.function];
            let help = did_you_mean(&name.name, pt.locals.iter().map(|l| l.name.as_str()))
                .unwrap_or_else(|| {
                    let names: Vec<&str> = pt.locals.iter().map(|l| l.name.as_str()).collect();
                    if names.is_empty() {
                        "the record holds no locals at this point".to_string()
                    } else {
                        format!("the record holds: {}", names.join(", "))
                    }
                });
            let d = Diagnostic::error(
                Code::UnknownLocal,
                format!(
                    "{ver} frame of `{}` at {} holds no local `{}`",
                    func.name, pt.key, name.name
                ),
            )
            .label(name.span, "not in the frame record")
            .help(help);
            self.err(d);
            return None;
        };
        let file = view.m.functions[pt.function].file.as_str();
        let ty = view.parse_type(Some(file), &local.ty);
        let root = if ver == Ver::Old {
            Root::Old
        } else {
            Root::New
        };
        let slot_base = if ver == Ver::Old {
            PlaceBase::Old
        } else {
            PlaceBase::New
        };
        if local.flags.boxed {
            // The slot holds the box's address: the local is behind it.
            let slot = Place {
                base: slot_base,
                proj: vec![Proj::Field {
                    offset: local.offset,
                    size: 8,
                }],
            };
            let boxptr = Expr {
                kind: ExprKind::Load(slot),
                ty: ptr(ty.clone()),
                ver: Some(ver),
                span,
            };
            return Some(PlaceT {
                place: Place::new(PlaceBase::Deref(Box::new(boxptr))),
                ty,
                ver: Some(ver),
                root,
            });
        }
        Some(PlaceT {
            place: Place {
                base: slot_base,
                proj: vec![Proj::Field {
                    offset: local.offset,
                    size: local.size,
                }],
            },
            ty,
            ver: Some(ver),
            root,
        })
    }

    fn symbol(&mut self, ver: Ver, key: &str, span: Span) -> O<PlaceT> {
        if self.old_only && ver == Ver::New {
            self.err(
                Diagnostic::error(Code::Misplaced, "new state is not available here")
                    .label(span, "only `old::` globals can be read here")
                    .help("top-level asserts and layout hints run before anything new exists"),
            );
            return None;
        }
        let id = self.ck.global(ver, key, span)?;
        let ty = self.ck.view(ver).global_type(id);
        let (base, root) = match ver {
            Ver::Old => (PlaceBase::OldGlobal(id), Root::Old),
            Ver::New => (PlaceBase::NewGlobal(id), Root::New),
        };
        Some(PlaceT {
            place: Place::new(base),
            ty,
            ver: Some(ver),
            root,
        })
    }

    /// `*p` as a place.
    fn deref(&mut self, p: Expr, span: Span) -> O<PlaceT> {
        let CType::Pointer(inner) = &p.ty else {
            self.err(
                Diagnostic::error(Code::TypeMismatch, format!("cannot dereference `{}`", p.ty))
                    .label(span, "not a pointer"),
            );
            return None;
        };
        if matches!(**inner, CType::Void | CType::Function) {
            self.err(
                Diagnostic::error(Code::TypeMismatch, format!("cannot dereference `{}`", p.ty))
                    .label(span, "points to nothing readable")
                    .help("cast it first: `(p as struct item *)->field`"),
            );
            return None;
        }
        if matches!(p.kind, ExprKind::Null) {
            self.err(
                Diagnostic::error(Code::TypeMismatch, "cannot dereference `null`")
                    .label(span, "null"),
            );
            return None;
        }
        let ty = (**inner).clone();
        let ver = p.ver;
        let root = match ver {
            Some(Ver::New) => Root::New,
            _ => Root::Old,
        };
        Some(PlaceT {
            place: Place::new(PlaceBase::Deref(Box::new(p))),
            ty,
            ver,
            root,
        })
    }

    /// The value of a place: a load, or for arrays the address of the first element (C's
    /// decay).
    fn load(&mut self, p: PlaceT, span: Span) -> Expr {
        if let CType::Array(elem, _) = &p.ty {
            return Expr {
                ty: ptr((**elem).clone()),
                kind: ExprKind::AddrOf(p.place),
                ver: p.ver,
                span,
            };
        }
        let ver = if is_scalar(&p.ty) && !matches!(p.ty, CType::Pointer(_)) {
            None
        } else {
            p.ver
        };
        Expr {
            kind: ExprKind::Load(p.place),
            ty: p.ty,
            ver,
            span,
        }
    }

    // ------------------------------------------------------------ expressions

    pub fn expr(&mut self, e: &ast::Expr) -> O<Expr> {
        let sp = e.span;
        match &e.kind {
            A::Int {
                value,
                unsigned,
                long,
                hex,
            } => Some(int_const(
                *value,
                cty::literal_type(*value, *unsigned, *long, *hex),
                sp,
            )),
            A::Float { value, single } => Some(Expr {
                kind: ExprKind::Float(*value),
                ty: CType::Float {
                    bytes: if *single { 4 } else { 8 },
                },
                ver: None,
                span: sp,
            }),
            A::Char(c) => Some(int_const(*c as i8 as i64 as u64, INT, sp)),
            A::Bool(b) => Some(int_const(u64::from(*b), INT, sp)),
            A::Null => Some(Expr {
                kind: ExprKind::Null,
                ty: ptr(CType::Void),
                ver: None,
                span: sp,
            }),
            A::Str(bytes) => Some(Expr {
                kind: ExprKind::Str(bytes.clone()),
                ty: ptr(CType::Int {
                    bytes: 1,
                    signed: true,
                }),
                ver: None,
                span: sp,
            }),
            A::SelfRef(_) | A::Symbol { .. } | A::Var(_) | A::Member { .. } | A::Index { .. } => {
                let p = self.place(e)?;
                if is_aggregate(&p.ty) && !matches!(p.ty, CType::Array(..)) {
                    self.err(
                        Diagnostic::error(
                            Code::TypeMismatch,
                            format!("`{}` is not a number or a pointer", p.ty),
                        )
                        .label(sp, "a whole struct or union")
                        .help("name one of its fields, or take its address with `&`"),
                    );
                    return None;
                }
                Some(self.load(p, sp))
            }
            A::Unary {
                op: ast::UnOp::Deref,
                ..
            } => {
                let p = self.place(e)?;
                if is_aggregate(&p.ty) && !matches!(p.ty, CType::Array(..)) {
                    self.err(
                        Diagnostic::error(
                            Code::TypeMismatch,
                            format!("`{}` is not a number or a pointer", p.ty),
                        )
                        .label(sp, "a whole struct or union")
                        .help("name one of its fields with `->`"),
                    );
                    return None;
                }
                Some(self.load(p, sp))
            }
            A::Unary {
                op: ast::UnOp::Addr,
                expr,
            } => {
                let p = self.place(expr)?;
                if let Root::Var { .. } = p.root {
                    self.err(
                        Diagnostic::error(Code::TypeMismatch, "a variable has no address")
                            .label(sp, "variables live only while the rule runs"),
                    );
                    return None;
                }
                if matches!(p.place.proj.last(), Some(Proj::BitField { .. })) {
                    self.err(
                        Diagnostic::error(Code::TypeMismatch, "a bit-field has no address")
                            .label(sp, "bit-field"),
                    );
                    return None;
                }
                Some(Expr {
                    kind: ExprKind::AddrOf(p.place),
                    ty: ptr(p.ty),
                    ver: p.ver,
                    span: sp,
                })
            }
            A::Unary { op, expr } => {
                let v = self.expr(expr)?;
                match op {
                    ast::UnOp::Not => {
                        if !is_scalar(&v.ty) {
                            return self.bad_operand("!", &v, expr.span);
                        }
                        Some(Expr {
                            kind: ExprKind::Unary(UnOp::Not, Box::new(v)),
                            ty: INT,
                            ver: None,
                            span: sp,
                        })
                    }
                    ast::UnOp::Neg | ast::UnOp::BitNot => {
                        let ok = if *op == ast::UnOp::Neg {
                            is_arith(&v.ty)
                        } else {
                            v.ty.is_integer()
                        };
                        if !ok {
                            return self.bad_operand(
                                if *op == ast::UnOp::Neg { "-" } else { "~" },
                                &v,
                                expr.span,
                            );
                        }
                        let t = cty::promote(&v.ty);
                        let v = convert(v, t.clone(), None);
                        let uop = if *op == ast::UnOp::Neg {
                            UnOp::Neg
                        } else {
                            UnOp::BitNot
                        };
                        Some(Expr {
                            kind: ExprKind::Unary(uop, Box::new(v)),
                            ty: t,
                            ver: None,
                            span: sp,
                        })
                    }
                    _ => unreachable!("deref and addr handled above"),
                }
            }
            A::Binary { op, lhs, rhs } => {
                let l = self.expr(lhs);
                let r = self.expr(rhs);
                let (l, r) = (l?, r?);
                self.binary(*op, l, r, sp, sp)
            }
            A::Cast { expr, ty } => {
                let v = self.expr(expr)?;
                self.cast(v, ty, sp)
            }
            A::Cond { cond, then, els } => {
                let c = self.cond(cond);
                let t = self.expr(then);
                let f = self.expr(els);
                let (c, t, f) = (c?, t?, f?);
                let (ty, ver) = if is_arith(&t.ty) && is_arith(&f.ty) {
                    (cty::common(&t.ty, &f.ty), None)
                } else if matches!(t.ty, CType::Pointer(_)) && t.ty == f.ty && t.ver == f.ver {
                    (t.ty.clone(), t.ver)
                } else if matches!(t.ty, CType::Pointer(_)) && matches!(f.kind, ExprKind::Null) {
                    (t.ty.clone(), t.ver)
                } else if matches!(f.ty, CType::Pointer(_)) && matches!(t.kind, ExprKind::Null) {
                    (f.ty.clone(), f.ver)
                } else {
                    self.err(
                        Diagnostic::error(
                            Code::TypeMismatch,
                            format!(
                                "the branches have different types: `{}` and `{}`",
                                t.ty, f.ty
                            ),
                        )
                        .label(then.span, format!("`{}`", t.ty))
                        .label(els.span, format!("`{}`", f.ty)),
                    );
                    return None;
                };
                let t = retype(t, &ty, ver);
                let f = retype(f, &ty, ver);
                Some(Expr {
                    kind: ExprKind::Cond {
                        cond: Box::new(c),
                        then: Box::new(t),
                        els: Box::new(f),
                    },
                    ty,
                    ver,
                    span: sp,
                })
            }
            A::SizeofType(t) => {
                // A bare name may be a variable: `sizeof(n)`.
                if let (ast::TypeBase::Named(n), 0, None) = (&t.base, t.ptrs, t.version) {
                    if self.lookup_var(&n.name).is_some() {
                        let v = self.expr(&ast::Expr {
                            kind: A::Var(n.name.clone()),
                            span: n.span,
                        })?;
                        let size = self.ck.view(Ver::New).size_of(&v.ty).unwrap_or(8);
                        return Some(int_const(size, ULONG, sp));
                    }
                }
                let ver = t.version.unwrap_or(Ver::New);
                let ct = self.ck.ast_type(t, ver)?;
                match self.ck.view(ver).size_of(&ct) {
                    Some(n) => Some(int_const(n, ULONG, sp)),
                    None => {
                        self.no_size(&ct, t.span);
                        None
                    }
                }
            }
            A::SizeofExpr(inner) => {
                let ty_ver = if is_place_syntax(inner) {
                    let p = self.place(inner)?;
                    (p.ty, p.ver)
                } else {
                    let v = self.expr(inner)?;
                    (v.ty, v.ver)
                };
                let ver = self.view_ver(ty_ver.1);
                match self.ck.view(ver).size_of(&ty_ver.0) {
                    Some(n) => Some(int_const(n, ULONG, sp)),
                    None => {
                        self.no_size(&ty_ver.0, inner.span);
                        None
                    }
                }
            }
            A::Call { name, args } => self.call(name, args, sp),
        }
    }

    fn bad_operand<T>(&mut self, op: &str, v: &Expr, span: Span) -> O<T> {
        self.err(
            Diagnostic::error(
                Code::TypeMismatch,
                format!("`{op}` cannot be applied to `{}`", v.ty),
            )
            .label(span, format!("this is `{}`", v.ty)),
        );
        None
    }

    fn index_value(&mut self, idx: Expr, span: Span) -> O<Expr> {
        if !idx.ty.is_integer() {
            self.err(
                Diagnostic::error(Code::TypeMismatch, "an index must be an integer")
                    .label(span, format!("this is `{}`", idx.ty)),
            );
            return None;
        }
        let t = match idx.ty.int_repr() {
            Some((_, false)) if cty::promote(&idx.ty) != INT => ULONG,
            _ => LONG,
        };
        Some(convert(idx, t, None))
    }

    /// `p + i` (or `p - i` with `neg`).
    fn ptr_add(&mut self, p: Expr, i: Expr, ispan: Span, neg: bool, span: Span) -> O<Expr> {
        let CType::Pointer(inner) = &p.ty else {
            self.err(
                Diagnostic::error(Code::TypeMismatch, format!("cannot index `{}`", p.ty))
                    .label(p.span, "not a pointer or an array"),
            );
            return None;
        };
        let ver = self.view_ver(p.ver);
        let Some(stride) = self.ck.view(ver).size_of(inner) else {
            let t = (**inner).clone();
            self.no_size(&t, p.span);
            return None;
        };
        let mut i = self.index_value(i, ispan)?;
        if neg {
            let t = i.ty.clone();
            i = Expr {
                kind: ExprKind::Unary(UnOp::Neg, Box::new(i)),
                ty: t,
                ver: None,
                span: ispan,
            };
        }
        let ty = p.ty.clone();
        let pver = p.ver;
        Some(Expr {
            kind: ExprKind::PtrAdd {
                ptr: Box::new(p),
                index: Box::new(i),
                stride,
            },
            ty,
            ver: pver,
            span,
        })
    }

    fn binary(&mut self, op: BinOp, l: Expr, r: Expr, span: Span, op_span: Span) -> O<Expr> {
        let lp = matches!(l.ty, CType::Pointer(_));
        let rp = matches!(r.ty, CType::Pointer(_));
        match op {
            BinOp::And | BinOp::Or => {
                for v in [&l, &r] {
                    if !is_scalar(&v.ty) {
                        return self.bad_operand(op.symbol(), v, v.span);
                    }
                }
                return Some(Expr {
                    kind: ExprKind::Logic {
                        and: op == BinOp::And,
                        lhs: Box::new(l),
                        rhs: Box::new(r),
                    },
                    ty: INT,
                    ver: None,
                    span,
                });
            }
            BinOp::Add if lp && r.ty.is_integer() => {
                let rs = r.span;
                return self.ptr_add(l, r, rs, false, span);
            }
            BinOp::Add if rp && l.ty.is_integer() => {
                let ls = l.span;
                return self.ptr_add(r, l, ls, false, span);
            }
            BinOp::Sub if lp && r.ty.is_integer() => {
                let rs = r.span;
                return self.ptr_add(l, r, rs, true, span);
            }
            BinOp::Sub if lp && rp => {
                if l.ty != r.ty || l.ver != r.ver {
                    return self.mismatch(op, &l, &r, op_span);
                }
                let CType::Pointer(inner) = &l.ty else {
                    unreachable!()
                };
                let ver = self.view_ver(l.ver);
                let Some(stride) = self.ck.view(ver).size_of(inner).filter(|&s| s > 0) else {
                    let t = (**inner).clone();
                    self.no_size(&t, l.span);
                    return None;
                };
                return Some(Expr {
                    kind: ExprKind::PtrDiff {
                        lhs: Box::new(l),
                        rhs: Box::new(r),
                        stride,
                    },
                    ty: LONG,
                    ver: None,
                    span,
                });
            }
            _ if op.is_comparison() && (lp || rp) => {
                let null_l = matches!(l.kind, ExprKind::Null | ExprKind::Int(0)) && !lp;
                let null_r = matches!(r.kind, ExprKind::Null | ExprKind::Int(0)) && !rp;
                let ok = (lp
                    && rp
                    && (l.ty == r.ty || l.ty == ptr(CType::Void) || r.ty == ptr(CType::Void))
                    && (l.ver == r.ver || l.ver.is_none() || r.ver.is_none()))
                    || (lp && (null_r || matches!(r.kind, ExprKind::Null)))
                    || (rp && (null_l || matches!(l.kind, ExprKind::Null)));
                if !ok {
                    if lp && rp && l.ver != r.ver {
                        self.err(
                            Diagnostic::error(
                                Code::TypeMismatch,
                                "comparing pointers into different versions",
                            )
                            .label(l.span, format!("{}", describe_ver(l.ver)))
                            .label(r.span, format!("{}", describe_ver(r.ver)))
                            .help("compare old with old: `oldfn(\"name\")` is an old function's address"),
                        );
                        return None;
                    }
                    return self.mismatch(op, &l, &r, op_span);
                }
                let (l, r) = (as_pointer(l), as_pointer(r));
                return Some(Expr {
                    kind: ExprKind::PtrCmp(op, Box::new(l), Box::new(r)),
                    ty: INT,
                    ver: None,
                    span,
                });
            }
            _ => {}
        }
        let int_only = matches!(
            op,
            BinOp::Rem | BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor | BinOp::Shl | BinOp::Shr
        );
        let ok = |t: &CType| {
            if int_only {
                t.is_integer()
            } else {
                is_arith(t)
            }
        };
        if !ok(&l.ty) || !ok(&r.ty) {
            return self.mismatch(op, &l, &r, op_span);
        }
        if matches!(op, BinOp::Shl | BinOp::Shr) {
            let lt = cty::promote(&l.ty);
            let rt = cty::promote(&r.ty);
            let l = convert(l, lt.clone(), None);
            let r = convert(r, rt, None);
            return Some(Expr {
                kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
                ty: lt,
                ver: None,
                span,
            });
        }
        let t = cty::common(&l.ty, &r.ty);
        let l = convert(l, t.clone(), None);
        let r = convert(r, t.clone(), None);
        let ty = if op.is_comparison() { INT } else { t };
        Some(Expr {
            kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
            ty,
            ver: None,
            span,
        })
    }

    fn mismatch<T>(&mut self, op: BinOp, l: &Expr, r: &Expr, span: Span) -> O<T> {
        self.err(
            Diagnostic::error(
                Code::TypeMismatch,
                format!(
                    "`{}` cannot be applied to `{}` and `{}`",
                    op.symbol(),
                    l.ty,
                    r.ty
                ),
            )
            .label(l.span, format!("`{}`", l.ty))
            .label(r.span, format!("`{}`", r.ty))
            .label(span, ""),
        );
        None
    }

    fn cast(&mut self, v: Expr, t: &ast::TypeName, span: Span) -> O<Expr> {
        // A pointer cast stays in the operand's version; a named type is resolved there.
        let ver = match (t.version, v.ver) {
            (Some(a), Some(b)) if a != b && t.ptrs > 0 => {
                self.err(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("a pointer into {b} memory cannot become a {a} pointer"),
                    )
                    .label(span, "cast across versions")
                    .help("use `migrate(...)` to get the new object"),
                );
                return None;
            }
            (Some(a), _) => a,
            (None, Some(b)) => b,
            (None, None) => Ver::New,
        };
        let to = self.ck.ast_type(t, ver)?;
        let from = v.ty.clone();
        let ok = (is_arith(&to) && is_arith(&from))
            || (matches!(to, CType::Pointer(_)) && matches!(from, CType::Pointer(_)))
            || (to.is_integer()
                && matches!(from, CType::Pointer(_))
                && to.int_repr().is_some_and(|(b, _)| b == 8))
            || matches!(to, CType::Bool) && is_scalar(&from);
        if !ok {
            let help = if matches!(to, CType::Pointer(_)) && is_arith(&from) {
                Some("integers cannot become pointers: use `alloc`, `migrate` or `null`")
            } else {
                None
            };
            let mut d = Diagnostic::error(
                Code::TypeMismatch,
                format!("cannot cast `{from}` to `{to}`"),
            )
            .label(span, "invalid cast");
            d.help = help.map(String::from);
            self.err(d);
            return None;
        }
        let out_ver = if matches!(to, CType::Pointer(_)) {
            v.ver.or(Some(ver))
        } else {
            None
        };
        if matches!(v.kind, ExprKind::Null) {
            return Some(Expr {
                kind: ExprKind::Null,
                ty: to,
                ver: None,
                span,
            });
        }
        let mut e = convert(v, to, out_ver);
        e.span = span;
        Some(e)
    }

    // ------------------------------------------------------------ builtins

    fn call(&mut self, name: &Ident, args: &[ast::Expr], span: Span) -> O<Expr> {
        const BUILTINS: [&str; 17] = [
            "now_ms",
            "alloc",
            "migrate",
            "migrate_array",
            "migrate_nt",
            "migrate_str",
            "newfn",
            "oldfn",
            "memcpy",
            "memset",
            "strlen",
            "strcmp",
            "strdup",
            "min",
            "max",
            "sizeof",
            "assert",
        ];
        let arity = match name.name.as_str() {
            "now_ms" => 0,
            "alloc" | "migrate" | "migrate_nt" | "migrate_str" | "newfn" | "oldfn" | "strlen"
            | "strdup" => 1,
            "migrate_array" | "strcmp" | "min" | "max" => 2,
            "memcpy" | "memset" => 3,
            _ => {
                let mut d = Diagnostic::error(
                    Code::UnknownName,
                    format!("no builtin function `{}`", name.name),
                )
                .label(name.span, "unknown function");
                d.help = did_you_mean(&name.name, BUILTINS[..15].iter().copied())
                    .or_else(|| Some(format!("the builtins are: {}", BUILTINS[..15].join(", "))));
                self.err(d);
                return None;
            }
        };
        if args.len() != arity {
            self.err(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!(
                        "`{}` takes {arity} argument{}, not {}",
                        name.name,
                        if arity == 1 { "" } else { "s" },
                        args.len()
                    ),
                )
                .label(span, "wrong number of arguments"),
            );
            return None;
        }
        let n = name.name.as_str();
        // Name arguments of newfn/oldfn are not expressions.
        if matches!(n, "newfn" | "oldfn") {
            if let A::Str(bytes) = &args[0].kind {
                let ver = if n == "newfn" { Ver::New } else { Ver::Old };
                let key = String::from_utf8_lossy(bytes).into_owned();
                let f = self.ck.function(ver, &key, args[0].span)?;
                let b = if n == "newfn" {
                    Builtin::NewFnNamed(f)
                } else {
                    Builtin::OldFnNamed(f)
                };
                return Some(Expr {
                    kind: ExprKind::Call(b, Vec::new()),
                    ty: ptr(CType::Function),
                    ver: Some(ver),
                    span,
                });
            }
            if n == "oldfn" {
                self.err(
                    Diagnostic::error(Code::TypeMismatch, "`oldfn` takes a function name")
                        .label(args[0].span, "expected a string: `oldfn(\"name\")`"),
                );
                return None;
            }
        }
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.expr(a));
        }
        let vals: Vec<Expr> = vals.into_iter().collect::<O<_>>()?;
        let ret = |b: Builtin, args: Vec<Expr>, ty: CType, ver: Option<Ver>| {
            Some(Expr {
                kind: ExprKind::Call(b, args),
                ty,
                ver,
                span,
            })
        };
        let char_ptr = ptr(CType::Int {
            bytes: 1,
            signed: true,
        });
        match n {
            "now_ms" => ret(Builtin::NowMs, vals, ULONG, None),
            "alloc" => {
                let a = self.int_arg(vals, 0, n)?;
                ret(Builtin::Alloc, a, ptr(CType::Void), Some(Ver::New))
            }
            "migrate" | "migrate_array" | "migrate_nt" => {
                let mut vals = vals;
                let p = vals.remove(0);
                let (old_ty, new_ty) = self.migrate_types(&p, n)?;
                let mut args = vec![p];
                if n == "migrate_array" {
                    let c = vals.remove(0);
                    if !c.ty.is_integer() {
                        return self.bad_arg(n, &c, "an integer count");
                    }
                    args.push(convert(c, ULONG, None));
                }
                let b = match n {
                    "migrate" => Builtin::Migrate {
                        old_ty,
                        new_ty: new_ty.clone(),
                    },
                    "migrate_array" => Builtin::MigrateArray {
                        old_ty,
                        new_ty: new_ty.clone(),
                    },
                    _ => Builtin::MigrateNt {
                        old_ty,
                        new_ty: new_ty.clone(),
                    },
                };
                ret(b, args, ptr(new_ty), Some(Ver::New))
            }
            "migrate_str" => {
                let p = &vals[0];
                if !is_char_ptr(&p.ty) || p.ver != Some(Ver::Old) {
                    return self.bad_arg(n, p, "an old `char *`");
                }
                ret(Builtin::MigrateStr, vals, char_ptr, Some(Ver::New))
            }
            "newfn" => {
                let p = &vals[0];
                if p.ty != ptr(CType::Function) || p.ver != Some(Ver::Old) {
                    return self.bad_arg(n, p, "an old function pointer or a function name");
                }
                ret(Builtin::NewFn, vals, ptr(CType::Function), Some(Ver::New))
            }
            "memcpy" | "memset" => {
                let mut vals = vals;
                let d = &vals[0];
                if !matches!(d.ty, CType::Pointer(_)) {
                    return self.bad_arg(n, d, "a pointer");
                }
                if d.ver != Some(Ver::New) {
                    self.err(
                        Diagnostic::error(
                            Code::WriteToOld,
                            format!("`{n}` would write old memory"),
                        )
                        .label(args[0].span, "the destination must be new state"),
                    );
                    return None;
                }
                if n == "memcpy" && !matches!(vals[1].ty, CType::Pointer(_)) {
                    return self.bad_arg(n, &vals[1], "a pointer");
                }
                if n == "memset" {
                    if !vals[1].ty.is_integer() {
                        return self.bad_arg(n, &vals[1], "an integer byte");
                    }
                    let b = vals.remove(1);
                    vals.insert(1, convert(b, INT, None));
                }
                let c = vals.pop().expect("three arguments");
                if !c.ty.is_integer() {
                    return self.bad_arg(n, &c, "an integer count");
                }
                vals.push(convert(c, ULONG, None));
                let b = if n == "memcpy" {
                    Builtin::Memcpy
                } else {
                    Builtin::Memset
                };
                ret(b, vals, CType::Void, None)
            }
            "strlen" | "strdup" => {
                if !is_char_ptr(&vals[0].ty) {
                    return self.bad_arg(n, &vals[0], "a `char *`");
                }
                if n == "strlen" {
                    ret(Builtin::Strlen, vals, ULONG, None)
                } else {
                    ret(Builtin::Strdup, vals, char_ptr, Some(Ver::New))
                }
            }
            "strcmp" => {
                for v in &vals {
                    if !is_char_ptr(&v.ty) {
                        return self.bad_arg(n, v, "a `char *`");
                    }
                }
                ret(Builtin::Strcmp, vals, INT, None)
            }
            _ => {
                // min, max
                for v in &vals {
                    if !is_arith(&v.ty) {
                        return self.bad_arg(n, v, "a number");
                    }
                }
                let t = cty::common(&vals[0].ty, &vals[1].ty);
                let vals: Vec<Expr> = vals
                    .into_iter()
                    .map(|v| convert(v, t.clone(), None))
                    .collect();
                let b = if n == "min" {
                    Builtin::Min
                } else {
                    Builtin::Max
                };
                ret(b, vals, t, None)
            }
        }
    }

    fn int_arg(&mut self, mut vals: Vec<Expr>, i: usize, n: &str) -> O<Vec<Expr>> {
        let v = vals.remove(i);
        if !v.ty.is_integer() {
            return self.bad_arg(n, &v, "an integer");
        }
        vals.insert(i, convert(v, ULONG, None));
        Some(vals)
    }

    fn bad_arg<T>(&mut self, n: &str, v: &Expr, want: &str) -> O<T> {
        let found = match (v.ver, &v.ty) {
            (Some(ver), CType::Pointer(_)) => format!("{ver} `{}`", v.ty),
            _ => format!("`{}`", v.ty),
        };
        self.err(
            Diagnostic::error(
                Code::TypeMismatch,
                format!("`{n}` needs {want}, found {found}"),
            )
            .label(v.span, format!("this is {found}")),
        );
        None
    }

    /// The old and new pointee types of a `migrate` argument.
    fn migrate_types(&mut self, p: &Expr, n: &str) -> O<(CType, CType)> {
        let CType::Pointer(inner) = &p.ty else {
            return self.bad_arg(n, p, "an old pointer");
        };
        if p.ver != Some(Ver::Old) {
            return self.bad_arg(n, p, "an old pointer");
        }
        if matches!(**inner, CType::Void) {
            self.err(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!("`{n}` cannot know what a `void *` points to"),
                )
                .label(p.span, "`void *`")
                .help(format!(
                    "cast it to the real type: `{n}(p as struct item *)`"
                )),
            );
            return None;
        }
        let old_ty = (**inner).clone();
        match self.ck.new_type_for(&old_ty) {
            Some(t) => Some((old_ty, t)),
            None => {
                self.err(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("`{old_ty}` has no counterpart in the new version"),
                    )
                    .label(p.span, "its type is gone")
                    .help("add a `type OLD -> NEW` rule to say what it becomes"),
                );
                None
            }
        }
    }
}

fn describe_ver(v: Option<Ver>) -> String {
    match v {
        Some(v) => format!("points into {v} memory"),
        None => "a constant".into(),
    }
}

/// True for `char *`, `unsigned char *`, `signed char *`.
fn is_char_ptr(t: &CType) -> bool {
    matches!(t, CType::Pointer(inner) if matches!(**inner, CType::Int { bytes: 1, .. }))
}

/// Expressions that denote places syntactically.
fn is_place_syntax(e: &ast::Expr) -> bool {
    matches!(
        e.kind,
        A::SelfRef(_)
            | A::Symbol { .. }
            | A::Var(_)
            | A::Member { .. }
            | A::Index { .. }
            | A::Unary {
                op: ast::UnOp::Deref,
                ..
            }
    )
}

/// `struct foo` / `union u` / a typedef name of an anonymous record, as a CType.
pub fn record_ctype(name: &str) -> CType {
    if let Some(tag) = name.strip_prefix("struct ") {
        CType::Record {
            union: false,
            tag: tag.to_string(),
        }
    } else if let Some(tag) = name.strip_prefix("union ") {
        CType::Record {
            union: true,
            tag: tag.to_string(),
        }
    } else if let Some(tag) = name.strip_prefix("enum ") {
        CType::Enum(tag.to_string())
    } else {
        CType::Typedef(name.to_string())
    }
}

fn int_const(v: u64, ty: CType, span: Span) -> Expr {
    Expr {
        kind: ExprKind::Int(cty::truncate(v, &ty)),
        ty,
        ver: None,
        span,
    }
}

/// `e` converted to `to`: constants fold, equal types stay as they are.
fn convert(e: Expr, to: CType, ver: Option<Ver>) -> Expr {
    if e.ty == to {
        return e;
    }
    if let ExprKind::Int(v) = e.kind {
        if to.is_integer() && !matches!(to, CType::Bool) {
            return int_const(v, to, e.span);
        }
    }
    let span = e.span;
    Expr {
        kind: ExprKind::Convert(Box::new(e)),
        ty: to,
        ver,
        span,
    }
}

/// A conditional arm brought to the result type.
fn retype(e: Expr, ty: &CType, ver: Option<Ver>) -> Expr {
    if matches!(e.kind, ExprKind::Null) {
        return Expr {
            ty: ty.clone(),
            ver,
            ..e
        };
    }
    convert(e, ty.clone(), ver)
}

/// A null-pointer constant `0` compared with a pointer becomes `null`.
fn as_pointer(e: Expr) -> Expr {
    if matches!(e.kind, ExprKind::Int(0)) && !matches!(e.ty, CType::Pointer(_)) {
        return Expr {
            kind: ExprKind::Null,
            ty: ptr(CType::Void),
            ver: None,
            span: e.span,
        };
    }
    e
}
