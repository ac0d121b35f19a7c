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
 *    sendmsg sendfile): first the call itself without blocking where the API allows it
 *    (MSG_DONTWAIT for sockets, pwritev2(RWF_NOWAIT) for writes), else a zero-timeout poll; only
 *    when it would block: O_NONBLOCK is checked (the user gets EAGAIN as before), a socket's
 *    SO_RCVTIMEO/SO_SNDTIMEO becomes the deadline, and the thread ppolls the descriptor with the
 *    doorbell, then makes the call. A write that already wrote part of its data returns that
 *    short count when woken, never unwinds (its re-execution would duplicate output). A handler
 *    that interrupts the internal wait (EINTR) restarts the call when every caught signal's
 *    handler has SA_RESTART, as the kernel would have; otherwise EINTR is returned.
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
 *  - sem_wait, sem_timedwait, waitpid, wait: a real-time signal (the poke, src/blocking.rs) with
 *    an empty handler installed without SA_RESTART makes the call fail with EINTR; a per-thread
 *    flag tells ours from the user's, whose EINTR is returned as before.
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
 * ready, accept, a non-socket read, sigwait and recv(MSG_WAITALL|MSG_PEEK) make the real call,
 * which blocks without a wake-up if another thread consumed the event in between; writes to
 * descriptors that do not support RWF_NOWAIT (terminals, most regular files) poll first and
 * then write in full; clock_nanosleep on CPU-time clocks is not wakeable.
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
uint64_t us_rt_poke_enter(void);
uint64_t us_rt_poke_leave(uint64_t before);
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
static inline int entry_unwinds(int k)
{
    if (__builtin_expect(us_w_resume.kind != K_NONE, 0) && us_w_resume.kind != k)
        us_w_resume.kind = K_NONE;
    return __builtin_expect(__us_pending, 0) && us_rt_wrapper_unwind();
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

/* ----- what is known about a descriptor (a hint: a stale entry costs a syscall, nothing else) */

#define FD_CACHE 65536
#define F_NOTSOCK 1  /* recv said ENOTSOCK */
#define F_NONOWAIT 2 /* pwritev2(RWF_NOWAIT) is not supported */
static unsigned char us_w_fdflags[FD_CACHE];

static inline int fdflags(int fd)
{
    return (unsigned)fd < FD_CACHE ? __atomic_load_n(&us_w_fdflags[fd], __ATOMIC_RELAXED) : 0;
}

static inline void fdflag_set(int fd, int f)
{
    if ((unsigned)fd < FD_CACHE)
        __atomic_fetch_or(&us_w_fdflags[fd], (unsigned char)f, __ATOMIC_RELAXED);
}

static inline void fdflag_clear(int fd, int f)
{
    if ((unsigned)fd < FD_CACHE)
        __atomic_fetch_and(&us_w_fdflags[fd], (unsigned char)~f, __ATOMIC_RELAXED);
}

static int nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

/* For a socket, its SO_RCVTIMEO/SO_SNDTIMEO (`opt`) as a deadline: 1 when set, 0 when not;
 * -1 when `fd` is not a socket. Also corrects the descriptor cache. */
static int sock_timeout(int fd, int opt, long long *deadline)
{
    struct timeval tv;
    socklen_t l = sizeof tv;
    if (getsockopt(fd, SOL_SOCKET, opt, &tv, &l) != 0) {
        if (errno == ENOTSOCK)
            fdflag_set(fd, F_NOTSOCK);
        return -1;
    }
    fdflag_clear(fd, F_NOTSOCK);
    if (tv.tv_sec == 0 && tv.tv_usec == 0)
        return 0;
    *deadline = after_ns(tv.tv_sec * NS + tv.tv_usec * 1000LL);
    return 1;
}

/* ----- reads ------------------------------------------------------------------------------- */

enum { RD_READ, RD_READV, RD_RECV, RD_RECVFROM, RD_RECVMSG, RD_ACCEPT };

struct rd {
    int kind, fd, flags;
    void *buf;
    size_t n;
    const struct iovec *iov;
    int iovcnt;
    struct sockaddr *addr;
    socklen_t *alen;
    struct msghdr *msg;
};

/* The call itself; `nowait`: without blocking (sockets only). */
static ssize_t rd_call(const struct rd *a, int nowait)
{
    int f = a->flags | (nowait ? MSG_DONTWAIT : 0);
    switch (a->kind) {
    case RD_READ:
        return nowait ? recv(a->fd, a->buf, a->n, MSG_DONTWAIT) : read(a->fd, a->buf, a->n);
    case RD_READV:
        if (nowait) {
            struct msghdr m;
            memset(&m, 0, sizeof m);
            m.msg_iov = (struct iovec *)a->iov;
            m.msg_iovlen = (size_t)a->iovcnt;
            return recvmsg(a->fd, &m, MSG_DONTWAIT);
        }
        return readv(a->fd, a->iov, a->iovcnt);
    case RD_RECV:
        return recv(a->fd, a->buf, a->n, f);
    case RD_RECVFROM:
        return recvfrom(a->fd, a->buf, a->n, f, a->addr, a->alen);
    case RD_RECVMSG:
        return recvmsg(a->fd, a->msg, f);
    default:
        return accept4(a->fd, a->addr, a->alen, a->flags);
    }
}

/* recv, recvfrom, recvmsg with MSG_WAITALL on a stream socket: the data is gathered with
 * non-blocking calls and wakeable waits in between; woken after part of it came, the call
 * returns that much (as a signal would make it). 1 when done (*out is the result), 0 when this
 * does not apply (not a stream socket, MSG_PEEK, too many iovecs). */
static int recv_waitall(const struct rd *a, ssize_t *out)
{
    int type = 0;
    socklen_t tl = sizeof type;
    if ((a->flags & MSG_PEEK) ||
        getsockopt(a->fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM)
        return 0;
    struct iovec one, local[64], *iov = local;
    struct msghdr m;
    memset(&m, 0, sizeof m);
    if (a->kind == RD_RECVMSG) {
        m = *a->msg;
        if (m.msg_iovlen > 64)
            return 0;
        if (m.msg_iovlen)
            memcpy(local, a->msg->msg_iov, sizeof *local * m.msg_iovlen);
    } else {
        one.iov_base = a->buf;
        one.iov_len = a->n;
        iov = &one;
        m.msg_iovlen = 1;
        if (a->kind == RD_RECVFROM && a->addr && a->alen) {
            m.msg_name = a->addr;
            m.msg_namelen = *a->alen;
        }
    }
    m.msg_iov = iov;
    int saved = errno, flags = (a->flags & ~MSG_WAITALL) | MSG_DONTWAIT;
    size_t got = 0, ctl = 0;
    socklen_t namelen = m.msg_namelen;
    long long deadline = -1;
    int checked = 0, timed = 0;
    for (;;) {
        ssize_t r = recvmsg(a->fd, &m, flags);
        if (r > 0) {
            if (!got) {
                ctl = m.msg_controllen;
                namelen = m.msg_namelen;
            }
            got += (size_t)r;
            size_t k = (size_t)r;
            while (m.msg_iovlen > 0 && k >= m.msg_iov[0].iov_len) {
                k -= m.msg_iov[0].iov_len;
                m.msg_iov++;
                m.msg_iovlen--;
            }
            if (m.msg_iovlen > 0) {
                m.msg_iov[0].iov_base = (char *)m.msg_iov[0].iov_base + k;
                m.msg_iov[0].iov_len -= k;
            }
            m.msg_control = NULL; /* ancillary data came with the first bytes */
            m.msg_controllen = 0;
            if (m.msg_iovlen == 0)
                break;
            continue;
        }
        if (r == 0)
            break; /* end of stream */
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            if (got)
                break;
            *out = -1;
            return 1;
        }
        if (!checked) {
            checked = 1;
            if (nonblocking(a->fd)) {
                if (got)
                    break;
                *out = -1;
                return 1;
            }
            timed = sock_timeout(a->fd, SO_RCVTIMEO, &deadline) == 1;
        }
        int w = wait_fd(a->fd, POLLIN, deadline, got == 0);
        if (w == W_READY)
            continue;
        if (w == W_EINTR && !got && !timed && restart_after_signal())
            continue;
        if (got)
            break;
        if (w == W_TIMEOUT)
            errno = EAGAIN;
        else if (w == W_EINTR)
            errno = EINTR;
        *out = -1; /* also W_UNWIND and W_ERROR */
        return 1;
    }
    if (a->kind == RD_RECVMSG) {
        a->msg->msg_flags = m.msg_flags;
        a->msg->msg_controllen = ctl;
        a->msg->msg_namelen = namelen;
    } else if (a->kind == RD_RECVFROM && a->addr && a->alen) {
        *a->alen = namelen;
    }
    errno = saved;
    *out = (ssize_t)got;
    return 1;
}

/* A read-like call that may block until `fd` is readable. */
static ssize_t rd_engine(const struct rd *a)
{
    int fd = a->fd, saved = errno;
    int sock_op = a->kind == RD_RECV || a->kind == RD_RECVFROM || a->kind == RD_RECVMSG;
    if (sock_op && (a->flags & MSG_DONTWAIT))
        return rd_call(a, 0);
    ssize_t all;
    if (sock_op && (a->flags & MSG_WAITALL) && recv_waitall(a, &all))
        return all;
    /* MSG_WAITALL: a non-blocking attempt would return part of the data. */
    int try_nowait = a->kind != RD_ACCEPT && !(sock_op && (a->flags & MSG_WAITALL)) &&
                     !(fdflags(fd) & F_NOTSOCK);
    if (try_nowait) {
        ssize_t r = rd_call(a, 1);
        if (r >= 0) {
            errno = saved;
            return r;
        }
        if (errno == ENOTSOCK && !sock_op)
            fdflag_set(fd, F_NOTSOCK);
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            return r;
    }
    if (!try_nowait || (fdflags(fd) & F_NOTSOCK)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 0) != 0) {
            errno = saved;
            return rd_call(a, 0); /* ready, or a bad descriptor: the call tells */
        }
    }
    /* It would block. */
    if (nonblocking(fd)) {
        if (try_nowait && !(fdflags(fd) & F_NOTSOCK)) {
            errno = EAGAIN; /* what the non-blocking attempt said: the call would say it too */
            return -1;
        }
        return rd_call(a, 0);
    }
    long long deadline = -1;
    int t = sock_timeout(fd, SO_RCVTIMEO, &deadline); /* accept's timeout too */
    int sock = t >= 0, timed = t == 1;
    for (;;) {
        switch (wait_fd(fd, POLLIN, deadline, 1)) {
        case W_READY: {
            int nw = sock && a->kind != RD_ACCEPT && !(a->flags & MSG_WAITALL);
            ssize_t r = rd_call(a, nw);
            if (r >= 0) {
                errno = saved;
                return r;
            }
            if (nw && (errno == EAGAIN || errno == EWOULDBLOCK))
                continue; /* another reader took the data */
            return r;
        }
        case W_TIMEOUT:
            errno = EAGAIN;
            return -1;
        case W_UNWIND:
            return -1;
        case W_EINTR:
            if (timed || !restart_after_signal()) {
                errno = EINTR;
                return -1;
            }
            continue;
        default:
            errno = saved;
            return rd_call(a, 0);
        }
    }
}

