/* actors.h: changes per actor, counted from the events applied (who made
 * each change: compact.events.v1.Event.actor), and ListChangesByActor. */
#ifndef COMPACT_ANALYTICS_ACTORS_H
#define COMPACT_ANALYTICS_ACTORS_H

#include "compact/events/v1/events.pb-c.h"
#include "rpc.h"
#include "store.h"

#define ACTORS_LIST_MAX 1000

/* Counts `ev` for its actor, inside the consumer's transaction (so exactly
 * once, with the event). Returns 0 or a negative errno. */
int actors_count(store *st, const Compact__Events__V1__Event *ev);

/* compact.analytics.v1.Analytics/ListChangesByActor. */
void handle_list_changes_by_actor(rpc_call *call, const ProtobufCMessage *request, void *arg);

#endif
