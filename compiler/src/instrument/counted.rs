//! Counted loops: `for` loops whose trip count is fixed when they start.
//!
//! Such a loop needs no update point of its own when it is innermost and pure (no calls): the
//! time to the next point is bounded by its trip count, and a point would stop gcc's loop
//! optimisations where they matter most. The analysis (which functions may unwind) and the
//! rewriter (where points go) must agree on this, so both ask `counted_for`, each describing
//! names with what it knows; the analysis errs towards "not plain", never the other way.

use lang_c::ast::*;
use lang_c::span::Node;

use super::walk::{walk_expr, walk_stmt_exprs};

/// What a name in a loop header is, as far as the caller knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// An automatic local whose address is never taken: only the function's own code writes it.
    PlainLocal,
    /// A local that may be written through a pointer (boxed, address taken, array).
    Addressed,
    /// A global, static local or enumerator.
    NonLocal,
}

/// A `for` loop whose trip count is fixed when it starts needs no point of its own: the time
/// to the next point is bounded by that count. Recognised form: `for (...; i REL E; STEP)` with
/// `i` a plain local stepped towards `E` by `++`, `--`, `+= C` or `-= C`, `E` made of constants
/// and locals, and a pure body (no calls, loops or labels) that assigns neither `i` nor
/// anything `E` reads. Innermost loops of this form are where a point costs most (it stops
/// gcc's loop optimisations), so this keeps sorts and array scans at plain speed.
pub fn counted_for(f: &ForStatement, kind: &dyn Fn(&str) -> NameKind) -> bool {
    let (Some(step), Some(cond)) = (&f.step, &f.condition) else {
        return false;
    };
    let Some((var, up)) = step_of(step, kind) else {
        return false;
    };
    let Some((v, bound, need_up)) = comparison(cond, kind) else {
        return false;
    };
    let mut reads = vec![var.clone()];
    v == var
        && up == need_up
        && invariant_bound(bound, kind, &mut reads)
        && pure_body(&f.statement)
        && !assigns_or_jumps(&f.statement, &reads)
}

/// The same for `while (... && i REL E && ...) { ...; i++; ... }`: one conjunct of the
/// condition compares a plain local with an invariant bound, and the body steps that local
/// towards the bound exactly once, unconditionally (a top-level statement, no `continue`), and
/// assigns it nowhere else. Insertion sort's inner loop is the typical case.
pub fn counted_while(w: &WhileStatement, kind: &dyn Fn(&str) -> NameKind) -> bool {
    let mut calls = false;
    walk_expr(&w.expression, &mut |x| {
        calls |= matches!(x.node, Expression::Call(_))
    });
    if calls || !pure_body(&w.statement) || has_continue_or_goto(&w.statement) {
        return false;
    }
    let top: Vec<&Node<Expression>> = match &w.statement.node {
        Statement::Compound(items) => items
            .iter()
            .filter_map(|i| match &i.node {
                BlockItem::Statement(Node {
                    node: Statement::Expression(Some(e)),
                    ..
                }) => Some(&**e),
                _ => None,
            })
            .collect(),
        Statement::Expression(Some(e)) => vec![&**e],
        _ => Vec::new(),
    };
    conjuncts(&w.expression).into_iter().any(|c| {
        let Some((v, bound, need_up)) = comparison(c, kind) else {
            return false;
        };
        let stepped = top
            .iter()
            .any(|e| step_of(e, kind) == Some((v.clone(), need_up)));
        let mut reads = Vec::new();
        stepped
            && assignments(&w.statement, &v) == 1
            && invariant_bound(bound, kind, &mut reads)
            && !assigns_or_jumps(&w.statement, &reads)
    })
}

