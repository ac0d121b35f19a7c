/* heap/stale, version 1: a vector of item pointers (`struct vec`, capacity 16) that pops items
 * without clearing their slots: `pop` frees the item and leaves its pointer behind, so slots
 * past `n` are stale. A string strdup'ed after the pops reuses a freed item's block. The
 * traversal cannot know that the slots past `n` are dead: without a hint, the update must be
 * refused (migrating the "item" there would rewrite the live string); with the hint
 * `items: struct item*[old.n]` it migrates the live items and leaves the string alone.
 * Commands on stdin: `check` prints one summary line, `quit` frees everything and exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct item {
    long id;
    long weight;
};

struct vec {
    int n;
    struct item **items;
};

struct vec all;
char *name;

static void pop(void)
{
    free(all.items[--all.n]);
}

static void check(void)
{
    long ids = 0, weights = 0;
    for (int i = 0; i < all.n; i++) {
        ids += all.items[i]->id;
        weights += all.items[i]->weight;
    }
    printf("v1 stale n=%d ids=%ld weights=%ld name=%s\n", all.n, ids, weights, name);
    fflush(stdout);
}

int main(void)
{
    all.items = calloc(16, sizeof *all.items);
    for (int i = 0; i < 10; i++) {
        struct item *it = malloc(sizeof *it);
        it->id = i;
        it->weight = 100 + i;
        all.items[all.n++] = it;
    }
    pop();
    pop();
    /* 15 characters and the NUL: the size of a freed item, so the allocator reuses one. */
    name = strdup("abcdefghijklmno");
    printf("ready\n");
    check();
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "check", 5) == 0) {
            check();
        } else if (strncmp(line, "quit", 4) == 0) {
            int freed = all.n;
            while (all.n > 0)
                pop();
            free(all.items);
            free(name);
            printf("v1 freed %d\n", freed);
            return 0;
        }
    }
    return 0;
}
