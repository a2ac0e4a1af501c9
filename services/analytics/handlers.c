/* handlers.c: the RPCs of compact.analytics.v1.Analytics (see handlers.h). */
#include "handlers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics_store.h"
#include "consumer.h"
#include "feed.h"
#include "ids.h"
#include "iso_codes.h"
#include "log.h"
#include "pbstr.h"
#include "status.h"
#include "txn.h"
#include "validate.h"

typedef Compact__Analytics__V1__Filter Filter;
typedef Compact__Analytics__V1__ExchangeRate ExchangeRate;

#define YEAR_MIN 1945 /* the UN's first year */
#define YEAR_MAX 2200
#define NOTE_MAX_CHARS 2000
#define USD_MICROS_MAX 1000000000000LL /* a million dollars a unit */

/* ---- questions ------------------------------------------------------------------------ */

const char *analytics_filter_problem(const analytics *a, int year, const char *group_id, int pillar,
                                     const char **field, int *not_found)
{
    const char *p;

    *not_found = 0;
    if (year != 0 && (year < YEAR_MIN || year > YEAR_MAX)) {
        *field = "year";
        return "must be 0 (every year) or a year from 1945 to 2200";
    }
    if (pillar < 0 || pillar >= FACTS_PILLARS) {
        *field = "pillar";
        return "must be 0 (every pillar) or a Strategy pillar, 1 to 4";
    }
    if (group_id[0] && (p = validate_id_problem(group_id, IDS_GROUP)) != NULL) {
        *field = "working_group_id";
        return p;
    }
    if (group_id[0] && model_group(a->model, group_id) == NULL) {
        *field = "working_group_id";
        *not_found = 1;
        return "no working group with this id";
    }
    return NULL;
}

/* Fills `q` from `f` (may be NULL); fails the call and returns -1 if it may
 * not be asked. */
static int read_filter(rpc_call *call, const analytics *a, const Filter *f, answer_question *q)
{
    const char *field = NULL, *problem;
    int not_found;

    if (f == NULL)
        return 0;
    problem =
        analytics_filter_problem(a, f->year, f->working_group_id, f->pillar, &field, &not_found);
    if (problem && not_found) {
        status_fail_not_found(call, "filter.working_group_id", "working group", "id",
                              f->working_group_id);
        return -1;
    }
    if (problem) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "filter.%s: %s", field, problem);
        return -1;
    }
    q->year = f->year;
    q->pillar = f->pillar;
    snprintf(q->group_id, sizeof q->group_id, "%s", f->working_group_id);
    return 0;
}

static void answer(rpc_call *call, analytics *a, const answer_question *q)
{
    const void *data;
    size_t len;
    int rc = answers_get(a->answers, q, ANSWER_PROTOBUF, &data, &len);

    if (rc != 0)
        status_fail_store(call, rc, "the answer could not be made");
    else
        rpc_call_reply_bytes(call, data, len);
}

void handle_get_overview(rpc_call *call, const ProtobufCMessage *request, void *arg)
{
    const Compact__Analytics__V1__GetOverviewRequest *req = (const void *)request;
    analytics *a = analytics_of(arg);
    answer_question q = {.kind = ANSWER_OVERVIEW};

    if (read_filter(call, a, req->filter, &q) == 0)
        answer(call, a, &q);
}

void handle_get_funding_breakdown(rpc_call *call, const ProtobufCMessage *request, void *arg)
{
    const Compact__Analytics__V1__GetFundingBreakdownRequest *req = (const void *)request;
    analytics *a = analytics_of(arg);
    answer_question q = {.kind = ANSWER_FUNDING, .by = req->by};

    if (validate_enum(call, "by", &compact__analytics__v1__breakdown_by__descriptor, req->by, 1) ||
        read_filter(call, a, req->filter, &q))
        return;
    answer(call, a, &q);
}

