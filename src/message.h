/* message.h — the protocol-neutral message head: what one request or response says (method as
 * text, scheme, authority, path, status, version, fields, trailers, HTTP/2 stream id), whichever
 * wire protocol carried it; plus the HTTP/2 <-> HTTP/1.1 mapping rules (RFC 9113 §8.2, §8.3).
 *
 * Ownership: a head owns every string it points to (an arena of fixed blocks, so pointers never
 * move while the head grows); message_head_clear releases them. No threads, no I/O: a head is
 * used by one thread at a time, like struct http1_head. */
#ifndef HTTPEEK_MESSAGE_H
#define HTTPEEK_MESSAGE_H

#include <stddef.h>
#include <stdint.h>
#include "attrib.h"

struct http1_head;

struct message_field {
    const char *name;  /* NUL-terminated; HTTP/2 heads hold lower-case names */
    const char *value; /* NUL-terminated */
    size_t name_len, value_len;
};

struct message_arena_block; /* message.c */

/* One request or response head. Strings are "" when absent, never NULL. */
struct message_head {
    int is_request;                  /* 1 request, 0 response */
    const char *method;              /* request method token ("GET"); "" in responses */
    const char *scheme;              /* "https", "http" (requests, "" when not known) */
    const char *authority;           /* host[:port] (requests: :authority or Host) */
    const char *path;                /* origin-form path + query ("*" for OPTIONS *) */
    int status;                      /* response status code; 0 in requests */
    int major, minor;                /* HTTP version: 2.0 for HTTP/2, 1.1 ... */
    int32_t stream_id;               /* HTTP/2 stream, 0 for HTTP/1 */
    int end_stream;                  /* 1 when the head ended the message: no body follows */
    int64_t content_length;          /* Content-Length when given and valid, -1 otherwise */
    int content_length_bad;          /* a Content-Length that is not a number, or two that differ */
    struct message_field *fields;    /* regular header fields in order (no pseudo-headers) */
    size_t nfields, fields_cap;
    struct message_field *trailers;  /* trailer fields in order */
    size_t ntrailers, trailers_cap;
    size_t field_bytes;              /* RFC 9113 §6.5.2 list size: sum of name + value + 32
                                      * (pseudo-headers too when received over HTTP/2) */
    size_t wire_size;                /* bytes of the head on the wire (HTTP/2: its HEADERS and
                                      * CONTINUATION frames, HPACK-compressed); 0 when unknown */
    struct message_arena_block *arena; /* owned string storage */
};

/* Prepare an empty head (no allocation). Never fails. */
void message_head_init(struct message_head *h, int is_request) HP_NONNULL(1);

/* Release everything h owns and leave it empty (as after message_head_init). */
void message_head_clear(struct message_head *h) HP_NONNULL(1);

/* Empty h as message_head_clear does, but keep its first arena block and a fields array of a
 * usual size for the next head (a connection's scratch head: no allocation per header block);
 * a big string's block, a large fields array and the trailers go back. */
void message_head_reset(struct message_head *h) HP_NONNULL(1);

/* Move src into dst (dst must be empty or cleared; src is left empty). */
void message_head_move(struct message_head *dst, struct message_head *src) HP_NONNULL(1, 2);

/* Copy len bytes of s into h's arena, NUL-terminated; NULL on OOM. */
const char *message_strdup(struct message_head *h, const char *s, size_t len) HP_NONNULL(1);

/* Set a pseudo-header value (copied). Return 0, -1 on OOM. */
int message_set_method(struct message_head *h, const char *s, size_t len) HP_NONNULL(1, 2);
int message_set_scheme(struct message_head *h, const char *s, size_t len) HP_NONNULL(1, 2);
int message_set_authority(struct message_head *h, const char *s, size_t len) HP_NONNULL(1, 2);
int message_set_path(struct message_head *h, const char *s, size_t len) HP_NONNULL(1, 2);

/* Append a header field (or a trailer field) as given (copied). Return 0, -1 on OOM. Updates
 * content_length when the field is a valid Content-Length (a second, different one makes it -1
 * and is reported by message_h2_check). */
int message_add_field(struct message_head *h, const char *name, size_t name_len,
                      const char *value, size_t value_len) HP_NONNULL(1, 2, 4);
int message_add_trailer(struct message_head *h, const char *name, size_t name_len,
                        const char *value, size_t value_len) HP_NONNULL(1, 2, 4);

/* message_add_field without the copy, for a head made only to be passed on at once (an HTTP/1
 * head sent over HTTP/2): name and value (NUL-terminated) are borrowed and must outlive h's use. */
int message_add_field_borrowed(struct message_head *h, const char *name, size_t name_len,
                               const char *value, size_t value_len) HP_NONNULL(1, 2, 4);

