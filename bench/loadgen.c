/* loadgen: the load generator of httpeek's benchmark (bench/run.sh).
 *
 * An epoll loop per thread drives N clients, each a non-blocking socket with an optional
 * OpenSSL client session. A client talks to the target directly, or through an HTTP proxy:
 * CONNECT (HTTPS) or an absolute-form request (plain HTTP). Every TLS connection verifies the
 * chain against --cafile and the host name (SSL_set1_host) with a full handshake (no session
 * resumption, so the check really happens on every connection); every response's status and
 * body length are checked. Failures are counted by kind and never counted as completed
 * requests. Modes: keep-alive (default) or one request per connection (--new-conn), for -d
 * seconds or until -n N requests are done (--requests; bench/scale.sh); --idle N
 * (open N connections, one request each, report READY, hold them); --s6 N (sequential: first
 * request to a new host name, then one to a known name, N times; reports both medians).
 * --h2 STREAMS: HTTP/2 instead (bench/loadgen_h2.c, libnghttp2): after TCP (+ CONNECT) and TLS
 * offering ALPN h2 (or h2,http/1.1 with --alpn-both), one nghttp2 client session per connection
 * keeps STREAMS GETs in flight; each response's :status and body length are checked as above.
 * A server or proxy that does not choose h2 is an "alpn" error, and alpn= in the output says what
 * it chose (http/1.1, none, refused).
 *
 * Output: one line of key=value pairs on stdout (see the end of main()).
 * Build: cc -O2 -o loadgen loadgen.c loadgen_h2.c -lssl -lcrypto -lnghttp2 -lpthread
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

const char *const err_names[E_COUNT] = { "connect", "proxy", "tls", "verify", "io", "eof",
    "status", "length", "parse", "timeout", "idle_closed", "alpn", "h2" };

struct options opt = { .expect_bytes = -1, .expect_status = 200, .clients = 1, .threads = 1,
                       .duration = 5, .timeout = 10, .port = 443 };

static SSL_CTX *ctx;
volatile int stop_flag;
long issued;
static double t_start;
double t_measure, t_end;

double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loadgen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

/* Histogram: bucket = (exponent, 16 linear sub-buckets). */
static int hist_bucket(uint64_t us) {
    if (us < 16) return (int)us;
    int e = 63 - __builtin_clzll(us);            /* >= 4 */
    int sub = (int)((us >> (e - 4)) & 15);
    int b = (e - 3) * 16 + sub;
    return b < 64 * 16 ? b : 64 * 16 - 1;
}
static uint64_t hist_value(int b) {
    if (b < 16) return (uint64_t)b;
    int e = b / 16 + 3, sub = b % 16;
    return ((uint64_t)(16 + sub) << (e - 4)) + ((uint64_t)1 << (e - 4)) / 2;
}

void set_events(struct client *c, int ev) {
    if (c->events == ev) return;
    struct epoll_event e = { .events = (uint32_t)ev, .data.ptr = c };
    if (epoll_ctl(c->th->epfd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e) < 0)
        die("epoll_ctl: %s", strerror(errno));
    c->events = ev;
}

void close_conn(struct client *c) {
    if (c->h2) h2_free(c);
    if (c->ssl) { SSL_free(c->ssl); c->ssl = NULL; }
    if (c->fd >= 0) { close(c->fd); c->fd = -1; }   /* close removes it from epoll */
    c->events = 0;
}

static void start_conn(struct client *c);

void fail(struct client *c, enum err_kind k, const char *what) {
    c->th->errs[k]++;
    if (what) snprintf(c->th->last_err, sizeof c->th->last_err, "%s: %s", err_names[k], what);
    close_conn(c);
    if (opt.idle) { c->done = 1; c->th->idle_ready++; return; }
    if (!stop_flag && !opt.s6) start_conn(c);
}

static void build_request(struct client *c) {
    if (opt.use_proxy && !opt.tls)
        c->req_len = snprintf(c->req, sizeof c->req,
            "GET http://%s:%d%s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: httpeek-loadgen\r\n\r\n",
            c->host, opt.port, opt.path, c->host, opt.port);
    else
        c->req_len = snprintf(c->req, sizeof c->req,
            "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: httpeek-loadgen\r\n\r\n", opt.path, c->host);
    c->req_off = 0;
}

