/* Changes the automatic transfer cannot make: narrowing, a signedness change, a pointer retyped. */
struct rec {
    long size;
    int id;
    char *name;
};
long limit;
unsigned short port;
struct rec recs[2];
int keep;
int main(void) { return (int)limit + port + recs[0].id + keep; }
