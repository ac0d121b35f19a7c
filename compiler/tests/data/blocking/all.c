/* Every function upstare-cc routes to the runtime's wrappers, in one unit: compiles without warnings
 * under -Wall -Wextra -Werror, fortified or not, and calls no blocking libc function directly
 * (tests/blocking.rs). Never run. */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sys/sendfile.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

int all(int fd, FILE *fp) {
    char buf[64];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr mh = {0};
    struct pollfd p = {fd, POLLIN, 0};
    struct timespec ts = {0, 1000};
    fd_set rs;
    sigset_t set;
    int sig, st, x = 0;
    struct epoll_event ev;
    sem_t s;
    char *line = NULL;
    size_t n = 0;
    FD_ZERO(&rs);
    sigemptyset(&set);
    x += (int)read(fd, buf, sizeof buf) + (int)readv(fd, &iov, 1) + (int)recv(fd, buf, 1, 0);
    x += (int)recvfrom(fd, buf, 1, 0, NULL, NULL) + (int)recvmsg(fd, &mh, 0);
    x += (int)write(fd, buf, 1) + (int)writev(fd, &iov, 1) + (int)send(fd, buf, 1, 0);
    x += (int)sendto(fd, buf, 1, 0, NULL, 0) + (int)sendmsg(fd, &mh, 0) + (int)sendfile(fd, fd, NULL, 1);
    x += accept(fd, NULL, NULL) + accept4(fd, NULL, NULL, 0) + connect(fd, NULL, 0);
    x += poll(&p, 1, 1) + ppoll(&p, 1, &ts, NULL) + select(1, &rs, NULL, NULL, NULL);
    x += pselect(1, &rs, NULL, NULL, &ts, NULL) + epoll_wait(fd, &ev, 1, 1) + epoll_pwait(fd, &ev, 1, 1, &set);
    x += nanosleep(&ts, NULL) + (int)sleep(0) + usleep(1) + clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    x += pause() + sigsuspend(&set) + sigwait(&set, &sig) + sigwaitinfo(&set, NULL);
    x += pthread_mutex_lock(&m) + pthread_cond_wait(&c, &m) + pthread_cond_timedwait(&c, &m, &ts);
    x += pthread_mutex_unlock(&m) + pthread_mutex_trylock(&m);
    x += pthread_rwlock_rdlock(&rw) + pthread_rwlock_wrlock(&rw) + pthread_rwlock_unlock(&rw);
    x += pthread_rwlock_tryrdlock(&rw) + pthread_rwlock_trywrlock(&rw);
    x += sem_wait(&s) + sem_timedwait(&s, &ts) + waitpid(-1, &st, 0) + wait(&st);
    x += pthread_join(pthread_self(), NULL);
    x += fgets(buf, sizeof buf, fp) != NULL;
    x += getc(fp) + fgetc(fp) + getchar() + (int)getline(&line, &n, fp) + (int)getdelim(&line, &n, ',', fp);
    x += (int)fread(buf, 1, 1, fp) + scanf("%d", &sig) + fscanf(fp, "%d", &sig);
    x += getc_unlocked(fp) + fgetc_unlocked(fp) + getchar_unlocked();
    return x;
}
