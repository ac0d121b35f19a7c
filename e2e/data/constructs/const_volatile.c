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
    { /* while, not for: a counted for-loop has no update point of its own, this loop must have one */
    int i = 0;
    while (i < 100) {
        v += f(i) % k;
        pa[i % 8] += v;
        i++;
    }
    }
    long s = 0;
    for (int i = 0; i < 8; i++) s += arr[i] * (i + 1);
    printf("k=%d v=%d s=%ld msg=%s\n", k, v, s, msg);
    return 0;
}
