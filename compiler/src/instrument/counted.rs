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

/// A loop whose trip count is fixed when it starts needs no point of its own: the time to
/// the next point is bounded by that count. Recognised form: `for (...; i REL E; STEP)` with
/// `i` a plain local stepped by `++`, `--`, `+= C` or `-= C`, `E` made of constants and plain
/// locals, and a body without labels that assigns neither `i` nor anything `E` reads.
/// Innermost loops of this form are where a point costs most (it stops gcc's loop
/// optimisations), so this keeps sorts and array scans at plain speed.
pub fn counted_for(f: &ForStatement, kind: &dyn Fn(&str) -> NameKind) -> bool {
    let plain_local = |e: &Node<Expression>| match &e.node {
        Expression::Identifier(id) if kind(&id.node.name) == NameKind::PlainLocal => {
            Some(id.node.name.clone())
        }
        _ => None,
    };
    let Some(step) = &f.step else { return false };
    let var = match &step.node {
        Expression::UnaryOperator(u) => plain_local(&u.node.operand),
        Expression::BinaryOperator(b)
            if matches!(
                b.node.operator.node,
                BinaryOperator::AssignPlus | BinaryOperator::AssignMinus
            ) && matches!(b.node.rhs.node, Expression::Constant(_)) =>
        {
            plain_local(&b.node.lhs)
        }
        _ => None,
    };
    let Some(var) = var else { return false };
    let Some(cond) = &f.condition else {
        return false;
    };
    let Expression::BinaryOperator(c) = &cond.node else {
        return false;
    };
    if !matches!(
        c.node.operator.node,
        BinaryOperator::Less
            | BinaryOperator::LessOrEqual
            | BinaryOperator::Greater
            | BinaryOperator::GreaterOrEqual
    ) {
        return false;
    }
    let bound = match (plain_local(&c.node.lhs), plain_local(&c.node.rhs)) {
        (Some(v), _) if v == var => &c.node.rhs,
        (_, Some(v)) if v == var => &c.node.lhs,
        _ => return false,
    };
    let mut reads = vec![var];
    let mut ok = true;
    walk_expr(bound, &mut |x| match &x.node {
        Expression::Identifier(id) => match kind(&id.node.name) {
            NameKind::Addressed => ok = false,
            NameKind::PlainLocal => reads.push(id.node.name.clone()),
            // A global, a static local or an enumerator.
            NameKind::NonLocal => reads.push(id.node.name.clone()),
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
    // Only innermost loops of pure computation: a call costs more than the point, and a
    // callee could change a global bound.
    let mut calls = false;
    walk_stmt_exprs(&f.statement, &mut |x| {
        calls |= matches!(x.node, Expression::Call(_))
    });
    ok && !calls && !has_loop(&f.statement) && !assigns_or_jumps(&f.statement, &reads)
}

/// Whether a statement has a label, or assigns (or increments) one of `names` directly.
fn assigns_or_jumps(s: &Node<Statement>, names: &[String]) -> bool {
    if let Statement::Labeled(l) = &s.node {
        if matches!(l.node.label.node, Label::Identifier(_)) {
            return true;
        }
    }
    let mut found = false;
    let target = |e: &Node<Expression>| matches!(&e.node, Expression::Identifier(id) if names.contains(&id.node.name));
    walk_stmt_exprs(s, &mut |x| match &x.node {
        Expression::UnaryOperator(u) => {
            if matches!(
                u.node.operator.node,
                UnaryOperator::PostIncrement
                    | UnaryOperator::PreIncrement
                    | UnaryOperator::PostDecrement
                    | UnaryOperator::PreDecrement
                    | UnaryOperator::Address
            ) && target(&u.node.operand)
            {
                found = true;
            }
        }
        Expression::BinaryOperator(b) => {
            use BinaryOperator::*;
            if matches!(
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
            ) && target(&b.node.lhs)
            {
                found = true;
            }
        }
        _ => {}
    });
    found || has_label(s)
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
