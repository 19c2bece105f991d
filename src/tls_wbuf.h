/* tls_wbuf.h — a write-gathering BIO under an intercepted client's TLS: the records OpenSSL writes
 * one at a time (16 KiB at most each) wait in the BIO and leave in one write(2) when the leg's
 * write callback sees its output drained, instead of one write(2) and one wake-up of the reader
 * per record. The BIO counts as part of the leg's output: a leg is flushed when both are empty. */
#ifndef HTTPEEK_TLS_WBUF_H
#define HTTPEEK_TLS_WBUF_H

#include <stddef.h>
#include <event2/bufferevent.h>
#include <openssl/ssl.h>
#include "attrib.h"

/* Bytes gathered before the BIO writes them out itself (several records of a download). */
#define TLS_WBUF_MAX (64 * 1024)

/* Size of the chain a TLS leg's output starts with (tls_wbuf_out_room): 64 KiB malloc'd with
 * libevent's chain header. */
#define TLS_OUT_CHAIN (64 * 1024 - 128)

/* Before a body part is appended to an intercepted TLS leg's output: an empty output starts with
 * one TLS_OUT_CHAIN chain. The TLS bufferevent hands OpenSSL each chain piece as its own SSL_write
 * (one record, at most 16 KiB), and libevent sizes each new chain after the one before; started
 * from a body part (one upstream DATA frame's worth, 1-8 KiB) the chains stayed that small and a
 * download went out in ~7 KiB records: twice the records, each with its own cipher set-up, tag
 * and header, as 16 KiB ones. Started big, the records are whole 16 KiB but where the output
 * runs dry (the end of what one upstream read brought). */
void tls_wbuf_out_room(struct evbuffer *out) HP_NONNULL(1);

/* Give ssl (no BIO yet) a socket BIO on fd for reading and the gathering BIO over it for
 * writing; the socket is not closed by the BIOs. Call before bufferevent_openssl_socket_new.
 * Returns 0, -1 on OOM (ssl is left without BIOs). */
int tls_wbuf_attach(SSL *ssl, int fd) HP_NONNULL(1) HP_WUNRES;

/* Start gathering: from now on bev's write callback must call tls_wbuf_flush (the BIO writes
 * straight through before). When a flush has to wait for the socket, the BIO finishes it on bev's
 * loop and then runs bev's write callback (bufferevent_trigger), as the bufferevent does when its
 * own output drains. Idempotent. Returns 0, -1 on OOM (the BIO goes on writing through). */
int tls_wbuf_bind(SSL *ssl, struct bufferevent *bev) HP_NONNULL(1, 2);

/* Before ssl's bufferevent is freed (leg_close): writes what the socket takes now (a close_notify,
 * the last bytes of a failed flush) and drops the writable event and bev. */
void tls_wbuf_unbind(SSL *ssl);

/* Write out what ssl's gathering BIO holds, as much as the socket takes now (the rest when it is
 * writable). Returns the bytes still held; 0 for an SSL without the BIO or NULL. */
size_t tls_wbuf_flush(SSL *ssl);

/* Bytes ssl's gathering BIO holds (0 without the BIO or for NULL). */
size_t tls_wbuf_pending(SSL *ssl);

/* An idle connection gives the BIO's buffer back (with its record buffers, leg.c); a no-op
 * while bytes are held. */
void tls_wbuf_release(SSL *ssl);

#endif
