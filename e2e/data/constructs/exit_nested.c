/* exit() called from a nested frame inside loops, with an atexit handler that prints and loops. */
#include <stdio.h>
#include <stdlib.h>

static unsigned long state;
static void at_exit_report(void) {
    unsigned long s = 0;
    for (int i = 0; i < 10; i++) s += state % (unsigned long)(i + 2);
    printf("atexit: state=%lu s=%lu\n", state, s);
}

static void deep(int d) {
    for (int i = 0; i < 3; i++) state = state * 3 + (unsigned long)(d + i);
    if (d == 0) {
        printf("exiting from depth 0\n");
        exit(3);
    }
    deep(d - 1);
    printf("not reached\n");
}

int main(void) {
    atexit(at_exit_report);
    for (int i = 0; i < 5; i++) state += i;
    deep(20);
    printf("not reached either\n");
    return 0;
}
