/* plan.c: a working group's terms of reference and work plan:
 * ApproveTermsOfReference, ListTermsOfReference, AddWorkPlanItem,
 * UpdateWorkPlanItem and ApproveWorkPlan (see handlers.h).
 *
 * The Coordination Committee's decisions: terms of reference and approved
 * work plans may carry the decision effect that approved them
 * (decision_ref), the owning service's idempotency key, kept for good. An
 * approval whose decision_ref the group already records is answered before
 * anything else is checked (the group may have moved on, been closed, or
 * have a new etag since): the same content again returns the group as it is,
 * with no new version and no event; other content is refused with
 * ALREADY_EXISTS naming the decision_ref, as a request id used for another
 * request is (AIP-155): a decision's effect is recorded once and never
 * changed, and a client that sends something else under it has a bug worth
 * hearing about.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmask.h"
#include "group.h"
#include "handlers.h"
#include "ids.h"
#include "page.h"
#include "etag.h"
#include "pbmsg.h"
#include "pbstr.h"
#include "pbtime.h"
#include "peers.h"
#include "plan_store.h"
#include "rules.h"
#include "status.h"
#include "validate.h"

typedef Compact__Workgroups__V1__ApproveTermsOfReferenceRequest ApproveTermsOfReferenceRequest;
typedef Compact__Workgroups__V1__ListTermsOfReferenceRequest ListTermsOfReferenceRequest;
typedef Compact__Workgroups__V1__ListTermsOfReferenceResponse ListTermsOfReferenceResponse;
typedef Compact__Workgroups__V1__AddWorkPlanItemRequest AddWorkPlanItemRequest;
typedef Compact__Workgroups__V1__UpdateWorkPlanItemRequest UpdateWorkPlanItemRequest;
typedef Compact__Workgroups__V1__ApproveWorkPlanRequest ApproveWorkPlanRequest;

#define NOT_STARTED COMPACT__WORKGROUPS__V1__WORK_ITEM_STATUS__WORK_ITEM_STATUS_NOT_STARTED

/* Limits, in characters. */
#define TOR_TEXT_MAX_CHARS 100000
#define ITEM_TITLE_MAX_CHARS 256
#define ITEM_DESCRIPTION_MAX_CHARS 10000
#define PROJECT_IDS_MAX 100
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
        validate_date(call, "terms_of_reference.approved_on", t->approved_on) ||
        validate_decision_ref(call, "terms_of_reference.decision_ref", t->decision_ref))
        return -1;
    return 0;
}

/* The decision of `t` is recorded on the group already (where `d` says):
 * the group as it is if that version says what `t` says, else
 * ALREADY_EXISTS. */
static void tor_decided(aggregate_write *w, const TermsOfReference *t, const group_decision *d)
{
    TermsOfReference *held = NULL;
    int same = 0, rc;

    if (d->tor_version) {
        rc = plan_store_get_tor(service_store(w->svc), ((WorkingGroup *)w->state)->id,
                                d->tor_version, &held);
        if (rc != 0) {
            status_fail_store(w->call, rc, "cannot read the terms of reference");
            aggregate_abort(w);
            return;
        }
        same = rules_tor_same(held, t);
        pbmsg_free(&held->base);
    }
    if (same)
        aggregate_reply_stored(w, "group_id", ((WorkingGroup *)w->state)->id);
    else
        group_fail_decision_taken(w, "terms_of_reference.decision_ref", t->decision_ref, d);
}

/* FAILED_PRECONDITION if `t` would come before the current version. */
static int check_tor_order(rpc_call *call, const WorkingGroup *g, const TermsOfReference *t)
{
    const TermsOfReference *cur = g->terms_of_reference;
    const char *problem = rules_tor_order_problem(cur, t);

    if (problem == NULL)
        return 0;
    rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                  "terms_of_reference.approved_on: %s is before %s, when the current version "
                  "(%d) was approved",
                  t->approved_on, cur->approved_on, (int)cur->version);
    return -1;
}

