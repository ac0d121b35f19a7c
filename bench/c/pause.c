/* The update-pause benchmark's program (e2e/src/bin/bench_pause.rs): THREADS threads, each
 * DEPTH frames deep in a recursive function whose innermost frame loops with short sleeps, so
 * every update unwinds and rebuilds THREADS * (DEPTH + 2) frames. Usage: pause THREADS DEPTH */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile long sink;
static volatile int stop;

static long dive(long d, long id)
{
    if (d > 0)
        return dive(d - 1, id) + 1;
    while (!stop) {
        sink += id;
        usleep(500);
    }
    return 0;
}

static long depth;

static void *worker(void *arg)
{
    dive(depth, (long)arg);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    depth = argc > 2 ? atol(argv[2]) : 1;
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (long k = 0; k < threads; k++)
        pthread_create(&t[k], NULL, worker, (void *)k);
    printf("ready\n");
    for (int k = 0; k < threads; k++)
        pthread_join(t[k], NULL);
    free(t);
    return 0;
}
