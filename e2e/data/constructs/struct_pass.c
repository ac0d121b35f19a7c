/* Struct returns and struct arguments, small (in registers) and large (in memory), nested, in
 * loops and recursion, and a returned struct used directly as an argument. */
#include <stdio.h>

struct small { int a; short b; };
struct big { long v[12]; double d; char tag[8]; };
struct pair { struct small s; struct big *pb; };

static struct small mk_small(int a, int b) { struct small s = {a, (short)b}; return s; }
static struct small add_small(struct small x, struct small y) { return mk_small(x.a + y.a, x.b + y.b); }

static struct big mk_big(int seed) {
    struct big b;
    for (int i = 0; i < 12; i++) b.v[i] = (long)seed * (i + 1) - i;
    b.d = seed / 4.0;
    snprintf(b.tag, sizeof b.tag, "t%d", seed % 1000);
    return b;
}

static struct big twist(struct big b, int k) {
    for (int i = 0; i < 12; i++) b.v[i] ^= (long)k << (i % 5);
    b.d *= 1.5;
    return b;
}

static long sum_big(struct big b) {
    long s = 0;
    for (int i = 0; i < 12; i++) s = s * 3 + b.v[i];
    return s + (long)b.d + b.tag[1];
}

static struct big rec(int n) { return n == 0 ? mk_big(7) : twist(rec(n - 1), n); }

int main(void) {
    struct small acc = mk_small(0, 0);
    for (int i = 0; i < 20; i++) acc = add_small(acc, mk_small(i, -i));
    long total = 0;
    for (int i = 0; i < 10; i++) total += sum_big(twist(mk_big(i), i + 3));
    struct big r = rec(15);
    struct pair p = {add_small(acc, acc), &r};
    printf("acc=%d,%d total=%ld rec=%ld pair=%d,%d,%ld tag=%s\n", acc.a, acc.b, total, sum_big(r), p.s.a,
           p.s.b, p.pb->v[3], r.tag);
    return 0;
}
