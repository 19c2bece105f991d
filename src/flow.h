/* flow.h — the record of one exchange (or of one tunnel / failed CONNECT): heads, capped body
 * captures, HAR timing marks, TLS facts of both legs and the raw failure facts.
 *
 * A flow is built by its connection on one worker thread, then handed over whole with flow_done:
 * it prints the terminal line and passes ownership to the sink (the store, later the viewer). */
#ifndef HTTPEEK_FLOW_H
#define HTTPEEK_FLOW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>
#include "attrib.h"
#include "capture.h"
#include "http1.h"

enum flow_kind {
    FLOW_HTTP,   /* one request/response exchange (plain or inside an intercepted tunnel) */
    FLOW_TUNNEL, /* a CONNECT that was relayed opaquely, refused, or failed before any request */
};

/* Where an exchange was when it ended or failed (diagnose maps this to NSURL codes later). */
enum flow_stage {
    FLOW_STAGE_NONE,
    FLOW_STAGE_CLIENT_REQUEST, /* reading the client's request head/body */
    FLOW_STAGE_DNS,            /* resolving the upstream host */
    FLOW_STAGE_CONNECT,        /* TCP connect to upstream */
    FLOW_STAGE_UPSTREAM_TLS,   /* TLS handshake with upstream (verification included) */
    FLOW_STAGE_CLIENT_TLS,     /* TLS handshake with the client (our minted leaf) */
    FLOW_STAGE_SEND,           /* forwarding the request upstream */
    FLOW_STAGE_WAIT,           /* waiting for the response head */
    FLOW_STAGE_RECEIVE,        /* streaming the response body */
    FLOW_STAGE_TUNNEL,         /* relaying an opaque tunnel */
    FLOW_STAGE_COUNT
};

/* Stable lower-case name of a stage ("dns", "upstream_tls", ...). */
const char *flow_stage_name(enum flow_stage stage);

/* TLS facts of one leg, filled by tls_client / tls_server. Empty strings when unknown. */
struct flow_tls {
    int present;              /* 1 when this leg used TLS */
    int handshake_done;       /* 1 when the handshake completed */
    char version[16];         /* "TLSv1.3" */
    char cipher[64];          /* OpenSSL cipher name */
    char alpn[32];            /* negotiated ALPN protocol */
    char sni[256];            /* server name sent (upstream) or received (client) */
    long verify_result;       /* X509_V_* of the upstream chain; 0 when ok or not checked */
    char verify_error[128];   /* X509_verify_cert_error_string when verify_result != 0 */
    char alert_sent[64];      /* last TLS alert we sent on this leg */
    char alert_received[64];  /* last TLS alert the peer sent */
    char error[256];          /* first OpenSSL error of a failed handshake */
    char peer_subject[256];   /* upstream certificate subject (one line) */
    char peer_issuer[256];    /* upstream certificate issuer */
    char peer_not_before[32]; /* upstream certificate notBefore, ISO 8601 */
    char peer_not_after[32];  /* upstream certificate notAfter, ISO 8601 */
    char peer_key_type[8];    /* "RSA", "EC", ... of the upstream certificate's key */
    int peer_key_bits;        /* its size in bits */
    char peer_sig[32];        /* its signature algorithm, e.g. "sha256WithRSAEncryption" */
    int forward_secret;       /* 1 when the key exchange was ephemeral (ECDHE/DHE or TLS 1.3) */
    int resumed;              /* 1 when an earlier session was resumed (no certificate sent) */
    int cert_requested;       /* upstream leg: 1 when the server sent a CertificateRequest (it
                               * asked for a client certificate) */
    char client_cert[256];    /* upstream leg: subject of the client certificate httpeek sent
                               * (--client-cert), in this handshake or the one resumed; "" none */
    char peer_names[512];     /* upstream certificate's DNS and IP subjectAltNames, ", " between
                               * them (its CN when it has none); "... (+N more)" when cut */
    char leaf[20];            /* client leg: the certificate it was shown: "minted" (httpeek's
                               * CA), "mirror_dates", "mirror_names", "mirror_untrusted"; "" none */
    char leaf_reason[400];    /* client leg: one sentence saying why that certificate */
};

/* One leg's TLS facts as flows hold them: made once when the leg's facts change (tls_facts.h),
 * then read-only and shared by every flow of the connection, by reference count (the last
 * reference dropped frees it, on whichever thread). A keep-alive connection's flows copy and
 * zero none of the ~2.4 KiB per leg. */
