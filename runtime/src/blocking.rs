//! Blocking calls made by instrumented code, and how a pending update wakes them.
//!
//! STUB: the API the rest of the runtime calls; the wrappers (`c/wrap.c`) and the mechanisms
//! behind these functions are being built (issue 3, "Quiescence that is immediate").

/// A strict round (a version update) has been requested: wake every thread blocked in a
/// wrapped call (doorbell, condition variables, pokes). Called once per round by `coord`.
pub fn ring() {}

/// Called by threads waiting for a strict round to complete, about every millisecond: repeats
/// the wake-ups that may have been missed (a waiter that registered after `ring`).
pub fn re_ring() {}

/// The round is over (committed or aborted): stop waking threads.
pub fn silence() {}

/// May the calling thread unwind now as far as locks are concerned? False while it holds a
/// mutex or rwlock it acquired through instrumented code.
pub fn may_unwind_holding_locks() -> bool {
    true
}

/// The calling registered thread is about to end (its start routine returned or it called
/// pthread_exit).
pub fn on_thread_exit() {}
