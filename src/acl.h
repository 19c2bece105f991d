/* acl.h — who may use the proxy: a list of IPv4/IPv6 CIDR blocks (--allow-client). The default
 * is loopback plus private and link-local ranges, so httpeek on a public address never becomes
 * an open proxy. Read-only after start-up; safe to share between threads. */
#ifndef HTTPEEK_ACL_H
#define HTTPEEK_ACL_H

#include <stddef.h>
#include <sys/socket.h>
#include "attrib.h"

/* Ranges allowed when no --allow-client is given. */
#define ACL_DEFAULT "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,169.254.0.0/16,fc00::/7,fe80::/10"
#define ACL_MAX 64

struct acl_entry {
    int family;               /* AF_INET or AF_INET6 */
    unsigned char addr[16];   /* network address */
    int prefix;               /* prefix length in bits */
};

struct acl {
    struct acl_entry entries[ACL_MAX];
    size_t n;
};

/* Add one "ADDR/PREFIX" or "ADDR" block, or a comma-separated list of them. Returns 0, or -1
 * with a reason in err. */
int acl_add(struct acl *acl, const char *spec, char *err, size_t errlen) HP_NONNULL(1, 2, 3);

/* 1 when addr (AF_INET or AF_INET6; v4-mapped IPv6 counts as IPv4) is inside a block. */
int acl_allows(const struct acl *acl, const struct sockaddr *addr) HP_NONNULL(1, 2);

#endif
