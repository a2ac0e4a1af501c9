/* decisions.c: the Committee's decisions, checked and recorded with their
 * effects pending; effects.c carries the effects out.
 *
 * A decision is taken at a meeting (not cancelled) and dated by it. Each of
 * its actions becomes one effect in the service that owns the data. An
 * allocation of catalytic funding is checked against the envelope and
 * marks its proposals approved in the same transaction as the decision, so
 * two decisions can never both spend the same remainder.
 */
#include "committee.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "page.h"
#include "pbmsg.h"
#include "pbstr.h"
#include "peers.h"
#include "status.h"
#include "validate.h"

typedef Compact__Committee__V1__Decision Decision;
typedef Compact__Committee__V1__Action Action;
typedef Compact__Committee__V1__Effect Effect;
typedef Compact__Committee__V1__Meeting Meeting;
typedef Compact__Committee__V1__Proposal Proposal;
typedef Compact__Committee__V1__Envelope Envelope;

#define TYPE(x) COMPACT__COMMITTEE__V1__DECISION_TYPE__DECISION_TYPE_##x
#define ACTION(x) COMPACT__COMMITTEE__V1__ACTION__ACTION_##x
#define EFFECT_PENDING COMPACT__COMMITTEE__V1__EFFECT_STATUS__EFFECT_STATUS_PENDING
#define EFFECT_FAILED COMPACT__COMMITTEE__V1__EFFECT_STATUS__EFFECT_STATUS_FAILED
#define PROPOSED COMPACT__COMMITTEE__V1__PROPOSAL_STATUS__PROPOSAL_STATUS_PROPOSED
#define APPROVED COMPACT__COMMITTEE__V1__PROPOSAL_STATUS__PROPOSAL_STATUS_APPROVED
#define FIELD_SIZE 160
#define CODE_MAX 16

enum decision_field {
    D_MEETING = 1 << 0,
    D_TYPE = 1 << 1,
    D_TITLE = 1 << 2,
    D_TEXT = 1 << 3,
    D_ACTIONS = 1 << 4,
    D_VERIFIED = 1 << 5,
    D_SOURCE_NOTE = 1 << 6,
    D_ALL = (1 << 7) - 1,
};

static const fieldmask_field decision_fields[] = {
    {"meeting_id", D_MEETING, NULL},
    {"type", D_TYPE, NULL},
    {"title", D_TITLE, NULL},
    {"text", D_TEXT, NULL},
    {"actions", D_ACTIONS, NULL},
    {"verified", D_VERIFIED, NULL},
    {"source_note", D_SOURCE_NOTE, NULL},
    {NULL, 0, NULL},
};

static int load_decision(void *st, const char *id, ProtobufCMessage **out, int64_t *version)
{
    return docstore_load(st, &committee_decisions, id, out, version);
}

const aggregate_def committee_decision_aggregate = {
    .service = "committee",
    .type = "decision",
    .noun = "decision",
    .descriptor = &compact__committee__v1__decision__descriptor,
    .id_prefix = IDS_DECISION,
    .keys = {{.field = "id", .label = "id", .cache_kind = "decision", .load = load_decision}},
};

/* ---- checking the actions ------------------------------------------------------------ */

/* The action case a decision of `type` has; 0 for OTHER (none). */
static int action_case_of(int type)
{
    switch (type) {
    case TYPE(APPROVE_TERMS_OF_REFERENCE):
        return ACTION(APPROVE_TERMS_OF_REFERENCE);
    case TYPE(APPROVE_WORK_PLAN):
        return ACTION(APPROVE_WORK_PLAN);
    case TYPE(ALLOCATE_CATALYTIC_FUNDING):
        return ACTION(ALLOCATE_CATALYTIC_FUNDING);
    case TYPE(ADMIT_ENTITY):
        return ACTION(ADMIT_ENTITY);
    case TYPE(ESTABLISH_WORKING_GROUP):
        return ACTION(ESTABLISH_WORKING_GROUP);
    case TYPE(CLOSE_WORKING_GROUP):
        return ACTION(CLOSE_WORKING_GROUP);
    default:
        return 0;
    }
}

