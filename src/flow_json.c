/* flow_json.c — see flow_json.h. Pure: no I/O, no globals. The store's texts are written directly
 * into one growable buffer (no jansson tree: building and freeing ~150 small objects per flow was
 * a quarter of the store thread's time); tests/common/flow_json_ref.c is the jansson model they
 * are checked against. */
#include "flow_json.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "diagnose.h"
#include "flow_detail.h"
#include "flow_json_write.h"
#include "flow_words.h"
#include "str.h"
#include "useragent.h"
#include "warnings.h"


int flow_json_is_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t k = utf8_seq(p + i, len - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

json_t *flow_json_string(const char *s, size_t len)
{
    if (!s)
        return json_string("");
    if (flow_json_is_utf8(s, len))
        return json_stringn(s, len);
    /* worst case every byte becomes two */
    unsigned char *out = malloc(len * 2 + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t k = utf8_seq(p + i, len - i);
        if (k) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else { /* Latin-1: U+0080..U+00FF as two bytes */
            out[o++] = (unsigned char)(0xc0 | (p[i] >> 6));
            out[o++] = (unsigned char)(0x80 | (p[i] & 0x3f));
            i++;
        }
    }
    json_t *j = json_stringn((const char *)out, o);
    free(out);
    return j;
}

void flow_json_iso_time(const struct timeval *tv, char *buf, size_t buflen)
{
    /* "YYYY-MM-DDTHH:MM:SS" is made once per second per thread: gmtime_r and snprintf for each
     * flow were a visible share of the store thread */
    static __thread time_t cached_sec = -1;
    static __thread char cached[32];
    static __thread size_t cached_len;
    time_t sec = tv->tv_sec;
    if (sec != cached_sec) {
        struct tm tm;
        gmtime_r(&sec, &tm);
        snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_len = strlen(cached);
        cached_sec = sec;
    }
    int ms = (int)(tv->tv_usec / 1000);
    if (ms < 0 || ms > 999)
        ms = 0;
    char frac[6] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10),
                    'Z', '\0'};
    size_t n = 0, clen = cached_len;
    if (clen + sizeof frac <= buflen) { /* the usual case: two copies of known lengths */
        memcpy(buf, cached, clen);
        memcpy(buf + clen, frac, sizeof frac);
        return;
    }
    if (!buflen)
        return;
    buf[0] = '\0';
    str_append(buf, buflen, &n, cached);
    str_append(buf, buflen, &n, frac);
}

void flow_json_mime(const char *ctype, char *out, size_t outlen)
{
    size_t o = 0;
    if (!outlen)
        return;
    if (ctype) {
        while (*ctype == ' ' || *ctype == '\t')
            ctype++;
        size_t n = strcspn(ctype, "; \t");
        if (n > outlen - 1)
            n = outlen - 1;
        /* ASCII lower case, as tolower in the C locale: 8 bytes at a time (a byte's low 7 bits
         * plus 0x80 - 'A' reach 0x80 from 'A' up, plus 0x80 - '[' from '[' up; bytes of 0x80
         * and up are left alone), then the rest one by one */
        const uint64_t lows = 0x7f7f7f7f7f7f7f7fULL, highs = 0x8080808080808080ULL,
                       ones = 0x0101010101010101ULL;
        for (; o + 8 <= n; o += 8) {
            uint64_t v;
            memcpy(&v, ctype + o, 8);
            uint64_t h = v & lows;
            uint64_t upper = (h + ones * (0x80 - 'A')) & ~(h + ones * (0x80 - '[')) & ~v & highs;
            v |= upper >> 2;
            memcpy(out + o, &v, 8);
        }
        for (; o < n; o++) {
            unsigned char c = (unsigned char)ctype[o];
            out[o] = (char)(c | ((unsigned)(c - 'A') < 26u ? 0x20 : 0));
        }
    }
    out[o] = '\0';
}


/* The path + query of the flow's URL ("/a?b"), "" for tunnels and flows without a request. */
static const char *path_of(const struct flow *f)
{
    if (f->kind == FLOW_TUNNEL || !f->url)
        return "";
    const char *sep_ = strstr(f->url, "://");
    if (sep_) {
        const char *p = sep_ + 3;
        p += strcspn(p, "/?#");
        return *p ? p : "/";
    }
    return f->req ? f->req->target : "";
}

