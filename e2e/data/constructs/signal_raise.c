/* A signal handler (an instrumented function called by the kernel, not by instrumented code)
 * run synchronously with raise(), from a loop and from a nested frame. */
#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t hits;
static volatile sig_atomic_t last;

static void handler(int sig) {
    int s = 0;
    for (int i = 0; i < 10; i++) s += i;
    hits++;
    last = sig + s;
}

static int nested(int d) { if (d == 0) { raise(SIGUSR1); return 1; } return nested(d - 1) + 1; }

int main(void) {
    signal(SIGUSR1, handler);
    signal(SIGUSR2, handler);
    int total = 0;
    for (int i = 0; i < 20; i++) {
        raise(i % 2 ? SIGUSR1 : SIGUSR2);
        total += last;
    }
    total += nested(30);
    printf("hits=%d total=%d\n", (int)hits, total);
    return 0;
}
