/* actors.h: changes per actor, counted from the events applied (who made
 * each change: compact.events.v1.Event.actor), and ListChangesByActor. */
#ifndef COMPACT_ANALYTICS_ACTORS_H
#define COMPACT_ANALYTICS_ACTORS_H

#include "compact/events/v1/events.pb-c.h"
#include "rpc.h"
#include "store.h"

#define ACTORS_LIST_MAX 1000

/* Counts `n` changes by actor (subject, role), the last at `last_ms`,
 * inside the consumer's transaction (so exactly once, with the events; a
 * batch counts each actor once). Returns 0 or a negative errno. */
int actors_count(store *st, const char *subject, const char *role, int64_t n, int64_t last_ms);

/* compact.analytics.v1.Analytics/ListChangesByActor. */
void handle_list_changes_by_actor(rpc_call *call, const ProtobufCMessage *request, void *arg);

#endif