void handle_approve_terms_of_reference(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const ApproveTermsOfReferenceRequest *req = (const ApproveTermsOfReferenceRequest *)request;
    const TermsOfReference *t = req->terms_of_reference;
    aggregate_write w;
    group_decision d;
    WorkingGroup *g;
    int32_t tor_version;

    if (validate_id(call, "group_id", req->group_id, IDS_GROUP) || check_tor(call, t) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS) ||
        aggregate_begin(&w, call, svc, &group_aggregate, "group_id", req->group_id, "") ||
        group_find_decision(&w, t->decision_ref, &d))
        return;
    if (d.tor_version || d.plan_version || d.established) {
        tor_decided(&w, t, &d);
        return;
    }
    if (group_continue(&w, "group_id", req->etag))
        return;
    g = (WorkingGroup *)w.state;
    if (check_tor_order(call, g, t)) {
        aggregate_abort(&w);
        return;
    }
    if (rules_tor_repeats(g->terms_of_reference, t)) {
        /* A retry, or a seed loaded twice: nothing new was approved. */
        aggregate_reply_stored(&w, "group_id", ((WorkingGroup *)w.state)->id);
        return;
    }
    aggregate_commit(&w, plan_store_add_tor(service_store(svc), g->id, t, w.now_ms, &tor_version),
                     "workgroup.tor_approved", NULL);
}

/* ---- ListTermsOfReference ------------------------------------------------ */

/* The group must exist: an empty list would hide a wrong id. */
static int check_group_exists(rpc_call *call, service *svc, const char *id)
{
    ProtobufCMessage *g;

    if (aggregate_peek(call, svc, &group_aggregate, "group_id", id, "", &g))
        return -1;
    pbmsg_free(g);
    return 0;
}

/* page_key_fn: versions are listed in order; the key is the number. */
static void version_page_key(const ProtobufCMessage *item, char *buf, size_t size)
{
    snprintf(buf, size, "%d", (int)((const TermsOfReference *)item)->version);
}

