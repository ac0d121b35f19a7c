//! The update round: an explicit state machine shared by all threads.
//!
//! ```text
//!            request_update          first arrival           all arrived / deadline
//!   Idle ───────────────────▶ Requested ──────────▶ Parking ───────────────────────▶ Rebuilding
//!    ▲                            │ deadline, nobody arrived                              │
//!    └────────────────────────────┴───────────────────────────────────────────────────────┘
//!                                              last rebuilding thread done
//! ```
//!
//! * **Idle**: nothing requested; `__us_pending` is 0 (except in self-test mode, where it stays 1
//!   so that every point enters the slow path and can be counted).
//! * **Requested**: `__us_pending` is 1; every registered thread, at its next update point where
//!   the stack walk allows it, *arrives*: `__us_point` returns 1 and the thread unwinds to its
//!   root, then *parks* here.
//! * **Parking**: at least one thread has arrived. When every registered thread that is not
//!   blocked (in a wrapped blocking call) is parked, the round is complete; when the deadline
//!   (`UPSTARE_SELFTEST_DEADLINE_MS`, default 100 ms, counted from the request) passes first, the
//!   round is aborted. Either way the parked threads are released. Threads that never arrived
//!   keep running: for a self-update of the same version their frames are consistent.
//! * **Rebuilding**: released threads rebuild their stacks. `__us_pending` stays 1 because the
//!   instrumented entries test it before `__us_rebuilding`. No new arrivals are accepted. When the
//!   last of them has taken its last record, the round ends (Idle) and `__us_pending` is cleared.
//!
//! The next issue (a real version switch) inserts the transform between the end of parking and
//! the release, and turns a deadline into an abort that rebuilds in the old version; the places
//! are `release_locked` and `expire_locked`.
//!
//! All transitions happen under one mutex; the phase is mirrored in an atomic so that
//! `__us_point` can filter without locking. Counters (`arriving`, `parked`, `rebuilding`) keep the
//! invariant that the round cannot end while a thread that was told to unwind has not rebuilt:
//! while `arriving > 0` the phase is Parking or Rebuilding.
//!
//! Deliberately not here: thread contexts, records and the stack walk (thread.rs, walk.rs),
//! and anything about versions or metadata.

use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The phases of a round; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    Idle = 0,
    Requested = 1,
    Parking = 2,
    Rebuilding = 3,
    /// A strict round whose threads have all parked: the controller transforms state, then
    /// releases them.
    Parked = 4,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            1 => Phase::Requested,
            2 => Phase::Parking,
            3 => Phase::Rebuilding,
            4 => Phase::Parked,
            _ => Phase::Idle,
        }
    }
}

struct Round {
    /// Registered threads (with a root), including parked and blocked ones.
    registered: usize,
    /// Registered threads inside a wrapped blocking call.
    blocked: usize,
    /// Threads told to unwind that have not parked yet.
    arriving: usize,
    /// Threads waiting for the release.
    parked: usize,
    /// Released threads that have not taken their last record yet.
    rebuilding: usize,
    /// Incremented at every release; a parked thread waits for it to change.
    release_gen: u64,
    /// Monotonic deadline of the current round, in nanoseconds.
    deadline_ns: u64,
    /// When the first thread of the current round arrived (0: none yet): the pause starts then.
    first_arrival_ns: u64,
    /// A strict round (a version update): every registered thread must park, blocked ones
    /// included; the controller, not the threads, decides on the deadline and the release.
    strict: bool,
    /// When the current round was requested / when its last thread parked (0: not yet).
    requested_ns: u64,
    all_parked_ns: u64,
    /// Incremented whenever a round ends; the controller waits for it.
    finished_gen: u64,
    /// The last finished strict round's times: first arrival, all parked, end.
    last_strict: Option<StrictTimes>,
    /// Quiescence time of every strict round that completed (request to last thread parked).
    quiesces: Vec<u64>,
    /// Pause of every finished round in which some thread unwound (first arrival to the last
    /// rebuilt thread), in nanoseconds; capped so that a long self-test cannot grow it forever.
    pauses: Vec<u64>,
}

/// Most pauses kept for the report.
const MAX_PAUSES: usize = 1 << 20;

