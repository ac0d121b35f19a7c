//! The checker: a parsed spec against the old and the new version's metadata.
//!
//! It runs in three steps, and never panics on any input:
//! 1. **Heads.** Every rule's names are resolved (types, fields, globals, functions, points);
//!    `function` and `type` rules first, because they change what corresponds to what (a
//!    renamed function's frames and call points, a renamed type's objects).
//! 2. **Bodies.** Each body is typed into [`checked`] form by [`body::BodyCx`], with the rule's
//!    [`body::Subject`] saying what `old` and `new` are.
//! 3. **Coverage.** The automatic transfer of `upstare_meta::diff` is compared with the rules:
//!    whatever the diff says needs a rule and has none is an error (one per item); a rule for
//!    something the diff says did not change is a warning; an old point where a frame may be
//!    stopped, whose function or key has no counterpart and which has no frame rule, is an
//!    error.
//!
//! Diagnostics come out in source order (findings without a place in the spec last).

mod body;
mod cty;
mod names;

use upstare_meta::{
    diff, CType, Callee, FuncId, GlobalId, Module, PointId, PointKey, Transfer, TypeId, TypeStatus,
    VersionDiff,
};

use crate::ast::{self, Item, Key, Span, TypeBase, TypeName, Ver};
use crate::checked::{self, Origin};
use crate::diag::{did_you_mean, Code, Diagnostic};
use body::{record_ctype, BodyCx, Subject};
use names::{Lookup, Map, Set, View};

/// The language versions this checker knows (`upstare N;`).
pub const LANGUAGE_VERSION: u64 = 1;

/// Checks `source` (the text of the spec file `path`) against the old and new versions.
///
/// On success, the checked spec and the warnings; on failure, every diagnostic (errors and
/// warnings, in source order). It never panics, whatever the input.
pub fn check(
    source: &str,
    path: &str,
    old: &Module,
    new: &Module,
) -> Result<(checked::Spec, Vec<crate::Diagnostic>), Vec<crate::Diagnostic>> {
    check_with_diff(source, path, old, new, &diff(old, new))
}

/// [`check`] with the version diff already computed (`upstare_meta::diff(old, new)`): the
/// runtime needs the diff for the automatic transfer anyway, so it computes it once.
pub fn check_with_diff(
    source: &str,
    path: &str,
    old: &Module,
    new: &Module,
    vd: &VersionDiff,
) -> Result<(checked::Spec, Vec<crate::Diagnostic>), Vec<crate::Diagnostic>> {
    let _ = path; // Diagnostics carry spans; the path is attached when they are rendered.
    let ast = crate::parse::parse(source)?;
    let mut ck = Checker::new(source, old, new, vd);
    let spec = ck.spec(&ast);
    let mut diags = std::mem::take(&mut ck.diags);
    // Source order; findings about the versions (no span) last, in the order found.
    diags.sort_by_key(|d| d.span().map_or(usize::MAX, |s| s.start));
    if diags.iter().any(|d| d.is_error()) {
        Err(diags)
    } else {
        Ok((spec, diags))
    }
}

pub(crate) struct Checker<'a> {
    source: &'a str,
    old: View<'a>,
    new: View<'a>,
    vd: &'a VersionDiff,
    diags: Vec<Diagnostic>,
    /// Old function -> new function: the diff's pairs, overridden by `function` rules.
    fn_map: Map<FuncId, FuncId>,
    /// Old function names renamed by `function` rules (for call point keys).
    fn_renames: Map<String, String>,
    /// Old record -> new record: same name, overridden by `type` rules.
    type_map: Map<TypeId, TypeId>,
    /// The diff's entries by old id.
    global_changes: Map<GlobalId, usize>,
    type_changes: Map<TypeId, usize>,
}

/// What the first pass learnt about one rule, for the second.
enum Head {
    Type {
        rule: usize,
        old: TypeId,
        new: TypeId,
    },
    Field {
        rule: usize,
        old: TypeId,
        new: TypeId,
        old_field: Option<u32>,
        new_field: u32,
    },
    Global {
        rule: usize,
        old: Option<GlobalId>,
        new: GlobalId,
    },
    Frame {
        rule: usize,
        old_func: FuncId,
        old_point: PointId,
        dest: checked::FrameDest,
    },
    Skip,
}

