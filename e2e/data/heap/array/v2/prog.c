/* heap/array, version 2: `struct rec` is 32 bytes instead of 24, its fields reordered,
 * `kind` widened to int and `ratio` new. After the update from version 1, `check` must find
 * the 1000 elements in one array with their values and `ratio` zero, `seventh` at element 6,
 * `amount3` at element 3's `amount`, `code5` inside element 5's `code`, and main's `last` at
 * the last element. `quit` frees the array: the migrated array is an ordinary heap block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1000
#define FNV0 0xcbf29ce484222325UL

struct rec {
    long amount;
    char code[6];
    int kind;
    int id;
    double ratio;
};

struct rec *recs;
long nrecs;
struct rec *seventh;
long *amount3;
char *code5;

static unsigned long fnv(unsigned long h, unsigned long v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3UL;
    }
    return h;
}

static unsigned long bytes_digest(void)
{
    unsigned long h = FNV0;
    const unsigned char *p = (const unsigned char *)recs;
    for (unsigned long k = 0; k < nrecs * sizeof *recs; k++) {
        h ^= p[k];
        h *= 0x100000001b3UL;
    }
    return h;
}

static void build(long n)
{
    recs = malloc(n * sizeof(struct rec));
    if (!recs)
        exit(2);
    memset(recs, 0, n * sizeof(struct rec));
    nrecs = n;
    for (long i = 0; i < n; i++) {
        recs[i].id = (int)i;
        recs[i].kind = (int)(i % 5 - 1);
        recs[i].amount = i * i - 7;
        snprintf(recs[i].code, sizeof recs[i].code, "r%04d", (int)(i % 10000));
    }
    seventh = &recs[6];
    amount3 = &recs[3].amount;
    code5 = &recs[5].code[2];
}

static void check(struct rec *last)
{
    long amounts = 0, kinds = 0;
    double ratios = 0;
    unsigned long h = FNV0;
    const char *bad = NULL;
    char want[6];
    for (long i = 0; i < nrecs; i++) {
        struct rec *r = &recs[i];
        snprintf(want, sizeof want, "r%04d", (int)(i % 10000));
        if (!bad && r->id != i)
            bad = "id";
        if (!bad && r->kind != i % 5 - 1)
            bad = "kind";
        if (!bad && r->amount != i * i - 7)
            bad = "amount";
        if (!bad && memcmp(r->code, want, sizeof want) != 0)
            bad = "code";
        if (!bad && r->ratio != 0.0)
            bad = "ratio";
        ratios += r->ratio;
        amounts += r->amount;
        kinds += r->kind;
        h = fnv(h, r->id);
        h = fnv(h, r->kind);
        h = fnv(h, r->amount);
    }
    if (!bad && (seventh != &recs[6] || seventh->id != 6))
        bad = "seventh";
    if (!bad && (amount3 != &recs[3].amount || *amount3 != 2))
        bad = "amount3";
    if (!bad && (code5 != &recs[5].code[2] || strcmp(code5, "005") != 0))
        bad = "code5";
    if (!bad && (last != &recs[nrecs - 1] || last->id != N - 1))
        bad = "last";
    printf("v2 array n=%ld amounts=%ld kinds=%ld ratios=%g digest=%016lx %s%s\n", nrecs, amounts,
           kinds, ratios, h, bad ? "BAD " : "ok", bad ? bad : "");
}

int main(void)
{
    char line[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    build(N);
    struct rec *last = &recs[nrecs - 1];
    printf("ready\n");
    printf("v2 fnv=%016lx\n", bytes_digest());
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "check", 5) == 0)
            check(last);
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    free(recs);
    printf("v2 freed %ld\n", nrecs);
    return 0;
}
