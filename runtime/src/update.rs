//! The update transaction (ARCHITECTURE.md "The update transaction"):
//!
//! 1. **Prepare**, while the program runs: load the module, diff it against the running
//!    version, make the plan; any refusal answers here and nothing was touched.
//! 2. **Quiesce**: a strict round (`coord::begin_strict`): every thread unwinds to its root and
//!    parks; blocked threads are woken (`blocking::ring`). Past the deadline: abort.
//! 3. **Transform**, every thread parked: the heap traversal finds the objects to migrate and
//!    gives them new blocks (heap/), then new frame records for every thread (staged beside
//!    the old ones), new globals written into the new module's memory only, new heap objects
//!    filled, start routines mapped; what kept heap objects and boxes must change is staged.
//! 4. **Commit**: write the staged heap patches, install the staged records and start
//!    routines, switch the current version, point signal handlers at the new code, release:
//!    threads rebuild in the new version; then the old heap objects that migrated are freed.
//! 5. **Abort** (any failure after quiescence): drop what was staged (new heap blocks freed),
//!    release: threads rebuild from the records they left, in the old code, over an old heap
//!    that was never written; the module is closed.
//!
//! Deliberately not here: the rules themselves (plan.rs) and how threads unwind (coord.rs).

use std::cell::RefCell;
use std::sync::Mutex;
use std::time::Duration;

use upstare_proto::{Failure, Report, Response, SpecSource, Status, ThreadStatus};

use crate::coord::{self, now_ns, QuiesceError};
use crate::heap::{Heap, HeapRelocate, Origin};
use crate::plan::{Plan, RelocRef, Relocator};
use crate::records::RecordStack;
use crate::thread::{self, ThreadCtx};
use crate::version::{self, Version};
use upstare_meta::FuncId;

/// The last update's report and where each thread was then (tid -> frames), for `status`.
type Where = Vec<(i32, Vec<(u32, upstare_meta::PointId)>)>;
static LAST: Mutex<Option<(Report, Where)>> = Mutex::new(None);

fn us(ns: u64) -> u64 {
    ns / 1000
}

