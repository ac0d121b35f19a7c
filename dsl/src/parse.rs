//! Text to [`ast::Spec`]: the pest grammar (`upd.pest`) and one lowering function per rule group.
//!
//! Expressions come out of the grammar as flat operand/operator sequences and are folded here by
//! a Pratt parser whose table is the precedence of the language (C's, with `as` binding like
//! Rust's: tighter than binary operators, looser than unary ones). Literals are decoded here
//! (escapes, suffixes, durations), so the checker sees values, not text.
//!
//! Nesting is limited ([`MAX_DEPTH`]) so that neither this lowering nor the checker's recursion
//! over the tree can exhaust the stack; pest itself guards its own recursion.

use std::cell::Cell;

use pest::iterators::{Pair, Pairs};
use pest::Parser as _;

use crate::ast::*;
use crate::diag::{Code, Diagnostic};

#[derive(pest_derive::Parser)]
#[grammar = "upd.pest"]
struct UpdParser;

/// How deeply expressions, statements and hints may nest.
pub const MAX_DEPTH: u32 = 200;

/// Parses a whole spec. On a syntax error, returns that one error (pest stops at the first).
pub fn parse(source: &str) -> Result<Spec, Vec<Diagnostic>> {
    if let Some(at) = too_deep(source) {
        return Err(vec![Diagnostic::error(
            Code::Limit,
            format!("nesting deeper than {MAX_DEPTH} levels"),
        )
        .label(Span::new(at, at + 1), "too deep")]);
    }
    let pairs = UpdParser::parse(Rule::spec, source)
        .map_err(|e| vec![syntax_error(e, source.trim_end().len())])?;
    let lower = Lower {
        depth: Cell::new(0),
    };
    let spec = pairs.into_iter().next().expect("the spec rule matched");
    lower.spec(spec).map_err(|d| vec![d])
}

/// Where the text nests deeper than [`MAX_DEPTH`], if it does: a conservative bound on the
/// parser's recursion, checked before pest runs (pest is built without its stack probe).
///
/// Brackets nest; so do `?` (a conditional's arms are expressions), `else` (an `else if` is a
/// statement inside the `if`) and `<` (generic arguments), until the statement ends (`;`, or a
/// `}` not followed by `else`) or their bracket closes. Strings, characters and comments are
/// skipped. Counting every `<` and `?` over-estimates; specs never come near the limit.
fn too_deep(source: &str) -> Option<usize> {
    let b = source.as_bytes();
    let mut opens: Vec<u32> = Vec::new();
    let mut depth: u32 = 0;
    let mut i = 0;
    let base = |opens: &Vec<u32>| opens.last().map_or(0, |d| d + 1);
    let next_word_is_else = |mut j: usize| {
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        b[j..].starts_with(b"else")
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
                continue;
            }
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < b.len() && b[i] != q && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => {
                opens.push(depth);
                depth += 1;
            }
            b')' | b']' => depth = opens.pop().unwrap_or(0),
            b'}' => {
                depth = opens.pop().unwrap_or(0);
                if !next_word_is_else(i + 1) {
                    depth = depth.min(base(&opens));
                }
            }
            b';' => depth = base(&opens),
            b'?' | b'<' => depth += 1,
            b'e' if b[i..].starts_with(b"else")
                && (i == 0 || !(b[i - 1] == b'_' || b[i - 1].is_ascii_alphanumeric())) =>
            {
                depth += 1;
                i += 4;
                continue;
            }
            _ => {}
        }
        if depth > MAX_DEPTH {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// A pest error as a diagnostic with the expected tokens in words.
fn syntax_error(e: pest::error::Error<Rule>, len: usize) -> Diagnostic {
    let span = match e.location {
        pest::error::InputLocation::Pos(p) => Span::new(p, p),
        pest::error::InputLocation::Span((s, t)) => Span::new(s, t),
    };
    let text = match &e.variant {
        pest::error::ErrorVariant::ParsingError {
            positives,
            negatives,
        } => {
            let mut pos: Vec<String> = positives.iter().map(|r| rule_words(*r).into()).collect();
            pos.sort();
            pos.dedup();
            let neg: Vec<String> = negatives.iter().map(|r| rule_words(*r).into()).collect();
            let at_end = span.start >= len;
            match (pos.is_empty(), neg.is_empty()) {
                (false, _) if at_end => {
                    format!("unexpected end of input, expected {}", one_of(&pos))
                }
                (false, _) => format!("expected {}", one_of(&pos)),
                (true, false) => format!("unexpected {}", one_of(&neg)),
                (true, true) => "unexpected input".to_string(),
            }
        }
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    Diagnostic::error(Code::Syntax, format!("syntax error: {text}")).label(span, text)
}

fn one_of(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// What each grammar rule is called in an error message.
fn rule_words(r: Rule) -> &'static str {
    match r {
        Rule::EOI => "end of input",
        Rule::header => "`upstare N;`",
        Rule::option_item => "`option`",
        Rule::type_rule => "`type`",
        Rule::field_rule => "`field`",
        Rule::global_rule => "`global`",
        Rule::function_rule => "`function`",
        Rule::frame_rule => "`frame`",
        Rule::thread_rule => "`thread`",
        Rule::layout_item => "`layout`",
        Rule::assert_item | Rule::assert_stmt => "`assert`",
        Rule::ident | Rule::name => "a name",
        Rule::key => "a symbol key",
        Rule::point_key => "a point (entry, loop#N, call:NAME#N, call:*#N)",
        Rule::int => "an integer",
        Rule::float => "a number",
        Rule::duration => "a duration",
        Rule::string => "a string",
        Rule::char_lit => "a character",
        Rule::ty | Rule::ty_base | Rule::hint_ty => "a type",
        Rule::hint | Rule::hint_word | Rule::ptr_hint | Rule::case_hint => "a layout hint",
        Rule::block => "`{`",
        Rule::expr | Rule::binary => "an expression",
        Rule::assign_op => "`=`",
        Rule::let_stmt => "`let`",
        Rule::if_stmt => "`if`",
        Rule::for_stmt => "`for`",
        Rule::expr_stmt | Rule::assign_stmt => "a statement",
        Rule::frame_dest => "a function and point, `@ POINT` or `wait`",
        Rule::option_value => "an option value",
        Rule::ptr_suffix => "`*`",
        Rule::generic_args | Rule::generic_params => "`<`",
        Rule::case_arm => "a case arm",
        Rule::layout_field => "a field hint",
        Rule::infix => "an operator",
        Rule::prefix => "an operand",
        Rule::member | Rule::arrow | Rule::index | Rule::cast => "`.`, `->`, `[` or `as`",
        Rule::self_ref | Rule::symbol | Rule::call | Rule::var | Rule::paren | Rule::sizeof_ => {
            "an operand"
        }
        Rule::version => "`old` or `new`",
        _ => "more input",
    }
}

type R<T> = Result<T, Diagnostic>;

fn span_of(p: &Pair<Rule>) -> Span {
    let s = p.as_span();
    Span::new(s.start(), s.end())
}

fn ident(p: Pair<Rule>) -> Ident {
    Ident {
        name: p.as_str().to_string(),
        span: span_of(&p),
    }
}

/// The lowering state: only the current nesting depth.
struct Lower {
    depth: Cell<u32>,
}

/// Leaves its nesting levels when dropped.
struct Level<'a>(&'a Cell<u32>, u32);

impl Drop for Level<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - self.1);
    }
}

