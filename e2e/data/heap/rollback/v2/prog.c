/* heap/rollback, version 2: `struct item` is reordered and gains `c`, which the spec's type
 * rule computes as a + b (good.upd; bad.upd has the same rule behind an assert that fails on
 * the item with id 500, so it must roll back). After the good update from version 1, `check`
 * must find the 1000 items with their values, `c == a + b`, the shared blobs, the index and
 * `pinned` pointing at the new items, the index and the blobs at their old addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1000
#define FNV0 0xcbf29ce484222325UL

struct blob {
    long w[4];
};

struct item {
    int id;
    long b;
    int a;
    long c;
    struct blob *blob;
    struct item *next;
};

struct item *head;
struct item **index_of;
long nindex, capindex;
struct item *pinned;

static unsigned long fnv_bytes(unsigned long h, const void *p, unsigned long n)
{
    const unsigned char *b = p;
    for (unsigned long k = 0; k < n; k++) {
        h ^= b[k];
        h *= 0x100000001b3UL;
    }
    return h;
}

/* The bytes of everything reachable, in walk order: a blob shared by two items counts twice. */
static unsigned long bytes_digest(void)
{
    unsigned long h = FNV0;
    h = fnv_bytes(h, &head, sizeof head);
    h = fnv_bytes(h, &index_of, sizeof index_of);
    h = fnv_bytes(h, &pinned, sizeof pinned);
    for (struct item *it = head; it; it = it->next) {
        h = fnv_bytes(h, it, sizeof *it);
        h = fnv_bytes(h, it->blob, sizeof *it->blob);
    }
    h = fnv_bytes(h, index_of, nindex * sizeof *index_of);
    return h;
}

static void add_to_index(struct item *it)
{
    if (nindex == capindex) {
        capindex = capindex ? 2 * capindex : 4;
        index_of = realloc(index_of, capindex * sizeof *index_of);
        if (!index_of)
            exit(2);
        /* The unused capacity is zeroed: this case is about rollback, not stale slots. */
        memset(index_of + nindex, 0, (capindex - nindex) * sizeof *index_of);
    }
    index_of[nindex++] = it;
}

static void build(void)
{
    struct item **link = &head;
    struct blob *blob = NULL;
    for (int i = 0; i < N; i++) {
        struct item *it = calloc(1, sizeof *it);
        if (!it)
            exit(2);
        if (i % 2 == 0) {
            blob = malloc(sizeof *blob);
            if (!blob)
                exit(2);
            for (int k = 0; k < 4; k++)
                blob->w[k] = 100L * i + k;
        }
        it->id = i;
        it->a = 2 * i - 300;
        it->b = 5L * i;
        it->c = it->a + it->b;
        it->blob = blob;
        *link = it;
        link = &it->next;
        add_to_index(it);
    }
    pinned = index_of[700];
}

static void check(void)
{
    long n = 0, sum = 0, csum = 0;
    const char *bad = NULL;
    for (struct item *it = head; it && n <= N; it = it->next) {
        if (!bad && (it->id != n || it->a != 2 * it->id - 300 || it->b != 5L * it->id))
            bad = "values";
        if (!bad && it->blob->w[3] != 100L * (it->id & ~1) + 3)
            bad = "blob";
        if (!bad && (n >= nindex || index_of[n] != it))
            bad = "index";
        if (!bad && it->c != it->a + it->b)
            bad = "c";
        sum += it->a + it->b;
        csum += it->c;
        n++;
    }
    if (!bad && (pinned->id != 700 || pinned != index_of[700]))
        bad = "pinned";
    printf("v2 rollback n=%ld sum=%ld c=%ld %s%s\n", n, sum, csum, bad ? "BAD " : "ok",
           bad ? bad : "");
    printf("v2 at index=%p blob0=%p\n", (void *)index_of, head ? (void *)head->blob : NULL);
}

static long release(void)
{
    long n = 0;
    while (head) {
        struct item *next = head->next;
        if (head->id % 2 == 0)
            free(head->blob);
        free(head);
        head = next;
        n++;
    }
    free(index_of);
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
        if (strncmp(line, "check", 5) == 0) {
            check();
            printf("v2 fnv=%016lx\n", bytes_digest());
        }
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    printf("v2 freed %ld\n", release());
    return 0;
}
