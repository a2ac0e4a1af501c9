/* plan.c: a working group's terms of reference and work plan:
 * ApproveTermsOfReference, ListTermsOfReference, AddWorkPlanItem and
 * UpdateWorkPlanItem (see handlers.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group_write.h"
#include "handlers.h"
#include "ids.h"
#include "page.h"
#include "pbstr.h"
#include "pbtime.h"
#include "plan_store.h"
#include "status.h"
#include "txn.h"
#include "validate.h"

typedef Compact__Workgroups__V1__ApproveTermsOfReferenceRequest ApproveTermsOfReferenceRequest;
typedef Compact__Workgroups__V1__ListTermsOfReferenceRequest ListTermsOfReferenceRequest;
typedef Compact__Workgroups__V1__ListTermsOfReferenceResponse ListTermsOfReferenceResponse;
typedef Compact__Workgroups__V1__AddWorkPlanItemRequest AddWorkPlanItemRequest;
typedef Compact__Workgroups__V1__UpdateWorkPlanItemRequest UpdateWorkPlanItemRequest;

#define NOT_STARTED COMPACT__WORKGROUPS__V1__WORK_ITEM_STATUS__WORK_ITEM_STATUS_NOT_STARTED

/* Limits, in characters. */
#define TOR_TEXT_MAX_CHARS 100000
#define ITEM_TITLE_MAX_CHARS 256
#define ITEM_DESCRIPTION_MAX_CHARS 10000
#define PROJECT_IDS_MAX 100
#define PROJECT_ID_MAX_CHARS 64
#define ETAG_MAX_CHARS 64

#define FIELD_SIZE 64

/* ---- ApproveTermsOfReference ------------------------------------------- */

static int check_tor(rpc_call *call, const TermsOfReference *t)
{
    if (validate_present(call, "terms_of_reference", t))
        return -1;
    if (t->text[0] == '\0') {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "terms_of_reference.text: must not be empty");
        return -1;
    }
    if (validate_text(call, "terms_of_reference.text", t->text, TOR_TEXT_MAX_CHARS) ||
        validate_date(call, "terms_of_reference.approved_on", t->approved_on))
        return -1;
    return 0;
}

/* Versions follow the Committee's decisions: a later version cannot have
 * been approved before the current one. Dates compare as text. */
static int check_tor_order(rpc_call *call, const WorkingGroup *g, const TermsOfReference *t)
{
    const TermsOfReference *cur = g->terms_of_reference;

    if (cur == NULL || strcmp(t->approved_on, cur->approved_on) >= 0)
        return 0;
    rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                  "terms_of_reference.approved_on: %s is before %s, when the current version "
                  "(%d) was approved",
                  t->approved_on, cur->approved_on, (int)cur->version);
    return -1;
}

static int same_as_current(const WorkingGroup *g, const TermsOfReference *t)
{
    const TermsOfReference *cur = g->terms_of_reference;

    return cur && strcmp(cur->text, t->text) == 0 && strcmp(cur->approved_on, t->approved_on) == 0;
}

void handle_approve_terms_of_reference(rpc_call *call, const ProtobufCMessage *request,
                                       void *svc)
{
    const ApproveTermsOfReferenceRequest *req = (const ApproveTermsOfReferenceRequest *)request;
    store *st = service_store(svc);
    txn_keys keys = {0};
    WorkingGroup *g = NULL;
    int64_t version;
    int32_t tor_version;
    int rc;

    if (validate_id(call, "group_id", req->group_id, GROUP_ID_PREFIX) ||
        check_tor(call, req->terms_of_reference) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS))
        return;
    if (txn_begin(call, st))
        return;
    if (group_write_load(call, st, "group_id", req->group_id, req->etag, 0, &g, &version) ||
        check_tor_order(call, g, req->terms_of_reference)) {
        store_rollback(st);
        group_store_free(g);
        return;
    }
    if (same_as_current(g, req->terms_of_reference)) {
        /* A retry, or a seed loaded twice: nothing new was approved. */
        store_rollback(st);
        rpc_call_reply(call, &g->base);
        group_store_free(g);
        return;
    }
    group_write_keys_add_id(&keys, g->id);
    rc = plan_store_add_tor(st, g->id, req->terms_of_reference->text,
                            req->terms_of_reference->approved_on, pbtime_now_ms(),
                            &tor_version);
    group_write_finish(call, svc, rc, g->id, version, "workgroup.tor_approved", &keys, NULL);
    group_store_free(g);
}

