//! Update points: which locals a record holds (liveness), the save block that pushes a record
//! and returns a dummy value, the restore block the rebuild dispatch jumps to.

use std::collections::HashMap;
use std::fmt::Write;

use lang_c::ast::*;
use lang_c::span::{Node, Span};

use super::*;

impl FnRewriter<'_> {
    /// The locals a record at source offset `at` must hold: those in scope that may still be
    /// read. A local is dead at `at` when no reference to it follows `at` and no loop around
    /// `at` that was entered with the local already declared refers to it (only a loop's back
    /// edge can bring control back before `at`; goto labels and setjmp turn this off).
    pub(super) fn point_vars(&self, at: usize) -> Vec<Var> {
        self.scopes
            .iter()
            .flatten()
            .filter(|v| v.saved && self.live(v, at))
            .cloned()
            .collect()
    }

    pub(super) fn live(&self, v: &Var, at: usize) -> bool {
        if let (Some(end), true) = (v.live_until, self.liveness) {
            return at <= end;
        }
        let (Some(decl), true) = (v.decl, self.liveness) else {
            return true;
        };
        let Some(refs) = self.refs.get(&decl) else {
            return false;
        };
        refs.iter().any(|&r| r >= at)
            || self.back_edges.iter().any(|&(to, from)| {
                to <= at && at <= from && decl < to && refs.iter().any(|&r| r >= to && r <= from)
            })
            || self.loop_spans.iter().any(|&(start, body, end)| {
                decl < body && refs.iter().any(|&r| r >= start && r < end)
            })
    }

    pub(super) fn record_struct(vars: &[Var]) -> String {
        let mut s = String::from("struct __us_r { char __us_hdr;");
        for v in vars {
            let _ = write!(s, " __typeof__({0}) {0};", v.c);
        }
        s.push_str(" }");
        s
    }

    /// The cold block that saves the frame at point `k` and returns a dummy value.
    pub(super) fn save_block(&mut self, k: u32, key: &str, line: u32, vars: &[Var]) -> String {
        let rs = Self::record_struct(vars);
        let mut s = String::new();
        let _ = write!(s, "{{ {rs}; struct __us_r *__us_rp = (struct __us_r *)__us_save(&__us_fd, {k}, sizeof(struct __us_r), __alignof__(struct __us_r));");
        for v in vars {
            let _ = write!(
                s,
                " __builtin_memcpy((void *)&__us_rp->{0}, (const void *)&{0}, sizeof __us_rp->{0});",
                v.c
            );
        }
        let locals: Vec<(String, String, u64)> = vars
            .iter()
            .map(|v| (v.src.trim().to_string(), v.ty.clone(), v.flags))
            .map(|(n, t, f)| (n, t, f))
            .collect();
        let names: Vec<(String, String, String, u64)> = vars
            .iter()
            .zip(locals)
            .map(|(v, (n, t, f))| {
                (
                    v.c.clone(),
                    if n.starts_with("param ") {
                        n[6..].to_string()
                    } else {
                        n
                    },
                    t,
                    f,
                )
            })
            .collect();
        s.push('\n');
        s.push_str(&meta_emit::point_entry(
            &self.fname,
            key,
            self.source_name,
            k,
            line,
            &names,
        ));
        if self.ret_void {
            s.push_str(" return; }");
        } else {
            s.push_str(" { __us_ret_t __us_z; __builtin_memset((void *)&__us_z, 0, sizeof __us_z); return __us_z; } }");
        }
        s
    }

    /// The block the rebuild dispatch jumps to for point `k`: restores the locals in scope.
    pub(super) fn restore_block(&self, k: u32, vars: &[Var]) -> String {
        let rs = Self::record_struct(vars);
        let mut s = format!("if (0) {{ __us_L{k}: ; {{ {rs}; struct __us_r *__us_rp = (struct __us_r *)__us_record();");
        for v in vars {
            let _ = write!(
                s,
                " __builtin_memcpy((void *)&{0}, (const void *)&__us_rp->{0}, sizeof __us_rp->{0});",
                v.c
            );
        }
        // Re-arm the setjmp sites whose buffer can be named here, so that a later longjmp lands
        // in this rebuilt frame.
        for site in &self.sj_sites {
            if site
                .reads
                .iter()
                .all(|r| self.scopes.iter().flatten().any(|v| &v.c == r))
            {
                let _ = write!(
                    s,
                    " if (__us_sjf{0} && (__us_sjv{0} = {1}({2})) != 0) goto __us_SJ{0};",
                    site.id, site.callee, site.args
                );
            }
        }
        s.push_str(" } }\n");
        s
    }

    pub(super) fn new_point(&mut self) -> u32 {
        let k = self.npoints;
        self.npoints += 1;
        self.dispatch.push(k);
        k
    }

    /// An update point in a loop body or after a label: check, save, and the restore label.
    pub(super) fn loop_point(&mut self, out: &mut String, line: u32, at: usize) {
        if self.in_stmt_expr > 0 {
            return;
        }
        self.loops += 1;
        let key = format!("loop#{}", self.loops);
        let k = self.new_point();
        let vars = self.point_vars(at);
        let save = self.save_block(k, &key, line, &vars);
        let _ = writeln!(
            out,
            "if (__builtin_expect(__us_pending, 0) && __us_point(&__us_fd, {k})) {save}"
        );
        out.push_str(&self.restore_block(k, &vars));
    }

    /// A call that may unwind, as its own statement: restore label, call, unwind check.
    pub(super) fn call_point(
        &mut self,
        out: &mut String,
        call: &str,
        result: Option<&str>,
        callee: &str,
        span: &Span,
    ) {
        if self.in_stmt_expr > 0 {
            self.error(span, format!("a call that may reach an update point (`{callee}`) inside a statement expression is not supported"), Some("move the call out of the `({ ... })` expression"));
            return;
        }
        let n = self.calls.entry(callee.to_string()).or_insert(0);
        *n += 1;
        let key = format!("call:{callee}#{n}");
        let k = self.new_point();
        let vars = self.point_vars(self.stmt_start.min(span.start));
        out.push_str(&self.restore_block(k, &vars));
        match result {
            Some(r) => out.push_str(&assign_temp(r, call)),
            None => {
                let _ = writeln!(out, "{call};");
            }
        }
        let line = self.line_of(span);
        let save = self.save_block(k, &key, line, &vars);
        let _ = writeln!(out, "if (__builtin_expect(__us_unwinding, 0)) {save}");
    }

    // ----- statements ---------------------------------------------------------------------
}

