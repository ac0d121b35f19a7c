/* The accumulator widened to long; a step counter added. */
static int work(int n) {
    long acc = 0;
    long *p = &acc;
    int steps = 0;
    for (int i = 0; i < n; i++) {
        *p += i;
        steps++;
        if (n > 100) work(n - 1);
    }
    return (int)acc + steps;
}
int main(void) { return work(3); }
