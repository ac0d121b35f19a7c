/* Enums as locals, parameters, switch subjects and array indices, including negative and
 * explicit values. */
#include <stdio.h>

enum color { RED, GREEN = 5, BLUE, NEG = -2 };
enum state { IDLE, RUN, STOP, NSTATES };

static enum state next(enum state s, int input) {
    switch (s) {
    case IDLE: return input % 3 ? RUN : IDLE;
    case RUN: return input % 5 == 0 ? STOP : RUN;
    default: return IDLE;
    }
}

int main(void) {
    int visits[NSTATES] = {0};
    enum state s = IDLE;
    enum color c = RED;
    { /* while, not for: a counted for-loop has no update point of its own, this loop must have one */
    int i = 0;
    while (i < 200) {
        s = next(s, i);
        visits[s]++;
        c = (enum color)(c == RED ? GREEN : c == GREEN ? BLUE : c == BLUE ? NEG : RED);
        i++;
    }
    }
    printf("visits=%d,%d,%d s=%d c=%d sum=%d\n", visits[0], visits[1], visits[2], s, c, RED + GREEN + BLUE + NEG);
    return 0;
}
