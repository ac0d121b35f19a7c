/* chain, version 3: a new field `extra` (zero after the update), step 3. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct stats {
    long ticks;
    int last;
    int extra;
};

struct stats st;
long total;

static void tick(long i)
{
    st.ticks++;
    st.last = (int)i;
    st.extra++;
    total += 3;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    for (long i = 0; i < n; i++) {
        tick(i);
        printf("v3 i=%ld ticks=%ld last=%d total=%ld extra=%d\n", i, st.ticks, st.last, total, st.extra);
        usleep(2000);
    }
    printf("done\n");
    return 0;
}
