/* wrap.c: the blocking calls of instrumented code, made wakeable by a pending update.
 *
 * upstare-cc routes every direct call that instrumented code makes to one of the blocking libc
 * functions below to `__us_w_NAME` (same prototype) and makes the call a call point: when the
 * wrapper returns with `__us_unwinding` set, the caller saves its frame, and on rebuild the call
 * is made again (in the new version, after an update). Uninstrumented code (libraries, the
 * runtime's own Rust code) calls libc directly: that is why this is not `--wrap`.
 *
 * Every wrapper, for a thread with a root (registered):
 *  1. at entry, when an update is pending and the runtime says this thread may unwind now
 *     (`us_rt_wrapper_unwind`: stack walk, held locks, the round accepts it), returns a dummy
 *     value with `__us_unwinding` set;
 *  2. otherwise makes the call so that a round's `ring` (src/blocking.rs) wakes it, asks again
 *     when woken, and if the answer is still no *declines* the round (it is not woken again in
 *     it) and carries on waiting as libc would.
 * Threads without a root go straight to libc. The mechanisms, by kind of call:
 *  - File descriptors (accept accept4 read readv recv recvfrom recvmsg write writev send sendto
 *    sendmsg sendfile), and sem_wait, sem_timedwait, waitpid, wait: *the poke*. The call is
 *    made directly, once, as libc makes it: the kernel alone decides O_NONBLOCK, SO_RCVTIMEO
 *    and SO_SNDTIMEO, MSG_WAITALL, short reads and writes, restarts after the program's
 *    SA_RESTART handlers. Around it the thread's state word (TLS, shared with its slot in
 *    src/blocking.rs) says "in a pokeable call": a plain atomic store before, a compare-and-swap
 *    after; no lock, no Rust call, no signal mask change per call when no update is pending.
 *    A strict round's `ring` (and `re_ring`, every millisecond, for a poke that landed just
 *    before the syscall started) sends the runtime's poke signal to every thread in such a call;
 *    its handler, installed without SA_RESTART, only flags the thread, so the call fails with
 *    EINTR. The state machine (idle / in call / poke in flight, below) keeps a poke from ever
 *    interrupting a syscall outside a wrapper: a thread leaving its call waits until a poke in
 *    flight has been delivered. Then EINTR is
 *      - ours, and the thread may unwind now: it unwinds (the call is made again on rebuild);
 *      - ours, but it may not (held locks, a frame the walk refuses): it declines the round
 *        (no more pokes in it) and makes the call again;
 *      - not ours (the program's signal): returned, as libc returns it.
 *    A call that did part of its work when poked returns that (a short count, never unwound:
 *    re-executing it would repeat output or lose input), as it would after any signal. The poke
 *    is unblocked once per thread (when its slot is made, at its first such call); sem_wait,
 *    sem_timedwait and waitpid, rare and known to block when they get there, also unblock it
 *    around the call itself. While an update is pending, a call that would block (a poll with
 *    timeout 0 first) also counts as blocked (the round's lock, twice), so that a lenient
 *    self-test round does not wait for it. A wrapper called by a signal handler that
 *    interrupted a poked call makes the plain call; one that finds the state of a call left by
 *    a longjmp out of a handler resets it (told apart by the depth of the stack).
 *    Why not the doorbell here (the previous design): knowing whether the call would block
 *    first (a non-blocking attempt, O_NONBLOCK, the socket's timeout, a ppoll with the doorbell,
 *    the call again) cost 5 to 6 syscalls per blocking read where libc makes one (a threaded
 *    echo server spent a quarter more CPU per request than its gcc build); the poke costs two
 *    atomic instructions per call until a round rings.
 *  - Multiplexers (poll ppoll select pselect epoll_wait epoll_pwait): the doorbell is added to
 *    the set (select and pselect are emulated with ppoll; epoll: ppoll on the epoll descriptor,
 *    then epoll_wait with timeout 0); the user's timeout keeps counting.
 *  - Sleeps (nanosleep clock_nanosleep sleep usleep pause sigsuspend): ppoll on the doorbell with
 *    the remaining time (absolute CLOCK_REALTIME/BOOTTIME/TAI sleeps: a timerfd) and the signal
 *    mask; a handler interrupts them as before (EINTR, remaining time). A sleep that unwinds
 *    remembers its deadline: its re-execution sleeps until then, not for the whole time again
 *    (likewise poll, ppoll, pselect and epoll timeouts).
 *  - sigwait, sigwaitinfo: a signalfd of the set polled with the doorbell, then the real call.
 *  - stdio input (fgets getc fgetc getchar getline getdelim fread scanf fscanf and the
 *    *_unlocked forms): when the FILE's read buffer is empty (glibc's `_IO_read_ptr >=
 *    _IO_read_end`), its descriptor is polled with the doorbell first, then the real call.
 *  - pthread_cond_wait, pthread_cond_timedwait: the condition is registered in the thread's slot
 *    and `ring`/`re_ring` broadcast it. A thread woken for an update that may unwind UNLOCKS the
 *    mutex (no thread parks holding it), remembers it, and unwinds; the re-executed call locks it
 *    again and returns 0 (a legal spurious wake-up).
 *  - pthread_join: waits in the runtime until the target has ended or a round rings, then the
 *    real call (which, linked with --wrap=pthread_join, is abi.c's wrapper).
 *  - connect: unwinds at entry when it may, else the real call (bounded by TCP's timeouts).
 *
 * Locks (pthread_mutex_lock/trylock/unlock, pthread_rwlock_rdlock/wrlock/tryrdlock/trywrlock/
 * unlock): the policy is "no thread unwinds while holding a mutex or rwlock it acquired through
 * instrumented code". Each thread counts such locks (`us_w_held`: +1 on every successful lock or
 * trylock, -1 on unlock, unchanged across a condition wait); the runtime refuses to unwind a
 * thread whose count is not 0 (`may_unwind_holding_locks`). So a thread blocked in
 * pthread_mutex_lock always waits for a holder that is running (not parked), and it needs no
 * wake-up: lock waits can never deadlock with a parked thread. The lock wrappers may still unwind
 * at entry (they are call points); unlock and trylock never block and never unwind, and the
 * `__us_wn_*` forms (used where no call point is possible: statement expressions, variadic
 * functions) only count. A lock taken by uninstrumented code and released by instrumented code
 * does not make the count negative (clamped at 0); one taken by instrumented code and released
 * elsewhere keeps the thread from unwinding (conservative).
 *
 * Limits (documented, not bugs): only the wait before the first refill of a stdio buffer is
 * wakeable (a fgets that got half a line waits in libc for the rest); after a descriptor polled
 * ready, sigwait makes the real call, which blocks without a wake-up if another thread consumed
 * the event in between; clock_nanosleep on CPU-time clocks is not wakeable. Poked calls: a
 * signal of the program that arrives together with the poke, in the same call, is not told
 * apart from it (its EINTR is not returned: the call unwinds or is made again); a call made
 * again after the thread declined a round starts its socket timeout (SO_RCVTIMEO/SO_SNDTIMEO)
 * afresh; a thread that blocks the poke signal itself (pthread_sigmask) after its first poked
 * call is not woken from descriptor calls until it has been poked once (the poke is then taken
 * at the call's end and unblocked again at the next call); a write to a pipe or socket that
 * is in progress when poked returns its short count; after a longjmp out of a handler that
 * interrupted a poked call, the thread's calls are not poked until it makes one from a frame
 * no deeper than that call's (or unwinds), and a round may poke it outside a wrapper meanwhile.
 *
 * Deliberately not here: the doorbell, rounds, slots and pokes' bookkeeping (src/blocking.rs)
 * and the decision whether a thread may unwind (src/abi.rs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "upstare_rt.h"

#define TLS __thread __attribute__((tls_model("initial-exec")))

/* ----- the Rust side (src/blocking.rs, src/thread.rs, src/abi.rs) ------------------------- */

