/* test_store.c — the session store through its contract: flows handed to store_sink are
 * committed by the writer thread (notify after commit), read back as summary/detail JSON, bodies
 * come back exact and decoded (gzip, deflate zlib and raw, br, stacked codings, truncated
 * captures; small, random and already-compressed bodies through their deflate paths), clear
 * hides earlier flows, ids continue on reopen, har_write streams valid JSON, and client_stats
 * counts each visible flow once (also in a file made by the earlier schema with its trigger).
 * Prints (as TAP comments) the commit rate and batch latency for 20,000 small flows. */
#include "../../src/store.c"
#include "../../src/store_row.c"
#include "../../src/flow_detail.h"

#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>
#ifdef HAVE_BROTLI_ENC
#include <brotli/encode.h>
#endif
#include "../../src/har.h"
#include "tap.h"

static atomic_ullong notified_hi, notified_n;

static void on_commit(uint64_t lo, uint64_t hi, void *arg)
{
    (void)arg;
    atomic_fetch_add(&notified_n, hi - lo + 1);
    if (hi > atomic_load(&notified_hi))
        atomic_store(&notified_hi, hi);
}

static void wait_committed(uint64_t n)
{
    for (int i = 0; i < 500 && atomic_load(&notified_n) < n; i++)
        usleep(10000);
}

static struct http1_head *resp_head(const char *ctype, const char *cenc)
{
    struct http1_head *h = calloc(1, sizeof *h);
    h->buf = malloc(512);
    h->fields = calloc(2, sizeof *h->fields);
    char *p = h->buf;
    *p++ = '\0';
    h->reason = h->target = h->buf;
    const char *nv[4] = {"Content-Type", ctype, "Content-Encoding", cenc};
    for (int i = 0; i < 2; i++) {
        if (!nv[2 * i + 1])
            continue;
        h->fields[h->nfields].name = p;
        p = stpcpy(p, nv[2 * i]) + 1;
        h->fields[h->nfields].value = p;
        p = stpcpy(p, nv[2 * i + 1]) + 1;
        h->nfields++;
    }
    h->status = 200;
    h->major = h->minor = 1;
    return h;
}

static struct flow *mkflow_ct(uint64_t id, const char *ctype, const char *cenc, const void *body,
                              size_t len, size_t max)
{
    struct flow *f = flow_new(id, 1, max);
    snprintf(f->host, sizeof f->host, "h%llu.test", (unsigned long long)id);
    snprintf(f->scheme, sizeof f->scheme, "http");
    f->port = 80;
    char url[64];
    snprintf(url, sizeof url, "http://h%llu.test/x", (unsigned long long)id);
    flow_set_url(f, url);
    f->resp = resp_head(ctype, cenc);
    flow_capture_add(&f->resp_body, body, len);
    f->marks.end = flow_now_us();
    return f;
}

static struct flow *mkflow(uint64_t id, const char *cenc, const void *body, size_t len, size_t max)
{
    return mkflow_ct(id, "text/plain", cenc, body, len, max);
}

/* A flow from client addr, scheme https or http, to host, failed or not (for client_stats). */
static struct flow *mkclient(uint64_t id, const char *addr, int https, const char *host, int failed)
{
    struct flow *f = mkflow(id, NULL, "ok", 2, 10);
    snprintf(f->client_addr, sizeof f->client_addr, "%s", addr);
    snprintf(f->scheme, sizeof f->scheme, "%s", https ? "https" : "http");
    snprintf(f->host, sizeof f->host, "%s", host);
    f->fail.failed = failed;
    return f;
}

/* The stored (zlib) size of flow id's response body, -1 when none. */
static long long stored_len(const char *path, uint64_t id)
{
    sqlite3 *db;
    sqlite3_int64 n = -1;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT coalesce(length(resp_body), -1) FROM flows WHERE id=%llu",
             (unsigned long long)id);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
        store_db_query_int64(db, sql, &n);
    sqlite3_close(db);
    return n;
}

/* The body file length of flow id's response body (resp_flen), -1 when it is in its row. */
static long long side_len(const char *path, uint64_t id)
{
    sqlite3 *db;
    sqlite3_int64 n = -1;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT coalesce(resp_flen, -1) FROM flows WHERE id=%llu",
             (unsigned long long)id);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
        store_db_query_int64(db, sql, &n);
    sqlite3_close(db);
    return n;
}

/* Pages (4 KiB) of the file at path, and in *cached how many of them are in the page cache. */
static long long file_pages_cached(const char *path, long long *cached)
{
    *cached = -1;
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    long page = sysconf(_SC_PAGESIZE);
    size_t n = ((size_t)st.st_size + (size_t)page - 1) / (size_t)page;
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    unsigned char *vec = malloc(n);
    if (m != MAP_FAILED && vec && mincore(m, (size_t)st.st_size, vec) == 0) {
        *cached = 0;
        for (size_t i = 0; i < n; i++)
            *cached += vec[i] & 1;
    }
    free(vec);
    if (m != MAP_FAILED)
        munmap(m, (size_t)st.st_size);
    close(fd);
    return (long long)n;
}

static int on_tmpfs(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

/* SQL detail_text(detail): a stored detail as its JSON text (a flow record written as the text
 * readers get, a JSON text as it is), for the checks below that look into the file. */
static void detail_text_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const void *p = sqlite3_value_blob(argv[0]);
    size_t n = (size_t)sqlite3_value_bytes(argv[0]);
    if (!flow_detail_is_record(p, n)) {
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    struct flow_json_text t = {0};
    if (flow_detail_emit(p, n, &t) == 0)
        sqlite3_result_text(ctx, t.buf, (int)t.len, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(ctx);
    flow_json_text_free(&t);
}

static long long count_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_int64 n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_create_function(db, "detail_text", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                detail_text_fn, NULL, NULL) == SQLITE_OK)
        store_db_query_int64(db, sql, &n);
    sqlite3_close(db);
    return n;
}

/* client_stats as the viewer reads it, one "addr flows failed https app;" per client. */
static void clients_text(struct store_reader *r, char *out, size_t outlen)
{
    json_t *a = store_reader_clients(r);
    size_t i, n = 0;
    json_t *c;
    out[0] = '\0';
    json_array_foreach(a, i, c)
        n += (size_t)snprintf(out + n, outlen - n, "%s %lld %lld %lld %lld;",
                              json_string_value(json_object_get(c, "addr")),
                              (long long)json_integer_value(json_object_get(c, "flows")),
                              (long long)json_integer_value(json_object_get(c, "failed")),
                              (long long)json_integer_value(json_object_get(c, "https")),
                              (long long)json_integer_value(json_object_get(c, "app")));
    json_decref(a);
}

/* Rows in which client_stats and the counts taken from the visible flows the slow way (the
 * backfill's SELECT) differ: 0 when they agree. */