void flow_json_app(const struct flow *f, char *out, size_t outlen)
{
    const char *ua = f->req ? http1_head_get(f->req, "user-agent") : NULL;
    if (ua)
        ua_app(ua, out, outlen);
    else
        out[0] = '\0';
}

/* The summary's writer: a cursor into out->buf kept in the caller's local struct, so the
 * compiler holds it in registers across the strlen and memcpy calls (through out, its members
 * were loaded again after each: ~1k instructions a flow); its keys are literals with their comma
 * (the summary's members are always the same, in the same order). NULL o and lim after OOM. */
struct sum {
    struct flow_json_text *out;
    char *o, *lim;
};

/* Room for more bytes at c->o (out's len brought up to date, then grown); 0 on OOM. */
static __attribute__((noinline)) int sum_grow(struct sum *c, size_t more)
{
    struct flow_json_text *out = c->out;
    if (!c->o)
        return 0;
    out->len = (size_t)(c->o - out->buf);
    reserve(out, more);
    if (out->oom) {
        c->o = c->lim = NULL;
        return 0;
    }
    c->o = out->buf + out->len;
    c->lim = out->buf + out->cap;
    return 1;
}

#define SUM_ROOM(c, more) \
    (__builtin_expect((size_t)((c)->lim - (c)->o) >= (more), 1) || sum_grow((c), (more)))
#define SUM_INLINE static inline __attribute__((always_inline)) void

SUM_INLINE sum_raw(struct sum *c, const char *s, size_t n)
{
    if (!SUM_ROOM(c, n))
        return;
    memcpy(c->o, s, n);
    c->o += n;
}

/* a literal: its length a constant, so the copy is a few moves */
#define SUM_LIT(c, lit) sum_raw((c), (lit), sizeof(lit) - 1)

SUM_INLINE sum_str(struct sum *c, const char *s)
{
    if (!s || !*s) {
        SUM_LIT(c, "\"\"");
        return;
    }
    size_t n = strlen(s);
    if (SUM_ROOM(c, n * 6 + 2)) /* worst case: every byte a \u00XX escape */
        c->o = json_str_at(c->o, s, n);
}

SUM_INLINE sum_int(struct sum *c, long long v)
{
    char num[24], *p = decimal(num + sizeof num, v);
    sum_raw(c, p, (size_t)(num + sizeof num - p));
}

SUM_INLINE sum_bool(struct sum *c, int v)
{
    if (v)
        SUM_LIT(c, "true");
    else
        SUM_LIT(c, "false");
}

