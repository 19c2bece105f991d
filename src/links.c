/* links.c — see links.h. Every query is a range of ids (the primary key) filtered on columns
 * the flows table has (host, client, status, failed, mime), so a lookup reads at most
 * LINKS_WINDOW rows whatever the session's size; the URL comes from the summary with SQLite's
 * json_extract only for the rows that pass. */
#include "links.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sqlite3.h>
#include <event2/buffer.h>
#include "flow_detail.h"
#include "hls.h"

#define VISIBLE_FROM "(SELECT coalesce((SELECT value FROM meta WHERE key='cleared_upto'), 0))"

/* A playlist is read up to this many bytes (as warnings.c checks it). */
#define LINKS_PLAYLIST_MAX (1024u * 1024)
/* The most URIs of one playlist that are matched. */
#define LINKS_URIS_MAX 20000

/* The first header called name in the head object h (request or response), or NULL. */
static const char *header(json_t *h, const char *name)
{
    json_t *hs = json_object_get(h, "headers"), *e;
    size_t i;
    json_array_foreach(hs, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && !strcasecmp(n, name))
            return json_string_value(json_object_get(e, "value"));
    }
    return NULL;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The entity tag at *p (W/ dropped: If-None-Match compares weakly), its length in *n; advances
 * *p past it and a following comma. 0 at the end. */
static int next_tag(const char **p, const char **tag, size_t *n)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t' || *s == ',')
        s++;
    if (!*s)
        return 0;
    if (!strncmp(s, "W/", 2))
        s += 2;
    const char *e = s;
    if (*e == '"') {
        e = strchr(e + 1, '"');
        e = e ? e + 1 : s + strlen(s);
    } else
        e += strcspn(e, ", \t");
    *tag = s;
    *n = (size_t)(e - s);
    *p = e;
    return 1;
}

/* 1 when the conditional request req revalidates the response resp: an If-None-Match tag (or *)
 * is resp's ETag, or If-Modified-Since is its Last-Modified (URLSession sends it back as is). */
static int validators_match(json_t *req, json_t *resp)
{
    const char *inm = header(req, "If-None-Match"), *etag = header(resp, "ETag");
    if (inm && etag) {
        const char *et, *p = etag, *t;
        size_t etn, n;
        if (!next_tag(&p, &et, &etn))
            return 0;
        p = inm;
        while (next_tag(&p, &t, &n))
            if ((n == 1 && *t == '*') || (n == etn && !memcmp(t, et, n)))
                return 1;
        return 0;
    }
    const char *ims = header(req, "If-Modified-Since"), *lm = header(resp, "Last-Modified");
    return !inm && ims && lm && !strcasecmp(ims, lm);
}

static int conditional(json_t *req)
{
    return header(req, "If-None-Match") || header(req, "If-Modified-Since");
}

static json_t *link_of(const char *rel, sqlite3_int64 id, const char *url, int status, int failed,
                       const char *reason)
{
    return json_pack("{s:s, s:I, s:s, s:i, s:b, s:s}", "rel", rel, "flow", (json_int_t)id, "url",
                     url ? url : "", "status", status, "failed", failed, "reason",
                     reason ? reason : "");
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* ------------------------------------------------------------------------------------------ */
/* URLCache revalidation */

/* Flows of the same device and URL answered 200/203 or 304, nearest first, in the window. */
static const char before_sql[] =
    "SELECT id, status, detail, json_extract(summary, '$.url') FROM flows WHERE id < ?1 AND id >= ?2 AND id > " VISIBLE_FROM
    " AND host IS ?3 AND client IS ?4 AND status IN (200, 203, 304) AND failed = 0"
    " AND json_extract(summary, '$.url') = ?5 ORDER BY id DESC LIMIT 200";
static const char after_sql[] =
    "SELECT id, status, detail, json_extract(summary, '$.url') FROM flows WHERE id > ?1 AND id <= ?2"
    " AND host IS ?3 AND client IS ?4 AND status IN (200, 203, 304) AND failed = 0"
    " AND json_extract(summary, '$.url') = ?5 ORDER BY id LIMIT 200";

/* The URL of a before_sql / after_sql row (its summary's: a detail may be stored without it). */
static const char *column_url(sqlite3_stmt *st)
{
    const char *u = (const char *)sqlite3_column_text(st, 3);
    return u ? u : "";
}

static sqlite3_stmt *same_url(sqlite3 *db, const char *sql, sqlite3_int64 id, sqlite3_int64 edge,
                              json_t *d)
{
    sqlite3_stmt *st = prepare(db, sql);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, edge);
    bind_text(st, 3, json_string_value(json_object_get(d, "host")));
    bind_text(st, 4, json_string_value(json_object_get(d, "client")));
    sqlite3_bind_text(st, 5, str(d, "url"), -1, SQLITE_TRANSIENT);
    return st;
}

