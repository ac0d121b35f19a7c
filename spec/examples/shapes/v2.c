/* The next version: scale is a float, every shape has an id, the loop counter is a long. */
union payload {
    int radius;
    long area;
};

struct shape {
    int kind;
    union payload u;
    float scale;
    int id;
};

struct shape shapes[4];
int next_id = 1;

static long total(int n) {
    long sum = 0;
    for (long i = 0; i < n; i++)
        sum += shapes[i].kind == 0 ? shapes[i].u.radius : shapes[i].u.area;
    return sum;
}

int main(void) {
    for (int i = 0; i < 4; i++) {
        shapes[i].kind = i % 2;
        shapes[i].scale = 1.5f;
        shapes[i].id = next_id++;
    }
    return total(4) < 0;
}
