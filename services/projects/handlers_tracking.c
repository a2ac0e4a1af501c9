/* handlers_tracking.c: money and results: RecordTransaction, AddResult,
 * AddIndicator and ReportIndicatorValue (see handlers.h).
 *
 * Two rules of the Coordination Committee reach RecordTransaction:
 * - catalytic money is UNOCT's: a catalytic transaction must name UNOCT as
 *   its provider_entity_id (checked with membership, with the rest of the
 *   entity check), else FAILED_PRECONDITION and nothing is written;
 * - a transaction may carry the decision effect that allocated it
 *   (decision_ref), the idempotency key, kept for good: recording one whose
 *   decision_ref the project already has is answered before anything else
 *   (etag, the peer check, the rule above) with the project as it is, and
 *   writes nothing; under the same decision_ref other money is refused with
 *   ALREADY_EXISTS naming transaction.decision_ref, as a request id used for
 *   another request is (AIP-155).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compact/membership/v1/membership.pb-c.h"
#include "handlers.h"
#include "ids.h"
#include "pbmsg.h"
#include "pbstr.h"
#include "pbtime.h"
#include "peers.h"
#include "project.h"
#include "project_check.h"
#include "project_edit.h"
#include "provenance.h"
#include "status.h"
#include "validate.h"

typedef Compact__Projects__V1__RecordTransactionRequest RecordTransactionRequest;
typedef Compact__Projects__V1__AddResultRequest AddResultRequest;
typedef Compact__Projects__V1__AddIndicatorRequest AddIndicatorRequest;
typedef Compact__Projects__V1__ReportIndicatorValueRequest ReportIndicatorValueRequest;
typedef Compact__Projects__V1__IndicatorPeriod IndicatorPeriod;
typedef Compact__Projects__V1__IndicatorValue IndicatorValue;

#define ETAG_MAX_CHARS 64

/* A change of the loaded project inside the transaction: 0, a negative
 * errno (the write fails with it), or 1 when the call is already over. */
typedef int (*change_fn)(rpc_call *call, store *st, Project *p, const void *req);

/* The common shape of these writes: begin (load `project_id`, check the
 * etag), change, save in canonical order, commit with `event_type`. */
static void tracking_write(rpc_call *call, service *svc, const char *project_id, const char *etag,
                           change_fn change, const void *req, const char *event_type)
{
    store *st = service_store(svc);
    aggregate_write w;
    Project *p;
    int rc;

    if (aggregate_begin(&w, call, svc, &project_aggregate, "project_id", project_id, etag))
        return;
    p = (Project *)w.state;
    if ((rc = change(call, st, p, req)) == 1) {
        aggregate_abort(&w);
        return;
    }
    if (rc == 0) {
        project_edit_normalise(p);
        /* Money and results change no filtered field: the filter rows and
         * the search text stay as they are. */
        rc = project_store_update_body(st, p, w.version);
    }
    aggregate_commit(&w, rc, event_type, NULL);
}

static int check_project_ref(rpc_call *call, const char *project_id, const char *etag)
{
    return validate_id(call, "project_id", project_id, IDS_PROJECT) ||
                   validate_max_length(call, "etag", etag, ETAG_MAX_CHARS)
               ? -1
               : 0;
}

/* ---- RecordTransaction -------------------------------------------------- */

/* The project's total of the transaction's type, currency and catalytic
 * flag: a correction may only take back what was recorded the same way, or
 * the catalytic total (a part of the committed one) could go below zero,
 * or above the whole. */
static int64_t type_total(const Project *p, const Transaction *t)
{
    int64_t sum = 0;

    for (size_t i = 0; i < p->n_transactions; i++) {
        const Transaction *o = p->transactions[i];
        if (o->type == t->type && o->catalytic == t->catalytic &&
            strcmp(o->value->currency, t->value->currency) == 0)
            sum += o->value->amount_minor;
    }
    return sum;
}

