/* group_check.h: checks that working group ids name open Working Groups.
 *
 * The projects counterpart of common/entity_check.h, for the groups kept by
 * compact.workgroups.v1.WorkingGroups: before a project names a group, every
 * new group id of the request is asked for in ONE BatchGetWorkingGroups call
 * (allow_missing=true) over service_peer(svc, "workgroups"), with the same
 * deadline rule (COMPACT_PEER_TIMEOUT_MS from now, never later than the
 * incoming call's deadline, which is the parent: its cancellation
 * propagates) and the same outcomes:
 *
 *   RPC_OK                   every id names a group whose status is ACTIVE
 *   RPC_INVALID_ARGUMENT     `project.working_group_ids[0]: no working group "wg_..."`
 *   RPC_FAILED_PRECONDITION  `...: working group "wg_..." (BMLE) is closed`
 *   RPC_UNAVAILABLE          `workgroups: unavailable: <what gRPC said>`
 *   RPC_DEADLINE_EXCEEDED    `workgroups: no answer in time: <what gRPC said>`
 *   RPC_CANCELLED            the incoming call was cancelled meanwhile
 *   RPC_INTERNAL             workgroups answered something we cannot use
 *
 * Everything runs on the loop thread.
 */
#ifndef COMPACT_PROJECTS_GROUP_CHECK_H
#define COMPACT_PROJECTS_GROUP_CHECK_H

#include <stddef.h>

#include "rpc.h"
#include "service.h"

#define GROUP_CHECK_ID_PREFIX "wg_"
#define GROUP_CHECK_MAX 1000

/* One id and the request field it came from. */
typedef struct group_check_ref {
    const char *field;
    const char *id;
} group_check_ref;

/* `message` is "" on RPC_OK, else ready for rpc_call_fail("%s"); valid only
 * during the callback. */
typedef void (*group_check_cb)(void *arg, rpc_code code, const char *message);

/* Checks refs[0..n) (copied: the caller may free them on return) for the
 * incoming `call` of `svc`. Returns 0 and `cb` runs exactly once, later, on
 * the loop; or -1 when the call has already been ended (a malformed id:
 * INVALID_ARGUMENT; no refs or no "workgroups" peer: INTERNAL; the call could
 * not start: UNAVAILABLE) and `cb` never runs. `cb` does not end the call. */
int group_check_start(service *svc, rpc_call *call, const group_check_ref *refs, size_t n,
                      group_check_cb cb, void *arg);

#endif
