//! Compiles a checked update spec into native transformer functions with cranelift, and runs
//! them with fault containment.
//!
//! ```text
//! checked::Spec (upstare-dsl) + old/new metadata + Env (addresses)
//!     --compile--> Compiled { one native fn per rule }     (before any thread stops)
//!     --Rule::run(old, new, &mut Services)--> Ok | RuleError   (during the pause)
//! ```
//!
//! Every rule is one function `extern "C" fn(old: *const u8, new: *mut u8, ctx: *mut Ctx) ->
//! i32`: 0 on success, else the code of the failure site (a table entry with the rule, the
//! source span and the message). [`Rule::run`] calls it through a small C shim (`c/guard.c`)
//! that turns SIGSEGV, SIGBUS, SIGFPE and SIGILL inside the code (or a callback it made) into
//! an error; [`guard_scope`] installs the handlers once around a batch of runs, and
//! [`Rule::run_many`] runs one rule over an array of objects under one guard. A fault is
//! located by the faulting instruction's source location (every expression's instructions
//! carry its span), or by the call out of JIT code in progress. The crate knows nothing of
//! processes or C parsing: addresses come from an [`Env`] (asked at compile time: globals and
//! named functions are constants in the code), heap services from [`Services`] (called at run
//! time), both implemented by the runtime.
//!
//! # Semantics
//!
//! C's, on x86-64, for the checked representation's explicit conversions: integers wrap
//! (signed overflow included, as `gcc -fwrapv`), conversions truncate or extend by the source's
//! signedness, `>>` of a signed value is arithmetic, float to integer truncates toward zero
//! (saturating where C leaves it undefined), `_Bool` is 0 or 1. What C leaves undefined and the
//! language checks fails the rule: division or remainder by zero, the most negative value
//! divided by -1, shift counts outside `0..width`, an index outside a known array length, a
//! null pointer dereference, and builtins given null pointers. `for` loops are bounded: a run
//! may start at most [`Services::loop_budget`] iterations. Memory layouts come only from the
//! metadata (offsets, sizes, strides); 128-bit integers are supported (division and float
//! conversions through helpers).
//!
//! What the JIT refuses, with "not supported by the JIT yet: ...": bit-fields (metadata format
//! 1 has no bit offsets), `long double` values (no x87 arithmetic), and converting a union or a
//! struct with bit-fields that changed between the versions (which member a union holds is not
//! in the metadata). Frame rules without a body get no code (the runtime's by-name default is
//! all they do).
//!
//! Debugging knobs (environment): `UPSTARE_JIT_DISASM=1` prints each function's IR and machine
//! code, `UPSTARE_JIT_TIMES=1` the lowering and code generation times, `UPSTARE_JIT_THREADS=N`
//! caps the code generation threads.

mod compile;
mod compiled;
mod guard;
mod lower;
mod plan;
mod scalar;
mod services;

pub use compile::{compile, compile_with_source};
pub use compiled::{Compiled, JitError, Problem, Rule, RuleError, TypeRuleKey};
pub use guard::{guard_scope, handler_installed};
pub use services::{system_now_ms, Ctx, MigrateKind, Migration, Services, DEFAULT_LOOP_BUDGET};
pub use upstare_dsl::checked::Span;
pub use upstare_meta::{FuncId, GlobalId, PointId, TypeId};

/// Where things live in the running process (the runtime implements it from its version
/// tables). Asked at compile time: the generated code holds the addresses as constants.
pub trait Env {
    /// The address of an old-version global or static local.
    fn old_global(&self, g: GlobalId) -> Option<usize>;
    /// The address of a new-version global or static local.
    fn new_global(&self, g: GlobalId) -> Option<usize>;
    /// The entry address of an old-version function.
    fn old_function(&self, f: FuncId) -> Option<usize>;
    /// The entry address of a new-version function.
    fn new_function(&self, f: FuncId) -> Option<usize>;
}

/// An environment that knows no addresses (for specs that name no globals or functions).
pub struct NoEnv;

impl Env for NoEnv {
    fn old_global(&self, _: GlobalId) -> Option<usize> {
        None
    }
    fn new_global(&self, _: GlobalId) -> Option<usize> {
        None
    }
    fn old_function(&self, _: FuncId) -> Option<usize> {
        None
    }
    fn new_function(&self, _: FuncId) -> Option<usize> {
        None
    }
}

#[cfg(test)]
mod tests {
    /// The runtime compiles on its control thread and runs rules during the pause.
    #[test]
    fn compiled_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::Compiled>();
        check::<crate::Rule>();
        check::<crate::RuleError>();
        check::<crate::JitError>();
    }

    #[test]
    fn lines_of_offsets() {
        let s = crate::compiled::SourceInfo::new("a.upd", "one\ntwo\n\nfour");
        assert_eq!([0, 3, 4, 8, 9, 13].map(|o| s.line(o)), [1, 1, 2, 3, 4, 4]);
    }
}
