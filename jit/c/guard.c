/* Fault containment for JIT-compiled transformers.
 *
 * While a batch of rules runs, a process-wide handler for SIGSEGV, SIGBUS, SIGFPE and SIGILL is
 * installed (us_jit_install / us_jit_restore, called under a lock by the Rust side, which counts
 * nested scopes). A rule runs through us_jit_call, which records a jump buffer in a thread-local
 * guard. A synchronous fault on a thread that is inside a guarded call jumps back to it with the
 * signal number, code, faulting address and program counter; any other signal (another thread,
 * no guarded call, a signal sent with kill) goes to the action that was installed before ours.
 *
 * sigsetjmp is called without saving the signal mask (a syscall per rule would dominate the cost
 * of small rules); the mask at the time of the fault, which the kernel hands to the handler, is
 * restored after the jump instead.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <pthread.h>
#include <string.h>
#include <ucontext.h>

typedef int32_t (*us_jit_rule_fn)(const void *old, void *new_, void *ctx);

/* What a caught fault was; filled by the handler, read by Rust. Layout shared with guard.rs. */
struct us_jit_fault {
    int32_t sig;
    int32_t code;
    uint64_t addr;
    uint64_t pc;
};

struct us_jit_guard {
    sigjmp_buf jb;
    sigset_t mask;
    struct us_jit_fault fault;
    struct us_jit_guard *prev;
    /* Where the caller wants the fault and the progress (kept in memory across the jump). */
    struct us_jit_fault *out;
    uint64_t *done;
    volatile uint64_t *progress;
};

/* The innermost guarded call of this thread (a callback may run another rule). */
static __thread struct us_jit_guard *us_jit_current;

#define US_JIT_NSIG 4
static const int us_jit_signals[US_JIT_NSIG] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
static struct sigaction us_jit_saved[US_JIT_NSIG];

/* The value us_jit_call returns when a fault was caught (rules return 0 or a positive code). */
#define US_JIT_FAULTED (-1)

static int us_jit_slot(int sig) {
    for (int i = 0; i < US_JIT_NSIG; i++)
        if (us_jit_signals[i] == sig)
            return i;
    return -1;
}

/* Hands a signal that is not ours to the action installed before ours. */
static void us_jit_chain(int sig, siginfo_t *si, void *uc) {
    int i = us_jit_slot(sig);
    if (i < 0)
        return;
    const struct sigaction *old = &us_jit_saved[i];
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction) {
            old->sa_sigaction(sig, si, uc);
            return;
        }
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    /* Default (or ignored, which the kernel does not honour for a real fault): take the default
     * action. A synchronous fault re-executes the instruction and dies of it; a sent signal is
     * raised again. */
    signal(sig, SIG_DFL);
    if (si == NULL || si->si_code <= 0)
        raise(sig);
}

static uint64_t us_jit_pc(void *ucv) {
    ucontext_t *uc = (ucontext_t *)ucv;
#if defined(__x86_64__)
    return (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uint64_t)uc->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

static void us_jit_handler(int sig, siginfo_t *si, void *ucv) {
    struct us_jit_guard *g = us_jit_current;
    /* si_code > 0: raised by the kernel for an instruction of this thread. */
    if (g != NULL && si != NULL && si->si_code > 0) {
        ucontext_t *uc = (ucontext_t *)ucv;
        g->fault.sig = sig;
        g->fault.code = si->si_code;
        g->fault.addr = (uint64_t)(uintptr_t)si->si_addr;
        g->fault.pc = us_jit_pc(ucv);
        memcpy(&g->mask, &uc->uc_sigmask, sizeof g->mask);
        siglongjmp(g->jb, 1);
    }
    us_jit_chain(sig, si, ucv);
}

/* Installs the handler, saving the previous actions. Returns 0, or -1 (errno set). */
int us_jit_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = us_jit_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < US_JIT_NSIG; i++) {
        if (sigaction(us_jit_signals[i], &sa, &us_jit_saved[i]) != 0) {
            for (int j = 0; j < i; j++)
                sigaction(us_jit_signals[j], &us_jit_saved[j], NULL);
            return -1;
        }
    }
    return 0;
}

/* Puts back the actions saved by us_jit_install. */
void us_jit_restore(void) {
    for (int i = 0; i < US_JIT_NSIG; i++)
        sigaction(us_jit_signals[i], &us_jit_saved[i], NULL);
}

/* Calls one rule under the guard. Returns its result, or US_JIT_FAULTED with *fault filled. */
int32_t us_jit_call(us_jit_rule_fn f, const void *old, void *new_, void *ctx,
                    struct us_jit_fault *fault) {
    struct us_jit_guard g;
    g.prev = us_jit_current;
    g.out = fault;
    if (sigsetjmp(g.jb, 0) != 0) {
        us_jit_current = g.prev;
        pthread_sigmask(SIG_SETMASK, &g.mask, NULL);
        *g.out = g.fault;
        return US_JIT_FAULTED;
    }
    us_jit_current = &g;
    int32_t r = f(old, new_, ctx);
    us_jit_current = g.prev;
    return r;
}

/* The loop of us_jit_call_many, apart so that nothing it changes lives in a register of the
 * function that called sigsetjmp: progress goes through *done. */
static __attribute__((noinline)) int32_t us_jit_loop(us_jit_rule_fn f, const uint8_t *old,
                                                     uint64_t old_stride, uint8_t *new_,
                                                     uint64_t new_stride, uint64_t count,
                                                     void *ctx, volatile uint64_t *done) {
    for (uint64_t k = 0; k < count; k++) {
        *done = k;
        int32_t r = f(old + k * old_stride, new_ + k * new_stride, ctx);
        if (r != 0)
            return r;
    }
    *done = count;
    return 0;
}

/* Calls one rule on `count` objects laid out with the given strides, stopping at the first
 * failure. *done receives the number of objects that returned 0. */
int32_t us_jit_call_many(us_jit_rule_fn f, const uint8_t *old, uint64_t old_stride, uint8_t *new_,
                         uint64_t new_stride, uint64_t count, void *ctx,
                         struct us_jit_fault *fault, uint64_t *done) {
    struct us_jit_guard g;
    volatile uint64_t progress = 0;
    g.prev = us_jit_current;
    g.out = fault;
    g.done = done;
    g.progress = &progress;
    if (sigsetjmp(g.jb, 0) != 0) {
        us_jit_current = g.prev;
        pthread_sigmask(SIG_SETMASK, &g.mask, NULL);
        *g.out = g.fault;
        *g.done = *g.progress;
        return US_JIT_FAULTED;
    }
    us_jit_current = &g;
    int32_t r = us_jit_loop(f, old, old_stride, new_, new_stride, count, ctx, &progress);
    us_jit_current = g.prev;
    *done = progress;
    return r;
}

/* For the tests: whether our handler is the current action for `sig`. */
int us_jit_handler_installed(int sig) {
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) != 0)
        return 0;
    return (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == us_jit_handler;
}
