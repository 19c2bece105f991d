/* store.h — the session file: SQLite in WAL mode, written only by its own thread, which takes
 * finished flows from a queue and commits them in batches (at least every STORE_BATCH_MS under
 * load), so workers never wait on disk and a crash loses at most the last batch. Readers (the
 * viewer's thread, `httpeek export`) open their own connections with store_reader_open.
 *
 * JSON shapes (jansson; every string valid UTF-8 whatever bytes the flow held: bytes that are not
 * UTF-8 are mapped as Latin-1 so that headers survive exactly, see flow_json.h):
 *   summary: {id, conn_id, kind:"http"|"tunnel", started:"ISO-8601 with ms, UTC", method, url,
 *             scheme, host, port, path, status (0 when none), failed (bool), error (string or ""),
 *             mime, req_size, resp_size (body bytes), duration_ms, client, note, diag_code,
 *             warn_code, warn_kinds, warn_codes (flow_json.c), reason_short (a few words why it
 *             failed, "" when it worked: flow_words.h),
 *             failed_before_tls (bool: a CONNECT that failed before any TLS with the client),
 *             own (bool: a request for httpeek's own pages, recorded with --record-own),
 *             ws (WebSocket flows only, added by store_messages.c: {messages, open, close_code,
 *             close_reason, closed_by, cut, dropped, malformed, extensions})}
 *   detail:  summary + {request:{method, target, http_version, headers:[{name,value}],
 *             trailers:[{name,value}] (the trailer section as received, [] when none),
 *             body_size, body_captured, body_truncated, body_cut}, response:{status, reason,
 *             http_version, headers, trailers, body_size, body_captured, body_truncated, body_cut} or null
 *             (body_cut only when the capture stopped before --max-body: "memory budget", the
 *             --memory-budget share was used and the rest could not be spilled to disk; the
 *             client still got every byte), timings:{blocked, dns,
 *             connect, ssl, send, wait, receive} (ms, -1 = did not happen), server_ip,
 *             tls:{client:{...}|null, upstream:{...}|null} (flow_tls fields, plus error_text:
 *             the OpenSSL error in plain words; leaf/leaf_reason on the client leg, peer_names
 *             cert_requested (the server sent a CertificateRequest) and client_cert (subject of
 *             the --client-cert certificate httpeek sent, "" none) on the upstream leg),
 *             failure:{stage, errno, dns_error, timeout, status_sent, closed_by, parse_error,
 *             reason} or null, bytes_up, bytes_down, diagnosis:{code, domain, name, stage, title,
 *             detail, fix, android}, warnings:[same + kind]} — as store_reader_get returns it:
 *             a warning with a catalogue key is stored as {code, domain, stage, detail, kind,
 *             entry: key} and completed on reading (flow_json_put_back) */
#ifndef HTTPEEK_STORE_H
#define HTTPEEK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <event2/buffer.h>
#include "attrib.h"
#include "flow.h"
#include "store_checkpoint.h"

/* Longest a finished flow waits in the queue before its batch is committed (ms). */
#define STORE_BATCH_MS 50
/* Most flows per transaction. */
#define STORE_BATCH_MAX 512

struct store;
struct store_messages;

/* Open or create the session file at path (schema, WAL, synchronous=NORMAL) and start the writer
 * thread. Returns NULL with a one-line reason naming the file in err. Free with store_close. */
struct store *store_open(const char *path, char *err, size_t errlen) HP_NONNULL(1, 2) HP_WUNRES;

/* Queue a finished flow; the store takes ownership (frees it once written). Never blocks on disk.
 * Signature matches flow_sink_fn with arg = the store. */
void store_sink(struct flow *f, void *store) HP_NONNULL(1, 2);

/* 1 while the flows waiting to be written hold more memory than the store lets queue up (set at a
 * high mark, cleared at three quarters of it): a worker then takes no new request until it is 0
 * again, so memory stays bounded when the proxy outruns the disk. Lock-free. Argument: the store. */
int store_backlogged(void *store) HP_NONNULL(1);

/* Below the high mark, how long (µs) each new request should wait so the proxy slows to the
 * writer's pace before the mark is reached: 0 up to three quarters of the mark, then in proportion
 * to how far past that the backlog is, up to STORE_PACE_MAX_US at the mark. Lock-free. */
