/* chain, version 1: a small ledger driven by commands on stdin. `pay NAME CENTS` adds to an
 * account, `show` prints every balance. Balances are ints in cents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct account {
    char name[8];
    int cents;
};

struct account book[3] = {{"ann", 0}, {"bob", 0}, {"cy", 0}};
int ops;

static struct account *find(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(book[i].name, name) == 0)
            return &book[i];
    return NULL;
}

static void handle(char *line)
{
    char name[16];
    long amount;
    if (sscanf(line, "pay %15s %ld", name, &amount) == 2 && find(name)) {
        struct account *a = find(name);
        a->cents += (int)amount;
        ops++;
        printf("v1 %s=%d\n", a->name, a->cents);
    } else if (strcmp(line, "show") == 0) {
        printf("v1 ops=%d", ops);
        for (int i = 0; i < 3; i++)
            printf(" %s=%d", book[i].name, book[i].cents);
        printf("\n");
    } else {
        printf("v1 ? %s\n", line);
    }
}

int main(void)
{
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\n")] = 0;
        handle(line);
    }
    return 0;
}
