/* single.c: a single-threaded program instrumented by hand with the real upstare_rt.h ABI, in
 * the form upstare-cc emits: a recursive function with an entry point and a call point, a loop
 * with boxed (address-taken) locals including an array, a call in a condition hoisted into a
 * temporary, a signal handler with a loop point entered through `raise` (the runtime must never
 * unwind it: its caller is the kernel's __restore_rt in libc), and `__us_main` with a loop
 * around a call. It prints checksums that must not change
 * when the runtime forces self-updates (UPSTARE_SELFTEST_EVERY). Not a test of the compiler. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "upstare_rt.h"

static void bump(long *acc, int v) { *acc += v; } /* leaf: no point, no check after calls */

/* Signal handler with a loop point (0). Never unwound; the save path exists because the
 * compiler cannot know. */
static volatile long sig_total;
struct on_sig_r { int sig; int j; long t; };
static void on_sig(int sig)
{
    static const struct __us_fn __us_fd = { __FILE__, "on_sig", 1 };
    int j;
    long t = 0;
    if (__builtin_expect(__us_pending, 0) && __us_rebuilding)
        goto __us_rebuild;
    for (j = 0; j < 10; j++) {
        if (__builtin_expect(__us_pending, 0) && __us_point(&__us_fd, 0))
            goto __us_p0;
    __us_r0:
        t += j * sig;
    }
    sig_total += t;
    return;
__us_p0: __attribute__((cold));
    {
        struct on_sig_r *r = __us_save(&__us_fd, 0, sizeof *r, _Alignof(struct on_sig_r));
        r->sig = sig; r->j = j; r->t = t;
        return;
    }
__us_rebuild: __attribute__((cold));
    {
        (void)__us_resume(&__us_fd);
        struct on_sig_r *r = __us_record();
        sig = r->sig; j = r->j; t = r->t;
        goto __us_r0;
    }
}

/* Recursive: an entry point (0) and a call point (1). */
struct rec_r { int n; };
static long rec(int n)
{
    static const struct __us_fn __us_fd = { __FILE__, "rec", 2 };
    long __us_t1;
    if (__builtin_expect(__us_pending, 0)) {
        if (__us_rebuilding)
            goto __us_rebuild;
        if (__us_point(&__us_fd, 0))
            goto __us_p0;
    }
__us_r0:
    if (n == 0)
        return 1;
__us_r1:
    __us_t1 = rec(n - 1);
    if (__builtin_expect(__us_unwinding, 0))
        goto __us_p1;
    return n + __us_t1 * 2 % 1000003;
__us_p0: __attribute__((cold));
    {
        struct rec_r *r = __us_save(&__us_fd, 0, sizeof *r, _Alignof(struct rec_r));
        r->n = n;
        return 0;
    }
__us_p1: __attribute__((cold));
    {
        struct rec_r *r = __us_save(&__us_fd, 1, sizeof *r, _Alignof(struct rec_r));
        r->n = n;
        return 0;
    }
__us_rebuild: __attribute__((cold));
    {
        unsigned p = __us_resume(&__us_fd);
        struct rec_r *r = __us_record();
        n = r->n;
        switch (p) {
        case 0: goto __us_r0;
        default: goto __us_r1;
        }
    }
}

/* A loop (point 0) calling rec (point 1); `acc` and `arr` have their address taken, so they are
 * boxes on the side stack, restored at every normal return. */
