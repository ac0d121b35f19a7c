/* A variable-length array: its size is known only at run time, so a frame record cannot hold it
 * and the box that would keep its address stable has no static layout. upstare-cc refuses it. */
#include <stdio.h>

static int sum(int n) {
    int v[n];
    for (int i = 0; i < n; i++) v[i] = i * i;
    int s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s;
}

int main(void) {
    printf("%d\n", sum(10));
    return 0;
}
