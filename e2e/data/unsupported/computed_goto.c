/* Computed goto (`&&label` and `goto *p`): the jump target is a run-time value, so the rebuild
 * cannot know which label a saved frame would continue at. upstare-cc refuses it. */
#include <stdio.h>

static int run(const int *code, int n) {
    int acc = 0, pc = 0;
    static void *ops[] = {&&op_add, &&op_dbl, &&op_end};
    goto *ops[code[pc]];
op_add:
    acc += 1;
    if (++pc < n) goto *ops[code[pc]];
    return acc;
op_dbl:
    acc *= 2;
    if (++pc < n) goto *ops[code[pc]];
    return acc;
op_end:
    return acc;
}

int main(void) {
    int code[] = {0, 1, 0, 1, 1, 2};
    printf("%d\n", run(code, 6));
    return 0;
}
