//! The driver: one cranelift function per rule, all compiled up front into one JIT module.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{types, AbiParam, Function, InstBuilder, Signature, UserFuncName};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId as ClifFuncId, Module as _, ModuleReloc};
use upstare_dsl::checked::{Body, Expr, FrameDest, Hint, LayoutTarget, PtrLen, Span, Spec, Stmt};
use upstare_meta::{ctype, FieldLayout, Module};

use crate::compiled::{
    CodeMemory, Compiled, FnCode, JitError, Problem, Rule, SourceInfo, Tables, TypeRuleKey,
};
use crate::guard::RawRuleFn;
use crate::lower::{Cx, FnCx, LowerError, L};
use crate::plan::Planner;
use crate::scalar::Scalar;
use crate::Env;

/// What one native function computes.
enum Job<'s> {
    Type(usize),
    Global(usize),
    Frame(usize),
    Assert(usize),
    /// Layout `layout`, its `n`-th hint expression; `cond`: a case condition (0/1) rather than
    /// a count.
    Hint {
        layout: usize,
        expr: &'s Expr,
        cond: bool,
    },
}

/// A function compiled into the module, before it has its final address.
struct Defined {
    fid: ClifFuncId,
    rule: u32,
    size: usize,
    /// (start, end, location id) of its instructions.
    srclocs: Vec<(u32, u32, u32)>,
}

struct Driver<'a> {
    cx: Cx<'a>,
    module: JITModule,
    ctx: Context,
    fctx: FunctionBuilderContext,
    sig: Signature,
    lowered: Vec<Lowered>,
    /// The ISA without the optimiser (the module's own ISA optimises).
    plain_isa: cranelift_codegen::isa::OwnedTargetIsa,
    defined: Vec<Defined>,
    problems: Vec<(u32, LowerError)>,
}

/// Compiles every rule of `spec` (checked against `old` and `new`), placing globals and named
/// functions with `env`. Error locations are byte offsets; [`compile_with_source`] gives lines.
pub fn compile(
    spec: &Spec,
    old: &Module,
    new: &Module,
    env: &dyn Env,
) -> Result<Compiled, JitError> {
    compile_inner(spec, None, old, new, env)
}

/// [`compile`], with the spec's path and text so that errors say `file:line`.
pub fn compile_with_source(
    spec: &Spec,
    path: &str,
    source: &str,
    old: &Module,
    new: &Module,
    env: &dyn Env,
) -> Result<Compiled, JitError> {
    compile_inner(spec, Some(SourceInfo::new(path, source)), old, new, env)
}

/// The host ISA. `optimise`: cranelift's optimiser (e-graphs) runs; it is worth its compile
/// time only for type rules with loops (see [`worth_optimising`]). Global, frame, assert and
/// hint rules run once per update (or per frame) and are compiled without it.
fn host_isa(optimise: bool) -> Result<cranelift_codegen::isa::OwnedTargetIsa, String> {
    let mut flags = settings::builder();
    let set = |f: &mut settings::Builder, k: &str, v: &str| {
        f.set(k, v)
            .map_err(|e| format!("cranelift setting {k}={v}: {e}"))
    };
    set(
        &mut flags,
        "opt_level",
        if optimise { "speed" } else { "none" },
    )?;
    set(
        &mut flags,
        "enable_verifier",
        if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        },
    )?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    set(&mut flags, "is_pic", "false")?;
    let builder = cranelift_native::builder().map_err(|e| format!("host not supported: {e}"))?;
    builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| format!("cranelift: {e}"))
}

