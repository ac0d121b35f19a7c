/* heap/tagged, version 1: 100 tagged values; a value of kind 1 holds a pointer to an item in
 * a union, a value of kind 0 a number there. Items are reached only through the union, so the
 * spec's `case` hint says which member each value holds; version 2 gives items a new field.
 * Commands on stdin: `check` prints one summary line, `quit` exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct item {
    long id;
};

union payload {
    long num;
    struct item *ref;
};

struct value {
    int kind;
    union payload u;
};

struct value *values;

static void check(void)
{
    long nums = 0, ids = 0;
    for (int i = 0; i < 100; i++) {
        if (values[i].kind == 0)
            nums += values[i].u.num;
        else
            ids += values[i].u.ref->id;
    }
    printf("v1 tagged nums=%ld ids=%ld\n", nums, ids);
    fflush(stdout);
}

int main(void)
{
    values = calloc(100, sizeof *values);
    for (int i = 0; i < 100; i++) {
        values[i].kind = i % 2;
        if (i % 2 == 0) {
            values[i].u.num = i;
        } else {
            values[i].u.ref = malloc(sizeof(struct item));
            values[i].u.ref->id = 1000 + i;
        }
    }
    printf("ready\n");
    check();
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "check", 5) == 0)
            check();
        else if (strncmp(line, "quit", 4) == 0)
            return 0;
    }
    return 0;
}