/* A 304: the nearest earlier 200/203 whose validators the request sent back. */
static void link_revalidated(sqlite3 *db, json_t *d, sqlite3_int64 id, json_t *links)
{
    json_t *req = json_object_get(d, "request");
    sqlite3_stmt *st = same_url(db, before_sql, id, id > LINKS_WINDOW ? id - LINKS_WINDOW : 0, d);
    if (!st)
        return;
    json_t *found = NULL;
    while (!found && sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_int(st, 1) == 304)
            continue; /* an earlier revalidation of the same response: look further back */
        json_t *o = flow_detail_load(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
        if (o && validators_match(req, json_object_get(o, "response")))
            found = link_of("revalidates", sqlite3_column_int64(st, 0), column_url(st),
                            sqlite3_column_int(st, 1), 0, "");
        json_decref(o);
    }
    sqlite3_finalize(st);
    if (!found) /* cached before this session began, or the validators match nothing seen */
        found = json_pack("{s:s, s:n, s:s, s:i, s:b, s:s}", "rel", "revalidates", "flow", "url",
                          str(d, "url"), "status", 0, "failed", 0, "reason",
                          "the response it revalidates is not in this session");
    json_array_append_new(links, found);
}

/* A 200/203 with validators: the later 304s that revalidated it, until the URL was answered
 * with a full response again. */
static void link_revalidations(sqlite3 *db, json_t *d, sqlite3_int64 id, json_t *links)
{
    json_t *resp = json_object_get(d, "response");
    if (!header(resp, "ETag") && !header(resp, "Last-Modified"))
        return;
    sqlite3_stmt *st = same_url(db, after_sql, id, id + LINKS_WINDOW, d);
    if (!st)
        return;
    size_t n = 0;
    while (n < LINKS_MAX && sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_int(st, 1) != 304)
            break; /* a full response again: later 304s revalidate that one */
        json_t *o = flow_detail_load(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
        if (o && validators_match(json_object_get(o, "request"), resp)) {
            json_array_append_new(links, link_of("revalidated-by", sqlite3_column_int64(st, 0),
                                                 column_url(st), 304, 0, ""));
            n++;
        }
        json_decref(o);
    }
    sqlite3_finalize(st);
}

/* ------------------------------------------------------------------------------------------ */
/* HLS */

struct uris {
    const char *base;
    char **v;
    size_t n, cap;
};

