/* store_read.c — the session file's readers (store.h: store_reader_*): each its own SQLite
 * connection, used by one thread at a time (the viewer's, an export's). The writer is store.c. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include <zlib.h>
#include "body_decode.h"
#include "store_tls.h"
#include "log.h"
#include "store_db.h"
#include "store_seq.h"
#include "flow_detail.h"
#include "flow_json.h"

struct store_reader {
    sqlite3 *db;
    sqlite3_stmt *list, *list_text, *get, *body[2], *ids;
    struct store_seq_reader seq; /* the commit sequence (store_seq.h) */
    int has_seq;               /* 0: a file without the seq column (no live resume) */
    sqlite3_stmt *tls_get;     /* store_tls_put_back's (prepared at its first use) */
    char *side_path;           /* the session's body file */
    int side_fd;               /* opened at the first body read from it; -1 before */
};

#define VISIBLE "(SELECT coalesce((SELECT value FROM meta WHERE key='cleared_upto'), 0))"

struct store_reader *store_reader_open(const char *path, char *err, size_t errlen)
{
    struct store_reader *r = calloc(1, sizeof *r);
    if (r)
        r->side_fd = -1;
    if (!r || asprintf(&r->side_path, "%s-bodies", path) < 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        free(r);
        return NULL;
    }
    if (access(path, F_OK) < 0) {
        snprintf(err, errlen, "%s: no such session file", path);
        goto fail;
    }
    /* read-write without create: a missing file is an error, and clear needs to write meta */
    if (!(r->db = store_db_open(path, SQLITE_OPEN_READWRITE, err, errlen)) &&
        !(r->db = store_db_open(path, SQLITE_OPEN_READONLY, err, errlen)))
        goto fail;
    sqlite3_int64 n = 0;
    if (store_db_query_int64(r->db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='flows'",
                    &n) < 0) {
        snprintf(err, errlen, "%s: not a session file: %s", path, sqlite3_errmsg(r->db));
        goto fail;
    }
    if (n != 1) {
        snprintf(err, errlen, "%s: not an httpeek session file (no flows table)", path);
        goto fail;
    }
    static const char *const body_sql[2] = {
        "SELECT req_body, req_len, req_trunc, req_ctype, req_cenc, req_at, req_flen FROM flows"
        " WHERE id=?1",
        "SELECT resp_body, resp_len, resp_trunc, resp_ctype, resp_cenc, resp_at, resp_flen"
        " FROM flows WHERE id=?1"};
    /* a file from a build before the body file, opened read-only (not migrated): no _at */
    static const char *const old_body_sql[2] = {
        "SELECT req_body, req_len, req_trunc, req_ctype, req_cenc, NULL, NULL FROM flows WHERE id=?1",
        "SELECT resp_body, resp_len, resp_trunc, resp_ctype, resp_cenc, NULL, NULL FROM flows"
        " WHERE id=?1"};
    for (int i = 0; i < 2; i++)
        if (sqlite3_prepare_v2(r->db, body_sql[i], -1, &r->body[i], NULL) != SQLITE_OK)
            sqlite3_prepare_v2(r->db, old_body_sql[i], -1, &r->body[i], NULL);
    if (sqlite3_prepare_v2(r->db,
                           "SELECT summary FROM flows WHERE id > max(?1, " VISIBLE ") ORDER BY id"
                           " LIMIT ?2", -1, &r->list, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(r->db,
                           "SELECT summary, client FROM flows WHERE id > max(?1, " VISIBLE ")"
                           " ORDER BY id LIMIT ?2", -1, &r->list_text, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(r->db, "SELECT detail, summary FROM flows WHERE id=?1", -1, &r->get, NULL) != SQLITE_OK ||
        !r->body[0] || !r->body[1] ||
        sqlite3_prepare_v2(r->db, "SELECT id FROM flows WHERE id > " VISIBLE " ORDER BY id", -1,
                           &r->ids, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: not a usable session file: %s", path, sqlite3_errmsg(r->db));
        goto fail;
    }
    /* a file written before the commit sequence, opened read-only: no live resume (export only) */
    r->has_seq = store_seq_reader_open(&r->seq, r->db, VISIBLE) == 0;
    return r;
fail:
    store_reader_close(r);
    return NULL;
}

void store_reader_close(struct store_reader *r)
{
    if (!r)
        return;
    sqlite3_finalize(r->list);
    sqlite3_finalize(r->list_text);
    sqlite3_finalize(r->get);
    sqlite3_finalize(r->body[0]);
    sqlite3_finalize(r->body[1]);
    sqlite3_finalize(r->ids);
    if (r->has_seq)
        store_seq_reader_close(&r->seq);
    sqlite3_finalize(r->tls_get);
    sqlite3_close(r->db);
    if (r->side_fd >= 0)
        close(r->side_fd);
    free(r->side_path);
    free(r);
}

json_t *store_reader_list(struct store_reader *r, uint64_t after_id, size_t limit)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    sqlite3_stmt *st = r->list;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)after_id);
    sqlite3_bind_int64(st, 2, limit ? (sqlite3_int64)limit : -1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        json_t *o = text ? json_loads(text, 0, NULL) : NULL;
        if (o)
            json_array_append_new(a, o);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        log_msg(LOG_WARN, "store: list: %s", sqlite3_errmsg(r->db));
        json_decref(a);
        return NULL;
    }
    return a;
}