/// Runs one update to `module` (None: the running version again).
pub fn run(module: Option<&str>, spec: Option<SpecSource>, deadline_ms: u64) -> Response {
    let t0 = now_ns();
    let mut report = Report::default();
    let fail = |phase: &str, reasons: Vec<String>, report: &Report| Response::Failed {
        failure: Failure {
            phase: phase.into(),
            reasons,
            report: report.clone(),
        },
    };

    // 1. Prepare.
    let cur = match version::current() {
        Ok(v) => v,
        Err(e) => return fail("prepare", vec![e.to_string()], &report),
    };
    report.from_version = cur.number;
    report.to_version = cur.number;
    report.module = cur.path.clone();
    let new = match module {
        None => None,
        Some(path) => {
            let dir = match crate::control::private_dir() {
                Ok(d) => d,
                Err(e) => return fail("prepare", vec![e], &report),
            };
            match version::load(path, &dir) {
                Ok(v) => Some(v),
                Err(e) => return fail("prepare", vec![e.to_string()], &report),
            }
        }
    };
    if let Some(n) = &new {
        report.to_version = n.number;
        report.module = n.path.clone();
    }
    let mut rules = None;
    let mut checked = None;
    if let Some(s) = &spec {
        let target = new.as_ref().unwrap_or(&*cur);
        match prepare_spec(s, &cur, target, &mut report) {
            Ok((r, c)) => {
                rules = Some(r);
                checked = Some(c);
            }
            Err(reasons) => {
                if let Some(n) = new {
                    version::discard(n);
                }
                return fail("prepare", reasons, &report);
            }
        }
    }
    let mut plan = match &new {
        Some(n) => Plan::build(&cur, n, rules.as_ref(), checked.as_ref()),
        None => Plan::identity(),
    };
    if new.is_some() {
        let mut r = Vec::new();
        check_thread_roots(&plan, &mut r);
        plan.refusals.extend(r);
        keep_read_only_globals(&mut plan);
    }
    report.notes = plan.notes.clone();
    report.prepare_us = us(now_ns() - t0);
    if !plan.refusals.is_empty() {
        let reasons = std::mem::take(&mut plan.refusals);
        if let Some(n) = new {
            version::discard(n);
        }
        return fail("prepare", reasons, &report);
    }

    // 2. Quiesce.
    let deadline = Duration::from_millis(deadline_ms.max(1));
    let t_request = now_ns();
    if let Err(e) = coord::begin_strict(deadline) {
        if let Some(n) = new {
            version::discard(n);
        }
        return fail("quiesce", vec![quiesce_reason(e)], &report);
    }
    let mut stuck = Vec::new();
    if let Err(e) = coord::wait_all_parked(|| stuck = not_parked_threads()) {
        // The threads that did park rebuild where they were before the module goes.
        coord::wait_finished();
        report.quiesce_us = us(now_ns().saturating_sub(t_request));
        if let Some(n) = new {
            version::discard(n);
        }
        let mut reasons = vec![quiesce_reason(e)];
        reasons.extend(stuck);
        return fail("quiesce", reasons, &report);
    }

    // 3. Transform (every registered thread is parked).
    let t_transform = now_ns();
    let allocs = RefCell::new(Vec::new());
    let no_layouts = Vec::new();
    let layouts = checked.as_ref().map_or(&no_layouts, |c| &c.layouts);
    let heap_on = checked
        .as_ref()
        .and_then(|c| c.options.heap)
        .is_none_or(|m| m == upstare_dsl::checked::HeapMode::Traverse);
    let heap = RefCell::new(match (&new, heap_on) {
        (Some(n), true) => Some(Heap::new(&cur.meta, &n.meta, layouts, rules.as_ref())),
        _ => None,
    });
    let staged = upstare_jit::guard_scope(|| {
        thread::with_registered(|ctxs| {
            transform(
                ctxs,
                &cur,
                new.as_ref(),
                &mut plan,
                rules.as_ref(),
                &allocs,
                &heap,
            )
        })
    });
    let staged = match staged {
        Ok(s) => s,
        Err(reasons) => {
            report.transform_us = us(now_ns() - t_transform);
            if let Some(h) = heap.take() {
                h.abort();
            }
            drop(heap);
            for (p, _) in allocs.take() {
                // SAFETY: allocated by the rules' `alloc` below and referenced only by the new
                // state, which is being discarded.
                unsafe { libc::free(p as *mut libc::c_void) };
            }
            coord::release();
            let times = coord::wait_finished();
            fill_times(&mut report, &times);
            if let Some(n) = new {
                version::discard(n);
            }
            return fail("transform", reasons, &report);
        }
    };
    report.threads = staged.threads.len() as u64;
    report.frames = staged.frames;
    report.globals = staged.globals;
    report.bytes = staged.bytes;
    let frames_seen = staged.where_.clone();

    // 4. Commit.
    let mut garbage = None;
    if let Some(h) = heap.take() {
        let (objects, bytes) = h.counts();
        report.heap_objects = objects;
        report.heap_bytes = bytes;
        report.heap_patched = staged.patches.len() as u64;
        garbage = Some(h.commit(&staged.patches));
    }
    drop(heap);
    for &(p, n) in allocs.borrow().iter() {
        // Memory the rules allocated now belongs to the program's heap.
        crate::heap::track::adopt(p, n);
    }
    thread::with_registered(|ctxs| {
        for (ctx, st) in ctxs.iter_mut().zip(staged.threads) {
            if let Some(recs) = st.records {
                ctx.records = recs;
            }
            ctx.start = st.start;
            ctx.arg = st.arg;
        }
    });
    if let Some(n) = new {
        retarget_signal_handlers(&plan);
        thread::set_main_fn(n.main_fn);
        version::commit(n);
    }
    report.transform_us = us(now_ns() - t_transform);
    coord::release();
    let times = coord::wait_finished();
    fill_times(&mut report, &times);
    // Old heap objects that migrated are unreachable from the new state: freed while the
    // program runs again, outside the pause.
    if let Some(g) = garbage {
        g.free();
    }
    *LAST.lock().unwrap_or_else(|e| e.into_inner()) = Some((report.clone(), frames_seen));
    Response::Updated { report }
}

/// Checks the spec against both versions (the same checker `upstare check` runs) and
/// compiles its rules with the JIT, all before any thread stops. Errors refuse the update;
/// warnings become notes of the report.
fn prepare_spec(
    s: &SpecSource,
    old: &Version,
    new: &Version,
    report: &mut Report,
) -> Result<(upstare_jit::Compiled, upstare_dsl::checked::Spec), Vec<String>> {
    let lines = |diags: &[upstare_dsl::Diagnostic]| -> Vec<String> {
        upstare_dsl::render(diags, &s.text, &s.path, false)
            .lines()
            .map(str::to_string)
            .collect()
    };
    let (spec, warnings) =
        upstare_dsl::check(&s.text, &s.path, &old.meta, &new.meta).map_err(|d| lines(&d))?;
    report.notes.extend(lines(&warnings));
    let env = VersionEnv { old, new };
    let compiled =
        upstare_jit::compile_with_source(&spec, &s.path, &s.text, &old.meta, &new.meta, &env)
            .map_err(|e| {
                e.to_string()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })?;
    Ok((compiled, spec))
}

