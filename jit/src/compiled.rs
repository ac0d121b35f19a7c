//! The result of compiling a spec: rules with native code, and everything needed to turn a
//! failed run into a [`RuleError`] with the rule's name and a source span.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use cranelift_jit::JITModule;
use upstare_dsl::checked::{FrameDest, Span};
use upstare_meta::{GlobalId, PointId, TypeId};

use crate::guard::{self, Fault, RawRuleFn};
use crate::services::{Ctx, MigrateDesc, Services};

/// An old type and the new type its objects become (the key of a type rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeRuleKey {
    pub old: TypeId,
    pub new: TypeId,
}

/// Why a rule failed at update time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The failing rule's name (`type struct conn`, `global hits`, ...). When a rule failed
    /// inside another one it called (a nested type rule), the inner rule's name.
    pub rule: String,
    /// Where in the spec: the failing expression or statement when known, else the rule.
    pub span: Span,
    pub message: String,
    /// The spec file and the 1-based line of `span` (line 0 when compiled without the source).
    pub file: String,
    pub line: u32,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule `{}` ({}): {}",
            self.rule,
            location(&self.file, self.line, self.span),
            self.message
        )
    }
}

impl std::error::Error for RuleError {}

fn location(file: &str, line: u32, span: Span) -> String {
    if line > 0 {
        format!("{file}:{line}")
    } else {
        format!("{file} bytes {}..{}", span.start, span.end)
    }
}

/// A construct the JIT cannot compile, or a name the environment cannot place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub rule: String,
    pub span: Span,
    pub message: String,
    pub file: String,
    pub line: u32,
}

/// Why a spec did not compile: every problem found (each rule is tried).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for JitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "rule `{}` ({}): {}",
                p.rule,
                location(&p.file, p.line, p.span),
                p.message
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for JitError {}

/// Where failures come from: generated code returns `index + 1` of a site.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub rule: u32,
    pub span: Span,
    pub kind: SiteKind,
}

#[derive(Debug, Clone)]
pub(crate) enum SiteKind {
    /// A fixed message (asserts, null checks).
    Message(String),
    /// An out-of-bounds index; the index is in `ctx.value`.
    Index { len: u64, signed: bool },
    /// A shift count out of range; the count is in `ctx.value`.
    Shift { bits: u32, signed: bool },
    /// A `for` loop past the budget; its trip count is in `ctx.value`.
    Fuel,
    /// A call out of JIT code: fails with the callback's message; faults inside it are
    /// reported "in `what`".
    Call(String),
}

/// Compiled code of one function: where it is and which spans its instructions came from.
#[derive(Debug, Clone)]
pub(crate) struct FnCode {
    pub start: usize,
    pub end: usize,
    /// (start offset, end offset, location id), sorted.
    pub srclocs: Vec<(u32, u32, u32)>,
}

/// The spec's path and line starts, for `file:line`.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceInfo {
    pub path: String,
    pub line_starts: Vec<usize>,
}

impl SourceInfo {
    pub fn new(path: &str, text: &str) -> SourceInfo {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceInfo {
            path: path.to_string(),
            line_starts,
        }
    }

    pub fn line(&self, offset: usize) -> u32 {
        if self.line_starts.is_empty() {
            return 0;
        }
        self.line_starts.partition_point(|&s| s <= offset) as u32
    }
}

/// Everything a failed run needs to explain itself; shared by all rules of one compilation.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub sites: Vec<Site>,
    /// Location id -> (rule, span) of the instruction's expression or statement.
    pub locs: Vec<(u32, Span)>,
    /// Rule index -> (name, span).
    pub rules: Vec<(String, Span)>,
    /// Sorted by start address.
    pub code: Vec<FnCode>,
    pub source: Option<SourceInfo>,
    /// String literals (NUL-terminated) and migrate descriptors: generated code holds their
    /// addresses, so they live as long as the code.
    pub strings: Vec<Box<[u8]>>,
    /// Boxed: generated code holds their addresses while the vector grows.
    #[allow(clippy::vec_box)]
    pub migrations: Vec<Box<MigrateDesc>>,
}

