/* roles.c: who leads a working group and who takes part in it:
 * SetLeadership, AddMember, RemoveMember (see handlers.h).
 *
 * Leaders and members are Compact entities; their ids are checked with
 * membership (peer_check.h) before anything is written, and the group is
 * checked first, so that a wrong group fails without a peer call. Removing a
 * member asks nothing: an entity withdrawn from the Compact must still be
 * removable from a group.
 *
 * Leadership keeps its history (WorkingGroup.leadership_history): a new
 * leadership takes office on effective_on (default: today, UTC), which ends
 * the current term there; not before the current term began
 * (FAILED_PRECONDITION). A new leadership taking office the day the current
 * term began replaces that term's leaders (a term of no days is no term);
 * the leadership the group already has, named again, keeps its term.
 */
#include <stdio.h>
#include <string.h>

#include "group.h"
#include "handlers.h"
#include "peers.h"
#include "pbtime.h"
#include "rules.h"
#include "validate.h"

typedef Compact__Workgroups__V1__SetLeadershipRequest SetLeadershipRequest;
typedef Compact__Workgroups__V1__AddMemberRequest AddMemberRequest;
typedef Compact__Workgroups__V1__RemoveMemberRequest RemoveMemberRequest;

#define ETAG_MAX_CHARS 64
#define FIELD_SIZE 64

static const char *role_name(int role)
{
    return role == COMPACT__WORKGROUPS__V1__MEMBER_ROLE__MEMBER_ROLE_OBSERVER ? "an observer"
                                                                              : "a member";
}

/* ---- SetLeadership -------------------------------------------------------- */

static int check_leadership(rpc_call *call, const Leadership *l)
{
    char field[FIELD_SIZE];
    size_t at, first;
    const char *problem;

    if (validate_present(call, "leadership", l) ||
        validate_id(call, "leadership.chair_entity_id", l->chair_entity_id, IDS_ENTITY) ||
        validate_max_items(call, "leadership.vice_chair_entity_ids", l->n_vice_chair_entity_ids,
                           RULES_VICE_CHAIRS_MAX))
        return -1;
    for (size_t i = 0; i < l->n_vice_chair_entity_ids; i++) {
        snprintf(field, sizeof field, "leadership.vice_chair_entity_ids[%zu]", i);
        if (validate_id(call, field, l->vice_chair_entity_ids[i], IDS_ENTITY))
            return -1;
    }
    if ((problem = rules_vice_chairs_problem(l, &at, &first)) == NULL)
        return 0;
    if (l->n_vice_chair_entity_ids == 0)
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "leadership.vice_chair_entity_ids: %s", problem);
    else if (strcmp(l->vice_chair_entity_ids[at], l->chair_entity_id) == 0)
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "leadership.vice_chair_entity_ids[%zu]: \"%s\" %s", at,
                      l->vice_chair_entity_ids[at], problem);
    else
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "leadership.vice_chair_entity_ids[%zu]: repeats "
                      "leadership.vice_chair_entity_ids[%zu]",
                      at, first);
    return -1;
}

/* The day the new leadership takes office: effective_on, or today. */
static void effective_day(const SetLeadershipRequest *req, int64_t now_ms, char *day)
{
    if (req->effective_on[0])
        snprintf(day, RULES_DATE_SIZE, "%s", req->effective_on);
    else
        rules_date_of_ms(now_ms, day);
}

/* FAILED_PRECONDITION if the new term cannot start on `day` in `g`. */
static int check_term(rpc_call *call, const WorkingGroup *g, const SetLeadershipRequest *req,
                      const char *day)
{
    const LeadershipTerm *t = rules_current_term(g);
    int same = rules_leadership_same(g->leadership, req->leadership);

    if (rules_term_start_problem(g, day) != NULL) {
        rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                      "effective_on: %s is before %s, when the current leadership of working "
                      "group %s (%s) took office",
                      day, t->from_date, g->id, g->code);
        return -1;
    }
    if (!same && g->n_leadership_history >= RULES_LEADERSHIP_TERMS_MAX &&
        strcmp(t->from_date, day) != 0) {
        rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                      "group_id: working group %s has %d leadership terms, the most one history "
                      "may hold",
                      g->id, RULES_LEADERSHIP_TERMS_MAX);
        return -1;
    }
    return 0;
}

/* peer_check_done_fn: the entities are active; write. */
static void write_leadership(rpc_call *call, service *svc, void *arg, int ok)
{
    const SetLeadershipRequest *req = arg;
    char day[RULES_DATE_SIZE];
    aggregate_write w;
    WorkingGroup *g;

    if (!ok || group_begin(&w, call, svc, "group_id", req->group_id, req->etag))
        return;
    g = (WorkingGroup *)w.state;
    effective_day(req, w.now_ms, day);
    if (check_term(call, g, req, day)) {
        aggregate_abort(&w);
        return;
    }
    aggregate_commit(&w,
                     group_store_set_leadership(
                         service_store(svc), req->group_id, req->leadership,
                         rules_leadership_same(g->leadership, req->leadership) ? NULL : day),
                     "workgroup.leadership_set", NULL);
}

