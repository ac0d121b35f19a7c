//! Instrumentation of one preprocessed translation unit.
//!
//! Pipeline: parse with lang-c, map offsets to original lines (line markers), analyse the unit
//! (which calls may unwind, which functions need points), rewrite every function that needs
//! points (func.rs), and splice the new definitions into the preprocessed text by span, back to
//! front, keeping line markers true after each one. Everything outside those definitions is
//! left byte for byte as the preprocessor produced it. Metadata for the unit, its globals and
//! its types is appended at the end (meta_emit.rs).
//!
//! Functions from system headers are never touched. A variadic function whose callees may
//! unwind is not instrumented (its `va_list` points into its own frame, which a rebuild cannot
//! recreate); it is placed in the section `upstare_pinned` and never inlined, so that the
//! runtime sees its frame and refuses to unwind through it.

mod alloc;
mod analysis;
mod blocking;
mod counted;
mod func;
mod lines;
mod meta_emit;
mod walk;

use std::collections::HashSet;

use lang_c::ast::*;

use crate::diag::{CDiagnostic, Severity};
use analysis::UnitFacts;
use lines::LineMap;

/// What the driver tells the instrumenter about the unit.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The source file as named on the command line (used in keys and messages).
    pub source_name: String,
}

/// The runtime ABI, pasted at the top of every instrumented unit.
///
/// The pragmas silence warnings about what the instrumenter writes (labels only a rebuild jumps
/// to, records of uninitialised locals, parameters that restore code writes and gcc therefore
/// calls clobbered by longjmp), and `-Wimplicit-fallthrough`, whose `/* fall through */`
/// comments the preprocessed text no longer has, so that `-Werror` builds keep working.
const ABI: &str = include_str!("../../../runtime/include/upstare_rt.h");

const PROLOGUE: &str = "#pragma GCC diagnostic ignored \"-Wunused-label\"\n\
#pragma GCC diagnostic ignored \"-Wunused-variable\"\n\
#pragma GCC diagnostic ignored \"-Wunused-but-set-variable\"\n\
#pragma GCC diagnostic ignored \"-Wmaybe-uninitialized\"\n\
#pragma GCC diagnostic ignored \"-Wuninitialized\"\n\
#pragma GCC diagnostic ignored \"-Wimplicit-fallthrough\"\n\
#pragma GCC diagnostic ignored \"-Wclobbered\"\n";

