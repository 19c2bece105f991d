/* store.h — the session file: SQLite in WAL mode, written only by its own thread, which takes
 * finished flows from a queue and commits them in batches (at least every STORE_BATCH_MS under
 * load), so workers never wait on disk and a crash loses at most the last batch. Readers (the
 * viewer's thread, `httpeek export`) open their own connections with store_reader_open.
 *
 * JSON shapes (jansson; every string valid UTF-8 whatever bytes the flow held: bytes that are not
 * UTF-8 are mapped as Latin-1 so that headers survive exactly, see flow_json.h):
 *   summary: {id, conn_id, kind:"http"|"tunnel", started:"ISO-8601 with ms, UTC", method, url,
 *             scheme, host, port, path, status (0 when none), failed (bool), error (string or ""),
 *             mime, req_size, resp_size (body bytes), duration_ms, client, note}
 *   detail:  summary + {request:{method, target, http_version, headers:[{name,value}],
 *             body_size, body_captured, body_truncated}, response:{status, reason, http_version,
 *             headers, body_size, body_captured, body_truncated} or null, timings:{blocked, dns,
 *             connect, ssl, send, wait, receive} (ms, -1 = did not happen), server_ip,
 *             tls:{client:{...}|null, upstream:{...}|null} (flow_tls fields),
 *             failure:{stage, errno, dns_error, timeout, status_sent, closed_by, parse_error,
 *             reason} or null, bytes_up, bytes_down} */
#ifndef HTTPEEK_STORE_H
#define HTTPEEK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <event2/buffer.h>
#include "attrib.h"
#include "flow.h"

/* Longest a finished flow waits in the queue before its batch is committed (ms). */
#define STORE_BATCH_MS 50
/* Most flows per transaction. */
#define STORE_BATCH_MAX 512

struct store;

/* Open or create the session file at path (schema, WAL, synchronous=NORMAL) and start the writer
 * thread. Returns NULL with a one-line reason naming the file in err. Free with store_close. */
struct store *store_open(const char *path, char *err, size_t errlen) HP_NONNULL(1, 2) HP_WUNRES;

/* Queue a finished flow; the store takes ownership (frees it once written). Never blocks on disk.
 * Signature matches flow_sink_fn with arg = the store. */
void store_sink(struct flow *f, void *store) HP_NONNULL(1, 2);

/* Called on the writer thread after each commit with the range of ids just made durable. */
typedef void (*store_notify_fn)(uint64_t first_id, uint64_t last_id, void *arg);

/* Set the commit listener (call before flows arrive). */
void store_set_notify(struct store *s, store_notify_fn fn, void *arg) HP_NONNULL(1);

/* Highest flow id already in the file when it was opened (ids continue after it). */
uint64_t store_last_id(struct store *s) HP_NONNULL(1);

/* Write everything queued, stop the thread, close the file. NULL allowed. */
void store_close(struct store *s);

struct store_reader;

/* A read-only connection for one thread. Returns NULL with a reason in err. */
struct store_reader *store_reader_open(const char *path, char *err, size_t errlen) HP_NONNULL(1, 2) HP_WUNRES;

/* Close a reader. NULL allowed. */
void store_reader_close(struct store_reader *r);

/* Summaries of visible flows with id > after_id, in id order, at most limit (0 = all).
 * Returns a new JSON array (caller json_decref), NULL on error. */
json_t *store_reader_list(struct store_reader *r, uint64_t after_id, size_t limit) HP_NONNULL(1);

/* The detail object of flow id, or NULL when there is no such flow. Caller json_decref. */
json_t *store_reader_get(struct store_reader *r, uint64_t id) HP_NONNULL(1);

/* Append the captured request (response = 0) or response (1) body of flow id to out, undoing its
 * Content-Encoding (gzip, deflate, br) when decode is 1. mime gets the body's Content-Type ("" if
 * none). Returns 0, -1 when there is no such flow or body, -2 when decoding failed. */
int store_reader_body(struct store_reader *r, uint64_t id, int response, int decode,
                      struct evbuffer *out, char *mime, size_t mimelen) HP_NONNULL(1, 5, 6);

/* Hide every flow up to now from lists and HAR (DELETE /api/flows); the file keeps them. */
int store_reader_clear(struct store_reader *r) HP_NONNULL(1);

/* Call fn for each visible flow id in order; stops early when fn returns nonzero (returned). */
int store_reader_foreach(struct store_reader *r, int (*fn)(uint64_t id, void *arg), void *arg)
    HP_NONNULL(1, 2);

#endif
