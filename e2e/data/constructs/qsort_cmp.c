/* qsort and bsearch with comparators (instrumented functions called back from libc), and a
 * comparator that itself calls a helper with a loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec { int key; char name[12]; };

static int digits(int x) { int n = 0; do { n += x % 10; x /= 10; } while (x); return n; }
static int by_digit_sum(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    int dx = digits(x), dy = digits(y);
    return dx != dy ? (dx > dy) - (dx < dy) : (x > y) - (x < y);
}
static int by_name(const void *a, const void *b) {
    const struct rec *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : x->key - y->key;
}
static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(void) {
    int v[500];
    unsigned s = 12345;
    { /* while, not for: a counted for-loop has no update point of its own, this loop must have one */
    int i = 0;
    while (i < 500) {
        s = s * 1664525u + 1013904223u; v[i] = (int)(s >> 12) % 100000;
        i++;
    }
    }
    qsort(v, 500, sizeof v[0], by_digit_sum);
    unsigned h = 0;
    for (int i = 0; i < 500; i++) h = h * 31 + (unsigned)v[i];
    struct rec r[40];
    for (int i = 0; i < 40; i++) { r[i].key = i; snprintf(r[i].name, sizeof r[i].name, "n%d", (i * 17) % 13); }
    qsort(r, 40, sizeof r[0], by_name);
    qsort(v, 500, sizeof v[0], cmp_int);
    int key = v[250];
    int *found = bsearch(&key, v, 500, sizeof v[0], cmp_int);
    printf("h=%u first=%s/%d last=%s/%d found=%d\n", h, r[0].name, r[0].key, r[39].name, r[39].key,
           found ? *found == key : -1);
    return 0;
}
