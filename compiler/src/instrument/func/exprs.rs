//! Expressions: printing (fully parenthesised, renamed, boxed) and lowering of calls that may
//! unwind into statements of their own.

use std::fmt::Write;

use lang_c::ast::*;
use lang_c::span::{Node, Span};

use super::super::blocking::{self, Route};
use super::*;

impl FnRewriter<'_> {
    /// How a call behaves, resolving the callee against locals first.
    pub(super) fn call_kind(&self, call: &CallExpression) -> (CallKind, String) {
        match &call.callee.node {
            Expression::Identifier(id) => {
                let n = &id.node.name;
                if self.lookup(n).is_some() {
                    (CallKind::Unwinds, "*".to_string())
                } else if self.in_stmt_expr > 0 && self.blocking_call(call) {
                    // No call point is possible here: the plain (or counting) call.
                    (CallKind::Plain, n.clone())
                } else {
                    (self.facts.call_kind(n), n.clone())
                }
            }
            _ => (CallKind::Unwinds, "*".to_string()),
        }
    }

    /// Is this a direct call of a blocking function routed to the runtime (blocking.rs)?
    fn blocking_call(&self, call: &CallExpression) -> bool {
        matches!(&call.callee.node, Expression::Identifier(id)
            if self.lookup(&id.node.name).is_none()
                && self.facts.route(&id.node.name) == Some(Route::Blocking))
    }

    /// The runtime wrapper a direct call goes to (blocking.rs), at a call point (`point`) or
    /// elsewhere; None for a call that is not routed.
    pub(super) fn routed_callee(&self, call: &CallExpression, point: bool) -> Option<String> {
        let Expression::Identifier(id) = &call.callee.node else {
            return None;
        };
        let n = &id.node.name;
        if self.lookup(n).is_some() {
            return None;
        }
        blocking::wrapper(n, self.facts.route(n)?, point)
    }

    /// Does the expression hold a call that may unwind (or a setjmp) where it is evaluated?
    /// A blocking call inside a statement expression does not count (it is printed plain there).
    pub(super) fn has_uc(&self, e: &Node<Expression>) -> bool {
        let mut found = false;
        let mut stmt_exprs: Vec<Span> = Vec::new();
        walk_expr(e, &mut |x| {
            if let Expression::Statement(_) = &x.node {
                stmt_exprs.push(x.span);
            }
            if let Expression::Call(c) = &x.node {
                let inside = stmt_exprs
                    .iter()
                    .any(|s| s.start <= x.span.start && x.span.end <= s.end);
                if self.call_kind(&c.node).0 != CallKind::Plain
                    && !(inside && self.blocking_call(&c.node))
                {
                    found = true;
                }
            }
        });
        found
    }

    /// Prints an expression that needs no lowering.
    pub(super) fn expr(&mut self, e: &Node<Expression>) -> String {
        match &e.node {
            Expression::Identifier(id) => self.ident(&id.node.name),
            Expression::Constant(_)
            | Expression::StringLiteral(_)
            | Expression::OffsetOf(_)
            | Expression::AlignOf(_)
            | Expression::SizeOfTy(_) => self.text(&e.span).to_string(),
            Expression::GenericSelection(g) => {
                let c = self.expr(&g.node.expression);
                let mut s = format!("_Generic({c}");
                for a in &g.node.associations {
                    match &a.node {
                        GenericAssociation::Type(t) => {
                            let v = self.expr(&t.node.expression);
                            let _ = write!(s, ", {}: {v}", self.text(&t.node.type_name.span));
                        }
                        GenericAssociation::Default(d) => {
                            let v = self.expr(d);
                            let _ = write!(s, ", default: {v}");
                        }
                    }
                }
                s.push(')');
                s
            }
            Expression::Member(m) => {
                let b = self.expr(&m.node.expression);
                let op = if m.node.operator.node == MemberOperator::Direct {
                    "."
                } else {
                    "->"
                };
                format!("({b}){op}{}", m.node.identifier.node.name)
            }
            Expression::Call(c) => {
                let mut f = match self.routed_callee(&c.node, false) {
                    Some(w) => w,
                    None => self.expr(&c.node.callee),
                };
                if self.parenthesised(&c.node.callee.span) {
                    // Keep `(T)(x)` a cast when lang-c read it as a call of `T`.
                    f = format!("({f})");
                }
                let args: Vec<String> = c.node.arguments.iter().map(|a| self.expr(a)).collect();
                format!("{f}({})", args.join(", "))
            }
            Expression::CompoundLiteral(cl) => {
                let items = Node::new(Initializer::List(cl.node.initializer_list.clone()), e.span);
                let init = self.initializer(&items, None);
                format!("(({}){init})", self.text(&cl.node.type_name.span))
            }
            Expression::SizeOfVal(v) => {
                let t = self.expr(&v.node.0);
                format!("sizeof({t})")
            }
            Expression::UnaryOperator(u) => {
                let t = self.expr(&u.node.operand);
                unary(&u.node.operator.node, &t)
            }
            Expression::Cast(c) => {
                let t = self.expr(&c.node.expression);
                format!("(({}){t})", self.text(&c.node.type_name.span))
            }
            Expression::BinaryOperator(b) => {
                let l = self.expr(&b.node.lhs);
                let r = self.expr(&b.node.rhs);
                binary(&b.node.operator.node, &l, &r)
            }
            Expression::Conditional(c) => {
                let a = self.expr(&c.node.condition);
                let b = self.expr(&c.node.then_expression);
                let d = self.expr(&c.node.else_expression);
                format!("({a} ? {b} : {d})")
            }
            Expression::Comma(es) => {
                let parts: Vec<String> = es.iter().map(|x| self.expr(x)).collect();
                format!("({})", parts.join(", "))
            }
            Expression::VaArg(v) => {
                let l = self.expr(&v.node.va_list);
                format!(
                    "__builtin_va_arg({l}, {})",
                    self.text(&v.node.type_name.span)
                )
            }
            Expression::Statement(s) => {
                self.in_stmt_expr += 1;
                let mut o = String::from("(");
                self.stmt(s, &mut o);
                o.push(')');
                self.in_stmt_expr -= 1;
                o
            }
        }
    }

    /// Whether the source has parentheses right around `span`.
    pub(super) fn parenthesised(&self, span: &Span) -> bool {
        self.src[span.start..span.end].starts_with('(')
            || self.src[..span.start].trim_end().ends_with('(')
                && self.src[span.end..].trim_start().starts_with(')')
    }

    pub(super) fn ident(&self, name: &str) -> String {
        match self.lookup(name) {
            Some(v) if v.boxed => format!("(*{})", v.c),
            Some(v) => v.c.clone(),
            None if name == "main" => "__us_main".to_string(),
            None => self
                .facts
                .alloc_rename(name)
                .unwrap_or_else(|| name.to_string()),
        }
    }

    /// Whether re-evaluating `e` (after a rebuild restored every local) can neither fault nor
    /// have an effect: names, constants, addresses of names, arithmetic without division.
    pub(super) fn replayable(&self, e: &Node<Expression>) -> bool {
        match &e.node {
            Expression::Identifier(id) => !self.lookup(&id.node.name).is_some_and(|v| v.boxed),
            Expression::Constant(_)
            | Expression::StringLiteral(_)
            | Expression::SizeOfTy(_)
            | Expression::SizeOfVal(_)
            | Expression::AlignOf(_)
            | Expression::OffsetOf(_) => true,
            Expression::UnaryOperator(u) => match u.node.operator.node {
                UnaryOperator::Address => true,
                UnaryOperator::Plus
                | UnaryOperator::Minus
                | UnaryOperator::Complement
                | UnaryOperator::Negate => self.replayable(&u.node.operand),
                _ => false,
            },
            Expression::Cast(c) => self.replayable(&c.node.expression),
            Expression::BinaryOperator(b) => {
                use BinaryOperator::*;
                matches!(
                    b.node.operator.node,
                    Plus | Minus
                        | Multiply
                        | ShiftLeft
                        | ShiftRight
                        | Less
                        | Greater
                        | LessOrEqual
                        | GreaterOrEqual
                        | Equals
                        | NotEquals
                        | BitwiseAnd
                        | BitwiseOr
                        | BitwiseXor
                ) && self.replayable(&b.node.lhs)
                    && self.replayable(&b.node.rhs)
            }
            Expression::Member(m) => {
                m.node.operator.node == MemberOperator::Direct
                    && self.replayable(&m.node.expression)
            }
            _ => false,
        }
    }

    /// Lowers an expression holding calls that may unwind: statements go to `out`, the
    /// returned text is the rest of the expression (free of such calls). With `want` false
    /// the value is discarded (and may be an empty string).
    pub(super) fn lower(&mut self, e: &Node<Expression>, want: bool, out: &mut String) -> String {
        if !self.has_uc(e) {
            return self.expr(e);
        }
        match &e.node {
            Expression::Call(c) => self.lower_call(c, &e.span, want, out),
            Expression::Member(m) => {
                let b = self.lower(&m.node.expression, true, out);
                let op = if m.node.operator.node == MemberOperator::Direct {
                    "."
                } else {
                    "->"
                };
                format!("({b}){op}{}", m.node.identifier.node.name)
            }
            Expression::UnaryOperator(u) => {
                let t = self.lower(&u.node.operand, true, out);
                unary(&u.node.operator.node, &t)
            }
            Expression::Cast(c) => {
                let t = self.lower(&c.node.expression, true, out);
                format!("(({}){t})", self.text(&c.node.type_name.span))
            }
            Expression::BinaryOperator(b) => match b.node.operator.node.clone() {
                BinaryOperator::LogicalAnd | BinaryOperator::LogicalOr => {
                    let and = b.node.operator.node == BinaryOperator::LogicalAnd;
                    if !self.has_uc(&b.node.rhs) {
                        let l = self.lower(&b.node.lhs, true, out);
                        let r = self.expr(&b.node.rhs);
                        return format!("({l} {} {r})", if and { "&&" } else { "||" });
                    }
                    let t = self.new_temp();
                    let l = self.lower(&b.node.lhs, true, out);
                    let _ = writeln!(out, "int {t} = {};", if and { 0 } else { 1 });
                    self.declare_temp(&t, "int");
                    let _ = writeln!(
                        out,
                        "if ({}{l}{}) {{",
                        if and { "" } else { "!(" },
                        if and { "" } else { ")" }
                    );
                    self.scopes.push(Vec::new());
                    let r = self.lower(&b.node.rhs, true, out);
                    let _ = writeln!(out, "{t} = ({r}) != 0;");
                    self.scopes.pop();
                    out.push_str("}\n");
                    t
                }
                op => {
                    let l = self.lower(&b.node.lhs, true, out);
                    let r = self.lower(&b.node.rhs, true, out);
                    binary(&op, &l, &r)
                }
            },
            Expression::Conditional(c) => {
                if !self.has_uc(&c.node.then_expression) && !self.has_uc(&c.node.else_expression) {
                    let a = self.lower(&c.node.condition, true, out);
                    let b = self.expr(&c.node.then_expression);
                    let d = self.expr(&c.node.else_expression);
                    return format!("({a} ? {b} : {d})");
                }
                let ty = if want {
                    Some(format!("__typeof__(((void)0, {}))", self.expr(e)))
                } else {
                    None
                };
                let a = self.lower(&c.node.condition, true, out);
                let t = self.new_temp();
                if let Some(ty) = &ty {
                    let _ = writeln!(out, "{ty} {t};");
                    self.declare_temp(&t, ty);
                }
                let _ = writeln!(out, "if ({a}) {{");
                self.scopes.push(Vec::new());
                let b = self.lower(&c.node.then_expression, want, out);
                if want {
                    out.push_str(&assign_temp(&t, &b));
                } else if !b.is_empty() {
                    let _ = writeln!(out, "{b};");
                }
                self.scopes.pop();
                out.push_str("} else {\n");
                self.scopes.push(Vec::new());
                let d = self.lower(&c.node.else_expression, want, out);
                if want {
                    out.push_str(&assign_temp(&t, &d));
                } else if !d.is_empty() {
                    let _ = writeln!(out, "{d};");
                }
                self.scopes.pop();
                out.push_str("}\n");
                if want {
                    t
                } else {
                    String::new()
                }
            }
            Expression::Comma(es) => {
                let n = es.len();
                let mut last = String::new();
                for (i, x) in es.iter().enumerate() {
                    let w = i + 1 == n && want;
                    let r = self.lower(x, w, out);
                    if i + 1 == n {
                        last = r;
                    } else if !r.is_empty() {
                        let _ = writeln!(out, "{r};");
                    }
                }
                last
            }
            Expression::Statement(_) => {
                self.error(&e.span, "a statement expression holding a call that may reach an update point is not supported", Some("move the call out of the `({ ... })` expression"));
                String::new()
            }
            Expression::CompoundLiteral(_)
            | Expression::GenericSelection(_)
            | Expression::VaArg(_) => {
                self.error(&e.span, "a call that may reach an update point inside this kind of expression is not supported", Some("compute the call's result into a variable first"));
                self.expr(e)
            }
            // sizeof and friends never evaluate their operand; identifiers and constants hold no call.
            _ => self.expr(e),
        }
    }

    pub(super) fn lower_call(
        &mut self,
        c: &Node<CallExpression>,
        span: &Span,
        want: bool,
        out: &mut String,
    ) -> String {
        let (kind, callee) = self.call_kind(&c.node);
        // Operands first, in order: nested calls, then anything that is not replayable.
        let ftext = if matches!(c.node.callee.node, Expression::Identifier(_)) {
            let f = match self.routed_callee(&c.node, kind == CallKind::Unwinds) {
                Some(w) => w,
                None => self.expr(&c.node.callee),
            };
            if self.parenthesised(&c.node.callee.span) {
                format!("({f})")
            } else {
                f
            }
        } else {
            let f = self.lower(&c.node.callee, true, out);
            self.spill(f, out)
        };
        let mut args = Vec::new();
        for a in &c.node.arguments {
            let t = self.lower(a, true, out);
            if kind == CallKind::Plain || self.replayable(a) && !self.has_uc(a) {
                args.push(t);
            } else {
                args.push(self.spill(t, out));
            }
        }
        let call = format!("{ftext}({})", args.join(", "));
        match kind {
            CallKind::Plain => call,
            CallKind::Setjmp => {
                let id = self.sj_sites.len();
                let mut reads = Vec::new();
                for a in &c.node.arguments {
                    walk_expr(a, &mut |x| {
                        if let Expression::Identifier(i) = &x.node {
                            if let Some(v) = self.lookup(&i.node.name) {
                                if v.saved {
                                    reads.push(v.c.clone());
                                }
                            }
                        }
                    });
                }
                self.sj_sites.push(SetjmpSite {
                    id,
                    callee: ftext.clone(),
                    args: args.join(", "),
                    reads,
                });
                let _ = writeln!(
                    out,
                    "__us_sjm{id} = __us_side_top; __us_sjv{id} = {call}; __us_sjf{id} = 1;"
                );
                let _ = writeln!(
                    out,
                    "__us_SJ{id}: if (__us_sjv{id}) __us_side_top = __us_sjm{id};"
                );
                format!("__us_sjv{id}")
            }
            CallKind::Unwinds => {
                if want {
                    let t = self.new_temp();
                    let ty = format!("__typeof__(((void)0, {call}))");
                    let _ = writeln!(out, "{ty} {t};");
                    self.declare_temp(&t, &ty);
                    self.call_point(out, &call, Some(&t), &callee, span);
                    t
                } else {
                    self.call_point(out, &call, None, &callee, span);
                    String::new()
                }
            }
        }
    }

    /// Computes `value` into a fresh temporary and returns its name.
    pub(super) fn spill(&mut self, value: String, out: &mut String) -> String {
        let t = self.new_temp();
        // The comma makes the value an rvalue: `__auto_type` rejects bit-fields and keeps const.
        let _ = writeln!(out, "__auto_type {t} = ((void)0, {value});");
        self.declare_temp(&t, &format!("__typeof__({value})"));
        t
    }
}

