//! Blocking calls made by instrumented code, and how a pending update wakes them at once.
//!
//! upstare-cc routes every direct call of a blocking libc function (`read`, `accept`, `poll`,
//! `nanosleep`, `pthread_cond_wait`, `sem_wait`, `waitpid`, `fgets`, ...) made by instrumented
//! code to a wrapper `__us_w_NAME` (c/wrap.c) and makes the call a call point. A wrapper waits
//! so that a strict round (a version update) can wake it; when woken, it asks the runtime
//! (`us_rt_wrapper_unwind`) whether its thread unwinds now, and if so returns at once with
//! `__us_unwinding` set: its caller saves its frame with the call point, and on rebuild the call
//! is made again (in the new version, if the update committed). Uninstrumented code (libraries,
//! the runtime itself) calls libc directly and is never woken.
//!
//! This file owns the wake-up mechanisms the wrappers wait on:
//! - **The doorbell**: one eventfd (`EFD_NONBLOCK | EFD_CLOEXEC`, created lazily). Wrappers of
//!   fd-based calls and sleeps poll it beside their own descriptors. `ring` makes it readable
//!   for the whole round, `silence` drains it.
//! - **The round's end**: a thread that was woken but may not unwind (it holds a lock, a frame
//!   the walk refuses) *declines* the round. It must not poll the doorbell again (readable until
//!   the round ends: a busy loop), so it polls a per-round eventfd that `silence` makes readable
//!   instead (`us_rt_round_end_fd`), and goes back to the doorbell when the round is over.
//!   Each round gets a fresh one, so a thread that declined round N never misses round N+1.
//! - **Condition variables**: each thread has a slot (`Slot`) where `pthread_cond_wait`'s
//!   wrapper registers the condition it waits on; `ring` and `re_ring` broadcast every
//!   registered one (spurious wake-ups are legal).
//! - **The poke**: descriptor calls (`read`, `recv`, `accept`, `write`, ...), `sem_wait`,
//!   `sem_timedwait`, `waitpid` and `wait` are made directly, and `ring`/`re_ring` send a
//!   runtime-owned real-time signal (`UPSTARE_POKE_SIGNAL`, default `SIGRTMAX - 2`) to every
//!   thread inside one; its handler (in wrap.c, installed without `SA_RESTART`) makes the call
//!   fail with `EINTR` and marks the thread as poked. Whether a thread is inside such a call is
//!   its *state word*, a thread-local of wrap.c (`us_w_state`) that the slot points to, so that
//!   entering and leaving a call costs the thread two atomic instructions and no call into Rust:
//!   `IDLE -> CALL` (the thread, entering), `CALL -> POKED` (the ringer, before `pthread_kill`),
//!   `POKED -> CALL` (the handler: delivered; `re_ring` may poke again, for a poke that landed
//!   just before the syscall started), `CALL -> IDLE` (the thread, leaving; from `POKED` it
//!   waits for the handler first). So at most one poke is in flight per thread, and none once
//!   it has left its call.
//! - **Joins**: a registry of created threads keyed by `pthread_t`; `pthread_join`'s wrapper
//!   waits on a condition variable until the target has ended (`on_thread_exit`) or a round
//!   rings, then makes the real call.
//!
//! A slot's condition is read by the ringer while its thread may be leaving the wait: the
//! ringer marks the slot busy, then reads; the thread clears, then waits until the slot is not
//! busy (sequentially consistent on both sides), so a condition is never broadcast after its
//! wait returned and its memory may be gone. The state word needs no such care: only the ringer
//! moves it out of `CALL`, and the thread does not leave its call before it is back; the word
//! itself lives as long as the thread, which removes its slot (under the registry's lock, which
//! the ringer holds while it looks) before its thread-locals are freed.
//!
//! Held locks: the policy "no thread unwinds while holding a mutex or rwlock it acquired
//! through instrumented code" is counted in wrap.c (`us_w_locks_held`);
//! `may_unwind_holding_locks` reads it.
//!
//! Deliberately not here: the wrappers themselves (wrap.c), the round's state machine
//! (coord.rs) and the decision whether a thread may unwind (abi.rs, `us_rt_wrapper_unwind`).

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use crate::thread::{current, guard};

