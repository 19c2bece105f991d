/* acl.c — see acl.h. */
#include "acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_one(struct acl *acl, const char *spec, size_t len, char *err, size_t errlen)
{
    char buf[80];
    if (len == 0 || len >= sizeof buf) {
        snprintf(err, errlen, "--allow-client: bad block '%.*s'", (int)(len < 60 ? len : 60), spec);
        return -1;
    }
    memcpy(buf, spec, len);
    buf[len] = '\0';
    if (acl->n == ACL_MAX) {
        snprintf(err, errlen, "--allow-client: at most %d blocks", ACL_MAX);
        return -1;
    }
    struct acl_entry *e = &acl->entries[acl->n];
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(e, 0, sizeof *e);
    if (inet_pton(AF_INET, buf, e->addr) == 1)
        e->family = AF_INET;
    else if (inet_pton(AF_INET6, buf, e->addr) == 1)
        e->family = AF_INET6;
    else {
        snprintf(err, errlen, "--allow-client: '%s' is not an IP address or CIDR block", buf);
        return -1;
    }
    int max = e->family == AF_INET ? 32 : 128;
    e->prefix = max;
    if (slash) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || p < 0 || p > max) {
            snprintf(err, errlen, "--allow-client: bad prefix length in '%s/%s'", buf, slash + 1);
            return -1;
        }
        e->prefix = (int)p;
    }
    acl->n++;
    return 0;
}

int acl_add(struct acl *acl, const char *spec, char *err, size_t errlen)
{
    while (*spec) {
        size_t len = strcspn(spec, ",");
        while (len && *spec == ' ') {
            spec++;
            len--;
        }
        if (add_one(acl, spec, len, err, errlen) < 0)
            return -1;
        spec += len;
        if (*spec == ',')
            spec++;
    }
    return 0;
}

static int prefix_match(const unsigned char *a, const unsigned char *net, int prefix)
{
    int bytes = prefix / 8, bits = prefix % 8;
    if (memcmp(a, net, (size_t)bytes))
        return 0;
    if (!bits)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - bits));
    return (a[bytes] & mask) == (net[bytes] & mask);
}

int acl_allows(const struct acl *acl, const struct sockaddr *addr)
{
    unsigned char a[16];
    int family;
    if (addr->sa_family == AF_INET) {
        memcpy(a, &((const struct sockaddr_in *)addr)->sin_addr, 4);
        family = AF_INET;
    } else if (addr->sa_family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(in6)) {
            memcpy(a, in6->s6_addr + 12, 4);
            family = AF_INET;
        } else {
            memcpy(a, in6->s6_addr, 16);
            family = AF_INET6;
        }
    } else {
        return 0;
    }
    for (size_t i = 0; i < acl->n; i++)
        if (acl->entries[i].family == family && prefix_match(a, acl->entries[i].addr, acl->entries[i].prefix))
            return 1;
    return 0;
}
