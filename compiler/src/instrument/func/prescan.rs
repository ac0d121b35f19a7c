//! The pre-pass over a function body: which locals must live in boxes, where each local is
//! referenced (for liveness), how many setjmp sites there are.

use std::collections::{HashMap, HashSet};

use lang_c::ast::*;
use lang_c::span::Node;

use super::*;

/// Finds the locals whose address is taken (explicitly with `&`, by array decay, or by a
/// struct member that may be an array escaping), resolving names with C's scopes.
pub(super) struct BoxFinder<'a> {
    pub(super) facts: &'a UnitFacts,
    /// (name, identifier span start, is array) per scope.
    pub(super) scopes: Vec<Vec<(String, usize, bool)>>,
    pub(super) boxed: HashSet<usize>,
    pub(super) order: Vec<usize>,
    pub(super) setjmps: usize,
    /// Offsets of the references to each local (see `FnRewriter::point_vars`).
    pub(super) refs: HashMap<usize, Vec<usize>>,
}

impl BoxFinder<'_> {
    fn resolve(&self, name: &str) -> Option<(usize, bool)> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|v| v.0 == name)
            .map(|v| (v.1, v.2))
    }

    /// The local at the root of an lvalue like `x`, `x.a.b`, `x[3]` (for `&`).
    fn root_local(&self, e: &Node<Expression>) -> Option<usize> {
        match &e.node {
            Expression::Identifier(id) => self.resolve(&id.node.name).map(|v| v.0),
            Expression::Member(m) if m.node.operator.node == MemberOperator::Direct => {
                self.root_local(&m.node.expression)
            }
            Expression::BinaryOperator(b) if b.node.operator.node == BinaryOperator::Index => {
                self.root_local(&b.node.lhs)
            }
            _ => None,
        }
    }

    /// `x.m...` where the member could be an array that decays and escapes.
    fn member_root(&self, e: &Node<Expression>) -> Option<usize> {
        match &e.node {
            Expression::Member(m) if m.node.operator.node == MemberOperator::Direct => {
                match &m.node.expression.node {
                    Expression::Identifier(_) => self.root_local(&m.node.expression),
                    _ => self.member_root(&m.node.expression),
                }
            }
            _ => None,
        }
    }

    fn escape(&mut self, e: &Node<Expression>) {
        if let Some(s) = self.member_root(e) {
            self.boxed.insert(s);
        }
    }

    fn expr(&mut self, e: &Node<Expression>) {
        let mut stmt_exprs = Vec::new();
        let mut addr = Vec::new();
        let mut escapes = Vec::new();
        let mut idents = Vec::new();
        walk_expr(e, &mut |x| match &x.node {
            Expression::Identifier(id) => idents.push((id.node.name.as_str(), x.span.start)),
            Expression::UnaryOperator(u) if u.node.operator.node == UnaryOperator::Address => {
                addr.push(&*u.node.operand)
            }
            Expression::Call(c) => {
                if let Expression::Identifier(id) = &c.node.callee.node {
                    if analysis::SETJMP_NAMES.contains(&id.node.name.as_str()) {
                        self.setjmps += 1;
                    }
                }
                escapes.extend(c.node.arguments.iter())
            }
            Expression::BinaryOperator(b)
                if matches!(
                    b.node.operator.node,
                    BinaryOperator::Assign | BinaryOperator::Plus | BinaryOperator::Minus
                ) =>
            {
                escapes.push(&*b.node.rhs);
                escapes.push(&*b.node.lhs);
            }
            Expression::Cast(c) => escapes.push(&*c.node.expression),
            Expression::Conditional(c) => {
                escapes.push(&*c.node.then_expression);
                escapes.push(&*c.node.else_expression);
            }
            Expression::Statement(s) => stmt_exprs.push(&**s),
            _ => {}
        });
        for (name, at) in idents {
            if let Some((key, _)) = self.resolve(name) {
                if key != usize::MAX {
                    self.refs.entry(key).or_default().push(at);
                }
            }
        }
        for a in addr {
            if let Some(s) = self.root_local(a) {
                self.boxed.insert(s);
            }
        }
        for x in escapes {
            self.escape(x);
        }
        for s in stmt_exprs {
            self.stmt(&s.node);
        }
    }

    fn init(&mut self, i: &Node<Initializer>) {
        match &i.node {
            Initializer::Expression(e) => {
                self.escape(e);
                self.expr(e)
            }
            Initializer::List(items) => {
                for it in items {
                    self.init(&it.node.initializer);
                }
            }
        }
    }

    fn decl(&mut self, d: &Declaration) {
        let local = !d.specifiers.iter().any(|s| {
            matches!(&s.node, DeclarationSpecifier::StorageClass(c) if matches!(c.node, StorageClassSpecifier::Static | StorageClassSpecifier::Extern | StorageClassSpecifier::Typedef | StorageClassSpecifier::ThreadLocal))
        });
        let array_typedef = d.specifiers.iter().any(|s| {
            matches!(&s.node, DeclarationSpecifier::TypeSpecifier(t) if matches!(&t.node, TypeSpecifier::TypedefName(n) if self.facts.array_typedefs.contains(&n.node.name)))
        });
        for i in &d.declarators {
            if let Some(init) = &i.node.initializer {
                self.init(init);
            }
            let Some(id) = analysis::declarator_ident(&i.node.declarator.node) else {
                continue;
            };
            let is_fn = analysis::is_function_declarator(&i.node.declarator.node);
            let is_array = local
                && !is_fn
                && (analysis::is_array_declarator(&i.node.declarator.node)
                    || (array_typedef && i.node.declarator.node.derived.is_empty()));
            // Non-locals shadow locals but are never boxed: record them with an impossible key.
            let key = if local && !is_fn {
                id.span.start
            } else {
                usize::MAX
            };
            self.scopes
                .last_mut()
                .unwrap()
                .push((id.node.name.clone(), key, is_array));
            if key != usize::MAX {
                self.order.push(key);
                if is_array {
                    self.boxed.insert(key);
                }
            }
        }
    }

    pub(super) fn stmt(&mut self, s: &Statement) {
        match s {
            Statement::Compound(items) => {
                self.scopes.push(Vec::new());
                for it in items {
                    match &it.node {
                        BlockItem::Declaration(d) => self.decl(&d.node),
                        BlockItem::Statement(s) => self.stmt(&s.node),
                        BlockItem::StaticAssert(_) => {}
                    }
                }
                self.scopes.pop();
            }
            Statement::Expression(Some(e)) => self.expr(e),
            Statement::If(i) => {
                self.expr(&i.node.condition);
                self.stmt(&i.node.then_statement.node);
                if let Some(e) = &i.node.else_statement {
                    self.stmt(&e.node);
                }
            }
            Statement::Switch(sw) => {
                self.expr(&sw.node.expression);
                self.stmt(&sw.node.statement.node);
            }
            Statement::While(w) => {
                self.expr(&w.node.expression);
                self.stmt(&w.node.statement.node);
            }
            Statement::DoWhile(d) => {
                self.stmt(&d.node.statement.node);
                self.expr(&d.node.expression);
            }
            Statement::For(f) => {
                self.scopes.push(Vec::new());
                match &f.node.initializer.node {
                    ForInitializer::Expression(e) => self.expr(e),
                    ForInitializer::Declaration(d) => self.decl(&d.node),
                    _ => {}
                }
                if let Some(c) = &f.node.condition {
                    self.expr(c);
                }
                if let Some(c) = &f.node.step {
                    self.expr(c);
                }
                self.stmt(&f.node.statement.node);
                self.scopes.pop();
            }
            Statement::Labeled(l) => self.stmt(&l.node.statement.node),
            Statement::Return(Some(e)) => {
                self.escape(e);
                self.expr(e)
            }
            _ => {}
        }
    }
}