fn compile_inner(
    spec: &Spec,
    source: Option<SourceInfo>,
    old: &Module,
    new: &Module,
    env: &dyn Env,
) -> Result<Compiled, JitError> {
    let fatal = |m: String| JitError {
        problems: vec![Problem {
            rule: "(all)".into(),
            span: Span::default(),
            message: m,
            file: source.as_ref().map_or("spec".into(), |s| s.path.clone()),
            line: 0,
        }],
    };
    let isa = host_isa(true).map_err(fatal)?;
    let plain_isa = host_isa(false).map_err(fatal)?;
    let call_conv = isa.default_call_conv();
    let module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let mut sig = Signature::new(call_conv);
    for _ in 0..3 {
        sig.params.push(AbiParam::new(types::I64));
    }
    sig.returns.push(AbiParam::new(types::I32));
    let tables = Tables {
        source,
        ..Tables::default()
    };
    let mut d = Driver {
        cx: Cx {
            old,
            new,
            env,
            tables,
            type_funcs: HashMap::new(),
            type_rule_set: HashSet::new(),
            call_conv,
        },
        ctx: module.make_context(),
        module,
        fctx: FunctionBuilderContext::new(),
        sig,
        lowered: Vec::new(),
        plain_isa,
        defined: Vec::new(),
        problems: Vec::new(),
    };

    // Every job, with its name and span; type rules first (their functions are called by
    // conversions inside other rules).
    let mut jobs: Vec<(Job, String, Span)> = Vec::new();
    for (i, t) in spec.types.iter().enumerate() {
        jobs.push((Job::Type(i), t.origin.name.clone(), t.origin.span));
    }
    for (i, g) in spec.globals.iter().enumerate() {
        if g.body.is_some() || g.old.is_some() {
            jobs.push((Job::Global(i), g.origin.name.clone(), g.origin.span));
        }
    }
    for (i, f) in spec.frames.iter().enumerate() {
        if f.body.is_some() {
            jobs.push((Job::Frame(i), f.origin.name.clone(), f.origin.span));
        }
    }
    for (i, a) in spec.asserts.iter().enumerate() {
        jobs.push((Job::Assert(i), a.origin.name.clone(), a.origin.span));
    }
    for (li, l) in spec.layouts.iter().enumerate() {
        let mut exprs = Vec::new();
        match &l.target {
            LayoutTarget::Type { fields, .. } => {
                for f in fields {
                    hint_exprs(&f.hint, &mut exprs);
                }
            }
            LayoutTarget::Global { hint, .. } => hint_exprs(hint, &mut exprs),
        }
        for (n, (expr, cond)) in exprs.into_iter().enumerate() {
            jobs.push((
                Job::Hint {
                    layout: li,
                    expr,
                    cond,
                },
                format!("{} (hint expression {})", l.origin.name, n + 1),
                expr.span,
            ));
        }
    }

    // Declare all, then define all.
    let mut fids = Vec::with_capacity(jobs.len());
    for (k, (job, name, span)) in jobs.iter().enumerate() {
        d.cx.tables.rules.push((name.clone(), *span));
        let fid = match d.module.declare_anonymous_function(&d.sig) {
            Ok(f) => f,
            Err(e) => return Err(d.fail_all(format!("cranelift: {e}"))),
        };
        if let Job::Type(i) = job {
            let t = &spec.types[*i];
            d.cx.type_funcs.insert((t.old, t.new), fid);
            d.cx.type_rule_set.insert((t.old, t.new));
        }
        fids.push(fid);
        let _ = k;
    }
    let times = std::env::var_os("UPSTARE_JIT_TIMES").is_some();
    let t0 = std::time::Instant::now();
    for (k, (job, _, span)) in jobs.iter().enumerate() {
        d.lower(fids[k], k as u32, *span, spec, job);
    }
    let t1 = std::time::Instant::now();
    if d.problems.is_empty() {
        d.compile_all();
    }
    if times {
        eprintln!(
            "upstare-jit: lower {:.2} ms, compile+define {:.2} ms",
            (t1 - t0).as_secs_f64() * 1e3,
            t1.elapsed().as_secs_f64() * 1e3
        );
    }
    if !d.problems.is_empty() {
        let problems = d
            .problems
            .iter()
            .map(|(rule, e)| {
                let (file, line) = d.cx.tables.file_line(e.span);
                Problem {
                    rule: d.cx.tables.rules[*rule as usize].0.clone(),
                    span: e.span,
                    message: e.message.clone(),
                    file,
                    line,
                }
            })
            .collect();
        // SAFETY: nothing was finalised or run; the memory holds no live function.
        unsafe { d.module.free_memory() };
        return Err(JitError { problems });
    }
    if let Err(e) = d.module.finalize_definitions() {
        return Err(d.fail_all(format!("cranelift: {e}")));
    }

    // Where each function landed.
    let mut code = Vec::with_capacity(d.defined.len());
    let mut addrs = HashMap::new();
    let mut code_bytes = 0;
    for Defined {
        fid,
        rule,
        size,
        srclocs,
    } in std::mem::take(&mut d.defined)
    {
        let start = d.module.get_finalized_function(fid) as usize;
        addrs.insert(rule, start);
        code_bytes += size;
        code.push(FnCode {
            start,
            end: start + size,
            srclocs,
        });
    }
    code.sort_by_key(|c| c.start);
    d.cx.tables.code = code;
    let tables = Arc::new(std::mem::take(&mut d.cx.tables));
    let rule = |k: usize| {
        let (name, span) = tables.rules[k].clone();
        // SAFETY: the address is a finalised function with the rule signature.
        let func: RawRuleFn =
            unsafe { std::mem::transmute::<usize, RawRuleFn>(addrs[&(k as u32)]) };
        Rule {
            name,
            span,
            index: k as u32,
            func,
            tables: tables.clone(),
        }
    };
    let mut out = Compiled {
        memory: CodeMemory(None),
        types: Vec::new(),
        globals: HashMap::new(),
        global_old: HashMap::new(),
        frames: HashMap::new(),
        asserts: Vec::new(),
        hints: (0..spec.layouts.len()).map(|_| Vec::new()).collect(),
        code_bytes,
        tables: tables.clone(),
    };
    for (k, (job, _, _)) in jobs.iter().enumerate() {
        match job {
            Job::Type(i) => {
                let t = &spec.types[*i];
                out.types.push((
                    TypeRuleKey {
                        old: t.old,
                        new: t.new,
                    },
                    rule(k),
                ));
            }
            Job::Global(i) => {
                let g = &spec.globals[*i];
                out.globals.insert(g.new, rule(k));
                out.global_old.insert(g.new, g.old);
            }
            Job::Frame(i) => {
                let f = &spec.frames[*i];
                out.frames.insert(f.old_point, (rule(k), f.dest));
            }
            Job::Assert(_) => out.asserts.push(rule(k)),
            Job::Hint { layout, .. } => out.hints[*layout].push(rule(k)),
        }
    }
    out.memory = CodeMemory(Some(d.module));
    Ok(out)
}

