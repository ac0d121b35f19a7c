//! Whole-unit facts the instrumenter needs: which calls may unwind, which functions need points.
//!
//! Instrumentation is per translation unit, with conservative assumptions across units:
//! - a function defined here may unwind when it has a loop, a goto label (a loop made of gotos),
//!   lies on a recursive cycle of this unit's call graph, or calls something that may unwind;
//! - a call through a pointer, or to a function declared in a user file but defined elsewhere
//!   (or not declared at all), may unwind; such a call also gives its caller an entry point,
//!   because the cycle it may close (recursion across units) is invisible here;
//! - a function declared only in system headers is a library function: it never unwinds (a
//!   callback it makes into instrumented code is a frame the runtime refuses to unwind);
//! - the `setjmp` family is handled apart (its call sites are re-armed on rebuild);
//! - a call to a blocking libc function (blocking.rs) that a system header declares and the
//!   unit does not define may unwind (the runtime's wrapper returns when an update is pending),
//!   without an entry point (libc closes no recursive cycle).
//! This module computes facts only; it does not print or rewrite anything.

use std::collections::{HashMap, HashSet};

use lang_c::ast::*;
use lang_c::span::{Node, Span};
use lang_c::visit::{self, Visit};

use super::blocking::{self, Route};
use super::counted::{counted_for, counted_while, NameKind};
use super::lines::LineMap;

/// How a call behaves with respect to unwinding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// The callee may reach an update point: the call is a point of its own.
    Unwinds,
    /// A library or leaf call: nothing to do.
    Plain,
    /// `setjmp` and friends: the site is recorded and re-armed on rebuild.
    Setjmp,
}

/// Names of the `setjmp` family as glibc's headers spell them after preprocessing.
pub const SETJMP_NAMES: &[&str] = &["setjmp", "_setjmp", "sigsetjmp", "__sigsetjmp"];

/// What one function definition does, before the fixpoint.
#[derive(Debug, Default)]
struct FnFacts {
    callees: HashSet<String>,
    /// Callees called outside statement expressions (where a call can be a call point).
    point_callees: HashSet<String>,
    loops: bool,
    unknown_call: bool,
}

/// Facts about one translation unit.
#[derive(Debug, Default)]
pub struct UnitFacts {
    /// Functions defined in user files of this unit.
    defined: HashSet<String>,
    /// Function or object names declared in user files.
    user_declared: HashSet<String>,
    /// Function names declared in system headers.
    system_declared: HashSet<String>,
    /// Typedef names whose type is an array (so a local of that type decays like an array).
    pub array_typedefs: HashSet<String>,
    may_unwind: HashSet<String>,
    entry_point: HashSet<String>,
}