impl Lower {
    /// Enters one nesting level; an error past [`MAX_DEPTH`].
    fn enter(&self, span: Span) -> R<Level<'_>> {
        self.enter_n(1, span)
    }

    /// Enters `n` levels at once: each operator of a chain (`a + b + c`, `-!x`, `p->a->b`)
    /// nests the tree one level deeper, and the checker recurses over the tree, so chains count
    /// against the same bound as brackets.
    fn enter_n(&self, n: usize, span: Span) -> R<Level<'_>> {
        let d = u32::try_from(n)
            .ok()
            .and_then(|n| self.depth.get().checked_add(n))
            .filter(|&d| d <= MAX_DEPTH);
        let Some(d) = d else {
            return Err(Diagnostic::error(
                Code::Limit,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            )
            .label(span, "too deep")
            .help("operators in a chain count as levels too: split the expression with `let`"));
        };
        let n = d - self.depth.get();
        self.depth.set(d);
        Ok(Level(&self.depth, n))
    }

    fn spec(&self, p: Pair<Rule>) -> R<Spec> {
        let mut spec = Spec {
            header: None,
            items: Vec::new(),
        };
        for p in p.into_inner() {
            let item = match p.as_rule() {
                Rule::header => {
                    let n = p.into_inner().next().expect("header has a number");
                    let sp = span_of(&n);
                    let (v, ..) = int_value(&n)?;
                    spec.header = Some((v, sp));
                    continue;
                }
                Rule::EOI => continue,
                Rule::option_item => Item::Option(self.option(p)?),
                Rule::type_rule => Item::Type(self.type_rule(p)?),
                Rule::field_rule => Item::Field(self.field_rule(p)?),
                Rule::global_rule => Item::Global(self.global_rule(p)?),
                Rule::function_rule => {
                    let sp = span_of(&p);
                    let mut it = p.into_inner();
                    Item::Function(FunctionRule {
                        old: key(it.next().expect("old key"))?,
                        new: key(it.next().expect("new key"))?,
                        span: sp,
                    })
                }
                Rule::thread_rule => {
                    let sp = span_of(&p);
                    let mut it = p.into_inner();
                    Item::Thread(ThreadRule {
                        old: key(it.next().expect("old key"))?,
                        new: key(it.next().expect("new key"))?,
                        span: sp,
                    })
                }
                Rule::frame_rule => Item::Frame(self.frame_rule(p)?),
                Rule::layout_item => Item::Layout(self.layout(p)?),
                Rule::assert_item => {
                    Item::Assert(self.assert(p.into_inner().next().expect("assert"))?)
                }
                r => unreachable!("item rule {r:?}"),
            };
            spec.items.push(item);
        }
        Ok(spec)
    }

    fn option(&self, p: Pair<Rule>) -> R<OptionItem> {
        let sp = span_of(&p);
        let mut it = p.into_inner();
        let name = ident(it.next().expect("option name"));
        let vp = it.next().expect("option value");
        let value_span = span_of(&vp);
        let v = vp.into_inner().next().expect("value");
        let value = match v.as_rule() {
            Rule::duration => OptionValue::Duration(duration_us(&v)?),
            Rule::int => OptionValue::Int(int_value(&v)?.0),
            Rule::float => OptionValue::Float(float_value(&v)?.0),
            Rule::string => {
                OptionValue::Str(String::from_utf8_lossy(&string_value(&v)?).into_owned())
            }
            Rule::bool_lit => OptionValue::Bool(v.as_str() == "true"),
            Rule::name => OptionValue::Word(v.as_str().to_string()),
            r => unreachable!("option value {r:?}"),
        };
        Ok(OptionItem {
            name,
            value,
            value_span,
            span: sp,
        })
    }

    fn body(&self, p: Option<Pair<Rule>>) -> R<Option<Block>> {
        match p {
            Some(b) if b.as_rule() == Rule::block => Ok(Some(self.block(b)?)),
            _ => Ok(None),
        }
    }

    fn type_rule(&self, p: Pair<Rule>) -> R<TypeRule> {
        let sp = span_of(&p);
        let mut old = None;
        let mut new = None;
        let mut body = None;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::ty_base if old.is_none() => old = Some(self.ty_from_base(q)?),
                Rule::ty_base => new = Some(self.ty_from_base(q)?),
                Rule::block => body = self.body(Some(q))?,
                r => unreachable!("type rule part {r:?}"),
            }
        }
        Ok(TypeRule {
            old: old.expect("type rule has a type"),
            new,
            body,
            span: sp,
        })
    }

    fn field_rule(&self, p: Pair<Rule>) -> R<FieldRule> {
        let sp = span_of(&p);
        let mut init = false;
        let mut ty = None;
        let mut field = None;
        let mut target = None;
        let mut body = None;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::init_kw => init = true,
                Rule::ty_base => ty = Some(self.ty_from_base(q)?),
                Rule::ident => field = Some(ident(q)),
                Rule::field_target => {
                    let mut t_ty = None;
                    let mut t_name = None;
                    for r in q.into_inner() {
                        match r.as_rule() {
                            Rule::ty_base => t_ty = Some(self.ty_from_base(r)?),
                            _ => t_name = Some(ident(r)),
                        }
                    }
                    target = Some((t_ty, t_name.expect("target field")));
                }
                Rule::block => body = self.body(Some(q))?,
                r => unreachable!("field rule part {r:?}"),
            }
        }
        Ok(FieldRule {
            init,
            ty: ty.expect("field rule type"),
            field: field.expect("field rule field"),
            target,
            body,
            span: sp,
        })
    }

    fn global_rule(&self, p: Pair<Rule>) -> R<GlobalRule> {
        let sp = span_of(&p);
        let mut init = false;
        let mut keys = Vec::new();
        let mut body = None;
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::init_kw => init = true,
                Rule::key => keys.push(key(q)?),
                Rule::block => body = self.body(Some(q))?,
                r => unreachable!("global rule part {r:?}"),
            }
        }
        let mut keys = keys.into_iter();
        Ok(GlobalRule {
            init,
            old: keys.next().expect("global rule key"),
            new: keys.next(),
            body,
            span: sp,
        })
    }

    fn frame_at(&self, p: Pair<Rule>) -> R<FrameAt> {
        let mut it = p.into_inner();
        Ok(FrameAt {
            func: key(it.next().expect("frame function"))?,
            point: point_ref(it.next().expect("frame point")),
        })
    }

    fn frame_rule(&self, p: Pair<Rule>) -> R<FrameRule> {
        let sp = span_of(&p);
        let mut it = p.into_inner();
        let old = self.frame_at(it.next().expect("frame old"))?;
        let d = it.next().expect("frame dest");
        let inner = d.into_inner().next().expect("frame dest part");
        let dest = match inner.as_rule() {
            Rule::frame_at => FrameDest::At(self.frame_at(inner)?),
            Rule::point_key => FrameDest::Point(point_ref(inner)),
            Rule::wait_kw => FrameDest::Wait(span_of(&inner)),
            r => unreachable!("frame dest {r:?}"),
        };
        let body = self.body(it.next())?;
        Ok(FrameRule {
            old,
            dest,
            body,
            span: sp,
        })
    }

    fn layout(&self, p: Pair<Rule>) -> R<Layout> {
        let sp = span_of(&p);
        let inner = p.into_inner().next().expect("layout body");
        let target = match inner.as_rule() {
            Rule::layout_global => {
                let mut it = inner.into_inner();
                LayoutTarget::Global {
                    key: key(it.next().expect("layout key"))?,
                    hint: self.hint(it.next().expect("layout hint"))?,
                }
            }
            Rule::layout_type => {
                let mut ty = None;
                let mut params = Vec::new();
                let mut fields = Vec::new();
                for q in inner.into_inner() {
                    match q.as_rule() {
                        Rule::ty_base => ty = Some(self.ty_from_base(q)?),
                        Rule::generic_params => params.extend(q.into_inner().map(ident)),
                        Rule::layout_field => {
                            let fsp = span_of(&q);
                            let mut it = q.into_inner();
                            fields.push(LayoutField {
                                name: ident(it.next().expect("field name")),
                                hint: self.hint(it.next().expect("field hint"))?,
                                span: fsp,
                            });
                        }
                        r => unreachable!("layout part {r:?}"),
                    }
                }
                LayoutTarget::Type {
                    ty: ty.expect("layout type"),
                    params,
                    fields,
                }
            }
            r => unreachable!("layout {r:?}"),
        };
        Ok(Layout { target, span: sp })
    }

    fn hint(&self, p: Pair<Rule>) -> R<Hint> {
        let sp = span_of(&p);
        let _level = self.enter(sp)?;
        let inner = p.into_inner().next().expect("hint kind");
        let kind = match inner.as_rule() {
            Rule::hint_word => word_hint(inner.as_str()),
            Rule::ptr_hint => {
                let mut it = inner.into_inner();
                let ty = self.ty(it.next().expect("hint type"))?;
                let len = match it.next() {
                    None => None,
                    Some(l) if l.as_rule() == Rule::nul_kw => Some(HintLen::Nul(span_of(&l))),
                    Some(l) => Some(HintLen::Expr(self.expr(l)?)),
                };
                HintKind::Ptr { ty, len }
            }
            Rule::case_hint => {
                let mut arms = Vec::new();
                for arm in inner.into_inner() {
                    let asp = span_of(&arm);
                    let mut cond = None;
                    let mut member = None;
                    let mut hint = None;
                    for q in arm.into_inner() {
                        match q.as_rule() {
                            Rule::else_kw => {}
                            Rule::expr => cond = Some(self.expr(q)?),
                            Rule::ident => member = Some(ident(q)),
                            Rule::hint_word => {
                                hint = Some(Hint {
                                    kind: word_hint(q.as_str()),
                                    span: span_of(&q),
                                })
                            }
                            Rule::hint => hint = Some(self.hint(q)?),
                            r => unreachable!("case arm part {r:?}"),
                        }
                    }
                    arms.push(CaseArm {
                        cond,
                        member,
                        hint,
                        span: asp,
                    });
                }
                HintKind::Case(arms)
            }
            r => unreachable!("hint {r:?}"),
        };
        Ok(Hint { kind, span: sp })
    }

    // ------------------------------------------------------------ types

    /// `ty` or `hint_ty`.
    fn ty(&self, p: Pair<Rule>) -> R<TypeName> {
        let sp = span_of(&p);
        let _level = self.enter(sp)?;
        let mut t = TypeName {
            version: None,
            base: TypeBase::Scalar(Vec::new()),
            args: Vec::new(),
            ptrs: 0,
            span: sp,
        };
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::version => t.version = Some(version(q.as_str())),
                Rule::ty_base => t.base = self.ty_base(q)?,
                Rule::generic_args => {
                    for a in q.into_inner() {
                        t.args.push(self.ty(a)?);
                    }
                }
                Rule::ptr_suffix => t.ptrs += 1,
                r => unreachable!("type part {r:?}"),
            }
        }
        Ok(t)
    }

    fn ty_from_base(&self, p: Pair<Rule>) -> R<TypeName> {
        let sp = span_of(&p);
        Ok(TypeName {
            version: None,
            base: self.ty_base(p)?,
            args: Vec::new(),
            ptrs: 0,
            span: sp,
        })
    }

    fn ty_base(&self, p: Pair<Rule>) -> R<TypeBase> {
        let inner = p.into_inner().next().expect("type base");
        Ok(match inner.as_rule() {
            Rule::record_ty => {
                let mut it = inner.into_inner();
                let tag = match it.next().expect("tag").as_str() {
                    "struct" => Tag::Struct,
                    "union" => Tag::Union,
                    _ => Tag::Enum,
                };
                TypeBase::Tagged {
                    tag,
                    name: ident(it.next().expect("tag name")),
                }
            }
            Rule::scalar_ty => {
                TypeBase::Scalar(inner.into_inner().map(|w| w.as_str().to_string()).collect())
            }
            Rule::name => TypeBase::Named(ident(inner)),
            r => unreachable!("type base {r:?}"),
        })
    }

    // ------------------------------------------------------------ statements

    fn block(&self, p: Pair<Rule>) -> R<Block> {
        let sp = span_of(&p);
        let _level = self.enter(sp)?;
        let stmts = p
            .into_inner()
            .map(|s| self.stmt(s))
            .collect::<R<Vec<_>>>()?;
        Ok(Block { stmts, span: sp })
    }

    fn assert(&self, p: Pair<Rule>) -> R<AssertStmt> {
        let sp = span_of(&p);
        let mut it = p.into_inner();
        let cond = self.expr(it.next().expect("assert condition"))?;
        let message = match it.next() {
            Some(m) => Some(String::from_utf8_lossy(&string_value(&m)?).into_owned()),
            None => None,
        };
        Ok(AssertStmt {
            cond,
            message,
            span: sp,
        })
    }

    fn stmt(&self, p: Pair<Rule>) -> R<Stmt> {
        let sp = span_of(&p);
        let _level = self.enter(sp)?;
        let kind = match p.as_rule() {
            Rule::let_stmt => {
                let mut name = None;
                let mut ty = None;
                let mut init = None;
                for q in p.into_inner() {
                    match q.as_rule() {
                        Rule::name => name = Some(ident(q)),
                        Rule::ty => ty = Some(self.ty(q)?),
                        Rule::expr => init = Some(self.expr(q)?),
                        r => unreachable!("let part {r:?}"),
                    }
                }
                StmtKind::Let {
                    name: name.expect("let name"),
                    ty,
                    init: init.expect("let value"),
                }
            }
            Rule::if_stmt => {
                let mut it = p.into_inner();
                let cond = self.expr(it.next().expect("if condition"))?;
                let then = self.block(it.next().expect("if block"))?;
                let els = match it.next() {
                    None => None,
                    Some(e) => Some(Box::new(self.stmt(e)?)),
                };
                StmtKind::If { cond, then, els }
            }
            Rule::for_stmt => {
                let mut it = p.into_inner();
                StmtKind::For {
                    var: ident(it.next().expect("for variable")),
                    lo: self.expr(it.next().expect("for start"))?,
                    hi: self.expr(it.next().expect("for end"))?,
                    body: self.block(it.next().expect("for body"))?,
                }
            }
            Rule::assert_stmt => StmtKind::Assert(self.assert(p)?),
            Rule::block => StmtKind::Block(self.block(p)?),
            Rule::assign_stmt => {
                let mut it = p.into_inner();
                let lhs = self.expr(it.next().expect("assignment target"))?;
                let op_pair = it.next().expect("assignment operator");
                let op_span = span_of(&op_pair);
                let op = match op_pair.as_str() {
                    "=" => None,
                    "+=" => Some(BinOp::Add),
                    "-=" => Some(BinOp::Sub),
                    "*=" => Some(BinOp::Mul),
                    "/=" => Some(BinOp::Div),
                    "%=" => Some(BinOp::Rem),
                    "&=" => Some(BinOp::BitAnd),
                    "|=" => Some(BinOp::BitOr),
                    "^=" => Some(BinOp::BitXor),
                    "<<=" => Some(BinOp::Shl),
                    _ => Some(BinOp::Shr),
                };
                let rhs = self.expr(it.next().expect("assigned value"))?;
                StmtKind::Assign {
                    lhs,
                    op,
                    op_span,
                    rhs,
                }
            }
            Rule::expr_stmt => StmtKind::Expr(self.expr(p.into_inner().next().expect("expr"))?),
            r => unreachable!("statement {r:?}"),
        };
        Ok(Stmt { kind, span: sp })
    }

    // ------------------------------------------------------------ expressions

    fn expr(&self, p: Pair<Rule>) -> R<Expr> {
        let sp = span_of(&p);
        let _level = self.enter(sp)?;
        let mut it = p.into_inner();
        let first = self.binary(it.next().expect("expression").into_inner())?;
        match (it.next(), it.next()) {
            (Some(t), Some(e)) => Ok(Expr {
                kind: ExprKind::Cond {
                    cond: Box::new(first),
                    then: Box::new(self.expr(t)?),
                    els: Box::new(self.expr(e)?),
                },
                span: sp,
            }),
            _ => Ok(first),
        }
    }

    /// Folds `operand (infix operand)*` by C's precedence (precedence climbing).
    fn binary(&self, pairs: Pairs<Rule>) -> R<Expr> {
        let chain = pairs.clone().filter(|p| p.as_rule() == Rule::infix).count();
        let first_span = pairs
            .clone()
            .next()
            .map(|p| span_of(&p))
            .unwrap_or_default();
        let _levels = self.enter_n(chain, first_span)?;
        let mut operands = Vec::new();
        let mut ops = Vec::new();
        let mut current: Vec<Pair<Rule>> = Vec::new();
        for p in pairs {
            if p.as_rule() == Rule::infix {
                operands.push(self.operand(std::mem::take(&mut current))?);
                ops.push((binop(p.as_str()), span_of(&p)));
            } else {
                current.push(p);
            }
        }
        operands.push(self.operand(current)?);
        let mut operands = operands.into_iter();
        let first = operands.next().expect("one operand at least");
        let mut rest = ops.into_iter().zip(operands).peekable();
        Ok(climb(first, 0, &mut rest))
    }

    /// One operand: prefixes, a primary, postfixes. Member, arrow and index bind tighter than
    /// the prefixes; `as` binds looser (`-x as u8` is `(-x) as u8`), and whatever follows a cast
    /// applies to the cast.
    fn operand(&self, parts: Vec<Pair<Rule>>) -> R<Expr> {
        let first_span = parts.first().map(span_of).unwrap_or_default();
        let _levels = self.enter_n(parts.len().saturating_sub(1), first_span)?;
        let mut prefixes = Vec::new();
        let mut it = parts.into_iter();
        let mut e = loop {
            let p = it.next().expect("an operand has a primary");
            if p.as_rule() == Rule::prefix {
                prefixes.push(p);
            } else {
                break self.primary(p)?;
            }
        };
        let mut late = Vec::new();
        for p in it {
            if !late.is_empty() || p.as_rule() == Rule::cast {
                late.push(p);
            } else {
                e = self.postfix(e, p)?;
            }
        }
        for op in prefixes.into_iter().rev() {
            let sp = span_of(&op).join(e.span);
            let op = match op.as_str() {
                "-" => UnOp::Neg,
                "!" => UnOp::Not,
                "~" => UnOp::BitNot,
                "*" => UnOp::Deref,
                _ => UnOp::Addr,
            };
            e = Expr {
                kind: ExprKind::Unary {
                    op,
                    expr: Box::new(e),
                },
                span: sp,
            };
        }
        for p in late {
            e = self.postfix(e, p)?;
        }
        Ok(e)
    }

    fn postfix(&self, e: Expr, op: Pair<Rule>) -> R<Expr> {
        let sp = e.span.join(span_of(&op));
        let kind = match op.as_rule() {
            Rule::member | Rule::arrow => {
                let arrow = op.as_rule() == Rule::arrow;
                ExprKind::Member {
                    expr: Box::new(e),
                    field: ident(op.into_inner().next().expect("field")),
                    arrow,
                }
            }
            Rule::index => ExprKind::Index {
                expr: Box::new(e),
                index: Box::new(self.expr(op.into_inner().next().expect("index"))?),
            },
            _ => ExprKind::Cast {
                expr: Box::new(e),
                ty: self.ty(op.into_inner().next().expect("cast type"))?,
            },
        };
        Ok(Expr { kind, span: sp })
    }

    fn primary(&self, p: Pair<Rule>) -> R<Expr> {
        let sp = span_of(&p);
        let kind = match p.as_rule() {
            Rule::int => {
                let (value, unsigned, long) = int_value(&p)?;
                let t = p.as_str();
                ExprKind::Int {
                    value,
                    unsigned,
                    long,
                    hex: t.starts_with("0x") || t.starts_with("0X"),
                }
            }
            Rule::float => {
                let (value, single) = float_value(&p)?;
                ExprKind::Float { value, single }
            }
            Rule::char_lit => {
                let t = p.as_str();
                let bytes = unescape(&t[1..t.len() - 1]).map_err(|m| bad_literal(sp, m))?;
                match bytes.as_slice() {
                    [b] => ExprKind::Char(*b),
                    _ => return Err(bad_literal(sp, "a character literal holds one byte")),
                }
            }
            Rule::string => ExprKind::Str(string_value(&p)?),
            Rule::bool_lit => ExprKind::Bool(p.as_str() == "true"),
            Rule::null_lit => ExprKind::Null,
            Rule::self_ref => ExprKind::SelfRef(match p.as_str() {
                "old" => SelfRef::Old,
                "new" => SelfRef::New,
                "base" => SelfRef::Base,
                _ => SelfRef::NewBase,
            }),
            Rule::symbol => {
                let mut it = p.into_inner();
                let ver = version(it.next().expect("symbol version").as_str());
                let k = it.next().expect("symbol name");
                let key = match k.as_rule() {
                    Rule::string => String::from_utf8_lossy(&string_value(&k)?).into_owned(),
                    _ => k.as_str().to_string(),
                };
                ExprKind::Symbol { ver, key }
            }
            Rule::var => ExprKind::Var(p.as_str().to_string()),
            Rule::call => {
                let mut it = p.into_inner();
                let name = ident(it.next().expect("callee"));
                let args = it.map(|a| self.expr(a)).collect::<R<Vec<_>>>()?;
                ExprKind::Call { name, args }
            }
            Rule::sizeof_ => {
                let q = p.into_inner().next().expect("sizeof operand");
                match q.as_rule() {
                    Rule::ty => ExprKind::SizeofType(self.ty(q)?),
                    _ => ExprKind::SizeofExpr(Box::new(self.expr(q)?)),
                }
            }
            Rule::paren => return self.expr(p.into_inner().next().expect("parenthesised")),
            r => unreachable!("primary {r:?}"),
        };
        Ok(Expr { kind, span: sp })
    }
}