static ROUND: Mutex<Round> = Mutex::new(Round {
    registered: 0,
    blocked: 0,
    arriving: 0,
    parked: 0,
    rebuilding: 0,
    release_gen: 0,
    deadline_ns: 0,
    first_arrival_ns: 0,
    strict: false,
    requested_ns: 0,
    all_parked_ns: 0,
    finished_gen: 0,
    last_strict: None,
    quiesces: Vec::new(),
    pauses: Vec::new(),
});
static RELEASED: Condvar = Condvar::new();
/// Wakes the controller of a strict round: all threads parked, or the round ended.
static CONTROL: Condvar = Condvar::new();

/// Timestamps of one strict round, in monotonic nanoseconds (0: did not happen).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StrictTimes {
    pub requested: u64,
    pub first_arrival: u64,
    pub all_parked: u64,
    pub released: u64,
    pub finished: u64,
}
static PHASE: AtomicU8 = AtomicU8::new(Phase::Idle as u8);

static POINTS: AtomicU64 = AtomicU64::new(0);
static COMPLETED: AtomicU64 = AtomicU64::new(0);
static ABORTED: AtomicU64 = AtomicU64::new(0);
static THREAD_REBUILDS: AtomicU64 = AtomicU64::new(0);
static MAX_PARKED: AtomicU64 = AtomicU64::new(0);
/// Mirror of the current round's deadline, so that threads that cannot unwind can check it
/// without the lock.
static DEADLINE_NS: AtomicU64 = AtomicU64::new(0);

/// Low 32 bits of `Round::release_gen`, a futex word that parked threads of strict rounds
/// wait on.
static RELEASE_GEN: AtomicU32 = AtomicU32::new(0);

/// Sleeps while `word` holds `expected` (or until a spurious wake-up).
fn futex_wait(word: &AtomicU32, expected: u32) {
    // SAFETY: FUTEX_WAIT on a live, aligned u32 with no timeout; the kernel only reads it.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

/// Wakes every thread waiting on `word`.
fn futex_wake_all(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE on a live, aligned u32.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::MAX,
        );
    }
}

/// Mirror of `Round::strict` for lock-free checks.
static STRICT: AtomicBool = AtomicBool::new(false);

static SELFTEST_EVERY: AtomicU64 = AtomicU64::new(0);
static DEADLINE_MS: AtomicU64 = AtomicU64::new(100);
static VERBOSE: AtomicBool = AtomicBool::new(false);

extern "C" {
    static mut __us_pending: c_int;
}

fn pending() -> &'static AtomicI32 {
    // SAFETY: `__us_pending` is a properly aligned `int` defined in abi.c that lives for the whole
    // process; every Rust access goes through this atomic view, and C code only reads it.
    unsafe { AtomicI32::from_ptr(std::ptr::addr_of_mut!(__us_pending)) }
}

fn set_pending(on: bool) {
    pending().store(on as i32, Ordering::SeqCst);
}

pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-parameter; CLOCK_MONOTONIC is always available on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn lock() -> MutexGuard<'static, Round> {
    // A poisoned lock can only come from a panic inside this module, which is caught at the ABI
    // boundary and aborts the process; the counters themselves are never left half-updated.
    ROUND.lock().unwrap_or_else(|e| e.into_inner())
}

fn set_phase(p: Phase) {
    PHASE.store(p as u8, Ordering::SeqCst);
}

/// The current phase (a snapshot).
pub fn phase() -> Phase {
    Phase::from_u8(PHASE.load(Ordering::Acquire))
}

/// Reads `UPSTARE_SELFTEST_EVERY`, `UPSTARE_SELFTEST_DEADLINE_MS` and `UPSTARE_VERBOSE`.
pub fn configure_from_env() {
    let num = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(n) = num("UPSTARE_SELFTEST_EVERY") {
        SELFTEST_EVERY.store(n, Ordering::SeqCst);
        if n > 0 {
            set_pending(true);
        }
    }
    if let Some(ms) = num("UPSTARE_SELFTEST_DEADLINE_MS") {
        DEADLINE_MS.store(ms, Ordering::SeqCst);
    }
    VERBOSE.store(
        std::env::var("UPSTARE_VERBOSE")
            .map(|v| v != "0" && !v.is_empty())
            .unwrap_or(false),
        Ordering::SeqCst,
    );
}

/// The deadline of updates the program requests itself, in milliseconds.
pub fn default_deadline_ms() -> u64 {
    DEADLINE_MS.load(Ordering::Relaxed)
}

/// Whether a round accepting arrivals is in progress (cheap: one atomic load).
pub fn update_pending() -> bool {
    matches!(phase(), Phase::Requested | Phase::Parking)
}

/// Whether `UPSTARE_VERBOSE` asked for reports on stderr.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