extern "C" {
    /// Mutexes and rwlocks the calling thread holds through instrumented code (wrap.c).
    fn us_w_locks_held() -> c_int;
    /// Makes wrap.c forget the doorbell it cached (in the child of fork).
    fn us_w_fork_child();
    /// The calling thread's state word in wrap.c (see the module documentation).
    fn us_w_state_word() -> *mut u32;
    /// The poke signal when pokes may be sent now (wrap.c's handler is in place), else 0.
    #[cfg_attr(test, allow(dead_code))]
    fn us_w_poke_ready() -> c_int;
    /// The runtime's answer to "may this thread unwind now?" (abi.rs); sets `__us_unwinding`.
    fn us_rt_wrapper_unwind() -> c_int;
    /// Not in the libc crate.
    fn pthread_attr_getdetachstate(attr: *const libc::pthread_attr_t, state: *mut c_int) -> c_int;
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here panics while holding a lock; a poisoned lock still holds consistent data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ----- rounds: generation and state ---------------------------------------------------------

/// `generation << 1 | ringing`: one atomic, so that a reader sees a consistent pair. The
/// generation counts `ring` calls; ringing is true from `ring` to `silence`.
static ROUND: AtomicU64 = AtomicU64::new(0);

fn round() -> (u64, bool) {
    let v = ROUND.load(Ordering::SeqCst);
    (v >> 1, v & 1 == 1)
}

// ----- the doorbell -------------------------------------------------------------------------

static BELL: AtomicI32 = AtomicI32::new(-1);
static BELL_INIT: Mutex<()> = Mutex::new(());

/// The doorbell's descriptor, created on first use.
fn bell() -> c_int {
    let fd = BELL.load(Ordering::Acquire);
    if fd >= 0 {
        return fd;
    }
    let _g = lock(&BELL_INIT);
    let fd = BELL.load(Ordering::Acquire);
    if fd >= 0 {
        return fd;
    }
    // SAFETY: eventfd has no memory preconditions.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        // No descriptor left: waits are not wakeable now; the next call tries again.
        return -1;
    }
    static AT_FORK: std::sync::Once = std::sync::Once::new();
    // SAFETY: registers an `extern "C"` function that never unwinds.
    AT_FORK.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(fork_child));
    });
    BELL.store(fd, Ordering::Release);
    fd
}

