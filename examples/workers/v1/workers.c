/* workers, version 1: 32 threads run the same function, each summing its own series with its
 * counters on its stack. At step HALT every worker waits at a gate; once all 32 are there,
 * the last one prints a marker and main waits for a line on stdin before opening the gate:
 * the moment to update all 32 at once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKERS 32
#define STEPS 2000
#define HALT 700

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int arrived, gate_open;
static long result[WORKERS];

static void wait_at_gate(void)
{
    pthread_mutex_lock(&lock);
    if (++arrived == WORKERS)
        printf("all %d workers at step %d\n", WORKERS, HALT);
    while (!gate_open)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
}

static void *worker(void *arg)
{
    long id = (long)arg;
    long sum = 0;
    for (long step = 0; step < STEPS; step++) {
        if (step == HALT)
            wait_at_gate();
        sum += id + step % 7;
    }
    result[id] = sum;
    return NULL;
}

int main(void)
{
    pthread_t t[WORKERS];
    char line[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("v1: %d workers, %d steps each\n", WORKERS, STEPS);
    for (long k = 0; k < WORKERS; k++)
        pthread_create(&t[k], NULL, worker, (void *)k);
    if (fgets(line, sizeof line, stdin) == NULL)
        return 2;
    pthread_mutex_lock(&lock);
    gate_open = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    long total = 0;
    for (int k = 0; k < WORKERS; k++) {
        pthread_join(t[k], NULL);
        total += result[k];
    }
    printf("total=%ld\n", total);
    return 0;
}
