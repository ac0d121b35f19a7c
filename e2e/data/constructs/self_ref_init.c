/* A local named in its own initializer (`p = malloc(n * sizeof *p)`), boxed (its elements'
 * addresses escape) and plain, in a function with update points, and one that shadows an
 * outer local of another type. */
#include <stdio.h>
#include <stdlib.h>

static void bump(long *p) { for (int i = 0; i < 3; i++) (*p)++; }

int main(void) {
    long total = 0;
    for (int round = 0; round < 4; round++) {
        long *arr = calloc((size_t)(round + 2), sizeof *arr);
        bump(&arr[round]);
        total += arr[round] + (long)sizeof *arr;
        free(arr);
        int *plain = malloc(sizeof *plain);
        *plain = round;
        total += *plain;
        free(plain);
        {
            char total_c = (char)sizeof total;
            double total2 = (double)sizeof total2;
            total += total_c + (long)total2;
        }
    }
    printf("%ld\n", total);
    return 0;
}