static void collect(const char *u, size_t n, unsigned line, int attr, void *arg)
{
    (void)line, (void)attr;
    struct uris *us = arg;
    char abs[2048];
    if (us->n >= LINKS_URIS_MAX || hls_resolve(us->base, u, n, abs, sizeof abs) < 0)
        return;
    if (us->n == us->cap) {
        size_t cap = us->cap ? us->cap * 2 : 64;
        char **v = realloc(us->v, cap * sizeof *v);
        if (!v)
            return;
        us->v = v;
        us->cap = cap;
    }
    if ((us->v[us->n] = strdup(abs)))
        us->n++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void uris_free(struct uris *us)
{
    for (size_t i = 0; i < us->n; i++)
        free(us->v[i]);
    free(us->v);
}

/* The resolved URIs of playlist flow id (sorted), from its decoded response body. */
static int playlist_uris(struct store_reader *r, sqlite3_int64 id, const char *url, struct uris *us)
{
    memset(us, 0, sizeof *us);
    us->base = url;
    struct evbuffer *b = evbuffer_new();
    char mime[8];
    if (!b)
        return -1;
    int rc = store_reader_body(r, (uint64_t)id, 1, 1, b, mime, sizeof mime);
    size_t len = evbuffer_get_length(b);
    if (rc == 0 && len >= 7 && len <= LINKS_PLAYLIST_MAX) {
        const char *text = (const char *)evbuffer_pullup(b, -1);
        if (text && !memcmp(text, "#EXTM3U", 7))
            hls_each_uri(text, len, collect, us);
    }
    evbuffer_free(b);
    if (us->n > 1)
        qsort(us->v, us->n, sizeof *us->v, cmp_str);
    return 0;
}

static int listed(const struct uris *us, const char *url)
{
    return us->n && bsearch(&url, us->v, us->n, sizeof *us->v, cmp_str) != NULL;
}

static int is_playlist(json_t *d)
{
    const char *m = str(d, "mime"), *path = str(d, "path");
    size_t q = strcspn(path, "?#");
    return strcasestr(m, "mpegurl") || (q >= 5 && !strncasecmp(path + q - 5, ".m3u8", 5));
}

/* Failed flows of the same device after the playlist, in the window. */
static const char failed_after_sql[] =
    "SELECT id, status, failed, json_extract(summary, '$.url'),"
    " json_extract(summary, '$.reason_short'), json_extract(summary, '$.diag_code')"
    " FROM flows WHERE id > ?1 AND id <= ?2"
    " AND client IS ?3 AND (failed = 1 OR status >= 400) ORDER BY id";

static void link_failed_uris(struct store_reader *r, sqlite3 *db, json_t *d, sqlite3_int64 id,
                             json_t *links)
{
    struct uris us;
    if (playlist_uris(r, id, str(d, "url"), &us) < 0 || !us.n) {
        uris_free(&us);
        return;
    }
    sqlite3_stmt *st = prepare(db, failed_after_sql);
    if (!st) {
        uris_free(&us);
        return;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, id + LINKS_WINDOW);
    bind_text(st, 3, json_string_value(json_object_get(d, "client")));
    size_t n = 0, total = 0;
    sqlite3_int64 first = 0;
    int first_status = 0, first_code = 0;
    char first_url[256] = "", first_why[160] = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *url = (const char *)sqlite3_column_text(st, 3);
        if (!url || !listed(&us, url))
            continue;
        int status = sqlite3_column_int(st, 1), failed = sqlite3_column_int(st, 2);
        const char *why = (const char *)sqlite3_column_text(st, 4);
        if (!total++) {
            first = sqlite3_column_int64(st, 0);
            first_status = failed ? 0 : status;
            first_code = sqlite3_column_int(st, 5);
            snprintf(first_url, sizeof first_url, "%s", url);
            if (failed)
                snprintf(first_why, sizeof first_why, "%s", why && *why ? why : "failed");
            else
                snprintf(first_why, sizeof first_why, "HTTP %d", status);
        }
        if (n < LINKS_MAX) {
            json_array_append_new(links, link_of("hls-failed", sqlite3_column_int64(st, 0), url,
                                                 status, failed, why));
            n++;
        }
    }
    sqlite3_finalize(st);
    if (total) {
        json_t *warnings = json_object_get(d, "warnings");
        if (!json_is_array(warnings)) {
            warnings = json_array();
            json_object_set_new(d, "warnings", warnings);
        }
        /* what the player's error log says about the first: AVPlayerItemErrorLog entries carry
         * CoreMediaErrorDomain -12938 for an HTTP 404 and -12660 for a 403; other statuses as
         * HTTP, a transport failure as its NSURLErrorDomain code */
        int code = first_code;
        const char *domain = NULL;
        char name[64] = "segment failed";
        if (first_status == 404 || first_status == 403) {
            code = first_status == 404 ? -12938 : -12660;
            domain = "CoreMediaErrorDomain";
            snprintf(name, sizeof name, "HTTP %d: %s", first_status,
                     first_status == 404 ? "File Not Found" : "Forbidden");
        } else if (first_status) {
            code = first_status;
            domain = "HTTP";
            snprintf(name, sizeof name, "HTTP %d", first_status);
        }
        char detail[768];
        snprintf(detail, sizeof detail,
                 "%zu of the playlist's %zu URIs failed when the player fetched them; the first, "
                 "%s, in flow #%lld (%s). AVPlayer stalls, switches variant or fails the item; "
                 "its error log (AVPlayerItem.errorLog()) names the URI.",
                 total, us.n, first_url, (long long)first, first_why);
        json_t *w = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "code", code, "name", name,
                              "kind", "hls", "stage", "response", "title",
                              "Segments or variants of this playlist failed", "detail", detail,
                              "fix",
                              "Open the linked flows: each says why it failed (a missing segment, "
                              "an expired signed URL, a CDN refusing the app). Every URI a playlist "
                              "lists must stay fetchable for as long as the playlist is served.",
                              "flow", (json_int_t)first);
        if (w && domain)
            json_object_set_new(w, "domain", json_string(domain));
        if (w)
            json_array_append_new(warnings, w);
    }
    uris_free(&us);
}