fn selftest() -> bool {
    SELFTEST_EVERY.load(Ordering::Relaxed) != 0
}

/// Starts a round if none is in progress. Returns whether this call started one.
pub fn request_update() -> bool {
    if phase() != Phase::Idle {
        return false;
    }
    let mut r = lock();
    if phase() != Phase::Idle {
        return false;
    }
    r.deadline_ns = now_ns() + DEADLINE_MS.load(Ordering::Relaxed) * 1_000_000;
    DEADLINE_NS.store(r.deadline_ns, Ordering::Relaxed);
    set_pending(true);
    set_phase(Phase::Requested);
    true
}

/// Counts an update point reached (slow path) and, in self-test mode, requests a round at every
/// N-th. Returns whether the current round accepts arrivals, i.e. whether the caller should
/// consider unwinding.
pub fn on_point() -> bool {
    let n = POINTS.fetch_add(1, Ordering::Relaxed) + 1;
    let every = SELFTEST_EVERY.load(Ordering::Relaxed);
    if every != 0 && n.is_multiple_of(every) {
        request_update();
    }
    matches!(phase(), Phase::Requested | Phase::Parking)
}

/// The calling thread's walk allowed it to unwind: join the round if it still accepts arrivals.
/// On true, the caller must unwind to its root and call `park`.
pub fn try_arrive() -> bool {
    let mut r = lock();
    if !matches!(phase(), Phase::Requested | Phase::Parking) {
        return false;
    }
    if !r.strict && now_ns() >= r.deadline_ns {
        expire_locked(&mut r);
        return false;
    }
    if r.first_arrival_ns == 0 {
        r.first_arrival_ns = now_ns();
    }
    r.arriving += 1;
    set_phase(Phase::Parking);
    true
}

/// A thread that could not unwind now (its walk said no) checks whether the round has expired.
pub fn check_deadline() {
    if !matches!(phase(), Phase::Requested | Phase::Parking)
        || STRICT.load(Ordering::Relaxed)
        || now_ns() < DEADLINE_NS.load(Ordering::Relaxed)
    {
        return;
    }
    let mut r = lock();
    if matches!(phase(), Phase::Requested | Phase::Parking) && now_ns() >= r.deadline_ns {
        expire_locked(&mut r);
    }
}

