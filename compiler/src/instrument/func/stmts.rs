//! Statements in normal form: loops get their points, conditions and steps that hold calls
//! that may unwind move into the loop body, returns pop the side stack.

use std::fmt::Write;

use lang_c::ast::*;
use lang_c::span::Node;

use super::*;

impl FnRewriter<'_> {
    pub(super) fn block_item(&mut self, item: &Node<BlockItem>, out: &mut String) {
        match &item.node {
            BlockItem::Declaration(d) => {
                out.push_str(&self.marker(&item.span));
                let outer = std::mem::replace(&mut self.stmt_start, item.span.start);
                let outer_end = std::mem::replace(&mut self.stmt_end, item.span.end);
                self.declaration(d, out);
                self.stmt_start = outer;
                self.stmt_end = outer_end;
            }
            BlockItem::StaticAssert(_) => {
                out.push_str(self.text(&item.span));
                out.push('\n');
            }
            BlockItem::Statement(s) => self.stmt(s, out),
        }
    }

    pub(super) fn compound(
        &mut self,
        items: &[Node<BlockItem>],
        out: &mut String,
        top: Option<&mut dyn FnMut(&mut Self, &mut String)>,
    ) {
        out.push_str("{\n");
        self.scopes.push(Vec::new());
        if let Some(f) = top {
            f(self, out);
        }
        for item in items {
            self.block_item(item, out);
        }
        self.scopes.pop();
        out.push_str("}\n");
    }

    /// Prints a statement as a block, with an optional update point at its top.
    pub(super) fn body(&mut self, s: &Node<Statement>, out: &mut String, point: bool) {
        let line = self.line_of(&s.span);
        let at = s.span.start;
        let mut pt = |me: &mut Self, o: &mut String| {
            if point {
                me.loop_point(o, line, at);
            }
        };
        match &s.node {
            Statement::Compound(items) => self.compound(items, out, Some(&mut pt)),
            _ => {
                out.push_str("{\n");
                self.scopes.push(Vec::new());
                pt(self, out);
                self.stmt(s, out);
                self.scopes.pop();
                out.push_str("}\n");
            }
        }
    }

    pub(super) fn stmt(&mut self, s: &Node<Statement>, out: &mut String) {
        let outer = std::mem::replace(&mut self.stmt_start, s.span.start);
        let outer_end = std::mem::replace(&mut self.stmt_end, s.span.end);
        self.stmt_inner(s, out);
        self.stmt_start = outer;
        self.stmt_end = outer_end;
    }

    pub(super) fn stmt_inner(&mut self, s: &Node<Statement>, out: &mut String) {
        out.push_str(&self.marker(&s.span));
        match &s.node {
            Statement::Compound(items) => self.compound(items, out, None),
            Statement::Expression(None) => out.push_str(";\n"),
            Statement::Expression(Some(e)) => {
                if self.has_uc(e) {
                    out.push_str("{\n");
                    self.scopes.push(Vec::new());
                    let r = self.lower(e, false, out);
                    if !r.is_empty() {
                        let _ = writeln!(out, "{r};");
                    }
                    self.scopes.pop();
                    out.push_str("}\n");
                } else {
                    let t = self.expr(e);
                    let _ = writeln!(out, "{t};");
                }
            }
            Statement::If(i) => {
                out.push_str("{\n");
                self.scopes.push(Vec::new());
                let c = self.cond(&i.node.condition, out);
                let _ = write!(out, "if ({c}) ");
                self.body(&i.node.then_statement, out, false);
                if let Some(e) = &i.node.else_statement {
                    out.push_str("else ");
                    self.body(e, out, false);
                }
                self.scopes.pop();
                out.push_str("}\n");
            }
            Statement::Switch(sw) => {
                out.push_str("{\n");
                self.scopes.push(Vec::new());
                let c = self.cond(&sw.node.expression, out);
                let _ = write!(out, "switch ({c}) ");
                self.cont_passthrough(|me| me.body(&sw.node.statement, out, false));
                self.scopes.pop();
                out.push_str("}\n");
            }
            Statement::While(w) => {
                self.loop_spans
                    .push((s.span.start, w.node.statement.span.start, s.span.end));
                let line = self.line_of(&s.span);
                if self.has_uc(&w.node.expression) {
                    out.push_str("for (;;) {\n");
                    self.scopes.push(Vec::new());
                    self.loop_point(out, line, s.span.start);
                    out.push_str("{\n");
                    self.scopes.push(Vec::new());
                    let c = self.lower(&w.node.expression, true, out);
                    let _ = writeln!(out, "if (!({c})) break;");
                    self.scopes.pop();
                    out.push_str("}\n");
                    self.cont.push(None);
                    self.body(&w.node.statement, out, false);
                    self.cont.pop();
                    self.scopes.pop();
                    out.push_str("}\n");
                } else {
                    let c = self.expr(&w.node.expression);
                    let _ = write!(out, "while ({c}) ");
                    let point = !self.counted_while(&w.node);
                    if !point {
                        // Keep loop numbers stable: a loop without a point still has its number.
                        self.loops += 1;
                    }
                    self.cont.push(None);
                    self.body(&w.node.statement, out, point);
                    self.cont.pop();
                }
                self.loop_spans.pop();
            }
            Statement::DoWhile(d) => {
                self.loop_spans
                    .push((s.span.start, d.node.statement.span.start, s.span.end));
                let line = self.line_of(&s.span);
                if self.has_uc(&d.node.expression) {
                    self.tmp += 1;
                    let lbl = format!("__us_C{}", self.tmp);
                    out.push_str("for (;;) {\n");
                    self.scopes.push(Vec::new());
                    self.loop_point(out, line, s.span.start);
                    self.cont.push(Some(lbl.clone()));
                    self.body(&d.node.statement, out, false);
                    self.cont.pop();
                    let _ = writeln!(out, "{lbl}: ;");
                    out.push_str("{\n");
                    self.scopes.push(Vec::new());
                    let c = self.lower(&d.node.expression, true, out);
                    let _ = writeln!(out, "if (!({c})) break;");
                    self.scopes.pop();
                    out.push_str("}\n");
                    self.scopes.pop();
                    out.push_str("}\n");
                } else {
                    out.push_str("do ");
                    self.cont.push(None);
                    self.body(&d.node.statement, out, true);
                    self.cont.pop();
                    let c = self.expr(&d.node.expression);
                    let _ = writeln!(out, "while ({c});");
                }
                self.loop_spans.pop();
            }
            Statement::For(f) => {
                self.loop_spans
                    .push((s.span.start, f.node.statement.span.start, s.span.end));
                self.for_stmt(f, s, out);
                self.loop_spans.pop();
            }
            Statement::Goto(l) => {
                let _ = writeln!(out, "goto {};", l.node.name);
            }
            Statement::Continue => match self.cont.last() {
                Some(Some(l)) => {
                    let _ = writeln!(out, "goto {l};");
                }
                _ => out.push_str("continue;\n"),
            },
            Statement::Break => out.push_str("break;\n"),
            Statement::Return(e) => self.return_stmt(e.as_deref(), out),
            Statement::Asm(_) => {
                out.push_str(self.text(&s.span));
                out.push('\n');
            }
            Statement::Labeled(l) => {
                match &l.node.label.node {
                    Label::Identifier(id) => {
                        // A label may be the head of a loop made of gotos: give it a point.
                        let _ = writeln!(out, "{}: ;", id.node.name);
                        let line = self.line_of(&s.span);
                        out.push_str("{\n");
                        self.loop_point(out, line, s.span.start);
                        out.push_str("}\n");
                    }
                    Label::Case(e) => {
                        let t = self.expr(e);
                        let _ = writeln!(out, "case {t}: ;");
                    }
                    Label::CaseRange(r) => {
                        let lo = self.expr(&r.node.low);
                        let hi = self.expr(&r.node.high);
                        let _ = writeln!(out, "case {lo} ... {hi}: ;");
                    }
                    Label::Default => out.push_str("default: ;\n"),
                }
                self.stmt(&l.node.statement, out);
            }
        }
    }

    /// Runs `f` with `continue` targets unchanged (a `switch` does not capture continue).
    pub(super) fn cont_passthrough(&mut self, f: impl FnOnce(&mut Self)) {
        f(self)
    }

    /// A condition: lowered into `out` when it holds calls that may unwind.
    pub(super) fn cond(&mut self, e: &Node<Expression>, out: &mut String) -> String {
        if self.has_uc(e) {
            self.lower(e, true, out)
        } else {
            self.expr(e)
        }
    }

    pub(super) fn for_stmt(
        &mut self,
        f: &Node<ForStatement>,
        s: &Node<Statement>,
        out: &mut String,
    ) {
        let line = self.line_of(&s.span);
        let f = &f.node;
        out.push_str("{\n");
        self.scopes.push(Vec::new());
        let mut init_text = String::new();
        match &f.initializer.node {
            ForInitializer::Empty => {}
            ForInitializer::Expression(e) => {
                if self.has_uc(e) {
                    let r = self.lower(e, false, out);
                    if !r.is_empty() {
                        let _ = writeln!(out, "{r};");
                    }
                } else {
                    init_text = self.expr(e);
                }
            }
            ForInitializer::Declaration(d) => self.declaration(d, out),
            ForInitializer::StaticAssert(_) => {}
        }
        let cond_uc = f.condition.as_ref().is_some_and(|c| self.has_uc(c));
        let step_uc = f.step.as_ref().is_some_and(|c| self.has_uc(c));
        if !cond_uc && !step_uc {
            let c = f
                .condition
                .as_ref()
                .map(|c| self.expr(c))
                .unwrap_or_default();
            let st = f.step.as_ref().map(|c| self.expr(c)).unwrap_or_default();
            let _ = write!(out, "for ({init_text}; {c}; {st}) ");
            let point = !self.counted_loop(f);
            if !point {
                // Keep loop numbers stable: a loop without a point still has its number.
                self.loops += 1;
            }
            self.cont.push(None);
            self.body(&f.statement, out, point);
            self.cont.pop();
        } else {
            if !init_text.is_empty() {
                let _ = writeln!(out, "{init_text};");
            }
            self.tmp += 1;
            let lbl = format!("__us_C{}", self.tmp);
            out.push_str("for (;;) {\n");
            self.scopes.push(Vec::new());
            self.loop_point(out, line, s.span.start);
            if let Some(c) = &f.condition {
                out.push_str("{\n");
                self.scopes.push(Vec::new());
                let c = self.cond(c, out);
                let _ = writeln!(out, "if (!({c})) break;");
                self.scopes.pop();
                out.push_str("}\n");
            }
            self.cont.push(Some(lbl.clone()));
            self.body(&f.statement, out, false);
            self.cont.pop();
            let _ = writeln!(out, "{lbl}: ;");
            if let Some(st) = &f.step {
                out.push_str("{\n");
                self.scopes.push(Vec::new());
                if self.has_uc(st) {
                    let r = self.lower(st, false, out);
                    if !r.is_empty() {
                        let _ = writeln!(out, "{r};");
                    }
                } else {
                    let t = self.expr(st);
                    let _ = writeln!(out, "{t};");
                }
                self.scopes.pop();
                out.push_str("}\n");
            }
            self.scopes.pop();
            out.push_str("}\n");
        }
        self.scopes.pop();
        out.push_str("}\n");
    }

    /// What a name in a loop header is here (for `counted`).
    fn name_kind(&self, name: &str) -> NameKind {
        match self.lookup(name) {
            Some(v) if v.boxed => NameKind::Addressed,
            Some(v) if v.saved => NameKind::PlainLocal,
            _ => NameKind::NonLocal,
        }
    }

    /// Whether this `for` loop needs no point of its own (see `counted::counted_for`).
    pub(super) fn counted_loop(&self, f: &ForStatement) -> bool {
        counted::counted_for(f, &|name| self.name_kind(name))
    }

    /// Whether this `while` loop needs no point of its own (see `counted::counted_while`).
    fn counted_while(&self, w: &WhileStatement) -> bool {
        counted::counted_while(w, &|name| self.name_kind(name))
    }

    pub(super) fn return_stmt(&mut self, e: Option<&Node<Expression>>, out: &mut String) {
        let pop = if self.has_boxes {
            "__us_side_top = __us_mark; "
        } else {
            ""
        };
        let Some(e) = e else {
            let _ = writeln!(out, "{{ {pop}return; }}");
            return;
        };
        out.push_str("{\n");
        self.scopes.push(Vec::new());
        let r = if self.has_uc(e) {
            self.lower(e, !self.ret_void, out)
        } else {
            self.expr(e)
        };
        if self.ret_void {
            if !r.is_empty() {
                let _ = writeln!(out, "{r};");
            }
            let _ = writeln!(out, "{pop}return;");
        } else if self.has_boxes {
            let _ = writeln!(out, "__us_ret_t __us_rv = {r}; {pop}return __us_rv;");
        } else {
            let _ = writeln!(out, "return {r};");
        }
        self.scopes.pop();
        out.push_str("}\n");
    }

    // ----- declarations -------------------------------------------------------------------
}
