/* long double values: the JIT has no x87 arithmetic. */
long double total;
double part;
int main(void) { return total > 0; }
