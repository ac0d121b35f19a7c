/* heap/hash, version 1: a chained hash table, `struct entry **buckets` from
 * calloc(nbuckets, sizeof *buckets): an array of pointers whose type does not change, holding
 * pointers to entries that do. Keys are strdup'd strings "k0".."k1099"; after inserting all
 * 1100 entries, every key i = 10 (mod 11) is removed and freed, leaving 1000. Commands on stdin:
 * `check` looks every key up and walks every chain, printing one summary line and then the
 * addresses of the bucket array and of key k0's string; `quit` frees the table and exits. Version 2's entry drops `hash` and `flags`, widens `value` to long and gains
 * `lookups`: every entry must migrate, the bucket array stay where it is with its pointers
 * redirected, and the key strings stay where they are, shared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUILT 1100
#define FNV0 0xcbf29ce484222325UL

struct entry {
    unsigned hash;
    char *key;
    int value;
    short flags;
    struct entry *next;
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
        e->hash = hash_str(key);
        e->value = 11 * i - 5000;
        e->flags = (short)(i & 7);
        e->next = buckets[e->hash % nbuckets];
        buckets[e->hash % nbuckets] = e;
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
    long found = 0, values = 0, entries = 0, longest = 0;
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
        if (!bad && (e->hash != hash_str(key) || e->flags != (i & 7)))
            bad = "hash/flags";
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
    printf("v1 hash found=%ld entries=%ld longest=%ld values=%ld digest=%016lx %s%s\n", found,
           entries, longest, values, h, bad ? "BAD " : "ok", bad ? bad : "");
    entry_t *e0 = lookup("k0");
    printf("v1 at buckets=%p key0=%p\n", (void *)buckets, e0 ? (void *)e0->key : NULL);
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
    printf("v1 fnv=%016lx\n", bytes_digest());
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "check", 5) == 0)
            check();
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    printf("v1 freed %ld\n", release());
    return 0;
}
