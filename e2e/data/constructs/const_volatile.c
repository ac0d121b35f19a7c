/* const and volatile locals (and a const pointer to a volatile array) live across loops and
 * calls. */
#include <stdio.h>

static int f(int x) { return x + 1; }

int main(void) {
    const int k = f(41);
    volatile int v = 0;
    volatile long arr[8] = {0};
    volatile long *const pa = arr;
    const char *const msg = "const";
    for (int i = 0; i < 100; i++) {
        v += f(i) % k;
        pa[i % 8] += v;
    }
    long s = 0;
    for (int i = 0; i < 8; i++) s += arr[i] * (i + 1);
    printf("k=%d v=%d s=%ld msg=%s\n", k, v, s, msg);
    return 0;
}
