/* The blocking calls upstare-cc routes to the runtime's wrappers behave exactly as libc's when
 * no update is pending: results, errno, EINTR from the program's own signals (with and without
 * SA_RESTART, on socket timeouts, MSG_WAITALL, accept, a full pipe), O_NONBLOCK, socket and call
 * timeouts, short and long writes, condition variables, semaphores, child processes, stdio. The
 * output is compared with the gcc build's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t caught;
static void on_signal(int s) { caught = s; }

static void handle(int sig, int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(sig, &sa, NULL);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void nap(int ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* A helper thread: after `ms`, does one thing to the main thread's world. */
struct later {
    int ms, what, fd;
    pthread_t target;
    sem_t *sem;
    const char *text;
};

enum { L_WRITE, L_KILL1, L_KILL2, L_POST, L_SIGNAL_COND };

static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int flag;

static void *later_main(void *p)
{
    struct later *l = p;
    nap(l->ms);
    switch (l->what) {
    case L_WRITE:
        if (write(l->fd, l->text, strlen(l->text)) < 0)
            perror("write");
        break;
    case L_KILL1:
        pthread_kill(l->target, SIGUSR1);
        break;
    case L_KILL2:
        pthread_kill(l->target, SIGUSR2);
        break;
    case L_POST:
        sem_post(l->sem);
        break;
    case L_SIGNAL_COND:
        pthread_mutex_lock(&cm);
        flag = 1;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&cm);
        break;
    }
    return NULL;
}

static pthread_t after(struct later *l)
{
    pthread_t t;
    pthread_create(&t, NULL, later_main, l);
    return t;
}

