/* goto forward and backward, into and out of blocks, with calls between the jumps. */
#include <stdio.h>

static int step(int x) { return (x * 7 + 3) % 101; }

int main(void) {
    int x = 1, n = 0, fwd = 0;
again:
    x = step(x);
    n++;
    if (x % 5 == 0)
        goto skip;
    fwd += x;
skip:
    if (n < 50)
        goto again;
    {
        int y = step(x);
        if (y > 50) goto done;
        y = step(y) + 1000;
        x = y;
    }
done:
    for (int i = 0; i < 10; i++) {
        for (int j = 0; j < 10; j++) {
            if (step(i * 10 + j) == 42) {
                fwd += i * 100 + j;
                goto found;
            }
        }
    }
    fwd = -fwd;
found:
    printf("x=%d n=%d fwd=%d\n", x, n, fwd);
    return 0;
}
