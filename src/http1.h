/* http1.h — HTTP/1.x on top of llhttp: parse heads into struct http1_head, stream body events,
 * and serialize heads for the other leg with hop-by-hop headers removed (RFC 9110 §7.6.1).
 *
 * Bodies are re-framed, not copied byte for byte: on_body hands out de-chunked data, and the
 * forwarder writes it with http1_write_body in the framing it chose for the other leg. This keeps
 * the framing we emit unambiguous whatever the peer sent (no smuggling through us); chunk
 * extensions are dropped; a chunked message's trailer fields go to on_trailers, and trailers.h
 * writes them back in a chunked trailer section. */
#ifndef HTTPEEK_HTTP1_H
#define HTTPEEK_HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include <event2/buffer.h>
#include <llhttp.h>
#include "attrib.h"

/* Largest request or response head we accept (bytes of spans kept). */
#define HTTP1_MAX_HEAD_BYTES (64 * 1024)
/* Most header fields in one head. */
#define HTTP1_MAX_HEADERS 200
/* Longest request-target (bytes). */
#define HTTP1_MAX_TARGET (16 * 1024)
/* Longest single header line (name + value, bytes). */
#define HTTP1_MAX_FIELD_LINE (16 * 1024)

/* Which limit a head broke (parser->limit after HTTP1_FEED_ERROR); a proxy answers a request
 * with 414 for HTTP1_LIMIT_TARGET and 431 for the others (RFC 9110 §15.5.15, RFC 6585 §5). */
enum http1_limit {
    HTTP1_LIMIT_NONE,
    HTTP1_LIMIT_TARGET,     /* request-target longer than max_target */
    HTTP1_LIMIT_FIELD_LINE, /* one header line longer than max_field_line */
    HTTP1_LIMIT_HEAD,       /* whole head longer than max_head */
    HTTP1_LIMIT_FIELDS,     /* more than max_fields header fields */
};

/* Size limits of one parser (bytes, except max_fields). */
struct http1_limits {
    size_t max_target;      /* request-target (or reason phrase) */
    size_t max_field_line;  /* one header field: name + value */
    size_t max_head;        /* all of the head's strings together */
    size_t max_fields;      /* number of header fields */
};

/* How a message body is delimited on the wire (RFC 9112 §6.3). */
enum http1_framing {
    HTTP1_NO_BODY,   /* no body at all (GET without length, HEAD/1xx/204/304 responses) */
    HTTP1_LENGTH,    /* Content-Length bytes */
    HTTP1_CHUNKED,   /* chunked transfer coding */
    HTTP1_UNTIL_EOF, /* response delimited by the connection close */
};

struct http1_field {
    const char *name;  /* NUL-terminated, as received (case kept) */
    const char *value; /* NUL-terminated, as received (surrounding whitespace trimmed by llhttp) */
};

/* One parsed request or response head. Strings point into buf; all owned by the head. */
struct http1_head {
    int is_request;               /* 1 request, 0 response */
    int method;                   /* llhttp_method_t (requests) */
    const char *target;           /* request-target as sent (requests), "" otherwise */
    int status;                   /* status code (responses) */
    const char *reason;           /* reason phrase (responses), "" otherwise */
    int major, minor;             /* HTTP version */
    struct http1_field *fields;   /* header fields in order (duplicates and case kept) */
    size_t nfields;
    enum http1_framing framing;   /* body delimitation */
    uint64_t content_length;      /* when framing == HTTP1_LENGTH */
    int keep_alive;               /* llhttp_should_keep_alive at the end of the head */
    int upgrade;                  /* request carries Upgrade / response is 101, or CONNECT */
    size_t wire_size;             /* bytes of the head on the wire (start line + fields + CRLFs) */
    char *buf;                    /* owned storage of all strings */
    size_t buf_len, buf_cap;
    struct http1_span *spans;     /* parse-time offsets, converted to fields at head end */
    size_t nspans, spans_cap;
    size_t fields_cap;            /* a parser's head: room in fields (kept between messages) */
    int packed;                   /* 1: fields and buf live in this head's own block
                                   * (http1_head_take): freed with it, never on their own */
};

