/* The next version of the shared program: hits widened, a node colour, a start time. */
#include <stdlib.h>

struct node {
    int key;
    long weight;
    struct node *next;
    void *data;
    char *label;
    unsigned flags;
    int color;
};

union val {
    int i;
    double d;
};

struct cell {
    int tag;
    union val v;
};

struct node *head;
static long hits;
long started;
long total;
struct cell cells[4];
int (*cb)(int);

static int inc(int x) { return x + 1; }

static int walk(int n) {
    static int count;
    int sum = 0;
    for (int i = 0; i < n; i++) {
        sum += cb(i);
        count++;
    }
    return sum;
}

static int other(void) {
    static int count;
    while (count < 5)
        count++;
    return count;
}

int main(void) {
    cb = inc;
    head = calloc(1, sizeof *head);
    total = walk(3) + other();
    return 0;
}
