/* A struct with bit-fields: the metadata records their widths, not their bit offsets. */
struct flags {
    unsigned ready : 1;
    unsigned level : 3;
    int count;
};
struct flags fl;
int main(void) { return fl.ready; }
