/* Version 2: `v` is now `w`, ten times larger (a field rule). */
#include <stdio.h>
#include <string.h>

struct r {
    long w;
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
            printf("v2 %ld/%d %ld/%d %ld/%d %ld/%d\n", arr[0].w, arr[0].keep, arr[1].w, arr[1].keep,
                   arr[2].w, arr[2].keep, one.w, one.keep);
        else if (strncmp(line, "quit", 4) == 0)
            return 0;
        fflush(stdout);
    }
    return 0;
}
