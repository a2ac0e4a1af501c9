/* handlers.h: the RPCs of compact.workgroups.v1.WorkingGroups.
 *
 * One function per RPC, all with the runtime's handler signature; `svc` is
 * the `service *`. Each validates the whole request first (a bad field ends
 * the call with INVALID_ARGUMENT naming it), then reads, or checks entity ids
 * with membership (peer_check.h) and writes: the group is an aggregate
 * (group.h) and every write follows the toolkit's one contract
 * (aggregate.h). The call is answered exactly once.
 *
 *   handlers.c  the group itself: Create, Get (through the Redis cache),
 *               List, Update, BatchGet
 *   roles.c     who leads and who takes part: SetLeadership, AddMember,
 *               RemoveMember
 *   plan.c      terms of reference, the work plan and its approvals
 *   notices.c   information-sharing: notices, subscriptions, the watch
 *               (notice_watch.h) and the digest
 *
 * Events (aggregate type "working_group", state: the whole group after the
 * change): workgroup.created, workgroup.updated, workgroup.leadership_set,
 * workgroup.member_added, workgroup.member_removed, workgroup.tor_approved,
 * workgroup.work_item_added, workgroup.work_item_updated,
 * workgroup.work_plan_approved. Aggregate type "notice": notice.posted;
 * "subscription": subscription.created, subscription.removed (state: the
 * subscription as it was).
 *
 * Committee decisions (decision_ref, established_by: "dec_.../effects/n")
 * are idempotency keys kept for good: a repeat of a recorded decision is
 * answered with the group as it is and writes nothing (see plan.c and
 * CreateWorkingGroup in handlers.c).
 */
#ifndef COMPACT_WORKGROUPS_HANDLERS_H
#define COMPACT_WORKGROUPS_HANDLERS_H

#include "rpc.h"

/* handlers.c */
void handle_create_working_group(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_get_working_group(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_list_working_groups(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_update_working_group(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_batch_get_working_groups(rpc_call *call, const ProtobufCMessage *request, void *svc);

/* roles.c */
void handle_set_leadership(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_add_member(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_remove_member(rpc_call *call, const ProtobufCMessage *request, void *svc);

/* plan.c */
void handle_approve_terms_of_reference(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_list_terms_of_reference(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_add_work_plan_item(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_update_work_plan_item(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_approve_work_plan(rpc_call *call, const ProtobufCMessage *request, void *svc);

/* notices.c */
void handle_post_notice(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_list_notices(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_subscribe(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_unsubscribe(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_watch_notices(rpc_call *call, const ProtobufCMessage *request, void *svc);
void handle_get_digest(rpc_call *call, const ProtobufCMessage *request, void *svc);

#endif
