/* Compound assignment whose right side is a call: `a[i] += f(x)`, with the index computed by
 * another call, through a pointer returned by a call, and on struct fields. The callee changes
 * only state the left side does not read, so evaluation order is fully specified. */
#include <stdio.h>

static unsigned a[16];
static unsigned side[16];
static int f(int x) { side[x % 16] ^= (unsigned)x; return x * 3; }
static int slot(int x) { return (x * 7 + 1) % 16; }
static unsigned *cell(int i) { return &a[i % 16]; }
struct acc { long sum; unsigned mask; };

int main(void) {
    int i = 0;
    struct acc s = {0, 0};
    { /* while, not for: a counted for-loop has no update point of its own, this loop must have one */
    int x = 0;
    while (x < 50) {
        a[i] += f(x);
        a[slot(x)] -= f(x + 1);
        *cell(x) *= 1u + (unsigned)f(x) % 3u;
        i = (i + 5) % 16;
        a[x % 16] <<= f(1) % 2;
        s.sum += f(x) - f(x / 2);
        s.mask |= (unsigned)f(x) & 0xF0u;
        x++;
    }
    }
    unsigned long h = 0;
    for (int k = 0; k < 16; k++) h = h * 7 + a[k] + side[k];
    printf("h=%lu i=%d sum=%ld mask=%x\n", h, i, s.sum, s.mask);
    return 0;
}
