/* threads.c: a multi-threaded program instrumented by hand with the real upstare_rt.h ABI.
 * Four threads each run a loop around a recursive computation with a boxed accumulator; thread 0
 * also sorts with qsort and an instrumented comparator that has a loop point (so update points are
 * reached under a libc frame, where the runtime must refuse to unwind); thread 3 leaves through
 * pthread_exit; `__us_main` waits in pthread_join. The printed results must not change when the
 * runtime forces self-updates (UPSTARE_SELFTEST_EVERY). Link with -Wl,--wrap=pthread_create and
 * -Wl,--wrap=pthread_join. Not a test of the compiler. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "upstare_rt.h"

#define NTHREADS 4
#define NSORT 600

static long results[NTHREADS];
static unsigned sorted[NSORT];

/* Recursive: entry point 0, call point 1. */
struct depth_r { int n; unsigned seed; };
static unsigned depth(int n, unsigned seed)
{
    static const struct __us_fn __us_fd = { __FILE__, "depth", 2 };
    unsigned __us_t1;
    if (__builtin_expect(__us_pending, 0)) {
        if (__us_rebuilding)
            goto __us_rebuild;
        if (__us_point(&__us_fd, 0))
            goto __us_p0;
    }
__us_r0:
    if (n <= 0)
        return seed;
__us_r1:
    __us_t1 = depth(n - 1, seed * 1103515245u + 12345u);
    if (__builtin_expect(__us_unwinding, 0))
        goto __us_p1;
    return __us_t1 ^ (unsigned)n;
__us_p0: __attribute__((cold));
    {
        struct depth_r *r = __us_save(&__us_fd, 0, sizeof *r, _Alignof(struct depth_r));
        r->n = n; r->seed = seed;
        return 0;
    }
__us_p1: __attribute__((cold));
    {
        struct depth_r *r = __us_save(&__us_fd, 1, sizeof *r, _Alignof(struct depth_r));
        r->n = n; r->seed = seed;
        return 0;
    }
__us_rebuild: __attribute__((cold));
    {
        unsigned p = __us_resume(&__us_fd);
        struct depth_r *r = __us_record();
        n = r->n; seed = r->seed;
        switch (p) {
        case 0: goto __us_r0;
        default: goto __us_r1;
        }
    }
}

/* Comparator called from qsort: a loop point (0) under a libc frame. The runtime must never tell
 * it to unwind; the save path exists because the compiler cannot know. */
struct cmp_r { const void *pa; const void *pb; unsigned a, b, sa, sb; };
static int cmp(const void *pa, const void *pb)
{
    static const struct __us_fn __us_fd = { __FILE__, "cmp", 1 };
    unsigned a, b, sa, sb;
    if (__builtin_expect(__us_pending, 0) && __us_rebuilding)
        goto __us_rebuild;
    a = *(const unsigned *)pa;
    b = *(const unsigned *)pb;
    sa = sb = 0;
    while (a || b) {
        if (__builtin_expect(__us_pending, 0) && __us_point(&__us_fd, 0))
            goto __us_p0;
    __us_r0:
        sa += a % 10; a /= 10;
        sb += b % 10; b /= 10;
    }
    if (sa != sb)
        return sa < sb ? -1 : 1;
    a = *(const unsigned *)pa;
    b = *(const unsigned *)pb;
    return a < b ? -1 : a > b;
__us_p0: __attribute__((cold));
    {
        struct cmp_r *r = __us_save(&__us_fd, 0, sizeof *r, _Alignof(struct cmp_r));
        r->pa = pa; r->pb = pb; r->a = a; r->b = b; r->sa = sa; r->sb = sb;
        return 0;
    }
__us_rebuild: __attribute__((cold));
    {
        (void)__us_resume(&__us_fd);
        struct cmp_r *r = __us_record();
        pa = r->pa; pb = r->pb; a = r->a; b = r->b; sa = r->sa; sb = r->sb;
        goto __us_r0;
    }
}

