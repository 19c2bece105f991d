/* opts.h — the command line, turned into one struct opts; every limit is a named default here. */
#ifndef HTTPEEK_OPTS_H
#define HTTPEEK_OPTS_H

#include <stddef.h>
#include "attrib.h"

#define OPTS_DEFAULT_LISTEN "0.0.0.0:8080"
#define OPTS_DEFAULT_WEB "127.0.0.1:8081"
#define OPTS_DEFAULT_CONFDIR_NAME ".httpeek"
/* Seconds for each of upstream connect, TLS handshake and first response byte. */
#define OPTS_DEFAULT_UPSTREAM_TIMEOUT 30
/* Seconds a client has to send a whole request head. */
#define OPTS_DEFAULT_HEADER_TIMEOUT 30
/* Seconds a connection (keep-alive client, tunnel, stalled transfer) may stay silent. */
#define OPTS_DEFAULT_IDLE_TIMEOUT 120
#define OPTS_DEFAULT_UPSTREAM_IDLE 30
/* Bytes of each body kept in a flow; the rest is forwarded but not captured. */
#define OPTS_DEFAULT_MAX_BODY (16u * 1024 * 1024)
/* Longest request-target a client may send (bytes); longer gets 414. */
#define OPTS_DEFAULT_MAX_REQUEST_LINE (16u * 1024)
/* Longest single request header line, name + value (bytes); longer gets 431. */
#define OPTS_DEFAULT_MAX_HEADER_LINE (16u * 1024)
/* Largest whole request head (bytes); larger gets 431. */
#define OPTS_DEFAULT_MAX_HEADER_BYTES (64u * 1024)
/* Most header fields in one request; more gets 431. */
#define OPTS_DEFAULT_MAX_HEADERS 200
/* Most client connections open at once (all workers); more are answered 503 and closed. */
#define OPTS_DEFAULT_MAX_CONNECTIONS 4096
/* --max-client-connections default */
#define OPTS_DEFAULT_MAX_CLIENT_CONNECTIONS 512
#define OPTS_MAX_LISTEN 4
/* Most --intercept / --passthrough globs each. */
#define OPTS_MAX_RULES 64

struct opts {
    const char *listen[OPTS_MAX_LISTEN]; /* HOST:PORT strings as given (borrowed from argv) */
    int nlisten;                         /* 0 means OPTS_DEFAULT_LISTEN */
    const char *web;                     /* viewer address */
    char *confdir;                       /* owned: CA and sessions home */
    const char *upstream_ca;             /* extra PEM trust anchors for upstream, or NULL */
    int insecure;                        /* 1: do not verify upstream certificates */
    double upstream_timeout;             /* seconds */
    double header_timeout;               /* seconds */
    double idle_timeout;                 /* seconds */
    int leaf_rsa;                        /* 1: leaves carry RSA-2048 keys (--leaf-key rsa) */
    double upstream_idle;                /* seconds an idle upstream TLS connection is pooled; 0 off */
    size_t max_body;                     /* bytes captured per body */
    size_t max_request_line;             /* request-target bytes (414 beyond) */
    size_t max_header_line;              /* one request header line (431 beyond) */
    size_t max_header_bytes;             /* whole request head (431 beyond) */
    size_t max_headers;                  /* request header fields (431 beyond) */
    int max_connections;                 /* client connections open at once */
    int max_client_connections;          /* of those, from one client address */
    size_t memory_budget;                /* bytes held for exchanges (budget.h) */
    const char *hosts_file;              /* hosts file consulted first, or NULL */
    const char *dns;                     /* HOST[:PORT]: the only nameserver; NULL: the system's */
    int workers;                         /* worker threads; 0 means number of cores */
    int verbose;                         /* 1: debug logging */
    const char *intercept[OPTS_MAX_RULES];   /* --intercept globs (borrowed from argv) */
    int nintercept;
    const char *passthrough[OPTS_MAX_RULES]; /* --passthrough globs (borrowed from argv) */
    int npassthrough;
    int auto_passthrough;                /* one device's TLS rejections before a host is passed
                                            through for it */
    int auto_passthrough_ttl;            /* seconds an automatic passthrough entry lasts */
    int no_default_passthrough;          /* 1: the built-in passthrough list does not apply */
    const char *allow_client[OPTS_MAX_RULES]; /* --allow-client CIDR blocks (borrowed from argv) */
    int nallow_client;
    int no_qr;                           /* 1: no QR code of the setup URL at start-up */
    int record_own;                      /* 1: --record-own: httpeek's own pages become flows */
    int http2;                           /* 1: --http2=yes (default): h2 offered on both legs */
    int keep_alt_svc;                    /* 1: --strip-alt-svc=no (forward Alt-Svc untouched) */
    const char *log;                     /* --log FILE (borrowed from argv), or NULL: the terminal */
    const char *session;                 /* --session FILE (borrowed from argv), or NULL for a new
                                            confdir/sessions/YYYYmmdd-HHMMSS.sqlite */
    const char *keylog;                  /* --keylog FILE (borrowed from argv), or NULL (then
                                            $SSLKEYLOGFILE: keylog_choose) */
    const char *client_cert[OPTS_MAX_RULES]; /* --client-cert HOSTGLOB=CERT[,KEY] (borrowed from
                                                argv; syntax checked, files read at start) */
    int nclient_cert;
    const char *client_cert_password_file; /* --client-cert-password-file FILE, or NULL */
    const char *rules_file;              /* --rules FILE (borrowed), or NULL: confdir/rules.json */
    const char *rule_spec[OPTS_MAX_RULES]; /* --map-local / --map-remote / --block specs (borrowed
                                              from argv; syntax checked) ... */
    unsigned char rule_kind[OPTS_MAX_RULES]; /* ... and the enum rule_action of each */
    int nrule_spec;
    int upstream_errors_page;            /* 1: answer upstream TLS failures with a 502 page instead
                                            of mirroring them to the client */
};

/* Parse argv into o (defaults first). Returns 0 to run, 1 when --help/--version was printed
 * (exit 0), -1 with a one-line reason in err (exit 2). Free o with opts_free. */
int opts_parse(struct opts *o, int argc, char **argv, char *err, size_t errlen) HP_NONNULL(1, 3, 4);

/* Free what opts_parse allocated in o. */
void opts_free(struct opts *o);

/* Split "HOST:PORT", "[V6]:PORT" or "HOST" (port = default_port) into host (out) and port.
 * Returns 0, or -1 when malformed or the port is not 1..65535. */
int opts_split_hostport(const char *s, char *host, size_t hostlen, int *port, int default_port)
    HP_NONNULL(1, 2, 4);

#endif
