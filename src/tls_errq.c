/* tls_errq.c — see tls_errq.h. */
#include "tls_errq.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <openssl/err.h>

typedef void (*clear_fn)(void);
static _Atomic(clear_fn) openssl_clear;

/* An empty queue is what ERR_clear_error leaves: ERR_peek_error looks at this thread's queue
 * only (dropping entries marked for clearing as it goes) and returns 0 when nothing is left, so
 * returning then is the same for every later ERR_get_error, ERR_peek_* and ERR_set_mark. The
 * strings of slots already read stay allocated until a new error reuses the slot or the thread
 * ends, which frees them (OpenSSL does the same when it pops an error). */
void ERR_clear_error(void)
{
    if (ERR_peek_error() == 0)
        return;
    clear_fn real = atomic_load_explicit(&openssl_clear, memory_order_relaxed);
    if (!real) {
        real = (clear_fn)(void (*)(void))dlsym(RTLD_NEXT, "ERR_clear_error");
        if (!real || real == ERR_clear_error) {
            while (ERR_get_error() != 0) /* no libcrypto behind us: empty it by hand */
                ;
            return;
        }
        atomic_store_explicit(&openssl_clear, real, memory_order_relaxed);
    }
    real();
}

int tls_errq_installed(void)
{
    /* what the dynamic linker binds the name to, as libevent_openssl sees it */
    void *p = dlsym(RTLD_DEFAULT, "ERR_clear_error");
    return p == (void *)ERR_clear_error;
}