int us_rt_thread_registered(void);
int us_rt_bell_fd(void);
int us_rt_round_state(uint64_t *gen);
void us_rt_decline(uint64_t gen);
int us_rt_round_end_fd(uint64_t gen);
void us_rt_cond_enter(pthread_cond_t *c);
void us_rt_cond_leave(void);
int us_rt_poke_signal(void);
void us_rt_slot_init(void);
int us_rt_join_wait(pthread_t t);
void us_rt_join_done(pthread_t t);
void us_rt_blocking_enter(void);
void us_rt_blocking_leave(void);
int us_rt_wrapper_unwind(void);

/* ----- per-thread state ------------------------------------------------------------------- */

/* 1 once the thread is known to have a root (a thread without one may still get one: a
 * constructor runs before the main thread registers, so "no" is not cached). */
static TLS signed char us_w_reg;
/* Mutexes and rwlocks held through instrumented code. */
static TLS int us_w_held;
/* Set by the poke's handler. */
static TLS volatile sig_atomic_t us_w_poked;
/* The poke's state machine (see "the poke" below). */
enum { ST_IDLE = 0, ST_CALL = 1, ST_POKED = 2 };
static TLS unsigned us_w_state;

/* What a wrapper that unwound remembers for its re-execution: the deadline of a sleep or
 * timeout (`req` is the requested time, which must match), the mutex of a condition wait. Any
 * other wrapper entered first forgets it. */
enum {
    K_NONE, K_NANOSLEEP, K_CLOCK_NANOSLEEP, K_SLEEP, K_USLEEP, K_POLL, K_PPOLL, K_PSELECT,
    K_EPOLL, K_COND,
};
static TLS struct {
    int kind;
    const void *key;
    long long req;
    long long deadline;
} us_w_resume;

int us_w_locks_held(void) { return us_w_held; }

static inline int registered(void)
{
    if (__builtin_expect(us_w_reg > 0, 1))
        return 1;
    if (us_rt_thread_registered()) {
        us_w_reg = 1;
        return 1;
    }
    return 0;
}

/* Entry of a wrapper that is a call point (kind K, or K_NONE): forget a resume record of another
 * kind; unwind now when the runtime says so. */
static void call_abandoned(void);

static inline int entry_unwinds(int k)
{
    if (__builtin_expect(us_w_resume.kind != K_NONE, 0) && us_w_resume.kind != k)
        us_w_resume.kind = K_NONE;
    if (__builtin_expect(__us_pending, 0) && us_rt_wrapper_unwind()) {
        /* Never inside a signal handler (the walk refuses its frames): a pokeable call not left
         * was left by a longjmp. */
        if (__builtin_expect(__atomic_load_n(&us_w_state, __ATOMIC_RELAXED) != ST_IDLE, 0))
            call_abandoned();
        return 1;
    }
    return 0;
}

static long long take_resume(int k, const void *key, long long req)
{
    if (us_w_resume.kind == k && us_w_resume.key == key && us_w_resume.req == req) {
        us_w_resume.kind = K_NONE;
        return us_w_resume.deadline;
    }
    us_w_resume.kind = K_NONE;
    return -1;
}

static void save_resume(int k, const void *key, long long req, long long deadline)
{
    us_w_resume.kind = k;
    us_w_resume.key = key;
    us_w_resume.req = req;
    us_w_resume.deadline = deadline;
}

/* ----- time --------------------------------------------------------------------------------- */

#define NS 1000000000LL
/* Deadlines further than this (~292 years / 2) are "far": no overflow in the arithmetic. */
#define FAR (1LL << 62)

static long long mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * NS + t.tv_nsec;
}

static long long ts_ns(const struct timespec *t)
{
    if (t->tv_sec >= FAR / NS)
        return FAR;
    return t->tv_sec * NS + t->tv_nsec;
}

static struct timespec ns_ts(long long ns)
{
    struct timespec t;
    if (ns < 0)
        ns = 0;
    t.tv_sec = ns / NS;
    t.tv_nsec = ns % NS;
    return t;
}

/* A deadline `rel` nanoseconds from now (never overflowing). */
static long long after_ns(long long rel)
{
    long long now = mono_ns();
    return rel >= FAR - now ? FAR : now + rel;
}

/* ----- the doorbell --------------------------------------------------------------------------- */

static int us_w_bell_fd = -1;

/* In the child of fork (called by src/blocking.rs): forget the parent's doorbell. */
void us_w_fork_child(void) { __atomic_store_n(&us_w_bell_fd, -1, __ATOMIC_RELAXED); }

static int bell(void)
{
    int b = __atomic_load_n(&us_w_bell_fd, __ATOMIC_RELAXED);
    if (__builtin_expect(b < 0, 0)) {
        b = us_rt_bell_fd(); /* -1 if it cannot be created: waits are then not wakeable */
        __atomic_store_n(&us_w_bell_fd, b, __ATOMIC_RELAXED);
    }
    return b;
}

/* ----- the wait every wakeable wrapper uses -------------------------------------------------- */

enum { W_ERROR = -1, W_TIMEOUT = 0, W_READY = 1, W_UNWIND = 2, W_BELL = 3, W_EINTR = 4 };

/* A thread inside a wait counts as blocked, so that a round that is not strict (a self-test
 * round) does not wait for it. Only while an update is pending (always, in self-test mode):
 * otherwise every wait of every thread would take the round's lock twice, for nothing. A strict
 * round ignores the mark: it wakes blocked threads and parks them too. */
static inline int blocked_enter(void)
{
    if (!__us_pending)
        return 0;
    us_rt_blocking_enter();
    return 1;
}

static inline void blocked_leave(int mark)
{
    if (mark)
        us_rt_blocking_leave();
}

/* Waits like ppoll on fds[0..n) (fds[n] is scratch for the doorbell) until one of them is ready
 * (W_READY, *nready = how many), `deadline` (CLOCK_MONOTONIC ns; < 0: none) passes (W_TIMEOUT),
 * a handler runs (W_EINTR) or a round rings. Then, when `may_unwind`, the runtime is asked:
 * W_UNWIND (with `__us_unwinding` set) or, declined, the wait goes on, polling the round's end
 * instead of the doorbell; without `may_unwind` (a write that made progress), W_BELL at once.
 * W_ERROR: ppoll failed (errno). The thread counts as blocked while it waits. */
static int wait_fds(struct pollfd *fds, nfds_t n, long long deadline, const sigset_t *mask,
                    int may_unwind, int *nready)
{
    for (;;) {
        uint64_t gen = 0, now_gen = 0;
        int st = us_rt_round_state(&gen);
        int efd = -1, extra_fd;
        if (st == 2) {
            efd = us_rt_round_end_fd(gen);
            if (efd < 0 && (us_rt_round_state(&now_gen) != 2 || now_gen != gen))
                continue; /* that round is over (or another began): look again */
            extra_fd = efd; /* -1 (no descriptor left): wait without a wake-up */
        } else {
            extra_fd = bell();
        }
        fds[n].fd = extra_fd;
        fds[n].events = POLLIN;
        fds[n].revents = 0;
        struct timespec ts, *tp = NULL;
        if (deadline >= 0) {
            ts = ns_ts(deadline - mono_ns());
            tp = &ts;
        }
        int mark = blocked_enter();
        int r = ppoll(fds, n + 1, tp, mask);
        int e = errno;
        blocked_leave(mark);
        if (efd >= 0)
            close(efd);
        errno = e;
        if (r < 0)
            return e == EINTR ? W_EINTR : W_ERROR;
        if (r == 0)
            return W_TIMEOUT;
        int extra = fds[n].revents != 0;
        if (r > extra) {
            *nready = r - extra;
            return W_READY;
        }
        if (st == 2)
            continue; /* the round this thread declined is over */
        if (!may_unwind)
            return W_BELL;
        if (us_rt_round_state(&gen) == 1) {
            if (us_rt_wrapper_unwind())
                return W_UNWIND;
            us_rt_decline(gen);
        }
    }
}

