/* request.c: a program that asks for updates to itself through the C API
 * (`upstare_request_self_update`), without the self-test mode. The request is queued for the
 * runtime's updater, which starts the round; the program waits until it has (`__us_pending`),
 * then checks, from the inside, that the update happened at the next point (the loop counter is
 * past the request) and that the round clears `__us_pending` when it ends. Instrumented by hand
 * with the real upstare_rt.h ABI, and without metadata: an update to the same version needs
 * none. */
#include <stdio.h>
#include <unistd.h>

#include "upstare.h"
#include "upstare_rt.h"

static int rebuilt_at = -1; /* set by the rebuild path: proof that the frame was rebuilt */

struct main_r { int argc; char **argv; char **envp; int i; long sum; int *box; };
int __us_main(int argc, char **argv, char **envp)
{
    static const struct __us_fn __us_fd = { __FILE__, "main", 1 };
    int i;
    long sum;
    int *__us_bx_x;
    if (__builtin_expect(__us_pending, 0) && __us_rebuilding)
        goto __us_rebuild;
    __us_bx_x = __us_box(sizeof *__us_bx_x, _Alignof(int));
    sum = 0;
    for (i = 0; i < 100; i++) {
        if (__builtin_expect(__us_pending, 0) && __us_point(&__us_fd, 0))
            goto __us_p0;
    __us_r0:
        if (i == 40 || i == 70) {
            int a = upstare_request_self_update();
            while (!__us_pending)
                usleep(100);
            printf("request at %d: queued %d\n", i, a);
        }
        *__us_bx_x += i;
        sum += *__us_bx_x;
    }
    printf("sum=%ld x=%d rebuilt_at=%d pending_at_end=%d\n", sum, *__us_bx_x, rebuilt_at,
           __us_pending);
    return 0;
__us_p0: __attribute__((cold));
    {
        struct main_r *r = __us_save(&__us_fd, 0, sizeof *r, _Alignof(struct main_r));
        r->argc = argc; r->argv = argv; r->envp = envp; r->i = i; r->sum = sum; r->box = __us_bx_x;
        return 0;
    }
__us_rebuild: __attribute__((cold));
    {
        (void)__us_resume(&__us_fd);
        struct main_r *r = __us_record();
        argc = r->argc; argv = r->argv; envp = r->envp; i = r->i; sum = r->sum; __us_bx_x = r->box;
        rebuilt_at = i;
        goto __us_r0;
    }
}
