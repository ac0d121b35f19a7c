//! Per-thread contexts and the thread roots' Rust half.
//!
//! Every thread that runs instrumented code gets a `ThreadCtx`: its record stack, its side stack,
//! the addresses of its ABI thread-locals (defined in c/abi.c), and, for threads that have a root
//! (the main thread and threads created through `__wrap_pthread_create`), the root frame's mark
//! for the stack walk. Only threads with a root are *registered*: they take part in update
//! rounds. A thread that runs instrumented code without a root (created behind the runtime's
//! back) gets a context lazily, for its side stack, and is simply never told to unwind.
//!
//! The root loops themselves are C (`main` in c/root.c, `us_thread_entry` in c/abi.c) so that a
//! forced unwind never crosses a Rust frame; they call the `us_rt_*` functions here. A context is
//! freed when its thread's start routine returns, or by a pthread key destructor when the thread
//! leaves through pthread_exit or cancellation.
//!
//! Deliberately not here: the update state machine (coord.rs) and the ABI entry points that
//! instrumented code calls (abi.rs).

use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::ptr::null_mut;
use std::sync::OnceLock;

use crate::coord;
use crate::records::RecordStack;
use crate::side::{SideStack, DEFAULT_SIDE_STACK_BYTES};

extern "C" {
    fn us_tls_unwinding() -> *mut c_int;
    fn us_tls_rebuilding() -> *mut c_int;
    fn us_tls_side_top() -> *mut *mut u8;
}

/// One thread's runtime state; see the module documentation.
pub struct ThreadCtx {
    pub records: RecordStack,
    pub side: SideStack,
    pub unwinding: *mut c_int,
    pub rebuilding: *mut c_int,
    pub side_top: *mut *mut u8,
    /// Frame address of the root helper, written by the helper itself at every (re)entry.
    pub root_mark: usize,
    /// Entry address of the root helper; 0 for a thread without a root.
    pub root_fn: usize,
    pub registered: bool,
    pub blocked: bool,
    /// Set while this thread is inside the runtime's slow paths (holding or about to take the
    /// round lock); a signal handler that reaches an update point meanwhile is told "not now".
    pub in_runtime: Cell<bool>,
    /// Points to let pass without a stack walk after walks said "not now" (exponential backoff,
    /// so that a comparator called a million times by qsort does not walk a million times).
    pub walk_skip: Cell<u32>,
    pub walk_failures: Cell<u32>,
    /// The point (descriptor address, index) where the walk last said "not now".
    pub walk_refused_at: Cell<(usize, u32)>,
    /// Kernel thread id, for status and error messages.
    pub tid: i32,
    /// Why this thread last declined to unwind at an update point: the return address of the
    /// frame the stack walk refused, or one of `abi::REFUSED_*`; 0 after it unwound. Read by
    /// the update controller to explain a missed deadline.
    pub refused: std::sync::atomic::AtomicUsize,
    /// The start routine and argument a created thread's root calls (0 for the main thread);
    /// an update replaces them with the new version's.
    pub start: usize,
    pub arg: usize,
}

/// Every registered thread's context, for the update controller, which reads and replaces
/// their record stacks while they are parked. Entries are `*mut ThreadCtx` as usize.
static REGISTRY: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

/// The current version's `__us_main` (0: the executable's own, set at start-up).
static MAIN_FN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs `f` on every registered thread's context, with the registry locked (no thread can
/// register or end meanwhile). Only sound while those threads do not touch their context:
/// during a strict round's `Parked` phase.
pub fn with_registered<R>(f: impl FnOnce(&mut [&mut ThreadCtx]) -> R) -> R {
    let reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: registered contexts stay allocated until `release` removes them, which takes the
    // registry lock we hold; the caller guarantees their threads are parked.
    let mut ctxs: Vec<&mut ThreadCtx> = reg
        .iter()
        .map(|&p| unsafe { &mut *(p as *mut ThreadCtx) })
        .collect();
    f(&mut ctxs)
}