static long long clients_differ(const char *path)
{
    const char *scan = strstr(client_stats_backfill_sql, "SELECT");
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM (SELECT * FROM (SELECT addr, flows, failed, https, app"
             " FROM client_stats WHERE flows > 0 EXCEPT %s) UNION ALL SELECT * FROM (%s EXCEPT"
             " SELECT addr, flows, failed, https, app FROM client_stats))", scan, scan);
    return count_sql(path, sql);
}

/* The schema of the builds before the writer counted clients itself: five indexes and a trigger
 * that counts each inserted row. */
static const char old_schema_sql[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE flows("
    " id INTEGER PRIMARY KEY, started INTEGER NOT NULL, kind TEXT NOT NULL, method TEXT,"
    " host TEXT, status INTEGER, failed INTEGER NOT NULL, client TEXT, mime TEXT,"
    " summary TEXT NOT NULL, detail TEXT NOT NULL,"
    " req_body BLOB, req_len INTEGER, req_total INTEGER, req_trunc INTEGER, req_ctype TEXT,"
    " req_cenc TEXT,"
    " resp_body BLOB, resp_len INTEGER, resp_total INTEGER, resp_trunc INTEGER, resp_ctype TEXT,"
    " resp_cenc TEXT);"
    "CREATE INDEX flows_started ON flows(started);"
    "CREATE INDEX flows_host ON flows(host);"
    "CREATE INDEX flows_status ON flows(status);"
    "CREATE INDEX flows_failed ON flows(failed);"
    "CREATE INDEX flows_client ON flows(client);"
    "INSERT INTO meta(key, value) VALUES('schema', 1);"
    "CREATE TABLE client_stats(addr TEXT PRIMARY KEY, flows INTEGER NOT NULL,"
    " failed INTEGER NOT NULL, https INTEGER NOT NULL, app INTEGER NOT NULL);"
    "CREATE TRIGGER flows_client_stats AFTER INSERT ON flows"
    " WHEN NEW.id > coalesce((SELECT value FROM meta WHERE key='cleared_upto'), 0) BEGIN"
    " INSERT INTO client_stats(addr, flows, failed, https, app) VALUES(coalesce(NEW.client, ''), 1,"
    "  NEW.failed, NEW.kind='http' AND instr(NEW.summary, '\"scheme\":\"https\"') > 0,"
    "  coalesce(NEW.host, '') <> 'httpeek.test')"
    " ON CONFLICT(addr) DO UPDATE SET flows=flows+1, failed=failed+excluded.failed,"
    "  https=https+excluded.https, app=app+excluded.app;"
    " END;"
    /* flow 1 from .1 (https), flow 2 from .2, a clear, flow 3 from .1 (http, failed) */
    "INSERT INTO flows(id, started, kind, host, failed, client, summary, detail)"
    " VALUES(1, 0, 'http', 'a.test', 0, '10.0.0.1', '{\"scheme\":\"https\"}', '{}');"
    "INSERT INTO flows(id, started, kind, host, failed, client, summary, detail)"
    " VALUES(2, 0, 'http', 'b.test', 0, '10.0.0.2', '{\"scheme\":\"http\"}', '{}');"
    "INSERT INTO meta(key, value) VALUES('cleared_upto', 2); DELETE FROM client_stats;"
    "INSERT INTO flows(id, started, kind, host, failed, client, summary, detail)"
    " VALUES(3, 0, 'http', 'a.test', 1, '10.0.0.1', '{\"scheme\":\"http\"}', '{}');";

/* Client counts: kept by the writer per batch, hidden flows not counted, old files (with the
 * trigger) counted once. */
static void test_client_stats(const char *dir)
{
    char path[160], err[512], got[512];
    snprintf(path, sizeof path, "%s/c.sqlite", dir);
    struct store *s = store_open(path, err, sizeof err);
    if (!s) {
        ok(0, "client_stats session: %s", err);
        return;
    }
    atomic_store(&notified_n, 0);
    store_set_notify(s, on_commit, NULL);
    is_int(count_sql(path, "SELECT count(*) FROM sqlite_master WHERE type IN ('index', 'trigger')"
                     " AND name LIKE 'flows_%' AND name <> 'flows_seq'"), 0,
           "a new session has no flows_* index or trigger (but the commit order's)");
    store_sink(mkclient(1, "10.0.0.1", 1, "a.test", 0), s);
    store_sink(mkclient(2, "10.0.0.1", 0, "a.test", 1), s);
    store_sink(mkclient(3, "10.0.0.2", 1, "httpeek.test", 0), s);
    struct flow *t = mkclient(4, "10.0.0.1", 1, "a.test", 0);
    t->kind = FLOW_TUNNEL; /* not an http flow: not counted as https */
    store_sink(t, s);
    wait_committed(4);
    struct store_reader *r = store_reader_open(path, err, sizeof err);
    clients_text(r, got, sizeof got);
    is_str(got, "10.0.0.1 3 1 1 3;10.0.0.2 1 0 1 0;", "client_stats: flows, failed, https, app");
    is_int(clients_differ(path), 0, "client_stats = the counts taken from the flows");
    is_int(store_reader_clear(r), 0, "clear");
    store_sink(mkclient(6, "10.0.0.2", 1, "b.test", 0), s);
    store_sink(mkclient(5, "10.0.0.3", 0, "httpeek.test", 1), s);
    wait_committed(6);
    clients_text(r, got, sizeof got);
    is_str(got, "10.0.0.2 1 0 1 1;10.0.0.3 1 1 0 0;", "after clear only the new flows count");
    is_int(clients_differ(path), 0, "after clear client_stats = the counts of the visible flows");
    store_reader_close(r);
    store_close(s);

    /* a session written by an earlier build: the trigger goes, the indexes stay */
    snprintf(path, sizeof path, "%s/old.sqlite", dir);
    sqlite3 *db;
    char *msg = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, old_schema_sql, NULL, NULL, &msg) != SQLITE_OK)
        printf("# old schema: %s\n", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    s = store_open(path, err, sizeof err);
    ok(s != NULL, "a session from an earlier build opens (%s)", s ? "ok" : err);
    if (!s)
        return;
    atomic_store(&notified_n, 0);
    store_set_notify(s, on_commit, NULL);
    is_int((long long)store_last_id(s), 3, "its ids go on");
    is_int(count_sql(path, "SELECT count(*) FROM sqlite_master WHERE name='flows_client_stats'"), 0,
           "its trigger is dropped");
    is_int(count_sql(path, "SELECT count(*) FROM sqlite_master WHERE type='index'"
                     " AND name LIKE 'flows_%' AND name <> 'flows_seq'"), 5,
           "its indexes are left alone");
    store_sink(mkclient(4, "10.0.0.1", 1, "a.test", 0), s);
    store_sink(mkclient(5, "10.0.0.2", 0, "httpeek.test", 0), s);
    wait_committed(2);
    r = store_reader_open(path, err, sizeof err);
    clients_text(r, got, sizeof got);
    is_str(got, "10.0.0.1 2 1 1 2;10.0.0.2 1 0 0 0;", "old session: each flow counted once");
    is_int(clients_differ(path), 0, "old session: client_stats = the counts of the visible flows");
    store_reader_close(r);
    store_close(s);
}

static size_t zcomp(const char *in, size_t len, unsigned char *out, size_t cap, int window);

static int body_is(struct store_reader *r, uint64_t id, int decode, const char *want, size_t wlen);

/* Bodies of STORE_SIDE_MIN bytes or more: in the body file (raw, or zlib when that is smaller),
 * written once, 0600, read back exactly; a missing body file is an error, not a crash; a session
 * from before the body file is read (not migrated) and then migrated by a writer. */
static void test_body_file(const char *dir)
{
    char path[160], side[180], err[512];
    snprintf(path, sizeof path, "%s/big.sqlite", dir);
    snprintf(side, sizeof side, "%s-bodies", path);
    struct store *s = store_open(path, err, sizeof err);
    if (!s) {
        ok(0, "body file session: %s", err);
        return;
    }
    atomic_store(&notified_n, 0);
    store_set_notify(s, on_commit, NULL);
    size_t n = 1u << 20;
    char *text = malloc(n), *rnd = malloc(n);
    unsigned rs = 11;
    static const char line[] = "{\"k\": [1, 2, 3], \"name\": \"value\"}\n";
    for (size_t i = 0; i < n; i++) {
        text[i] = line[i % (sizeof line - 1)];
        rs = rs * 1103515245 + 12345;
        rnd[i] = (char)(rs >> 16);
    }
    size_t gzcap = n + 4096, gzn;
    unsigned char *gz = malloc(gzcap);
    gzn = zcomp(rnd, 300000, gz, gzcap, 16 + 15); /* a gzip body that does not shrink */
    store_sink(mkflow_ct(1, "application/json", NULL, text, n, n), s);
    store_sink(mkflow_ct(2, "application/octet-stream", NULL, rnd, n, n), s);
    store_sink(mkflow_ct(3, "text/plain", "gzip", gz, gzn, n), s);
    struct flow *up = mkflow_ct(4, "text/plain", NULL, "ok", 2, n);
    up->req = resp_head("application/octet-stream", NULL);
    flow_capture_add(&up->req_body, rnd, 400000);
    store_sink(up, s);
    store_sink(mkflow_ct(5, "application/json", NULL, text, 1000, n), s);
    wait_committed(5);
    struct stat sb;
    ok(stat(side, &sb) == 0 && (sb.st_mode & 0777) == 0600, "the body file is made 0600");
    long long flen1 = side_len(path, 1), flen2 = side_len(path, 2), flen3 = side_len(path, 3);
    ok(stored_len(path, 1) == -1 && flen1 > 0 && flen1 < (long long)n / 10,
       "a 1 MiB JSON body: zlib in the body file (%lld bytes), not in the row", flen1);
    is_int(flen2, (long long)n, "a 1 MiB random body: raw in the body file");
    is_int(flen3, (long long)gzn, "a big gzip body: raw (as received) in the body file");
    is_int(side_len(path, 5), -1, "a 1 KiB body stays in its row");
    is_int(count_sql(path, "SELECT count(*) FROM flows WHERE id=4 AND req_body IS NULL"
                     " AND req_flen=400000"), 1, "a big request body goes to the body file too");
    ok(sb.st_size >= flen1 + flen2 + flen3 + 400000, "the body file holds each body once");
    struct store_reader *r = store_reader_open(path, err, sizeof err);
    ok(body_is(r, 1, 1, text, n), "zlib body from the body file read back exactly");
    ok(body_is(r, 2, 1, rnd, n), "raw body from the body file read back exactly");
    ok(body_is(r, 3, 0, (const char *)gz, gzn) && body_is(r, 3, 1, rnd, 300000),
       "gzip body from the body file: as received, and decoded");
    ok(body_is(r, 5, 1, text, 1000), "a body in its row still reads back");
    struct evbuffer *b = evbuffer_new();
    char mime[64];
    is_int(store_reader_body(r, 4, 0, 1, b, mime, sizeof mime), 0, "request body read");
    ok(evbuffer_get_length(b) == 400000 && !memcmp(evbuffer_pullup(b, -1), rnd, 400000),
       "request body from the body file read back exactly");
    store_reader_close(r);
    /* a second writer on the same session (another httpeek): the body file is locked by the
     * first, so its big bodies stay in the database instead of overwriting the first's */
    struct store *s2 = store_open(path, err, sizeof err);
    if (s2) {
        store_set_notify(s2, on_commit, NULL);
        store_sink(mkflow_ct(6, "application/octet-stream", NULL, rnd, 300000, n), s2);
        store_sink(mkflow_ct(7, "application/octet-stream", NULL, rnd, 300000, n), s);
        wait_committed(7);
        store_close(s2);
    }
    ok(s2 && side_len(path, 6) == -1 && stored_len(path, 6) == 300000 && side_len(path, 7) == 300000,
       "a second writer keeps its big bodies (raw: random bytes) in the database; the first goes "
       "on using the file");
    /* small bodies that would not shrink stay raw in their row: no zlib, no copy */
    store_sink(mkflow_ct(8, "application/octet-stream", NULL, rnd, 1024, n), s);
    store_sink(mkflow_ct(9, "image/jpeg", NULL, text, 2000, n), s);
    wait_committed(9);
    is_int(stored_len(path, 8), 1024, "a 1 KiB random body: raw in its row");
    is_int(stored_len(path, 9), 2000, "a 2 KB image/jpeg body (compressed media): raw in its row");
    /* a body its head announced (Content-Length): captured at a block boundary, written from
     * where it is (its whole blocks) and through the bounce buffer (the last part block) */
    struct flow *an = flow_new(10, 1, n);
    snprintf(an->host, sizeof an->host, "h10.test");
    an->resp = resp_head("application/octet-stream", NULL);
    flow_capture_expect(&an->resp_body, 700003);
    for (size_t at = 0; at < 700003; at += 65536)
        flow_capture_add(&an->resp_body, rnd + at, 700003 - at < 65536 ? 700003 - at : 65536);
    ok((uintptr_t)an->resp_body.data % CAPTURE_ALIGN == 0 && an->resp_body.cap < 700003 + CAPTURE_ALIGN,
       "an announced 700,003-byte body is captured in one block-aligned allocation of its size");
    an->marks.end = flow_now_us();
    store_sink(an, s);
    wait_committed(10);
    is_int(side_len(path, 10), 700003, "... written raw to the body file");
    r = store_reader_open(path, err, sizeof err);
    ok(body_is(r, 10, 1, rnd, 700003), "... and read back exactly (whole blocks and the tail)");
    store_reader_close(r);
    r = store_reader_open(path, err, sizeof err);
    ok(body_is(r, 6, 1, rnd, 300000) && body_is(r, 7, 1, rnd, 300000) && body_is(r, 2, 1, rnd, n),
       "both read back exactly, and the bodies before them too");
    ok(body_is(r, 8, 1, rnd, 1024) && body_is(r, 9, 1, text, 2000),
       "raw bodies in rows read back exactly");
    store_reader_close(r);
    store_close(s);
    /* the body file lost (a session copied without it): -1 and a log line, never a crash */
    unlink(side);
    r = store_reader_open(path, err, sizeof err);
    evbuffer_drain(b, evbuffer_get_length(b));
    is_int(store_reader_body(r, 2, 1, 1, b, mime, sizeof mime), -1,
           "body file missing: the body read fails cleanly");
    ok(body_is(r, 5, 1, text, 1000), "body file missing: bodies in rows still read");
    store_reader_close(r);
    /* a truncated body file: -1 too */
    FILE *fp = fopen(side, "w");
    if (fp) {
        fputs("short", fp);
        fclose(fp);
    }
    r = store_reader_open(path, err, sizeof err);
    is_int(store_reader_body(r, 1, 1, 1, b, mime, sizeof mime), -1,
           "body file too short: the body read fails cleanly");
    store_reader_close(r);

    /* a session from before the body file: a reader (which never migrates) reads it as it is,
     * then a writer adds the columns */
    snprintf(path, sizeof path, "%s/pre-side.sqlite", dir);
    /* earlier builds kept every body as a zlib stream, which can be exactly as long as the body:
     * a run of zeros (shrinks) then random bytes (grow by the stream's framing) */
    static unsigned char body[2000], zs[2100];
    uLongf zsl = 0;
    size_t blen = 0;
    for (size_t zeros = 1; zeros < 200; zeros++) {
        blen = zeros + 1000;
        memset(body, 0, zeros);
        memcpy(body + zeros, rnd, 1000);
        zsl = sizeof zs;
        if (compress2(zs, &zsl, body, (uLong)blen, 1) == Z_OK && zsl == blen)
            break;
    }
    ok(zsl == blen, "a zlib stream exactly as long as its body (%zu bytes) was made", blen);
    sqlite3 *db;
    if (sqlite3_open(path, &db) == SQLITE_OK) {
        sqlite3_exec(db,
                     "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
                     "INSERT INTO meta VALUES('schema', 1);"
                     "CREATE TABLE flows(id INTEGER PRIMARY KEY, started INTEGER NOT NULL,"
                     " kind TEXT NOT NULL, method TEXT, host TEXT, status INTEGER,"
                     " failed INTEGER NOT NULL, client TEXT, mime TEXT, summary TEXT NOT NULL,"
                     " detail TEXT NOT NULL, req_body BLOB, req_len INTEGER, req_total INTEGER,"
                     " req_trunc INTEGER, req_ctype TEXT, req_cenc TEXT, resp_body BLOB,"
                     " resp_len INTEGER, resp_total INTEGER, resp_trunc INTEGER,"
                     " resp_ctype TEXT, resp_cenc TEXT);", NULL, NULL, NULL);
        sqlite3_stmt *st;
        unsigned char z[64];
        uLongf zl = sizeof z;
        compress(z, &zl, (const Bytef *)"hello", 5);
        sqlite3_prepare_v2(db, "INSERT INTO flows(id, started, kind, failed, summary, detail,"
                           " resp_body, resp_len) VALUES(1, 0, 'http', 0, '{}', '{}', ?1, 5)",
                           -1, &st, NULL);
        sqlite3_bind_blob(st, 1, z, (int)zl, SQLITE_TRANSIENT);
        sqlite3_step(st);
        sqlite3_finalize(st);
        sqlite3_prepare_v2(db, "INSERT INTO flows(id, started, kind, failed, summary, detail,"
                           " resp_body, resp_len) VALUES(2, 0, 'http', 0, '{}', '{}', ?1, ?2)",
                           -1, &st, NULL);
        sqlite3_bind_blob(st, 1, zs, (int)zsl, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)blen);
        sqlite3_step(st);
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    r = store_reader_open(path, err, sizeof err);
    ok(r && body_is(r, 1, 1, "hello", 5), "a session from before the body file reads (%s)",
       r ? "ok" : err);
    ok(r && body_is(r, 2, 1, (const char *)body, blen),
       "its zlib body as long as the raw one is inflated, not taken for raw bytes");
    store_reader_close(r);
    s = store_open(path, err, sizeof err);
    ok(s != NULL, "and a writer opens it (%s)", s ? "ok" : err);
    store_close(s);
    is_int(count_sql(path, "SELECT count(*) FROM pragma_table_info('flows') WHERE name IN"
                     " ('req_at', 'req_flen', 'resp_at', 'resp_flen')"), 4,
           "the writer adds the body file columns");
    r = store_reader_open(path, err, sizeof err);
    ok(r && body_is(r, 1, 1, "hello", 5), "its old bodies still read after the migration");
    store_reader_close(r);
    evbuffer_free(b);
    free(text);
    free(rnd);
    free(gz);
}

static size_t zcomp(const char *in, size_t len, unsigned char *out, size_t cap, int window)
{
    z_stream z = {0};
    deflateInit2(&z, 6, Z_DEFLATED, window, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

static int body_is(struct store_reader *r, uint64_t id, int decode, const char *want, size_t wlen)
{
    struct evbuffer *b = evbuffer_new();
    char mime[64];
    int rc = store_reader_body(r, id, 1, decode, b, mime, sizeof mime);
    size_t n = evbuffer_get_length(b);
    int same = rc == 0 && n == wlen && !memcmp(evbuffer_pullup(b, -1), want, wlen);
    if (!same)
        printf("# flow %llu: rc %d, %zu bytes (want %zu)\n", (unsigned long long)id, rc, n, wlen);
    evbuffer_free(b);
    return same;
}

static int to_buf(const char *data, size_t len, void *arg)
{
    return evbuffer_add(arg, data, len);
}

/* A connection's TLS facts: the first flow keeps them inline, later flows of the same snapshot
 * refer to one row of tls, and every reader gets the same objects back. */
/* The row's mime, _ctype and _cenc columns: the first Content-Type and Content-Encoding of each
 * head whatever their case, names that only start like them skipped (store.c finds both in one
 * pass over the fields). */
static void test_body_heads(const char *dir)
{
    char path[160], err[512];
    snprintf(path, sizeof path, "%s/heads.sqlite", dir);
    struct store *s = store_open(path, err, sizeof err);
    if (!s) {
        ok(0, "heads session: %s", err);
        return;
    }
    atomic_store(&notified_n, 0);
    store_set_notify(s, on_commit, NULL);
    static const char *const nv[] = {"Content-", "a", "content-typo", "b", "CONTENT-encoding",
                                     "gzip", "content-TYPE", "Text/HTML; charset=utf-8",
                                     "Content-Type", "image/png", "Content-Encoding", "br"};
    struct flow *f = mkflow(1, NULL, "x", 1, 64);
    struct http1_head *h = f->resp;
    h->fields = realloc(h->fields, 6 * sizeof *h->fields);
    h->buf = realloc(h->buf, 512); /* resp_head's: nothing points into it yet but its fields */
    char *p = h->buf + 1;
    for (int i = 0; i < 6; i++) {
        h->fields[i].name = p;
        p = stpcpy(p, nv[2 * i]) + 1;
        h->fields[i].value = p;
        p = stpcpy(p, nv[2 * i + 1]) + 1;
    }
    h->nfields = 6;
    h->reason = h->target = h->buf;
    store_sink(f, s);
    f = mkflow(2, NULL, "x", 1, 64); /* Content-Type text/plain, no Content-Encoding */
    store_sink(f, s);
    wait_committed(2);
    store_close(s);
    sqlite3 *db;
    char got[2][256] = {"", ""};
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT mime || '|' || resp_ctype || '|' || resp_cenc || '|' ||"
                               " req_ctype || '|' || req_cenc FROM flows ORDER BY id", -1, &st,
                               NULL) == SQLITE_OK) {
            for (int i = 0; i < 2 && sqlite3_step(st) == SQLITE_ROW; i++)
                snprintf(got[i], sizeof got[i], "%s", (const char *)sqlite3_column_text(st, 0));
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(db);
    is_str(got[0], "text/html|Text/HTML; charset=utf-8|gzip||",
           "mime, Content-Type and Content-Encoding columns: the first of each, any case");
    is_str(got[1], "text/plain|text/plain|||", "a head without Content-Encoding: empty column");
}

/* Each row's integer and static text columns are its own flow's, whether they repeat the row
 * before's or not (store_row.c binds them only when they change): in one batch and across
 * batches, with statuses, failures, kinds, methods and body sizes that change and come back. */
static void test_row_columns(const char *dir)
{
    char path[160], err[512];
    snprintf(path, sizeof path, "%s/columns.sqlite", dir);
    struct store *s = store_open(path, err, sizeof err);
    if (!s) {
        ok(0, "columns session: %s", err);
        return;
    }
    atomic_store(&notified_n, 0);
    store_set_notify(s, on_commit, NULL);
    enum { N = 12 };
    /* status, failed, tunnel, method (-1: no request head), response body bytes (of 10 kept),
     * request body bytes */
    static const int spec[N][6] = {
        {200, 0, 0, HTTP_GET, 5, 0},  {200, 0, 0, HTTP_GET, 5, 0},   {404, 0, 0, HTTP_GET, 5, 0},
        {200, 1, 0, HTTP_POST, 12, 3}, {200, 0, 0, HTTP_GET, 5, 0},  {0, 0, 1, -1, 0, 0},
        {0, 1, 1, -1, 0, 0},          {200, 0, 0, HTTP_GET, 12, 3},  {200, 0, 0, HTTP_GET, 12, 3},
        {304, 0, 0, HTTP_PUT, 0, 7},  {200, 0, 0, HTTP_GET, 5, 0},   {200, 0, 0, HTTP_GET, 5, 0}};
    static const char body[] = "0123456789abcdef";
    char want[N][96];
    for (int i = 0; i < N; i++) {
        const int *c = spec[i];
        struct flow *f = mkflow(100 + (uint64_t)i, NULL, body, (size_t)c[4], 10);
        f->resp->status = c[0];
        f->fail.failed = c[1];
        if (c[2])
            f->kind = FLOW_TUNNEL;
        if (c[3] >= 0) {
            f->req = resp_head("text/plain", NULL);
            f->req->is_request = 1;
            f->req->method = (uint8_t)c[3];
            flow_capture_add(&f->req_body, body, (size_t)c[5]);
        }
        snprintf(want[i], sizeof want[i], "%d %d %s %s %d %d %d %d %d %d", c[0], c[1],
                 c[2] ? "tunnel" : "http",
                 c[2] ? "CONNECT" : c[3] >= 0 ? llhttp_method_name((llhttp_method_t)c[3]) : "",
                 c[5], c[5], 0, c[4] < 10 ? c[4] : 10, c[4], c[4] > 10);
        store_sink(f, s);
        if (i == 4 || i == 8) /* three batches */
            wait_committed((uint64_t)i + 1);
    }
    wait_committed(N);
    store_close(s);
    sqlite3 *db;
    char got[N][96];
    memset(got, 0, sizeof got);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT status||' '||failed||' '||kind||' '||method||' '||"
                               "req_len||' '||req_total||' '||req_trunc||' '||resp_len||' '||"
                               "resp_total||' '||resp_trunc FROM flows ORDER BY id", -1, &st,
                               NULL) == SQLITE_OK) {
            for (int i = 0; i < N && sqlite3_step(st) == SQLITE_ROW; i++)
                snprintf(got[i], sizeof got[i], "%s", (const char *)sqlite3_column_text(st, 0));
            sqlite3_finalize(st);
        }
    }
    sqlite3_close(db);
    int all = 1;
    for (int i = 0; i < N; i++)
        if (strcmp(got[i], want[i])) {
            all = 0;
            printf("# row %d: %s, not %s\n", i, got[i], want[i]);
        }
    ok(all, "each row's status, failed, kind, method and body sizes are its flow's");
}

