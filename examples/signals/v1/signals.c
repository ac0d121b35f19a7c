/* signals, version 1: main answers commands from stdin; SIGUSR1 runs a handler that stays
 * until a file named `release` exists. While the handler runs, main's stack holds the
 * kernel's signal frame, which cannot be rebuilt: an update must wait for the handler's end
 * (or be refused when its deadline passes first). */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void say(const char *s)
{
    write(1, s, strlen(s));
}

static void on_usr1(int sig)
{
    (void)sig;
    say("v1 handler: waiting for release\n");
    while (access("release", F_OK) != 0)
        sched_yield();
    /* A blocking call while an update waits: the thread declines the update here, inside the
     * handler, and takes part again once the handler has returned into main's `fgets`. */
    say("v1 handler: released\n");
    handled++;
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
        printf("v1 %s: handled=%d\n", line, (int)handled);
    }
    return 0;
}