/// Where the JIT finds the globals and functions of both versions.
struct VersionEnv<'a> {
    old: &'a Version,
    new: &'a Version,
}

impl upstare_jit::Env for VersionEnv<'_> {
    fn old_global(&self, g: upstare_meta::GlobalId) -> Option<usize> {
        let k = &self.old.meta.globals.get(g)?.key;
        self.old.addrs.globals.get(k).copied()
    }
    fn new_global(&self, g: upstare_meta::GlobalId) -> Option<usize> {
        let k = &self.new.meta.globals.get(g)?.key;
        self.new.addrs.globals.get(k).copied()
    }
    fn old_function(&self, f: upstare_meta::FuncId) -> Option<usize> {
        let f = self.old.meta.functions.get(f)?;
        self.old
            .addrs
            .functions
            .get(&(f.file.clone(), f.name.clone()))
            .copied()
    }
    fn new_function(&self, f: upstare_meta::FuncId) -> Option<usize> {
        let f = self.new.meta.functions.get(f)?;
        self.new
            .addrs
            .functions
            .get(&(f.file.clone(), f.name.clone()))
            .copied()
    }
}

fn fill_times(r: &mut Report, t: &coord::StrictTimes) {
    r.quiesce_us = us(t.all_parked.saturating_sub(t.requested));
    r.rebuild_us = us(t.finished.saturating_sub(t.released));
    r.pause_us = us(t.finished.saturating_sub(t.first_arrival));
}

fn quiesce_reason(e: QuiesceError) -> String {
    match e {
        QuiesceError::Busy => "another update is in progress".into(),
        QuiesceError::Deadline { parked, registered } => format!(
            "deadline passed: {parked} of {registered} threads reached an update point; \
             the program continues in the version it ran"
        ),
    }
}

/// Threads that had not parked when the deadline passed: what the kernel says they do, and
/// why they declined to unwind when they last reached an update point.
fn not_parked_threads() -> Vec<String> {
    thread::registered_refusals()
        .into_iter()
        .filter(|&(tid, _)| !thread::is_parked(tid))
        .map(|(tid, refused)| {
            let (name, state, wchan) = proc_thread(tid);
            let why = match refused {
                0 => "it reached no update point".to_string(),
                crate::abi::REFUSED_HOLDS_LOCK => {
                    "it holds a mutex taken by instrumented code".to_string()
                }
                crate::abi::REFUSED_UNKNOWN => {
                    "its stack could not be walked up to its root".to_string()
                }
                ip => describe_code(ip),
            };
            format!(
                "thread {tid} ({name}) never reached an update point: {why}; kernel state {state}, waiting in {wchan}"
            )
        })
        .collect()
}

/// Why a frame at return address `ip` stopped a thread from unwinding.
fn describe_code(ip: usize) -> String {
    // The nearest function at or below `ip` in a loaded version.
    let mut best: Option<(usize, String, bool)> = None;
    for v in version::all() {
        for ((file, name), &a) in &v.addrs.functions {
            if a <= ip && best.as_ref().is_none_or(|b| a > b.0) {
                let pinned = v
                    .meta
                    .find_function(file, name)
                    .is_some_and(|f| v.meta.functions[f].flags.not_updatable);
                best = Some((a, format!("`{name}` ({file})"), pinned));
            }
        }
    }
    match best {
        Some((a, what, true)) if ip - a < 1 << 20 => format!(
            "its stack holds {what}, which is not updatable (a variadic function whose callees may unwind)"
        ),
        _ => format!(
            "its stack holds {}, which was not built by upstare-cc (library code, a callback, a signal handler)",
            crate::walk::describe_ip(ip)
        ),
    }
}

/// The kernel's view of thread `tid` of this process: name, state letter, wait channel.
fn proc_thread(tid: i32) -> (String, String, String) {
    let base = format!("/proc/self/task/{tid}");
    let read = |f: &str| {
        std::fs::read_to_string(format!("{base}/{f}"))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let name = read("comm");
    let stat = read("stat");
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, r)| r.split_whitespace().next())
        .unwrap_or("?")
        .to_string();
    let wchan = match read("wchan") {
        w if w.is_empty() || w == "0" => "user code".to_string(),
        w => w,
    };
    (name, state, wchan)
}

