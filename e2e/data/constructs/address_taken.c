/* Address-taken locals and arrays passed to callees that modify them inside loops, pointers
 * between locals, and a local whose address is compared after calls. */
#include <stdio.h>
#include <string.h>

static void bump(int *p, int by) { for (int i = 0; i < by; i++) (*p)++; }
static void fill(int *a, int n, unsigned seed) {
    for (int i = 0; i < n; i++) a[i] = (int)((seed = seed * 1103515245u + 12345u) >> 8);
}
static long sum(const int *a, int n) { long s = 0; for (int i = 0; i < n; i++) s += a[i] % 1000; return s; }
static void swap(int **a, int **b) { int *t = *a; *a = *b; *b = t; }

int main(void) {
    int x = 5, y = 7;
    int arr[64];
    char text[32];
    int *px = &x, *py = &y;
    int *const original = &x;
    long total = 0;
    for (int round = 0; round < 10; round++) {
        bump(px, round);
        swap(&px, &py);
        fill(arr, 64, (unsigned)(round + x));
        total += sum(arr, 64);
        snprintf(text, sizeof text, "r%d:%d", round, *px);
        total += (long)strlen(text);
    }
    struct { int a[4]; int *p; } s = {{1, 2, 3, 4}, NULL};
    s.p = &s.a[2];
    bump(s.p, 10);
    bump(&s.a[0], 3);
    printf("x=%d y=%d px_is_x=%d same=%d total=%ld text=%s s=%d,%d,%d,%d\n", x, y, px == &x,
           original == &x, total, text, s.a[0], s.a[1], s.a[2], s.a[3]);
    return 0;
}