fn eventfd_write(fd: c_int) {
    if fd < 0 {
        return;
    }
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to an eventfd; failure (EAGAIN at the counter's
    // maximum) leaves it readable, which is all we want.
    unsafe { libc::write(fd, &one as *const u64 as *const c_void, 8) };
}

fn eventfd_drain(fd: c_int) {
    let mut v: u64 = 0;
    // SAFETY: reads 8 bytes into a live u64; the descriptor is non-blocking.
    unsafe { libc::read(fd, &mut v as *mut u64 as *mut c_void, 8) };
}

/// The current round's end eventfd: (generation, descriptor).
static END: Mutex<(u64, c_int)> = Mutex::new((0, -1));

// ----- per-thread slots ---------------------------------------------------------------------

/// Values of a thread's state word (wrap.c's `ST_*`; 0 is outside any pokeable call): inside
/// one, poked (the signal sent or about to be, not delivered yet).
const ST_CALL: u32 = 1;
const ST_POKED: u32 = 2;

/// What the ringer needs to know about one thread; see the module documentation.
struct Slot {
    thread: libc::pthread_t,
    /// The thread's state word (wrap.c's `us_w_state`).
    state: *const AtomicU32,
    /// The condition variable the thread waits on in `pthread_cond_wait`, or null.
    cond: AtomicPtr<libc::pthread_cond_t>,
    /// Ringers currently looking at this slot.
    busy: AtomicU32,
    /// The generation of the round this thread declined (it may not unwind in it): it is not
    /// woken again in that round.
    declined: AtomicU64,
    /// The stack pointer where it declined: the decline holds for calls at that depth or
    /// deeper. A call further out (the thread declined inside a signal handler, which has
    /// since returned into the call it interrupted) asks again, since it may unwind there.
    declined_sp: AtomicUsize,
}

// SAFETY: `state` points to a thread-local of the slot's thread that outlives the slot's
// registration (see the module documentation) and is only accessed atomically; the rest is
// atomics and a thread id.
unsafe impl Send for Slot {}
// SAFETY: as above.
unsafe impl Sync for Slot {}

/// Frames this much shallower than a decline are further out than it (a signal frame alone is
/// larger: the kernel saves the full register state there).
const DECLINE_SLACK: usize = 1024;

/// An address in the caller's frame.
#[inline(never)]
fn stack_pointer() -> usize {
    let here = 0u8;
    std::hint::black_box(&here) as *const u8 as usize
}

impl Slot {
    /// Declines round `gen` at the current depth of the stack (called on the slot's thread).
    fn decline(&self, gen: u64) {
        self.declined_sp.store(stack_pointer(), Ordering::SeqCst);
        self.declined.store(gen, Ordering::SeqCst);
    }

    /// Whether round `gen` is declined for a call at the current depth (called on the slot's
    /// thread): declined there or further in, not further out.
    fn declined_here(&self, gen: u64) -> bool {
        self.declined.load(Ordering::SeqCst) == gen
            && stack_pointer() <= self.declined_sp.load(Ordering::SeqCst) + DECLINE_SLACK
    }

    /// The thread's state word. Valid while the slot is registered or the caller is its thread.
    fn state(&self) -> &AtomicU32 {
        // SAFETY: see the `Send` impl; a u32 that C accesses with `__atomic` builtins has the
        // layout of an AtomicU32.
        unsafe { &*self.state }
    }
}

static SLOTS: Mutex<Vec<Arc<Slot>>> = Mutex::new(Vec::new());

/// Removes the thread's slot from the registry when the thread ends.
struct SlotHandle(Arc<Slot>);

impl Drop for SlotHandle {
    fn drop(&mut self) {
        let me = Arc::as_ptr(&self.0);
        lock(&SLOTS).retain(|s| Arc::as_ptr(s) != me);
    }
}

thread_local! {
    static SLOT: SlotHandle = {
        let s = Arc::new(Slot {
            // SAFETY: pthread_self has no preconditions.
            thread: unsafe { libc::pthread_self() },
            // SAFETY: returns the address of the calling thread's own thread-local.
            state: unsafe { us_w_state_word() } as *const AtomicU32,
            cond: AtomicPtr::new(std::ptr::null_mut()),
            busy: AtomicU32::new(0),
            declined: AtomicU64::new(0),
            declined_sp: AtomicUsize::new(0),
        });
        lock(&SLOTS).push(s.clone());
        SlotHandle(s)
    };
}

/// Runs `f` on the calling thread's slot (None while the thread is being torn down).
fn with_slot<R>(f: impl FnOnce(&Slot) -> R) -> Option<R> {
    SLOT.try_with(|h| f(&h.0)).ok()
}

/// Waits until no ringer looks at `s` (after the thread cleared what the ringer reads).
fn wait_not_busy(s: &Slot) {
    while s.busy.load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
    }
}

/// The signal to poke with now, or 0 (see `us_w_poke_ready`).
#[cfg(not(test))]
fn poke_ready() -> c_int {
    // SAFETY: reads and may restore the poke's disposition; no memory preconditions.
    unsafe { us_w_poke_ready() }
}

/// The unit tests install a handler of their own.
#[cfg(test)]
fn poke_ready() -> c_int {
    poke_signal()
}

