/* entity_check.h: checks that entity ids name active Compact entities.
 *
 * Services that refer to Compact entities (workgroups: chairs, members,
 * owners; projects: participating organisations) keep only their ids; the
 * entities live in the membership service. Before such a service writes an
 * id it asks membership about every id of the request in ONE
 * BatchGetEntities call (allow_missing=true) over service_peer(svc,
 * "membership"), and writes nothing unless every id names an active entity.
 *
 * The call to membership
 * ----------------------
 * - Its deadline is COMPACT_PEER_TIMEOUT_MS (service_config()->peer_timeout_ms)
 *   from now, and never later than the incoming call's own deadline: the
 *   incoming call is the parent, so the caller's deadline and cancellation
 *   propagate to membership.
 * - Membership down (connection refused, or the channel still backing off
 *   after a failure) answers UNAVAILABLE at once, without waiting for the
 *   deadline; once membership is back the channel reconnects by itself (gRPC's
 *   reconnect backoff), and checks succeed again without a restart.
 * - Membership hung or slow: DEADLINE_EXCEEDED when the deadline passes,
 *   also while a first connection is still being made (gRPC's own connect
 *   timeout, 20 s, is far beyond the default peer deadline of 2 s).
 *
 * Outcomes, as the status the handler should answer with
 * ------------------------------------------------------
 *   RPC_OK                 every id names an entity whose status is ACTIVE
 *   RPC_INVALID_ARGUMENT   an id names no entity:
 *                          `leadership.chair_entity_id: no entity "ent_..."`
 *   RPC_FAILED_PRECONDITION  an id names a withdrawn (not active) entity:
 *                          `entity_id: entity "ent_..." (UNODC) is withdrawn`
 *   RPC_UNAVAILABLE        `membership: unavailable: <what gRPC said>`
 *   RPC_DEADLINE_EXCEEDED  `membership: no answer in time: <what gRPC said>`
 *   RPC_CANCELLED          the incoming call was cancelled meanwhile
 *   RPC_INTERNAL           membership answered something we cannot use
 * When several ids are bad, the first in the order of `refs` is reported.
 *
 * What it does not do: it takes no lock on the entities. An entity withdrawn
 * between the check and the caller's commit stays referenced; the check
 * guards against mistakes, not against that race (there is no transaction
 * across services).
 *
 * Everything runs on the loop thread.
 */
#ifndef COMPACT_ENTITY_CHECK_H
#define COMPACT_ENTITY_CHECK_H

#include <stddef.h>

#include "compact/membership/v1/membership.pb-c.h"
#include "rpc.h"
#include "service.h"

/* Membership's ids: this prefix, then VALIDATE_ID_RANDOM_CHARS characters. */
#define ENTITY_CHECK_ID_PREFIX "ent_"
/* At most this many refs per check (membership's BatchGetEntities limit). */
#define ENTITY_CHECK_MAX 1000

/* One id to check and the request field it came from, as the client spells
 * it ("leadership.vice_chair_entity_ids[1]"), for the error message. The
 * same id may appear in several refs; it is asked for once. */
typedef struct entity_check_ref {
    const char *field;
    const char *id;
} entity_check_ref;

/* What the callback receives. Everything in it, and the entities, are valid
 * only during the callback. */
typedef struct entity_check_outcome {
    rpc_code code;        /* see the top of this file */
    const char *message;  /* "" on RPC_OK; else ready for rpc_call_fail("%s") */
    /* On RPC_OK, entities[i] is the entity refs[i] named (n == refs count);
     * otherwise NULL and 0. */
    const Compact__Membership__V1__Entity *const *entities;
    size_t n;
} entity_check_outcome;

/* Runs exactly once per successful entity_check_start(), later (never
 * inside entity_check_start), on the loop thread, with the outcome. It does
 * not end the incoming call: the callback does, typically
 *
 *     if (out->code != RPC_OK) {
 *         rpc_call_fail(call, out->code, "%s", out->message);
 *         ...free what the handler holds...
 *         return;
 *     }
 *     ...write...
 *
 * It also runs (with RPC_CANCELLED or RPC_UNAVAILABLE) when the service shuts
 * down with the check in flight. */
typedef void (*entity_check_cb)(void *arg, const entity_check_outcome *out);

/* Checks refs[0..n) against membership for the incoming `call` (the parent
 * of the membership call) of service `svc`. The refs and their strings are
 * copied: the caller may free them as soon as this returns.
 *
 * Returns 0: the check is in flight and `cb` runs exactly once, later.
 * Returns -1: the call has already been ended and `cb` never runs; the
 * handler frees what it holds and returns. That happens when an id is not
 * of the form "ent_" + 20 characters a-z2-7 (INVALID_ARGUMENT naming its
 * field: checked before anything is sent), when n is 0 or above
 * ENTITY_CHECK_MAX or "membership" is not a peer of `svc` (INTERNAL: a bug
 * of the caller), or when the call to membership cannot be started
 * (UNAVAILABLE). */
int entity_check_start(service *svc, rpc_call *call, const entity_check_ref *refs, size_t n,
                       entity_check_cb cb, void *arg);

#endif
