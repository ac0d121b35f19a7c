//! What JIT code calls back into while an update runs: the runtime's [`Services`], reached from
//! generated code through a [`Ctx`] and a set of `extern "C"` trampolines.
//!
//! Generated code never calls a closure directly. It calls a trampoline of this file by its
//! address, passing the `*mut Ctx` it received; the trampoline calls the closure (catching
//! panics), and on failure stores the message in the context, sets `status` and returns 0. The
//! generated code tests `status` after every fallible call and fails the rule with the call's
//! source span. Before every call out of JIT code the generated code also stores the call's
//! site in `site`, so a fault inside a callback is reported at the call.

use std::panic::{catch_unwind, AssertUnwindSafe};

use upstare_meta::{CType, TypeId};

/// Which `migrate` builtin asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateKind {
    /// `migrate(p)`: one object.
    One,
    /// `migrate_array(p, n)`: `n` objects.
    Array(u64),
    /// `migrate_nt(p)`: objects up to and including an all-zero one.
    NulTerminated,
    /// `migrate_str(p)`: a NUL-terminated string.
    Str,
}

/// One `migrate*` request made by a rule: the old pointer and what it points to in both
/// versions. The pointer is never null (null migrates to null without asking).
#[derive(Debug, Clone, Copy)]
pub struct Migration<'r> {
    pub kind: MigrateKind,
    pub ptr: *const u8,
    /// The old pointee type (resolved in the old version) and the new one.
    pub old_ty: &'r CType,
    pub new_ty: &'r CType,
    /// Their record entries, when they are structs or unions.
    pub old_record: Option<TypeId>,
    pub new_record: Option<TypeId>,
    /// Their sizes, when the metadata knows them.
    pub old_size: Option<u64>,
    pub new_size: Option<u64>,
}

type AllocFn<'a> = Box<dyn FnMut(u64) -> Result<*mut u8, String> + 'a>;
type MigrateFn<'a> = Box<dyn FnMut(&Migration<'_>) -> Result<*mut u8, String> + 'a>;
type MapFn<'a> = Box<dyn FnMut(usize) -> Result<usize, String> + 'a>;
type NowFn<'a> = Box<dyn FnMut() -> u64 + 'a>;

/// The services JIT code uses during an update, implemented by the runtime.
///
/// Every closure may fail with a message; the rule then fails with the builtin's span and that
/// message. A panic inside a closure is caught and reported the same way.
pub struct Services<'a> {
    pub(crate) alloc: AllocFn<'a>,
    pub(crate) migrate: MigrateFn<'a>,
    pub(crate) relocate: MapFn<'a>,
    pub(crate) new_function: MapFn<'a>,
    pub(crate) now_ms: NowFn<'a>,
    pub(crate) loop_budget: u64,
}

/// The default number of `for` iterations one rule run may start (see [`Services::loop_budget`]).
pub const DEFAULT_LOOP_BUDGET: u64 = 1 << 32;

impl<'a> Services<'a> {
    /// Services from the runtime's closures:
    /// - `alloc(n)`: `n` zeroed bytes of the new version's heap (staged: freed on abort);
    /// - `migrate(m)`: the new object an old one becomes (the heap migration's type rules);
    /// - `relocate(p)`: an old pointer as the automatic transfer relocates it (a pointer to an
    ///   old global, function or box becomes the new one; heap pointers their migrated copy);
    /// - `new_function(p)`: the new version of the old function at `p` (`newfn(fp)`);
    /// - `now_ms()`: wall-clock milliseconds since the Unix epoch.
    ///
    /// Null pointers never reach `migrate`, `relocate` or `new_function`: null stays null.
    pub fn new(
        alloc: impl FnMut(u64) -> Result<*mut u8, String> + 'a,
        migrate: impl FnMut(&Migration<'_>) -> Result<*mut u8, String> + 'a,
        relocate: impl FnMut(usize) -> Result<usize, String> + 'a,
        new_function: impl FnMut(usize) -> Result<usize, String> + 'a,
        now_ms: impl FnMut() -> u64 + 'a,
    ) -> Services<'a> {
        Services {
            alloc: Box::new(alloc),
            migrate: Box::new(migrate),
            relocate: Box::new(relocate),
            new_function: Box::new(new_function),
            now_ms: Box::new(now_ms),
            loop_budget: DEFAULT_LOOP_BUDGET,
        }
    }

