/* Locals whose address is taken, and arrays, live in boxes; the record holds the box pointer. */
#include <stdio.h>

static void bump(int *p, int by) { *p += by; }

int main(void) {
    int counter = 0;                /* &counter escapes: boxed */
    int plain = 1;                  /* never addressed: saved by value */
    char name[8] = "abc";           /* array: boxed */
    struct { int a, b; } pair = {1, 2};   /* type defined in the declaration, address taken */
    for (int i = 0; i < 4; i++) {
        bump(&counter, i);
        bump(&pair.b, plain);
        plain += name[i % 3];
    }
    printf("%d %d %s %d\n", counter, plain, name, pair.b);
    return 0;
}