static void begin_request(struct client *c) {
    if (opt.requests && __atomic_fetch_add(&issued, 1, __ATOMIC_RELAXED) >= opt.requests) {
        close_conn(c);           /* --requests reached: this client is done */
        c->done = 1;
        return;
    }
    build_request(c);
    c->head_len = 0; c->in_body = 0; c->chunked = 0; c->conn_close = 0;
    c->content_length = -1; c->body_got = 0; c->status = 0;
    c->ch_state = 0; c->ch_left = 0; c->ch_line_len = 0;
    if (!opt.new_conn && !opt.s6) c->t_req = now();
    c->st = S_SEND;
}

static void start_conn(struct client *c) {
    if (opt.requests && __atomic_load_n(&issued, __ATOMIC_RELAXED) >= opt.requests) {
        c->done = 1;             /* --requests reached: no new connection */
        return;
    }
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket: %s (raise ulimit -n)", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->t_conn = now();
    c->t_req = c->t_conn;        /* the timeout covers connection setup too */
    c->reqs_on_conn = 0;
    c->th->conns++;
    c->st = S_CONNECT;
    if (connect(c->fd, (struct sockaddr *)&opt.addr, sizeof opt.addr) < 0 && errno != EINPROGRESS) {
        fail(c, E_CONNECT, strerror(errno));
        return;
    }
    set_events(c, EPOLLOUT);
}

static void after_tcp(struct client *c);

static void start_tls(struct client *c) {
    c->ssl = SSL_new(ctx);
    if (!c->ssl) die("SSL_new");
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, c->host);
    if (!SSL_set1_host(c->ssl, c->host)) die("SSL_set1_host");
    SSL_set_connect_state(c->ssl);
    c->st = S_HANDSHAKE;
}

static void after_tcp(struct client *c) {
    if (opt.use_proxy && opt.tls) {
        c->req_len = snprintf(c->req, sizeof c->req,
            "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n", c->host, opt.port, c->host, opt.port);
        c->req_off = 0;
        c->head_len = 0;
        c->st = S_PROXY_SEND;
    } else if (opt.tls) {
        start_tls(c);
    } else {
        begin_request(c);
    }
}

/* Raw or TLS I/O. Returns >0 bytes, 0 on EOF, -1 would block (events set), -2 error. */
static int do_io(struct client *c, char *buf, int len, int writing) {
    if (!c->ssl) {
        ssize_t n = writing ? send(c->fd, buf, len, MSG_NOSIGNAL) : recv(c->fd, buf, len, 0);
        if (n >= 0) return (int)n;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            set_events(c, writing ? EPOLLOUT : EPOLLIN);
            return -1;
        }
        snprintf(c->th->last_err, sizeof c->th->last_err, "io: %s", strerror(errno));
        return -2;
    }
    ERR_clear_error();
    int n = writing ? SSL_write(c->ssl, buf, len) : SSL_read(c->ssl, buf, len);
    if (n > 0) return n;
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ) { set_events(c, EPOLLIN); return -1; }
    if (e == SSL_ERROR_WANT_WRITE) { set_events(c, EPOLLOUT); return -1; }
    if (e == SSL_ERROR_ZERO_RETURN) return 0;
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return 0;  /* EOF without close_notify */
    unsigned long le = ERR_peek_error();
    snprintf(c->th->last_err, sizeof c->th->last_err, "tls io: %s",
             le ? ERR_reason_error_string(le) : strerror(errno));
    return -2;
}

void record_request(struct thread *th, double t_req) {
    double t = now();
    if (t >= t_measure && !stop_flag) {
        th->reqs++;
        uint64_t us = (uint64_t)((t - t_req) * 1e6);
        th->lat_hist[hist_bucket(us)]++;
        if (th->tl_count) {
            size_t w = (size_t)((t - t_measure) / TL_WINDOW), nw = (size_t)(opt.duration / TL_WINDOW) + 1;
            if (w < nw) {
                th->tl_count[w]++;
                if (us > th->tl_max_us[w]) th->tl_max_us[w] = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
                if (us >= 2000) th->tl_slow[w]++;
            }
        }
    }
}

static void record_done(struct client *c) {
    record_request(c->th, c->t_req);
    c->reqs_on_conn++;
}

