/* prodcons, version 1: one producer and two consumers share a bounded queue of heap-allocated
 * items (a linked list). The consumers stop once CHECK_AT items are taken: the one holding
 * item CHECK_AT prints a marker and waits for a line on stdin, the other waits at the gate,
 * and the producer has filled the queue. That is the moment to update them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define ITEMS 400
#define CAPACITY 16
#define CHECK_AT 50

struct item {
    int seq;
    int value;
    struct item *next;
};

static struct item *head, *tail;
static int queued, taken, gate_open;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

/* What the consumers found: each sequence number must be seen exactly once. */
static unsigned char seen[ITEMS + 1];
static long consumed, value_sum, bad_values;

static void *producer(void *arg)
{
    (void)arg;
    for (int seq = 1; seq <= ITEMS; seq++) {
        struct item *it = calloc(1, sizeof *it);
        it->seq = seq;
        it->value = seq * 3;
        pthread_mutex_lock(&lock);
        while (queued == CAPACITY)
            pthread_cond_wait(&changed, &lock);
        if (tail)
            tail->next = it;
        else
            head = it;
        tail = it;
        queued++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

/* The one consumer that takes item CHECK_AT waits here, outside the lock, holding it. */
static void checkpoint(struct item *it)
{
    char line[64];
    pthread_mutex_lock(&lock);
    while (queued < CAPACITY)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    printf("holding item %d, %d queued\n", it->seq, queued);
    if (fgets(line, sizeof line, stdin) == NULL)
        exit(2);
}

static void consume(struct item *it)
{
    if (it->seq < 1 || it->seq > ITEMS || seen[it->seq]++)
        bad_values++;
    if (it->value != it->seq * 3)
        bad_values++;
    consumed++;
    value_sum += it->value;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while ((queued == 0 && taken < ITEMS) || (taken >= CHECK_AT && !gate_open))
            pthread_cond_wait(&changed, &lock);
        if (taken == ITEMS) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        struct item *it = head;
        head = it->next;
        if (!head)
            tail = NULL;
        queued--;
        taken++;
        int mine = taken == CHECK_AT;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
        if (mine) {
            checkpoint(it);
            pthread_mutex_lock(&lock);
            gate_open = 1;
            pthread_cond_broadcast(&changed);
            pthread_mutex_unlock(&lock);
        }
        pthread_mutex_lock(&lock);
        consume(it);
        pthread_mutex_unlock(&lock);
        free(it);
    }
}

int main(void)
{
    pthread_t p, c[2];
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("v1: %d items, %d consumers\n", ITEMS, 2);
    pthread_create(&p, NULL, producer, NULL);
    for (int k = 0; k < 2; k++)
        pthread_create(&c[k], NULL, consumer, NULL);
    pthread_join(p, NULL);
    for (int k = 0; k < 2; k++)
        pthread_join(c[k], NULL);
    int missing = 0;
    for (int s = 1; s <= ITEMS; s++)
        missing += !seen[s];
    printf("consumed=%ld missing=%d bad=%ld value-sum=%ld\n", consumed, missing, bad_values,
           value_sum);
    return 0;
}
