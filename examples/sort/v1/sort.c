/* sort, version 1: bubble sort of n pseudo-random numbers (`./sort [n [pause_at [hold]]]`,
 * 64 and 700 by default), counting comparisons. Before comparison pause_at (in the middle of
 * a pass) it prints where it is and waits for a line on stdin: the moment to switch it to
 * another algorithm. */
#include <stdio.h>
#include <stdlib.h>

#define MAXN 40000

static int *data;
static long comparisons;
/* The comparison to pause before (the command line may move it; -1: never). */
static long pause_at = 700;

/* Called before every comparison; waits once, mid-sort, for the go-ahead. */
static void checkpoint(const char *algo, int outer, int inner)
{
    char line[64];
    if (comparisons != pause_at)
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

int main(int argc, char **argv)
{
    unsigned seed = 12345;
    int n = argc > 1 ? atoi(argv[1]) : 64;
    if (n < 2 || n > MAXN)
        return 2;
    if (argc > 2)
        pause_at = atol(argv[2]);
    data = malloc((size_t)n * sizeof *data);
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (int)((seed >> 16) % 1000);
    }
    printf("v1 bubble sort of %d numbers\n", n);
    bubble_sort(data, n);
    report(data, n);
    /* A third argument: wait for a line before exiting (a test that updated the program late
     * in the sort still gets the update's answer before the program is gone). */
    char line[64];
    if (argc > 3 && fgets(line, sizeof line, stdin) == NULL)
        return 2;
    return 0;
}
