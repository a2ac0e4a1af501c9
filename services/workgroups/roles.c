/* roles.c: who leads a working group and who takes part in it:
 * SetLeadership, AddMember, RemoveMember (see handlers.h).
 *
 * Leaders and members are Compact entities; the ids are checked with
 * membership before anything is written (group_write_after_check). Removing
 * a member asks nothing: an entity withdrawn from the Compact must still be
 * removable from a group.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "group_write.h"
#include "handlers.h"
#include "pbtime.h"
#include "txn.h"
#include "validate.h"

typedef Compact__Workgroups__V1__SetLeadershipRequest SetLeadershipRequest;
typedef Compact__Workgroups__V1__AddMemberRequest AddMemberRequest;
typedef Compact__Workgroups__V1__RemoveMemberRequest RemoveMemberRequest;

#define VICE_CHAIRS_MAX 10
#define ETAG_MAX_CHARS 64
#define FIELD_SIZE 64

static const Member *find_member(const WorkingGroup *g, const char *entity_id)
{
    for (size_t i = 0; i < g->n_members; i++) {
        if (strcmp(g->members[i]->entity_id, entity_id) == 0)
            return g->members[i];
    }
    return NULL;
}

static const char *role_name(int role)
{
    return role == COMPACT__WORKGROUPS__V1__MEMBER_ROLE__MEMBER_ROLE_OBSERVER ? "an observer"
                                                                             : "a member";
}

/* Checks the group before asking membership: it exists, is open, and the
 * etag is current. 0, or -1 after failing the call. */
static int precheck(rpc_call *call, service *svc, const char *group_id, const char *etag)
{
    WorkingGroup *g;

    if (group_write_load(call, service_store(svc), "group_id", group_id, etag, 0, &g, NULL))
        return -1;
    group_store_free(g);
    return 0;
}

/* ---- SetLeadership -------------------------------------------------------- */

static int check_vice_chairs(rpc_call *call, const Leadership *l)
{
    char field[FIELD_SIZE];

    if (l->n_vice_chair_entity_ids == 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "leadership.vice_chair_entity_ids: name at least one vice-chair");
        return -1;
    }
    if (validate_max_items(call, "leadership.vice_chair_entity_ids",
                           l->n_vice_chair_entity_ids, VICE_CHAIRS_MAX))
        return -1;
    for (size_t i = 0; i < l->n_vice_chair_entity_ids; i++) {
        const char *id = l->vice_chair_entity_ids[i];
        snprintf(field, sizeof field, "leadership.vice_chair_entity_ids[%zu]", i);
        if (validate_id(call, field, id, ENTITY_CHECK_ID_PREFIX))
            return -1;
        if (strcmp(id, l->chair_entity_id) == 0) {
            rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                          "%s: \"%s\" is the chair; a chair cannot also be a vice-chair",
                          field, id);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(l->vice_chair_entity_ids[j], id) == 0) {
                rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                              "%s: repeats leadership.vice_chair_entity_ids[%zu]", field, j);
                return -1;
            }
        }
    }
    return 0;
}

static void write_leadership(rpc_call *call, service *svc, const void *request)
{
    const SetLeadershipRequest *req = request;
    store *st = service_store(svc);
    txn_keys keys = {0};
    WorkingGroup *g;
    int64_t version;
    int rc;

    if (txn_begin(call, st))
        return;
    if (group_write_load(call, st, "group_id", req->group_id, req->etag, 0, &g, &version)) {
        store_rollback(st);
        return;
    }
    group_write_keys_add_id(&keys, g->id);
    rc = group_store_set_leadership(st, g->id, req->leadership);
    group_write_finish(call, svc, rc, g->id, version, "workgroup.leadership_set", &keys, NULL);
    group_store_free(g);
}

