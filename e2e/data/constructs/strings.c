/* String handling across calls: building strings in local buffers with snprintf/strcat,
 * tokenising with strtok_r, and a hand-written reverse and compare. */
#include <stdio.h>
#include <string.h>

static void rev(char *s) { for (size_t i = 0, j = strlen(s); i + 1 < j; i++, j--) { char t = s[i]; s[i] = s[j - 1]; s[j - 1] = t; } }
static int mycmp(const char *a, const char *b) { while (*a && *a == *b) a++, b++; return (unsigned char)*a - (unsigned char)*b; }

int main(void) {
    char buf[512] = "";
    for (int i = 0; i < 20; i++) {
        char part[24];
        snprintf(part, sizeof part, "%d%c,", i * i, 'a' + i % 26);
        strcat(buf, part);
    }
    char copy[512];
    strcpy(copy, buf);
    rev(copy);
    int tokens = 0;
    unsigned h = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        tokens++;
        for (char *p = t; *p; p++) h = h * 131 + (unsigned char)*p;
    }
    printf("tokens=%d h=%u rev=%.20s cmp=%d\n", tokens, h, copy, mycmp("abcx", "abcd") > 0);
    return 0;
}
