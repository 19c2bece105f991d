/* relay: the cheapest proxy there can be, as the benchmark's ceiling for any proxy on this
 * machine. It answers a CONNECT with 200 and then copies bytes; any other first request is
 * copied unchanged to the plain upstream (absolute-form, which nginx serves). It parses, records,
 * encrypts and checks nothing: whatever ratio it reaches is the most a proxy can reach here, since
 * every proxied request costs at least its two extra reads and writes.
 *
 * relay --listen PORT --connect-tls PORT --connect-plain PORT [--threads N]
 * Both upstreams are on 127.0.0.1. One epoll loop per thread (SO_REUSEPORT), level-triggered.
 * Stops by itself after --max-seconds (default 3600). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BUF = 65536 };

/* One direction of a relayed connection: bytes read from fd wait in buf until peer takes them. */
struct side {
    int fd;
    struct side *peer;
    char *buf;
    size_t off, len;    /* pending bytes for peer: buf[off, off + len) */
    int connect_state;  /* 1: reading the first request head (CONNECT or a plain request) */
    int dead;           /* closed; freed once the epoll batch that may still name it is done */
    struct side *next_dead;
};

/* sides closed during the current epoll batch (per thread) */
static __thread struct side *graveyard;

static void bury(struct side *s)
{
    s->dead = 1;
    s->next_dead = graveyard;
    graveyard = s;
}

static int listen_port, tls_port, plain_port;

static int connect_local(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static void drop(int ep, struct side *s)
{
    struct side *p = s->peer;
    epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    bury(s);
    if (p) {
        epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
        close(p->fd);
        bury(p);
    }
}

/* Write s's pending bytes to its peer; returns -1 when the peer is gone. Waits for EPOLLOUT on
 * the peer (and stops reading s) while bytes remain. */
static int flush(int ep, struct side *s)
{
    while (s->len) {
        ssize_t n = write(s->peer->fd, s->buf + s->off, s->len);
        if (n < 0) {
            if (errno == EAGAIN) {
                struct epoll_event e = {.events = EPOLLOUT, .data.ptr = s->peer};
                epoll_ctl(ep, EPOLL_CTL_MOD, s->peer->fd, &e);
                e = (struct epoll_event){.events = 0, .data.ptr = s};
                epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &e);
                return 0;
            }
            return -1;
        }
        s->off += (size_t)n;
        s->len -= (size_t)n;
    }
    s->off = 0;
    return 0;
}

static struct side *side_new(int fd)
{
    struct side *s = calloc(1, sizeof *s);
    s->fd = fd;
    s->buf = malloc(BUF);
    return s;
}

/* The client's first bytes: a CONNECT gets its 200 and a TLS-port upstream, anything else the
 * plain upstream with the bytes forwarded. Returns -1 to drop. */
static int first_request(int ep, struct side *c)
{
    ssize_t n = read(c->fd, c->buf + c->len, BUF - c->len);
    if (n <= 0)
        return n < 0 && errno == EAGAIN ? 0 : -1;
    c->len += (size_t)n;
    int is_connect = c->len >= 8 && !memcmp(c->buf, "CONNECT ", 8);
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (is_connect && !end)
        return c->len < BUF ? 0 : -1;
    int ufd = connect_local(is_connect ? tls_port : plain_port);
    if (ufd < 0)
        return -1;
    struct side *u = side_new(ufd);
    u->peer = c;
    c->peer = u;
    c->connect_state = 0;
    if (is_connect) {
        /* whatever followed the head (a ClientHello sent early) goes upstream */
        size_t head = (size_t)(end + 4 - c->buf);
        memmove(c->buf, c->buf + head, c->len - head);
        c->len -= head;
        static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
        if (write(c->fd, ok, sizeof ok - 1) != (ssize_t)(sizeof ok - 1))
            return -1;
    }
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = u};
    epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &e);
    /* the upstream connect may still be in progress: a write then fails with EAGAIN and waits */
    return flush(ep, c);
}

static void *loop(void *arg)
{
    (void)arg;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(listen_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0) {
        perror("relay: listen");
        exit(1);
    }
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
    struct epoll_event ev[256];
    for (;;) {
        int n = epoll_wait(ep, ev, 256, -1);
        for (int i = 0; i < n; i++) {
            struct side *s = ev[i].data.ptr;
            if (s && s->dead)
                continue;
            if (!s) {
                int cfd;
                while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct side *c = side_new(cfd);
                    c->connect_state = 1;
                    struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ce);
                }
                continue;
            }
            if (s->connect_state) {
                if (first_request(ep, s) < 0)
                    drop(ep, s);
                continue;
            }
            if (ev[i].events & EPOLLOUT) { /* s's peer has pending bytes for s */
                struct side *p = s->peer;
                if (flush(ep, p) < 0) {
                    drop(ep, s);
                    continue;
                }
                if (!p->len) {
                    struct epoll_event re = {.events = EPOLLIN, .data.ptr = s};
                    epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &re);
                    re.data.ptr = p;
                    epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &re);
                }
                continue;
            }
            if (!s->peer || s->len)
                continue;
            ssize_t r = read(s->fd, s->buf, BUF);
            if (r == 0 || (r < 0 && errno != EAGAIN)) {
                drop(ep, s);
                continue;
            }
            if (r < 0)
                continue;
            s->len = (size_t)r;
            if (flush(ep, s) < 0)
                drop(ep, s);
        }
        while (graveyard) {
            struct side *d = graveyard;
            graveyard = d->next_dead;
            free(d->buf);
            free(d);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 2, max_seconds = 3600;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--listen"))
            listen_port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--connect-tls"))
            tls_port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--connect-plain"))
            plain_port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-seconds"))
            max_seconds = atoi(argv[i + 1]);
    }
    if (!listen_port || !tls_port || !plain_port || threads < 1) {
        fprintf(stderr, "usage: relay --listen PORT --connect-tls PORT --connect-plain PORT "
                        "[--threads N] [--max-seconds S]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    alarm((unsigned)max_seconds);
    pthread_t t;
    for (int i = 1; i < threads; i++)
        pthread_create(&t, NULL, loop, NULL);
    loop(NULL);
    return 0;
}
