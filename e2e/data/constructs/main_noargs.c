/* `int main(void)` with a loop, returning a non-zero status. */
#include <stdio.h>

static int work(int n) { int s = 0; for (int i = 0; i < n; i++) s += i * i % 7; return s; }

int main(void) {
    int s = 0;
    { /* while, not for: a counted for-loop has no update point of its own, this loop must have one */
    int i = 0;
    while (i < 30) {
        s += work(i);
        i++;
    }
    }
    printf("s=%d\n", s);
    return s % 5 + 1;
}
