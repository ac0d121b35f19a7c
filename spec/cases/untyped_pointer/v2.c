/* v2: items gain a weight. */
#include <stdlib.h>
struct item { int id; long weight; };
struct node { void *data; struct node *next; };
struct node *list;
void *last_seen;
int main(void) {
    struct item *it = malloc(sizeof *it);
    it->id = 1;
    list = malloc(sizeof *list);
    list->data = it;
    list->next = 0;
    last_seen = it;
    return 0;
}
