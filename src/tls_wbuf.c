/* tls_wbuf.c — see tls_wbuf.h. A filter BIO in OpenSSL's sense (BIO_push over a socket BIO):
 * writes are copied into one buffer, reads and every other control go to the socket BIO. The
 * record layer sees every write accepted until the buffer cannot take a record; then the buffer
 * is written out, and if the socket is full the record is refused with a retry (OpenSSL then
 * offers the same record again), so nothing is ever half taken.
 *
 * Why: a download through an intercepted tunnel arrives in reads of ~32-64 KiB, which OpenSSL
 * re-encrypts as records of 16 KiB, each its own write(2) to the client: on loopback every write
 * runs the reader's TCP receive path and wakes it. Gathered, a read's worth leaves in one write
 * (S3 +4-6 % in A/B on this machine), and a keep-alive exchange still costs one write. */
#include "tls_wbuf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/bio.h>

struct wbuf {
    char *buf;                /* TLS_WBUF_MAX bytes once a record came, else NULL */
    size_t len;               /* bytes held */
    struct event *writable;   /* EV_WRITE on the socket while a flush waits for room */
    struct bufferevent *bev;  /* whose write callback runs once that flush is done */
};

static BIO_METHOD *wbuf_method;
static int wbuf_type;

/* Write out what b holds. Returns 1 when empty, 0 when the socket is full (the rest waits for
 * the writable event), -1 on a socket error (the bytes stay: the connection is failing). */
static int wbuf_drain(BIO *b)
{
    struct wbuf *w = BIO_get_data(b);
    BIO *next = BIO_next(b);
    size_t off = 0;
    int rc = 1;
    while (off < w->len) {
        int n = BIO_write(next, w->buf + off, (int)(w->len - off));
        if (n <= 0) {
            rc = BIO_should_retry(next) ? 0 : -1;
            break;
        }
        off += (size_t)n;
    }
    if (off) {
        memmove(w->buf, w->buf + off, w->len - off);
        w->len -= off;
    }
    if (rc == 0 && w->writable)
        event_add(w->writable, NULL);
    return rc;
}

/* After the BIO was emptied: a connection that gives its record buffers back after every record
 * (SSL_MODE_RELEASE_BUFFERS, see session.c) gives this one back too. */
static void wbuf_maybe_release(struct wbuf *w)
{
    if (w->len || !w->buf || !w->bev)
        return;
    SSL *ssl = bufferevent_openssl_get_ssl(w->bev);
    if (ssl && (SSL_get_mode(ssl) & SSL_MODE_RELEASE_BUFFERS)) {
        free(w->buf);
        w->buf = NULL;
    }
}

static int wbuf_write(BIO *b, const char *data, int len)
{
    struct wbuf *w = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    if (!w->writable) { /* not bound yet (the handshake): straight to the socket */
        int rc = w->len ? wbuf_drain(b) : 1;
        if (rc != 1) {
            if (rc == 0)
                BIO_set_retry_write(b);
            return -1;
        }
        int n = BIO_write(BIO_next(b), data, len);
        BIO_copy_next_retry(b);
        return n;
    }
    if (w->len + (size_t)len > TLS_WBUF_MAX) {
        int rc = wbuf_drain(b);
        if (rc < 0)
            return -1;
        if (w->len + (size_t)len > TLS_WBUF_MAX) {
            BIO_set_retry_write(b);
            return -1;
        }
    }
    if (!w->buf && !(w->buf = malloc(TLS_WBUF_MAX)))
        return -1;
    memcpy(w->buf + w->len, data, (size_t)len);
    w->len += (size_t)len;
    return len;
}

static int wbuf_read(BIO *b, char *data, int len)
{
    BIO_clear_retry_flags(b);
    int n = BIO_read(BIO_next(b), data, len);
    BIO_copy_next_retry(b);
    return n;
}

static long wbuf_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct wbuf *w = BIO_get_data(b);
    BIO *next = BIO_next(b);
    if (!next)
        return 0;
    switch (cmd) {
    case BIO_CTRL_FLUSH: { /* the end of a handshake flight, an alert: out now */
        BIO_clear_retry_flags(b);
        int rc = wbuf_drain(b);
        if (rc == 0)
            BIO_set_retry_write(b);
        if (rc <= 0)
            return rc;
        return BIO_ctrl(next, cmd, num, ptr);
    }
    case BIO_CTRL_WPENDING:
        return (long)w->len + BIO_ctrl(next, cmd, num, ptr);
#ifdef BIO_CTRL_GET_KTLS_SEND
    case BIO_CTRL_GET_KTLS_SEND: /* asked several times a record OpenSSL writes: answered here
                                  * (no kernel TLS behind a filter), one BIO_ctrl instead of two */
        return 0;
#endif
    default: /* the fd (libevent asks for it), close flag, EOF, read pending */
        return BIO_ctrl(next, cmd, num, ptr);
    }
}

