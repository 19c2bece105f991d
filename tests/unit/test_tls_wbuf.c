/* test_tls_wbuf.c — the write-gathering BIO under a real bufferevent_openssl server on a socket
 * pair whose send buffer is tiny: records are gathered, a flush that meets a full socket is
 * finished by the BIO's own writable event (the bufferevent's output is empty by then, so nothing
 * else would write), the write callback runs again once all is out, and the peer reads every byte
 * in order. Without the writable event the peer would wait forever (bounded here: 5 s). */
#include "../../src/tls_wbuf.c"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include "tap.h"

static int writecb_calls;

static void on_write(struct bufferevent *bev, void *arg)
{
    (void)arg;
    writecb_calls++;
    tls_wbuf_flush(bufferevent_openssl_get_ssl(bev));
}

/* A self-signed P-256 certificate for "wbuf.test" with its key, into ctx. */
static int use_test_cert(SSL_CTX *ctx)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (!key || !x)
        return -1;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"wbuf.test", -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    int ok_ = X509_sign(x, key, EVP_sha256()) > 0 && SSL_CTX_use_certificate(ctx, x) == 1 &&
              SSL_CTX_use_PrivateKey(ctx, key) == 1;
    X509_free(x);
    EVP_PKEY_free(key);
    return ok_ ? 0 : -1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        printf("Bail out! socketpair\n");
        return 1;
    }
    /* the kernel doubles it; a unix socket is writable while under a quarter of that in use:
     * well below one gathered batch of 48 KiB */
    int small = 16384;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    evutil_make_socket_nonblocking(sv[0]);
    evutil_make_socket_nonblocking(sv[1]);

    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx = SSL_CTX_new(TLS_client_method());
    if (!sctx || !cctx || use_test_cert(sctx) < 0) {
        printf("Bail out! TLS contexts\n");
        return 1;
    }
    struct event_base *base = event_base_new();
    SSL *server = SSL_new(sctx), *client = SSL_new(cctx);
    SSL_set_mode(server, SSL_MODE_RELEASE_BUFFERS);
    is_int(tls_wbuf_attach(server, sv[0]), 0, "the BIO goes under a new server SSL");
    ok(SSL_get_rbio(server) != SSL_get_wbio(server), "reads from the socket BIO, writes through the gathering one");
    struct bufferevent *bev = bufferevent_openssl_socket_new(base, sv[0], server,
                                                              BUFFEREVENT_SSL_ACCEPTING,
                                                              BEV_OPT_CLOSE_ON_FREE);
    ok(bev != NULL, "libevent takes the SSL and finds the socket through the BIO chain");
    if (!bev)
        return 1;
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    SSL_set_fd(client, sv[1]);
    SSL_set_connect_state(client);

    /* the handshake (unbound: written straight through, flushed per flight) */
    double deadline = now_s() + 5;
    int hs = 0;
    while (now_s() < deadline) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        hs = SSL_do_handshake(client);
        if (hs == 1 && SSL_is_init_finished(server))
            break;
        usleep(1000);
    }
    ok(hs == 1 && SSL_is_init_finished(server), "handshake through the BIO before it gathers");
    char none;
    for (int i = 0; i < 5; i++) { /* the client takes the server's session tickets */
        event_base_loop(base, EVLOOP_NONBLOCK);
        SSL_read(client, &none, 1);
    }

    bufferevent_setcb(bev, NULL, on_write, NULL, NULL);
    is_int(tls_wbuf_bind(server, bev), 0, "bound to the bufferevent");
    is_int(tls_wbuf_bind(server, bev), 0, "binding again changes nothing");

    /* 48 KiB: three records, all taken by the BIO (64 KiB); the socket takes a few KiB */
    enum { N = 48 * 1024 };
    static unsigned char sent[N], got[N];
    for (size_t i = 0; i < N; i++)
        sent[i] = (unsigned char)(i * 7 + i / 251);
    bufferevent_write(bev, sent, N);
    for (int i = 0; i < 20 && evbuffer_get_length(bufferevent_get_output(bev)); i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    is_int((long long)evbuffer_get_length(bufferevent_get_output(bev)), 0,
           "the bufferevent's output drained into the BIO");
    size_t held = tls_wbuf_pending(server);
    ok(held > 0 && held < N + 1024, "the BIO holds what the full socket did not take (%zu bytes)",
       held);
    int calls_before = writecb_calls;
    ok(calls_before >= 1, "the write callback ran when the output drained");

    /* the peer reads; only the BIO's own writable event can move the rest */
    size_t have = 0;
    deadline = now_s() + 5;
    while (have < N && now_s() < deadline) {
        int n = SSL_read(client, got + have, (int)(N - have));
        if (n > 0)
            have += (size_t)n;
        else
            usleep(500);
        event_base_loop(base, EVLOOP_NONBLOCK);
    }
    is_int((long long)have, N, "the peer received every byte");
    ok(!memcmp(sent, got, N), "in order, unchanged");
    is_int((long long)tls_wbuf_pending(server), 0, "the BIO is empty");
    for (int i = 0; i < 5; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    ok(writecb_calls > calls_before, "the write callback ran again once the BIO had written all");

    /* a small write: gathered, then out on the write callback's flush */
    bufferevent_write(bev, "ping", 4);
    char four[4] = {0};
    int n = 0;
    deadline = now_s() + 5;
    while (n <= 0 && now_s() < deadline) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        n = SSL_read(client, four, 4);
        if (n <= 0)
            usleep(500);
    }
    ok(n == 4 && !memcmp(four, "ping", 4), "a small record goes out in the same loop turn");

    struct wbuf *w = BIO_get_data(wbuf_of(server));
    ok(w->buf == NULL, "with SSL_MODE_RELEASE_BUFFERS, the emptied BIO gave its buffer back");
    /* without that mode an idle BIO keeps its buffer until tls_wbuf_release */
    SSL_clear_mode(server, SSL_MODE_RELEASE_BUFFERS);
    for (int round = 0; round < 2; round++) {
        bufferevent_write(bev, round ? "pang" : "pong", 4);
        n = 0;
        deadline = now_s() + 5;
        while (n <= 0 && now_s() < deadline) {
            event_base_loop(base, EVLOOP_NONBLOCK);
            n = SSL_read(client, four, 4);
            if (n <= 0)
                usleep(500);
        }
        if (round == 0) {
            ok(n == 4 && w->buf != NULL && w->len == 0, "without it, the idle BIO keeps its buffer");
            tls_wbuf_release(server);
            ok(w->buf == NULL, "tls_wbuf_release gives an idle BIO's buffer back");
        } else {
            /* ASan: no use after free, no double free */
            ok(n == 4 && !memcmp(four, "pang", 4), "after release, the next record still goes out whole");
        }
    }
    SSL_set_mode(server, SSL_MODE_RELEASE_BUFFERS);
    SSL_shutdown(server);
    tls_wbuf_unbind(server);
    ok(tls_wbuf_pending(server) == 0, "unbind writes the close_notify out");
    char c;
    deadline = now_s() + 5;
    int r = 0;
    while (now_s() < deadline) {
        r = SSL_read(client, &c, 1);
        if (r <= 0 && SSL_get_error(client, r) == SSL_ERROR_ZERO_RETURN)
            break;
        usleep(500);
    }
    is_int(SSL_get_error(client, r), SSL_ERROR_ZERO_RETURN, "the peer sees a clean TLS close");
    bufferevent_free(bev); /* frees the SSL and its BIO chain, closes sv[0] */
    event_base_loop(base, EVLOOP_NONBLOCK);

    ok(tls_wbuf_flush(NULL) == 0 && tls_wbuf_pending(client) == 0,
       "an SSL without the BIO (or none) has nothing held");
    SSL_free(client);
    close(sv[1]);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    event_base_free(base);
    return done();
}
