/* Compiles without warnings under -Wall -Wextra -Werror, plain or instrumented: the
 * instrumented text must not add any (setjmp bookkeeping, fall-through comments lost by the
 * preprocessor, array parameters saved in records, volatile and const locals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

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

int main(void) {
    int data[4] = {3, 4, 5, 6};
    int r = 0;
    if (setjmp(env) == 0) {
        r = walk(data, 4) + sum(3, 1, 2, 3);
        longjmp(env, 1);
    }
    printf("%d\n", r);
    return 0;
}