int store_reader_list_text(struct store_reader *r, uint64_t after_id, size_t limit,
                           int (*fn)(const char *summary, size_t len, const char *client, void *arg),
                           void *arg)
{
    sqlite3_stmt *st = r->list_text;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)after_id);
    sqlite3_bind_int64(st, 2, limit ? (sqlite3_int64)limit : -1);
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        const char *client = (const char *)sqlite3_column_text(st, 1);
        if (text && (ret = fn(text, len, client ? client : "", arg)) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        log_msg(LOG_WARN, "store: list: %s", sqlite3_errmsg(r->db));
        ret = -1;
    }
    sqlite3_reset(st);
    return ret;
}

struct sqlite3 *store_reader_db(struct store_reader *r)
{
    return r->db;
}

int store_reader_list_seq(struct store_reader *r, uint64_t after_seq, size_t limit,
                          int (*fn)(const char *summary, size_t len, const char *client,
                                    uint64_t seq, void *arg),
                          void *arg)
{
    if (!r->has_seq)
        return -1;
    int ret = store_seq_list(&r->seq, after_seq, limit, fn, arg);
    if (ret == -1)
        log_msg(LOG_WARN, "store: list by commit: %s", sqlite3_errmsg(r->db));
    return ret;
}

int store_reader_last_seq(struct store_reader *r, uint64_t *seq)
{
    if (!r->has_seq)
        return -1;
    if (store_seq_last(&r->seq, seq) == 0)
        return 0;
    log_msg(LOG_WARN, "store: last commit: %s", sqlite3_errmsg(r->db));
    return -1;
}

