/* workers, version 2: the same 32 threads, with a new body: after the update each step adds
 * 100 times as much, and each worker counts the steps it ran in v2 (a new local, zero in the
 * frames that came from version 1); main reports every worker. */
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
static long steps_in_v2[WORKERS];

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
    long in_v2 = 0;
    for (long step = 0; step < STEPS; step++) {
        if (step == HALT)
            wait_at_gate();
        sum += 100 * (id + step % 7);
        in_v2++;
    }
    result[id] = sum;
    steps_in_v2[id] = in_v2;
    return NULL;
}

int main(void)
{
    pthread_t t[WORKERS];
    char line[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("v2: %d workers, %d steps each\n", WORKERS, STEPS);
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
        printf("v2 worker %d: sum=%ld steps-in-v2=%ld\n", k, result[k], steps_in_v2[k]);
    }
    printf("total=%ld\n", total);
    return 0;
}