/// The operator of an `infix` token.
fn binop(t: &str) -> BinOp {
    match t {
        "||" => BinOp::Or,
        "&&" => BinOp::And,
        "|" => BinOp::BitOr,
        "^" => BinOp::BitXor,
        "&" => BinOp::BitAnd,
        "==" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "<" => BinOp::Lt,
        "<=" => BinOp::Le,
        ">" => BinOp::Gt,
        ">=" => BinOp::Ge,
        "<<" => BinOp::Shl,
        ">>" => BinOp::Shr,
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        _ => BinOp::Rem,
    }
}

/// C's binding power of a binary operator (higher binds tighter); all are left-associative.
fn power(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::BitOr => 3,
        BinOp::BitXor => 4,
        BinOp::BitAnd => 5,
        BinOp::Eq | BinOp::Ne => 6,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 7,
        BinOp::Shl | BinOp::Shr => 8,
        BinOp::Add | BinOp::Sub => 9,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 10,
    }
}

/// Precedence climbing over `lhs (op operand)*`: folds operators binding at least `min`.
/// Iterative for left-associative chains; recursion depth is bounded by the number of
/// precedence levels.
fn climb<I>(mut lhs: Expr, min: u8, rest: &mut std::iter::Peekable<I>) -> Expr
where
    I: Iterator<Item = ((BinOp, Span), Expr)>,
{
    while let Some(&((op, _), _)) = rest.peek() {
        let p = power(op);
        if p < min {
            break;
        }
        let ((op, _), mut rhs) = rest.next().expect("peeked");
        while let Some(&((next, _), _)) = rest.peek() {
            if power(next) <= p {
                break;
            }
            rhs = climb(rhs, p + 1, rest);
        }
        let span = lhs.span.join(rhs.span);
        lhs = Expr {
            kind: ExprKind::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span,
        };
    }
    lhs
}

