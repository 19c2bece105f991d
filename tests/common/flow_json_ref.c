/* flow_json_ref.c — the reference model of a flow's JSON for tests: the summary and detail objects
 * built with jansson, field by field, as the store's shapes (src/store.h) define them. The store
 * writes the same JSON as text directly (src/flow_json.c, for speed); the unit test and the fuzz
 * target check that both agree for every flow they make. */
#include "flow_json_ref.h"

#include <stdlib.h>
#include <string.h>
#include "../../src/diagnose.h"
#include "../../src/flow_json.h"
#include "../../src/flow_words.h"

static json_t *jstr(const char *s)
{
    return flow_json_string(s ? s : "", s ? strlen(s) : 0);
}

/* json_object_set_new that tolerates a NULL value (OOM): the key is then simply missing. */
static void put(json_t *o, const char *key, json_t *v)
{
    if (v)
        json_object_set_new(o, key, v);
}



static json_t *headers_json(const struct http1_head *h)
{
    json_t *a = json_array();
    if (!a || !h)
        return a;
    for (size_t i = 0; i < h->nfields; i++) {
        json_t *o = json_object();
        if (!o)
            break;
        put(o, "name", jstr(h->fields[i].name));
        put(o, "value", jstr(h->fields[i].value));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *version_json(const struct http1_head *h)
{
    char v[16];
    snprintf(v, sizeof v, "HTTP/%d.%d", h->major, h->minor);
    return json_string(v);
}

static const char *method_of(const struct flow *f)
{
    if (f->kind == FLOW_TUNNEL)
        return "CONNECT";
    return f->req ? llhttp_method_name((llhttp_method_t)f->req->method) : "";
}

/* The path + query of the flow's URL ("/a?b"), "" for tunnels and flows without a request. */
static json_t *path_json(const struct flow *f)
{
    if (f->kind == FLOW_TUNNEL || !f->url)
        return json_string("");
    const char *u = f->url, *sep = strstr(u, "://");
    if (sep) {
        const char *p = sep + 3;
        p += strcspn(p, "/?#");
        if (!*p)
            return json_string("/");
        return jstr(p);
    }
    return jstr(f->req ? f->req->target : "");
}

static json_t *tls_json(const struct flow_tls *t, int client_leg)
{
    if (!t->present)
        return json_null();
    json_t *o = json_object();
    if (!o)
        return NULL;
    put(o, "handshake_done", json_boolean(t->handshake_done));
    put(o, "version", jstr(t->version));
    put(o, "cipher", jstr(t->cipher));
    put(o, "alpn", jstr(t->alpn));
    put(o, "sni", jstr(t->sni));
    put(o, "verify_result", json_integer(t->verify_result));
    put(o, "verify_error", jstr(t->verify_error));
    put(o, "alert_sent", jstr(t->alert_sent));
    put(o, "alert_received", jstr(t->alert_received));
    put(o, "error", jstr(t->error));
    put(o, "peer_subject", jstr(t->peer_subject));
    put(o, "peer_issuer", jstr(t->peer_issuer));
    put(o, "peer_not_before", jstr(t->peer_not_before));
    put(o, "peer_not_after", jstr(t->peer_not_after));
    put(o, "peer_key_type", jstr(t->peer_key_type));
    put(o, "peer_key_bits", json_integer(t->peer_key_bits));
    put(o, "peer_sig", jstr(t->peer_sig));
    put(o, "forward_secret", json_boolean(t->forward_secret));
    put(o, "resumed", json_boolean(t->resumed));
    put(o, "cert_requested", json_boolean(t->cert_requested));
    put(o, "client_cert", jstr(t->client_cert));
    put(o, "peer_names", jstr(t->peer_names));
    put(o, "leaf", jstr(t->leaf));
    put(o, "leaf_reason", jstr(t->leaf_reason));
    char words[300];
    flow_words_tls_error(t, client_leg, words, sizeof words);
    put(o, "error_text", jstr(words));
    return o;
}

/* Timings in ms rounded to microseconds; -1 stays -1. */
static json_t *ms_json(double ms)
{
    if (ms < 0)
        return json_integer(-1);
    return json_real((double)(long long)(ms * 1000.0 + 0.5) / 1000.0);
}

static json_t *diagnosis_json(const struct diagnosis *d, int warning)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    put(o, "code", json_integer(d->entry->code));
    const char *domain = d->domain ? d->domain : d->entry->domain;
    if (domain)
        put(o, "domain", jstr(domain));
    put(o, "name", jstr(d->entry->name));
    put(o, "stage", jstr(d->stage ? d->stage : ""));
    put(o, "title", jstr(d->entry->title));
    put(o, "detail", jstr(d->detail));
    put(o, "fix", jstr(d->entry->fix));
    if (d->entry->android && d->entry->android[0])
        put(o, "android", jstr(d->entry->android));
    if (warning)
        put(o, "kind", jstr(d->kind ? d->kind : "ats"));
    return o;
}

static json_t *capture_json(json_t *o, const struct flow_capture *c)
{
    put(o, "body_size", json_integer((json_int_t)c->total));
    put(o, "body_captured", json_integer((json_int_t)c->len));
    put(o, "body_truncated", json_boolean(c->truncated));
    if (c->cut)
        put(o, "body_cut", json_string(c->cut));
    return o;
}

static void add_detail(json_t *o, const struct flow *f)
{
    json_t *req = json_object();
    if (req) {
        put(req, "method", jstr(method_of(f)));
        put(req, "target", jstr(f->req ? f->req->target : f->kind == FLOW_TUNNEL ? f->url : ""));
        put(req, "http_version", f->req ? version_json(f->req) : json_string(""));
        put(req, "headers", headers_json(f->req));
        put(req, "trailers", headers_json(f->req_trailers));
        put(req, "head_size", json_integer(f->req ? (json_int_t)f->req->wire_size : -1));
        capture_json(req, &f->req_body);
        put(o, "request", req);
    }
    if (f->resp) {
        json_t *resp = json_object();
        if (resp) {
            put(resp, "status", json_integer(f->resp->status));
            put(resp, "reason", jstr(f->resp->reason));
            put(resp, "http_version", version_json(f->resp));
            put(resp, "headers", headers_json(f->resp));
            put(resp, "trailers", headers_json(f->resp_trailers));
            put(resp, "head_size", json_integer((json_int_t)f->resp->wire_size));
            capture_json(resp, &f->resp_body);
            put(o, "response", resp);
        }
    } else
        put(o, "response", json_null());

    const struct flow_timings *t = &f->timings;
    json_t *tj = json_object();
    if (tj) {
        put(tj, "blocked", ms_json(t->blocked));
        put(tj, "dns", ms_json(t->dns));
        put(tj, "connect", ms_json(t->connect));
        put(tj, "ssl", ms_json(t->ssl));
        put(tj, "send", ms_json(t->send));
        put(tj, "wait", ms_json(t->wait));
        put(tj, "receive", ms_json(t->receive));
        put(tj, "total", ms_json(t->total));
        put(o, "timings", tj);
    }
    put(o, "server_ip", jstr(f->server_ip));
    json_t *atts = json_array();
    for (int i = 0; atts && i < f->connect_attempts.n && i < FLOW_MAX_ATTEMPTS; i++) {
        const struct flow_attempt *a = &f->connect_attempts.a[i];
        json_t *aj = json_object();
        if (!aj)
            continue;
        put(aj, "addr", jstr(a->addr));
        put(aj, "family", json_integer(a->family));
        put(aj, "outcome", jstr(a->outcome));
        put(aj, "ms", json_integer(a->ms));
        json_array_append_new(atts, aj);
    }
    put(o, "connect_attempts", atts);
    put(o, "client_port", json_integer(f->client_port));
    put(o, "reused_upstream", json_boolean(f->reused_upstream));
    json_t *h2 = f->h2_stream_id || f->h2_upstream_stream_id ? json_object() : json_null();
    if (json_is_object(h2)) { /* HTTP/2 stream ids of each leg, null where it spoke HTTP/1 */
        put(h2, "stream_id", f->h2_stream_id ? json_integer(f->h2_stream_id) : json_null());
        put(h2, "upstream_stream_id",
            f->h2_upstream_stream_id ? json_integer(f->h2_upstream_stream_id) : json_null());
    }
    put(o, "http2", h2);
    json_t *tls = json_object();
    if (tls) {
        put(tls, "client", tls_json(f->tls_client, 1));
        put(tls, "upstream", tls_json(f->tls_upstream, 0));
        put(o, "tls", tls);
    }
    if (f->fail.failed) {
        json_t *fj = json_object();
        if (fj) {
            put(fj, "stage", json_string(flow_stage_name(f->fail.stage)));
            put(fj, "errno", json_integer(f->fail.sys_errno));
            put(fj, "dns_error", json_integer(f->fail.dns_error));
            put(fj, "timeout", json_boolean(f->fail.timeout));
            put(fj, "status_sent", json_integer(f->fail.status_sent));
            put(fj, "closed_by", jstr(f->fail.closed_by));
            put(fj, "parse_error", jstr(f->fail.parse_error ? f->fail.parse_error : ""));
            put(fj, "reason", jstr(f->fail.reason));
            put(o, "failure", fj);
        }
    } else
        put(o, "failure", json_null());
    put(o, "bytes_up", json_integer((json_int_t)f->bytes_up));
    put(o, "bytes_down", json_integer((json_int_t)f->bytes_down));
    put(o, "no_request_after_tls", json_boolean(f->no_request_after_tls));
    json_t *ruled = json_array();
    for (int i = 0; f->rules && i < f->rules->n; i++) {
        json_t *h = json_object();
        put(h, "id", jstr(f->rules->hit[i].id));
        put(h, "action", jstr(f->rules->hit[i].action));
        put(h, "detail", jstr(f->rules->hit[i].detail));
        json_array_append_new(ruled, h);
    }
    put(o, "_rules", ruled);

    /* diagnose is pure: recomputing here gives the full {code, name, stage, title, detail, fix} */
    struct diagnosis d;
    if (diagnose_flow(f, &d) && d.entry)
        put(o, "diagnosis", diagnosis_json(&d, 0));
    struct diagnosis w[FLOW_JSON_MAX_WARNINGS];
    size_t nw = diagnose_warnings(f, w, FLOW_JSON_MAX_WARNINGS);
    if (nw) {
        json_t *wa = json_array();
        for (size_t i = 0; wa && i < nw; i++)
            if (w[i].entry)
                json_array_append_new(wa, diagnosis_json(&w[i], 1));
        put(o, "warnings", wa);
    }
}

json_t *flow_json_ref(const struct flow *f, int detail)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    char ts[40], mime[128];
    flow_json_iso_time(&f->started, ts, sizeof ts);
    flow_json_mime(f->resp ? http1_head_get(f->resp, "Content-Type") : NULL, mime, sizeof mime);
    put(o, "id", json_integer((json_int_t)f->id));
    put(o, "conn_id", json_integer((json_int_t)f->conn_id));
    put(o, "kind", json_string(f->kind == FLOW_TUNNEL ? "tunnel" : "http"));
    put(o, "started", json_string(ts));
    put(o, "method", jstr(method_of(f)));
    put(o, "url", jstr(f->url ? f->url : ""));
    put(o, "scheme", jstr(f->scheme));
    put(o, "host", jstr(f->host));
    put(o, "port", json_integer(f->port));
    put(o, "path", path_json(f));
    put(o, "status", json_integer(f->resp ? f->resp->status : 0));
    put(o, "failed", json_boolean(f->fail.failed));
    put(o, "error", jstr(f->fail.failed ? f->fail.reason : ""));
    put(o, "mime", jstr(mime));
    put(o, "req_size", json_integer((json_int_t)f->req_body.total));
    put(o, "resp_size", json_integer((json_int_t)f->resp_body.total));
    put(o, "duration_ms", ms_json(f->timings.total));
    put(o, "client", jstr(f->client_addr));
    char app[64];
    flow_json_app(f, app, sizeof app);
    put(o, "app", jstr(app));
    put(o, "note", jstr(f->note));
    put(o, "diag_code", json_integer(f->diag_code));
    /* the first warning's code (ATS -1022 / -1200), so a list can mark flows that only worked
     * because of an exception */
    struct diagnosis warn[FLOW_JSON_MAX_WARNINGS];
    size_t nwarn = diagnose_warnings(f, warn, FLOW_JSON_MAX_WARNINGS);
    put(o, "warn_code", json_integer(nwarn && warn[0].entry ? warn[0].entry->code : 0));
    /* each kind and each non-zero code once, in order */
    json_t *kinds = json_array(), *codes = json_array();
    for (size_t i = 0; kinds && codes && i < nwarn; i++) {
        json_t *k = jstr(warn[i].kind ? warn[i].kind : "ats");
        int seen = 0;
        for (size_t j = 0; j < json_array_size(kinds); j++)
            seen |= json_equal(json_array_get(kinds, j), k);
        if (seen)
            json_decref(k);
        else
            json_array_append_new(kinds, k);
        json_t *c = json_integer(warn[i].entry ? warn[i].entry->code : 0);
        seen = !json_integer_value(c);
        for (size_t j = 0; j < json_array_size(codes); j++)
            seen |= json_equal(json_array_get(codes, j), c);
        if (seen)
            json_decref(c);
        else
            json_array_append_new(codes, c);
    }
    put(o, "warn_kinds", kinds);
    put(o, "warn_codes", codes);
    char why[64];
    flow_words_reason_short(f, why, sizeof why);
    put(o, "reason_short", jstr(why));
    put(o, "failed_before_tls", json_boolean(flow_words_failed_before_tls(f)));
    put(o, "own", json_boolean(f->own));
    put(o, "rules", json_integer(f->rules ? f->rules->n : 0));
    if (detail)
        add_detail(o, f);
    return o;
}