/* ---- ListTermsOfReference ------------------------------------------------ */

/* The group must exist: an empty list would hide a wrong id. */
static int check_group_exists(rpc_call *call, store *st, const char *id)
{
    WorkingGroup *g;
    int rc = group_store_get(st, id, &g, NULL);

    if (rc == 0) {
        group_store_free(g);
        return 0;
    }
    if (rc == -ENOENT)
        status_fail_not_found(call, "group_id", "working group", "id", id);
    else
        status_fail_store(call, rc, "cannot read the group");
    return -1;
}

void handle_list_terms_of_reference(rpc_call *call, const ProtobufCMessage *request,
                                    void *svc)
{
    const ListTermsOfReferenceRequest *req = (const ListTermsOfReferenceRequest *)request;
    ListTermsOfReferenceResponse resp =
        COMPACT__WORKGROUPS__V1__LIST_TERMS_OF_REFERENCE_RESPONSE__INIT;
    const char *filters[] = {"workgroups.terms_of_reference", req->group_id};
    char last[16], *next = NULL;
    TermsOfReference **v;
    size_t n;
    page_request pg;
    int rc;

    if (validate_id(call, "group_id", req->group_id, GROUP_ID_PREFIX) ||
        page_request_parse(call, filters, 2, req->page_size, req->page_token, &pg) ||
        check_group_exists(call, service_store(svc), req->group_id))
        return;
    /* The key is the last version returned; tokens are ours, so atoi is
     * safe (a forged token only picks where the listing starts). */
    rc = plan_store_list_tor(service_store(svc), req->group_id, (int32_t)atoi(pg.after),
                             page_request_limit(&pg), &v, &n);
    if (rc != 0) {
        status_fail_store(call, rc, "cannot list the terms of reference");
        return;
    }
    resp.terms_of_reference = v;
    resp.n_terms_of_reference = page_request_count(&pg, n);
    if (resp.n_terms_of_reference < n)
        snprintf(last, sizeof last, "%d", (int)v[resp.n_terms_of_reference - 1]->version);
    if (page_request_next(call, &pg, n, last, &next)) {
        plan_store_free_tor_list(v, n);
        return;
    }
    if (next)
        resp.next_page_token = next;
    rpc_call_reply(call, &resp.base);
    free(next);
    plan_store_free_tor_list(v, n);
}

/* ---- work plan items: validation ----------------------------------------- */

/* The fields an update may name, as bits. */
enum item_field {
    I_TITLE = 1 << 0,
    I_DESCRIPTION = 1 << 1,
    I_OWNER = 1 << 2,
    I_DUE_ON = 1 << 3,
    I_STATUS = 1 << 4,
    I_PROJECTS = 1 << 5,
    I_ALL = (1 << 6) - 1,
};

/* Project ids are another service's: only their shape is checked. */
static const char *project_id_problem(const char *s)
{
    if (s[0] == '\0')
        return "must not be empty";
    if (strlen(s) > PROJECT_ID_MAX_CHARS)
        return "is longer than 64 characters";
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return "not a project id (lower-case letters, digits, '_' and '-')";
    }
    return NULL;
}