impl Tables {
    pub fn file_line(&self, span: Span) -> (String, u32) {
        match &self.source {
            Some(s) => (s.path.clone(), s.line(span.start)),
            None => ("spec".to_string(), 0),
        }
    }

    fn error(&self, rule: u32, span: Span, message: String) -> RuleError {
        let (file, line) = self.file_line(span);
        let name = self
            .rules
            .get(rule as usize)
            .map_or_else(|| "?".to_string(), |r| r.0.clone());
        RuleError {
            rule: name,
            span,
            message,
            file,
            line,
        }
    }

    /// The error for code `code` returned by generated code.
    fn code_error(&self, code: i32, ctx: &Ctx, rule: u32) -> RuleError {
        let Some(site) = usize::try_from(code - 1)
            .ok()
            .and_then(|i| self.sites.get(i))
        else {
            let span = self
                .rules
                .get(rule as usize)
                .map_or(Span::default(), |r| r.1);
            return self.error(rule, span, format!("unknown failure code {code}"));
        };
        let v = ctx.value;
        let message = match &site.kind {
            SiteKind::Message(m) => m.clone(),
            SiteKind::Index { len, signed } => {
                let shown = if *signed {
                    v.to_string()
                } else {
                    (v as u64).to_string()
                };
                format!("index {shown} is out of bounds for an array of {len} elements")
            }
            SiteKind::Shift { bits, signed } => {
                let shown = if *signed {
                    v.to_string()
                } else {
                    (v as u64).to_string()
                };
                format!("shift count {shown} is out of range for a {bits}-bit value")
            }
            SiteKind::Fuel => format!(
                "a loop of {} iterations would pass the loop budget of this run ({} iterations left)",
                v as u64, ctx.fuel
            ),
            SiteKind::Call(what) => format!(
                "{what} failed: {}",
                ctx.message.as_deref().unwrap_or("no reason given")
            ),
        };
        self.error(site.rule, site.span, message)
    }

    /// The error for a caught fault: located by the faulting instruction when it is JIT code,
    /// else by the call out of JIT code in progress, else at the rule.
    fn fault_error(&self, fault: &Fault, ctx: &Ctx, rule: u32) -> RuleError {
        let what = guard::describe(fault);
        let pc = fault.pc as usize;
        let i = self.code.partition_point(|c| c.start <= pc);
        if i > 0 {
            let f = &self.code[i - 1];
            if pc < f.end {
                let off = (pc - f.start) as u32;
                let j = f.srclocs.partition_point(|&(s, _, _)| s <= off);
                if j > 0 {
                    let (_, end, loc) = f.srclocs[j - 1];
                    if off < end {
                        if let Some(&(r, span)) = self.locs.get(loc as usize) {
                            return self.error(r, span, what);
                        }
                    }
                }
                let span = self
                    .rules
                    .get(rule as usize)
                    .map_or(Span::default(), |r| r.1);
                return self.error(rule, span, what);
            }
        }
        if ctx.site > 0 {
            if let Some(site) = self.sites.get(ctx.site as usize - 1) {
                let inside = match &site.kind {
                    SiteKind::Call(w) => format!("{what} inside {w}"),
                    _ => what,
                };
                return self.error(site.rule, site.span, inside);
            }
        }
        let span = self
            .rules
            .get(rule as usize)
            .map_or(Span::default(), |r| r.1);
        self.error(rule, span, what)
    }
}

/// One compiled rule: `extern "C" fn(old: *const u8, new: *mut u8, ctx: *mut Ctx) -> i32`.
pub struct Rule {
    pub name: String,
    pub span: Span,
    pub(crate) index: u32,
    pub(crate) func: RawRuleFn,
    pub(crate) tables: Arc<Tables>,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("name", &self.name)
            .field("span", &self.span)
            .field("func", &(self.func as usize as *const u8))
            .finish()
    }
}

