/* Shapes with a tagged union, scaled in a loop. */
union payload {
    int radius;
    long area;
};

struct shape {
    int kind;
    union payload u;
    double scale;
};

struct shape shapes[4];

static long total(int n) {
    long sum = 0;
    for (int i = 0; i < n; i++)
        sum += shapes[i].kind == 0 ? shapes[i].u.radius : shapes[i].u.area;
    return sum;
}

int main(void) {
    for (int i = 0; i < 4; i++) {
        shapes[i].kind = i % 2;
        shapes[i].scale = 1.5;
    }
    return total(4) < 0;
}
