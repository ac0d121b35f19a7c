/* heap/stale, version 2: the vector of version 1 (see there) with items that gain `rank`,
 * which must be zero after the update for each of the live items, whose ids and weights
 * carry over; the string must be untouched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct item {
    long id;
    int rank;
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
    long ids = 0, weights = 0, ranks = 0;
    for (int i = 0; i < all.n; i++) {
        ids += all.items[i]->id;
        weights += all.items[i]->weight;
        ranks += all.items[i]->rank;
    }
    printf("v2 stale n=%d ids=%ld weights=%ld ranks=%ld name=%s\n", all.n, ids, weights, ranks, name);
    fflush(stdout);
}

int main(void)
{
    all.items = calloc(16, sizeof *all.items);
    for (int i = 0; i < 10; i++) {
        struct item *it = malloc(sizeof *it);
        it->id = i;
        it->weight = 100 + i;
        it->rank = 0;
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
            printf("v2 freed %d\n", freed);
            return 0;
        }
    }
    return 0;
}
