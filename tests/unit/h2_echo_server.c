/* h2_echo_server.c — h2_server on a loopback TCP socket (HTTP/2 with prior knowledge, as
 * Debian's nghttp speaks to http:// URLs), so a real external client drives the h2 front's
 * engine: GET /size/N answers N bytes (produced with back-pressure), POST /echo answers
 * "got N bytes" once the body is in (consumed as it arrives), /trailers adds grpc-status: 0.
 * Prints the port on stdout, serves until killed. Test helper for h2_nghttp.sh only. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "h2_server.h"

#define MAX_STREAMS 256

struct stream {
    int32_t sid;
    char path[256];
    size_t body_in, to_send, sent;
};

struct conn {
    struct bufferevent *bev;
    struct h2_server *s;
    struct stream st[MAX_STREAMS];
};

static struct stream *slot(struct conn *c)
{
    for (int i = 0; i < MAX_STREAMS; i++)
        if (!c->st[i].sid)
            return &c->st[i];
    return NULL;
}

static void produce(struct conn *c, struct stream *st)
{
    static char chunk[16384];
    while (st->sent < st->to_send) {
        size_t n = st->to_send - st->sent < sizeof chunk ? st->to_send - st->sent : sizeof chunk;
        memset(chunk, 'a' + (int)(st->sent / 16384 % 26), n);
        int r = h2_server_send_body(c->s, st->sid, chunk, n);
        if (r < 0)
            return;
        st->sent += n;
        if (r == 1)
            return; /* on_drain goes on */
    }
    struct message_head t;
    message_head_init(&t, 0);
    if (!strcmp(st->path, "/trailers"))
        message_add_trailer(&t, "grpc-status", 11, "0", 1);
    h2_server_end(c->s, st->sid, &t);
    message_head_clear(&t);
}

static int on_request(void *arg, int32_t sid, struct message_head *head)
{
    struct conn *c = arg;
    struct stream *st = slot(c);
    if (!st)
        return -1;
    memset(st, 0, sizeof *st);
    st->sid = sid;
    snprintf(st->path, sizeof st->path, "%s", head->path);
    h2_server_set_stream_arg(c->s, sid, st);
    return 0;
}

static void on_body(void *arg, int32_t sid, void *sa, const uint8_t *d, size_t len)
{
    (void)d;
    struct conn *c = arg;
    ((struct stream *)sa)->body_in += len;
    h2_server_consume(c->s, sid, len);
}

static void on_end(void *arg, int32_t sid, void *sa, struct message_head *trailers)
{
    (void)trailers;
    struct conn *c = arg;
    struct stream *st = sa;
    struct message_head h;
    message_head_init(&h, 0);
    h.status = 200;
    message_add_field(&h, "Content-Type", 12, "text/plain", 10);
    message_add_field(&h, "Connection", 10, "keep-alive", 10); /* as an HTTP/1.1 origin says */
    char text[64] = "";
    if (!strcmp(st->path, "/echo")) {
        snprintf(text, sizeof text, "got %zu bytes\n", st->body_in);
        char len[24];
        snprintf(len, sizeof len, "%zu", strlen(text));
        message_add_field(&h, "Content-Length", 14, len, strlen(len));
    } else if (!strncmp(st->path, "/size/", 6)) {
        st->to_send = strtoul(st->path + 6, NULL, 10);
    } else {
        snprintf(text, sizeof text, "hello\n");
    }
    h2_server_respond(c->s, sid, &h, 0);
    message_head_clear(&h);
    if (text[0])
        h2_server_send_body(c->s, sid, text, strlen(text));
    produce(c, st);
}

static void on_close(void *arg, int32_t sid, void *sa, uint32_t code, int by_client,
                     const char *why)
{
    (void)arg, (void)sid, (void)code, (void)by_client, (void)why;
    memset(sa, 0, sizeof(struct stream));
}

static void on_drain(void *arg, int32_t sid, void *sa)
{
    (void)sid;
    produce(arg, sa);
}

static void on_conn_error(void *arg, uint32_t code, int by_client, const char *why)
{
    (void)arg, (void)by_client;
    fprintf(stderr, "h2_echo_server: connection error %u: %s\n", code, why);
}

static const struct h2_server_ops ops = {on_request, on_body, on_end, on_close, on_drain, NULL,
                                         on_conn_error};

static void conn_free(struct conn *c)
{
    h2_server_free(c->s);
    bufferevent_free(c->bev);
    free(c);
}

static void flush(struct conn *c)
{
    h2_server_flush(c->s, bufferevent_get_output(c->bev));
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    int rc = h2_server_feed(c->s, evbuffer_pullup(in, -1), n);
    evbuffer_drain(in, n);
    flush(c);
    if (rc < 0 && !evbuffer_get_length(bufferevent_get_output(bev)))
        conn_free(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    flush(c);
    if (h2_server_done(c->s) && !evbuffer_get_length(bufferevent_get_output(bev)))
        conn_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        h2_server_eof(c->s);
        conn_free(c);
    }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    (void)l, (void)sa, (void)len;
    struct conn *c = calloc(1, sizeof *c);
    int one = 1; /* small frames (WINDOW_UPDATE, last DATA) must not wait for Nagle */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->bev = bufferevent_socket_new(arg, fd, BEV_OPT_CLOSE_ON_FREE);
    c->s = h2_server_new(&ops, c, NULL);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    flush(c);
}

int main(void)
{
    struct event_base *base = event_base_new();
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct evconnlistener *l = evconnlistener_new_bind(
        base, on_accept, base, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
        (struct sockaddr *)&sin, sizeof sin);
    if (!l)
        return 1;
    struct sockaddr_in bound;
    socklen_t bl = sizeof bound;
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&bound, &bl);
    printf("%d\n", ntohs(bound.sin_port));
    fflush(stdout);
    event_base_dispatch(base);
    return 0;
}
