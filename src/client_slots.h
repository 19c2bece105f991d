/* client_slots.h — client connections open per client address, for --max-client-connections:
 * one device cannot take all of --max-connections. Thread-safe (one mutex; taken once per
 * accepted and per closed connection). */
#ifndef HTTPEEK_CLIENT_SLOTS_H
#define HTTPEEK_CLIENT_SLOTS_H

#include "attrib.h"

struct client_slots;

/* An empty table allowing max connections per address (max >= 1), or NULL on OOM. */
struct client_slots *client_slots_new(int max) HP_WUNRES;

/* Free the table. NULL allowed. */
void client_slots_free(struct client_slots *t);

/* Count a new connection of addr when it has fewer than max open: returns 0 (counted), or the
 * number it has open (>= max: not counted, refuse it), or -1 on OOM (not counted). */
int client_slots_take(struct client_slots *t, const char *addr) HP_NONNULL(1, 2);

/* One connection of addr closed (one that client_slots_take counted). */
void client_slots_give(struct client_slots *t, const char *addr) HP_NONNULL(1, 2);

/* Connections addr has open now. */
int client_slots_open(struct client_slots *t, const char *addr) HP_NONNULL(1, 2);

#endif
