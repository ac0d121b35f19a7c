/* tutorial, version 1: a till that sells an item every 300 ms and keeps its takings in
 * cents. The tutorial in examples/README.md updates it to version 2 while it runs. */
#include <stdio.h>
#include <unistd.h>

struct sale {
    int item;
    long cents;
};

long takings;
struct sale last;

static void sell(int item)
{
    last.item = item;
    last.cents = 250 + item % 3 * 100;
    takings += last.cents;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int item = 1;; item++) {
        sell(item);
        printf("v1 sold item %d for %ld cents, takings %ld cents\n", item, last.cents,
               takings);
        usleep(300000);
    }
}
