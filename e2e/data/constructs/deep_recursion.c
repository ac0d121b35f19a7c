/* Deep recursion (20,000 frames) with a local array per frame and work after the recursive
 * call, so a self-update must save and rebuild a very deep stack. */
#include <stdio.h>

static unsigned long down(int n, unsigned long acc) {
    unsigned char pad[24];
    for (int i = 0; i < 24; i++) pad[i] = (unsigned char)(n + i);
    if (n == 0) return acc;
    unsigned long r = down(n - 1, acc * 31 + pad[n % 24]);
    return r ^ pad[(n * 7) % 24];
}

int main(void) {
    unsigned long r = 0;
    for (int k = 0; k < 3; k++) r += down(20000, (unsigned long)k);
    printf("r=%lu\n", r);
    return 0;
}
