/* Compiles without warnings under -Wall -Wextra -Werror, plain or instrumented: the
 * instrumented text must not add any (setjmp bookkeeping, fall-through comments lost by the
 * preprocessor, array parameters saved in records, volatile and const locals, blocking calls
 * routed to the runtime's wrappers). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static jmp_buf env;

static int walk(const int list[], int n) {
    volatile int seen = 0;
    const int limit = n;
    int i = 0;
    while (i < limit) {
        switch (list[i] % 3) {
        case 0:
            seen++;
            /* fall through */
        case 1:
            seen += 2;
            break;
        default:
            break;
        }
        printf("%d\n", list[0] + seen);
        i++;
    }
    return seen;
}

static int sum(int count, ...) {
    va_list ap;
    va_start(ap, count);
    int s = 0;
    while (count-- > 0) s += va_arg(ap, int);
    va_end(ap);
    return s;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static long copy_some(int in, int out) {
    char buf[32];
    const struct timespec nap = {0, 1000};
    pthread_mutex_lock(&lock);
    ssize_t n = read(in, buf, sizeof buf);
    if (n > 0 && nanosleep(&nap, NULL) == 0)
        n = write(out, buf, (size_t)n);
    pthread_mutex_unlock(&lock);
    return (long)n;
}

int main(void) {
    int data[4] = {3, 4, 5, 6};
    int r = 0;
    if (setjmp(env) == 0) {
        r = walk(data, 4) + sum(3, 1, 2, 3) + (int)copy_some(-1, -1);
        longjmp(env, 1);
    }
    printf("%d\n", r);
    return 0;
}
