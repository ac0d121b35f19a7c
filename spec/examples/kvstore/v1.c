/* A tiny key-value store: chained buckets of heap entries. */
#include <stdlib.h>
#include <string.h>

struct entry {
    char *key;
    long value;
    struct entry *next;
};

static struct entry *buckets[16];
static int count;

static unsigned slot(const char *k) {
    unsigned h = 0;
    while (*k) h = h * 31 + (unsigned char)*k++;
    return h % 16;
}

void put(const char *k, long v) {
    struct entry *e = malloc(sizeof *e);
    e->key = strdup(k);
    e->value = v;
    e->next = buckets[slot(k)];
    buckets[slot(k)] = e;
    count++;
}

int main(void) {
    for (int i = 0; i < 100; i++) {
        char k[8] = {'k', (char)('a' + i % 26), 0};
        put(k, i);
    }
    return count != 100;
}
