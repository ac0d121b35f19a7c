/* switch with fall-through, default in the middle, calls in case bodies and in the controlling
 * expression, break out of a loop from inside a switch with goto. */
#include <stdio.h>

static unsigned h = 17;
static int mix(int x) { h = h * 33 ^ (unsigned)x; return x + 1; }

static int classify(int x) {
    int r = 0;
    switch (mix(x) % 7) {
    case 0:
        r += mix(1);
        /* fall through */
    case 1:
        r += mix(2);
        break;
    default:
        r -= mix(3);
        /* fall through */
    case 5:
        r *= 2;
        /* fall through */
    case 6:
        r += mix(r);
        break;
    case 3:
        return mix(-x);
    }
    return r;
}

int main(void) {
    int total = 0;
    for (int i = 0; i < 40; i++) {
        switch (i % 4) {
        case 0: total += classify(i); break;
        case 1: total -= classify(i * 3); continue;
        case 2: if (classify(i) > 4) goto out; break;
        default: total ^= i;
        }
        total++;
    }
out:
    printf("total=%d h=%u\n", total, h);
    return 0;
}
