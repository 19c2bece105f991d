/* links.h — what one flow's detail says about other flows of the session, found when the detail
 * is read (issue 16): the response a 304 revalidated and the 304s that revalidated a response
 * (the cache validators matched, same device and URL), the playlist that listed a segment or
 * variant, and the listed URIs that then failed (with an "hls" warning on the playlist). Looks
 * at most LINKS_WINDOW flows either side. Read side only: the caller's store reader, its thread. */
#ifndef HTTPEEK_LINKS_H
#define HTTPEEK_LINKS_H

#include <jansson.h>
#include "attrib.h"
#include "store.h"

/* How many flows before or after the one read are searched for its links. */
#define LINKS_WINDOW 20000
/* The most links of one kind a detail lists (a playlist of 5,000 failed segments lists these). */
#define LINKS_MAX 50

/* Add `links` ([{rel, flow, url, status, failed, reason}], rel one of "revalidates",
 * "revalidated-by", "hls-playlist", "hls-failed"; flow null when the revalidated response is not
 * in the session) to detail, and an "hls" entry to its `warnings` when listed URIs failed.
 * Leaves detail as it was when there is nothing to link or on a store error. */
void links_add(struct store_reader *r, json_t *detail) HP_NONNULL(1, 2);

#endif
