/* Direct and mutual recursion: fib, Ackermann, even/odd, a recursive-descent evaluator. */
#include <stdio.h>

static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static int ack(int m, int n) { return m == 0 ? n + 1 : n == 0 ? ack(m - 1, 1) : ack(m - 1, ack(m, n - 1)); }
static int is_odd(unsigned n);
static int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }
static int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }

static const char *p;
static int expr(void);
static int atom(void) {
    if (*p == '(') { p++; int v = expr(); p++; return v; }
    int v = 0;
    while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
    return v;
}
static int term(void) {
    int v = atom();
    while (*p == '*') { p++; v *= atom(); }
    return v;
}
static int expr(void) {
    int v = term();
    while (*p == '+' || *p == '-') { char o = *p++; int w = term(); v = o == '+' ? v + w : v - w; }
    return v;
}

static void hanoi(int n, int a, int b, int c, unsigned *h) {
    if (n == 0) return;
    hanoi(n - 1, a, c, b, h);
    *h = *h * 7 + (unsigned)(a * 3 + c);
    hanoi(n - 1, c, b, a, h);
}

int main(void) {
    unsigned h = 1;
    hanoi(10, 1, 2, 3, &h);
    p = "2*(3+4*(5-2))-((7))*2+100";
    int e = expr();
    printf("fib=%d ack=%d even=%d odd=%d expr=%d hanoi=%u\n", fib(20), ack(2, 3), is_even(1000), is_odd(777), e, h);
    return 0;
}