/* Parse the response head in c->head[0..end). Returns 0 ok, -1 error. */
static int parse_head(struct client *c, int end) {
    c->head[end] = 0;
    if (strncmp(c->head, "HTTP/1.", 7) != 0) return -1;
    c->status = atoi(c->head + 9);
    char *line = strstr(c->head, "\r\n");
    while (line && line + 2 < c->head + end) {
        line += 2;
        char *eol = strstr(line, "\r\n");
        if (!eol) break;
        if (!strncasecmp(line, "Content-Length:", 15)) c->content_length = atol(line + 15);
        else if (!strncasecmp(line, "Transfer-Encoding:", 18) && strcasestr(line, "chunked") &&
                 strcasestr(line, "chunked") < eol) c->chunked = 1;
        else if (!strncasecmp(line, "Connection:", 11) && strcasestr(line, "close") &&
                 strcasestr(line, "close") < eol) c->conn_close = 1;
        line = eol;
    }
    return 0;
}

/* Feed body bytes; returns 1 when the message is complete, 0 for more, -1 on error. */
static int body_feed(struct client *c, const char *p, long n) {
    if (!c->chunked) {
        c->body_got += n;
        if (c->content_length >= 0) {
            if (c->body_got > c->content_length) return -1;
            return c->body_got == c->content_length;
        }
        return 0;                /* read until EOF */
    }
    for (long i = 0; i < n;) {
        switch (c->ch_state) {
        case 0: case 2: case 3: {
            char ch = p[i++];
            if (c->ch_line_len < (int)sizeof c->ch_line - 1) c->ch_line[c->ch_line_len++] = ch;
            else return -1;
            if (ch != '\n') break;
            c->ch_line[c->ch_line_len] = 0;
            int empty = c->ch_line_len <= 2;
            c->ch_line_len = 0;
            if (c->ch_state == 0) {
                c->ch_left = strtol(c->ch_line, NULL, 16);
                c->ch_state = c->ch_left ? 1 : 3;
            } else if (c->ch_state == 2) {
                if (!empty) return -1;
                c->ch_state = 0;
            } else if (empty) {
                return i == n ? 1 : -1;
            }
            break;
        }
        case 1: {
            long take = n - i < c->ch_left ? n - i : c->ch_left;
            c->body_got += take; c->ch_left -= take; i += take;
            if (!c->ch_left) c->ch_state = 2;
            break;
        }
        }
    }
    return 0;
}

static void response_complete(struct client *c) {
    if (c->status != opt.expect_status) {
        char m[64]; snprintf(m, sizeof m, "status %d", c->status);
        fail(c, E_STATUS, m); return;
    }
    if (opt.expect_bytes >= 0 && c->body_got != opt.expect_bytes) {
        char m[64]; snprintf(m, sizeof m, "body %ld bytes, expected %ld", c->body_got, opt.expect_bytes);
        fail(c, E_LENGTH, m); return;
    }
    record_done(c);
    if (opt.idle) {
        c->done = 1; c->th->idle_ready++;
        c->st = S_IDLE;
        set_events(c, EPOLLIN);
        return;
    }
    if (opt.s6) { close_conn(c); c->done = 1; return; }
    if (stop_flag) { close_conn(c); return; }
    if (opt.new_conn || c->conn_close) { close_conn(c); start_conn(c); return; }
    begin_request(c);
}

/* A failure that another connection would only repeat (the server does not speak h2): count
 * it and stop this client. */
static void give_up(struct client *c, enum err_kind k, const char *what) {
    c->th->errs[k]++;
    snprintf(c->th->last_err, sizeof c->th->last_err, "%s: %s", err_names[k], what);
    close_conn(c);
    c->done = 1;
}

/* --h2: did the handshake agree on h2? Otherwise the client gives up ("alpn" error). */
static int alpn_is_h2(struct client *c) {
    const unsigned char *p = NULL;
    unsigned len = 0;
    SSL_get0_alpn_selected(c->ssl, &p, &len);
    snprintf(c->th->alpn, sizeof c->th->alpn, "%.*s", len ? (int)len : 4, len ? (const char *)p : "none");
    if (len == 2 && !memcmp(p, "h2", 2)) return 1;
    char m[96];
    snprintf(m, sizeof m, "the server chose %s by ALPN, not h2", c->th->alpn);
    give_up(c, E_ALPN, m);
    return 0;
}

