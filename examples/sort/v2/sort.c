/* sort, version 2: selection sort (the largest of the unsorted prefix goes to its end). A
 * bubble sort stopped mid-pass continues here: its last `pass` elements are already final,
 * and the rest is a permutation that selection sort finishes (v1-v2.upd maps the loop state). */
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

static void selection_sort(int *a, int n)
{
    long before = comparisons;
    for (int end = n - 1; end > 0; end--) {
        int best = 0;
        for (int j = 1; j <= end; j++) {
            checkpoint("selection", end, j);
            comparisons++;
            if (a[j] > a[best])
                best = j;
        }
        int t = a[best];
        a[best] = a[end];
        a[end] = t;
    }
    printf("v2 selection sort made %ld comparisons\n", comparisons - before);
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
    printf("v2 selection sort of %d numbers\n", N);
    selection_sort(data, N);
    report(data, N);
    return 0;
}