/// Assigns `value` to a temporary declared with `__typeof__`, which keeps qualifiers (gcc gives
/// `const T` for a call of a function declared to return `const T`): initialise a copy, then
/// copy its bytes.
pub(super) fn assign_temp(t: &str, value: &str) -> String {
    format!("{{ __typeof__({t}) __us_v = {value}; __builtin_memcpy((void *)&{t}, (const void *)&__us_v, sizeof({t})); }}\n")
}

pub(super) fn unary(op: &UnaryOperator, t: &str) -> String {
    match op {
        UnaryOperator::PostIncrement => format!("({t}++)"),
        UnaryOperator::PostDecrement => format!("({t}--)"),
        UnaryOperator::PreIncrement => format!("(++{t})"),
        UnaryOperator::PreDecrement => format!("(--{t})"),
        UnaryOperator::Address => format!("(&{t})"),
        UnaryOperator::Indirection => format!("(*{t})"),
        UnaryOperator::Plus => format!("(+{t})"),
        UnaryOperator::Minus => format!("(-{t})"),
        UnaryOperator::Complement => format!("(~{t})"),
        UnaryOperator::Negate => format!("(!{t})"),
    }
}

pub(super) fn binary(op: &BinaryOperator, l: &str, r: &str) -> String {
    use BinaryOperator::*;
    if *op == Index {
        return format!("({l}[{r}])");
    }
    let o = match op {
        Index => unreachable!(),
        Multiply => "*",
        Divide => "/",
        Modulo => "%",
        Plus => "+",
        Minus => "-",
        ShiftLeft => "<<",
        ShiftRight => ">>",
        Less => "<",
        Greater => ">",
        LessOrEqual => "<=",
        GreaterOrEqual => ">=",
        Equals => "==",
        NotEquals => "!=",
        BitwiseAnd => "&",
        BitwiseXor => "^",
        BitwiseOr => "|",
        LogicalAnd => "&&",
        LogicalOr => "||",
        Assign => "=",
        AssignMultiply => "*=",
        AssignDivide => "/=",
        AssignModulo => "%=",
        AssignPlus => "+=",
        AssignMinus => "-=",
        AssignShiftLeft => "<<=",
        AssignShiftRight => ">>=",
        AssignBitwiseAnd => "&=",
        AssignBitwiseXor => "^=",
        AssignBitwiseOr => "|=",
    };
    format!("({l} {o} {r})")
}