/* One descriptor, for `events`. */
static int wait_fd(int fd, short events, long long deadline, int may_unwind)
{
    struct pollfd p[2];
    p[0].fd = fd;
    p[0].events = events;
    p[0].revents = 0;
    int nr;
    return wait_fds(p, 1, deadline, NULL, may_unwind, &nr);
}

static int poke_sig; /* 0 until the poke's handler is installed */

/* A handler interrupted an internal wait. Would the kernel have restarted the call the wrapper
 * stands for? Yes when every caught signal's handler has SA_RESTART (the poke's excepted): the
 * interrupting one is among them. When some have not, it may have been one of those, and EINTR
 * is what such a program waits for. */
static int restart_after_signal(void)
{
    for (int s = 1; s < _NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP || (poke_sig && s == poke_sig))
            continue;
        struct sigaction sa;
        if (sigaction(s, NULL, &sa) != 0)
            continue;
        if (!(sa.sa_flags & SA_SIGINFO) && (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
            continue;
        if (!(sa.sa_flags & SA_RESTART))
            return 0;
    }
    return 1;
}

/* ----- the poke: calls made directly, interrupted by a signal ------------------------------- */

/* The thread's call state (`us_w_state`), shared with the ringer (src/blocking.rs `wake_slots`,
 * which reaches it through the pointer the thread's slot keeps; the values are the same there):
 *   ST_IDLE  -> ST_CALL   the thread, entering a pokeable call (only from ST_IDLE);
 *   ST_CALL  -> ST_POKED  the ringer, right before it sends the poke;
 *   ST_POKED -> ST_CALL   the poke's handler (so a later ring may poke again: a poke that landed
 *                         just before the syscall started is repeated by `re_ring`);
 *   ST_CALL  -> ST_IDLE   the thread, leaving; from ST_POKED it first waits for the handler.
 * So at most one poke is in flight per thread, and none is left when the thread has left its
 * call: a poke never interrupts a syscall outside a wrapper. */

/* The frame of the wrapper whose call set ST_CALL: a wrapper entered while the state is not
 * ST_IDLE is either called from a signal handler that interrupted that call (its frame is
 * deeper on the stack: it makes the plain call) or the call was left by a longjmp out of such a
 * handler (it is not: the state is stale, and is reset). */
static TLS uintptr_t us_w_call_frame;
/* 1 once the poke's handler is installed, the poke unblocked in this thread and its slot made. */
static TLS signed char us_w_armed;

unsigned *us_w_state_word(void) { return &us_w_state; }

static pthread_once_t us_w_poke_once = PTHREAD_ONCE_INIT;

static void poke_handler(int sig)
{
    (void)sig;
    us_w_poked = 1;
    unsigned st = ST_POKED;
    __atomic_compare_exchange_n(&us_w_state, &st, ST_CALL, 0, __ATOMIC_SEQ_CST,
                                __ATOMIC_RELAXED);
}

static void poke_handler_set(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = poke_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the interrupted call fails with EINTR */
    sigaction(sig, &sa, NULL);
}

static void poke_install(void)
{
    int sig = us_rt_poke_signal();
    poke_handler_set(sig);
    __atomic_store_n(&poke_sig, sig, __ATOMIC_RELEASE);
}

/* For the ringer (src/blocking.rs), before it pokes: the signal, or 0 when no poke may be
 * sent. A disposition the program reset (SIG_DFL would kill the process) is set again; a
 * handler of the program's own on that signal means the program uses it (pick another with
 * UPSTARE_POKE_SIGNAL): its threads are then not poked. */
int us_w_poke_ready(void)
{
    int sig = __atomic_load_n(&poke_sig, __ATOMIC_ACQUIRE);
    struct sigaction sa;
    if (sig == 0 || sigaction(sig, NULL, &sa) != 0)
        return 0;
    if (sa.sa_flags & SA_SIGINFO)
        return 0;
    if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)
        poke_handler_set(sig);
    else if (sa.sa_handler != poke_handler)
        return 0;
    return sig;
}

static void poke_set(sigset_t *one)
{
    sigemptyset(one);
    sigaddset(one, poke_sig);
}

/* Once per thread (again after a leave found the poke blocked): the handler, the poke
 * unblocked, the slot the ringer looks at. */
static __attribute__((noinline)) void arm(void)
{
    pthread_once(&us_w_poke_once, poke_install);
    sigset_t one;
    poke_set(&one);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    us_rt_slot_init();
    us_w_armed = 1;
}

enum { PRE_CALL, PRE_PLAIN, PRE_RANG };

static void leave_poked(void);

/* The state is not ST_IDLE outside a call (left by a longjmp): make it so, as a leave would. */
static __attribute__((noinline)) void call_abandoned(void)
{
    unsigned st = ST_CALL;
    if (!__atomic_compare_exchange_n(&us_w_state, &st, ST_IDLE, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_RELAXED) &&
        st == ST_POKED)
        leave_poked();
}

static int nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

/* An update is pending: count the call as blocked (a lenient self-test round does not wait for
 * it; a strict one pokes it anyway)? Only when it would block: waiting for `events` on `fd`
 * (fd < 0: it would; events 0: it never does). The round's lock is taken only then, so that a
 * call that does not block, made by a signal handler that interrupted the runtime while it
 * held that lock (a self-pipe write), does not wait for it forever. */
static __attribute__((noinline)) int pending_mark(int fd, short events)
{
    if (events == 0)
        return 0;
    if (fd >= 0) {
        int e = errno;
        struct pollfd p = {fd, events, 0};
        int would = poll(&p, 1, 0) == 0 && !nonblocking(fd);
        errno = e;
        if (!would)
            return 0;
    }
    us_rt_blocking_enter();
    return 1;
}

/* Before the call. PRE_CALL: make it, the thread is marked (`*mark`: and counts as blocked);
 * PRE_RANG: marked, but a round rang already: do not make the call, leave and handle the poke;
 * PRE_PLAIN: make it unmarked and return its result (a handler's call inside another call).
 * Without an update pending: a few TLS accesses, one locked store, one load. */
static inline int call_enter(int *mark, int fd, short events)
{
    *mark = 0;
    if (__builtin_expect(!us_w_armed, 0))
        arm();
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
    if (__builtin_expect(__atomic_load_n(&us_w_state, __ATOMIC_RELAXED) != ST_IDLE, 0)) {
        if (frame < us_w_call_frame)
            return PRE_PLAIN;
        call_abandoned();
    }
    us_w_call_frame = frame;
    if (__builtin_expect(__us_pending, 0))
        *mark = pending_mark(fd, events); /* before the state: no poke interrupts the lock */
    us_w_poked = 0;
    __atomic_store_n(&us_w_state, ST_CALL, __ATOMIC_SEQ_CST);
    /* After the store: either the ringer sees ST_CALL, or this sees the round (seq_cst on both
     * sides: the ringer stores the round, then reads the state). */
    if (__builtin_expect(__atomic_load_n(&__us_pending, __ATOMIC_SEQ_CST), 0)) {
        uint64_t gen;
        if (us_rt_round_state(&gen) == 1)
            return PRE_RANG;
    }
    return PRE_CALL;
}

/* ST_POKED at the leave: the poke is on its way (sent, or about to be), delivered at the latest
 * when a syscall returns; unless this thread blocks the signal (the program blocked it after
 * `arm`): then it is taken here, and the next call unblocks it again. */
