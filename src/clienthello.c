/* clienthello.c — see clienthello.h. Follows RFC 8446 §4.1.2 (ClientHello layout) and
 * RFC 6066 §3 (server_name extension). Every length is checked against what is left. */
#include "clienthello.h"

#include <string.h>

#define REC_HEADER 5
#define HS_CLIENT_HELLO 1

struct reader {
    const unsigned char *p;
    size_t left;
};

static int take(struct reader *r, size_t n, const unsigned char **out)
{
    if (r->left < n)
        return -1;
    if (out)
        *out = r->p;
    r->p += n;
    r->left -= n;
    return 0;
}

static int take_u(struct reader *r, size_t n, size_t *v)
{
    const unsigned char *b;
    if (take(r, n, &b) < 0)
        return -1;
    *v = 0;
    for (size_t i = 0; i < n; i++)
        *v = (*v << 8) | b[i];
    return 0;
}

static enum clienthello_result parse_hello(const unsigned char *msg, size_t len, char *sni,
                                           size_t snilen)
{
    struct reader r = {msg, len};
    size_t n;
    if (take(&r, 2 + 32, NULL) < 0 || take_u(&r, 1, &n) < 0 || take(&r, n, NULL) < 0 || /* session id */
        take_u(&r, 2, &n) < 0 || take(&r, n, NULL) < 0 ||                               /* ciphers */
        take_u(&r, 1, &n) < 0 || take(&r, n, NULL) < 0)                                 /* compression */
        return CLIENTHELLO_INVALID;
    if (r.left == 0)
        return CLIENTHELLO_NO_SNI; /* no extensions at all (SSL 3.0-style hello) */
    size_t extlen;
    if (take_u(&r, 2, &extlen) < 0 || extlen > r.left)
        return CLIENTHELLO_INVALID;
    struct reader ext = {r.p, extlen};
    while (ext.left > 0) {
        size_t type, elen;
        const unsigned char *body;
        if (take_u(&ext, 2, &type) < 0 || take_u(&ext, 2, &elen) < 0 || take(&ext, elen, &body) < 0)
            return CLIENTHELLO_INVALID;
        if (type != 0)
            continue;
        struct reader s = {body, elen};
        size_t listlen;
        if (take_u(&s, 2, &listlen) < 0 || listlen > s.left)
            return CLIENTHELLO_INVALID;
        s.left = listlen;
        while (s.left > 0) {
            size_t nametype, namelen;
            const unsigned char *name;
            if (take_u(&s, 1, &nametype) < 0 || take_u(&s, 2, &namelen) < 0 ||
                take(&s, namelen, &name) < 0)
                return CLIENTHELLO_INVALID;
            if (nametype != 0)
                continue;
            if (namelen == 0 || namelen >= snilen)
                return CLIENTHELLO_INVALID;
            for (size_t i = 0; i < namelen; i++)
                if (name[i] <= 0x20 || name[i] >= 0x7f)
                    return CLIENTHELLO_INVALID;
            memcpy(sni, name, namelen);
            sni[namelen] = '\0';
            return CLIENTHELLO_SNI;
        }
        return CLIENTHELLO_NO_SNI;
    }
    return CLIENTHELLO_NO_SNI;
}

enum clienthello_result clienthello_parse(const unsigned char *data, size_t len, char *sni,
                                          size_t snilen)
{
    if (len == 0)
        return CLIENTHELLO_INCOMPLETE;
    if (data[0] != 0x16)
        return CLIENTHELLO_NOT_TLS;
    /* Reassemble the handshake layer from consecutive handshake records. */
    static const size_t cap = CLIENTHELLO_MAX_BYTES;
    unsigned char hs[CLIENTHELLO_MAX_BYTES];
    size_t hslen = 0, need = 0;
    size_t off = 0;
    while (off + REC_HEADER <= len) {
        if (data[off] != 0x16 || data[off + 1] != 3)
            return CLIENTHELLO_INVALID;
        size_t reclen = ((size_t)data[off + 3] << 8) | data[off + 4];
        if (reclen == 0 || reclen > 16384 + 2048)
            return CLIENTHELLO_INVALID;
        if (off + REC_HEADER + reclen > len)
            return CLIENTHELLO_INCOMPLETE;
        if (hslen + reclen > cap)
            return CLIENTHELLO_INVALID;
        memcpy(hs + hslen, data + off + REC_HEADER, reclen);
        hslen += reclen;
        off += REC_HEADER + reclen;
        if (hslen >= 4) {
            if (hs[0] != HS_CLIENT_HELLO)
                return CLIENTHELLO_INVALID;
            need = 4 + (((size_t)hs[1] << 16) | ((size_t)hs[2] << 8) | hs[3]);
            if (need > cap)
                return CLIENTHELLO_INVALID;
            if (hslen >= need)
                return parse_hello(hs + 4, need - 4, sni, snilen);
        }
    }
    return CLIENTHELLO_INCOMPLETE;
}
