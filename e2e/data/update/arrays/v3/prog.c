/* Version 3: `v` narrowed to int (a type rule). */
#include <stdio.h>
#include <string.h>

struct r {
    int v;
    int keep;
};

struct r arr[3] = {{5, 1}, {7, 2}, {-3, 3}};
struct r one = {9, 4};

int main(void)
{
    printf("ready\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "show", 4) == 0)
            printf("v3 %d/%d %d/%d %d/%d %d/%d\n", arr[0].v, arr[0].keep, arr[1].v, arr[1].keep,
                   arr[2].v, arr[2].keep, one.v, one.keep);
        else if (strncmp(line, "quit", 4) == 0)
            return 0;
        fflush(stdout);
    }
    return 0;
}
