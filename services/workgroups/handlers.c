/* handlers.c: the working group itself: Create, Get, List, Update and
 * BatchGet (see handlers.h). */
#include "handlers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmask.h"
#include "group.h"
#include "page.h"
#include "pbmsg.h"
#include "provenance.h"
#include "rules.h"
#include "status.h"
#include "validate.h"

typedef Compact__Workgroups__V1__CreateWorkingGroupRequest CreateWorkingGroupRequest;
typedef Compact__Workgroups__V1__ListWorkingGroupsRequest ListWorkingGroupsRequest;
typedef Compact__Workgroups__V1__ListWorkingGroupsResponse ListWorkingGroupsResponse;
typedef Compact__Workgroups__V1__UpdateWorkingGroupRequest UpdateWorkingGroupRequest;
typedef Compact__Workgroups__V1__BatchGetWorkingGroupsRequest BatchGetWorkingGroupsRequest;
typedef Compact__Workgroups__V1__BatchGetWorkingGroupsResponse BatchGetWorkingGroupsResponse;
typedef Compact__Workgroups__V1__StrategyPillar StrategyPillar;

#define STATUS_ACTIVE COMPACT__WORKGROUPS__V1__GROUP_STATUS__GROUP_STATUS_ACTIVE

/* Limits, in characters. */
#define TITLE_MAX_CHARS 256
#define MANDATE_MAX_CHARS 10000
#define SOURCE_NOTE_MAX_CHARS 2000
#define PILLARS_MAX 4
#define ETAG_MAX_CHARS 64
#define BATCH_MAX 1000

#define FIELD_SIZE 64

/* The fields an update may name, as bits. */
enum group_field {
    F_CODE = 1 << 0,
    F_TITLE = 1 << 1,
    F_MANDATE = 1 << 2,
    F_PILLARS = 1 << 3,
    F_STATUS = 1 << 4,
    F_VERIFIED = 1 << 5,
    F_SOURCE_NOTE = 1 << 6,
    F_PROVENANCE = 1 << 7,
    F_ESTABLISHED_BY = 1 << 8, /* creates only */
    F_ALL = (1 << 9) - 1,
};

/* ---- validation of a group ---------------------------------------------- */

static int check_pillars(rpc_call *call, const WorkingGroup *g)
{
    char field[FIELD_SIZE];

    if (g->n_pillars == 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "group.pillars: name at least one Strategy pillar (I-IV)");
        return -1;
    }
    if (validate_max_items(call, "group.pillars", g->n_pillars, PILLARS_MAX))
        return -1;
    for (size_t i = 0; i < g->n_pillars; i++) {
        snprintf(field, sizeof field, "group.pillars[%zu]", i);
        if (validate_enum(call, field, &compact__workgroups__v1__strategy_pillar__descriptor,
                          (int)g->pillars[i], 1))
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (g->pillars[j] == g->pillars[i]) {
                rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: repeats group.pillars[%zu]", field,
                              j);
                return -1;
            }
        }
    }
    return 0;
}

/* Checks the fields of `g` named in `mask`; output-only fields are ignored
 * (AIP-203), as are fields outside the mask (AIP-134). `create`: a status
 * may be left unspecified (it becomes ACTIVE). */
static int check_group(rpc_call *call, const WorkingGroup *g, unsigned mask, int create)
{
    if ((mask & F_CODE) && group_check_code(call, "group.code", g->code))
        return -1;
    if ((mask & F_TITLE) &&
        validate_required_string(call, "group.title", g->title, TITLE_MAX_CHARS))
        return -1;
    if ((mask & F_MANDATE) && validate_text(call, "group.mandate", g->mandate, MANDATE_MAX_CHARS))
        return -1;
    if ((mask & F_PILLARS) && check_pillars(call, g))
        return -1;
    if ((mask & F_STATUS) &&
        validate_enum(call, "group.status", &compact__workgroups__v1__group_status__descriptor,
                      (int)g->status, !create))
        return -1;
    if ((mask & F_SOURCE_NOTE) &&
        validate_text(call, "group.source_note", g->source_note, SOURCE_NOTE_MAX_CHARS))
        return -1;
    if ((mask & F_ESTABLISHED_BY) &&
        validate_decision_ref(call, "group.established_by", g->established_by))
        return -1;
    if ((mask & F_PROVENANCE) &&
        provenance_check(call, "group.provenance", g->provenance, g->n_provenance,
                         &compact__workgroups__v1__working_group__descriptor))
        return -1;
    return 0;
}

