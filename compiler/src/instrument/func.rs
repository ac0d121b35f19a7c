//! Rewrites one function definition so that its frame can be saved and rebuilt.
//!
//! The function is printed again from the AST (lang-c has no printer) in a normal form:
//! - every expression is fully parenthesised, locals are renamed apart (`x`, `x__1`, ...) so
//!   that a shadowed local can still be saved by name, and address-taken locals and arrays are
//!   replaced by `(*__us_bx_NAME)`, a box on the runtime's side stack;
//! - a call that may unwind stands as its own statement `t = f(args);` followed by the unwind
//!   check; everything evaluated before it in C order is hoisted before it (into temporaries
//!   declared with `__typeof__`/`__auto_type`), `&&`, `||`, `?:` and `,` become statements when
//!   a later operand holds such a call, and `while`/`for`/`do` conditions and steps that hold one
//!   move into the loop body (`continue` then jumps to a label before the step);
//! - arguments of such a call that could fault or have effects are computed into temporaries
//!   before the call's restore label, so re-executing the call on rebuild evaluates nothing new
//!   (the callee ignores its arguments when it rebuilds: it restores its own record);
//! - at the top of every loop body and at every goto label there is an update point; at the
//!   entry there is one when the function is recursive or calls something unknown.
//! Each point saves every local in scope into a record laid out by a block-scope struct of
//! `__typeof__` fields (so gcc computes the layout), and gets a restore block `if (0) { L: ... }`
//! that the entry's rebuild dispatch jumps to. Point metadata is emitted right there, where the
//! record type is in scope, into the `upstare_meta` section (see meta/FORMAT.md).
//! The rewriter does not decide what may unwind (analysis.rs) and does not assemble the unit.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use lang_c::ast::*;
use lang_c::span::{Node, Span};

use super::analysis::{self, CallKind, UnitFacts};
use super::counted::{self, NameKind};
use super::lines::LineMap;
use super::meta_emit::{self, c_string};
use super::walk::{walk_expr, walk_stmt_exprs};
use crate::diag::{CDiagnostic, Severity};

/// Flags of a saved local, as in meta/FORMAT.md.
const F_BOXED: u64 = 1;
const F_TEMP: u64 = 2;
const F_PARAM: u64 = 4;

#[derive(Debug, Clone)]
struct Var {
    /// Name in the source.
    src: String,
    /// Name in the printed C (unique within the function).
    c: String,
    /// Printed as `(*__us_bx_C)`; the saved slot is the box pointer.
    boxed: bool,
    /// Saved in records (false for static locals, typedefs and enum constants).
    saved: bool,
    ty: String,
    flags: u64,
    /// Span start of the declared name (None for compiler-made variables).
    decl: Option<usize>,
    /// For a temporary: the end of the statement it serves, after which it is never read.
    live_until: Option<usize>,
}

/// A `setjmp` call site of the function.
struct SetjmpSite {
    id: usize,
    callee: String,
    args: String,
    /// Locals the buffer expression reads (it is re-evaluated on rebuild).
    reads: Vec<String>,
}

/// The result of rewriting: the new definition text.
pub struct Rewritten {
    pub text: String,
}

pub struct FnRewriter<'a> {
    src: &'a str,
    lines: &'a LineMap,
    facts: &'a UnitFacts,
    source_name: &'a str,
    fname: String,
    diags: &'a mut Vec<CDiagnostic>,
    scopes: Vec<Vec<Var>>,
    used: HashMap<String, u32>,
    /// Declarations (by the span start of their identifier) whose object lives in a box.
    boxed_decls: HashSet<usize>,
    box_slot: HashMap<usize, usize>,
    npoints: u32,
    loops: u32,
    calls: HashMap<String, u32>,
    tmp: u32,
    cont: Vec<Option<String>>,
    sj_sites: Vec<SetjmpSite>,
    dispatch: Vec<u32>,
    ret_void: bool,
    has_boxes: bool,
    /// Inside a statement expression: no points possible there.
    in_stmt_expr: u32,
    /// Source offsets of the references to each local, by the span start of its declared name.
    refs: HashMap<usize, Vec<usize>>,
    /// Loops around the current position: (start, body start, end) source offsets.
    loop_spans: Vec<(usize, usize, usize)>,
    /// Whether dead locals may be left out of records.
    liveness: bool,
    /// Jumps back in the text other than loops: a backward goto (label, goto) and a setjmp site
    /// (site, end of function), where a longjmp may return from anywhere after it.
    back_edges: Vec<(usize, usize)>,
    /// Start of the statement (or declaration) being printed. A call point counts as being
    /// there for liveness: lowering evaluates parts of the statement that stand before the
    /// call in the text (`a[i] = f(x)`) after it.
    stmt_start: usize,
    /// End of that statement.
    stmt_end: usize,
}

