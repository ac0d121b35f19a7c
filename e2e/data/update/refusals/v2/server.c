/* refusals, version 2: the good update: counts; starts a thread that spins in uninstrumented code when the file
 * `spin` appears in its folder, and stops it when `stop` appears. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

long total;
void spin_forever(void);

static void *spinner(void *arg)
{
    (void)arg;
    spin_forever();
    return NULL;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    pthread_t t;
    int spinning = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    for (long i = 0; i < n; i++) {
        total += i;
        printf("v2 i=%ld total=%ld\n", i, total);
        if (!spinning && access("spin", F_OK) == 0) {
            pthread_create(&t, NULL, spinner, NULL);
            spinning = 1;
            printf("spinning\n");
        }
        if (spinning && access("stop", F_OK) == 0) {
            pthread_join(t, NULL);
            spinning = 0;
            remove("spin");
            printf("stopped\n");
        }
        usleep(2000);
    }
    return 0;
}
