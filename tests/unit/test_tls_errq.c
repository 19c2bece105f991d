/* test_tls_errq.c — ERR_clear_error as tls_errq.c defines it: the process binds to it, and it
 * leaves the queue exactly as OpenSSL's own does (empty), whatever was queued or marked. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include "tap.h"
#include "tls_errq.h"

static void raise_one(int reason)
{
    ERR_raise_data(ERR_LIB_EVP, reason, "detail %d", reason);
}

int main(void)
{
    ok(tls_errq_installed(), "ERR_clear_error resolves to tls_errq.c's for the whole process");

    ERR_clear_error();
    is_int((long long)ERR_peek_error(), 0, "an empty queue stays empty");

    raise_one(EVP_R_BAD_DECRYPT);
    raise_one(EVP_R_BAD_KEY_LENGTH);
    ERR_clear_error();
    is_int((long long)ERR_peek_error(), 0, "queued errors are cleared (peek)");
    is_int((long long)ERR_get_error(), 0, "queued errors are cleared (get)");
    is_int((long long)ERR_peek_last_error(), 0, "queued errors are cleared (peek last)");

    raise_one(EVP_R_BAD_DECRYPT);
    ERR_set_mark();
    raise_one(EVP_R_BAD_KEY_LENGTH);
    ERR_pop_to_mark();
    is_int(ERR_GET_REASON(ERR_peek_last_error()), EVP_R_BAD_DECRYPT, "a mark pops as before");
    ERR_clear_error();
    is_int((long long)ERR_peek_error(), 0, "an error below a mark is cleared");
    ok(!ERR_pop_to_mark(), "and no mark is left");

    /* errors read one by one leave their slots' strings behind: a later clear of the (empty)
     * queue keeps them, a new error in the slot frees them; ASan's leak check sees the rest
     * freed with the thread's state */
    for (int i = 0; i < 100000; i++) {
        raise_one(EVP_R_BAD_DECRYPT);
        (void)ERR_get_error();
        ERR_clear_error();
    }
    is_int((long long)ERR_peek_error(), 0, "100,000 errors raised, read and cleared: none left");

    raise_one(EVP_R_BAD_KEY_LENGTH);
    is_int(ERR_GET_REASON(ERR_peek_error()), EVP_R_BAD_KEY_LENGTH, "a new error after them reads back");
    ERR_clear_error();
    is_int((long long)ERR_peek_error(), 0, "and is cleared");
    OPENSSL_thread_stop();
    return done();
}