void handle_set_leadership(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const SetLeadershipRequest *req = (const SetLeadershipRequest *)request;
    const Leadership *l = req->leadership;
    char day[RULES_DATE_SIZE];
    WorkingGroup *g;
    peer_check *c;
    int late;

    if (validate_id(call, "group_id", req->group_id, IDS_GROUP) || check_leadership(call, l) ||
        (req->effective_on[0] && validate_date(call, "effective_on", req->effective_on)) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS) ||
        group_check_open(call, svc, "group_id", req->group_id, req->etag, &g))
        return;
    /* Before asking membership; checked again in the write. */
    effective_day(req, pbtime_now_ms(), day);
    late = check_term(call, g, req, day);
    group_store_free(g);
    if (late)
        return;
    c = peer_check_new();
    peer_check_add(c, &peer_entities, l->chair_entity_id, "leadership.chair_entity_id");
    for (size_t i = 0; i < l->n_vice_chair_entity_ids; i++)
        peer_check_add(c, &peer_entities, l->vice_chair_entity_ids[i],
                       "leadership.vice_chair_entity_ids[%zu]", i);
    peer_check_run(c, call, svc, write_leadership, (void *)req);
}

/* ---- AddMember ------------------------------------------------------------ */

/* ALREADY_EXISTS if the entity takes part in `g` already. */
static int check_not_member(rpc_call *call, const WorkingGroup *g, const char *entity_id)
{
    const Member *m = rules_find_member(g, entity_id);

    if (m == NULL)
        return 0;
    rpc_call_fail(call, RPC_ALREADY_EXISTS,
                  "entity_id: entity \"%s\" is already %s of working group %s (%s); to change "
                  "its role remove it first",
                  entity_id, role_name(m->role), g->id, g->code);
    return -1;
}

/* peer_check_done_fn: the entity is active; add it, unless it was added
 * meanwhile. */
static void write_member(rpc_call *call, service *svc, void *arg, int ok)
{
    const AddMemberRequest *req = arg;
    aggregate_write w;

    if (!ok || group_begin(&w, call, svc, "group_id", req->group_id, req->etag))
        return;
    if (check_not_member(call, (WorkingGroup *)w.state, req->entity_id)) {
        aggregate_abort(&w);
        return;
    }
    if (((WorkingGroup *)w.state)->n_members >= RULES_MEMBERS_MAX) {
        aggregate_fail(&w, RPC_FAILED_PRECONDITION,
                       "group_id: working group %s has %d members, the most one group may hold",
                       req->group_id, RULES_MEMBERS_MAX);
        return;
    }
    aggregate_commit(&w,
                     group_store_add_member(service_store(svc), req->group_id, req->entity_id,
                                            (int)req->role, w.now_ms),
                     "workgroup.member_added", NULL);
}

void handle_add_member(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const AddMemberRequest *req = (const AddMemberRequest *)request;
    WorkingGroup *g;
    peer_check *c;
    int taken;

    if (aggregate_replay(call, svc) || validate_id(call, "group_id", req->group_id, IDS_GROUP) ||
        validate_id(call, "entity_id", req->entity_id, IDS_ENTITY) ||
        validate_enum(call, "role", &compact__workgroups__v1__member_role__descriptor,
                      (int)req->role, 1) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS) ||
        group_check_open(call, svc, "group_id", req->group_id, req->etag, &g))
        return;
    taken = check_not_member(call, g, req->entity_id);
    group_store_free(g);
    if (taken)
        return;
    c = peer_check_new();
    peer_check_add(c, &peer_entities, req->entity_id, "entity_id");
    peer_check_run(c, call, svc, write_member, (void *)req);
}

/* ---- RemoveMember --------------------------------------------------------- */

void handle_remove_member(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const RemoveMemberRequest *req = (const RemoveMemberRequest *)request;
    aggregate_write w;
    WorkingGroup *g;

    if (validate_id(call, "group_id", req->group_id, IDS_GROUP) ||
        validate_id(call, "entity_id", req->entity_id, IDS_ENTITY) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS) ||
        group_begin(&w, call, svc, "group_id", req->group_id, req->etag))
        return;
    g = (WorkingGroup *)w.state;
    if (rules_find_member(g, req->entity_id) == NULL) {
        aggregate_fail(&w, RPC_NOT_FOUND,
                       "entity_id: entity \"%s\" is not a member of working group %s (%s)",
                       req->entity_id, g->id, g->code);
        return;
    }
    aggregate_commit(&w, group_store_remove_member(service_store(svc), g->id, req->entity_id),
                     "workgroup.member_removed", NULL);
}
