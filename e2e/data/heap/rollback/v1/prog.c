/* heap/rollback, version 1: 1000 heap items (ids 0..999) in a list from `head`, each pointing
 * at a `struct blob` that two neighbours share (a type that does not change), an index of
 * pointers to every item grown with realloc (an unchanged heap object pointing into changed
 * ones), and a global `pinned` at item 700. At start and after every `check` it prints an
 * FNV-1a checksum over the bytes of every object it reaches (globals' pointer values, each
 * item, each blob, the index array), so that an update that fails halfway through the heap
 * (bad.upd's assert on id 500) can be shown to leave the old heap byte for byte as it was.
 * `check` also prints the addresses of the index and of the first blob (kept objects, which
 * must stay where they are). `quit` frees everything and exits. */
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
    int a;
    long b;
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
        it->blob = blob;
        *link = it;
        link = &it->next;
        add_to_index(it);
    }
    pinned = index_of[700];
}

static void check(void)
{
    long n = 0, sum = 0;
    const char *bad = NULL;
    for (struct item *it = head; it && n <= N; it = it->next) {
        if (!bad && (it->id != n || it->a != 2 * it->id - 300 || it->b != 5L * it->id))
            bad = "values";
        if (!bad && it->blob->w[3] != 100L * (it->id & ~1) + 3)
            bad = "blob";
        if (!bad && (n >= nindex || index_of[n] != it))
            bad = "index";
        sum += it->a + it->b;
        n++;
    }
    if (!bad && (pinned->id != 700 || pinned != index_of[700]))
        bad = "pinned";
    printf("v1 rollback n=%ld sum=%ld %s%s\n", n, sum, bad ? "BAD " : "ok", bad ? bad : "");
    printf("v1 at index=%p blob0=%p\n", (void *)index_of, head ? (void *)head->blob : NULL);
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
    printf("v1 fnv=%016lx\n", bytes_digest());
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "check", 5) == 0) {
            check();
            printf("v1 fnv=%016lx\n", bytes_digest());
        }
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    printf("v1 freed %ld\n", release());
    return 0;
}