/// Called at the root by a thread that arrived and has fully unwound. Blocks until the round
/// releases it; on return the thread must rebuild and later call `rebuild_done`.
pub fn park() {
    let mut r = lock();
    r.arriving -= 1;
    THREAD_REBUILDS.fetch_add(1, Ordering::Relaxed);
    if phase() == Phase::Rebuilding {
        // The round was released (deadline) while this thread was unwinding.
        r.rebuilding += 1;
        return;
    }
    r.parked += 1;
    let gen = r.release_gen;
    check_complete_locked(&mut r);
    if r.strict {
        // The controller decides when this ends (release or abort), deadline included. Wait
        // on the release generation without the round's lock, so that a release wakes every
        // parked thread at once instead of handing the lock from one to the next.
        drop(r);
        let gen = gen as u32;
        while RELEASE_GEN.load(Ordering::Acquire) == gen {
            futex_wait(&RELEASE_GEN, gen);
        }
        return;
    }
    while r.release_gen == gen {
        let now = now_ns();
        if now >= r.deadline_ns {
            expire_locked(&mut r);
            break;
        }
        let wait = Duration::from_nanos(r.deadline_ns - now);
        r = RELEASED
            .wait_timeout(r, wait)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// A released thread took its last record.
pub fn rebuild_done() {
    let mut r = lock();
    r.rebuilding -= 1;
    if r.rebuilding == 0 && r.arriving == 0 && phase() == Phase::Rebuilding {
        finish_locked(&mut r);
    }
}

/// A thread with a root starts taking part in rounds.
pub fn register() {
    lock().registered += 1;
}

/// A registered thread ends (return or pthread_exit); the round may now be complete.
pub fn unregister() {
    let mut r = lock();
    r.registered -= 1;
    check_complete_locked(&mut r);
}

/// A registered thread enters a blocking call that cannot reach an update point.
pub fn blocking_enter() {
    let mut r = lock();
    r.blocked += 1;
    check_complete_locked(&mut r);
}

/// The thread returned from its blocking call and counts again.
pub fn blocking_leave() {
    lock().blocked -= 1;
}

fn check_complete_locked(r: &mut Round) {
    if r.strict {
        if matches!(phase(), Phase::Requested | Phase::Parking)
            && r.arriving == 0
            && r.parked >= r.registered
        {
            r.all_parked_ns = now_ns();
            set_phase(Phase::Parked);
            CONTROL.notify_all();
        }
        return;
    }
    if matches!(phase(), Phase::Requested | Phase::Parking)
        && r.parked > 0
        && r.arriving == 0
        && r.parked >= r.registered.saturating_sub(r.blocked)
    {
        COMPLETED.fetch_add(1, Ordering::Relaxed);
        release_locked(r);
    }
}

/// Releases every parked thread to rebuild. (The next issue transforms state before this.)
fn release_locked(r: &mut Round) {
    MAX_PARKED.fetch_max(r.parked as u64, Ordering::Relaxed);
    r.rebuilding += r.parked;
    r.parked = 0;
    r.release_gen += 1;
    set_phase(Phase::Rebuilding);
    RELEASE_GEN.store(r.release_gen as u32, Ordering::Release);
    futex_wake_all(&RELEASE_GEN);
    RELEASED.notify_all();
    if r.rebuilding == 0 && r.arriving == 0 {
        finish_locked(r);
    }
}

/// The deadline passed before every thread arrived: release whoever is parked (they rebuild the
/// state they left), or end the round if nobody arrived.
fn expire_locked(r: &mut Round) {
    ABORTED.fetch_add(1, Ordering::Relaxed);
    if r.parked + r.arriving > 0 {
        release_locked(r);
    } else {
        finish_locked(r);
    }
}

fn finish_locked(r: &mut Round) {
    let now = now_ns();
    if r.strict {
        if r.all_parked_ns != 0 && r.quiesces.len() < MAX_PAUSES {
            let q = r.all_parked_ns.saturating_sub(r.requested_ns);
            r.quiesces.push(q);
        }
        let t = r.last_strict.get_or_insert_with(StrictTimes::default);
        t.finished = now;
        r.strict = false;
        STRICT.store(false, Ordering::Relaxed);
        crate::blocking::silence();
    }
    r.finished_gen += 1;
    CONTROL.notify_all();
    if r.first_arrival_ns != 0 {
        let pause = now.saturating_sub(r.first_arrival_ns);
        if r.pauses.len() < MAX_PAUSES {
            r.pauses.push(pause);
        }
        r.first_arrival_ns = 0;
    }
    set_phase(Phase::Idle);
    if !selftest() {
        set_pending(false);
    }
}

/// Why a strict round could not bring every thread to its root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuiesceError {
    /// Another round is in progress.
    Busy,
    /// The deadline passed; the round was aborted and parked threads rebuild where they were.
    Deadline { parked: usize, registered: usize },
}

/// Starts a strict round (a version update): every registered thread must unwind and park.
/// Wakes blocked threads through `blocking::ring`. The caller is the controller: it then calls
/// `wait_all_parked`, and afterwards `release` (commit or abort alike: threads rebuild from the
/// records they find) and `wait_finished`.
pub fn begin_strict(deadline: Duration) -> Result<(), QuiesceError> {
    {
        let mut r = lock();
        if phase() != Phase::Idle {
            return Err(QuiesceError::Busy);
        }
        let now = now_ns();
        r.strict = true;
        STRICT.store(true, Ordering::Relaxed);
        r.requested_ns = now;
        r.all_parked_ns = 0;
        r.first_arrival_ns = 0;
        r.deadline_ns = now + deadline.as_nanos() as u64;
        DEADLINE_NS.store(r.deadline_ns, Ordering::Relaxed);
        r.last_strict = None;
        set_pending(true);
        set_phase(Phase::Requested);
        // No thread at all (cannot happen with a live main thread, but stay total).
        check_complete_locked(&mut r);
    }
    crate::blocking::ring();
    Ok(())
}

/// Waits until every registered thread has parked (Ok) or the deadline passes (the round is
/// then aborted: parked threads are released to rebuild in the code they left). While waiting,
/// repeats the wake-ups about every millisecond (`blocking::re_ring`).
/// `before_abort` runs at the deadline, before parked threads are released (to see who they
/// are).
pub fn wait_all_parked(before_abort: impl FnOnce()) -> Result<(), QuiesceError> {
    let mut before_abort = Some(before_abort);
    loop {
        {
            let mut r = lock();
            if phase() == Phase::Parked {
                return Ok(());
            }
            let now = now_ns();
            if now >= r.deadline_ns {
                if let Some(f) = before_abort.take() {
                    // `f` reads the thread registry, which has its own lock: run it without
                    // ours, then look again (if everyone parked meanwhile, the update goes on).
                    drop(r);
                    f();
                    continue;
                }
                let err = QuiesceError::Deadline {
                    parked: r.parked,
                    registered: r.registered,
                };
                ABORTED.fetch_add(1, Ordering::Relaxed);
                if r.parked + r.arriving > 0 {
                    release_locked(&mut r);
                } else {
                    finish_locked(&mut r);
                }
                return Err(err);
            }
            let wait = Duration::from_nanos((r.deadline_ns - now).min(1_000_000));
            let _ = CONTROL.wait_timeout(r, wait);
        }
        crate::blocking::re_ring();
    }
}

/// Releases the parked threads of a strict round: they rebuild from their (possibly
/// transformed) records. Returns the release time.
pub fn release() -> u64 {
    let mut r = lock();
    COMPLETED.fetch_add(1, Ordering::Relaxed);
    let now = now_ns();
    let t = StrictTimes {
        requested: r.requested_ns,
        first_arrival: r.first_arrival_ns,
        all_parked: r.all_parked_ns,
        released: now,
        finished: 0,
    };
    r.last_strict = Some(t);
    release_locked(&mut r);
    now
}

/// Waits until the current round has ended (every released thread rebuilt) and returns the
/// times of the last strict round.
pub fn wait_finished() -> StrictTimes {
    let mut r = lock();
    while phase() != Phase::Idle {
        r = CONTROL.wait(r).unwrap_or_else(|e| e.into_inner());
    }
    r.last_strict.unwrap_or_default()
}

/// In a forked child: `registered` threads exist (the forking one, if it has a root); no
/// round is in progress.
pub fn fork_reset(registered: usize) {
    // The lock may have been held by a parent thread that does not exist here: start afresh.
    let mut r = lock();
    r.registered = registered;
    r.blocked = 0;
    r.arriving = 0;
    r.parked = 0;
    r.rebuilding = 0;
    r.strict = false;
    r.first_arrival_ns = 0;
    STRICT.store(false, Ordering::Relaxed);
    set_phase(Phase::Idle);
    set_pending(selftest());
}

/// Counters since start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Rounds in which every registered, unblocked thread parked and rebuilt.
    pub completed: u64,
    /// Rounds ended by the deadline.
    pub aborted: u64,
    /// Update points that entered the slow path.
    pub points: u64,
    /// Individual thread unwind-and-rebuilds, over all rounds.
    pub thread_rebuilds: u64,
    /// Most threads released together in one round.
    pub max_parked: u64,
}