/* Batch sizes by flow id, as notify reports them (test_busy_raw). */
static atomic_int batch_of[64];

static void on_commit_batch(uint64_t lo, uint64_t hi, void *arg)
{
    for (uint64_t id = lo; id <= hi && id < 64; id++)
        atomic_store(&batch_of[id], (int)(hi - lo + 1));
    on_commit(lo, hi, arg);
}

/* While the writer is busy (a batch of STORE_BUSY_BATCH = 4 flows or more) bodies up to 1 KiB go
 * in raw, without a deflate; bigger ones, and a flow that comes alone, are deflated as before.
 * Both forms read back exact. */
static void test_busy_raw(const char *dir)
{
    char path[160], err[512];
    snprintf(path, sizeof path, "%s/busy.sqlite", dir);
    struct store *s = store_open(path, err, sizeof err);
    if (!s) {
        ok(0, "busy session: %s", err);
        return;
    }
    atomic_store(&notified_n, 0);
    store_set_notify(s, on_commit_batch, NULL);
    static char json[3000];
    for (size_t i = 0; i < sizeof json; i++)
        json[i] = "{\"id\":12,\"name\":\"user\"},"[i % 24];
    enum { BURST = 32, BIG_FROM = 29 }; /* flows 29..32: 3000 bytes, the others 1000 */
    struct flow *fl[BURST];
    for (int i = 0; i < BURST; i++) /* made first, then sunk at once: one batch (or a few) */
        fl[i] = mkflow_ct((uint64_t)i + 1, "application/json", NULL, json,
                          i + 1 >= BIG_FROM ? 3000 : 1000, 1 << 20);
    for (int i = 0; i < BURST; i++)
        store_sink(fl[i], s);
    wait_committed(BURST);
    store_sink(mkflow_ct(BURST + 1, "application/json", NULL, json, 1000, 1 << 20), s);
    wait_committed(BURST + 1);
    struct store_reader *r = store_reader_open(path, err, sizeof err);
    int busy = 0, small_raw = 0, big_deflated = 0, exact = 0;
    for (int id = 1; id <= BURST + 1; id++) {
        int in_busy = atomic_load(&batch_of[id]) >= 4;
        size_t len = id >= BIG_FROM && id <= BURST ? 3000 : 1000;
        long long stored = stored_len(path, (uint64_t)id);
        busy += in_busy;
        if (len == 1000)
            small_raw += in_busy ? stored == 1000 : stored > 0 && stored < 200;
        else
            big_deflated += stored > 0 && stored < 400;
        exact += r && body_is(r, (uint64_t)id, 1, json, len);
    }
    printf("# %d of %d flows came in batches of 4 or more\n", busy, BURST + 1);
    ok(busy > 0 && atomic_load(&batch_of[BURST + 1]) == 1,
       "a burst makes the writer busy, a lone flow after it does not");
    is_int(small_raw, BURST + 1 - (BURST + 1 - BIG_FROM),
           "1000-byte JSON bodies: raw in their row in a busy batch, deflated alone");
    is_int(big_deflated, BURST + 1 - BIG_FROM, "3000-byte JSON bodies are deflated even when busy");
    is_int(exact, BURST + 1, "each reads back exactly, raw or deflated");
    store_reader_close(r);
    store_close(s);
}