static int check_project_ids(rpc_call *call, const WorkPlanItem *it)
{
    char field[FIELD_SIZE];
    const char *problem;

    if (validate_max_items(call, "item.project_ids", it->n_project_ids, PROJECT_IDS_MAX))
        return -1;
    for (size_t i = 0; i < it->n_project_ids; i++) {
        snprintf(field, sizeof field, "item.project_ids[%zu]", i);
        if ((problem = project_id_problem(it->project_ids[i])) != NULL) {
            rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: %s", field, problem);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(it->project_ids[j], it->project_ids[i]) == 0) {
                rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: repeats item.project_ids[%zu]",
                              field, j);
                return -1;
            }
        }
    }
    return 0;
}

/* Checks the fields of `it` named in `mask`. `add`: the status may be left
 * unspecified (it becomes NOT_STARTED). */
static int check_item(rpc_call *call, const WorkPlanItem *it, unsigned mask, int add)
{
    if ((mask & I_TITLE) &&
        validate_required_string(call, "item.title", it->title, ITEM_TITLE_MAX_CHARS))
        return -1;
    if ((mask & I_DESCRIPTION) &&
        validate_text(call, "item.description", it->description, ITEM_DESCRIPTION_MAX_CHARS))
        return -1;
    if ((mask & I_OWNER) &&
        validate_id(call, "item.owner_entity_id", it->owner_entity_id, ENTITY_CHECK_ID_PREFIX))
        return -1;
    if ((mask & I_DUE_ON) && it->due_on[0] && validate_date(call, "item.due_on", it->due_on))
        return -1;
    if ((mask & I_STATUS) &&
        validate_enum(call, "item.status", &compact__workgroups__v1__work_item_status__descriptor,
                      (int)it->status, !add))
        return -1;
    if ((mask & I_PROJECTS) && check_project_ids(call, it))
        return -1;
    return 0;
}

/* Copies the fields named in `mask` from `src` to `dst`. */
static int apply_item(WorkPlanItem *dst, const WorkPlanItem *src, unsigned mask)
{
    if (((mask & I_TITLE) && pbstr_set(&dst->title, src->title)) ||
        ((mask & I_DESCRIPTION) && pbstr_set(&dst->description, src->description)) ||
        ((mask & I_OWNER) &&
         pbstr_set(&dst->owner_entity_id, src->owner_entity_id)) ||
        ((mask & I_DUE_ON) && pbstr_set(&dst->due_on, src->due_on)))
        return -ENOMEM;
    if (mask & I_STATUS)
        dst->status = src->status;
    if (!(mask & I_PROJECTS))
        return 0;
    char **v = calloc(src->n_project_ids ? src->n_project_ids : 1, sizeof *v);
    size_t n = 0;
    while (v && n < src->n_project_ids && (v[n] = strdup(src->project_ids[n])) != NULL)
        n++;
    if (v == NULL || n < src->n_project_ids) {
        for (size_t i = 0; v && i < n; i++)
            free(v[i]);
        free(v);
        return -ENOMEM;
    }
    for (size_t i = 0; i < dst->n_project_ids; i++)
        free(dst->project_ids[i]);
    free(dst->project_ids);
    dst->project_ids = v;
    dst->n_project_ids = n;
    return 0;
}

/* ---- AddWorkPlanItem ------------------------------------------------------- */

static int new_item(const WorkPlanItem *src, WorkPlanItem **out)
{
    WorkPlanItem *it = malloc(sizeof *it);
    char id[GROUP_ID_SIZE];
    int64_t now = pbtime_now_ms();
    int rc;

    *out = NULL;
    if (it == NULL)
        return -ENOMEM;
    compact__workgroups__v1__work_plan_item__init(it);
    if ((rc = ids_new(GROUP_ITEM_ID_PREFIX, id, sizeof id)) != 0 ||
        (rc = pbstr_set(&it->id, id)) != 0 ||
        (rc = pbtime_set(&it->create_time, now)) != 0 ||
        (rc = pbtime_set(&it->update_time, now)) != 0 ||
        (rc = apply_item(it, src, I_ALL)) != 0) {
        protobuf_c_message_free_unpacked(&it->base, NULL);
        return rc;
    }
    if (it->status == 0)
        it->status = NOT_STARTED;
    *out = it;
    return 0;
}

