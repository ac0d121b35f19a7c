/* heap/list, version 2: the item's fields are reordered, `stamp` is gone and `hits` is new.
 * After the update from version 1, `check` must find the same 1000 items, in order, with their
 * values, `hits` zero, and `mid` and `tail` (main's plain and boxed locals) pointing at items
 * of the list. `quit` frees every item: migrated items must be ordinary heap blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1000
#define FNV0 0xcbf29ce484222325UL

struct item {
    struct item *next;
    long val;
    char name[12];
    int key;
    unsigned hits;
};

struct item *head;

/* FNV-1a over the 8 bytes of v: checks see the values in walk order, not their layout. */
static unsigned long fnv(unsigned long h, unsigned long v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3UL;
    }
    return h;
}

static unsigned long fnv_str(unsigned long h, const char *s)
{
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 0x100000001b3UL;
    }
    return h;
}

/* FNV-1a over every item's bytes: a checksum of the heap as it lies in memory. */
static unsigned long bytes_digest(void)
{
    unsigned long h = FNV0;
    for (struct item *it = head; it; it = it->next) {
        const unsigned char *p = (const unsigned char *)it;
        for (unsigned long k = 0; k < sizeof *it; k++) {
            h ^= p[k];
            h *= 0x100000001b3UL;
        }
    }
    return h;
}

static struct item *build(int n, struct item **tail)
{
    struct item *first = NULL, **link = &first;
    for (int i = 0; i < n; i++) {
        struct item *it = malloc(sizeof *it);
        if (!it)
            exit(2);
        memset(it, 0, sizeof *it);
        it->key = i;
        snprintf(it->name, sizeof it->name, "item%d", i);
        it->val = 3L * i + 1;
        it->next = NULL;
        *link = it;
        link = &it->next;
        *tail = it;
    }
    return first;
}

static void check(struct item *mid, struct item *tail)
{
    long n = 0, keys = 0, vals = 0, hits = 0;
    unsigned long h = FNV0;
    const char *bad = NULL;
    int saw_mid = 0;
    struct item *last = NULL;
    char want[12];
    for (struct item *it = head; it; it = it->next) {
        if (n > 10 * N) {
            bad = "cycle";
            break;
        }
        snprintf(want, sizeof want, "item%d", it->key);
        if (!bad && it->key != n)
            bad = "key";
        if (!bad && it->val != 3L * it->key + 1)
            bad = "val";
        if (!bad && strcmp(want, it->name) != 0)
            bad = "name";
        if (!bad && it->hits != 0)
            bad = "hits";
        hits += it->hits;
        if (it == mid)
            saw_mid = 1;
        h = fnv(h, it->key);
        h = fnv(h, it->val);
        h = fnv_str(h, it->name);
        keys += it->key;
        vals += it->val;
        last = it;
        n++;
    }
    if (!bad && (!saw_mid || mid->key != 500))
        bad = "mid";
    if (!bad && last != tail)
        bad = "tail";
    printf("v2 list n=%ld keys=%ld vals=%ld hits=%ld digest=%016lx %s%s\n", n, keys, vals, hits, h,
           bad ? "BAD " : "ok", bad ? bad : "");
}

static long release(void)
{
    long n = 0;
    while (head) {
        struct item *next = head->next;
        free(head);
        head = next;
        n++;
    }
    return n;
}

int main(void)
{
    char line[64];
    struct item *tail = NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    head = build(N, &tail);
    struct item *mid = head;
    for (int i = 0; i < N / 2; i++)
        mid = mid->next;
    printf("ready\n");
    printf("v2 fnv=%016lx\n", bytes_digest());
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "check", 5) == 0)
            check(mid, tail);
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    printf("v2 freed %ld\n", release());
    return 0;
}
