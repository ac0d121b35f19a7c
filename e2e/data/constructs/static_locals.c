/* Static locals in functions and in nested blocks, with the same name in different functions,
 * counting across calls in loops and recursion. */
#include <stdio.h>

static int counter(void) { static int n; return ++n; }
static int other(void) { static int n = 100; n += 3; return n; }
static int rec(int d) {
    static int depth_max;
    if (d > depth_max) depth_max = d;
    return d < 12 ? rec(d + 1) + 1 : depth_max;
}
static const char *name(int i) {
    static char buf[16];
    static const char *names[] = {"zero", "one", "two"};
    snprintf(buf, sizeof buf, "%s#%d", names[i % 3], i);
    return buf;
}

int main(void) {
    int s = 0;
    for (int i = 0; i < 25; i++) {
        s += counter() * 2 - other();
        {
            static int inner = 5;
            inner = inner * 3 % 101;
            s += inner;
        }
    }
    printf("s=%d counter=%d other=%d rec=%d name=%s\n", s, counter(), other(), rec(0), name(7));
    return 0;
}
