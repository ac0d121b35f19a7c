/* rollback, version 2: values shrink to int, and a reading remembers whether the update had
 * to clamp it (a new field). `show` marks clamped readings with `!`. */
#include <stdio.h>
#include <string.h>

#define SLOTS 4

struct reading {
    int sensor;
    int value;
    int clamped;
};

struct reading readings[SLOTS];
int count;

static void handle(char *line)
{
    int sensor;
    int value;
    if (sscanf(line, "read %d %d", &sensor, &value) == 2) {
        struct reading *r = &readings[count % SLOTS];
        r->sensor = sensor;
        r->value = value;
        r->clamped = 0;
        count++;
        printf("v2 recorded sensor %d = %d\n", sensor, value);
    } else if (strcmp(line, "show") == 0) {
        printf("v2 count=%d", count);
        for (int i = 0; i < SLOTS && i < count; i++)
            printf(" [%d]=%d%s", readings[i].sensor, readings[i].value,
                   readings[i].clamped ? "!" : "");
        printf("\n");
    } else {
        printf("v2 ? %s\n", line);
    }
}

int main(void)
{
    char line[128];
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\n")] = 0;
        handle(line);
    }
    return 0;
}
