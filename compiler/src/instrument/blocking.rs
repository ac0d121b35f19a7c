//! Calls to blocking libc functions, routed to the runtime's wrappers (runtime/c/wrap.c).
//!
//! A thread blocked in `read` or `pthread_cond_wait` reaches no update point, so an update would
//! wait for it indefinitely. Instead, a direct call from user code to one of [`BLOCKING`] (when
//! the unit does not define a function of that name and a system header declares it) is:
//! - a call that may unwind (analysis.rs): its function is instrumented and the call gets the
//!   usual call point `call:NAME#N`, with the unwind check after it and its arguments spilled;
//! - printed as a call of `__us_w_NAME`, the runtime's wrapper with the same prototype, which
//!   waits so that a pending update wakes it and then returns with `__us_unwinding` set.
//!
//! The lock functions that never block ([`LOCK_COUNTING`]: unlock, trylock) go to their
//! wrappers too, everywhere in user code, so that the runtime can count the locks a thread holds
//! (no thread unwinds while holding one); they are not call points. Where a blocking lock call
//! cannot be a call point (inside a statement expression, in a variadic function left
//! uninstrumented), it goes to the counting-only form `__us_wn_NAME` ([`LOCK_TAKING`]); other
//! blocking calls there stay plain libc calls.
//!
//! The wrappers are declared by the instrumenter, right before the first function that uses
//! each, as `extern __typeof__(NAME) __us_w_NAME;`: the preprocessed unit already declares
//! `NAME` (a system header), so the wrapper gets exactly its prototype, and the call site is
//! otherwise unchanged. Uninstrumented code (libraries, headers' inline functions) calls libc
//! directly, which is why this is a compile-time routing and not the linker's `--wrap`.
//!
//! This module knows names and prints text; it decides nothing about which functions are
//! instrumented (analysis.rs) and prints no expression (func/exprs.rs).

use std::collections::HashSet;

use lang_c::ast::*;
use lang_c::span::{Node, Span};

use super::alloc;
use super::walk::walk_stmt_exprs;

/// Blocking functions: a call may unwind, and goes to `__us_w_NAME`.
pub const BLOCKING: &[&str] = &[
    "accept",
    "accept4",
    "connect",
    "read",
    "readv",
    "recv",
    "recvfrom",
    "recvmsg",
    "write",
    "writev",
    "send",
    "sendto",
    "sendmsg",
    "sendfile",
    "poll",
    "ppoll",
    "select",
    "pselect",
    "epoll_wait",
    "epoll_pwait",
    "nanosleep",
    "sleep",
    "usleep",
    "clock_nanosleep",
    "pause",
    "sigsuspend",
    "sigwait",
    "sigwaitinfo",
    "pthread_cond_wait",
    "pthread_cond_timedwait",
    "pthread_mutex_lock",
    "pthread_rwlock_rdlock",
    "pthread_rwlock_wrlock",
    "sem_wait",
    "sem_timedwait",
    "waitpid",
    "wait",
    "pthread_join",
    "fgets",
    "getc",
    "fgetc",
    "getchar",
    "getline",
    "getdelim",
    "fread",
    "scanf",
    "fscanf",
    "getc_unlocked",
    "fgetc_unlocked",
    "getchar_unlocked",
];

/// Lock functions that never block: routed to `__us_w_NAME` to keep the held-lock count, never
/// call points.
pub const LOCK_COUNTING: &[&str] = &[
    "pthread_mutex_unlock",
    "pthread_mutex_trylock",
    "pthread_rwlock_unlock",
    "pthread_rwlock_tryrdlock",
    "pthread_rwlock_trywrlock",
];

/// Blocking lock functions with a counting-only form `__us_wn_NAME` (never unwinds), for calls
/// that cannot be call points.
pub const LOCK_TAKING: &[&str] = &[
    "pthread_mutex_lock",
    "pthread_rwlock_rdlock",
    "pthread_rwlock_wrlock",
];

/// How a direct call of a routed name is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A blocking call: a call point, to `__us_w_NAME`.
    Blocking,
    /// Lock bookkeeping: to `__us_w_NAME`, not a call point.
    Counting,
}

/// The route of `name`, by name alone (the unit must also declare it and not define it).
pub fn route_of(name: &str) -> Option<Route> {
    if BLOCKING.contains(&name) {
        Some(Route::Blocking)
    } else if LOCK_COUNTING.contains(&name) {
        Some(Route::Counting)
    } else {
        None
    }
}

/// The function a routed call of `name` goes to: at a call point (`point`) or elsewhere. None:
/// the plain libc call (a blocking call that cannot be a call point and counts no lock).
pub fn wrapper(name: &str, route: Route, point: bool) -> Option<String> {
    match route {
        Route::Counting => Some(format!("__us_w_{name}")),
        Route::Blocking if point => Some(format!("__us_w_{name}")),
        Route::Blocking if LOCK_TAKING.contains(&name) => Some(format!("__us_wn_{name}")),
        Route::Blocking => None,
    }
}

