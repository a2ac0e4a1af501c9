/* effects.c: a decision's effects, carried out once (see effects.h). */
#include "effects.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "ids.h"
#include "log.h"
#include "outbox.h"
#include "pbmsg.h"
#include "pbstr.h"
#include "pbtime.h"
#include "txn.h"

typedef Compact__Committee__V1__Decision Decision;
typedef Compact__Committee__V1__Action Action;
typedef Compact__Committee__V1__Effect Effect;
typedef Compact__Committee__V1__Proposal Proposal;
typedef Compact__Workgroups__V1__WorkingGroup WorkingGroup;
typedef Compact__Projects__V1__Project Project;

#define ACTION(x) COMPACT__COMMITTEE__V1__ACTION__ACTION_##x
#define PENDING COMPACT__COMMITTEE__V1__EFFECT_STATUS__EFFECT_STATUS_PENDING
#define APPLIED COMPACT__COMMITTEE__V1__EFFECT_STATUS__EFFECT_STATUS_APPLIED
#define FAILED COMPACT__COMMITTEE__V1__EFFECT_STATUS__EFFECT_STATUS_FAILED
#define ERROR_MAX 500

struct effects {
    service *svc;
    uv_timer_t timer;
    int busy;  /* a flush, a call or the backoff timer is out */
    int again; /* woken while busy: look again after */
    int backoff_ms;
    /* Passing trouble of one effect in a row: only the first attempt and
     * every EFFECTS_RECORD_EVERY-th are written down, so that a long outage
     * does not write a version of the decision (and an event) every 30 s. */
    char streak_decision[IDS_SIZE];
    int streak_number, streak;
    int stopping;
    void (*stopped_cb)(void *arg);
    void *stopped_arg;
};

/* The effect in progress: its decision and number, and what it needs. */
typedef struct attempt {
    effects *fx;
    char decision_id[IDS_SIZE];
    int number;
    Decision *d;        /* as loaded when the attempt began */
    Proposal *proposal; /* for an allocation */
} attempt;

static void effects_next(effects *fx);
static void effect_send(attempt *at);

/* ---- the end of an attempt ------------------------------------------------------------ */

static void attempt_free(attempt *at)
{
    if (at->d)
        pbmsg_free(&at->d->base);
    if (at->proposal)
        pbmsg_free(&at->proposal->base);
    free(at);
}

static void on_timer_closed(uv_handle_t *h)
{
    effects *fx = h->data;
    void (*cb)(void *) = fx->stopped_cb;
    void *arg = fx->stopped_arg;

    free(fx);
    cb(arg);
}

static void effects_kick(effects *fx);

/* Nothing is out any more. Returns 1 (and the executor is closing) if it is
 * stopping. */
static int effects_settle(effects *fx)
{
    fx->busy = 0;
    if (!fx->stopping)
        return 0;
    uv_close((uv_handle_t *)&fx->timer, on_timer_closed);
    return 1;
}

static void on_backoff(uv_timer_t *t)
{
    effects *fx = t->data;

    if (!effects_settle(fx))
        effects_kick(fx);
}

/* Passing trouble: wait, then take the head of the queue again. */
static void effects_back_off(effects *fx)
{
    fx->backoff_ms = fx->backoff_ms ? fx->backoff_ms * 2 : EFFECTS_BACKOFF_MIN_MS;
    if (fx->backoff_ms > EFFECTS_BACKOFF_MAX_MS)
        fx->backoff_ms = EFFECTS_BACKOFF_MAX_MS;
    if (fx->stopping) {
        effects_settle(fx);
        return;
    }
    fx->busy = 1;
    uv_timer_start(&fx->timer, on_backoff, (uint64_t)fx->backoff_ms, 0);
}

/* ---- recording an outcome --------------------------------------------------------------- */

static int transient(rpc_code code)
{
    switch (code) {
    case RPC_UNAVAILABLE:
    case RPC_DEADLINE_EXCEEDED:
    case RPC_RESOURCE_EXHAUSTED:
    case RPC_ABORTED:
    case RPC_INTERNAL:
    case RPC_DATA_LOSS:
    case RPC_CANCELLED:
    case RPC_UNKNOWN:
        return 1;
    default:
        return 0;
    }
}

