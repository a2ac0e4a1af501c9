/* handlers_tracking.c: money and results: RecordTransaction, AddResult,
 * AddIndicator and ReportIndicatorValue (see handlers.h). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "ids.h"
#include "pbstr.h"
#include "pbtime.h"
#include "project_check.h"
#include "project_edit.h"
#include "project_store.h"
#include "project_write.h"
#include "status.h"
#include "txn.h"
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

/* The common shape of these writes: begin, load `project_id`, check the
 * etag, change, bump update_time, save, finish with `event_type`. */
static void tracking_write(rpc_call *call, service *svc, const char *project_id,
                           const char *etag, change_fn change, const void *req,
                           const char *event_type)
{
    store *st = service_store(svc);
    Project *p = NULL;
    int64_t version;
    int rc = 0;

    if (txn_begin(call, st) != 0)
        return;
    if (project_write_load(call, st, "project_id", project_id, &p, &version) ||
        project_write_check_etag(call, etag, p) || (rc = change(call, st, p, req)) == 1) {
        store_rollback(st);
        project_store_free(p);
        return;
    }
    if (rc == 0) {
        project_edit_normalise(p);
        rc = pbtime_set(&p->update_time, pbtime_now_ms());
    }
    if (rc == 0)
        rc = project_store_update(st, p, version);
    project_write_finish(call, svc, rc, p, event_type, NULL);
    project_store_free(p);
}

static int check_project_ref(rpc_call *call, const char *project_id, const char *etag)
{
    return validate_id(call, "project_id", project_id, PROJECT_ID_PREFIX) ||
           validate_max_length(call, "etag", etag, ETAG_MAX_CHARS) ? -1 : 0;
}

/* ---- RecordTransaction -------------------------------------------------- */

typedef struct record_ctx {
    rpc_call *call;
    service *svc;
    const RecordTransactionRequest *req;
    project_write_refs refs;
} record_ctx;

/* The project's total of the transaction's type and currency. */
static int64_t type_total(const Project *p, const Transaction *t)
{
    int64_t sum = 0;

    for (size_t i = 0; i < p->n_transactions; i++) {
        const Transaction *o = p->transactions[i];
        if (o->type == t->type && strcmp(o->value->currency, t->value->currency) == 0)
            sum += o->value->amount_minor;
    }
    return sum;
}

static int record_change(rpc_call *call, store *st, Project *p, const void *arg)
{
    const RecordTransactionRequest *req = ((const record_ctx *)arg)->req;
    const Transaction *in = req->transaction;
    char id[PROJECT_ID_SIZE];
    Transaction *t;
    int rc;

    if (p->n_transactions >= PROJECT_TRANSACTIONS_MAX) {
        rpc_call_fail(call, RPC_FAILED_PRECONDITION, "project_id: project %s already has "
                      "%d transactions, the most one project may hold", p->id,
                      PROJECT_TRANSACTIONS_MAX);
        return 1;
    }
    if (in->value->amount_minor < 0 && type_total(p, in) + in->value->amount_minor < 0) {
        rpc_call_fail(call, RPC_FAILED_PRECONDITION, "transaction.value.amount_minor: this "
                      "correction would make the project's total of its type in %s negative",
                      in->value->currency);
        return 1;
    }
    if ((t = (Transaction *)project_edit_copy(&in->base)) == NULL)
        return -ENOMEM;
    if ((rc = ids_new(TRANSACTION_ID_PREFIX, id, sizeof id)) != 0 ||
        (rc = pbstr_set(&t->id, id)) != 0 ||
        (rc = pbtime_set(&t->record_time, pbtime_now_ms())) != 0 ||
        (rc = project_store_add_transaction(st, p->id, t)) != 0 ||
        (rc = project_edit_append((void ***)&p->transactions, &p->n_transactions, t)) != 0) {
        protobuf_c_message_free_unpacked(&t->base, NULL);
        return rc;
    }
    return 0;
}

static void on_record_checked(void *arg, int ok)
{
    record_ctx *c = arg;

    if (ok)
        tracking_write(c->call, c->svc, c->req->project_id, c->req->etag, record_change, c,
                       "project.transaction_recorded");
    free(c);
}

void handle_record_transaction(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    const RecordTransactionRequest *req = (const RecordTransactionRequest *)request;
    record_ctx *c;

    if (check_project_ref(call, req->project_id, req->etag) ||
        validate_present(call, "transaction", req->transaction) ||
        project_check_transaction(call, "transaction", req->transaction))
        return;
    if ((c = calloc(1, sizeof *c)) == NULL) {
        status_fail_store(call, -ENOMEM, "cannot record the transaction");
        return;
    }
    *c = (record_ctx){.call = call, .svc = svc, .req = req};
    if (req->transaction->provider_case ==
        COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ENTITY_ID)
        project_write_add_entity(&c->refs, "transaction.provider_entity_id",
                                 req->transaction->provider_entity_id);
    project_write_check_peers(svc, call, &c->refs, on_record_checked, c);
}

/* ---- AddResult ---------------------------------------------------------- */

/* A copy of a request's result or indicator with fresh ids, ready to add. */
static int fresh_result(const Compact__Projects__V1__Result *in, Result **out)
{
    Result *r = (Result *)project_edit_copy(&in->base);
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
        rpc_call_fail(call, RPC_FAILED_PRECONDITION, "project_id: project %s already has %d "
                      "results, the most one project may hold", p->id, PROJECT_RESULTS_MAX);
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
        rpc_call_fail(call, RPC_NOT_FOUND, "result_id: project %s has no result \"%s\"",
                      p->id, req->result_id);
        return 1;
    }
    if (r->n_indicators >= PROJECT_INDICATORS_MAX) {
        rpc_call_fail(call, RPC_FAILED_PRECONDITION, "result_id: result %s already has %d "
                      "indicators, the most one result may hold", r->id, PROJECT_INDICATORS_MAX);
        return 1;
    }
    if ((ind = (Indicator *)project_edit_copy(&req->indicator->base)) == NULL)
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
        validate_id(call, "result_id", req->result_id, RESULT_ID_PREFIX) ||
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
    if ((copy = (IndicatorValue *)project_edit_copy(&v->base)) == NULL)
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
            rpc_call_fail(call, RPC_FAILED_PRECONDITION, "period_start: the period %s to %s "
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
        rpc_call_fail(call, RPC_FAILED_PRECONDITION, "indicator_id: indicator %s already has "
                      "%d periods, the most one indicator may hold", ind->id,
                      PROJECT_PERIODS_MAX);
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
        validate_id(call, "indicator_id", req->indicator_id, INDICATOR_ID_PREFIX) ||
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