static __attribute__((noinline)) void leave_poked(void)
{
    int e = errno;
    sigset_t one;
    poke_set(&one);
    struct timespec zero = {0, 0};
    for (;;) {
        unsigned st = ST_CALL;
        if (__atomic_compare_exchange_n(&us_w_state, &st, ST_IDLE, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED) ||
            st == ST_IDLE)
            break;
        if (sigtimedwait(&one, NULL, &zero) == poke_sig) {
            /* Taken, not delivered: it interrupted nothing (us_w_poked stays as it is). */
            __atomic_store_n(&us_w_state, ST_IDLE, __ATOMIC_SEQ_CST);
            sigset_t cur;
            if (pthread_sigmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, poke_sig))
                us_w_armed = 0;
            break;
        }
        sched_yield();
    }
    errno = e;
}

/* After the call: the thread is unmarked (no poke in flight); returns whether a poke was
 * delivered during the call. */
static inline int call_leave(int mark)
{
    unsigned st = ST_CALL;
    if (__builtin_expect(!__atomic_compare_exchange_n(&us_w_state, &st, ST_IDLE, 0,
                                                      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED),
                         0) &&
        st == ST_POKED)
        leave_poked(); /* (ST_IDLE: a handler's wrapper took the call for abandoned) */
    if (__builtin_expect(mark, 0)) {
        int e = errno;
        us_rt_blocking_leave();
        errno = e;
    }
    return us_w_poked;
}

/* The call failed with EINTR because of the poke, or was not made because a round rang: 1 to
 * unwind now (`__us_unwinding` is set), 0 to make the call again (the round is over, or this
 * thread may not unwind now: it declines the round, which pokes it no more). */
static __attribute__((noinline)) int poked_unwinds(void)
{
    uint64_t gen;
    if (us_rt_round_state(&gen) == 1) {
        if (us_rt_wrapper_unwind())
            return 1;
        us_rt_decline(gen);
    }
    return 0;
}

/* The body of a wrapper whose call (`call`, of type T, -1 on failure; it waits for `events` on
 * `fd`, see `pending_mark`) the poke interrupts: the call itself, once; EINTR that the poke
 * caused unwinds or makes the call again; every other result, EINTR from the program's own
 * signals included, is returned as it is. A signal that comes with the poke in the same call is
 * not told apart from it. */
#define POKEABLE(T, call, fd, events)                                                         \
    do {                                                                                      \
        int saved_ = errno;                                                                   \
        for (;;) {                                                                            \
            int mark_, pre_ = call_enter(&mark_, fd, events);                                 \
            if (__builtin_expect(pre_ == PRE_PLAIN, 0))                                       \
                return call;                                                                  \
            T r_ = -1;                                                                        \
            int e_ = EINTR;                                                                   \
            if (__builtin_expect(pre_ == PRE_CALL, 1)) {                                      \
                r_ = call;                                                                    \
                e_ = errno;                                                                   \
            }                                                                                 \
            int ours_ = call_leave(mark_);                                                    \
            int done_ = pre_ == PRE_CALL && (r_ != -1 || e_ != EINTR || !ours_);              \
            if (__builtin_expect(done_, 1)) {                                                 \
                errno = r_ == -1 ? e_ : saved_;                                               \
                return r_;                                                                    \
            }                                                                                 \
            if (poked_unwinds())                                                              \
                return -1;                                                                    \
        }                                                                                     \
    } while (0)

/* ----- descriptors: reads, writes, accept ----------------------------------------------------- */

extern __typeof__(read) __us_w_read;
ssize_t __us_w_read(int fd, void *buf, size_t n)
{
    if (!registered())
        return read(fd, buf, n);
    if (entry_unwinds(K_NONE))
        return -1;
    POKEABLE(ssize_t, read(fd, buf, n), fd, POLLIN);
}

extern __typeof__(readv) __us_w_readv;
ssize_t __us_w_readv(int fd, const struct iovec *iov, int cnt)
{
    if (!registered())
        return readv(fd, iov, cnt);
    if (entry_unwinds(K_NONE))
        return -1;
    POKEABLE(ssize_t, readv(fd, iov, cnt), fd, POLLIN);
}

extern __typeof__(recv) __us_w_recv;
ssize_t __us_w_recv(int fd, void *buf, size_t n, int flags)
{
    if (!registered())
        return recv(fd, buf, n, flags);
    if (entry_unwinds(K_NONE))
        return -1;
    POKEABLE(ssize_t, recv(fd, buf, n, flags), fd, flags & MSG_DONTWAIT ? 0 : POLLIN);
}

extern __typeof__(recvfrom) __us_w_recvfrom;
ssize_t __us_w_recvfrom(int fd, void *restrict buf, size_t n, int flags,
                        struct sockaddr *restrict addr, socklen_t *restrict alen)
{
    if (!registered())
        return recvfrom(fd, buf, n, flags, addr, alen);
    if (entry_unwinds(K_NONE))
        return -1;
    POKEABLE(ssize_t, recvfrom(fd, buf, n, flags, addr, alen), fd,
             flags & MSG_DONTWAIT ? 0 : POLLIN);
}

extern __typeof__(recvmsg) __us_w_recvmsg;
ssize_t __us_w_recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (!registered())
        return recvmsg(fd, msg, flags);
    if (entry_unwinds(K_NONE))
        return -1;
    POKEABLE(ssize_t, recvmsg(fd, msg, flags), fd, flags & MSG_DONTWAIT ? 0 : POLLIN);
}

extern __typeof__(accept4) __us_w_accept4;
int __us_w_accept4(int fd, struct sockaddr *restrict addr, socklen_t *restrict alen, int flags)
{
    if (!registered())
        return accept4(fd, addr, alen, flags);
    if (entry_unwinds(K_NONE))
        return -1;
    POKEABLE(int, accept4(fd, addr, alen, flags), fd, POLLIN);
}

extern __typeof__(accept) __us_w_accept;
int __us_w_accept(int fd, struct sockaddr *restrict addr, socklen_t *restrict alen)
{
    if (!registered())
        return accept(fd, addr, alen);
    if (entry_unwinds(K_NONE))
        return -1;
    POKEABLE(int, accept(fd, addr, alen), fd, POLLIN);
}

extern __typeof__(connect) __us_w_connect;
int __us_w_connect(int fd, const struct sockaddr *addr, socklen_t alen)
{
    if (registered() && entry_unwinds(K_NONE))
        return -1;
    return connect(fd, addr, alen);
}

extern __typeof__(write) __us_w_write;
ssize_t __us_w_write(int fd, const void *buf, size_t n)
{
    if (!registered())
        return write(fd, buf, n);
    if (entry_unwinds(K_NONE))
        return -1;
    POKEABLE(ssize_t, write(fd, buf, n), fd, POLLOUT);
}

extern __typeof__(writev) __us_w_writev;
ssize_t __us_w_writev(int fd, const struct iovec *iov, int cnt)
{
    if (!registered())
        return writev(fd, iov, cnt);
    if (entry_unwinds(K_NONE))
        return -1;
    POKEABLE(ssize_t, writev(fd, iov, cnt), fd, POLLOUT);
}

extern __typeof__(send) __us_w_send;
ssize_t __us_w_send(int fd, const void *buf, size_t n, int flags)
{
    if (!registered())
        return send(fd, buf, n, flags);
    if (entry_unwinds(K_NONE))
        return -1;
    POKEABLE(ssize_t, send(fd, buf, n, flags), fd, flags & MSG_DONTWAIT ? 0 : POLLOUT);
}

extern __typeof__(sendto) __us_w_sendto;
ssize_t __us_w_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
                      socklen_t alen)
{
    if (!registered())
        return sendto(fd, buf, n, flags, addr, alen);
    if (entry_unwinds(K_NONE))
        return -1;
    POKEABLE(ssize_t, sendto(fd, buf, n, flags, addr, alen), fd,
             flags & MSG_DONTWAIT ? 0 : POLLOUT);
}

