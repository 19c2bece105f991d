/* test_web_events.c — the live event stream resumes exactly across a late commit: the real store
 * (writer thread, SQLite file) and the real viewer (web thread, evhttp on loopback), a stream
 * read over a socket as EventSource reads it. Flows are numbered when they are recorded, but two
 * workers can hand theirs to the store in the other order (and a batch can commit after the
 * next one), so a flow with a smaller id can be committed after one with a bigger id the viewer
 * already has. Here the store is handed flow 2, then (after the stream has it and dropped) flow
 * 1: a stream reconnecting with Last-Event-ID must get flow 1, once, and not flow 2 again. */
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <event2/thread.h>
#include "../../src/flow.h"
#include "../../src/store.h"
#include "../../src/web.h"
#include "tap.h"

static atomic_int commits;

static void on_commit(uint64_t first, uint64_t last, void *web)
{
    web_notify(first, last, web);
    atomic_fetch_add(&commits, 1);
}

static struct flow *mkflow(uint64_t id)
{
    struct flow *f = flow_new(id, id, 1024);
    snprintf(f->host, sizeof f->host, "h.test");
    snprintf(f->scheme, sizeof f->scheme, "http");
    snprintf(f->client_addr, sizeof f->client_addr, "127.0.0.1");
    f->port = 80;
    char url[64];
    snprintf(url, sizeof url, "http://h.test/flow%llu", (unsigned long long)id);
    flow_set_url(f, url);
    f->marks.end = flow_now_us();
    return f;
}

/* Hand flow id to the store and wait for its commit. */
static void commit(struct store *s, uint64_t id)
{
    int before = atomic_load(&commits);
    store_sink(mkflow(id), s);
    for (int i = 0; i < 500 && atomic_load(&commits) == before; i++)
        usleep(10000);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

/* Open GET /api/events (with Last-Event-ID when last is not NULL). Returns the socket. */
static int stream_open(int port, const char *last)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        return -1;
    char req[256];
    int n = snprintf(req, sizeof req,
                     "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s%s\r\n", port,
                     last ? "Last-Event-ID: " : "", last ? last : "", last ? "\r\n" : "");
    if (write(fd, req, (size_t)n) != n)
        return -1;
    return fd;
}

/* Read from fd into buf (appending) until it holds want, or ms pass. */
static void stream_read(int fd, char *buf, size_t cap, const char *want, int ms)
{
    size_t len = strlen(buf);
    for (int waited = 0; waited < ms && !strstr(buf, want); waited += 20) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) == 1) {
            ssize_t n = read(fd, buf + len, cap - 1 - len);
            if (n <= 0)
                break;
            len += (size_t)n;
            buf[len] = '\0';
        }
    }
}

/* How many times flow id's summary is in the stream text. */
static int count_flow(const char *text, uint64_t id)
{
    char pat[32];
    snprintf(pat, sizeof pat, "{\"id\":%llu,", (unsigned long long)id);
    int n = 0;
    for (const char *p = text; (p = strstr(p, pat)); p += strlen(pat))
        n++;
    return n;
}

/* The id of the last "flows" event in text, into out ("" when none). */
static void last_event_id(const char *text, char *out, size_t outlen)
{
    out[0] = '\0';
    for (const char *p = text; (p = strstr(p, "id: ")); p += 4)
        snprintf(out, outlen, "%.*s", (int)strspn(p + 4, "0123456789"), p + 4);
}

int main(void)
{
    static char a[1 << 16], b[1 << 16];
    char dir[] = "/tmp/test_web_events.XXXXXX", path[128], err[512], addr[32], last[32];
    if (!mkdtemp(dir) || evthread_use_pthreads() != 0)
        return 1;
    snprintf(path, sizeof path, "%s/s.sqlite", dir);
    struct store *s = store_open(path, err, sizeof err);
    ok(s != NULL, "store_open (%s)", s ? "ok" : err);
    if (!s)
        return done();
    int port = free_port();
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    struct web_config c = {.addr = addr, .session_path = path};
    struct web *w = web_start(&c, err, sizeof err);
    ok(w != NULL, "web_start (%s)", w ? "ok" : err);
    if (!w)
        return done();
    store_set_notify(s, on_commit, w);

    int fd = stream_open(port, NULL);
    stream_read(fd, a, sizeof a, "retry:", 2000);
    ok(strstr(a, "retry:") != NULL, "a stream opens");
    commit(s, 2); /* recorded after flow 1, but handed to the store first */
    stream_read(fd, a, sizeof a, "\"id\":2,", 2000);
    is_int(count_flow(a, 2), 1, "the stream gets flow 2");
    last_event_id(a, last, sizeof last);
    ok(last[0] != '\0', "with an event id (%s)", last);
    close(fd); /* the viewer's stream drops */
    usleep(100000);
    commit(s, 1); /* committed late: a smaller id than the last one the stream had */
    commit(s, 3);

    fd = stream_open(port, last);
    stream_read(fd, b, sizeof b, "\"id\":3,", 2000);
    stream_read(fd, b, sizeof b, "never", 300); /* anything sent twice comes with it */
    is_int(count_flow(b, 1), 1, "after a reconnect with Last-Event-ID, the late flow 1 comes once");
    is_int(count_flow(b, 2), 0, "flow 2, which the stream had, is not sent again");
    is_int(count_flow(b, 3), 1, "flow 3 comes once");
    const char *one = strstr(b, "{\"id\":1,"), *three = strstr(b, "{\"id\":3,");
    ok(one && three && one < three, "in commit order");
    commit(s, 4);
    stream_read(fd, b, sizeof b, "\"id\":4,", 2000);
    is_int(count_flow(b, 4), 1, "and live flows follow");
    close(fd);

    fd = stream_open(port, "0");
    b[0] = '\0';
    stream_read(fd, b, sizeof b, "\"id\":4,", 2000);
    stream_read(fd, b, sizeof b, "never", 300);
    const char *p2 = strstr(b, "{\"id\":2,"), *p1 = strstr(b, "{\"id\":1,");
    ok(count_flow(b, 1) == 1 && count_flow(b, 2) == 1 && count_flow(b, 3) == 1 &&
           count_flow(b, 4) == 1 && p2 && p1 && p2 < p1,
       "Last-Event-ID 0: every flow once, in commit order (2 before 1)");
    close(fd);

    web_stop(w);
    store_close(s);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return done();
}
