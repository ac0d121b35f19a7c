/* The new version: bytes widened, a start time in ms, a selection sort, a global counter. */
#include <stdlib.h>
#include <string.h>

struct conn {
    int fd;
    unsigned long bytes;
    long started_ms;
    char name[16];
    struct conn *next;
    int flags;
};

struct list {
    void *data;
    struct list *next;
};

struct item {
    int key;
};

static struct conn *conns;
static long hits;
static struct list *todo;
int table[8];
int (*handler)(int);
int calls;
long started_at;

static int twice(int x) { return 2 * x; }

static void selection_sort(int *a, int n) {
    for (int i = 0; i < n; i++) {
        int min = i;
        for (int j = i + 1; j < n; j++)
            if (a[j] < a[min]) min = j;
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
    todo = calloc(1, sizeof *todo);
    return serve(3) > 100;
}
