#include "flaky_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct flaky_proxy {
    int listen_fd, upstream_port;
    int drop, stall, delay;
    atomic_int stop, calm;
    pthread_t acceptor;
    atomic_int live; /* connection threads still running (detached) */
    struct flaky_stats stats;
};

struct pair {
    struct flaky_proxy *p;
    int a, b;
    unsigned seed;
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* What to do with the next chunk: 0 forward, 1 drop the connection. */
static int misbehave(struct pair *c)
{
    struct flaky_proxy *p = c->p;
    if (atomic_load(&p->calm))
        return 0;
    int r = (int)(rand_r(&c->seed) % 1000);
    if (r < p->drop) {
        atomic_fetch_add(&p->stats.drops, 1);
        return 1;
    }
    if (r < p->drop + p->stall) {
        atomic_fetch_add(&p->stats.stalls, 1);
        sleep_ms(300 + rand_r(&c->seed) % 1200);
    } else if (r < p->drop + p->stall + p->delay) {
        atomic_fetch_add(&p->stats.delays, 1);
        sleep_ms(1 + rand_r(&c->seed) % 20);
    }
    return 0;
}

static int forward(int from, int to)
{
    char buf[16384];
    ssize_t n = recv(from, buf, sizeof buf, 0);
    if (n <= 0)
        return -1;
    for (ssize_t done = 0; done < n;) {
        ssize_t w = send(to, buf + done, (size_t)(n - done), MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        done += w;
    }
    return (int)n;
}

static void *pair_main(void *arg)
{
    struct pair *c = arg;
    struct pollfd fds[2] = {{.fd = c->a, .events = POLLIN}, {.fd = c->b, .events = POLLIN}};
    while (!atomic_load(&c->p->stop)) {
        int rc = poll(fds, 2, 100);
        if (rc < 0 && errno != EINTR)
            break;
        int broken = 0;
        for (int i = 0; i < 2 && !broken && rc > 0; i++)
            if (fds[i].revents != 0) {
                int n = misbehave(c) ? -1 : forward(fds[i].fd, fds[1 - i].fd);
                broken = n < 0;
                if (n > 0)
                    atomic_fetch_add(&c->p->stats.bytes, n);
            }
        if (broken)
            break;
    }
    close(c->a);
    close(c->b);
    atomic_fetch_sub(&c->p->live, 1);
    free(c);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct flaky_proxy *p = arg;
    unsigned seed = 12345;
    while (!atomic_load(&p->stop)) {
        struct pollfd pf = {.fd = p->listen_fd, .events = POLLIN};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        int a = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        int b = a >= 0 ? dial(p->upstream_port) : -1;
        struct pair *c = b >= 0 ? malloc(sizeof *c) : NULL;
        pthread_t t;
        if (c != NULL) {
            *c = (struct pair){p, a, b, seed += 7919};
            atomic_fetch_add(&p->stats.connections, 1);
            atomic_fetch_add(&p->live, 1);
            if (pthread_create(&t, NULL, pair_main, c) == 0)
                pthread_detach(t);
            else {
                atomic_fetch_sub(&p->live, 1);
                free(c);
                c = NULL;
            }
        }
        if (c == NULL) {
            if (a >= 0)
                close(a);
            if (b >= 0)
                close(b);
        }
    }
    return NULL;
}

int flaky_proxy_start(struct flaky_proxy **out, int upstream_port, int drop_permille,
                      int stall_permille, int delay_permille, int *port)
{
    struct flaky_proxy *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -1;
    p->upstream_port = upstream_port;
    p->drop = drop_permille, p->stall = stall_permille, p->delay = delay_permille;
    p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(p->listen_fd, 128) != 0 ||
        getsockname(p->listen_fd, (struct sockaddr *)&sa, &len) != 0) {
        if (p->listen_fd >= 0)
            close(p->listen_fd);
        free(p);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    pthread_create(&p->acceptor, NULL, accept_main, p);
    *out = p;
    return 0;
}

void flaky_proxy_set_calm(struct flaky_proxy *p, int calm) { atomic_store(&p->calm, calm); }

const struct flaky_stats *flaky_proxy_stats(const struct flaky_proxy *p) { return &p->stats; }

void flaky_proxy_stop(struct flaky_proxy *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->acceptor, NULL);
    while (atomic_load(&p->live) > 0) /* each notices stop within its 100 ms poll */
        sleep_ms(10);
    close(p->listen_fd);
    free(p);
}
