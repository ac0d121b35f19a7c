/* heap/hash, version 2: the entry has lost `hash` and `flags`, `value` is a long and
 * `lookups` is new. After the update from version 1, `check` must find every one of the 1000
 * keys by lookup (and none of the 100 removed ones), with its value, `lookups` zero, every
 * chain in its right bucket, and the bucket array and key strings at their old addresses.
 * `quit` frees every entry, key and the bucket array. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUILT 1100
#define FNV0 0xcbf29ce484222325UL

struct entry {
    char *key;
    struct entry *next;
    long value;
    unsigned long lookups;
};

typedef struct entry entry_t;

entry_t **buckets;
unsigned nbuckets = 257;

static unsigned long fnv(unsigned long h, unsigned long v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3UL;
    }
    return h;
}

static unsigned hash_str(const char *s)
{
    unsigned h = 2166136261u;
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 16777619u;
    }
    return h;
}

static entry_t *lookup(const char *key)
{
    for (entry_t *e = buckets[hash_str(key) % nbuckets]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void build(void)
{
    char key[16];
    buckets = calloc(nbuckets, sizeof *buckets);
    if (!buckets)
        exit(2);
    for (int i = 0; i < BUILT; i++) {
        entry_t *e = malloc(sizeof *e);
        if (!e)
            exit(2);
        snprintf(key, sizeof key, "k%d", i);
        e->key = strdup(key);
        e->value = 11 * i - 5000;
        e->lookups = 0;
        e->next = buckets[hash_str(key) % nbuckets];
        buckets[hash_str(key) % nbuckets] = e;
    }
    for (int i = 10; i < BUILT; i += 11) {
        snprintf(key, sizeof key, "k%d", i);
        entry_t **link = &buckets[hash_str(key) % nbuckets];
        while (*link && strcmp((*link)->key, key) != 0)
            link = &(*link)->next;
        entry_t *dead = *link;
        *link = dead->next;
        free(dead->key);
        free(dead);
    }
}

static unsigned long bytes_digest(void)
{
    unsigned long h = FNV0;
    const unsigned char *p = (const unsigned char *)buckets;
    for (unsigned long k = 0; k < nbuckets * sizeof *buckets; k++) {
        h ^= p[k];
        h *= 0x100000001b3UL;
    }
    for (unsigned b = 0; b < nbuckets; b++)
        for (entry_t *e = buckets[b]; e; e = e->next) {
            p = (const unsigned char *)e;
            for (unsigned long k = 0; k < sizeof *e; k++) {
                h ^= p[k];
                h *= 0x100000001b3UL;
            }
        }
    return h;
}

static void check(void)
{
    long found = 0, values = 0, entries = 0, longest = 0, lookups = 0;
    unsigned long h = FNV0;
    const char *bad = NULL;
    char key[16];
    for (int i = 0; i < BUILT; i++) {
        snprintf(key, sizeof key, "k%d", i);
        entry_t *e = lookup(key);
        if (i % 11 == 10) {
            if (!bad && e)
                bad = "removed key found";
            continue;
        }
        if (!e) {
            if (!bad)
                bad = "key missing";
            continue;
        }
        if (!bad && e->value != 11 * i - 5000)
            bad = "value";
        if (!bad && e->lookups != 0)
            bad = "lookups";
        if (!bad && buckets[hash_str(key) % nbuckets] == NULL)
            bad = "bucket";
        lookups += e->lookups;
        found++;
        values += e->value;
        h = fnv(h, e->value);
    }
    for (unsigned b = 0; b < nbuckets; b++) {
        long len = 0;
        for (entry_t *e = buckets[b]; e && len <= BUILT; e = e->next) {
            if (!bad && hash_str(e->key) % nbuckets != b)
                bad = "chain";
            len++;
        }
        entries += len;
        if (len > longest)
            longest = len;
    }
    printf("v2 hash found=%ld entries=%ld longest=%ld values=%ld lookups=%ld digest=%016lx %s%s\n",
           found, entries, longest, values, lookups, h, bad ? "BAD " : "ok", bad ? bad : "");
    entry_t *e0 = lookup("k0");
    printf("v2 at buckets=%p key0=%p\n", (void *)buckets, e0 ? (void *)e0->key : NULL);
}

static long release(void)
{
    long n = 0;
    for (unsigned b = 0; b < nbuckets; b++)
        while (buckets[b]) {
            entry_t *e = buckets[b];
            buckets[b] = e->next;
            free(e->key);
            free(e);
            n++;
        }
    free(buckets);
    buckets = NULL;
    return n;
}

int main(void)
{
    char line[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    build();
    printf("ready\n");
    printf("v2 fnv=%016lx\n", bytes_digest());
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "check", 5) == 0)
            check();
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    printf("v2 freed %ld\n", release());
    return 0;
}
