/* sort, version 1: bubble sort of N pseudo-random numbers, counting comparisons. After
 * PAUSE_AT comparisons (in the middle of a pass) it prints where it is and waits for a line
 * on stdin: the moment to switch it to another algorithm. */
#include <stdio.h>
#include <stdlib.h>

#define N 64
#define PAUSE_AT 700

static int data[N];
static long comparisons;

/* Called before every comparison; waits once, mid-sort, for the go-ahead. */
static void checkpoint(const char *algo, int outer, int inner)
{
    char line[64];
    if (comparisons != PAUSE_AT)
        return;
    printf("%s paused: comparisons=%ld outer=%d inner=%d\n", algo, comparisons, outer, inner);
    if (fgets(line, sizeof line, stdin) == NULL)
        exit(2);
}

static void bubble_sort(int *a, int n)
{
    for (int pass = 0; pass < n - 1; pass++) {
        for (int j = 0; j < n - 1 - pass; j++) {
            checkpoint("bubble", pass, j);
            comparisons++;
            if (a[j] > a[j + 1]) {
                int t = a[j];
                a[j] = a[j + 1];
                a[j + 1] = t;
            }
        }
    }
}

static void report(const int *a, int n)
{
    long sum = 0;
    int sorted = 1;
    for (int i = 0; i < n; i++) {
        sum += (long)a[i] * (i + 1);
        if (i > 0 && a[i - 1] > a[i])
            sorted = 0;
    }
    printf("sorted=%d weighted-sum=%ld comparisons=%ld\n", sorted, sum, comparisons);
}

int main(void)
{
    unsigned seed = 12345;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (int)((seed >> 16) % 1000);
    }
    printf("v1 bubble sort of %d numbers\n", N);
    bubble_sort(data, N);
    report(data, N);
    return 0;
}
