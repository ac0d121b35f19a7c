/* A server loop that sorts a table with bubble sort on every round. */
static int table[8] = {5, 3, 8, 1, 9, 2, 7, 4};

static void bubble_sort(int *a, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j + 1 < n - i; j++)
            if (a[j] > a[j + 1]) { int t = a[j]; a[j] = a[j + 1]; a[j + 1] = t; }
}

static int serve(int rounds) {
    static int calls;
    int total = 0;
    while (rounds-- > 0) {
        calls++;
        bubble_sort(table, 8);
        total += table[0];
    }
    return total;
}

int main(void) { return serve(3) != 3; }
