//! The functions of `include/upstare_rt.h` that instrumented code calls, plus the C entry point
//! `upstare_request_self_update`.
//!
//! Each is a thin `extern "C"` shell: it finds the calling thread's context and delegates to the
//! record stack (records.rs), the side stack (side.rs), the stack walk (walk.rs) or the round
//! (coord.rs). None lets a panic escape (`guard`), and protocol violations, which are bugs in the
//! instrumentation, abort with a message that names the functions involved.
//!
//! Deliberately not here: the ABI variables (`__us_pending` and the thread-locals, defined in
//! c/abi.c) and any policy about when to update.

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CStr};

use crate::coord;
use crate::thread::{current, current_or_init, fatal, guard};
use crate::walk;

/// `struct __us_fn`: identifies one instrumented function.
#[repr(C)]
pub struct UsFn {
    pub file: *const c_char,
    pub name: *const c_char,
    pub npoints: c_uint,
}

/// "`name` (file)" for messages; tolerates null pointers.
fn describe(fd: *const UsFn) -> String {
    let s = |p: *const c_char| {
        if p.is_null() {
            "?".to_string()
        } else {
            // SAFETY: descriptor strings are NUL-terminated literals emitted by the compiler.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    if fd.is_null() {
        return "<null descriptor>".to_string();
    }
    // SAFETY: a non-null descriptor points to a static `struct __us_fn`.
    let f = unsafe { &*fd };
    format!("`{}` ({})", s(f.name), s(f.file))
}

/// Slow path of an update point: 1 when this thread must unwind now.
#[no_mangle]
pub extern "C" fn __us_point(fd: *const UsFn, point: c_uint) -> c_int {
    guard(|| {
        let ctx = current();
        // SAFETY: a non-null `ctx` is this thread's live context.
        let Some(c) = (unsafe { ctx.as_ref() }) else {
            // No context, so no root: count the point but never unwind.
            coord::on_point();
            return 0;
        };
        if c.in_runtime.get() {
            return 0;
        }
        c.in_runtime.set(true);
        let unwind = unwind_now(c, fd, point);
        c.in_runtime.set(false);
        if unwind {
            // SAFETY: `unwinding` points to this thread's `__us_unwinding`.
            unsafe { *c.unwinding = 1 };
        }
        unwind as c_int
    })
}

/// After k failed walks in a row at one point, a thread skips the walk at its next 2^k - 1
/// visits of that point, k <= this.
const MAX_WALK_BACKOFF_LOG2: u32 = 8;

/// Values of `ThreadCtx::refused` that are not return addresses.
pub const REFUSED_HOLDS_LOCK: usize = 1;
pub const REFUSED_UNKNOWN: usize = 2;

fn unwind_now(c: &crate::thread::ThreadCtx, fd: *const UsFn, point: c_uint) -> bool {
    // SAFETY: `rebuilding` points to this thread's `__us_rebuilding`.
    let rebuilding = unsafe { *c.rebuilding } != 0;
    if !coord::on_point() || !c.registered || c.blocked || rebuilding {
        return false;
    }
    if !crate::blocking::may_unwind_holding_locks() {
        c.refused
            .store(REFUSED_HOLDS_LOCK, std::sync::atomic::Ordering::Relaxed);
        coord::check_deadline();
        return false;
    }
    // The backoff holds only at the point where the walk last said no (a comparator's loop
    // called by qsort); any other point walks at once, so a thread that left the callback
    // unwinds at its next point.
    let here = (fd as usize, point);
    if c.walk_refused_at.get() != here {
        c.walk_skip.set(0);
        c.walk_failures.set(0);
    }
    if c.walk_skip.get() > 0 {
        c.walk_skip.set(c.walk_skip.get() - 1);
        coord::check_deadline();
        return false;
    }
    if let Err(ip) = walk::may_unwind(c.root_mark, c.root_fn) {
        c.refused.store(
            ip.max(REFUSED_UNKNOWN),
            std::sync::atomic::Ordering::Relaxed,
        );
        let f = (c.walk_failures.get() + 1).min(MAX_WALK_BACKOFF_LOG2);
        c.walk_failures.set(f);
        c.walk_skip.set((1 << f) - 1);
        c.walk_refused_at.set(here);
        coord::check_deadline();
        return false;
    }
    c.walk_failures.set(0);
    c.walk_refused_at.set((0, 0));
    c.refused.store(0, std::sync::atomic::Ordering::Relaxed);
    coord::try_arrive()
}

/// Pushes a frame record and returns its body.
#[no_mangle]
pub extern "C" fn __us_save(
    fd: *const UsFn,
    point: c_uint,
    size: c_ulong,
    align: c_ulong,
) -> *mut c_void {
    guard(|| {
        // SAFETY: a non-null `ctx` is this thread's live context, not otherwise borrowed now.
        let Some(c) = (unsafe { current().as_mut() }) else {
            fatal(&format!(
                "__us_save from {} on a thread without a root",
                describe(fd)
            ))
        };
        match c.records.push(fd, point, size as usize, align as usize) {
            Ok(body) => body.as_ptr() as *mut c_void,
            Err(e) => fatal(&format!(
                "cannot save the frame of {} at point {point}: {e:?}",
                describe(fd)
            )),
        }
    })
}

/// Resume point of the next record, which must belong to `fd`.
#[no_mangle]
pub extern "C" fn __us_resume(fd: *const UsFn) -> c_uint {
    guard(|| {
        // SAFETY: a non-null `ctx` is this thread's live context.
        let top = unsafe { current().as_ref() }.and_then(|c| c.records.peek());
        match top {
            Some((f, point)) if f == fd => point,
            Some((f, point)) => fatal(&format!(
                "rebuild mismatch: {} is rebuilding but the next record belongs to {} (point {point})",
                describe(fd),
                describe(f)
            )),
            None => fatal(&format!("rebuild mismatch: {} is rebuilding but no record is left", describe(fd))),
        }
    })
}

/// Takes the record `__us_resume` announced and returns its body.
#[no_mangle]
pub extern "C" fn __us_record() -> *mut c_void {
    guard(|| {
        // SAFETY: a non-null `ctx` is this thread's live context, not otherwise borrowed now.
        let Some(c) = (unsafe { current().as_mut() }) else {
            fatal("__us_record on a thread without a context")
        };
        let Some((body, last)) = c.records.pop() else {
            fatal("__us_record with no record left")
        };
        if last {
            // SAFETY: `rebuilding` points to this thread's `__us_rebuilding`.
            unsafe { *c.rebuilding = 0 };
            c.in_runtime.set(true);
            coord::rebuild_done();
            c.in_runtime.set(false);
        }
        body.as_ptr() as *mut c_void
    })
}

/// Allocates a zeroed box on the thread's side stack.
#[no_mangle]
pub extern "C" fn __us_box(size: c_ulong, align: c_ulong) -> *mut c_void {
    guard(|| {
        // SAFETY: `current_or_init` returns this thread's live context; only shared access here.
        let c = unsafe { &*current_or_init() };
        // SAFETY: `side_top` points to this thread's `__us_side_top`.
        let top = unsafe { &mut *c.side_top };
        match c.side.alloc(top, size as usize, align as usize) {
            Ok(p) => p as *mut c_void,
            Err(e) => fatal(&format!(
                "side stack: cannot allocate a box of {size} bytes aligned to {align}: {e:?} \
                 (the side stack holds {} bytes: too many or too large address-taken locals \
                 live on this thread)",
                c.side.capacity()
            )),
        }
    })
}

/// Requests an update to the running version itself (C API, `upstare.h`): the whole
/// transaction with identity transformers, every thread parked. Asynchronous: the runtime's
/// updater runs it; returns 1 if it was queued. Not async-signal-safe.
#[no_mangle]
pub extern "C" fn upstare_request_self_update() -> c_int {
    guard(|| {
        crate::control::submit_own(upstare_proto::Request::Update {
            module: None,
            spec: None,
            deadline_ms: crate::coord::default_deadline_ms(),
        }) as c_int
    })
}

/// Requests an update to the module at `path` (C API, `upstare.h`); `spec` may be null.
/// Asynchronous; returns 1 if it was queued, 0 otherwise (for instance a spec file that
/// cannot be read). Not async-signal-safe.
#[no_mangle]
pub extern "C" fn upstare_request_update(path: *const c_char, spec: *const c_char) -> c_int {
    guard(|| {
        if path.is_null() {
            return 0;
        }
        // SAFETY: the caller passes NUL-terminated strings (or null for `spec`).
        let path = unsafe { CStr::from_ptr(path) }
            .to_string_lossy()
            .into_owned();
        let spec = if spec.is_null() {
            None
        } else {
            // SAFETY: as above.
            let sp = unsafe { CStr::from_ptr(spec) }
                .to_string_lossy()
                .into_owned();
            match std::fs::read_to_string(&sp) {
                Ok(text) => Some(upstare_proto::SpecSource { path: sp, text }),
                Err(_) => return 0,
            }
        };
        crate::control::submit_own(upstare_proto::Request::Update {
            module: Some(path),
            spec,
            deadline_ms: crate::coord::default_deadline_ms(),
        }) as c_int
    })
}

/// A wrapped blocking call (runtime/c/wrap.c) asks whether its thread unwinds now instead of
/// blocking: 1 (and `__us_unwinding` set) when an update is pending, the thread may unwind
/// here (stack walk, held locks) and the round accepts it; 0 otherwise.
#[no_mangle]
pub extern "C" fn us_rt_wrapper_unwind() -> c_int {
    guard(|| {
        let Some(c) = (unsafe { current().as_ref() }) else {
            return 0;
        };
        if c.in_runtime.get() || !coord::update_pending() {
            return 0;
        }
        c.in_runtime.set(true);
        let unwind = unwind_now(c, std::ptr::null(), 0);
        c.in_runtime.set(false);
        if unwind {
            // SAFETY: `unwinding` points to this thread's `__us_unwinding`.
            unsafe { *c.unwinding = 1 };
        }
        unwind as c_int
    })
}