/// Whether cranelift's optimiser pays for its compile time on a type rule: the rule runs once
/// per migrated object, and a loop in it runs many times per object. Straight-line field
/// conversions come out of instruction selection as good as optimised (measured: the same
/// machine code for the benchmark's 10-field rule), at two thirds of the compile time.
fn worth_optimising(t: &upstare_dsl::checked::TypeRule) -> bool {
    fn loops(ss: &[Stmt]) -> bool {
        ss.iter().any(|s| match s {
            Stmt::For { .. } => true,
            Stmt::If { then, els, .. } => loops(then) || loops(els),
            _ => false,
        })
    }
    t.body.as_ref().is_some_and(|b| loops(&b.stmts))
        || t.fields
            .iter()
            .any(|f| f.body.as_ref().is_some_and(|b| loops(&b.stmts)))
}

/// The expressions of a hint, in pre-order (see [`Compiled::hint_exprs`]).
fn hint_exprs<'h>(h: &'h Hint, out: &mut Vec<(&'h Expr, bool)>) {
    match h {
        Hint::Ptr {
            len: PtrLen::Count(e),
            ..
        } => out.push((e, false)),
        Hint::Case(arms) => {
            for arm in arms {
                if let Some(c) = &arm.cond {
                    out.push((c, true));
                }
                hint_exprs(&arm.hint, out);
            }
        }
        _ => {}
    }
}

