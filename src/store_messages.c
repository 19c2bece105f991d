/* store_messages.c — see store_messages.h. The queue is a mutex-guarded list that the writer
 * swaps out whole; each item holds its own copy of the captured bytes, taken from the memory
 * budget until written. */
#include "store_messages.h"
#include "store_seq.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "diagnose.h"
#include "flow_detail.h"
#include "flow_json.h"
#include "log.h"

enum item_kind { ITEM_OPEN, ITEM_MSG, ITEM_END };

struct item {
    struct item *next;
    enum item_kind kind;
    uint64_t flow_id;
    uint64_t index;
    int from_client, opcode, close_code;
    unsigned flags;
    uint64_t size, wire_size, at_us;
    struct ws_end end;
    uint64_t cut, dropped;
    int tries;                 /* patches: flushes that did not find the flow yet */
    int patch_only;            /* a patch waiting for its flow: its row is written already */
    char *extensions;
    size_t len;
    unsigned char data[];      /* the captured payload (ITEM_MSG) */
};

struct store_messages {
    pthread_mutex_t mu;
    struct item *head, **tail;
    size_t queued;             /* bytes of data in the queue */
    struct budget *budget;
    int table_ready;           /* writer: the table exists */
};

/* A flow not in the file after this many flushes (50 ms apart) never will be (lost): its patch
 * is dropped. */
#define PATCH_TRIES 200

static const char table_sql[] =
    "CREATE TABLE IF NOT EXISTS messages(flow_id INTEGER NOT NULL, idx INTEGER NOT NULL,"
    " from_client INTEGER NOT NULL, at INTEGER NOT NULL, opcode INTEGER NOT NULL,"
    " size INTEGER NOT NULL, wire_size INTEGER NOT NULL, flags INTEGER NOT NULL,"
    " close_code INTEGER, data BLOB, PRIMARY KEY(flow_id, idx)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS ws_sockets(flow_id INTEGER PRIMARY KEY, extensions TEXT,"
    " open INTEGER NOT NULL, close_code INTEGER, close_reason TEXT, closed_by TEXT,"
    " cut INTEGER NOT NULL DEFAULT 0, dropped INTEGER NOT NULL DEFAULT 0, malformed TEXT);";

struct store_messages *store_messages_new(struct budget *budget)
{
    struct store_messages *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    pthread_mutex_init(&m->mu, NULL);
    m->tail = &m->head;
    m->budget = budget;
    return m;
}

void store_messages_use_budget(struct store_messages *m, struct budget *budget)
{
    m->budget = budget;
}

static void item_free(struct store_messages *m, struct item *it)
{
    if (it->kind == ITEM_MSG && !it->patch_only && m->budget)
        budget_give(m->budget, sizeof *it + it->len);
    free(it->extensions);
    free(it);
}