/* What the owner of a parser is told. Return 0 to go on; -1 aborts parsing with HPE_USER.
 * on_head may return 1 to say "this response has no body" (answer to HEAD, RFC 9110 §9.3.2).
 * on_head receives the parser's head: the callee may move it away with http1_head_take.
 * on_done returning 0 pauses the parser after the message (pipelined input stays buffered
 * until http1_parser_resume). */
struct http1_handlers {
    int (*on_head)(void *arg, struct http1_head *head);
    int (*on_body)(void *arg, const char *data, size_t len);
    int (*on_done)(void *arg);
    /* A chunked message's trailer section (fields borrowed for the call), just before on_done;
     * NULL: dropped. */
    int (*on_trailers)(void *arg, const struct http1_field *fields, size_t n);
};

struct http1_parser {
    llhttp_t llhttp;                       /* the llhttp state machine */
    struct http1_head head;                /* head being parsed */
    const struct http1_handlers *handlers; /* owner callbacks (borrowed) */
    void *arg;                             /* owner callback argument */
    int in_body;                           /* head delivered: field spans are trailers now */
    size_t cur_start;                      /* offset in head.buf of the string being received */
    size_t start_len;                      /* bytes of the start-line string in head.buf */
    struct http1_head trailer;             /* trailer fields being received (buf and spans only) */
    size_t trailer_start;                  /* offset in trailer.buf of the string being received */
    uint64_t body_bytes;                   /* de-chunked body bytes of the current message */
    const char *error;                     /* reason of the last HTTP1_ERROR (static or llhttp's) */
    const char *error_name;                /* llhttp_errno_name of the last error */
    const char *user_error;                /* reason given by our own callbacks (static), or NULL */
    size_t error_offset;                   /* bytes into the fed data where the error was found */
    struct http1_limits limits;            /* size limits (HTTP1_MAX_* unless set) */
    enum http1_limit limit;                /* the limit an HTTP1_FEED_ERROR broke, or NONE */
    uintptr_t feed_base, feed_end;         /* the bytes of the llhttp_execute running now */
    uintptr_t prev_feed_end;               /* end of the previous one */
    uintptr_t value_end;                   /* end of the last piece of the current header value */
};

enum http1_feed_result {
    HTTP1_FEED_MORE,    /* all input consumed, waiting for more */
    HTTP1_FEED_PAUSED,  /* a message ended and the parser paused; the rest stays in the buffer */
    HTTP1_FEED_UPGRADE, /* CONNECT or protocol upgrade: the rest stays in the buffer, raw bytes */
    HTTP1_FEED_ERROR,   /* invalid message: see parser->error, error_name, error_offset */
};

/* Prepare a parser for requests (is_request 1) or responses. Never fails. */
void http1_parser_init(struct http1_parser *p, int is_request, const struct http1_handlers *h,
                       void *arg) HP_NONNULL(1, 3);

/* Replace the parser's size limits (a zero field keeps its current value). */
void http1_parser_set_limits(struct http1_parser *p, const struct http1_limits *l) HP_NONNULL(1, 2);

/* Request-target of the head being parsed (what arrived so far when its start line is not
 * complete), or NULL; borrowed until the parser goes on (to record a request that broke a limit). */
const char *http1_parser_target(struct http1_parser *p) HP_NONNULL(1);

/* Release what the parser holds. */
void http1_parser_free(struct http1_parser *p) HP_NONNULL(1);

/* Run the parser over in and drain what it consumed. */
enum http1_feed_result http1_feed(struct http1_parser *p, struct evbuffer *in) HP_NONNULL(1, 2);

/* Tell the parser the peer closed: ends an until-EOF body (on_done runs). Returns
 * HTTP1_FEED_MORE when the close was a clean message boundary, HTTP1_FEED_ERROR otherwise. */