/* ---- building groups ----------------------------------------------------- */

/* The input fields of a group, and what an update mask may name. */
static const fieldmask_field group_fields[] = {
    {"code", F_CODE, NULL},
    {"title", F_TITLE, NULL},
    {"mandate", F_MANDATE, NULL},
    {"pillars", F_PILLARS, NULL},
    {"status", F_STATUS, NULL},
    {"verified", F_VERIFIED, NULL},
    {"source_note", F_SOURCE_NOTE, NULL},
    {"provenance", F_PROVENANCE, NULL},
    {"leadership", 0, "cannot be updated here; use SetLeadership"},
    {"members", 0, "cannot be updated here; use AddMember and RemoveMember"},
    {"terms_of_reference", 0, "cannot be updated here; use ApproveTermsOfReference"},
    {"work_plan", 0, "cannot be updated here; use AddWorkPlanItem and UpdateWorkPlanItem"},
    {"approved_work_plans", 0, "cannot be updated here; use ApproveWorkPlan"},
    {"leadership_history", 0, "is output only"},
    {"established_by", F_ESTABLISHED_BY, "is set only when the group is created"},
    {"id", 0, "is output only"},
    {"create_time", 0, "is output only"},
    {"update_time", 0, "is output only"},
    {"etag", 0, "is output only"},
    {NULL, 0, NULL},
};

/* Pillars are kept in order (at most four: an insertion sort). */
static void sort_pillars(WorkingGroup *g)
{
    for (size_t i = 1; i < g->n_pillars; i++) {
        for (size_t j = i; j > 0 && g->pillars[j - 1] > g->pillars[j]; j--) {
            StrategyPillar t = g->pillars[j];
            g->pillars[j] = g->pillars[j - 1];
            g->pillars[j - 1] = t;
        }
    }
}

/* Fails with ALREADY_EXISTS if another group than `self_id` (NULL: any)
 * holds `code`, case-insensitively. */
static int check_code_free(rpc_call *call, store *st, const char *code, const char *self_id)
{
    char owner[IDS_SIZE], stored[GROUP_CODE_MAX + 1];
    int rc = group_store_code_owner(st, code, owner, stored);

    if (rc == -ENOENT || (rc == 0 && self_id && strcmp(owner, self_id) == 0))
        return 0;
    if (rc == 0)
        rpc_call_fail(call, RPC_ALREADY_EXISTS,
                      "group.code: a working group with code \"%s\" already exists (%s); "
                      "codes are unique regardless of case",
                      stored, owner);
    else
        status_fail_store(call, rc, "cannot check the code");
    return -1;
}

/* ---- CreateWorkingGroup --------------------------------------------------- */

/* A group established by a Committee decision is made once: a create naming
 * a decision_ref a group already records gets that group, however it has
 * changed since (it is not compared with the request: a group's fields may
 * be updated, and a retry must still find it), at any time later. Ends the
 * write and returns 1 when it did so; 0 when the decision is new; -1 after
 * ending the write on a store failure. */
static int established_already(aggregate_write *w)
{
    const WorkingGroup *g = (const WorkingGroup *)w->state;
    rpc_call *call = w->call;
    service *svc = w->svc;
    ProtobufCMessage *stored;
    char id[IDS_SIZE];
    int rc;

    if (g->established_by[0] == '\0')
        return 0;
    rc = group_store_established_by(service_store(svc), g->established_by, id);
    if (rc == -ENOENT)
        return 0;
    aggregate_abort(w);
    if (rc != 0) {
        status_fail_store(call, rc, "cannot look up the decision");
        return -1;
    }
    if (aggregate_peek(call, svc, &group_aggregate, "group.established_by", id, "", &stored) == 0) {
        rpc_call_reply(call, stored);
        pbmsg_free(stored);
    }
    return 1;
}

void handle_create_working_group(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const CreateWorkingGroupRequest *req = (const CreateWorkingGroupRequest *)request;
    store *st = service_store(svc);
    aggregate_write w;
    WorkingGroup *g;

    if (validate_present(call, "group", req->group) || check_group(call, req->group, F_ALL, 1) ||
        aggregate_begin_new(&w, call, svc, &group_aggregate,
                            aggregate_new(&req->group->base, group_fields, F_ALL)) ||
        established_already(&w))
        return;
    g = (WorkingGroup *)w.state;
    if (g->status == 0)
        g->status = STATUS_ACTIVE;
    sort_pillars(g);
    provenance_normalize(g->provenance, g->n_provenance);
    if (check_code_free(call, st, g->code, NULL)) {
        aggregate_abort(&w);
        return;
    }
    aggregate_commit(&w, group_store_insert(st, g), "workgroup.created", NULL);
}