/// A global of the new version that lives in read-only memory (data declared `const` at the
/// declarator, `static const char *const x[]`, which the metadata does not flag, or made
/// read-only after relocation) keeps the value it was built with: writing it would fault, and
/// read-only data cannot have changed at run time anyway. A spec rule for it is refused.
fn keep_read_only_globals(plan: &mut Plan) {
    // Writable mappings, adjacent ones merged: a module's large .bss spans its file-backed page
    // and the anonymous mapping after it.
    let writable = crate::heap::track::Readable::now();
    let mut refused = Vec::new();
    plan.globals.retain(|g| {
        let ok = g.new_size == 0 || writable.contains(g.new_addr, g.new_size);
        if !ok && g.rule.is_some() {
            refused.push(format!(
                "global `{}` is read-only in the new version: a rule cannot write it",
                g.key
            ));
        }
        ok
    });
    plan.refusals.extend(refused);
}

/// Every running thread's start routine must exist in the new version.
fn check_thread_roots(plan: &Plan, refusals: &mut Vec<String>) {
    let starts: Vec<(i32, usize)> = thread::registered_tids()
        .into_iter()
        .zip(thread::registered_starts())
        .collect();
    for (tid, start) in starts {
        if start == 0 {
            continue;
        }
        if let Some(None) = plan.new_function(start) {
            refusals.push(format!(
                "thread {tid} runs a start routine that the new version removed (map it with a thread rule)"
            ));
        }
    }
}

/// What the transform produced for one thread.
struct StagedThread {
    records: Option<RecordStack>,
    start: usize,
    arg: usize,
}

struct Staged {
    threads: Vec<StagedThread>,
    /// Pointer slots of kept heap objects and boxes to rewrite at commit.
    patches: Vec<(usize, u64)>,
    frames: u64,
    globals: u64,
    bytes: u64,
    /// Where each thread was: (tid, [(version, point)]), innermost first.
    where_: Vec<(i32, Vec<(u32, upstare_meta::PointId)>)>,
}

/// A rebuilt stack must call itself back together: each frame resumes at a call of the
/// function of the frame above it (direct calls; an indirect call's target is a saved
/// value), or the rebuild would reach a function that finds another function's record.
fn check_chain(v: &Version, chain: &[(FuncId, upstare_meta::PointId)]) -> Result<(), String> {
    use upstare_meta::{Callee, PointKey};
    for w in chain.windows(2) {
        let ((inner, _), (outer, opid)) = (w[0], w[1]);
        if let PointKey::Call {
            callee: Callee::Named(c),
            ..
        } = &v.meta.points[opid].key
        {
            let inner_name = &v.meta.functions[inner].name;
            if c != inner_name {
                return Err(format!(
                    "after the update `{}` would resume at {} but the frame above it is `{}`: map the frames so that each resumes at a call of the next",
                    v.meta.functions[outer].name, v.meta.points[opid].key, inner_name
                ));
            }
        }
    }
    Ok(())
}

/// `function @ point (file:line)` of a point of `v`.
fn frame_place(v: &Version, pid: upstare_meta::PointId) -> String {
    let p = &v.meta.points[pid];
    let f = &v.meta.functions[p.function];
    format!("{} @ {} ({}:{})", f.name, p.key, p.file, p.line)
}