extern __typeof__(sendmsg) __us_w_sendmsg;
ssize_t __us_w_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (!registered())
        return sendmsg(fd, msg, flags);
    if (entry_unwinds(K_NONE))
        return -1;
    POKEABLE(ssize_t, sendmsg(fd, msg, flags), fd, flags & MSG_DONTWAIT ? 0 : POLLOUT);
}

extern __typeof__(sendfile) __us_w_sendfile;
ssize_t __us_w_sendfile(int out, int in, off_t *off, size_t count)
{
    if (!registered())
        return sendfile(out, in, off, count);
    if (entry_unwinds(K_NONE))
        return -1;
    POKEABLE(ssize_t, sendfile(out, in, off, count), out, POLLOUT);
}

/* ----- multiplexers ------------------------------------------------------------------------ */

/* poll and ppoll on a copy of the set with the doorbell appended. */
static int poll_common(struct pollfd *fds, nfds_t n, long long deadline, const sigset_t *mask,
                       int kind, long long req)
{
    struct pollfd local[65], *all = local;
    if (n >= 64 && !(all = malloc(sizeof *all * (n + 1)))) {
        struct timespec ts = ns_ts(deadline - mono_ns());
        return ppoll(fds, n, deadline < 0 ? NULL : &ts, mask);
    }
    if (n)
        memcpy(all, fds, sizeof *all * n);
    int nr = 0, r;
    for (;;) {
        int w = wait_fds(all, n, deadline, mask, 1, &nr);
        if (w == W_READY) {
            for (nfds_t i = 0; i < n; i++)
                fds[i].revents = all[i].revents;
            r = nr;
        } else if (w == W_TIMEOUT) {
            for (nfds_t i = 0; i < n; i++)
                fds[i].revents = 0;
            r = 0;
        } else if (w == W_UNWIND) {
            if (deadline >= 0)
                save_resume(kind, NULL, req, deadline);
            r = -1;
        } else if (w == W_EINTR) {
            errno = EINTR;
            r = -1;
        } else {
            /* ppoll refused the larger set (EINVAL past RLIMIT_NOFILE): the plain call. */
            struct timespec ts = ns_ts(deadline - mono_ns());
            r = ppoll(fds, n, deadline < 0 ? NULL : &ts, mask);
        }
        break;
    }
    if (all != local) {
        int e = errno;
        free(all);
        errno = e;
    }
    return r;
}

extern __typeof__(poll) __us_w_poll;
int __us_w_poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (!registered() || timeout == 0)
        return poll(fds, n, timeout);
    if (entry_unwinds(K_POLL))
        return -1;
    int r = poll(fds, n, 0); /* something ready (or an error): as fast as the plain call */
    if (r != 0)
        return r;
    long long deadline = -1;
    if (timeout > 0) {
        deadline = take_resume(K_POLL, NULL, timeout);
        if (deadline < 0)
            deadline = after_ns(timeout * 1000000LL);
    }
    return poll_common(fds, n, deadline, NULL, K_POLL, timeout);
}

extern __typeof__(ppoll) __us_w_ppoll;
int __us_w_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *tmo, const sigset_t *mask)
{
    if (!registered() || (tmo && tmo->tv_sec == 0 && tmo->tv_nsec == 0) ||
        (tmo && (tmo->tv_sec < 0 || tmo->tv_nsec < 0 || tmo->tv_nsec >= NS)))
        return ppoll(fds, n, tmo, mask);
    if (entry_unwinds(K_PPOLL))
        return -1;
    if (!mask) {
        int r = poll(fds, n, 0); /* with a mask, the call may have to deliver a signal */
        if (r != 0)
            return r;
    }
    long long deadline = -1;
    if (tmo) {
        long long req = ts_ns(tmo);
        deadline = take_resume(K_PPOLL, NULL, req);
        if (deadline < 0)
            deadline = after_ns(req);
    }
    return poll_common(fds, n, deadline, mask, K_PPOLL, tmo ? ts_ns(tmo) : 0);
}

/* select and pselect, emulated with ppoll the way Linux implements them (fs/select.c). */
#define SEL_IN (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR)
#define SEL_OUT (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR)
#define SEL_EX (POLLPRI)

static int select_common(int nfds, fd_set *rs, fd_set *ws, fd_set *es, long long deadline,
                         const sigset_t *mask, int *unwound)
{
    struct pollfd p[FD_SETSIZE + 1];
    int n = 0;
    if (nfds > FD_SETSIZE)
        nfds = FD_SETSIZE;
    for (int fd = 0; fd < nfds; fd++) {
        short ev = 0;
        if (rs && FD_ISSET(fd, rs))
            ev |= POLLIN;
        if (ws && FD_ISSET(fd, ws))
            ev |= POLLOUT;
        if (es && FD_ISSET(fd, es))
            ev |= POLLPRI;
        if (ev) {
            p[n].fd = fd;
            p[n].events = ev;
            p[n].revents = 0;
            n++;
        }
    }
    int nr = 0;
    int w = wait_fds(p, (nfds_t)n, deadline, mask, 1, &nr);
    *unwound = w == W_UNWIND;
    if (w == W_UNWIND)
        return -1;
    if (w == W_EINTR) {
        errno = EINTR;
        return -1;
    }
    if (w == W_ERROR)
        return -2;
    for (int i = 0; i < n; i++)
        if (p[i].revents & POLLNVAL) {
            errno = EBADF;
            return -1;
        }
    int count = 0;
    for (int i = 0; i < n; i++) {
        int fd = p[i].fd;
        short re = p[i].revents;
        if (rs && FD_ISSET(fd, rs)) {
            if (re & SEL_IN)
                count++;
            else
                FD_CLR(fd, rs);
        }
        if (ws && FD_ISSET(fd, ws)) {
            if (re & SEL_OUT)
                count++;
            else
                FD_CLR(fd, ws);
        }
        if (es && FD_ISSET(fd, es)) {
            if (re & SEL_EX)
                count++;
            else
                FD_CLR(fd, es);
        }
    }
    /* Descriptors at or past nfds are not examined; their bits are cleared by the kernel. */
    return count;
}

extern __typeof__(select) __us_w_select;
int __us_w_select(int nfds, fd_set *restrict rs, fd_set *restrict ws, fd_set *restrict es,
                  struct timeval *restrict tv)
{
    if (!registered() || nfds < 0 || nfds > FD_SETSIZE ||
        (tv && tv->tv_sec == 0 && tv->tv_usec == 0) ||
        (tv && (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)))
        return select(nfds, rs, ws, es, tv);
    if (entry_unwinds(K_NONE))
        return -1;
    long long deadline = tv ? after_ns(tv->tv_sec * NS + tv->tv_usec * 1000LL) : -1;
    int unwound;
    int r = select_common(nfds, rs, ws, es, deadline, NULL, &unwound);
    if (r == -2)
        return select(nfds, rs, ws, es, tv);
    if (tv) {
        /* Linux writes the time left back (so a re-executed call waits only for that). */
        int e = errno;
        long long left = deadline - mono_ns();
        if (left < 0 || r == 0)
            left = 0;
        tv->tv_sec = left / NS;
        tv->tv_usec = (left % NS) / 1000;
        errno = e;
    }
    return r;
}

extern __typeof__(pselect) __us_w_pselect;
int __us_w_pselect(int nfds, fd_set *restrict rs, fd_set *restrict ws, fd_set *restrict es,
                   const struct timespec *restrict ts, const sigset_t *restrict mask)
{
    if (!registered() || nfds < 0 || nfds > FD_SETSIZE ||
        (ts && ts->tv_sec == 0 && ts->tv_nsec == 0) ||
        (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= NS)))
        return pselect(nfds, rs, ws, es, ts, mask);
    if (entry_unwinds(K_PSELECT))
        return -1;
    long long deadline = -1, req = ts ? ts_ns(ts) : 0;
    if (ts) {
        deadline = take_resume(K_PSELECT, NULL, req);
        if (deadline < 0)
            deadline = after_ns(req);
    }
    int unwound;
    int r = select_common(nfds, rs, ws, es, deadline, mask, &unwound);
    if (r == -2)
        return pselect(nfds, rs, ws, es, ts, mask);
    if (unwound && ts)
        save_resume(K_PSELECT, NULL, req, deadline);
    return r;
}