/// Quiescence times of completed strict rounds, in nanoseconds: (count, median).
pub fn quiesce_summary() -> (usize, u64) {
    let mut v = lock().quiesces.clone();
    v.sort_unstable();
    (v.len(), v.get(v.len() / 2).copied().unwrap_or(0))
}

/// Pauses of finished rounds, in nanoseconds: (count, median, 99th percentile, max).
pub fn pause_summary() -> (usize, u64, u64, u64) {
    let mut v = lock().pauses.clone();
    if v.is_empty() {
        return (0, 0, 0, 0);
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (v.len(), at(0.5), at(0.99), *v.last().unwrap_or(&0))
}

pub fn stats() -> Stats {
    Stats {
        completed: COMPLETED.load(Ordering::Relaxed),
        aborted: ABORTED.load(Ordering::Relaxed),
        points: POINTS.load(Ordering::Relaxed),
        thread_rebuilds: THREAD_REBUILDS.load(Ordering::Relaxed),
        max_parked: MAX_PARKED.load(Ordering::Relaxed),
    }
}

/// Prints the counters to stderr when `UPSTARE_VERBOSE` is set (registered with atexit).
pub extern "C" fn report_at_exit() {
    let _ = std::panic::catch_unwind(|| {
        if VERBOSE.load(Ordering::Relaxed) {
            let s = stats();
            let (n, median, p99, max) = pause_summary();
            let (_, quiesce) = quiesce_summary();
            let us = |ns: u64| ns as f64 / 1000.0;
            eprintln!(
                "upstare: self-updates={} aborted-rounds={} points={} thread-rebuilds={} \
                 max-threads-per-round={} pauses={} pause-median-us={:.1} pause-p99-us={:.1} pause-max-us={:.1} \
                 quiesce-median-us={:.1}",
                s.completed, s.aborted, s.points, s.thread_rebuilds, s.max_parked, n, us(median), us(p99), us(max),
                us(quiesce)
            );
        }
    });
}
