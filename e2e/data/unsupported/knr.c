/* An old-style (K&R) definition of a function that needs update points. */
#include <stdio.h>

int sum(n, step)
    int n;
    int step;
{
    int s = 0;
    for (int i = 0; i < n; i += step) { s += i; printf("%d\n", s); }
    return s;
}

int main(void) { return sum(10, 3) > 0 ? 0 : 1; }
