/* Type and field rules reach the elements of global arrays of structs. Version 2 renames `v` to
 * `w` (a field rule scales it), version 3 narrows it to int (a type rule says how). Commands on
 * stdin: `show` prints the values, `quit` exits. */
#include <stdio.h>
#include <string.h>

struct r {
    long v;
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
            printf("v1 %ld/%d %ld/%d %ld/%d %ld/%d\n", arr[0].v, arr[0].keep, arr[1].v, arr[1].keep,
                   arr[2].v, arr[2].keep, one.v, one.keep);
        else if (strncmp(line, "quit", 4) == 0)
            return 0;
        fflush(stdout);
    }
    return 0;
}