impl Rule {
    /// Runs the rule on one object, with fault containment: a fault (SIGSEGV, SIGBUS, SIGFPE,
    /// SIGILL) inside the rule's code or a callback it made, and the rule's own checks
    /// (division by zero, index out of bounds, failed assert, null dereference, a callback's
    /// failure) come back as `Err`; the process continues. Works inside or outside
    /// [`crate::guard_scope`] (outside, it installs the handlers for this call only).
    ///
    /// # Safety
    /// `old` and `new` must point to what the rule expects (see `upstare_dsl::checked`): the
    /// old and new objects of a type rule, the globals of a global rule, the frame records of
    /// a frame rule, null for asserts; for a layout hint expression, `new` points to a `u64`
    /// that receives its value. A fault is contained, but a write through a pointer that
    /// happens to be valid is not: the rule writes only `new` memory and what the spec's
    /// pointers reach.
    pub unsafe fn run(
        &self,
        old: *const u8,
        new: *mut u8,
        services: &mut Services<'_>,
    ) -> Result<(), RuleError> {
        if !guard::in_scope() {
            // SAFETY: the caller's contract, passed on.
            return guard::guard_scope(|| unsafe { self.run(old, new, services) });
        }
        let mut ctx = Ctx::new(services);
        // SAFETY: `func` is this rule's code, alive while `self` is (the Compiled owns both);
        // the context is valid for the call; what old/new point to is the caller's contract.
        let r = unsafe { guard::call(self.func, old, new, &mut ctx) };
        match r {
            Ok(0) => Ok(()),
            Ok(code) => Err(self.tables.code_error(code, &ctx, self.index)),
            Err(fault) => Err(self.tables.fault_error(&fault, &ctx, self.index)),
        }
    }

    /// Runs the rule on `count` objects in a row (old ones `old_stride` bytes apart, new ones
    /// `new_stride` apart) under one guard, stopping at the first failure: `Err((index, e))`
    /// names the object that failed. The fast path for arrays of migrated objects.
    ///
    /// # Safety
    /// As [`Rule::run`], for each of the `count` objects.
    pub unsafe fn run_many(
        &self,
        old: *const u8,
        old_stride: usize,
        new: *mut u8,
        new_stride: usize,
        count: usize,
        services: &mut Services<'_>,
    ) -> Result<(), (usize, RuleError)> {
        if !guard::in_scope() {
            // SAFETY: the caller's contract, passed on.
            return guard::guard_scope(|| unsafe {
                self.run_many(old, old_stride, new, new_stride, count, services)
            });
        }
        let mut ctx = Ctx::new(services);
        // SAFETY: as in `run`, for each of the `count` objects.
        let r = unsafe {
            guard::call_many(
                self.func,
                old,
                old_stride as u64,
                new,
                new_stride as u64,
                count as u64,
                &mut ctx,
            )
        };
        match r {
            Ok((0, _)) => Ok(()),
            Ok((code, done)) => Err((
                done as usize,
                self.tables.code_error(code, &ctx, self.index),
            )),
            Err((fault, done)) => Err((
                done as usize,
                self.tables.fault_error(&fault, &ctx, self.index),
            )),
        }
    }

    /// The address of the native function, `extern "C" fn(*const u8, *mut u8, *mut Ctx) -> i32`
    /// (for benchmarks; calling it directly bypasses fault containment).
    pub fn address(&self) -> usize {
        self.func as usize
    }
}

/// The JIT memory of one compilation. Only ever touched again to free it.
pub(crate) struct CodeMemory(pub Option<JITModule>);

// SAFETY: after finalisation nothing reads or writes the module through a shared reference;
// it is only dropped (freeing its memory) by the owner. Its interior `RefCell` (the symbol
// cache) is never used again.
unsafe impl Sync for CodeMemory {}
// SAFETY: as above; the module's memory is plain mmap'ed pages that any thread may unmap.
unsafe impl Send for CodeMemory {}

