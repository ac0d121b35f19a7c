/* Another program altogether: its main is in a file of another name. */
#include <stdio.h>

int main(void)
{
    printf("other\n");
    return 0;
}
