/* Heap data built and transformed in loops and recursion: a linked list, a binary tree, and
 * realloc'd arrays; pointers into the heap live in locals across calls. */
#include <stdio.h>
#include <stdlib.h>

struct cell { long v; struct cell *next; };
struct tree { int key; struct tree *l, *r; };

static struct cell *push(struct cell *h, long v) { struct cell *c = malloc(sizeof *c); c->v = v; c->next = h; return c; }
static struct cell *reverse(struct cell *h) { struct cell *r = NULL; while (h) { struct cell *n = h->next; h->next = r; r = h; h = n; } return r; }
static struct tree *insert(struct tree *t, int k) {
    if (!t) { t = calloc(1, sizeof *t); t->key = k; return t; }
    if (k < t->key) t->l = insert(t->l, k); else t->r = insert(t->r, k);
    return t;
}
static long inorder(struct tree *t, long acc) { return t ? inorder(t->r, inorder(t->l, acc) * 3 % 1000003 + t->key) : acc; }
static int height(struct tree *t) { if (!t) return 0; int a = height(t->l), b = height(t->r); return 1 + (a > b ? a : b); }
static void drop(struct tree *t) { if (t) { drop(t->l); drop(t->r); free(t); } }

int main(void) {
    struct cell *h = NULL;
    for (long i = 0; i < 1000; i++) h = push(h, i * i % 977);
    h = reverse(h);
    long s = 0;
    int n = 0;
    for (struct cell *c = h; c; c = c->next) s = (s * 7 + c->v) % 1000000007, n++;
    struct tree *t = NULL;
    unsigned x = 1;
    for (int i = 0; i < 2000; i++) { x = x * 1103515245u + 12345u; t = insert(t, (int)(x >> 16) % 5000); }
    int *arr = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < 3000; i++) {
        if (i == cap) { cap = cap ? cap * 2 : 4; arr = realloc(arr, cap * sizeof *arr); }
        arr[i] = (int)(i * 3 % 11);
    }
    long a = 0;
    for (size_t i = 0; i < 3000; i++) a += arr[i];
    printf("list n=%d s=%ld tree=%ld height=%d arr=%ld cap=%zu\n", n, s, inorder(t, 0), height(t), a, cap);
    while (h) { struct cell *nx = h->next; free(h); h = nx; }
    drop(t);
    free(arr);
    return 0;
}
