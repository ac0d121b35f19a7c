/* Where calls go (tests/blocking.rs): blocking calls to the runtime's wrappers (`__us_w_NAME`),
 * lock bookkeeping (unlock, trylock) everywhere, counting-only locks (`__us_wn_NAME`) where no
 * call point is possible. */
#include <pthread.h>
#include <stdarg.h>
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

static int total(int n, ...) {                /* variadic: pinned, counting lock only */
    va_list ap;
    va_start(ap, n);
    int s = 0;
    pthread_mutex_lock(&m);
    for (int i = 0; i < n; i++) s += va_arg(ap, int);
    pthread_mutex_unlock(&m);
    va_end(ap);
    return s;
}

int main(void) {
    char buf[16];
    bump();
    release();
    printf("%ld %d %d %d\n", get(0, buf), through(read), peek(), total(2, 1, 2));
    sleep(1);
    return 0;
}
