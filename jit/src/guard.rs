//! Fault containment: the Rust side of `c/guard.c`.
//!
//! A process-wide handler for SIGSEGV, SIGBUS, SIGFPE and SIGILL is installed only while some
//! thread is inside [`guard_scope`]; scopes nest and overlap across threads (a count under a
//! lock: the first one in installs, the last one out puts the previous actions back). Inside a
//! scope, [`call`] runs a rule function with a `sigsetjmp` jump buffer published in a
//! thread-local, so a synchronous fault on that thread returns here as [`Fault`] instead of
//! killing the process. Faults on other threads, outside any guarded call, or signals sent with
//! `kill` go to the previously installed action.

use std::cell::Cell;
use std::sync::Mutex;

use crate::services::Ctx;

/// The rule function signature: `extern "C" fn(old, new, ctx) -> i32`.
pub(crate) type RawRuleFn = unsafe extern "C" fn(*const u8, *mut u8, *mut Ctx) -> i32;

/// What a caught fault was (layout shared with `struct us_jit_fault` in `c/guard.c`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fault {
    pub sig: i32,
    pub code: i32,
    pub addr: u64,
    pub pc: u64,
}

/// `us_jit_call` returns this when a fault was caught.
const FAULTED: i32 = -1;

extern "C" {
    fn us_jit_install() -> i32;
    fn us_jit_restore();
    fn us_jit_call(
        f: RawRuleFn,
        old: *const u8,
        new: *mut u8,
        ctx: *mut std::ffi::c_void,
        fault: *mut Fault,
    ) -> i32;
    fn us_jit_call_many(
        f: RawRuleFn,
        old: *const u8,
        old_stride: u64,
        new: *mut u8,
        new_stride: u64,
        count: u64,
        ctx: *mut std::ffi::c_void,
        fault: *mut Fault,
        done: *mut u64,
    ) -> i32;
    fn us_jit_handler_installed(sig: i32) -> i32;
}

/// Number of active scopes in the process (the handler is installed while it is positive).
static SCOPES: Mutex<usize> = Mutex::new(0);

thread_local! {
    /// Scopes this thread is inside.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Restores the previous actions when the last scope ends, even if `f` panics.
struct ScopeExit;

impl Drop for ScopeExit {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get() - 1));
        let mut n = SCOPES.lock().unwrap_or_else(|e| e.into_inner());
        *n -= 1;
        if *n == 0 {
            // SAFETY: restores the actions saved by the install below; the count says no
            // other scope needs our handler any more.
            unsafe { us_jit_restore() };
        }
    }
}

/// Runs `f` with the fault handlers installed. Install once around a batch of rule runs (an
/// update runs thousands); [`crate::Rule::run`] installs them itself when called outside a
/// scope. The previous actions are restored when the last scope in the process ends.
pub fn guard_scope<R>(f: impl FnOnce() -> R) -> R {
    {
        let mut n = SCOPES.lock().unwrap_or_else(|e| e.into_inner());
        if *n == 0 {
            // SAFETY: plain sigaction calls; the saved actions live in the C file's statics
            // and are only rewritten here, under the lock, while no scope is active.
            let rc = unsafe { us_jit_install() };
            if rc != 0 {
                // sigaction fails only for invalid arguments: nothing to contain faults with,
                // but rules still run (a fault then takes the process's own action).
                eprintln!(
                    "upstare-jit: cannot install the fault handler: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
        *n += 1;
    }
    DEPTH.with(|d| d.set(d.get() + 1));
    let _exit = ScopeExit;
    f()
}

/// True when this thread is inside a [`guard_scope`].
pub(crate) fn in_scope() -> bool {
    DEPTH.with(|d| d.get() > 0)
}

/// True when our handler is the installed action for `sig` (for tests).
pub fn handler_installed(sig: i32) -> bool {
    // SAFETY: reads the current action only.
    unsafe { us_jit_handler_installed(sig) != 0 }
}

/// Calls `f` under the guard (the caller is inside a scope).
///
/// # Safety
/// `f` must be a rule function of a live [`crate::Compiled`] and `ctx` a valid context.
pub(crate) unsafe fn call(
    f: RawRuleFn,
    old: *const u8,
    new: *mut u8,
    ctx: *mut Ctx,
) -> Result<i32, Fault> {
    let mut fault = Fault::default();
    let r = us_jit_call(f, old, new, ctx.cast(), &mut fault);
    if r == FAULTED {
        Err(fault)
    } else {
        Ok(r)
    }
}

/// Calls `f` on `count` objects; `Ok((code, done))` with the first nonzero code (or 0) and the
/// number of objects that succeeded, `Err((fault, done))` on a fault.
///
/// # Safety
/// As [`call`]; every object of both arrays must be addressable as the rule expects.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn call_many(
    f: RawRuleFn,
    old: *const u8,
    old_stride: u64,
    new: *mut u8,
    new_stride: u64,
    count: u64,
    ctx: *mut Ctx,
) -> Result<(i32, u64), (Fault, u64)> {
    let mut fault = Fault::default();
    let mut done = 0u64;
    let r = us_jit_call_many(
        f,
        old,
        old_stride,
        new,
        new_stride,
        count,
        ctx.cast(),
        &mut fault,
        &mut done,
    );
    if r == FAULTED {
        Err((fault, done))
    } else {
        Ok((r, done))
    }
}

/// `si_code` values of SIGFPE (Linux).
const FPE_INTDIV: i32 = 1;
const FPE_INTOVF: i32 = 2;

/// A human description of a fault.
pub(crate) fn describe(f: &Fault) -> String {
    match f.sig {
        libc::SIGSEGV => format!("invalid memory access at {:#x} (SIGSEGV)", f.addr),
        libc::SIGBUS => format!("bus error at {:#x} (SIGBUS)", f.addr),
        libc::SIGFPE => match f.code {
            FPE_INTDIV => "integer division by zero (SIGFPE)".to_string(),
            FPE_INTOVF => "integer overflow (SIGFPE)".to_string(),
            _ => format!("arithmetic fault, code {} (SIGFPE)", f.code),
        },
        libc::SIGILL => format!("illegal instruction at {:#x} (SIGILL)", f.pc),
        s => format!("signal {s}"),
    }
}
