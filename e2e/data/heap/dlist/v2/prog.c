/* heap/dlist, version 2: the node's fields are reordered, `weight` is a long and `mark` is new.
 * After the update from version 1, `check` must find the same 1000 nodes in order both ways,
 * every link consistent, the ring closed through version 2's global sentinel, `mark` zero, and
 * main's static local `cursor` at node 250. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUILT 1200
#define FNV0 0xcbf29ce484222325UL

struct node {
    int id;
    long weight;
    struct node *next;
    struct node *prev;
    short mark;
};

struct node head = {-1, 0, &head, &head, 0};

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
    for (struct node *n = head.next; n != &head; n = n->next) {
        const unsigned char *p = (const unsigned char *)n;
        for (unsigned long k = 0; k < sizeof *n; k++) {
            h ^= p[k];
            h *= 0x100000001b3UL;
        }
    }
    return h;
}

static void build(void)
{
    for (int id = 0; id < BUILT; id++) {
        struct node *n = calloc(1, sizeof *n);
        if (!n)
            exit(2);
        n->id = id;
        n->weight = 5 * id - 3;
        n->prev = head.prev;
        n->next = &head;
        head.prev->next = n;
        head.prev = n;
    }
    for (struct node *n = head.next; n != &head;) {
        struct node *next = n->next;
        if (n->id % 6 == 5) {
            n->prev->next = n->next;
            n->next->prev = n->prev;
            free(n);
        }
        n = next;
    }
}

static void check(struct node *cursor)
{
    long n = 0, back = 0, ids = 0, weights = 0, marks = 0;
    unsigned long h = FNV0;
    const char *bad = NULL;
    int last = -1, saw_cursor = 0;
    for (struct node *x = head.next; x != &head; x = x->next) {
        if (n > 10 * BUILT) {
            bad = "cycle";
            break;
        }
        if (!bad && (x->next->prev != x || x->prev->next != x))
            bad = "links";
        if (!bad && (x->id <= last || x->id % 6 == 5))
            bad = "order";
        if (!bad && x->weight != 5 * x->id - 3)
            bad = "weight";
        if (!bad && x->mark != 0)
            bad = "mark";
        marks += x->mark;
        if (x == cursor)
            saw_cursor = 1;
        last = x->id;
        ids += x->id;
        weights += x->weight;
        h = fnv(h, x->id);
        h = fnv(h, x->weight);
        n++;
    }
    for (struct node *x = head.prev; x != &head && back <= 10 * BUILT; x = x->prev)
        back++;
    if (!bad && back != n)
        bad = "back";
    if (!bad && (head.id != -1 || head.weight != 0 || head.mark != 0))
        bad = "sentinel";
    if (!bad && (!saw_cursor || cursor->id != 250))
        bad = "cursor";
    printf("v2 dlist n=%ld back=%ld ids=%ld weights=%ld marks=%ld digest=%016lx %s%s\n", n, back,
           ids, weights, marks, h, bad ? "BAD " : "ok", bad ? bad : "");
}

static long release(void)
{
    long n = 0;
    while (head.next != &head) {
        struct node *x = head.next;
        head.next = x->next;
        x->next->prev = &head;
        free(x);
        n++;
    }
    return n;
}

int main(void)
{
    static struct node *cursor;
    char line[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    build();
    for (cursor = head.next; cursor != &head && cursor->id != 250; cursor = cursor->next)
        ;
    printf("ready\n");
    printf("v2 fnv=%016lx\n", bytes_digest());
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "check", 5) == 0)
            check(cursor);
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    printf("v2 freed %ld\n", release());
    return 0;
}
