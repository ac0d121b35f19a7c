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
//!
//! Files: this one holds the rewriter's state and the definition as a whole (prologue, rebuild
//! dispatch, parameters); `prescan` finds boxes and references before printing; `stmts`,
//! `decls` and `exprs` print the body; `points` builds records, liveness, save and restore code.

mod decls;
mod exprs;
mod points;
mod prescan;
mod stmts;

use decls::top_const_spans;
use exprs::assign_temp;
use points::back_edges;
use prescan::BoxFinder;

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

    /// A name that shadows outer locals but is not saved: an enumerator, a static or extern
    /// local, a typedef.
    fn declare_unsaved(&mut self, name: String) {
        self.declare(Var {
            src: name.clone(),
            c: name,
            boxed: false,
            saved: false,
            ty: String::new(),
            flags: 0,
            decl: None,
            live_until: None,
        });
    }

    fn lookup(&self, name: &str) -> Option<&Var> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|v| v.src == name)
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
        out.push_str(&meta_emit::addr_entry(
            meta_emit::ADDR_DESCRIPTOR,
            "&__us_fd",
            &name,
            self.source_name,
        ));
        out.push_str(&meta_emit::function_entry(
            self.source_name,
            &name,
            self.npoints,
            self.line_of(&def.span),
            super::has_internal_linkage(&f.specifiers),
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
}
