//! Declarations of locals: renaming, boxes for address-taken locals, hoisted type definitions,
//! dropped top-level `const`, initializers.

use std::fmt::Write;

use lang_c::ast::*;
use lang_c::span::{Node, Span};

use super::*;

impl FnRewriter<'_> {
    /// The text of declaration specifiers; `types_only` drops storage classes, function
    /// specifiers and `register` (the rewritten code takes addresses of every local).
    pub(super) fn specifier_text(
        &self,
        specs: &[Node<DeclarationSpecifier>],
        types_only: bool,
    ) -> String {
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
    pub(super) fn specifier_text_without(
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
    pub(super) fn declarator_with_name(
        &mut self,
        d: &Node<Declarator>,
        id: &Node<Identifier>,
        name: &str,
    ) -> String {
        self.declarator_printed(d, id, name, &[])
    }

    /// Like `declarator_with_name`, also blanking the spans in `drop`.
    pub(super) fn declarator_printed(
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
    pub(super) fn type_text(
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

    pub(super) fn declaration(&mut self, d: &Node<Declaration>, out: &mut String) {
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
                        self.declare_unsaved(e.node.identifier.node.name.clone());
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
                        out.push_str(&meta_emit::addr_entry(
                            meta_emit::ADDR_GLOBAL,
                            &format!("&{n}"),
                            &key,
                            self.source_name,
                        ));
                    }
                    self.declare_unsaved(n);
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
            let c = self.fresh(&name);
            let boxed = self.boxed_decls.contains(&id.span.start);
            let bx = format!("__us_bx_{c}");
            // In C the name is in scope in its own initializer (`p = malloc(sizeof *p)`), so it
            // is visible there under its new spelling; but the initializer is evaluated before
            // the object exists for the point code, so no point inside it saves the name.
            self.declare(Var {
                src: name.clone(),
                c: if boxed { bx.clone() } else { c.clone() },
                boxed,
                saved: false,
                ty: String::new(),
                flags: 0,
                decl: None,
                live_until: None,
            });
            let init = i
                .node
                .initializer
                .as_ref()
                .map(|init| self.initializer(init, Some(&mut *out)));
            self.scopes.last_mut().expect("scope").pop();
            if boxed {
                let slot = self.box_slot[&id.span.start];
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
    pub(super) fn hoist_type_definition(
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
    pub(super) fn check_vla(&mut self, d: &Node<Declarator>) {
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

    pub(super) fn reads_local_or_calls(&self, e: &Node<Expression>) -> bool {
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
    pub(super) fn initializer(
        &mut self,
        init: &Node<Initializer>,
        mut out: Option<&mut String>,
    ) -> String {
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
}

/// Spans of the `const` qualifiers that make a declared object itself read-only (`const int x`,
/// `char *const p`). Rebuilding writes every saved local, and gcc may fold a const object into
/// the constant it was initialised with (or alias a const parameter to the global it was passed),
/// so the instrumented code declares these objects without that `const`.
pub(super) fn top_const_spans(specs: &[Node<DeclarationSpecifier>], d: &Declarator) -> Vec<Span> {
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
