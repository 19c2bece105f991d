/* flow.c — see flow.h. */
#include "flow.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "capture.h"
#include "str.h"

const char *flow_stage_name(enum flow_stage stage)
{
    static const char *const names[FLOW_STAGE_COUNT] = {
        "none", "client_request", "dns", "connect", "upstream_tls", "client_tls",
        "send", "wait", "receive", "tunnel"};
    return (unsigned)stage < FLOW_STAGE_COUNT ? names[stage] : "unknown";
}

uint64_t flow_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const struct flow_tls flow_tls_none;

struct flow_tls_shared *flow_tls_shared_new(void)
{
    static _Atomic uint64_t serials;
    struct flow_tls_shared *s = calloc(1, sizeof *s);
    if (s) {
        atomic_init(&s->refs, 1);
        s->serial = atomic_fetch_add_explicit(&serials, 1, memory_order_relaxed) + 1;
    }
    return s;
}

void flow_tls_shared_unref(struct flow_tls_shared *s)
{
    /* acq_rel: the thread that frees sees every write made before the other references went */
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        free(s);
}

void flow_set_tls(struct flow *f, int upstream, struct flow_tls_shared *s)
{
    int i = upstream ? 1 : 0;
    if (f->tls_ref[i] == s)
        return;
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    flow_tls_shared_unref(f->tls_ref[i]);
    f->tls_ref[i] = s;
    if (upstream)
        f->tls_upstream = &s->t;
    else
        f->tls_client = &s->t;
}

struct flow_tls *flow_tls_edit(struct flow *f, int upstream)
{
    int i = upstream ? 1 : 0;
    struct flow_tls_shared *s = f->tls_ref[i];
    if (s && atomic_load_explicit(&s->refs, memory_order_acquire) == 1)
        return &s->t; /* already f's alone */
    struct flow_tls_shared *copy = flow_tls_shared_new();
    if (!copy)
        return NULL;
    copy->t = upstream ? *f->tls_upstream : *f->tls_client;
    flow_set_tls(f, upstream, copy);
    flow_tls_shared_unref(copy); /* f holds it now */
    return &copy->t;
}

_Static_assert(offsetof(struct flow, url_room) + FLOW_URL_ROOM == sizeof(struct flow),
               "url_room must be struct flow's last member (flow_new zeroes what precedes it)");

struct flow *flow_new(uint64_t id, uint64_t conn_id, size_t max_body)
{
    struct flow *f = malloc(sizeof *f);
    if (!f)
        return NULL;
    memset(f, 0, offsetof(struct flow, url_room)); /* the room is written when used */
    f->url_room[0] = '\0';
    f->tls_client = f->tls_upstream = &flow_tls_none;
    f->id = id;
    f->conn_id = conn_id;
    f->req_body.max = f->resp_body.max = max_body;
    f->marks.start = flow_now_us();
    gettimeofday(&f->started, NULL);
    return f;
}

void flow_free(struct flow *f)
{
    if (!f)
        return;
    http1_head_free(f->req);
    http1_head_free(f->resp);
    http1_head_free(f->req_trailers);
    http1_head_free(f->resp_trailers);
    capture_release(&f->req_body);
    capture_release(&f->resp_body);
    if (f->url != f->url_room)
        free(f->url);
    if (f->rules) {
        free(f->rules->sent_path);
        if (f->rules->rewrite_free)
            f->rules->rewrite_free(f->rules->rewrite);
    }
    free(f->rules);
    free(f->breakpoints);
    flow_tls_shared_unref(f->tls_ref[0]);
    flow_tls_shared_unref(f->tls_ref[1]);
    free(f);
}

void flow_rule_hit(struct flow *f, const char *id, const char *action, const char *fmt, ...)
{
    if (!f->rules && !(f->rules = calloc(1, sizeof *f->rules)))
        return;
    if (f->rules->n == FLOW_MAX_RULE_HITS)
        return;
    struct flow_rule_hit *h = &f->rules->hit[f->rules->n++];
    snprintf(h->id, sizeof h->id, "%s", id);
    snprintf(h->action, sizeof h->action, "%s", action);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->detail, sizeof h->detail, fmt, ap);
    va_end(ap);
}

size_t flow_mem_size(const struct flow *f)
{
    size_t n = sizeof *f + f->req_body.cap + f->resp_body.cap + (f->url && f->url != f->url_room ? strlen(f->url) + 1 : 0) +
               (f->rules ? sizeof *f->rules : 0);
    const struct http1_head *heads[4] = {f->req, f->resp, f->req_trailers, f->resp_trailers};
    for (int i = 0; i < 4; i++)
        if (heads[i])
            n += sizeof *heads[i] + heads[i]->buf_cap + heads[i]->nfields * sizeof *heads[i]->fields;
    return n;
}

