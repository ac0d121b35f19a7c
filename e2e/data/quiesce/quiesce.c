/* Immediate quiescence: 17 threads blocked in as many kinds of blocking call (one of them in a
 * CPU loop, one holding a contended mutex while it sleeps), then the program asks for an update of
 * itself: a strict round in which every registered thread must unwind and park, so every
 * blocked call must wake up at once, return to its call site, unwind, and be made again after
 * the rebuild. Then the program wakes every thread the normal way, and each one reports that
 * its call completed as it should. The output is the same with gcc (where the request does
 * nothing); the runtime's report (UPSTARE_VERBOSE=1) tells that the round completed. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Defined by the upstare runtime (upstare.h); absent from a plain gcc build. */
int upstare_request_self_update(void) __attribute__((weak));

enum {
    ACCEPT, READ_TCP, RECV_UNIX, COND, SLEEP, HOLDER, WAITER, SEM, WAITPID, FGETS, EPOLL, CPU,
    POLL, SELECT, SEM_TIMED, COND_TIMED, JOIN, NTHREADS
};
static const char *const names[NTHREADS] = {
    "accept", "read", "recv", "cond_wait", "sleep", "mutex holder", "mutex waiter", "sem_wait",
    "waitpid", "fgets", "epoll_wait", "cpu loop", "poll", "select", "sem_timedwait",
    "cond_timedwait", "pthread_join",
};

static char result[NTHREADS][80];
static sem_t ready, holding, sem1, sem2;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER, lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER, cv2 = PTHREAD_COND_INITIALIZER;
static int flag, flag2;
static volatile int stop;
static int listener, tcp_server, tcp_client, unix_pair[2], child_pipe[2], fgets_pipe[2];
static int epoll_pipe[2], poll_pipe[2], select_pipe[2], ep;
static struct sockaddr_in listen_addr;
static struct timespec far_deadline;
static pthread_t threads[NTHREADS];