static int record_change(rpc_call *call, store *st, Project *p, const void *arg)
{
    const RecordTransactionRequest *req = arg;
    const Transaction *in = req->transaction;
    char id[IDS_SIZE];
    Transaction *t;
    int rc;

    if (p->n_transactions >= PROJECT_TRANSACTIONS_MAX) {
        rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                      "project_id: project %s already has "
                      "%d transactions, the most one project may hold",
                      p->id, PROJECT_TRANSACTIONS_MAX);
        return 1;
    }
    if (in->value->amount_minor < 0 && type_total(p, in) + in->value->amount_minor < 0) {
        rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                      "transaction.value.amount_minor: this correction would make the "
                      "project's total of its type in %s%s negative",
                      in->value->currency, in->catalytic ? " (catalytic)" : " (not catalytic)");
        return 1;
    }
    if ((t = (Transaction *)pbmsg_copy(&in->base)) == NULL)
        return -ENOMEM;
    provenance_normalize(t->provenance, t->n_provenance);
    if ((rc = ids_new(IDS_TRANSACTION, id, sizeof id)) != 0 || (rc = pbstr_set(&t->id, id)) != 0 ||
        (rc = pbtime_set(&t->record_time, pbtime_now_ms())) != 0 ||
        (rc = project_store_add_transaction(st, p->id, t)) != 0 ||
        (rc = project_edit_append((void ***)&p->transactions, &p->n_transactions, t)) != 0) {
        protobuf_c_message_free_unpacked(&t->base, NULL);
        return rc;
    }
    return 0;
}

/* ---- RecordTransaction: the Committee's rules ----------------------------- */

static const char *catalytic_provider_unusable(const ProtobufCMessage *item)
{
    const Compact__Membership__V1__Entity *e = (const Compact__Membership__V1__Entity *)item;
    const char *why = peer_entities.unusable(item); /* withdrawn first */

    return why ? why : project_check_catalytic_provider_problem(e->acronym);
}

/* The provider of a catalytic transaction: an active entity, and UNOCT. */
static const peer_kind catalytic_provider = {
    .peer = "membership",
    .noun = "entity",
    .id_prefix = IDS_ENTITY,
    .service = &compact__membership__v1__membership__descriptor,
    .method = "BatchGetEntities",
    .label_field = "acronym",
    .unusable = catalytic_provider_unusable,
};

enum decided { DECISION_NEW = 0, DECISION_FAILED = 1, DECISION_RECORDED = 2 };

/* Whether `p` records the decision of `in` already: DECISION_NEW (or no
 * decision_ref), DECISION_RECORDED with the same money (answer with the
 * project as it is), DECISION_FAILED after failing the call with
 * ALREADY_EXISTS (other money under it). */
static enum decided decided(rpc_call *call, const Project *p, const Transaction *in)
{
    const Transaction *held = project_edit_find_decision(p, in->decision_ref);

    if (held == NULL)
        return DECISION_NEW;
    if (project_edit_same_transaction(held, in))
        return DECISION_RECORDED;
    rpc_call_fail(call, RPC_ALREADY_EXISTS,
                  "transaction.decision_ref: %s is already recorded on project %s as transaction "
                  "%s, with other money; a decision's effect is recorded once and never changed "
                  "(a retry must repeat the request)",
                  in->decision_ref, p->id, held->id);
    return DECISION_FAILED;
}

/* Ends the write without a change and answers with the project as stored
 * (w->state has an update time for a change that does not happen). */
static void reply_stored(aggregate_write *w)
{
    rpc_call *call = w->call;
    service *svc = w->svc;
    ProtobufCMessage *stored;
    char id[IDS_SIZE];

    snprintf(id, sizeof id, "%s", ((Project *)w->state)->id);
    aggregate_abort(w);
    if (aggregate_peek(call, svc, &project_aggregate, "project_id", id, "", &stored) == 0) {
        rpc_call_reply(call, stored);
        pbmsg_free(stored);
    }
}

/* peer_check_done_fn: the provider (if an entity) is active (and UNOCT for
 * catalytic money); record, unless the decision was recorded meanwhile. */
static void write_transaction(rpc_call *call, service *svc, void *arg, int ok)
{
    const RecordTransactionRequest *req = arg;
    store *st = service_store(svc);
    aggregate_write w;
    Project *p;
    int rc;

    if (!ok ||
        aggregate_begin(&w, call, svc, &project_aggregate, "project_id", req->project_id, ""))
        return;
    p = (Project *)w.state;
    switch (decided(call, p, req->transaction)) {
    case DECISION_RECORDED:
        reply_stored(&w);
        return;
    case DECISION_FAILED:
        aggregate_abort(&w);
        return;
    case DECISION_NEW:
        break;
    }
    if (aggregate_check_etag(&w, req->etag))
        return;
    if ((rc = record_change(call, st, p, req)) == 1) {
        aggregate_abort(&w);
        return;
    }
    if (rc == 0) {
        project_edit_normalise(p);
        /* money changes no filtered field, as in tracking_write */
        rc = project_store_update_body(st, p, w.version);
    }
    aggregate_commit(&w, rc, "project.transaction_recorded", NULL);
}

/* Answers a decision recorded already (see the top); returns 1 when the call
 * is over, 0 when it goes on. */
