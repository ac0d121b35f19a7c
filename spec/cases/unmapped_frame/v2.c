/* The next version: the helper is gone, the worker has one loop left. */
static int work(int rounds) {
    int done = 0;
    while (done < rounds) done += 1;
    return done - rounds;
}

int main(void) { return work(4); }
