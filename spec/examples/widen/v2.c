/* The next version: wider counters, a new field (zero), a new global (its initialiser). */
struct stats { long hits; double ratio; int misses; };
static struct stats st;
int level = 3;
int verbose = 1;
int main(void) { for (int i = 0; i < 10; i++) { st.hits++; level++; } return st.hits != 10; }