void handle_list_terms_of_reference(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const ListTermsOfReferenceRequest *req = (const ListTermsOfReferenceRequest *)request;
    ListTermsOfReferenceResponse resp =
        COMPACT__WORKGROUPS__V1__LIST_TERMS_OF_REFERENCE_RESPONSE__INIT;
    const char *filters[] = {"workgroups.terms_of_reference", req->group_id};
    TermsOfReference **v = NULL;
    size_t n = 0;
    page_request pg;
    int rc;

    if (validate_id(call, "group_id", req->group_id, IDS_GROUP) ||
        page_request_parse(call, filters, 2, req->page_size, req->page_token, &pg) ||
        check_group_exists(call, svc, req->group_id))
        return;
    /* The key is the last version returned; tokens are ours, so atoi is
     * safe (a forged token only picks where the listing starts). */
    rc = plan_store_list_tor(service_store(svc), req->group_id, (int32_t)atoi(pg.after),
                             page_request_limit(&pg), &v, &n);
    page_reply(call, &pg, rc, "cannot list the terms of reference", &resp.base,
               (ProtobufCMessage **)v, n, version_page_key);
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

static int check_project_ids(rpc_call *call, const WorkPlanItem *it)
{
    char field[FIELD_SIZE];

    if (validate_max_items(call, "item.project_ids", it->n_project_ids, PROJECT_IDS_MAX))
        return -1;
    for (size_t i = 0; i < it->n_project_ids; i++) {
        snprintf(field, sizeof field, "item.project_ids[%zu]", i);
        if (validate_problem(call, field, rules_project_id_problem(it->project_ids[i])))
            return -1;
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
        validate_id(call, "item.owner_entity_id", it->owner_entity_id, IDS_ENTITY))
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

/* The input fields of an item, and what an update mask may name. */
static const fieldmask_field item_fields[] = {
    {"title", I_TITLE, NULL},
    {"description", I_DESCRIPTION, NULL},
    {"owner_entity_id", I_OWNER, NULL},
    {"due_on", I_DUE_ON, NULL},
    {"status", I_STATUS, NULL},
    {"project_ids", I_PROJECTS, NULL},
    {"id", 0, "is output only"},
    {"create_time", 0, "is output only"},
    {"update_time", 0, "is output only"},
    {"etag", 0, "is output only"},
    {NULL, 0, NULL},
};

/* ---- AddWorkPlanItem ------------------------------------------------------- */

/* A new item with a fresh id and the input fields of `src`. */
static WorkPlanItem *new_item(const WorkPlanItem *src, int64_t now_ms)
{
    WorkPlanItem *it = (WorkPlanItem *)aggregate_new(&src->base, item_fields, I_ALL);
    char id[IDS_SIZE];

    if (it == NULL || ids_new(IDS_PLAN_ITEM, id, sizeof id) != 0 || pbstr_set(&it->id, id) ||
        pbtime_set(&it->create_time, now_ms) || pbtime_set(&it->update_time, now_ms)) {
        pbmsg_free(it ? &it->base : NULL);
        return NULL;
    }
    if (it->status == 0)
        it->status = NOT_STARTED;
    return it;
}

/* Commits the work plan change `rc` and replies with item `item_id` as
 * stored. */
static void commit_item(aggregate_write *w, int rc, const char *item_id, const char *event)
{
    const WorkPlanItem *stored = NULL;

    rc = aggregate_refresh(w, rc);
    if (rc == 0 && (stored = group_find_item((WorkingGroup *)w->state, item_id)) == NULL)
        rc = -EIO; /* cannot be: it was written in this transaction */
    aggregate_commit(w, rc, event, stored ? &stored->base : NULL);
}

/* peer_check_done_fn: the owner is active; add the item. */
static void write_new_item(rpc_call *call, service *svc, void *arg, int ok)
{
    const AddWorkPlanItemRequest *req = arg;
    aggregate_write w;
    WorkPlanItem *it;

    if (!ok || group_begin(&w, call, svc, "group_id", req->group_id, req->etag))
        return;
    if (((WorkingGroup *)w.state)->n_work_plan >= RULES_PLAN_ITEMS_MAX) {
        aggregate_fail(&w, RPC_FAILED_PRECONDITION,
                       "group_id: working group %s has %d work plan items, the most one plan may "
                       "hold; close or update items instead",
                       req->group_id, RULES_PLAN_ITEMS_MAX);
        return;
    }
    if ((it = new_item(req->item, w.now_ms)) == NULL) {
        aggregate_fail(&w, RPC_INTERNAL, "store: cannot build the item (out of memory)");
        return;
    }
    commit_item(&w, plan_store_insert_item(service_store(svc), req->group_id, it), it->id,
                "workgroup.work_item_added");
    pbmsg_free(&it->base);
}

void handle_add_work_plan_item(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const AddWorkPlanItemRequest *req = (const AddWorkPlanItemRequest *)request;
    peer_check *c;

    if (aggregate_replay(call, svc) || validate_id(call, "group_id", req->group_id, IDS_GROUP) ||
        validate_present(call, "item", req->item) || check_item(call, req->item, I_ALL, 1) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS) ||
        group_check_open(call, svc, "group_id", req->group_id, req->etag, NULL))
        return;
    c = peer_check_new();
    peer_check_add(c, &peer_entities, req->item->owner_entity_id, "item.owner_entity_id");
    peer_check_run(c, call, svc, write_new_item, (void *)req);
}

/* ---- UpdateWorkPlanItem ---------------------------------------------------- */

/* Loads item req->item->id of group req->group_id and checks its etag.
 * 0 and *it, *version; or -1 after failing the call. */
static int load_item(rpc_call *call, store *st, const UpdateWorkPlanItemRequest *req,
                     WorkPlanItem **it, int64_t *version)
{
    int rc = plan_store_get_item(st, req->group_id, req->item->id, it, version);

    if (rc == -ENOENT) {
        rpc_call_fail(call, RPC_NOT_FOUND, "item.id: no work plan item \"%s\" in working group %s",
                      req->item->id, req->group_id);
        return -1;
    }
    if (rc != 0) {
        status_fail_store(call, rc, "cannot read the item");
        return -1;
    }
    if (etag_matches(req->etag, (*it)->etag))
        return 0;
    rpc_call_fail(call, RPC_ABORTED,
                  "etag: %s is not the current etag of item %s: it changed; read it again",
                  req->etag, (*it)->id);
    pbmsg_free(&(*it)->base);
    *it = NULL;
    return -1;
}

/* The update, as the handler read it, for its continuation. */
typedef struct item_update {
    const UpdateWorkPlanItemRequest *req;
    unsigned mask;
} item_update;

/* peer_check_done_fn: a new owner (if any) is active; update the item. */
static void write_item_update(rpc_call *call, service *svc, void *arg, int ok)
{
    item_update *u = arg;
    const UpdateWorkPlanItemRequest *req = u->req;
    store *st = service_store(svc);
    aggregate_write w;
    WorkPlanItem *it;
    int64_t item_version;
    int rc;

    if (!ok || group_begin(&w, call, svc, "group_id", req->group_id, "")) {
        free(u);
        return;
    }
    if (load_item(call, st, req, &it, &item_version)) {
        aggregate_abort(&w);
        free(u);
        return;
    }
    rc = aggregate_apply(&it->base, &req->item->base, item_fields, u->mask);
    if (rc == 0)
        rc = pbtime_set(&it->update_time, w.now_ms);
    if (rc == 0)
        rc = plan_store_update_item(st, it, item_version);
    commit_item(&w, rc, it->id, "workgroup.work_item_updated");
    pbmsg_free(&it->base);
    free(u);
}

void handle_update_work_plan_item(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const UpdateWorkPlanItemRequest *req = (const UpdateWorkPlanItemRequest *)request;
    WorkPlanItem *it;
    int64_t version;
    item_update *u;
    peer_check *c;
    unsigned mask;

    if (validate_id(call, "group_id", req->group_id, IDS_GROUP) ||
        validate_present(call, "item", req->item) ||
        validate_id(call, "item.id", req->item->id, IDS_PLAN_ITEM) ||
        fieldmask_parse(call, req->update_mask, item_fields, &mask) ||
        check_item(call, req->item, mask, 0) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS) ||
        /* Before asking membership: the group is open, the item is there. */
        group_check_open(call, svc, "group_id", req->group_id, "", NULL) ||
        load_item(call, service_store(svc), req, &it, &version))
        return;
    if ((u = malloc(sizeof *u)) == NULL) {
        pbmsg_free(&it->base);
        status_fail_store(call, -ENOMEM, "cannot update the item");
        return;
    }
    *u = (item_update){.req = req, .mask = mask};
    c = peer_check_new();
    /* Only a new owner is checked: an item whose owner has since withdrawn
     * must still be updatable (to mark it blocked, say). */
    if ((mask & I_OWNER) && strcmp(it->owner_entity_id, req->item->owner_entity_id) != 0)
        peer_check_add(c, &peer_entities, req->item->owner_entity_id, "item.owner_entity_id");
    pbmsg_free(&it->base);
    peer_check_run(c, call, svc, write_item_update, u);
}

