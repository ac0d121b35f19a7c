/* Locals of every scalar type (char, short, long long, float, double, long double, pointers,
 * _Bool, size_t) and small arrays of them, all live across calls in a loop. */
#include <stddef.h>
#include <stdio.h>

static int tick(int i) { return i * 5 % 7; }

int main(void) {
    char c = 'a';
    signed char sc = -5;
    unsigned char uc = 250;
    short s = -300;
    unsigned short us = 60000;
    long long ll = -1234567890123LL;
    unsigned long long ull = 18000000000000000000ULL;
    float f = 1.25f;
    double d = -2.5;
    long double ld = 3.0L;
    _Bool b = 0;
    size_t z = 7;
    const char *p = "pointer";
    double darr[3] = {0.5, 1.5, 2.5};
    short sarr[5] = {1, 2, 3, 4, 5};
    { /* while, not for: a counted for-loop has no update point of its own, this loop must have one */
    int i = 0;
    while (i < 40) {
        int t = tick(i);
        c = (char)('a' + (c - 'a' + t) % 26);
        sc = (signed char)(sc + t - 3);
        uc = (unsigned char)(uc + t);
        s = (short)(s + t * 11);
        us = (unsigned short)(us + t * 1000);
        ll = ll / 2 + t;
        ull = ull / 3 * 2 + (unsigned long long)t;
        f = f * 1.5f - (float)t;
        d = d * 0.75 + t;
        ld = ld * 1.25L - t;
        b = b ^ (t > 3);
        z += (size_t)t;
        p += (i % 7 == 6) ? 1 : 0;
        darr[i % 3] += t / 4.0;
        sarr[i % 5] = (short)(sarr[i % 5] * 3 + t);
        i++;
    }
    }
    printf("c=%c sc=%d uc=%u s=%d us=%u ll=%lld ull=%llu\n", c, sc, uc, s, us, ll, ull);
    printf("f=%.4f d=%.6f ld=%.6Lf b=%d z=%zu p=%s\n", f, d, ld, b, z, p);
    printf("darr=%.3f,%.3f,%.3f sarr=%d,%d,%d,%d,%d\n", darr[0], darr[1], darr[2], sarr[0], sarr[1], sarr[2],
           sarr[3], sarr[4]);
    return 0;
}