static int check_work_plan(rpc_call *call, const char *f,
                           const Compact__Committee__V1__ApproveWorkPlan *p)
{
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "%.64s.working_group_id", f);
    if (validate_id(call, field, p->working_group_id, IDS_GROUP))
        return -1;
    snprintf(field, sizeof field, "%.64s.period_start", f);
    if (validate_date(call, field, p->period_start))
        return -1;
    snprintf(field, sizeof field, "%.64s.period_end", f);
    if (validate_date(call, field, p->period_end))
        return -1;
    if (strcmp(p->period_end, p->period_start) <= 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: %s is not after period_start %s", field,
                      p->period_end, p->period_start);
        return -1;
    }
    snprintf(field, sizeof field, "%.64s.item_ids", f);
    if (p->n_item_ids == 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: name at least one work plan item", field);
        return -1;
    }
    return validate_ids(call, field, p->item_ids, p->n_item_ids, COMMITTEE_ITEMS_MAX,
                        IDS_PLAN_ITEM);
}

static int check_establish(rpc_call *call, const char *f,
                           const Compact__Committee__V1__EstablishWorkingGroup *e)
{
    char field[FIELD_SIZE];

    snprintf(field, sizeof field, "%.64s.code", f);
    if (validate_required_string(call, field, e->code, CODE_MAX))
        return -1;
    snprintf(field, sizeof field, "%.64s.title", f);
    if (validate_required_string(call, field, e->title, COMMITTEE_TITLE_MAX))
        return -1;
    snprintf(field, sizeof field, "%.64s.mandate", f);
    if (validate_text(call, field, e->mandate, COMMITTEE_TEXT_MAX))
        return -1;
    snprintf(field, sizeof field, "%.64s.pillars", f);
    if (e->n_pillars == 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: name at least one Strategy pillar", field);
        return -1;
    }
    for (size_t i = 0; i < e->n_pillars; i++) {
        snprintf(field, sizeof field, "%.64s.pillars[%zu]", f, i);
        if (validate_enum(call, field, &compact__workgroups__v1__strategy_pillar__descriptor,
                          (int)e->pillars[i], 1))
            return -1;
    }
    return 0;
}

static int check_action(rpc_call *call, const Action *a, size_t i, int want)
{
    char f[FIELD_SIZE], field[FIELD_SIZE];

    snprintf(f, sizeof f, "decision.actions[%zu]", i);
    if ((int)a->action_case != want) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "%s: an action of another type than the decision's", f);
        return -1;
    }
    switch (a->action_case) {
    case ACTION(APPROVE_TERMS_OF_REFERENCE):
        snprintf(field, sizeof field, "%.64s.approve_terms_of_reference.working_group_id", f);
        if (validate_id(call, field, a->approve_terms_of_reference->working_group_id, IDS_GROUP))
            return -1;
        snprintf(field, sizeof field, "%.64s.approve_terms_of_reference.text", f);
        return validate_required_string(call, field, a->approve_terms_of_reference->text,
                                        COMMITTEE_TOR_TEXT_MAX);
    case ACTION(APPROVE_WORK_PLAN):
        snprintf(field, sizeof field, "%.64s.approve_work_plan", f);
        return check_work_plan(call, field, a->approve_work_plan);
    case ACTION(ALLOCATE_CATALYTIC_FUNDING):
        snprintf(field, sizeof field, "%.64s.allocate_catalytic_funding.proposal_id", f);
        return validate_id(call, field, a->allocate_catalytic_funding->proposal_id, IDS_PROPOSAL);
    case ACTION(ESTABLISH_WORKING_GROUP):
        snprintf(field, sizeof field, "%.64s.establish_working_group", f);
        return check_establish(call, field, a->establish_working_group);
    case ACTION(CLOSE_WORKING_GROUP):
        snprintf(field, sizeof field, "%.64s.close_working_group.working_group_id", f);
        return validate_id(call, field, a->close_working_group->working_group_id, IDS_GROUP);
    case ACTION(ADMIT_ENTITY):
        snprintf(field, sizeof field, "%.64s.admit_entity.entity_id", f);
        if (validate_id(call, field, a->admit_entity->entity_id, IDS_ENTITY))
            return -1;
        snprintf(field, sizeof field, "%.64s.admit_entity.role", f);
        return validate_enum(call, field, &compact__committee__v1__admission_role__descriptor,
                             (int)a->admit_entity->role, 1);
    default: /* nothing else exists */
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s: an action of no known type", f);
        return -1;
    }
}

