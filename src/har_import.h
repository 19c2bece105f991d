/* har_import.h — `httpeek view FILE.har` (issue 20): a HAR file's entries (from Chrome, Firefox,
 * Charles, Proxyman, mitmproxy or httpeek) written into a session file as flows, so the viewer
 * shows them with the same list, filters and detail panes, and any of their requests can be
 * repeated (httpeek then runs on that session as usual). Each entry keeps its method, URL,
 * heads, bodies (text or base64, cut at max_body), start time and timings; a failed entry
 * (status 0, Chrome's _error, httpeek's _diagnosis) becomes a failed flow whose diagnosis is
 * recomputed where the facts allow (the stage httpeek's HAR names; Chrome's net::ERR_ names for
 * DNS, refused, reset, timeout, certificate). Runs before the proxy starts, on the main thread. */
#ifndef HTTPEEK_HAR_IMPORT_H
#define HTTPEEK_HAR_IMPORT_H

#include <stddef.h>
#include <jansson.h>
#include "attrib.h"

struct flow;

/* One HAR entry (an element of log.entries) as a new flow, unnumbered, diagnosed where its facts
 * allow, its note "imported from <source>" (NULL: "a HAR file"); NULL when the entry is no HTTP
 * request. Any thread (POST /api/har/import calls it on the viewer's; web_har_import.c). */
struct flow *har_import_entry(json_t *entry, size_t max_body, const char *source) HP_NONNULL(1);

/* Import har_path's entries into the session file session_path (created or continued), numbered
 * after its last flow. Returns the number imported (entries that are no HTTP request are
 * skipped), or -1 with a one-line reason in err (the file unreadable, not JSON, no log.entries,
 * or the session not writable). */
long har_import(const char *har_path, const char *session_path, size_t max_body, char *err,
                size_t errlen) HP_NONNULL(1, 2, 4);

#endif
