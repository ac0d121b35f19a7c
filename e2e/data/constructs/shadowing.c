/* Locals shadowing outer locals (and parameters) with the same name in nested blocks, with
 * calls and loops in each block so that every scope is live at an update point. */
#include <stdio.h>

static int g(int x) { return x * 2 + 1; }

static int f(int x) {
    int r = x;
    for (int i = 0; i < 3; i++) {
        int x = g(i) + r;
        r += x;
        {
            int x = g(r % 10);
            for (int r = 0; r < 2; r++) x += g(r);
            r ^= x;
        }
        r += x;
    }
    return r + x;
}

int main(void) {
    int x = 10, total = 0;
    for (int x = 0; x < 5; x++) {
        total += f(x);
        {
            int total = g(x);
            x += total > 100;
        }
    }
    {
        int x = 3;
        while (x--) {
            int total = f(x);
            (void)total;
        }
    }
    printf("x=%d total=%d\n", x, total);
    return 0;
}
