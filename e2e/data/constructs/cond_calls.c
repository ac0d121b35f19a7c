/* Calls in the conditions of if, while, for and do-while, including calls with side effects
 * whose order matters. */
#include <stdio.h>

static int calls;
static unsigned sum;

static int below(int i, int n) { calls++; sum = sum * 31 + (unsigned)i; return i < n; }
static int odd(int x) { calls++; return x & 1; }
static int next(int *p) { calls++; return ++*p; }

int main(void) {
    int i = 0, total = 0;
    while (below(i, 10)) {
        if (odd(i))
            total += i;
        else if (odd(i / 2))
            total -= i;
        i++;
    }
    printf("while: total=%d i=%d\n", total, i);
    for (int j = 0; below(j, 7); j++)
        total += j * (odd(j) ? 3 : 1);
    printf("for: total=%d\n", total);
    int k = 0;
    do {
        total ^= k << 2;
    } while (next(&k) < 12);
    printf("do: total=%d k=%d\n", total, k);
    int n = 0;
    while (next(&n) < 5 && below(n, 100))
        if (odd(n)) continue; else total += n;
    printf("mixed: total=%d n=%d calls=%d sum=%u\n", total, n, calls, sum);
    return 0;
}
