/* Function pointers: a table of operations, pointers passed as arguments and returned, stored
 * in structs, and recursion through a pointer. */
#include <stdio.h>

typedef int (*op_fn)(int, int);
static int add(int a, int b) { return a + b; }
static int sub(int a, int b) { return a - b; }
static int mul(int a, int b) { return a * b % 10007; }
static int xr(int a, int b) { return a ^ b; }
static const op_fn table[] = {add, sub, mul, xr};

static op_fn choose(int k) { return table[k & 3]; }
static int fold(const int *v, int n, op_fn f, int init) {
    for (int i = 0; i < n; i++) init = f(init, v[i]);
    return init;
}

struct machine { const char *name; op_fn step; int (*rec)(struct machine *, int); };
static int countdown(struct machine *m, int n) { return n <= 0 ? 1 : m->step(n, m->rec(m, n - 1)); }

int main(void) {
    int v[16];
    for (int i = 0; i < 16; i++) v[i] = i * i - 7;
    int r = 0;
    for (int k = 0; k < 12; k++) r = choose(k)(r, fold(v, 16, table[(k + 1) % 4], k));
    struct machine m = {"m", mul, countdown};
    struct machine a = {"a", add, countdown};
    int (*(*pick)(int))(int, int) = choose;
    printf("r=%d m=%d a=%d p=%d\n", r, m.rec(&m, 20), a.rec(&a, 100), pick(2)(6, 7));
    return 0;
}
