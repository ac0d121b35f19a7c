/* Counters that only widen: everything converts automatically. */
struct stats { int hits; float ratio; };
static struct stats st;
short level = 3;
int main(void) { for (int i = 0; i < 10; i++) { st.hits++; level++; } return st.hits != 10; }