impl Driver<'_> {
    fn fail_all(self, message: String) -> JitError {
        let (file, line) = (
            self.cx
                .tables
                .source
                .as_ref()
                .map_or("spec".into(), |s| s.path.clone()),
            0,
        );
        // SAFETY: nothing of this module ran.
        unsafe { self.module.free_memory() };
        JitError {
            problems: vec![Problem {
                rule: "(all)".into(),
                span: Span::default(),
                message,
                file,
                line,
            }],
        }
    }

    /// Lowers one job to IR for `fid`; problems are collected.
    fn lower(&mut self, fid: ClifFuncId, rule: u32, span: Span, spec: &Spec, job: &Job) {
        self.ctx.func.signature = self.sig.clone();
        self.ctx.func.name = UserFuncName::user(0, fid.as_u32());
        let b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
        let mut f = FnCx::new(&mut self.cx, &mut self.module, b, rule, span);
        match lower_job(&mut f, spec, job) {
            Ok(()) => {
                f.finish_ok();
                let func = std::mem::replace(&mut self.ctx.func, Function::new());
                self.lowered.push(Lowered {
                    fid,
                    rule,
                    span,
                    func,
                    hot: match job {
                        Job::Type(i) => worth_optimising(&spec.types[*i]),
                        _ => false,
                    },
                });
            }
            Err(e) => {
                drop(f);
                self.problems.push((rule, e));
                self.module.clear_context(&mut self.ctx);
                // The builder context may hold the failed function's state.
                self.fctx = FunctionBuilderContext::new();
            }
        }
    }

    /// Compiles every lowered function (on several threads when there are many) and defines
    /// the machine code in the module.
    fn compile_all(&mut self) {
        let lowered = std::mem::take(&mut self.lowered);
        let threads = std::env::var("UPSTARE_JIT_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .min(lowered.len().div_ceil(PER_THREAD))
            .max(1);
        let isa = self.module.isa();
        let plain = &*self.plain_isa;
        let disasm = std::env::var_os("UPSTARE_JIT_DISASM").is_some();
        // Threads take the next function from a shared queue, so that one descheduled thread
        // (a busy machine) does not hold the others back; this thread works too.
        let queue = std::sync::Mutex::new(lowered.into_iter().enumerate());
        let work = || {
            let mut ctx = Context::new();
            let mut done = Vec::new();
            loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some((k, mut l)) = next else { break };
                let isa = if l.hot { isa } else { plain };
                let r = compile_one(isa, &mut ctx, &mut l, disasm);
                done.push((k, l, r));
            }
            done
        };
        let mut results: Vec<(usize, Lowered, Result<MachineCode, String>)> = if threads == 1 {
            work()
        } else {
            std::thread::scope(|sc| {
                let helpers: Vec<_> = (1..threads).map(|_| sc.spawn(work)).collect();
                let mut all = work();
                for h in helpers {
                    all.extend(h.join().expect("a compiler thread panicked"));
                }
                all
            })
        };
        results.sort_by_key(|(k, _, _)| *k);
        for (_, l, r) in results {
            let code = match r {
                Ok(c) => c,
                Err(e) => {
                    self.problems.push((
                        l.rule,
                        LowerError {
                            span: l.span,
                            message: format!("cranelift could not compile this rule: {e}"),
                        },
                    ));
                    continue;
                }
            };
            if let Err(e) =
                self.module
                    .define_function_bytes(l.fid, code.align, &code.bytes, &code.relocs)
            {
                self.problems.push((
                    l.rule,
                    LowerError {
                        span: l.span,
                        message: format!("cranelift could not place this rule: {e}"),
                    },
                ));
                continue;
            }
            self.defined.push(Defined {
                fid: l.fid,
                rule: l.rule,
                size: code.bytes.len(),
                srclocs: code.srclocs,
            });
        }
    }
}

