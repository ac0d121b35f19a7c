/* A worker loop calling a helper that has a loop of its own. */
static int step(int n) {
    int acc = 0;
    int i = 0;
    while (i < n) { acc += i; i += 1 + (acc & 1); }
    return acc;
}

static int work(int rounds) {
    int done = 0;
    while (done < rounds) done += step(3) > 0;
    for (int k = 0; k < rounds; k++) done--;
    return done;
}

int main(void) { return work(4); }