void store_messages_free(struct store_messages *m)
{
    if (!m)
        return;
    for (struct item *it = m->head, *next; it; it = next) {
        next = it->next;
        item_free(m, it);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static void push(struct store_messages *m, struct item *it)
{
    pthread_mutex_lock(&m->mu);
    *m->tail = it;
    m->tail = &it->next;
    m->queued += sizeof *it + it->len;
    pthread_mutex_unlock(&m->mu);
}

void store_messages_open(struct store_messages *m, uint64_t flow_id, const char *extensions)
{
    struct item *it = calloc(1, sizeof *it);
    if (!it)
        return;
    it->kind = ITEM_OPEN;
    it->flow_id = flow_id;
    it->extensions = strdup(extensions ? extensions : "");
    push(m, it);
}

int store_messages_add(struct store_messages *m, uint64_t flow_id, uint64_t index,
                       const struct ws_msg *msg)
{
    size_t bytes = sizeof(struct item) + msg->len; /* a ping flood is many small items */
    pthread_mutex_lock(&m->mu);
    int full = m->queued + bytes > STORE_MESSAGES_QUEUE_MAX;
    pthread_mutex_unlock(&m->mu);
    if (full || (m->budget && !budget_take(m->budget, bytes)))
        return -1;
    struct item *it = calloc(1, bytes);
    if (!it) {
        if (m->budget)
            budget_give(m->budget, bytes);
        return -1;
    }
    it->kind = ITEM_MSG;
    it->flow_id = flow_id;
    it->index = index;
    it->from_client = msg->from_client;
    it->opcode = msg->opcode;
    it->close_code = msg->close_code;
    it->flags = msg->flags;
    it->size = msg->size;
    it->wire_size = msg->wire_size;
    it->at_us = msg->at_us;
    it->len = msg->len;
    memcpy(it->data, msg->data, msg->len);
    push(m, it);
    return 0;
}

void store_messages_end(struct store_messages *m, uint64_t flow_id, const struct ws_end *e,
                        uint64_t cut, uint64_t dropped)
{
    struct item *it = calloc(1, sizeof *it);
    if (!it)
        return;
    it->kind = ITEM_END;
    it->flow_id = flow_id;
    it->end = *e;
    it->cut = cut;
    it->dropped = dropped;
    push(m, it);
}

/* ------------------------------------------------------------------------------------------ */
/* Writer */

/* URLSessionWebSocketTask.CloseCode's names for the codes of RFC 6455 §7.4.1. */
static const char *close_name(int code)
{
    switch (code) {
    case 1000: return "normalClosure";
    case 1001: return "goingAway";
    case 1002: return "protocolError";
    case 1003: return "unsupportedData";
    case 1005: return "noStatusReceived";
    case 1006: return "abnormalClosure";
    case 1007: return "invalidFramePayloadData";
    case 1008: return "policyViolation";
    case 1009: return "messageTooBig";
    case 1010: return "mandatoryExtensionMissing";
    case 1011: return "internalServerError";
    case 1015: return "tlsHandshakeFailure";
    default: return code >= 3000 && code <= 4999 ? "application-defined" : "invalid";
    }
}

/* A close that the app sees as a failure: any code but a normal end (1000, 1001, none) or one
 * the application defined for itself (3000-4999: its own protocol decides). */
static int close_failed(int code)
{
    return code >= 0 && code != 1000 && code != 1001 && code != 1005 && (code < 3000 || code > 4999);
}

static void set(json_t *o, const char *k, json_t *v)
{
    if (v)
        json_object_set_new(o, k, v);
}

/* The failure of an ended socket, or 0 when it ended well: error text, short reason and the
 * diagnosis object. */
static int end_failure(const struct ws_end *e, char *error, size_t elen, char *shortr, size_t slen,
                       json_t **diag)
{
    *diag = NULL;
    if (e->close_seen) {
        if (!close_failed(e->close_code))
            return 0;
        snprintf(error, elen, "%s closed the WebSocket with %d (%s)%s%s", e->closed_by,
                 e->close_code, close_name(e->close_code), e->close_reason[0] ? ": " : "",
                 e->close_reason);
        snprintf(shortr, slen, "closed %d", e->close_code);
        json_t *d = json_object();
        set(d, "code", json_integer(e->close_code));
        set(d, "domain", json_string("URLSessionWebSocketTask.CloseCode"));
        char name[64];
        snprintf(name, sizeof name, "URLSessionWebSocketTask.CloseCode.%s", close_name(e->close_code));
        set(d, "name", json_string(name));
        set(d, "stage", json_string("receive"));
        char title[160];
        snprintf(title, sizeof title, "The %s closed the WebSocket with code %d (%s)",
                 e->closed_by, e->close_code, close_name(e->close_code));
        set(d, "title", json_string(title));
        set(d, "detail", json_string_nocheck(error));
        set(d, "fix", json_string(
            "The app's URLSessionWebSocketTask sees this as its closeCode (closeReason holds the "
            "reason) and its pending receive fails. Look at the messages just before the close "
            "(Messages tab): 1002/1007 point at a frame the peer could not accept, 1008/1009 at "
            "a message the server refused, 1011 at a server error."));
        set(d, "android", json_string("OkHttp: WebSocketListener.onClosing(code, reason)"));
        *diag = d;
        return 1;
    }
    const struct diagnose_entry *ent = diagnose_lookup(NSURL_NETWORK_CONNECTION_LOST);
    const char *after = e->malformed[0] ? " (after a malformed frame)" : "";
    if (e->lost_by[0])
        snprintf(error, elen, "the WebSocket ended without a close frame: the %s %s the connection%s",
                 e->lost_by, e->lost_error ? "reset" : "closed", after);
    else /* neither peer ended it: httpeek did (its shutdown, or --idle-timeout with no bytes) */
        snprintf(error, elen, "the WebSocket ended without a close frame: httpeek closed the "
                 "connection (shutting down, or no bytes either way for --idle-timeout)%s", after);
    snprintf(shortr, slen, "connection lost");
    if (ent) {
        json_t *d = json_object();
        set(d, "code", json_integer(ent->code));
        set(d, "name", json_string(ent->name));
        set(d, "stage", json_string("receive"));
        set(d, "title", json_string(ent->title));
        set(d, "detail", json_string_nocheck(error));
        set(d, "fix", json_string(ent->fix));
        if (ent->android && ent->android[0])
            set(d, "android", json_string(ent->android));
        *diag = d;
    }
    return 1;
}

/* Rewrite one flow's summary and detail from its ws_sockets row (and the end, when e). Returns 1
 * patched, 0 flow not in the file yet, -1 store error. */
static int patch_flow(sqlite3 *db, uint64_t id, const struct ws_end *e)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    json_t *sum = NULL, *det = NULL, *ws = NULL, *diag = NULL;
    if (sqlite3_prepare_v2(db,
            "SELECT f.summary, f.detail, s.extensions, s.open, s.close_code, s.close_reason,"
            " s.closed_by, s.cut, s.dropped, s.malformed,"
            " (SELECT count(*) FROM messages WHERE flow_id = ?1)"
            " FROM flows f JOIN ws_sockets s ON s.flow_id = f.id WHERE f.id = ?1",
            -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    int step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        rc = 0;
        goto out;
    }
    if (step != SQLITE_ROW)
        goto out;
    sum = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    /* written back whole: the patched members stay where a whole detail has them */
    det = flow_json_whole(flow_detail_load(sqlite3_column_blob(st, 1),
                                           (size_t)sqlite3_column_bytes(st, 1)),
                          (const char *)sqlite3_column_text(st, 0));
    if (!sum || !det)
        goto out;
    ws = json_object();
    set(ws, "messages", json_integer(sqlite3_column_int64(st, 10)));
    set(ws, "open", json_boolean(sqlite3_column_int(st, 3)));
    set(ws, "close_code", sqlite3_column_type(st, 4) == SQLITE_NULL
                              ? json_null() : json_integer(sqlite3_column_int(st, 4)));
    const char *t;
    set(ws, "close_reason", json_string((t = (const char *)sqlite3_column_text(st, 5)) ? t : ""));
    set(ws, "closed_by", json_string((t = (const char *)sqlite3_column_text(st, 6)) ? t : ""));
    set(ws, "cut", json_integer(sqlite3_column_int64(st, 7)));
    set(ws, "dropped", json_integer(sqlite3_column_int64(st, 8)));
    set(ws, "malformed", json_string((t = (const char *)sqlite3_column_text(st, 9)) ? t : ""));
    set(ws, "extensions", json_string((t = (const char *)sqlite3_column_text(st, 2)) ? t : ""));
    sqlite3_finalize(st);
    st = NULL;
    json_object_set(sum, "ws", ws);
    json_object_set(det, "ws", ws);
    int failed = 0;
    if (e) {
        json_object_set_new(sum, "duration_ms", json_real(e->duration_ms));
        json_object_set_new(det, "duration_ms", json_real(e->duration_ms));
        char error[400], shortr[64];
        if ((failed = end_failure(e, error, sizeof error, shortr, sizeof shortr, &diag))) {
            json_t *objs[2] = {sum, det};
            for (int i = 0; i < 2; i++) {
                json_object_set_new(objs[i], "failed", json_true());
                json_object_set_new(objs[i], "error", json_string_nocheck(error));
                json_object_set_new(objs[i], "reason_short", json_string(shortr));
                json_object_set_new(objs[i], "diag_code",
                                    json_integer(diag ? json_integer_value(json_object_get(diag, "code")) : 0));
            }
            if (diag)
                json_object_set(det, "diagnosis", diag);
            json_t *fail = json_object();
            set(fail, "stage", json_string("receive"));
            set(fail, "errno", json_integer(0));
            set(fail, "dns_error", json_integer(0));
            set(fail, "timeout", json_false());
            set(fail, "status_sent", json_integer(0));
            set(fail, "closed_by", json_string(e->close_seen ? e->closed_by : e->lost_by));
            set(fail, "parse_error", json_string(""));
            set(fail, "reason", json_string_nocheck(error));
            json_object_set_new(det, "failure", fail);
        }
    }
    if (failed) { /* the client's count of failed flows (store.c's client_stats) takes it too */
        sqlite3_stmt *cs;
        if (sqlite3_prepare_v2(db,
                "UPDATE client_stats SET failed = failed + 1 WHERE addr ="
                " (SELECT coalesce(client, '') FROM flows WHERE id = ?1 AND failed = 0 AND id >"
                " coalesce((SELECT value FROM meta WHERE key = 'cleared_upto'), 0))",
                -1, &cs, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(cs, 1, (sqlite3_int64)id);
            sqlite3_step(cs);
            sqlite3_finalize(cs);
        }
    }
    char *s = json_dumps(sum, JSON_COMPACT), *d = json_dumps(det, JSON_COMPACT);
    if (s && d &&
        sqlite3_prepare_v2(db,
            "UPDATE flows SET summary = ?2, detail = ?3, failed = failed OR ?4 WHERE id = ?1",
            -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
        sqlite3_bind_text(st, 2, s, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, d, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 4, failed);
        /* and a new commit sequence number: listed again, after everything before */
        rc = sqlite3_step(st) == SQLITE_DONE && store_seq_touch(db, id) == 0 ? 1 : -1;
    }
    free(s);
    free(d);
out:
    if (st)
        sqlite3_finalize(st);
    json_decref(sum);
    json_decref(det);
    json_decref(ws);
    json_decref(diag);
    return rc;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_msg(LOG_WARN, "store: messages: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Write one item's row (messages, ws_sockets). Returns 0 or -1. */
static int write_item(sqlite3 *db, sqlite3_stmt *ins, const struct item *it)
{
    sqlite3_stmt *st = NULL;
    int ok;
    if (it->patch_only)
        return 0;
    switch (it->kind) {
    case ITEM_MSG:
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)it->flow_id);
        sqlite3_bind_int64(ins, 2, (sqlite3_int64)it->index);
        sqlite3_bind_int(ins, 3, it->from_client);
        sqlite3_bind_int64(ins, 4, (sqlite3_int64)it->at_us);
        sqlite3_bind_int(ins, 5, it->opcode);
        sqlite3_bind_int64(ins, 6, (sqlite3_int64)it->size);
        sqlite3_bind_int64(ins, 7, (sqlite3_int64)it->wire_size);
        sqlite3_bind_int(ins, 8, (int)it->flags);
        if (it->opcode == WS_OP_CLOSE && it->close_code >= 0)
            sqlite3_bind_int(ins, 9, it->close_code);
        else
            sqlite3_bind_null(ins, 9);
        sqlite3_bind_blob(ins, 10, it->data, (int)it->len, SQLITE_STATIC);
        return sqlite3_step(ins) == SQLITE_DONE ? 0 : -1;
    case ITEM_OPEN:
        if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO ws_sockets(flow_id, extensions, open)"
                               " VALUES(?1, ?2, 1)", -1, &st, NULL) != SQLITE_OK)
            return -1;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)it->flow_id);
        sqlite3_bind_text(st, 2, it->extensions ? it->extensions : "", -1, SQLITE_STATIC);
        break;
    case ITEM_END:
        if (sqlite3_prepare_v2(db, "UPDATE ws_sockets SET open = 0, close_code = ?2,"
                               " close_reason = ?3, closed_by = ?4, cut = ?5, dropped = ?6,"
                               " malformed = ?7 WHERE flow_id = ?1", -1, &st, NULL) != SQLITE_OK)
            return -1;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)it->flow_id);
        if (it->end.close_seen && it->end.close_code >= 0)
            sqlite3_bind_int(st, 2, it->end.close_code);
        else
            sqlite3_bind_null(st, 2);
        sqlite3_bind_text(st, 3, it->end.close_reason, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, it->end.closed_by ? it->end.closed_by : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)it->cut);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)it->dropped);
        sqlite3_bind_text(st, 7, it->end.malformed, -1, SQLITE_STATIC);
        break;
    }
    ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return ok ? 0 : -1;
}

