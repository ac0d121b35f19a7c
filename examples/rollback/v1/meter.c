/* rollback, version 1: a meter that keeps the last readings of its sensors, driven by commands
 * on stdin: `read SENSOR VALUE` records a reading, `show` prints them all. Values are longs. */
#include <stdio.h>
#include <string.h>

#define SLOTS 4

struct reading {
    int sensor;
    long value;
};

struct reading readings[SLOTS];
int count;

static void handle(char *line)
{
    int sensor;
    long value;
    if (sscanf(line, "read %d %ld", &sensor, &value) == 2) {
        struct reading *r = &readings[count % SLOTS];
        r->sensor = sensor;
        r->value = value;
        count++;
        printf("v1 recorded sensor %d = %ld\n", sensor, value);
    } else if (strcmp(line, "show") == 0) {
        printf("v1 count=%d", count);
        for (int i = 0; i < SLOTS && i < count; i++)
            printf(" [%d]=%ld", readings[i].sensor, readings[i].value);
        printf("\n");
    } else {
        printf("v1 ? %s\n", line);
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
