/* Calls inside the initialisers of locals, of arrays and of structs (including designated
 * initialisers and nested aggregates), inside loops. */
#include <stdio.h>

struct point { int x, y; };
struct shape { struct point p[3]; int id; const char *name; };
static int calls;
static int f(int v) { calls++; return v * v - 3; }
static struct point pt(int v) { return (struct point){f(v), v}; }

int main(void) {
    long total = 0;
    { /* while, not for: a counted for-loop has no update point of its own, this loop must have one */
    int i = 0;
    while (i < 10) {
        int a = f(i), b = f(a % 7) + a;
        int arr[5] = {f(1), f(i), [3] = f(b % 5)};
        struct point p = {.y = f(i), .x = b};
        struct shape s = {{pt(i), {f(2), 3}, pt(a % 4)}, .id = f(i + 1), "shape"};
        struct point q = pt(s.p[0].x % 5);
        total += a + b + arr[0] + arr[1] + arr[2] + arr[3] + arr[4] + p.x + p.y + s.p[0].x + s.p[1].x +
                 s.p[2].y + s.id + q.x + (s.name[1] == 'h');
        i++;
    }
    }
    printf("total=%ld calls=%d\n", total, calls);
    return 0;
}