impl UnitFacts {
    pub fn analyse(unit: &TranslationUnit, lines: &LineMap) -> UnitFacts {
        let mut facts = UnitFacts::default();
        let mut per_fn: HashMap<String, FnFacts> = HashMap::new();
        for ext in &unit.0 {
            let system = lines.origin(ext.span.start).system;
            match &ext.node {
                ExternalDeclaration::Declaration(d) => {
                    let is_typedef = d.node.specifiers.iter().any(|s| {
                        matches!(&s.node, DeclarationSpecifier::StorageClass(c) if c.node == StorageClassSpecifier::Typedef)
                    });
                    for init in &d.node.declarators {
                        let Some(name) = declarator_name(&init.node.declarator.node) else {
                            continue;
                        };
                        if is_typedef {
                            if is_array_declarator(&init.node.declarator.node) {
                                facts.array_typedefs.insert(name.to_string());
                            }
                        } else if !system {
                            facts.user_declared.insert(name.to_string());
                        } else if is_function_declarator(&init.node.declarator.node) {
                            facts.system_declared.insert(name.to_string());
                        }
                    }
                }
                ExternalDeclaration::FunctionDefinition(f) => {
                    if system {
                        continue;
                    }
                    let Some(name) = declarator_name(&f.node.declarator.node) else {
                        continue;
                    };
                    facts.defined.insert(name.to_string());
                    facts.user_declared.insert(name.to_string());
                    let mut c = FnCollector::default();
                    for p in params_of(&f.node.declarator.node) {
                        c.locals.insert(p);
                    }
                    c.visit_statement(&f.node.statement.node, &f.node.statement.span);
                    let mut names = NameFacts {
                        autos: params_of(&f.node.declarator.node).into_iter().collect(),
                        ..NameFacts::default()
                    };
                    names.visit_statement(&f.node.statement.node, &f.node.statement.span);
                    let mut ff = FnFacts {
                        loops: c.labels
                            || uncounted_loop(&f.node.statement, &names, &facts.array_typedefs),
                        ..FnFacts::default()
                    };
                    ff.point_callees = c
                        .point_callees
                        .into_iter()
                        .filter(|n| !c.locals.contains(n))
                        .collect();
                    for callee in c.callees {
                        if c.locals.contains(&callee) {
                            ff.unknown_call = true;
                        } else {
                            ff.callees.insert(callee);
                        }
                    }
                    ff.unknown_call |= c.indirect;
                    per_fn.insert(name.to_string(), ff);
                }
                ExternalDeclaration::StaticAssert(_) => {}
            }
        }
        // Calls to functions not defined here but declared in user files (or never declared) are
        // unknown calls: they may unwind, and may close a recursive cycle across units.
        for ff in per_fn.values_mut() {
            let unknown: Vec<String> = ff
                .callees
                .iter()
                .filter(|c| !facts.defined.contains(*c) && facts.user_declared.contains(*c))
                .cloned()
                .collect();
            if !unknown.is_empty() {
                ff.unknown_call = true;
            }
        }
        for (name, ff) in &per_fn {
            if ff.unknown_call || reaches(&per_fn, name, name) {
                facts.entry_point.insert(name.clone());
            }
        }
        for (name, ff) in &per_fn {
            let blocks = ff
                .point_callees
                .iter()
                .any(|c| facts.route(c) == Some(Route::Blocking));
            if ff.loops || blocks || facts.entry_point.contains(name) {
                facts.may_unwind.insert(name.clone());
            }
        }
        loop {
            let mut changed = false;
            for (name, ff) in &per_fn {
                if !facts.may_unwind.contains(name)
                    && ff.callees.iter().any(|c| facts.may_unwind.contains(c))
                {
                    facts.may_unwind.insert(name.clone());
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        facts
    }

    /// Classifies a direct call of `name` (not shadowed by a local).
    pub fn call_kind(&self, name: &str) -> CallKind {
        if SETJMP_NAMES.contains(&name) {
            return CallKind::Setjmp;
        }
        if self.defined.contains(name) {
            return if self.may_unwind.contains(name) {
                CallKind::Unwinds
            } else {
                CallKind::Plain
            };
        }
        if self.route(name) == Some(Route::Blocking) {
            return CallKind::Unwinds;
        }
        if self.user_declared.contains(name) {
            return CallKind::Unwinds;
        }
        CallKind::Plain
    }

    /// How a direct call of `name` is routed to the runtime's wrappers (blocking.rs): only a
    /// name that a system header declares and this unit does not define.
    pub fn route(&self, name: &str) -> Option<Route> {
        blocking::route_of(name)
            .filter(|_| !self.defined.contains(name) && self.system_declared.contains(name))
    }

    /// The allocation tracking wrapper that references to `name` go to (alloc.rs): only for a
    /// name that a system header declares and this unit does not define.
    pub fn alloc_rename(&self, name: &str) -> Option<String> {
        if self.defined.contains(name) || !self.system_declared.contains(name) {
            return None;
        }
        super::alloc::wrapper_of(name)
    }

    /// Whether the function defined here under `name` needs update points at all.
    pub fn instrumented(&self, name: &str) -> bool {
        self.may_unwind.contains(name)
    }

    /// Whether the function's entry is an update point.
    pub fn entry_point(&self, name: &str) -> bool {
        self.entry_point.contains(name)
    }
}

/// Is `to` reachable from `from` through calls between functions of this unit?
fn reaches(per_fn: &HashMap<String, FnFacts>, from: &str, to: &str) -> bool {
    let mut seen = HashSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(f) = stack.pop() {
        let Some(ff) = per_fn.get(&f) else { continue };
        for c in &ff.callees {
            if c == to {
                return true;
            }
            if per_fn.contains_key(c) && seen.insert(c.clone()) {
                stack.push(c.clone());
            }
        }
    }
    false
}

/// Collects calls, goto labels and local names of one function body.
#[derive(Default)]
struct FnCollector {
    callees: Vec<String>,
    point_callees: Vec<String>,
    /// Depth of statement expressions around the current node.
    stmt_expr: u32,
    locals: HashSet<String>,
    indirect: bool,
    labels: bool,
}

impl<'ast> Visit<'ast> for FnCollector {
    fn visit_call_expression(&mut self, call: &'ast CallExpression, span: &'ast Span) {
        match &call.callee.node {
            Expression::Identifier(id) => {
                self.callees.push(id.node.name.clone());
                if self.stmt_expr == 0 {
                    self.point_callees.push(id.node.name.clone());
                }
            }
            _ => self.indirect = true,
        }
        visit::visit_call_expression(self, call, span);
    }
    fn visit_expression(&mut self, e: &'ast Expression, span: &'ast Span) {
        let inner = matches!(e, Expression::Statement(_)) as u32;
        self.stmt_expr += inner;
        visit::visit_expression(self, e, span);
        self.stmt_expr -= inner;
    }
    fn visit_statement(&mut self, s: &'ast Statement, span: &'ast Span) {
        if let Statement::Labeled(l) = s {
            // A label may head a loop made of gotos.
            self.labels |= matches!(l.node.label.node, Label::Identifier(_));
        }
        visit::visit_statement(self, s, span);
    }
    fn visit_init_declarator(&mut self, d: &'ast InitDeclarator, span: &'ast Span) {
        if let Some(n) = declarator_name(&d.declarator.node) {
            self.locals.insert(n.to_string());
        }
        visit::visit_init_declarator(self, d, span);
    }
    fn visit_sizeofval(&mut self, _s: &'ast SizeOfVal, _span: &'ast Span) {}
}

/// The identifier a declarator declares, if any.
pub fn declarator_name(d: &Declarator) -> Option<&str> {
    match &d.kind.node {
        DeclaratorKind::Identifier(id) => Some(&id.node.name),
        DeclaratorKind::Declarator(inner) => declarator_name(&inner.node),
        DeclaratorKind::Abstract => None,
    }
}

/// The identifier node a declarator declares, if any.
pub fn declarator_ident(d: &Declarator) -> Option<&Node<Identifier>> {
    match &d.kind.node {
        DeclaratorKind::Identifier(id) => Some(id),
        DeclaratorKind::Declarator(inner) => declarator_ident(&inner.node),
        DeclaratorKind::Abstract => None,
    }
}

/// The derivation that applies first to the declared name (lang-c lists a level's pointers
/// first, then its suffixes in textual order; suffixes bind tighter, and an inner parenthesised
/// declarator binds tighter still). Returns the node and whether it is the innermost level's.
pub fn innermost_derivation(d: &Declarator) -> Option<&Node<DerivedDeclarator>> {
    if let DeclaratorKind::Declarator(inner) = &d.kind.node {
        if let Some(x) = innermost_derivation(&inner.node) {
            return Some(x);
        }
    }
    d.derived
        .iter()
        .find(|x| {
            !matches!(
                x.node,
                DerivedDeclarator::Pointer(_) | DerivedDeclarator::Block(_)
            )
        })
        .or_else(|| d.derived.last())
}

/// Whether the declared object itself is an array (not a pointer to one).
pub fn is_array_declarator(d: &Declarator) -> bool {
    matches!(
        innermost_derivation(d).map(|x| &x.node),
        Some(DerivedDeclarator::Array(_))
    )
}

/// Whether the declarator declares a function (a prototype, not an object).
pub fn is_function_declarator(d: &Declarator) -> bool {
    matches!(
        innermost_derivation(d).map(|x| &x.node),
        Some(DerivedDeclarator::Function(_)) | Some(DerivedDeclarator::KRFunction(_))
    )
}

/// Names of the parameters of a function declarator.
pub fn params_of(d: &Declarator) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(Node {
        node: DerivedDeclarator::Function(f),
        ..
    }) = innermost_derivation(d)
    {
        for p in &f.node.parameters {
            if let Some(n) = p
                .node
                .declarator
                .as_ref()
                .and_then(|d| declarator_name(&d.node))
            {
                out.push(n.to_string());
            }
        }
    }
    out
}

/// What the names of one function body are, for `counted_for` (see counted.rs): conservative,
/// so that a loop the analysis calls counted is counted for the rewriter too.
#[derive(Default)]
struct NameFacts {
    /// Automatic locals and parameters.
    autos: HashSet<String>,
    statics: HashSet<String>,
    /// Names under `&` anywhere, and arrays (which decay to pointers).
    addressed: HashSet<String>,
    /// Locals declared with a typedef name (an array typedef makes them arrays).
    typedefed: Vec<(String, String)>,
}

impl NameFacts {
    fn kind(&self, name: &str, array_typedefs: &HashSet<String>) -> NameKind {
        let array = self
            .typedefed
            .iter()
            .any(|(n, t)| n == name && array_typedefs.contains(t));
        if self.addressed.contains(name)
            || array
            || (self.statics.contains(name) && self.autos.contains(name))
        {
            NameKind::Addressed
        } else if self.autos.contains(name) {
            NameKind::PlainLocal
        } else {
            NameKind::NonLocal
        }
    }
}

impl<'ast> Visit<'ast> for NameFacts {
    fn visit_declaration(&mut self, d: &'ast Declaration, span: &'ast Span) {
        let is_static = d.specifiers.iter().any(|s| {
            matches!(&s.node, DeclarationSpecifier::StorageClass(c)
                if matches!(c.node, StorageClassSpecifier::Static | StorageClassSpecifier::Extern | StorageClassSpecifier::ThreadLocal))
        });
        let typedef_name = d.specifiers.iter().find_map(|s| match &s.node {
            DeclarationSpecifier::TypeSpecifier(t) => match &t.node {
                TypeSpecifier::TypedefName(n) => Some(n.node.name.clone()),
                _ => None,
            },
            _ => None,
        });
        for i in &d.declarators {
            let Some(n) = declarator_name(&i.node.declarator.node) else {
                continue;
            };
            if is_static {
                self.statics.insert(n.to_string());
            } else {
                self.autos.insert(n.to_string());
            }
            if is_array_declarator(&i.node.declarator.node) {
                self.addressed.insert(n.to_string());
            }
            if let Some(t) = &typedef_name {
                self.typedefed.push((n.to_string(), t.clone()));
            }
        }
        visit::visit_declaration(self, d, span);
    }
    fn visit_unary_operator_expression(
        &mut self,
        u: &'ast UnaryOperatorExpression,
        span: &'ast Span,
    ) {
        if u.operator.node == UnaryOperator::Address {
            let mut e = &u.operand.node;
            loop {
                match e {
                    Expression::Identifier(id) => {
                        self.addressed.insert(id.node.name.clone());
                        break;
                    }
                    Expression::Member(m) => e = &m.node.expression.node,
                    Expression::BinaryOperator(b) => e = &b.node.lhs.node,
                    _ => break,
                }
            }
        }
        visit::visit_unary_operator_expression(self, u, span);
    }
}

/// Whether the body has a loop that needs a point (any loop but a counted one).
fn uncounted_loop(
    s: &Node<Statement>,
    names: &NameFacts,
    array_typedefs: &HashSet<String>,
) -> bool {
    let kind = |n: &str| names.kind(n, array_typedefs);
    let sub = |x: &Node<Statement>| uncounted_loop(x, names, array_typedefs);
    match &s.node {
        Statement::DoWhile(_) => true,
        Statement::While(w) => !counted_while(&w.node, &kind) || sub(&w.node.statement),
        Statement::For(f) => !counted_for(&f.node, &kind) || sub(&f.node.statement),
        Statement::Labeled(l) => sub(&l.node.statement),
        Statement::Compound(items) => items
            .iter()
            .any(|i| matches!(&i.node, BlockItem::Statement(x) if sub(x))),
        Statement::If(i) => {
            sub(&i.node.then_statement) || i.node.else_statement.as_ref().is_some_and(|e| sub(e))
        }
        Statement::Switch(sw) => sub(&sw.node.statement),
        // Loops inside statement expressions get no points: they do not count here either.
        _ => false,
    }
}
