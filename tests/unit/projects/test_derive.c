/* test_derive.c: the output-only fields of project_derive.h, by the rules
 * documented in proto/compact/projects/v1/projects.proto.
 *
 * - FundingTotals: one row per currency of the transactions, in code order,
 *   none without transactions; pledged = type 13, committed = 11,
 *   received = 1, disbursed = 3, spent = 4, catalytic = 11 flagged
 *   catalytic; other types (2, 5-10, 12) in none; corrections (negative
 *   amounts) subtract; stale totals are replaced;
 * - IndicatorState: the latest period by period_end with both a target and an
 *   actual value decides; none: NO_DATA; qualitative and nominal: NO_DATA;
 *   ON_TRACK within PROJECT_DERIVE_TOLERANCE of |target| (on the other side
 *   for a descending indicator), else OFF_TRACK; project_derive sets the
 *   state of every indicator of every result. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "project_derive.h"

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__Transaction Transaction;
typedef Compact__Projects__V1__Money Money;
typedef Compact__Projects__V1__FundingTotals FundingTotals;
typedef Compact__Projects__V1__Result Result;
typedef Compact__Projects__V1__Indicator Indicator;
typedef Compact__Projects__V1__IndicatorPeriod IndicatorPeriod;
typedef Compact__Projects__V1__IndicatorValue IndicatorValue;

#define T(name) COMPACT__PROJECTS__V1__TRANSACTION_TYPE__TRANSACTION_TYPE_##name
#define M(name) COMPACT__PROJECTS__V1__INDICATOR_MEASURE__INDICATOR_MEASURE_##name
#define NO_DATA COMPACT__PROJECTS__V1__INDICATOR_STATE__INDICATOR_STATE_NO_DATA
#define ON_TRACK COMPACT__PROJECTS__V1__INDICATOR_STATE__INDICATOR_STATE_ON_TRACK
#define OFF_TRACK COMPACT__PROJECTS__V1__INDICATOR_STATE__INDICATOR_STATE_OFF_TRACK

/* ---- building messages that free like unpacked ones ---------------------- */

static char *xstrdup(const char *s)
{
    char *c = strdup(s);

    assert_non_null(c);
    return c;
}

static void *xmalloc(size_t size)
{
    void *p = malloc(size);

    assert_non_null(p);
    return p;
}

static void append(void ***v, size_t *n, void *item)
{
    void **grown = realloc(*v, (*n + 1) * sizeof *grown);

    assert_non_null(grown);
    grown[(*n)++] = item;
    *v = grown;
}

static Project *project_new(void)
{
    Project *p = xmalloc(sizeof *p);

    compact__projects__v1__project__init(p);
    p->id = xstrdup("prj_test");
    return p;
}