/* Writes the outcome of effect `number` into the decision as stored now. */
static int record(attempt *at, rpc_code code, const char *message, const char *result_id)
{
    store *st = service_store(at->fx->svc);
    Decision *d = NULL;
    int64_t version;
    char error[ERROR_MAX], key[160];
    const char *keys[1] = {key};
    int rc = store_begin(st);

    rc = rc ? rc
            : docstore_load(st, &committee_decisions, at->decision_id, (ProtobufCMessage **)&d,
                            &version);
    if (rc == 0 &&
        (at->number > (int)d->n_effects || d->effects[at->number - 1]->status != PENDING))
        rc = -ESTALE; /* retried or recorded meanwhile: nothing to record */
    if (rc == 0) {
        Effect *e = d->effects[at->number - 1];
        snprintf(error, sizeof error, "%s: %s", rpc_code_name(code), message ? message : "");
        e->attempts++;
        e->status = code == RPC_OK ? APPLIED : transient(code) ? PENDING : FAILED;
        rc = pbstr_set(&e->last_error, code == RPC_OK ? "" : error);
        rc = rc ? rc : pbstr_set(&e->result_id, result_id ? result_id : "");
        if (rc == 0 && code == RPC_OK)
            rc = pbtime_set(&e->apply_time, pbtime_now_ms());
        rc = rc ? rc : pbtime_set(&d->update_time, pbtime_now_ms());
        rc = rc ? rc : docstore_update(st, &committee_decisions, &d->base, version);
    }
    if (rc == 0) {
        outbox_event ev = {.service = "committee",
                           .aggregate_type = "decision",
                           .aggregate_id = d->id,
                           .type = code == RPC_OK    ? "decision.effect_applied"
                                   : transient(code) ? "decision.effect_retrying"
                                                     : "decision.effect_failed",
                           .state = &d->base,
                           .cache_keys = keys,
                           .cache_keys_count = 1};
        cache_key(key, sizeof key, "committee", "decision", d->id);
        rc = outbox_append(st, &ev);
    }
    if (rc == 0)
        rc = store_commit(st);
    else
        store_rollback(st);
    if (d)
        pbmsg_free(&d->base);
    if (rc == 0)
        service_events_committed(at->fx->svc);
    return rc == -ESTALE ? 0 : rc;
}

/* 1 if the outcome of this attempt is to be written down (see effects). */
static int worth_recording(effects *fx, const attempt *at, rpc_code code)
{
    if (!transient(code)) {
        fx->streak = 0;
        return 1;
    }
    if (fx->streak > 0 && fx->streak_number == at->number &&
        strcmp(fx->streak_decision, at->decision_id) == 0) {
        fx->streak++;
    } else {
        snprintf(fx->streak_decision, sizeof fx->streak_decision, "%s", at->decision_id);
        fx->streak_number = at->number;
        fx->streak = 1;
    }
    return fx->streak == 1 || fx->streak % EFFECTS_RECORD_EVERY == 0;
}

/* The owning service answered (or not): record, then go on. */
static void finish(attempt *at, rpc_code code, const char *message, const char *result_id)
{
    effects *fx = at->fx;
    int rc = 0;

    if (code == RPC_OK && fault_armed("committee.crash_after_effect"))
        raise(SIGKILL); /* a test's crash between the effect and its record */
    if (worth_recording(fx, at, code))
        rc = record(at, code, message, result_id);
    if (rc != 0)
        log_fmt(LOG_LEVEL_ERROR, "decision %s effect %d: outcome not recorded: %s", at->decision_id,
                at->number, strerror(-rc));
    else if (code != RPC_OK)
        log_fmt(transient(code) ? LOG_LEVEL_WARN : LOG_LEVEL_ERROR,
                "decision %s effect %d: %s %s%s", at->decision_id, at->number, rpc_code_name(code),
                message ? message : "", transient(code) ? " (will retry)" : "");
    attempt_free(at);
    if (effects_settle(fx))
        return;
    if (rc != 0 || transient(code)) {
        effects_back_off(fx);
        return;
    }
    fx->backoff_ms = 0;
    effects_kick(fx);
}

/* ---- what each action asks of its owner ------------------------------------------------------ */

static void on_group(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    attempt *at = arg;
    const WorkingGroup *g = (const void *)reply;
    const Action *a = at->d->actions[at->number - 1];
    char result[128] = "";

    if (code == RPC_OK && a->action_case == ACTION(APPROVE_TERMS_OF_REFERENCE) &&
        g->terms_of_reference)
        snprintf(result, sizeof result, "%s/terms_of_reference/%d", g->id,
                 g->terms_of_reference->version);
    else if (code == RPC_OK && a->action_case == ACTION(APPROVE_WORK_PLAN))
        for (size_t i = 0; i < g->n_approved_work_plans; i++)
            if (strcmp(g->approved_work_plans[i]->decision_ref,
                       at->d->effects[at->number - 1]->decision_ref) == 0)
                snprintf(result, sizeof result, "%s/work_plans/%d", g->id,
                         g->approved_work_plans[i]->version);
    if (code == RPC_OK && !result[0])
        snprintf(result, sizeof result, "%s", g->id);
    finish(at, code, message, result);
}

