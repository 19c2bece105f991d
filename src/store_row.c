/* store_row.c — see store_row.h. */
#include "store_row.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdint.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "body_kind.h"
#include "capture.h"
#include "log.h"

/* zlib level for stored bodies: fast; bodies are often already compressed anyway. */
#define STORE_ZLEVEL 1
/* Bodies up to this size go through a second deflate stream with a 16 KiB window and hash table:
 * deflateReset clears the hash table, and the full-size stream's 64 KiB one cost more than
 * compressing a 1 KiB body. A 14-bit window still reaches back over the whole body. */
#define STORE_ZSMALL_MAX (16u << 10)
#define STORE_ZSMALL_WBITS 14
#define STORE_ZSMALL_MEMLEVEL 6
/* A body not known to be compressed is deflated STORE_ZSAMPLE bytes first; when those come out
 * larger than STORE_ZSAMPLE_PCT % of themselves the rest goes in stored blocks (level 0: a copy
 * and adler32), so a 10 MiB download of random-looking bytes costs a memcpy, not a compression. */
#define STORE_ZSAMPLE (64u << 10)
#define STORE_ZSAMPLE_PCT 90
/* Captured bodies at least this big are appended to the body file (SESSION-bodies) instead of the
 * database: in the database every byte is written twice, to the WAL and again by the checkpoint,
 * which made a 10 MiB download cost the store thread 20 MiB of writes plus an adler32 pass. In
 * the body file a body is written once, raw unless its sample compresses. */
#define STORE_SIDE_MIN (256u << 10)
/* While the writer is busy (store_row.busy), bodies up to this size go in their row raw, without
 * the random-bytes test or a deflate: deflate has a fixed cost per body (resetting its tables,
 * building Huffman trees) that dominates for small ones: ~75k instructions for 256 bytes of JSON,
 * ~100k for 1 KiB, more than all else the store does for a flow. Under load that CPU goes to the
 * proxy, for at most ~0.9 KB more per such flow in the file (1,000 flows of 1 KiB JSON: 1.10 MB
 * deflated, 1.97 MB raw); bigger bodies save more bytes per instruction and are deflated as
 * always (4 KiB raw: 3.7x the file). Flows that come one at a time are deflated as before. Either
 * form reads back the same bytes (store_reader_body tells them apart by length). Deflating later
 * in idle time was tried and dropped: a row made shorter leaves its page's space free, so the
 * file did not shrink at all. */
#define STORE_BUSY_RAW_MAX (1u << 10)

static const char insert_sql[] =
    "INSERT INTO flows(id, started, kind, method, host, status, failed, client, mime, summary,"
    " detail, req_body, req_len, req_total, req_trunc, req_ctype, req_cenc,"
    " resp_body, resp_len, resp_total, resp_trunc, resp_ctype, resp_cenc,"
    " req_at, req_flen, resp_at, resp_flen, seq)"
    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,"
    "?24,?25,?26,?27,?28)";

/* Set up the writer's deflate streams. Returns 0, -1 on OOM (those made are counted in
 * zs_ready). */
static int zinit(struct store_row *s)
{
    static const int cfg[ZS_N][3] = {/* level, windowBits, memLevel */
                                     [ZS_BIG] = {STORE_ZLEVEL, MAX_WBITS, 8},
                                     [ZS_SMALL] = {STORE_ZLEVEL, STORE_ZSMALL_WBITS,
                                                   STORE_ZSMALL_MEMLEVEL}};
    for (; s->zs_ready < ZS_N; s->zs_ready++) {
        const int *c = cfg[s->zs_ready];
        if (deflateInit2(&s->zs[s->zs_ready], c[0], Z_DEFLATED, c[1], c[2], Z_DEFAULT_STRATEGY) !=
            Z_OK)
            return -1;
    }
    s->zs_big_level = STORE_ZLEVEL;
    return 0;
}

/* A row's body is sampled less than a big one (body_kind.h). */
static int looks_random(const unsigned char *data, size_t len)
{
    return body_looks_random(data, len, len <= STORE_ZSMALL_MAX ? BODY_RANDOM_SAMPLE_ROW
                                                                : BODY_RANDOM_SAMPLE);
}

