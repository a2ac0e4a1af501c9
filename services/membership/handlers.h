/* handlers.h: the RPCs of compact.membership.v1.Membership.
 *
 * One function per RPC, all with the runtime's handler signature; `svc` is
 * the `service *`. Each validates the whole request first (a bad field ends
 * the call with INVALID_ARGUMENT naming it), then reads or writes, and the
 * call is answered exactly once.
 *
 * The entity is an aggregate (aggregate.h; its table, entity_aggregate, is
 * in handlers.c): Get reads through the cache by id or acronym, writes follow
 * the toolkit's one contract and publish "entity.created", "entity.updated",
 * "entity.withdrawn" and "entity.admitted" (a Committee admission, carried
 * out once per decision effect). ListEntities and CountEntities read SQLite
 * directly.
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
void handle_count_entities(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_admit_entity(rpc_call *call, const ProtobufCMessage *request, void *svc);

#endif
