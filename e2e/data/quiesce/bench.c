/* Benchmarks of blocking calls (e2e/src/bin/bench_quiesce.rs), never a test.
 *
 *   bench pipe N | sock N | cond N  -> "ns/op X": ping-pong between two threads (every read
 *                                      blocks: the wrappers' slow path, against gcc)
 *   bench piperw N | sockrw N | mutex N | poll N -> the same thread writes then reads, locks
 *                                      then unlocks, polls a ready pipe (the fast path)
 *   bench blocked T KIND                                 -> T threads blocked in KIND (read,
 *       cond, sem, sleep, poll, epoll, mix), "ready", then waits for a line on stdin; updates
 *       run meanwhile (how fast blocked threads quiesce).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long n_ops;
static int a2b[2], b2a[2];
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ca = PTHREAD_COND_INITIALIZER, cb = PTHREAD_COND_INITIALIZER;
static int turn;
static volatile int sink;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void *echo(void *arg)
{
    int sock = arg != NULL;
    char c;
    long i = 0;
    while (i < n_ops) {
        if ((sock ? recv(a2b[1], &c, 1, 0) : read(a2b[0], &c, 1)) != 1)
            abort();
        if ((sock ? send(b2a[1], &c, 1, 0) : write(b2a[1], &c, 1)) != 1)
            abort();
        i++;
    }
    return NULL;
}

static double pingpong(int sock)
{
    if (sock) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, a2b) != 0 ||
            socketpair(AF_UNIX, SOCK_STREAM, 0, b2a) != 0)
            abort();
    } else if (pipe(a2b) != 0 || pipe(b2a) != 0) {
        abort();
    }
    int out = sock ? a2b[0] : a2b[1], in = sock ? b2a[0] : b2a[0];
    pthread_t t;
    pthread_create(&t, NULL, echo, sock ? (void *)1 : NULL);
    char c = 'x';
    double t0 = now();
    long i = 0;
    while (i < n_ops) {
        if ((sock ? send(out, &c, 1, 0) : write(out, &c, 1)) != 1)
            abort();
        if ((sock ? recv(in, &c, 1, 0) : read(in, &c, 1)) != 1)
            abort();
        i++;
    }
    double dt = now() - t0;
    pthread_join(t, NULL);
    return dt / n_ops;
}

/* Write then read one byte on the same thread: the data is always there. */
static double rw(int sock)
{
    int p[2];
    if (sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, p) != 0 : pipe(p) != 0)
        abort();
    char c = 'x';
    double t0 = now();
    long i = 0;
    while (i < n_ops) {
        if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
            abort();
        i++;
    }
    return (now() - t0) / n_ops;
}

static double mutexes(void)
{
    double t0 = now();
    long i = 0;
    while (i < n_ops) {
        pthread_mutex_lock(&m);
        sink++;
        pthread_mutex_unlock(&m);
        i++;
    }
    return (now() - t0) / n_ops;
}

static void *cond_peer(void *arg)
{
    (void)arg;
    long i = 0;
    pthread_mutex_lock(&m);
    while (i < n_ops) {
        while (turn != 1)
            pthread_cond_wait(&cb, &m);
        turn = 0;
        pthread_cond_signal(&ca);
        i++;
    }
    pthread_mutex_unlock(&m);
    return NULL;
}

static double conds(void)
{
    pthread_t t;
    pthread_create(&t, NULL, cond_peer, NULL);
    double t0 = now();
    long i = 0;
    pthread_mutex_lock(&m);
    while (i < n_ops) {
        turn = 1;
        pthread_cond_signal(&cb);
        while (turn != 0)
            pthread_cond_wait(&ca, &m);
        i++;
    }
    pthread_mutex_unlock(&m);
    double dt = now() - t0;
    pthread_join(t, NULL);
    return dt / n_ops;
}

static double polls(void)
{
    if (pipe(a2b) != 0 || write(a2b[1], "x", 1) != 1)
        abort();
    struct pollfd p = {a2b[0], POLLIN, 0};
    double t0 = now();
    long i = 0;
    while (i < n_ops) {
        if (poll(&p, 1, 1000) != 1)
            abort();
        i++;
    }
    return (now() - t0) / n_ops;
}

/* ----- blocked threads ----- */

static sem_t sem, ready;
static int ep;

static void *blocked(void *arg)
{
    int kind = (int)(long)arg;
    char c;
    sem_post(&ready);
    switch (kind) {
    case 0: {
        int p[2];
        if (pipe(p) != 0)
            abort();
        if (read(p[0], &c, 1) < 0)
            abort();
        break;
    }
    case 1:
        pthread_mutex_lock(&m);
        while (!turn)
            pthread_cond_wait(&ca, &m);
        pthread_mutex_unlock(&m);
        break;
    case 2:
        sem_wait(&sem);
        break;
    case 3:
        sleep(100000);
        break;
    case 4: {
        int p[2];
        if (pipe(p) != 0)
            abort();
        struct pollfd q = {p[0], POLLIN, 0};
        poll(&q, 1, -1);
        break;
    }
    default: {
        struct epoll_event ev;
        epoll_wait(ep, &ev, 1, -1);
        break;
    }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *mode = argv[1];
    if (strcmp(mode, "blocked") == 0) {
        int t = atoi(argv[2]);
        const char *kinds[] = {"read", "cond", "sem", "sleep", "poll", "epoll"};
        int kind = -1;
        for (int k = 0; k < 6; k++)
            if (argc > 3 && strcmp(argv[3], kinds[k]) == 0)
                kind = k;
        sem_init(&sem, 0, 0);
        sem_init(&ready, 0, 0);
        ep = epoll_create1(0);
        for (long i = 0; i < t; i++) {
            pthread_t th;
            pthread_create(&th, NULL, blocked, (void *)(kind >= 0 ? kind : i % 6));
            pthread_detach(th);
        }
        for (int i = 0; i < t; i++)
            sem_wait(&ready);
        printf("ready\n");
        fflush(stdout);
        char line[16];
        if (!fgets(line, sizeof line, stdin))
            return 0;
        return 0;
    }
    n_ops = atol(argv[2]);
    double ns = 0;
    if (strcmp(mode, "pipe") == 0)
        ns = pingpong(0);
    else if (strcmp(mode, "sock") == 0)
        ns = pingpong(1);
    else if (strcmp(mode, "piperw") == 0)
        ns = rw(0);
    else if (strcmp(mode, "sockrw") == 0)
        ns = rw(1);
    else if (strcmp(mode, "mutex") == 0)
        ns = mutexes();
    else if (strcmp(mode, "cond") == 0)
        ns = conds();
    else if (strcmp(mode, "poll") == 0)
        ns = polls();
    printf("ns/op %.1f\n", ns);
    return 0;
}
