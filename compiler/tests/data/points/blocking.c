/* Blocking calls: call points routed to the runtime's wrappers (`__us_w_NAME`); lock
 * bookkeeping (unlock, trylock) is routed everywhere but is no point. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int counter;

static long get(int fd, char *buf) {          /* read: call:read#1, no entry point */
    return read(fd, buf + 1, 15);
}

static void bump(void) {                      /* the lock is a point, the unlock is not */
    pthread_mutex_lock(&m);
    counter++;
    pthread_mutex_unlock(&m);
}

static void release(void) { pthread_mutex_unlock(&m); }   /* uninstrumented, still routed */

static int through(ssize_t (*read)(int, void *, size_t)) {  /* a parameter: not routed */
    char c;
    return (int)read(0, &c, 1);
}

static int peek(void) {                       /* a statement expression: counting lock only */
    return ({ pthread_mutex_lock(&m); int v = counter; pthread_mutex_unlock(&m); v; });
}

int main(void) {
    char buf[16];
    bump();
    release();
    printf("%ld %d %d\n", get(0, buf), through(read), peek());
    sleep(1);
    return 0;
}