/// Step 3: builds every thread's new records and the new globals. Writes only memory of the
/// new version and fresh records, so an abort only has to drop what it returns.
#[allow(clippy::too_many_arguments)]
fn transform<'h>(
    ctxs: &mut [&mut ThreadCtx],
    cur: &'h Version,
    new: Option<&Version>,
    plan: &mut Plan,
    rules: Option<&upstare_jit::Compiled>,
    allocs: &RefCell<Vec<(*mut u8, usize)>>,
    heap: &RefCell<Option<Heap<'h>>>,
) -> Result<Staged, Vec<String>> {
    let mut errors = Vec::new();
    // Heap roots first: every new address must be known before anything is converted.
    let times = std::env::var_os("UPSTARE_HEAP_TIMES").is_some();
    let lap = |what: &str, t: &mut u64| {
        if times {
            let n = now_ns();
            eprintln!("upstare: heap {what}: {:.3} ms", (n - *t) as f64 / 1e6);
            *t = n;
        }
    };
    let mut t = now_ns();
    if let Some(h) = heap.borrow_mut().as_mut() {
        heap_roots(h, ctxs, cur);
        h.discover();
        lap("roots + discovery", &mut t);
        h.allocate();
        lap("allocation", &mut t);
        h.check_views(&|o| describe_origin(cur, o));
        if !h.errors.is_empty() {
            return Err(std::mem::take(&mut h.errors));
        }
    }
    let reloc = &plan.reloc;
    // What JIT code may call back into while the rules run.
    let mut services = upstare_jit::Services::new(
        |n| {
            // SAFETY: calloc of at least one byte; freed if the update aborts.
            let p = unsafe { libc::calloc(1, n.max(1) as usize) } as *mut u8;
            if p.is_null() {
                return Err(format!("out of memory allocating {n} bytes"));
            }
            allocs.borrow_mut().push((p, n.max(1) as usize));
            Ok(p)
        },
        |m| {
            match heap.borrow_mut().as_mut() {
            Some(h) => h.migrate(m).map(|p| p as *mut u8),
            None if m.old_size.is_some() && m.old_size == m.new_size && m.old_ty == m.new_ty => {
                Ok(m.ptr as *mut u8)
            }
            None => Err(format!(
                "heap objects of {} are not migrated (`option heap = none;` or an update to the same version)",
                m.old_ty
            )),
        }
        },
        |p| match heap.borrow().as_ref() {
            Some(h) => h.map(reloc, p as u64).map(|v| v as usize),
            None => reloc.relocate(p as u64).map(|v| v as usize),
        },
        |p| match reloc.new_function_of(p) {
            Some(Some(n)) => Ok(n),
            Some(None) => Err("the function was removed by the new version".to_string()),
            None => Err(format!("{p:#x} is not a function of the old version")),
        },
        upstare_jit::system_now_ms,
    );
    if let Some(r) = rules {
        for a in r.asserts() {
            // SAFETY: asserts read only old state through the spec's own expressions.
            if let Err(e) = unsafe { a.run(std::ptr::null(), std::ptr::null_mut(), &mut services) }
            {
                return Err(vec![e.to_string()]);
            }
        }
    }
    let mut staged = Staged {
        threads: Vec::new(),
        patches: Vec::new(),
        frames: 0,
        globals: 0,
        bytes: 0,
        where_: Vec::new(),
    };
    let versions = version::all();
    for ctx in ctxs.iter() {
        let mut frames_here = Vec::new();
        let mut new_stack = new.map(|_| RecordStack::new());
        // (function, point) of each new record, innermost first, to check the chain below.
        let mut chain: Vec<(FuncId, upstare_meta::PointId)> = Vec::new();
        for (fd, point, body) in ctx.records.iter() {
            staged.frames += 1;
            let Some((fid, ver)) = versions
                .iter()
                .rev()
                .find_map(|v| v.function_of_descriptor(fd as usize).map(|f| (f, v)))
            else {
                errors.push(format!(
                    "thread {}: a frame of an unknown function (descriptor {fd:p})",
                    ctx.tid
                ));
                continue;
            };
            let f = &ver.meta.functions[fid];
            let Some(&pid) = f.points.get(point as usize) else {
                errors.push(format!(
                    "thread {}: `{}` has no point {point}",
                    ctx.tid, f.name
                ));
                continue;
            };
            frames_here.push((ver.number, pid));
            let Some(stack) = new_stack.as_mut() else {
                continue;
            };
            // Messages only: formatted when something fails.
            let place = || frame_place(ver, pid);
            if ver.number != cur.number {
                errors.push(format!(
                    "thread {}: frame {} belongs to version {}, not the running version {}",
                    ctx.tid,
                    place(),
                    ver.number,
                    cur.number
                ));
                continue;
            }
            if f.flags.not_updatable {
                errors.push(format!(
                    "thread {}: frame {} is active and `{}` is not updatable",
                    ctx.tid,
                    place(),
                    f.name
                ));
                continue;
            }
            let step = match plan.frames.get(&pid) {
                Some(Ok(s)) => s,
                Some(Err(why)) => {
                    errors.push(format!(
                        "thread {}: frame {} cannot be mapped: {why}",
                        ctx.tid,
                        place()
                    ));
                    continue;
                }
                None => {
                    errors.push(format!(
                        "thread {}: frame {} has no counterpart in the new version",
                        ctx.tid,
                        place()
                    ));
                    continue;
                }
            };
            chain.push((step.new_func, step.new_pid));
            let size = step.new_size;
            let out = match stack.push(
                step.new_fd as *const _,
                step.new_point,
                size,
                step.new_align,
            ) {
                Ok(b) => b,
                Err(e) => {
                    errors.push(format!("thread {}: frame {}: {e:?}", ctx.tid, place()));
                    continue;
                }
            };
            let out_ptr = out.as_ptr();
            // SAFETY: `out` is a fresh zeroed record body of `size` bytes.
            let out = unsafe { std::slice::from_raw_parts_mut(out_ptr, size) };
            if let Some(conv) = &step.conv {
                let h = heap.borrow();
                if let Err(e) = apply_conv(conv, body, out, reloc, h.as_ref()) {
                    errors.push(format!("thread {}: frame {}: {e}", ctx.tid, place()));
                }
                // Compiler temporaries are typed `__typeof__(expr)`, which the metadata cannot
                // always resolve (the callee of an indirect call, spilled): a word that is
                // exactly an old function's entry is a function pointer whatever its type, and
                // one that is exactly a migrated heap block is a pointer to it.
                reloc.relocate_function_words(out);
                if let Some(h) = h.as_ref() {
                    h.relocate_block_words(out);
                }
            }
            if let (Some(r), Some(n), Some(_)) = (rules, new, &step.conv) {
                // Locals of a struct with a type rule: the rule runs on each, as on every
                // object of the type.
                if let Err(e) =
                    frame_type_rules(r, cur, pid, body, n, step.new_pid, out, &mut services)
                {
                    errors.push(format!("thread {}: frame {}: {e}", ctx.tid, place()));
                }
            }
            if step.rule {
                if let Some(rule) = rules.and_then(|r| r.frame_rule(pid)) {
                    // SAFETY: the old record and the fresh new one, as a frame rule expects.
                    if let Err(e) = unsafe { rule.run(body.as_ptr(), out_ptr, &mut services) } {
                        errors.push(format!("thread {}: frame {}: {e}", ctx.tid, place()));
                    }
                }
            }
            staged.bytes += size as u64;
        }
        if let Some(n) = new {
            if let Err(e) = check_chain(n, &chain) {
                errors.push(format!("thread {}: {e}", ctx.tid));
            }
        }
        let (mut start, mut arg) = (ctx.start, ctx.arg);
        if new.is_some() && start != 0 {
            match plan.new_function(start) {
                Some(Some(n)) => start = n,
                Some(None) => errors.push(format!(
                    "thread {}: its start routine was removed by the new version",
                    ctx.tid
                )),
                None => {}
            }
            let mapped = match heap.borrow().as_ref() {
                Some(h) => h.map(reloc, arg as u64),
                None => reloc.relocate(arg as u64),
            };
            match mapped {
                Ok(a) => arg = a as usize,
                Err(e) => errors.push(format!("thread {}: start argument: {e}", ctx.tid)),
            }
        }
        staged.where_.push((ctx.tid, frames_here));
        staged.threads.push(StagedThread {
            records: new_stack,
            start,
            arg,
        });
    }
    if new.is_some() {
        for g in &plan.globals {
            // SAFETY: old_addr/new_addr are globals of the old and new version of the sizes
            // their metadata gives; the new module's data is writable and unused until commit.
            let (old, out) = unsafe {
                (
                    std::slice::from_raw_parts(g.old_addr as *const u8, g.old_size),
                    std::slice::from_raw_parts_mut(g.new_addr as *mut u8, g.new_size),
                )
            };
            if let Some(conv) = &g.conv {
                if let Err(e) = apply_conv(conv, old, out, reloc, heap.borrow().as_ref()) {
                    errors.push(format!("global `{}`: {e}", g.key));
                    continue;
                }
            }
            let run = |rule: Option<&upstare_jit::Rule>, services: &mut upstare_jit::Services| {
                match rule {
                    // SAFETY: the old global (or null for an init rule) and the new one.
                    Some(rule) => unsafe {
                        rule.run(g.old_addr as *const u8, g.new_addr as *mut u8, services)
                    }
                    .map_err(|e| e.to_string()),
                    None => Ok(()),
                }
            };
            if let Some(r) = rules {
                // The type rule on the global, or on each element of an array of structs.
                let typed = match g.type_rule.and_then(|k| r.type_rule(k.key).map(|t| (k, t))) {
                    // SAFETY: `count` old and new elements of the rule's types, strides apart,
                    // inside the two globals.
                    Some((k, rule)) => unsafe {
                        rule.run_many(
                            g.old_addr as *const u8,
                            k.old_stride,
                            g.new_addr as *mut u8,
                            k.new_stride,
                            k.count,
                            &mut services,
                        )
                    }
                    .map_err(|(i, e)| {
                        if k.count > 1 {
                            format!("global `{}` element {i}: {e}", g.key)
                        } else {
                            e.to_string()
                        }
                    }),
                    None => Ok(()),
                };
                let own = g.rule.and_then(|n| r.global_rule(n));
                if let Err(e) = typed.and_then(|_| run(own, &mut services)) {
                    errors.push(e);
                    continue;
                }
            }
            staged.globals += 1;
            staged.bytes += g.new_size as u64;
        }
    }
    lap("globals + frames", &mut t);
    if errors.is_empty() {
        if let Err(e) = convert_heap(heap, reloc, &mut services) {
            errors.push(e);
        }
        lap("conversion", &mut t);
    }
    if errors.is_empty() {
        if let Some(h) = heap.borrow_mut().as_mut() {
            match h.patches(reloc) {
                Ok(p) => staged.patches = p,
                Err(e) => errors.push(format!("a kept heap object: {e}")),
            }
        }
        lap("patches", &mut t);
    }
    if errors.is_empty() {
        Ok(staged)
    } else {
        Err(errors)
    }
}

