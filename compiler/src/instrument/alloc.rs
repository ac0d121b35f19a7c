//! Allocation functions, renamed to the runtime's tracking wrappers (runtime/src/heap/track.rs).
//!
//! Heap migration needs to know where each heap block starts and how many bytes it holds, so
//! that a pointer found by the update's traversal leads to a whole object (or array of
//! objects). Every reference in user code to one of [`TRACKED`] (when the unit does not define a
//! function of that name and a system header declares it) becomes a reference to
//! `__us_a_NAME`, whose prototype is the original's: calls, and also the function used as a
//! value (`list_free(l, free)`), so that memory freed through a pointer stays accounted for.
//! Headers' inline functions and libraries allocate untracked memory, which the traversal does
//! not follow.
//!
//! This module knows names only; the printers (func/exprs.rs, blocking.rs `verbatim_routes`)
//! apply the rename and blocking.rs `declarations` declares the wrappers.

/// The allocation functions whose blocks the runtime tracks (and the ones that free them).
pub const TRACKED: &[&str] = &[
    "malloc",
    "calloc",
    "realloc",
    "reallocarray",
    "free",
    "strdup",
    "strndup",
    "aligned_alloc",
    "posix_memalign",
    "memalign",
];

/// The prefix of the tracking wrappers.
pub const PREFIX: &str = "__us_a_";

/// The wrapper a reference to `name` goes to, by name alone (the unit must also declare it in a
/// system header and not define it: `UnitFacts::alloc_rename`).
pub fn wrapper_of(name: &str) -> Option<String> {
    TRACKED.contains(&name).then(|| format!("{PREFIX}{name}"))
}

/// Attributes that the wrapper's declaration adds to the original's type, so that gcc keeps
/// optimising around it as around the libc function (`__typeof__` copies the type, not the
/// declaration's attributes).
pub fn attributes(name: &str) -> &'static str {
    match name {
        "malloc" => " __attribute__((__malloc__, __alloc_size__(1), __warn_unused_result__))",
        "calloc" => " __attribute__((__malloc__, __alloc_size__(1, 2), __warn_unused_result__))",
        "strdup" | "strndup" | "memalign" | "aligned_alloc" => " __attribute__((__malloc__))",
        "realloc" => " __attribute__((__alloc_size__(2), __warn_unused_result__))",
        _ => "",
    }
}