extern __typeof__(read) __us_w_read;
ssize_t __us_w_read(int fd, void *buf, size_t n)
{
    if (!registered())
        return read(fd, buf, n);
    if (entry_unwinds(K_NONE))
        return -1;
    struct rd a = {.kind = RD_READ, .fd = fd, .buf = buf, .n = n};
    return rd_engine(&a);
}

extern __typeof__(readv) __us_w_readv;
ssize_t __us_w_readv(int fd, const struct iovec *iov, int cnt)
{
    if (!registered() || cnt <= 0 || cnt > IOV_MAX)
        return readv(fd, iov, cnt);
    if (entry_unwinds(K_NONE))
        return -1;
    struct rd a = {.kind = RD_READV, .fd = fd, .iov = iov, .iovcnt = cnt};
    return rd_engine(&a);
}

extern __typeof__(recv) __us_w_recv;
ssize_t __us_w_recv(int fd, void *buf, size_t n, int flags)
{
    if (!registered())
        return recv(fd, buf, n, flags);
    if (entry_unwinds(K_NONE))
        return -1;
    struct rd a = {.kind = RD_RECV, .fd = fd, .buf = buf, .n = n, .flags = flags};
    return rd_engine(&a);
}

extern __typeof__(recvfrom) __us_w_recvfrom;
ssize_t __us_w_recvfrom(int fd, void *restrict buf, size_t n, int flags,
                        struct sockaddr *restrict addr, socklen_t *restrict alen)
{
    if (!registered())
        return recvfrom(fd, buf, n, flags, addr, alen);
    if (entry_unwinds(K_NONE))
        return -1;
    struct rd a = {.kind = RD_RECVFROM, .fd = fd, .buf = buf, .n = n, .flags = flags,
                   .addr = addr, .alen = alen};
    return rd_engine(&a);
}