size_t store_messages_flush(struct store_messages *m, sqlite3 *db, uint64_t *lo, uint64_t *hi)
{
    *lo = UINT64_MAX;
    *hi = 0;
    pthread_mutex_lock(&m->mu);
    struct item *list = m->head;
    m->head = NULL;
    m->tail = &m->head;
    m->queued = 0;
    pthread_mutex_unlock(&m->mu);
    if (!list)
        return 0;
    if (!m->table_ready)
        m->table_ready = exec(db, table_sql) == 0;
    sqlite3_stmt *ins = NULL;
    size_t patched = 0;
    struct item *retry = NULL, **retry_tail = &retry;
    if (!m->table_ready || exec(db, "BEGIN IMMEDIATE") < 0)
        goto drop;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO messages(flow_id, idx, from_client, at,"
                           " opcode, size, wire_size, flags, close_code, data)"
                           " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)", -1, &ins, NULL) != SQLITE_OK) {
        exec(db, "ROLLBACK");
        goto drop;
    }
    /* rows first; then one patch per flow touched (the last item of each flow decides whether
     * it is the end), in queue order */
    for (struct item *it = list; it; it = it->next)
        if (write_item(db, ins, it) < 0)
            log_msg(LOG_WARN, "store: messages of flow %llu: %s", (unsigned long long)it->flow_id,
                    sqlite3_errmsg(db));
    sqlite3_finalize(ins);
    for (struct item *it = list; it; it = it->next) {
        int later = 0; /* a later item of the same flow patches it (with everything) */
        for (struct item *o = it->next; o && !later; o = o->next)
            later = o->flow_id == it->flow_id;
        if (later)
            continue;
        int rc = patch_flow(db, it->flow_id, it->kind == ITEM_END ? &it->end : NULL);
        if (rc == 1) {
            patched++;
            if (it->flow_id < *lo)
                *lo = it->flow_id;
            if (it->flow_id > *hi)
                *hi = it->flow_id;
        } else if (rc == 0 && it->tries < PATCH_TRIES) {
            /* the 101 flow is still in the store's queue: patch it next time (an end keeps
             * its facts; anything else only needs the flow touched) */
            struct item *p = calloc(1, sizeof *p);
            if (p) {
                p->kind = it->kind == ITEM_END ? ITEM_END : ITEM_OPEN;
                p->patch_only = 1;
                p->flow_id = it->flow_id;
                p->end = it->end;
                p->cut = it->cut;
                p->dropped = it->dropped;
                p->tries = it->tries + 1;
                *retry_tail = p;
                retry_tail = &p->next;
            }
        }
    }
    if (exec(db, "COMMIT") < 0)
        exec(db, "ROLLBACK");
drop:
    for (struct item *it = list, *next; it; it = next) {
        next = it->next;
        item_free(m, it);
    }
    if (retry) {
        pthread_mutex_lock(&m->mu);
        *retry_tail = m->head;
        if (!m->head)
            m->tail = retry_tail;
        m->head = retry;
        pthread_mutex_unlock(&m->mu);
    }
    return patched;
}