/// The backward jumps of a function body that are not loops (see `FnRewriter::back_edges`).
pub(super) fn back_edges(body: &Node<Statement>, end: usize) -> Vec<(usize, usize)> {
    fn walk(
        s: &Node<Statement>,
        labels: &mut HashMap<String, usize>,
        gotos: &mut Vec<(String, usize)>,
        starts: &mut Vec<usize>,
    ) {
        starts.push(s.span.start);
        match &s.node {
            Statement::Labeled(l) => {
                if let Label::Identifier(id) = &l.node.label.node {
                    labels.insert(id.node.name.clone(), s.span.start);
                }
                walk(&l.node.statement, labels, gotos, starts);
            }
            Statement::Goto(l) => gotos.push((l.node.name.clone(), s.span.end)),
            Statement::Compound(items) => {
                for i in items {
                    match &i.node {
                        BlockItem::Statement(s) => walk(s, labels, gotos, starts),
                        _ => starts.push(i.span.start),
                    }
                }
            }
            Statement::If(i) => {
                walk(&i.node.then_statement, labels, gotos, starts);
                if let Some(e) = &i.node.else_statement {
                    walk(e, labels, gotos, starts);
                }
            }
            Statement::Switch(sw) => walk(&sw.node.statement, labels, gotos, starts),
            Statement::While(w) => walk(&w.node.statement, labels, gotos, starts),
            Statement::DoWhile(d) => walk(&d.node.statement, labels, gotos, starts),
            Statement::For(f) => walk(&f.node.statement, labels, gotos, starts),
            _ => {}
        }
    }
    let mut labels = HashMap::new();
    let mut gotos = Vec::new();
    let mut starts = Vec::new();
    walk(body, &mut labels, &mut gotos, &mut starts);
    starts.sort_unstable();
    let mut edges: Vec<(usize, usize)> = gotos
        .iter()
        .filter_map(|(name, at)| labels.get(name).filter(|&&l| l < *at).map(|&l| (l, *at)))
        .collect();
    walk_stmt_exprs(body, &mut |x| {
        if let Expression::Call(c) = &x.node {
            if let Expression::Identifier(id) = &c.node.callee.node {
                if analysis::SETJMP_NAMES.contains(&id.node.name.as_str()) {
                    // A longjmp resumes the statement holding the site, parts of which may
                    // stand before the call in the text.
                    let at = x.span.start;
                    let stmt = starts
                        .iter()
                        .rev()
                        .find(|&&s| s <= at)
                        .copied()
                        .unwrap_or(at);
                    edges.push((stmt, end));
                }
            }
        }
    });
    edges
}