/// Runs the type rules on the by-value struct locals of one converted frame record.
#[allow(clippy::too_many_arguments)]
fn frame_type_rules(
    rules: &upstare_jit::Compiled,
    cur: &Version,
    op: upstare_meta::PointId,
    old: &[u8],
    new: &Version,
    np: upstare_meta::PointId,
    out: &mut [u8],
    services: &mut upstare_jit::Services,
) -> Result<(), String> {
    if rules.type_rules().next().is_none() {
        return Ok(());
    }
    let (opt, npt) = (&cur.meta.points[op], &new.meta.points[np]);
    for (i, nl) in npt.locals.iter().enumerate() {
        if nl.flags.boxed {
            continue;
        }
        let nth = npt.locals[..i].iter().filter(|l| l.name == nl.name).count();
        let Some(ol) = opt.locals.iter().filter(|l| l.name == nl.name).nth(nth) else {
            continue;
        };
        let ot = cur.meta.resolve(&upstare_meta::ctype::parse(&ol.ty));
        let (Some(a), Some(b)) = (
            cur.meta.record(&ot),
            new.meta
                .record(&new.meta.resolve(&upstare_meta::ctype::parse(&nl.ty))),
        ) else {
            continue;
        };
        let Some(rule) = rules.type_rule(upstare_jit::TypeRuleKey { old: a, new: b }) else {
            continue;
        };
        if (ol.offset + ol.size) as usize > old.len() || (nl.offset + nl.size) as usize > out.len()
        {
            continue;
        }
        // SAFETY: the old local and its new slot, both of the rule's types, inside the records.
        unsafe {
            rule.run(
                old.as_ptr().add(ol.offset as usize),
                out.as_mut_ptr().add(nl.offset as usize),
                services,
            )
        }
        .map_err(|e| format!("local `{}`: {e}", nl.name))?;
    }
    Ok(())
}

