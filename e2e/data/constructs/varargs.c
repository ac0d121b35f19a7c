/* Variadic functions using va_list: summing, forwarding a va_list to vsnprintf, va_copy, and a
 * variadic function called in a loop and recursively. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static long sum(int n, ...) {
    va_list ap;
    va_start(ap, n);
    long s = 0;
    for (int i = 0; i < n; i++) s += va_arg(ap, int);
    va_end(ap);
    return s;
}

static double mixed(const char *fmt, ...) {
    va_list ap, cp;
    va_start(ap, fmt);
    va_copy(cp, ap);
    double d = 0;
    for (const char *p = fmt; *p; p++) {
        if (*p == 'i') d += va_arg(ap, int);
        else if (*p == 'd') d += va_arg(ap, double);
        else if (*p == 'l') d += (double)va_arg(ap, long long);
    }
    double first = *fmt == 'd' ? va_arg(cp, double) : 0;
    va_end(cp);
    va_end(ap);
    return d + first;
}

static char buf[256];
static int say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + strlen(buf), sizeof buf - strlen(buf), fmt, ap);
    va_end(ap);
    return n;
}

static int countdown(int n, ...) {
    if (n == 0) return 0;
    va_list ap;
    va_start(ap, n);
    int v = va_arg(ap, int);
    va_end(ap);
    return v + countdown(n - 1, v * 2);
}

int main(void) {
    long t = 0;
    { /* while, not for: a counted for-loop has no update point of its own, this loop must have one */
    int i = 0;
    while (i < 30) {
        t += sum(4, i, i * 2, -i, 7) + sum(1, i);
        i++;
    }
    }
    double m = mixed("idld", 3, 2.5, 10000000000LL, 0.25) + mixed("dd", 1.5, 2.0);
    int w = 0;
    for (int i = 0; i < 5; i++) w += say("[%d:%s:%.2f]", i, i % 2 ? "odd" : "even", i / 3.0);
    printf("t=%ld m=%.3f w=%d buf=%s cd=%d\n", t, m, w, buf, countdown(10, 1));
    return 0;
}
