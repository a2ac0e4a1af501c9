/* peer_check.h: checks that ids name usable aggregates of other services.
 *
 * A service keeps only the ids of what other services own (workgroups: the
 * entities that chair and take part; projects: its participants and working
 * groups). Before it writes such an id it asks the owner, and writes
 * nothing unless every id names an aggregate that may be referred to (an
 * active entity, an open working group). What may be referred to is a small
 * table per kind (peer_kind; the Compact's kinds are in peers.h), and one
 * check covers the ids of a whole request, of any kinds:
 *
 *     peer_check *c = peer_check_new();
 *     peer_check_add(c, &peer_entities, l->chair_entity_id, "leadership.chair_entity_id");
 *     for (size_t i = 0; i < l->n_vice_chair_entity_ids; i++)
 *         peer_check_add(c, &peer_entities, l->vice_chair_entity_ids[i],
 *                        "leadership.vice_chair_entity_ids[%zu]", i);
 *     peer_check_run(c, call, svc, write_leadership, (void *)req);
 *
 * The calls
 * ---------
 * One BatchGet per kind (the ids once each, allow_missing), all kinds at
 * once, over service_peer(svc, kind->peer), with the incoming call as the
 * parent: its deadline (never later than COMPACT_PEER_TIMEOUT_MS from now)
 * and its cancellation reach the peer. A peer that is down answers
 * UNAVAILABLE at once (gRPC reconnects by itself: no restart needed once it
 * is back); a hung one DEADLINE_EXCEEDED when the deadline passes.
 *
 * Outcomes, as the status the call ends with when not every id is usable
 * (the first problem in the order the ids were added wins):
 *   INVALID_ARGUMENT     an id is malformed, or names nothing:
 *                        `leadership.chair_entity_id: no entity "ent_..."`
 *   FAILED_PRECONDITION  an id names something that may not be referred to:
 *                        `entity_id: entity "ent_..." (UNODC) is withdrawn`
 *   UNAVAILABLE          `membership: unavailable: <what gRPC said>` (also
 *                        when the peer is busy: a retry may pass)
 *   DEADLINE_EXCEEDED    `membership: no answer in time: <what gRPC said>`
 *   CANCELLED            the incoming call was cancelled meanwhile
 *   INTERNAL             a peer answered something unusable, the peer is not
 *                        configured, or memory ran out
 *
 * What it does not do: it takes no lock in the other service. An entity
 * withdrawn between the check and the commit stays referred to; the check
 * guards against mistakes, not against that race (there is no transaction
 * across services).
 *
 * Everything runs on the loop thread.
 */
#ifndef COMPACT_PEER_CHECK_H
#define COMPACT_PEER_CHECK_H

#include <protobuf-c/protobuf-c.h>

#include "rpc.h"
#include "service.h"

/* The most ids of one kind in one check (the peers' BatchGet limit). */
#define PEER_CHECK_MAX 1000

/* What may be referred to, of one kind of another service's aggregates. */
typedef struct peer_kind {
    const char *peer;      /* "membership": the service_peer() and messages */
    const char *noun;      /* "entity" */
    const char *id_prefix; /* IDS_ENTITY: an id of another form is refused at once */
    const ProtobufCServiceDescriptor *service;
    /* A BatchGet: its request has "ids" and "allow_missing", its response
     * one repeated field of messages with an "id". */
    const char *method;
    const char *label_field; /* shown beside an id in messages: "acronym" */
    /* Why `item` may not be referred to ("withdrawn", "closed"), or NULL. */
    const char *(*unusable)(const ProtobufCMessage *item);
} peer_kind;

typedef struct peer_check peer_check;

/* A new, empty check; NULL when memory runs out (peer_check_add and
 * peer_check_run accept NULL and report it). */
peer_check *peer_check_new(void);

/* Adds `id` (copied), of `kind`, from the request field that `field_fmt`
 * (printf-style, copied) names. */
void peer_check_add(peer_check *c, const peer_kind *kind, const char *id, const char *field_fmt,
                    ...) __attribute__((format(printf, 4, 5)));

/* Runs once per peer_check_run: ok 1 when every id is usable, ok 0 when the
 * call has been ended with the problem (see the top). It is the handler's
 * continuation: it writes, or frees what `arg` holds. */
typedef void (*peer_check_done_fn)(rpc_call *call, service *svc, void *arg, int ok);

/* Runs the check `c` (taken and freed) for the incoming `call` of `svc`;
 * `done` runs exactly once: before this returns when nothing needs asking
 * (no ids: ok 1; a malformed id, or memory ran out: ok 0), else later on the
 * loop, also with ok 0 when the service shuts down meanwhile. */
void peer_check_run(peer_check *c, rpc_call *call, service *svc, peer_check_done_fn done,
                    void *arg);

#endif