extern __typeof__(recvmsg) __us_w_recvmsg;
ssize_t __us_w_recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (!registered())
        return recvmsg(fd, msg, flags);
    if (entry_unwinds(K_NONE))
        return -1;
    struct rd a = {.kind = RD_RECVMSG, .fd = fd, .msg = msg, .flags = flags};
    return rd_engine(&a);
}

extern __typeof__(accept4) __us_w_accept4;
int __us_w_accept4(int fd, struct sockaddr *restrict addr, socklen_t *restrict alen, int flags)
{
    if (!registered())
        return accept4(fd, addr, alen, flags);
    if (entry_unwinds(K_NONE))
        return -1;
    struct rd a = {.kind = RD_ACCEPT, .fd = fd, .addr = addr, .alen = alen, .flags = flags};
    return (int)rd_engine(&a);
}

extern __typeof__(accept) __us_w_accept;
int __us_w_accept(int fd, struct sockaddr *restrict addr, socklen_t *restrict alen)
{
    if (!registered())
        return accept(fd, addr, alen);
    if (entry_unwinds(K_NONE))
        return -1;
    struct rd a = {.kind = RD_ACCEPT, .fd = fd, .addr = addr, .alen = alen, .flags = 0};
    return (int)rd_engine(&a);
}

extern __typeof__(connect) __us_w_connect;
int __us_w_connect(int fd, const struct sockaddr *addr, socklen_t alen)
{
    if (registered() && entry_unwinds(K_NONE))
        return -1;
    return connect(fd, addr, alen);
}

