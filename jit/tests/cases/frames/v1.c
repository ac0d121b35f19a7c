/* A frame with an address-taken (boxed) local, stopped in its loop or in a recursive call. */
static int work(int n) {
    int acc = 0;
    int *p = &acc;
    for (int i = 0; i < n; i++) {
        *p += i;
        if (n > 100) work(n - 1);
    }
    return acc;
}
int main(void) { return work(3); }
