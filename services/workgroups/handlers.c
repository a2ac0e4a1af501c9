/* handlers.c: the working group itself: Create, Get, List, Update and
 * BatchGet (see handlers.h). */
#include "handlers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cached_get.h"
#include "group_store.h"
#include "group_write.h"
#include "ids.h"
#include "page.h"
#include "pbstr.h"
#include "pbtime.h"
#include "status.h"
#include "txn.h"
#include "validate.h"

typedef Compact__Workgroups__V1__CreateWorkingGroupRequest CreateWorkingGroupRequest;
typedef Compact__Workgroups__V1__GetWorkingGroupRequest GetWorkingGroupRequest;
typedef Compact__Workgroups__V1__ListWorkingGroupsRequest ListWorkingGroupsRequest;
typedef Compact__Workgroups__V1__ListWorkingGroupsResponse ListWorkingGroupsResponse;
typedef Compact__Workgroups__V1__UpdateWorkingGroupRequest UpdateWorkingGroupRequest;
typedef Compact__Workgroups__V1__BatchGetWorkingGroupsRequest BatchGetWorkingGroupsRequest;
typedef Compact__Workgroups__V1__BatchGetWorkingGroupsResponse BatchGetWorkingGroupsResponse;
typedef Compact__Workgroups__V1__StrategyPillar StrategyPillar;

#define STATUS_ACTIVE COMPACT__WORKGROUPS__V1__GROUP_STATUS__GROUP_STATUS_ACTIVE

/* Limits, in characters. */
#define CODE_MIN_CHARS 2
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
    F_ALL = (1 << 7) - 1,
};

/* ---- validation of a group ---------------------------------------------- */

static const char *code_problem(const char *s)
{
    if (strlen(s) < CODE_MIN_CHARS)
        return "must be at least 2 characters";
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return "must start with a letter";
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return "may contain only letters, digits and '-'";
    }
    return NULL;
}

static int check_code(rpc_call *call, const char *field, const char *s)
{
    const char *problem;

    if (validate_required_string(call, field, s, GROUP_CODE_MAX))
        return -1;
    if ((problem = code_problem(s)) == NULL)
        return 0;
    rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: %s", field, problem);
    return -1;
}

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
                rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: repeats group.pillars[%zu]",
                              field, j);
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
    if ((mask & F_CODE) && check_code(call, "group.code", g->code))
        return -1;
    if ((mask & F_TITLE) &&
        validate_required_string(call, "group.title", g->title, TITLE_MAX_CHARS))
        return -1;
    if ((mask & F_MANDATE) &&
        validate_text(call, "group.mandate", g->mandate, MANDATE_MAX_CHARS))
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
    return 0;
}

/* ---- building groups ----------------------------------------------------- */

/* A sorted copy of the pillars into dst (the old array freed). */
static int copy_pillars(WorkingGroup *dst, const WorkingGroup *src)
{
    size_t n = src->n_pillars;
    StrategyPillar *v = malloc((n ? n : 1) * sizeof *v);

    if (v == NULL)
        return -ENOMEM;
    memcpy(v, src->pillars, n * sizeof *v);
    for (size_t i = 1; i < n; i++) { /* at most four: insertion sort */
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            StrategyPillar t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    }
    free(dst->pillars);
    dst->pillars = v;
    dst->n_pillars = n;
    return 0;
}

/* Copies the fields named in `mask` from `src` to `dst`. */
static int apply_fields(WorkingGroup *dst, const WorkingGroup *src, unsigned mask)
{
    if (((mask & F_CODE) && pbstr_set(&dst->code, src->code)) ||
        ((mask & F_TITLE) && pbstr_set(&dst->title, src->title)) ||
        ((mask & F_MANDATE) && pbstr_set(&dst->mandate, src->mandate)) ||
        ((mask & F_SOURCE_NOTE) && pbstr_set(&dst->source_note, src->source_note)))
        return -ENOMEM;
    if (mask & F_STATUS)
        dst->status = src->status;
    if (mask & F_VERIFIED)
        dst->verified = src->verified;
    return (mask & F_PILLARS) ? copy_pillars(dst, src) : 0;
}