static void project_free(Project *p)
{
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

/* Records a transaction of `type` of `amount` minor units of `currency`. */
static Transaction *record(Project *p, int type, const char *currency, int64_t amount)
{
    Transaction *t = xmalloc(sizeof *t);
    Money *m = xmalloc(sizeof *m);

    compact__projects__v1__transaction__init(t);
    compact__projects__v1__money__init(m);
    m->currency = xstrdup(currency);
    m->amount_minor = amount;
    t->type = (Compact__Projects__V1__TransactionType)type;
    t->date = xstrdup("2024-02-01");
    t->value = m;
    append((void ***)&p->transactions, &p->n_transactions, t);
    return t;
}

/* The totals row of `currency`, failing if absent. */
static const FundingTotals *row(const Project *p, const char *currency)
{
    for (size_t i = 0; i < p->n_totals; i++) {
        if (strcmp(p->totals[i]->currency, currency) == 0)
            return p->totals[i];
    }
    print_error("no totals for %s\n", currency);
    fail();
    return NULL;
}

/* The six sums of a row, in the order of FundingTotals. */
static void assert_row(const FundingTotals *t, int64_t pledged, int64_t committed, int64_t received,
                       int64_t disbursed, int64_t spent, int64_t catalytic)
{
    assert_int_equal(t->pledged_minor, pledged);
    assert_int_equal(t->committed_minor, committed);
    assert_int_equal(t->received_minor, received);
    assert_int_equal(t->disbursed_minor, disbursed);
    assert_int_equal(t->spent_minor, spent);
    assert_int_equal(t->catalytic_minor, catalytic);
}

/* ---- funding totals ------------------------------------------------------- */

static void test_no_transactions_no_totals(void **state)
{
    Project *p = project_new();

    assert_int_equal(project_derive(p), 0);
    assert_int_equal(p->n_totals, 0);
    project_free(p);
}

/* Each counted type lands in its own sum and nowhere else. */
static void test_each_type_in_its_sum(void **state)
{
    static const struct {
        int type;
        int64_t want[6]; /* pledged committed received disbursed spent catalytic */
    } cases[] = {
        {T(INCOMING_PLEDGE), {100, 0, 0, 0, 0, 0}}, {T(INCOMING_COMMITMENT), {0, 100, 0, 0, 0, 0}},
        {T(INCOMING_FUNDS), {0, 0, 100, 0, 0, 0}},  {T(DISBURSEMENT), {0, 0, 0, 100, 0, 0}},
        {T(EXPENDITURE), {0, 0, 0, 0, 100, 0}},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Project *p = project_new();
        const int64_t *w = cases[i].want;

        record(p, cases[i].type, "USD", 100);
        assert_int_equal(project_derive(p), 0);
        assert_int_equal(p->n_totals, 1);
        assert_string_equal(p->totals[0]->currency, "USD");
        assert_row(p->totals[0], w[0], w[1], w[2], w[3], w[4], w[5]);
        project_free(p);
    }
}

/* Types 2, 5-10 and 12 are kept but counted in none of the sums; their
 * currency still has its row, as every currency of the transactions does. */
static void test_other_types_count_nowhere(void **state)
{
    static const int others[] = {
        T(OUTGOING_COMMITMENT), T(INTEREST_PAYMENT),   T(LOAN_REPAYMENT),
        T(REIMBURSEMENT),       T(PURCHASE_OF_EQUITY), T(SALE_OF_EQUITY),
        T(CREDIT_GUARANTEE),    T(OUTGOING_PLEDGE),    T(UNSPECIFIED),
    };
    Project *p = project_new();

    record(p, T(INCOMING_FUNDS), "USD", 500);
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        Transaction *t = record(p, others[i], "USD", 1000 + (int64_t)i);
        t->catalytic = 1;
        record(p, others[i], "EUR", 7);
    }
    assert_int_equal(project_derive(p), 0);
    assert_int_equal(p->n_totals, 2);
    assert_row(row(p, "USD"), 0, 0, 500, 0, 0, 0);
    assert_row(row(p, "EUR"), 0, 0, 0, 0, 0, 0);
    project_free(p);
}

/* Catalytic: incoming commitments flagged catalytic, and only those; they
 * count in committed too. */
static void test_catalytic(void **state)
{
    Project *p = project_new();

    record(p, T(INCOMING_COMMITMENT), "USD", 1000)->catalytic = 1;
    record(p, T(INCOMING_COMMITMENT), "USD", 300);
    record(p, T(INCOMING_FUNDS), "USD", 400)->catalytic = 1; /* not a commitment */
    record(p, T(INCOMING_PLEDGE), "USD", 50)->catalytic = 1; /* nor a pledge */
    record(p, T(DISBURSEMENT), "USD", 20)->catalytic = 1;
    assert_int_equal(project_derive(p), 0);
    assert_int_equal(p->n_totals, 1);
    assert_row(row(p, "USD"), 50, 1300, 400, 20, 0, 1000);
    project_free(p);
}

/* A correction is a further transaction with a negative value: it
 * subtracts from the same sum, catalytic ones from catalytic too. */
static void test_corrections_subtract(void **state)
{
    Project *p = project_new();

    record(p, T(INCOMING_COMMITMENT), "EUR", 250000)->catalytic = 1;
    record(p, T(INCOMING_COMMITMENT), "EUR", -50000)->catalytic = 1;
    record(p, T(INCOMING_COMMITMENT), "EUR", 10000);
    record(p, T(EXPENDITURE), "EUR", 9000);
    record(p, T(EXPENDITURE), "EUR", -9000);
    record(p, T(INCOMING_FUNDS), "EUR", -300); /* a correction alone may go negative */
    assert_int_equal(project_derive(p), 0);
    assert_row(row(p, "EUR"), 0, 210000, -300, 0, 0, 200000);
    project_free(p);
}

