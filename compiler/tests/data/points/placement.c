/* Where update points go: loops, recursion, unknown calls; and where they do not. */
#include <stdio.h>

extern int external(int);           /* defined in another unit: may unwind */

static int leaf(int x) { return x * 2 + 1; }          /* no loop, no call: no point */

static long sum_squares(const int *a, int n) {        /* counted pure loop: no point */
    long s = 0;
    for (int i = 0; i < n; i++) s += (long)a[i] * a[i];
    return s;
}

static int scan(const int *a, int key) {              /* while loop: loop#1 */
    int i = 0;
    while (a[i] != key) i++;
    return i;
}

static void insert_sorted(int *a, int n, int v) {     /* counted while (j falls to 0): no point */
    int j = n - 1;
    while (j >= 0 && a[j] > v) { a[j + 1] = a[j]; j--; }
    a[j + 1] = v;
}

static int fact(int n) { return n <= 1 ? 1 : n * fact(n - 1); }   /* recursive: entry */

static int is_even(int n);
static int is_odd(int n) { return n == 0 ? 0 : is_even(n - 1); }  /* mutual recursion */
static int is_even(int n) { return n == 0 ? 1 : is_odd(n - 1); }

static int calls_out(int x) { return external(leaf(x)); }         /* unknown call: entry */

int main(void) {
    int a[9] = {1, 3, 5, 7, 9, 11, 13, 15};
    insert_sorted(a, 8, 6);
    for (int i = 0; i < 8; i++) printf("%d\n", leaf(a[i]));     /* loop with a call: point */
    printf("%ld %d %d %d %d\n", sum_squares(a, 8), scan(a, 9), fact(5), is_odd(7), calls_out(1));
    return 0;
}