/* A new group with a fresh id and the input fields of `src`. */
static int new_group(const WorkingGroup *src, WorkingGroup **out)
{
    WorkingGroup *g = malloc(sizeof *g);
    char id[GROUP_ID_SIZE];
    int64_t now = pbtime_now_ms();
    int rc;

    *out = NULL;
    if (g == NULL)
        return -ENOMEM;
    compact__workgroups__v1__working_group__init(g);
    if ((rc = ids_new(GROUP_ID_PREFIX, id, sizeof id)) != 0 ||
        (rc = pbstr_set(&g->id, id)) != 0 ||
        (rc = pbtime_set(&g->create_time, now)) != 0 ||
        (rc = pbtime_set(&g->update_time, now)) != 0 ||
        (rc = apply_fields(g, src, F_ALL)) != 0) {
        group_store_free(g);
        return rc;
    }
    if (g->status == 0)
        g->status = STATUS_ACTIVE;
    *out = g;
    return 0;
}

/* Fails with ALREADY_EXISTS if another group than `self_id` (NULL: any)
 * holds `code`, case-insensitively. */
static int check_code_free(rpc_call *call, store *st, const char *code, const char *self_id)
{
    char owner[GROUP_ID_SIZE], stored[GROUP_CODE_MAX + 1];
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

void handle_create_working_group(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const CreateWorkingGroupRequest *req = (const CreateWorkingGroupRequest *)request;
    store *st = service_store(svc);
    txn_keys keys = {0};
    WorkingGroup *g;
    int rc;

    if (validate_present(call, "group", req->group) ||
        check_group(call, req->group, F_ALL, 1))
        return;
    if ((rc = new_group(req->group, &g)) != 0) {
        status_fail_store(call, rc, "cannot build the group");
        return;
    }
    if (txn_begin(call, st)) {
        group_store_free(g);
        return;
    }
    if (check_code_free(call, st, g->code, NULL)) {
        store_rollback(st);
        group_store_free(g);
        return;
    }
    group_write_keys_add_id(&keys, g->id);
    rc = group_store_insert(st, g);
    group_write_finish(call, svc, rc, g->id, 0, "workgroup.created", &keys, NULL);
    group_store_free(g);
}

/* ---- GetWorkingGroup ------------------------------------------------------ */

/* cached_get_load_fn: a group from the store, by id or by code. */
static int load_by_id(void *st, const char *value, ProtobufCMessage **out)
{
    WorkingGroup *g = NULL;
    int rc = group_store_get(st, value, &g, NULL);

    *out = g ? &g->base : NULL;
    return rc;
}

static int load_by_code(void *st, const char *value, ProtobufCMessage **out)
{
    WorkingGroup *g = NULL;
    int rc = group_store_get_by_code(st, value, &g);

    *out = g ? &g->base : NULL;
    return rc;
}

void handle_get_working_group(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const GetWorkingGroupRequest *req = (const GetWorkingGroupRequest *)request;
    cached_get_spec spec = {
        .descriptor = &compact__workgroups__v1__working_group__descriptor,
        .ctx = service_store(svc),
        .noun = "working group",
        .what = "cannot read the group",
    };
    char key[GROUP_WRITE_KEY_SIZE];

    switch (req->key_case) {
    case COMPACT__WORKGROUPS__V1__GET_WORKING_GROUP_REQUEST__KEY_ID:
        if (validate_id(call, "id", req->id, GROUP_ID_PREFIX))
            return;
        group_write_id_key(key, sizeof key, req->id);
        spec.load = load_by_id;
        spec.value = req->id;
        spec.field = spec.label = "id";
        break;
    case COMPACT__WORKGROUPS__V1__GET_WORKING_GROUP_REQUEST__KEY_CODE:
        if (check_code(call, "code", req->code))
            return;
        group_write_code_key(key, sizeof key, req->code);
        spec.load = load_by_code;
        spec.value = req->code;
        spec.field = spec.label = "code";
        break;
    default:
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "key: set id or code");
        return;
    }
    cached_get_reply(call, service_cache(svc), key, &spec);
}

/* ---- ListWorkingGroups ---------------------------------------------------- */

