/* refusals: `total` narrowed from long to int, which needs a rule.
 * `spin` appears in its folder, and stops it when `stop` appears. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int total;
void spin_forever(void);

static long beats;

/* Loops until `vstop` appears; may unwind at its loop point. */
static void heartbeat(void)
{
    while (access("vstop", F_OK) != 0) {
        beats++;
        usleep(1000);
    }
}

/* Variadic, and its callee may unwind: upstare-cc cannot make its frame rebuildable, so no
 * update can happen while a thread is in here. */
static void vlog(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    heartbeat();
}

static void *vthread(void *arg)
{
    (void)arg;
    vlog("vlog %d\n", 1);
    return NULL;
}

static void *spinner(void *arg)
{
    (void)arg;
    spin_forever();
    return NULL;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    pthread_t t, vt;
    int spinning = 0, vlogging = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    for (long i = 0; i < n; i++) {
        total += i;
        printf("v1 i=%ld total=%d\n", i, total);
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
        if (!vlogging && access("vlog", F_OK) == 0) {
            pthread_create(&vt, NULL, vthread, NULL);
            vlogging = 1;
        }
        if (vlogging && access("vstop", F_OK) == 0) {
            pthread_join(vt, NULL);
            vlogging = 0;
            remove("vlog");
            printf("vstopped\n");
        }
        usleep(2000);
    }
    return 0;
}