static void on_project(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    attempt *at = arg;
    const Project *p = (const void *)reply;
    const char *ref = at->d->effects[at->number - 1]->decision_ref;
    const char *result = NULL;

    for (size_t i = 0; code == RPC_OK && i < p->n_transactions; i++)
        if (strcmp(p->transactions[i]->decision_ref, ref) == 0)
            result = p->transactions[i]->id;
    finish(at, code, message, result);
}

static int call_owner(attempt *at, const char *peer, const ProtobufCServiceDescriptor *svc,
                      const char *method, const ProtobufCMessage *req, rpc_reply_cb cb)
{
    rpc_channel *ch = service_peer(at->fx->svc, peer);

    if (ch == NULL)
        return -ENOTCONN;
    return rpc_channel_call(ch, svc, method, req, service_config(at->fx->svc)->peer_timeout_ms,
                            NULL, cb, at);
}

static int send_terms(attempt *at, const Compact__Committee__V1__ApproveTermsOfReference *a,
                      const char *ref)
{
    Compact__Workgroups__V1__ApproveTermsOfReferenceRequest req =
        COMPACT__WORKGROUPS__V1__APPROVE_TERMS_OF_REFERENCE_REQUEST__INIT;
    Compact__Workgroups__V1__TermsOfReference tor =
        COMPACT__WORKGROUPS__V1__TERMS_OF_REFERENCE__INIT;

    req.group_id = a->working_group_id;
    req.terms_of_reference = &tor;
    tor.text = a->text;
    tor.approved_on = at->d->decided_on;
    tor.decision_ref = (char *)ref;
    return call_owner(at, "workgroups", &compact__workgroups__v1__working_groups__descriptor,
                      "ApproveTermsOfReference", &req.base, on_group);
}

static int send_work_plan(attempt *at, const Compact__Committee__V1__ApproveWorkPlan *a,
                          const char *ref)
{
    Compact__Workgroups__V1__ApproveWorkPlanRequest req =
        COMPACT__WORKGROUPS__V1__APPROVE_WORK_PLAN_REQUEST__INIT;
    Compact__Workgroups__V1__ApprovedWorkPlan plan =
        COMPACT__WORKGROUPS__V1__APPROVED_WORK_PLAN__INIT;

    req.group_id = a->working_group_id;
    req.plan = &plan;
    plan.period_start = a->period_start;
    plan.period_end = a->period_end;
    plan.approved_on = at->d->decided_on;
    plan.item_ids = a->item_ids;
    plan.n_item_ids = a->n_item_ids;
    plan.decision_ref = (char *)ref;
    return call_owner(at, "workgroups", &compact__workgroups__v1__working_groups__descriptor,
                      "ApproveWorkPlan", &req.base, on_group);
}

static int send_establish(attempt *at, const Compact__Committee__V1__EstablishWorkingGroup *a,
                          const char *ref)
{
    Compact__Workgroups__V1__CreateWorkingGroupRequest req =
        COMPACT__WORKGROUPS__V1__CREATE_WORKING_GROUP_REQUEST__INIT;
    WorkingGroup g = COMPACT__WORKGROUPS__V1__WORKING_GROUP__INIT;

    req.group = &g;
    g.code = a->code;
    g.title = a->title;
    g.mandate = a->mandate;
    g.pillars = (Compact__Workgroups__V1__StrategyPillar *)a->pillars;
    g.n_pillars = a->n_pillars;
    g.established_by = (char *)ref;
    return call_owner(at, "workgroups", &compact__workgroups__v1__working_groups__descriptor,
                      "CreateWorkingGroup", &req.base, on_group);
}

