/* handlers.h: the RPCs of compact.membership.v1.Membership.
 *
 * One function per RPC, all with the runtime's handler signature; `svc` is
 * the `service *` (service_data of the method table). Each validates the
 * whole request first (a bad field ends the call with INVALID_ARGUMENT
 * naming it), then reads or writes the store, then replies exactly once.
 *
 * Writes: store_begin, the change, the outbox event ("entity.created",
 * "entity.updated", "entity.withdrawn", carrying the new Entity and the cache
 * keys to invalidate), store_commit; only after the commit the reply, then a
 * best-effort cache_del of the keys and service_events_committed(). A failed
 * commit answers UNAVAILABLE (or INTERNAL) and leaves nothing written.
 *
 * Reads: GetEntity goes through the Redis cache (keys
 * "compact:membership:entity:<id>" and "compact:membership:acronym:<key>",
 * both holding the packed Entity); ListEntities and BatchGetEntities read
 * SQLite directly.
 */
#ifndef COMPACT_MEMBERSHIP_HANDLERS_H
#define COMPACT_MEMBERSHIP_HANDLERS_H

#include "rpc.h"

void handle_create_entity(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_get_entity(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_list_entities(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_update_entity(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_withdraw_entity(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_batch_get_entities(rpc_call *call, const ProtobufCMessage *request, void *svc);

#endif
