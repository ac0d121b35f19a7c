/* chain, version 3: balances are kept in mills (tenths of a cent), the field is renamed, and
 * the operation counter becomes `total_ops`; `pay` still takes cents, `show` prints dollars. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct account {
    char name[8];
    long mills;
    int payments;
};

struct account book[3] = {{"ann", 0, 0}, {"bob", 0, 0}, {"cy", 0, 0}};
long total_ops;

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
        a->mills += amount * 10;
        a->payments++;
        total_ops++;
        printf("v3 %s=$%ld.%03ld (%d payments)\n", a->name, a->mills / 1000, a->mills % 1000,
               a->payments);
    } else if (strcmp(line, "show") == 0) {
        printf("v3 ops=%ld", total_ops);
        for (int i = 0; i < 3; i++)
            printf(" %s=$%ld.%03ld/%d", book[i].name, book[i].mills / 1000, book[i].mills % 1000,
                   book[i].payments);
        printf("\n");
    } else {
        printf("v3 ? %s\n", line);
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
