/* group.h: the working group as an aggregate (aggregate.h).
 *
 * A group is one aggregate spread over child tables (group_store.h), so a
 * change writes the rows it touches and the toolkit's `refresh` then moves
 * the group to its next version and reads it back whole: every event and
 * every reply carries the group as stored. Cache keys:
 * "compact:workgroups:group:<id>" and "compact:workgroups:code:<code,
 * lowered>", both holding the packed group.
 *
 * A closed group takes no change but UpdateWorkingGroup (which is how it is
 * reopened): group_begin() and group_check_open() say so with
 * FAILED_PRECONDITION, before the etag, so that a client learns why.
 */
#ifndef COMPACT_WORKGROUPS_GROUP_H
#define COMPACT_WORKGROUPS_GROUP_H

#include "aggregate.h"
#include "group_store.h"

extern const aggregate_def group_aggregate;

/* aggregate_begin() for a change of an open group (request field `field`).
 * Returns 0 with w->state the group, or -1 after failing the call. */
int group_begin(aggregate_write *w, rpc_call *call, service *svc, const char *field, const char *id,
                const char *etag);

/* The checks group_begin makes once the group is loaded (open, etag), for a
 * write begun with aggregate_begin that looks at the group first: a
 * Committee decision already recorded is answered whatever the group's state
 * and etag are now. Returns 0, or -1 after ending the write. */
int group_continue(aggregate_write *w, const char *field, const char *etag);

/* Where the group of a write records a Coordination Committee decision's
 * effect (validate.h): each member is 0 where it does not. */
typedef struct group_decision {
    int32_t tor_version;  /* the version of the terms of reference */
    int32_t plan_version; /* the version of the approved work plan */
    int established;      /* the group's established_by */
} group_decision;

/* Looks `decision_ref` ("": none) up in the group of write `w`: 0 and *d,
 * or -1 after ending the write (the store failed). */
int group_find_decision(aggregate_write *w, const char *decision_ref, group_decision *d);

/* Ends the write with ALREADY_EXISTS naming `field`: `decision_ref` is
 * recorded on the group (where `d` says) with other content. */
void group_fail_decision_taken(aggregate_write *w, const char *field, const char *decision_ref,
                               const group_decision *d);

/* The checks group_begin makes, outside a transaction: for a write that
 * first asks membership, so that a wrong group fails without a peer call.
 * Returns 0 and *g (the caller frees it with group_store_free; NULL `g`:
 * freed here), or -1 after failing the call. */
int group_check_open(rpc_call *call, service *svc, const char *field, const char *id,
                     const char *etag, WorkingGroup **g);

/* A group code in a request (rules_code_problem), as validate.h's checks:
 * fails the call with INVALID_ARGUMENT naming `field` and returns -1. */
int group_check_code(rpc_call *call, const char *field, const char *code);

/* The item `id` of the work plan of `g`, or NULL. */
const WorkPlanItem *group_find_item(const WorkingGroup *g, const char *id);

#endif