/* One row per currency, in code order whatever the order of the
 * transactions; amounts of different currencies never mix. */
static void test_currencies_in_code_order(void **state)
{
    Project *p = project_new();

    record(p, T(INCOMING_FUNDS), "USD", 100);
    record(p, T(INCOMING_FUNDS), "EUR", 200);
    record(p, T(INCOMING_FUNDS), "JPY", 30000);
    record(p, T(INCOMING_FUNDS), "CHF", 400);
    record(p, T(INCOMING_FUNDS), "EUR", 5);
    record(p, T(EXPENDITURE), "USD", 60);
    record(p, T(INCOMING_PLEDGE), "AUD", 7);
    assert_int_equal(project_derive(p), 0);
    assert_int_equal(p->n_totals, 5);
    assert_string_equal(p->totals[0]->currency, "AUD");
    assert_string_equal(p->totals[1]->currency, "CHF");
    assert_string_equal(p->totals[2]->currency, "EUR");
    assert_string_equal(p->totals[3]->currency, "JPY");
    assert_string_equal(p->totals[4]->currency, "USD");
    assert_row(p->totals[0], 7, 0, 0, 0, 0, 0);
    assert_row(p->totals[1], 0, 0, 400, 0, 0, 0);
    assert_row(p->totals[2], 0, 0, 205, 0, 0, 0);
    assert_row(p->totals[3], 0, 0, 30000, 0, 0, 0);
    assert_row(p->totals[4], 0, 0, 100, 0, 60, 0);
    project_free(p);
}

/* Totals are derived again from scratch: stale ones (a stored copy, a
 * request's) are replaced, not added to; a second derive changes nothing. */
static void test_derive_replaces_totals(void **state)
{
    Project *p = project_new();
    FundingTotals *stale = xmalloc(sizeof *stale);

    compact__projects__v1__funding_totals__init(stale);
    stale->currency = xstrdup("GBP");
    stale->received_minor = 999;
    append((void ***)&p->totals, &p->n_totals, stale);
    assert_int_equal(project_derive(p), 0);
    assert_int_equal(p->n_totals, 0); /* no transactions: the stale row is gone */

    record(p, T(INCOMING_FUNDS), "USD", 100);
    assert_int_equal(project_derive(p), 0);
    assert_int_equal(project_derive(p), 0);
    assert_int_equal(p->n_totals, 1);
    assert_row(row(p, "USD"), 0, 0, 100, 0, 0, 0);
    project_free(p);
}

/* Large amounts add up exactly (money is never floating point). */
static void test_large_amounts_exact(void **state)
{
    Project *p = project_new();

    record(p, T(INCOMING_COMMITMENT), "USD", 900719925474099300LL); /* > 2^53 */
    record(p, T(INCOMING_COMMITMENT), "USD", 1);
    assert_int_equal(project_derive(p), 0);
    assert_int_equal(row(p, "USD")->committed_minor, 900719925474099301LL);
    project_free(p);
}

/* ---- indicator state ------------------------------------------------------ */

typedef struct period_spec {
    const char *start, *end;
    int has_target, has_actual;
    double target, actual;
} period_spec;

/* An indicator on the stack, with up to 4 periods. */
typedef struct indicator_buf {
    Indicator ind;
    IndicatorPeriod periods[4], *ptrs[4];
    IndicatorValue targets[4], actuals[4];
} indicator_buf;

static Indicator *indicator(indicator_buf *b, int measure, int descending, const period_spec *ps,
                            size_t n)
{
    compact__projects__v1__indicator__init(&b->ind);
    b->ind.measure = (Compact__Projects__V1__IndicatorMeasure)measure;
    b->ind.descending = descending;
    assert_true(n <= 4);
    for (size_t i = 0; i < n; i++) {
        IndicatorPeriod *p = &b->periods[i];
        compact__projects__v1__indicator_period__init(p);
        compact__projects__v1__indicator_value__init(&b->targets[i]);
        compact__projects__v1__indicator_value__init(&b->actuals[i]);
        p->period_start = (char *)ps[i].start;
        p->period_end = (char *)ps[i].end;
        b->targets[i].value = ps[i].target;
        b->actuals[i].value = ps[i].actual;
        p->target = ps[i].has_target ? &b->targets[i] : NULL;
        p->actual = ps[i].has_actual ? &b->actuals[i] : NULL;
        b->ptrs[i] = p;
    }
    b->ind.periods = n ? b->ptrs : NULL;
    b->ind.n_periods = n;
    return &b->ind;
}

