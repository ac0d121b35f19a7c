/* Old version: a connection table, counters, a sort running in a loop. */
#include <stdlib.h>
#include <string.h>

struct point {
    int x;
    int y;
};

struct conn {
    int fd;
    int bytes;
    long started_s;
    char name[16];
    struct conn *next;
    struct point pos;
    unsigned char level;
    short small;
    double ratio;
    int hist[4];
    int serial;
};

static struct conn *conns;
static int hits;
int table[8];
unsigned long big;
int (*handler)(int);

static int twice(int x) { return 2 * x; }

static void bubble_sort(int *a, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j + 1 < n - i; j++)
            if (a[j] > a[j + 1]) { int t = a[j]; a[j] = a[j + 1]; a[j + 1] = t; }
}

static int serve(int rounds) {
    static int calls;
    int total = 0;
    while (rounds-- > 0) {
        calls++;
        bubble_sort(table, 8);
        total += handler ? handler(rounds) : 0;
        hits++;
    }
    return total;
}

int main(void) {
    handler = twice;
    conns = calloc(1, sizeof *conns);
    return serve(3) > 100;
}