void flow_fail(struct flow *f, enum flow_stage stage, int sys_errno, const char *fmt, ...)
{
    if (f->fail.failed)
        return; /* the first failure is the cause; later ones are consequences */
    f->fail.failed = 1;
    f->fail.stage = stage;
    f->fail.sys_errno = sys_errno;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->fail.reason, sizeof f->fail.reason, fmt, ap);
    va_end(ap);
}

void flow_set_url(struct flow *f, const char *url)
{
    size_t len = strlen(url);
    char *old = f->url != f->url_room ? f->url : NULL; /* heap copy to free once replaced */
    if (len < sizeof f->url_room) {
        memmove(f->url_room, url, len + 1); /* url may be the room itself */
        f->url = f->url_room;
    } else {
        char *u = strdup(url);
        if (!u)
            return;
        f->url = u;
    }
    free(old);
}

static double span_ms(uint64_t from, uint64_t to)
{
    return from && to && to >= from ? (double)(to - from) / 1000.0 : -1;
}

static void compute_timings(struct flow *f)
{
    const struct flow_marks *m = &f->marks;
    struct flow_timings *t = &f->timings;
    uint64_t end = m->end ? m->end : flow_now_us();
    t->dns = span_ms(m->dns_start, m->dns_end);
    t->connect = span_ms(m->connect_start, m->connect_end);
    t->ssl = span_ms(m->tls_start, m->tls_end);
    /* HAR: connect includes ssl */
    if (t->connect >= 0 && t->ssl >= 0)
        t->connect += t->ssl;
    uint64_t first_upstream = m->dns_start ? m->dns_start : m->connect_start ? m->connect_start
                                                                              : m->send_start;
    t->blocked = span_ms(m->start, first_upstream);
    t->send = span_ms(m->send_start, m->send_end ? m->send_end : m->send_start);
    t->wait = span_ms(m->send_end ? m->send_end : m->send_start, m->first_byte);
    t->receive = span_ms(m->first_byte, end);
    t->total = span_ms(m->start, end);
    if (t->total < 0)
        t->total = 0;
}

/* x / unit with `decimals` digits after the point, rounded half up, then suffix. */
static void append_scaled(char *buf, size_t len, size_t *n, uint64_t x, uint64_t unit,
                          int decimals, const char *suffix)
{
    uint64_t scale = decimals == 2 ? 100 : decimals == 1 ? 10 : 1;
    uint64_t step = unit / scale; /* unit is a power of ten >= scale */
    uint64_t v = (x + step / 2) / step;
    str_append_uint(buf, len, n, v / scale);
    if (decimals) {
        char frac[4];
        uint64_t f = v % scale;
        for (int i = decimals - 1; i >= 0; i--, f /= 10)
            frac[i] = (char)('0' + f % 10);
        str_append(buf, len, n, ".");
        str_append_n(buf, len, n, frac, (size_t)decimals);
    }
    str_append(buf, len, n, suffix);
}

/* 512B, 1.0kB, 2.5MB, 1.25GB */
static void append_size(char *buf, size_t len, size_t *n, uint64_t bytes)
{
    if (bytes < 1000)
        append_scaled(buf, len, n, bytes, 1, 0, "B");
    else if (bytes < 1000 * 1000)
        append_scaled(buf, len, n, bytes, 1000, 1, "kB");
    else if (bytes < 1000ull * 1000 * 1000)
        append_scaled(buf, len, n, bytes, 1000 * 1000, 1, "MB");
    else
        append_scaled(buf, len, n, bytes, 1000ull * 1000 * 1000, 2, "GB");
}

/* 12ms, 3.4s */
static void append_duration(char *buf, size_t len, size_t *n, double ms)
{
    if (!(ms >= 0) || ms > 1e15)
        ms = 0;
    uint64_t us = (uint64_t)(ms * 1000.0 + 0.5);
    if (ms < 1000)
        append_scaled(buf, len, n, us, 1000, 0, "ms");
    else
        append_scaled(buf, len, n, us, 1000 * 1000, 1, "s");
}

static void append_int(char *buf, size_t len, size_t *n, long long v)
{
    if (v < 0)
        str_append(buf, len, n, "-");
    str_append_uint(buf, len, n, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);
}

/* "HH:MM:SS " of sec in local time. localtime_r is asked once per second per thread: the store
 * thread prints a line per flow, and the time zone conversion (a lock and a table walk) was
 * most of what the line cost. */