static int epoll_common(int ep, struct epoll_event *ev, int max, int timeout,
                        const sigset_t *mask)
{
    int r = epoll_wait(ep, ev, max, 0);
    if (r != 0)
        return r; /* events, or an error the call reports (EBADF, EINVAL) */
    long long deadline = -1;
    if (timeout > 0) {
        deadline = take_resume(K_EPOLL, NULL, timeout);
        if (deadline < 0)
            deadline = after_ns(timeout * 1000000LL);
    }
    for (;;) {
        struct pollfd p[2];
        p[0].fd = ep;
        p[0].events = POLLIN;
        p[0].revents = 0;
        int nr;
        switch (wait_fds(p, 1, deadline, mask, 1, &nr)) {
        case W_READY:
            r = epoll_wait(ep, ev, max, 0);
            if (r != 0)
                return r;
            continue; /* another thread took the events */
        case W_TIMEOUT:
            return 0;
        case W_UNWIND:
            if (deadline >= 0)
                save_resume(K_EPOLL, NULL, timeout, deadline);
            return -1;
        case W_EINTR:
            errno = EINTR;
            return -1;
        default: {
            int left = deadline < 0 ? -1 : (int)((deadline - mono_ns()) / 1000000);
            return mask ? epoll_pwait(ep, ev, max, left < 0 && deadline >= 0 ? 0 : left, mask)
                        : epoll_wait(ep, ev, max, left < 0 && deadline >= 0 ? 0 : left);
        }
        }
    }
}

extern __typeof__(epoll_wait) __us_w_epoll_wait;
int __us_w_epoll_wait(int ep, struct epoll_event *ev, int max, int timeout)
{
    if (!registered() || timeout == 0)
        return epoll_wait(ep, ev, max, timeout);
    if (entry_unwinds(K_EPOLL))
        return -1;
    return epoll_common(ep, ev, max, timeout, NULL);
}

extern __typeof__(epoll_pwait) __us_w_epoll_pwait;
int __us_w_epoll_pwait(int ep, struct epoll_event *ev, int max, int timeout, const sigset_t *mask)
{
    if (!registered() || timeout == 0)
        return epoll_pwait(ep, ev, max, timeout, mask);
    if (entry_unwinds(K_EPOLL))
        return -1;
    return epoll_common(ep, ev, max, timeout, mask);
}

/* ----- sleeps ------------------------------------------------------------------------------ */

/* Sleeps on the doorbell until `deadline` (< 0: a signal or a round only). W_TIMEOUT: slept;
 * W_EINTR; W_UNWIND (the deadline is remembered for the re-execution under kind/req). */
static int sleep_until(long long deadline, const sigset_t *mask, int kind, long long req)
{
    struct pollfd p[1];
    int nr;
    int w = wait_fds(p, 0, deadline, mask, 1, &nr);
    if (w == W_UNWIND && kind != K_NONE)
        save_resume(kind, NULL, req, deadline);
    if (w == W_ERROR && deadline >= 0) {
        struct timespec t = ns_ts(deadline - mono_ns());
        return clock_nanosleep(CLOCK_MONOTONIC, 0, &t, NULL) == EINTR ? W_EINTR : W_TIMEOUT;
    }
    return w;
}

static long long sleep_deadline(int kind, long long req)
{
    long long d = take_resume(kind, NULL, req);
    return d >= 0 ? d : after_ns(req);
}

extern __typeof__(nanosleep) __us_w_nanosleep;
int __us_w_nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (!registered() || !req || req->tv_sec < 0 || req->tv_nsec < 0 || req->tv_nsec >= NS)
        return nanosleep(req, rem);
    if (entry_unwinds(K_NANOSLEEP))
        return -1;
    long long want = ts_ns(req);
    long long deadline = sleep_deadline(K_NANOSLEEP, want);
    int w = sleep_until(deadline, NULL, K_NANOSLEEP, want);
    if (w == W_EINTR) {
        if (rem)
            *rem = ns_ts(deadline - mono_ns());
        errno = EINTR;
        return -1;
    }
    return w == W_UNWIND ? -1 : 0;
}

extern __typeof__(clock_nanosleep) __us_w_clock_nanosleep;
int __us_w_clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
                           struct timespec *rem)
{
    int abs = flags & TIMER_ABSTIME;
    int known = clk == CLOCK_MONOTONIC || clk == CLOCK_REALTIME || clk == CLOCK_BOOTTIME ||
                clk == CLOCK_TAI;
    if (!registered() || !known || !req || req->tv_sec < 0 || req->tv_nsec < 0 ||
        req->tv_nsec >= NS)
        return clock_nanosleep(clk, flags, req, rem);
    if (entry_unwinds(K_CLOCK_NANOSLEEP))
        return EINTR;
    if (abs && clk != CLOCK_MONOTONIC) {
        /* An absolute wall-clock deadline follows clock changes: a timerfd on that clock. */
        int tfd = timerfd_create(clk, TFD_CLOEXEC | TFD_NONBLOCK);
        struct itimerspec it;
        memset(&it, 0, sizeof it);
        it.it_value = *req;
        if (tfd < 0 || timerfd_settime(tfd, TFD_TIMER_ABSTIME, &it, NULL) != 0) {
            if (tfd >= 0)
                close(tfd);
            return clock_nanosleep(clk, flags, req, rem);
        }
        int w = wait_fd(tfd, POLLIN, -1, 1);
        int e = errno;
        close(tfd);
        errno = e;
        if (w == W_EINTR)
            return EINTR;
        if (w == W_UNWIND)
            return EINTR;
        if (w == W_ERROR)
            return clock_nanosleep(clk, flags, req, rem);
        return 0;
    }
    long long want = ts_ns(req);
    long long deadline;
    if (abs) {
        deadline = want; /* CLOCK_MONOTONIC, as our own deadlines */
    } else {
        deadline = sleep_deadline(K_CLOCK_NANOSLEEP, want);
    }
    int w = sleep_until(deadline, NULL, abs ? K_NONE : K_CLOCK_NANOSLEEP, want);
    if (w == W_EINTR) {
        if (rem && !abs)
            *rem = ns_ts(deadline - mono_ns());
        return EINTR;
    }
    return w == W_UNWIND ? EINTR : 0;
}

extern __typeof__(sleep) __us_w_sleep;
unsigned int __us_w_sleep(unsigned int s)
{
    if (!registered())
        return sleep(s);
    if (entry_unwinds(K_SLEEP))
        return 0;
    long long want = (long long)s * NS;
    long long deadline = sleep_deadline(K_SLEEP, want);
    int w = sleep_until(deadline, NULL, K_SLEEP, want);
    if (w == W_EINTR) {
        long long left = deadline - mono_ns();
        errno = EINTR;
        return left > 0 ? (unsigned int)(left / NS) : 0;
    }
    return 0;
}

extern __typeof__(usleep) __us_w_usleep;
int __us_w_usleep(useconds_t us)
{
    if (!registered())
        return usleep(us);
    if (entry_unwinds(K_USLEEP))
        return -1;
    long long deadline = sleep_deadline(K_USLEEP, (long long)us * 1000);
    int w = sleep_until(deadline, NULL, K_USLEEP, (long long)us * 1000);
    if (w == W_EINTR) {
        errno = EINTR;
        return -1;
    }
    return w == W_UNWIND ? -1 : 0;
}