void handle_get_participation(rpc_call *call, const ProtobufCMessage *request, void *arg)
{
    const Compact__Analytics__V1__GetParticipationRequest *req = (const void *)request;
    analytics *a = analytics_of(arg);
    answer_question q = {.kind = ANSWER_PARTICIPATION};

    if (read_filter(call, a, req->filter, &q) == 0)
        answer(call, a, &q);
}

void handle_get_coverage(rpc_call *call, const ProtobufCMessage *request, void *arg)
{
    const Compact__Analytics__V1__GetCoverageRequest *req = (const void *)request;
    analytics *a = analytics_of(arg);
    answer_question q = {.kind = ANSWER_COVERAGE};

    if (read_filter(call, a, req->filter, &q) == 0)
        answer(call, a, &q);
}

void handle_list_duplication_alerts(rpc_call *call, const ProtobufCMessage *request, void *arg)
{
    const Compact__Analytics__V1__ListDuplicationAlertsRequest *req = (const void *)request;
    analytics *a = analytics_of(arg);
    answer_question q = {.kind = ANSWER_ALERTS,
                         .limit = req->limit ? req->limit : ANSWERS_ALERTS_DEFAULT};

    if (req->limit < 0 || req->limit > ANSWERS_ALERTS_MAX) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "limit: must be 0 (%d) to %d",
                      ANSWERS_ALERTS_DEFAULT, ANSWERS_ALERTS_MAX);
        return;
    }
    if (read_filter(call, a, req->filter, &q) == 0)
        answer(call, a, &q);
}

void handle_get_monitoring(rpc_call *call, const ProtobufCMessage *request, void *arg)
{
    const Compact__Analytics__V1__GetMonitoringRequest *req = (const void *)request;
    analytics *a = analytics_of(arg);
    answer_question q = {.kind = ANSWER_MONITORING};

    if (read_filter(call, a, req->filter, &q) == 0)
        answer(call, a, &q);
}

void handle_get_activity(rpc_call *call, const ProtobufCMessage *request, void *arg)
{
    const Compact__Analytics__V1__GetActivityRequest *req = (const void *)request;
    answer_question q = {.kind = ANSWER_ACTIVITY,
                         .months = req->months ? req->months : ANSWERS_MONTHS_DEFAULT};

    if (req->months < 0 || req->months > ANSWERS_MONTHS_MAX) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "months: must be 0 (%d) to %d",
                      ANSWERS_MONTHS_DEFAULT, ANSWERS_MONTHS_MAX);
        return;
    }
    answer(call, analytics_of(arg), &q);
}

void handle_watch_overview(rpc_call *call, const ProtobufCMessage *request, void *arg)
{
    const Compact__Analytics__V1__GetOverviewRequest *req = (const void *)request;
    analytics *a = analytics_of(arg);
    answer_question q = {.kind = ANSWER_OVERVIEW};

    if (read_filter(call, a, req->filter, &q) == 0)
        feed_watch(a->feed, call, &q);
}

/* ---- rebuild -------------------------------------------------------------------------- */

typedef struct rebuild_asked {
    rpc_call *call;
    analytics *a;
} rebuild_asked;

