/* web.h — the viewer and its JSON API on libevent's evhttp, on a thread of its own: embedded
 * web/ assets, /api/flows, /api/flows/{id}, bodies, /api/events (server-sent events fed by the
 * store's commit notifications), /api/har, DELETE /api/flows, /api/clients, /api/passthrough.
 * Bound to 127.0.0.1 by default; a non-loopback --web address requires the token printed at
 * start-up.
 *
 * API (all JSON is UTF-8; shapes of summary/detail are in store.h):
 *   GET  /                         the viewer (web/index.html; other web/ files by name)
 *   GET  /api/flows?after=ID&limit=N   array of summaries (store.h, plus "warn_code": the first
 *                                  warning's code or 0, "warn_kinds": each warning kind once,
 *                                  "warn_codes": each non-zero warning code once) with id > ID in id order (default
 *                                  after=0, limit=0 = all). Each summary also carries
 *                                  "client_name" (the user's name for the client, else the
 *                                  device named from its User-Agents, else ""), "app" (the
 *                                  User-Agent product of the request: "MyApp/1.2", "Safari 17"),
 *                                  "reason_short"
 *                                  (why it failed in a few words: "expired 2024-04-01",
 *                                  "self-signed", "connection refused"; "" when it worked) and
 *                                  "failed_before_tls" (a CONNECT that failed resolving,
 *                                  connecting or handshaking upstream before any client TLS),
 *                                  "own" (httpeek's own page, recorded with --record-own).
 *   GET  /api/flows/{id}           detail (store.h) + diagnosis {code, name, stage, title, detail,
 *                                  fix[, android][, domain]} and warnings [{same + kind ("ats",
 *                                  "local-network", "status", "content-type", "decode", "hls",
 *                                  "cache", "connect") + domain when not NSURLErrorDomain}]
 *                                  (warnings.h; a "cache" note has code 0: information, not an
 *                                  error); 404 {error} if none. A diagnosis with "domain": "HTTP"
 *                                  is an HTTP status httpeek answered itself (code = the status),
 *                                  not an NSURLError. Found when read (links.h): links [{rel
 *                                  ("revalidates" | "revalidated-by" | "hls-playlist" |
 *                                  "hls-failed"), flow (id, null when not in the session), url,
 *                                  status, failed, reason}], and an "hls" warning with flow (the
 *                                  first failed URI's id) on a playlist whose URIs then failed.
 *   GET  /api/flows/{id}/request/body, /response/body   captured bytes; ?decode=1 undoes
 *                                  Content-Encoding (422 {error} when it cannot); ?download=1
 *                                  adds Content-Disposition: attachment. Served with the body's
 *                                  Content-Type under "Content-Security-Policy: sandbox" and
 *                                  nosniff, so a captured page can never script the viewer.
 *   GET  /api/flows/{id}/messages?after=INDEX&limit=N   a WebSocket flow's messages, both ways,
 *                                  in order: [{index, from ("client"|"server"), time (epoch s,
 *                                  float), opcode, type ("text", "binary", "close", "ping",
 *                                  "pong"), size (payload bytes, inflated), wire_size,
 *                                  compressed, cut (data holds only the first --max-body bytes),
 *                                  inflate_failed, close_code (close only; null: none),
 *                                  encoding ("utf8": data is the text; "base64"), data (for a
 *                                  close: its reason)}] with index > INDEX (default -1: from the
 *                                  first), at most N (default and most 10000): page with
 *                                  after = the last index. [] for a flow that is no WebSocket;
 *                                  400 on a bad after or limit, 404 when there is no such flow.
 *                                  A WebSocket flow (recorded at its 101) is sent again on
 *                                  /api/events as its messages arrive and when it ends, with
 *                                  its "ws" object (store_messages.h) updated.
 *   GET  /api/search?q=Q&after=ID&limit=N   flows whose bodies or headers match Q (terms in
 *                                  search.h: body:T reqbody:T respbody:T header:NAME[=VALUE],
 *                                  ~b ~bq ~bs ~h ~hq ~hs T, "-" negates; other words ignored):
 *                                  {ids:[matching ids > ID, in order, at most N (default and
 *                                  most 10000)], next_after: the last id examined, done: bool}.
 *                                  One request examines about 16 MB of headers and decoded
 *                                  bodies, then answers: ask again with after=next_after until
 *                                  done. 400 {error} when Q holds no body or header term.
 *   GET  /api/events               text/event-stream: "event: flows" with data = JSON array of
 *                                  the summaries just committed, in commit order (at most 1000
 *                                  per event), and "id:" = the commit sequence number of the
 *                                  last of them (store_reader_list_seq; not a flow id: a flow
 *                                  that finished late has a small id and a big sequence
 *                                  number). A request with Last-Event-ID: N (what EventSource
 *                                  sends when it reconnects) is sent exactly the visible flows
 *                                  committed after N, none missed and none twice, then live
 *                                  ones; without it, or with an N beyond the session's last
 *                                  commit (another session), the stream starts at the current
 *                                  end. "event: cleared" after a DELETE; "event: clients" (data
 *                                  {}) when client facts changed; "event: recording" with data =
 *                                  the recording object of GET /api/session when it changes
 *                                  (within a second); a ": ping" comment every 15 s.
 *   GET  /api/har?redact=0|1&ids=1,2,3   HAR 1.2 download (redact=1 hides secrets; the plain
 *                                  /api/har keeps everything); POST /api/har
 *                                  with body {"ids":[...], "redact":true} for long id lists.
 *   POST /api/har/import?name=FILE.har   body: a HAR file (≤ 8 MiB); its HTTP(S) entries
 *                                  recorded into this session as flows (har_import_entry, note
 *                                  "imported from FILE.har", diagnosis recomputed) → {ids:[...],
 *                                  skipped:N} once they are readable; 400 {error} not a HAR.
 *                                  Streamed (chunked, no Content-Length) as a thread of its own
 *                                  writes it, at the pace the client reads: the API stays live
 *                                  meanwhile. At most 8 at once, else 503 {error}. A store error
 *                                  before the first byte gives 500 {error}; after it, the
 *                                  connection closes without the last chunk (never half a HAR
 *                                  that looks whole).
 *   DELETE /api/flows              hide every flow so far (the file keeps them); 204
 *   GET  /api/clients              [{addr, name, device, ua_name (= device), custom_name, flows,
 *                                  failed, checklist:{proxy_reached, ca_downloaded, trusted_tls,
 *                                  app_traffic, refusing_hosts:[...]} (the device's history: a
 *                                  DELETE /api/flows does not reset it), advice, last_seen,
 *                                  apps:[{name, ua, flows, trusted_requests, refused, trusted,
 *                                  refused_hosts:[...], refusal, last_seen}]}]. name is the
 *                                  user's name, else device ("iPhone, iOS 17.4"), else addr.
 *   PUT  /api/clients/{addr}       body {"name":"iPhone 15"} renames (kept in the session file)
 *   GET  /api/info                 {version, session, proxy, setup_url, viewer_url,
 *                                  token_required, phone_proxy ("LAN-IP:PORT" a phone can use,
 *                                  "" when none), loopback_only}
 *   GET  /api/session              {session: path, throttle: [{id, profile, detail}] (enabled
 *                                  throttle rules, [] none), recording: {state: "ok"|"failing"
 *                                  ("stopped" while httpeek exits), reason: "disk_full"|
 *                                  "read_only"|"deleted"|"io_error"|"", reason_text ("disk
 *                                  full"), since (ISO-8601 UTC, "" when ok), not_recorded
 *                                  (flows of this failure not in the file), waiting (of those,
 *                                  held in memory to be written when it resumes),
 *                                  not_recorded_total (lost for good), last_error},
 *                                  keylog: the TLS key log file being written (--keylog,
 *                                  $SSLKEYLOGFILE) or null}
 *                                  (store.h store_recording: proxying goes on when the session
 *                                  cannot be written; recording resumes by itself)
 *   GET  /api/passthrough          {rules:{intercept:[globs], passthrough:[globs]},
 *                                  builtin:{enabled, globs:[...]}, auto:[{host, client, device,
 *                                  since, expires (unix s), rejections, reason}]}
 *   DELETE /api/passthrough/{client}/{host}   resume intercepting host for that device (both
 *                                  percent-encoded); 204, or 404 {error} when no such entry
 *   GET  /api/rules                the rules file (docs/RULES.md) {version:1, rules:[...]} plus
 *                                  command_line:[...] (read-only), ETag header
 *   PUT  /api/rules                body: the rules.json text; If-Match: the ETag read (412 when
 *                                  it is not current); 400 {error} naming line and field when
 *                                  invalid; 200 {saved, etag}; saved atomically, in use at once
 *   Flows a rule touched carry _rules:[{id, action, detail}] in /api/flows/{id} (and HAR), and
 *   rules (a count) in list summaries.
 *   POST /api/flows/{id}/replay    Repeat (web_replay.c, replay.h): body optional JSON {count
 *                                  (1..1000, default 1), concurrency (1..32, default 1),
 *                                  delay_ms (0..60000 between starts, default 0)}. httpeek sends
 *                                  the flow's request again itself through its own listener
 *                                  (rules apply; https:// via CONNECT + TLS trusting its CA;
 *                                  HTTP/1.1; Host from the URL, Content-Length from the body,
 *                                  hop-by-hop fields dropped). Answers when all ended and are in
 *                                  the session: 200 {ids: [the new flows, in start order],
 *                                  errors: requests that made no flow, error: the first one's
 *                                  reason (only when errors)}. The new flows carry "_replay_of":
 *                                  id (summary, detail and HAR). 400 {error} on bad options or a
 *                                  flow that is no HTTP request, 404 unknown flow, 409 when its
 *                                  request body was not captured whole (cut by --max-body or the
 *                                  memory budget), 503 when 8 batches (or 64 MiB of request
 *                                  bodies) are already running.
 *   POST /api/requests             compose / edit and resend: {method (default "GET"), url
 *                                  (absolute http(s)), headers: [[name, value], ...], body (text)
 *                                  | body_base64} -> 200 {id} of the flow it made, which carries
 *                                  "_composed": true (a failure is a flow with its diagnosis too);
 *                                  400 {error} on bad input, 502 {error} when no flow was made.
 *   GET  /api/breakpoints          {breakpoints:[{id, enabled, phase, match}], paused:[views],
 *                                  body_max}; POST one {id?, phase, match} -> 201 {id}; PUT
 *                                  {breakpoints:[...]} replaces all; DELETE [/{id}] (204)
 *   POST /api/breakpoints/paused/{id}  {action: execute|continue|abort, request|response edits,
 *                                  abort:{status|error}} -> {id, action}; 404 gone, 409 acting
 *                                  (docs/CONTRACTS.md); "event: breakpoints" on /api/events;
 *                                  flows paused carry _breakpoints:[...] (and HAR)
 *   Writes (DELETE, PUT, POST) carrying an Origin other than http://{Host} get 403.
 *   Errors: 4xx/5xx with {"error":"reason"}.
 * Authentication: with a token, every request needs ?token=T, "Authorization: Bearer T", or the
 * httpeek_token cookie (set HttpOnly, SameSite=Strict when / is opened with ?token=). On loopback
 * the Host header must name a loopback address or localhost (no DNS rebinding). */