enum http1_feed_result http1_finish(struct http1_parser *p) HP_NONNULL(1);

/* Let a paused parser go on with the next message. */
void http1_parser_resume(struct http1_parser *p) HP_NONNULL(1);

/* 1 when the parser is between messages (nothing of a new message consumed yet). */
int http1_parser_idle(const struct http1_parser *p) HP_NONNULL(1);

/* The connection is idle: give back the head scratch the parser keeps between messages (~1 KiB:
 * strings, spans, fields; S5, memory per idle tunnel). A no-op while part of a head is held; the
 * next message allocates it again. */
void http1_parser_release_scratch(struct http1_parser *p) HP_NONNULL(1);

/* Copy src into a new heap head, one block holding the head, its fields and its strings (src is
 * reset; a parser keeps its scratch buffers for the next message). Returns NULL on OOM (src is
 * then untouched). Free with http1_head_free: one free(). */
struct http1_head *http1_head_take(struct http1_head *src) HP_NONNULL(1) HP_WUNRES;

/* A copy of src in one heap block as http1_head_take makes (src untouched: it may live on the
 * stack). Returns NULL on OOM. Free with http1_head_free. */
struct http1_head *http1_head_pack(const struct http1_head *src) HP_NONNULL(1) HP_WUNRES;

/* Free a heap head (http1_head_take, message_to_http1, trailers). NULL allowed. */
void http1_head_free(struct http1_head *h);

/* First value of header name (case-insensitive), or NULL; borrowed from h. */
const char *http1_head_get(const struct http1_head *h, const char *name) HP_NONNULL(1, 2);

/* 1 when any Connection header of h lists token (case-insensitive). */
int http1_connection_has(const struct http1_head *h, const char *token) HP_NONNULL(1, 2);

/* Flags for the head writers. */
#define HTTP1_KEEP_UPGRADE 0x1  /* forward Upgrade + "Connection: upgrade" (WebSocket) */
#define HTTP1_CLOSE        0x2  /* add "Connection: close" */
#define HTTP1_KEEP_ALIVE   0x4  /* add "Connection: keep-alive" (HTTP/1.0 peers) */
#define HTTP1_STRIP_ALT_SVC 0x8 /* drop Alt-Svc: an app told of HTTP/3 would leave the proxy */

/* Append "METHOD target HTTP/1.1" and the end-to-end fields of h to out, framed as framing
 * says (Content-Length or Transfer-Encoding re-emitted to match). host, when not NULL, replaces
 * every Host field (RFC 9112 §3.2.2: a proxy sets Host from an absolute-form target).
 * Returns 0, -1 on OOM. */
int http1_write_request_head(struct evbuffer *out, const struct http1_head *h, const char *target,
                             const char *host, enum http1_framing framing, unsigned flags)
    HP_NONNULL(1, 2, 3);

/* Append "HTTP/1.1 status reason" and the end-to-end fields of h, framed as framing says. */
int http1_write_response_head(struct evbuffer *out, const struct http1_head *h,
                              enum http1_framing framing, unsigned flags) HP_NONNULL(1, 2);

/* Append body bytes in framing (chunked: one chunk). Returns 0, -1 on OOM. */
int http1_write_body(struct evbuffer *out, enum http1_framing framing, const char *data, size_t len)
    HP_NONNULL(1);

/* Append the end of a body in framing (chunked: last-chunk and empty trailer). */
int http1_write_end(struct evbuffer *out, enum http1_framing framing) HP_NONNULL(1);

/* Append a whole proxy-generated response (e.g. a 502 with a reason as text/plain). */
int http1_write_simple_response(struct evbuffer *out, int status, const char *reason,
                                const char *content_type, const char *body, size_t body_len,
                                int close) HP_NONNULL(1, 3);

/* Standard reason phrase of a status code ("" when unknown). */
const char *http1_reason(int status);

#endif