static int send_close(attempt *at, const Compact__Committee__V1__CloseWorkingGroup *a)
{
    Compact__Workgroups__V1__UpdateWorkingGroupRequest req =
        COMPACT__WORKGROUPS__V1__UPDATE_WORKING_GROUP_REQUEST__INIT;
    WorkingGroup g = COMPACT__WORKGROUPS__V1__WORKING_GROUP__INIT;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *paths[] = {"status"};

    req.group = &g;
    req.update_mask = &mask;
    mask.paths = paths;
    mask.n_paths = 1;
    g.id = a->working_group_id;
    g.status = COMPACT__WORKGROUPS__V1__GROUP_STATUS__GROUP_STATUS_CLOSED;
    return call_owner(at, "workgroups", &compact__workgroups__v1__working_groups__descriptor,
                      "UpdateWorkingGroup", &req.base, on_group);
}

static void on_entity(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    attempt *at = arg;

    finish(at, code, message,
           code == RPC_OK ? ((const Compact__Membership__V1__Entity *)reply)->id : NULL);
}

/* An admission: the entity takes part in the role from the decision's day. */
static int send_admit(attempt *at, const Compact__Committee__V1__AdmitEntity *a, const char *ref)
{
    Compact__Membership__V1__AdmitEntityRequest req =
        COMPACT__MEMBERSHIP__V1__ADMIT_ENTITY_REQUEST__INIT;

    req.entity_id = a->entity_id;
    req.role = a->role == COMPACT__COMMITTEE__V1__ADMISSION_ROLE__ADMISSION_ROLE_OBSERVER
                   ? COMPACT__MEMBERSHIP__V1__PARTICIPATION_ROLE__PARTICIPATION_ROLE_OBSERVER
                   : COMPACT__MEMBERSHIP__V1__PARTICIPATION_ROLE__PARTICIPATION_ROLE_MEMBER;
    req.from_date = at->d->decided_on;
    req.decision_ref = (char *)ref;
    return call_owner(at, "membership", &compact__membership__v1__membership__descriptor,
                      "AdmitEntity", &req.base, on_entity);
}

/* An allocation: UNOCT's entity id first (membership), then the catalytic
 * commitment on the project (projects). */
static void on_unoct(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    attempt *at = arg;
    const Compact__Membership__V1__Entity *unoct = (const void *)reply;
    const Proposal *p = at->proposal;
    Compact__Projects__V1__RecordTransactionRequest req =
        COMPACT__PROJECTS__V1__RECORD_TRANSACTION_REQUEST__INIT;
    Compact__Projects__V1__Transaction t = COMPACT__PROJECTS__V1__TRANSACTION__INIT;
    Compact__Projects__V1__Money value = COMPACT__PROJECTS__V1__MONEY__INIT;
    char description[400];

    if (code != RPC_OK) {
        finish(at, code == RPC_NOT_FOUND ? RPC_FAILED_PRECONDITION : code,
               code == RPC_NOT_FOUND ? "membership has no entity UNOCT, the catalytic funder"
                                     : message,
               NULL);
        return;
    }
    snprintf(description, sizeof description, "Catalytic funding from UNOCT: %s", at->d->title);
    req.project_id = p->project_id;
    req.transaction = &t;
    t.type = COMPACT__PROJECTS__V1__TRANSACTION_TYPE__TRANSACTION_TYPE_INCOMING_COMMITMENT;
    t.date = at->d->decided_on;
    t.value = &value;
    value.currency = p->amount->currency;
    value.amount_minor = p->amount->amount_minor;
    t.provider_case = COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ENTITY_ID;
    t.provider_entity_id = unoct->id;
    t.catalytic = 1;
    t.description = description;
    t.verified = at->d->verified;
    t.source_note = at->d->source_note;
    t.decision_ref = at->d->effects[at->number - 1]->decision_ref;
    if (call_owner(at, "projects", &compact__projects__v1__projects__descriptor,
                   "RecordTransaction", &req.base, on_project) != 0)
        finish(at, RPC_UNAVAILABLE, "projects: not reachable", NULL);
}

static int send_allocation(attempt *at, const Compact__Committee__V1__AllocateCatalyticFunding *a)
{
    Compact__Membership__V1__GetEntityRequest req =
        COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__INIT;
    int rc = docstore_load(service_store(at->fx->svc), &committee_proposals, a->proposal_id,
                           (ProtobufCMessage **)&at->proposal, NULL);

    if (rc != 0)
        return rc;
    req.key_case = COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__KEY_ACRONYM;
    req.acronym = "UNOCT";
    return call_owner(at, "membership", &compact__membership__v1__membership__descriptor,
                      "GetEntity", &req.base, on_unoct);
}

