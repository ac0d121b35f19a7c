/* chain, version 2: `ticks` and `total` widened to long (automatic), step 2. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct stats {
    long ticks;
    int last;
};

struct stats st;
long total;

static void tick(long i)
{
    st.ticks++;
    st.last = (int)i;
    total += 2;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    for (long i = 0; i < n; i++) {
        tick(i);
        printf("v2 i=%ld ticks=%ld last=%d total=%ld\n", i, st.ticks, st.last, total);
        usleep(2000);
    }
    printf("done\n");
    return 0;
}