/* The state of an indicator with one period of `target` and `actual`. */
static int state_of(int measure, int descending, double target, double actual)
{
    indicator_buf b;
    const period_spec p = {"2024-01-01", "2024-12-31", 1, 1, target, actual};

    return project_derive_indicator_state(indicator(&b, measure, descending, &p, 1));
}

/* ON_TRACK when actual >= target - 10% of |target|, for a descending one
 * when actual <= target + 10% of |target|; the bounds included. */
static void test_state_tolerance(void **state)
{
    static const struct {
        int descending;
        double target, actual;
        int want;
    } cases[] = {
        /* ascending: at least 90% of a positive target */
        {0, 100, 100, ON_TRACK},
        {0, 100, 150, ON_TRACK},
        {0, 100, 90, ON_TRACK},
        {0, 100, 89.9, OFF_TRACK},
        {0, 200, 180, ON_TRACK},
        {0, 200, 179, OFF_TRACK},
        {0, 80, 72, ON_TRACK},
        {0, 80, 71.99, OFF_TRACK},
        /* a negative target: the tolerance is 10% of |target| */
        {0, -50, -55, ON_TRACK},
        {0, -50, -55.5, OFF_TRACK},
        {0, -50, -45, ON_TRACK},
        /* a target of 0: no tolerance */
        {0, 0, 0, ON_TRACK},
        {0, 0, -0.001, OFF_TRACK},
        /* descending: lower is better, up to 10% above the target */
        {1, 10, 11, ON_TRACK},
        {1, 10, 11.01, OFF_TRACK},
        {1, 10, 2, ON_TRACK},
        {1, 20, 22, ON_TRACK},
        {1, 20, 22.5, OFF_TRACK},
        {1, 80, 88, ON_TRACK},
        {1, 80, 88.01, OFF_TRACK},
        {1, 0, 0, ON_TRACK},
        {1, 0, 0.001, OFF_TRACK},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = state_of(M(UNIT), cases[i].descending, cases[i].target, cases[i].actual);
        if (got != cases[i].want)
            print_error("case %zu: descending %d target %g actual %g\n", i, cases[i].descending,
                        cases[i].target, cases[i].actual);
        assert_int_equal(got, cases[i].want);
    }
    /* the constant is the documented 10% */
    assert_true(PROJECT_DERIVE_TOLERANCE == 0.10);
}

/* Qualitative and nominal indicators have no numeric rule; the other
 * measures do. */
static void test_state_measures(void **state)
{
    assert_int_equal(state_of(M(QUALITATIVE), 0, 100, 100), NO_DATA);
    assert_int_equal(state_of(M(QUALITATIVE), 0, 100, 10), NO_DATA);
    assert_int_equal(state_of(M(NOMINAL), 0, 100, 100), NO_DATA);
    assert_int_equal(state_of(M(NOMINAL), 1, 1, 5), NO_DATA);
    assert_int_equal(state_of(M(UNIT), 0, 100, 95), ON_TRACK);
    assert_int_equal(state_of(M(PERCENTAGE), 0, 80, 50), OFF_TRACK);
    assert_int_equal(state_of(M(PERCENTAGE), 0, 80, 75), ON_TRACK);
    assert_int_equal(state_of(M(ORDINAL), 0, 4, 3), OFF_TRACK);
    assert_int_equal(state_of(M(ORDINAL), 0, 4, 4), ON_TRACK);
}

/* The latest period by period_end with both values decides, wherever it
 * is in the list; periods missing either value do not count. */
