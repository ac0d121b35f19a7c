/* Loops whose step expression (and condition) contain calls, with continue (which must still
 * run the step) and locals declared in the for clause. */
#include <stdio.h>

static int steps;
static int advance(int i) { steps++; return i + 1 + (i % 3 == 0); }
static int limit(void) { return 40; }

int main(void) {
    int s = 0;
    for (int i = 0; i < limit(); i = advance(i)) {
        if (i % 4 == 1) continue;
        s += i;
    }
    int j;
    for (j = 100; j > 0; j -= advance(j % 7))
        if (j % 2) continue; else s ^= j;
    for (unsigned u = 1, v = 2; u < 1000; u = (unsigned)advance((int)u) * 2, v += u)
        s += (int)(v % 17);
    printf("s=%d j=%d steps=%d\n", s, j, steps);
    return 0;
}
