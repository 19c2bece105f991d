/* web_assets.h — the viewer's files (web/), compiled into the binary by web/embed.py. */
#ifndef HTTPEEK_WEB_ASSETS_H
#define HTTPEEK_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *path;         /* "/index.html" */
    const char *content_type; /* "text/html; charset=utf-8" */
    const unsigned char *data;
    size_t len;
};

/* Every embedded file; ends with an entry whose path is NULL. */
extern const struct web_asset web_assets[];

#endif