static int replay_decision(rpc_call *call, service *svc, const RecordTransactionRequest *req)
{
    ProtobufCMessage *m;
    enum decided d;

    if (req->transaction->decision_ref[0] == '\0')
        return 0;
    if (aggregate_peek(call, svc, &project_aggregate, "project_id", req->project_id, "", &m))
        return 1;
    d = decided(call, (const Project *)m, req->transaction);
    if (d == DECISION_RECORDED)
        rpc_call_reply(call, m);
    pbmsg_free(m);
    return d != DECISION_NEW;
}

/* FAILED_PRECONDITION for catalytic money whose provider is not an entity
 * (the entity itself is checked with membership). */
static int check_catalytic(rpc_call *call, const Transaction *t)
{
    if (!t->catalytic ||
        t->provider_case == COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ENTITY_ID)
        return 0;
    rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                  "transaction.catalytic: a catalytic transaction must name UNOCT as its provider "
                  "(transaction.provider_entity_id)%s",
                  t->provider_case == COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_NAME
                      ? ", not a provider_name"
                      : "");
    return -1;
}

void handle_record_transaction(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const RecordTransactionRequest *req = (const RecordTransactionRequest *)request;
    const Transaction *t = req->transaction;
    peer_check *c;

    if (aggregate_replay(call, svc) || check_project_ref(call, req->project_id, req->etag) ||
        validate_present(call, "transaction", t) ||
        project_check_transaction(call, "transaction", t) || replay_decision(call, svc, req) ||
        check_catalytic(call, t))
        return;
    c = peer_check_new();
    if (t->provider_case == COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ENTITY_ID)
        peer_check_add(c, t->catalytic ? &catalytic_provider : &peer_entities,
                       t->provider_entity_id, "transaction.provider_entity_id");
    peer_check_run(c, call, svc, write_transaction, (void *)req);
}

/* ---- AddResult ---------------------------------------------------------- */

/* A copy of a request's result or indicator with fresh ids, ready to add. */
static int fresh_result(const Compact__Projects__V1__Result *in, Result **out)
{
    Result *r = (Result *)pbmsg_copy(&in->base);
    int rc;

    if ((*out = r) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < r->n_indicators; i++)
        r->indicators[i]->state = 0;
    if ((rc = project_edit_assign_result_ids(r)) != 0) {
        protobuf_c_message_free_unpacked(&r->base, NULL);
        *out = NULL;
    }
    return rc;
}

static int add_result_change(rpc_call *call, store *st, Project *p, const void *arg)
{
    const AddResultRequest *req = arg;
    Result *r;
    int rc;

    if (p->n_results >= PROJECT_RESULTS_MAX) {
        rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                      "project_id: project %s already has %d "
                      "results, the most one project may hold",
                      p->id, PROJECT_RESULTS_MAX);
        return 1;
    }
    if ((rc = fresh_result(req->result, &r)) != 0)
        return rc;
    if ((rc = project_edit_append((void ***)&p->results, &p->n_results, r)) != 0)
        protobuf_c_message_free_unpacked(&r->base, NULL);
    return rc;
}

void handle_add_result(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const AddResultRequest *req = (const AddResultRequest *)request;

    if (check_project_ref(call, req->project_id, req->etag) ||
        validate_present(call, "result", req->result) ||
        project_check_result(call, "result", req->result))
        return;
    tracking_write(call, svc, req->project_id, req->etag, add_result_change, req,
                   "project.updated");
}

/* ---- AddIndicator ------------------------------------------------------- */

static int add_indicator_change(rpc_call *call, store *st, Project *p, const void *arg)
{
    const AddIndicatorRequest *req = arg;
    Result *r = project_edit_find_result(p, req->result_id);
    Indicator *ind;
    int rc;

    if (r == NULL) {
        rpc_call_fail(call, RPC_NOT_FOUND, "result_id: project %s has no result \"%s\"", p->id,
                      req->result_id);
        return 1;
    }
    if (r->n_indicators >= PROJECT_INDICATORS_MAX) {
        rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                      "result_id: result %s already has %d "
                      "indicators, the most one result may hold",
                      r->id, PROJECT_INDICATORS_MAX);
        return 1;
    }
    if ((ind = (Indicator *)pbmsg_copy(&req->indicator->base)) == NULL)
        return -ENOMEM;
    ind->state = 0;
    if ((rc = project_edit_assign_indicator_id(ind)) != 0 ||
        (rc = project_edit_append((void ***)&r->indicators, &r->n_indicators, ind)) != 0)
        protobuf_c_message_free_unpacked(&ind->base, NULL);
    return rc;
}

