/* heap/bench, version 2: `struct obj` gains `extra` after its key (72 bytes), which must be
 * zero in every migrated object. Placed there rather than at the end so that an object left in
 * version 1's layout fails the walk (malloc's slack after a 64-byte block often reads as 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct obj {
    long key;
    long extra;
    long a[6];
    struct obj *next;
};

_Static_assert(sizeof(struct obj) == 72, "version 2's object is 72 bytes");

struct obj *head;

static void build(long n)
{
    struct obj **link = &head;
    for (long i = 0; i < n; i++) {
        struct obj *o = malloc(sizeof *o);
        if (!o)
            exit(2);
        o->key = i;
        for (int k = 0; k < 6; k++)
            o->a[k] = i * k + k + 1;
        o->next = NULL;
        o->extra = 0;
        *link = o;
        link = &o->next;
    }
}

static void check(long n)
{
    long count = 0, keys = 0;
    const char *bad = NULL;
    for (struct obj *o = head; o && count <= n; o = o->next) {
        if (!bad && (o->key != count || o->a[0] != 1 || o->a[5] != 5 * o->key + 6))
            bad = "values";
        if (!bad && o->extra != 0)
            bad = "extra";
        keys += o->key;
        count++;
    }
    if (!bad && count != n)
        bad = "count";
    printf("obj%zu n=%ld keys=%ld %s%s\n", sizeof(struct obj), count, keys, bad ? "BAD " : "ok",
           bad ? bad : "");
}

int main(int argc, char **argv)
{
    char line[64];
    long n = argc > 1 ? atol(argv[1]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    build(n);
    printf("ready n=%ld\n", n);
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "check", 5) == 0)
            check(n);
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    return 0;
}
