/* heap/generic, version 1: one generic container, `struct node { void *data; struct node
 * *next; }`, used twice: `items` holds 1000 `struct item *` (a type version 2 changes) and
 * `labels` 100 `struct label *` (a type that stays). Only the spec's layout hints say what each
 * list's `void *data` points to. Commands on stdin: `check` walks both lists and prints one
 * summary line and the addresses of the first node and label, `quit` frees everything and
 * exits. Version 2's item gains `seen`: the items
 * must migrate and the nodes (unchanged, left in place) point at the new items, while the
 * labels, reached through the same node type, stay exactly as they are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NITEMS 1000
#define NLABELS 100
#define FNV0 0xcbf29ce484222325UL

struct node {
    void *data;
    struct node *next;
};

struct item {
    int id;
    long weight;
};

struct label {
    char text[16];
};

struct node *items;
struct node *labels;

static unsigned long fnv(unsigned long h, unsigned long v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3UL;
    }
    return h;
}

static unsigned long fnv_bytes(unsigned long h, const void *p, unsigned long n)
{
    const unsigned char *b = p;
    for (unsigned long k = 0; k < n; k++) {
        h ^= b[k];
        h *= 0x100000001b3UL;
    }
    return h;
}

static unsigned long bytes_digest(void)
{
    unsigned long h = FNV0;
    for (struct node *n = items; n; n = n->next)
        h = fnv_bytes(fnv_bytes(h, n, sizeof *n), n->data, sizeof(struct item));
    for (struct node *n = labels; n; n = n->next)
        h = fnv_bytes(fnv_bytes(h, n, sizeof *n), n->data, sizeof(struct label));
    return h;
}

/* Appends data at the end of *list (the container knows nothing of what it holds). */
static void push(struct node **list, void *data)
{
    struct node *n = malloc(sizeof *n);
    if (!n)
        exit(2);
    n->data = data;
    n->next = NULL;
    while (*list)
        list = &(*list)->next;
    *list = n;
}

static void build(void)
{
    struct node *tail = NULL;
    for (int i = 0; i < NITEMS; i++) {
        struct item *it = malloc(sizeof *it);
        if (!it)
            exit(2);
        it->id = i;
        it->weight = 1000L * i + 17;
        /* Appending at the tail by hand: push() alone would be quadratic. */
        push(tail ? &tail->next : &items, it);
        tail = tail ? tail->next : items;
    }
    for (int i = 0; i < NLABELS; i++) {
        struct label *l = calloc(1, sizeof *l);
        if (!l)
            exit(2);
        snprintf(l->text, sizeof l->text, "L%d", i);
        push(&labels, l);
    }
}

static void check(void)
{
    long n = 0, nl = 0, weights = 0;
    unsigned long h = FNV0;
    const char *bad = NULL;
    char want[16];
    for (struct node *x = items; x && n <= NITEMS; x = x->next) {
        struct item *it = x->data;
        if (!bad && it->id != n)
            bad = "id";
        if (!bad && it->weight != 1000L * it->id + 17)
            bad = "weight";
        weights += it->weight;
        h = fnv(h, it->id);
        h = fnv(h, it->weight);
        n++;
    }
    for (struct node *x = labels; x && nl <= NLABELS; x = x->next) {
        struct label *l = x->data;
        snprintf(want, sizeof want, "L%ld", nl);
        if (!bad && memcmp(l->text, want, strlen(want) + 1) != 0)
            bad = "label";
        h = fnv_bytes(h, l->text, sizeof l->text);
        nl++;
    }
    printf("v1 generic items=%ld labels=%ld weights=%ld digest=%016lx %s%s\n", n, nl, weights, h,
           bad ? "BAD " : "ok", bad ? bad : "");
    printf("v1 at node=%p label=%p\n", (void *)items, labels ? labels->data : NULL);
}

static long release(struct node **list)
{
    long n = 0;
    while (*list) {
        struct node *x = *list;
        *list = x->next;
        free(x->data);
        free(x);
        n++;
    }
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
    long freed = release(&items);
    freed += release(&labels);
    printf("v1 freed %ld\n", freed);
    return 0;
}