/// A compiled spec: native code for every rule with a body (and for body-less global and field
/// rules, the conversion they imply). Dropping it frees the code.
pub struct Compiled {
    pub(crate) memory: CodeMemory,
    pub(crate) types: Vec<(TypeRuleKey, Rule)>,
    pub(crate) globals: HashMap<GlobalId, Rule>,
    pub(crate) global_old: HashMap<GlobalId, Option<GlobalId>>,
    pub(crate) frames: HashMap<PointId, (Rule, FrameDest)>,
    pub(crate) asserts: Vec<Rule>,
    pub(crate) hints: Vec<Vec<Rule>>,
    pub(crate) code_bytes: usize,
    pub(crate) tables: Arc<Tables>,
}

impl Compiled {
    /// Every type rule (field rules folded in), by (old type, new type). The runtime runs one
    /// on each migrated object after filling the new object with the automatic default.
    pub fn type_rules(&self) -> impl Iterator<Item = (&TypeRuleKey, &Rule)> {
        self.types.iter().map(|(k, r)| (k, r))
    }

    /// The type rule for one pair.
    pub fn type_rule(&self, key: TypeRuleKey) -> Option<&Rule> {
        self.types.iter().find(|(k, _)| *k == key).map(|(_, r)| r)
    }

    /// The rule that fills the new global `new` (its `old` is the global named by the spec's
    /// rule, see [`Compiled::global_source`]; null for `init` rules).
    pub fn global_rule(&self, new: GlobalId) -> Option<&Rule> {
        self.globals.get(&new)
    }

    /// The old global a global rule reads (`None` for `init` rules).
    pub fn global_source(&self, new: GlobalId) -> Option<GlobalId> {
        self.global_old.get(&new).copied().flatten()
    }

    /// The frame rule for frames stopped at the old point, when it has a body. Frame rules
    /// without a body have no code: the runtime's by-name default is all they do.
    pub fn frame_rule(&self, old_point: PointId) -> Option<&Rule> {
        self.frames.get(&old_point).map(|(r, _)| r)
    }

    /// Where frames stopped at `old_point` resume, for frame rules with a body (the others are
    /// in the checked spec).
    pub fn frame_dest(&self, old_point: PointId) -> Option<FrameDest> {
        self.frames.get(&old_point).map(|(_, d)| *d)
    }

    /// The top-level asserts, in spec order; each runs with null `old` and `new`.
    pub fn asserts(&self) -> &[Rule] {
        &self.asserts
    }

    /// The expressions of the `layout` hint `layout` (index into the checked spec's layouts),
    /// in pre-order: per field hint (or the global's hint), a `[len]` count, and each case
    /// arm's condition before the arm's own hint. Each runs with `old` pointing to the
    /// enclosing old object and `new` to a `u64` receiving the count or the condition (0/1).
    pub fn hint_exprs(&self, layout: usize) -> &[Rule] {
        self.hints.get(layout).map_or(&[], Vec::as_slice)
    }

    /// Bytes of machine code (all rules).
    pub fn code_bytes(&self) -> usize {
        self.code_bytes
    }

    /// The number of native functions.
    pub fn functions(&self) -> usize {
        self.tables.code.len()
    }
}

impl Drop for Compiled {
    fn drop(&mut self) {
        if let Some(m) = self.memory.0.take() {
            // SAFETY: the rules (and their function pointers) are owned by `self` and die with
            // it; no rule can be running, since running one borrows `self`.
            unsafe { m.free_memory() };
        }
    }
}

impl fmt::Debug for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compiled")
            .field("types", &self.types.len())
            .field("globals", &self.globals.len())
            .field("frames", &self.frames.len())
            .field("asserts", &self.asserts.len())
            .field("code_bytes", &self.code_bytes)
            .finish()
    }
}
