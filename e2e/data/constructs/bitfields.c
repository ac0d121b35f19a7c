/* Bit-fields (signed, unsigned, zero-width, spanning) in locals and globals, updated in loops
 * and passed by value and by pointer. */
#include <stdio.h>

struct flags { unsigned a : 3; signed b : 5; unsigned : 0; unsigned c : 12; unsigned long long d : 40; _Bool e : 1; };
static struct flags g = {1, -3, 7, 123456789ULL, 1};

static struct flags step(struct flags f, int i) {
    f.a += i;
    f.b -= i;
    f.c = f.c * 3 + i;
    f.d = f.d * 5 + (unsigned)i;
    f.e = !f.e;
    return f;
}
static void poke(struct flags *f) { f->b = f->b / 2; f->a ^= 5; }

int main(void) {
    struct flags l = {0, 0, 0, 0, 0};
    { /* while, not for: a counted for-loop has no update point of its own, this loop must have one */
    int i = 0;
    while (i < 33) {
        l = step(l, i);
        g = step(g, i + 1);
        if (i % 5 == 0) poke(&l);
        i++;
    }
    }
    printf("l=%u,%d,%u,%llu,%d g=%u,%d,%u,%llu,%d size=%zu\n", l.a, l.b, l.c, (unsigned long long)l.d, l.e, g.a,
           g.b, g.c, (unsigned long long)g.d, g.e, sizeof(struct flags));
    return 0;
}