/// Wakes every registered waiter that has not declined round `gen`.
fn wake_slots(gen: u64) {
    let sig = poke_ready();
    let slots = lock(&SLOTS);
    for s in slots.iter() {
        s.busy.fetch_add(1, Ordering::SeqCst);
        if s.declined.load(Ordering::SeqCst) != gen {
            let c = s.cond.load(Ordering::SeqCst);
            if !c.is_null() {
                // SAFETY: the waiting thread keeps `c` registered only while it is inside
                // pthread_cond_wait on it, and waits for `busy` to drop before returning, so
                // the condition variable is alive; broadcasting may only cause spurious wake-ups.
                unsafe { libc::pthread_cond_broadcast(c) };
            }
            // A thread whose previous poke is not delivered yet (POKED) gets no second one.
            if sig != 0
                && s.state()
                    .compare_exchange(ST_CALL, ST_POKED, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                // SAFETY: the thread is alive: it does not leave its call (let alone exit)
                // before the poke has been delivered and its state is back to CALL.
                if unsafe { libc::pthread_kill(s.thread, sig) } != 0 {
                    // Not sent (the queue of real-time signals is full): nothing in flight.
                    s.state().store(ST_CALL, Ordering::SeqCst);
                }
            }
        }
        s.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

// ----- joins --------------------------------------------------------------------------------

/// Created threads by `pthread_t`: whether each has ended.
static JOINS: Mutex<Option<HashMap<libc::pthread_t, bool>>> = Mutex::new(None);
static JOIN_CV: Condvar = Condvar::new();

// ----- the poke signal ----------------------------------------------------------------------

/// The poke signal: `UPSTARE_POKE_SIGNAL` (a signal number) or `SIGRTMAX - 2`.
fn poke_signal() -> c_int {
    static SIG: OnceLock<c_int> = OnceLock::new();
    *SIG.get_or_init(|| {
        let max = libc::SIGRTMAX();
        std::env::var("UPSTARE_POKE_SIGNAL")
            .ok()
            .and_then(|v| v.trim().parse::<c_int>().ok())
            .filter(|&s| s > 0 && s <= max && s != libc::SIGKILL && s != libc::SIGSTOP)
            .unwrap_or(max - 2)
    })
}

// ----- the API the rest of the runtime calls -------------------------------------------------

/// A strict round (a version update) has been requested: wake every thread blocked in a
/// wrapped call (doorbell, condition variables, pokes, joins). Called once per round by `coord`.
pub fn ring() {
    let fd = bell();
    let gen = {
        let mut end = lock(&END);
        let gen = (ROUND.load(Ordering::SeqCst) >> 1) + 1;
        // SAFETY: eventfd has no memory preconditions.
        let efd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if end.1 >= 0 {
            // SAFETY: the previous round's end descriptor is ours; waiters hold duplicates.
            unsafe { libc::close(end.1) };
        }
        *end = (gen, efd);
        ROUND.store(gen << 1 | 1, Ordering::SeqCst);
        gen
    };
    eventfd_write(fd);
    wake_slots(gen);
    JOIN_CV.notify_all();
}

/// Called by threads waiting for a strict round to complete, about every millisecond: repeats
/// the wake-ups that may have been missed (a waiter that registered after `ring`). The doorbell
/// needs no repeating: it stays readable.
pub fn re_ring() {
    let (gen, ringing) = round();
    if ringing {
        wake_slots(gen);
        JOIN_CV.notify_all();
    }
}

/// The round is over (committed or aborted): stop waking threads. Threads that declined the
/// round go back to waiting on the doorbell.
pub fn silence() {
    let fd = BELL.load(Ordering::Acquire);
    if fd >= 0 {
        eventfd_drain(fd);
    }
    let end = lock(&END);
    let (gen, ringing) = round();
    if ringing {
        ROUND.store(gen << 1, Ordering::SeqCst);
    }
    if end.1 >= 0 {
        eventfd_write(end.1);
    }
    drop(end);
    JOIN_CV.notify_all();
}

/// May the calling thread unwind now as far as locks are concerned? False while it holds a
/// mutex or rwlock it acquired through instrumented code.
pub fn may_unwind_holding_locks() -> bool {
    // SAFETY: reads the calling thread's counter in wrap.c.
    unsafe { us_w_locks_held() == 0 }
}

/// The calling registered thread starts (thread.rs `begin`): joins on it may wait for
/// `on_thread_exit`.
pub fn on_thread_begin() {
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() };
    lock(&JOINS)
        .get_or_insert_with(HashMap::new)
        .insert(me, false);
}

/// A thread was created (from the creating thread, with the new thread's id), so that a join
/// that follows at once finds it even before the thread ran `on_thread_begin`.
pub fn on_thread_created(t: libc::pthread_t) {
    lock(&JOINS)
        .get_or_insert_with(HashMap::new)
        .entry(t)
        .or_insert(false);
}

/// The calling registered thread is about to end (its start routine returned or it called
/// pthread_exit).
pub fn on_thread_exit() {
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() };
    let detached = {
        // SAFETY: `attr` is initialised by pthread_getattr_np before it is read and destroyed
        // after; the calling thread is alive.
        unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            let mut state: c_int = 0;
            let ok = libc::pthread_getattr_np(me, &mut attr) == 0;
            if ok {
                pthread_attr_getdetachstate(&attr, &mut state);
                libc::pthread_attr_destroy(&mut attr);
            }
            ok && state == libc::PTHREAD_CREATE_DETACHED
        }
    };
    let mut joins = lock(&JOINS);
    let map = joins.get_or_insert_with(HashMap::new);
    if detached {
        map.remove(&me);
    } else {
        map.insert(me, true);
    }
    drop(joins);
    JOIN_CV.notify_all();
}