void handle_set_leadership(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const SetLeadershipRequest *req = (const SetLeadershipRequest *)request;
    entity_check_ref refs[1 + VICE_CHAIRS_MAX];
    char fields[VICE_CHAIRS_MAX][FIELD_SIZE];
    const Leadership *l = req->leadership;
    size_t n = 0;

    if (validate_id(call, "group_id", req->group_id, GROUP_ID_PREFIX) ||
        validate_present(call, "leadership", l) ||
        validate_id(call, "leadership.chair_entity_id", l->chair_entity_id,
                    ENTITY_CHECK_ID_PREFIX) ||
        check_vice_chairs(call, l) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS) ||
        precheck(call, svc, req->group_id, req->etag))
        return;
    refs[n++] = (entity_check_ref){"leadership.chair_entity_id", l->chair_entity_id};
    for (size_t i = 0; i < l->n_vice_chair_entity_ids; i++) {
        snprintf(fields[i], sizeof fields[i], "leadership.vice_chair_entity_ids[%zu]", i);
        refs[n++] = (entity_check_ref){fields[i], l->vice_chair_entity_ids[i]};
    }
    group_write_after_check(call, svc, refs, n, write_leadership, req);
}

/* ---- AddMember ------------------------------------------------------------ */

/* ALREADY_EXISTS if the entity takes part in `g` already. */
static int check_not_member(rpc_call *call, const WorkingGroup *g, const char *entity_id)
{
    const Member *m = find_member(g, entity_id);

    if (m == NULL)
        return 0;
    rpc_call_fail(call, RPC_ALREADY_EXISTS,
                  "entity_id: entity \"%s\" is already %s of working group %s (%s); to change "
                  "its role remove it first",
                  entity_id, role_name(m->role), g->id, g->code);
    return -1;
}

static void write_member(rpc_call *call, service *svc, const void *request)
{
    const AddMemberRequest *req = request;
    store *st = service_store(svc);
    txn_keys keys = {0};
    WorkingGroup *g;
    int64_t version;
    int rc;

    if (txn_begin(call, st))
        return;
    if (group_write_load(call, st, "group_id", req->group_id, req->etag, 0, &g, &version)) {
        store_rollback(st);
        return;
    }
    if (check_not_member(call, g, req->entity_id)) {
        store_rollback(st);
        group_store_free(g);
        return;
    }
    group_write_keys_add_id(&keys, g->id);
    rc = group_store_add_member(st, g->id, req->entity_id, (int)req->role,
                                pbtime_now_ms());
    group_write_finish(call, svc, rc, g->id, version, "workgroup.member_added", &keys, NULL);
    group_store_free(g);
}

void handle_add_member(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const AddMemberRequest *req = (const AddMemberRequest *)request;
    entity_check_ref ref = {"entity_id", req->entity_id};
    WorkingGroup *g;

    if (validate_id(call, "group_id", req->group_id, GROUP_ID_PREFIX) ||
        validate_id(call, "entity_id", req->entity_id, ENTITY_CHECK_ID_PREFIX) ||
        validate_enum(call, "role", &compact__workgroups__v1__member_role__descriptor,
                      (int)req->role, 1) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS))
        return;
    /* Before asking membership: the group, and whether the entity is in it. */
    if (group_write_load(call, service_store(svc), "group_id", req->group_id, req->etag, 0, &g,
                         NULL))
        return;
    int taken = check_not_member(call, g, req->entity_id);
    group_store_free(g);
    if (taken)
        return;
    group_write_after_check(call, svc, &ref, 1, write_member, req);
}

/* ---- RemoveMember --------------------------------------------------------- */

void handle_remove_member(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const RemoveMemberRequest *req = (const RemoveMemberRequest *)request;
    store *st = service_store(svc);
    txn_keys keys = {0};
    WorkingGroup *g;
    int64_t version;
    int rc;

    if (validate_id(call, "group_id", req->group_id, GROUP_ID_PREFIX) ||
        validate_id(call, "entity_id", req->entity_id, ENTITY_CHECK_ID_PREFIX) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS))
        return;
    if (txn_begin(call, st))
        return;
    if (group_write_load(call, st, "group_id", req->group_id, req->etag, 0, &g, &version)) {
        store_rollback(st);
        return;
    }
    if (find_member(g, req->entity_id) == NULL) {
        rpc_call_fail(call, RPC_NOT_FOUND,
                      "entity_id: entity \"%s\" is not a member of working group %s (%s)",
                      req->entity_id, g->id, g->code);
        store_rollback(st);
        group_store_free(g);
        return;
    }
    group_write_keys_add_id(&keys, g->id);
    rc = group_store_remove_member(st, g->id, req->entity_id);
    group_write_finish(call, svc, rc, g->id, version, "workgroup.member_removed", &keys, NULL);
    group_store_free(g);
}