static void write_new_item(rpc_call *call, service *svc, const void *request)
{
    const AddWorkPlanItemRequest *req = request;
    store *st = service_store(svc);
    txn_keys keys = {0};
    WorkingGroup *g;
    WorkPlanItem *it;
    int64_t version;
    int rc;

    if ((rc = new_item(req->item, &it)) != 0) {
        status_fail_store(call, rc, "cannot build the item");
        return;
    }
    if (txn_begin(call, st)) {
        protobuf_c_message_free_unpacked(&it->base, NULL);
        return;
    }
    if (group_write_load(call, st, "group_id", req->group_id, req->etag, 0, &g, &version)) {
        store_rollback(st);
        protobuf_c_message_free_unpacked(&it->base, NULL);
        return;
    }
    group_write_keys_add_id(&keys, g->id);
    rc = plan_store_insert_item(st, g->id, it);
    group_write_finish(call, svc, rc, g->id, version, "workgroup.work_item_added", &keys,
                       it->id);
    group_store_free(g);
    protobuf_c_message_free_unpacked(&it->base, NULL);
}

void handle_add_work_plan_item(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const AddWorkPlanItemRequest *req = (const AddWorkPlanItemRequest *)request;
    WorkingGroup *g;

    if (validate_id(call, "group_id", req->group_id, GROUP_ID_PREFIX) ||
        validate_present(call, "item", req->item) || check_item(call, req->item, I_ALL, 1) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS))
        return;
    if (group_write_load(call, service_store(svc), "group_id", req->group_id, req->etag, 0, &g,
                         NULL))
        return;
    group_store_free(g);
    entity_check_ref ref = {"item.owner_entity_id", req->item->owner_entity_id};
    group_write_after_check(call, svc, &ref, 1, write_new_item, req);
}

/* ---- UpdateWorkPlanItem ---------------------------------------------------- */

static const struct {
    const char *snake, *camel;
    unsigned bit;
} item_mask_fields[] = {
    {"title", "title", I_TITLE},
    {"description", "description", I_DESCRIPTION},
    {"owner_entity_id", "ownerEntityId", I_OWNER},
    {"due_on", "dueOn", I_DUE_ON},
    {"status", "status", I_STATUS},
    {"project_ids", "projectIds", I_PROJECTS},
    {"*", "*", I_ALL},
};

#define ITEM_UPDATABLE "title, description, owner_entity_id, due_on, status, project_ids"

/* The bits of the mask's paths; -1 with *bad naming the first path that is
 * not updatable. */
static int item_mask_bits(const Google__Protobuf__FieldMask *mask, unsigned *bits,
                          const char **bad)
{
    size_t n = sizeof item_mask_fields / sizeof item_mask_fields[0];

    *bits = 0;
    for (size_t i = 0; i < mask->n_paths; i++) {
        size_t j = 0;
        while (j < n && strcmp(mask->paths[i], item_mask_fields[j].snake) != 0 &&
               strcmp(mask->paths[i], item_mask_fields[j].camel) != 0)
            j++;
        if (j == n) {
            *bad = mask->paths[i];
            return -1;
        }
        *bits |= item_mask_fields[j].bit;
    }
    return 0;
}

static int parse_item_mask(rpc_call *call, const Google__Protobuf__FieldMask *mask,
                           unsigned *bits)
{
    const char *bad;

    if (mask == NULL || mask->n_paths == 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "update_mask: must name the fields to update (" ITEM_UPDATABLE ")");
        return -1;
    }
    if (item_mask_bits(mask, bits, &bad) == 0)
        return 0;
    rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                  "update_mask: \"%.100s\" cannot be updated (updatable: " ITEM_UPDATABLE ")",
                  bad);
    return -1;
}

