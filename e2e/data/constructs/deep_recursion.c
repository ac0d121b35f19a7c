/* Deep recursion (500 frames) with a local array per frame and work after the recursive call,
 * so a self-update must save and rebuild a deep stack. (Deeper stacks make the N=1 self-test
 * quadratic: every update point unwinds and rebuilds the whole stack.) */
#include <stdio.h>

static unsigned long down(int n, unsigned long acc) {
    unsigned char pad[4];
    for (int i = 0; i < 4; i++) pad[i] = (unsigned char)(n + i);
    if (n == 0) return acc;
    unsigned long r = down(n - 1, acc * 31 + pad[n % 4]);
    return r ^ pad[(n * 7) % 4];
}

int main(void) {
    unsigned long r = 0;
    for (int k = 0; k < 2; k++) r += down(500, (unsigned long)k);
    printf("r=%lu\n", r);
    return 0;
}
