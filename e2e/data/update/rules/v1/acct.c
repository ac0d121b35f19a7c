/* rules, version 1: an account in cents, a running total and a scale, updated by specs. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct acct {
    int id;
    long cents;
};

struct acct account = {7, 1234};
long total;
long scale = 3;
int *nowhere;
int *wild = (int *)16;
int ring[4] = {1, 2, 3, 4};
long slot = 9;

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    for (long i = 0; i < n; i++) {
        account.cents += 1;
        total += scale;
        printf("v1 i=%ld cents=%ld total=%ld scale=%ld\n", i, account.cents, total, scale);
        usleep(2000);
    }
    return 0;
}