/// Kernel thread ids of the registered threads (for status).
pub fn registered_tids() -> Vec<i32> {
    let reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: as in `with_registered`; `tid` is written once before registration.
    reg.iter()
        .map(|&p| unsafe { (*(p as *const ThreadCtx)).tid })
        .collect()
}

/// (tid, refusal) of every registered thread: see `ThreadCtx::refused`.
pub fn registered_refusals() -> Vec<(i32, usize)> {
    let reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: as in `with_registered`; `refused` is atomic.
    reg.iter()
        .map(|&p| unsafe {
            let c = &*(p as *const ThreadCtx);
            (c.tid, c.refused.load(std::sync::atomic::Ordering::Relaxed))
        })
        .collect()
}

/// Start routines of the registered threads, in the order of `registered_tids`.
pub fn registered_starts() -> Vec<usize> {
    let reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: as in `with_registered`; `start` changes only while its thread is parked.
    reg.iter()
        .map(|&p| unsafe { (*(p as *const ThreadCtx)).start })
        .collect()
}

/// Threads parked at their root now (kernel tids).
static PARKED: std::sync::Mutex<Vec<i32>> = std::sync::Mutex::new(Vec::new());

/// Whether thread `tid` is parked at its root.
pub fn is_parked(tid: i32) -> bool {
    PARKED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&tid)
}

/// Sets the `__us_main` that the main thread's root calls after the next rebuild.
pub fn set_main_fn(f: usize) {
    MAIN_FN.store(f, std::sync::atomic::Ordering::SeqCst);
}

/// The `__us_main` of the current version.
pub fn main_fn() -> usize {
    MAIN_FN.load(std::sync::atomic::Ordering::SeqCst)
}

thread_local! {
    static CTX: Cell<*mut ThreadCtx> = const { Cell::new(null_mut()) };
}

/// Prints a fatal runtime error and aborts: used only for bugs and exhausted resources, never
/// for conditions a program can cause in normal operation.
pub fn fatal(msg: &str) -> ! {
    eprintln!("upstare: fatal: {msg}");
    std::process::abort()
}

/// Runs `f`, aborting the process if it panics, so that no panic crosses the C ABI.
pub fn guard<R>(f: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => fatal("internal error (panic) in the runtime"),
    }
}

fn key() -> libc::pthread_key_t {
    static KEY: OnceLock<libc::pthread_key_t> = OnceLock::new();
    *KEY.get_or_init(|| {
        let mut k: libc::pthread_key_t = 0;
        // SAFETY: `k` is a valid out-parameter and `ctx_destructor` has the required signature.
        if unsafe { libc::pthread_key_create(&mut k, Some(ctx_destructor)) } != 0 {
            fatal("pthread_key_create failed");
        }
        k
    })
}

/// This thread's context, or null.
pub fn current() -> *mut ThreadCtx {
    CTX.with(|c| c.get())
}

/// This thread's context, created (unregistered, without a root) if missing.
pub fn current_or_init() -> *mut ThreadCtx {
    let c = current();
    if !c.is_null() {
        return c;
    }
    let side = SideStack::new(DEFAULT_SIDE_STACK_BYTES)
        .unwrap_or_else(|| fatal("cannot reserve the thread's side stack (mmap failed)"));
    // SAFETY: the accessors return the addresses of this thread's own thread-locals, valid for
    // the thread's lifetime, which outlives its context.
    let (unwinding, rebuilding, side_top) =
        unsafe { (us_tls_unwinding(), us_tls_rebuilding(), us_tls_side_top()) };
    // SAFETY: `side_top` is this thread's `__us_side_top` (see above).
    unsafe { *side_top = side.base() };
    let ctx = Box::into_raw(Box::new(ThreadCtx {
        records: RecordStack::new(),
        side,
        unwinding,
        rebuilding,
        side_top,
        root_mark: 0,
        root_fn: 0,
        registered: false,
        blocked: false,
        in_runtime: Cell::new(false),
        walk_skip: Cell::new(0),
        walk_refused_at: Cell::new((0, 0)),
        walk_failures: Cell::new(0),
        // SAFETY: gettid has no preconditions.
        tid: unsafe { libc::gettid() },
        refused: std::sync::atomic::AtomicUsize::new(0),
        start: 0,
        arg: 0,
    }));
    CTX.with(|c| c.set(ctx));
    // SAFETY: the key exists; the value is the context, freed by `ctx_destructor` or `end`.
    unsafe { libc::pthread_setspecific(key(), ctx as *const c_void) };
    ctx
}