fn version(text: &str) -> Ver {
    if text == "old" {
        Ver::Old
    } else {
        Ver::New
    }
}

fn word_hint(w: &str) -> HintKind {
    match w {
        "opaque" => HintKind::Opaque,
        "string" => HintKind::Str,
        "fnptr" => HintKind::FnPtr,
        _ => HintKind::Plain,
    }
}

fn point_ref(p: Pair<Rule>) -> PointRef {
    PointRef {
        text: p.as_str().to_string(),
        span: span_of(&p),
    }
}

fn key(p: Pair<Rule>) -> R<Key> {
    let sp = span_of(&p);
    let inner = p.clone().into_inner().next();
    let text = match inner {
        Some(s) if s.as_rule() == Rule::string => {
            String::from_utf8_lossy(&string_value(&s)?).into_owned()
        }
        _ => p.as_str().to_string(),
    };
    Ok(Key { text, span: sp })
}

fn bad_literal(span: Span, msg: &str) -> Diagnostic {
    Diagnostic::error(Code::Syntax, format!("bad literal: {msg}")).label(span, msg.to_string())
}

/// `(value, unsigned, long)` of an integer literal.
fn int_value(p: &Pair<Rule>) -> R<(u64, bool, bool)> {
    let t = p.as_str();
    let sp = span_of(p);
    let lower = t.to_ascii_lowercase();
    let digits_end = lower
        .trim_end_matches(['u', 'l'])
        .len()
        .max(if lower.starts_with("0x") { 2 } else { 0 });
    let (digits, suffix) = lower.split_at(digits_end);
    let value = if let Some(h) = digits.strip_prefix("0x") {
        u64::from_str_radix(h, 16)
    } else {
        digits.parse::<u64>()
    }
    .map_err(|_| bad_literal(sp, "integer too large for 64 bits"))?;
    Ok((value, suffix.contains('u'), suffix.contains('l')))
}

