/* flow_detail.c — see flow_detail.h. The detail's members are one walk (walk_detail) run in one
 * of three modes: JSON (values read from the flow, written as JSON text), PACK (values read from
 * the flow, appended to a record) and EMIT (values read from a record, written as JSON text). In
 * EMIT there is no flow: every value the walk names is an expression evaluated only when LIVE (the
 * W_* macros), and every branch or count of the detail is a W_FLAG / W_COUNT, which PACK records
 * and EMIT reads back, so both modes take the same path through the members.
 *
 * Record values: a string is a varint length and its bytes (C strings: no NUL inside), an integer
 * a zigzag varint, a duration the 8 bytes of its double (exact), a bool or flag one byte 0/1. */
#include "flow_detail.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diagnose.h"
#include "flow_json_write.h"
#include "flow_words.h"

enum walk_mode { WALK_JSON, WALK_PACK, WALK_EMIT };

struct walk {
    enum walk_mode mode;
    struct flow_json_text *out;   /* JSON text (JSON, EMIT) or record bytes (PACK) */
    const unsigned char *p, *end; /* EMIT: the record left to read */
    int bad;                      /* EMIT: the record ended early or holds a bad value */
    /* PACK: where the next byte goes in out->buf and the end of its room (out->len is set when
     * the walk ends). Kept here, in the pack's own local walk, rather than read through out:
     * the compiler holds them in registers across the strlen and memcpy calls, where out's
     * members would be loaded again after each (~1k instructions a flow). NULL after OOM. */
    char *o, *lim;
};

/* The flow is there to read (JSON, PACK); text is being written (JSON, EMIT). */
#define LIVE(w) ((w)->mode != WALK_EMIT)
#define TEXT(w) ((w)->mode != WALK_PACK)
/* A pointer into the flow, NULL in EMIT (where nothing is read through it). */
#define LP(w, ptr) (LIVE(w) ? (ptr) : NULL)

/* ------------------------------------------------------------------------------------------ */
/* Record bytes */

/* The record writers are inlined at each value of the walk: the store packs every flow, and
 * a call per value was most of what packing cost. HTTPEEK_NO_FORCE_INLINE (the libFuzzer build,
 * tests/fuzz/meson.build, and scripts/test.sh's ASan build) leaves inlining to the compiler:
 * forcing every writer into the walks took clang with ASan, UBSan and coverage 76 s for this file
 * alone (1.8 s without), gcc -O0 with ASan 23 s (0.9 s), and where code is inlined changes
 * nothing the sanitizers or the fuzzer check. */
#ifdef HTTPEEK_NO_FORCE_INLINE
#define FORCE_INLINE
#else
#define FORCE_INLINE __attribute__((always_inline))
#endif
#define PUT static inline FORCE_INLINE

/* Room for more bytes at w->o: grows out (its len brought up to date first); 0 on OOM, when o
 * and lim become NULL (so every later put comes here and writes nothing). */
static __attribute__((noinline)) int pack_room(struct walk *w, size_t more)
{
    struct flow_json_text *out = w->out;
    if (!w->o)
        return 0;
    out->len = (size_t)(w->o - out->buf);
    reserve(out, more);
    if (out->oom) {
        w->o = w->lim = NULL;
        return 0;
    }
    w->o = out->buf + out->len;
    w->lim = out->buf + out->cap;
    return 1;
}

/* Room for more bytes, inlined: a compare of two registers while there is */
#define PACK_ROOM(w, more) \
    (__builtin_expect((size_t)((w)->lim - (w)->o) >= (more), 1) || pack_room((w), (more)))

PUT void put_bytes(struct walk *w, const void *s, size_t n)
{
    if (!PACK_ROOM(w, n))
        return;
    memcpy(w->o, s, n);
    w->o += n;
}

/* v as 7 bits per byte, low first, the high bit set on all but the last, at o (room for 10). */
PUT char *varint_at(char *o, uint64_t v)
{
    while (v >= 0x80) {
        *o++ = (char)(v | 0x80);
        v >>= 7;
    }
    *o++ = (char)v;
    return o;
}

PUT void put_varint(struct walk *w, uint64_t v)
{
    if (PACK_ROOM(w, 10))
        w->o = varint_at(w->o, v);
}

