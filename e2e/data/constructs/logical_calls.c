/* && || and ?: with calls on each side: short-circuit order and values must be preserved. */
#include <stdio.h>

static char trace[512];
static int tlen;

static int t(int id, int v) {
    if (tlen < 500) trace[tlen++] = (char)('a' + id % 26);
    return v;
}

static int pick(int x) { return x % 3 == 0 ? t(0, x) : x % 3 == 1 ? t(1, -x) : t(2, x * 2); }

int main(void) {
    unsigned acc = 0;
    { /* while, not for: a counted for-loop has no update point of its own, this loop must have one */
    int i = 0;
    while (i < 24) {
        int a = t(3, i & 1) && t(4, i & 2);
        int b = t(5, i & 4) || t(6, i & 8);
        int c = (t(7, i % 5) > 2) ? t(8, i) : t(9, -i);
        int d = (t(10, i & 1) || t(11, 0)) && (t(12, i > 10) || t(13, i < 3));
        int e = t(14, i) > 5 ? (t(15, i) > 15 ? t(16, 1) : t(17, 2)) : t(18, 3);
        acc = acc * 7 + (unsigned)(a + 2 * b + 3 * c + 5 * d + 11 * e + pick(i));
        i++;
    }
    }
    trace[tlen] = 0;
    printf("acc=%u\ntrace=%s\n", acc, trace);
    return 0;
}