/// Functions per compiler thread below which one thread does it all.
const PER_THREAD: usize = 48;

/// One rule lowered to IR, waiting for the code generator.
struct Lowered {
    fid: ClifFuncId,
    rule: u32,
    span: Span,
    func: Function,
    /// Runs once per migrated object: optimise it.
    hot: bool,
}

/// One function's machine code, not yet placed.
struct MachineCode {
    bytes: Vec<u8>,
    align: u64,
    relocs: Vec<ModuleReloc>,
    srclocs: Vec<(u32, u32, u32)>,
}

fn compile_one(
    isa: &dyn TargetIsa,
    ctx: &mut Context,
    l: &mut Lowered,
    disasm: bool,
) -> Result<MachineCode, String> {
    ctx.clear();
    ctx.func = std::mem::replace(&mut l.func, Function::new());
    if disasm {
        ctx.set_disasm(true);
        eprintln!("{}", ctx.func.display());
    }
    let align = ctx
        .compile(isa, &mut ControlPlane::default())
        .map_err(|e| format!("{:?}", e.inner))?
        .buffer
        .alignment as u64;
    let cc = ctx.compiled_code().expect("just compiled");
    if disasm {
        eprintln!("{}", cc.vcode.as_deref().unwrap_or(""));
    }
    Ok(MachineCode {
        bytes: cc.code_buffer().to_vec(),
        align,
        relocs: cc
            .buffer
            .relocs()
            .iter()
            .map(|r| ModuleReloc::from_mach_reloc(r, &ctx.func, l.fid))
            .collect(),
        srclocs: cc
            .buffer
            .get_srclocs_sorted()
            .iter()
            .filter(|s| !s.loc.is_default())
            .map(|s| (s.start, s.end, s.loc.bits()))
            .collect(),
    })
}

