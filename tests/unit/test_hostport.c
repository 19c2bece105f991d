/* test_hostport.c — opts_split_hostport reads the port without strtol (it runs for every
 * absolute-form request through the proxy): every input gives the result and port the strtol
 * reading gave (spaces and a sign before the digits, nothing after, 1..65535). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "opts.h"
#include "tap.h"

/* the port check as it was (strtol) */
static int reference_port(const char *digits, int *port)
{
    char *end;
    long p = strtol(digits, &end, 10);
    if (end == digits || *end || p < 1 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

int main(void)
{
    static const char *const ports[] = {
        "80", "0", "1", "65535", "65536", "0080", " 80", "\t8080", "\n443", "+80", "-80", "-0",
        "+", "-", "", " ", "80x", "80 ", "x80", "+ 5", " +5", "99999999999999999999", "4294967377",
        "65535000", "1e3", "0x50", "８０"};
    int all_same = 1;
    for (size_t i = 0; i < sizeof ports / sizeof *ports; i++) {
        char in[64], host[64];
        snprintf(in, sizeof in, "h.test:%s", ports[i]);
        int want_port = -7, got_port = -7;
        int want = reference_port(ports[i], &want_port);
        int got = opts_split_hostport(in, host, sizeof host, &got_port, 80);
        if (got != want || got_port != want_port || (got == 0 && strcmp(host, "h.test"))) {
            printf("# \"%s\": got %d port %d, want %d port %d\n", in, got, got_port, want, want_port);
            all_same = 0;
        }
    }
    ok(all_same, "ports read as strtol read them (%zu inputs)", sizeof ports / sizeof *ports);

    char host[64];
    int port = 0;
    ok(opts_split_hostport("[::1]:8443", host, sizeof host, &port, 80) == 0 && port == 8443 &&
           !strcmp(host, "::1"),
       "a bracketed IPv6 literal with its port");
    ok(opts_split_hostport("::1", host, sizeof host, &port, 80) == 0 && port == 80 &&
           !strcmp(host, "::1"),
       "a bare IPv6 literal: the default port");
    ok(opts_split_hostport("h.test", host, sizeof host, &port, 443) == 0 && port == 443,
       "no port: the default");
    ok(opts_split_hostport("h.test", host, sizeof host, &port, 0) < 0, "no port, no default: refused");
    return done();
}