static void append_clock(char *buf, size_t len, size_t *n, time_t sec)
{
    static __thread time_t cached_sec = -1;
    static __thread char cached[10];
    if (sec != cached_sec) {
        struct tm tm;
        localtime_r(&sec, &tm);
        int v[3] = {tm.tm_hour, tm.tm_min, tm.tm_sec};
        for (int i = 0; i < 3; i++) {
            cached[i * 3] = (char)('0' + v[i] / 10 % 10);
            cached[i * 3 + 1] = (char)('0' + v[i] % 10);
            cached[i * 3 + 2] = i < 2 ? ':' : ' ';
        }
        cached_sec = sec;
    }
    str_append_n(buf, len, n, cached, 9);
}

void flow_format_line(const struct flow *f, char *buf, size_t buflen)
{
    if (!buflen)
        return;
    size_t n = 0;
    buf[0] = '\0';
    append_clock(buf, buflen, &n, f->started.tv_sec);
    str_append(buf, buflen, &n, f->client_addr);
    const char *url = f->url ? f->url : f->host;
    if (f->kind == FLOW_TUNNEL) {
        str_append(buf, buflen, &n, " CONNECT ");
        str_append(buf, buflen, &n, url);
        if (f->fail.failed && f->fail.status_sent) {
            str_append(buf, buflen, &n, " ");
            append_int(buf, buflen, &n, f->fail.status_sent);
            str_append(buf, buflen, &n, " 0B ");
        } else {
            str_append(buf, buflen, &n, " TUNNEL up=");
            append_size(buf, buflen, &n, f->bytes_up);
            str_append(buf, buflen, &n, " down=");
            append_size(buf, buflen, &n, f->bytes_down);
            str_append(buf, buflen, &n, " ");
        }
    } else {
        str_append(buf, buflen, &n, " ");
        str_append(buf, buflen, &n, f->req ? llhttp_method_name(f->req->method) : "-");
        str_append(buf, buflen, &n, " ");
        str_append(buf, buflen, &n, url);
        str_append(buf, buflen, &n, " ");
        append_int(buf, buflen, &n, f->resp ? f->resp->status : f->fail.status_sent);
        str_append(buf, buflen, &n, " ");
        append_size(buf, buflen, &n, f->resp_body.total);
        str_append(buf, buflen, &n, " ");
    }
    append_duration(buf, buflen, &n, f->timings.total);
    if (f->fail.failed) {
        str_append(buf, buflen, &n, " FAILED ");
        str_append(buf, buflen, &n, flow_stage_name(f->fail.stage));
        str_append(buf, buflen, &n, ": ");
        str_append(buf, buflen, &n, f->fail.reason);
    }
    if (f->note[0]) {
        str_append(buf, buflen, &n, " (");
        str_append(buf, buflen, &n, f->note);
        str_append(buf, buflen, &n, ")");
    }
    if (f->diag_code) {
        str_append(buf, buflen, &n, " [");
        append_int(buf, buflen, &n, f->diag_code);
        str_append(buf, buflen, &n, " ");
        str_append(buf, buflen, &n, f->diag_name ? f->diag_name : "(null)");
        str_append(buf, buflen, &n, "]");
    }
    /* ATS warnings as "[ATS -1022]", app-level ones as "[-1016 content-type]"; cache notes
     * (code 0) are for the viewer, not the terminal */
    for (int i = 0; i < f->nwarn && i < 4; i++) {
        const char *kind = f->checks.kinds[i];
        if (!f->warn_codes[i])
            continue;
        if (!kind || !strcmp(kind, "ats")) {
            str_append(buf, buflen, &n, " [ATS ");
            append_int(buf, buflen, &n, f->warn_codes[i]);
        } else {
            str_append(buf, buflen, &n, " [");
            append_int(buf, buflen, &n, f->warn_codes[i]);
            str_append(buf, buflen, &n, " ");
            str_append(buf, buflen, &n, kind);
        }
        str_append(buf, buflen, &n, "]");
    }
}

void flow_done(struct flow *f, FILE *out, flow_sink_fn sink, void *sink_arg)
{
    if (!f->marks.end)
        f->marks.end = flow_now_us();
    compute_timings(f);
    if (f->kind == FLOW_HTTP) {
        /* an exchange's bytes: its heads as they came plus its bodies (a tunnel counts the
         * relayed bytes instead); never a misleading 0 for an intercepted exchange */
        f->bytes_up = (f->req ? f->req->wire_size : 0) + f->req_body.total;
        f->bytes_down = (f->resp ? f->resp->wire_size : 0) + f->resp_body.total;
    }
    if (out) {
        char line[1024];
        flow_format_line(f, line, sizeof line);
        fprintf(out, "%s\n", line);
    }
    if (sink)
        sink(f, sink_arg);
    else
        flow_free(f);
}
