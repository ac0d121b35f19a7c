/* chain, version 2: balances widen to long, and every account counts its payments (a new
 * field: zero for the accounts that come from version 1). `show` prints the counts too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct account {
    char name[8];
    long cents;
    int payments;
};

struct account book[3] = {{"ann", 0, 0}, {"bob", 0, 0}, {"cy", 0, 0}};
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
        a->cents += amount;
        a->payments++;
        ops++;
        printf("v2 %s=%ld (%d payments)\n", a->name, a->cents, a->payments);
    } else if (strcmp(line, "show") == 0) {
        printf("v2 ops=%d", ops);
        for (int i = 0; i < 3; i++)
            printf(" %s=%ld/%d", book[i].name, book[i].cents, book[i].payments);
        printf("\n");
    } else {
        printf("v2 ? %s\n", line);
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