/// The plain local a step expression moves, and whether it moves up.
fn step_of(e: &Node<Expression>, kind: &dyn Fn(&str) -> NameKind) -> Option<(String, bool)> {
    let (target, up) = match &e.node {
        Expression::UnaryOperator(u) => match u.node.operator.node {
            UnaryOperator::PostIncrement | UnaryOperator::PreIncrement => (&*u.node.operand, true),
            UnaryOperator::PostDecrement | UnaryOperator::PreDecrement => (&*u.node.operand, false),
            _ => return None,
        },
        Expression::BinaryOperator(b) if matches!(b.node.rhs.node, Expression::Constant(_)) => {
            match b.node.operator.node {
                BinaryOperator::AssignPlus => (&*b.node.lhs, true),
                BinaryOperator::AssignMinus => (&*b.node.lhs, false),
                _ => return None,
            }
        }
        _ => return None,
    };
    plain_local(target, kind).map(|v| (v, up))
}

/// `x REL E` or `E REL x` with `x` a plain local: `x`, `E`, and whether `x` must grow for the
/// comparison to become false.
fn comparison<'e>(
    e: &'e Node<Expression>,
    kind: &dyn Fn(&str) -> NameKind,
) -> Option<(String, &'e Node<Expression>, bool)> {
    let Expression::BinaryOperator(c) = &e.node else {
        return None;
    };
    let below = match c.node.operator.node {
        BinaryOperator::Less | BinaryOperator::LessOrEqual => true,
        BinaryOperator::Greater | BinaryOperator::GreaterOrEqual => false,
        _ => return None,
    };
    if let Some(v) = plain_local(&c.node.lhs, kind) {
        Some((v, &c.node.rhs, below))
    } else {
        plain_local(&c.node.rhs, kind).map(|v| (v, &*c.node.lhs, !below))
    }
}

fn plain_local(e: &Node<Expression>, kind: &dyn Fn(&str) -> NameKind) -> Option<String> {
    match &e.node {
        Expression::Identifier(id) if kind(&id.node.name) == NameKind::PlainLocal => {
            Some(id.node.name.clone())
        }
        _ => None,
    }
}

/// Whether a bound is made of constants, locals that cannot be written through pointers, and
/// globals, with arithmetic that cannot fault; collects the names it reads.
fn invariant_bound(
    bound: &Node<Expression>,
    kind: &dyn Fn(&str) -> NameKind,
    reads: &mut Vec<String>,
) -> bool {
    let mut ok = true;
    walk_expr(bound, &mut |x| match &x.node {
        Expression::Identifier(id) => match kind(&id.node.name) {
            NameKind::Addressed => ok = false,
            // Plain locals, globals, static locals and enumerators.
            NameKind::PlainLocal | NameKind::NonLocal => reads.push(id.node.name.clone()),
        },
        Expression::Constant(_)
        | Expression::SizeOfTy(_)
        | Expression::SizeOfVal(_)
        | Expression::Cast(_) => {}
        Expression::BinaryOperator(b) => {
            use BinaryOperator::*;
            if !matches!(
                b.node.operator.node,
                Plus | Minus | Multiply | Divide | ShiftLeft | ShiftRight
            ) {
                ok = false;
            }
        }
        _ => ok = false,
    });
    ok
}

/// Innermost loops of pure computation only: a call costs more than the point (and a callee
/// could change a global bound).
fn pure_body(body: &Node<Statement>) -> bool {
    let mut calls = false;
    walk_stmt_exprs(body, &mut |x| {
        calls |= matches!(x.node, Expression::Call(_))
    });
    !calls && !has_loop(body)
}

/// The top-level operands of a chain of `&&`.
fn conjuncts(e: &Node<Expression>) -> Vec<&Node<Expression>> {
    match &e.node {
        Expression::BinaryOperator(b) if b.node.operator.node == BinaryOperator::LogicalAnd => {
            let mut v = conjuncts(&b.node.lhs);
            v.extend(conjuncts(&b.node.rhs));
            v
        }
        _ => vec![e],
    }
}

/// How many expressions in `s` assign or step `name`.
fn assignments(s: &Node<Statement>, name: &str) -> usize {
    let mut n = 0;
    walk_stmt_exprs(s, &mut |x| {
        if written(x)
            .is_some_and(|t| matches!(&t.node, Expression::Identifier(id) if id.node.name == name))
        {
            n += 1;
        }
    });
    n
}