struct flow_tls_shared {
    _Atomic unsigned refs;
    uint64_t serial;          /* process-unique, from 1: tells snapshots apart (store_tls.h) */
    struct flow_tls t;
};

/* The facts of a leg that used no TLS (all zero, present 0): what flow_new points both legs at. */
extern const struct flow_tls flow_tls_none;

/* New shared facts, zeroed, with one reference (the caller's). NULL on OOM. */
struct flow_tls_shared *flow_tls_shared_new(void) HP_WUNRES;

/* Drop one reference (frees on the last). NULL allowed. */
void flow_tls_shared_unref(struct flow_tls_shared *s);

/* Why httpeek answered a request itself instead of forwarding it (struct flow_failure.refusal);
 * diagnose maps each to what the client got. */
enum flow_refusal {
    FLOW_REFUSED_NONE,
    FLOW_REFUSED_UNSUPPORTED,    /* 400: a scheme httpeek does not proxy (ftp://), CONNECT in a tunnel */
    FLOW_REFUSED_NOT_PROXY,      /* 400: origin-form request for a host that is not httpeek (no
                                  * proxy set: sent to httpeek's address, or redirected to it) */
    FLOW_REFUSED_BAD_TARGET,     /* 400: malformed request-target (URL) */
    FLOW_REFUSED_BAD_REQUEST,    /* 400: malformed head or body framing (RFC 9112) */
    FLOW_REFUSED_NO_PAGE,        /* 404: httpeek's own site has no such page */
    FLOW_REFUSED_TARGET_LIMIT,   /* 414: --max-request-line */
    FLOW_REFUSED_HEAD_LIMIT,     /* 431: --max-header-line, --max-header-bytes, --max-headers */
    FLOW_REFUSED_HEADER_TIMEOUT, /* 408: --header-timeout */
    FLOW_REFUSED_CLIENT,         /* 403: client address outside --allow-client */
    FLOW_REFUSED_BUSY,           /* 503: --max-connections reached */
    FLOW_REFUSED_CLIENT_BUSY,    /* 503: --max-client-connections reached by this client */
    FLOW_REFUSED_MISDIRECTED,    /* 421: an HTTP/2 request for a name the connection's leaf does
                                  * not cover (coalescing, RFC 9110 §15.5.20) */
};

/* Raw failure facts; failed == 0 for a successful exchange. */
struct flow_failure {
    int failed;               /* 1 when the exchange did not complete */
    enum flow_stage stage;    /* where it failed */
    int sys_errno;            /* errno of a socket failure, 0 if none */
    int dns_error;            /* EVUTIL_EAI_* of a resolution failure, 0 if none */
    int timeout;              /* 1 when a deadline fired */
    int status_sent;          /* status httpeek answered the client with (502, 504, 400...) or 0 */
    char closed_by[8];        /* "client" / "server" when a peer closed early, else "" */
    const char *parse_error;  /* llhttp_errno_name of a parse error, or NULL (static string) */
    char reason[256];         /* one short human line: "connect: Connection refused" */
    int refusal;              /* enum flow_refusal: httpeek answered the request itself */
};

/* One address tried while connecting (Happy Eyeballs, RFC 8305), in the order started. */
#define FLOW_MAX_ATTEMPTS 8
struct flow_attempt {
    char addr[48];            /* IP address */
    int family;               /* 4 or 6 */
    char outcome[12];         /* "connected", "refused", "unreachable", "timeout", "cancelled", "error" */
    unsigned ms;              /* from its start to its outcome */
};
struct flow_attempts {
    int n;
    struct flow_attempt a[FLOW_MAX_ATTEMPTS];
};


/* What warnings.c learned from a finished exchange's response body (bounded work: see
 * warnings.h), kept so that the warnings computed on the worker (record_flow) and again by
 * the store's JSON writer scan the body once. Filled on first use by the thread that holds the
 * flow; all zero (not done) from flow_new. */
