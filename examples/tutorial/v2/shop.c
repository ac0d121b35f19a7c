/* tutorial, version 2: takings are kept in whole dollars (an int) and a sale
 * records its price in dollars too. */
#include <stdio.h>
#include <unistd.h>

struct sale {
    int item;
    int dollars;
};

int takings;
struct sale last;

static void sell(int item)
{
    last.item = item;
    last.dollars = 3 + item % 3;
    takings += last.dollars;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int item = 1;; item++) {
        sell(item);
        printf("v2 sold item %d for $%d, takings $%d\n", item, last.dollars, takings);
        usleep(300000);
    }
}
