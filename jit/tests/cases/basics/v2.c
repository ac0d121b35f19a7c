/* New version: wider and new fields, a start time in ms, a selection sort, a global counter. */
#include <stdlib.h>
#include <string.h>

struct point {
    long x;
    long y;
    int z;
    int id;
};

struct conn {
    int fd;
    unsigned long bytes;
    long started_ms;
    char name[16];
    struct conn *next;
    struct point pos;
    int level;
    unsigned short small;
    float ratio;
    long hist[6];
    unsigned name_len;
    int kind;
    int flags;
    long serial_no;
};

static struct conn *conns;
static long hits;
int table[8];
unsigned long big;
int (*handler)(int);
int calls;
long started_at;

static int twice(int x) { return 2 * x; }

static void selection_sort(int *a, int n) {
    for (int i = 0; i < n; i++) {
        int min = i;
        for (int j = i + 1; j < n; j++)
            if (a[j] < a[min]) min = handler ? handler(j) / 2 : j;
        int t = a[i]; a[i] = a[min]; a[min] = t;
    }
}

static int serve(int rounds) {
    int total = 0;
    while (rounds-- > 0) {
        calls++;
        selection_sort(table, 8);
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
