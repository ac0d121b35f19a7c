/* forking, version 1: a parent that forks two workers (vsftpd-style, one process per job);
 * every process counts and reports with its role. Updated with `upstare update --tree`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void work(const char *role, long n)
{
    long done = 0;
    for (long i = 0; i < n; i++) {
        done++;
        if (i % 25 == 0)
            printf("v1 %s pid=%d i=%ld done=%ld\n", role, (int)getpid(), i, done);
        usleep(2000);
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            work("child", n);
            return 0;
        }
    }
    printf("ready %d %d\n", (int)kids[0], (int)kids[1]);
    work("parent", n);
    for (int k = 0; k < 2; k++)
        waitpid(kids[k], NULL, 0);
    return 0;
}
