/* The next version keeps the call's result in a temporary the old frame does not have. */
int (*op)(int);
static int twice(int x) { int r = 0; while (r < 2 * x) r++; return r; }
int main(void) {
    int total = 0;
    op = twice;
    for (int i = 0; i < 10; i++)
        total += op(i) + op(i + 1);
    return total > 1000;
}
