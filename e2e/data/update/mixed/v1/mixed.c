/* mixed, version 1: 16 threads, each blocked or busy in a different way (accept, read on idle
 * sockets, a condition variable, sleeps, a contended mutex, CPU loops), plus main reading
 * commands from stdin. "poke" wakes the blocked ones once; each thread prints its kind, its
 * iteration count and a local sum after every wake-up. Version 2 changes every one of these
 * functions (it prints v2 and adds 2 per iteration to its local sum). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STEP 1
#define TAG "v1"

static int listeners[2], ports[2];
static int pairs[3][2];
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long cond_gen;
static pthread_mutex_t hot = PTHREAD_MUTEX_INITIALIZER;
static long hot_count;
static volatile int quit;

static void report(const char *kind, long id, long it, long sum)
{
    printf(TAG " %s %ld it=%ld sum=%ld\n", kind, id, it, sum);
}

static void *acceptor(void *arg)
{
    long id = (long)arg, sum = 0;
    for (long it = 0; !quit; it++) {
        int fd = accept(listeners[id], NULL, NULL);
        if (fd >= 0)
            close(fd);
        sum += STEP;
        report("accept", id, it, sum);
    }
    return NULL;
}

static void *reader(void *arg)
{
    long id = (long)arg, sum = 0;
    char c;
    for (long it = 0; !quit; it++) {
        if (read(pairs[id][1], &c, 1) != 1)
            break;
        sum += STEP;
        report("read", id, it, sum);
    }
    return NULL;
}

static void *waiter(void *arg)
{
    long id = (long)arg, sum = 0;
    pthread_mutex_lock(&cm);
    long seen = 0; /* a waiter that starts after the first poke still sees it */
    for (long it = 0; !quit; it++) {
        while (cond_gen == seen && !quit)
            pthread_cond_wait(&cv, &cm);
        seen = cond_gen;
        sum += STEP;
        report("cond", id, it, sum);
    }
    pthread_mutex_unlock(&cm);
    return NULL;
}

static void *sleeper(void *arg)
{
    long id = (long)arg, sum = 0;
    for (long it = 0; !quit; it++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        sum += STEP;
        if (it % 10 == 0)
            report("sleep", id, it, sum);
    }
    return NULL;
}

static void *contender(void *arg)
{
    long id = (long)arg, sum = 0;
    for (long it = 0; !quit; it++) {
        pthread_mutex_lock(&hot);
        hot_count++;
        usleep(200);
        pthread_mutex_unlock(&hot);
        sum += STEP;
        if (it % 50 == 0)
            report("mutex", id, it, sum);
        usleep(100);
    }
    return NULL;
}

static void *spinner(void *arg)
{
    long id = (long)arg, sum = 0;
    volatile long x = 0;
    for (long it = 0; !quit; it++) {
        for (int k = 0; k < 200000; k++)
            x += k;
        sum += STEP;
        if (it % 100 == 0)
            report("cpu", id, it, sum);
    }
    return NULL;
}

static int listen_any(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 8) != 0)
        exit(2);
    getsockname(s, (struct sockaddr *)&a, &alen);
    *port = ntohs(a.sin_port);
    return s;
}

static void knock(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0)
        close(s);
}

int main(void)
{
    pthread_t t[16];
    int n = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int k = 0; k < 2; k++)
        listeners[k] = listen_any(&ports[k]);
    for (int k = 0; k < 3; k++)
        socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[k]);
    for (long k = 0; k < 2; k++)
        pthread_create(&t[n++], NULL, acceptor, (void *)k);
    for (long k = 0; k < 3; k++)
        pthread_create(&t[n++], NULL, reader, (void *)k);
    for (long k = 0; k < 3; k++)
        pthread_create(&t[n++], NULL, waiter, (void *)k);
    for (long k = 0; k < 2; k++)
        pthread_create(&t[n++], NULL, sleeper, (void *)k);
    for (long k = 0; k < 3; k++)
        pthread_create(&t[n++], NULL, contender, (void *)k);
    for (long k = 0; k < 2; k++)
        pthread_create(&t[n++], NULL, spinner, (void *)k);
    printf("ready %d threads\n", n + 1);
    char line[64];
    long pokes = 0;
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "poke", 4) == 0) {
            for (int k = 0; k < 2; k++)
                knock(ports[k]);
            for (int k = 0; k < 3; k++)
                if (write(pairs[k][0], "x", 1) != 1)
                    return 3;
            pthread_mutex_lock(&cm);
            cond_gen++;
            pthread_cond_broadcast(&cv);
            pthread_mutex_unlock(&cm);
            pokes++;
            printf(TAG " main poked %ld\n", pokes);
        }
    }
    printf(TAG " main quit pokes=%ld\n", pokes);
    _exit(0);
}