/* Loads item `item_id` of the open group `group_id` and checks its etag.
 * 0 and *it, *version; or -1 after failing the call. */
static int load_item(rpc_call *call, store *st, const UpdateWorkPlanItemRequest *req,
                     WorkPlanItem **it, int64_t *version)
{
    char what[GROUP_ID_SIZE + 16];
    int rc = plan_store_get_item(st, req->group_id, req->item->id, it, version);

    if (rc == -ENOENT) {
        rpc_call_fail(call, RPC_NOT_FOUND,
                      "item.id: no work plan item \"%s\" in working group %s", req->item->id,
                      req->group_id);
        return -1;
    }
    if (rc != 0) {
        status_fail_store(call, rc, "cannot read the item");
        return -1;
    }
    snprintf(what, sizeof what, "item %s", (*it)->id);
    if (group_write_check_etag(call, req->etag, (*it)->etag, what) == 0)
        return 0;
    protobuf_c_message_free_unpacked(&(*it)->base, NULL);
    *it = NULL;
    return -1;
}

static void write_item_update(rpc_call *call, service *svc, const void *request)
{
    const UpdateWorkPlanItemRequest *req = request;
    store *st = service_store(svc);
    txn_keys keys = {0};
    WorkingGroup *g = NULL;
    WorkPlanItem *it = NULL;
    int64_t version, item_version;
    int rc;

    if (txn_begin(call, st))
        return;
    if (group_write_load(call, st, "group_id", req->group_id, "", 0, &g, &version) ||
        load_item(call, st, req, &it, &item_version)) {
        store_rollback(st);
        group_store_free(g);
        return;
    }
    group_write_keys_add_id(&keys, g->id);
    /* The handler parsed the mask already: it cannot fail here. */
    const char *bad;
    unsigned mask;
    rc = item_mask_bits(req->update_mask, &mask, &bad) ? -EINVAL : 0;
    if (rc == 0)
        rc = apply_item(it, req->item, mask);
    if (rc == 0)
        rc = pbtime_set(&it->update_time, pbtime_now_ms());
    if (rc == 0)
        rc = plan_store_update_item(st, it, item_version);
    group_write_finish(call, svc, rc, g->id, version, "workgroup.work_item_updated", &keys,
                       it->id);
    group_store_free(g);
    protobuf_c_message_free_unpacked(&it->base, NULL);
}

void handle_update_work_plan_item(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const UpdateWorkPlanItemRequest *req = (const UpdateWorkPlanItemRequest *)request;
    store *st = service_store(svc);
    WorkingGroup *g;
    WorkPlanItem *it;
    int64_t version;
    unsigned mask;

    if (validate_id(call, "group_id", req->group_id, GROUP_ID_PREFIX) ||
        validate_present(call, "item", req->item) ||
        validate_id(call, "item.id", req->item->id, GROUP_ITEM_ID_PREFIX) ||
        parse_item_mask(call, req->update_mask, &mask) || check_item(call, req->item, mask, 0) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS))
        return;
    /* Before asking membership: the group is open, the item is there. */
    if (group_write_load(call, st, "group_id", req->group_id, "", 0, &g, NULL))
        return;
    group_store_free(g);
    if (load_item(call, st, req, &it, &version))
        return;
    /* Only a new owner is checked: an item whose owner has since withdrawn
     * must still be updatable (to mark it blocked, say). */
    int new_owner = (mask & I_OWNER) && strcmp(it->owner_entity_id, req->item->owner_entity_id);
    protobuf_c_message_free_unpacked(&it->base, NULL);
    entity_check_ref ref = {"item.owner_entity_id", req->item->owner_entity_id};
    group_write_after_check(call, svc, &ref, new_owner ? 1 : 0, write_item_update, req);
}