/* zlib-compress len bytes into a new buffer (*out, *outlen) with one of the writer's streams (set
 * up once by zinit: compress2 would allocate and clear ~270 KiB of zlib state per body, which cost
 * ~57 us for a 1 KiB body against ~12 us with a reset). Callers have ruled out bodies that do not
 * compress (stays_raw, sample_compresses). Whatever the stream, the result is one zlib stream that
 * inflate with windowBits 15 (uncompress) reads. Returns 0, -1 on OOM or error. */
static int zpack(struct store_row *s, const char *data, size_t len, unsigned char **out,
                 size_t *outlen)
{
    enum store_zs which = len <= STORE_ZSMALL_MAX ? ZS_SMALL : ZS_BIG;
    z_stream *z = &s->zs[which];
    if (deflateReset(z) != Z_OK)
        return -1;
    /* a reset stream has had no input: deflateParams only changes the level, nothing is flushed */
    if (which == ZS_BIG && s->zs_big_level != STORE_ZLEVEL) {
        if (deflateParams(z, STORE_ZLEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
            return -1;
        s->zs_big_level = STORE_ZLEVEL;
    }
    size_t cap = (size_t)deflateBound(z, (uLong)len);
    unsigned char *b = malloc(cap ? cap : 1);
    if (!b)
        return -1;
    z->next_in = (Bytef *)(uintptr_t)data;
    z->next_out = b;
    size_t in_left = len, out_left = cap;
    int rc;
    if (which == ZS_BIG && len > STORE_ZSAMPLE) {
        /* Z_BLOCK puts out everything deflated so far, so total_out is the sample's size */
        uInt room = out_left > UINT_MAX ? UINT_MAX : (uInt)out_left;
        z->avail_in = STORE_ZSAMPLE;
        z->avail_out = room;
        rc = deflate(z, Z_BLOCK);
        in_left -= STORE_ZSAMPLE - z->avail_in;
        out_left -= room - z->avail_out;
        if (rc != Z_OK)
            goto fail;
        if (z->total_out > (uLong)STORE_ZSAMPLE * STORE_ZSAMPLE_PCT / 100) {
            /* the rest as stored blocks, in the same stream (needs avail_out, left as it is) */
            if (deflateParams(z, 0, Z_DEFAULT_STRATEGY) != Z_OK)
                goto fail;
            s->zs_big_level = 0;
        }
    }
    do { /* avail_in/avail_out are 32-bit: feed a big body in slices */
        uInt in = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
        uInt room = out_left > UINT_MAX ? UINT_MAX : (uInt)out_left;
        z->avail_in = in;
        z->avail_out = room;
        rc = deflate(z, in_left > in ? Z_NO_FLUSH : Z_FINISH);
        in_left -= in - z->avail_in;
        out_left -= room - z->avail_out;
    } while (rc == Z_OK || (rc == Z_BUF_ERROR && in_left));
    if (rc != Z_STREAM_END)
        goto fail;
    *out = b;
    *outlen = cap - out_left;
    return 0;
fail:
    free(b);
    return -1;
}

/* Bind a string without a copy: every string bound for a flow (its fields, its heads' values,
 * write_flow's locals) outlives the step, and is bound again (or replaced) for the next row
 * before the statement steps again. Its length given: SQLite measures it a byte at a time. */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    s = s ? s : "";
    sqlite3_bind_text(st, i, s, (int)strlen(s), SQLITE_STATIC);
}

/* NULL for parameter i of the insert, bound only when it holds something else: a binding stays
 * from one row to the next (no sqlite3_clear_bindings), and the body columns are NULL row after
 * row (five sqlite3_bind_null a flow, ~0.3k instructions, when bound every time). */
static void bind_null(struct store_row *s, int i)
{
    uint32_t bit = (uint32_t)1 << i;
    if (!(s->null_params & bit)) {
        sqlite3_bind_null(s->insert, i);
        s->null_params |= bit;
    }
}

/* A body's media type or encoding, "" for none (most bodies have no encoding, a request without
 * a body no type): "" is bound only when the parameter holds something else, as bind_null
 * (~0.5k instructions a flow). The parameters bound here are bound nowhere else. */
static void bind_text_or_empty(struct store_row *s, int i, const char *v)
{
    uint32_t bit = (uint32_t)1 << i;
    if (v && *v) {
        bind_text(s->insert, i, v);
        s->empty_params &= ~bit;
    } else if (!(s->empty_params & bit)) {
        sqlite3_bind_text(s->insert, i, "", 0, SQLITE_STATIC);
        s->empty_params |= bit;
    }
}

/* An integer parameter, bound only when it is to hold another value than it does: most of a row's
 * integers are the row before's (status, failed, the bodies' lengths and truncation marks; a GET's
 * empty request body), and a bind costs ~120 instructions (~0.8k a flow). The parameters bound
 * here are bound nowhere else. */
static void bind_int_kept(struct store_row *s, int i, sqlite3_int64 v)
{
    uint32_t bit = (uint32_t)1 << i;
    if ((s->kept_params & bit) && s->kept_int[i] == v)
        return;
    sqlite3_bind_int64(s->insert, i, v);
    s->kept_params |= bit;
    s->kept_int[i] = v;
}

/* The same for a static string (a literal, llhttp's method names): the same address is the same
 * text, bound without a copy for as long as the process runs. */
static void bind_static_kept(struct store_row *s, int i, const char *v)
{
    uint32_t bit = (uint32_t)1 << i;
    if ((s->kept_params & bit) && s->kept_text[i] == v)
        return;
    sqlite3_bind_text(s->insert, i, v, (int)strlen(v), SQLITE_STATIC);
    s->kept_params |= bit;
    s->kept_text[i] = v;
}

/* Parameter i of the insert is being given a value: the next bind_null must bind. */
static void bind_not_null(struct store_row *s, int i)
{
    s->null_params &= ~((uint32_t)1 << i);
}

/* Whether the first STORE_ZSAMPLE bytes of a big body deflate (level STORE_ZLEVEL) to at most
 * STORE_ZSAMPLE_PCT % of themselves (bytes that look random are not tried: deflating the sample
 * costs ~1 ms, the test ~4 us). -1 on a zlib error. */
static int sample_compresses(struct store_row *s, const char *data)
{
    if (looks_random((const unsigned char *)data, STORE_ZSAMPLE))
        return 0;
    static __thread unsigned char out[STORE_ZSAMPLE + 1024]; /* > deflateBound of the sample */
    z_stream *z = &s->zs[ZS_BIG];
    if (deflateReset(z) != Z_OK)
        return -1;
    if (s->zs_big_level != STORE_ZLEVEL) {
        if (deflateParams(z, STORE_ZLEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
            return -1;
        s->zs_big_level = STORE_ZLEVEL;
    }
    z->next_in = (Bytef *)(uintptr_t)data;
    z->avail_in = STORE_ZSAMPLE;
    z->next_out = out;
    z->avail_out = sizeof out;
    if (deflate(z, Z_BLOCK) != Z_OK)
        return -1;
    return z->total_out <= (uLong)STORE_ZSAMPLE * STORE_ZSAMPLE_PCT / 100;
}

/* Body file entries start at multiples of this and are padded to it with zeros: O_DIRECT needs
 * offsets, lengths and buffers aligned to the device's block size (512 or 4096). */
#define SIDE_ALIGN 4096u
/* The writer's bounce buffer for O_DIRECT: a body is copied through it this much at a time. */
#define SIDE_BOUNCE (1u << 20)

/* Open the body file: O_DIRECT where the file system takes it, locked for this writer. Sets
 * side_fd (-2 when bodies must stay in the database) and side_end. */
static void side_open(struct store_row *s)
{
    /* 0600 like the session: bodies hold what the app sent and received */
    int fd = open(s->side_path, O_RDWR | O_CREAT | O_CLOEXEC | O_DIRECT, 0600);
    s->side_direct = fd >= 0;
    if (fd < 0 && errno == EINVAL) /* tmpfs and some others refuse O_DIRECT */
        fd = open(s->side_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        log_msg(LOG_WARN, "store: %s: %s: big bodies stay in the session file", s->side_path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        s->side_fd = -2;
        return;
    }
    /* appends go where this writer tracks the end: a second httpeek on the same session would
     * overwrite them, so it keeps its bodies in the database instead */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        log_msg(LOG_WARN, "store: %s: in use by another httpeek: big bodies stay in the session "
                "file", s->side_path);
        close(fd);
        s->side_fd = -2;
        return;
    }
    if (s->side_direct && posix_memalign((void **)&s->side_bounce, SIDE_ALIGN, SIDE_BOUNCE) != 0) {
        s->side_bounce = NULL;
        close(fd);
        fd = open(s->side_path, O_RDWR | O_CLOEXEC, 0600);
        s->side_direct = 0;
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
            if (fd >= 0)
                close(fd);
            s->side_fd = -2;
            return;
        }
    }
    s->side_fd = fd;
    s->side_end = ((uint64_t)st.st_size + SIDE_ALIGN - 1) / SIDE_ALIGN * SIDE_ALIGN;
}

/* Write len bytes at the aligned offset at: through the bounce buffer with O_DIRECT (no page
 * cache: on this kind of VM a new page-cache page cost more than the copy into it, so buffered
 * appends ran at ~750 MB/s against ~2 GB/s direct), else a plain pwrite. 0, -1 (errno). */
static int side_write(struct store_row *s, const unsigned char *data, size_t len, uint64_t at)
{
    if (!s->side_direct) {
        for (size_t done = 0; done < len;) {
            ssize_t n = pwrite(s->side_fd, data + done, len - done, (off_t)(at + done));
            if (n <= 0)
                return -1;
            done += (size_t)n;
        }
        return 0;
    }
    size_t done = 0;
    if ((uintptr_t)data % SIDE_ALIGN == 0) {
        /* a capture allocated aligned (capture.h): its whole blocks go from where they are, only
         * the last part block through the bounce buffer (a copy of the body saved) */
        size_t whole = len / SIDE_ALIGN * SIDE_ALIGN;
        while (done < whole) {
            ssize_t n = pwrite(s->side_fd, data + done, whole - done, (off_t)(at + done));
            if (n <= 0 || (size_t)n % SIDE_ALIGN)
                return -1;
            done += (size_t)n;
        }
    }
    while (done < len) {
        size_t part = len - done < SIDE_BOUNCE ? len - done : SIDE_BOUNCE;
        size_t padded = (part + SIDE_ALIGN - 1) / SIDE_ALIGN * SIDE_ALIGN;
        memcpy(s->side_bounce, data + done, part);
        memset(s->side_bounce + part, 0, padded - part);
        for (size_t w = 0; w < padded;) {
            ssize_t n = pwrite(s->side_fd, s->side_bounce + w, padded - w, (off_t)(at + done + w));
            if (n <= 0 || (size_t)n % SIDE_ALIGN)
                return -1;
            w += (size_t)n;
        }
        done += part;
    }
    return 0;
}

/* Append len bytes to the body file at an aligned offset (*at). Returns 0, -1 (logged; the caller
 * keeps the body in the database instead). */
static int side_append(struct store_row *s, const void *data, size_t len, uint64_t *at)
{
    if (s->side_fd == -1)
        side_open(s);
    if (s->side_fd < 0)
        return -1;
    int rc = side_write(s, data, len, s->side_end);
    if (rc < 0 && s->side_direct && errno == EINVAL) {
        /* opened O_DIRECT but the file system refuses the write (alignment it wants larger,
         * overlay file systems): go on with buffered writes on the same (locked) descriptor */
        int fl = fcntl(s->side_fd, F_GETFL);
        if (fl >= 0 && fcntl(s->side_fd, F_SETFL, fl & ~O_DIRECT) == 0) {
            s->side_direct = 0;
            rc = side_write(s, data, len, s->side_end);
        }
    }
    if (rc < 0) {
        if (store_health_side_failed(s->health, time(NULL))) /* not once per body */
            log_msg(LOG_WARN, "store: %s: %s: bodies kept in the session file", s->side_path,
                    strerror(errno));
        return -1;
    }
    *at = s->side_end;
    s->side_end += (len + SIDE_ALIGN - 1) / SIDE_ALIGN * SIDE_ALIGN;
    return 0;
}

/* A big body into the body file: raw when it is known or sampled to be compressed already, else
 * a zlib stream if that is smaller. Binds its _at and _flen columns (col_at, col_at + 1).
 * Returns 0, -1 when it must go in the row instead. */
static int side_put(struct store_row *s, int col_at, const struct flow_capture *c, const char *ctype,
                    const char *cenc)
{
    const char *put = c->data;
    size_t putlen = c->len;
    unsigned char *z = NULL;
    size_t zlen;
    if (!body_precompressed(ctype, cenc) && sample_compresses(s, c->data) == 1 &&
        zpack(s, c->data, c->len, &z, &zlen) == 0 && zlen < c->len) {
        put = (const char *)z;
        putlen = zlen;
    }
    uint64_t at;
    int rc = side_append(s, put, putlen, &at);
    free(z);
    if (rc < 0)
        return -1;
    bind_not_null(s, col_at);
    bind_not_null(s, col_at + 1);
    sqlite3_bind_int64(s->insert, col_at, (sqlite3_int64)at);
    sqlite3_bind_int64(s->insert, col_at + 1, (sqlite3_int64)putlen);
    return 0;
}

/* Whether a body goes in its row as it is: it was compressed before it reached us or looks like
 * random bytes, so deflating it gains nothing. Kept raw, it costs neither zlib's stored-block
 * copy and adler32 nor a buffer (~5 % of the store thread for 1 KiB bodies of random bytes). */
static int stays_raw(const struct flow_capture *c, const char *ctype, const char *cenc)
{
    return body_precompressed(ctype, cenc) || looks_random((const unsigned char *)c->data, c->len);
}

/* The first Content-Type and Content-Encoding of h (NULL when absent), as http1_head_get gives
 * them, in one pass over the fields (two lookups compared every field's name twice). */
static void body_heads(const struct http1_head *h, const char **ctype, const char **cenc)
{
    *ctype = *cenc = NULL;
    for (size_t i = 0; h && i < h->nfields && (!*ctype || !*cenc); i++) {
        const char *n = h->fields[i].name;
        if ((n[0] | 0x20) != 'c' || strncasecmp(n, "content-", 8))
            continue;
        if (!*ctype && !strcasecmp(n + 8, "type"))
            *ctype = h->fields[i].value;
        else if (!*cenc && !strcasecmp(n + 8, "encoding"))
            *cenc = h->fields[i].value;
    }
}

/* Bind the 6 columns of one body starting at column col, or (a big body) its body file columns
 * at col_at and col_at + 1. Returns 0, -1 on OOM. */
static int bind_body(struct store_row *s, int col, int col_at, const struct flow_capture *c,
                     const struct http1_head *h)
{
    sqlite3_stmt *st = s->insert;
    const char *ctype, *cenc;
    body_heads(h, &ctype, &cenc);
    int side = c->len >= STORE_SIDE_MIN &&
               side_put(s, col_at, c, ctype ? ctype : "", cenc ? cenc : "") == 0;
    if (!side) { /* in the row: no body file columns (every parameter is bound for each row) */
        bind_null(s, col_at);
        bind_null(s, col_at + 1);
    }
    if (side || !c->len)
        bind_null(s, col);
    else {
        bind_not_null(s, col);
        if ((s->busy && c->len <= STORE_BUSY_RAW_MAX) ||
            stays_raw(c, ctype ? ctype : "", cenc ? cenc : "")) {
            /* the flow outlives the statement's step: no copy */
            sqlite3_bind_blob64(st, col, c->data, c->len, SQLITE_STATIC);
        } else {
            unsigned char *z;
            size_t zlen;
            if (zpack(s, c->data, c->len, &z, &zlen) < 0)
                return -1;
            if (zlen < c->len)
                sqlite3_bind_blob64(st, col, z, zlen, free);
            else { /* a zlib stream as long as the body would read as raw bytes */
                free(z);
                sqlite3_bind_blob64(st, col, c->data, c->len, SQLITE_STATIC);
            }
        }
    }
    bind_int_kept(s, col + 1, (sqlite3_int64)c->len);
    bind_int_kept(s, col + 2, (sqlite3_int64)c->total);
    bind_int_kept(s, col + 3, c->truncated || c->len < c->total);
    bind_text_or_empty(s, col + 4, ctype);
    bind_text_or_empty(s, col + 5, cenc);
    return 0;
}

int store_row_write(struct store_row *s, struct flow *f, sqlite3_int64 seq)
{
    sqlite3_stmt *st = s->insert;
    int rc = -1;
    /* spilled bodies (capture.h) are read from their files by everything below, unmapped at out */
    capture_map(&f->req_body);
    capture_map(&f->resp_body);
    s->json.tls_ref[0] = store_tls_ref(&s->tls, f, 0);
    s->json.tls_ref[1] = store_tls_ref(&s->tls, f, 1);
    if (flow_json_texts(f, &s->json) < 0) {
        log_msg(LOG_WARN, "store: flow %llu: out of memory serializing", (unsigned long long)f->id);
        goto out;
    }
    /* the statement was reset at the end of the last write; every parameter is bound below */
    sqlite3_bind_int64(st, 1, (sqlite3_int64)f->id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)f->started.tv_sec * 1000 + f->started.tv_usec / 1000);
    bind_static_kept(s, 3, f->kind == FLOW_TUNNEL ? "tunnel" : "http");
    bind_static_kept(s, 4, f->kind == FLOW_TUNNEL ? "CONNECT"
                           : f->req ? llhttp_method_name((llhttp_method_t)f->req->method) : "");
    bind_text(st, 5, f->host);
    bind_int_kept(s, 6, f->resp ? f->resp->status : 0);
    bind_int_kept(s, 7, f->fail.failed);
    bind_text(st, 8, f->client_addr);
    bind_text(st, 9, s->json.mime); /* flow_json_texts worked it out for the summary */
    sqlite3_bind_text(st, 10, s->json.buf, (int)s->json.summary_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 11, s->json.detail, (int)s->json.detail_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 28, seq);
    if (bind_body(s, 12, 24, &f->req_body, f->req) < 0 ||
        bind_body(s, 18, 26, &f->resp_body, f->resp) < 0) {
        log_msg(LOG_WARN, "store: flow %llu: out of memory compressing a body",
                (unsigned long long)f->id);
        goto out;
    }
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -2;
out:
    /* no sqlite3_clear_bindings: every parameter is bound again for the next row (a compressed
     * body stays bound, and allocated, until then); stale pointers are never read, a statement
     * reads its bindings only when it steps */
    sqlite3_reset(st);
    capture_unmap(&f->req_body);
    capture_unmap(&f->resp_body);
    return rc;
}

int store_row_open(struct store_row *s, sqlite3 *db, const char *path, struct store_health *health)
{
    s->side_fd = -1;
    s->health = health;
    if (asprintf(&s->side_path, "%s-bodies", path) < 0) {
        s->side_path = NULL;
        return -1;
    }
    if (sqlite3_prepare_v2(db, insert_sql, -1, &s->insert, NULL) != SQLITE_OK)
        return -2;
    s->null_params = UINT32_MAX; /* a new statement's parameters are all NULL */
    s->empty_params = 0;
    s->kept_params = 0;
    s->json.detail_only = 1; /* the row has the summary: store_reader_get joins them */
    /* the detail as a flow record (a BLOB), written as JSON text when it is read */
    s->json.detail_record = 1;
    if (zinit(s) < 0)
        return -1;
    /* Opened (and locked) now rather than at the first big body: a session is always both files,
     * and which of two httpeeks on one session owns the body file is settled at start. */
    side_open(s);
    return 0;
}

void store_row_close(struct store_row *s)
{
    sqlite3_finalize(s->insert);
    s->insert = NULL;
    store_tls_close(&s->tls);
    for (int i = 0; i < s->zs_ready; i++)
        deflateEnd(&s->zs[i]);
    s->zs_ready = 0;
    flow_json_text_free(&s->json);
    if (s->side_fd >= 0)
        close(s->side_fd);
    s->side_fd = -1;
    free(s->side_bounce);
    s->side_bounce = NULL;
    free(s->side_path);
    s->side_path = NULL;
}