struct flow_checks {
    unsigned char done;        /* 1 once filled */
    unsigned char body;        /* enum warnings_body: what the JSON check found */
    unsigned char encoding;    /* enum warnings_enc: does the body match its Content-Encoding */
    unsigned char json_byte;   /* the byte where the JSON breaks */
    unsigned char json_at_end; /* 1 when it breaks at the end (the text stops early) */
    uint32_t json_at;          /* its offset in the decoded body (0-based) */
    uint32_t json_line, json_col; /* and its line and column (1-based) */
    const char *json_why;      /* static: what NSJSONSerialization says there */
    uint32_t hls_uris;         /* URIs checked in a playlist (0: not a playlist) */
    uint32_t hls_bad, hls_clear;           /* unsupported or malformed URIs; http:// URIs */
    uint32_t hls_bad_line, hls_clear_line; /* line of the first of each (1-based) */
    char hls_bad_uri[96], hls_clear_uri[96]; /* the first of each, cut */
    unsigned char kinds_set;   /* 1 once kinds was written (warnings_remember) */
    const char *kinds[4];      /* kind of each of warn_codes ("ats", "status", ...), static */
};

/* A rule that touched a flow (ruleset.h): which, what it did, and what it changed. */
#define FLOW_MAX_RULE_HITS 8
struct flow_rule_hit {
    char id[64];
    char action[16];          /* "map_local", "map_remote", "block", "rewrite" */
    char detail[512];         /* one line: "file /srv/a.json (200)", "sent to https://..." */
    int changed;              /* a rewrite: before / after hold the changed value */
    char before[256], after[256];
};
struct flow_rule_hits {
    int n;
    struct flow_rule_hit hit[FLOW_MAX_RULE_HITS];
    char *sent_path;          /* map remote: the path and query sent instead (owned), or NULL */
    void *rewrite;            /* rewrite rules' state for the response (rule_rewrite.c; owned,
                               * freed with rewrite_free), or NULL */
    void (*rewrite_free)(void *rewrite);
    char throttle[24];        /* a throttle rule shaped it: its profile ("3g"), else "" */
    unsigned throttled_ms;    /* ... and the delay it added (latency, DNS delay), in ms */
};

/* Monotonic microsecond marks; 0 = did not happen. HAR phases are derived in flow_done. */
struct flow_marks {
    uint64_t start;         /* request head began (or CONNECT received) */
    uint64_t dns_start, dns_end;
    uint64_t connect_start, connect_end;
    uint64_t tls_start, tls_end;
    uint64_t send_start, send_end;  /* request head written / request body complete */
    uint64_t first_byte;            /* first byte of the response head */
    uint64_t end;                   /* response complete or failure */
};

/* HAR timings in milliseconds (-1 where a phase did not happen, HAR 1.2 §timings). */
struct flow_timings {
    double blocked, dns, connect, ssl, send, wait, receive, total;
};

/* Bytes of URL kept inside the flow's own block (longer ones get a heap copy). */
#define FLOW_URL_ROOM 256

struct flow {
    uint64_t id;                /* process-unique, increasing in the order flows are recorded
                                   (0 until then): the numbers a user sees have no gaps */
    uint64_t conn_id;           /* client connection it came on */
    enum flow_kind kind;
    char client_addr[64];       /* client IP (no port) */
    int client_port;
    char scheme[8];             /* "http" or "https" ("" for tunnels) */
    char host[256];             /* upstream host as requested */
    int port;                   /* upstream port */
    char server_ip[64];         /* address actually connected to */
    struct flow_attempts connect_attempts; /* addresses tried for this flow's connect (n 0: none) */
    char *url;                  /* absolute URL (owned: url_room, or a heap copy when longer);
                                 * "host:port" for tunnels. Set with flow_set_url only. */
    int reused_upstream;        /* 1 when the upstream connection was reused */
    struct http1_head *req;     /* request head (owned), NULL for tunnels */
    struct http1_head *resp;    /* final response head (owned), NULL if none */
    struct http1_head *req_trailers, *resp_trailers; /* trailer sections (owned; fields only,
                                   trailers.h), NULL when none arrived */
    struct flow_capture req_body, resp_body;
    uint64_t bytes_up, bytes_down;  /* tunnel bytes client→server, server→client; for an HTTP
                                       exchange (set by flow_done) its request head + body and
                                       response head + body */
    struct timeval started;     /* wall clock of marks.start */
    struct flow_marks marks;
    struct flow_timings timings;    /* filled by flow_done */
    const struct flow_tls *tls_client, *tls_upstream; /* TLS facts of each leg: never NULL
                                   (flow_tls_none until set); read-only (see flow_tls_shared) */
    struct flow_tls_shared *tls_ref[2]; /* the references behind them, [0] client, [1] upstream
                                   (NULL while they point at flow_tls_none) */
    struct flow_failure fail;
    char note[256];             /* free text shown with the flow (e.g. "tunnel not intercepted") */
    int no_request_after_tls;   /* client finished our TLS handshake, then closed without a request */
    unsigned device_trusted;    /* for a refusal of our certificate: requests this device had sent
                                   through intercepted tunnels before (it trusts the CA) */
    unsigned app_trusted;       /* of those, from the app that refused (same User-Agent product) */
    int warn_codes[4];          /* codes of its first warnings, for the terminal line: set by the store,
                                   which computes them once with the flow's JSON (0 = a note) */
    int nwarn;
    int own;                    /* a request for httpeek's own pages, recorded (--record-own) */
    int32_t h2_stream_id;       /* HTTP/2: the client's stream id (0: the client spoke HTTP/1) */
    int32_t h2_upstream_stream_id; /* HTTP/2: the stream id towards the server (0: HTTP/1 or
                                   none sent; the last one when retried) */
    char proxy_addr[72];        /* "ip:port" of httpeek as the client reached it ("" unknown):
                                   what a refusal's advice names as the proxy to set */
    int diag_code;              /* NSURLErrorDomain code the app saw (0 = none), set by diagnose;
                                   for httpeek's own HTTP refusals the status (domain "HTTP") */
    const char *diag_name;      /* its name, static string, or NULL */
    struct flow_checks checks;  /* app-level body facts and warning kinds (warnings.c) */
    struct flow_rule_hits *rules; /* rules that touched it (owned), or NULL: none */
    uint64_t replay_of;         /* sent by httpeek repeating flow #replay_of (replay.c), else 0 */
    int composed;               /* sent by httpeek for POST /api/requests (replay.c) */
    char *breakpoints;          /* its pauses at breakpoints: the "_breakpoints" JSON array text
                                   (breakpoint_apply.c; owned), or NULL: none */
    char url_room[FLOW_URL_ROOM]; /* a usual URL lives here, no block of its own. Keep it the
                                   * last member: flow_new zeroes only what comes before it */
};