/* ---- ApproveWorkPlan -------------------------------------------------------- */

/* The plan by itself (the items of the group are checked in the write). */
static int check_plan(rpc_call *call, const ApprovedWorkPlan *p)
{
    char field[FIELD_SIZE];
    const char *problem;
    size_t at, first;

    if (validate_present(call, "plan", p) ||
        validate_date(call, "plan.period_start", p->period_start) ||
        validate_date(call, "plan.period_end", p->period_end) ||
        validate_problem(call, "plan.period_end",
                         rules_plan_period_problem(p->period_start, p->period_end)) ||
        validate_date(call, "plan.approved_on", p->approved_on) ||
        validate_decision_ref(call, "plan.decision_ref", p->decision_ref) ||
        validate_max_items(call, "plan.item_ids", p->n_item_ids, RULES_PLAN_ITEMS_MAX))
        return -1;
    for (size_t i = 0; i < p->n_item_ids; i++) {
        snprintf(field, sizeof field, "plan.item_ids[%zu]", i);
        if (validate_id(call, field, p->item_ids[i], IDS_PLAN_ITEM))
            return -1;
    }
    if ((problem = rules_plan_items_problem(p, NULL, &at, &first)) == NULL)
        return 0;
    if (p->n_item_ids == 0)
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "plan.item_ids: %s", problem);
    else
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "plan.item_ids[%zu]: repeats plan.item_ids[%zu]",
                      at, first);
    return -1;
}