static int check_list(rpc_call *call, const ListWorkingGroupsRequest *req)
{
    if (validate_enum(call, "pillar", &compact__workgroups__v1__strategy_pillar__descriptor,
                      (int)req->pillar, 0) ||
        validate_enum(call, "status", &compact__workgroups__v1__group_status__descriptor,
                      (int)req->status, 0))
        return -1;
    if (req->entity_id[0] && validate_id(call, "entity_id", req->entity_id,
                                         ENTITY_CHECK_ID_PREFIX))
        return -1;
    return 0;
}

void handle_list_working_groups(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const ListWorkingGroupsRequest *req = (const ListWorkingGroupsRequest *)request;
    ListWorkingGroupsResponse resp = COMPACT__WORKGROUPS__V1__LIST_WORKING_GROUPS_RESPONSE__INIT;
    char pillar[16], status[16], last[GROUP_CODE_MAX * 4 + 1];
    const char *filters[] = {"workgroups.groups", pillar, status, req->entity_id};
    group_store_filter f = {(int)req->pillar, (int)req->status, req->entity_id};
    char *next = NULL;
    WorkingGroup **v;
    size_t n;
    page_request pg;
    int rc;

    snprintf(pillar, sizeof pillar, "%d", (int)req->pillar);
    snprintf(status, sizeof status, "%d", (int)req->status);
    if (check_list(call, req) ||
        page_request_parse(call, filters, 4, req->page_size, req->page_token, &pg))
        return;
    rc = group_store_list(service_store(svc), &f, pg.after, page_request_limit(&pg), &v, &n);
    if (rc != 0) {
        status_fail_store(call, rc, "cannot list working groups");
        return;
    }
    resp.groups = v;
    resp.n_groups = page_request_count(&pg, n);
    if (resp.n_groups < n)
        group_store_code_key(v[resp.n_groups - 1]->code, last, sizeof last);
    if (page_request_next(call, &pg, n, last, &next)) {
        group_store_free_list(v, n);
        return;
    }
    if (next)
        resp.next_page_token = next;
    rpc_call_reply(call, &resp.base);
    free(next);
    group_store_free_list(v, n);
}

/* ---- UpdateWorkingGroup --------------------------------------------------- */

static const struct {
    const char *snake, *camel;
    unsigned bit;
} mask_fields[] = {
    {"code", "code", F_CODE},
    {"title", "title", F_TITLE},
    {"mandate", "mandate", F_MANDATE},
    {"pillars", "pillars", F_PILLARS},
    {"status", "status", F_STATUS},
    {"verified", "verified", F_VERIFIED},
    {"source_note", "sourceNote", F_SOURCE_NOTE},
    {"*", "*", F_ALL}, /* AIP-134: full replacement of the updatable fields */
};

/* Fields with an RPC of their own, and the output-only ones. */
static const struct {
    const char *snake, *camel, *use;
} other_fields[] = {
    {"leadership", "leadership", "cannot be updated here; use SetLeadership"},
    {"members", "members", "cannot be updated here; use AddMember and RemoveMember"},
    {"terms_of_reference", "termsOfReference",
     "cannot be updated here; use ApproveTermsOfReference"},
    {"work_plan", "workPlan", "cannot be updated here; use AddWorkPlanItem and UpdateWorkPlanItem"},
    {"id", "id", "is output only"},
    {"create_time", "createTime", "is output only"},
    {"update_time", "updateTime", "is output only"},
    {"etag", "etag", "is output only"},
};

#define UPDATABLE "code, title, mandate, pillars, status, verified, source_note"

static int mask_path_bit(rpc_call *call, const char *path, unsigned *bits)
{
    for (size_t i = 0; i < sizeof mask_fields / sizeof mask_fields[0]; i++) {
        if (strcmp(path, mask_fields[i].snake) == 0 || strcmp(path, mask_fields[i].camel) == 0) {
            *bits |= mask_fields[i].bit;
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof other_fields / sizeof other_fields[0]; i++) {
        if (strcmp(path, other_fields[i].snake) == 0 ||
            strcmp(path, other_fields[i].camel) == 0) {
            rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                          "update_mask: \"%s\" %s (updatable: " UPDATABLE ")", path,
                          other_fields[i].use);
            return -1;
        }
    }
    rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                  "update_mask: unknown field \"%.100s\" (updatable: " UPDATABLE ")", path);
    return -1;
}

