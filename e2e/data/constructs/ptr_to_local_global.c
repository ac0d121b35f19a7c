/* Pointers to locals stored in globals and heap objects, used by callees across calls and loop
 * iterations; a linked list whose nodes are locals of recursive frames. */
#include <stdio.h>
#include <stdlib.h>

struct node { int v; struct node *next; };
static int *g_counter;
static struct node *g_head;
static int **g_slot;

static void tick(void) { for (int i = 0; i < 3; i++) (*g_counter)++; }
static long walk(void) { long s = 0; for (struct node *n = g_head; n; n = n->next) s = s * 10 + n->v; return s; }

static long build(int depth) {
    struct node n = {depth, g_head};
    g_head = &n;
    long r = depth == 0 ? walk() : build(depth - 1);
    tick();
    g_head = n.next;
    return r + n.v;
}

int main(void) {
    int counter = 0;
    int *heap_holder = &counter;
    g_slot = malloc(sizeof *g_slot);
    *g_slot = heap_holder;
    g_counter = &counter;
    long total = 0;
    for (int i = 0; i < 6; i++) {
        total += build(i);
        **g_slot += 100;
    }
    printf("counter=%d total=%ld head_null=%d\n", counter, total, g_head == NULL);
    free(g_slot);
    return 0;
}