static void step(struct client *c) {
    static __thread char buf[BUF_SIZE];
    for (;;) {
        if (c->fd < 0) return;   /* closed (failure, or --requests reached) */
        switch (c->st) {
        case S_CONNECT: {
            int err = 0; socklen_t l = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
            if (err == EINPROGRESS) return;
            if (err) { fail(c, E_CONNECT, strerror(err)); return; }
            after_tcp(c);
            break;
        }
        case S_PROXY_SEND:
        case S_SEND: {
            int n = do_io(c, c->req + c->req_off, c->req_len - c->req_off, 1);
            if (n == -1) return;
            if (n <= 0) { fail(c, E_IO, NULL); return; }
            c->req_off += n;
            if (c->req_off == c->req_len) {
                if (c->st == S_PROXY_SEND) { c->st = S_PROXY_RECV; c->head_len = 0; }
                else c->st = S_RECV;
            }
            break;
        }
        case S_PROXY_RECV: {
            int n = do_io(c, c->head + c->head_len, HEAD_MAX - 1 - c->head_len, 0);
            if (n == -1) return;
            if (n == 0) { fail(c, E_PROXY, "proxy closed before answering CONNECT"); return; }
            if (n < 0) { fail(c, E_PROXY, NULL); return; }
            c->head_len += n;
            c->head[c->head_len] = 0;
            char *end = strstr(c->head, "\r\n\r\n");
            if (!end) {
                if (c->head_len >= HEAD_MAX - 1) { fail(c, E_PROXY, "head too long"); return; }
                break;
            }
            if (end + 4 != c->head + c->head_len) { fail(c, E_PROXY, "bytes after CONNECT reply"); return; }
            if (strncmp(c->head, "HTTP/1.1 200", 12) && strncmp(c->head, "HTTP/1.0 200", 12)) {
                char m[64]; snprintf(m, sizeof m, "CONNECT answered %.20s", c->head);
                fail(c, E_PROXY, m); return;
            }
            start_tls(c);
            break;
        }
        case S_HANDSHAKE: {
            ERR_clear_error();
            int r = SSL_connect(c->ssl);
            if (r == 1) {
                if (opt.h2) { if (alpn_is_h2(c)) h2_start(c); return; }
                begin_request(c);
                break;
            }
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ) { set_events(c, EPOLLIN); return; }
            if (e == SSL_ERROR_WANT_WRITE) { set_events(c, EPOLLOUT); return; }
            long v = SSL_get_verify_result(c->ssl);
            if (v != X509_V_OK) { fail(c, E_VERIFY, X509_verify_cert_error_string(v)); return; }
            unsigned long le = ERR_peek_error();
            if (opt.h2 && ERR_GET_REASON(le) == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL) {
                snprintf(c->th->alpn, sizeof c->th->alpn, "refused");
                give_up(c, E_ALPN, "the server refused every protocol offered by ALPN");
                return;
            }
            fail(c, E_TLS, le ? ERR_reason_error_string(le) : "handshake failed");
            return;
        }
        case S_RECV: {
            if (!c->in_body) {
                int n = do_io(c, c->head + c->head_len, HEAD_MAX - 1 - c->head_len, 0);
                if (n == -1) return;
                if (n == 0) { fail(c, c->reqs_on_conn ? E_EOF : E_EOF, "closed before response head"); return; }
                if (n < 0) { fail(c, E_IO, NULL); return; }
                int old = c->head_len;
                c->head_len += n;
                c->head[c->head_len] = 0;
                char *end = strstr(c->head + (old > 3 ? old - 3 : 0), "\r\n\r\n");
                if (!end) {
                    if (c->head_len >= HEAD_MAX - 1) { fail(c, E_PARSE, "head too long"); return; }
                    break;
                }
                int hl = (int)(end + 4 - c->head);
                int extra = c->head_len - hl;
                if (parse_head(c, hl) < 0) { fail(c, E_PARSE, "bad status line"); return; }
                c->in_body = 1;
                if (c->status == 100) {     /* not expected from GET; skip it */
                    memmove(c->head, c->head + hl, extra); c->head_len = extra; c->in_body = 0;
                    break;
                }
                int r = (c->content_length == 0 && !c->chunked) ? 1
                      : body_feed(c, c->head + hl, extra);
                if (r < 0) { fail(c, E_LENGTH, "framing"); return; }
                c->th->bytes += extra;
                if (r == 1) { response_complete(c); if (c->fd < 0 || c->st != S_SEND) return; }
                break;
            }
            int n = do_io(c, buf, BUF_SIZE, 0);
            if (n == -1) return;
            if (n == 0) {
                if (!c->chunked && c->content_length < 0) { c->conn_close = 1; response_complete(c); return; }
                fail(c, E_EOF, "closed mid-body"); return;
            }
            if (n < 0) { fail(c, E_IO, NULL); return; }
            c->th->bytes += n;
            int r = body_feed(c, buf, n);
            if (r < 0) { fail(c, E_LENGTH, "framing"); return; }
            if (r == 1) { response_complete(c); if (c->fd < 0 || c->st != S_SEND) return; }
            break;
        }
        case S_H2:
            h2_step(c);
            return;
        case S_IDLE: {
            int n = do_io(c, buf, BUF_SIZE, 0);
            if (n == -1) return;
            if (!stop_flag) { c->th->errs[E_IDLE_CLOSED]++; c->th->idle_ready--; }
            close_conn(c);
            return;
        }
        }
    }
}

