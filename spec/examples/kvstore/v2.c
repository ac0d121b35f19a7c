/* The next version: values are ints, entries cache their key's hash, the count is unsigned. */
#include <stdlib.h>
#include <string.h>

struct entry {
    char *key;
    int value;
    unsigned hash;
    struct entry *next;
};

static struct entry *buckets[16];
static unsigned count;

static unsigned hash_of(const char *k) {
    unsigned h = 0;
    while (*k) h = h * 31 + (unsigned char)*k++;
    return h;
}

void put(const char *k, int v) {
    struct entry *e = malloc(sizeof *e);
    e->key = strdup(k);
    e->value = v;
    e->hash = hash_of(k);
    e->next = buckets[e->hash % 16];
    buckets[e->hash % 16] = e;
    count++;
}

int main(void) {
    for (int i = 0; i < 100; i++) {
        char k[8] = {'k', (char)('a' + i % 26), 0};
        put(k, i);
    }
    return count != 100;
}