fn float_value(p: &Pair<Rule>) -> R<(f64, bool)> {
    let t = p.as_str();
    let single = t.ends_with(['f', 'F']);
    let body = t.trim_end_matches(['f', 'F']);
    let v = body
        .parse::<f64>()
        .map_err(|_| bad_literal(span_of(p), "not a number"))?;
    Ok((v, single))
}

fn duration_us(p: &Pair<Rule>) -> R<u64> {
    let t = p.as_str();
    let (digits, mul) = if let Some(d) = t.strip_suffix("ms") {
        (d, 1_000)
    } else if let Some(d) = t.strip_suffix("us") {
        (d, 1)
    } else {
        (t.trim_end_matches('s'), 1_000_000)
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|v| v.checked_mul(mul))
        .ok_or_else(|| bad_literal(span_of(p), "duration too large"))
}

fn string_value(p: &Pair<Rule>) -> R<Vec<u8>> {
    let t = p.as_str();
    unescape(&t[1..t.len() - 1]).map_err(|m| bad_literal(span_of(p), m))
}

/// C escapes: `\n \t \r \0 \\ \' \" \a \b \f \v \xHH \OOO`.
fn unescape(s: &str) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        let c = *b.get(i).ok_or("unfinished escape")?;
        i += 1;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\\' | b'\'' | b'"' | b'?' => out.push(c),
            b'x' => {
                let start = i;
                while i < b.len() && i - start < 2 && b[i].is_ascii_hexdigit() {
                    i += 1;
                }
                let v = u8::from_str_radix(&s[start..i], 16).map_err(|_| "bad \\x escape")?;
                out.push(v);
            }
            b'0'..=b'7' => {
                let start = i - 1;
                while i < b.len() && i - start < 3 && (b'0'..=b'7').contains(&b[i]) {
                    i += 1;
                }
                let v = u16::from_str_radix(&s[start..i], 8).map_err(|_| "bad octal escape")?;
                out.push(u8::try_from(v).map_err(|_| "octal escape above 255")?);
            }
            _ => return Err("unknown escape"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(src: &str) -> Expr {
        let spec = parse(&format!("assert {src};")).unwrap_or_else(|e| panic!("{src}: {e:?}"));
        match spec.items.into_iter().next() {
            Some(Item::Assert(a)) => a.cond,
            other => panic!("{other:?}"),
        }
    }

    /// A compact rendering of an expression tree, to test precedence.
    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Int { value, .. } => value.to_string(),
            ExprKind::Var(v) => v.clone(),
            ExprKind::SelfRef(s) => s.to_string(),
            ExprKind::Symbol { ver, key } => format!("{ver}::{key}"),
            ExprKind::Binary { op, lhs, rhs } => {
                format!("({} {} {})", show(lhs), op.symbol(), show(rhs))
            }
            ExprKind::Unary { op, expr } => format!("({op:?} {})", show(expr)),
            ExprKind::Member { expr, field, arrow } => {
                format!(
                    "{}{}{}",
                    show(expr),
                    if *arrow { "->" } else { "." },
                    field.name
                )
            }
            ExprKind::Index { expr, index } => format!("{}[{}]", show(expr), show(index)),
            ExprKind::Cast { expr, ty } => format!("({} as {ty})", show(expr)),
            ExprKind::Cond { cond, then, els } => {
                format!("({} ? {} : {})", show(cond), show(then), show(els))
            }
            ExprKind::Call { name, args } => format!(
                "{}({})",
                name.name,
                args.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn precedence_follows_c() {
        for (src, want) in [
            ("a + b * c", "(a + (b * c))"),
            ("a - b - c", "((a - b) - c)"),
            ("a << 1 + 2", "(a << (1 + 2))"),
            ("a < b == c < d", "((a < b) == (c < d))"),
            ("a & b | c ^ d", "((a & b) | (c ^ d))"),
            ("a || b && c", "(a || (b && c))"),
            ("-a.b", "(Neg a.b)"),
            ("*p->q[1]", "(Deref p->q[1])"),
            ("-x as u8", "((Neg x) as u8)"),
            ("x as int * 2", "((x as int) * 2)"),
            ("x as int * * 2", "((x as int *) * 2)"),
            (
                "old.p as struct conn * == null",
                "((old.p as struct conn *) == Null)",
            ),
            ("a ? b : c ? d : e", "(a ? b : (c ? d : e))"),
            ("old::hits + new::\"a.c/x\"", "(old::hits + new::a.c/x)"),
            ("f(a, b + 1)", "f(a, (b + 1))"),
            ("a->b.c[2]->d", "a->b.c[2]->d"),
            ("!a != b", "((Not a) != b)"),
        ] {
            assert_eq!(show(&expr(src)), want, "{src}");
        }
    }

    #[test]
    fn literals_decode() {
        let e = expr("0xffu");
        assert!(matches!(
            e.kind,
            ExprKind::Int {
                value: 255,
                unsigned: true,
                long: false,
                hex: true
            }
        ));
        assert!(matches!(
            expr("10UL").kind,
            ExprKind::Int {
                value: 10,
                unsigned: true,
                long: true,
                ..
            }
        ));
        assert!(matches!(expr("'\\n'").kind, ExprKind::Char(b'\n')));
        assert_eq!(expr("\"a\\x41\\101\"").kind, ExprKind::Str(b"aAA".to_vec()));
        assert!(matches!(
            expr("1.5f").kind,
            ExprKind::Float { single: true, .. }
        ));
        let e = parse("option deadline = 200ms;").unwrap();
        assert!(matches!(
            &e.items[0],
            Item::Option(OptionItem {
                value: OptionValue::Duration(200_000),
                ..
            })
        ));
    }

    #[test]
    fn items_parse() {
        let src = r#"
upstare 1;
option deadline = 200ms;
type struct conn -> struct conn { new.bytes = old.bytes as u64; }
type struct a;
field struct conn.started_s -> started_ms { new = old * 1000; }
init field struct conn.flags { new = 0; }
global hits { new = old * 2; }
global prog.c/main/calls -> calls;
global "weird name" -> b;
init global started_at { new = now_ms(); }
function old_name -> new_name;
frame bubble_sort @ loop#2 -> selection_sort @ loop#1 { new.i = old.i; }
frame main @ call:work#1 -> @ call:work2#1;
frame f @ call:*#3 -> wait;
frame wait @ entry -> wait @ entry;
thread worker -> worker2;
layout struct list<T> { data: T*; next: struct list<T>*; items: struct item*[old.n]; name: string; cb: fnptr; raw: opaque; v: case { old.kind == 0 => num; else => opaque; }; z: char*[nul]; }
layout global todo: struct list<struct task>*;
assert old::count >= 0, "negative count";
"#;
        let spec = parse(src).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(spec.header.map(|h| h.0), Some(1));
        assert_eq!(spec.items.len(), 18);
        match &spec.items[13] {
            Item::Frame(f) => assert_eq!(f.old.func.text, "wait"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn statements_parse() {
        let src = r#"type struct s {
            let n: u64 = old.n;
            let k = 0;
            for i in 0..n { new.a[i] = old.a[i] + 1; k += 1; }
            if k > 3 { new.x = 1; } else if k == 2 { new.x = 2; } else { new.x = 3; }
            assert k <= n, "too many";
            memcpy(&new.buf, &old.buf, sizeof(old.buf));
            new.type = sizeof(struct s);
            { let z = 1; }
        }"#;
        let spec = parse(src).unwrap_or_else(|e| panic!("{e:?}"));
        match &spec.items[0] {
            Item::Type(t) => assert_eq!(t.body.as_ref().unwrap().stmts.len(), 8),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_are_located() {
        let e = parse("global hits { new = ; }").unwrap_err();
        assert_eq!(e[0].code, Code::Syntax);
        assert_eq!(e[0].span(), Some(Span::new(20, 20)));
        let e = parse("assert 99999999999999999999;").unwrap_err();
        assert!(e[0].message.contains("too large"), "{e:?}");
    }

    #[test]
    fn nesting_at_the_limit_parses_on_a_small_stack() {
        // The deepest accepted input must parse (and lower) on a 1 MiB stack: the guard is
        // what stands between adversarial input and a stack overflow.
        let depth = MAX_DEPTH as usize - 2;
        let parens = format!("assert {}1{};", "(".repeat(depth), ")".repeat(depth));
        let elses = format!(
            "global g {{ {} {{ new = 2; }} }}",
            "if old == 1 { new = 1; } else ".repeat(depth / 2)
        );
        let ternary = format!("assert {}1;", "1 ? 1 : ".repeat(depth - 1));
        // Debug builds use far bigger frames; the 1 MiB bound is for release builds.
        let stack = if cfg!(debug_assertions) {
            16 << 20
        } else {
            1 << 20
        };
        for src in [parens, elses, ternary] {
            let r: Result<(), String> = std::thread::Builder::new()
                .stack_size(stack)
                .spawn(move || {
                    let m = upstare_meta::Module::default();
                    parse(&src).map_err(|e| e[0].message.clone())?;
                    // The checker recurses over the same tree: it must fit too.
                    let _ = crate::check(&src, "deep.upd", &m, &m);
                    Ok(())
                })
                .unwrap()
                .join()
                .unwrap();
            assert_eq!(r, Ok(()));
        }
    }

    #[test]
    fn long_chains_are_refused_not_a_crash() {
        // Left-deep trees as deep as the chain is long: the checker and drop recurse on them.
        for src in [
            format!("assert {}1;", "1 + ".repeat(100_000)),
            format!("assert old{}.x;", "->next".repeat(100_000)),
            format!("assert 1{};", " as int".repeat(100_000)),
        ] {
            let e = parse(&src).unwrap_err();
            assert_eq!(e[0].code, Code::Limit, "{}", e[0].message);
        }
        assert!(parse(&format!("assert {}1;", "1 + ".repeat(150))).is_ok());
    }

    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let src = format!("assert {}1{};", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&src).is_err());
        let src = format!("assert {}1;", "-".repeat(5000));
        assert!(parse(&src).is_err());
    }
}