static void on_rebuilt(void *arg, int rc, const char *message, const rebuild_result *r)
{
    rebuild_asked *asked = arg;
    rpc_call *call = asked->call;
    analytics *a = asked->a;
    Compact__Analytics__V1__RebuildResponse resp = COMPACT__ANALYTICS__V1__REBUILD_RESPONSE__INIT;
    arena *ar;
    ProtobufCMessage *fresh;
    answer_question q = {.kind = ANSWER_OVERVIEW};

    free(asked);
    if (rc != 0) {
        rpc_call_fail(call,
                      rc == -EHOSTUNREACH || rc == -EBUSY ? RPC_UNAVAILABLE : status_of_errno(rc),
                      "rebuild: %s", message ? message : strerror(-rc));
        return;
    }
    resp.entities = r->entities;
    resp.working_groups = r->working_groups;
    resp.projects = r->projects;
    resp.differences = r->differences;
    if (answers_build(a->answers, &q, &ar, &fresh) != 0) {
        rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    resp.freshness = ((Compact__Analytics__V1__Overview *)fresh)->freshness;
    rpc_call_reply(call, &resp.base);
    arena_free(ar);
}

void handle_rebuild(rpc_call *call, const ProtobufCMessage *request, void *arg)
{
    rebuild_asked *asked = malloc(sizeof *asked);

    (void)request;
    if (asked == NULL) {
        rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    *asked = (rebuild_asked){call, analytics_of(arg)};
    consumer_rebuild(asked->a->consumer, on_rebuilt, asked);
}

/* ---- exchange rates ----------------------------------------------------------------------- */

static int check_rate(rpc_call *call, const ExchangeRate *r)
{
    if (validate_present(call, "rate", r))
        return -1;
    if (validate_required_string(call, "rate.currency", r->currency, 3))
        return -1;
    if (strcmp(r->currency, "USD") == 0 || iso_currency_minor_units(r->currency) < 0) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "rate.currency: \"%s\" is not an ISO 4217 currency other than USD",
                      r->currency);
        return -1;
    }
    if (validate_date(call, "rate.valid_from", r->valid_from))
        return -1;
    if (r->usd_micros <= 0 || r->usd_micros > USD_MICROS_MAX) {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT,
                      "rate.usd_micros: must be 1 to %lld (US dollars per unit, in millionths)",
                      USD_MICROS_MAX);
        return -1;
    }
    return validate_text(call, "rate.source_note", r->source_note, NOTE_MAX_CHARS);
}

void handle_put_exchange_rate(rpc_call *call, const ProtobufCMessage *request, void *arg)
{
    const Compact__Analytics__V1__PutExchangeRateRequest *req = (const void *)request;
    service *svc = arg;
    analytics *a = analytics_of(svc);
    const ExchangeRate *r = req->rate;
    char id[32];
    outbox_event ev = {
        .service = "analytics",
        .aggregate_type = "exchange_rate",
        .aggregate_id = id,
        .type = "exchange_rate.put",
    };
    int rc;

    if (check_rate(call, r) || txn_begin(call, service_store(svc)))
        return;
    snprintf(id, sizeof id, "%s:%s", r->currency, r->valid_from);
    ev.state = &r->base;
    rc = analytics_store_put_rate(service_store(svc), r);
    if (txn_finish(call, svc, rc, &ev, &r->base) != 0)
        return;
    /* Committed: the figures follow at once (the reply waits for the disk). */
    if (model_put_rate(a->model, r->currency, r->valid_from, r->usd_micros) != 0)
        log_fmt(LOG_LEVEL_ERROR, "rate %s kept, figures not converted: out of memory", id);
    analytics_changed(a);
}

void handle_list_exchange_rates(rpc_call *call, const ProtobufCMessage *request, void *arg)
{
    const Compact__Analytics__V1__ListExchangeRatesRequest *req = (const void *)request;
    Compact__Analytics__V1__ListExchangeRatesResponse resp =
        COMPACT__ANALYTICS__V1__LIST_EXCHANGE_RATES_RESPONSE__INIT;
    ExchangeRate **all;
    size_t n, kept = 0;
    int rc;

    if (req->currency[0] && validate_required_string(call, "currency", req->currency, 3))
        return;
    if ((rc = analytics_store_rates(service_store(arg), &all, &n)) != 0) {
        status_fail_store(call, rc, "the rates could not be read");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!req->currency[0] || strcmp(all[i]->currency, req->currency) == 0)
            all[kept++] = all[i];
        else
            protobuf_c_message_free_unpacked(&all[i]->base, NULL);
    }
    resp.rates = all;
    resp.n_rates = kept;
    rpc_call_reply(call, &resp.base);
    for (size_t i = 0; i < kept; i++)
        protobuf_c_message_free_unpacked(&all[i]->base, NULL);
    free(all);
}