/* Earlier playlists of the same device, nearest first. */
static const char playlists_sql[] =
    "SELECT id, json_extract(summary, '$.url') FROM flows WHERE id < ?1 AND id >= ?2"
    " AND id > " VISIBLE_FROM " AND client IS ?3 AND status = 200"
    " AND (mime LIKE '%mpegurl%' OR json_extract(summary, '$.path') LIKE '%.m3u8%')"
    " ORDER BY id DESC LIMIT 20"; /* the playlists looked at */

/* A segment or variant: the nearest earlier playlist of the same device that lists it. */
static void link_playlist(struct store_reader *r, sqlite3 *db, json_t *d, sqlite3_int64 id,
                          json_t *links)
{
    sqlite3_stmt *st = prepare(db, playlists_sql);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, id > LINKS_WINDOW ? id - LINKS_WINDOW : 0);
    bind_text(st, 3, json_string_value(json_object_get(d, "client")));
    const char *url = str(d, "url");
    int found = 0;
    while (!found && sqlite3_step(st) == SQLITE_ROW) {
        sqlite3_int64 pid = sqlite3_column_int64(st, 0);
        const char *purl = (const char *)sqlite3_column_text(st, 1);
        char *base = purl ? strdup(purl) : NULL; /* the column text is only ours until the next step */
        struct uris us;
        if (base && playlist_uris(r, pid, base, &us) == 0) {
            if (listed(&us, url)) {
                json_array_append_new(links, link_of("hls-playlist", pid, base, 200, 0, ""));
                found = 1;
            }
            uris_free(&us);
        }
        free(base);
    }
    sqlite3_finalize(st);
}

/* 1 when the path ends like a media segment, key, subtitle or nested playlist. */
static int media_path(const char *path)
{
    static const char *const ext[] = {".ts", ".m4s", ".mp4", ".m4a", ".m4v", ".aac", ".mp3",
                                      ".vtt", ".webvtt", ".key", ".m3u8", ".cmfv", ".cmfa"};
    size_t q = strcspn(path, "?#");
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        size_t n = strlen(ext[i]);
        if (q >= n && !strncasecmp(path + q - n, ext[i], n))
            return 1;
    }
    return 0;
}

void links_add(struct store_reader *r, json_t *d)
{
    sqlite3 *db = store_reader_db(r);
    json_int_t id = json_integer_value(json_object_get(d, "id"));
    if (id <= 0 || strcmp(str(d, "kind"), "http"))
        return; /* tunnels carry no URL of their own to link */
    json_t *links = json_array();
    if (!links)
        return;
    int status = (int)json_integer_value(json_object_get(d, "status"));
    int failed = json_is_true(json_object_get(d, "failed"));
    int get = !strcmp(str(d, "method"), "GET");
    if (get && !failed && status == 304 && conditional(json_object_get(d, "request")))
        link_revalidated(db, d, id, links);
    if (get && !failed && (status == 200 || status == 203))
        link_revalidations(db, d, id, links);
    if (get && !failed && status == 200 && is_playlist(d))
        link_failed_uris(r, db, d, id, links);
    if (get && (failed || status >= 400 || media_path(str(d, "path"))))
        link_playlist(r, db, d, id, links);
    if (json_array_size(links))
        json_object_set_new(d, "links", links);
    else
        json_decref(links);
}
