/* `main(int argc, char **argv)` reading its arguments in a loop, and modifying argv. */
#include <stdio.h>
#include <string.h>

static unsigned hash(const char *s) { unsigned h = 5381; while (*s) h = h * 33 + (unsigned char)*s++; return h; }

int main(int argc, char **argv) {
    unsigned h = 0;
    for (int i = 1; i < argc; i++) {
        h ^= hash(argv[i]);
        printf("arg %d: %s (%zu)\n", i, argv[i], strlen(argv[i]));
    }
    argv[1] = "changed";
    for (int i = 1; i < argc; i++) h = h * 3 + hash(argv[i]);
    printf("argc=%d h=%u null_end=%d\n", argc, h, argv[argc] == NULL);
    return 0;
}