impl<'a> Checker<'a> {
    fn new(source: &'a str, old: &'a Module, new: &'a Module, vd: &'a VersionDiff) -> Self {
        let mut fn_map = Map::default();
        for f in &vd.functions {
            if let (Some(o), Some(n)) = (f.old, f.new) {
                fn_map.insert(o, n);
            }
        }
        let new_view = View::new(new);
        let mut type_map = Map::default();
        for (id, t) in old.types.iter() {
            if let Some(n) = new_view.type_named(&t.name) {
                type_map.insert(id, n);
            }
        }
        let global_changes = vd
            .globals
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.old.map(|o| (o, i)))
            .collect();
        let type_changes = vd
            .types
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.old.map(|o| (o, i)))
            .collect();
        Checker {
            global_changes,
            type_changes,
            source,
            old: View::new(old),
            new: new_view,
            vd,
            diags: Vec::new(),
            fn_map,
            fn_renames: Map::default(),
            type_map,
        }
    }

    fn global_change(&self, old: GlobalId) -> Option<&'a upstare_meta::GlobalChange> {
        let vd: &'a VersionDiff = self.vd;
        self.global_changes.get(&old).map(|&i| &vd.globals[i])
    }

    fn type_change(&self, old: TypeId) -> Option<&'a upstare_meta::TypeChange> {
        let vd: &'a VersionDiff = self.vd;
        self.type_changes.get(&old).map(|&i| &vd.types[i])
    }

    pub(crate) fn view(&self, v: Ver) -> &View<'a> {
        match v {
            Ver::Old => &self.old,
            Ver::New => &self.new,
        }
    }

    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn text(&self, span: Span) -> &'a str {
        self.source.get(span.start..span.end).unwrap_or("")
    }

    // ------------------------------------------------------------ names

    /// Resolves a type name of the spec in version `ver`.
    pub(crate) fn ast_type(&mut self, t: &TypeName, ver: Ver) -> Option<CType> {
        let ver = t.version.unwrap_or(ver);
        if !t.args.is_empty() {
            self.err(
                Diagnostic::error(
                    Code::Misplaced,
                    "generic arguments are only for layout hints",
                )
                .label(t.span, "here"),
            );
            return None;
        }
        let mut ct = self.base_type(&t.base, ver, t.span)?;
        for _ in 0..t.ptrs {
            ct = cty::ptr(ct);
        }
        Some(ct)
    }

    fn base_type(&mut self, b: &TypeBase, ver: Ver, span: Span) -> Option<CType> {
        let view = self.view(ver);
        match b {
            TypeBase::Scalar(words) => {
                let ct = upstare_meta::ctype::parse(&words.join(" "));
                if let CType::Opaque(_) = ct {
                    self.err(
                        Diagnostic::error(
                            Code::UnknownType,
                            format!("`{}` is not a C type", words.join(" ")),
                        )
                        .label(span, "not a type"),
                    );
                    return None;
                }
                Some(ct)
            }
            TypeBase::Tagged { tag, name } => {
                let ct = match tag {
                    ast::Tag::Enum => return Some(CType::Enum(name.name.clone())),
                    ast::Tag::Struct => CType::Record {
                        union: false,
                        tag: name.name.clone(),
                    },
                    ast::Tag::Union => CType::Record {
                        union: true,
                        tag: name.name.clone(),
                    },
                };
                if view.record(&ct).is_some()
                    || upstare_meta::ctype::well_known_opaque_size(&ct).is_some()
                {
                    return Some(ct);
                }
                let full = b.to_string();
                let help = did_you_mean(&full, view.type_names());
                let mut d = Diagnostic::error(
                    Code::UnknownType,
                    format!("the {ver} version has no type `{full}`"),
                )
                .label(span, "unknown type");
                d.help = help;
                self.err(d);
                None
            }
            TypeBase::Named(n) => {
                if let Some(t) = cty::alias(&n.name) {
                    return Some(t);
                }
                if view.has_typedef(&n.name) || view.type_named(&n.name).is_some() {
                    return Some(view.resolve(None, &CType::Typedef(n.name.clone())));
                }
                if let Some(t) = upstare_meta::ctype::well_known(&n.name) {
                    return Some(t);
                }
                let td = CType::Typedef(n.name.clone());
                if upstare_meta::ctype::well_known_opaque_size(&td).is_some() {
                    return Some(td);
                }
                const WORDS: [&str; 20] = [
                    "unsigned", "signed", "char", "short", "int", "long", "float", "double",
                    "void", "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32", "f64",
                    "bool",
                ];
                let help = did_you_mean(&n.name, view.type_names().chain(WORDS));
                let mut d = Diagnostic::error(
                    Code::UnknownType,
                    format!("the {ver} version has no type `{}`", n.name),
                )
                .label(n.span, "unknown type");
                d.help = help;
                self.err(d);
                None
            }
        }
    }

    /// A global of version `ver` by key or unique name.
    pub(crate) fn global(&mut self, ver: Ver, key: &str, span: Span) -> Option<GlobalId> {
        match self.view(ver).global(key) {
            Lookup::Found(id) => Some(id),
            Lookup::Ambiguous(keys) => {
                self.err(
                    Diagnostic::error(
                        Code::Ambiguous,
                        format!("`{key}` names several globals of the {ver} version"),
                    )
                    .label(span, "ambiguous")
                    .help(format!("write one of their keys: {}", keys.join(", "))),
                );
                None
            }
            Lookup::Missing => {
                let help = did_you_mean(key, self.view(ver).global_words());
                let mut d = Diagnostic::error(
                    Code::UnknownGlobal,
                    format!("the {ver} version has no global `{key}`"),
                )
                .label(span, "unknown global");
                d.help = help;
                self.err(d);
                None
            }
        }
    }

    /// A function of version `ver` by name or `FILE/name`.
    pub(crate) fn function(&mut self, ver: Ver, key: &str, span: Span) -> Option<FuncId> {
        match self.view(ver).function(key) {
            Lookup::Found(id) => Some(id),
            Lookup::Ambiguous(keys) => {
                self.err(
                    Diagnostic::error(
                        Code::Ambiguous,
                        format!("`{key}` names several functions of the {ver} version"),
                    )
                    .label(span, "ambiguous")
                    .help(format!("write FILE/NAME: {}", keys.join(", "))),
                );
                None
            }
            Lookup::Missing => {
                let name = key.rsplit('/').next().unwrap_or(key);
                let help = did_you_mean(name, self.view(ver).function_names());
                let mut d = Diagnostic::error(
                    Code::UnknownFunction,
                    format!("the {ver} version has no function `{key}`"),
                )
                .label(span, "unknown function");
                d.help = help;
                self.err(d);
                None
            }
        }
    }

    fn point(&mut self, ver: Ver, func: FuncId, p: &ast::PointRef) -> Option<PointId> {
        let view = self.view(ver);
        if let Some(id) = view.point(func, &p.text) {
            return Some(id);
        }
        let f = &view.m.functions[func];
        let keys: Vec<String> = f
            .points
            .iter()
            .map(|&p| view.m.points[p].key.to_string())
            .collect();
        let malformed = p.text.parse::<PointKey>().is_err();
        let help = did_you_mean(&p.text, keys.iter().map(String::as_str)).or_else(|| {
            Some(if keys.is_empty() {
                format!("`{}` has no update points", f.name)
            } else {
                format!("its points are: {}", keys.join(", "))
            })
        });
        let msg = if malformed {
            format!("`{}` is not a point key", p.text)
        } else {
            format!("the {ver} `{}` has no point {}", f.name, p.text)
        };
        let mut d = Diagnostic::error(Code::UnknownPoint, msg).label(p.span, "unknown point");
        d.help = help;
        self.err(d);
        None
    }

    /// The record entry a rule head names (`struct foo`, `union u`, a typedef of a record).
    fn head_record(&mut self, t: &TypeName, ver: Ver) -> Option<TypeId> {
        let ct = self.ast_type(t, ver)?;
        let view = self.view(ver);
        match view.record(&ct) {
            Some(id) => Some(id),
            None => {
                self.err(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("`{t}` is not a struct or union of the {ver} version"),
                    )
                    .label(t.span, "rules apply to structs and unions")
                    .help("a global of this type has its own rule: `global NAME { ... }`"),
                );
                None
            }
        }
    }

    // ------------------------------------------------------------ correspondence

    /// The new type objects of old type `t` become (both resolved), when there is one.
    pub(crate) fn new_type_for(&self, t: &CType) -> Option<CType> {
        match t {
            CType::Pointer(inner) => Some(cty::ptr(self.new_type_for(inner)?)),
            CType::Array(inner, n) => Some(CType::Array(Box::new(self.new_type_for(inner)?), *n)),
            CType::Record { .. } | CType::Typedef(_) => match self.old.record(t) {
                Some(id) => {
                    let n = *self.type_map.get(&id)?;
                    Some(record_ctype(&self.new.m.types[n].name))
                }
                None => Some(t.clone()),
            },
            _ => Some(t.clone()),
        }
    }

    /// True when an old pointer to `o` may be relocated into a new pointer to `n`: the
    /// pointees correspond, or either is `void` or a function.
    pub(crate) fn corresponds_pointee(&self, o: &CType, n: &CType) -> bool {
        matches!(o, CType::Void | CType::Function) && o == n
            || self.new_type_for(o).as_ref() == Some(n)
    }

    /// True when an old value of type `o` converts automatically into a new one of type `n`
    /// (both resolved): numbers to numbers, pointers to pointers (migrated), records that
    /// correspond, arrays of corresponding elements, equal opaque types.
    pub(crate) fn corresponds(&self, o: &CType, n: &CType) -> bool {
        match (o, n) {
            (a, b) if cty::is_arith(a) && cty::is_arith(b) => true,
            (CType::Pointer(_), CType::Pointer(_)) => true,
            (CType::Array(a, _), CType::Array(b, _)) => self.corresponds(a, b),
            _ => self.new_type_for(o).as_ref() == Some(n),
        }
    }

    // ------------------------------------------------------------ the spec

    fn spec(&mut self, spec: &ast::Spec) -> checked::Spec {
        let mut out = checked::Spec::default();
        if let Some((v, span)) = spec.header {
            if v != LANGUAGE_VERSION {
                self.err(
                    Diagnostic::error(
                        Code::Version,
                        format!("this checker reads `.upd` language version {LANGUAGE_VERSION}, not {v}"),
                    )
                    .label(span, "unknown version"),
                );
            }
        }
        // Pass 1a: function renames (they change frame and call point correspondence).
        let mut seen_fn: Map<FuncId, Span> = Map::default();
        for item in &spec.items {
            if let Item::Function(f) = item {
                let o = self.function(Ver::Old, &f.old.text, f.old.span);
                let n = self.function(Ver::New, &f.new.text, f.new.span);
                let (Some(o), Some(n)) = (o, n) else { continue };
                if let Some(prev) = seen_fn.insert(o, f.span) {
                    self.duplicate(f.span, prev, "function");
                    continue;
                }
                let (on, nn) = (
                    self.old.m.functions[o].name.clone(),
                    self.new.m.functions[n].name.clone(),
                );
                if self.fn_map.get(&o) == Some(&n) {
                    self.err(
                        Diagnostic::warning(
                            Code::Unchanged,
                            format!("`{on}` already corresponds to `{nn}`"),
                        )
                        .label(f.span, "this rule changes nothing"),
                    );
                }
                self.fn_map.insert(o, n);
                if on != nn {
                    self.fn_renames.insert(on, nn);
                }
                out.functions.push(checked::FunctionMap {
                    old: o,
                    new: n,
                    origin: self.origin("function", f.span, &f.old.text),
                });
            }
        }
        // Pass 1b: type renames.
        for item in &spec.items {
            if let Item::Type(t) = item {
                if let Some(nt) = &t.new {
                    let o = self.head_record(&t.old, Ver::Old);
                    let n = self.head_record(nt, Ver::New);
                    if let (Some(o), Some(n)) = (o, n) {
                        self.type_map.insert(o, n);
                    }
                }
            }
        }
        // Pass 1c: the other heads.
        let mut heads = Vec::with_capacity(spec.items.len());
        let mut seen_type: Map<TypeId, Span> = Map::default();
        let mut seen_field: Map<(TypeId, u32), Span> = Map::default();
        let mut seen_global: Map<GlobalId, Span> = Map::default();
        let mut seen_frame: Map<PointId, Span> = Map::default();
        for (i, item) in spec.items.iter().enumerate() {
            let h = match item {
                Item::Type(t) => self.type_head(i, t, &mut seen_type),
                Item::Field(f) => self.field_head(i, f, &mut seen_field),
                Item::Global(g) => self.global_head(i, g, &mut seen_global),
                Item::Frame(f) => self.frame_head(i, f, &mut seen_frame),
                _ => None,
            };
            heads.push(h.unwrap_or(Head::Skip));
        }
        // Pass 2: bodies and the rest.
        let mut type_rules: Vec<checked::TypeRule> = Vec::new();
        let mut type_index: Map<(TypeId, TypeId), usize> = Map::default();
        for (item, head) in spec.items.iter().zip(&heads) {
            match (item, head) {
                (Item::Option(o), _) => self.option(o, &mut out.options),
                (Item::Type(t), Head::Type { old, new, .. }) => {
                    let body = t.body.as_ref().and_then(|b| {
                        let subj = Subject::Object {
                            old: Some(record_ctype(&self.old.m.types[*old].name)),
                            new: Some(record_ctype(&self.new.m.types[*new].name)),
                        };
                        BodyCx::new(self, subj).body(b)
                    });
                    let at = *type_index.entry((*old, *new)).or_insert_with(|| {
                        type_rules.push(checked::TypeRule {
                            origin: Origin {
                                name: format!("type {}", t.old),
                                span: t.span,
                            },
                            old: *old,
                            new: *new,
                            fields: Vec::new(),
                            body: None,
                        });
                        type_rules.len() - 1
                    });
                    type_rules[at].origin = Origin {
                        name: format!("type {}", t.old),
                        span: t.span,
                    };
                    type_rules[at].body = body;
                }
                (
                    Item::Field(f),
                    Head::Field {
                        old,
                        new,
                        old_field,
                        new_field,
                        ..
                    },
                ) => {
                    let body = f.body.as_ref().and_then(|b| {
                        let subj = Subject::Field {
                            old_rec: *old,
                            new_rec: *new,
                            old_field: *old_field,
                            new_field: *new_field,
                        };
                        BodyCx::new(self, subj).body(b)
                    });
                    if f.body.is_none() {
                        self.check_field_rename(f, *old, *new, *old_field, *new_field);
                    }
                    let at = *type_index.entry((*old, *new)).or_insert_with(|| {
                        type_rules.push(checked::TypeRule {
                            origin: Origin {
                                name: format!("type {}", f.ty),
                                span: f.span,
                            },
                            old: *old,
                            new: *new,
                            fields: Vec::new(),
                            body: None,
                        });
                        type_rules.len() - 1
                    });
                    let name = format!(
                        "{}field {}.{}",
                        if f.init { "init " } else { "" },
                        f.ty,
                        f.field.name
                    );
                    type_rules[at].fields.push(checked::FieldRule {
                        origin: Origin { name, span: f.span },
                        old_field: *old_field,
                        new_field: *new_field,
                        body,
                    });
                }
                (Item::Global(g), Head::Global { old, new, .. }) => {
                    let old_ty = old.map(|o| self.old.global_type(o));
                    let new_ty = self.new.global_type(*new);
                    let body = match &g.body {
                        Some(b) => {
                            let subj = Subject::Object {
                                old: old_ty.clone(),
                                new: Some(new_ty.clone()),
                            };
                            BodyCx::new(self, subj).body(b)
                        }
                        None => {
                            if g.init {
                                self.err(
                                    Diagnostic::error(
                                        Code::Misplaced,
                                        "an `init` rule needs a body",
                                    )
                                    .label(g.span, "no body")
                                    .help("write `init global NAME { new = ...; }`"),
                                );
                            } else if let Some(ot) = &old_ty {
                                if !self.corresponds(ot, &new_ty) {
                                    self.err(
                                        Diagnostic::error(
                                            Code::TypeMismatch,
                                            format!("old `{ot}` does not convert to new `{new_ty}` by itself"),
                                        )
                                        .label(g.span, "this rule needs a body")
                                        .help("write `{ new = ...; }`"),
                                    );
                                }
                            }
                            None
                        }
                    };
                    let name = match &g.new {
                        Some(n) => format!("global {} -> {}", g.old.text, n.text),
                        None => {
                            format!("{}global {}", if g.init { "init " } else { "" }, g.old.text)
                        }
                    };
                    out.globals.push(checked::GlobalRule {
                        origin: Origin { name, span: g.span },
                        old: *old,
                        new: *new,
                        body,
                    });
                }
                (
                    Item::Frame(f),
                    Head::Frame {
                        old_func,
                        old_point,
                        dest,
                        ..
                    },
                ) => {
                    if let checked::FrameDest::At { point, .. } = dest {
                        self.check_new_temporaries(f, *old_point, *point);
                    }
                    let body = match (&f.body, dest) {
                        (Some(b), checked::FrameDest::At { point, .. }) => {
                            let subj = Subject::Frame {
                                old: *old_point,
                                new: Some(*point),
                            };
                            BodyCx::new(self, subj).body(b)
                        }
                        (Some(b), checked::FrameDest::Wait) => {
                            self.err(
                                Diagnostic::error(
                                    Code::Misplaced,
                                    "a `wait` frame rule has no body",
                                )
                                .label(b.span, "nothing to transform: the update waits"),
                            );
                            None
                        }
                        (None, _) => None,
                    };
                    out.frames.push(checked::FrameRule {
                        origin: Origin {
                            name: format!("frame {} @ {}", f.old.func.text, f.old.point.text),
                            span: f.span,
                        },
                        old_func: *old_func,
                        old_point: *old_point,
                        dest: *dest,
                        body,
                    });
                }
                (Item::Thread(t), _) => {
                    let o = self.function(Ver::Old, &t.old.text, t.old.span);
                    let n = self.function(Ver::New, &t.new.text, t.new.span);
                    if let (Some(o), Some(n)) = (o, n) {
                        if self.old.m.functions[o].name == self.new.m.functions[n].name {
                            self.err(
                                Diagnostic::warning(
                                    Code::Unchanged,
                                    format!(
                                        "threads of `{}` already restart in the new `{}`",
                                        t.old.text, t.new.text
                                    ),
                                )
                                .label(t.span, "this rule changes nothing"),
                            );
                        }
                        out.threads.push(checked::ThreadRule {
                            origin: self.origin("thread", t.span, &t.old.text),
                            old: o,
                            new: n,
                        });
                    }
                }
                (Item::Layout(l), _) => {
                    if let Some(l) = self.layout(l) {
                        out.layouts.push(l);
                    }
                }
                (Item::Assert(a), _) => {
                    let mut cx = BodyCx::new(self, Subject::None);
                    let cond = cx.scalar_expr(&a.cond, "an assert condition");
                    let message = cx.assert_message(a);
                    if let Some(cond) = cond {
                        out.asserts.push(checked::Assert {
                            origin: Origin {
                                name: format!("assert {}", self.text(a.cond.span)),
                                span: a.span,
                            },
                            cond,
                            message,
                        });
                    }
                }
                _ => {}
            }
        }
        out.types = type_rules;
        self.coverage(spec, &heads);
        self.untyped_pointers(&out.layouts);
        out
    }

    /// A warning, when some struct changed, naming the `void *` fields and globals of the old
    /// version that no layout hint covers: the heap traversal does not follow them, and the
    /// runtime refuses an update in which one leads to an object that may be of a changed
    /// type.
    fn untyped_pointers(&mut self, layouts: &[checked::Layout]) {
        let changed = self
            .vd
            .types
            .iter()
            .any(|t| matches!(t.status, TypeStatus::Changed { .. }));
        if !changed {
            return;
        }
        let mut fields: Set<(TypeId, u32)> = Set::default();
        let mut globals: Set<GlobalId> = Set::default();
        for l in layouts {
            match &l.target {
                checked::LayoutTarget::Type { ty, fields: hints } => {
                    fields.extend(hints.iter().map(|h| (*ty, h.field)));
                }
                checked::LayoutTarget::Global { global, .. } => {
                    globals.insert(*global);
                }
            }
        }
        let m = self.old.m;
        let void_ptr = |text: &str| matches!(m.resolve(&upstare_meta::ctype::parse(text)), CType::Pointer(p) if *p == CType::Void);
        let mut names = Vec::new();
        for (id, t) in m.types.iter() {
            if !t.name.starts_with("struct ") {
                continue;
            }
            for (i, f) in t.fields.iter().enumerate() {
                if void_ptr(&f.ty) && !fields.contains(&(id, i as u32)) {
                    names.push(format!("`{}.{}`", t.name, f.name));
                }
            }
        }
        for (id, g) in m.globals.iter() {
            if !globals.contains(&id) && void_ptr(&g.ty) {
                names.push(format!("global `{}`", g.key));
            }
        }
        if names.is_empty() {
            return;
        }
        const SHOWN: usize = 8;
        let more = names.len().saturating_sub(SHOWN);
        names.truncate(SHOWN);
        let mut list = names.join(", ");
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        self.err(
            Diagnostic::warning(
                Code::UntypedPointer,
                format!("the heap traversal does not follow these `void *` pointers: {list}"),
            )
            .help("if one can hold an object of a changed type, say which (`layout struct S { f: T*; }`, `layout global g: T*;`) or that it holds none (`opaque`); otherwise the update is refused when it meets one"),
        );
    }

    fn origin(&self, kind: &str, span: Span, what: &str) -> Origin {
        Origin {
            name: format!("{kind} {what}"),
            span,
        }
    }

    fn duplicate(&mut self, span: Span, prev: Span, what: &str) {
        self.err(
            Diagnostic::error(
                Code::Duplicate,
                format!("a second {what} rule for the same thing"),
            )
            .label(span, "this rule")
            .label(prev, "repeats this one"),
        );
    }

    fn option(&mut self, o: &ast::OptionItem, opts: &mut checked::Options) {
        use ast::OptionValue as V;
        let bad = |want: &str| {
            Diagnostic::error(
                Code::BadOption,
                format!("option `{}` takes {want}", o.name.name),
            )
            .label(o.value_span, "wrong kind of value")
        };
        match o.name.name.as_str() {
            "deadline" | "quiesce" => {
                let V::Duration(us) = o.value else {
                    self.err(bad("a duration such as `200ms`, `2s` or `500us`"));
                    return;
                };
                if o.name.name == "deadline" {
                    opts.deadline_us = Some(us);
                } else {
                    opts.quiesce_us = Some(us);
                }
            }
            "heap" => match &o.value {
                V::Word(w) if w == "traverse" => opts.heap = Some(checked::HeapMode::Traverse),
                V::Word(w) if w == "none" => opts.heap = Some(checked::HeapMode::None),
                _ => self.err(bad("`traverse` or `none`")),
            },
            other => {
                let mut d = Diagnostic::error(Code::BadOption, format!("unknown option `{other}`"))
                    .label(o.name.span, "unknown option");
                d.help = did_you_mean(other, ["deadline", "quiesce", "heap"])
                    .or_else(|| Some("the options are: deadline, quiesce, heap".into()));
                self.err(d);
            }
        }
    }

    fn type_head(
        &mut self,
        i: usize,
        t: &ast::TypeRule,
        seen: &mut Map<TypeId, Span>,
    ) -> Option<Head> {
        let old = self.head_record(&t.old, Ver::Old)?;
        let new = match &t.new {
            Some(n) => self.head_record(n, Ver::New)?,
            None => match self.type_map.get(&old) {
                Some(&n) => n,
                None => {
                    self.err(
                        Diagnostic::error(
                            Code::UnknownType,
                            format!("the new version has no type `{}`", t.old),
                        )
                        .label(t.old.span, "gone in the new version")
                        .help(format!(
                            "name what it becomes: `type {} -> NEW {{ ... }}`",
                            t.old
                        )),
                    );
                    return None;
                }
            },
        };
        if let Some(prev) = seen.insert(old, t.span) {
            self.duplicate(t.span, prev, "type");
            return None;
        }
        if t.body.is_none() && t.new.is_none() {
            self.err(
                Diagnostic::warning(
                    Code::Unchanged,
                    format!("`type {}` without a body does nothing", t.old),
                )
                .label(t.span, "no body and no new name"),
            );
        }
        Some(Head::Type { rule: i, old, new })
    }

    fn field_head(
        &mut self,
        i: usize,
        f: &ast::FieldRule,
        seen: &mut Map<(TypeId, u32), Span>,
    ) -> Option<Head> {
        // `init field T.f`: T names the new type; otherwise T is the old type.
        let (old, new) = if f.init {
            let new = self.head_record(&f.ty, Ver::New)?;
            let old = self
                .type_map
                .iter()
                .find(|(_, &n)| n == new)
                .map(|(&o, _)| o);
            let Some(old) = old else {
                self.err(
                    Diagnostic::error(Code::UnknownType, format!("no old type becomes `{}`", f.ty))
                        .label(f.ty.span, "new type without an old counterpart")
                        .help("objects of a brand-new type are made by the new code, not migrated"),
                );
                return None;
            };
            (old, new)
        } else {
            let old = self.head_record(&f.ty, Ver::Old)?;
            let new = match f.target.as_ref().and_then(|(t, _)| t.as_ref()) {
                Some(t) => self.head_record(t, Ver::New)?,
                None => match self.type_map.get(&old) {
                    Some(&n) => n,
                    None => {
                        self.err(
                            Diagnostic::error(
                                Code::UnknownType,
                                format!("the new version has no type `{}`", f.ty),
                            )
                            .label(f.ty.span, "gone in the new version")
                            .help("name the new type: `field OLD.f -> NEW.g { ... }`"),
                        );
                        return None;
                    }
                },
            };
            (old, new)
        };
        let field_index = |m: &Module, t: TypeId, name: &str| {
            m.types[t]
                .fields
                .iter()
                .position(|x| x.name == name)
                .map(|p| p as u32)
        };
        let unknown = |ck: &mut Checker, ver: Ver, t: TypeId, name: &ast::Ident| {
            let m = ck.view(ver).m;
            let help = did_you_mean(
                &name.name,
                m.types[t].fields.iter().map(|f| f.name.as_str()),
            );
            let mut d = Diagnostic::error(
                Code::UnknownField,
                format!("{ver} `{}` has no field `{}`", m.types[t].name, name.name),
            )
            .label(name.span, "unknown field");
            d.help = help;
            ck.err(d);
        };
        let new_name = f.target.as_ref().map_or(&f.field, |(_, n)| n);
        let old_field = if f.init {
            None
        } else {
            match field_index(self.old.m, old, &f.field.name) {
                Some(x) => Some(x),
                None => {
                    unknown(self, Ver::Old, old, &f.field);
                    return None;
                }
            }
        };
        let new_field = match field_index(self.new.m, new, &new_name.name) {
            Some(x) => x,
            None => {
                unknown(self, Ver::New, new, new_name);
                return None;
            }
        };
        if f.init && f.body.is_none() {
            self.err(
                Diagnostic::error(Code::Misplaced, "an `init` rule needs a body")
                    .label(f.span, "no body")
                    .help("write `init field T.f { new = ...; }`"),
            );
            return None;
        }
        if let Some(prev) = seen.insert((new, new_field), f.span) {
            self.duplicate(f.span, prev, "field");
            return None;
        }
        Some(Head::Field {
            rule: i,
            old,
            new,
            old_field,
            new_field,
        })
    }

    /// A field rule without a body converts the old field: the types must correspond.
    fn check_field_rename(
        &mut self,
        f: &ast::FieldRule,
        old: TypeId,
        new: TypeId,
        old_field: Option<u32>,
        new_field: u32,
    ) {
        let Some(of) = old_field else { return };
        let ot = &self.old.m.types[old].fields[of as usize];
        let nt = &self.new.m.types[new].fields[new_field as usize];
        let (a, b) = (
            self.old.parse_type(None, &ot.ty),
            self.new.parse_type(None, &nt.ty),
        );
        if !self.corresponds(&a, &b) {
            self.err(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!("old `{a}` does not convert to new `{b}` by itself"),
                )
                .label(f.span, "this rule needs a body")
                .help("write `{ new = ...; }`"),
            );
        }
    }

    fn global_head(
        &mut self,
        i: usize,
        g: &ast::GlobalRule,
        seen: &mut Map<GlobalId, Span>,
    ) -> Option<Head> {
        let (old, new) = if g.init {
            if let Some(n) = &g.new {
                self.err(
                    Diagnostic::error(Code::Misplaced, "an `init` rule names one new global")
                        .label(n.span, "remove `-> ...`"),
                );
                return None;
            }
            (None, self.global(Ver::New, &g.old.text, g.old.span)?)
        } else {
            let o = self.global(Ver::Old, &g.old.text, g.old.span);
            let target: &Key = g.new.as_ref().unwrap_or(&g.old);
            let n = self.new_global_for(o, target, g.new.is_none());
            (Some(o?), n?)
        };
        if let Some(prev) = seen.insert(new, g.span) {
            self.duplicate(g.span, prev, "global");
            return None;
        }
        Some(Head::Global { rule: i, old, new })
    }

    /// The new global of a rule: the named one, or (`global a` without a new name) the diff's
    /// counterpart of the old one, else the same key.
    fn new_global_for(&mut self, old: Option<GlobalId>, key: &Key, same: bool) -> Option<GlobalId> {
        if same {
            if let Some(o) = old {
                if let Some(n) = self.global_change(o).and_then(|c| c.new) {
                    return Some(n);
                }
            }
        }
        match self.view(Ver::New).global(&key.text) {
            Lookup::Found(id) => Some(id),
            _ if same && old.is_some() => {
                self.err(
                    Diagnostic::error(
                        Code::UnknownGlobal,
                        format!("the new version has no global `{}`", key.text),
                    )
                    .label(key.span, "gone in the new version")
                    .help(format!(
                        "name what it becomes: `global {} -> NEW {{ ... }}`",
                        key.text
                    )),
                );
                None
            }
            _ => self.global(Ver::New, &key.text, key.span),
        }
    }

    /// The default new point of an old point: the corresponding function's point with the same
    /// key, where a call to a renamed function counts as the call to its new name.
    fn default_point(&self, old_point: PointId) -> Option<(FuncId, PointId)> {
        let op = &self.old.m.points[old_point];
        let nf = *self.fn_map.get(&op.function)?;
        let key = match &op.key {
            PointKey::Call {
                callee: Callee::Named(c),
                nth,
            } => match self.fn_renames.get(c) {
                Some(n) => PointKey::Call {
                    callee: Callee::Named(n.clone()),
                    nth: *nth,
                },
                None => op.key.clone(),
            },
            k => k.clone(),
        };
        let np = self.new.m.functions[nf]
            .points
            .iter()
            .copied()
            .find(|&p| self.new.m.points[p].key == key)?;
        Some((nf, np))
    }

    fn frame_head(
        &mut self,
        i: usize,
        f: &ast::FrameRule,
        seen: &mut Map<PointId, Span>,
    ) -> Option<Head> {
        let of = self.function(Ver::Old, &f.old.func.text, f.old.func.span)?;
        let op = self.point(Ver::Old, of, &f.old.point)?;
        let dest = match &f.dest {
            ast::FrameDest::Wait(_) => checked::FrameDest::Wait,
            ast::FrameDest::At(at) => {
                let nf = self.function(Ver::New, &at.func.text, at.func.span)?;
                let np = self.point(Ver::New, nf, &at.point)?;
                checked::FrameDest::At {
                    func: nf,
                    point: np,
                }
            }
            ast::FrameDest::Point(p) => {
                let Some(&nf) = self.fn_map.get(&of) else {
                    self.err(
                        Diagnostic::error(
                            Code::UnknownFunction,
                            format!(
                                "`{}` has no counterpart in the new version",
                                f.old.func.text
                            ),
                        )
                        .label(p.span, "`-> @ POINT` needs the same function")
                        .help("name the new function: `-> NEW @ POINT`"),
                    );
                    return None;
                };
                let np = self.point(Ver::New, nf, p)?;
                checked::FrameDest::At {
                    func: nf,
                    point: np,
                }
            }
        };
        if let Some(prev) = seen.insert(op, f.span) {
            self.duplicate(f.span, prev, "frame");
            return None;
        }
        Some(Head::Frame {
            rule: i,
            old_func: of,
            old_point: op,
            dest,
        })
    }

    // ------------------------------------------------------------ layouts

    fn layout(&mut self, l: &ast::Layout) -> Option<checked::Layout> {
        match &l.target {
            ast::LayoutTarget::Global { key, hint } => {
                let g = self.global(Ver::Old, &key.text, key.span)?;
                let ty = self.old.global_type(g);
                let h = self.hint(hint, &ty, &ty, &[])?;
                Some(checked::Layout {
                    origin: self.origin("layout global", l.span, &key.text),
                    target: checked::LayoutTarget::Global { global: g, hint: h },
                    params: 0,
                })
            }
            ast::LayoutTarget::Type { ty, params, fields } => {
                let rec = self.head_record(ty, Ver::Old)?;
                let rec_ty = record_ctype(&self.old.m.types[rec].name);
                let pnames: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                let mut out = Vec::new();
                let mut seen: Set<&str> = Set::default();
                let mut ok = true;
                for f in fields {
                    if !seen.insert(&f.name.name) {
                        self.err(
                            Diagnostic::error(
                                Code::Duplicate,
                                format!("two hints for field `{}`", f.name.name),
                            )
                            .label(f.span, "second hint"),
                        );
                        ok = false;
                        continue;
                    }
                    let t = &self.old.m.types[rec];
                    let Some(idx) = t.fields.iter().position(|x| x.name == f.name.name) else {
                        let help =
                            did_you_mean(&f.name.name, t.fields.iter().map(|x| x.name.as_str()));
                        let mut d = Diagnostic::error(
                            Code::UnknownField,
                            format!("old `{}` has no field `{}`", t.name, f.name.name),
                        )
                        .label(f.name.span, "unknown field");
                        d.help = help;
                        self.err(d);
                        ok = false;
                        continue;
                    };
                    let field = &t.fields[idx];
                    let offset = match field.layout {
                        upstare_meta::FieldLayout::Bytes { offset, .. } => offset,
                        upstare_meta::FieldLayout::Bits { .. } => {
                            self.err(
                                Diagnostic::error(Code::BadHint, "a bit-field holds no pointer")
                                    .label(f.span, "bit-field"),
                            );
                            ok = false;
                            continue;
                        }
                    };
                    let fty = self.old.parse_type(None, &field.ty);
                    match self.hint(&f.hint, &fty, &rec_ty, &pnames) {
                        Some(h) => out.push(checked::FieldHint {
                            field: idx as u32,
                            offset,
                            hint: h,
                        }),
                        None => ok = false,
                    }
                }
                ok.then(|| checked::Layout {
                    origin: Origin {
                        name: format!("layout {ty}"),
                        span: l.span,
                    },
                    target: checked::LayoutTarget::Type {
                        ty: rec,
                        fields: out,
                    },
                    params: params.len() as u32,
                })
            }
        }
    }

    /// Checks a hint for a value of old type `ty` inside an object of old type `outer`.
    fn hint(
        &mut self,
        h: &ast::Hint,
        ty: &CType,
        outer: &CType,
        params: &[&str],
    ) -> Option<checked::Hint> {
        use ast::HintKind as K;
        let bad =
            |msg: String, label: String| Diagnostic::error(Code::BadHint, msg).label(h.span, label);
        let is_ptr = matches!(ty, CType::Pointer(_));
        match &h.kind {
            K::Opaque => Some(checked::Hint::Opaque),
            K::Plain => Some(checked::Hint::Plain),
            K::Str => {
                if !matches!(ty, CType::Pointer(inner) if matches!(**inner, CType::Int { bytes: 1, .. } | CType::Void))
                {
                    self.err(bad(
                        format!("`string` needs a `char *`, not `{ty}`"),
                        "not a char pointer".into(),
                    ));
                    return None;
                }
                Some(checked::Hint::Str)
            }
            K::FnPtr => {
                if !is_ptr {
                    self.err(bad(
                        format!("`fnptr` needs a pointer, not `{ty}`"),
                        "not a pointer".into(),
                    ));
                    return None;
                }
                Some(checked::Hint::FnPtr)
            }
            K::Ptr { ty: ht, len } => {
                if !is_ptr {
                    self.err(bad(
                        format!("a pointer hint needs a pointer, not `{ty}`"),
                        "not a pointer".into(),
                    ));
                    return None;
                }
                if ht.ptrs == 0 {
                    self.err(
                        bad(format!("`{ht}` is not a pointer type"), "add `*`".into())
                            .help(format!("write `{ht}*` for a pointer to one `{ht}`")),
                    );
                    return None;
                }
                let pointee = self.pointee(ht, params, ht.ptrs - 1)?;
                // A hint names the pointee of a `void *`; on a typed pointer it can only say
                // how many there are, so it must repeat the declared pointee.
                if let (CType::Pointer(declared), checked::Pointee::Type { ty: hinted, .. }) =
                    (self.old.m.resolve(ty), &pointee)
                {
                    if *declared != CType::Void && self.old.m.resolve(hinted) != *declared {
                        self.err(
                            bad(
                                format!("the field points to `{declared}`, not `{hinted}`"),
                                "another pointee".into(),
                            )
                            .help(format!(
                                "a pointer hint gives a `void *` its pointee; on this field write `{declared}*` (with `[len]` for a count)"
                            )),
                        );
                        return None;
                    }
                }
                let len = match len {
                    None => checked::PtrLen::One,
                    Some(ast::HintLen::Nul(_)) => checked::PtrLen::Nul,
                    Some(ast::HintLen::Expr(e)) => {
                        let mut cx = BodyCx::new(self, Subject::Hint { old: outer.clone() });
                        checked::PtrLen::Count(cx.integer_expr(e, "an array length")?)
                    }
                };
                Some(checked::Hint::Ptr { pointee, len })
            }
            K::Case(arms) => {
                let union_rec = match ty {
                    CType::Record { union: true, .. } => self.old.record(ty),
                    _ => None,
                };
                let mut out = Vec::new();
                for arm in arms {
                    let cond = match &arm.cond {
                        None => None,
                        Some(c) => {
                            let mut cx = BodyCx::new(self, Subject::Hint { old: outer.clone() });
                            Some(cx.scalar_expr(c, "a case condition")?)
                        }
                    };
                    let (member, mty) = match &arm.member {
                        None => (None, ty.clone()),
                        Some(m) => {
                            let Some(rec) = union_rec else {
                                self.err(
                                    Diagnostic::error(
                                        Code::BadHint,
                                        format!(
                                            "`{ty}` is not a union: it has no member `{}`",
                                            m.name
                                        ),
                                    )
                                    .label(m.span, "not a union member"),
                                );
                                return None;
                            };
                            let t = &self.old.m.types[rec];
                            let Some(idx) = t.fields.iter().position(|x| x.name == m.name) else {
                                let help =
                                    did_you_mean(&m.name, t.fields.iter().map(|x| x.name.as_str()));
                                let mut d = Diagnostic::error(
                                    Code::UnknownField,
                                    format!("old `{}` has no member `{}`", t.name, m.name),
                                )
                                .label(m.span, "unknown member");
                                d.help = help;
                                self.err(d);
                                return None;
                            };
                            let f = &t.fields[idx];
                            let off = match f.layout {
                                upstare_meta::FieldLayout::Bytes { offset, .. } => offset,
                                upstare_meta::FieldLayout::Bits { .. } => 0,
                            };
                            (Some((idx as u32, off)), self.old.parse_type(None, &f.ty))
                        }
                    };
                    let hint = match &arm.hint {
                        Some(hh) => self.hint(hh, &mty, outer, params)?,
                        None => checked::Hint::Plain,
                    };
                    out.push(checked::CaseArm { cond, member, hint });
                }
                if union_rec.is_none() && !is_ptr {
                    self.err(bad(
                        format!("`case` needs a union or a `void *`, not `{ty}`"),
                        "not a union".into(),
                    ));
                    return None;
                }
                Some(checked::Hint::Case(out))
            }
        }
    }

    /// What a pointer hint's type points to (`ptrs` stars of the written type remain).
    fn pointee(&mut self, t: &TypeName, params: &[&str], ptrs: u32) -> Option<checked::Pointee> {
        if let TypeBase::Named(n) = &t.base {
            if let Some(i) = params.iter().position(|p| *p == n.name) {
                if ptrs > 0 || !t.args.is_empty() {
                    self.err(
                        Diagnostic::error(Code::BadHint, "a generic parameter is used as `T*`")
                            .label(t.span, "here"),
                    );
                    return None;
                }
                return Some(checked::Pointee::Param(i as u32));
            }
        }
        let bare = TypeName {
            version: Some(Ver::Old),
            base: t.base.clone(),
            args: Vec::new(),
            ptrs,
            span: t.span,
        };
        let ct = self.ast_type(&bare, Ver::Old)?;
        let mut args = Vec::new();
        for a in &t.args {
            if a.ptrs > 0 {
                args.push(self.pointee(a, params, a.ptrs - 1).map(|p| match p {
                    checked::Pointee::Type {
                        ty,
                        record,
                        size,
                        args,
                    } => checked::Pointee::Type {
                        ty: cty::ptr(ty),
                        record,
                        size: size.map(|_| 8),
                        args,
                    },
                    other => other,
                })?);
            } else {
                args.push(self.pointee(a, params, 0)?);
            }
        }
        Some(checked::Pointee::Type {
            record: self.old.record(&ct),
            size: self.old.size_of(&ct),
            ty: ct,
            args,
        })
    }

    // ------------------------------------------------------------ coverage

    fn coverage(&mut self, spec: &ast::Spec, heads: &[Head]) {
        let mut ruled_globals_old: Set<GlobalId> = Set::default();
        let mut ruled_globals_new: Set<GlobalId> = Set::default();
        let mut ruled_types: Set<TypeId> = Set::default();
        let mut ruled_fields: Set<(TypeId, String)> = Set::default();
        let mut ruled_points: Set<PointId> = Set::default();
        for h in heads {
            match h {
                Head::Global { old, new, .. } => {
                    if let Some(o) = old {
                        ruled_globals_old.insert(*o);
                    }
                    ruled_globals_new.insert(*new);
                }
                Head::Type { old, rule, .. } => {
                    if let Item::Type(t) = &spec.items[*rule] {
                        if t.body.is_some() {
                            ruled_types.insert(*old);
                        }
                    }
                }
                Head::Field {
                    old,
                    new,
                    new_field,
                    ..
                } => {
                    let name = self.new.m.types[*new].fields[*new_field as usize]
                        .name
                        .clone();
                    ruled_fields.insert((*old, name));
                }
                Head::Frame { old_point, .. } => {
                    ruled_points.insert(*old_point);
                }
                Head::Skip => {}
            }
        }
        // Warnings: rules for things that did not change.
        for h in heads {
            match h {
                Head::Type { rule, old, new } => {
                    let Item::Type(t) = &spec.items[*rule] else {
                        continue;
                    };
                    let same = self
                        .type_change(*old)
                        .is_some_and(|c| c.new == Some(*new) && c.status == TypeStatus::Same);
                    if same {
                        self.err(
                            Diagnostic::warning(
                                Code::Unchanged,
                                format!("`{}` did not change between the versions", t.old),
                            )
                            .label(
                                head_span(t.span, t.body.as_ref()),
                                "this rule replaces an automatic copy",
                            )
                            .help("remove it unless the values themselves must change"),
                        );
                    }
                }
                Head::Field {
                    rule,
                    old,
                    new,
                    old_field: Some(of),
                    new_field,
                } => {
                    let Item::Field(f) = &spec.items[*rule] else {
                        continue;
                    };
                    let ofd = &self.old.m.types[*old].fields[*of as usize];
                    let nfd = &self.new.m.types[*new].fields[*new_field as usize];
                    let same_type =
                        self.old.parse_type(None, &ofd.ty) == self.new.parse_type(None, &nfd.ty);
                    if ofd.name == nfd.name && same_type && f.body.is_some() {
                        self.err(
                            Diagnostic::warning(
                                Code::Unchanged,
                                format!("field `{}` of `{}` did not change", ofd.name, f.ty),
                            )
                            .label(
                                head_span(f.span, f.body.as_ref()),
                                "this rule replaces an automatic copy",
                            )
                            .help("remove it unless the values themselves must change"),
                        );
                    }
                }
                Head::Global {
                    rule,
                    old: Some(o),
                    new,
                } => {
                    let Item::Global(g) = &spec.items[*rule] else {
                        continue;
                    };
                    let unchanged = self.global_change(*o).is_some_and(|c| {
                        c.new == Some(*new)
                            && match &c.transfer {
                                Transfer::Copy => true,
                                Transfer::Convert(conv) => conv.is_identity(),
                                _ => false,
                            }
                    });
                    if unchanged {
                        let what = if g.body.is_some() {
                            "this rule replaces an automatic copy"
                        } else {
                            "this rule changes nothing"
                        };
                        self.err(
                            Diagnostic::warning(
                                Code::Unchanged,
                                format!(
                                    "global `{}` did not change between the versions",
                                    g.old.text
                                ),
                            )
                            .label(head_span(g.span, g.body.as_ref()), what)
                            .help("remove it unless the value itself must change"),
                        );
                    }
                }
                Head::Frame {
                    rule,
                    old_point,
                    dest: checked::FrameDest::At { func, point },
                    ..
                } => {
                    let Item::Frame(f) = &spec.items[*rule] else {
                        continue;
                    };
                    if self.default_point(*old_point) == Some((*func, *point))
                        && self.same_record(*old_point, *point)
                        && f.body.is_none()
                    {
                        self.err(
                            Diagnostic::warning(
                                Code::Unchanged,
                                format!(
                                    "frames of `{}` at {} resume there anyway",
                                    f.old.func.text, f.old.point.text
                                ),
                            )
                            .label(f.span, "this rule changes nothing"),
                        );
                    }
                }
                _ => {}
            }
        }
        self.caller_chains(spec, heads);
        // Errors: changes that need a rule and have none.
        let vd = self.vd;
        for c in &vd.globals {
            let Transfer::NeedsRule(why) = &c.transfer else {
                continue;
            };
            let covered = c.old.is_some_and(|o| ruled_globals_old.contains(&o))
                || c.new.is_some_and(|n| ruled_globals_new.contains(&n))
                || matches!((c.old, c.new), (Some(o), Some(n)) if self.converts_by_type_rules(o, n));
            if covered {
                continue;
            }
            let key = c
                .old
                .map(|o| self.old.m.globals[o].key.clone())
                .or_else(|| c.new.map(|n| self.new.m.globals[n].key.clone()))
                .unwrap_or_default();
            self.err(
                Diagnostic::error(
                    Code::MissingRule,
                    format!("global `{key}` changed and needs a rule: {why}"),
                )
                .help(format!("add `global {key} {{ new = ...; }}`")),
            );
        }
        for c in &vd.types {
            let TypeStatus::Changed {
                retyped_fields,
                conv: None,
                ..
            } = &c.status
            else {
                continue;
            };
            let Some(old) = c.old else { continue };
            if ruled_types.contains(&old) {
                continue;
            }
            let open: Vec<&str> = retyped_fields
                .iter()
                .filter(|(f, a, b)| {
                    !ruled_fields.contains(&(old, f.clone())) && !self.field_converts(a, b)
                })
                .map(|(f, ..)| f.as_str())
                .collect();
            if open.is_empty() && !retyped_fields.is_empty() {
                continue;
            }
            let fields = if open.is_empty() {
                String::new()
            } else {
                format!(" (fields {})", open.join(", "))
            };
            self.err(
                Diagnostic::error(
                    Code::MissingRule,
                    format!("`{}` changed and its objects need a rule{fields}", c.name),
                )
                .help(format!(
                    "add `type {} {{ ... }}` or a `field {}.NAME {{ ... }}` rule per field",
                    c.name, c.name
                )),
            );
        }
        for fc in &vd.functions {
            let Some(of) = fc.old else { continue };
            let func = &self.old.m.functions[of];
            if func.flags.not_updatable {
                continue;
            }
            for pc in &fc.points {
                if ruled_points.contains(&pc.old) {
                    continue;
                }
                // A `function` rule may give the point a counterpart the diff did not see.
                let why = match (&pc.frame, self.default_point(pc.old)) {
                    (Ok(_), _) => continue,
                    (Err(_), Some((_, np))) if Some(np) != pc.new => {
                        match self.frame_converts(pc.old, np) {
                            Ok(()) => continue,
                            Err(w) => w,
                        }
                    }
                    (Err(w), _) => w.clone(),
                };
                let key = &self.old.m.points[pc.old].key;
                let name = func.name.clone();
                self.err(
                    Diagnostic::error(
                        Code::UnmappedFrame,
                        format!("a frame of `{name}` stopped at {key} has nowhere to resume: {why}"),
                    )
                    .help(format!(
                        "add `frame {name} @ {key} -> NEW @ POINT {{ ... }}`, or `-> wait;` to update only when no frame is there"
                    )),
                );
            }
        }
    }

    /// True when the diff converts a field of old type text `a` to new type text `b`
    /// automatically (a widening of the same signedness, or the same type).
    fn field_converts(&self, a: &'a str, b: &'a str) -> bool {
        let (a, b) = (self.old.parse_type(None, a), self.new.parse_type(None, b));
        match (a.int_repr(), b.int_repr()) {
            (Some((ab, asg)), Some((bb, bsg))) => {
                bb >= ab && asg == bsg && !matches!(b, CType::Bool)
            }
            _ => match (&a, &b) {
                (CType::Float { bytes: x }, CType::Float { bytes: y }) => y >= x,
                _ => self.new_type_for(&a).as_ref() == Some(&b),
            },
        }
    }

    /// A compiler temporary of the new record holds the result of the call being re-executed;
    /// one with no old counterpart must be set by the rule, or the resumed code reads garbage.
    fn check_new_temporaries(&mut self, f: &ast::FrameRule, op: PointId, np: PointId) {
        let mut assigned = Set::default();
        if let Some(b) = &f.body {
            assigned_new_fields(&b.stmts, &mut assigned);
        }
        let (old_pt, new_pt) = (&self.old.m.points[op], &self.new.m.points[np]);
        let missing: Vec<String> = new_pt
            .locals
            .iter()
            .filter(|l| l.flags.temporary)
            .filter(|l| !old_pt.locals.iter().any(|o| o.name == l.name))
            .filter(|l| !assigned.contains(l.name.as_str()))
            .map(|l| format!("`{}`", l.name))
            .collect();
        if !missing.is_empty() {
            self.err(
                Diagnostic::error(
                    Code::UnmappedFrame,
                    format!(
                        "the new frame's temporaries {} have no value: the old frame has no counterpart",
                        missing.join(", ")
                    ),
                )
                .label(head_span(f.span, f.body.as_ref()), "resumes at a point that reads them")
                .help("set them in the body (`new.NAME = ...;`), or resume at another point"),
            );
        }
    }

    /// A frame is rebuilt by its caller re-executing the call at its own point: a frame moved
    /// to another function `G` needs every caller's point `call:F#n` to resume at a call of `G`
    /// (or an indirect call), else the rebuilt frame would be the wrong function's.
    fn caller_chains(&mut self, spec: &ast::Spec, heads: &[Head]) {
        let mut moved: Map<String, (String, Span)> = Map::default();
        let mut dest_of: Map<PointId, Option<PointId>> = Map::default();
        for h in heads {
            if let Head::Frame {
                rule,
                old_func,
                old_point,
                dest,
            } = h
            {
                let np = match dest {
                    checked::FrameDest::At { func, point } => {
                        if self.fn_map.get(old_func) != Some(func) {
                            let (o, n) = (
                                self.old.m.functions[*old_func].name.clone(),
                                self.new.m.functions[*func].name.clone(),
                            );
                            moved.insert(o, (n, spec.items[*rule].span()));
                        }
                        Some(*point)
                    }
                    checked::FrameDest::Wait => None,
                };
                dest_of.insert(*old_point, np);
            }
        }
        if moved.is_empty() {
            return;
        }
        for (op, pt) in self.old.m.points.iter() {
            let PointKey::Call {
                callee: Callee::Named(callee),
                ..
            } = &pt.key
            else {
                continue;
            };
            let Some((target, span)) = moved.get(callee.as_str()) else {
                continue;
            };
            let np = match dest_of.get(&op) {
                Some(d) => *d,
                None => self.default_point(op).map(|(_, p)| p),
            };
            let Some(np) = np else { continue };
            let ok = match &self.new.m.points[np].key {
                PointKey::Call {
                    callee: Callee::Named(c),
                    ..
                } => c == target,
                PointKey::Call {
                    callee: Callee::Indirect,
                    ..
                } => true,
                _ => false,
            };
            if !ok {
                let caller = self.old.m.functions[pt.function].name.clone();
                let new_key = self.new.m.points[np].key.to_string();
                self.err(
                    Diagnostic::error(
                        Code::UnmappedFrame,
                        format!(
                            "frames of `{callee}` resume in `{target}`, but its caller `{caller}` at {} resumes at {new_key}, which does not call `{target}`",
                            pt.key
                        ),
                    )
                    .label(*span, format!("moves frames of `{callee}` to `{target}`"))
                    .help(format!(
                        "add `frame {caller} @ {} -> @ call:{target}#N;` (or `function {callee} -> {target};`)",
                        pt.key
                    )),
                );
            }
        }
    }

    /// True when a global's value is records (or arrays of them) whose types correspond: it
    /// converts with the type's rules, and the type's own coverage is checked on its own.
    fn converts_by_type_rules(&self, o: GlobalId, n: GlobalId) -> bool {
        let peel = |mut t: CType| {
            while let CType::Array(e, _) = t {
                t = *e;
            }
            t
        };
        let (a, b) = (peel(self.old.global_type(o)), peel(self.new.global_type(n)));
        self.old.record(&a).is_some() && self.corresponds(&a, &b)
    }

    /// True when two points' records hold the same locals at the same places.
    fn same_record(&self, op: PointId, np: PointId) -> bool {
        let (a, b) = (&self.old.m.points[op], &self.new.m.points[np]);
        a.record_size == b.record_size
            && a.locals.len() == b.locals.len()
            && a.locals.iter().zip(&b.locals).all(|(x, y)| {
                x.name == y.name
                    && x.offset == y.offset
                    && x.size == y.size
                    && x.flags == y.flags
                    && norm(&x.ty) == norm(&y.ty)
            })
    }

    /// Whether locals convert by name between two points of functions that a `function` rule
    /// pairs (the diff only pairs same-name functions).
    fn frame_converts(&self, op: PointId, np: PointId) -> Result<(), String> {
        let (a, b) = (&self.old.m.points[op], &self.new.m.points[np]);
        for nl in &b.locals {
            match a.locals.iter().find(|l| l.name == nl.name) {
                None if nl.flags.boxed || nl.flags.temporary => {
                    return Err(format!(
                        "local `{}` has no counterpart in the old frame",
                        nl.name
                    ))
                }
                None => {}
                Some(ol) => {
                    let same =
                        norm(&ol.ty) == norm(&nl.ty) && ol.flags == nl.flags && ol.size == nl.size;
                    if !same {
                        let ot = self.old.parse_type(Some(&a.file), &ol.ty);
                        let nt = self.new.parse_type(Some(&b.file), &nl.ty);
                        if ol.flags.boxed
                            || nl.flags.boxed
                            || nl.flags.temporary
                            || !self.corresponds(&ot, &nt)
                        {
                            return Err(format!(
                                "local `{}` changed from {} to {}",
                                nl.name, ol.ty, nl.ty
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The names `N` of every `new.N = ...` in `stmts` (frame locals a rule sets).
fn assigned_new_fields<'s>(stmts: &'s [ast::Stmt], out: &mut Set<&'s str>) {
    for s in stmts {
        match &s.kind {
            ast::StmtKind::Assign { lhs, .. } => {
                if let ast::ExprKind::Member {
                    expr,
                    field,
                    arrow: false,
                } = &lhs.kind
                {
                    if matches!(expr.kind, ast::ExprKind::SelfRef(ast::SelfRef::New)) {
                        out.insert(field.name.as_str());
                    }
                }
            }
            ast::StmtKind::If { then, els, .. } => {
                assigned_new_fields(&then.stmts, out);
                if let Some(e) = els {
                    assigned_new_fields(std::slice::from_ref(&**e), out);
                }
            }
            ast::StmtKind::For { body, .. } => assigned_new_fields(&body.stmts, out),
            ast::StmtKind::Block(b) => assigned_new_fields(&b.stmts, out),
            _ => {}
        }
    }
}

/// A rule's head: its span up to the body.
fn head_span(span: Span, body: Option<&ast::Block>) -> Span {
    match body {
        Some(b) if b.span.start > span.start => Span::new(
            span.start,
            b.span.start.saturating_sub(1).max(span.start + 1),
        ),
        _ => span,
    }
}

fn norm(t: &str) -> String {
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}
