/* outbox.h: domain events, written with the change and published after it.
 *
 * The transactional outbox pattern: a service that commits a change appends
 * an event to the outbox table inside the same transaction (outbox_append), so
 * the change and its event are committed together or not at all. The relay,
 * running on the loop, publishes pending events in outbox order to the Redis
 * Stream "compact:events:<service>" and moves its mark of what was published
 * (every row up to one seq) only after Redis acknowledged. While Redis is
 * down events wait in SQLite; after a crash the relay starts again from the
 * first row past the mark.
 *
 * Exactly once in the stream, without relying on stream ids: a batch of
 * events is one Lua script that adds each event unless its "seen" key (by
 * event id, kept for the retention) exists, so a re-publish after a crash
 * between Redis's answer and our mark, or after a backup was
 * restored, adds nothing, and a stream holding larger ids (a clock stepped
 * back, a database made anew) still takes every new event. Entries carry
 * event_id, aggregate_id and aggregate_seq, so a consumer can also tell a
 * duplicate that outlived the retention. The stream, the seen keys and the
 * published rows of the outbox are kept for the retention.
 *
 * Cache invalidation rides along: an event may name cache keys; the relay
 * deletes them in the same script as the XADD, so an invalidation that
 * failed while Redis was unreachable is retried until it happens.
 */
#ifndef COMPACT_OUTBOX_H
#define COMPACT_OUTBOX_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include <uv.h>

#include "cache.h"
#include "store.h"

/* Creates or upgrades the outbox's tables in `st` (component "runtime").
 * Before any other outbox call on `st`. Returns 0 or what store_migrate
 * returns. */
int outbox_migrate(store *st);

/* Who made a change (compact.events.v1.Actor): kept on the event and in
 * the service's audit table, in the change's transaction. */
typedef struct outbox_actor {
    const char *subject;   /* the token's sub; "" without authentication */
    const char *role;      /* "secretariat", ...; "" without authentication */
    const char *entity_id; /* "" when none */
    const char *peer;      /* the caller's address */
} outbox_actor;

typedef struct outbox_event {
    const char *service;        /* "membership" */
    const char *aggregate_type; /* "entity" */
    const char *aggregate_id;
    const char *type;              /* "entity.created" */
    const ProtobufCMessage *state; /* the aggregate after the change */
    const char *const *cache_keys; /* keys to delete when published; may be NULL */
    size_t cache_keys_count;
    /* Who asked for it; NULL: the service itself (a change no call asked
     * for, as the committee's effects carried out later), recorded as
     * subject "service:<service>", role "service". */
    const outbox_actor *actor;
} outbox_event;

/* Appends `ev` to the outbox inside the caller's open transaction: assigns a
 * random 32-hex event id, the next sequence number of the aggregate and the
 * time, and writes its audit row (who, when, what). Returns 0 or a negative
 * errno (the caller then rolls back). */
int outbox_append(store *st, const outbox_event *ev);

/* Number of events past the mark of what was published as the store holds
 * it (the relay writes its mark there a little after it moves), or a
 * negative errno. */
int64_t outbox_pending(store *st);

typedef struct outbox_relay outbox_relay;

/* Starts the relay for `service`: it publishes now, after every commit, and
 * on a timer every `interval_ms` (the backstop after a Redis outage), and
 * keeps events for `retention_hours`. `cache` may be NULL (events then
 * wait). Returns 0 or a negative errno. */
int outbox_relay_start(uv_loop_t *loop, store *st, cache *c, const char *service, int interval_ms,
                       int retention_hours, outbox_relay **out);

/* One more event was committed: publish it once the flush that covers it
 * has ended (in a batch of writes, the flush their replies wait for). Call
 * after every commit of an event, outside store_begin/store_commit. Cheap:
 * one indexed query and one small allocation. */
void outbox_relay_committed(outbox_relay *r);

/* Events not yet published, kept by the relay without a query (for the
 * metrics: a scrape costs nothing). */
int64_t outbox_relay_pending(const outbox_relay *r);

/* Stops the relay; `cb` runs once on the loop when its timer is closed and
 * no publish is in flight. With a NULL relay `cb` runs at once. */
void outbox_relay_close(outbox_relay *r, void (*cb)(void *arg), void *arg);

#endif