extern __typeof__(pause) __us_w_pause;
int __us_w_pause(void)
{
    if (!registered())
        return pause();
    if (entry_unwinds(K_NONE))
        return -1;
    int w;
    do {
        w = sleep_until(-1, NULL, K_NONE, 0);
    } while (w == W_TIMEOUT);
    if (w == W_ERROR)
        return pause();
    errno = EINTR;
    return -1;
}

extern __typeof__(sigsuspend) __us_w_sigsuspend;
int __us_w_sigsuspend(const sigset_t *mask)
{
    if (!registered())
        return sigsuspend(mask);
    if (entry_unwinds(K_NONE))
        return -1;
    int w;
    do {
        w = sleep_until(-1, mask, K_NONE, 0);
    } while (w == W_TIMEOUT);
    if (w == W_ERROR)
        return sigsuspend(mask);
    errno = EINTR;
    return -1;
}

/* sigwait (never EINTR: glibc retries) and sigwaitinfo (EINTR for a handled signal). */
static int sigwait_common(const sigset_t *set, int eintr)
{
    int sfd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        return 0; /* the real call decides */
    int w;
    for (;;) {
        w = wait_fd(sfd, POLLIN, -1, 1);
        if (w == W_EINTR && !eintr)
            continue;
        break;
    }
    int e = errno;
    close(sfd);
    errno = e;
    return w == W_UNWIND ? 1 : w == W_EINTR ? -1 : 0;
}

extern __typeof__(sigwait) __us_w_sigwait;
int __us_w_sigwait(const sigset_t *restrict set, int *restrict sig)
{
    if (!registered())
        return sigwait(set, sig);
    if (entry_unwinds(K_NONE))
        return EINTR;
    if (sigwait_common(set, 0) == 1)
        return EINTR;
    return sigwait(set, sig);
}

extern __typeof__(sigwaitinfo) __us_w_sigwaitinfo;
int __us_w_sigwaitinfo(const sigset_t *restrict set, siginfo_t *restrict info)
{
    if (!registered())
        return sigwaitinfo(set, info);
    if (entry_unwinds(K_NONE))
        return -1;
    int w = sigwait_common(set, 1);
    if (w == 1)
        return -1;
    if (w == -1) {
        errno = EINTR;
        return -1;
    }
    return sigwaitinfo(set, info);
}

/* ----- stdio input ------------------------------------------------------------------------- */

/* Before a stdio read: 0 to make the call, 1 to unwind, -1 for EINTR (the stream's error flag
 * and errno are set, as a read interrupted inside stdio would leave them). */
static int stdio_wait(FILE *fp)
{
    if (!fp || fp->_IO_read_ptr < fp->_IO_read_end || (fp->_flags & _IO_EOF_SEEN))
        return 0;
    int fd = fp->_fileno;
    if (fd < 0)
        return 0;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 0) != 0 || nonblocking(fd))
        return 0;
    int saved = errno;
    for (;;) {
        switch (wait_fd(fd, POLLIN, -1, 1)) {
        case W_UNWIND:
            return 1;
        case W_EINTR:
            if (restart_after_signal())
                continue;
            fp->_flags |= _IO_ERR_SEEN;
            errno = EINTR;
            return -1;
        default:
            errno = saved;
            return 0;
        }
    }
}

#define STDIO_PROLOGUE(fp, real, fail)                                                        \
    do {                                                                                      \
        if (!registered())                                                                    \
            return real;                                                                      \
        if (entry_unwinds(K_NONE))                                                            \
            return fail;                                                                      \
        if (stdio_wait(fp) != 0)                                                              \
            return fail;                                                                      \
        return real;                                                                          \
    } while (0)

extern __typeof__(fgets) __us_w_fgets;
char *__us_w_fgets(char *restrict s, int n, FILE *restrict fp)
{
    STDIO_PROLOGUE(fp, fgets(s, n, fp), NULL);
}

extern __typeof__(fgetc) __us_w_fgetc;
int __us_w_fgetc(FILE *fp) { STDIO_PROLOGUE(fp, fgetc(fp), EOF); }

extern __typeof__(getc) __us_w_getc;
int __us_w_getc(FILE *fp) { STDIO_PROLOGUE(fp, getc(fp), EOF); }

extern __typeof__(getchar) __us_w_getchar;
int __us_w_getchar(void) { STDIO_PROLOGUE(stdin, getchar(), EOF); }

extern __typeof__(getc_unlocked) __us_w_getc_unlocked;
int __us_w_getc_unlocked(FILE *fp) { STDIO_PROLOGUE(fp, getc_unlocked(fp), EOF); }

extern __typeof__(fgetc_unlocked) __us_w_fgetc_unlocked;
int __us_w_fgetc_unlocked(FILE *fp) { STDIO_PROLOGUE(fp, fgetc_unlocked(fp), EOF); }

extern __typeof__(getchar_unlocked) __us_w_getchar_unlocked;
int __us_w_getchar_unlocked(void) { STDIO_PROLOGUE(stdin, getchar_unlocked(), EOF); }

extern __typeof__(getline) __us_w_getline;
ssize_t __us_w_getline(char **restrict line, size_t *restrict n, FILE *restrict fp)
{
    STDIO_PROLOGUE(fp, getline(line, n, fp), -1);
}

extern __typeof__(getdelim) __us_w_getdelim;
ssize_t __us_w_getdelim(char **restrict line, size_t *restrict n, int delim, FILE *restrict fp)
{
    STDIO_PROLOGUE(fp, getdelim(line, n, delim, fp), -1);
}

extern __typeof__(fread) __us_w_fread;
size_t __us_w_fread(void *restrict p, size_t size, size_t n, FILE *restrict fp)
{
    STDIO_PROLOGUE(fp, fread(p, size, n, fp), 0);
}

extern __typeof__(scanf) __us_w_scanf;
int __us_w_scanf(const char *restrict fmt, ...)
{
    if (registered() && (entry_unwinds(K_NONE) || stdio_wait(stdin) != 0))
        return EOF;
    va_list ap;
    va_start(ap, fmt);
    int r = vscanf(fmt, ap);
    va_end(ap);
    return r;
}

extern __typeof__(fscanf) __us_w_fscanf;
int __us_w_fscanf(FILE *restrict fp, const char *restrict fmt, ...)
{
    if (registered() && (entry_unwinds(K_NONE) || stdio_wait(fp) != 0))
        return EOF;
    va_list ap;
    va_start(ap, fmt);
    int r = vfscanf(fp, fmt, ap);
    va_end(ap);
    return r;
}

/* ----- locks ------------------------------------------------------------------------------- */

static inline void held_dec(void)
{
    if (us_w_held > 0)
        us_w_held--;
}

extern __typeof__(pthread_mutex_lock) __us_w_pthread_mutex_lock;
int __us_w_pthread_mutex_lock(pthread_mutex_t *m)
{
    if (__builtin_expect(__us_pending, 0) && registered() && entry_unwinds(K_NONE))
        return EAGAIN;
    int r = pthread_mutex_lock(m);
    if (r == 0)
        us_w_held++;
    return r;
}

extern __typeof__(pthread_mutex_lock) __us_wn_pthread_mutex_lock;
int __us_wn_pthread_mutex_lock(pthread_mutex_t *m)
{
    int r = pthread_mutex_lock(m);
    if (r == 0)
        us_w_held++;
    return r;
}

extern __typeof__(pthread_mutex_trylock) __us_w_pthread_mutex_trylock;
int __us_w_pthread_mutex_trylock(pthread_mutex_t *m)
{
    int r = pthread_mutex_trylock(m);
    if (r == 0)
        us_w_held++;
    return r;
}

extern __typeof__(pthread_mutex_unlock) __us_w_pthread_mutex_unlock;
int __us_w_pthread_mutex_unlock(pthread_mutex_t *m)
{
    int r = pthread_mutex_unlock(m);
    if (r == 0)
        held_dec();
    return r;
}