void handle_add_indicator(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const AddIndicatorRequest *req = (const AddIndicatorRequest *)request;

    if (check_project_ref(call, req->project_id, req->etag) ||
        validate_id(call, "result_id", req->result_id, IDS_RESULT) ||
        validate_present(call, "indicator", req->indicator) ||
        project_check_indicator(call, "indicator", req->indicator))
        return;
    tracking_write(call, svc, req->project_id, req->etag, add_indicator_change, req,
                   "project.updated");
}

/* ---- ReportIndicatorValue ----------------------------------------------- */

/* Replaces *field with a copy of `v` if `v` is set. 0 or -ENOMEM. */
static int set_value(IndicatorValue **field, const IndicatorValue *v)
{
    IndicatorValue *copy;

    if (v == NULL)
        return 0;
    if ((copy = (IndicatorValue *)pbmsg_copy(&v->base)) == NULL)
        return -ENOMEM;
    if (*field)
        protobuf_c_message_free_unpacked(&(*field)->base, NULL);
    *field = copy;
    return 0;
}

/* The period [start, end] of `ind`, or NULL; FAILED_PRECONDITION (and 1 in
 * *over) when it overlaps another period instead. */
static IndicatorPeriod *find_period(rpc_call *call, const Indicator *ind,
                                    const ReportIndicatorValueRequest *req, int *over)
{
    *over = 0;
    for (size_t i = 0; i < ind->n_periods; i++) {
        IndicatorPeriod *q = ind->periods[i];
        if (strcmp(q->period_start, req->period_start) == 0 &&
            strcmp(q->period_end, req->period_end) == 0)
            return q;
        if (strcmp(req->period_start, q->period_end) <= 0 &&
            strcmp(q->period_start, req->period_end) <= 0) {
            rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                          "period_start: the period %s to %s "
                          "overlaps the indicator's period %s to %s; report a period with "
                          "exactly its dates, or one that does not overlap",
                          req->period_start, req->period_end, q->period_start, q->period_end);
            *over = 1;
            return NULL;
        }
    }
    return NULL;
}

static int new_period(const ReportIndicatorValueRequest *req, IndicatorPeriod **out)
{
    IndicatorPeriod *q = malloc(sizeof *q);

    if ((*out = q) == NULL)
        return -ENOMEM;
    compact__projects__v1__indicator_period__init(q);
    if (pbstr_set(&q->period_start, req->period_start) ||
        pbstr_set(&q->period_end, req->period_end)) {
        protobuf_c_message_free_unpacked(&q->base, NULL);
        *out = NULL;
        return -ENOMEM;
    }
    return 0;
}

static int report_change(rpc_call *call, store *st, Project *p, const void *arg)
{
    const ReportIndicatorValueRequest *req = arg;
    Indicator *ind = project_edit_find_indicator(p, req->indicator_id);
    IndicatorPeriod *q;
    int over, rc;

    if (ind == NULL) {
        rpc_call_fail(call, RPC_NOT_FOUND, "indicator_id: project %s has no indicator \"%s\"",
                      p->id, req->indicator_id);
        return 1;
    }
    if ((q = find_period(call, ind, req, &over)) == NULL && over)
        return 1;
    if (q == NULL && ind->n_periods >= PROJECT_PERIODS_MAX) {
        rpc_call_fail(call, RPC_FAILED_PRECONDITION,
                      "indicator_id: indicator %s already has "
                      "%d periods, the most one indicator may hold",
                      ind->id, PROJECT_PERIODS_MAX);
        return 1;
    }
    if (q == NULL) {
        if ((rc = new_period(req, &q)) != 0)
            return rc;
        if ((rc = project_edit_append((void ***)&ind->periods, &ind->n_periods, q)) != 0) {
            protobuf_c_message_free_unpacked(&q->base, NULL);
            return rc;
        }
    }
    if ((rc = set_value(&q->actual, req->actual)) != 0)
        return rc;
    return set_value(&q->target, req->target);
}

void handle_report_indicator_value(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const ReportIndicatorValueRequest *req = (const ReportIndicatorValueRequest *)request;

    if (check_project_ref(call, req->project_id, req->etag) ||
        validate_id(call, "indicator_id", req->indicator_id, IDS_INDICATOR) ||
        project_check_period(call, "period_start", req->period_start, "period_end",
                             req->period_end) ||
        (req->actual && project_check_value(call, "actual", req->actual)) ||
        (req->target && project_check_value(call, "target", req->target)))
        return;
    if (req->actual == NULL && req->target == NULL) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "actual: set actual, target or both");
        return;
    }
    tracking_write(call, svc, req->project_id, req->etag, report_change, req,
                   "project.indicator_reported");
}
