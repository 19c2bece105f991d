/* rule_rewrite.h — what the rewrite rules in use (ruleset.h RULE_REWRITE, edits in rewrite.h)
 * do to one exchange, for exchange.c (through rule_policy, rule_apply.h): the request's
 * headers, URL and query before it goes out (or is answered by a map local rule), the
 * response's status and headers as its head arrives, and its body (decoded, edited, re-encoded,
 * with a new Content-Length) once the whole of it has been held — up to RULE_REWRITE_BODY_MAX
 * and within the memory budget (proxy->budget, which held bytes are taken from); a larger body, or one delimited by the connection's close, goes on untouched and the flow
 * says so. Every rule that matched is noted in the flow (flow_rule_hit, with before / after).
 * Runs on the exchange's worker thread. */
#ifndef HTTPEEK_RULE_REWRITE_H
#define HTTPEEK_RULE_REWRITE_H

#include <stddef.h>
#include "attrib.h"
#include "exchange.h"

struct exchange;
struct http1_head;
struct rule_target;

/* Largest response body a rewrite holds and edits (bytes on the wire, and decoded). */
#define RULE_REWRITE_BODY_MAX (16u << 20)

/* Match the rewrite rules against the request as the app sent it (scheme, host, port, path) and
 * apply the request edits: headers on the flow's request head, URL and query edits to t->path
 * (t->path_buf). The response edits are kept for the response. Returns 0, 1 when the request
 * is held for its body edits (the exchange sends no head: rule_rewrite_req_done sends head and
 * edited body to t's path and Host, copied), or -1 out of memory. */
int rule_rewrite_request(struct exchange *ex, const char *scheme, const char *host, int port,
                         const char *path, struct rule_target *t) HP_NONNULL(1, 2, 3, 5, 6);

/* The final response head arrived: status and header edits on it. Returns 0 (send it on now),
 * 1 (held: its body is edited first; rule_rewrite_body / rule_rewrite_done send it), -1 out of
 * memory. flags: the exchange's head flags, kept for when it goes. */
int rule_rewrite_head(struct exchange *ex, struct http1_head *resp, unsigned flags)
    HP_NONNULL(1, 2);

/* 1 when ex's response body is being held by rule_rewrite_head. */
int rule_rewrite_holding(const struct exchange *ex) HP_NONNULL(1);

/* Body bytes of a held response: held (or, past the limit, the head, what was held and these
 * go on untouched). Returns what the front's resp_body returns (0, -1). */
int rule_rewrite_body(struct exchange *ex, const char *data, size_t len) HP_NONNULL(1);

/* The held response is whole: edit, re-encode, send head and body. Returns 0, -1 when the
 * front failed. */
int rule_rewrite_done(struct exchange *ex) HP_NONNULL(1);

/* 1 while ex's request (head and body) is held for its body edits. */
int rule_rewrite_req_holding(const struct exchange *ex) HP_NONNULL(1);

/* Body bytes of a held request: held (or, past the limit, the head, what was held and these go
 * upstream untouched, noted). Returns where the bytes went, as exchange_req_body. */
enum exchange_body rule_rewrite_req_body(struct exchange *ex, const char *data, size_t len)
    HP_NONNULL(1);

/* The held request is whole: decode, edit, re-encode (the flow's request head gets the new
 * Content-Length, its captured body the bytes sent), then head and body go upstream. */
void rule_rewrite_req_done(struct exchange *ex) HP_NONNULL(1);

#endif
