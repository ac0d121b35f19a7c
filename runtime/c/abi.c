/* abi.c: the C half of the upstare runtime.
 *
 * Job: define what stable Rust cannot export, namely the thread-local variables of the ABI
 * (`__us_unwinding`, `__us_rebuilding`, `__us_side_top`, initial-exec so that instrumented code
 * reaches them with one %fs-relative access) and the global `__us_pending`; the thread root of
 * every thread created through `pthread_create` (which the driver wraps with
 * `-Wl,--wrap=pthread_create`); the `pthread_join` wrapper that marks a thread as blocked; and the
 * tiny helpers that make a root frame recognisable to the stack walk.
 *
 * Deliberately not here: any policy. Registration, parking, record stacks, side stacks and the
 * update state machine live in Rust (src/); this file only calls into it. The root loops are in
 * C so that a forced unwind (pthread_exit, pthread_cancel) never crosses a Rust frame.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "upstare_rt.h"

volatile int __us_pending;
__thread int __us_unwinding __attribute__((tls_model("initial-exec")));
__thread int __us_rebuilding __attribute__((tls_model("initial-exec")));
__thread char *__us_side_top __attribute__((tls_model("initial-exec")));

/* Addresses of this thread's ABI variables, cached by the Rust side per thread. */
int *us_tls_unwinding(void) { return &__us_unwinding; }
int *us_tls_rebuilding(void) { return &__us_rebuilding; }
char **us_tls_side_top(void) { return &__us_side_top; }

/* Implemented in Rust (src/thread.rs). */
uintptr_t *us_rt_thread_begin(void *root_fn, void *start, void *arg);
void us_rt_thread_next(void **start, void **arg);
void us_rt_thread_created(pthread_t t);
void us_rt_thread_end(void);
void us_rt_root_unwound(void);
void us_rt_blocking_enter(void);
void us_rt_blocking_leave(void);

/* The root frame of a created thread. It records its frame address so that the stack walk can
 * recognise it (every instrumented frame of the thread lies below it), and it must not tail-call
 * `start`: the empty asm after the call keeps this frame on the stack. */
__attribute__((noinline)) void *us_root_call_start(void *(*start)(void *), void *arg,
                                                    uintptr_t *mark)
{
    *mark = (uintptr_t)__builtin_frame_address(0);
    void *r = start(arg);
    __asm__ volatile("" : "+r"(r) : : "memory");
    return r;
}

struct us_boot {
    void *(*start)(void *);
    void *arg;
};

/* Entry of every thread created through the wrapper: register, then call the start routine in
 * a loop. A return with `__us_unwinding` set means the whole stack is now frame records: park,
 * then call `start` again with `__us_rebuilding` set (the Rust side sets it) to rebuild. A
 * normal return ends the thread; pthread_exit is handled by a pthread key destructor. */
static void *us_thread_entry(void *p)
{
    struct us_boot boot = *(struct us_boot *)p;
    free(p);
    uintptr_t *mark = us_rt_thread_begin((void *)us_root_call_start, (void *)boot.start, boot.arg);
    for (;;) {
        void *r = us_root_call_start(boot.start, boot.arg, mark);
        if (!__us_unwinding) {
            us_rt_thread_end();
            return r;
        }
        us_rt_root_unwound();
        /* After an update the start routine is the new version's (and its argument may have
         * been relocated). */
        void *start = (void *)boot.start;
        us_rt_thread_next(&start, &boot.arg);
        boot.start = (void *(*)(void *))start;
    }
}

/* Set by the runtime around the creation of its own threads (the control thread), which must
 * not get a root: they never reach an update point. */
__thread int us_internal_spawn;
void us_set_internal_spawn(int on) { us_internal_spawn = on; }

/* Weak, so that a program linked without the corresponding --wrap still links: the wrappers are
 * then unreachable, because only --wrap routes calls to them. */
extern int __real_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *)
    __attribute__((weak));
extern int __real_pthread_join(pthread_t, void **) __attribute__((weak));

int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                          void *(*start)(void *), void *arg)
{
    if (us_internal_spawn)
        return __real_pthread_create(thread, attr, start, arg);
    struct us_boot *boot = malloc(sizeof *boot);
    if (!boot)
        return 11; /* EAGAIN, as pthread_create reports lack of resources */
    boot->start = start;
    boot->arg = arg;
    int rc = __real_pthread_create(thread, attr, us_thread_entry, boot);
    if (rc != 0)
        free(boot);
    else
        us_rt_thread_created(*thread);
    return rc;
}

/* A thread waiting in pthread_join can reach no update point; while it waits it does not count
 * among the threads an update waits for (it holds no frame that the update must move: for a
 * self-update its frames are already consistent). Needs -Wl,--wrap=pthread_join. */
int __wrap_pthread_join(pthread_t thread, void **ret)
{
    us_rt_blocking_enter();
    int rc = __real_pthread_join(thread, ret);
    us_rt_blocking_leave();
    return rc;
}

/* Functions upstare-cc leaves uninstrumented although their callees may unwind (variadic
 * functions, whose va_list points into their own frame) live in the section `upstare_pinned`.
 * The linker defines these bounds when any object has such a function; weak so that programs
 * without one still link. The stack walk refuses to unwind through a frame in this range. */
extern const char __start_upstare_pinned[] __attribute__((weak));
extern const char __stop_upstare_pinned[] __attribute__((weak));

/* The executable's own metadata and address tables (meta/FORMAT.md); all 0 when it has none. */
extern const char __start_upstare_meta[] __attribute__((weak));
extern const char __stop_upstare_meta[] __attribute__((weak));
extern const char __start_upstare_addr[] __attribute__((weak));
extern const char __stop_upstare_addr[] __attribute__((weak));

const void *us_exe_tables(int which)
{
    switch (which) {
    case 0: return __start_upstare_meta;
    case 1: return __stop_upstare_meta;
    case 2: return __start_upstare_addr;
    case 3: return __stop_upstare_addr;
    }
    return 0;
}

void us_pinned_range(uintptr_t *lo, uintptr_t *hi) {
    *lo = (uintptr_t)__start_upstare_pinned;
    *hi = (uintptr_t)__stop_upstare_pinned;
}
