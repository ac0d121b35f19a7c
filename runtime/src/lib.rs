//! The upstare runtime, linked into every program built by upstare-cc.
//!
//! It defines everything `include/upstare_rt.h` declares: the ABI variables (in `c/abi.c`), the
//! update point slow path, frame records and side-stack boxes (`abi`), and the thread roots: `main`
//! (in `c/root.c`, around the user's renamed `__us_main`) and the `pthread_create` wrapper (in
//! `c/abi.c`). A self-update round (unwind every thread to its root, rebuild every stack in the
//! same code) is driven by the state machine in `coord`; `UPSTARE_SELFTEST_EVERY=N` requests one
//! at every N-th update point.
//!
//! Deliberately not here (yet): loading a new version, transforming state, the control socket and
//! blocking-call wrappers beyond `pthread_join`.

mod abi;
mod blocking;
mod control;
mod coord;
mod heap;
mod plan;
mod records;
mod side;
mod thread;
mod update;
mod version;
mod walk;

pub use coord::{phase, stats, Phase, Stats};

/// Requests a self-update round; returns whether this call started one (false when a round is
/// already in progress). Threads unwind at their next allowed update point.
pub fn request_update() -> bool {
    coord::request_update()
}