/* Called with each finished flow; takes ownership (frees with flow_free when done). */
typedef void (*flow_sink_fn)(struct flow *flow, void *arg);

/* Current monotonic time in microseconds. */
uint64_t flow_now_us(void);

/* New flow with id, capture limit max_body for both bodies; marks.start and started set now.
 * Returns NULL on OOM. Caller frees with flow_free or hands it to flow_done. */
struct flow *flow_new(uint64_t id, uint64_t conn_id, size_t max_body) HP_WUNRES;

/* Free a flow and all it owns. NULL allowed. */
void flow_free(struct flow *f);

/* Bytes of memory f holds (struct, heads, captured bodies): what a queued flow costs. */
size_t flow_mem_size(const struct flow *f) HP_NONNULL(1);


/* Point f's client (upstream = 0) or upstream leg's TLS facts at s, taking a reference of its
 * own (the caller keeps its). */
void flow_set_tls(struct flow *f, int upstream, struct flow_tls_shared *s) HP_NONNULL(1, 3);

/* A writable copy of one leg's TLS facts that only f refers to (made from the current ones when
 * they are shared or flow_tls_none): for code and tests that build a flow's facts by hand.
 * NULL on OOM (the facts stay as they were). */
struct flow_tls *flow_tls_edit(struct flow *f, int upstream) HP_NONNULL(1);

/* Record a failure (first one wins): stage, errno (0 if none) and a reason line. */
void flow_fail(struct flow *f, enum flow_stage stage, int sys_errno, const char *fmt, ...)
    HP_NONNULL(1) HP_PRINTF(4, 5);

/* Note that rule id did action to f (detail: printf); silently dropped past FLOW_MAX_RULE_HITS
 * or out of memory. */
void flow_rule_hit(struct flow *f, const char *id, const char *action, const char *fmt, ...)
    HP_NONNULL(1, 2, 3) HP_PRINTF(4, 5);

/* Set the flow's URL (copied). */
void flow_set_url(struct flow *f, const char *url) HP_NONNULL(1, 2);

/* Compute timings, print the terminal line to out (if not NULL), and pass f to sink
 * (or free it when sink is NULL). f must not be used afterwards. */
void flow_done(struct flow *f, FILE *out, flow_sink_fn sink, void *sink_arg) HP_NONNULL(1);

/* Write the one-line summary ("12:01:02 127.0.0.1 GET https://h/x 200 1.0kB 84ms") into buf. */
void flow_format_line(const struct flow *f, char *buf, size_t buflen) HP_NONNULL(1, 2);

#endif