/* ----- writes ------------------------------------------------------------------------------ */

enum { WR_WRITE, WR_WRITEV, WR_SEND, WR_SENDTO, WR_SENDMSG };

struct wr {
    int kind, fd, flags;
    struct iovec *iov; /* a private copy, advanced as data goes out */
    int iovcnt;
    const struct sockaddr *addr;
    socklen_t alen;
    struct msghdr msg; /* WR_SENDMSG: the user's, with our iov */
};

static ssize_t wr_call(struct wr *a, int nowait)
{
    int f = a->flags | (nowait ? MSG_DONTWAIT : 0);
    switch (a->kind) {
    case WR_WRITE:
    case WR_WRITEV:
        return nowait ? pwritev2(a->fd, a->iov, a->iovcnt, -1, RWF_NOWAIT)
                      : writev(a->fd, a->iov, a->iovcnt);
    case WR_SEND:
        return send(a->fd, a->iov[0].iov_base, a->iov[0].iov_len, f);
    case WR_SENDTO:
        return sendto(a->fd, a->iov[0].iov_base, a->iov[0].iov_len, f, a->addr, a->alen);
    default:
        a->msg.msg_iov = a->iov;
        a->msg.msg_iovlen = (size_t)a->iovcnt;
        return sendmsg(a->fd, &a->msg, f);
    }
}

/* Consumes `n` bytes from the front of the iovec; returns whether any are left. */
static int wr_advance(struct wr *a, size_t n)
{
    while (a->iovcnt > 0 && n >= a->iov[0].iov_len) {
        n -= a->iov[0].iov_len;
        a->iov++;
        a->iovcnt--;
    }
    if (a->iovcnt > 0) {
        a->iov[0].iov_base = (char *)a->iov[0].iov_base + n;
        a->iov[0].iov_len -= n;
    }
    while (a->iovcnt > 0 && a->iov[0].iov_len == 0) {
        a->iov++;
        a->iovcnt--;
    }
    if (n) {
        /* Ancillary data went with the first bytes. */
        a->msg.msg_control = NULL;
        a->msg.msg_controllen = 0;
    }
    return a->iovcnt > 0;
}

/* A write-like call: all of the data, as a blocking call would write it, unless woken after
 * part of it went out (then that short count). */
