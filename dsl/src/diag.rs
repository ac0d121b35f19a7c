//! Diagnostics: what the parser and the checker report, and how they are rendered.
//!
//! A [`Diagnostic`] is plain data (a code, a severity, a message, labelled spans, help) that
//! implements [`miette::Diagnostic`], so rendering is miette's. [`render`] is the one place that
//! turns diagnostics into text: miette's graphical handler with a plain theme (no colours, no
//! links, fixed width) so that the conformance cases can compare output byte for byte, or a
//! stable JSON array for tools. The checker never prints.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;

use crate::ast::Span;

/// Every class of diagnostic, one code each (`upstare::dsl::<code>`). The conformance cases in
/// `spec/cases/` hold at least one case per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The text does not follow the grammar.
    Syntax,
    /// `upstare N;` names a language version this checker does not know.
    Version,
    /// An unknown or ill-typed `option`.
    BadOption,
    /// A type name that neither version defines.
    UnknownType,
    /// A field the type does not have.
    UnknownField,
    /// A global (or static local) that the version does not have.
    UnknownGlobal,
    /// A function that the version does not have.
    UnknownFunction,
    /// A point key the function does not have.
    UnknownPoint,
    /// A local the frame record does not hold.
    UnknownLocal,
    /// A `let`/`for` variable or builtin that does not exist.
    UnknownName,
    /// A name that matches several symbols (statics of different files).
    Ambiguous,
    /// Operand or argument types that do not fit.
    TypeMismatch,
    /// An assignment to (or a `memcpy` into) old state.
    WriteToOld,
    /// A place that cannot be assigned (not an lvalue, a `for` variable, a `let` variable).
    NotAssignable,
    /// A construct used where it means nothing (`new` in an assert, `base` outside a field rule).
    Misplaced,
    /// Two rules for the same thing.
    Duplicate,
    /// A rule for something that did not change (warning).
    Unchanged,
    /// Something changed and needs a rule, and the spec has none.
    MissingRule,
    /// An old frame that may be active at update time and has no place to resume.
    UnmappedFrame,
    /// A pointer into old memory stored into new state without `migrate`.
    OldPointer,
    /// A bad layout hint.
    BadHint,
    /// The spec or the versions are too large for one of the checker's limits.
    Limit,
    /// `void *` fields or globals that the heap traversal does not follow while a struct
    /// changed (warning).
    UntypedPointer,
}

impl Code {
    /// Every code, in declaration order.
    pub const ALL: [Code; 23] = [
        Code::Syntax,
        Code::Version,
        Code::BadOption,
        Code::UnknownType,
        Code::UnknownField,
        Code::UnknownGlobal,
        Code::UnknownFunction,
        Code::UnknownPoint,
        Code::UnknownLocal,
        Code::UnknownName,
        Code::Ambiguous,
        Code::TypeMismatch,
        Code::WriteToOld,
        Code::NotAssignable,
        Code::Misplaced,
        Code::Duplicate,
        Code::Unchanged,
        Code::MissingRule,
        Code::UnmappedFrame,
        Code::OldPointer,
        Code::BadHint,
        Code::Limit,
        Code::UntypedPointer,
    ];

    /// The code as shown: `upstare::dsl::unknown_global`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "upstare::dsl::syntax",
            Code::Version => "upstare::dsl::version",
            Code::BadOption => "upstare::dsl::bad_option",
            Code::UnknownType => "upstare::dsl::unknown_type",
            Code::UnknownField => "upstare::dsl::unknown_field",
            Code::UnknownGlobal => "upstare::dsl::unknown_global",
            Code::UnknownFunction => "upstare::dsl::unknown_function",
            Code::UnknownPoint => "upstare::dsl::unknown_point",
            Code::UnknownLocal => "upstare::dsl::unknown_local",
            Code::UnknownName => "upstare::dsl::unknown_name",
            Code::Ambiguous => "upstare::dsl::ambiguous",
            Code::TypeMismatch => "upstare::dsl::type_mismatch",
            Code::WriteToOld => "upstare::dsl::write_to_old",
            Code::NotAssignable => "upstare::dsl::not_assignable",
            Code::Misplaced => "upstare::dsl::misplaced",
            Code::Duplicate => "upstare::dsl::duplicate",
            Code::Unchanged => "upstare::dsl::unchanged",
            Code::MissingRule => "upstare::dsl::missing_rule",
            Code::UnmappedFrame => "upstare::dsl::unmapped_frame",
            Code::OldPointer => "upstare::dsl::old_pointer",
            Code::BadHint => "upstare::dsl::bad_hint",
            Code::Limit => "upstare::dsl::limit",
            Code::UntypedPointer => "upstare::dsl::untyped_pointer",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One labelled span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    pub span: Span,
    /// Shown next to the span; empty for none.
    pub text: String,
}

/// One finding of the parser or the checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// The first label is the primary one; none for findings about the versions themselves
    /// (a changed global without a rule has no place in the spec).
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Adds a label.
    pub fn label(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// Sets the help text.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The primary span, if any.
    pub fn span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.as_str()) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().map(|l| {
            let text = (!l.text.is_empty()).then(|| l.text.clone());
            LabeledSpan::new_with_span(text, l.span)
        })))
    }
}

