/* signals, version 2: the same program; its handler (installed by version 1, switched to this
 * one by the update) also counts the signals version 2 handled, and main reports both. */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static volatile sig_atomic_t in_v2;

static void say(const char *s)
{
    write(1, s, strlen(s));
}

static void on_usr1(int sig)
{
    (void)sig;
    say("v2 handler: waiting for release\n");
    while (access("release", F_OK) != 0)
        sched_yield();
    /* A blocking call while an update waits: the thread declines the update here, inside the
     * handler, and takes part again once the handler has returned into main's `fgets`. */
    say("v2 handler: released\n");
    handled++;
    in_v2++;
}

int main(void)
{
    char line[128];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\n")] = 0;
        printf("v2 %s: handled=%d (signals seen by version 2: %d)\n", line, (int)handled, (int)in_v2);
    }
    return 0;
}
