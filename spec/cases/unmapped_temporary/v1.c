/* A loop whose body calls through a function that may unwind. */
int (*op)(int);
static int twice(int x) { int r = 0; while (r < 2 * x) r++; return r; }
int main(void) {
    int total = 0;
    op = twice;
    for (int i = 0; i < 10; i++)
        total += op(i);
    return total > 1000;
}