    /// Services for tests and tools: `alloc` is `calloc` (never freed), `migrate` fails,
    /// `relocate` and `new_function` keep the pointer, `now_ms` reads the system clock.
    pub fn standalone() -> Services<'static> {
        Services::new(
            |n| {
                // SAFETY: calloc of at least one byte; the memory is handed to the rule.
                let p = unsafe { libc::calloc(1, n.max(1) as usize) } as *mut u8;
                if p.is_null() {
                    Err(format!("out of memory allocating {n} bytes"))
                } else {
                    Ok(p)
                }
            },
            |m| Err(format!("no heap migration here (migrate of {})", m.old_ty)),
            Ok,
            Ok,
            system_now_ms,
        )
    }

    /// Sets the number of `for` loop iterations one rule run may start (default
    /// [`DEFAULT_LOOP_BUDGET`]). A loop whose range would pass it fails the rule before it
    /// starts, so a transformer cannot keep the program paused for ever.
    pub fn loop_budget(mut self, iterations: u64) -> Self {
        self.loop_budget = iterations;
        self
    }
}

/// Milliseconds since the Unix epoch from the system clock.
pub fn system_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The context a rule function receives (made by [`crate::Rule::run`]; opaque outside this
/// crate). Generated code reads and writes the first four fields at fixed offsets; the rest is
/// for the trampolines.
#[repr(C)]
pub struct Ctx {
    /// Nonzero after a callback failed (its message is in `message`).
    pub(crate) status: i32,
    /// The failure site of the call out of JIT code in progress (0: none).
    pub(crate) site: i32,
    /// A value for the failing site's message (an index, a shift count).
    pub(crate) value: i64,
    /// `for` iterations left.
    pub(crate) fuel: u64,
    /// The services of this run (lifetime erased; valid for the run).
    pub(crate) services: *mut Services<'static>,
    pub(crate) message: Option<String>,
}

pub(crate) const CTX_STATUS: i32 = std::mem::offset_of!(Ctx, status) as i32;
pub(crate) const CTX_SITE: i32 = std::mem::offset_of!(Ctx, site) as i32;
pub(crate) const CTX_VALUE: i32 = std::mem::offset_of!(Ctx, value) as i32;
pub(crate) const CTX_FUEL: i32 = std::mem::offset_of!(Ctx, fuel) as i32;

impl Ctx {
    pub(crate) fn new(services: &mut Services<'_>) -> Ctx {
        Ctx {
            status: 0,
            site: 0,
            value: 0,
            fuel: services.loop_budget,
            // The lifetime is erased only for the duration of one run, during which the
            // `&mut Services` it came from is borrowed by the caller.
            services: (services as *mut Services<'_>).cast::<Services<'static>>(),
            message: None,
        }
    }
}

/// What a `migrate*` call site needs, stored (boxed, so its address is stable) for as long as
/// the compiled code lives; generated code passes its address.
#[derive(Debug)]
pub(crate) struct MigrateDesc {
    pub kind: u8, // 0 one, 1 array, 2 nul-terminated, 3 string
    pub old_ty: CType,
    pub new_ty: CType,
    pub old_record: Option<TypeId>,
    pub new_record: Option<TypeId>,
    pub old_size: Option<u64>,
    pub new_size: Option<u64>,
}

/// Runs `f` on the context's services; on failure or panic records the message.
///
/// # Safety
/// `ctx` is the context generated code received, valid for the run.
unsafe fn with_services<T: Default>(
    ctx: *mut Ctx,
    f: impl FnOnce(&mut Services<'static>) -> Result<T, String>,
) -> T {
    let ctx = &mut *ctx;
    let services = &mut *ctx.services;
    let r = catch_unwind(AssertUnwindSafe(|| f(services)));
    let err = match r {
        Ok(Ok(v)) => return v,
        Ok(Err(e)) => e,
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            format!("the runtime's service panicked: {what}")
        }
    };
    ctx.status = 1;
    ctx.message = Some(err);
    T::default()
}

pub(crate) unsafe extern "C" fn tr_alloc(ctx: *mut Ctx, n: u64) -> u64 {
    with_services(ctx, |s| {
        let p = (s.alloc)(n)?;
        if p.is_null() {
            return Err(format!("allocation of {n} bytes returned null"));
        }
        Ok(p as u64)
    })
}

pub(crate) unsafe extern "C" fn tr_migrate(
    ctx: *mut Ctx,
    desc: *const MigrateDesc,
    p: u64,
    n: u64,
) -> u64 {
    if p == 0 {
        return 0;
    }
    let d = &*desc;
    let kind = match d.kind {
        0 => MigrateKind::One,
        1 => MigrateKind::Array(n),
        2 => MigrateKind::NulTerminated,
        _ => MigrateKind::Str,
    };
    let m = Migration {
        kind,
        ptr: p as *const u8,
        old_ty: &d.old_ty,
        new_ty: &d.new_ty,
        old_record: d.old_record,
        new_record: d.new_record,
        old_size: d.old_size,
        new_size: d.new_size,
    };
    with_services(ctx, |s| (s.migrate)(&m).map(|p| p as u64))
}

pub(crate) unsafe extern "C" fn tr_relocate(ctx: *mut Ctx, p: u64) -> u64 {
    if p == 0 {
        return 0;
    }
    with_services(ctx, |s| (s.relocate)(p as usize).map(|p| p as u64))
}

pub(crate) unsafe extern "C" fn tr_new_function(ctx: *mut Ctx, p: u64) -> u64 {
    if p == 0 {
        return 0;
    }
    with_services(ctx, |s| (s.new_function)(p as usize).map(|p| p as u64))
}

pub(crate) unsafe extern "C" fn tr_now_ms(ctx: *mut Ctx) -> u64 {
    with_services(ctx, |s| Ok((s.now_ms)()))
}

/// `strdup` into the new heap (through `alloc`).
pub(crate) unsafe extern "C" fn tr_strdup(ctx: *mut Ctx, s: u64) -> u64 {
    let len = libc::strlen(s as *const libc::c_char) as u64;
    let p = tr_alloc(ctx, len + 1);
    if p != 0 {
        std::ptr::copy_nonoverlapping(s as *const u8, p as *mut u8, len as usize);
        *(p as *mut u8).add(len as usize) = 0;
    }
    p
}

// ------------------------------------------------------------------ 128-bit helpers
//
// cranelift's x86-64 backend has no 128-bit division or 128-bit <-> float conversion; these
// take and give 128-bit values as (low, high) halves.

fn join(lo: u64, hi: u64) -> u128 {
    (u128::from(hi) << 64) | u128::from(lo)
}

/// `op`: 0 udiv, 1 urem, 2 sdiv, 3 srem. The divisor is never zero and the signed case never
/// overflows (generated code checks both first).
pub(crate) unsafe extern "C" fn tr_div128(
    a_lo: u64,
    a_hi: u64,
    b_lo: u64,
    b_hi: u64,
    op: u32,
    out: *mut u64,
) {
    let (a, b) = (join(a_lo, a_hi), join(b_lo, b_hi));
    let r = match op {
        0 => a.wrapping_div(b),
        1 => a.wrapping_rem(b),
        2 => (a as i128).wrapping_div(b as i128) as u128,
        _ => (a as i128).wrapping_rem(b as i128) as u128,
    };
    *out = r as u64;
    *out.add(1) = (r >> 64) as u64;
}

/// A 128-bit integer to `double` (`to_f32` 0) or `float` (1).
pub(crate) extern "C" fn tr_i128_to_f64(lo: u64, hi: u64, signed: u32) -> f64 {
    let v = join(lo, hi);
    if signed != 0 {
        v as i128 as f64
    } else {
        v as f64
    }
}

pub(crate) extern "C" fn tr_i128_to_f32(lo: u64, hi: u64, signed: u32) -> f32 {
    let v = join(lo, hi);
    if signed != 0 {
        v as i128 as f32
    } else {
        v as f32
    }
}

/// A `double` to a 128-bit integer (saturating, as Rust's `as`; out of range is undefined in C).
pub(crate) unsafe extern "C" fn tr_f64_to_i128(x: f64, signed: u32, out: *mut u64) {
    let r = if signed != 0 {
        x as i128 as u128
    } else {
        x as u128
    };
    *out = r as u64;
    *out.add(1) = (r >> 64) as u64;
}