/// The body of one job.
fn lower_job(f: &mut FnCx, spec: &Spec, job: &Job) -> L<()> {
    match job {
        Job::Type(i) => {
            let t = &spec.types[*i];
            let (old, new) = (f.cx.old, f.cx.new);
            let (ot, nt) = match (old.types.get(t.old), new.types.get(t.new)) {
                (Some(a), Some(b)) => (a, b),
                _ => return f.err(t.origin.span, "the rule's types are not in the metadata"),
            };
            f.old_size = Some(ot.size);
            f.new_size = Some(nt.size);
            for fr in &t.fields {
                match &fr.body {
                    Some(body) => {
                        let prev = f.at(fr.origin.span);
                        body_with_vars(f, body)?;
                        f.restore(prev);
                    }
                    None => {
                        // A rename: the old field converted into the new one.
                        let Some(of) = fr.old_field else {
                            return f.err(fr.origin.span, "an `init field` rule without a body");
                        };
                        let (Some(ofd), Some(nfd)) = (
                            ot.fields.get(of as usize),
                            nt.fields.get(fr.new_field as usize),
                        ) else {
                            return f.err(fr.origin.span, "a field index outside its record");
                        };
                        let (
                            FieldLayout::Bytes {
                                offset: ooff,
                                size: osize,
                            },
                            FieldLayout::Bytes {
                                offset: noff,
                                size: nsize,
                            },
                        ) = (ofd.layout, nfd.layout)
                        else {
                            return f.err(
                                fr.origin.span,
                                format!(
                                    "not supported by the JIT yet: bit-field `{}` (metadata \
                                     format 1 records no bit offsets)",
                                    if matches!(ofd.layout, FieldLayout::Bits { .. }) {
                                        &ofd.name
                                    } else {
                                        &nfd.name
                                    }
                                ),
                            );
                        };
                        let from = old.resolve(&ctype::parse(&ofd.ty));
                        let to = new.resolve(&ctype::parse(&nfd.ty));
                        let prev = f.at(fr.origin.span);
                        let planner = Planner {
                            old,
                            new,
                            rules: &f.cx.type_rule_set,
                        };
                        let plan = planner
                            .plan(&from, &to, Some(osize), Some(nsize), 0)
                            .or_else(|m| f.err(fr.origin.span, m))?;
                        let (o, n) = (f.old, f.new);
                        f.lower_plan(&plan, (o, ooff as i64), (n, noff as i64))?;
                        f.restore(prev);
                    }
                }
            }
            if let Some(body) = &t.body {
                body_with_vars(f, body)?;
            }
            Ok(())
        }
        Job::Global(i) => {
            let g = &spec.globals[*i];
            let (old, new) = (f.cx.old, f.cx.new);
            let ng = new.globals.get(g.new).ok_or_else(|| LowerError {
                span: g.origin.span,
                message: "the new global is not in the metadata".into(),
            })?;
            let og = g.old.and_then(|o| old.globals.get(o));
            f.old_size = og.map(|o| o.size);
            f.new_size = Some(ng.size);
            match (&g.body, og) {
                (Some(body), _) => body_with_vars(f, body),
                (None, Some(og)) => {
                    let from = old.resolve_in(global_file(og), &ctype::parse(&og.ty));
                    let to = new.resolve_in(global_file(ng), &ctype::parse(&ng.ty));
                    let planner = Planner {
                        old,
                        new,
                        rules: &f.cx.type_rule_set,
                    };
                    let plan = planner
                        .plan(&from, &to, Some(og.size), Some(ng.size), 0)
                        .or_else(|m| f.err(g.origin.span, m))?;
                    let prev = f.at(g.origin.span);
                    let (o, n) = (f.old, f.new);
                    f.lower_plan(&plan, (o, 0), (n, 0))?;
                    f.restore(prev);
                    Ok(())
                }
                (None, None) => f.err(g.origin.span, "an `init` rule without a body"),
            }
        }
        Job::Frame(i) => {
            let fr = &spec.frames[*i];
            let (old, new) = (f.cx.old, f.cx.new);
            f.old_size = old.points.get(fr.old_point).map(|p| p.record_size);
            if let FrameDest::At { point, .. } = fr.dest {
                f.new_size = new.points.get(point).map(|p| p.record_size);
            }
            match &fr.body {
                Some(body) => body_with_vars(f, body),
                None => Ok(()),
            }
        }
        Job::Assert(i) => {
            let a = &spec.asserts[*i];
            let stmt = Stmt::Assert {
                cond: a.cond.clone(),
                message: a.message.clone(),
                span: a.origin.span,
            };
            f.stmts(std::slice::from_ref(&stmt))
        }
        Job::Hint { expr, cond, .. } => {
            let prev = f.at(expr.span);
            let v = if *cond {
                let t = f.truth(expr)?;
                f.b.ins().uextend(types::I64, t)
            } else {
                let s = Scalar::of(&expr.ty).or_else(|m| f.err(expr.span, m))?;
                let v = f.expr(expr)?;
                f.convert(
                    v,
                    s,
                    Scalar::Int {
                        bytes: 8,
                        signed: false,
                    },
                )
            };
            let n = f.new;
            f.store_at(v, n, 0);
            f.restore(prev);
            Ok(())
        }
    }
}

fn body_with_vars(f: &mut FnCx, body: &Body) -> L<()> {
    // Each body numbers its variables from 0.
    let saved = std::mem::take(&mut f.vars);
    let r = f
        .declare_vars(&body.vars)
        .and_then(|()| f.stmts(&body.stmts));
    f.vars = saved;
    r
}

/// The source file of a static global's key (`FILE/name`, `FILE/function/name`), to resolve
/// its typedefs as that file declares them.
fn global_file(g: &upstare_meta::Global) -> Option<&str> {
    if !g.flags.internal && !g.flags.static_local {
        return None;
    }
    let head = g.key.strip_suffix(g.name.as_str())?.strip_suffix('/')?;
    if g.flags.static_local {
        Some(head.rsplit_once('/')?.0)
    } else {
        Some(head)
    }
}
