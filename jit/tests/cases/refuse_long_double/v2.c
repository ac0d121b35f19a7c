long double total;
double part;
int main(void) { return total > 0; }