/// Declarations of the wrappers that `text` calls and that are not in `declared` yet (which
/// they are added to), on one line, so that inserting them moves no line.
/// The allocation wrappers (`__us_a_NAME`, alloc.rs) are declared the same way, with the
/// attributes gcc knows the originals by.
pub fn declarations(text: &str, declared: &mut HashSet<String>) -> String {
    let mut out = String::new();
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = 0;
    while let Some(i) = text[from..].find("__us_") {
        let at = from + i;
        let mut end = at;
        while end < bytes.len() && ident(bytes[end]) {
            end += 1;
        }
        from = end.max(at + 1);
        if at > 0 && ident(bytes[at - 1]) {
            continue;
        }
        let w = &text[at..end];
        if let Some(name) = w.strip_prefix(alloc::PREFIX) {
            if alloc::wrapper_of(name).is_some() && declared.insert(w.to_string()) {
                let attrs = alloc::attributes(name);
                out.push_str(&format!("extern __typeof__({name}) {w}{attrs}; "));
            }
            continue;
        }
        let name = w
            .strip_prefix("__us_wn_")
            .or_else(|| w.strip_prefix("__us_w_"));
        let Some(name) = name else { continue };
        if route_of(name).is_none() || !declared.insert(w.to_string()) {
            continue;
        }
        out.push_str(&format!("extern __typeof__({name}) {w}; "));
    }
    out
}

/// In a function printed as written (not instrumented, or variadic): the identifiers to
/// replace, as (span, wrapper). Only lock calls are routed there (counting; a blocking call
/// there cannot be a call point), and every reference to an allocation function goes to its
/// tracking wrapper (`renamed`, alloc.rs). A name declared anywhere in the function is left
/// alone.
pub fn verbatim_routes(
    def: &Node<FunctionDefinition>,
    routable: &dyn Fn(&str) -> Option<Route>,
    renamed: &dyn Fn(&str) -> Option<String>,
) -> Vec<(Span, String)> {
    let mut shadowed = HashSet::new();
    let mut calls: Vec<(Span, String)> = Vec::new();
    let mut idents: Vec<(Span, String)> = Vec::new();
    collect_decls(&def.node.statement, &mut shadowed);
    for p in super::analysis::params_of(&def.node.declarator.node) {
        shadowed.insert(p);
    }
    walk_stmt_exprs(&def.node.statement, &mut |x| match &x.node {
        Expression::Call(c) => {
            if let Expression::Identifier(id) = &c.node.callee.node {
                calls.push((id.span, id.node.name.clone()));
            }
        }
        Expression::Identifier(id) => idents.push((x.span, id.node.name.clone())),
        _ => {}
    });
    let mut out: Vec<(Span, String)> = calls
        .into_iter()
        .filter(|(_, n)| !shadowed.contains(n))
        .filter_map(|(span, n)| {
            let route = routable(&n)?;
            wrapper(&n, route, false).map(|w| (span, w))
        })
        .collect();
    out.extend(
        idents
            .into_iter()
            .filter(|(_, n)| !shadowed.contains(n))
            .filter_map(|(span, n)| renamed(&n).map(|w| (span, w))),
    );
    out
}

/// Names declared in a function body (any scope).
fn collect_decls(s: &Node<Statement>, out: &mut HashSet<String>) {
    use lang_c::visit::Visit;
    struct V<'a>(&'a mut HashSet<String>);
    impl<'ast> Visit<'ast> for V<'_> {
        fn visit_init_declarator(&mut self, d: &'ast InitDeclarator, span: &'ast Span) {
            if let Some(n) = super::analysis::declarator_name(&d.declarator.node) {
                self.0.insert(n.to_string());
            }
            lang_c::visit::visit_init_declarator(self, d, span);
        }
    }
    V(out).visit_statement(&s.node, &s.span);
}

/// `text[range]` with the replacements (spans inside the range, in any order) applied.
pub fn splice(text: &str, start: usize, end: usize, subs: &[(Span, String)]) -> String {
    let mut subs: Vec<&(Span, String)> = subs
        .iter()
        .filter(|(s, _)| s.start >= start && s.end <= end)
        .collect();
    subs.sort_by_key(|(s, _)| s.start);
    let mut out = String::with_capacity(end - start);
    let mut pos = start;
    for (s, w) in subs {
        out.push_str(&text[pos..s.start]);
        out.push_str(w);
        pos = s.end;
    }
    out.push_str(&text[pos..end]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_disjoint_and_taking_is_blocking() {
        for n in LOCK_COUNTING {
            assert!(!BLOCKING.contains(n), "{n}");
        }
        for n in LOCK_TAKING {
            assert!(BLOCKING.contains(n), "{n}");
        }
    }

    #[test]
    fn wrappers_by_route() {
        assert_eq!(
            wrapper("read", Route::Blocking, true).as_deref(),
            Some("__us_w_read")
        );
        assert_eq!(wrapper("read", Route::Blocking, false), None);
        assert_eq!(
            wrapper("pthread_mutex_lock", Route::Blocking, false).as_deref(),
            Some("__us_wn_pthread_mutex_lock")
        );
        assert_eq!(
            wrapper("pthread_mutex_unlock", Route::Counting, false).as_deref(),
            Some("__us_w_pthread_mutex_unlock")
        );
    }

    #[test]
    fn declarations_once_per_wrapper() {
        let mut seen = HashSet::new();
        let d = declarations(
            "t = __us_w_read(fd, b, n); __us_wn_pthread_mutex_lock(&m); x__us_w_read(); __us_w_read(0);",
            &mut seen,
        );
        assert_eq!(
            d,
            "extern __typeof__(read) __us_w_read; \
             extern __typeof__(pthread_mutex_lock) __us_wn_pthread_mutex_lock; "
        );
        assert_eq!(declarations("__us_w_read(1)", &mut seen), "");
        assert_eq!(declarations("__us_w_unknown(1)", &mut seen), "");
    }

    #[test]
    fn splices_in_order() {
        let t = "abcdefgh";
        let subs = vec![
            (Span::span(5, 6), "F".to_string()),
            (Span::span(1, 3), "BC".to_string()),
        ];
        assert_eq!(splice(t, 0, 8, &subs), "aBCdeFgh");
        assert_eq!(splice(t, 4, 8, &subs), "eFgh");
    }
}