static int check_decision(rpc_call *call, const Decision *d)
{
    int want;

    if (validate_id(call, "decision.meeting_id", d->meeting_id, IDS_MEETING) ||
        validate_enum(call, "decision.type", &compact__committee__v1__decision_type__descriptor,
                      (int)d->type, 1) ||
        validate_required_string(call, "decision.title", d->title, COMMITTEE_TITLE_MAX) ||
        validate_text(call, "decision.text", d->text, COMMITTEE_TEXT_MAX) ||
        validate_text(call, "decision.source_note", d->source_note, COMMITTEE_NOTE_MAX) ||
        validate_max_items(call, "decision.actions", d->n_actions, COMMITTEE_ACTIONS_MAX))
        return -1;
    want = action_case_of((int)d->type);
    if (want == 0 && d->n_actions > 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "decision.actions: a decision of type OTHER has "
                      "no actions");
        return -1;
    }
    if (want != 0 && d->n_actions == 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "decision.actions: name at least one action");
        return -1;
    }
    for (size_t i = 0; i < d->n_actions; i++)
        if (check_action(call, d->actions[i], i, want))
            return -1;
    return 0;
}

/* The groups the actions name must exist (and be open, but for one being
 * closed: that one must be open too, to be closed); so must the entities
 * admitted. */
static void check_peers(rpc_call *call, service *svc, const Decision *d, peer_check_done_fn done,
                        void *arg)
{
    peer_check *c = peer_check_new();

    for (size_t i = 0; i < d->n_actions; i++) {
        const Action *a = d->actions[i];
        const char *group = a->action_case == ACTION(APPROVE_TERMS_OF_REFERENCE)
                                ? a->approve_terms_of_reference->working_group_id
                            : a->action_case == ACTION(APPROVE_WORK_PLAN)
                                ? a->approve_work_plan->working_group_id
                            : a->action_case == ACTION(CLOSE_WORKING_GROUP)
                                ? a->close_working_group->working_group_id
                                : NULL;
        if (group)
            peer_check_add(c, &peer_groups, group, "decision.actions[%zu]", i);
        if (a->action_case == ACTION(ADMIT_ENTITY))
            peer_check_add(c, &peer_entities, a->admit_entity->entity_id,
                           "decision.actions[%zu].admit_entity.entity_id", i);
    }
    peer_check_run(c, call, svc, done, arg);
}

/* ---- the envelope -------------------------------------------------------------------------- */

/* Why proposal `p` may not be approved now, into why[size] with *code;
 * NULL when it may. A store failure is -1 in *code's place (rc). */
static const char *allocation_problem(store *st, const Proposal *p, char *why, size_t size,
                                      rpc_code *code, int *rc)
{
    Envelope *e = NULL;
    int64_t version, allocated = 0;

    *rc = 0;
    *code = RPC_FAILED_PRECONDITION;
    if (p->status != PROPOSED) {
        snprintf(why, size, "proposal %s is not awaiting a decision", p->id);
        return why;
    }
    *rc = committee_store_envelope(st, p->year, &e, &version);
    if (*rc == -ENOENT) {
        *rc = 0;
        snprintf(why, size, "there is no catalytic envelope for %d", p->year);
        return why;
    }
    if (*rc == 0)
        *rc = committee_store_allocated(st, p->year, e->amount->currency, &allocated);
    if (*rc == 0 && strcmp(e->amount->currency, p->amount->currency) != 0)
        snprintf(why, size, "proposal %s is in %s; the %d envelope is in %s", p->id,
                 p->amount->currency, p->year, e->amount->currency);
    else if (*rc == 0 && allocated + p->amount->amount_minor > e->amount->amount_minor)
        snprintf(why, size,
                 "proposal %s asks %" PRId64 " %s; the %d envelope has %" PRId64 " %s left", p->id,
                 p->amount->amount_minor, p->amount->currency, p->year,
                 e->amount->amount_minor - allocated, e->amount->currency);
    else
        why = NULL;
    if (e)
        pbmsg_free(&e->base);
    return *rc ? NULL : why;
}

