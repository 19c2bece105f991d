/* json_scan.c — see json_scan.h. A recursive descent over RFC 8259's grammar with a depth bound;
 * the messages are NSJSONSerialization's (Foundation's JSON parser before iOS 17), so the warning
 * reads like what the app logs. */
#include "json_scan.h"

#include <ctype.h>
#include <string.h>

struct jscan {
    const unsigned char *s;
    size_t n, i;
    const char *why;
    int depth;
};

#define JSON_MAX_DEPTH 512

static void ws(struct jscan *j)
{
    while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' ||
                           j->s[j->i] == '\r'))
        j->i++;
}

static int fail(struct jscan *j, const char *why)
{
    if (!j->why)
        j->why = why;
    return -1;
}

static int jstring(struct jscan *j)
{
    j->i++; /* the opening quote */
    while (j->i < j->n) {
        unsigned char c = j->s[j->i];
        if (c == '"') {
            j->i++;
            return 0;
        }
        if (c < 0x20)
            return fail(j, "Unescaped control character");
        if (c == '\\') {
            if (++j->i >= j->n)
                break;
            c = j->s[j->i];
            if (c == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (j->i + k >= j->n || !isxdigit(j->s[j->i + k])) {
                        j->i += (size_t)k;
                        return j->i >= j->n ? fail(j, "Unexpected end of file during string parse")
                                            : fail(j, "Invalid escape sequence");
                    }
                j->i += 4;
            } else if (!strchr("\"\\/bfnrt", c) || !c)
                return fail(j, "Invalid escape sequence");
        }
        j->i++;
    }
    return fail(j, "Unexpected end of file during string parse");
}

static int jnumber(struct jscan *j)
{
    size_t i = j->i;
    if (i < j->n && j->s[i] == '-')
        i++;
    if (i >= j->n || !isdigit(j->s[i])) {
        j->i = i;
        return fail(j, "Invalid value");
    }
    if (j->s[i] == '0')
        i++;
    else
        while (i < j->n && isdigit(j->s[i]))
            i++;
    if (i < j->n && j->s[i] == '.') {
        i++;
        if (i >= j->n || !isdigit(j->s[i])) {
            j->i = i;
            return fail(j, "Invalid number");
        }
        while (i < j->n && isdigit(j->s[i]))
            i++;
    }
    if (i < j->n && (j->s[i] == 'e' || j->s[i] == 'E')) {
        i++;
        if (i < j->n && (j->s[i] == '+' || j->s[i] == '-'))
            i++;
        if (i >= j->n || !isdigit(j->s[i])) {
            j->i = i;
            return fail(j, "Invalid number");
        }
        while (i < j->n && isdigit(j->s[i]))
            i++;
    }
    j->i = i;
    return 0;
}

static int jvalue(struct jscan *j);

static int jcontainer(struct jscan *j, int object)
{
    if (++j->depth > JSON_MAX_DEPTH)
        return fail(j, "Too many nested arrays or dictionaries");
    j->i++;
    ws(j);
    if (j->i < j->n && j->s[j->i] == (object ? '}' : ']')) {
        j->i++;
        j->depth--;
        return 0;
    }
    for (;;) {
        ws(j);
        if (j->i >= j->n)
            return fail(j, "Unexpected end of file while parsing object");
        if (object) {
            if (j->s[j->i] != '"')
                return fail(j, "No string key for value in object");
            if (jstring(j) < 0)
                return -1;
            ws(j);
            if (j->i >= j->n)
                return fail(j, "Unexpected end of file while parsing object");
            if (j->s[j->i] != ':')
                return fail(j, "No value for key in object");
            j->i++;
        }
        if (jvalue(j) < 0)
            return -1;
        ws(j);
        if (j->i >= j->n)
            return fail(j, "Unexpected end of file while parsing object");
        if (j->s[j->i] == ',') {
            j->i++;
            continue;
        }
        if (j->s[j->i] == (object ? '}' : ']')) {
            j->i++;
            j->depth--;
            return 0;
        }
        return fail(j, object ? "Badly formed object" : "Badly formed array");
    }
}

static int jvalue(struct jscan *j)
{
    ws(j);
    if (j->i >= j->n)
        return fail(j, "Unexpected end of file");
    switch (j->s[j->i]) {
    case '{': return jcontainer(j, 1);
    case '[': return jcontainer(j, 0);
    case '"': return jstring(j);
    case 't':
    case 'f':
    case 'n': {
        const char *lit = j->s[j->i] == 't' ? "true" : j->s[j->i] == 'f' ? "false" : "null";
        size_t l = strlen(lit);
        if (j->n - j->i >= l && !memcmp(j->s + j->i, lit, l)) {
            j->i += l;
            return 0;
        }
        return fail(j, "Invalid value");
    }
    default:
        if (j->s[j->i] == '-' || isdigit(j->s[j->i]))
            return jnumber(j);
        return fail(j, "Invalid value");
    }
}

void json_scan(const char *s, size_t n, struct json_scan_result *out)
{
    struct jscan j = {(const unsigned char *)s, n, 0, NULL, 0};
    memset(out, 0, sizeof *out);
    /* a UTF-8 byte order mark is allowed (JSONSerialization detects the encoding) */
    if (n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
        j.i = 3;
    ws(&j);
    if (j.i >= n) {
        out->state = JSON_SCAN_EMPTY;
        out->why = "Unexpected end of file";
    } else {
        unsigned char first = j.s[j.i];
        int container = first == '{' || first == '[';
        if (jvalue(&j) == 0) {
            ws(&j);
            if (j.i < n) {
                j.why = "Garbage at end";
                out->state = JSON_SCAN_BAD;
            } else
                out->state = container ? JSON_SCAN_CONTAINER : JSON_SCAN_FRAGMENT;
        } else {
            out->state = JSON_SCAN_BAD;
            if (!container) { /* what JSONSerialization says first for "<html>" or "OK" */
                j.i = 0;
                ws(&j);
                j.why = "JSON text did not start with array or object and option to allow "
                        "fragments not set";
            }
        }
    }
    out->why = out->state == JSON_SCAN_BAD ? j.why : out->why;
    out->at = j.i < n ? j.i : n;
    out->line = 1;
    out->col = 1;
    for (size_t i = 0; i < out->at; i++) {
        if (s[i] == '\n') {
            out->line++;
            out->col = 1;
        } else
            out->col++;
    }
}
