/* Loop-heavy benchmark: bubble sort, insertion sort and a hand-written quicksort on
 * pseudo-random ints; prints a checksum so the work cannot be optimised away. */
#include <stdio.h>
#include <stdlib.h>

static unsigned rng = 2463534242u;
static int next_int(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return (int)(rng >> 1); }

static void bubble(int *a, int n) {
    for (int i = 0; i < n - 1; i++)
        for (int j = 0; j < n - 1 - i; j++)
            if (a[j] > a[j + 1]) { int t = a[j]; a[j] = a[j + 1]; a[j + 1] = t; }
}

static void insertion(int *a, int n) {
    for (int i = 1; i < n; i++) {
        int v = a[i], j = i - 1;
        while (j >= 0 && a[j] > v) { a[j + 1] = a[j]; j--; }
        a[j + 1] = v;
    }
}

static void quick(int *a, int lo, int hi) {
    while (hi - lo > 16) {
        int p = a[lo + (hi - lo) / 2], i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i <= j) { int t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { quick(a, lo, j); lo = i; } else { quick(a, i, hi); hi = j; }
    }
    insertion(a + lo, hi - lo + 1);
}

static unsigned long check(const int *a, int n) {
    unsigned long h = 0;
    for (int i = 0; i < n; i++) h = h * 31 + (unsigned)a[i];
    for (int i = 1; i < n; i++) if (a[i - 1] > a[i]) return 0;
    return h;
}

int main(void) {
    enum { NB = 6000, NI = 20000, NQ = 3000000 };
    int *a = malloc(sizeof(int) * NQ);
    unsigned long h = 0;
    for (int i = 0; i < NB; i++) a[i] = next_int();
    bubble(a, NB);
    h ^= check(a, NB);
    for (int i = 0; i < NI; i++) a[i] = next_int();
    insertion(a, NI);
    h ^= check(a, NI) * 3;
    for (int i = 0; i < NQ; i++) a[i] = next_int();
    quick(a, 0, NQ - 1);
    h ^= check(a, NQ) * 7;
    printf("sort checksum %lu\n", h);
    free(a);
    return 0;
}
