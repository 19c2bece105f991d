/* loadgen.h — what bench/loadgen.c (options, the epoll loop per thread, HTTP/1.1 clients, the
 * report) shares with bench/loadgen_h2.c (the --h2 mode). A client is one connection; it is
 * only ever touched by its own thread's epoll loop. */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdint.h>

#define BUF_SIZE (64 * 1024)
#define HEAD_MAX 8192
#define MAX_THREADS 16
#define TL_WINDOW 0.01            /* --timeline window, seconds */

enum err_kind { E_CONNECT, E_PROXY, E_TLS, E_VERIFY, E_IO, E_EOF, E_STATUS, E_LENGTH, E_PARSE,
                E_TIMEOUT, E_IDLE_CLOSED, E_ALPN, E_H2, E_COUNT };
extern const char *const err_names[E_COUNT];

enum state { S_CONNECT, S_PROXY_SEND, S_PROXY_RECV, S_HANDSHAKE, S_SEND, S_RECV, S_IDLE, S_H2 };

/* Options (read-only once threads start). */
struct options {
    struct sockaddr_in addr;     /* where we connect: the proxy, or the server itself */
    int use_proxy;               /* CONNECT (tls) or absolute-form (plain) through addr */
    int tls;
    char host[256];              /* target host name (Host:, SNI, verify, CONNECT) */
    int port;                    /* target port */
    char path[512];
    long expect_bytes;           /* body length every response must have (-1: any) */
    int expect_status;
    int clients, threads;
    double duration, warmup;
    int new_conn;
    long requests;               /* stop after this many requests in all (0: run for -d) */
    int idle;                    /* S5: number of idle connections to hold */
    int s6;                      /* S6: number of new names */
    char host_pattern[256];      /* S6: printf pattern with %d for new names */
    const char *cafile;
    double timeout;              /* per request (seconds) */
    int h2;                      /* --h2 STREAMS: HTTP/2, this many requests in flight per connection */
    int alpn_both;               /* --alpn-both: offer h2,http/1.1 (default with --h2: h2 only) */
    const char *timeline;        /* --timeline FILE: requests and latency per TL_WINDOW of the run */
};
extern struct options opt;
extern volatile int stop_flag;
extern long issued;              /* --requests: requests begun so far (atomic) */
extern double t_measure, t_end;

struct h2conn;                   /* loadgen_h2.c: one nghttp2 client session and its streams */

struct client {
    int fd;
    enum state st;
    SSL *ssl;
    struct thread *th;
    char host[256];              /* this connection's target host name */
    char req[1024];
    int req_len, req_off;
    char head[HEAD_MAX];
    int head_len;
    int in_body, chunked, conn_close;
    long content_length, body_got;
    /* chunked decoding */
    int ch_state;                /* 0 size line, 1 data, 2 CRLF after data, 3 trailers */
    long ch_left;
    char ch_line[64];
    int ch_line_len;
    int status;
    int reqs_on_conn;
    double t_req;                /* start of the current request (or connection for new-conn);
                                    h2: the last progress on the connection */
    double t_conn;
    int events;                  /* current epoll interest */
    int done;                    /* idle mode: connection finished its request; h2: given up */
    struct h2conn *h2;           /* --h2: the session (NULL before the handshake) */
};

struct thread {
    int id;
    int epfd;
    pthread_t tid;
    int nclients;
    struct client *clients;
    unsigned long long reqs, bytes, errs[E_COUNT], conns;
    uint64_t lat_hist[64 * 16];  /* log-linear histogram of request latency in us */
    uint32_t *tl_count, *tl_max_us, *tl_slow; /* --timeline: per window (requests finished in it,
                                    the slowest, those of 2 ms or more; NULL without) */
    double t_done;               /* when the thread stopped */
    int idle_started, idle_ready;
    char last_err[256];
    char alpn[16];               /* the protocol the last handshake agreed by ALPN ("none": none) */
};

/* loadgen.c */
double now(void);
void die(const char *fmt, ...);
void set_events(struct client *c, int ev);
void close_conn(struct client *c);
void fail(struct client *c, enum err_kind k, const char *what);   /* count, close, reconnect */
void record_request(struct thread *th, double t_req);             /* one completed request */

/* loadgen_h2.c (the TLS handshake is done and ALPN checked when these run) */
void h2_start(struct client *c);  /* a session, its SETTINGS and the first --h2 requests */
void h2_step(struct client *c);   /* S_H2: read and feed frames, submit the next requests, send */
void h2_free(struct client *c);   /* the session and its streams (close_conn calls it) */

#endif