/* Approves the proposal allocation `i` names, within its envelope. 0, or
 * -1 after the write was ended (the call answered). */
static int approve_one(aggregate_write *w, Decision *d, size_t i)
{
    store *st = service_store(w->svc);
    const char *id = d->actions[i]->allocate_catalytic_funding->proposal_id;
    outbox_actor actor;
    char peer[128];
    outbox_event ev = {.service = "committee",
                       .aggregate_type = "proposal",
                       .type = "proposal.approved",
                       .actor = &actor};
    Proposal *p = NULL;
    char why[300];
    const char *problem = NULL;
    int64_t version;
    rpc_code code;
    int rc = docstore_load(st, &committee_proposals, id, (ProtobufCMessage **)&p, &version);

    service_call_actor(w->call, &actor, peer, sizeof peer);
    if (rc == -ENOENT) {
        aggregate_fail(w, RPC_INVALID_ARGUMENT,
                       "decision.actions[%zu].allocate_catalytic_funding.proposal_id: no "
                       "proposal \"%s\"",
                       i, id);
        return -1;
    }
    if (rc == 0)
        problem = allocation_problem(st, p, why, sizeof why, &code, &rc);
    if (problem) {
        aggregate_fail(w, code, "decision.actions[%zu].allocate_catalytic_funding: %s", i, problem);
        pbmsg_free(&p->base);
        return -1;
    }
    if (rc == 0) {
        p->status = APPROVED;
        rc = pbstr_set(&p->decision_id, d->id);
    }
    rc = rc ? rc : docstore_update(st, &committee_proposals, &p->base, version);
    ev.aggregate_id = p ? p->id : "";
    ev.state = p ? &p->base : NULL;
    rc = rc ? rc : outbox_append(st, &ev);
    if (p)
        pbmsg_free(&p->base);
    if (rc != 0) {
        aggregate_commit(w, rc, "decision.recorded", NULL); /* fails and rolls back */
        return -1;
    }
    return 0;
}

/* Approves every proposal the allocations name, within their envelopes, in
 * the decision's transaction: all, or (the call answered, -1) none. */
static int approve_proposals(aggregate_write *w, Decision *d)
{
    for (size_t i = 0; i < d->n_actions; i++)
        if (approve_one(w, d, i) != 0)
            return -1;
    return 0;
}

/* ---- RecordDecision -------------------------------------------------------------------------- */

/* One pending effect per action, and the decision's date from its meeting. */
static int prepare(Decision *d, const Meeting *m)
{
    static const char *const owners[] = {
        [ACTION(APPROVE_TERMS_OF_REFERENCE)] = "workgroups",
        [ACTION(APPROVE_WORK_PLAN)] = "workgroups",
        [ACTION(ALLOCATE_CATALYTIC_FUNDING)] = "projects",
        [ACTION(ADMIT_ENTITY)] = "membership",
        [ACTION(ESTABLISH_WORKING_GROUP)] = "workgroups",
        [ACTION(CLOSE_WORKING_GROUP)] = "workgroups",
    };
    char ref[96];

    if (pbstr_set(&d->decided_on, m->date) ||
        (d->effects = calloc(d->n_actions ? d->n_actions : 1, sizeof *d->effects)) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < d->n_actions; i++) {
        Effect *e = calloc(1, sizeof *e);
        if (e == NULL)
            return -ENOMEM;
        compact__committee__v1__effect__init(e);
        d->effects[d->n_effects++] = e;
        e->number = (int32_t)i + 1;
        e->status = EFFECT_PENDING;
        snprintf(ref, sizeof ref, "%s/effects/%zu", d->id, i + 1);
        if (pbstr_set(&e->service, owners[d->actions[i]->action_case]) ||
            pbstr_set(&e->decision_ref, ref))
            return -ENOMEM;
    }
    return 0;
}