static void check_timeouts(struct thread *th, double t) {
    for (int i = 0; i < th->nclients; i++) {
        struct client *c = &th->clients[i];
        if (c->fd >= 0 && c->st != S_IDLE && t - c->t_req > opt.timeout) fail(c, E_TIMEOUT, "request timed out");
    }
}

static void *thread_main(void *arg) {
    struct thread *th = arg;
    struct epoll_event evs[256];
    double last_check = now();
    if (!opt.idle)
        for (int i = 0; i < th->nclients; i++) start_conn(&th->clients[i]);
    for (;;) {
        double t = now();
        if (opt.idle) {
            /* ramp: at most 50 connections being set up at once per thread */
            while (th->idle_started < th->nclients && th->idle_started - th->idle_ready < 50)
                start_conn(&th->clients[th->idle_started++]);
            if (stop_flag) break;
        } else if (t >= t_end) {
            break;
        } else if (opt.requests || opt.h2) {
            int open = 0;
            for (int i = 0; i < th->nclients && !open; i++) open = th->clients[i].fd >= 0;
            if (!open) break;    /* every request of --requests done, or every h2 client gave up */
        }
        int n = epoll_wait(th->epfd, evs, 256, 50);
        for (int i = 0; i < n; i++) {
            struct client *c = evs[i].data.ptr;
            if (c->fd >= 0) step(c);
        }
        if (t - last_check > 0.5) { check_timeouts(th, t); last_check = t; }
    }
    th->t_done = now();
    if (!opt.requests) stop_flag = 1;
    for (int i = 0; i < th->nclients; i++) close_conn(&th->clients[i]);
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* S6: sequential; new name, then known name, count times. */
static int run_s6(struct thread *th) {
    double *lat_new = calloc(opt.s6, sizeof(double)), *lat_known = calloc(opt.s6, sizeof(double));
    struct epoll_event evs[4];
    int nn = 0, nk = 0;
    struct client *c = &th->clients[0];
    /* warm the known name first (its leaf is minted, its DNS answer seen) */
    for (int round = -1; round < opt.s6; round++) {
        for (int kind = 0; kind < 2; kind++) {
            if (round < 0 && kind == 0) continue;
            if (kind == 0) snprintf(c->host, sizeof c->host, opt.host_pattern, round);
            else snprintf(c->host, sizeof c->host, "%s", opt.host);
            c->done = 0;
            unsigned long long errs_before = 0, errs_after = 0;
            for (int k = 0; k < E_COUNT; k++) errs_before += th->errs[k];
            double t0 = now();
            start_conn(c);
            while (c->fd >= 0 && !c->done) {
                int n = epoll_wait(th->epfd, evs, 4, 100);
                for (int i = 0; i < n; i++) step(c);
                if (now() - t0 > opt.timeout) { fail(c, E_TIMEOUT, "s6 request timed out"); break; }
            }
            for (int k = 0; k < E_COUNT; k++) errs_after += th->errs[k];
            double dt = now() - t0;
            if (errs_after != errs_before || !c->done) continue;
            if (round < 0) continue;
            if (kind == 0) lat_new[nn++] = dt; else lat_known[nk++] = dt;
        }
    }
    qsort(lat_new, nn, sizeof(double), cmp_double);
    qsort(lat_known, nk, sizeof(double), cmp_double);
    unsigned long long errs = 0;
    for (int k = 0; k < E_COUNT; k++) errs += th->errs[k];
    double mn = nn ? lat_new[nn / 2] * 1e3 : 0, mk = nk ? lat_known[nk / 2] * 1e3 : 0;
    printf("mode=s6 new=%d known=%d errors=%llu new_median_ms=%.3f known_median_ms=%.3f extra_ms=%.3f",
           nn, nk, errs, mn, mk, mn - mk);
    for (int k = 0; k < E_COUNT; k++) if (th->errs[k]) printf(" err_%s=%llu", err_names[k], th->errs[k]);
    if (errs) printf(" last_error=\"%s\"", th->last_err);
    printf("\n");
    return errs ? 1 : 0;
}

static void usage(void) {
    fprintf(stderr,
"usage: loadgen --connect IP:PORT --host NAME [--port N] [--proxy] [--tls --cafile FILE]\n"
"               [--path P] [--expect-bytes N] [-c CLIENTS] [-t THREADS] [-d SECONDS]\n"
"               [--warmup SECONDS] [--new-conn] [-n|--requests N] [--idle N]\n"
"               [--s6 N --host-pattern FMT] [--h2 STREAMS [--alpn-both]]\n"
"  --h2        HTTP/2 (TLS, ALPN h2): STREAMS requests in flight on each connection\n"
"  --alpn-both offer h2,http/1.1 (default with --h2: h2 only); either way a server that does\n"
"              not choose h2 is an \"alpn\" error and that client stops (alpn= in the report)\n"
"  -n, --requests  stop after N requests in all (-d stays the upper bound)\n"
"  --timeline FILE  per 10 ms of the measured run: \"ms requests max_us slow\" (slow: >= 2 ms),\n"
"              to see when the tail happens (bench/tail.sh lines it up with the proxy's work)\n"
"  --connect   address to connect to: the proxy (with --proxy) or the server\n"
"  --host      target host name (Host header, SNI, verified name, CONNECT authority)\n"
"  --port      target port (default 443)\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *connect_to = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage(), ""))
        if (!strcmp(a, "--connect")) connect_to = NEXT();
        else if (!strcmp(a, "--host")) snprintf(opt.host, sizeof opt.host, "%s", NEXT());
        else if (!strcmp(a, "--port")) opt.port = atoi(NEXT());
        else if (!strcmp(a, "--proxy")) opt.use_proxy = 1;
        else if (!strcmp(a, "--tls")) opt.tls = 1;
        else if (!strcmp(a, "--cafile")) opt.cafile = NEXT();
        else if (!strcmp(a, "--path")) snprintf(opt.path, sizeof opt.path, "%s", NEXT());
        else if (!strcmp(a, "--expect-bytes")) opt.expect_bytes = atol(NEXT());
        else if (!strcmp(a, "-c")) opt.clients = atoi(NEXT());
        else if (!strcmp(a, "-t")) opt.threads = atoi(NEXT());
        else if (!strcmp(a, "-d")) opt.duration = atof(NEXT());
        else if (!strcmp(a, "--warmup")) opt.warmup = atof(NEXT());
        else if (!strcmp(a, "--timeout")) opt.timeout = atof(NEXT());
        else if (!strcmp(a, "--new-conn")) opt.new_conn = 1;
        else if (!strcmp(a, "--requests") || !strcmp(a, "-n")) opt.requests = atol(NEXT());
        else if (!strcmp(a, "--idle")) opt.idle = atoi(NEXT());
        else if (!strcmp(a, "--s6")) opt.s6 = atoi(NEXT());
        else if (!strcmp(a, "--h2")) opt.h2 = atoi(NEXT());
        else if (!strcmp(a, "--alpn-both")) opt.alpn_both = 1;
        else if (!strcmp(a, "--timeline")) opt.timeline = NEXT();
        else if (!strcmp(a, "--host-pattern")) snprintf(opt.host_pattern, sizeof opt.host_pattern, "%s", NEXT());
        else usage();
    }
    if (!connect_to || !opt.host[0]) usage();
    if (!opt.path[0]) strcpy(opt.path, "/");
    char ip[64]; int cport;
    const char *colon = strrchr(connect_to, ':');
    if (!colon || colon - connect_to >= (int)sizeof ip) usage();
    memcpy(ip, connect_to, colon - connect_to); ip[colon - connect_to] = 0;
    cport = atoi(colon + 1);
    opt.addr.sin_family = AF_INET;
    opt.addr.sin_port = htons(cport);
    if (inet_pton(AF_INET, ip, &opt.addr.sin_addr) != 1) die("--connect wants an IPv4 literal");
    if ((ntohl(opt.addr.sin_addr.s_addr) >> 24) != 127) die("only 127.0.0.0/8 is a target");
    if (opt.threads < 1 || opt.threads > MAX_THREADS) die("bad -t");
    if (opt.s6) { opt.threads = 1; opt.clients = 1; opt.new_conn = 1;
                  if (!strstr(opt.host_pattern, "%d")) die("--s6 needs --host-pattern with %%d"); }
    if (opt.idle) opt.clients = opt.idle;
    if (opt.h2 < 0 || opt.h2 > 1000) die("bad --h2 (1..1000 streams)");
    if (opt.h2 && (!opt.tls || opt.new_conn || opt.idle || opt.s6))
        die("--h2 needs --tls (no h2c) and keep-alive (no --new-conn, --idle or --s6)");
    if (opt.clients < opt.threads) opt.threads = opt.clients;

    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }

    if (opt.tls) {
        if (!opt.cafile) die("--tls needs --cafile");
        ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        if (SSL_CTX_load_verify_locations(ctx, opt.cafile, NULL) != 1) die("cannot load %s", opt.cafile);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        /* full handshake (and so a full chain + name check) on every connection */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        /* HTTP/1.1 mode offers http/1.1 only, so a server that also speaks h2 answers HTTP/1.1 */
        static const unsigned char alpn_h1[] = "\x08http/1.1", alpn_h2[] = "\x02h2",
                                   alpn_both[] = "\x02h2\x08http/1.1";
        if (!opt.h2) SSL_CTX_set_alpn_protos(ctx, alpn_h1, sizeof alpn_h1 - 1);
        else if (opt.alpn_both) SSL_CTX_set_alpn_protos(ctx, alpn_both, sizeof alpn_both - 1);
        else SSL_CTX_set_alpn_protos(ctx, alpn_h2, sizeof alpn_h2 - 1);
    }

    struct thread th[MAX_THREADS];
    memset(th, 0, sizeof th);
    for (int t = 0; t < opt.threads; t++) {
        th[t].id = t;
        th[t].epfd = epoll_create1(EPOLL_CLOEXEC);
        th[t].nclients = opt.clients / opt.threads + (t < opt.clients % opt.threads);
        if (opt.timeline) {
            size_t nw = (size_t)(opt.duration / TL_WINDOW) + 1;
            th[t].tl_count = calloc(nw, sizeof(uint32_t));
            th[t].tl_max_us = calloc(nw, sizeof(uint32_t));
            th[t].tl_slow = calloc(nw, sizeof(uint32_t));
            if (!th[t].tl_count || !th[t].tl_max_us || !th[t].tl_slow) die("out of memory");
        }
        th[t].clients = calloc(th[t].nclients, sizeof(struct client));
        for (int i = 0; i < th[t].nclients; i++) {
            th[t].clients[i].fd = -1;
            th[t].clients[i].th = &th[t];
            snprintf(th[t].clients[i].host, sizeof th[t].clients[i].host, "%s", opt.host);
        }
    }
    t_start = now();
    t_measure = t_start + opt.warmup;
    t_end = t_measure + opt.duration;
    if (opt.s6) return run_s6(&th[0]);

    for (int t = 0; t < opt.threads; t++) pthread_create(&th[t].tid, NULL, thread_main, &th[t]);
    if (opt.idle) {
        /* wait for all connections to finish their request, report, hold, stop */
        double deadline = now() + opt.timeout + opt.idle / 100.0;
        for (;;) {
            int ready = 0;
            for (int t = 0; t < opt.threads; t++) ready += th[t].idle_ready;
            if (ready >= opt.idle || now() > deadline) break;
            usleep(20000);
        }
        unsigned long long errs = 0, ok = 0;
        for (int t = 0; t < opt.threads; t++) { ok += th[t].reqs; for (int k = 0; k < E_COUNT; k++) errs += th[t].errs[k]; }
        printf("READY idle=%llu errors=%llu\n", ok, errs);
        fflush(stdout);
        usleep((useconds_t)(opt.duration * 1e6));
        unsigned long long closed = 0;
        for (int t = 0; t < opt.threads; t++) closed += th[t].errs[E_IDLE_CLOSED];
        stop_flag = 1;
        for (int t = 0; t < opt.threads; t++) pthread_join(th[t].tid, NULL);
        printf("mode=idle held=%llu errors=%llu idle_closed=%llu", ok, errs, closed);
        for (int t = 0; t < opt.threads; t++) if (th[t].last_err[0]) { printf(" last_error=\"%s\"", th[t].last_err); break; }
        printf("\n");
        return errs || closed ? 1 : 0;
    }
    for (int t = 0; t < opt.threads; t++) pthread_join(th[t].tid, NULL);
    double elapsed = opt.duration;
    if (opt.requests) {          /* the time it took, not the bound */
        double last = t_measure;
        for (int t = 0; t < opt.threads; t++) if (th[t].t_done > last) last = th[t].t_done;
        elapsed = last - t_measure;
        if (elapsed <= 0) elapsed = 1e-9;
    }

    unsigned long long reqs = 0, bytes = 0, conns = 0, errs[E_COUNT] = {0}, etot = 0;
    uint64_t hist[64 * 16] = {0};
    const char *last = "";
    for (int t = 0; t < opt.threads; t++) {
        reqs += th[t].reqs; bytes += th[t].bytes; conns += th[t].conns;
        for (int k = 0; k < E_COUNT; k++) { errs[k] += th[t].errs[k]; etot += th[t].errs[k]; }
        for (int b = 0; b < 64 * 16; b++) hist[b] += th[t].lat_hist[b];
        if (th[t].last_err[0]) last = th[t].last_err;
    }
    uint64_t p50 = 0, p99 = 0, p999 = 0, max = 0, acc = 0;
    for (int b = 0; b < 64 * 16; b++) {
        acc += hist[b];
        if (!p50 && acc * 2 >= reqs && reqs) p50 = hist_value(b);
        if (!p99 && acc * 100 >= reqs * 99 && reqs) p99 = hist_value(b);
        if (!p999 && acc * 1000 >= reqs * 999 && reqs) p999 = hist_value(b);
        if (hist[b]) max = hist_value(b);
    }
    printf("mode=%s requests=%llu errors=%llu seconds=%.2f rps=%.1f mibps=%.2f p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu conns=%llu",
           opt.h2 ? "h2" : opt.new_conn ? "newconn" : "keepalive", reqs, etot, elapsed, reqs / elapsed,
           bytes / elapsed / 1048576.0, (unsigned long long)p50, (unsigned long long)p99,
           (unsigned long long)p999, (unsigned long long)max, conns);
    if (opt.timeline) {          /* the windows, all threads summed (max: the slowest of them) */
        FILE *f = fopen(opt.timeline, "w");
        if (!f) die("cannot write %s: %s", opt.timeline, strerror(errno));
        size_t nw = (size_t)(opt.duration / TL_WINDOW) + 1;
        for (size_t w = 0; w < nw; w++) {
            unsigned long long n = 0, slow = 0, mx = 0;
            for (int t = 0; t < opt.threads; t++) {
                n += th[t].tl_count[w]; slow += th[t].tl_slow[w];
                if (th[t].tl_max_us[w] > mx) mx = th[t].tl_max_us[w];
            }
            fprintf(f, "%.0f %llu %llu %llu\n", w * TL_WINDOW * 1000, n, mx, slow);
        }
        fclose(f);
    }
    if (opt.h2) {                /* what ALPN agreed: h2, or why the h2 figures are missing */
        const char *alpn = "none";
        for (int t = 0; t < opt.threads; t++) if (th[t].alpn[0]) { alpn = th[t].alpn; break; }
        printf(" streams=%d alpn=%s", opt.h2, alpn);
    }
    for (int k = 0; k < E_COUNT; k++) if (errs[k]) printf(" err_%s=%llu", err_names[k], errs[k]);
    if (etot) printf(" last_error=\"%s\"", last);
    printf("\n");
    return etot ? 1 : 0;
}