/* The writer's connection settings (store_db_tune_writer): Debian's SQLite turns secure_delete
 * on by default, which clears every new page twice. */
static void test_writer_tuning(const char *dir)
{
    char path[160], err[512];
    snprintf(path, sizeof path, "%s/tune.sqlite", dir);
    sqlite3 *db = store_db_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, sizeof err);
    sqlite3_int64 sd = -1, cache = 0;
    if (db) {
        store_db_tune_writer(db);
        store_db_query_int64(db, "PRAGMA secure_delete", &sd);
        store_db_query_int64(db, "PRAGMA cache_size", &cache);
    }
    /* with a connection open and pages cached: SQLite counts nothing (memory statistics off) */
    sqlite3_int64 used = sqlite3_memory_used();
    sqlite3_close(db);
    ok(used == 0, "SQLite keeps no memory statistics (store_db_open: %lld bytes counted)",
       (long long)used);
    ok(sd == 0 && cache == -512, "the writer's connection: secure_delete off (%lld), a 512 KiB "
       "cache (%lld)", (long long)sd, (long long)cache);
}

static void test_tls_shared(const char *dir)
{
    char path[160], err[512];
    snprintf(path, sizeof path, "%s/t.sqlite", dir);
    struct store *s = store_open(path, err, sizeof err);
    if (!s) {
        ok(0, "tls session: %s", err);
        return;
    }
    atomic_store(&notified_n, 0);
    store_set_notify(s, on_commit, NULL);
    struct flow_tls_shared *legs[2], *other = flow_tls_shared_new();
    for (int i = 0; i < 2; i++) {
        legs[i] = flow_tls_shared_new();
        legs[i]->t.present = legs[i]->t.handshake_done = 1;
        snprintf(legs[i]->t.version, sizeof legs[i]->t.version, "TLSv1.%d", 2 + i);
        snprintf(legs[i]->t.leaf_reason, sizeof legs[i]->t.leaf_reason, "leg %d \"quoted\"", i);
    }
    other->t = legs[1]->t;
    snprintf(other->t.peer_subject, sizeof other->t.peer_subject, "CN=other");
    for (uint64_t id = 1; id <= 4; id++) {
        struct flow *f = mkflow(id, NULL, "x", 1, 64);
        flow_set_tls(f, 0, legs[0]);
        flow_set_tls(f, 1, id == 4 ? other : legs[1]);
        store_sink(f, s);
    }
    for (int i = 0; i < 2; i++)
        flow_tls_shared_unref(legs[i]);
    flow_tls_shared_unref(other);
    wait_committed(4);
    is_int(count_sql(path, "SELECT count(*) FROM tls"), 2,
           "tls: the two legs' facts written once each (the second flow's), not per flow");
    is_int(count_sql(path, "SELECT count(*) FROM flows WHERE json_type(detail_text(detail), '$.tls.client') ="
                     " 'integer' AND json_type(detail_text(detail), '$.tls.upstream') = 'integer'"), 2,
           "tls: flows 2 and 3 refer to them");
    is_int(count_sql(path, "SELECT count(*) FROM flows WHERE id IN (1, 4) AND"
                     " json_type(detail_text(detail), '$.tls.upstream') = 'object'"), 2,
           "tls: the first flow of a snapshot (and one of other facts) keeps them inline");
    struct store_reader *r = store_reader_open(path, err, sizeof err);
    char *texts[4] = {0};
    for (uint64_t id = 1; id <= 4; id++) {
        json_t *d = store_reader_get(r, id);
        texts[id - 1] = d ? json_dumps(json_object_get(d, "tls"), JSON_COMPACT) : NULL;
        json_decref(d);
    }
    ok(texts[0] && texts[1] && texts[2] && !strcmp(texts[0], texts[1]) &&
       !strcmp(texts[0], texts[2]) && strstr(texts[0], "\"leg 0 \\\"quoted\\\"\"") &&
       strstr(texts[0], "\"TLSv1.3\""),
       "tls: a flow referring to the facts reads back the same objects as the one holding them");
    ok(texts[3] && strstr(texts[3], "CN=other") && !strstr(texts[0], "CN=other"),
       "tls: other facts stay apart");
    for (int i = 0; i < 4; i++)
        free(texts[i]);
    store_reader_close(r);
    store_close(s);
}