static int parse_update_mask(rpc_call *call, const Google__Protobuf__FieldMask *mask,
                             unsigned *bits)
{
    *bits = 0;
    if (mask == NULL || mask->n_paths == 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "update_mask: must name the fields to update (" UPDATABLE ")");
        return -1;
    }
    for (size_t i = 0; i < mask->n_paths; i++) {
        if (mask_path_bit(call, mask->paths[i], bits))
            return -1;
    }
    return 0;
}

void handle_update_working_group(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const UpdateWorkingGroupRequest *req = (const UpdateWorkingGroupRequest *)request;
    store *st = service_store(svc);
    txn_keys keys = {0};
    WorkingGroup *g = NULL;
    int64_t version;
    unsigned mask;
    int rc;

    if (validate_present(call, "group", req->group) ||
        validate_id(call, "group.id", req->group->id, GROUP_ID_PREFIX) ||
        parse_update_mask(call, req->update_mask, &mask) ||
        check_group(call, req->group, mask, 0) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS))
        return;
    if (txn_begin(call, st))
        return;
    /* A closed group may be updated: that is how it is reopened. */
    if (group_write_load(call, st, "group.id", req->group->id, req->etag, 1, &g, &version) ||
        ((mask & F_CODE) && check_code_free(call, st, req->group->code, g->id))) {
        store_rollback(st);
        group_store_free(g);
        return;
    }
    group_write_keys_add_id(&keys, g->id);
    group_write_keys_add_code(&keys, g->code);
    rc = apply_fields(g, req->group, mask);
    if (rc == 0)
        rc = group_store_update_fields(st, g);
    group_write_finish(call, svc, rc, g->id, version, "workgroup.updated", &keys, NULL);
    group_store_free(g);
}

/* ---- BatchGetWorkingGroups ------------------------------------------------ */

/* Reads every id in request order into resp; -1 once the call failed. */
static int batch_read(rpc_call *call, store *st, const BatchGetWorkingGroupsRequest *req,
                      BatchGetWorkingGroupsResponse *resp)
{
    for (size_t i = 0; i < req->n_ids; i++) {
        WorkingGroup *g;
        int rc = group_store_get(st, req->ids[i], &g, NULL);
        if (rc == 0) {
            resp->groups[resp->n_groups++] = g;
        } else if (rc == -ENOENT && req->allow_missing) {
            resp->missing_ids[resp->n_missing_ids++] = req->ids[i];
        } else if (rc == -ENOENT) {
            rpc_call_fail(call, RPC_NOT_FOUND, "ids[%zu]: no working group with id \"%s\"", i,
                          req->ids[i]);
            return -1;
        } else {
            status_fail_store(call, rc, "cannot read the groups");
            return -1;
        }
    }
    return 0;
}

void handle_batch_get_working_groups(rpc_call *call, const ProtobufCMessage *request,
                                     void *svc)
{
    const BatchGetWorkingGroupsRequest *req = (const BatchGetWorkingGroupsRequest *)request;
    BatchGetWorkingGroupsResponse resp =
        COMPACT__WORKGROUPS__V1__BATCH_GET_WORKING_GROUPS_RESPONSE__INIT;
    size_t room = req->n_ids ? req->n_ids : 1;

    if (validate_ids(call, "ids", req->ids, req->n_ids, BATCH_MAX, GROUP_ID_PREFIX))
        return;
    resp.groups = calloc(room, sizeof *resp.groups);
    resp.missing_ids = calloc(room, sizeof *resp.missing_ids);
    if (resp.groups == NULL || resp.missing_ids == NULL)
        status_fail_store(call, -ENOMEM, "cannot read the groups");
    else if (batch_read(call, service_store(svc), req, &resp) == 0)
        rpc_call_reply(call, &resp.base);
    /* missing_ids point into the request: only the array is ours. */
    group_store_free_list(resp.groups, resp.n_groups);
    free(resp.missing_ids);
}
