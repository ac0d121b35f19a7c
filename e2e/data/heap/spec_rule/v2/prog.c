/* heap/spec_rule, version 2: `struct acct` gains `total`, computed by spec.upd's type rule as
 * a + b. After the update from version 1, `check` must find `total == a + b` in every heap
 * account, in the global `summary` and in main's by-value `probe`, and the old values kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1000

struct acct {
    int id;
    long a;
    long b;
    long total;
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
        x->total = x->a + x->b;
        all[i] = x;
        summary.a += x->a;
        summary.b += x->b;
    }
    summary.id = -1;
    summary.total = summary.a + summary.b;
    nall = N;
}

static void check(struct acct probe)
{
    long as = 0, bs = 0, totals = 0;
    const char *bad = NULL;
    for (int i = 0; i < nall; i++) {
        struct acct *x = all[i];
        if (!bad && (x->id != i || x->a != 10L * i + 3 || x->b != 1000L - (long)i * i))
            bad = "values";
        if (!bad && x->total != x->a + x->b)
            bad = "total";
        as += x->a;
        totals += x->total;
        bs += x->b;
    }
    if (!bad && (summary.id != -1 || summary.a != as || summary.b != bs ||
                 summary.total != as + bs))
        bad = "summary";
    if (!bad && (probe.id != 7 || probe.a != 73 || probe.b != 951 || probe.total != 1024))
        bad = "probe";
    printf("v2 spec_rule n=%d a=%ld b=%ld totals=%ld summary=%ld probe=%ld %s%s\n", nall, as, bs,
           totals, summary.total, probe.total, bad ? "BAD " : "ok", bad ? bad : "");
    printf("v2 at all=%p\n", (void *)all);
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
    printf("v2 sums a=%ld b=%ld\n", summary.a, summary.b);
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "check", 5) == 0)
            check(probe);
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    printf("v2 freed %d\n", release());
    return 0;
}