impl<'a> FnRewriter<'a> {
    pub fn new(
        src: &'a str,
        lines: &'a LineMap,
        facts: &'a UnitFacts,
        source_name: &'a str,
        diags: &'a mut Vec<CDiagnostic>,
    ) -> Self {
        FnRewriter {
            src,
            lines,
            facts,
            source_name,
            fname: String::new(),
            diags,
            scopes: Vec::new(),
            used: HashMap::new(),
            boxed_decls: HashSet::new(),
            box_slot: HashMap::new(),
            npoints: 0,
            loops: 0,
            calls: HashMap::new(),
            tmp: 0,
            cont: Vec::new(),
            sj_sites: Vec::new(),
            dispatch: Vec::new(),
            ret_void: false,
            has_boxes: false,
            in_stmt_expr: 0,
            refs: HashMap::new(),
            loop_spans: Vec::new(),
            liveness: false,
            back_edges: Vec::new(),
            stmt_start: 0,
            stmt_end: usize::MAX,
        }
    }

    fn text(&self, span: &Span) -> &'a str {
        &self.src[span.start..span.end]
    }

    fn error(&mut self, span: &Span, message: impl Into<String>, help: Option<&str>) {
        let o = self.lines.origin(span.start);
        self.diags.push(CDiagnostic {
            severity: Severity::Error,
            file: o.file.to_string(),
            line: o.line,
            column: o.column,
            message: message.into(),
            help: help.map(str::to_string),
        });
    }

    fn line_of(&self, span: &Span) -> u32 {
        self.lines.origin(span.start).line
    }

    /// A `# LINE "FILE"` marker so that gcc's messages and debug info point at the source.
    fn marker(&self, span: &Span) -> String {
        let o = self.lines.origin(span.start);
        format!("\n# {} {}\n", o.line, c_string(o.file))
    }

    // ----- scopes -------------------------------------------------------------------------

    fn fresh(&mut self, base: &str) -> String {
        let n = self.used.entry(base.to_string()).or_insert(0);
        *n += 1;
        if *n == 1 {
            base.to_string()
        } else {
            format!("{base}__{}", *n - 1)
        }
    }

    fn declare(&mut self, v: Var) {
        self.scopes.last_mut().expect("scope").push(v);
    }

    fn lookup(&self, name: &str) -> Option<&Var> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|v| v.src == name)
    }

    /// The locals a record at source offset `at` must hold: those in scope that may still be
    /// read. A local is dead at `at` when no reference to it follows `at` and no loop around
    /// `at` that was entered with the local already declared refers to it (only a loop's back
    /// edge can bring control back before `at`; goto labels and setjmp turn this off).
    fn point_vars(&self, at: usize) -> Vec<Var> {
        self.scopes
            .iter()
            .flatten()
            .filter(|v| v.saved && self.live(v, at))
            .cloned()
            .collect()
    }

    fn live(&self, v: &Var, at: usize) -> bool {
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

    fn new_temp(&mut self) -> String {
        self.tmp += 1;
        format!("__us_t{}", self.tmp)
    }

    fn declare_temp(&mut self, name: &str, ty: &str) {
        let end = self.stmt_end;
        self.declare(Var {
            src: format!(" {name}"),
            c: name.to_string(),
            boxed: false,
            saved: true,
            ty: ty.to_string(),
            flags: F_TEMP,
            decl: None,
            live_until: Some(end),
        });
    }

    // ----- the definition -------------------------------------------------------------------

    pub fn rewrite(
        mut self,
        def: &Node<FunctionDefinition>,
        rename_main: bool,
    ) -> Option<Rewritten> {
        let f = &def.node;
        let name = analysis::declarator_name(&f.declarator.node)?.to_string();
        self.fname = name.clone();
        if !f.declarations.is_empty() {
            self.error(
                &def.span,
                format!("old-style (K&R) definition of `{name}` cannot be instrumented"),
                Some("write the parameters in a prototype"),
            );
            return None;
        }
        let Some(Node {
            node: DerivedDeclarator::Function(fd),
            span: fd_span,
        }) = analysis::innermost_derivation(&f.declarator.node)
        else {
            return None;
        };
        let ident = analysis::declarator_ident(&f.declarator.node)?;
        let spec_text = self.specifier_text(&f.specifiers, true);

        // Return type: the declarator without the name and the function's own parameter list.
        let dspan = &f.declarator.span;
        let mut ret_decl = String::new();
        let mut pieces = vec![
            (ident.span.start, ident.span.end, "__us_ret_t"),
            (fd_span.start, fd_span.end, ""),
        ];
        pieces.sort();
        let mut pos = dspan.start;
        for (s, e, rep) in pieces {
            ret_decl.push_str(&self.src[pos..s]);
            ret_decl.push_str(rep);
            pos = e;
        }
        ret_decl.push_str(&self.src[pos..dspan.end]);
        let has_void = f.specifiers.iter().any(|s| matches!(&s.node, DeclarationSpecifier::TypeSpecifier(t) if t.node == TypeSpecifier::Void));
        self.ret_void = has_void && ret_decl.trim() == "__us_ret_t";

        // Header: everything up to the body, with `main` renamed.
        let mut header = String::new();
        header.push_str(&self.src[def.span.start..ident.span.start]);
        header.push_str(if rename_main { "__us_main" } else { &name });
        let mut blanks: Vec<Span> = Vec::new();
        for p in &fd.node.parameters {
            if let Some(d) = &p.node.declarator {
                blanks.extend(top_const_spans(&p.node.specifiers, &d.node));
            }
        }
        blanks.sort_by_key(|b| b.start);
        let mut pos = ident.span.end;
        for b in &blanks {
            header.push_str(&self.src[pos..b.start]);
            header.push_str(&" ".repeat(b.end - b.start));
            pos = b.end;
        }
        header.push_str(&self.src[pos..f.statement.span.start]);

        // Pre-pass: which locals live in boxes.
        let mut finder = BoxFinder {
            facts: self.facts,
            scopes: vec![Vec::new()],
            boxed: HashSet::new(),
            order: Vec::new(),
            setjmps: 0,
            refs: HashMap::new(),
        };
        for p in &fd.node.parameters {
            if let Some(d) = &p.node.declarator {
                if let Some(id) = analysis::declarator_ident(&d.node) {
                    finder.scopes[0].push((id.node.name.clone(), id.span.start, false));
                    finder.order.push(id.span.start);
                }
            }
        }
        finder.stmt(&f.statement.node);
        self.boxed_decls = finder.boxed;
        for start in finder.order.iter().filter(|s| self.boxed_decls.contains(s)) {
            let n = self.box_slot.len();
            self.box_slot.insert(*start, n);
        }
        self.has_boxes = !self.box_slot.is_empty();
        // alloca'd memory lives in the C frame, which an unwind discards.
        let mut allocas = Vec::new();
        walk_stmt_exprs(&f.statement, &mut |x| {
            if let Expression::Call(c) = &x.node {
                if let Expression::Identifier(id) = &c.node.callee.node {
                    if matches!(
                        id.node.name.as_str(),
                        "alloca" | "__builtin_alloca" | "__builtin_alloca_with_align"
                    ) {
                        allocas.push(x.span);
                    }
                }
            }
        });
        for span in allocas {
            self.error(
                &span,
                format!("`alloca` in `{name}`, a function with update points, is not supported: its memory would not survive a rebuild"),
                Some("use malloc, or a fixed-size local array"),
            );
        }
        let nsetjmp = finder.setjmps;
        self.liveness = true;
        self.back_edges = back_edges(&f.statement, def.span.end);
        self.refs = std::mem::take(&mut finder.refs);

        // Function-level scope: internal variables, then parameters.
        self.scopes.push(Vec::new());
        if self.has_boxes {
            self.declare(Var {
                src: " mark".into(),
                c: "__us_mark".into(),
                boxed: false,
                saved: true,
                ty: "char *".into(),
                flags: F_TEMP,
                decl: None,
                live_until: None,
            });
            for i in 0..self.box_slot.len() {
                self.declare(Var {
                    src: format!(" bv{i}"),
                    c: format!("__us_bv{i}"),
                    boxed: false,
                    saved: true,
                    ty: "void *".into(),
                    flags: F_TEMP,
                    decl: None,
                    live_until: None,
                });
            }
        }
        for i in 0..nsetjmp {
            for (v, ty) in [("sjf", "int"), ("sjv", "int"), ("sjm", "char *")] {
                self.declare(Var {
                    src: format!(" {v}{i}"),
                    c: format!("__us_{v}{i}"),
                    boxed: false,
                    saved: true,
                    ty: ty.into(),
                    flags: F_TEMP,
                    decl: None,
                    live_until: None,
                });
            }
        }
        let mut params = Vec::new();
        for p in &fd.node.parameters {
            let Some(d) = &p.node.declarator else {
                continue;
            };
            let Some(id) = analysis::declarator_ident(&d.node) else {
                continue;
            };
            let pname = id.node.name.clone();
            let c = self.fresh(&pname);
            let ty = self.type_text(&p.node.specifiers, &d.node, &d.span, id);
            let boxed = self.boxed_decls.contains(&id.span.start);
            params.push((pname.clone(), c.clone(), boxed, id.span.start));
            self.declare(Var {
                src: pname,
                c,
                boxed: false,
                saved: true,
                ty,
                flags: F_PARAM,
                decl: Some(id.span.start),
                live_until: None,
            });
        }

        // The body, printed first: the prologue depends on what it found.
        let body = match &f.statement.node {
            Statement::Compound(items) => items,
            _ => return None,
        };
        let mut body_text = String::new();
        let entry = self.facts.entry_point(&name);
        if entry {
            self.npoints = 1; // point 0
        }
        let entry_save = if entry {
            let vars = self.point_vars(def.span.start);
            Some(self.save_block(0, "entry", self.line_of(&def.span), &vars))
        } else {
            None
        };
        let entry_restore = if entry {
            let vars = self.point_vars(def.span.start);
            Some(self.restore_block(0, &vars))
        } else {
            None
        };
        // Boxed parameters move into their boxes after the entry point.
        let mut param_boxing = String::new();
        for (pname, c, boxed, start) in &params {
            if !*boxed {
                continue;
            }
            let slot = self.box_slot[start];
            let bx = format!("__us_bx_{c}");
            let _ = write!(
                param_boxing,
                "__typeof__({c}) *{bx} = (__typeof__({c}) *)(__us_bv{slot} ? __us_bv{slot} : (__us_bv{slot} = __us_box(sizeof({c}), __alignof__({c})))); __builtin_memcpy((void *){bx}, (const void *)&{c}, sizeof({c}));\n"
            );
            let ty = self.lookup(pname).map(|v| v.ty.clone()).unwrap_or_default();
            self.declare(Var {
                src: pname.clone(),
                c: bx.clone(),
                boxed: true,
                saved: true,
                ty,
                flags: F_BOXED | F_PARAM,
                decl: Some(*start),
                live_until: None,
            });
            if let Some(v) = self
                .scopes
                .last_mut()
                .unwrap()
                .iter_mut()
                .rev()
                .find(|v| v.c == *c)
            {
                v.src = format!(" param {pname}");
            }
        }
        self.scopes.push(Vec::new());
        for item in body {
            self.block_item(item, &mut body_text);
        }
        self.scopes.pop();
        let mut epilogue = String::new();
        if self.has_boxes {
            epilogue.push_str("__us_side_top = __us_mark;\n");
        }
        if rename_main {
            epilogue.push_str("return 0;\n");
        }

        // Prologue.
        let mut out = String::new();
        out.push_str(&header);
        out.push_str("{\n");
        if !self.ret_void {
            let _ = writeln!(out, "typedef {spec_text} {ret_decl};");
        }
        let _ = writeln!(
            out,
            "static const struct __us_fn __us_fd = {{ {}, {}, {} }};",
            c_string(self.source_name),
            c_string(&name),
            self.npoints
        );
        out.push_str(&meta_emit::function_entry(
            self.source_name,
            &name,
            self.npoints,
            self.line_of(&def.span),
            is_static(&f.specifiers),
        ));
        // A longjmp back into this frame restores registers as they were at the setjmp: the
        // runtime's bookkeeping must live in memory.
        let vol = if nsetjmp > 0 { "volatile " } else { "" };
        if self.has_boxes {
            let _ = writeln!(out, "char *{vol}__us_mark = __us_side_top;");
            for i in 0..self.box_slot.len() {
                let _ = writeln!(out, "void *{vol}__us_bv{i} = 0;");
            }
        }
        for i in 0..nsetjmp.max(self.sj_sites.len()) {
            let _ = writeln!(
                out,
                "volatile int __us_sjf{i} = 0, __us_sjv{i}; char *volatile __us_sjm{i};"
            );
        }
        out.push_str("if (__builtin_expect(__us_pending, 0)) {\n");
        if !self.dispatch.is_empty() || entry {
            out.push_str("if (__us_rebuilding) { switch (__us_resume(&__us_fd)) {");
            if entry {
                out.push_str(" case 0: goto __us_L0;");
            }
            for k in &self.dispatch {
                let _ = write!(out, " case {k}: goto __us_L{k};");
            }
            out.push_str(" } __builtin_trap(); }\n");
        }
        if let Some(save) = entry_save {
            let _ = writeln!(out, "if (__us_point(&__us_fd, 0)) {save}");
        }
        out.push_str("}\n");
        if let Some(r) = entry_restore {
            out.push_str(&r);
        }
        out.push_str(&param_boxing);
        out.push_str(&body_text);
        out.push_str(&epilogue);
        out.push_str("}\n");
        Some(Rewritten { text: out })
    }

    // ----- points -----------------------------------------------------------------------------

    fn record_struct(vars: &[Var]) -> String {
        let mut s = String::from("struct __us_r { char __us_hdr;");
        for v in vars {
            let _ = write!(s, " __typeof__({0}) {0};", v.c);
        }
        s.push_str(" }");
        s
    }

    /// The cold block that saves the frame at point `k` and returns a dummy value.
    fn save_block(&mut self, k: u32, key: &str, line: u32, vars: &[Var]) -> String {
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
    fn restore_block(&self, k: u32, vars: &[Var]) -> String {
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

    fn new_point(&mut self) -> u32 {
        let k = self.npoints;
        self.npoints += 1;
        self.dispatch.push(k);
        k
    }

    /// An update point in a loop body or after a label: check, save, and the restore label.
    fn loop_point(&mut self, out: &mut String, line: u32, at: usize) {
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
    fn call_point(
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

    fn block_item(&mut self, item: &Node<BlockItem>, out: &mut String) {
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

    fn compound(
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
    fn body(&mut self, s: &Node<Statement>, out: &mut String, point: bool) {
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

    fn stmt(&mut self, s: &Node<Statement>, out: &mut String) {
        let outer = std::mem::replace(&mut self.stmt_start, s.span.start);
        let outer_end = std::mem::replace(&mut self.stmt_end, s.span.end);
        self.stmt_inner(s, out);
        self.stmt_start = outer;
        self.stmt_end = outer_end;
    }

    fn stmt_inner(&mut self, s: &Node<Statement>, out: &mut String) {
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
                    self.cont.push(None);
                    self.body(&w.node.statement, out, true);
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
    fn cont_passthrough(&mut self, f: impl FnOnce(&mut Self)) {
        f(self)
    }

    /// A condition: lowered into `out` when it holds calls that may unwind.
    fn cond(&mut self, e: &Node<Expression>, out: &mut String) -> String {
        if self.has_uc(e) {
            self.lower(e, true, out)
        } else {
            self.expr(e)
        }
    }

    fn for_stmt(&mut self, f: &Node<ForStatement>, s: &Node<Statement>, out: &mut String) {
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

    /// Whether this `for` loop needs no point of its own (see `counted::counted_for`).
    fn counted_loop(&self, f: &ForStatement) -> bool {
        counted::counted_for(f, &|name| match self.lookup(name) {
            Some(v) if v.boxed => NameKind::Addressed,
            Some(v) if v.saved => NameKind::PlainLocal,
            _ => NameKind::NonLocal,
        })
    }

    fn return_stmt(&mut self, e: Option<&Node<Expression>>, out: &mut String) {
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

    /// The text of declaration specifiers; `types_only` drops storage classes, function
    /// specifiers and `register` (the rewritten code takes addresses of every local).
    fn specifier_text(&self, specs: &[Node<DeclarationSpecifier>], types_only: bool) -> String {
        let mut parts = Vec::new();
        for s in specs {
            let keep = match &s.node {
                DeclarationSpecifier::StorageClass(c) => {
                    !types_only
                        && !matches!(
                            c.node,
                            StorageClassSpecifier::Register | StorageClassSpecifier::Auto
                        )
                }
                DeclarationSpecifier::Function(_) => !types_only,
                _ => true,
            };
            if keep {
                parts.push(self.text(&s.span));
            }
        }
        parts.join(" ")
    }

    /// The type specifiers without the ones at the spans in `drop`.
    fn specifier_text_without(
        &self,
        specs: &[Node<DeclarationSpecifier>],
        drop: &[Span],
    ) -> String {
        let kept: Vec<Node<DeclarationSpecifier>> = specs
            .iter()
            .filter(|s| !drop.contains(&s.span))
            .cloned()
            .collect();
        self.specifier_text(&kept, true)
    }

    /// A declarator's text with its name replaced and its array sizes printed again (they may
    /// name locals that were renamed or boxed).
    fn declarator_with_name(
        &mut self,
        d: &Node<Declarator>,
        id: &Node<Identifier>,
        name: &str,
    ) -> String {
        self.declarator_printed(d, id, name, &[])
    }

    /// Like `declarator_with_name`, also blanking the spans in `drop`.
    fn declarator_printed(
        &mut self,
        d: &Node<Declarator>,
        id: &Node<Identifier>,
        name: &str,
        drop: &[Span],
    ) -> String {
        fn sizes<'x>(d: &'x Declarator, out: &mut Vec<&'x Node<Expression>>) {
            for x in &d.derived {
                if let DerivedDeclarator::Array(a) = &x.node {
                    if let ArraySize::VariableExpression(e) | ArraySize::StaticExpression(e) =
                        &a.node.size
                    {
                        out.push(e);
                    }
                }
            }
            if let DeclaratorKind::Declarator(inner) = &d.kind.node {
                sizes(&inner.node, out);
            }
        }
        let mut exprs = Vec::new();
        sizes(&d.node, &mut exprs);
        let mut pieces: Vec<(usize, usize, String)> =
            vec![(id.span.start, id.span.end, name.to_string())];
        for sp in drop {
            if sp.start >= d.span.start && sp.end <= d.span.end {
                pieces.push((sp.start, sp.end, String::new()));
            }
        }
        for e in exprs {
            let t = self.expr(e);
            pieces.push((e.span.start, e.span.end, t));
        }
        pieces.sort_by_key(|p| p.0);
        let mut out = String::new();
        let mut pos = d.span.start;
        for (s, e, t) in pieces {
            out.push_str(&self.src[pos..s]);
            out.push_str(&t);
            pos = e;
        }
        out.push_str(&self.src[pos..d.span.end]);
        out
    }

    /// Type text of a declared name: specifiers and declarator without the name.
    fn type_text(
        &self,
        specs: &[Node<DeclarationSpecifier>],
        d: &Declarator,
        dspan: &Span,
        id: &Node<Identifier>,
    ) -> String {
        let _ = d;
        let spec = self.specifier_text(specs, true);
        let decl = format!(
            "{}{}",
            &self.src[dspan.start..id.span.start],
            &self.src[id.span.end..dspan.end]
        );
        let t = format!("{spec} {}", decl.trim());
        t.trim().to_string()
    }

    fn declaration(&mut self, d: &Node<Declaration>, out: &mut String) {
        let specs = &d.node.specifiers;
        let storage = specs.iter().find_map(|s| match &s.node {
            DeclarationSpecifier::StorageClass(c) => Some(c.node.clone()),
            _ => None,
        });
        let defines_type = specs.iter().any(|s| match &s.node {
            DeclarationSpecifier::TypeSpecifier(t) => match &t.node {
                TypeSpecifier::Struct(st) => st.node.declarations.is_some(),
                TypeSpecifier::Enum(en) => !en.node.enumerators.is_empty(),
                _ => false,
            },
            _ => false,
        });
        // Enumerators declared here shadow outer locals.
        for s in specs {
            if let DeclarationSpecifier::TypeSpecifier(t) = &s.node {
                if let TypeSpecifier::Enum(en) = &t.node {
                    for e in &en.node.enumerators {
                        let n = e.node.identifier.node.name.clone();
                        self.declare(Var {
                            src: n.clone(),
                            c: n,
                            boxed: false,
                            saved: false,
                            ty: String::new(),
                            flags: 0,
                            decl: None,
                            live_until: None,
                        });
                    }
                }
            }
        }
        let passthrough = matches!(
            storage,
            Some(StorageClassSpecifier::Typedef)
                | Some(StorageClassSpecifier::Extern)
                | Some(StorageClassSpecifier::Static)
                | Some(StorageClassSpecifier::ThreadLocal)
        ) || d
            .node
            .declarators
            .iter()
            .any(|i| analysis::is_function_declarator(&i.node.declarator.node));
        if passthrough {
            out.push_str(self.text(&d.span));
            out.push('\n');
            for i in &d.node.declarators {
                if let Some(id) = analysis::declarator_ident(&i.node.declarator.node) {
                    let n = id.node.name.clone();
                    if storage == Some(StorageClassSpecifier::Static)
                        && !analysis::is_function_declarator(&i.node.declarator.node)
                    {
                        let key = format!("{}/{}/{}", self.source_name, self.fname, n);
                        let ty = self.type_text(
                            specs,
                            &i.node.declarator.node,
                            &i.node.declarator.span,
                            id,
                        );
                        out.push_str(&meta_emit::global_entry(&key, &n, &ty, &n, 2));
                    }
                    self.declare(Var {
                        src: n.clone(),
                        c: n,
                        boxed: false,
                        saved: false,
                        ty: String::new(),
                        flags: 0,
                        decl: None,
                        live_until: None,
                    });
                }
            }
            return;
        }
        if d.node.declarators.is_empty() {
            out.push_str(self.text(&d.span));
            out.push('\n');
            return;
        }
        let spec = if defines_type {
            self.hoist_type_definition(specs, out)
        } else {
            self.specifier_text(specs, true)
        };
        for i in &d.node.declarators {
            let Some(id) = analysis::declarator_ident(&i.node.declarator.node) else {
                continue;
            };
            self.check_vla(&i.node.declarator);
            let name = id.node.name.clone();
            let ty = self.type_text(specs, &i.node.declarator.node, &i.node.declarator.span, id);
            // The initializer is evaluated before the name is in scope for the point code.
            let init = i
                .node
                .initializer
                .as_ref()
                .map(|init| self.initializer(init, Some(&mut *out)));
            let c = self.fresh(&name);
            if self.boxed_decls.contains(&id.span.start) {
                let slot = self.box_slot[&id.span.start];
                let bx = format!("__us_bx_{c}");
                let unknown_size = matches!(
                    analysis::innermost_derivation(&i.node.declarator.node).map(|x| &x.node),
                    Some(DerivedDeclarator::Array(a)) if matches!(a.node.size, ArraySize::Unknown)
                );
                let tname = format!("__us_T_{c}");
                let alloc = format!(
                    "{tname} *{bx} = ({tname} *)(__us_bv{slot} ? __us_bv{slot} : (__us_bv{slot} = __us_box(sizeof({tname}), __alignof__({tname}))));"
                );
                match init {
                    Some(init) if unknown_size => {
                        let iv = format!("__us_I_{c}");
                        let _ = writeln!(
                            out,
                            "{spec} {} = {init};",
                            self.declarator_with_name(&i.node.declarator, id, &iv)
                        );
                        let _ = writeln!(out, "typedef __typeof__({iv}) {tname}; {alloc} __builtin_memcpy((void *){bx}, (const void *)&{iv}, sizeof({tname}));");
                    }
                    Some(init) => {
                        let iv = format!("__us_I_{c}");
                        let _ = writeln!(
                            out,
                            "typedef {spec} {}; {alloc}",
                            self.declarator_with_name(&i.node.declarator, id, &tname)
                        );
                        let _ = writeln!(
                            out,
                            "{{ {spec} {} = {init}; __builtin_memcpy((void *){bx}, (const void *)&{iv}, sizeof({tname})); }}",
                            self.declarator_with_name(&i.node.declarator, id, &iv)
                        );
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "typedef {spec} {}; {alloc}",
                            self.declarator_with_name(&i.node.declarator, id, &tname)
                        );
                    }
                }
                self.declare(Var {
                    src: name,
                    c: bx,
                    boxed: true,
                    saved: true,
                    ty,
                    flags: F_BOXED,
                    decl: Some(id.span.start),
                    live_until: None,
                });
            } else {
                let consts = top_const_spans(specs, &i.node.declarator.node);
                let d = self.declarator_printed(&i.node.declarator, id, &c, &consts);
                let spec = if consts
                    .iter()
                    .any(|c| c.start < i.node.declarator.span.start)
                    && !defines_type
                {
                    self.specifier_text_without(specs, &consts)
                } else {
                    spec.clone()
                };
                match init {
                    Some(init) => {
                        let _ = writeln!(out, "{spec} {d} = {init};");
                    }
                    None => {
                        let _ = writeln!(out, "{spec} {d};");
                    }
                }
                self.declare(Var {
                    src: name,
                    c,
                    boxed: false,
                    saved: true,
                    ty,
                    flags: 0,
                    decl: Some(id.span.start),
                    live_until: None,
                });
            }
        }
    }

    /// A declaration that also defines a struct, union or enum: the definition is printed on its
    /// own (with a generated tag when it has none), and the specifiers that remain name the
    /// type by its tag, so that declarators can be split, boxed and repeated freely.
    fn hoist_type_definition(
        &mut self,
        specs: &[Node<DeclarationSpecifier>],
        out: &mut String,
    ) -> String {
        let mut parts = Vec::new();
        for s in specs {
            let text = self.text(&s.span);
            let named = match &s.node {
                DeclarationSpecifier::StorageClass(_) | DeclarationSpecifier::Function(_) => {
                    continue
                }
                DeclarationSpecifier::TypeSpecifier(t) => match &t.node {
                    TypeSpecifier::Struct(st) if st.node.declarations.is_some() => {
                        let kw = if st.node.kind.node == StructKind::Struct {
                            "struct"
                        } else {
                            "union"
                        };
                        Some((kw, st.node.identifier.as_ref().map(|i| i.node.name.clone())))
                    }
                    TypeSpecifier::Enum(en) if !en.node.enumerators.is_empty() => Some((
                        "enum",
                        en.node.identifier.as_ref().map(|i| i.node.name.clone()),
                    )),
                    _ => None,
                },
                _ => None,
            };
            match named {
                Some((kw, Some(tag))) => {
                    let _ = writeln!(out, "{text};");
                    parts.push(format!("{kw} {tag}"));
                }
                Some((kw, None)) => {
                    self.tmp += 1;
                    let tag = format!("__us_anon{}", self.tmp);
                    let at = text.find(kw).map(|i| i + kw.len()).unwrap_or(0);
                    let _ = writeln!(out, "{} {tag}{};", &text[..at], &text[at..]);
                    parts.push(format!("{kw} {tag}"));
                }
                None => parts.push(text.to_string()),
            }
        }
        parts.join(" ")
    }

    /// Variable-length arrays cannot be saved in a fixed-layout record.
    fn check_vla(&mut self, d: &Node<Declarator>) {
        fn sizes<'x>(d: &'x Declarator, out: &mut Vec<&'x Node<Expression>>) {
            for x in &d.derived {
                if let DerivedDeclarator::Array(a) = &x.node {
                    match &a.node.size {
                        ArraySize::VariableExpression(e) | ArraySize::StaticExpression(e) => {
                            out.push(e)
                        }
                        _ => {}
                    }
                }
            }
            if let DeclaratorKind::Declarator(inner) = &d.kind.node {
                sizes(&inner.node, out);
            }
        }
        let mut v = Vec::new();
        sizes(&d.node, &mut v);
        for e in v {
            if self.reads_local_or_calls(e) {
                self.error(
                    &e.span,
                    "variable-length arrays are not supported by upstare-cc",
                    Some("use a fixed-size array or malloc"),
                );
            }
        }
    }

    fn reads_local_or_calls(&self, e: &Node<Expression>) -> bool {
        let mut found = false;
        walk_expr(e, &mut |x| match &x.node {
            Expression::Identifier(id) => {
                if self.lookup(&id.node.name).is_some_and(|v| v.saved) {
                    found = true;
                }
            }
            Expression::Call(_) => found = true,
            _ => {}
        });
        found
    }

    /// Prints an initializer. With `out`, elements holding calls that may unwind are lowered
    /// into it first, in order, and the list refers to their temporaries.
    fn initializer(&mut self, init: &Node<Initializer>, mut out: Option<&mut String>) -> String {
        match &init.node {
            Initializer::Expression(e) => match out {
                Some(o) if self.has_uc(e) => self.lower(e, true, o),
                _ => self.expr(e),
            },
            Initializer::List(items) => {
                let mut s = String::from("{ ");
                for it in items {
                    for d in &it.node.designation {
                        match &d.node {
                            Designator::Index(e) => {
                                let t = self.expr(e);
                                let _ = write!(s, "[{t}]");
                            }
                            Designator::Member(m) => {
                                let _ = write!(s, ".{}", m.node.name);
                            }
                            Designator::Range(r) => {
                                let a = self.expr(&r.node.from);
                                let b = self.expr(&r.node.to);
                                let _ = write!(s, "[{a} ... {b}]");
                            }
                        }
                    }
                    if !it.node.designation.is_empty() {
                        s.push_str(" = ");
                    }
                    let t = self.initializer(&it.node.initializer, out.as_deref_mut());
                    s.push_str(&t);
                    s.push_str(", ");
                }
                s.push('}');
                s
            }
        }
    }

    // ----- expressions --------------------------------------------------------------------

    /// How a call behaves, resolving the callee against locals first.
    fn call_kind(&self, call: &CallExpression) -> (CallKind, String) {
        match &call.callee.node {
            Expression::Identifier(id) => {
                let n = &id.node.name;
                if self.lookup(n).is_some() {
                    (CallKind::Unwinds, "*".to_string())
                } else {
                    (self.facts.call_kind(n), n.clone())
                }
            }
            _ => (CallKind::Unwinds, "*".to_string()),
        }
    }

    /// Does the expression hold a call that may unwind (or a setjmp) where it is evaluated?
    fn has_uc(&self, e: &Node<Expression>) -> bool {
        let mut found = false;
        walk_expr(e, &mut |x| {
            if let Expression::Call(c) = &x.node {
                if self.call_kind(&c.node).0 != CallKind::Plain {
                    found = true;
                }
            }
        });
        found
    }

    /// Prints an expression that needs no lowering.
    fn expr(&mut self, e: &Node<Expression>) -> String {
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
                let mut f = self.expr(&c.node.callee);
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
    fn parenthesised(&self, span: &Span) -> bool {
        self.src[span.start..span.end].starts_with('(')
            || self.src[..span.start].trim_end().ends_with('(')
                && self.src[span.end..].trim_start().starts_with(')')
    }

    fn ident(&self, name: &str) -> String {
        match self.lookup(name) {
            Some(v) if v.boxed => format!("(*{})", v.c),
            Some(v) => v.c.clone(),
            None if name == "main" => "__us_main".to_string(),
            None => name.to_string(),
        }
    }

    /// Whether re-evaluating `e` (after a rebuild restored every local) can neither fault nor
    /// have an effect: names, constants, addresses of names, arithmetic without division.
    fn replayable(&self, e: &Node<Expression>) -> bool {
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
    fn lower(&mut self, e: &Node<Expression>, want: bool, out: &mut String) -> String {
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

    fn lower_call(
        &mut self,
        c: &Node<CallExpression>,
        span: &Span,
        want: bool,
        out: &mut String,
    ) -> String {
        let (kind, callee) = self.call_kind(&c.node);
        // Operands first, in order: nested calls, then anything that is not replayable.
        let ftext = if matches!(c.node.callee.node, Expression::Identifier(_)) {
            let f = self.expr(&c.node.callee);
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
    fn spill(&mut self, value: String, out: &mut String) -> String {
        let t = self.new_temp();
        // The comma makes the value an rvalue: `__auto_type` rejects bit-fields and keeps const.
        let _ = writeln!(out, "__auto_type {t} = ((void)0, {value});");
        self.declare_temp(&t, &format!("__typeof__({value})"));
        t
    }
}

/// The backward jumps of a function body that are not loops (see `FnRewriter::back_edges`).
fn back_edges(body: &Node<Statement>, end: usize) -> Vec<(usize, usize)> {
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

/// Assigns `value` to a temporary declared with `__typeof__`, which keeps qualifiers (gcc gives
/// `const T` for a call of a function declared to return `const T`): initialise a copy, then
/// copy its bytes.
fn assign_temp(t: &str, value: &str) -> String {
    format!("{{ __typeof__({t}) __us_v = {value}; __builtin_memcpy((void *)&{t}, (const void *)&__us_v, sizeof({t})); }}\n")
}

/// Spans of the `const` qualifiers that make a declared object itself read-only (`const int x`,
/// `char *const p`). Rebuilding writes every saved local, and gcc may fold a const object into
/// the constant it was initialised with (or alias a const parameter to the global it was passed),
/// so the instrumented code declares these objects without that `const`.
fn top_const_spans(specs: &[Node<DeclarationSpecifier>], d: &Declarator) -> Vec<Span> {
    let mut out = Vec::new();
    let plain = d.derived.is_empty()
        && !matches!(&d.kind.node, DeclaratorKind::Declarator(inner) if !inner.node.derived.is_empty());
    if plain {
        for s in specs {
            if let DeclarationSpecifier::TypeQualifier(q) = &s.node {
                if q.node == TypeQualifier::Const {
                    out.push(s.span);
                }
            }
        }
    } else if let Some(Node {
        node: DerivedDeclarator::Pointer(quals),
        ..
    }) = analysis::innermost_derivation(d)
    {
        for q in quals {
            if let PointerQualifier::TypeQualifier(t) = &q.node {
                if t.node == TypeQualifier::Const {
                    out.push(q.span);
                }
            }
        }
    }
    out
}

fn is_static(specs: &[Node<DeclarationSpecifier>]) -> bool {
    specs.iter().any(|s| matches!(&s.node, DeclarationSpecifier::StorageClass(c) if c.node == StorageClassSpecifier::Static))
}

fn unary(op: &UnaryOperator, t: &str) -> String {
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

fn binary(op: &BinaryOperator, l: &str, r: &str) -> String {
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

/// Finds the locals whose address is taken (explicitly with `&`, by array decay, or by a
/// struct member that may be an array escaping), resolving names with C's scopes.
struct BoxFinder<'a> {
    facts: &'a UnitFacts,
    /// (name, identifier span start, is array) per scope.
    scopes: Vec<Vec<(String, usize, bool)>>,
    boxed: HashSet<usize>,
    order: Vec<usize>,
    setjmps: usize,
    /// Offsets of the references to each local (see `FnRewriter::point_vars`).
    refs: HashMap<usize, Vec<usize>>,
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

    fn stmt(&mut self, s: &Statement) {
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
