/* har_cookies.h — HAR's request.cookies and response.cookies from a message's headers (the
 * detail JSON's [{name, value}] array): Cookie pairs, and Set-Cookie with its attributes (path,
 * domain, expires as ISO 8601, httpOnly, secure, sameSite). Pure functions; any thread. */
#ifndef HTTPEEK_HAR_COOKIES_H
#define HTTPEEK_HAR_COOKIES_H

#include <jansson.h>
#include "attrib.h"

/* What redaction writes in place of a secret value (HAR export with "redact secrets"). */
#define HAR_REDACTED "[redacted]"

/* Append the Cookie headers' pairs to out ([{name, value}]); values HAR_REDACTED when redact. */
void har_request_cookies(json_t *out, json_t *headers, int redact) HP_NONNULL(1, 2);

/* Append the Set-Cookie headers to out ([{name, value, path?, domain?, expires?, httpOnly,
 * secure, sameSite?}]); values HAR_REDACTED when redact. */
void har_response_cookies(json_t *out, json_t *headers, int redact) HP_NONNULL(1, 2);

#endif