/// Runs a conversion plan with pointers mapped through the heap migration (when there is one)
/// and the plan's relocator.
fn apply_conv(
    conv: &upstare_meta::Conv,
    old: &[u8],
    out: &mut [u8],
    reloc: &Relocator,
    heap: Option<&Heap>,
) -> Result<(), String> {
    match heap {
        Some(heap) => {
            upstare_meta::transfer::apply(conv, old, out, &mut HeapRelocate { heap, reloc })
        }
        None => upstare_meta::transfer::apply(conv, old, out, &mut RelocRef(reloc)),
    }
}

/// Fills every migrated heap object: the automatic default, then its type rule over the
/// whole block. Rules may migrate more objects, which join the queue.
fn convert_heap(
    heap: &RefCell<Option<Heap>>,
    reloc: &Relocator,
    services: &mut upstare_jit::Services,
) -> Result<(), String> {
    loop {
        let batch = match heap.borrow_mut().as_mut() {
            Some(h) => h.take_batch(),
            None => return Ok(()),
        };
        if batch.is_empty() {
            return Ok(());
        }
        let rules = {
            let mut h = heap.borrow_mut();
            let h = h.as_mut().expect("checked above");
            h.convert_defaults(batch.clone(), reloc)?;
            h.case_fixups(batch.clone(), reloc)?;
            h.has_type_rules()
        };
        if !rules {
            continue;
        }
        for k in batch {
            let job = heap.borrow().as_ref().expect("checked above").job(k);
            let Some(rule) = job.rule else { continue };
            // SAFETY: `count` old objects of the rule's old type, `old_size` apart, and their
            // new blocks, `new_size` apart, as a type rule expects.
            let r = unsafe {
                rule.run_many(
                    job.old as *const u8,
                    job.old_size as usize,
                    job.new as *mut u8,
                    job.new_size as usize,
                    job.count as usize,
                    services,
                )
            };
            if let Err((i, e)) = r {
                let name = heap.borrow().as_ref().map(|h| h.type_name(job.ty));
                return Err(format!(
                    "heap object {i} of the block at {:#x} (`{}`): {e}",
                    job.old,
                    name.unwrap_or_default()
                ));
            }
        }
    }
}

