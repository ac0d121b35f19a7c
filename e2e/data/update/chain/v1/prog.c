/* chain, version 1: a counter loop whose state moves through v2 (types widened), v3 (a field
 * added) and back to v2 (the field dropped). Each version adds its own step to `total`. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct stats {
    int ticks;
    int last;
};

struct stats st;
int total;

static void tick(long i)
{
    st.ticks++;
    st.last = (int)i;
    total += 1;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    for (long i = 0; i < n; i++) {
        tick(i);
        printf("v1 i=%ld ticks=%d last=%d total=%d\n", i, st.ticks, st.last, total);
        usleep(2000);
    }
    printf("done\n");
    return 0;
}