#define STORE_PACE_MAX_US 2000u
unsigned store_pace_us(void *store) HP_NONNULL(1);

/* Print each flow's terminal line (flow_format_line) to out as the writer takes it, a batch at a
 * time with one write, so workers make no write per exchange (call before flows arrive; pass
 * NULL as the workers' flow_done output then). */
void store_set_lines(struct store *s, FILE *out) HP_NONNULL(1);

/* Called on the writer thread after each commit with the smallest and largest id of the batch
 * just made durable. Ids are given when a flow is recorded, and workers queue their flows in
 * whatever order they get there, so a batch may hold ids below those of earlier batches (the
 * commit sequence, store_reader_list_seq, is the order of commits):
 * store_reader_list(r, first_id - 1, 0) returns every flow of the batch (and any newer). */
typedef void (*store_notify_fn)(uint64_t first_id, uint64_t last_id, void *arg);

/* Set the commit listener (call before flows arrive). */
void store_set_notify(struct store *s, store_notify_fn fn, void *arg) HP_NONNULL(1);

/* Where workers hand WebSocket messages (store_messages.h), written by this store's thread.
 * Borrowed until store_close. */
struct store_messages *store_messages_of(struct store *s) HP_NONNULL(1);

/* Highest flow id already in the file when it was opened (ids continue after it). */
uint64_t store_last_id(struct store *s) HP_NONNULL(1);

/* The session file's path (borrowed until store_close). */
const char *store_path(struct store *s) HP_NONNULL(1);

/* Whether flows are being recorded: a new JSON object {state: "ok"|"failing", reason:
 * "disk_full"|"read_only"|"deleted"|"io_error"|"", reason_text, since (ISO-8601 UTC, "" when
 * ok), not_recorded (flows of this failure not in the file), waiting (of those, held in memory
 * to be written when it resumes), not_recorded_total (flows lost for good since the store
 * opened), last_error} (store_health.h). Caller json_decref; NULL on OOM. Thread-safe. When the
 * file cannot be written the proxy goes on, the flows wait in memory (STORE_HOLD_FLOWS and
 * _BYTES in store.c; beyond that they are counted as lost), the terminal is told once a minute,
 * and the file is tried again every second (recording resumes by itself when space returns). A
 * session file deleted under httpeek stays "failing" with reason "deleted" until httpeek exits:
 * flows still go into the open (deleted) file, so the viewer and HAR export still have them, but
 * it is not made again (a new file would split the session silently). */
json_t *store_recording(struct store *s) HP_NONNULL(1);

/* A counter that changes whenever store_recording's answer does (thread-safe, cheap). */
uint64_t store_recording_changes(struct store *s) HP_NONNULL(1);

/* What the writer thread has done so far (for logs and benchmarks). */
struct store_stats {
    uint64_t flows;          /* flows committed */
    uint64_t commits;        /* transactions committed */
    uint64_t batch_max;      /* most flows in one transaction */
    uint64_t lost;           /* flows that could not be written (logged) */
    uint64_t latency_sum_us; /* sum over committed flows of flow_done → commit (us) */
    uint64_t latency_max_us; /* the longest such wait */
    struct store_checkpoint_stats wal; /* the WAL's checkpoints (zeros without a checkpointer) */
    uint64_t backlog_marks;  /* times the backlog reached the high mark (store_backlogged) */
    uint64_t paced;          /* store_pace_us answers that asked a request to wait */
};

/* Copy the counters into out (thread-safe). */
void store_get_stats(struct store *s, struct store_stats *out) HP_NONNULL(1, 2);

/* Write everything queued, stop the thread, close the file. NULL allowed. Call after the
 * workers have stopped (flows handed to store_sink after this are lost). */
void store_close(struct store *s);

struct store_reader;

/* A reading connection for one thread (it writes only the "cleared" mark and client names). A missing file, a
 * file that is not SQLite, or a database without the flows table gives NULL with a one-line
 * reason naming the file in err. */
struct store_reader *store_reader_open(const char *path, char *err, size_t errlen) HP_NONNULL(1, 2) HP_WUNRES;

