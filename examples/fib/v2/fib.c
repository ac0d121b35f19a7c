/* fib, version 2: the same recursion, and it reports as it unwinds: every call with
 * n >= REPORT_FROM prints its value and depth when it returns, and the end counts them. */
#include <stdio.h>
#include <stdlib.h>

#define PAUSE_DEPTH 32
#define REPORT_FROM 28

static unsigned long calls;
static int paused;
static unsigned long reports;

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
    if (n >= REPORT_FROM) {
        reports++;
        printf("v2 unwind fib(%d) = %lu at depth %d\n", n, a + b, depth);
    }
    return a + b;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 34;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("v2 fib(%d) starts\n", n);
    unsigned long r = fib(n, 1);
    printf("fib(%d) = %lu, calls = %lu\n", n, r, calls);
    printf("v2 reported %lu returns\n", reports);
    return 0;
}
