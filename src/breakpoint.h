/* breakpoint.h — the breakpoints in use and the exchanges they paused (docs/CONTRACTS.md,
 * "Breakpoints"). A breakpoint is a rule's match (ruleset.h, the same fields as rules.json's
 * "match") with a phase: request, response or both. The list lives in memory only (it is a
 * debugging session's state, not configuration). Owned by main; shared by the workers, which
 * match lock-free (breakpoints_armed, then the holder of their phase) and list what they paused,
 * and the web thread, which reads and changes the list and hands actions to a paused exchange;
 * everything else under one mutex. The exchange side (pausing, holding bodies, applying an
 * action) is breakpoint_apply.h. */
#ifndef HTTPEEK_BREAKPOINT_H
#define HTTPEEK_BREAKPOINT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <jansson.h>
#include "attrib.h"
#include "mailbox.h"
#include "ruleset.h"

/* Largest body a paused exchange holds (bytes on the wire); a larger one is not paused (the flow
 * says so). */
#define BREAKPOINT_BODY_MAX (8u << 20)

/* The phases a breakpoint stops at (bits). */
enum breakpoint_phase { BREAKPOINT_REQUEST = 1, BREAKPOINT_RESPONSE = 2 };

/* One paused exchange as the registry lists it. Made and freed by its worker
 * (breakpoint_apply.c); listed between breakpoints_list and breakpoints_unlist. */
struct breakpoint_paused {
    uint64_t id;               /* given by breakpoints_list */
    char *view;                /* what GET /api/breakpoints shows of it: a JSON object text
                                * (owned; immutable while listed) */
    json_t *action;            /* the action the web thread handed over (under mu), or NULL */
    struct mailbox *mailbox;   /* the worker's (mailbox.h): wake_msg is posted there when action
                                * is set; NULL (not on a worker): wake is activated instead */
    struct mailbox_msg wake_msg;
    struct event *wake;        /* on a thread-safe base, when mailbox is NULL */
    struct breakpoint_paused *next;
};

struct breakpoints {
    atomic_int armed;              /* enabled breakpoints: 0 lets every exchange by at once */
    struct ruleset_holder req;     /* the matches of request-phase breakpoints (lock-free) */
    struct ruleset_holder resp;    /* ... of response-phase ones */
    pthread_mutex_t mu;            /* guards what follows */
    json_t *list;                  /* [{id, enabled, phase, match}] as given */
    unsigned next_id;              /* for "bp-N" ids */
    struct breakpoint_paused *paused; /* oldest first */
    uint64_t next_paused;
    void (*notify)(void *arg);     /* the paused list changed (called on any thread, no lock
                                    * held); NULL: nobody listens. Set under mu. */
    void *notify_arg;
};

/* Set b up empty. Returns 0, -1 out of memory. */
int breakpoints_init(struct breakpoints *b) HP_NONNULL(1);

/* Free the list and sets (no exchange may still be paused). */
void breakpoints_free(struct breakpoints *b) HP_NONNULL(1);

/* Add one breakpoint ({id?, enabled?, phase, match}: docs/CONTRACTS.md). Its id (given or
 * "bp-N") goes into id. Returns 0, -1 invalid with err (field named), -2 out of memory. */
int breakpoints_add(struct breakpoints *b, const json_t *spec, char *id, size_t idlen, char *err,
                    size_t errlen) HP_NONNULL(1, 2, 3, 5);

/* Replace the whole list with specs (an array as above), all or nothing. Returns as _add. */
int breakpoints_replace(struct breakpoints *b, const json_t *specs, char *err, size_t errlen)
    HP_NONNULL(1, 3);

/* Remove the breakpoint id (NULL: all). Returns 0, -1 when there is no such id. Paused exchanges
 * stay paused. */
int breakpoints_remove(struct breakpoints *b, const char *id) HP_NONNULL(1);

/* {breakpoints: [...], paused: [views], body_max}: a new object. */
json_t *breakpoints_json(struct breakpoints *b) HP_NONNULL(1);

/* Number of paused exchanges listed now. */
size_t breakpoints_paused_count(struct breakpoints *b) HP_NONNULL(1);

/* Worker side: list p (view set, wake made) and give it its id; unlist it (its action, if one
 * arrived, is returned: the caller owns it). Both call notify. */
void breakpoints_list(struct breakpoints *b, struct breakpoint_paused *p) HP_NONNULL(1, 2);
json_t *breakpoints_unlist(struct breakpoints *b, struct breakpoint_paused *p) HP_NONNULL(1, 2);

/* Web side: hand action (taken) to paused exchange id. Returns 0, -1 no such paused exchange
 * (gone meanwhile), -2 one action is already on its way. */
int breakpoints_act(struct breakpoints *b, uint64_t id, json_t *action) HP_NONNULL(1, 3);

/* 1 when text is a phase name ("request", "response", "both"): its bits in *bits. */
int breakpoint_phase_parse(const char *text, unsigned *bits) HP_NONNULL(1, 2);

#endif
