/* New version: items gain a rank and a wider key, boxes keep copies and sums. */
#include <stdlib.h>

union val {
    int i;
    double d;
};

struct item {
    long key;
    double weight;
    char *name;
    int rank;
};

struct box {
    int n;
    struct item *items;
    struct item *first;
    char label[12];
    double ratio;
    struct item one;
    struct item pair[3];
    int (*fn)(int);
    int kind;
    union val u;
    char *copy;
    long sum;
    int cmp;
    unsigned len;
    int *made;
};

struct box bx;
char *title;
double avg;
float scale;
unsigned char bytes[6];
long big;
int answer = 42;

static int inc(int x) { return x + 1; }
int apply(int x) { return bx.fn ? bx.fn(x) : inc(x); }
int main(void) { return apply(1) == 2 ? 0 : 1; }
