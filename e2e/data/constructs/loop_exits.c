/* Early returns from inside nested loops, break inside a switch inside a loop, continue in a
 * do-while (which jumps to its condition, containing a call), and infinite loops left by break. */
#include <stdio.h>

static int calls;
static int cond(int x) { calls++; return x < 30; }

static int find(const int *v, int n, int want) {
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++)
            if (v[i] + v[j] == want) return i * 100 + j;
    return -1;
}

int main(void) {
    int v[50];
    for (int i = 0; i < 50; i++) v[i] = (i * 37) % 61;
    int r = 0;
    for (int w = 10; w < 60; w += 7) r += find(v, 50, w);
    int x = 0, evens = 0;
    do {
        x++;
        if (x % 2) continue;
        evens++;
    } while (cond(x));
    int k = 0;
    for (;;) {
        switch (k % 4) {
        case 0: k += 3; break;
        case 3: k += 2; continue;
        default: k++;
        }
        if (k > 50) break;
    }
    int m = 0;
    while (1) {
        m++;
        if (m * m > 500) break;
    }
    printf("r=%d x=%d evens=%d calls=%d k=%d m=%d\n", r, x, evens, calls, k, m);
    return 0;
}
