//! Walks over the expressions of lang-c ASTs that are evaluated at run time.
//!
//! Operands of `sizeof` and `_Alignof` are not visited (they are never evaluated); expressions
//! inside statement expressions are. Only visiting: nothing here prints or changes anything.

use lang_c::ast::*;
use lang_c::span::Node;

/// Visits every sub-expression that is evaluated (not the operands of sizeof/_Alignof, and not
/// inside statement expressions' statements, which are visited as expressions too).
pub fn walk_expr<'x>(e: &'x Node<Expression>, f: &mut dyn FnMut(&'x Node<Expression>)) {
    f(e);
    match &e.node {
        Expression::Member(m) => walk_expr(&m.node.expression, f),
        Expression::Call(c) => {
            walk_expr(&c.node.callee, f);
            for a in &c.node.arguments {
                walk_expr(a, f);
            }
        }
        Expression::CompoundLiteral(cl) => {
            for it in &cl.node.initializer_list {
                walk_init(&it.node.initializer, f);
            }
        }
        Expression::UnaryOperator(u) => walk_expr(&u.node.operand, f),
        Expression::Cast(c) => walk_expr(&c.node.expression, f),
        Expression::BinaryOperator(b) => {
            walk_expr(&b.node.lhs, f);
            walk_expr(&b.node.rhs, f);
        }
        Expression::Conditional(c) => {
            walk_expr(&c.node.condition, f);
            walk_expr(&c.node.then_expression, f);
            walk_expr(&c.node.else_expression, f);
        }
        Expression::Comma(es) => {
            for x in es.iter() {
                walk_expr(x, f);
            }
        }
        Expression::VaArg(v) => walk_expr(&v.node.va_list, f),
        Expression::GenericSelection(g) => {
            for a in &g.node.associations {
                match &a.node {
                    GenericAssociation::Type(t) => walk_expr(&t.node.expression, f),
                    GenericAssociation::Default(d) => walk_expr(d, f),
                }
            }
        }
        Expression::Statement(s) => walk_stmt_exprs(s, f),
        _ => {}
    }
}

pub fn walk_init<'x>(i: &'x Node<Initializer>, f: &mut dyn FnMut(&'x Node<Expression>)) {
    match &i.node {
        Initializer::Expression(e) => walk_expr(e, f),
        Initializer::List(items) => {
            for it in items {
                walk_init(&it.node.initializer, f);
            }
        }
    }
}

pub fn walk_stmt_exprs<'x>(s: &'x Node<Statement>, f: &mut dyn FnMut(&'x Node<Expression>)) {
    match &s.node {
        Statement::Compound(items) => {
            for it in items {
                match &it.node {
                    BlockItem::Statement(s) => walk_stmt_exprs(s, f),
                    BlockItem::Declaration(d) => {
                        for i in &d.node.declarators {
                            if let Some(init) = &i.node.initializer {
                                walk_init(init, f);
                            }
                        }
                    }
                    BlockItem::StaticAssert(_) => {}
                }
            }
        }
        Statement::Expression(Some(e)) => walk_expr(e, f),
        Statement::If(i) => {
            walk_expr(&i.node.condition, f);
            walk_stmt_exprs(&i.node.then_statement, f);
            if let Some(e) = &i.node.else_statement {
                walk_stmt_exprs(e, f);
            }
        }
        Statement::Switch(sw) => {
            walk_expr(&sw.node.expression, f);
            walk_stmt_exprs(&sw.node.statement, f);
        }
        Statement::While(w) => {
            walk_expr(&w.node.expression, f);
            walk_stmt_exprs(&w.node.statement, f);
        }
        Statement::DoWhile(d) => {
            walk_stmt_exprs(&d.node.statement, f);
            walk_expr(&d.node.expression, f);
        }
        Statement::For(fo) => {
            if let ForInitializer::Expression(e) = &fo.node.initializer.node {
                walk_expr(e, f);
            }
            if let Some(c) = &fo.node.condition {
                walk_expr(c, f);
            }
            if let Some(c) = &fo.node.step {
                walk_expr(c, f);
            }
            walk_stmt_exprs(&fo.node.statement, f);
        }
        Statement::Labeled(l) => walk_stmt_exprs(&l.node.statement, f),
        Statement::Return(Some(e)) => walk_expr(e, f),
        _ => {}
    }
}