static void reads(void)
{
    int p[2];
    char buf[64];
    if (pipe(p) != 0)
        abort();
    /* Data already there. */
    if (write(p[1], "abc", 3) != 3)
        abort();
    ssize_t n = read(p[0], buf, sizeof buf);
    printf("read ready: %zd %.3s\n", n, buf);
    /* Blocks until a writer comes. */
    struct later w = {30, L_WRITE, p[1], 0, NULL, "later"};
    pthread_t t = after(&w);
    n = read(p[0], buf, sizeof buf);
    printf("read blocking: %zd %.5s\n", n, buf);
    pthread_join(t, NULL);
    /* O_NONBLOCK: EAGAIN at once. */
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    errno = 0;
    n = read(p[0], buf, sizeof buf);
    printf("read nonblocking: %zd %s\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno));
    fcntl(p[0], F_SETFL, 0);
    /* A signal without SA_RESTART: EINTR. */
    handle(SIGUSR1, 0);
    struct later k = {30, L_KILL1, 0, pthread_self(), NULL, NULL};
    t = after(&k);
    errno = 0;
    n = read(p[0], buf, sizeof buf);
    printf("read signal: %zd %s caught=%d\n", n, errno == EINTR ? "EINTR" : strerror(errno),
           caught == SIGUSR1);
    pthread_join(t, NULL);
    /* With SA_RESTART: the read goes on until data comes. */
    handle(SIGUSR1, 1);
    caught = 0;
    struct later k2 = {20, L_KILL1, 0, pthread_self(), NULL, NULL};
    struct later w2 = {60, L_WRITE, p[1], 0, NULL, "after"};
    pthread_t t1 = after(&k2), t2 = after(&w2);
    n = read(p[0], buf, sizeof buf);
    printf("read restart: %zd %.5s caught=%d\n", n, buf, caught == SIGUSR1);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    handle(SIGUSR1, 0);
    /* readv */
    if (write(p[1], "xyz", 3) != 3)
        abort();
    char a[2], b[4];
    struct iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
    n = readv(p[0], iov, 2);
    printf("readv: %zd %.2s %.1s\n", n, a, b);
    close(p[0]);
    close(p[1]);
}

static void writes(void)
{
    int p[2];
    if (pipe(p) != 0)
        abort();
    /* Fill a non-blocking pipe: a short count, then EAGAIN. */
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    static char big[1 << 20];
    memset(big, 'x', sizeof big);
    ssize_t n = write(p[1], big, sizeof big);
    printf("write nonblocking: short=%d\n", n > 0 && n < (ssize_t)sizeof big);
    errno = 0;
    n = write(p[1], big, 10);
    printf("write full: %zd %s\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno));
    fcntl(p[1], F_SETFL, 0);
    /* Drain in a child process while we write 1 MiB blocking: all of it goes out. */
    char sink[65536];
    while (read(p[0], sink, sizeof sink) == (ssize_t)sizeof sink) {
        struct pollfd q = {p[0], POLLIN, 0};
        if (poll(&q, 1, 0) == 0)
            break;
    }
    pid_t child = fork();
    if (child == 0) {
        close(p[1]);
        long total = 0;
        ssize_t r;
        while ((r = read(p[0], sink, sizeof sink)) > 0)
            total += r;
        _exit(total == (long)sizeof big ? 0 : 1);
    }
    close(p[0]);
    n = write(p[1], big, sizeof big);
    close(p[1]);
    int st = 0;
    waitpid(child, &st, 0);
    printf("write blocking: %zd child=%d\n", n, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    /* writev */
    if (pipe(p) != 0)
        abort();
    struct iovec iov[2] = {{"ab", 2}, {"cde", 3}};
    n = writev(p[1], iov, 2);
    char buf[8] = {0};
    ssize_t m = read(p[0], buf, sizeof buf);
    printf("writev: %zd %zd %.5s\n", n, m, buf);
    /* A broken pipe: EPIPE (SIGPIPE ignored). */
    signal(SIGPIPE, SIG_IGN);
    close(p[0]);
    errno = 0;
    n = write(p[1], "x", 1);
    printf("write broken: %zd %s\n", n, errno == EPIPE ? "EPIPE" : strerror(errno));
    close(p[1]);
}

static void sockets(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 4) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) != 0)
        abort();
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&a, sizeof a) != 0)
        abort();
    int s = accept(l, NULL, NULL);
    printf("accept: %d\n", s >= 0);
    /* accept4 with a timeout: EAGAIN after it. */
    struct timeval tv = {0, 40000};
    setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    errno = 0;
    int s2 = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    printf("accept4 timeout: %d %s\n", s2, errno == EAGAIN ? "EAGAIN" : strerror(errno));
    /* recv with a timeout, then with data, then MSG_WAITALL across two sends. */
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char buf[64];
    errno = 0;
    ssize_t n = recv(s, buf, sizeof buf, 0);
    long ms = ms_since(&t0);
    printf("recv timeout: %zd %s waited=%d\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno),
           ms >= 30 && ms < 2000);
    struct timeval none = {0, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    if (send(c, "hello", 5, 0) != 5)
        abort();
    n = recv(s, buf, sizeof buf, 0);
    printf("recv: %zd %.5s\n", n, buf);
    struct later w = {30, L_WRITE, c, 0, NULL, "world"};
    if (send(c, "12345", 5, 0) != 5)
        abort();
    pthread_t t = after(&w);
    n = recv(s, buf, 10, MSG_WAITALL);
    printf("recv waitall: %zd %.10s\n", n, buf);
    pthread_join(t, NULL);
    /* recvfrom, recvmsg, sendto, sendmsg on a datagram pair. */
    int d[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, d) != 0)
        abort();
    n = sendto(d[0], "dgram", 5, 0, NULL, 0);
    ssize_t m = recvfrom(d[1], buf, sizeof buf, 0, NULL, NULL);
    printf("sendto/recvfrom: %zd %zd %.5s\n", n, m, buf);
    struct iovec iov = {"msg!", 4};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    n = sendmsg(d[0], &mh, 0);
    char rb[8] = {0};
    struct iovec riov = {rb, sizeof rb};
    mh.msg_iov = &riov;
    m = recvmsg(d[1], &mh, 0);
    printf("sendmsg/recvmsg: %zd %zd %.4s\n", n, m, rb);
    errno = 0;
    n = recv(d[1], buf, sizeof buf, MSG_DONTWAIT);
    printf("recv dontwait: %zd %s\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno));
    fcntl(d[1], F_SETFL, O_NONBLOCK);
    errno = 0;
    n = read(d[1], buf, sizeof buf);
    printf("read nonblocking socket: %zd %s\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno));
    /* A large send on a stream socket goes out in full while the peer reads. */
    static char big[1 << 21];
    memset(big, 'y', sizeof big);
    pid_t child = fork();
    if (child == 0) {
        long total = 0;
        ssize_t r;
        close(c);
        while (total < (long)sizeof big && (r = recv(s, buf, sizeof buf, 0)) > 0)
            total += r;
        _exit(total == (long)sizeof big ? 0 : 1);
    }
    n = send(c, big, sizeof big, 0);
    int st = 0;
    waitpid(child, &st, 0);
    printf("send big: %zd child=%d\n", n, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    close(d[0]);
    close(d[1]);
    close(s);
    close(c);
    close(l);
}

/* Signals of the program interrupting calls the wrappers make directly (the kernel decides):
 * a socket timeout is never restarted, a call without SA_RESTART fails with EINTR, MSG_WAITALL
 * returns what came before the signal, a blocked write that wrote nothing fails with EINTR. */
static void interrupted(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 4) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) != 0)
        abort();
    handle(SIGUSR1, 0);
    struct later k = {20, L_KILL1, 0, pthread_self(), NULL, NULL};
    pthread_t t = after(&k);
    errno = 0;
    int s = accept(l, NULL, NULL);
    printf("accept signal: %d %s\n", s, errno == EINTR ? "EINTR" : strerror(errno));
    pthread_join(t, NULL);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&a, sizeof a) != 0)
        abort();
    s = accept(l, NULL, NULL);
    handle(SIGUSR1, 1);
    struct timeval tv = {2, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    t = after(&k);
    char buf[16];
    errno = 0;
    ssize_t n = recv(s, buf, sizeof buf, 0);
    printf("recv timeout restart signal: %zd %s\n", n, errno == EINTR ? "EINTR" : strerror(errno));
    pthread_join(t, NULL);
    struct timeval none = {0, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    handle(SIGUSR1, 0);
    if (send(c, "12345", 5, 0) != 5)
        abort();
    t = after(&k);
    n = recv(s, buf, 10, MSG_WAITALL);
    printf("recv waitall signal: %zd %.5s\n", n, buf);
    pthread_join(t, NULL);
    int p[2];
    if (pipe(p) != 0)
        abort();
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    static char fill[1 << 16];
    while (write(p[1], fill, sizeof fill) > 0) {
    }
    fcntl(p[1], F_SETFL, 0);
    t = after(&k);
    errno = 0;
    n = write(p[1], fill, 10);
    printf("write full signal: %zd %s\n", n, errno == EINTR ? "EINTR" : strerror(errno));
    pthread_join(t, NULL);
    close(p[0]);
    close(p[1]);
    close(s);
    close(c);
    close(l);
}

static void multiplexers(void)
{
    int p[2];
    if (pipe(p) != 0)
        abort();
    struct pollfd q[2] = {{p[0], POLLIN, 0}, {-1, POLLIN, 0}};
    printf("poll timeout: %d\n", poll(q, 2, 30));
    if (write(p[1], "z", 1) != 1)
        abort();
    int r = poll(q, 2, 1000);
    printf("poll ready: %d revents=%d %d\n", r, q[0].revents, q[1].revents);
    struct timespec ts = {0, 20000000};
    r = ppoll(q, 1, &ts, NULL);
    printf("ppoll ready: %d ts=%ld\n", r, ts.tv_nsec);
    char c;
    if (read(p[0], &c, 1) != 1)
        abort();
    r = ppoll(q, 1, &ts, NULL);
    printf("ppoll timeout: %d\n", r);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timeval tv = {0, 30000};
    r = select(p[0] + 1, &rs, NULL, NULL, &tv);
    printf("select timeout: %d set=%d left=%ld\n", r, FD_ISSET(p[0], &rs), (long)tv.tv_usec);
    FD_SET(p[0], &rs);
    fd_set ws;
    FD_ZERO(&ws);
    FD_SET(p[1], &ws);
    tv.tv_sec = 1;
    r = select(p[1] + 1, &rs, &ws, NULL, &tv);
    printf("select write: %d r=%d w=%d\n", r, FD_ISSET(p[0], &rs), FD_ISSET(p[1], &ws));
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    r = pselect(p[0] + 1, &rs, NULL, NULL, &ts, NULL);
    printf("pselect timeout: %d\n", r);
    /* select on a closed descriptor: EBADF. */
    int bad = dup(p[0]);
    close(bad);
    FD_ZERO(&rs);
    FD_SET(bad, &rs);
    errno = 0;
    r = select(bad + 1, &rs, NULL, NULL, &tv);
    printf("select closed: %d %s\n", r, errno == EBADF ? "EBADF" : strerror(errno));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    struct epoll_event out[4];
    printf("epoll timeout: %d\n", epoll_wait(ep, out, 4, 30));
    struct later w = {30, L_WRITE, p[1], 0, NULL, "e"};
    pthread_t t = after(&w);
    r = epoll_wait(ep, out, 4, -1);
    printf("epoll ready: %d fd=%d\n", r, r == 1 && out[0].data.fd == p[0]);
    pthread_join(t, NULL);
    sigset_t none;
    sigemptyset(&none);
    r = epoll_pwait(ep, out, 4, 1000, &none);
    printf("epoll_pwait ready: %d\n", r);
    /* poll interrupted by a signal: EINTR, whatever SA_RESTART says. */
    handle(SIGUSR2, 1);
    struct later k = {20, L_KILL2, 0, pthread_self(), NULL, NULL};
    t = after(&k);
    if (read(p[0], &c, 1) != 1)
        abort();
    q[0].events = POLLIN;
    errno = 0;
    r = poll(q, 1, 2000);
    printf("poll signal: %d %s\n", r, errno == EINTR ? "EINTR" : strerror(errno));
    pthread_join(t, NULL);
    close(ep);
    close(p[0]);
    close(p[1]);
}

static void sleeps(void)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec req = {0, 30000000}, rem = {9, 9};
    int r = nanosleep(&req, &rem);
    long ms = ms_since(&t0);
    printf("nanosleep: %d slept=%d\n", r, ms >= 30 && ms < 2000);
    handle(SIGUSR1, 1);
    struct later k = {20, L_KILL1, 0, pthread_self(), NULL, NULL};
    pthread_t t = after(&k);
    req.tv_sec = 5;
    errno = 0;
    r = nanosleep(&req, &rem);
    printf("nanosleep signal: %d %s rem=%d\n", r, errno == EINTR ? "EINTR" : strerror(errno),
           rem.tv_sec >= 3 && rem.tv_sec <= 5);
    pthread_join(t, NULL);
    printf("sleep 0: %u\n", sleep(0));
    t = after(&k);
    unsigned left = sleep(5);
    printf("sleep signal: left=%d\n", left >= 3 && left <= 5);
    pthread_join(t, NULL);
    printf("usleep: %d\n", usleep(2000));
    req.tv_sec = 0;
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL);
    printf("clock_nanosleep: %d\n", r);
    struct timespec abs;
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_nsec += 20000000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs, NULL);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    printf("clock_nanosleep abstime: %d after=%d\n", r,
           now.tv_sec > abs.tv_sec || (now.tv_sec == abs.tv_sec && now.tv_nsec >= abs.tv_nsec));
    t = after(&k);
    req.tv_sec = 5;
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
    printf("clock_nanosleep signal: %d rem=%d\n", r == EINTR, rem.tv_sec >= 3);
    pthread_join(t, NULL);
    t = after(&k);
    errno = 0;
    r = pause();
    printf("pause: %d %s\n", r, errno == EINTR ? "EINTR" : strerror(errno));
    pthread_join(t, NULL);
    sigset_t mask;
    sigemptyset(&mask);
    t = after(&k);
    errno = 0;
    r = sigsuspend(&mask);
    printf("sigsuspend: %d %s\n", r, errno == EINTR ? "EINTR" : strerror(errno));
    pthread_join(t, NULL);
    /* sigwait: SIGUSR2 blocked, then sent. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    struct later k2 = {20, L_KILL2, 0, pthread_self(), NULL, NULL};
    t = after(&k2);
    int sig = 0;
    r = sigwait(&set, &sig);
    printf("sigwait: %d sig=%d\n", r, sig == SIGUSR2);
    pthread_join(t, NULL);
    t = after(&k2);
    siginfo_t si;
    r = sigwaitinfo(&set, &si);
    printf("sigwaitinfo: %d\n", r == SIGUSR2);
    pthread_join(t, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    handle(SIGUSR1, 0);
}

static sem_t sem;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

static void sync_calls(void)
{
    struct timespec abs;
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_nsec += 30000000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&cm);
    int r = pthread_cond_timedwait(&cv, &cm, &abs);
    printf("cond_timedwait: %s\n", r == ETIMEDOUT ? "ETIMEDOUT" : strerror(r));
    struct later s = {20, L_SIGNAL_COND, 0, 0, NULL, NULL};
    pthread_t t = after(&s);
    while (!flag)
        pthread_cond_wait(&cv, &cm);
    r = pthread_mutex_trylock(&cm);
    printf("cond_wait: flag=%d trylock=%d\n", flag, r == EBUSY);
    pthread_mutex_unlock(&cm);
    pthread_join(t, NULL);
    printf("trylock free: %d\n", pthread_mutex_trylock(&cm));
    pthread_mutex_unlock(&cm);
    int r1 = pthread_rwlock_rdlock(&rw);
    int r2 = pthread_rwlock_tryrdlock(&rw);
    int r3 = pthread_rwlock_trywrlock(&rw);
    printf("rwlock: %d %d %d\n", r1, r2, r3 == EBUSY);
    pthread_rwlock_unlock(&rw);
    pthread_rwlock_unlock(&rw);
    printf("wrlock: %d\n", pthread_rwlock_wrlock(&rw));
    pthread_rwlock_unlock(&rw);

    sem_init(&sem, 0, 1);
    printf("sem_wait ready: %d\n", sem_wait(&sem));
    errno = 0;
    r = sem_timedwait(&sem, &abs);
    printf("sem_timedwait timeout: %d %s\n", r, errno == ETIMEDOUT ? "ETIMEDOUT" : strerror(errno));
    struct later p = {20, L_POST, 0, 0, &sem, NULL};
    t = after(&p);
    printf("sem_wait posted: %d\n", sem_wait(&sem));
    pthread_join(t, NULL);
    handle(SIGUSR1, 0);
    struct later k = {20, L_KILL1, 0, pthread_self(), NULL, NULL};
    t = after(&k);
    errno = 0;
    r = sem_wait(&sem);
    printf("sem_wait signal: %d %s\n", r, errno == EINTR ? "EINTR" : strerror(errno));
    pthread_join(t, NULL);

    pid_t child = fork();
    if (child == 0) {
        nap(30);
        _exit(7);
    }
    int st = 0;
    pid_t w = waitpid(child, &st, 0);
    printf("waitpid: %d status=%d\n", w == child, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    errno = 0;
    w = waitpid(-1, &st, 0);
    printf("waitpid none: %d %s\n", w, errno == ECHILD ? "ECHILD" : strerror(errno));
    child = fork();
    if (child == 0)
        _exit(3);
    w = wait(&st);
    printf("wait: %d status=%d\n", w == child, WEXITSTATUS(st));
}

static void stdio(void)
{
    int p[2];
    if (pipe(p) != 0)
        abort();
    FILE *f = fdopen(p[0], "r");
    struct later w = {30, L_WRITE, p[1], 0, NULL, "first line\nsecond\n3 4\nx,y\nabcdefgh"};
    pthread_t t = after(&w);
    char buf[64];
    printf("fgets: %s", fgets(buf, sizeof buf, f));
    int c1 = getc(f);
    int c2 = fgetc(f);
    printf("getc: %c fgetc: %c\n", c1, c2);
    char *line = NULL;
    size_t n = 0;
    ssize_t r = getline(&line, &n, f);
    printf("getline: %zd %s", r, line);
    int a = 0, b = 0;
    int k = fscanf(f, "%d %d\n", &a, &b);
    printf("fscanf: %d %d %d\n", k, a, b);
    r = getdelim(&line, &n, ',', f);
    printf("getdelim: %zd %s\n", r, line);
    c1 = getc_unlocked(f);
    c2 = fgetc_unlocked(f);
    printf("getc_unlocked: %c fgetc_unlocked: %c\n", c1, c2);
    size_t got = fread(buf, 1, 4, f);
    printf("fread: %zu %.4s\n", got, buf);
    pthread_join(t, NULL);
    close(p[1]);
    got = fread(buf, 1, 64, f);
    printf("fread eof: %zu %.4s eof=%d\n", got, buf, feof(f) != 0);
    printf("getc eof: %d\n", getc(f));
    free(line);
    fclose(f);
    /* stdin is /dev/null in the tests. */
    c1 = getchar();
    k = scanf("%d", &a);
    c2 = getchar_unlocked();
    printf("getchar: %d scanf: %d getchar_unlocked: %d\n", c1, k, c2);
}

static void *joined(void *arg)
{
    nap(20);
    return arg;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    reads();
    writes();
    sockets();
    interrupted();
    multiplexers();
    sleeps();
    sync_calls();
    stdio();
    pthread_t t;
    pthread_create(&t, NULL, joined, (void *)42);
    void *ret = NULL;
    int r = pthread_join(t, &ret);
    printf("pthread_join: %d %ld\n", r, (long)ret);
    /* Loop a little so that self-tests have points to act at. */
    int sum = 0, i = 0;
    while (i < 100)
        sum += i++;
    printf("done %d\n", sum);
    return 0;
}