/// The heap traversal's roots: old globals and static locals, every frame record's locals,
/// the boxes of address-taken locals, thread start arguments.
fn heap_roots(h: &mut Heap, ctxs: &[&mut ThreadCtx], cur: &Version) {
    for (gid, g) in cur.meta.globals.iter() {
        let Some(&addr) = cur.addrs.globals.get(&g.key) else {
            continue;
        };
        if !h.root_hinted_global(addr, gid) {
            h.root_value(addr, &g.ty, g.size, Origin::Global(gid));
        }
    }
    for ctx in ctxs {
        for (fd, point, body) in ctx.records.iter() {
            let Some(fid) = cur.function_of_descriptor(fd as usize) else {
                continue;
            };
            let Some(&pid) = cur.meta.functions[fid].points.get(point as usize) else {
                continue;
            };
            for (i, l) in cur.meta.points[pid].locals.iter().enumerate() {
                let (off, size) = (l.offset as usize, l.size as usize);
                if off + size.max(8) > body.len() {
                    continue;
                }
                let at = body.as_ptr() as usize + off;
                let origin = Origin::Local(pid, i as u32);
                if l.flags.boxed {
                    // SAFETY: a boxed local's slot holds its box pointer.
                    let b = unsafe { (at as *const usize).read_unaligned() };
                    if b != 0 {
                        h.root_box(b, &l.ty, origin);
                    }
                } else {
                    h.root_value(at, &l.ty, l.size, origin);
                }
            }
        }
        h.root_untyped(ctx.arg);
    }
}

/// Where a pointer the heap traversal could not type was found, in words.
fn describe_origin(v: &Version, o: (Origin, Option<String>)) -> String {
    match o {
        (Origin::Global(g), _) => format!("global `{}`", v.meta.globals[g].key),
        (Origin::Local(p, i), _) => {
            let pt = &v.meta.points[p];
            format!(
                "local `{}` of `{}` ({}:{})",
                pt.locals[i as usize].name, v.meta.functions[pt.function].name, pt.file, pt.line
            )
        }
        (Origin::Field(_, off), Some(t)) => format!("a heap object of `{t}` (offset {off})"),
        _ => "a thread's start argument".into(),
    }
}

/// Signal handlers that are functions of the old version now dispatch to the new ones.
fn retarget_signal_handlers(plan: &Plan) {
    for sig in 1..libc::SIGRTMAX() {
        // SAFETY: a query with a null new action; `old` is a valid out-parameter.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } != 0 {
            continue;
        }
        if let Some(Some(n)) = plan.new_function(old.sa_sigaction) {
            let mut act = old;
            act.sa_sigaction = n;
            // SAFETY: installs the same action with the new version's handler.
            unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) };
        }
    }
}

/// `upstare status`.
pub fn status() -> Status {
    let cur = version::current().ok();
    let last = LAST.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let threads = thread::registered_tids()
        .into_iter()
        .map(|tid| {
            let (name, state, _) = proc_thread(tid);
            let versions = version::all();
            let frames = last
                .as_ref()
                .and_then(|(_, w)| w.iter().find(|(t, _)| *t == tid))
                .map(|(_, f)| {
                    f.iter()
                        .filter_map(|&(n, pid)| {
                            versions
                                .iter()
                                .find(|v| v.number == n)
                                .map(|v| frame_place(v, pid))
                        })
                        .collect()
                })
                .unwrap_or_default();
            ThreadStatus {
                tid,
                name,
                state,
                frames,
            }
        })
        .collect();
    Status {
        pid: std::process::id(),
        version: cur.as_ref().map(|v| v.number).unwrap_or(1),
        module: cur.as_ref().map(|v| v.path.clone()).unwrap_or_default(),
        versions: version::all().iter().map(|v| v.path.clone()).collect(),
        threads,
        last_update: last.map(|(r, _)| r),
    }
}
