/* Version 2: the same globals, shown as v2: their values must be the ones version 1 left. */
#include <stdio.h>
#include <string.h>

static int small[10];
static int big[1000];
long huge[100000];

static void show(const char *v)
{
    long s = 0, b = 0, h = 0;
    for (int i = 0; i < 10; i++)
        s += small[i];
    for (int i = 0; i < 1000; i++)
        b += big[i];
    for (int i = 0; i < 100000; i++)
        h += huge[i];
    printf("%s small=%ld big=%ld huge=%ld\n", v, s, b, h);
    fflush(stdout);
}

int main(void)
{
    for (int i = 0; i < 10; i++)
        small[i] = i + 1;
    for (int i = 0; i < 1000; i++)
        big[i] = i + 1;
    for (int i = 0; i < 100000; i++)
        huge[i] = i + 1;
    printf("ready\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "show", 4) == 0)
            show("v2");
        else if (strncmp(line, "quit", 4) == 0)
            return 0;
    }
    return 0;
}
