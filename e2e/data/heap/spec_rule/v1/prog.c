/* heap/spec_rule, version 1: 1000 accounts, each its own heap block, reached through a heap
 * array of pointers (`all`, malloc(n * sizeof *all)); a global account `summary` (the sums)
 * and a by-value copy of account 7 in main's frame (`probe`). Commands on stdin: `check` walks
 * the accounts and prints one summary line and the address of `all` (unchanged, so it must
 * stay), `quit` frees them and exits. Version 2 adds
 * `total`, which the spec's type rule computes from two old fields: it must hold a + b in every
 * heap account, in the global and in the frame's copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1000

struct acct {
    int id;
    long a;
    long b;
};

struct acct **all;
int nall;
struct acct summary;

static void build(void)
{
    all = malloc(N * sizeof *all);
    if (!all)
        exit(2);
    for (int i = 0; i < N; i++) {
        struct acct *x = malloc(sizeof *x);
        if (!x)
            exit(2);
        x->id = i;
        x->a = 10L * i + 3;
        x->b = 1000L - (long)i * i;
        all[i] = x;
        summary.a += x->a;
        summary.b += x->b;
    }
    summary.id = -1;
    nall = N;
}

static void check(struct acct probe)
{
    long as = 0, bs = 0;
    const char *bad = NULL;
    for (int i = 0; i < nall; i++) {
        struct acct *x = all[i];
        if (!bad && (x->id != i || x->a != 10L * i + 3 || x->b != 1000L - (long)i * i))
            bad = "values";
        as += x->a;
        bs += x->b;
    }
    if (!bad && (summary.id != -1 || summary.a != as || summary.b != bs))
        bad = "summary";
    if (!bad && (probe.id != 7 || probe.a != 73 || probe.b != 951))
        bad = "probe";
    printf("v1 spec_rule n=%d a=%ld b=%ld %s%s\n", nall, as, bs, bad ? "BAD " : "ok",
           bad ? bad : "");
    printf("v1 at all=%p\n", (void *)all);
}

static int release(void)
{
    for (int i = 0; i < nall; i++)
        free(all[i]);
    free(all);
    return nall;
}

int main(void)
{
    char line[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    build();
    struct acct probe = *all[7];
    printf("ready\n");
    printf("v1 sums a=%ld b=%ld\n", summary.a, summary.b);
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "check", 5) == 0)
            check(probe);
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    printf("v1 freed %d\n", release());
    return 0;
}