static void write_decision(rpc_call *call, service *svc, void *arg, int ok)
{
    const Compact__Committee__V1__RecordDecisionRequest *req = arg;
    store *st = service_store(svc);
    aggregate_write w;
    Meeting *m = NULL;
    Decision *d;
    int rc;

    if (!ok || aggregate_begin_new(&w, call, svc, &committee_decision_aggregate,
                                   aggregate_new(&req->decision->base, decision_fields, D_ALL)))
        return;
    d = (Decision *)w.state;
    rc = docstore_load(st, &committee_meetings, d->meeting_id, (ProtobufCMessage **)&m, NULL);
    if (rc == -ENOENT ||
        (rc == 0 &&
         m->status == COMPACT__COMMITTEE__V1__MEETING_STATUS__MEETING_STATUS_CANCELLED)) {
        aggregate_fail(&w, rc ? RPC_INVALID_ARGUMENT : RPC_FAILED_PRECONDITION,
                       "decision.meeting_id: %s \"%s\"", rc ? "no meeting" : "cancelled meeting",
                       d->meeting_id);
        if (m)
            pbmsg_free(&m->base);
        return;
    }
    rc = rc ? rc : prepare(d, m);
    if (m)
        pbmsg_free(&m->base);
    if (rc == 0 && d->type == TYPE(ALLOCATE_CATALYTIC_FUNDING) && approve_proposals(&w, d))
        return; /* the call has been answered */
    aggregate_commit(&w, rc ? rc : docstore_insert(st, &committee_decisions, &d->base),
                     "decision.recorded", NULL);
    if (rc == 0)
        committee_effects_wake(svc);
}

void handle_record_decision(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__RecordDecisionRequest *req = (const void *)request;

    if (aggregate_replay(call, svc) || validate_present(call, "decision", req->decision) ||
        check_decision(call, req->decision))
        return;
    check_peers(call, svc, req->decision, write_decision, (void *)req);
}

/* ---- GetDecision, ListDecisions, RetryDecision ------------------------------------------------- */

void handle_get_decision(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__GetDecisionRequest *req = (const void *)request;

    if (validate_id(call, "id", req->id, IDS_DECISION) == 0)
        aggregate_get_reply(call, svc, &committee_decision_aggregate, 0, "id", req->id);
}

static void decision_key(const ProtobufCMessage *item, char *buf, size_t size)
{
    const Decision *d = (const Decision *)item;

    snprintf(buf, size, "%s|%s", d->decided_on, d->id);
}

void handle_list_decisions(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__ListDecisionsRequest *req = (const void *)request;
    Compact__Committee__V1__ListDecisionsResponse resp =
        COMPACT__COMMITTEE__V1__LIST_DECISIONS_RESPONSE__INIT;
    char type[8];
    const char *filters[] = {"committee.decisions", req->meeting_id, type};
    page_request pg;
    ProtobufCMessage **v = NULL;
    size_t n = 0;
    int rc;

    snprintf(type, sizeof type, "%d", (int)req->type);
    if ((req->meeting_id[0] && validate_id(call, "meeting_id", req->meeting_id, IDS_MEETING)) ||
        validate_enum(call, "type", &compact__committee__v1__decision_type__descriptor,
                      (int)req->type, 0) ||
        page_request_parse(call, filters, 3, req->page_size, req->page_token, &pg))
        return;
    rc = committee_store_decisions(service_store(svc), req->meeting_id, (int)req->type, pg.after,
                                   page_request_limit(&pg), &v, &n);
    page_reply(call, &pg, rc, "the decisions could not be read", &resp.base, v, n, decision_key);
}

void handle_retry_decision(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const Compact__Committee__V1__RetryDecisionRequest *req = (const void *)request;
    aggregate_write w;
    Decision *d;
    int failed = 0;

    if (validate_id(call, "id", req->id, IDS_DECISION) ||
        aggregate_begin(&w, call, svc, &committee_decision_aggregate, "id", req->id, ""))
        return;
    d = (Decision *)w.state;
    for (size_t i = 0; i < d->n_effects; i++) {
        if (d->effects[i]->status == EFFECT_FAILED) {
            d->effects[i]->status = EFFECT_PENDING;
            failed++;
        }
    }
    if (failed == 0) {
        aggregate_fail(&w, RPC_FAILED_PRECONDITION, "id: decision %s has no failed effect", d->id);
        return;
    }
    aggregate_commit(&w,
                     docstore_update(service_store(svc), &committee_decisions, &d->base, w.version),
                     "decision.retried", NULL);
    committee_effects_wake(svc);
}
