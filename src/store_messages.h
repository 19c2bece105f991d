/* store_messages.h — WebSocket messages in the session file. Workers (ws_tap.c) hand messages and
 * the socket's end to a queue here (never blocking, bounded by the memory budget and
 * STORE_MESSAGES_QUEUE_MAX); the store's writer thread writes them (store_messages_flush) into the
 * messages table and patches the flow's stored summary and detail (its "ws" object, and at the
 * end its duration, failure and diagnosis), giving the flow a new commit sequence number so live
 * viewers are sent it again. Readers page through a flow's messages (store_messages_list).
 *
 * Message JSON (GET /api/flows/{id}/messages): {index, from: "client"|"server", time (epoch
 * seconds, float, µs precision), opcode (1 text, 2 binary, 8 close, 9 ping, 10 pong), type
 * ("text", "binary", "close", "ping", "pong"), size (payload bytes, inflated), wire_size
 * (payload bytes on the wire), compressed, cut (data holds only the first bytes), inflate_failed,
 * close_code (close only: the code, null when none), encoding ("utf8" for text, and a close
 * reason, that is valid UTF-8; else "base64"), data (for close: the reason)}.
 * The flow's "ws" object (summary and detail): {messages (count stored), open (bool),
 * close_code (null until a close frame), close_reason, closed_by ("client"|"server"|""),
 * cut (messages stored cut), dropped (messages not stored: the memory budget, or past the
 * socket's bound, WS_TAP_FLOW_BODIES x --max-body), both counted when the socket ends,
 * malformed (why parsing stopped, "" when it did not), extensions (the 101's
 * Sec-WebSocket-Extensions)}. */
#ifndef HTTPEEK_STORE_MESSAGES_H
#define HTTPEEK_STORE_MESSAGES_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "attrib.h"
#include "budget.h"
#include "ws_frame.h"

/* Most bytes of messages waiting for the writer, whatever the budget. */
#define STORE_MESSAGES_QUEUE_MAX (64u << 20)
/* Most messages one page of store_messages_list returns. */
#define STORE_MESSAGES_PAGE_MAX 10000

struct store_messages;
struct sqlite3;
struct store_reader;

/* The end of one WebSocket, as its tap saw it. */
struct ws_end {
    uint64_t end_us;           /* wall clock, µs since the epoch */
    double duration_ms;        /* from the request's start */
    int close_code;            /* first close frame's code; -1 none or no code */
    int close_seen;            /* a close frame went by (from either side) */
    char close_reason[124];
    const char *closed_by;     /* "client", "server" (who sent the first close frame) or "" */
    const char *lost_by;       /* no close frame: which side's TCP ended first ("client",
                                  "server"), "" when unknown */
    int lost_error;            /* that end was an error (reset), not a FIN */
    char malformed[160];       /* why frame parsing stopped, "" */
};

/* New queue; budget may be NULL. NULL on OOM. Free with store_messages_free. */
struct store_messages *store_messages_new(struct budget *budget) HP_WUNRES;
void store_messages_free(struct store_messages *m);

/* Count queued messages against budget (set before workers start; NULL: none). */
void store_messages_use_budget(struct store_messages *m, struct budget *budget) HP_NONNULL(1);

/* Worker side (thread-safe, never blocks on disk). The flow's WebSocket opened (extensions: its
 * 101's Sec-WebSocket-Extensions, may be NULL). */
void store_messages_open(struct store_messages *m, uint64_t flow_id, const char *extensions)
    HP_NONNULL(1);
/* Queue message m of flow_id as its index-th. Returns 0, or -1 when it was dropped (no room:
 * budget or STORE_MESSAGES_QUEUE_MAX). */
int store_messages_add(struct store_messages *m, uint64_t flow_id, uint64_t index,
                       const struct ws_msg *msg) HP_NONNULL(1, 4);
/* The WebSocket ended; cut and dropped: its counts. */
void store_messages_end(struct store_messages *m, uint64_t flow_id, const struct ws_end *e,
                        uint64_t cut, uint64_t dropped) HP_NONNULL(1, 3);

/* Writer side: write what is queued into db (creating the table), one transaction. Patches of
 * flows not yet in the file wait for the next call. Returns how many flows were patched, with
 * their smallest and largest ids in *lo and *hi (for the store's commit notification). */
size_t store_messages_flush(struct store_messages *m, struct sqlite3 *db, uint64_t *lo,
                            uint64_t *hi) HP_NONNULL(1, 2, 3, 4);

/* Reader side: the messages of flow id with index > after (after = -1: from the first), at most
 * limit (0 or more than STORE_MESSAGES_PAGE_MAX: that). A new JSON array (empty when none or
 * no such table); NULL on a store error. */
json_t *store_messages_list(struct store_reader *r, uint64_t id, int64_t after, size_t limit)
    HP_NONNULL(1);

/* Call fn for each message of flow id in order with its raw fields (for the HAR). Returns 0 or
 * -1 on a store error. */
int store_messages_each(struct store_reader *r, uint64_t id,
                        int (*fn)(int from_client, double time, int opcode, unsigned flags,
                                  const unsigned char *data, size_t len, int close_code, void *arg),
                        void *arg) HP_NONNULL(1, 3);

/* A message's data as JSON: the text itself for a text message or a close reason that is
 * valid UTF-8 (*is_text = 1), else base64 (*is_text = 0). New reference; NULL on OOM. */
json_t *store_messages_data(int opcode, const unsigned char *p, size_t n, int *is_text)
    HP_NONNULL(2, 4);

#endif