/* Thread start routine: a loop (point 0) calling depth (point 1), a boxed accumulator. */
struct worker_r { void *arg; int id; int i; long *acc; char *side; };
static void *worker(void *arg)
{
    static const struct __us_fn __us_fd = { __FILE__, "worker", 2 };
    int id, i;
    long *__us_bx_acc;
    char *__us_side_entry = __us_side_top;
    unsigned __us_t1;
    if (__builtin_expect(__us_pending, 0) && __us_rebuilding)
        goto __us_rebuild;
    id = (int)(long)arg;
    __us_bx_acc = __us_box(sizeof *__us_bx_acc, _Alignof(long));
    *__us_bx_acc = id;
    if (id == 0) {
        unsigned x = 12345;
        for (int k = 0; k < NSORT; k++) { /* loop-free body, nothing can unwind: no point */
            x = x * 1664525u + 1013904223u;
            sorted[k] = x % 100000;
        }
        qsort(sorted, NSORT, sizeof sorted[0], cmp); /* external call: no unwind check */
    }
    for (i = 0; i < 1500 + 100 * id; i++) {
        if (__builtin_expect(__us_pending, 0) && __us_point(&__us_fd, 0))
            goto __us_p0;
    __us_r0:
    __us_r1:
        __us_t1 = depth(i % 29 + id, (unsigned)(i * 7 + id));
        if (__builtin_expect(__us_unwinding, 0))
            goto __us_p1;
        *__us_bx_acc = (*__us_bx_acc * 31 + __us_t1) % 1000000007L;
    }
    results[id] = *__us_bx_acc;
    __us_side_top = __us_side_entry;
    if (id == 3)
        pthread_exit((void *)(long)(id + 100));
    return (void *)(long)(id + 100);
__us_p0: __attribute__((cold));
    {
        struct worker_r *r = __us_save(&__us_fd, 0, sizeof *r, _Alignof(struct worker_r));
        r->arg = arg; r->id = id; r->i = i; r->acc = __us_bx_acc; r->side = __us_side_entry;
        return 0;
    }
__us_p1: __attribute__((cold));
    {
        struct worker_r *r = __us_save(&__us_fd, 1, sizeof *r, _Alignof(struct worker_r));
        r->arg = arg; r->id = id; r->i = i; r->acc = __us_bx_acc; r->side = __us_side_entry;
        return 0;
    }
__us_rebuild: __attribute__((cold));
    {
        unsigned p = __us_resume(&__us_fd);
        struct worker_r *r = __us_record();
        arg = r->arg; id = r->id; i = r->i; __us_bx_acc = r->acc; __us_side_entry = r->side;
        switch (p) {
        case 0: goto __us_r0;
        default: goto __us_r1;
        }
    }
}

/* A warm-up loop (point 0), thread creation and joins (not points), then a call point (1). */
struct main_r { int argc; char **argv; char **envp; int k; unsigned h; };
int __us_main(int argc, char **argv, char **envp)
{
    static const struct __us_fn __us_fd = { __FILE__, "main", 2 };
    int k;
    unsigned h;
    unsigned __us_t1;
    if (__builtin_expect(__us_pending, 0) && __us_rebuilding)
        goto __us_rebuild;
    h = 0;
    for (k = 0; k < 200; k++) {
        if (__builtin_expect(__us_pending, 0) && __us_point(&__us_fd, 0))
            goto __us_p0;
    __us_r0:
        h = h * 33 + (unsigned)k;
    }
    {
        pthread_t t[NTHREADS];
        for (int j = 0; j < NTHREADS; j++)
            if (pthread_create(&t[j], NULL, worker, (void *)(long)j) != 0) {
                perror("pthread_create");
                return 1;
            }
        for (int j = 0; j < NTHREADS; j++) {
            void *ret;
            pthread_join(t[j], &ret);
            printf("thread %d returned %ld result %ld\n", j, (long)ret, results[j]);
        }
    }
    {
        unsigned long sum = 0;
        for (int j = 0; j < NSORT; j++)
            sum = sum * 131 + sorted[j];
        printf("sorted checksum %lu first %u last %u\n", sum, sorted[0], sorted[NSORT - 1]);
    }
__us_r1:
    __us_t1 = depth(40, h);
    if (__builtin_expect(__us_unwinding, 0))
        goto __us_p1;
    printf("main %u\n", __us_t1);
    return 0;
__us_p0: __attribute__((cold));
    {
        struct main_r *r = __us_save(&__us_fd, 0, sizeof *r, _Alignof(struct main_r));
        r->argc = argc; r->argv = argv; r->envp = envp; r->k = k; r->h = h;
        return 0;
    }
__us_p1: __attribute__((cold));
    {
        struct main_r *r = __us_save(&__us_fd, 1, sizeof *r, _Alignof(struct main_r));
        r->argc = argc; r->argv = argv; r->envp = envp; r->k = k; r->h = h;
        return 0;
    }
__us_rebuild: __attribute__((cold));
    {
        unsigned p = __us_resume(&__us_fd);
        struct main_r *r = __us_record();
        argc = r->argc; argv = r->argv; envp = r->envp; k = r->k; h = r->h;
        switch (p) {
        case 0: goto __us_r0;
        default: goto __us_r1;
        }
    }
}