/// A diagnostic with its source attached, the form miette renders.
struct WithSource<'a> {
    diag: &'a Diagnostic,
    source: &'a NamedSource<String>,
    /// Spans clipped to the source, so that a bad span can never make miette fail.
    labels: Vec<LabeledSpan>,
}

impl fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diag, f)
    }
}

impl fmt::Display for WithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.diag, f)
    }
}

impl std::error::Error for WithSource<'_> {}

impl miette::Diagnostic for WithSource<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        miette::Diagnostic::code(self.diag)
    }
    fn severity(&self) -> Option<miette::Severity> {
        miette::Diagnostic::severity(self.diag)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        miette::Diagnostic::help(self.diag)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().cloned()))
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        (!self.labels.is_empty()).then_some(self.source as &dyn miette::SourceCode)
    }
}

/// The width text is wrapped at; fixed so that output does not depend on the terminal.
const WIDTH: usize = 100;

/// Renders `diags` against `source` (the spec's text, named `path`): miette's report, plain
/// theme without colours, one after another, or (`json`) a JSON array of objects with `code`,
/// `severity`, `message`, `file`, `labels` (`start`, `end`, `line`, `column`, both 1-based,
/// `text`) and `help`.
pub fn render(diags: &[Diagnostic], source: &str, path: &str, json: bool) -> String {
    if json {
        return render_json(diags, source, path);
    }
    let named = NamedSource::new(path, source.to_string());
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(WIDTH)
        .with_links(false);
    let mut out = String::new();
    for d in diags {
        let labels = d
            .labels
            .iter()
            .map(|l| {
                let span = clip(l.span, source);
                let text = (!l.text.is_empty()).then(|| l.text.clone());
                LabeledSpan::new_with_span(text, span)
            })
            .collect();
        let w = WithSource {
            diag: d,
            source: &named,
            labels,
        };
        let mut one = String::new();
        if handler.render_report(&mut one, &w).is_err() {
            // miette failed (it should not with clipped spans): fall back to the bare message.
            one = format!("{}: {}\n", d.code, d.message);
        }
        // Trailing spaces depend on miette's padding; strip them so the expected files are
        // easy to edit.
        for line in one.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// `span` moved inside `source` and onto character boundaries.
fn clip(span: Span, source: &str) -> Span {
    let fix = |mut at: usize| {
        at = at.min(source.len());
        while !source.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let start = fix(span.start);
    let end = fix(span.end).max(start);
    Span::new(start, end)
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_col(source: &str, at: usize) -> (usize, usize) {
    let at = clip(Span::new(at, at), source).start;
    let before = &source[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

fn render_json(diags: &[Diagnostic], source: &str, path: &str) -> String {
    #[derive(Serialize)]
    struct JLabel<'a> {
        start: usize,
        end: usize,
        line: usize,
        column: usize,
        text: &'a str,
    }
    #[derive(Serialize)]
    struct JDiag<'a> {
        code: &'static str,
        severity: Severity,
        message: &'a str,
        file: &'a str,
        labels: Vec<JLabel<'a>>,
        help: Option<&'a str>,
    }
    let list: Vec<JDiag> = diags
        .iter()
        .map(|d| JDiag {
            code: d.code.as_str(),
            severity: d.severity,
            message: &d.message,
            file: path,
            labels: d
                .labels
                .iter()
                .map(|l| {
                    let s = clip(l.span, source);
                    let (line, column) = line_col(source, s.start);
                    JLabel {
                        start: s.start,
                        end: s.end,
                        line,
                        column,
                        text: &l.text,
                    }
                })
                .collect(),
            help: d.help.as_deref(),
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".to_string());
    s.push('\n');
    s
}

/// The known name closest to `name` by edit distance, if it is close enough to be a likely
/// typo (distance at most a third of the longer name, and at most 3).
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        // Cheap length filter first: the distance is at least the length difference.
        let diff = c.len().abs_diff(name.len());
        if diff > 3 {
            continue;
        }
        let d = strsim::levenshtein(name, c);
        let limit = (name.len().max(c.len()) / 3).clamp(1, 3);
        if d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `did you mean `x`?` help for an unknown name.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    suggest(name, candidates).map(|s| format!("did you mean `{s}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_names() {
        let names = ["total", "hits", "head", "counter"];
        assert_eq!(suggest("totl", names), Some("total"));
        assert_eq!(suggest("hit", names), Some("hits"));
        assert_eq!(suggest("countr", names), Some("counter"));
        assert_eq!(suggest("zzzzzz", names), None);
        assert_eq!(suggest("total", names), None);
    }

    #[test]
    fn render_survives_bad_spans() {
        let d = Diagnostic::error(Code::Syntax, "bad")
            .label(Span::new(3, 100), "here")
            .label(Span::new(1000, 2000), "");
        let out = render(&[d], "añb", "x.upd", false);
        assert!(out.contains("bad"), "{out}");
        let json = render(
            &[Diagnostic::error(Code::Syntax, "x").label(Span::new(2, 3), "")],
            "a\nbc",
            "x.upd",
            true,
        );
        assert!(json.contains("\"line\": 2"), "{json}");
    }
}
