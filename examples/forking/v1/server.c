/* forking, version 1: a line server on loopback that forks one process per connection
 * (vsftpd-style). The child answers every line with "v1 <n> <line>", n counting that
 * connection's replies; the parent only accepts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void reply(int fd, long n, const char *line)
{
    char out[1100];
    int len = snprintf(out, sizeof out, "v1 %ld %s\n", n, line);
    write(fd, out, (size_t)len);
}

static void serve(int fd)
{
    char buf[1024];
    size_t have = 0;
    long served = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - have - 1);
        if (n <= 0)
            return;
        have += (size_t)n;
        char *nl;
        while ((nl = memchr(buf, '\n', have)) != NULL) {
            *nl = 0;
            reply(fd, ++served, buf);
            size_t used = (size_t)(nl - buf) + 1;
            memmove(buf, buf + used, have - used);
            have -= used;
        }
    }
}

int main(void)
{
    int conns = 0;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 16) != 0)
        return 1;
    getsockname(ls, (struct sockaddr *)&a, &alen);
    signal(SIGCHLD, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("port %d\n", ntohs(a.sin_port));
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0)
            continue;
        pid_t pid = fork();
        if (pid == 0) {
            close(ls);
            serve(fd);
            close(fd);
            return 0;
        }
        printf("connection %d\n", ++conns);
        close(fd);
    }
}