// ----- what the wrappers (c/wrap.c) call ------------------------------------------------------

/// Whether the calling thread has a root (only registered threads are woken and unwind).
#[no_mangle]
pub extern "C" fn us_rt_thread_registered() -> c_int {
    guard(|| {
        // SAFETY: a non-null context is the calling thread's own.
        unsafe { current().as_ref() }.is_some_and(|c| c.registered) as c_int
    })
}

/// The doorbell's descriptor.
#[no_mangle]
pub extern "C" fn us_rt_bell_fd() -> c_int {
    guard(bell)
}

/// The round as the calling thread sees it: 0 nothing rings, 1 a round rings that this thread
/// has not declined, 2 a round rings that it declined. `gen` receives the round's generation.
#[no_mangle]
pub extern "C" fn us_rt_round_state(gen: *mut u64) -> c_int {
    guard(|| {
        let (g, ringing) = round();
        if !gen.is_null() {
            // SAFETY: the caller passes a valid out-parameter.
            unsafe { *gen = g };
        }
        if !ringing {
            return 0;
        }
        let declined = with_slot(|s| s.declined_here(g)).unwrap_or(true);
        if declined {
            2
        } else {
            1
        }
    })
}

/// The calling thread was woken by round `gen` but may not unwind: do not wake it again in
/// this round.
#[no_mangle]
pub extern "C" fn us_rt_decline(gen: u64) {
    guard(|| {
        with_slot(|s| s.decline(gen));
    })
}

/// A duplicate of round `gen`'s end eventfd (readable once the round is over), which the
/// caller closes; -1 when `gen` is no longer the current round (it is over).
#[no_mangle]
pub extern "C" fn us_rt_round_end_fd(gen: u64) -> c_int {
    guard(|| {
        let end = lock(&END);
        if end.0 != gen || end.1 < 0 {
            return -1;
        }
        // SAFETY: duplicates a descriptor we own.
        unsafe { libc::fcntl(end.1, libc::F_DUPFD_CLOEXEC, 0) }
    })
}

/// `pthread_cond_wait` is about to wait on `cond`: broadcast it when a round rings.
#[no_mangle]
pub extern "C" fn us_rt_cond_enter(cond: *mut libc::pthread_cond_t) {
    guard(|| {
        with_slot(|s| s.cond.store(cond, Ordering::SeqCst));
    })
}

/// The wait is over: the condition variable is no longer ours to broadcast.
#[no_mangle]
pub extern "C" fn us_rt_cond_leave() {
    guard(|| {
        with_slot(|s| {
            s.cond.store(std::ptr::null_mut(), Ordering::SeqCst);
            wait_not_busy(s);
        });
    })
}

/// The poke signal's number (wrap.c installs its handler).
#[no_mangle]
pub extern "C" fn us_rt_poke_signal() -> c_int {
    guard(poke_signal)
}

/// Makes the calling thread's slot (once per thread, before its first pokeable call), so
/// that the ringer finds its state word.
#[no_mangle]
pub extern "C" fn us_rt_slot_init() {
    guard(|| {
        with_slot(|_| ());
    })
}

