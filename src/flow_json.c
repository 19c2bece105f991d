/* flow_json.c — see flow_json.h. Pure: no I/O, no globals. The store's texts are written directly
 * into one growable buffer (no jansson tree: building and freeing ~150 small objects per flow was
 * a quarter of the store thread's time); tests/common/flow_json_ref.c is the jansson model they
 * are checked against. */
#include "flow_json.h"

#include <ctype.h>
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
    time_t sec = tv->tv_sec;
    if (sec != cached_sec) {
        struct tm tm;
        gmtime_r(&sec, &tm);
        snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_sec = sec;
    }
    int ms = (int)(tv->tv_usec / 1000);
    if (ms < 0 || ms > 999)
        ms = 0;
    char frac[6] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10),
                    'Z', '\0'};
    size_t n = 0;
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
        for (; *ctype && *ctype != ';' && *ctype != ' ' && *ctype != '\t' && o + 1 < outlen; ctype++) {
            unsigned char c = (unsigned char)*ctype; /* ASCII lower case, as tolower in the C locale */
            out[o++] = (char)(c | ((unsigned)(c - 'A') < 26u ? 0x20 : 0));
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

static void summary_fields(struct flow_json_text *w, const struct flow *f,
                           const struct diagnosis *warn, size_t nwarn)
{
    char ts[40], app[64];
    char *mime = w->mime; /* kept for the caller (flow_json_text.mime) */
    flow_json_iso_time(&f->started, ts, sizeof ts);
    flow_json_app(f, app, sizeof app);
    flow_json_mime(f->resp ? http1_head_get(f->resp, "Content-Type") : NULL, mime, sizeof w->mime);
    kint(w, "id", (long long)f->id);
    kint(w, "conn_id", (long long)f->conn_id);
    kstr(w, "kind", f->kind == FLOW_TUNNEL ? "tunnel" : "http");
    kstr(w, "started", ts);
    kstr(w, "method", method_of(f));
    kstr(w, "url", f->url ? f->url : "");
    kstr(w, "scheme", f->scheme);
    kstr(w, "host", f->host);
    kint(w, "port", f->port);
    kstr(w, "path", path_of(f));
    kint(w, "status", f->resp ? f->resp->status : 0);
    kbool(w, "failed", f->fail.failed);
    kstr(w, "error", f->fail.failed ? f->fail.reason : "");
    kstr(w, "mime", mime);
    kint(w, "req_size", (long long)f->req_body.total);
    kint(w, "resp_size", (long long)f->resp_body.total);
    kms(w, "duration_ms", f->timings.total);
    kstr(w, "client", f->client_addr);
    kstr(w, "app", app);
    kstr(w, "note", f->note);
    kint(w, "diag_code", f->diag_code);
    /* the first warning's code (ATS -1022 / -1200), so a list can mark flows that only worked
     * because of an exception */
    kint(w, "warn_code", nwarn && warn[0].entry ? warn[0].entry->code : 0);
    /* every warning's kind and (non-zero) code, each once, in order: the viewer's warning:KIND
     * and code:N filters */
    key(w, "warn_kinds");
    RAW(w, "[");
    for (size_t i = 0; i < nwarn; i++) {
        const char *k = warn[i].kind ? warn[i].kind : "ats";
        size_t j = 0;
        while (j < i && strcmp(warn[j].kind ? warn[j].kind : "ats", k))
            j++;
        if (j == i) {
            sep(w);
            str(w, k);
        }
    }
    RAW(w, "]");
    key(w, "warn_codes");
    RAW(w, "[");
    for (size_t i = 0; i < nwarn; i++) {
        int c = warn[i].entry ? warn[i].entry->code : 0;
        size_t j = 0;
        while (j < i && (warn[j].entry ? warn[j].entry->code : 0) != c)
            j++;
        if (c && j == i) {
            char num[24];
            sep(w);
            char *p = decimal(num + sizeof num, c);
            raw(w, p, (size_t)(num + sizeof num - p));
        }
    }
    RAW(w, "]");
    char why[64];
    flow_words_reason_short(f, why, sizeof why);
    kstr(w, "reason_short", why);
    kbool(w, "failed_before_tls", flow_words_failed_before_tls(f));
    kbool(w, "own", f->own);
    kint(w, "rules", f->rules ? f->rules->n : 0); /* rules that touched it: the list's mark */
    if (f->replay_of) /* httpeek sent it again (replay.c): only then, to keep summaries small */
        kint(w, "_replay_of", (long long)f->replay_of);
    if (f->composed)
        kbool(w, "_composed", 1);
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
    RAW(out, "{");
    summary_fields(out, f, warn, nwarn);
    RAW(out, "}");
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

/* A keyed warning is stored without its catalogue texts (diagnosis_obj): put back name, title,
 * fix and android from warnings_entry, so every reader sees the whole warning. Rows written
 * before keys existed carry the texts already and have no "entry". */
void flow_json_put_back(json_t *detail)
{
    json_t *warnings = json_object_get(detail, "warnings");
    size_t i;
    json_t *w;
    json_array_foreach(warnings, i, w) {
        const char *key = json_string_value(json_object_get(w, "entry"));
        const struct diagnose_entry *e = key ? warnings_entry(key) : NULL;
        if (!key)
            continue;
        json_object_del(w, "entry");
        if (!e) /* a key from a newer build: the stored facts stay, without texts */
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