/* A string: its length, then its bytes, in one reservation. */
PUT void put_str(struct walk *w, const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (!PACK_ROOM(w, n + 10))
        return;
    char *p = varint_at(w->o, n);
    if (n)
        memcpy(p, v, n);
    w->o = p + n;
}

PUT void put_byte(struct walk *w, int b)
{
    if (PACK_ROOM(w, 1))
        *w->o++ = (char)b;
}

static uint64_t get_varint(struct walk *w)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (w->p >= w->end) {
            w->bad = 1;
            return 0;
        }
        unsigned char b = *w->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    w->bad = 1;
    return 0;
}

static long long get_int(struct walk *w)
{
    uint64_t z = get_varint(w);
    return (long long)(z >> 1) ^ -(long long)(z & 1);
}

PUT void put_int(struct walk *w, long long v)
{
    put_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static int get_byte(struct walk *w)
{
    if (w->p >= w->end) {
        w->bad = 1;
        return 0;
    }
    return *w->p++;
}

/* The next string's bytes (inside the record) and length; "" once the record is bad. */
static const char *get_str(struct walk *w, size_t *n)
{
    uint64_t len = get_varint(w);
    if (w->bad || len > (uint64_t)(w->end - w->p)) {
        w->bad = 1;
        *n = 0;
        return "";
    }
    const char *s = (const char *)w->p;
    w->p += len;
    *n = (size_t)len;
    return s;
}

/* ------------------------------------------------------------------------------------------ */
/* The walk's values: k is the member's key, NULL for a value in an array or one without key */

#define WALKER static inline FORCE_INLINE

WALKER void w_str(struct walk *w, const char *k, const char *v)
{
    if (w->mode == WALK_PACK) {
        put_str(w, v);
        return;
    }
    if (k)
        key(w->out, k);
    if (w->mode == WALK_JSON) {
        str(w->out, v);
        return;
    }
    size_t n;
    const char *s = get_str(w, &n);
    str_n(w->out, s, n);
}

WALKER void w_int(struct walk *w, const char *k, long long v)
{
    if (w->mode == WALK_PACK) {
        put_int(w, v);
        return;
    }
    if (w->mode == WALK_EMIT)
        v = get_int(w);
    if (k) {
        kint(w->out, k, v);
        return;
    }
    char num[24];
    char *p = decimal(num + sizeof num, v);
    raw(w->out, p, (size_t)(num + sizeof num - p));
}

/* A flag the walk branches on (a bool member is one written as such): returns it. */
WALKER int w_flag(struct walk *w, int v)
{
    if (w->mode == WALK_PACK)
        put_byte(w, v != 0);
    else if (w->mode == WALK_EMIT) {
        int b = get_byte(w);
        if (b > 1)
            w->bad = 1;
        v = b == 1;
    }
    return v;
}

WALKER void w_bool(struct walk *w, const char *k, int v)
{
    v = w_flag(w, v);
    if (TEXT(w))
        kbool(w->out, k, v);
}

WALKER size_t w_count(struct walk *w, size_t n)
{
    if (w->mode == WALK_PACK)
        put_varint(w, n);
    else if (w->mode == WALK_EMIT) {
        uint64_t c = get_varint(w);
        /* every item takes a byte at least: more than the bytes left is a bad record */
        if (c > (uint64_t)(w->end - w->p)) {
            w->bad = 1;
            c = 0;
        }
        n = (size_t)c;
    }
    return n;
}

WALKER void w_ms(struct walk *w, const char *k, double v)
{
    if (w->mode == WALK_PACK) {
        put_bytes(w, &v, sizeof v);
        return;
    }
    if (w->mode == WALK_EMIT) {
        if ((size_t)(w->end - w->p) < sizeof v) {
            w->bad = 1;
            v = 0;
        } else {
            memcpy(&v, w->p, sizeof v);
            w->p += sizeof v;
        }
    }
    kms(w->out, k, v);
}

WALKER void w_stream(struct walk *w, const char *k, int32_t sid)
{
    if (w->mode == WALK_PACK) {
        put_int(w, sid);
        return;
    }
    if (w->mode == WALK_EMIT)
        sid = (int32_t)get_int(w);
    kstream(w->out, k, sid);
}

/* A member whose value is JSON text already (f->breakpoints). */
WALKER void w_json(struct walk *w, const char *k, const char *v)
{
    if (w->mode == WALK_PACK) {
        put_str(w, v);
        return;
    }
    key(w->out, k);
    if (w->mode == WALK_JSON) {
        raw(w->out, v, strlen(v));
        return;
    }
    size_t n;
    const char *s = get_str(w, &n);
    raw(w->out, s, n);
}

/* "HTTP/major.minor" */
WALKER void w_version(struct walk *w, const char *k, int major, int minor)
{
    if (w->mode == WALK_PACK) {
        put_int(w, major);
        put_int(w, minor);
        return;
    }
    if (w->mode == WALK_EMIT) {
        major = (int)get_int(w);
        minor = (int)get_int(w);
    }
    if (major >= 0 && major <= 9 && minor >= 0 && minor <= 9) {
        char v[] = {'H', 'T', 'T', 'P', '/', (char)('0' + major), '.', (char)('0' + minor), 0};
        kstr(w->out, k, v);
        return;
    }
    char v[32];
    snprintf(v, sizeof v, "HTTP/%d.%d", major, minor);
    kstr(w->out, k, v);
}

/* The value expressions are evaluated only while LIVE: in EMIT the flow is not there. */
#define W_STR(w, k, expr) w_str((w), (k), LIVE(w) ? (const char *)(expr) : NULL)
#define W_INT(w, k, expr) w_int((w), (k), LIVE(w) ? (long long)(expr) : 0)
#define W_BOOL(w, k, expr) w_bool((w), (k), LIVE(w) ? (int)(expr) : 0)
#define W_FLAG(w, expr) w_flag((w), LIVE(w) ? !!(expr) : 0)
#define W_COUNT(w, expr) w_count((w), LIVE(w) ? (size_t)(expr) : 0)
#define W_MS(w, k, expr) w_ms((w), (k), LIVE(w) ? (double)(expr) : 0.0)
#define W_STREAM(w, k, expr) w_stream((w), (k), LIVE(w) ? (int32_t)(expr) : 0)
#define W_JSON(w, k, expr) w_json((w), (k), LIVE(w) ? (const char *)(expr) : NULL)
#define W_VERSION(w, k, h) w_version((w), (k), LIVE(w) ? (h)->major : 0, LIVE(w) ? (h)->minor : 0)
/* The detail's punctuation and keys of objects and arrays: text only. */
#define J_RAW(w, lit) do { if (TEXT(w)) RAW((w)->out, lit); } while (0)
#define J_KEY(w, k) do { if (TEXT(w)) key((w)->out, k); } while (0)
#define J_SEP(w) do { if (TEXT(w)) sep((w)->out); } while (0)

/* ------------------------------------------------------------------------------------------ */
/* The detail's members */

WALKER void w_headers(struct walk *w, const char *k, const struct http1_head *h)
{
    J_KEY(w, k);
    J_RAW(w, "[");
    size_t n = W_COUNT(w, h ? h->nfields : 0);
    for (size_t i = 0; i < n; i++) {
        J_SEP(w);
        J_RAW(w, "{\"name\":");
        W_STR(w, NULL, h->fields[i].name);
        J_RAW(w, ",\"value\":");
        W_STR(w, NULL, h->fields[i].value);
        J_RAW(w, "}");
    }
    J_RAW(w, "]");
}

WALKER void w_tls_obj(struct walk *w, const struct flow_tls *t, int client_leg)
{
    J_RAW(w, "{");
    W_BOOL(w, "handshake_done", t->handshake_done);
    W_STR(w, "version", t->version);
    W_STR(w, "cipher", t->cipher);
    W_STR(w, "alpn", t->alpn);
    W_STR(w, "sni", t->sni);
    W_INT(w, "verify_result", t->verify_result);
    W_STR(w, "verify_error", t->verify_error);
    W_STR(w, "alert_sent", t->alert_sent);
    W_STR(w, "alert_received", t->alert_received);
    W_STR(w, "error", t->error);
    W_STR(w, "peer_subject", t->peer_subject);
    W_STR(w, "peer_issuer", t->peer_issuer);
    W_STR(w, "peer_not_before", t->peer_not_before);
    W_STR(w, "peer_not_after", t->peer_not_after);
    W_STR(w, "peer_key_type", t->peer_key_type);
    W_INT(w, "peer_key_bits", t->peer_key_bits);
    W_STR(w, "peer_sig", t->peer_sig);
    W_BOOL(w, "forward_secret", t->forward_secret);
    W_BOOL(w, "resumed", t->resumed);
    W_BOOL(w, "cert_requested", t->cert_requested);
    W_STR(w, "client_cert", t->client_cert);
    W_STR(w, "peer_names", t->peer_names);
    W_STR(w, "leaf", t->leaf);
    W_STR(w, "leaf_reason", t->leaf_reason);
    char words[300];
    W_STR(w, "error_text", (flow_words_tls_error(t, client_leg, words, sizeof words), words));
    J_RAW(w, "}");
}

/* One leg's facts: null without TLS, the key of facts written apart (tls_ref), or the object. */
WALKER void w_tls(struct walk *w, const char *k, const struct flow_tls *t, int client_leg,
                  long long ref)
{
    J_KEY(w, k);
    if (!W_FLAG(w, t->present))
        J_RAW(w, "null");
    else if (W_FLAG(w, ref > 0))
        W_INT(w, NULL, ref);
    else
        w_tls_obj(w, t, client_leg);
}

int flow_json_tls(const struct flow_tls *t, int client_leg, struct flow_json_text *out)
{
    out->len = 0;
    out->oom = 0;
    struct walk w = {.mode = WALK_JSON, .out = out};
    w_tls_obj(&w, t, client_leg);
    return out->oom ? -1 : 0;
}

/* A diagnosis, or (warning = 1) a warning: with its kind, and its domain when not
 * NSURLErrorDomain. */
WALKER void w_diagnosis(struct walk *w, const struct diagnosis *d, int warning)
{
    J_RAW(w, "{");
    W_INT(w, "code", d->entry->code);
    /* the warning's own domain (an app library's), else its entry's ("HTTP"), else none */
    const char *domain = LIVE(w) ? d->domain ? d->domain : d->entry->domain : NULL;
    if (W_FLAG(w, domain != NULL))
        W_STR(w, "domain", domain);
    if (warning && W_FLAG(w, d->entry->key != NULL)) {
        /* a keyed warning (most flows carry URLCache's note) is stored without its entry's
         * static texts, ~500 bytes a flow; store_reader_get puts them back (warnings_entry) */
        W_STR(w, "stage", d->stage ? d->stage : "");
        W_STR(w, "detail", d->detail);
        W_STR(w, "kind", d->kind ? d->kind : "ats");
        W_STR(w, "entry", d->entry->key);
        J_RAW(w, "}");
        return;
    }
    W_STR(w, "name", d->entry->name);
    W_STR(w, "stage", d->stage ? d->stage : "");
    W_STR(w, "title", d->entry->title);
    W_STR(w, "detail", d->detail);
    W_STR(w, "fix", d->entry->fix);
    if (W_FLAG(w, d->entry->android && d->entry->android[0]))
        W_STR(w, "android", d->entry->android);
    if (warning)
        W_STR(w, "kind", d->kind ? d->kind : "ats");
    J_RAW(w, "}");
}

WALKER void w_capture(struct walk *w, const struct flow_capture *c)
{
    W_INT(w, "body_size", c->total);
    W_INT(w, "body_captured", c->len);
    W_BOOL(w, "body_truncated", c->truncated);
    if (W_FLAG(w, c->cut != NULL)) /* static ASCII: capture.h */
        W_STR(w, "body_cut", c->cut);
}

WALKER void walk_detail(struct walk *w, const struct flow *f, const struct diagnosis *warn,
                        size_t nwarn, const long long refs[2])
{
    J_KEY(w, "request");
    J_RAW(w, "{");
    W_STR(w, "method", method_of(f));
    W_STR(w, "target", f->req ? f->req->target : f->kind == FLOW_TUNNEL ? f->url : "");
    if (W_FLAG(w, f->req != NULL))
        W_VERSION(w, "http_version", f->req);
    else if (TEXT(w))
        kstr(w->out, "http_version", "");
    w_headers(w, "headers", LP(w, f->req));
    w_headers(w, "trailers", LP(w, f->req_trailers));
    W_INT(w, "head_size", f->req ? (long long)f->req->wire_size : -1);
    w_capture(w, LP(w, &f->req_body));
    J_RAW(w, "}");
    J_KEY(w, "response");
    if (W_FLAG(w, f->resp != NULL)) {
        J_RAW(w, "{");
        W_INT(w, "status", f->resp->status);
        W_STR(w, "reason", f->resp->reason);
        W_VERSION(w, "http_version", f->resp);
        w_headers(w, "headers", LP(w, f->resp));
        w_headers(w, "trailers", LP(w, f->resp_trailers));
        W_INT(w, "head_size", f->resp->wire_size);
        w_capture(w, LP(w, &f->resp_body));
        J_RAW(w, "}");
    } else
        J_RAW(w, "null");

    J_KEY(w, "timings");
    J_RAW(w, "{");
    W_MS(w, "blocked", f->timings.blocked);
    W_MS(w, "dns", f->timings.dns);
    W_MS(w, "connect", f->timings.connect);
    W_MS(w, "ssl", f->timings.ssl);
    W_MS(w, "send", f->timings.send);
    W_MS(w, "wait", f->timings.wait);
    W_MS(w, "receive", f->timings.receive);
    W_MS(w, "total", f->timings.total);
    if (W_FLAG(w, f->rules && f->rules->throttled_ms)) /* network conditions' added delay */
        W_MS(w, "throttle", f->rules->throttled_ms);
    J_RAW(w, "}");
    W_STR(w, "server_ip", f->server_ip);
    J_KEY(w, "connect_attempts"); /* Happy Eyeballs: every address tried, in order */
    J_RAW(w, "[");
    size_t nattempts = W_COUNT(w, f->connect_attempts.n < 0 ? 0
                                  : f->connect_attempts.n < FLOW_MAX_ATTEMPTS
                                      ? f->connect_attempts.n : FLOW_MAX_ATTEMPTS);
    for (size_t i = 0; i < nattempts; i++) {
        const struct flow_attempt *a = LP(w, &f->connect_attempts.a[i]);
        J_SEP(w);
        J_RAW(w, "{");
        W_STR(w, "addr", a->addr);
        W_INT(w, "family", a->family);
        W_STR(w, "outcome", a->outcome);
        W_INT(w, "ms", a->ms);
        J_RAW(w, "}");
    }
    J_RAW(w, "]");
    W_INT(w, "client_port", f->client_port);
    W_BOOL(w, "reused_upstream", f->reused_upstream);
    J_KEY(w, "http2"); /* stream ids on each leg (null: that leg spoke HTTP/1); null when neither */
    if (W_FLAG(w, f->h2_stream_id || f->h2_upstream_stream_id)) {
        J_RAW(w, "{");
        W_STREAM(w, "stream_id", f->h2_stream_id);
        W_STREAM(w, "upstream_stream_id", f->h2_upstream_stream_id);
        J_RAW(w, "}");
    } else
        J_RAW(w, "null");
    J_KEY(w, "tls");
    J_RAW(w, "{");
    w_tls(w, "client", LP(w, f->tls_client), 1, LIVE(w) ? refs[0] : 0);
    w_tls(w, "upstream", LP(w, f->tls_upstream), 0, LIVE(w) ? refs[1] : 0);
    J_RAW(w, "}");
    J_KEY(w, "failure");
    if (W_FLAG(w, f->fail.failed)) {
        J_RAW(w, "{");
        W_STR(w, "stage", flow_stage_name(f->fail.stage));
        W_INT(w, "errno", f->fail.sys_errno);
        W_INT(w, "dns_error", f->fail.dns_error);
        W_BOOL(w, "timeout", f->fail.timeout);
        W_INT(w, "status_sent", f->fail.status_sent);
        W_STR(w, "closed_by", f->fail.closed_by);
        W_STR(w, "parse_error", f->fail.parse_error ? f->fail.parse_error : "");
        W_STR(w, "reason", f->fail.reason);
        J_RAW(w, "}");
    } else
        J_RAW(w, "null");
    W_INT(w, "bytes_up", f->bytes_up);
    W_INT(w, "bytes_down", f->bytes_down);
    W_BOOL(w, "no_request_after_tls", f->no_request_after_tls);
    J_KEY(w, "_rules"); /* which rules changed this flow, and what they did (ruleset.h) */
    J_RAW(w, "[");
    size_t nrules = W_COUNT(w, f->rules && f->rules->n > 0 ? f->rules->n : 0);
    for (size_t i = 0; i < nrules; i++) {
        J_SEP(w);
        J_RAW(w, "{");
        W_STR(w, "id", f->rules->hit[i].id);
        W_STR(w, "action", f->rules->hit[i].action);
        W_STR(w, "detail", f->rules->hit[i].detail);
        if (W_FLAG(w, f->rules->hit[i].changed)) { /* a rewrite: the value before and after */
            W_STR(w, "before", f->rules->hit[i].before);
            W_STR(w, "after", f->rules->hit[i].after);
        }
        J_RAW(w, "}");
    }
    J_RAW(w, "]");
    if (W_FLAG(w, f->breakpoints != NULL)) /* paused at breakpoints (breakpoint_apply.c) */
        W_JSON(w, "_breakpoints", f->breakpoints);
    if (W_FLAG(w, f->rules && f->rules->throttle[0])) { /* network conditions: their delay */
        J_KEY(w, "_throttle");
        J_RAW(w, "{");
        W_STR(w, "profile", f->rules->throttle);
        W_INT(w, "delay_ms", f->rules->throttled_ms);
        J_RAW(w, "}");
    }

    /* diagnose is pure: recomputing here gives the full {code, name, stage, title, detail, fix} */
    struct diagnosis d = {0};
    if (W_FLAG(w, diagnose_flow(f, &d) && d.entry)) {
        J_KEY(w, "diagnosis");
        w_diagnosis(w, LP(w, &d), 0);
    }
    size_t nw = W_COUNT(w, nwarn);
    if (nw) {
        J_KEY(w, "warnings");
        J_RAW(w, "[");
        for (size_t i = 0; i < nw; i++)
            if (W_FLAG(w, warn[i].entry != NULL)) {
                J_SEP(w);
                w_diagnosis(w, LP(w, &warn[i]), 1);
            }
        J_RAW(w, "]");
    }
}

/* The walk with its mode known only when run (JSON, EMIT): one copy for both. PACK, the one the
 * store runs for every flow, has a copy of its own with the mode a constant (flow_detail_pack):
 * no mode tests per value (~0.8k instructions a flow). */
static __attribute__((noinline)) void walk_detail_any(struct walk *w, const struct flow *f,
                                                      const struct diagnosis *warn, size_t nwarn,
                                                      const long long refs[2])
{
    walk_detail(w, f, warn, nwarn, refs);
}

void flow_detail_json(struct flow_json_text *w, const struct flow *f, const struct diagnosis *warn,
                      size_t nwarn, const long long refs[2])
{
    struct walk wk = {.mode = WALK_JSON, .out = w};
    walk_detail_any(&wk, f, warn, nwarn, refs);
}

void flow_detail_pack(struct flow_json_text *w, const struct flow *f, const struct diagnosis *warn,
                      size_t nwarn, const long long refs[2])
{
    struct walk wk = {.mode = WALK_PACK, .out = w};
    reserve(w, 16); /* a buffer to start from (o and lim are never NULL but after OOM) */
    if (w->oom)
        return;
    wk.o = w->buf + w->len;
    wk.lim = w->buf + w->cap;
    const unsigned char head[2] = {FLOW_RECORD_MAGIC, FLOW_RECORD_VERSION};
    put_bytes(&wk, head, sizeof head);
    walk_detail(&wk, f, warn, nwarn, refs);
    if (wk.o)
        w->len = (size_t)(wk.o - w->buf);
}

int flow_detail_is_record(const void *p, size_t len)
{
    return p && len >= 2 && ((const unsigned char *)p)[0] == FLOW_RECORD_MAGIC;
}

int flow_detail_emit(const void *p, size_t len, struct flow_json_text *out)
{
    out->len = 0;
    out->oom = 0;
    if (!flow_detail_is_record(p, len) || ((const unsigned char *)p)[1] != FLOW_RECORD_VERSION)
        return -1;
    struct walk w = {.mode = WALK_EMIT, .out = out, .p = (const unsigned char *)p + 2,
                     .end = (const unsigned char *)p + len};
    RAW(out, "{");
    walk_detail_any(&w, NULL, NULL, 0, NULL);
    RAW(out, "}");
    return w.bad || w.p != w.end || out->oom ? -1 : 0;
}

json_t *flow_detail_load(const void *p, size_t len)
{
    if (!p)
        return NULL;
    if (!flow_detail_is_record(p, len))
        return json_loadb(p, len, 0, NULL);
    struct flow_json_text t = {0};
    json_t *o = flow_detail_emit(p, len, &t) == 0 ? json_loadb(t.buf, t.len, 0, NULL) : NULL;
    flow_json_text_free(&t);
    return o;
}
