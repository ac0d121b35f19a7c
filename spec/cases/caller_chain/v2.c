/* The next version: selection sort, and the call counter became a global. */
static int table[8] = {5, 3, 8, 1, 9, 2, 7, 4};
int calls;

static void selection_sort(int *a, int n) {
    for (int i = 0; i < n; i++) {
        int min = i;
        for (int j = i + 1; j < n; j++)
            if (a[j] < a[min]) min = j;
        int t = a[i]; a[i] = a[min]; a[min] = t;
    }
}

static int serve(int rounds) {
    int total = 0;
    while (rounds-- > 0) {
        calls++;
        selection_sort(table, 8);
        total += table[0];
    }
    return total;
}

int main(void) { return serve(3) != 3; }
