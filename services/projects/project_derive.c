/* project_derive.c: funding totals and indicator states (see project_derive.h). */
#include "project_derive.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef Compact__Projects__V1__FundingTotals FundingTotals;
typedef Compact__Projects__V1__Indicator Indicator;
typedef Compact__Projects__V1__IndicatorPeriod IndicatorPeriod;
typedef Compact__Projects__V1__Transaction Transaction;

/* ---- indicator state ---------------------------------------------------- */

int project_derive_indicator_state(const Indicator *ind)
{
    const IndicatorPeriod *latest = NULL;

    if (ind->measure == COMPACT__PROJECTS__V1__INDICATOR_MEASURE__INDICATOR_MEASURE_QUALITATIVE ||
        ind->measure == COMPACT__PROJECTS__V1__INDICATOR_MEASURE__INDICATOR_MEASURE_NOMINAL)
        return COMPACT__PROJECTS__V1__INDICATOR_STATE__INDICATOR_STATE_NO_DATA;
    /* Dates are YYYY-MM-DD, so comparing the strings compares the days. */
    for (size_t i = 0; i < ind->n_periods; i++) {
        const IndicatorPeriod *p = ind->periods[i];
        if (p->target == NULL || p->actual == NULL)
            continue;
        if (latest == NULL || strcmp(p->period_end, latest->period_end) > 0)
            latest = p;
    }
    if (latest == NULL)
        return COMPACT__PROJECTS__V1__INDICATOR_STATE__INDICATOR_STATE_NO_DATA;
    double target = latest->target->value, actual = latest->actual->value;
    double tolerance = PROJECT_DERIVE_TOLERANCE * fabs(target);
    int on_track = ind->descending ? actual <= target + tolerance : actual >= target - tolerance;
    return on_track ? COMPACT__PROJECTS__V1__INDICATOR_STATE__INDICATOR_STATE_ON_TRACK
                    : COMPACT__PROJECTS__V1__INDICATOR_STATE__INDICATOR_STATE_OFF_TRACK;
}

/* ---- funding totals ----------------------------------------------------- */

/* The totals row of `currency` in v[0..*n), added in code order if new. */
static FundingTotals *totals_row(FundingTotals **v, size_t *n, const char *currency)
{
    size_t i = 0;

    while (i < *n && strcmp(v[i]->currency, currency) < 0)
        i++;
    if (i < *n && strcmp(v[i]->currency, currency) == 0)
        return v[i];
    FundingTotals *t = malloc(sizeof *t);
    char *code = strdup(currency);
    if (t == NULL || code == NULL) {
        free(t);
        free(code);
        return NULL;
    }
    compact__projects__v1__funding_totals__init(t);
    t->currency = code;
    memmove(&v[i + 1], &v[i], (*n - i) * sizeof *v);
    v[i] = t;
    (*n)++;
    return t;
}

static void totals_add(FundingTotals *t, const Transaction *tr)
{
    int64_t a = tr->value->amount_minor;

    switch (tr->type) {
    case COMPACT__PROJECTS__V1__TRANSACTION_TYPE__TRANSACTION_TYPE_INCOMING_PLEDGE:
        t->pledged_minor += a;
        break;
    case COMPACT__PROJECTS__V1__TRANSACTION_TYPE__TRANSACTION_TYPE_INCOMING_COMMITMENT:
        t->committed_minor += a;
        if (tr->catalytic)
            t->catalytic_minor += a;
        break;
    case COMPACT__PROJECTS__V1__TRANSACTION_TYPE__TRANSACTION_TYPE_INCOMING_FUNDS:
        t->received_minor += a;
        break;
    case COMPACT__PROJECTS__V1__TRANSACTION_TYPE__TRANSACTION_TYPE_DISBURSEMENT:
        t->disbursed_minor += a;
        break;
    case COMPACT__PROJECTS__V1__TRANSACTION_TYPE__TRANSACTION_TYPE_EXPENDITURE:
        t->spent_minor += a;
        break;
    default:
        break;
    }
}

static void totals_free(FundingTotals **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked(&v[i]->base, NULL);
    free(v);
}

/* Amounts are bounded when recorded (see project_check.h), so these sums of
 * a bounded number of bounded values cannot overflow int64. */
static int derive_totals(Compact__Projects__V1__Project *p)
{
    FundingTotals **v = NULL;
    size_t n = 0;

    if (p->n_transactions > 0 && (v = calloc(p->n_transactions, sizeof *v)) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < p->n_transactions; i++) {
        const Transaction *tr = p->transactions[i];
        if (tr->value == NULL)
            continue;
        FundingTotals *t = totals_row(v, &n, tr->value->currency);
        if (t == NULL) {
            totals_free(v, n);
            return -ENOMEM;
        }
        totals_add(t, tr);
    }
    totals_free(p->totals, p->n_totals);
    p->totals = v;
    p->n_totals = n;
    return 0;
}

int project_derive(Compact__Projects__V1__Project *p)
{
    for (size_t r = 0; r < p->n_results; r++) {
        Compact__Projects__V1__Result *res = p->results[r];
        for (size_t i = 0; i < res->n_indicators; i++)
            res->indicators[i]->state = project_derive_indicator_state(res->indicators[i]);
    }
    return derive_totals(p);
}
