/* upstare_rt.h: the ABI between code instrumented by upstare-cc and the upstare runtime.
 *
 * upstare-cc pastes these declarations at the top of every instrumented translation unit; the
 * runtime (runtime/, a Rust staticlib plus runtime/c/abi.c) defines them. Nothing else crosses
 * the boundary, so this file is the whole contract. It deliberately says nothing about how the
 * runtime coordinates threads or versions.
 *
 * Protocol, per thread (see ARCHITECTURE.md "Stack reconstruction"):
 *  - Every instrumented function has a descriptor `__us_fd` (a block-scope static) whose address
 *    identifies it. Its points are numbered 0..npoints-1; point 0 is the entry point when the
 *    function has one.
 *  - Fast path of an update point: one load of `__us_pending` and a predicted-not-taken branch.
 *  - Slow path: `__us_point(fd, k)` returns 1 when this thread must unwind now. The function then
 *    pushes a record with `__us_save`, copies its locals into it and returns a dummy value; its
 *    caller sees `__us_unwinding` after the call, pushes its own record and returns, and so on up
 *    to the thread's root (the runtime's `main` or thread trampoline). Records are pushed
 *    innermost first.
 *  - Rebuild: the root calls the function again with `__us_rebuilding` set. Each instrumented
 *    function's entry sees `__us_pending` (kept nonzero while any thread rebuilds), asks
 *    `__us_resume(fd)` for its resume point, jumps to the restore label of that point, takes the
 *    record with `__us_record()` and copies the locals back. A call point re-executes the call (the
 *    callee rebuilds its own frame); a loop or entry point is the innermost frame, and taking its
 *    record ends the thread's rebuild (`__us_rebuilding` becomes 0).
 *  - Locals whose address is taken live in boxes on a per-thread side stack (`__us_box`), which
 *    unwinding does not pop; the frame record holds the box pointer, so addresses survive.
 */
#ifndef UPSTARE_RT_H
#define UPSTARE_RT_H

/* Identifies one instrumented function. `file` is the source file as written on the command
 * line, `name` the function's name; `npoints` its number of update points. */
struct __us_fn {
    const char *file;
    const char *name;
    unsigned npoints;
};

/* One entry of the `upstare_addr` section (meta/FORMAT.md): where a global, static local,
 * function or function descriptor of this module lives, so that the runtime can move state
 * between versions. `kind`: 1 global or static local, 2 function, 3 descriptor. */
struct __us_addr {
    unsigned long kind;
    const void *addr;
    const char *key;
    const char *file;
};

/* Every instrumented unit also defines, weak, `const void *__us_module_tables(int which)`:
 * which = 0 gives the start and 1 the end of the module's `upstare_meta` section, 2 and 3 those
 * of its `upstare_addr` section, 4 and 5 those of its `upstare_pinned` text (null when absent).
 * An update module's version script exports it, so that the
 * runtime that `dlopen`s the module finds its tables. */

/* Nonzero while an update (or self-test update) is requested or any thread is rebuilding. Read
 * at every update point; volatile so that gcc cannot hoist the load out of a loop. */
extern volatile int __us_pending;

/* Per-thread state. initial-exec: one %fs-relative load, also from an update module that is
 * loaded with dlopen, because the variables live in the executable. */
extern __thread int __us_unwinding __attribute__((tls_model("initial-exec")));
extern __thread int __us_rebuilding __attribute__((tls_model("initial-exec")));
extern __thread char *__us_side_top __attribute__((tls_model("initial-exec")));

/* Slow path of update point `point` of `fn`: returns 1 when the thread must unwind now (and sets
 * `__us_unwinding`), 0 to continue. Decides nothing about frames the runtime must not unwind:
 * it checks the chain of callers itself. */
int __us_point(const struct __us_fn *fn, unsigned point);

/* Pushes a frame record for (`fn`, `point`) of `size` bytes aligned to `align`; returns its body.
 * Called only while unwinding, innermost frame first. */
void *__us_save(const struct __us_fn *fn, unsigned point, unsigned long size, unsigned long align);

/* Rebuild: the resume point of the next (outermost remaining) record, which must belong to `fn`
 * (the runtime aborts the process with a message naming both functions otherwise: that is a bug). */
unsigned __us_resume(const struct __us_fn *fn);

/* Rebuild: the body of the record `__us_resume` announced; consumes it. When it was the thread's
 * last record, `__us_rebuilding` becomes 0 before this returns. */
void *__us_record(void);

/* Allocates `size` bytes aligned to `align` on the thread's side stack (zeroed). Freed by
 * resetting `__us_side_top` to a mark taken earlier (function return, longjmp landing). */
void *__us_box(unsigned long size, unsigned long align);

#endif