json_t *store_reader_get(struct store_reader *r, uint64_t id)
{
    sqlite3_stmt *st = r->get;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    json_t *o = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        /* a JSON text, or (schema 2) a flow record written as that text now */
        o = flow_detail_load(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        o = flow_json_whole(o, (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
    if (o) {
        flow_json_put_back(o);
        store_tls_put_back(r->db, &r->tls_get, o);
    }
    return o;
}

int store_reader_body(struct store_reader *r, uint64_t id, int response, int decode,
                      struct evbuffer *out, char *mime, size_t mimelen)
{
    sqlite3_stmt *st = r->body[response ? 1 : 0];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    if (mimelen)
        mime[0] = '\0';
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return -1;
    }
    int rc = 0;
    const void *z = sqlite3_column_blob(st, 0);
    size_t zlen = (size_t)sqlite3_column_bytes(st, 0);
    sqlite3_int64 len = sqlite3_column_int64(st, 1);
    int truncated = sqlite3_column_int(st, 2);
    const char *ctype = (const char *)sqlite3_column_text(st, 3);
    const char *cenc = (const char *)sqlite3_column_text(st, 4);
    if (mimelen)
        snprintf(mime, mimelen, "%s", ctype ? ctype : "");
    unsigned char *side = NULL; /* the body file's bytes for this body */
    if (sqlite3_column_type(st, 5) != SQLITE_NULL && len > 0) {
        sqlite3_int64 at = sqlite3_column_int64(st, 5), flen = sqlite3_column_int64(st, 6);
        if (r->side_fd < 0)
            r->side_fd = open(r->side_path, O_RDONLY | O_CLOEXEC);
        ssize_t n = -1;
        if (r->side_fd >= 0 && at >= 0 && flen > 0 && flen <= len && (side = malloc((size_t)flen)))
            n = pread(r->side_fd, side, (size_t)flen, (off_t)at);
        if (n != (ssize_t)flen || n <= 0) {
            log_msg(LOG_WARN, "store: flow %llu: body missing from %s: %s", (unsigned long long)id,
                    r->side_path, r->side_fd < 0 ? strerror(errno) : "file too short");
            free(side);
            sqlite3_reset(st);
            return -1;
        }
        z = side;
        zlen = (size_t)flen;
    }
    if (len <= 0 || !z) {
        sqlite3_reset(st);
        return 0; /* an empty body is a body */
    }
    unsigned char *raw = NULL;
    uLongf rawlen = (uLongf)len;
    if (side && zlen == (size_t)len) { /* stored raw */
        raw = side;
        side = NULL;
    } else if ((raw = malloc((size_t)len)) != NULL) {
        int inflated = uncompress(raw, &rawlen, z, (uLong)zlen) == Z_OK && rawlen == (uLongf)len;
        if (!inflated && zlen == (size_t)len) {
            /* raw bytes in the row. (Files from builds that kept every body as zlib may hold a
             * stream exactly as long as its body: it inflated above; raw bytes do not.) */
            memcpy(raw, z, zlen);
            rawlen = (uLongf)len;
        } else if (!inflated) {
            free(raw);
            raw = NULL;
        }
    }
    free(side);
    if (!raw) {
        log_msg(LOG_WARN, "store: flow %llu: stored body is damaged", (unsigned long long)id);
        rc = -1;
    } else if (decode && cenc && *cenc)
        rc = body_decode(cenc, truncated, raw, rawlen, BODY_DECODE_MAX, out) < 0 ? -2 : 0;
    else
        evbuffer_add(out, raw, rawlen);
    free(raw);
    sqlite3_reset(st);
    return rc;
}

int store_reader_clear(struct store_reader *r)
{
    char *msg = NULL;
    sqlite3_int64 has_stats = 0;
    store_db_query_int64(r->db, "SELECT count(*) FROM sqlite_master WHERE name='client_stats'", &has_stats);
    /* one transaction: the counts restart exactly where the visible flows do */
    if (sqlite3_exec(r->db,
                     has_stats ? "BEGIN IMMEDIATE;"
                                 "INSERT OR REPLACE INTO meta(key, value) VALUES('cleared_upto',"
                                 " (SELECT coalesce(max(id), 0) FROM flows));"
                                 "DELETE FROM client_stats;"
                                 "COMMIT"
                               : "INSERT OR REPLACE INTO meta(key, value) VALUES('cleared_upto',"
                                 " (SELECT coalesce(max(id), 0) FROM flows))",
                     NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
        log_msg(LOG_WARN, "store: clear: %s", msg ? msg : sqlite3_errmsg(r->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int store_reader_foreach(struct store_reader *r, int (*fn)(uint64_t id, void *arg), void *arg)
{
    sqlite3_stmt *st = r->ids;
    sqlite3_reset(st);
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((ret = fn((uint64_t)sqlite3_column_int64(st, 0), arg)) != 0)
            break;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        log_msg(LOG_WARN, "store: foreach: %s", sqlite3_errmsg(r->db));
        ret = -1;
    }
    sqlite3_reset(st);
    return ret;
}

json_t *store_reader_clients(struct store_reader *r)
{
    sqlite3_int64 has_stats = 0;
    store_db_query_int64(r->db, "SELECT count(*) FROM sqlite_master WHERE name='client_stats'", &has_stats);
    /* a file from an older build, opened read-only by a reader: count the slow way */
    static const char scan_sql[] =
        "SELECT client, count(*), sum(failed),"
        " sum(kind='http' AND instr(summary, '\"scheme\":\"https\"') > 0),"
        " sum(coalesce(host, '') <> 'httpeek.test')"
        " FROM flows WHERE id > " VISIBLE " GROUP BY client ORDER BY min(id)";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           has_stats ? "SELECT addr, flows, failed, https, app FROM client_stats"
                                       " WHERE flows > 0 ORDER BY rowid"
                                     : scan_sql,
                           -1, &st, NULL) != SQLITE_OK) {
        log_msg(LOG_WARN, "store: clients: %s", sqlite3_errmsg(r->db));
        return NULL;
    }
    json_t *a = json_array();
    int rc;
    while (a && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *addr = (const char *)sqlite3_column_text(st, 0);
        json_array_append_new(a, json_pack("{s:s, s:I, s:I, s:I, s:I}", "addr", addr ? addr : "",
                                           "flows", (json_int_t)sqlite3_column_int64(st, 1),
                                           "failed", (json_int_t)sqlite3_column_int64(st, 2),
                                           "https", (json_int_t)sqlite3_column_int64(st, 3),
                                           "app", (json_int_t)sqlite3_column_int64(st, 4)));
    }
    sqlite3_finalize(st);
    return a;
}

/* client_names is created on first use, so that session files from older builds stay readable */
static const char client_names_sql[] =
    "CREATE TABLE IF NOT EXISTS client_names(addr TEXT PRIMARY KEY, name TEXT NOT NULL)";

json_t *store_reader_client_names(struct store_reader *r)
{
    json_t *o = json_object();
    sqlite3_stmt *st;
    sqlite3_int64 n = 0;
    if (!o || store_db_query_int64(r->db, "SELECT count(*) FROM sqlite_master WHERE name='client_names'",
                          &n) < 0 || n == 0)
        return o;
    if (sqlite3_prepare_v2(r->db, "SELECT addr, name FROM client_names", -1, &st, NULL) != SQLITE_OK)
        return o;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *addr = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (addr && name)
            json_object_set_new(o, addr, json_string(name));
    }
    sqlite3_finalize(st);
    return o;
}

int store_reader_set_client_name(struct store_reader *r, const char *addr, const char *name)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(r->db, client_names_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(r->db,
                           name[0] ? "INSERT OR REPLACE INTO client_names(addr, name) VALUES(?1, ?2)"
                                   : "DELETE FROM client_names WHERE addr=?1",
                           -1, &st, NULL) != SQLITE_OK) {
        log_msg(LOG_WARN, "store: client name: %s", sqlite3_errmsg(r->db));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_bind_text(st, 1, addr, -1, SQLITE_TRANSIENT);
    if (name[0])
        sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        log_msg(LOG_WARN, "store: client name: %s", sqlite3_errmsg(r->db));
        return -1;
    }
    return 0;
}
