/* sort, version 3: heapsort. A bubble sort stopped mid-pass continues by building a heap over
 * the still unsorted prefix and extracting from it (v1-v3.upd maps the loop state). */
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

/* Moves a[root] down until the max-heap a[0..size) holds again. */
static void sift_down(int *a, int root, int size)
{
    for (;;) {
        int child = 2 * root + 1;
        if (child >= size)
            return;
        if (child + 1 < size) {
            comparisons++;
            if (a[child + 1] > a[child])
                child++;
        }
        comparisons++;
        if (a[root] >= a[child])
            return;
        int t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

static void heap_sort(int *a, int n)
{
    long before = comparisons;
    int size = n;
    for (int root = size / 2 - 1; root >= 0; root--) {
        checkpoint("heap", size, root);
        sift_down(a, root, size);
    }
    for (int last = size - 1; last > 0; last--) {
        int t = a[0];
        a[0] = a[last];
        a[last] = t;
        sift_down(a, 0, last);
    }
    printf("v3 heap sort made %ld comparisons\n", comparisons - before);
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
    printf("v3 heap sort of %d numbers\n", n);
    heap_sort(data, n);
    report(data, n);
    /* A third argument: wait for a line before exiting (a test that updated the program late
     * in the sort still gets the update's answer before the program is gone). */
    char line[64];
    if (argc > 3 && fgets(line, sizeof line, stdin) == NULL)
        return 2;
    return 0;
}
