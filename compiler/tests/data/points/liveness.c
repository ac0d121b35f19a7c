/* What a record holds: only the locals that may still be read after the point. */
#include <stdio.h>

static int step(int x) {
    int y = 0;
    while (x > 1) { x = x % 2 ? 3 * x + 1 : x / 2; y++; }
    return y;
}

int main(void) {
    int before = step(27);          /* call:step#1: the record holds only the call's temporary */
    int once = before * 2;          /* read once, before the loop: dead at every later point */
    printf("%d\n", once);
    int total = 0;
    for (int i = 0; i < 3; i++) {
        int tmp = i * 10;           /* dead at call:step#2 (last read before it) */
        total += tmp;
        total += step(i + 5);       /* `total` and `i` live: the loop goes round again */
    }
    printf("%d %d\n", before, total);
    return 0;
}