/* First value of field name (case-insensitive), or NULL; borrowed from h. */
const char *message_get(const struct message_head *h, const char *name) HP_NONNULL(1, 2);

/* ---- HTTP/2 header blocks (RFC 9113 §8.2, §8.3) ---- */

/* Receiving side: add one field of a received HTTP/2 header block to h (pseudo-headers set the
 * head's members, regular fields go to fields, or to trailers when trailers is 1). Returns NULL
 * when accepted, else a static reason naming the rule the field broke ("pseudo-header after
 * regular field", "connection-specific field: connection", "upper-case field name", ...). */
const char *message_h2_add(struct message_head *h, const char *name, size_t name_len,
                           const char *value, size_t value_len, int trailers) HP_NONNULL(1, 2, 4);

/* Receiving side, at the end of a header block: required pseudo-headers present (requests:
 * :method, and :scheme + :path unless CONNECT; responses: :status), method a token, path
 * non-empty, Content-Length consistent. NULL when fine, else a static reason. */
const char *message_h2_check(const struct message_head *h) HP_NONNULL(1);

/* 1 when name (any case) is a connection-specific field HTTP/2 forbids (RFC 9113 §8.2.2):
 * Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade. */
int message_is_connection_field(const char *name, size_t len) HP_NONNULL(1);

/* Sending side: make dst (empty) the HTTP/2 form of src: names lower-cased; connection-specific
 * fields and the fields Connection names dropped; TE kept only as "trailers"; Host moved to
 * :authority (when src has no authority); Cookie split into crumbs (RFC 9113 §8.2.3); version
 * 2.0. Returns 0, -1 on OOM. */
int message_to_h2(const struct message_head *src, struct message_head *dst) HP_NONNULL(1, 2);

/* message_to_h2's fields without copying them, for a sender that only passes them on (h2_common's
 * header lists): message_h2_fields_max gives how many fields (trailers when trailers is 1) the
 * HTTP/2 form of src can have at most and, in *name_bytes, the scratch a lower-cased copy of
 * every name would take; message_h2_fields fills out (that many entries) with them, borrowed
 * from src (names already lower-case, values, crumbs: not NUL-terminated, value_len says where
 * they end), from scratch (names that had upper case) or static, and returns the count. */
size_t message_h2_fields_max(const struct message_head *src, int trailers, size_t *name_bytes)
    HP_NONNULL(1, 3);
size_t message_h2_fields(const struct message_head *src, int trailers, struct message_field *out,
                         char *scratch) HP_NONNULL(1, 3);

/* The :authority of src's HTTP/2 form (borrowed): its authority, or a request's Host field. */
const char *message_h2_authority(const struct message_head *src) HP_NONNULL(1);

/* ---- HTTP/1.1 heads (struct http1_head, read by flow, HAR and diagnose) ---- */

/* Make a new heap http1_head (free with http1_head_free) from m: method from its text, target =
 * path (authority for CONNECT), a Host field first from :authority when m has none, Cookie
 * crumbs joined with "; ", trailers not included, framing from content_length / end_stream,
 * wire_size from m (field_bytes when m has none),
 * version from m (2.0 stays 2.0, so HAR says HTTP/2.0; no reason phrase then). NULL on OOM, or with *why set (static)
 * when m cannot be represented (a method llhttp does not know). */
struct http1_head *message_to_http1(const struct message_head *m, const char **why) HP_NONNULL(1);

/* message_to_http1's head, not copied to the heap: built on the stack and lent to use(arg, h) for
 * the call, which may move it away with http1_head_take (its one copy into a heap block) or
 * only read it. *used is what use returned. Returns 0, or -1 without calling use: *why set as
 * message_to_http1's, or NULL on OOM. */
int message_to_http1_lend(const struct message_head *m, const char **why,
                          int (*use)(void *arg, struct http1_head *h), void *arg, int *used)
    HP_NONNULL(1, 2, 3, 5);

/* message_to_http1 for the record of a request received over HTTP/2 (front_h2.c): the
 * pseudo-headers first as fields (":method", ":scheme", ":authority", ":path", as the client sent
 * them, as Chrome's HAR shows them), then m's fields, version 2.0, and no Host made up from
 * :authority (the uplink writes one; HTTP/1 writers skip fields whose name starts with ':').
 * NULL on OOM (*why NULL) or as message_to_http1. */
struct http1_head *message_to_http1_recorded(const struct message_head *m, const char **why)
    HP_NONNULL(1, 2);

/* Fill m (empty) from an HTTP/1 head: method text, path from the target (an absolute-form target
 * gives scheme and authority too), authority from Host otherwise, scheme when given (may be
 * NULL), every field as received, version. Returns 0, -1 on OOM. */
int message_from_http1(struct message_head *m, const struct http1_head *h, const char *scheme)
    HP_NONNULL(1, 2);

#endif
