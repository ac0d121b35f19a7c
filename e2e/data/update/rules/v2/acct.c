/* rules, version 2: the account also keeps whole dollars, `total` is now `sum`, and `scale`
 * became an int (narrowing: needs a rule). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct acct {
    int id;
    long cents;
    long dollars;
};

struct acct account = {7, 1234, 0};
long sum;
int scale = 3;
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
        if (account.cents % 100 == 0)
            account.dollars += 1;
        sum += scale;
        printf("v2 i=%ld cents=%ld dollars=%ld sum=%ld scale=%d\n", i, account.cents, account.dollars, sum, scale);
        usleep(2000);
    }
    return 0;
}
