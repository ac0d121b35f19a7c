/* refusals: the counting loop became recursion, so main's loop#1 has no counterpart. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

long total;
void spin_forever(void);

static void *spinner(void *arg)
{
    (void)arg;
    spin_forever();
    return NULL;
}

static void count(long i, long n)
{
    if (i >= n)
        return;
    total += i;
    printf("nomap i=%ld total=%ld\n", i, total);
    usleep(2000);
    count(i + 1, n);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    (void)spinner;
    count(0, n);
    return 0;
}
