/* flow.c — see flow.h. */
#include "flow.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

struct flow *flow_new(uint64_t id, uint64_t conn_id, size_t max_body)
{
    struct flow *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
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
    free(f->req_body.data);
    free(f->resp_body.data);
    free(f->url);
    free(f);
}

size_t flow_mem_size(const struct flow *f)
{
    size_t n = sizeof *f + f->req_body.cap + f->resp_body.cap + (f->url ? strlen(f->url) + 1 : 0);
    const struct http1_head *heads[2] = {f->req, f->resp};
    for (int i = 0; i < 2; i++)
        if (heads[i])
            n += sizeof *heads[i] + heads[i]->buf_cap + heads[i]->nfields * sizeof *heads[i]->fields;
    return n;
}

void flow_capture_add(struct flow_capture *cap, const char *data, size_t len)
{
    cap->total += len;
    size_t room = cap->max > cap->len ? cap->max - cap->len : 0;
    size_t take = len < room ? len : room;
    if (take < len)
        cap->truncated = 1;
    if (!take)
        return;
    if (cap->len + take > cap->cap) {
        size_t ncap = cap->cap ? cap->cap : 4096;
        while (ncap < cap->len + take)
            ncap *= 2;
        if (ncap > cap->max)
            ncap = cap->max;
        char *nd = realloc(cap->data, ncap);
        if (!nd) {
            cap->truncated = 1;
            return;
        }
        cap->data = nd;
        cap->cap = ncap;
    }
    memcpy(cap->data + cap->len, data, take);
    cap->len += take;
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
    char *u = strdup(url);
    if (!u)
        return;
    free(f->url);
    f->url = u;
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

static void format_size(uint64_t n, char *buf, size_t len)
{
    if (n < 1000)
        snprintf(buf, len, "%lluB", (unsigned long long)n);
    else if (n < 1000 * 1000)
        snprintf(buf, len, "%.1fkB", (double)n / 1000.0);
    else if (n < 1000ull * 1000 * 1000)
        snprintf(buf, len, "%.1fMB", (double)n / 1e6);
    else
        snprintf(buf, len, "%.2fGB", (double)n / 1e9);
}

static void format_duration(double ms, char *buf, size_t len)
{
    if (ms < 1000)
        snprintf(buf, len, "%.0fms", ms);
    else
        snprintf(buf, len, "%.1fs", ms / 1000.0);
}

void flow_format_line(const struct flow *f, char *buf, size_t buflen)
{
    struct tm tm;
    time_t sec = f->started.tv_sec;
    localtime_r(&sec, &tm);
    char size[32], dur[32], up[32], down[32];
    format_duration(f->timings.total, dur, sizeof dur);
    const char *url = f->url ? f->url : f->host;
    int n;
    if (f->kind == FLOW_TUNNEL) {
        format_size(f->bytes_up, up, sizeof up);
        format_size(f->bytes_down, down, sizeof down);
        if (f->fail.failed && f->fail.status_sent)
            n = snprintf(buf, buflen, "%02d:%02d:%02d %s CONNECT %s %d 0B %s", tm.tm_hour,
                         tm.tm_min, tm.tm_sec, f->client_addr, url, f->fail.status_sent, dur);
        else
            n = snprintf(buf, buflen, "%02d:%02d:%02d %s CONNECT %s TUNNEL up=%s down=%s %s",
                         tm.tm_hour, tm.tm_min, tm.tm_sec, f->client_addr, url, up, down, dur);
    } else {
        int status = f->resp ? f->resp->status : f->fail.status_sent;
        format_size(f->resp_body.total, size, sizeof size);
        n = snprintf(buf, buflen, "%02d:%02d:%02d %s %s %s %d %s %s", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, f->client_addr,
                     f->req ? llhttp_method_name(f->req->method) : "-", url, status, size, dur);
    }
    if (n < 0 || (size_t)n >= buflen)
        return;
    if (f->fail.failed)
        n += snprintf(buf + n, buflen - (size_t)n, " FAILED %s: %s", flow_stage_name(f->fail.stage),
                      f->fail.reason);
    if (f->note[0] && n > 0 && (size_t)n < buflen)
        n += snprintf(buf + n, buflen - (size_t)n, " (%s)", f->note);
    if (f->diag_code && n > 0 && (size_t)n < buflen)
        n += snprintf(buf + n, buflen - (size_t)n, " [%d %s]", f->diag_code, f->diag_name);
    for (int i = 0; i < f->nwarn && n > 0 && (size_t)n < buflen; i++)
        n += snprintf(buf + n, buflen - (size_t)n, " [ATS %d]", f->warn_codes[i]);
}

void flow_done(struct flow *f, FILE *out, flow_sink_fn sink, void *sink_arg)
{
    if (!f->marks.end)
        f->marks.end = flow_now_us();
    compute_timings(f);
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