/* Close a reader. NULL allowed. */
void store_reader_close(struct store_reader *r);

/* Summaries of visible flows with id > after_id, in id order, at most limit (0 = all).
 * Returns a new JSON array (caller json_decref), NULL on error. */
json_t *store_reader_list(struct store_reader *r, uint64_t after_id, size_t limit) HP_NONNULL(1);

/* The same list without building JSON objects: fn gets each summary's stored JSON text (an
 * object) and its client address, in id order; stops early when fn returns nonzero. Returns 0,
 * fn's nonzero value, or -1 on a store error. For the viewer's big lists. */
int store_reader_list_text(struct store_reader *r, uint64_t after_id, size_t limit,
                           int (*fn)(const char *summary, size_t len, const char *client, void *arg),
                           void *arg) HP_NONNULL(1, 4);

/* Visible flows in commit order: fn gets each summary's stored JSON text, its client address and
 * its commit sequence number (seq: one more than any committed before it, so a flow that
 * finished late has a small id but a big seq), for seq > after_seq, at most limit (0 = all);
 * stops early when fn returns nonzero. Every flow with a seq up to the last one given is
 * committed: resuming after it misses nothing and repeats nothing. Returns 0, fn's nonzero
 * value, or -1 on a store error or a file without the sequence (opened read-only, from a build
 * before it). */
int store_reader_list_seq(struct store_reader *r, uint64_t after_seq, size_t limit,
                          int (*fn)(const char *summary, size_t len, const char *client,
                                    uint64_t seq, void *arg),
                          void *arg) HP_NONNULL(1, 4);

/* The highest commit sequence number in the file (0: none) into *seq. Returns 0 or -1. */
int store_reader_last_seq(struct store_reader *r, uint64_t *seq) HP_NONNULL(1, 2);

/* The detail object of flow id, or NULL when there is no such flow. Caller json_decref. */
json_t *store_reader_get(struct store_reader *r, uint64_t id) HP_NONNULL(1);

/* Append the captured request (response = 0) or response (1) body of flow id to out, undoing its
 * Content-Encoding (gzip, deflate, br) when decode is 1. mime gets the body's Content-Type ("" if
 * none). Returns 0, -1 when there is no such flow or body, -2 when decoding failed (bad data,
 * or an encoding this build cannot decode: br without the brotli feature, zstd). A truncated
 * capture decodes as far as its bytes go. An empty body returns 0 and appends nothing. */
int store_reader_body(struct store_reader *r, uint64_t id, int response, int decode,
                      struct evbuffer *out, char *mime, size_t mimelen) HP_NONNULL(1, 5, 6);

/* The reader's own SQLite connection, for read-only queries by other read-side modules (links.c)
 * on the reader's thread. Its table is the schema in store.c: flows(id, kind, method, host,
 * status, failed, client, mime, summary, detail, ...) and meta('cleared_upto'). */
struct sqlite3 *store_reader_db(struct store_reader *r) HP_NONNULL(1);

/* Hide every flow up to now from lists and HAR (DELETE /api/flows); the file keeps them. */
int store_reader_clear(struct store_reader *r) HP_NONNULL(1);

/* Per-client counts over the visible flows: a new JSON array of {addr, flows, failed, https,
 * app} (https: requests inside intercepted TLS; app: requests to hosts other than the setup
 * host), NULL on error. Caller json_decref. */
json_t *store_reader_clients(struct store_reader *r) HP_NONNULL(1);

/* The user's names for clients: a new JSON object addr → name (empty when none), NULL on error. */
json_t *store_reader_client_names(struct store_reader *r) HP_NONNULL(1);

/* Name client addr (an empty name forgets it); kept in the session file. Returns 0 or -1. */
int store_reader_set_client_name(struct store_reader *r, const char *addr, const char *name)
    HP_NONNULL(1, 2, 3);

/* Call fn for each visible flow id in order; stops early when fn returns nonzero (returned).
 * fn may call the other store_reader_* functions on r, but not store_reader_foreach.
 * Returns 0, fn's nonzero value, or -1 on a store error. */
int store_reader_foreach(struct store_reader *r, int (*fn)(uint64_t id, void *arg), void *arg)
    HP_NONNULL(1, 2);

#endif
