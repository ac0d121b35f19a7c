/* setjmp/longjmp across instrumented frames: a longjmp out of a recursion and out of loops into
 * a frame with live locals, repeated so that the jump target must stay valid across updates. */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf env;
static int depth_reached;

static void dive(int d, int limit) {
    int local = d * 3;
    for (int i = 0; i < 2; i++) local += i;
    depth_reached = local;
    if (d == limit) longjmp(env, d + 1);
    dive(d + 1, limit);
}

static int guarded(int limit) {
    volatile int attempts = 0;
    int r = setjmp(env);
    attempts++;
    if (r == 0) {
        dive(0, limit);
        return -1;
    }
    return r * 100 + attempts;
}

int main(void) {
    long total = 0;
    for (int i = 0; i < 20; i++) total += guarded(i * 3) + depth_reached;
    static jmp_buf outer;
    static long total2;
    volatile int k = 0;
    if (setjmp(outer) < 5) {
        k++;
        for (int j = 0; j < 4; j++) total2 += j * k;
        longjmp(outer, k);
    }
    printf("total=%ld total2=%ld k=%d\n", total, total2, k);
    return 0;
}
