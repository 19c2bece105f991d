/* tap.h — minimal TAP producer for unit tests: ok(), is_int(), is_str(), done(). */
#ifndef HTTPEEK_TAP_H
#define HTTPEEK_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3))) static int ok(int cond, const char *fmt, ...)
{
    va_list ap;
    printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond)
        tap_failed++;
    fflush(stdout);
    return cond;
}

__attribute__((unused)) static int is_int(long long got, long long want, const char *name)
{
    int r = ok(got == want, "%s", name);
    if (!r)
        printf("#   got %lld, want %lld\n", got, want);
    return r;
}

__attribute__((unused)) static int is_str(const char *got, const char *want, const char *name)
{
    int r = ok(got && want && !strcmp(got, want), "%s", name);
    if (!r)
        printf("#   got  '%s'\n#   want '%s'\n", got ? got : "(null)", want ? want : "(null)");
    return r;
}

static int done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
