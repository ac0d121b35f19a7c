/* heap/generic, version 2: `struct item` is reordered and gains `seen` and `score`; the
 * container and `struct label` are unchanged. After the update from version 1 with the layout
 * hints of generic.upd, `check` must find the 1000 items with their values and the new fields
 * zero, through the same nodes, and the 100 labels as they were; the first node and label at
 * their old addresses. */
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
    long weight;
    int id;
    unsigned seen;
    long score;
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
        it->seen = 0;
        it->score = 0;
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
    long n = 0, nl = 0, weights = 0, fresh = 0;
    unsigned long h = FNV0;
    const char *bad = NULL;
    char want[16];
    for (struct node *x = items; x && n <= NITEMS; x = x->next) {
        struct item *it = x->data;
        if (!bad && it->id != n)
            bad = "id";
        if (!bad && it->weight != 1000L * it->id + 17)
            bad = "weight";
        if (!bad && (it->seen != 0 || it->score != 0))
            bad = "new fields";
        weights += it->weight;
        fresh += it->seen + it->score;
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
    printf("v2 generic items=%ld labels=%ld weights=%ld fresh=%ld digest=%016lx %s%s\n", n, nl,
           weights, fresh, h, bad ? "BAD " : "ok", bad ? bad : "");
    printf("v2 at node=%p label=%p\n", (void *)items, labels ? labels->data : NULL);
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
    printf("v2 fnv=%016lx\n", bytes_digest());
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "check", 5) == 0)
            check();
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    long freed = release(&items);
    freed += release(&labels);
    printf("v2 freed %ld\n", freed);
    return 0;
}
