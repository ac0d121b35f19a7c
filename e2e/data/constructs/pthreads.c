/* Four threads computing independently (loops and recursion) and joined; one shared counter
 * under a mutex. The output does not depend on scheduling. */
#include <pthread.h>
#include <stdio.h>

struct job { int id; unsigned long result; };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long shared;

static unsigned long collatz_steps(unsigned long n) { unsigned long s = 0; while (n != 1) { n = n % 2 ? 3 * n + 1 : n / 2; s++; } return s; }
static unsigned long tree(int d) { return d == 0 ? 1 : tree(d - 1) + tree(d - 1) + (unsigned long)d; }

static void *worker(void *arg) {
    struct job *j = arg;
    unsigned long acc = 0;
    for (unsigned long n = 1; n < 3000; n++) acc += collatz_steps(n * (unsigned long)(j->id + 1));
    acc += tree(10 + j->id);
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&lock);
        shared += j->id + 1;
        pthread_mutex_unlock(&lock);
    }
    j->result = acc;
    return j;
}

int main(void) {
    pthread_t t[4];
    struct job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i].id = i;
        pthread_create(&t[i], NULL, worker, &jobs[i]);
    }
    unsigned long total = 0;
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        total += ((struct job *)ret)->result;
        printf("job %d: %lu\n", i, jobs[i].result);
    }
    printf("total=%lu shared=%ld\n", total, shared);
    return 0;
}
