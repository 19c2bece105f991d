/* diagnose.h — pure functions from what happened to a flow (stage, errno, resolver result, TLS
 * verify result and alerts, llhttp error, who closed first) to what the app saw: an
 * NSURLErrorDomain code with its name, the stage, a title, a detail naming the facts, and a
 * concrete fix (with the Android / OkHttp equivalent where it helps). No I/O, no allocation. */
#ifndef HTTPEEK_DIAGNOSE_H
#define HTTPEEK_DIAGNOSE_H

#include <stddef.h>
#include "attrib.h"
#include "diagnosis.h"
#include "flow.h"

/* The catalogue entry for code, or NULL when httpeek does not explain it. */
const struct diagnose_entry *diagnose_lookup(int code);

/* The entry a stored warning names by its key (diagnose_entry.key): the cleartext ATS
 * warning's or an app-level one's (warnings_entry); NULL for a key this build does not know. */
const struct diagnose_entry *diagnose_keyed_entry(const char *key) HP_NONNULL(1);
/* Whether e was keyed after rows stored it whole: readers then put its texts back in the
 * members' order of a whole warning, so old and new rows read the same (flow_json_put_back). */
int diagnose_whole_order(const struct diagnose_entry *e) HP_NONNULL(1);

/* Number of catalogue entries, and entry i (for the viewer's help and tests). */
size_t diagnose_count(void);
const struct diagnose_entry *diagnose_entry_at(size_t i);

/* Explain a failed flow. Returns 1 and fills out when the flow failed, 0 when it did not. A
 * request httpeek answered itself (fail.refusal) gets -1002 (a scheme it does not proxy, or a
 * request not meant for a proxy: the fix says how to set the proxy), -1000 (a malformed URL), or
 * an "HTTP" domain entry naming the limit or rule and the option that changes it. */
int diagnose_flow(const struct flow *f, struct diagnosis *out) HP_NONNULL(1, 2);

/* The ATS warning for a flow that worked: 1 and out filled (-1022) when f was a cleartext http://
 * request that iOS would have blocked without an ATS exception, 0 otherwise. */
int diagnose_ats_warning(const struct flow *f, struct diagnosis *out) HP_NONNULL(1, 2);

/* Warnings for a flow that worked: the cleartext -1022 and the ATS audit of its upstream TLS
 * session (TLS below 1.2, no forward secrecy, SHA-1 signature, RSA < 2048 or EC < 256 bits), each
 * as the code the app would get under App Transport Security (kind "ats"), then the app-level
 * warnings of warnings.h (local-network, status, content-type, decode, hls, cache). Fills up to
 * max entries of out; returns how many. The first call also records the kinds in f->checks for
 * the terminal line. */
size_t diagnose_warnings(const struct flow *f, struct diagnosis *out, size_t max) HP_NONNULL(1, 2);

#endif
