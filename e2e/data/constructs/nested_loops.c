/* Nested loops of every kind with continue and break at several depths and calls in the bodies. */
#include <stdio.h>

static unsigned acc = 5381;
static void eat(int v) { acc = acc * 33 + (unsigned)v; }
static int f(int v) { eat(v); return v % 3; }

int main(void) {
    for (int i = 0; i < 8; i++) {
        if (f(i) == 2) continue;
        int j = 0;
        while (j < 8) {
            j++;
            if (f(i + j) == 0) continue;
            int k = 0;
            do {
                if (k == 3 && f(k) == 0) break;
                eat(i * 100 + j * 10 + k);
            } while (++k < 5);
            if (j == 6) break;
        }
    }
    printf("acc=%u\n", acc);
    return 0;
}
