/* heap/tree, version 1: an unbalanced binary search tree of 1000 heap nodes with parent
 * pointers, keys inserted in a scrambled order (key = 3 * (389 i mod 1000) + 1). Reached from a
 * global (`root`), from a local of main and a parameter of the command loop one frame below it
 * (`lowest`, the leftmost node), and from a local of that loop (`top`, the root's right child).
 * Commands on stdin: `check` walks the tree in order and prints one summary line, `quit` frees
 * every node and exits.
 * Version 2 adds a field in the middle of the node: every node must migrate, and every child,
 * parent and outside pointer must lead to the new nodes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1000
#define FNV0 0xcbf29ce484222325UL

struct tnode {
    long key;
    struct tnode *left;
    struct tnode *right;
    struct tnode *parent;
};

struct tnode *root;

static unsigned long fnv(unsigned long h, unsigned long v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3UL;
    }
    return h;
}

static void insert(long key)
{
    struct tnode *n = malloc(sizeof *n);
    if (!n)
        exit(2);
    n->key = key;
    n->left = n->right = n->parent = NULL;
    struct tnode **link = &root, *parent = NULL;
    while (*link) {
        parent = *link;
        link = key < parent->key ? &parent->left : &parent->right;
    }
    n->parent = parent;
    *link = n;
}

/* The walk's state, so that the recursion stays small. */
struct walk {
    long n, keys, prev;
    int depth, maxdepth;
    unsigned long h, bytes;
    const char *bad;
};

static void walk(struct tnode *t, struct walk *w)
{
    if (!t)
        return;
    if (++w->depth > w->maxdepth)
        w->maxdepth = w->depth;
    if (w->depth > N) {
        w->bad = "depth";
        return;
    }
    if (!w->bad && t->left && t->left->parent != t)
        w->bad = "left->parent";
    if (!w->bad && t->right && t->right->parent != t)
        w->bad = "right->parent";
    walk(t->left, w);
    if (!w->bad && t->key <= w->prev)
        w->bad = "order";
    w->prev = t->key;
    w->keys += t->key;
    w->h = fnv(w->h, t->key);
    const unsigned char *p = (const unsigned char *)t;
    for (unsigned long k = 0; k < sizeof *t; k++) {
        w->bytes ^= p[k];
        w->bytes *= 0x100000001b3UL;
    }
    w->n++;
    walk(t->right, w);
    w->depth--;
}

static void check(struct tnode *lowest, struct tnode *top)
{
    struct walk w = {.prev = -1, .h = FNV0, .bytes = FNV0};
    walk(root, &w);
    if (!w.bad && root && root->parent != NULL)
        w.bad = "root->parent";
    if (!w.bad && (lowest->left != NULL || lowest->key != 1))
        w.bad = "lowest";
    for (struct tnode *t = lowest; !w.bad && t != root; t = t->parent)
        if (!t->parent || t->parent->left != t)
            w.bad = "lowest path";
    if (!w.bad && (top == NULL || top->parent != root || root->right != top))
        w.bad = "top";
    printf("v1 tree n=%ld keys=%ld depth=%d digest=%016lx %s%s\n", w.n, w.keys, w.maxdepth, w.h,
           w.bad ? "BAD " : "ok", w.bad ? w.bad : "");
}

static long release(struct tnode *t)
{
    if (!t)
        return 0;
    long n = 1 + release(t->left) + release(t->right);
    free(t);
    return n;
}

/* The command loop, one frame below main: its parameter `lowest` and its local `top` (the
 * root's right child) live in this frame's record during an update. */
static long serve(struct tnode *lowest)
{
    char line[64];
    long commands = 0;
    struct tnode *top = root ? root->right : NULL;
    while (fgets(line, sizeof line, stdin) != NULL) {
        commands++;
        if (strncmp(line, "check", 5) == 0)
            check(lowest, top);
        else if (strncmp(line, "quit", 4) == 0)
            break;
    }
    return commands;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (long i = 0; i < N; i++)
        insert(3 * ((389 * i) % N) + 1);
    struct tnode *lowest = root;
    while (lowest->left)
        lowest = lowest->left;
    struct walk w = {.prev = -1, .h = FNV0, .bytes = FNV0};
    walk(root, &w);
    printf("ready\n");
    printf("v1 fnv=%016lx\n", w.bytes);
    serve(lowest);
    /* main's own copy of `lowest` was in main's record during the update too. */
    if (lowest->key != 1 || lowest->left != NULL) {
        printf("v1 BAD main lowest\n");
        return 3;
    }
    printf("v1 freed %ld\n", release(root));
    root = NULL;
    return 0;
}
