/* echo, version 2: answers "v2 <n> <line>", and two new commands: STATS (the connection's
 * reply count) and HELLO (which version the connection was opened under: a new field of the
 * heap-allocated struct conn, which v1-v2.upd sets to 1 for every connection open at the
 * update, and the acceptor sets to 2 for new ones). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
    int fd;
    long served;
    int since;
};

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void answer(struct conn *c, const char *line)
{
    char out[4200];
    int len;
    if (strcmp(line, "STATS") == 0)
        len = snprintf(out, sizeof out, "v2 stats served=%ld\n", c->served);
    else if (strcmp(line, "HELLO") == 0)
        len = snprintf(out, sizeof out, "v2 hello: opened under version %d, served=%ld\n",
                       c->since, c->served);
    else
        len = snprintf(out, sizeof out, "v2 %ld %s\n", ++c->served, line);
    send_all(c->fd, out, (size_t)len);
}

static void *serve(void *arg)
{
    struct conn *c = arg;
    char buf[4096];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(c->fd, buf + have, sizeof buf - have - 1);
        if (n <= 0)
            break;
        have += (size_t)n;
        char *nl;
        while ((nl = memchr(buf, '\n', have)) != NULL) {
            *nl = 0;
            answer(c, buf);
            size_t used = (size_t)(nl - buf) + 1;
            memmove(buf, buf + used, have - used);
            have -= used;
        }
    }
    close(c->fd);
    free(c);
    return NULL;
}

int main(void)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 64) != 0)
        return 1;
    getsockname(ls, (struct sockaddr *)&a, &alen);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("port %d\n", ntohs(a.sin_port));
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0)
            continue;
        struct conn *c = calloc(1, sizeof *c);
        c->fd = fd;
        c->since = 2;
        pthread_t t;
        pthread_create(&t, NULL, serve, c);
        pthread_detach(t);
    }
}
