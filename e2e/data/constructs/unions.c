/* Unions as locals, parameters and return values, type punning through a union, and a tagged
 * union processed in a loop. */
#include <stdio.h>
#include <string.h>

union num { unsigned u; float f; unsigned char b[8]; double d; };
struct tagged { int tag; union { long l; double d; char s[8]; } u; };

static union num twice(union num n, int asfloat) {
    if (asfloat) n.f *= 2; else n.u *= 2;
    return n;
}

static double value(const struct tagged *t) {
    switch (t->tag) {
    case 0: return (double)t->u.l;
    case 1: return t->u.d;
    default: return (double)strlen(t->u.s);
    }
}

int main(void) {
    union num n;
    memset(&n, 0, sizeof n);
    n.f = 1.5f;
    unsigned bits;
    memcpy(&bits, &n, sizeof bits);
    double total = 0;
    struct tagged ts[9];
    { /* while, not for: a counted for-loop has no update point of its own, this loop must have one */
    int i = 0;
    while (i < 9) {
        ts[i].tag = i % 3;
        if (i % 3 == 0) ts[i].u.l = i * 1000L;
        else if (i % 3 == 1) ts[i].u.d = i / 8.0;
        else snprintf(ts[i].u.s, sizeof ts[i].u.s, "%.*s", i % 8, "abcdefgh");
        n = twice(n, i % 2);
        total += value(&ts[i]);
        i++;
    }
    }
    printf("bits=%08x n.u=%u total=%.4f b0=%u\n", bits, n.u, total, n.b[0]);
    return 0;
}