static void effect_send(attempt *at)
{
    const Action *a = at->d->actions[at->number - 1];
    const char *ref = at->d->effects[at->number - 1]->decision_ref;
    int rc;

    switch (a->action_case) {
    case ACTION(APPROVE_TERMS_OF_REFERENCE):
        rc = send_terms(at, a->approve_terms_of_reference, ref);
        break;
    case ACTION(APPROVE_WORK_PLAN):
        rc = send_work_plan(at, a->approve_work_plan, ref);
        break;
    case ACTION(ALLOCATE_CATALYTIC_FUNDING):
        rc = send_allocation(at, a->allocate_catalytic_funding);
        break;
    case ACTION(ESTABLISH_WORKING_GROUP):
        rc = send_establish(at, a->establish_working_group, ref);
        break;
    case ACTION(CLOSE_WORKING_GROUP):
        rc = send_close(at, a->close_working_group);
        break;
    case ACTION(ADMIT_ENTITY):
        rc = send_admit(at, a->admit_entity, ref);
        break;
    default:
        finish(at, RPC_UNIMPLEMENTED, "this kind of action has no effect to carry out", NULL);
        return;
    }
    if (rc == -ENOENT) /* the proposal is gone: nothing to allocate, ever */
        finish(at, RPC_FAILED_PRECONDITION, "the proposal it allocates does not exist", NULL);
    else if (rc != 0)
        finish(at, RPC_UNAVAILABLE, strerror(-rc), NULL);
}

/* ---- the queue ------------------------------------------------------------------------------ */

/* Takes the oldest decision with a pending effect and starts that effect
 * (busy until it is done); nothing to do leaves the executor idle. */
static void effects_next(effects *fx)
{
    ProtobufCMessage **v = NULL;
    size_t n = 0;
    attempt *at;
    Decision *d;
    int rc = committee_store_pending_decisions(service_store(fx->svc), 1, &v, &n);

    if (rc != 0) {
        log_fmt(LOG_LEVEL_ERROR, "pending decisions not read: %s", strerror(-rc));
        effects_back_off(fx);
        return;
    }
    if (n == 0) {
        docstore_rows_free(v, n);
        if (fx->again) /* woken meanwhile: what woke it may be on disk only now */
            effects_kick(fx);
        return;
    }
    d = (Decision *)v[0];
    free(v);
    if ((at = calloc(1, sizeof *at)) == NULL) {
        pbmsg_free(&d->base);
        effects_back_off(fx);
        return;
    }
    at->fx = fx;
    at->d = d;
    snprintf(at->decision_id, sizeof at->decision_id, "%s", d->id);
    for (size_t i = 0; i < d->n_effects && at->number == 0; i++)
        if (d->effects[i]->status == PENDING)
            at->number = (int)i + 1;
    fx->busy = 1;
    effect_send(at);
}

/* A decision is acted on only once it is on disk: every attempt starts
 * after a flush (group commit: one for everything committed so far, or
 * none when nothing is waiting). */
static void on_synced(void *arg, int rc)
{
    effects *fx = arg;

    if (effects_settle(fx))
        return;
    if (rc != 0) {
        log_fmt(LOG_LEVEL_ERROR, "decisions not known to be on disk: %s", strerror(-rc));
        effects_back_off(fx);
        return;
    }
    effects_next(fx);
}

static void effects_kick(effects *fx)
{
    if (fx->stopping)
        return;
    if (fx->busy) {
        fx->again = 1;
        return;
    }
    fx->again = 0;
    fx->busy = 1;
    store_sync(service_store(fx->svc), on_synced, fx);
}

void effects_wake(effects *fx)
{
    if (fx != NULL)
        effects_kick(fx);
}

int effects_start(service *svc, effects **out)
{
    effects *fx = calloc(1, sizeof *fx);

    if (fx == NULL)
        return -ENOMEM;
    fx->svc = svc;
    uv_timer_init(service_loop(svc), &fx->timer);
    fx->timer.data = fx;
    *out = fx;
    effects_wake(fx); /* what a crash left pending */
    return 0;
}

void effects_stop(effects *fx, void (*cb)(void *arg), void *arg)
{
    if (fx == NULL) {
        cb(arg);
        return;
    }
    fx->stopping = 1;
    fx->stopped_cb = cb;
    fx->stopped_arg = arg;
    if (uv_is_active((uv_handle_t *)&fx->timer)) { /* backing off: nothing is out */
        uv_timer_stop(&fx->timer);
        effects_settle(fx);
    } else if (!fx->busy) {
        effects_settle(fx);
    }
    /* Otherwise a flush or a call is out: it ends soon and finds `stopping`. */
}