extern __typeof__(pthread_rwlock_rdlock) __us_w_pthread_rwlock_rdlock;
int __us_w_pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    if (__builtin_expect(__us_pending, 0) && registered() && entry_unwinds(K_NONE))
        return EAGAIN;
    int r = pthread_rwlock_rdlock(l);
    if (r == 0)
        us_w_held++;
    return r;
}

extern __typeof__(pthread_rwlock_rdlock) __us_wn_pthread_rwlock_rdlock;
int __us_wn_pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    int r = pthread_rwlock_rdlock(l);
    if (r == 0)
        us_w_held++;
    return r;
}

extern __typeof__(pthread_rwlock_wrlock) __us_w_pthread_rwlock_wrlock;
int __us_w_pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    if (__builtin_expect(__us_pending, 0) && registered() && entry_unwinds(K_NONE))
        return EAGAIN;
    int r = pthread_rwlock_wrlock(l);
    if (r == 0)
        us_w_held++;
    return r;
}

extern __typeof__(pthread_rwlock_wrlock) __us_wn_pthread_rwlock_wrlock;
int __us_wn_pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    int r = pthread_rwlock_wrlock(l);
    if (r == 0)
        us_w_held++;
    return r;
}

extern __typeof__(pthread_rwlock_tryrdlock) __us_w_pthread_rwlock_tryrdlock;
int __us_w_pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
    int r = pthread_rwlock_tryrdlock(l);
    if (r == 0)
        us_w_held++;
    return r;
}

extern __typeof__(pthread_rwlock_trywrlock) __us_w_pthread_rwlock_trywrlock;
int __us_w_pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
    int r = pthread_rwlock_trywrlock(l);
    if (r == 0)
        us_w_held++;
    return r;
}

extern __typeof__(pthread_rwlock_unlock) __us_w_pthread_rwlock_unlock;
int __us_w_pthread_rwlock_unlock(pthread_rwlock_t *l)
{
    int r = pthread_rwlock_unlock(l);
    if (r == 0)
        held_dec();
    return r;
}

/* ----- condition variables ----------------------------------------------------------------- */

static int cond_common(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abst)
{
    if (!registered())
        return abst ? pthread_cond_timedwait(c, m, abst) : pthread_cond_wait(c, m);
    if (us_w_resume.kind == K_COND) {
        const void *key = us_w_resume.key;
        long long counted = us_w_resume.req;
        us_w_resume.kind = K_NONE;
        if (key == m) {
            /* The re-execution of the wait that unwound: take the mutex back. */
            int r = pthread_mutex_lock(m);
            if (r == 0 && counted)
                us_w_held++;
            return r;
        }
    }
    /* The wait releases the mutex: it does not count while the thread waits or unwinds. */
    int counted = us_w_held > 0;
    if (counted)
        us_w_held--;
    if (entry_unwinds(K_COND))
        goto unwind;
    us_rt_cond_enter(c);
    uint64_t gen;
    int r;
    if (__us_pending && us_rt_round_state(&gen) == 1) {
        r = 0; /* a round rang before the condition was registered */
    } else {
        int mark = blocked_enter();
        r = abst ? pthread_cond_timedwait(c, m, abst) : pthread_cond_wait(c, m);
        blocked_leave(mark);
    }
    us_rt_cond_leave();
    if (r == 0 && __us_pending && us_rt_round_state(&gen) == 1) {
        if (us_rt_wrapper_unwind())
            goto unwind;
        us_rt_decline(gen);
    }
    if (counted)
        us_w_held++;
    return r;
unwind:
    pthread_mutex_unlock(m);
    save_resume(K_COND, m, counted, 0);
    return 0;
}

extern __typeof__(pthread_cond_wait) __us_w_pthread_cond_wait;
int __us_w_pthread_cond_wait(pthread_cond_t *restrict c, pthread_mutex_t *restrict m)
{
    return cond_common(c, m, NULL);
}

extern __typeof__(pthread_cond_timedwait) __us_w_pthread_cond_timedwait;
int __us_w_pthread_cond_timedwait(pthread_cond_t *restrict c, pthread_mutex_t *restrict m,
                                  const struct timespec *restrict abst)
{
    return cond_common(c, m, abst);
}

/* ----- semaphores and children: the poke too ------------------------------------------------- */

enum { PK_SEM, PK_SEMT, PK_WAITPID };

struct pk {
    int kind;
    sem_t *sem;
    const struct timespec *abst;
    pid_t pid;
    int *status, options;
};

static long pk_call(const struct pk *p)
{
    switch (p->kind) {
    case PK_SEM:
        return sem_wait(p->sem);
    case PK_SEMT:
        return sem_timedwait(p->sem, p->abst);
    default:
        return waitpid(p->pid, p->status, p->options);
    }
}

static long pk_pokeable(const struct pk *p) { POKEABLE(long, pk_call(p), -1, POLLIN); }

/* The call, woken by the poke. These calls are rare and already known to block (their
 * non-blocking attempt failed): the poke is unblocked for the call itself too, whatever the
 * program did to the mask since `arm`. */
static long poke_engine(const struct pk *p)
{
    if (!us_w_armed)
        arm();
    sigset_t one, old;
    poke_set(&one);
    pthread_sigmask(SIG_UNBLOCK, &one, &old);
    long r = pk_pokeable(p);
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return r;
}

extern __typeof__(sem_wait) __us_w_sem_wait;
int __us_w_sem_wait(sem_t *s)
{
    if (!registered())
        return sem_wait(s);
    if (entry_unwinds(K_NONE))
        return -1;
    int saved = errno;
    if (sem_trywait(s) == 0)
        return 0;
    if (errno != EAGAIN)
        return sem_wait(s); /* EINVAL and friends: as libc reports them */
    errno = saved;
    struct pk p = {.kind = PK_SEM, .sem = s};
    return (int)poke_engine(&p);
}

extern __typeof__(sem_timedwait) __us_w_sem_timedwait;
int __us_w_sem_timedwait(sem_t *restrict s, const struct timespec *restrict abst)
{
    if (!registered())
        return sem_timedwait(s, abst);
    if (entry_unwinds(K_NONE))
        return -1;
    int saved = errno;
    if (sem_trywait(s) == 0)
        return 0;
    if (errno != EAGAIN)
        return sem_timedwait(s, abst);
    errno = saved;
    struct pk p = {.kind = PK_SEMT, .sem = s, .abst = abst};
    return (int)poke_engine(&p);
}

extern __typeof__(waitpid) __us_w_waitpid;
pid_t __us_w_waitpid(pid_t pid, int *status, int options)
{
    if (!registered() || (options & WNOHANG))
        return waitpid(pid, status, options);
    if (entry_unwinds(K_NONE))
        return -1;
    pid_t r = waitpid(pid, status, options | WNOHANG);
    if (r != 0)
        return r; /* a child changed state, or an error (ECHILD) */
    struct pk p = {.kind = PK_WAITPID, .pid = pid, .status = status, .options = options};
    return (pid_t)poke_engine(&p);
}

extern __typeof__(wait) __us_w_wait;
pid_t __us_w_wait(int *status)
{
    if (!registered())
        return wait(status);
    return __us_w_waitpid(-1, status, 0);
}

/* ----- joins ------------------------------------------------------------------------------- */

extern __typeof__(pthread_join) __us_w_pthread_join;
int __us_w_pthread_join(pthread_t t, void **ret)
{
    if (!registered())
        return pthread_join(t, ret);
    if (entry_unwinds(K_NONE))
        return EINTR;
    if (us_rt_join_wait(t) == 0)
        return EINTR; /* unwinding */
    int r = pthread_join(t, ret);
    if (r == 0)
        us_rt_join_done(t);
    return r;
}
