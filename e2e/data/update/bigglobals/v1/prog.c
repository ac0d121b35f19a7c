/* Globals of every size carry over, also ones that span more than one page of the module's
 * .bss (which the loader maps as a file-backed page followed by anonymous memory). Commands on
 * stdin: `show` prints the sums, `quit` exits. */
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
            show("v1");
        else if (strncmp(line, "quit", 4) == 0)
            return 0;
    }
    return 0;
}