/// `pthread_join(t)` from instrumented code: waits until `t` has ended or a round rings that
/// this thread may unwind in. Returns 1 when the real join may follow (it will not wait long),
/// 0 when the thread must unwind now (`__us_unwinding` is set), -1 when `t` is unknown (not a
/// thread created through the runtime): the caller joins for real, without a wake-up.
#[no_mangle]
pub extern "C" fn us_rt_join_wait(t: libc::pthread_t) -> c_int {
    guard(|| {
        // While it waits, the thread counts as blocked: a self-test round does not wait for
        // it (a strict round rings and wakes it). Marked outside the JOINS lock, and unmarked
        // before it asks to unwind (a blocked thread may not).
        let mut blocked = false;
        let unblock = |blocked: &mut bool| {
            if std::mem::take(blocked) {
                crate::thread::us_rt_blocking_leave();
            }
        };
        let mut joins = lock(&JOINS);
        loop {
            match joins.as_ref().and_then(|m| m.get(&t)) {
                None => {
                    drop(joins);
                    unblock(&mut blocked);
                    return -1;
                }
                Some(true) => {
                    drop(joins);
                    unblock(&mut blocked);
                    return 1;
                }
                Some(false) => {}
            }
            let (gen, ringing) = round();
            let declined = with_slot(|s| s.declined_here(gen)).unwrap_or(true);
            if ringing && !declined {
                drop(joins);
                unblock(&mut blocked);
                // SAFETY: asks the runtime about the calling thread; no lock of ours is held.
                if unsafe { us_rt_wrapper_unwind() } != 0 {
                    return 0;
                }
                with_slot(|s| s.decline(gen));
                joins = lock(&JOINS);
                continue;
            }
            if !blocked {
                drop(joins);
                crate::thread::us_rt_blocking_enter();
                blocked = true;
                joins = lock(&JOINS);
                continue;
            }
            joins = JOIN_CV.wait(joins).unwrap_or_else(|e| e.into_inner());
        }
    })
}

/// `t` was joined: forget it (its id may be reused).
#[no_mangle]
pub extern "C" fn us_rt_join_done(t: libc::pthread_t) {
    guard(|| {
        if let Some(m) = lock(&JOINS).as_mut() {
            m.remove(&t);
        }
    })
}

/// `__wrap_pthread_create` created `t` (see `on_thread_created`).
#[no_mangle]
pub extern "C" fn us_rt_thread_created(t: libc::pthread_t) {
    guard(|| on_thread_created(t))
}