/// Gives the current thread a root and registers it; returns where the root helper writes its
/// frame mark.
fn begin(root_fn: *mut c_void, start: usize, arg: usize) -> *mut usize {
    let ctx = current_or_init();
    // SAFETY: `ctx` is this thread's live context; no other reference to it exists now.
    let c = unsafe { &mut *ctx };
    c.root_fn = root_fn as usize;
    c.start = start;
    c.arg = arg;
    if !c.registered {
        c.registered = true;
        if start != 0 {
            // Joins of this thread may now wait for its end (and be woken by an update).
            crate::blocking::on_thread_begin();
        }
        REGISTRY
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ctx as usize);
        coord::register();
    }
    &mut c.root_mark
}

/// Unregisters and frees the current thread's context, if any.
fn end() {
    let ctx = current();
    if ctx.is_null() {
        return;
    }
    CTX.with(|c| c.set(null_mut()));
    // SAFETY: the key exists; clearing it prevents the destructor from freeing `ctx` again.
    unsafe { libc::pthread_setspecific(key(), std::ptr::null()) };
    // SAFETY: `ctx` came from `Box::into_raw` in `current_or_init` and is no longer reachable
    // from this thread's TLS or key, so this is the only owner.
    release(unsafe { Box::from_raw(ctx) });
}

fn release(ctx: Box<ThreadCtx>) {
    if ctx.registered {
        crate::blocking::on_thread_exit();
    }
    let me = &*ctx as *const ThreadCtx as usize;
    REGISTRY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|&p| p != me);
    if ctx.blocked {
        coord::blocking_leave();
    }
    if ctx.registered {
        coord::unregister();
    }
    drop(ctx);
}

extern "C" fn ctx_destructor(p: *mut c_void) {
    guard(|| {
        if p.is_null() {
            return;
        }
        CTX.with(|c| {
            if c.get() == p as *mut ThreadCtx {
                c.set(null_mut())
            }
        });
        // SAFETY: `p` is a context stored in the key by `current_or_init` and not yet freed
        // (`end` clears the key before freeing); the thread is exiting, so nothing else uses it.
        release(unsafe { Box::from_raw(p as *mut ThreadCtx) });
    })
}

/// Process start-up, from `main` in c/root.c: configuration, the main thread's context, the
/// control channel, exit and fork handlers.
#[no_mangle]
pub extern "C" fn us_rt_main_init(root_fn: *mut c_void, main_fn: *mut c_void) -> *mut usize {
    guard(|| {
        coord::configure_from_env();
        crate::walk::init();
        set_main_fn(main_fn as usize);
        let mark = begin(root_fn, 0, 0);
        crate::control::start();
        // SAFETY: registers `extern "C"` functions that never unwind (they catch panics).
        unsafe {
            libc::atexit(coord::report_at_exit);
            libc::atexit(at_exit);
            libc::pthread_atfork(None, None, Some(fork_child));
        }
        mark
    })
}

extern "C" fn at_exit() {
    guard(|| {
        // An update that committed just before the program ends still gets its answer out.
        crate::control::drain_answers();
        crate::control::remove_socket()
    })
}

