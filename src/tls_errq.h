/* tls_errq.h — OpenSSL's error queue, cleared cheaply: this module defines ERR_clear_error
 * itself (the executable's definition is the one every library binds to), returning at once when
 * the calling thread's queue is empty and calling OpenSSL's own otherwise. libevent's TLS
 * bufferevent clears the queue before every SSL_read and SSL_write; OpenSSL 3.0's
 * ERR_clear_error frees each of the queue's 16 slots' two strings even when nothing is queued
 * (32 free(NULL)): ~840 instructions a call, ~3.5 calls per proxied HTTPS request. Any thread;
 * nothing to call: linking this file is all. */
#ifndef HTTPEEK_TLS_ERRQ_H
#define HTTPEEK_TLS_ERRQ_H

/* 1 when ERR_clear_error resolves to this module's (the process was linked with it). */
int tls_errq_installed(void);

#endif
