/* heap/bench, version 1: the program behind src/bin/bench_heap.rs. It allocates N separate
 * 64-byte `struct obj` (N from argv[1]) in a linked list, prints `ready`, then obeys `check`
 * (walk every object, verify it, print `obj<size> n=... keys=... ok`) and `quit` on stdin while
 * blocked in fgets. Version 2 adds a field (72 bytes); the benchmark updates back and forth, so
 * every update migrates all N objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct obj {
    long key;
    long a[6];
    struct obj *next;
};

_Static_assert(sizeof(struct obj) == 64, "the benchmark's object is 64 bytes");

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