/// In the child of `fork`: only the forking thread exists. The runtime forgets the others,
/// ends any round the parent was in, and starts its own control socket, so that the child is
/// updatable on its own.
extern "C" fn fork_child() {
    guard(|| {
        let me = current() as usize;
        let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        reg.retain(|&p| p == me);
        let n = reg.len();
        drop(reg);
        PARKED.lock().unwrap_or_else(|e| e.into_inner()).clear();
        coord::fork_reset(n);
        crate::control::fork_child();
    })
}

/// Start of a thread created through `__wrap_pthread_create`.
#[no_mangle]
pub extern "C" fn us_rt_thread_begin(
    root_fn: *mut c_void,
    start: *mut c_void,
    arg: *mut c_void,
) -> *mut usize {
    guard(|| begin(root_fn, start as usize, arg as usize))
}

/// After a rebuild of a created thread: the start routine and argument to call (the new
/// version's after an update).
#[no_mangle]
pub extern "C" fn us_rt_thread_next(start: *mut *mut c_void, arg: *mut *mut c_void) {
    guard(|| {
        // SAFETY: a non-null context is this thread's; the out-parameters come from abi.c.
        if let Some(c) = unsafe { current().as_ref() } {
            if c.start != 0 {
                unsafe {
                    *start = c.start as *mut c_void;
                    *arg = c.arg as *mut c_void;
                }
            }
        }
    })
}

/// After a rebuild of the main thread: the `__us_main` to call.
#[no_mangle]
pub extern "C" fn us_rt_main_next() -> *mut c_void {
    guard(|| main_fn() as *mut c_void)
}

/// The start routine of a created thread returned normally.
#[no_mangle]
pub extern "C" fn us_rt_thread_end() {
    guard(end)
}

/// The root saw its function return with `__us_unwinding` set: the thread's stack is all
/// records. Park until the round releases the thread, then arm the rebuild.
#[no_mangle]
pub extern "C" fn us_rt_root_unwound() {
    guard(|| {
        let ctx = current();
        if ctx.is_null() {
            fatal("a thread without a context unwound to its root");
        }
        // SAFETY: `ctx` is this thread's live context; the instrumented code is not running.
        let c = unsafe { &mut *ctx };
        // SAFETY: `unwinding`/`rebuilding` point to this thread's thread-locals.
        unsafe { *c.unwinding = 0 };
        if c.records.is_empty() {
            fatal("a thread unwound to its root without saving any frame record");
        }
        c.in_runtime.set(true);
        let tid = c.tid;
        PARKED.lock().unwrap_or_else(|e| e.into_inner()).push(tid);
        // While parked, the update controller may replace this context's records and start
        // routine: no reference into it is held across `park`.
        coord::park();
        PARKED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|&t| t != tid);
        // SAFETY: as above; the controller is done with the context once `park` returns.
        let c = unsafe { &mut *ctx };
        c.in_runtime.set(false);
        // SAFETY: as above.
        unsafe { *c.rebuilding = 1 };
    })
}

/// The thread enters a wrapped blocking call (`__wrap_pthread_join`).
#[no_mangle]
pub extern "C" fn us_rt_blocking_enter() {
    guard(|| {
        let ctx = current();
        // SAFETY: a non-null `ctx` is this thread's live context.
        if let Some(c) = unsafe { ctx.as_mut() } {
            if c.registered && !c.blocked {
                c.blocked = true;
                c.in_runtime.set(true);
                coord::blocking_enter();
                c.in_runtime.set(false);
            }
        }
    })
}

/// The thread left its wrapped blocking call.
#[no_mangle]
pub extern "C" fn us_rt_blocking_leave() {
    guard(|| {
        let ctx = current();
        // SAFETY: a non-null `ctx` is this thread's live context.
        if let Some(c) = unsafe { ctx.as_mut() } {
            if c.blocked {
                c.blocked = false;
                c.in_runtime.set(true);
                coord::blocking_leave();
                c.in_runtime.set(false);
            }
        }
    })
}