static int wbuf_create(BIO *b)
{
    struct wbuf *w = calloc(1, sizeof *w);
    if (!w)
        return 0;
    BIO_set_data(b, w);
    BIO_set_init(b, 1);
    return 1;
}

static int wbuf_destroy(BIO *b)
{
    struct wbuf *w = BIO_get_data(b);
    if (!w)
        return 1;
    /* No last write here: libevent closes the socket before it frees the SSL, and the number
     * may already name another connection's socket. leg_close flushes (tls_wbuf_unbind). */
    if (w->writable)
        event_free(w->writable);
    free(w->buf);
    free(w);
    BIO_set_data(b, NULL);
    return 1;
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    BIO *b = arg;
    struct wbuf *w = BIO_get_data(b);
    if (wbuf_drain(b) == 1 && w->bev) {
        wbuf_maybe_release(w);
        /* the leg's output is drained only now: its write callback decides what comes next
         * (resume a throttled source, finish a close) */
        bufferevent_trigger(w->bev, EV_WRITE, 0);
    }
}

static BIO *wbuf_of(SSL *ssl)
{
    BIO *b = ssl && wbuf_method ? SSL_get_wbio(ssl) : NULL;
    return b && BIO_method_type(b) == wbuf_type && BIO_get_data(b) ? b : NULL;
}

static void wbuf_method_init(void)
{
    int type = BIO_get_new_index() | BIO_TYPE_FILTER;
    BIO_METHOD *m = BIO_meth_new(type, "httpeek write gathering");
    if (!m || !BIO_meth_set_write(m, wbuf_write) || !BIO_meth_set_read(m, wbuf_read) ||
        !BIO_meth_set_ctrl(m, wbuf_ctrl) || !BIO_meth_set_create(m, wbuf_create) ||
        !BIO_meth_set_destroy(m, wbuf_destroy)) {
        BIO_meth_free(m);
        return;
    }
    wbuf_type = type;
    wbuf_method = m; /* for the process's life, like OpenSSL's own methods */
}

static BIO_METHOD *wbuf_method_get(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, wbuf_method_init); /* the first interception of each worker */
    return wbuf_method;
}

int tls_wbuf_attach(SSL *ssl, int fd)
{
    BIO_METHOD *m = wbuf_method_get();
    BIO *sock = m ? BIO_new_socket(fd, BIO_NOCLOSE) : NULL;
    BIO *filter = sock ? BIO_new(m) : NULL;
    if (!filter || !BIO_up_ref(sock)) {
        BIO_free(filter);
        BIO_free(sock);
        return -1;
    }
    BIO_push(filter, sock);
    /* rbio: the socket BIO itself; wbio: filter -> socket. The socket BIO is referenced twice
     * (up_ref above), so SSL_free's BIO_free_all of the chain stops at it and its own free of
     * the rbio releases it. */
    SSL_set_bio(ssl, sock, filter);
    return 0;
}

int tls_wbuf_bind(SSL *ssl, struct bufferevent *bev)
{
    BIO *b = wbuf_of(ssl);
    if (!b)
        return 0;
    struct wbuf *w = BIO_get_data(b);
    w->bev = bev;
    if (!w->writable)
        w->writable = event_new(bufferevent_get_base(bev), bufferevent_getfd(bev), EV_WRITE,
                                on_writable, b);
    return w->writable ? 0 : -1;
}

void tls_wbuf_unbind(SSL *ssl)
{
    BIO *b = wbuf_of(ssl);
    if (!b)
        return;
    struct wbuf *w = BIO_get_data(b);
    if (w->writable) {
        event_free(w->writable);
        w->writable = NULL;
    }
    w->bev = NULL;
    if (w->len)
        wbuf_drain(b);
}

size_t tls_wbuf_flush(SSL *ssl)
{
    BIO *b = wbuf_of(ssl);
    if (!b)
        return 0;
    struct wbuf *w = BIO_get_data(b);
    if (w->len && wbuf_drain(b) == 1)
        wbuf_maybe_release(w);
    return w->len;
}

size_t tls_wbuf_pending(SSL *ssl)
{
    BIO *b = wbuf_of(ssl);
    return b ? ((struct wbuf *)BIO_get_data(b))->len : 0;
}

void tls_wbuf_release(SSL *ssl)
{
    BIO *b = wbuf_of(ssl);
    struct wbuf *w = b ? BIO_get_data(b) : NULL;
    if (w && !w->len && w->buf) {
        free(w->buf);
        w->buf = NULL;
    }
}

void tls_wbuf_out_room(struct evbuffer *out)
{
    if (evbuffer_get_length(out) == 0)
        evbuffer_expand(out, TLS_OUT_CHAIN);
}
