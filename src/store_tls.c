/* store_tls.c — see store_tls.h. */
#include "store_tls.h"

#include <string.h>
#include "flow_detail.h"

static const char table_sql[] =
    "CREATE TABLE IF NOT EXISTS tls(id INTEGER PRIMARY KEY, facts TEXT NOT NULL)";

int store_tls_open(struct store_tls *w, sqlite3 *db)
{
    memset(w, 0, sizeof *w);
    w->db = db;
    if (sqlite3_exec(db, table_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO tls(facts) VALUES(?1)", -1, &w->insert, NULL) !=
            SQLITE_OK)
        return -1;
    return 0;
}

long long store_tls_ref(struct store_tls *w, const struct flow *f, int upstream)
{
    const struct flow_tls_shared *sh = f->tls_ref[upstream ? 1 : 0];
    if (!sh || !sh->t.present || !w->insert)
        return 0;
    __typeof__(w->seen[0]) *slot = &w->seen[sh->serial % STORE_TLS_SLOTS];
    if (slot->serial != sh->serial) { /* first flow of these facts: inline (maybe the only one) */
        slot->serial = sh->serial;
        slot->id = 0;
        return 0;
    }
    if (slot->id)
        return slot->id;
    if (flow_json_tls(&sh->t, !upstream, &w->json) < 0)
        return 0;
    sqlite3_bind_text(w->insert, 1, w->json.buf, (int)w->json.len, SQLITE_STATIC);
    int rc = sqlite3_step(w->insert);
    sqlite3_reset(w->insert);
    sqlite3_clear_bindings(w->insert);
    if (rc != SQLITE_DONE)
        return 0; /* the flow's own insert will meet (and report) the same trouble */
    slot->id = sqlite3_last_insert_rowid(w->db);
    return slot->id;
}

void store_tls_forget(struct store_tls *w)
{
    for (size_t i = 0; i < STORE_TLS_SLOTS; i++)
        w->seen[i].id = 0; /* still seen: the next flow writes the row again */
}

void store_tls_close(struct store_tls *w)
{
    sqlite3_finalize(w->insert);
    flow_json_text_free(&w->json);
    memset(w, 0, sizeof *w);
}

void store_tls_put_back(sqlite3 *db, sqlite3_stmt **get, json_t *detail)
{
    json_t *tls = json_object_get(detail, "tls");
    static const char *const legs[2] = {"client", "upstream"};
    for (int i = 0; i < 2; i++) {
        json_t *ref = json_object_get(tls, legs[i]);
        if (!json_is_integer(ref))
            continue;
        if (!*get &&
            sqlite3_prepare_v2(db, "SELECT facts FROM tls WHERE id=?1", -1, get, NULL) != SQLITE_OK)
            return;
        sqlite3_reset(*get);
        sqlite3_bind_int64(*get, 1, (sqlite3_int64)json_integer_value(ref));
        json_t *o = NULL;
        if (sqlite3_step(*get) == SQLITE_ROW) {
            const char *text = (const char *)sqlite3_column_text(*get, 0);
            o = text ? json_loads(text, 0, NULL) : NULL;
        }
        sqlite3_reset(*get);
        if (o)
            json_object_set_new(tls, legs[i], o);
    }
}