int main(void)
{
    char dir[] = "/tmp/test_store.XXXXXX", path[128], err[512];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/s.sqlite", dir);
    struct store *s = store_open(path, err, sizeof err);
    ok(s != NULL, "store_open creates a session (%s)", s ? "ok" : err);
    if (!s)
        return done();
    is_int((long long)store_last_id(s), 0, "a new session has no flows");
    store_set_notify(s, on_commit, NULL);

    char text[20000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = "abcdefghij\n"[i % 11];
    static unsigned char gz[30000], zl[30000], raw[30000], both[60000];
    size_t gzn = zcomp(text, sizeof text, gz, sizeof gz, 16 + 15);
    size_t zln = zcomp(text, sizeof text, zl, sizeof zl, 15);
    size_t rawn = zcomp(text, sizeof text, raw, sizeof raw, -15);
    size_t bothn = zcomp((const char *)zl, zln, both, sizeof both, 16 + 15); /* deflate, gzip */
    store_sink(mkflow(1, NULL, text, sizeof text, 1 << 20), s);
    store_sink(mkflow(2, "gzip", gz, gzn, 1 << 20), s);
    store_sink(mkflow(3, "deflate", zl, zln, 1 << 20), s);
    store_sink(mkflow(4, "deflate", raw, rawn, 1 << 20), s);
    store_sink(mkflow(5, "deflate, gzip", both, bothn, 1 << 20), s);
    store_sink(mkflow(6, "gzip", gz, gzn, gzn / 2), s);           /* truncated capture */
    store_sink(mkflow(7, "gzip", "not gzip at all", 15, 1 << 20), s);
    store_sink(mkflow(8, "zstd", "abc", 3, 1 << 20), s);
#ifdef HAVE_BROTLI_ENC
    static unsigned char br[30000];
    size_t brn = sizeof br;
    BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, sizeof text, (const uint8_t *)text, &brn, br);
    store_sink(mkflow(9, "br", br, brn, 1 << 20), s);
#else
    store_sink(mkflow(9, "br", "\x0b\x02\x80hello\x03", 9, 1 << 20), s);
#endif
    /* bodies that take the other deflate paths: small, already compressed, random */
    static char small[1000], *rnd;
    size_t rndn = 300000;
    rnd = malloc(rndn);
    unsigned rs = 7;
    for (size_t i = 0; i < rndn; i++) {
        rs = rs * 1103515245 + 12345;
        rnd[i] = (char)(rs >> 16);
    }
    for (size_t i = 0; i < sizeof small; i++)
        small[i] = text[i];
    /* flow 10 alone (a batch of one: the writer is not busy, its small body is deflated) */
    wait_committed(9);
    store_sink(mkflow_ct(10, "application/json", NULL, small, sizeof small, 1 << 20), s);
    wait_committed(10);
    store_sink(mkflow_ct(11, "application/octet-stream", NULL, rnd, rndn, 1 << 20), s);
    store_sink(mkflow_ct(12, "image/png", NULL, rnd, rndn, 1 << 20), s);
    store_sink(mkflow_ct(13, "text/plain", "gzip", gz, gzn, 1 << 20), s);
    store_sink(mkflow_ct(14, "text/plain", NULL, text, sizeof text, 1 << 20), s);
    wait_committed(14);
    is_int((long long)atomic_load(&notified_n), 14, "notify reports all 14 flows committed");

    struct store_reader *r = store_reader_open(path, err, sizeof err);
    ok(r != NULL, "a reader opens the session while the writer runs");
    json_t *list = store_reader_list(r, 0, 0);
    is_int((long long)json_array_size(list), 14, "list: 14 summaries");
    is_str(json_string_value(json_object_get(json_array_get(list, 1), "host")), "h2.test", "in id order");
    json_decref(list);
    list = store_reader_list(r, 3, 2);
    ok(json_array_size(list) == 2 && json_integer_value(json_object_get(json_array_get(list, 0), "id")) == 4,
       "list after_id 3, limit 2: flows 4 and 5");
    json_decref(list);
    json_t *d = store_reader_get(r, 2);
    ok(d && json_is_object(json_object_get(d, "response")), "get: the detail object");
    ok(d && json_integer_value(json_object_get(d, "id")) == 2 &&
       !strcmp(json_object_iter_key(json_object_iter(d)), "id") &&
       count_sql(path, "SELECT count(*) FROM flows WHERE json_type(detail_text(detail), '$.id') IS NULL AND"
                 " json_type(detail_text(detail), '$.response') = 'object'") == 14,
       "get: the summary's members come first, though the file keeps them once (not in detail)");
    long long recb = count_sql(path, "SELECT sum(length(detail)) FROM flows"),
              textb = count_sql(path, "SELECT sum(length(CAST(detail_text(detail) AS BLOB))) FROM flows");
    printf("# details: %lld bytes as flow records, %lld as JSON text\n", recb, textb);
    ok(count_sql(path, "SELECT count(*) FROM flows WHERE typeof(detail) = 'blob'") == 14 &&
       recb * 10 < textb * 6, "the file keeps each detail as a flow record (a BLOB), in under 60 percent of its JSON text's bytes");
    json_decref(d);
    ok(store_reader_get(r, 99) == NULL, "get: NULL for an unknown id");

    ok(body_is(r, 1, 1, text, sizeof text), "identity body read back exactly");
    ok(body_is(r, 10, 1, small, sizeof small) && stored_len(path, 10) < 200,
       "small body (small deflate stream) compressed and read back exactly");
    ok(body_is(r, 11, 1, rnd, rndn) && stored_len(path, 11) == -1 &&
       side_len(path, 11) == (long long)rndn,
       "big random body (sampled): raw in the body file, read back exactly");
    ok(body_is(r, 12, 1, rnd, rndn) && stored_len(path, 12) == -1 &&
       side_len(path, 12) == (long long)rndn,
       "big image/png body: raw in the body file, read back exactly");
    ok(body_is(r, 13, 0, (const char *)gz, gzn) && body_is(r, 13, 1, text, sizeof text),
       "gzip body (stored blocks) read back as received, and decoded");
    ok(body_is(r, 14, 1, text, sizeof text) && stored_len(path, 14) < (long long)sizeof text / 4,
       "a text body after a random one is compressed again");
    /* small bodies: random-looking bytes go to stored blocks without a deflate attempt */
    static const char b64set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char b64[1024];
    for (size_t i = 0; i < sizeof b64; i++)
        b64[i] = b64set[(unsigned char)rnd[i] & 63];
    ok(looks_random((const unsigned char *)rnd, 256) && looks_random((const unsigned char *)rnd, 1024) &&
       looks_random((const unsigned char *)rnd, 16384), "random bytes (256 B, 1 KiB, 16 KiB) look random");
    ok(!looks_random((const unsigned char *)text, sizeof text) &&
       !looks_random((const unsigned char *)small, sizeof small) &&
       !looks_random((const unsigned char *)b64, 256) && !looks_random((const unsigned char *)b64, sizeof b64) &&
       !looks_random((const unsigned char *)rnd, 255),
       "text, JSON, base64 (256 B and 1 KiB) and bodies under 256 bytes do not: they are deflated");
    free(rnd);
    ok(body_is(r, 2, 0, (const char *)gz, gzn), "decode=0: gzip bytes as received");
    ok(body_is(r, 2, 1, text, sizeof text), "decode=1: gzip undone");
    ok(body_is(r, 3, 1, text, sizeof text), "deflate (zlib-wrapped) undone");
    ok(body_is(r, 4, 1, text, sizeof text), "deflate (raw, as some servers send) undone");
    ok(body_is(r, 5, 1, text, sizeof text), "stacked codings 'deflate, gzip' undone in reverse order");
    struct evbuffer *b = evbuffer_new();
    char mime[64];
    int rc = store_reader_body(r, 6, 1, 1, b, mime, sizeof mime);
    ok(rc == 0 && evbuffer_get_length(b) > 0 && evbuffer_get_length(b) < sizeof text &&
       !memcmp(evbuffer_pullup(b, -1), text, evbuffer_get_length(b)),
       "truncated gzip capture decodes as far as it goes (%zu bytes)", evbuffer_get_length(b));
    is_str(mime, "text/plain", "mime = the body's Content-Type");
    evbuffer_drain(b, evbuffer_get_length(b));
    is_int(store_reader_body(r, 7, 1, 1, b, mime, sizeof mime), -2, "bad gzip data: -2");
    is_int(store_reader_body(r, 8, 1, 1, b, mime, sizeof mime), -2, "unknown coding (zstd): -2");
    is_int(store_reader_body(r, 99, 1, 1, b, mime, sizeof mime), -1, "no such flow: -1");
    evbuffer_drain(b, evbuffer_get_length(b));
#if defined(HAVE_BROTLI) && defined(HAVE_BROTLI_ENC)
    ok(body_is(r, 9, 1, text, sizeof text), "br undone (libbrotlidec)");
#elif !defined(HAVE_BROTLI)
    is_int(store_reader_body(r, 9, 1, 1, b, mime, sizeof mime), -2, "br without the brotli feature: -2");
#else
    ok(1, "# SKIP no brotli encoder to make a br body");
#endif
    d = store_reader_get(r, 6);
    ok(json_is_true(json_object_get(json_object_get(d, "response"), "body_truncated")),
       "the truncated capture is marked body_truncated");
    json_decref(d);

    /* HAR of the whole session, streamed into a buffer */
    evbuffer_drain(b, evbuffer_get_length(b));
    struct har_options ho = {0};
    is_int(har_write(r, &ho, to_buf, b), 0, "har_write succeeds");
    size_t hl = evbuffer_get_length(b);
    json_t *har = json_loadb((const char *)evbuffer_pullup(b, -1), hl, 0, NULL);
    json_t *entries = json_object_get(json_object_get(har, "log"), "entries");
    is_int((long long)json_array_size(entries), 14, "HAR parses back with 14 entries");
    json_t *c2 = json_object_get(json_object_get(json_array_get(entries, 1), "response"), "content");
    ok(json_string_length(json_object_get(c2, "text")) == sizeof text &&
       json_integer_value(json_object_get(c2, "compression")) == (json_int_t)(sizeof text - gzn),
       "HAR: gzip content decoded to text, compression = size - bodySize");
    json_t *c7 = json_object_get(json_object_get(json_array_get(entries, 6), "response"), "content");
    ok(json_string_length(json_object_get(c7, "comment")) > 0 &&
       !strcmp(json_string_value(json_object_get(c7, "encoding")), "base64") &&
       !strcmp(json_string_value(json_object_get(c7, "text")), "bm90IGd6aXAgYXQgYWxs"),
       "HAR: undecodable body kept as received (base64), with a comment");
    ok(json_is_true(json_object_get(json_array_get(entries, 5), "_truncated")), "HAR: _truncated entry");
    json_decref(har);
    evbuffer_drain(b, evbuffer_get_length(b));
    uint64_t ids[] = {3, 1, 42};
    ho.ids = ids;
    ho.nids = 3;
    har_write(r, &ho, to_buf, b);
    har = json_loadb((const char *)evbuffer_pullup(b, -1), evbuffer_get_length(b), 0, NULL);
    entries = json_object_get(json_object_get(har, "log"), "entries");
    ok(json_array_size(entries) == 2 &&
       json_integer_value(json_object_get(json_array_get(entries, 0), "_id")) == 3,
       "HAR of chosen ids: in the order given, unknown ids skipped");
    json_decref(har);

    is_int(store_reader_clear(r), 0, "clear");
    list = store_reader_list(r, 0, 0);
    is_int((long long)json_array_size(list), 0, "after clear the list is empty");
    json_decref(list);
    store_sink(mkflow(15, NULL, "x", 1, 10), s);
    wait_committed(15);
    list = store_reader_list(r, 0, 0);
    ok(json_array_size(list) == 1 && json_integer_value(json_object_get(json_array_get(list, 0), "id")) == 15,
       "a flow committed after clear is listed");
    json_decref(list);

    /* throughput: 20,000 small flows as fast as workers could hand them over */
    struct flow **many = malloc(20000 * sizeof *many);
    for (int i = 0; i < 20000; i++)
        many[i] = mkflow(100 + (uint64_t)i, NULL, "{\"ok\":true}", 11, 1024);
    uint64_t t0 = flow_now_us();
    int backlogged = 0;
    for (int i = 0; i < 20000; i++) {
        many[i]->marks.end = flow_now_us();
        store_sink(many[i], s);
        backlogged |= store_backlogged(s);
    }
    wait_committed(15 + 20000);
    uint64_t t1 = flow_now_us();
    /* the page cache as the writer left it, before this test's own reads (count_sql scans the
     * rows and caches the file's pages again; only a later checkpoint would drop them) */
    long long cached, pages = file_pages_cached(path, &cached);
    /* checkpoints run on their own thread now (store_checkpoint.c): the last commits' pages are
     * dropped once it has caught up, a moment after the commit (at most 3 s here). What stays
     * cached is what was read or written since the last checkpoint's drop: 0.2-26 % of the file
     * in runs on this machine, against all of it (100 %) with posix_fadvise made a no-op, hence
     * the line at half (a quarter failed now and then when a burst's last checkpoint ran early) */
    for (int i = 0; i < 300 && !on_tmpfs(path) && !(pages > 1000 && cached < pages / 2); i++) {
        usleep(10000);
        pages = file_pages_cached(path, &cached);
    }
    /* 20,000 flows handed over at once are more than the store lets wait (8,192): workers were
     * told to hold new requests, and told to go on once the writer caught up */
    ok(backlogged, "a burst beyond the backlog mark makes store_backlogged say so");
    ok(!store_backlogged(s), "once written, the store is no longer backlogged");
    free(many);
    struct store_stats st;
    store_get_stats(s, &st);
    /* the notify callback reports id ranges, not rows: count the rows themselves */
    is_int(count_sql(path, "SELECT count(*) FROM flows WHERE id BETWEEN 100 AND 20099"), 20000,
           "every one of the 20,000 flows of the burst is a row in the session file");
    ok(st.batch_max >= 128, "the burst was written in batches of 128 flows or more (largest %llu)",
       (unsigned long long)st.batch_max);
    printf("# burst: 20000 flows committed in %.0f ms (%.0f flows/s), largest batch %llu\n",
           (double)(t1 - t0) / 1000.0, 20000.0 / ((double)(t1 - t0) / 1e6),
           (unsigned long long)st.batch_max);
    /* paced: 4000 flows/s for half a second, the latency a worker's flow sees */
    struct store_stats st0 = st;
    for (int i = 0; i < 2000; i++) {
        struct flow *f = mkflow(30000 + (uint64_t)i, NULL, "{\"ok\":true}", 11, 1024);
        f->marks.end = flow_now_us();
        store_sink(f, s);
        usleep(250);
    }
    wait_committed(20015 + 2000);
    store_get_stats(s, &st);
    printf("# paced 4000 flows/s: %llu commits for 2000 flows, latency (flow_done -> commit) "
           "avg %.2f ms, max over the whole run %.1f ms\n",
           (unsigned long long)(st.commits - st0.commits),
           (double)(st.latency_sum_us - st0.latency_sum_us) / (double)(st.flows - st0.flows) / 1000.0,
           (double)st.latency_max_us / 1000.0);
    ok(s->db_fd >= 0, "the writer has SQLite's own descriptor of the session file");
    if (on_tmpfs(path))
        ok(1, "# SKIP tmpfs keeps every page in memory: the session's pages leave the page cache");
    else
        ok(pages > 1000 && cached < pages / 2,
           "checkpointed pages leave the page cache: %lld of the file's %lld pages cached", cached,
           pages);
    t0 = flow_now_us();
    evbuffer_drain(b, evbuffer_get_length(b));
    ho.ids = NULL;
    har_write(r, &ho, to_buf, b);
    t1 = flow_now_us();
    printf("# HAR of %d small flows: %zu bytes in %.0f ms\n", 22001, evbuffer_get_length(b),
           (double)(t1 - t0) / 1000.0);
    store_reader_close(r);
    store_close(s);

    s = store_open(path, err, sizeof err);
    is_int(s ? (long long)store_last_id(s) : -1, 31999, "reopened: store_last_id is the highest id");
    store_close(s);
    FILE *fp = fopen(path, "r+");
    fseek(fp, 0, SEEK_SET);
    fputs("garbage garbage garbage", fp);
    fclose(fp);
    s = store_open(path, err, sizeof err);
    ok(!s && strstr(err, path), "a damaged file is refused with a reason naming it (%s)", err);
    store_close(s);
    evbuffer_free(b);
    test_client_stats(dir);
    test_body_file(dir);
    test_tls_shared(dir);
    test_body_heads(dir);
    test_busy_raw(dir);
    test_row_columns(dir);
    test_writer_tuning(dir);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return done();
}
