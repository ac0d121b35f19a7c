/* threads, version 2: the workers print as v2 and add twice their id. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NW 8
static long rounds;
int go = 1;

static void *worker(void *arg)
{
    long id = (long)arg;
    long count = 0, sum = 0;
    for (long i = 0; i < rounds; i++) {
        count++;
        sum += id * 2;
        if (i % 50 == 0)
            printf("v2 worker=%ld i=%ld count=%ld sum=%ld\n", id, i, count, sum);
        usleep(1000);
    }
    printf("end worker=%ld count=%ld sum=%ld\n", id, count, sum);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t[NW];
    rounds = argc > 1 ? atol(argv[1]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (long k = 0; k < NW; k++)
        pthread_create(&t[k], NULL, worker, (void *)k);
    printf("ready\n");
    for (int k = 0; k < NW; k++)
        pthread_join(t[k], NULL);
    printf("all done\n");
    return 0;
}