#ifndef HTTPEEK_WEB_H
#define HTTPEEK_WEB_H

#include <stddef.h>
#include <stdint.h>
#include "attrib.h"
#include "store.h"
#include <openssl/x509.h>

struct clients;
struct rules;
struct ruleset_file;
struct breakpoints;

struct web_config {
    const char *addr;         /* "HOST:PORT" */
    const char *session_path; /* the session file the store writes */
    const char *keylog;       /* the TLS key log file being written (--keylog), or NULL */
    const char *token;        /* NULL: none (loopback only); else required */
    const char *proxy;        /* the proxy's listening addresses, for GET /api/info (may be NULL) */
    const char *setup_url;    /* the setup page for phones, for GET /api/info (may be NULL) */
    const char *phone_proxy;  /* "192.168.1.20:8080": what a phone's proxy setting should say,
                                 "" when no other device can reach the proxy (may be NULL) */
    int loopback_only;        /* 1: the proxy listens on loopback only (phones cannot reach it) */
    struct clients *clients;  /* per-client facts (may be NULL) */
    struct rules *rules;      /* interception rules (may be NULL) */
    struct ruleset_file *route_rules; /* map / block rules, GET/PUT /api/rules (may be NULL) */
    struct replay_marks *replay_marks; /* where httpeek's own requests are registered
                                          (replay_marks.h; borrowed; NULL: no Repeat) */
    X509 *ca_cert;            /* httpeek's CA, which its own requests trust (borrowed; NULL: no
                                 Repeat) */
    struct breakpoints *breakpoints;  /* /api/breakpoints (may be NULL) */
    struct proxy *recorder;   /* POST /api/har/import records flows through it (record.h;
                                 borrowed; NULL: refused with 503) */
    const char *const *intercept;   /* --intercept globs (borrowed) */
    size_t nintercept;
    const char *const *passthrough; /* --passthrough globs (borrowed) */
    size_t npassthrough;
};

struct web;

/* Bind c->addr and start the web thread. Returns NULL with a one-line reason in err. Free with
 * web_stop. */
struct web *web_start(const struct web_config *c, char *err, size_t errlen) HP_NONNULL(1, 2)
    HP_WUNRES;

/* Thread-safe: tell live viewers that flows were committed (a store_notify_fn with arg = the
 * web; the ids are not needed: each stream is sent what was committed after its place). */
void web_notify(uint64_t first_id, uint64_t last_id, void *web);

/* Thread-safe: client facts changed (rate-limited to one "clients" event per second). */
void web_clients_changed(struct web *w);

/* Thread-safe: the store whose recording state GET /api/session and "event: recording" report
 * (NULL before closing it: the viewer stops asking). */
void web_set_store(struct web *w, struct store *s) HP_NONNULL(1);

/* The URL the viewer is reachable at, with ?token= when one is required (borrowed until
 * web_stop). */
const char *web_url(struct web *w) HP_NONNULL(1);

/* Stop the thread and free. NULL allowed. */
void web_stop(struct web *w);

/* A new random token for a non-loopback viewer (hex) into out[33]. */
void web_new_token(char out[33]) HP_NONNULL(1);

#endif
