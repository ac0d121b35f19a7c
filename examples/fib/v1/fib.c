/* fib, version 1: naive recursive Fibonacci. On its way down the leftmost path, when the
 * recursion is PAUSE_DEPTH frames deep for the first time, it prints a marker and waits for a
 * line on stdin: the moment to update it, with every one of those frames on the stack. */
#include <stdio.h>
#include <stdlib.h>

#define PAUSE_DEPTH 32

static unsigned long calls;
static int paused;

/* Waits for the go-ahead; the frames below this call are the ones the update rebuilds. */
static void checkpoint(int depth)
{
    char line[64];
    printf("deep %d\n", depth);
    if (fgets(line, sizeof line, stdin) == NULL)
        exit(2);
}

static unsigned long fib(int n, int depth)
{
    calls++;
    if (depth == PAUSE_DEPTH && !paused) {
        paused = 1;
        checkpoint(depth);
    }
    if (n < 2)
        return (unsigned long)n;
    unsigned long a = fib(n - 1, depth + 1);
    unsigned long b = fib(n - 2, depth + 1);
    return a + b;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 34;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("v1 fib(%d) starts\n", n);
    unsigned long r = fib(n, 1);
    printf("fib(%d) = %lu, calls = %lu\n", n, r, calls);
    return 0;
}
