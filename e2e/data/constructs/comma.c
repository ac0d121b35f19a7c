/* Comma operators containing calls, in expressions, conditions and for clauses. */
#include <stdio.h>

static int log_[64], nlog;
static int f(int x) { if (nlog < 64) log_[nlog++] = x; return x * 3 + 1; }

int main(void) {
    int a, b, c = 0;
    a = (f(1), f(2), f(3));
    b = (c = f(a), c + f(c));
    int i, j;
    for (i = 0, j = f(0); i < 5; i++, j = f(j % 11))
        c += (f(i), j);
    while ((a = f(a % 7) + a), a < 200)
        ;
    printf("a=%d b=%d c=%d i=%d j=%d\n", a, b, c, i, j);
    unsigned h = 0;
    for (int k = 0; k < nlog; k++) h = h * 131 + (unsigned)log_[k];
    printf("nlog=%d h=%u\n", nlog, h);
    return 0;
}