static void *worker(void *arg)
{
    int k = (int)(long)arg;
    char buf[64];
    ssize_t n;
    int r;
    sem_post(&ready);
    switch (k) {
    case ACCEPT:
        r = accept(listener, NULL, NULL);
        n = r >= 0 ? read(r, buf, sizeof buf) : -1;
        snprintf(result[k], sizeof result[k], "%s %.*s", r >= 0 ? "connected" : "failed",
                 (int)(n > 0 ? n : 0), buf);
        if (r >= 0)
            close(r);
        break;
    case READ_TCP:
        n = read(tcp_server, buf, sizeof buf);
        snprintf(result[k], sizeof result[k], "%zd %.*s", n, (int)(n > 0 ? n : 0), buf);
        break;
    case RECV_UNIX:
        n = recv(unix_pair[1], buf, sizeof buf, 0);
        snprintf(result[k], sizeof result[k], "%zd %.*s", n, (int)(n > 0 ? n : 0), buf);
        break;
    case COND:
        pthread_mutex_lock(&m);
        while (!flag)
            pthread_cond_wait(&cv, &m);
        snprintf(result[k], sizeof result[k], "flag=%d", flag);
        pthread_mutex_unlock(&m);
        break;
    case SLEEP:
        r = (int)sleep(2);
        snprintf(result[k], sizeof result[k], "%d", r);
        break;
    case HOLDER:
        pthread_mutex_lock(&lock);
        sem_post(&holding);
        /* Holding the lock: this thread may not unwind, so its sleep runs its course. */
        usleep(150000);
        pthread_mutex_unlock(&lock);
        snprintf(result[k], sizeof result[k], "slept holding the lock");
        break;
    case WAITER:
        sem_wait(&holding);
        r = pthread_mutex_lock(&lock);
        snprintf(result[k], sizeof result[k], "locked %d", r);
        pthread_mutex_unlock(&lock);
        break;
    case SEM:
        r = sem_wait(&sem1);
        snprintf(result[k], sizeof result[k], "%d", r);
        break;
    case WAITPID: {
        pid_t c = fork();
        if (c == 0) {
            char x;
            close(child_pipe[1]);
            _exit(read(child_pipe[0], &x, 1) == 1 ? x - '0' : 99);
        }
        int st = 0;
        pid_t w = waitpid(c, &st, 0);
        snprintf(result[k], sizeof result[k], "%s status=%d", w == c ? "child" : "?",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        break;
    }
    case FGETS: {
        FILE *f = fdopen(fgets_pipe[0], "r");
        char *s = fgets(buf, sizeof buf, f);
        snprintf(result[k], sizeof result[k], "%s", s ? s : "(null)\n");
        result[k][strcspn(result[k], "\n")] = 0;
        fclose(f);
        break;
    }
    case EPOLL: {
        struct epoll_event ev;
        r = epoll_wait(ep, &ev, 1, -1);
        snprintf(result[k], sizeof result[k], "%d fd=%d", r, ev.data.fd == epoll_pipe[0]);
        break;
    }
    case CPU: {
        unsigned long spins = 0;
        while (!stop)
            spins++;
        snprintf(result[k], sizeof result[k], "stopped %d", spins > 0);
        break;
    }
    case POLL: {
        struct pollfd p = {poll_pipe[0], POLLIN, 0};
        r = poll(&p, 1, -1);
        snprintf(result[k], sizeof result[k], "%d revents=%d", r, p.revents);
        break;
    }
    case SELECT: {
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(select_pipe[0], &rs);
        r = select(select_pipe[0] + 1, &rs, NULL, NULL, NULL);
        snprintf(result[k], sizeof result[k], "%d set=%d", r, FD_ISSET(select_pipe[0], &rs));
        break;
    }
    case SEM_TIMED:
        r = sem_timedwait(&sem2, &far_deadline);
        snprintf(result[k], sizeof result[k], "%d", r);
        break;
    case COND_TIMED:
        pthread_mutex_lock(&m);
        r = 0;
        while (!flag2 && r == 0)
            r = pthread_cond_timedwait(&cv2, &m, &far_deadline);
        snprintf(result[k], sizeof result[k], "%d flag=%d", r, flag2);
        pthread_mutex_unlock(&m);
        break;
    case JOIN: {
        void *ret = &ret;
        r = pthread_join(threads[CPU], &ret);
        snprintf(result[k], sizeof result[k], "%d the cpu loop returned %s", r,
                 ret ? "?" : "null");
        break;
    }
    }
    return NULL;
}

static void setup(void)
{
    listener = socket(AF_INET, SOCK_STREAM, 0);
    int l2 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(listener, (struct sockaddr *)&a, sizeof a) != 0 || listen(listener, 4) != 0 ||
        getsockname(listener, (struct sockaddr *)&listen_addr, &al) != 0)
        abort();
    al = sizeof a;
    if (bind(l2, (struct sockaddr *)&a, sizeof a) != 0 || listen(l2, 4) != 0 ||
        getsockname(l2, (struct sockaddr *)&a, &al) != 0)
        abort();
    tcp_client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(tcp_client, (struct sockaddr *)&a, sizeof a) != 0)
        abort();
    tcp_server = accept(l2, NULL, NULL);
    close(l2);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, unix_pair) != 0 || pipe(child_pipe) != 0 ||
        pipe(fgets_pipe) != 0 || pipe(epoll_pipe) != 0 || pipe(poll_pipe) != 0 ||
        pipe(select_pipe) != 0)
        abort();
    ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = epoll_pipe[0]};
    epoll_ctl(ep, EPOLL_CTL_ADD, epoll_pipe[0], &ev);
    sem_init(&ready, 0, 0);
    sem_init(&holding, 0, 0);
    sem_init(&sem1, 0, 0);
    sem_init(&sem2, 0, 0);
    clock_gettime(CLOCK_REALTIME, &far_deadline);
    far_deadline.tv_sec += 60;
}

static void put(int fd, const char *s)
{
    if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
        abort();
}

static void wake_all(void)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&listen_addr, sizeof listen_addr) != 0)
        abort();
    put(c, "hi");
    close(c);
    put(tcp_client, "tcp");
    put(unix_pair[0], "unix");
    pthread_mutex_lock(&m);
    flag = 1;
    flag2 = 1;
    pthread_cond_broadcast(&cv);
    pthread_cond_broadcast(&cv2);
    pthread_mutex_unlock(&m);
    sem_post(&sem1);
    sem_post(&sem2);
    put(child_pipe[1], "7");
    put(fgets_pipe[1], "a line\n");
    put(epoll_pipe[1], "e");
    stop = 1;
    put(poll_pipe[1], "p");
    put(select_pipe[1], "s");
}

int main(void)
{
    setup();
    pthread_t *t = threads;
    for (long k = 0; k < NTHREADS; k++)
        pthread_create(&t[k], NULL, worker, (void *)k);
    for (int k = 0; k < NTHREADS; k++)
        sem_wait(&ready);
    /* Let them reach their calls. */
    struct timespec settle = {0, 50000000};
    nanosleep(&settle, NULL);
    int requested = upstare_request_self_update ? upstare_request_self_update() : 1;
    /* The main thread takes part too: woken in its sleep, it parks, and then sleeps on until
     * the original deadline. */
    struct timespec wait = {1, 0};
    nanosleep(&wait, NULL);
    wake_all();
    for (int k = 0; k < NTHREADS; k++)
        if (k != CPU) /* joined by the JOIN thread */
            pthread_join(t[k], NULL);
    printf("requested %d\n", requested);
    for (int k = 0; k < NTHREADS; k++)
        printf("%s: %s\n", names[k], result[k]);
    return 0;
}
