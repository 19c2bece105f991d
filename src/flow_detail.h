/* flow_detail.h — a finished flow's detail (store.h's shape), either written as JSON text at once
 * or packed as a flow record: the same values without the JSON (heads as their bytes, numbers in
 * binary, no member names, no escaping) that is written as that JSON text, byte for byte, when it
 * is read. The store keeps the record (store_row.c): building a detail nobody may ever open was
 * most of the JSON work of the store thread, and the record is about half the text's size.
 * Pure, no globals; any thread, each on its own buffers.
 *
 * One walk over the detail's members does all three (write JSON, pack, write JSON from a record),
 * so the record holds exactly what the JSON would, in its order. A record starts with
 * FLOW_RECORD_MAGIC and its version; records of every version ever written must stay readable: a
 * change to the detail's members bumps FLOW_RECORD_VERSION and keeps the walk of older versions
 * (the record says which version wrote it). */
#ifndef HTTPEEK_FLOW_DETAIL_H
#define HTTPEEK_FLOW_DETAIL_H

#include <stddef.h>
#include <jansson.h>
#include "attrib.h"
#include "diagnosis.h"
#include "flow.h"
#include "flow_json_text.h"

#define FLOW_RECORD_MAGIC 0xf5   /* not '{': a record is never mistaken for a JSON text */
#define FLOW_RECORD_VERSION 1

/* Append f's detail members (no braces) as JSON to w: warn[0..nwarn) its warnings
 * (diagnose_warnings), refs the tls_ref of flow_json_text. */
void flow_detail_json(struct flow_json_text *w, const struct flow *f, const struct diagnosis *warn,
                      size_t nwarn, const long long refs[2]) HP_NONNULL(1, 2, 5);

/* Append f's flow record (the same arguments) to w->buf as bytes. */
void flow_detail_pack(struct flow_json_text *w, const struct flow *f, const struct diagnosis *warn,
                      size_t nwarn, const long long refs[2]) HP_NONNULL(1, 2, 5);

/* 1 when p[0..len) starts as a flow record does (a stored detail is a record or a JSON text). */
int flow_detail_is_record(const void *p, size_t len);

/* Write the detail JSON of the record p[0..len) — "{" members "}", what flow_json_texts writes
 * with detail_only — into out (out->buf[0 .. out->len), replacing what it held). Returns 0, -1
 * on a record that is not whole or not one this build reads (out then holds nothing useful) or
 * OOM. */
int flow_detail_emit(const void *p, size_t len, struct flow_json_text *out) HP_NONNULL(3);

/* A stored detail (a flow record or a JSON text, len bytes) parsed: a new reference, NULL when it
 * is neither (or OOM). */
json_t *flow_detail_load(const void *p, size_t len);

/* Write the JSON object of one leg's TLS facts (as the detail's tls.client, client_leg = 1, or
 * tls.upstream holds it; t->present must be 1) into out, replacing what it held (the text is
 * out->buf[0 .. out->len)): the detail's walk writes it, here. Returns 0, -1 on OOM. */
int flow_json_tls(const struct flow_tls *t, int client_leg, struct flow_json_text *out)
    HP_NONNULL(1, 3);

#endif
