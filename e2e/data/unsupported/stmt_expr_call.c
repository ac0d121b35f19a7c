/* A GNU statement expression containing a call to a function with a loop: the call can reach an
 * update point, but it cannot be hoisted into its own statement without changing the meaning
 * of the surrounding expression. upstare-cc refuses it. */
#include <stdio.h>

static int slow(int n) {
    int s = 0;
    while (n-- > 0) s += n;         /* not a counted loop: an update point */
    return s;
}

int main(void) {
    int x = 3;
    int y = x * 2 + ({ int t = slow(x + 4); t > 10 ? t : -t; });
    printf("%d\n", y);
    return 0;
}
