/* A variable-length array in a function with an update point: its size is known only at run time,
 * so a frame record cannot hold it and a box has no static layout. upstare-cc refuses it (in a
 * function without points it is harmless and accepted). */
#include <stdio.h>

static int sum(int n) {
    int v[n];
    int i = 0;
    while (i < n) { v[i] = i * i; printf("%d\n", v[i]); i++; }   /* a call: an update point */
    int s = 0;
    for (int j = 0; j < n; j++) s += v[j];
    return s;
}

int main(void) {
    printf("%d\n", sum(10));
    return 0;
}
