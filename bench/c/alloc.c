/* Allocation-heavy benchmark: lists of small nodes built, walked and freed, and a vector grown
 * with realloc, in plain loops (no recursion), so that the cost upstare adds is mostly the
 * heap tracking of malloc, realloc and free (two atomic operations each). */
#include <stdio.h>
#include <stdlib.h>

struct node {
    long value;
    struct node *next;
};

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 30;
    long sum = 0;
    for (int r = 0; r < rounds; r++) {
        struct node *head = NULL;
        for (long i = 0; i < 200000; i++) {
            struct node *n = malloc(sizeof *n);
            n->value = i ^ r;
            n->next = head;
            head = n;
        }
        long *vec = NULL;
        size_t len = 0, cap = 0;
        while (head) {
            struct node *n = head;
            head = n->next;
            if (len == cap) {
                cap = cap ? 2 * cap : 16;
                vec = realloc(vec, cap * sizeof *vec);
            }
            vec[len++] = n->value;
            free(n);
        }
        for (size_t i = 0; i < len; i++)
            sum += vec[i];
        free(vec);
    }
    printf("alloc: %ld\n", sum);
    return 0;
}
