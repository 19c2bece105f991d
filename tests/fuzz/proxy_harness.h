/* proxy_harness.h — the real connection code (session.c, front_h1.c, exchange.c, tunnel.c,
 * relay.c, leg.c, the TLS legs, the pool) driven by a fuzz target on one event loop, one step at a
 * time. The client and every upstream are socket pairs whose other end the harness holds (plain,
 * or a real TLS client/server made with a fixed test CA generated at start-up); upstream_connect
 * is replaced at link time by one that hands a socket pair over (no DNS, no network) or fails as
 * told. Timers are advanced by hand: harness_timeouts makes every pending deadline of the
 * connections (and of connects in progress) fire now. Single thread, test code only. */
#ifndef HTTPEEK_PROXY_HARNESS_H
#define HTTPEEK_PROXY_HARNESS_H

#include <stddef.h>

/* What the next upstream connect does. */
enum harness_outcome { H_CONNECT_OK, H_CONNECT_REFUSED, H_CONNECT_NO_SUCH_HOST, H_CONNECT_TIMEOUT };

#define HARNESS_MAX_CLIENTS 4

/* Once per process (CA, TLS contexts, options, the loop). Returns 0. */
int harness_init(void);

/* Start one input: fresh rules, clients table, pool; no connection yet. */
void harness_begin(void);

/* A new client connection accepted by session_accept; it becomes the current client. Returns its
 * index, -1 when HARNESS_MAX_CLIENTS are open already. */
int harness_new_client(void);

/* Queue bytes to the current client's peer / the newest upstream peer (written as the socket
 * takes them, through TLS once started). Upstream bytes wait when no upstream exists yet. */
void harness_client_write(const void *d, size_t n);
void harness_upstream_write(const void *d, size_t n);

/* Half-close (shutdown write side) or close the current client / newest upstream peer. */
void harness_client_shutdown(void);
void harness_client_close(void);
void harness_upstream_shutdown(void);
void harness_upstream_close(void);

/* Stop/resume reading what httpeek sends (back-pressure on the proxy). */
void harness_client_reading(int on);
void harness_upstream_reading(int on);

/* The current client starts a TLS handshake (SNI fuzz.test); reject: it refuses httpeek's
 * certificate (a CA it does not know) instead of accepting it. */
void harness_client_start_tls(int reject);

/* Next upstream connects: outcome, and raw (never answer a TLS ClientHello with TLS: the
 * upstream bytes go to httpeek's TLS client as they are). */
void harness_next_connect(enum harness_outcome o, int raw);

/* The store says it is behind (session.c holds new requests) or not. */
void harness_store_busy(int busy);

/* Run the loop without blocking up to rounds times (more while events are active), pumping the
 * peers between rounds. */
void harness_settle(int rounds);

/* Time passes, then the loop settles. A short time: the short waits fire (CONNECT peek retries,
 * store holds). A long time (long_time 1): every pending deadline fires too (connection timers,
 * connects told to time out), each connection counting as quiet since long ago (so the lazily
 * checked idle deadlines expire). The pool's sweep is the one timer left to run on its own. */
void harness_timeouts(int long_time);

/* Number of connections alive. */
int harness_conns(void);

/* End the input: the peers hang up, deadlines pass until every connection is gone (abort when
 * one outlives that: a connection nobody can end), everything is freed, and every socket handed
 * to httpeek must be closed (abort otherwise: a descriptor leak). */
void harness_end(void);

#endif