static void summary_fields(struct flow_json_text *w, const struct flow *f,
                           const struct diagnosis *warn, size_t nwarn)
{
    char ts[40], app[64];
    char *mime = w->mime; /* kept for the caller (flow_json_text.mime) */
    flow_json_iso_time(&f->started, ts, sizeof ts);
    flow_json_app(f, app, sizeof app);
    flow_json_mime(f->resp ? http1_head_get(f->resp, "Content-Type") : NULL, mime, sizeof w->mime);
    char why[64];
    flow_words_reason_short(f, why, sizeof why);
    reserve(w, 1024); /* the keys and numbers, at least: most summaries grow nothing after */
    if (w->oom)
        return;
    struct sum c = {.out = w, .o = w->buf + w->len, .lim = w->buf + w->cap};
    SUM_LIT(&c, "{\"id\":");
    sum_int(&c, (long long)f->id);
    SUM_LIT(&c, ",\"conn_id\":");
    sum_int(&c, (long long)f->conn_id);
    if (f->kind == FLOW_TUNNEL)
        SUM_LIT(&c, ",\"kind\":\"tunnel\",\"started\":");
    else
        SUM_LIT(&c, ",\"kind\":\"http\",\"started\":");
    sum_str(&c, ts);
    SUM_LIT(&c, ",\"method\":");
    sum_str(&c, method_of(f));
    SUM_LIT(&c, ",\"url\":");
    sum_str(&c, f->url ? f->url : "");
    SUM_LIT(&c, ",\"scheme\":");
    sum_str(&c, f->scheme);
    SUM_LIT(&c, ",\"host\":");
    sum_str(&c, f->host);
    SUM_LIT(&c, ",\"port\":");
    sum_int(&c, f->port);
    SUM_LIT(&c, ",\"path\":");
    sum_str(&c, path_of(f));
    SUM_LIT(&c, ",\"status\":");
    sum_int(&c, f->resp ? f->resp->status : 0);
    if (f->fail.failed) {
        SUM_LIT(&c, ",\"failed\":true,\"error\":");
        sum_str(&c, f->fail.reason);
    } else
        SUM_LIT(&c, ",\"failed\":false,\"error\":\"\"");
    SUM_LIT(&c, ",\"mime\":");
    sum_str(&c, mime);
    SUM_LIT(&c, ",\"req_size\":");
    sum_int(&c, (long long)f->req_body.total);
    SUM_LIT(&c, ",\"resp_size\":");
    sum_int(&c, (long long)f->resp_body.total);
    SUM_LIT(&c, ",\"duration_ms\":");
    char num[32], *p = ms_text(num + sizeof num, f->timings.total);
    sum_raw(&c, p, (size_t)(num + sizeof num - p));
    SUM_LIT(&c, ",\"client\":");
    sum_str(&c, f->client_addr);
    SUM_LIT(&c, ",\"app\":");
    sum_str(&c, app);
    SUM_LIT(&c, ",\"note\":");
    sum_str(&c, f->note);
    SUM_LIT(&c, ",\"diag_code\":");
    sum_int(&c, f->diag_code);
    /* the first warning's code (ATS -1022 / -1200), so a list can mark flows that only worked
     * because of an exception */
    SUM_LIT(&c, ",\"warn_code\":");
    sum_int(&c, nwarn && warn[0].entry ? warn[0].entry->code : 0);
    /* every warning's kind and (non-zero) code, each once, in order: the viewer's warning:KIND
     * and code:N filters */
    SUM_LIT(&c, ",\"warn_kinds\":[");
    int first = 1;
    for (size_t i = 0; i < nwarn; i++) {
        const char *k = warn[i].kind ? warn[i].kind : "ats";
        size_t j = 0;
        while (j < i && strcmp(warn[j].kind ? warn[j].kind : "ats", k))
            j++;
        if (j == i) {
            if (!first)
                SUM_LIT(&c, ",");
            first = 0;
            sum_str(&c, k);
        }
    }
    SUM_LIT(&c, "],\"warn_codes\":[");
    first = 1;
    for (size_t i = 0; i < nwarn; i++) {
        int code = warn[i].entry ? warn[i].entry->code : 0;
        size_t j = 0;
        while (j < i && (warn[j].entry ? warn[j].entry->code : 0) != code)
            j++;
        if (code && j == i) {
            if (!first)
                SUM_LIT(&c, ",");
            first = 0;
            sum_int(&c, code);
        }
    }
    SUM_LIT(&c, "],\"reason_short\":");
    sum_str(&c, why);
    SUM_LIT(&c, ",\"failed_before_tls\":");
    sum_bool(&c, flow_words_failed_before_tls(f));
    SUM_LIT(&c, ",\"own\":");
    sum_bool(&c, f->own);
    SUM_LIT(&c, ",\"rules\":"); /* rules that touched it: the list's mark */
    sum_int(&c, f->rules ? f->rules->n : 0);
    if (f->replay_of) { /* httpeek sent it again (replay.c): only then, to keep summaries small */
        SUM_LIT(&c, ",\"_replay_of\":");
        sum_int(&c, (long long)f->replay_of);
    }
    if (f->composed)
        SUM_LIT(&c, ",\"_composed\":true");
    SUM_LIT(&c, "}");
    if (c.o)
        w->len = (size_t)(c.o - w->buf);
}