static ssize_t wr_engine(struct wr *a)
{
    int fd = a->fd, saved = errno;
    int generic = a->kind == WR_WRITE || a->kind == WR_WRITEV;
    size_t done = 0;
    int checked = 0, timed = 0;
    /* 1: the descriptor just polled writable; 2: and a non-blocking attempt still said EAGAIN
     * (a regular file under RWF_NOWAIT): make the plain call. */
    int ready = 0;
    long long deadline = -1;
    if (!wr_advance(a, 0))
        return wr_call(a, 0); /* nothing to write: the call itself (it may report an error) */
    for (;;) {
        ssize_t r;
        if (generic && ready == 2) {
            r = wr_call(a, 0);
        } else if (!generic || !(fdflags(fd) & F_NONOWAIT)) {
            r = wr_call(a, 1);
            if (r < 0 && generic && (errno == EOPNOTSUPP || errno == EINVAL)) {
                fdflag_set(fd, F_NONOWAIT);
                continue;
            }
        } else {
            struct pollfd p = {fd, POLLOUT, 0};
            if (ready || poll(&p, 1, 0) != 0) {
                r = wr_call(a, 0);
            } else {
                r = -1;
                errno = EAGAIN;
            }
        }
        if (r > 0) {
            done += (size_t)r;
            ready = 0;
            if (!wr_advance(a, (size_t)r)) {
                errno = saved;
                return (ssize_t)done;
            }
            continue;
        }
        if (r == 0) {
            errno = saved;
            return (ssize_t)done;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            if (done) {
                errno = saved;
                return (ssize_t)done;
            }
            return -1;
        }
        if (ready == 1 && generic) {
            ready = 2;
            continue;
        }
        /* It would block. */
        if (!checked) {
            checked = 1;
            if (nonblocking(fd)) {
                if (done) {
                    errno = saved;
                    return (ssize_t)done;
                }
                errno = EAGAIN;
                return -1;
            }
            timed = sock_timeout(fd, SO_SNDTIMEO, &deadline) == 1;
        }
        switch (wait_fd(fd, POLLOUT, deadline, done == 0)) {
        case W_READY:
            ready = 1;
            continue;
        case W_BELL:
            errno = saved;
            return (ssize_t)done;
        case W_TIMEOUT:
            if (done) {
                errno = saved;
                return (ssize_t)done;
            }
            errno = EAGAIN;
            return -1;
        case W_UNWIND:
            return -1;
        case W_EINTR:
            if (done) {
                errno = saved;
                return (ssize_t)done;
            }
            if (timed || !restart_after_signal()) {
                errno = EINTR;
                return -1;
            }
            continue;
        default:
            r = wr_call(a, 0);
            if (r < 0)
                return done ? (ssize_t)done : -1;
            return (ssize_t)done + r;
        }
    }
}

extern __typeof__(write) __us_w_write;
ssize_t __us_w_write(int fd, const void *buf, size_t n)
{
    if (!registered() || n == 0)
        return write(fd, buf, n);
    if (entry_unwinds(K_NONE))
        return -1;
    struct iovec v = {(void *)buf, n};
    struct wr a = {.kind = WR_WRITE, .fd = fd, .iov = &v, .iovcnt = 1};
    return wr_engine(&a);
}

extern __typeof__(writev) __us_w_writev;
ssize_t __us_w_writev(int fd, const struct iovec *iov, int cnt)
{
    if (!registered() || cnt <= 0 || cnt > IOV_MAX)
        return writev(fd, iov, cnt);
    if (entry_unwinds(K_NONE))
        return -1;
    struct iovec local[64], *copy = local;
    if (cnt > 64 && !(copy = malloc(sizeof *copy * (size_t)cnt)))
        return writev(fd, iov, cnt);
    memcpy(copy, iov, sizeof *copy * (size_t)cnt);
    struct wr a = {.kind = WR_WRITEV, .fd = fd, .iov = copy, .iovcnt = cnt};
    ssize_t r = wr_engine(&a);
    if (copy != local) {
        int e = errno;
        free(copy);
        errno = e;
    }
    return r;
}

extern __typeof__(send) __us_w_send;
ssize_t __us_w_send(int fd, const void *buf, size_t n, int flags)
{
    if (!registered() || (flags & MSG_DONTWAIT) || n == 0)
        return send(fd, buf, n, flags);
    if (entry_unwinds(K_NONE))
        return -1;
    struct iovec v = {(void *)buf, n};
    struct wr a = {.kind = WR_SEND, .fd = fd, .flags = flags, .iov = &v, .iovcnt = 1};
    return wr_engine(&a);
}

