/* alloca in a function with an update point: its memory lives in the C frame, which unwinding
 * discards, so upstare-cc refuses it. */
#include <alloca.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    int total = 0;
    for (int i = 0; i < 4; i++) {
        char *buf = alloca(16);
        snprintf(buf, 16, "%d", i);
        total += (int)strlen(buf);
    }
    printf("%d\n", total);
    return 0;
}
