/* pointers, version 2: step_big adds 20; pointers to globals and functions, in globals, in a function-pointer
 * table and in main's frame, and a signal handler. After the update every one of them must
 * lead to version 2's objects and code. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

long total;
long *cursor = &total;

static long step_small(long x)
{
    return x + 1;
}

static long step_big(long x)
{
    return x + 20;
}

long (*ops[2])(long) = {step_small, step_big};
volatile sig_atomic_t got;

static void on_usr1(int sig)
{
    got = sig;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    long *mine = &total;
    long (*op)(long) = ops[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGUSR1, on_usr1);
    printf("ready\n");
    for (long i = 0; i < n; i++) {
        long before = *mine;
        *mine = op(*mine);
        if (got) {
            got = 0;
            printf("v2 signal\n");
        }
        printf("v2 i=%ld step=%ld same=%d table=%d\n", i, total - before,
               mine == &total && cursor == &total, ops[1] == op);
        usleep(2000);
    }
    return 0;
}
