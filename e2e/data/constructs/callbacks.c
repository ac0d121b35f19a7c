/* Instrumented callbacks called from instrumented code with a void* context, callbacks that
 * call back into the iterator (re-entrancy), and static inline helpers used in loops. */
#include <stdio.h>

typedef int (*visit_fn)(void *ctx, int value);
static inline int sq(int x) { return x * x; }

static int each(int from, int to, visit_fn f, void *ctx) {
    int stopped = 0;
    for (int i = from; i < to && !stopped; i++) stopped = f(ctx, i);
    return stopped;
}

struct sum_ctx { long total; int limit; };
static int add_up(void *ctx, int v) {
    struct sum_ctx *c = ctx;
    c->total += sq(v) % 97;
    return c->total > c->limit;
}
static int nested(void *ctx, int v) {
    struct sum_ctx inner = {0, 1 << 30};
    each(0, v, add_up, &inner);
    ((struct sum_ctx *)ctx)->total += inner.total;
    return 0;
}

int main(void) {
    struct sum_ctx a = {0, 5000}, b = {0, 0};
    int stopped = each(0, 1000, add_up, &a);
    each(0, 60, nested, &b);
    printf("a=%ld stopped=%d b=%ld\n", a.total, stopped, b.total);
    return 0;
}