/* ---- GetWorkingGroup ------------------------------------------------------ */

void handle_get_working_group(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    aggregate_get(call, svc, &group_aggregate, request);
}

/* ---- ListWorkingGroups ---------------------------------------------------- */

static int check_list(rpc_call *call, const ListWorkingGroupsRequest *req)
{
    if (validate_enum(call, "pillar", &compact__workgroups__v1__strategy_pillar__descriptor,
                      (int)req->pillar, 0) ||
        validate_enum(call, "status", &compact__workgroups__v1__group_status__descriptor,
                      (int)req->status, 0))
        return -1;
    if (req->entity_id[0] && validate_id(call, "entity_id", req->entity_id, IDS_ENTITY))
        return -1;
    return 0;
}

/* page_key_fn: groups are listed by code, case-insensitively. */
static void code_page_key(const ProtobufCMessage *item, char *buf, size_t size)
{
    group_store_code_key(((const WorkingGroup *)item)->code, buf, size);
}

void handle_list_working_groups(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const ListWorkingGroupsRequest *req = (const ListWorkingGroupsRequest *)request;
    ListWorkingGroupsResponse resp = COMPACT__WORKGROUPS__V1__LIST_WORKING_GROUPS_RESPONSE__INIT;
    char pillar[16], status[16];
    const char *filters[] = {"workgroups.groups", pillar, status, req->entity_id};
    group_store_filter f = {(int)req->pillar, (int)req->status, req->entity_id};
    WorkingGroup **v = NULL;
    size_t n = 0;
    page_request pg;
    int rc;

    snprintf(pillar, sizeof pillar, "%d", (int)req->pillar);
    snprintf(status, sizeof status, "%d", (int)req->status);
    if (check_list(call, req) ||
        page_request_parse(call, filters, 4, req->page_size, req->page_token, &pg))
        return;
    rc = group_store_list(service_store(svc), &f, pg.after, page_request_limit(&pg), &v, &n);
    page_reply(call, &pg, rc, "cannot list working groups", &resp.base, (ProtobufCMessage **)v, n,
               code_page_key);
}

/* ---- UpdateWorkingGroup --------------------------------------------------- */

void handle_update_working_group(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const UpdateWorkingGroupRequest *req = (const UpdateWorkingGroupRequest *)request;
    store *st = service_store(svc);
    aggregate_write w;
    WorkingGroup *g;
    unsigned mask;
    int rc;

    /* A closed group may be updated: that is how it is reopened. */
    if (validate_present(call, "group", req->group) ||
        validate_id(call, "group.id", req->group->id, IDS_GROUP) ||
        fieldmask_parse(call, req->update_mask, group_fields, &mask) ||
        check_group(call, req->group, mask, 0) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS) ||
        aggregate_begin(&w, call, svc, &group_aggregate, "group.id", req->group->id, req->etag))
        return;
    g = (WorkingGroup *)w.state;
    if ((mask & F_CODE) && check_code_free(call, st, req->group->code, g->id)) {
        aggregate_abort(&w);
        return;
    }
    rc = aggregate_apply(&g->base, &req->group->base, group_fields, mask);
    sort_pillars(g);
    provenance_normalize(g->provenance, g->n_provenance);
    if (rc == 0)
        rc = group_store_update_fields(st, g);
    aggregate_commit(&w, rc, "workgroup.updated", NULL);
}

/* ---- BatchGetWorkingGroups ------------------------------------------------ */

void handle_batch_get_working_groups(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const BatchGetWorkingGroupsRequest *req = (const BatchGetWorkingGroupsRequest *)request;

    if (validate_ids(call, "ids", req->ids, req->n_ids, BATCH_MAX, IDS_GROUP) ||
        validate_enum(call, "view", &compact__workgroups__v1__view__descriptor, (int)req->view, 0))
        return;
    aggregate_batch_get_reply(
        call, svc, &group_aggregate, req->ids, req->n_ids, req->allow_missing,
        req->view == COMPACT__WORKGROUPS__V1__VIEW__VIEW_BASIC,
        &compact__workgroups__v1__batch_get_working_groups_response__descriptor);
}
