struct flags {
    unsigned ready : 1;
    unsigned level : 3;
    int count;
    int copy;
};
struct flags fl;
int main(void) { return fl.ready; }