/// Instruments one preprocessed unit: returns the C text to hand to `cc -x cpp-output`, or the
/// diagnostics that stop the unit from being compiled. Warnings come back with the text.
pub fn instrument(
    preprocessed: &str,
    opts: &Options,
) -> Result<(String, Vec<CDiagnostic>), Vec<CDiagnostic>> {
    let lines = LineMap::new(preprocessed);
    let stripped = strip_noreturn(preprocessed, &lines);
    let preprocessed = stripped.as_str();
    let config = lang_c::driver::Config::with_gcc();
    let parse = match lang_c::driver::parse_preprocessed(&config, preprocessed.to_string()) {
        Ok(p) => p,
        Err(e) => return Err(vec![parse_error(preprocessed, &lines, &e)]),
    };
    let source_name = if opts.source_name.is_empty() {
        lines.main_file().to_string()
    } else {
        opts.source_name.clone()
    };
    let facts = UnitFacts::analyse(&parse.unit, &lines);
    let mut diags = Vec::new();
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    // Every user function's address, for the runtime's table (meta/FORMAT.md `upstare_addr`).
    let mut addrs = String::new();
    // Runtime wrappers of blocking calls declared so far (blocking.rs).
    let mut declared_wrappers = HashSet::new();
    for ext in &parse.unit.0 {
        let ExternalDeclaration::FunctionDefinition(def) = &ext.node else {
            continue;
        };
        let origin = lines.origin(ext.span.start);
        if origin.system {
            continue;
        }
        let Some(name) = analysis::declarator_name(&def.node.declarator.node).map(str::to_string)
        else {
            continue;
        };
        let is_main = name == "main";
        let after = after_marker(&lines, ext.span.end);
        if !is_inline(&def.node.specifiers) {
            let c_name = if is_main { "__us_main" } else { name.as_str() };
            addrs.push_str(&meta_emit::addr_entry(
                meta_emit::ADDR_FUNCTION,
                &format!("&{c_name}"),
                &name,
                &source_name,
            ));
        }
        // Lock calls in a function printed as written still go to the runtime (blocking.rs).
        let routes =
            blocking::verbatim_routes(def, &|n| facts.route(n), &|n| facts.alloc_rename(n));
        if is_variadic(&def.node.declarator.node) {
            if facts.instrumented(&name) {
                let body = blocking::splice(preprocessed, ext.span.start, ext.span.end, &routes);
                let decls = blocking::declarations(&body, &mut declared_wrappers);
                let text = format!(
                    "{decls}__attribute__((section(\"upstare_pinned\"), noinline, noclone)) {body}"
                );
                edits.push((ext.span.start, ext.span.end, text));
                addrs.push_str(&meta_emit::pinned_function_entry(
                    &source_name,
                    &name,
                    origin.line,
                    has_internal_linkage(&def.node.specifiers),
                ));
            } else {
                route_verbatim(&mut edits, ext.span.start, &routes, &mut declared_wrappers);
            }
            continue;
        }
        if facts.instrumented(&name) {
            let rw = func::FnRewriter::new(preprocessed, &lines, &facts, &source_name, &mut diags);
            if let Some(r) = rw.rewrite(def, is_main) {
                let decls = blocking::declarations(&r.text, &mut declared_wrappers);
                edits.push((
                    ext.span.start,
                    ext.span.end,
                    format!("{decls}{}{after}", r.text),
                ));
            }
        } else {
            let fm = meta_emit::function_entry(
                &source_name,
                &name,
                0,
                origin.line,
                has_internal_linkage(&def.node.specifiers),
            );
            if is_main {
                // Renamed, so that the runtime's `main` starts it; C's implicit `return 0` of
                // main does not hold for another name.
                let ident = analysis::declarator_ident(&def.node.declarator.node).expect("named");
                let body = &def.node.statement.span;
                let inner = blocking::splice(preprocessed, body.start + 1, body.end - 1, &routes);
                let mut t = blocking::declarations(&inner, &mut declared_wrappers);
                t.push_str(&preprocessed[ext.span.start..ident.span.start]);
                t.push_str("__us_main");
                t.push_str(&preprocessed[ident.span.end..body.start + 1]);
                t.push_str(&fm);
                t.push_str(&inner);
                t.push_str("\nreturn 0;\n}");
                t.push_str(&after);
                edits.push((ext.span.start, ext.span.end, t));
            } else {
                let body = &def.node.statement.span;
                edits.push((body.start + 1, body.start + 1, fm));
                route_verbatim(&mut edits, ext.span.start, &routes, &mut declared_wrappers);
            }
        }
    }
    if diags.iter().any(CDiagnostic::is_error) {
        return Err(diags);
    }
    let mut out = String::with_capacity(preprocessed.len() * 2);
    // The header's include guard is a preprocessor directive, which `-x cpp-output` does not
    // run: paste the declarations without directive lines.
    for line in ABI.lines().filter(|l| !l.starts_with('#')) {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(PROLOGUE);
    let mut pos = 0;
    edits.sort_by_key(|e| e.0);
    for (s, e, t) in &edits {
        out.push_str(&preprocessed[pos..*s]);
        out.push_str(t);
        pos = *e;
    }
    out.push_str(&preprocessed[pos..]);
    out.push('\n');
    out.push_str(&meta_emit::unit_entry(&source_name));
    out.push_str(meta_emit::MODULE_TABLES);
    out.push_str(&addrs);
    out.push_str(&unit_metadata(
        &parse.unit,
        preprocessed,
        &lines,
        &source_name,
    ));
    Ok((out, diags))
}

/// Edits that send the calls `routes` of a function printed as written to the runtime's
/// wrappers, and declare those before the function (at `start`), on the same line.
fn route_verbatim(
    edits: &mut Vec<(usize, usize, String)>,
    start: usize,
    routes: &[(lang_c::span::Span, String)],
    declared: &mut HashSet<String>,
) {
    let mut decls = String::new();
    for (span, w) in routes {
        decls.push_str(&blocking::declarations(w, declared));
        edits.push((span.start, span.end, w.clone()));
    }
    if !decls.is_empty() {
        edits.push((start, start, decls));
    }
}

/// Removes `noreturn` from user code, keeping every byte offset: a function that may unwind
/// returns (a dummy value) when it does, and a caller compiled on the promise that it never
/// returns would run into unreachable code. System headers keep theirs (`exit`, `longjmp` and
/// their kind never unwind). `_Noreturn` becomes blanks, the attribute becomes `cold`.
fn strip_noreturn(text: &str, lines: &LineMap) -> String {
    let mut out = text.as_bytes().to_vec();
    for (word, repl) in [
        ("_Noreturn", "         "),
        ("__noreturn__", "__cold__    "),
        ("noreturn", "__cold__"),
    ] {
        let mut from = 0;
        while let Some(i) = text[from..].find(word) {
            let at = from + i;
            from = at + word.len();
            let before = text[..at].bytes().last();
            let after = text[at + word.len()..].bytes().next();
            let ident = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_');
            if ident(before) || ident(after) || lines.origin(at).system {
                continue;
            }
            out[at..at + word.len()].copy_from_slice(repl.as_bytes());
        }
    }
    String::from_utf8(out).expect("ASCII replaced by ASCII")
}

/// A line marker that puts the text after `offset` back on its original line.
fn after_marker(lines: &LineMap, offset: usize) -> String {
    let o = lines.origin(offset);
    format!(
        "\n# {} {}\n{}",
        o.line,
        meta_emit::c_string(o.file),
        " ".repeat(o.column.saturating_sub(1) as usize)
    )
}

fn has_internal_linkage(specs: &[lang_c::span::Node<DeclarationSpecifier>]) -> bool {
    specs.iter().any(|s| matches!(&s.node, DeclarationSpecifier::StorageClass(c) if c.node == StorageClassSpecifier::Static))
}

fn is_inline(specs: &[lang_c::span::Node<DeclarationSpecifier>]) -> bool {
    specs
        .iter()
        .any(|s| matches!(&s.node, DeclarationSpecifier::Function(f) if f.node == FunctionSpecifier::Inline))
}

fn is_variadic(d: &Declarator) -> bool {
    matches!(
        analysis::innermost_derivation(d).map(|x| &x.node),
        Some(DerivedDeclarator::Function(f)) if f.node.ellipsis == Ellipsis::Some
    )
}

/// Metadata for the unit's file-scope objects and struct/union types from user files.
fn unit_metadata(unit: &TranslationUnit, src: &str, lines: &LineMap, source: &str) -> String {
    let mut out = String::new();
    let mut seen_globals = HashSet::new();
    let mut seen_types = HashSet::new();
    let text = |s: &lang_c::span::Span| &src[s.start..s.end];
    let complete_tags = defined_tags(unit);
    for ext in &unit.0 {
        let ExternalDeclaration::Declaration(d) = &ext.node else {
            continue;
        };
        if lines.origin(ext.span.start).system {
            continue;
        }
        let storage: Vec<&StorageClassSpecifier> = d
            .node
            .specifiers
            .iter()
            .filter_map(|s| match &s.node {
                DeclarationSpecifier::StorageClass(c) => Some(&c.node),
                _ => None,
            })
            .collect();
        let is_typedef = storage.contains(&&StorageClassSpecifier::Typedef);
        // Struct and union definitions.
        for s in &d.node.specifiers {
            let DeclarationSpecifier::TypeSpecifier(t) = &s.node else {
                continue;
            };
            let TypeSpecifier::Struct(st) = &t.node else {
                continue;
            };
            let Some(decls) = &st.node.declarations else {
                continue;
            };
            let kw = if st.node.kind.node == StructKind::Struct {
                "struct"
            } else {
                "union"
            };
            let (name, cty) = match (&st.node.identifier, is_typedef) {
                (Some(id), _) => (
                    format!("{kw} {}", id.node.name),
                    format!("{kw} {}", id.node.name),
                ),
                (None, true) => match d
                    .node
                    .declarators
                    .first()
                    .and_then(|i| analysis::declarator_name(&i.node.declarator.node))
                {
                    Some(n)
                        if d.node.declarators[0]
                            .node
                            .declarator
                            .node
                            .derived
                            .is_empty() =>
                    {
                        (n.to_string(), n.to_string())
                    }
                    _ => continue,
                },
                _ => continue,
            };
            if !seen_types.insert(name.clone()) {
                continue;
            }
            let mut fields = Vec::new();
            for sd in decls {
                let StructDeclaration::Field(f) = &sd.node else {
                    continue;
                };
                let spec: Vec<&str> = f.node.specifiers.iter().map(|s| text(&s.span)).collect();
                let mut spec = spec.join(" ");
                if let Some(i) = spec.find('{') {
                    spec = spec[..i].trim().to_string();
                }
                for sdecl in &f.node.declarators {
                    let Some(decl) = &sdecl.node.declarator else {
                        continue;
                    };
                    let Some(id) = analysis::declarator_ident(&decl.node) else {
                        continue;
                    };
                    let rest = format!(
                        "{}{}",
                        &src[decl.span.start..id.span.start],
                        &src[id.span.end..decl.span.end]
                    );
                    let ty = format!("{spec} {}", rest.trim()).trim().to_string();
                    let bits = sdecl
                        .node
                        .bit_width
                        .as_ref()
                        .map(|b| format!("({})", text(&b.span)));
                    fields.push((id.node.name.clone(), ty, bits));
                }
            }
            out.push_str(&meta_emit::type_entry(&name, &cty, &fields));
        }
        if is_typedef {
            for i in &d.node.declarators {
                let decl = &i.node.declarator;
                if analysis::is_function_declarator(&decl.node) {
                    continue;
                }
                let Some(id) = analysis::declarator_ident(&decl.node) else {
                    continue;
                };
                let ty = declared_type_text(src, &d.node.specifiers, decl, id, true);
                let complete = typedef_is_complete(&d.node.specifiers, &decl.node, &complete_tags);
                out.push_str(&meta_emit::typedef_entry(
                    &id.node.name,
                    source,
                    &ty,
                    complete,
                ));
            }
        }
        if is_typedef || storage.contains(&&StorageClassSpecifier::Extern) {
            continue;
        }
        let internal = storage.contains(&&StorageClassSpecifier::Static);
        for i in &d.node.declarators {
            let decl = &i.node.declarator;
            if analysis::is_function_declarator(&decl.node) {
                continue;
            }
            let Some(id) = analysis::declarator_ident(&decl.node) else {
                continue;
            };
            let unknown_size = matches!(
                analysis::innermost_derivation(&decl.node).map(|x| &x.node),
                Some(DerivedDeclarator::Array(a)) if matches!(a.node.size, ArraySize::Unknown)
            );
            if unknown_size && i.node.initializer.is_none() {
                continue;
            }
            let name = id.node.name.clone();
            if !seen_globals.insert(name.clone()) {
                continue;
            }
            let key = if internal {
                format!("{source}/{name}")
            } else {
                name.clone()
            };
            let ty = declared_type_text(src, &d.node.specifiers, decl, id, true);
            let is_const = d.node.specifiers.iter().any(|s| matches!(&s.node, DeclarationSpecifier::TypeQualifier(q) if q.node == TypeQualifier::Const));
            let flags = (internal as u32) | if is_const { 4 } else { 0 };
            out.push_str(&meta_emit::global_entry(&key, &name, &ty, &name, flags));
            out.push_str(&meta_emit::addr_entry(
                meta_emit::ADDR_GLOBAL,
                &format!("&{name}"),
                &key,
                source,
            ));
        }
    }
    out
}

/// The type text of a declarator: its specifiers (storage classes dropped when
/// `drop_storage`, any inline struct body cut) and the declarator with the name removed.
fn declared_type_text(
    src: &str,
    specs: &[lang_c::span::Node<DeclarationSpecifier>],
    decl: &lang_c::span::Node<Declarator>,
    id: &lang_c::span::Node<Identifier>,
    drop_storage: bool,
) -> String {
    let spec: Vec<&str> = specs
        .iter()
        .filter(|s| !(drop_storage && matches!(s.node, DeclarationSpecifier::StorageClass(_))))
        .map(|s| &src[s.span.start..s.span.end])
        .collect();
    let mut spec = spec.join(" ");
    if let Some(i) = spec.find('{') {
        spec = spec[..i].trim().to_string();
    }
    let rest = format!(
        "{}{}",
        &src[decl.span.start..id.span.start],
        &src[id.span.end..decl.span.end]
    );
    format!("{spec} {}", rest.trim()).trim().to_string()
}

/// Tags of the structs and unions the unit defines at file scope (complete types).
fn defined_tags(unit: &TranslationUnit) -> HashSet<String> {
    let mut tags = HashSet::new();
    for ext in &unit.0 {
        let ExternalDeclaration::Declaration(d) = &ext.node else {
            continue;
        };
        for s in &d.node.specifiers {
            if let DeclarationSpecifier::TypeSpecifier(t) = &s.node {
                if let TypeSpecifier::Struct(st) = &t.node {
                    if let (Some(id), Some(_)) = (&st.node.identifier, &st.node.declarations) {
                        tags.insert(id.node.name.clone());
                    }
                }
            }
        }
    }
    tags
}

/// Whether `sizeof` applies to a typedef: a pointer always, an array only with a size, a
/// struct or union only when the unit defines it, `void` never.
fn typedef_is_complete(
    specs: &[lang_c::span::Node<DeclarationSpecifier>],
    decl: &Declarator,
    complete_tags: &HashSet<String>,
) -> bool {
    // Function typedefs were skipped by the caller.
    if decl
        .derived
        .iter()
        .any(|d| matches!(d.node, DerivedDeclarator::Pointer(_)))
    {
        return true;
    }
    if decl.derived.iter().any(|d| {
        matches!(&d.node, DerivedDeclarator::Array(a) if matches!(a.node.size, ArraySize::Unknown))
    }) {
        return false;
    }
    for s in specs {
        if let DeclarationSpecifier::TypeSpecifier(t) = &s.node {
            match &t.node {
                TypeSpecifier::Void => return false,
                TypeSpecifier::Struct(st) => {
                    return st.node.declarations.is_some()
                        || st
                            .node
                            .identifier
                            .as_ref()
                            .is_some_and(|id| complete_tags.contains(&id.node.name))
                }
                TypeSpecifier::Enum(_) | TypeSpecifier::TypeOf(_) => return true,
                _ => {}
            }
        }
    }
    true
}

/// A parse error located in the original source, with a hint for GNU forms lang-c rejects.
fn parse_error(src: &str, lines: &LineMap, e: &lang_c::driver::SyntaxError) -> CDiagnostic {
    let offset = e.offset.min(src.len());
    let o = lines.origin(offset);
    let line_start = src[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = src[offset..]
        .find('\n')
        .map(|i| offset + i)
        .unwrap_or(src.len());
    let line_text = &src[line_start..line_end];
    let (message, help) = if line_text.contains("goto *")
        || line_text.contains("goto*")
        || line_text.contains("&&") && e.expected.contains("identifier")
    {
        (
            "computed goto (`goto *p` / `&&label`) is not supported by upstare-cc".to_string(),
            Some("use a switch statement instead of a jump table".to_string()),
        )
    } else {
        let mut exp: Vec<&str> = e.expected.iter().copied().collect();
        exp.sort();
        (
            format!("cannot parse this C (expected one of: {})", exp.join(" ")),
            Some(
                "upstare-cc parses C11 with common GNU extensions; this construct is not supported"
                    .to_string(),
            ),
        )
    };
    CDiagnostic {
        severity: Severity::Error,
        file: o.file.to_string(),
        line: o.line,
        column: o.column,
        message,
        help,
    }
}