struct work_r { int n; long *acc; int (*arr)[4]; int i; char *side; };
static long work(int n)
{
    static const struct __us_fn __us_fd = { __FILE__, "work", 2 };
    long *__us_bx_acc;
    int (*__us_bx_arr)[4];
    int i;
    char *__us_side_entry = __us_side_top;
    long __us_t1;
    if (__builtin_expect(__us_pending, 0) && __us_rebuilding)
        goto __us_rebuild;
    __us_bx_acc = __us_box(sizeof *__us_bx_acc, _Alignof(long));
    __us_bx_arr = __us_box(sizeof *__us_bx_arr, _Alignof(int));
    (*__us_bx_acc) = 0;
    {
        static const int init[4] = { 1, 2, 3, 4 };
        memcpy(*__us_bx_arr, init, sizeof init);
    }
    for (i = 0; i < n; i++) {
        if (__builtin_expect(__us_pending, 0) && __us_point(&__us_fd, 0))
            goto __us_p0;
    __us_r0:
        bump(&(*__us_bx_acc), (*__us_bx_arr)[i % 4]);
        (*__us_bx_arr)[i % 4] += i & 7;
    __us_r1:
        __us_t1 = rec(i % 23);
        if (__builtin_expect(__us_unwinding, 0))
            goto __us_p1;
        if (__us_t1 % 3 == 0)
            (*__us_bx_acc) ^= i;
        if (i % 97 == 0)
            raise(SIGUSR1); /* external call, runs on_sig synchronously: no unwind check */
    }
    {
        long ret = (*__us_bx_acc) + (*__us_bx_arr)[0] + (*__us_bx_arr)[3];
        __us_side_top = __us_side_entry;
        return ret;
    }
__us_p0: __attribute__((cold));
    {
        struct work_r *r = __us_save(&__us_fd, 0, sizeof *r, _Alignof(struct work_r));
        r->n = n; r->acc = __us_bx_acc; r->arr = __us_bx_arr; r->i = i; r->side = __us_side_entry;
        return 0;
    }
__us_p1: __attribute__((cold));
    {
        struct work_r *r = __us_save(&__us_fd, 1, sizeof *r, _Alignof(struct work_r));
        r->n = n; r->acc = __us_bx_acc; r->arr = __us_bx_arr; r->i = i; r->side = __us_side_entry;
        return 0;
    }
__us_rebuild: __attribute__((cold));
    {
        unsigned p = __us_resume(&__us_fd);
        struct work_r *r = __us_record();
        n = r->n; __us_bx_acc = r->acc; __us_bx_arr = r->arr; i = r->i; __us_side_entry = r->side;
        switch (p) {
        case 0: goto __us_r0;
        default: goto __us_r1;
        }
    }
}

/* `if (work(k) > limit)`: the call stands alone, its result reaches `w` after the check. */
struct main_r { int argc; char **argv; char **envp; long total; int round; long w; };
int __us_main(int argc, char **argv, char **envp)
{
    static const struct __us_fn __us_fd = { __FILE__, "main", 2 };
    long total;
    int round;
    long w;
    long __us_t1;
    if (__builtin_expect(__us_pending, 0) && __us_rebuilding)
        goto __us_rebuild;
    signal(SIGUSR1, on_sig);
    total = 0;
    w = 0;
    for (round = 0; round < 4; round++) {
        if (__builtin_expect(__us_pending, 0) && __us_point(&__us_fd, 0))
            goto __us_p0;
    __us_r0:
    __us_r1:
        __us_t1 = work(300 + round * 150 + argc);
        if (__builtin_expect(__us_unwinding, 0))
            goto __us_p1;
        w = __us_t1;
        if (w > 1000)
            total += w;
        else
            total -= w;
        printf("round %d: %ld\n", round, w);
    }
    printf("total=%ld signals=%ld\n", total, sig_total);
    return (int)(total & 0x3f);
__us_p0: __attribute__((cold));
    {
        struct main_r *r = __us_save(&__us_fd, 0, sizeof *r, _Alignof(struct main_r));
        r->argc = argc; r->argv = argv; r->envp = envp; r->total = total; r->round = round; r->w = w;
        return 0;
    }
__us_p1: __attribute__((cold));
    {
        struct main_r *r = __us_save(&__us_fd, 1, sizeof *r, _Alignof(struct main_r));
        r->argc = argc; r->argv = argv; r->envp = envp; r->total = total; r->round = round; r->w = w;
        return 0;
    }
__us_rebuild: __attribute__((cold));
    {
        unsigned p = __us_resume(&__us_fd);
        struct main_r *r = __us_record();
        argc = r->argc; argv = r->argv; envp = r->envp; total = r->total; round = r->round; w = r->w;
        switch (p) {
        case 0: goto __us_r0;
        default: goto __us_r1;
        }
    }
}
