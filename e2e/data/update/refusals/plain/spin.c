/* Built with plain gcc, not upstare-cc: a thread in here reaches no update point. */
#include <unistd.h>

volatile int spin_stop;

void spin_forever(void)
{
    while (!spin_stop && access("stop", F_OK) != 0)
        ;
}