int flow_json_texts(const struct flow *f, struct flow_json_text *out)
{
    out->len = 0;
    out->oom = 0;
    struct diagnosis warn[FLOW_JSON_MAX_WARNINGS];
    size_t nwarn = diagnose_warnings(f, warn, FLOW_JSON_MAX_WARNINGS);
    out->nwarn = 0;
    for (size_t i = 0; i < nwarn && i < sizeof out->warn_codes / sizeof *out->warn_codes; i++)
        out->warn_codes[out->nwarn++] = warn[i].entry->code;
    summary_fields(out, f, warn, nwarn); /* with its braces */
    if (out->oom)
        return -1;
    /* the detail is the summary's members and more: copy them (unless the store keeps the
     * summary anyway: detail_only), then go on */
    out->summary_len = out->len;
    if (out->detail_record)
        ; /* the record holds the detail's members only, like detail_only */
    else if (out->detail_only)
        RAW(out, "{");
    else {
        reserve(out, out->summary_len - 1); /* first: buf may move */
        if (out->oom)
            return -1;
        memcpy(out->buf + out->len, out->buf, out->summary_len - 1);
        out->len += out->summary_len - 1;
    }
    long long refs[2] = {out->tls_ref[0], out->tls_ref[1]}; /* out is also the writer */
    if (out->detail_record)
        flow_detail_pack(out, f, warn, nwarn, refs);
    else {
        flow_detail_json(out, f, warn, nwarn, refs);
        RAW(out, "}");
    }
    if (out->oom)
        return -1;
    out->detail = out->buf + out->summary_len;
    out->detail_len = out->len - out->summary_len;
    return 0;
}

/* A warning keyed after rows stored it whole (diagnose_whole_order) as those rows read: its
 * members in w_diagnosis's order for a whole warning, the entry's texts in their places. NULL on
 * OOM. */
static json_t *whole_warning(json_t *w, const struct diagnose_entry *e)
{
    const struct {
        const char *name, *text; /* text: the entry's; NULL: the stored member, if any */
    } order[] = {{"code", NULL},
                 {"domain", NULL},
                 {"name", e->name},
                 {"stage", NULL},
                 {"title", e->title},
                 {"detail", NULL},
                 {"fix", e->fix},
                 {"android", e->android && e->android[0] ? e->android : NULL},
                 {"kind", NULL}};
    json_t *o = json_object();
    for (size_t k = 0; o && k < sizeof order / sizeof *order; k++) {
        json_t *v = order[k].text ? json_string(order[k].text)
                                  : json_incref(json_object_get(w, order[k].name));
        if ((order[k].text && !v) || (v && json_object_set_new(o, order[k].name, v) < 0)) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

/* A keyed warning is stored without its catalogue texts (diagnosis_obj): put back name, title,
 * fix and android from diagnose_keyed_entry, so every reader sees the whole warning. Rows written
 * before keys existed carry the texts already and have no "entry". */
void flow_json_put_back(json_t *detail)
{
    json_t *warnings = json_object_get(detail, "warnings");
    size_t i;
    json_t *w;
    json_array_foreach(warnings, i, w) {
        const char *key = json_string_value(json_object_get(w, "entry"));
        const struct diagnose_entry *e = key ? diagnose_keyed_entry(key) : NULL;
        if (!key)
            continue;
        json_object_del(w, "entry");
        if (!e) /* a key from a newer build: the stored facts stay, without texts */
            continue;
        json_t *whole = diagnose_whole_order(e) ? whole_warning(w, e) : NULL;
        if (whole && json_array_set_new(warnings, i, whole) == 0)
            continue;
        json_object_set_new(w, "name", json_string(e->name));
        json_object_set_new(w, "title", json_string(e->title));
        json_object_set_new(w, "fix", json_string(e->fix));
        if (e->android && e->android[0])
            json_object_set_new(w, "android", json_string(e->android));
    }
}

json_t *flow_json_whole(json_t *detail, const char *summary_text)
{
    if (!detail || json_object_get(detail, "id"))
        return detail;
    json_t *whole = summary_text ? json_loads(summary_text, 0, NULL) : NULL;
    if (!whole || json_object_update(whole, detail) < 0) {
        json_decref(whole);
        whole = NULL;
    }
    json_decref(detail);
    return whole;
}