/* The decision of `p` is recorded on the group already (see tor_decided). */
static void plan_decided(aggregate_write *w, const ApprovedWorkPlan *p, const group_decision *d)
{
    const ApprovedWorkPlan *held =
        d->plan_version ? rules_find_plan((WorkingGroup *)w->state, d->plan_version) : NULL;

    if (held && rules_plan_same(held, p))
        aggregate_reply_stored(w, "group_id", ((WorkingGroup *)w->state)->id);
    else
        group_fail_decision_taken(w, "plan.decision_ref", p->decision_ref, d);
}

/* The rules between the plan and the group: its items, the order of
 * approvals, the most versions. 0, or -1 after ending the write. */
static int check_plan_of_group(aggregate_write *w, const ApprovedWorkPlan *p)
{
    const WorkingGroup *g = (const WorkingGroup *)w->state;
    const ApprovedWorkPlan *last;
    size_t at, first;

    if (rules_plan_items_problem(p, g, &at, &first) != NULL) {
        aggregate_fail(w, RPC_INVALID_ARGUMENT,
                       "plan.item_ids[%zu]: \"%s\" is not an item of the work plan of working "
                       "group %s (%s)",
                       at, p->item_ids[at], g->id, g->code);
        return -1;
    }
    if (rules_plan_order_problem(g, p) != NULL) {
        last = g->approved_work_plans[g->n_approved_work_plans - 1];
        aggregate_fail(w, RPC_FAILED_PRECONDITION,
                       "plan.approved_on: %s is before %s, when the latest approved work plan "
                       "(%d) was approved",
                       p->approved_on, last->approved_on, (int)last->version);
        return -1;
    }
    if (g->n_approved_work_plans >= RULES_APPROVED_PLANS_MAX) {
        aggregate_fail(w, RPC_FAILED_PRECONDITION,
                       "group_id: working group %s has %d approved work plans, the most one group "
                       "may hold",
                       g->id, RULES_APPROVED_PLANS_MAX);
        return -1;
    }
    return 0;
}

void handle_approve_work_plan(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const ApproveWorkPlanRequest *req = (const ApproveWorkPlanRequest *)request;
    const ApprovedWorkPlan *p = req->plan;
    aggregate_write w;
    group_decision d;
    int32_t version;

    if (validate_id(call, "group_id", req->group_id, IDS_GROUP) || check_plan(call, p) ||
        validate_max_length(call, "etag", req->etag, ETAG_MAX_CHARS) ||
        aggregate_begin(&w, call, svc, &group_aggregate, "group_id", req->group_id, "") ||
        group_find_decision(&w, p->decision_ref, &d))
        return;
    if (d.tor_version || d.plan_version || d.established) {
        plan_decided(&w, p, &d);
        return;
    }
    if (group_continue(&w, "group_id", req->etag) || check_plan_of_group(&w, p))
        return;
    aggregate_commit(
        &w, plan_store_add_approved_plan(service_store(svc), req->group_id, p, w.now_ms, &version),
        "workgroup.work_plan_approved", NULL);
}
