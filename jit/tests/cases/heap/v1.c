/* Old version: boxes of items on the heap, a title string, a few scalars. */
#include <stdlib.h>

union val {
    int i;
    double d;
};

struct item {
    int key;
    double weight;
    char *name;
};

struct box {
    int n;
    struct item *items;
    struct item *first;
    char label[8];
    float ratio;
    struct item one;
    struct item pair[2];
    int (*fn)(int);
    int kind;
    union val u;
};

struct box bx;
char *title;
double avg;
float scale;
unsigned char bytes[6];
long big;

static int inc(int x) { return x + 1; }
int apply(int x) { return bx.fn ? bx.fn(x) : inc(x); }
int main(void) { return apply(1) == 2 ? 0 : 1; }
