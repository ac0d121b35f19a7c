/* root.c: the process entry point of every program built by upstare-cc.
 *
 * Job: define `main`, which the compiler took from the user (renamed `__us_main`), and loop
 * around it: a return with `__us_unwinding` set means the main thread's stack has become frame
 * records, so park and call `__us_main` again with the same arguments to rebuild it; a normal
 * return ends the process with that status. It is its own object file so that a binary which
 * defines `main` itself (the runtime's Rust unit tests) does not pull it from the archive.
 *
 * Deliberately not here: start-up configuration and parking, which are Rust (src/thread.rs).
 */
#include <stdint.h>

#include "upstare_rt.h"

int __us_main(int, char **, char **);
uintptr_t *us_rt_main_init(void *root_fn, void *main_fn);
void us_rt_root_unwound(void);
void *us_rt_main_next(void);

typedef int (*us_main_fn)(int, char **, char **);

/* The main thread's root frame; see us_root_call_start in abi.c. */
__attribute__((noinline)) int us_root_call_main(us_main_fn m, int argc, char **argv,
                                                 char **envp, uintptr_t *mark)
{
    *mark = (uintptr_t)__builtin_frame_address(0);
    int r = m(argc, argv, envp);
    __asm__ volatile("" : "+r"(r) : : "memory");
    return r;
}

int main(int argc, char **argv, char **envp)
{
    uintptr_t *mark = us_rt_main_init((void *)us_root_call_main, (void *)__us_main);
    us_main_fn m = __us_main;
    for (;;) {
        int r = us_root_call_main(m, argc, argv, envp, mark);
        if (!__us_unwinding)
            return r;
        us_rt_root_unwound();
        /* After an update: the new version's main. */
        m = (us_main_fn)us_rt_main_next();
    }
}
