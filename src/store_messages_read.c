/* store_messages_read.c — the reading half of store_messages.h: a flow's messages as JSON pages
 * (GET /api/flows/{id}/messages) or one by one (the HAR), on a reader's thread. */
#include "store_messages.h"

#include <sqlite3.h>
#include <stdlib.h>
#include "store.h"

static void set(json_t *o, const char *k, json_t *v)
{
    if (v)
        json_object_set_new(o, k, v);
}

static int utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        unsigned min;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xe0) == 0xc0) { k = 1; min = 0x80; c &= 0x1f; }
        else if ((c & 0xf0) == 0xe0) { k = 2; min = 0x800; c &= 0x0f; }
        else if ((c & 0xf8) == 0xf0) { k = 3; min = 0x10000; c &= 0x07; }
        else return 0;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (p[i + j] & 0xc0) != 0x80)
                return 0;
            c = c << 6 | (p[i + j] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

static json_t *base64(const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t olen = (n + 2) / 3 * 4;
    char *o = malloc(olen + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        o[j++] = tab[v >> 18 & 63];
        o[j++] = tab[v >> 12 & 63];
        o[j++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        o[j++] = i + 2 < n ? tab[v & 63] : '=';
    }
    o[j] = 0;
    json_t *s = json_stringn_nocheck(o, j);
    free(o);
    return s;
}

/* "utf8" text for text messages and close reasons that are valid UTF-8, else base64. */
json_t *store_messages_data(int opcode, const unsigned char *p, size_t n, int *is_text)
{
    *is_text = (opcode == WS_OP_TEXT || opcode == WS_OP_CLOSE) && utf8_valid(p, n);
    return *is_text ? json_stringn_nocheck((const char *)p, n) : base64(p, n);
}

static const char select_sql[] =
    "SELECT idx, from_client, at, opcode, size, wire_size, flags, close_code, data FROM messages"
    " WHERE flow_id = ?1 AND idx > ?2 ORDER BY idx LIMIT ?3";

json_t *store_messages_list(struct store_reader *r, uint64_t id, int64_t after, size_t limit)
{
    sqlite3 *db = store_reader_db(r);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, select_sql, -1, &st, NULL) != SQLITE_OK)
        return json_array(); /* a session from before WebSocket messages: none */
    if (!limit || limit > STORE_MESSAGES_PAGE_MAX)
        limit = STORE_MESSAGES_PAGE_MAX;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
    json_t *a = json_array();
    int rc;
    while (a && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        int op = sqlite3_column_int(st, 3);
        unsigned flags = (unsigned)sqlite3_column_int(st, 6);
        set(o, "index", json_integer(sqlite3_column_int64(st, 0)));
        set(o, "from", json_string(sqlite3_column_int(st, 1) ? "client" : "server"));
        set(o, "time", json_real((double)sqlite3_column_int64(st, 2) / 1e6));
        set(o, "opcode", json_integer(op));
        set(o, "type", json_string(ws_opcode_name(op)));
        set(o, "size", json_integer(sqlite3_column_int64(st, 4)));
        set(o, "wire_size", json_integer(sqlite3_column_int64(st, 5)));
        set(o, "compressed", json_boolean(flags & WS_MSG_COMPRESSED));
        set(o, "cut", json_boolean(flags & WS_MSG_CUT));
        set(o, "inflate_failed", json_boolean(flags & WS_MSG_INFLATE_FAILED));
        if (op == WS_OP_CLOSE)
            set(o, "close_code", sqlite3_column_type(st, 7) == SQLITE_NULL
                                     ? json_null() : json_integer(sqlite3_column_int(st, 7)));
        int text;
        const unsigned char *p = sqlite3_column_blob(st, 8);
        size_t n = (size_t)sqlite3_column_bytes(st, 8);
        json_t *data = store_messages_data(op, p ? p : (const unsigned char *)"", n, &text);
        set(o, "encoding", json_string(text ? "utf8" : "base64"));
        set(o, "data", data ? data : json_string(""));
        if (json_array_append_new(a, o) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    if (a && rc != SQLITE_DONE) {
        json_decref(a);
        a = NULL;
    }
    sqlite3_finalize(st);
    return a;
}

int store_messages_each(struct store_reader *r, uint64_t id,
                        int (*fn)(int from_client, double time, int opcode, unsigned flags,
                                  const unsigned char *data, size_t len, int close_code, void *arg),
                        void *arg)
{
    sqlite3 *db = store_reader_db(r);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, select_sql, -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    sqlite3_bind_int64(st, 2, -1);
    sqlite3_bind_int64(st, 3, INT64_MAX);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_blob(st, 8);
        if (fn(sqlite3_column_int(st, 1), (double)sqlite3_column_int64(st, 2) / 1e6,
               sqlite3_column_int(st, 3), (unsigned)sqlite3_column_int(st, 6),
               p ? p : (const unsigned char *)"", (size_t)sqlite3_column_bytes(st, 8),
               sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 7), arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}
