/* The next version: narrower and re-signed numbers, a name that became a number. */
struct rec {
    int size;
    int id;
    long name;
};
int limit;
short port;
struct rec recs[2];
int keep;
int main(void) { return limit + port + recs[0].id + keep; }