extern __typeof__(sendto) __us_w_sendto;
ssize_t __us_w_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
                      socklen_t alen)
{
    if (!registered() || (flags & MSG_DONTWAIT) || n == 0)
        return sendto(fd, buf, n, flags, addr, alen);
    if (entry_unwinds(K_NONE))
        return -1;
    struct iovec v = {(void *)buf, n};
    struct wr a = {.kind = WR_SENDTO, .fd = fd, .flags = flags, .iov = &v, .iovcnt = 1,
                   .addr = addr, .alen = alen};
    return wr_engine(&a);
}

extern __typeof__(sendmsg) __us_w_sendmsg;
ssize_t __us_w_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (!registered() || (flags & MSG_DONTWAIT) || !msg || msg->msg_iovlen > IOV_MAX)
        return sendmsg(fd, msg, flags);
    if (entry_unwinds(K_NONE))
        return -1;
    int cnt = (int)msg->msg_iovlen;
    struct iovec local[64], *copy = local;
    if (cnt > 64 && !(copy = malloc(sizeof *copy * (size_t)cnt)))
        return sendmsg(fd, msg, flags);
    if (cnt)
        memcpy(copy, msg->msg_iov, sizeof *copy * (size_t)cnt);
    struct wr a = {.kind = WR_SENDMSG, .fd = fd, .flags = flags, .iov = copy, .iovcnt = cnt,
                   .msg = *msg};
    ssize_t r = wr_engine(&a);
    if (copy != local) {
        int e = errno;
        free(copy);
        errno = e;
    }
    return r;
}

extern __typeof__(sendfile) __us_w_sendfile;
ssize_t __us_w_sendfile(int out, int in, off_t *off, size_t count)
{
    if (!registered())
        return sendfile(out, in, off, count);
    if (entry_unwinds(K_NONE))
        return -1;
    struct pollfd p = {out, POLLOUT, 0};
    if (poll(&p, 1, 0) != 0 || nonblocking(out))
        return sendfile(out, in, off, count);
    long long deadline = -1;
    int timed = sock_timeout(out, SO_SNDTIMEO, &deadline) == 1;
    for (;;) {
        switch (wait_fd(out, POLLOUT, deadline, 1)) {
        case W_TIMEOUT:
            errno = EAGAIN;
            return -1;
        case W_UNWIND:
            return -1;
        case W_EINTR:
            if (timed || !restart_after_signal()) {
                errno = EINTR;
                return -1;
            }
            continue;
        default:
            return sendfile(out, in, off, count);
        }
    }
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

/* ----- calls only a signal interrupts: the poke ---------------------------------------------- */

static pthread_once_t us_w_poke_once = PTHREAD_ONCE_INIT;

static void poke_handler(int sig)
{
    (void)sig;
    us_w_poked = 1;
}

static void poke_install(void)
{
    int sig = us_rt_poke_signal();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = poke_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the interrupted call fails with EINTR */
    sigaction(sig, &sa, NULL);
    poke_sig = sig;
}

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

/* The call, woken by the poke: the user's EINTR is returned, ours retries unless the thread
 * unwinds. The poke signal is unblocked during the call (a program may block every signal in
 * its workers), and no poke is left in flight when this returns. */
static long poke_engine(const struct pk *p)
{
    pthread_once(&us_w_poke_once, poke_install);
    int saved = errno;
    sigset_t one, old;
    sigemptyset(&one);
    sigaddset(&one, poke_sig);
    for (;;) {
        pthread_sigmask(SIG_UNBLOCK, &one, &old);
        us_w_poked = 0;
        uint64_t before = us_rt_poke_enter();
        uint64_t gen;
        long r;
        int e;
        if (__us_pending && us_rt_round_state(&gen) == 1) {
            r = -1; /* a round rang before we registered */
            e = EINTR;
            us_w_poked = 1;
        } else {
            int mark = blocked_enter();
            r = pk_call(p);
            e = errno;
            blocked_leave(mark);
        }
        uint64_t sent = us_rt_poke_leave(before);
        while (sent && !us_w_poked)
            sched_yield(); /* delivered at the latest when this syscall returns */
        int ours = us_w_poked;
        us_w_poked = 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != -1 || e != EINTR) {
            errno = r == -1 ? e : saved;
            return r;
        }
        if (!ours) {
            errno = EINTR;
            return -1;
        }
        if (us_rt_round_state(&gen) == 1) {
            if (us_rt_wrapper_unwind())
                return -1;
            us_rt_decline(gen);
        }
    }
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