/// In the child of `fork` (registered when the doorbell is created): the parent's doorbell and
/// round are not the child's. The child gets its own doorbell on first use; its slot registry
/// keeps only the forking thread.
extern "C" fn fork_child() {
    guard(|| {
        // SAFETY: resets a plain variable of wrap.c.
        unsafe { us_w_fork_child() };
        let fd = BELL.swap(-1, Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: the child's copy of the parent's doorbell; nobody else uses it here.
            unsafe { libc::close(fd) };
        }
        ROUND.store(ROUND.load(Ordering::SeqCst) >> 1 << 1, Ordering::SeqCst);
        // The locks may have been held by parent threads that do not exist here.
        if let Ok(mut end) = END.try_lock() {
            if end.1 >= 0 {
                // SAFETY: as above.
                unsafe { libc::close(end.1) };
            }
            *end = (0, -1);
        }
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() };
        if let Ok(mut slots) = SLOTS.try_lock() {
            slots.retain(|s| s.thread == me);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests share the process-wide round state.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn readable(fd: c_int) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[test]
    fn doorbell_rings_and_round_end_fires() {
        let _serial = lock(&SERIAL);
        let fd = bell();
        assert!(!readable(fd));
        ring();
        let (gen, ringing) = round();
        assert!(ringing && gen >= 1);
        assert!(readable(fd));
        assert_eq!(us_rt_round_state(std::ptr::null_mut()), 1);
        let end = us_rt_round_end_fd(gen);
        assert!(end >= 0 && !readable(end));
        assert_eq!(us_rt_round_end_fd(gen + 1), -1);
        us_rt_decline(gen);
        assert_eq!(us_rt_round_state(std::ptr::null_mut()), 2);
        silence();
        assert!(!readable(fd));
        assert!(readable(end));
        assert_eq!(us_rt_round_state(std::ptr::null_mut()), 0);
        // SAFETY: our duplicate.
        unsafe { libc::close(end) };
    }

    #[test]
    fn ring_broadcasts_registered_conditions() {
        let _serial = lock(&SERIAL);
        use std::sync::atomic::AtomicUsize;
        static WOKEN: AtomicUsize = AtomicUsize::new(0);
        let pair = Arc::new((
            Mutex::new(()),
            // A raw pthread condition so that its address can be registered.
            Box::new(libc::PTHREAD_COND_INITIALIZER),
            Box::new(libc::PTHREAD_MUTEX_INITIALIZER),
        ));
        let p = pair.clone();
        let c = &*p.1 as *const libc::pthread_cond_t as usize;
        let m = &*p.2 as *const libc::pthread_mutex_t as usize;
        let t = std::thread::spawn(move || {
            let _keep = p;
            // SAFETY: the condition and mutex outlive the thread (held by `_keep`).
            unsafe {
                let (c, m) = (
                    c as *mut libc::pthread_cond_t,
                    m as *mut libc::pthread_mutex_t,
                );
                libc::pthread_mutex_lock(m);
                us_rt_cond_enter(c);
                libc::pthread_cond_wait(c, m);
                us_rt_cond_leave();
                libc::pthread_mutex_unlock(m);
            }
            WOKEN.fetch_add(1, Ordering::SeqCst);
        });
        // The waiter may register after a ring: re_ring repeats it, as coord does.
        while WOKEN.load(Ordering::SeqCst) == 0 {
            ring();
            std::thread::sleep(std::time::Duration::from_millis(1));
            re_ring();
            silence();
        }
        t.join().unwrap();
        drop(pair);
    }

    #[test]
    fn ring_pokes_threads_inside_calls_only() {
        let _serial = lock(&SERIAL);
        static HANDLED: AtomicU32 = AtomicU32::new(0);
        extern "C" fn on_poke(_: c_int) {
            HANDLED.fetch_add(1, Ordering::SeqCst);
            // What wrap.c's handler does: delivered, back to CALL.
            // SAFETY: the calling thread's own state word.
            let st = unsafe { &*(us_w_state_word() as *const AtomicU32) };
            let _ = st.compare_exchange(ST_POKED, ST_CALL, Ordering::SeqCst, Ordering::SeqCst);
        }
        // SAFETY: installs, without SA_RESTART, a handler that only touches atomics.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_poke as extern "C" fn(c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(poke_signal(), &sa, std::ptr::null_mut());
        }
        // Two threads blocked in read, each on its own pipe; only one says it is in a call.
        let reader = |in_call: bool| {
            let mut p = [0 as c_int; 2];
            // SAFETY: a valid out-array of two descriptors.
            assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
            let r = p[0];
            let t = std::thread::spawn(move || {
                us_rt_slot_init();
                // SAFETY: the calling thread's own state word.
                let st = unsafe { &*(us_w_state_word() as *const AtomicU32) };
                if in_call {
                    st.store(ST_CALL, Ordering::SeqCst);
                }
                let mut b = 0u8;
                // SAFETY: reads one byte into a live u8.
                let n = unsafe { libc::read(r, &mut b as *mut u8 as *mut c_void, 1) };
                let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
                // Leaving: a poke in flight is delivered first.
                while in_call
                    && st
                        .compare_exchange(ST_CALL, 0, Ordering::SeqCst, Ordering::SeqCst)
                        .is_err()
                {
                    std::thread::yield_now();
                }
                (n, e)
            });
            (t, p)
        };
        let (poked, p1) = reader(true);
        let (idle, p2) = reader(false);
        // The reader may mark itself after a ring: re_ring repeats it, as coord does.
        while !poked.is_finished() {
            ring();
            std::thread::sleep(std::time::Duration::from_millis(1));
            re_ring();
            silence();
        }
        assert_eq!(poked.join().unwrap(), (-1, libc::EINTR));
        assert!(HANDLED.load(Ordering::SeqCst) >= 1);
        assert!(
            !idle.is_finished(),
            "a thread outside any call was interrupted"
        );
        // SAFETY: writes one byte from a live buffer to our pipe.
        assert_eq!(
            unsafe { libc::write(p2[1], b"x".as_ptr() as *const c_void, 1) },
            1
        );
        assert_eq!(idle.join().unwrap(), (1, 0));
        for fd in p1.into_iter().chain(p2) {
            // SAFETY: our descriptors.
            unsafe { libc::close(fd) };
        }
    }
}