fn has_continue_or_goto(s: &Node<Statement>) -> bool {
    match &s.node {
        Statement::Continue | Statement::Goto(_) => true,
        Statement::Labeled(l) => has_continue_or_goto(&l.node.statement),
        Statement::Compound(items) => items
            .iter()
            .any(|i| matches!(&i.node, BlockItem::Statement(x) if has_continue_or_goto(x))),
        Statement::If(i) => {
            has_continue_or_goto(&i.node.then_statement)
                || i.node
                    .else_statement
                    .as_ref()
                    .is_some_and(|e| has_continue_or_goto(e))
        }
        Statement::Switch(sw) => has_continue_or_goto(&sw.node.statement),
        _ => false,
    }
}

/// Whether a statement has a label, or assigns (or increments) one of `names` directly.
fn assigns_or_jumps(s: &Node<Statement>, names: &[String]) -> bool {
    let named = |e: &Node<Expression>| matches!(&e.node, Expression::Identifier(id) if names.contains(&id.node.name));
    let mut found = false;
    walk_stmt_exprs(s, &mut |x| {
        let addressed = matches!(&x.node, Expression::UnaryOperator(u)
            if u.node.operator.node == UnaryOperator::Address && named(&u.node.operand));
        found |= addressed || written(x).is_some_and(named);
    });
    found || has_label(s)
}

/// The operand an expression writes: of `++`, `--` and every assignment operator.
fn written(x: &Node<Expression>) -> Option<&Node<Expression>> {
    match &x.node {
        Expression::UnaryOperator(u) => matches!(
            u.node.operator.node,
            UnaryOperator::PostIncrement
                | UnaryOperator::PreIncrement
                | UnaryOperator::PostDecrement
                | UnaryOperator::PreDecrement
        )
        .then_some(&*u.node.operand),
        Expression::BinaryOperator(b) => {
            use BinaryOperator::*;
            matches!(
                b.node.operator.node,
                Assign
                    | AssignMultiply
                    | AssignDivide
                    | AssignModulo
                    | AssignPlus
                    | AssignMinus
                    | AssignShiftLeft
                    | AssignShiftRight
                    | AssignBitwiseAnd
                    | AssignBitwiseXor
                    | AssignBitwiseOr
            )
            .then_some(&*b.node.lhs)
        }
        _ => None,
    }
}

fn has_loop(s: &Node<Statement>) -> bool {
    match &s.node {
        Statement::While(_) | Statement::DoWhile(_) | Statement::For(_) => true,
        Statement::Labeled(l) => has_loop(&l.node.statement),
        Statement::Compound(items) => items
            .iter()
            .any(|i| matches!(&i.node, BlockItem::Statement(s) if has_loop(s))),
        Statement::If(i) => {
            has_loop(&i.node.then_statement)
                || i.node.else_statement.as_ref().is_some_and(|e| has_loop(e))
        }
        Statement::Switch(sw) => has_loop(&sw.node.statement),
        _ => false,
    }
}

fn has_label(s: &Node<Statement>) -> bool {
    match &s.node {
        Statement::Labeled(l) => {
            matches!(l.node.label.node, Label::Identifier(_)) || has_label(&l.node.statement)
        }
        Statement::Compound(items) => items.iter().any(|i| match &i.node {
            BlockItem::Statement(s) => has_label(s),
            BlockItem::Declaration(_) | BlockItem::StaticAssert(_) => false,
        }),
        Statement::If(i) => {
            has_label(&i.node.then_statement)
                || i.node.else_statement.as_ref().is_some_and(|e| has_label(e))
        }
        Statement::Switch(sw) => has_label(&sw.node.statement),
        Statement::While(w) => has_label(&w.node.statement),
        Statement::DoWhile(d) => has_label(&d.node.statement),
        Statement::For(f) => has_label(&f.node.statement),
        _ => false,
    }
}
