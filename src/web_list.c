/* web_list.c — the flow list as the API sends it: summaries with the client's display name
 * added, and ids parsed from paths and queries. Web thread only (web_internal.h). */
#include "web_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <jansson.h>
#include "clients.h"

uint64_t web__parse_id(const char *s, const char **end)
{
    uint64_t v = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9' && v < UINT64_MAX / 10)
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (end)
        *end = p;
    return p == s ? 0 : v;
}

/* The name to show for a client: the user's, else the one its User-Agent gave, else "". */
void web__client_name(struct web *w, json_t *names, const char *addr, char *out, size_t outlen)
{
    out[0] = '\0';
    json_t *n = names && addr ? json_object_get(names, addr) : NULL;
    if (json_is_string(n)) {
        snprintf(out, outlen, "%s", json_string_value(n));
        return;
    }
    struct client_summary s;
    if (w->clients && addr && clients_get(w->clients, addr, &s) && s.device[0])
        snprintf(out, outlen, "%s", s.device);
}

/* One summary into the list being built: its stored text with "client_name" added before the
 * closing brace (no parse and re-dump: 100k rows must list in a fraction of a second). */
int web__list_add(const char *summary, size_t len, const char *client, void *arg)
{
    struct web_list *l = arg;
    while (len && summary[len - 1] != '}')
        len--;
    if (!len)
        return 0;
    json_t *enc = json_object_get(l->shown, client);
    if (!enc) {
        char name[128];
        web__client_name(l->web, l->names, client, name, sizeof name);
        json_t *js = json_string(name);
        char *text = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
        json_decref(js);
        enc = json_string(text ? text : "\"\"");
        free(text);
        json_object_set_new(l->shown, client, enc);
    }
    evbuffer_add(l->out, l->n++ ? "," : "[", 1);
    evbuffer_add(l->out, summary, len - 1);
    evbuffer_add_printf(l->out, "%s\"client_name\":%s}", len > 2 ? "," : "",
                        json_string_value(enc));
    return 0;
}