static void test_state_latest_complete_period(void **state)
{
    static const period_spec off_2024 = {"2024-01-01", "2024-12-31", 1, 1, 100, 50};
    static const period_spec on_2023 = {"2023-01-01", "2023-12-31", 1, 1, 100, 100};
    static const period_spec on_2022 = {"2022-01-01", "2022-12-31", 1, 1, 100, 100};
    static const period_spec target_only_2025 = {"2025-01-01", "2025-12-31", 1, 0, 100, 0};
    static const period_spec actual_only_2025 = {"2025-01-01", "2025-12-31", 0, 1, 0, 10};
    static const period_spec target_only_2023 = {"2023-01-01", "2023-12-31", 1, 0, 100, 0};
    indicator_buf b;

    assert_int_equal(project_derive_indicator_state(indicator(&b, M(UNIT), 0, NULL, 0)), NO_DATA);
    /* only incomplete periods */
    assert_int_equal(project_derive_indicator_state(indicator(
                         &b, M(UNIT), 0, (period_spec[]){target_only_2023, actual_only_2025}, 2)),
                     NO_DATA);
    /* in order, and out of order: 2024 decides */
    assert_int_equal(project_derive_indicator_state(
                         indicator(&b, M(UNIT), 0, (period_spec[]){on_2023, off_2024}, 2)),
                     OFF_TRACK);
    assert_int_equal(project_derive_indicator_state(
                         indicator(&b, M(UNIT), 0, (period_spec[]){off_2024, on_2023}, 2)),
                     OFF_TRACK);
    assert_int_equal(project_derive_indicator_state(
                         indicator(&b, M(UNIT), 0, (period_spec[]){on_2022, off_2024, on_2023}, 3)),
                     OFF_TRACK);
    /* a later period without an actual (or a target) is not yet a result */
    assert_int_equal(project_derive_indicator_state(
                         indicator(&b, M(UNIT), 0, (period_spec[]){on_2023, target_only_2025}, 2)),
                     ON_TRACK);
    assert_int_equal(
        project_derive_indicator_state(
            indicator(&b, M(UNIT), 0,
                      (period_spec[]){actual_only_2025, off_2024, on_2023, target_only_2025}, 4)),
        OFF_TRACK);
}

/* project_derive sets every indicator of every result, and the totals, in
 * one call. */
static void test_derive_sets_every_indicator(void **state)
{
    static const period_spec on = {"2024-01-01", "2024-12-31", 1, 1, 10, 10};
    static const period_spec off = {"2024-01-01", "2024-12-31", 1, 1, 10, 1};
    indicator_buf b1, b2, b3;
    Indicator *i1 = indicator(&b1, M(UNIT), 0, &on, 1);
    Indicator *i2 = indicator(&b2, M(UNIT), 0, &off, 1);
    Indicator *i3 = indicator(&b3, M(QUALITATIVE), 0, &on, 1);
    Indicator *first[] = {i1}, *second[] = {i2, i3};
    Result r1, r2, *results[] = {&r1, &r2};
    Project p;

    compact__projects__v1__result__init(&r1);
    compact__projects__v1__result__init(&r2);
    r1.indicators = first;
    r1.n_indicators = 1;
    r2.indicators = second;
    r2.n_indicators = 2;
    compact__projects__v1__project__init(&p);
    p.results = results;
    p.n_results = 2;
    i1->state = i2->state = i3->state =
        COMPACT__PROJECTS__V1__INDICATOR_STATE__INDICATOR_STATE_UNSPECIFIED;
    assert_int_equal(project_derive(&p), 0);
    assert_int_equal(i1->state, ON_TRACK);
    assert_int_equal(i2->state, OFF_TRACK);
    assert_int_equal(i3->state, NO_DATA);
    assert_int_equal(p.n_totals, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_transactions_no_totals),
        cmocka_unit_test(test_each_type_in_its_sum),
        cmocka_unit_test(test_other_types_count_nowhere),
        cmocka_unit_test(test_catalytic),
        cmocka_unit_test(test_corrections_subtract),
        cmocka_unit_test(test_currencies_in_code_order),
        cmocka_unit_test(test_derive_replaces_totals),
        cmocka_unit_test(test_large_amounts_exact),
        cmocka_unit_test(test_state_tolerance),
        cmocka_unit_test(test_state_measures),
        cmocka_unit_test(test_state_latest_complete_period),
        cmocka_unit_test(test_derive_sets_every_indicator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
