/* test_edit.c: a project's own in-memory rules, project_edit.h.
 *
 * - project_edit_normalise: the canonical order in which projects are stored
 *   and read back: transactions by date, equal dates in the order recorded
 *   (stable); pillars sorted; every indicator's periods by start; nothing
 *   else reordered;
 * - project_edit_assign_result_ids / assign_indicator_id: fresh ids of the
 *   documented shape, IDS_RESULT and IDS_INDICATOR prefixes (base/ids.h);
 * - project_edit_find_result / find_indicator: by id, across results;
 * - project_edit_clear_output: the output-only fields gone (freed, which
 *   the sanitizer build checks), the input fields kept;
 * - project_edit_append. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "ids.h"
#include "project_edit.h"
#include "validate.h"

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__Transaction Transaction;
typedef Compact__Projects__V1__FundingTotals FundingTotals;
typedef Compact__Projects__V1__IndicatorPeriod IndicatorPeriod;

#define PILLAR(n) ((Compact__Projects__V1__StrategyPillar)(n))

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

static void push(void ***v, size_t *n, void *item)
{
    assert_int_equal(project_edit_append(v, n, item), 0);
}

static Project *project_new(void)
{
    Project *p = xmalloc(sizeof *p);

    compact__projects__v1__project__init(p);
    p->title = xstrdup("Border security training");
    return p;
}

static void project_free(Project *p)
{
    protobuf_c_message_free_unpacked(&p->base, NULL);
}

/* A transaction on `date`, told apart by its description. */
static void add_transaction(Project *p, const char *date, const char *description)
{
    Transaction *t = xmalloc(sizeof *t);

    compact__projects__v1__transaction__init(t);
    t->id = xstrdup("trn_x");
    t->type = COMPACT__PROJECTS__V1__TRANSACTION_TYPE__TRANSACTION_TYPE_INCOMING_FUNDS;
    t->date = xstrdup(date);
    t->description = xstrdup(description);
    t->value = xmalloc(sizeof *t->value);
    compact__projects__v1__money__init(t->value);
    t->value->currency = xstrdup("USD");
    t->value->amount_minor = 100;
    push((void ***)&p->transactions, &p->n_transactions, t);
}

static Result *add_result(Project *p, const char *id, const char *title)
{
    Result *r = xmalloc(sizeof *r);

    compact__projects__v1__result__init(r);
    if (id)
        r->id = xstrdup(id);
    r->title = xstrdup(title);
    r->type = COMPACT__PROJECTS__V1__RESULT_TYPE__RESULT_TYPE_OUTPUT;
    push((void ***)&p->results, &p->n_results, r);
    return r;
}

static Indicator *add_indicator(Result *r, const char *id, const char *title)
{
    Indicator *ind = xmalloc(sizeof *ind);

    compact__projects__v1__indicator__init(ind);
    if (id)
        ind->id = xstrdup(id);
    ind->title = xstrdup(title);
    ind->measure = COMPACT__PROJECTS__V1__INDICATOR_MEASURE__INDICATOR_MEASURE_UNIT;
    push((void ***)&r->indicators, &r->n_indicators, ind);
    return ind;
}

static void add_period(Indicator *ind, const char *start, const char *end)
{
    IndicatorPeriod *p = xmalloc(sizeof *p);

    compact__projects__v1__indicator_period__init(p);
    p->period_start = xstrdup(start);
    p->period_end = xstrdup(end);
    push((void ***)&ind->periods, &ind->n_periods, p);
}

static void set_pillars(Project *p, const int *v, size_t n)
{
    p->pillars = xmalloc(n * sizeof *p->pillars);
    for (size_t i = 0; i < n; i++)
        p->pillars[i] = PILLAR(v[i]);
    p->n_pillars = n;
}

static Google__Protobuf__Timestamp *timestamp(int64_t seconds)
{
    Google__Protobuf__Timestamp *t = xmalloc(sizeof *t);

    google__protobuf__timestamp__init(t);
    t->seconds = seconds;
    return t;
}

/* ---- canonical order ------------------------------------------------------ */

/* Transactions by date; equal dates keep the order recorded. */
static void test_normalise_transactions_stable_by_date(void **state)
{
    static const char *const recorded[][2] = {
        {"2024-03-01", "a"}, {"2024-01-01", "b"}, {"2024-03-01", "c"},
        {"2023-12-31", "d"}, {"2024-01-01", "e"}, {"2024-03-01", "f"},
        {"2024-01-01", "g"}, {"2025-01-01", "h"}, {"2024-01-01", "i"},
    };
    static const char *const want = "dbegiacfh";
    Project *p = project_new();

    for (size_t i = 0; i < sizeof recorded / sizeof recorded[0]; i++)
        add_transaction(p, recorded[i][0], recorded[i][1]);
    project_edit_normalise(p);
    assert_int_equal(p->n_transactions, strlen(want));
    for (size_t i = 0; i < p->n_transactions; i++) {
        char d[2] = {want[i], '\0'};
        assert_string_equal(p->transactions[i]->description, d);
        if (i > 0)
            assert_true(strcmp(p->transactions[i - 1]->date, p->transactions[i]->date) <= 0);
    }
    /* already in order: unchanged, so normalising twice is normalising once */
    project_edit_normalise(p);
    for (size_t i = 0; i < p->n_transactions; i++) {
        char d[2] = {want[i], '\0'};
        assert_string_equal(p->transactions[i]->description, d);
    }
    project_free(p);
}

/* The newest transaction, recorded last but dated earliest, moves before
 * all later-dated ones and after those of its own date. */
static void test_normalise_new_transaction_back_dated(void **state)
{
    Project *p = project_new();

    add_transaction(p, "2024-01-01", "first");
    add_transaction(p, "2024-02-01", "second");
    add_transaction(p, "2024-03-01", "third");
    add_transaction(p, "2024-01-01", "back-dated");
    project_edit_normalise(p);
    assert_string_equal(p->transactions[0]->description, "first");
    assert_string_equal(p->transactions[1]->description, "back-dated");
    assert_string_equal(p->transactions[2]->description, "second");
    assert_string_equal(p->transactions[3]->description, "third");
    project_free(p);
}

static void test_normalise_pillars_sorted(void **state)
{
    static const int pillars[] = {4, 2, 3, 1};
    Project *p = project_new();

    set_pillars(p, pillars, 4);
    project_edit_normalise(p);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(p->pillars[i], (int)i + 1);
    project_free(p);

    /* one pillar, and none */
    p = project_new();
    set_pillars(p, (const int[]){3}, 1);
    project_edit_normalise(p);
    assert_int_equal(p->n_pillars, 1);
    assert_int_equal(p->pillars[0], 3);
    project_free(p);
    p = project_new();
    project_edit_normalise(p);
    assert_int_equal(p->n_pillars, 0);
    project_free(p);
}

/* The periods of every indicator of every result by start. */
static void test_normalise_periods_by_start(void **state)
{
    Project *p = project_new();
    Result *r1 = add_result(p, "res_1", "first"), *r2 = add_result(p, "res_2", "second");
    Indicator *a = add_indicator(r1, "ind_a", "a"), *b = add_indicator(r2, "ind_b", "b");
    Indicator *c = add_indicator(r2, "ind_c", "c");

    add_period(a, "2025-01-01", "2025-12-31");
    add_period(a, "2023-01-01", "2023-12-31");
    add_period(a, "2024-01-01", "2024-12-31");
    add_period(b, "2024-07-01", "2024-12-31");
    add_period(b, "2024-01-01", "2024-06-30");
    add_period(c, "2020-01-01", "2020-12-31");
    project_edit_normalise(p);
    assert_string_equal(a->periods[0]->period_start, "2023-01-01");
    assert_string_equal(a->periods[1]->period_start, "2024-01-01");
    assert_string_equal(a->periods[2]->period_start, "2025-01-01");
    assert_string_equal(a->periods[2]->period_end, "2025-12-31"); /* whole periods move */
    assert_string_equal(b->periods[0]->period_start, "2024-01-01");
    assert_string_equal(b->periods[0]->period_end, "2024-06-30");
    assert_string_equal(b->periods[1]->period_start, "2024-07-01");
    assert_string_equal(c->periods[0]->period_start, "2020-01-01");
    project_free(p);
}

/* Nothing but those three is reordered: groups, themes, results and
 * indicators stay in the order given. */
static void test_normalise_nothing_else(void **state)
{
    Project *p = project_new();
    Result *r1 = add_result(p, "res_z", "z"), *r2 = add_result(p, "res_a", "a");

    add_indicator(r1, "ind_z", "z");
    add_indicator(r1, "ind_a", "a");
    push((void ***)&p->working_group_ids, &p->n_working_group_ids, xstrdup("wg_z"));
    push((void ***)&p->working_group_ids, &p->n_working_group_ids, xstrdup("wg_a"));
    push((void ***)&p->themes, &p->n_themes, xstrdup("zebra"));
    push((void ***)&p->themes, &p->n_themes, xstrdup("aardvark"));
    push((void ***)&p->recipient_countries, &p->n_recipient_countries, xstrdup("UG"));
    push((void ***)&p->recipient_countries, &p->n_recipient_countries, xstrdup("KE"));
    project_edit_normalise(p);
    assert_string_equal(p->working_group_ids[0], "wg_z");
    assert_string_equal(p->themes[0], "zebra");
    assert_string_equal(p->recipient_countries[0], "UG");
    assert_ptr_equal(p->results[0], r1);
    assert_ptr_equal(p->results[1], r2);
    assert_string_equal(r1->indicators[0]->id, "ind_z");
    project_free(p);
}

/* ---- ids and lookups ------------------------------------------------------ */

/* `id` is `prefix` and IDS_RANDOM_CHARS characters of a-z, 2-7. */
static void assert_id_shape(const char *id, const char *prefix)
{
    size_t n = strlen(prefix);

    assert_int_equal(strlen(id), n + IDS_RANDOM_CHARS);
    assert_memory_equal(id, prefix, n);
    for (const char *c = id + n; *c; c++)
        assert_true((*c >= 'a' && *c <= 'z') || (*c >= '2' && *c <= '7'));
    assert_null(validate_id_problem(id, prefix));
}

static void test_assign_result_ids(void **state)
{
    Project *p = project_new();
    Result *r = add_result(p, NULL, "Officers trained");
    Indicator *a = add_indicator(r, NULL, "a"), *b = add_indicator(r, "ind_old", "b");
    char first[IDS_SIZE];

    assert_string_equal(IDS_RESULT, "res_");
    assert_string_equal(IDS_INDICATOR, "ind_");
    assert_int_equal(project_edit_assign_result_ids(r), 0);
    assert_id_shape(r->id, IDS_RESULT);
    assert_id_shape(a->id, IDS_INDICATOR);
    assert_id_shape(b->id, IDS_INDICATOR); /* an old id is replaced */
    assert_string_not_equal(a->id, b->id);
    /* fresh every time */
    snprintf(first, sizeof first, "%s", r->id);
    assert_int_equal(project_edit_assign_result_ids(r), 0);
    assert_id_shape(r->id, IDS_RESULT);
    assert_string_not_equal(r->id, first);
    project_free(p);

    /* a result without indicators */
    p = project_new();
    r = add_result(p, NULL, "empty");
    assert_int_equal(project_edit_assign_result_ids(r), 0);
    assert_id_shape(r->id, IDS_RESULT);
    project_free(p);
}

static void test_assign_indicator_id(void **state)
{
    Project *p = project_new();
    Result *r = add_result(p, "res_keep", "r");
    Indicator *a = add_indicator(r, NULL, "a"), *b = add_indicator(r, NULL, "b");

    assert_int_equal(project_edit_assign_indicator_id(a), 0);
    assert_int_equal(project_edit_assign_indicator_id(b), 0);
    assert_id_shape(a->id, IDS_INDICATOR);
    assert_id_shape(b->id, IDS_INDICATOR);
    assert_string_not_equal(a->id, b->id);
    assert_string_equal(r->id, "res_keep"); /* only the indicator's */
    project_free(p);
}

static void test_find_result_and_indicator(void **state)
{
    Project *p = project_new();
    Result *r1 = add_result(p, "res_one", "one"), *r2 = add_result(p, "res_two", "two");
    Indicator *a = add_indicator(r1, "ind_a", "a"), *b = add_indicator(r2, "ind_b", "b");
    Indicator *c = add_indicator(r2, "ind_c", "c");

    assert_ptr_equal(project_edit_find_result(p, "res_one"), r1);
    assert_ptr_equal(project_edit_find_result(p, "res_two"), r2);
    assert_null(project_edit_find_result(p, "res_three"));
    assert_null(project_edit_find_result(p, "ind_a")); /* an indicator is no result */
    assert_null(project_edit_find_result(p, "res_on"));
    assert_ptr_equal(project_edit_find_indicator(p, "ind_a"), a);
    assert_ptr_equal(project_edit_find_indicator(p, "ind_b"), b);
    assert_ptr_equal(project_edit_find_indicator(p, "ind_c"), c);
    assert_null(project_edit_find_indicator(p, "ind_d"));
    assert_null(project_edit_find_indicator(p, "res_one"));
    project_free(p);

    /* a project without results */
    p = project_new();
    assert_null(project_edit_find_result(p, "res_one"));
    assert_null(project_edit_find_indicator(p, "ind_a"));
    project_free(p);
}

static void test_append(void **state)
{
    char **v = NULL;
    size_t n = 0;

    for (int i = 0; i < 5; i++) {
        char s[8];
        snprintf(s, sizeof s, "s%d", i);
        assert_int_equal(project_edit_append((void ***)&v, &n, xstrdup(s)), 0);
    }
    assert_int_equal(n, 5);
    assert_string_equal(v[0], "s0");
    assert_string_equal(v[4], "s4");
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- clearing the output-only fields -------------------------------------- */

static void test_clear_output(void **state)
{
    Project *p = project_new();
    Result *r = add_result(p, "res_1", "Officers trained");
    Indicator *ind = add_indicator(r, "ind_1", "Officers");
    FundingTotals *t = xmalloc(sizeof *t);

    p->id = xstrdup("prj_abc");
    p->iati_identifier = xstrdup("XM-TEST-P1");
    p->etag = xstrdup("\"7\"");
    p->start_date = xstrdup("2024-01-01");
    set_pillars(p, (const int[]){2}, 1);
    add_transaction(p, "2024-01-01", "a");
    add_transaction(p, "2024-02-01", "b");
    compact__projects__v1__funding_totals__init(t);
    t->currency = xstrdup("USD");
    t->received_minor = 200;
    push((void ***)&p->totals, &p->n_totals, t);
    p->create_time = timestamp(1700000000);
    p->update_time = timestamp(1700000100);
    ind->state = COMPACT__PROJECTS__V1__INDICATOR_STATE__INDICATOR_STATE_ON_TRACK;
    add_period(ind, "2024-01-01", "2024-12-31");

    project_edit_clear_output(p);
    /* output only: gone */
    assert_string_equal(p->id, "");
    assert_string_equal(p->etag, "");
    assert_int_equal(p->n_transactions, 0);
    assert_null(p->transactions);
    assert_int_equal(p->n_totals, 0);
    assert_null(p->totals);
    assert_null(p->create_time);
    assert_null(p->update_time);
    assert_string_equal(r->id, "");
    assert_string_equal(ind->id, "");
    assert_int_equal(ind->state, 0);
    /* input: kept */
    assert_string_equal(p->title, "Border security training");
    assert_string_equal(p->iati_identifier, "XM-TEST-P1");
    assert_string_equal(p->start_date, "2024-01-01");
    assert_int_equal(p->n_pillars, 1);
    assert_int_equal(p->n_results, 1);
    assert_ptr_equal(p->results[0], r);
    assert_string_equal(r->title, "Officers trained");
    assert_int_equal(r->n_indicators, 1);
    assert_string_equal(ind->title, "Officers");
    assert_int_equal(ind->n_periods, 1);
    /* clearing again is harmless, and the ids can be assigned afresh */
    project_edit_clear_output(p);
    assert_int_equal(project_edit_assign_result_ids(r), 0);
    assert_id_shape(ind->id, IDS_INDICATOR);
    project_free(p);

    /* a project with nothing to clear */
    p = project_new();
    project_edit_clear_output(p);
    assert_string_equal(p->id, "");
    assert_string_equal(p->title, "Border security training");
    project_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise_transactions_stable_by_date),
        cmocka_unit_test(test_normalise_new_transaction_back_dated),
        cmocka_unit_test(test_normalise_pillars_sorted),
        cmocka_unit_test(test_normalise_periods_by_start),
        cmocka_unit_test(test_normalise_nothing_else),
        cmocka_unit_test(test_assign_result_ids),
        cmocka_unit_test(test_assign_indicator_id),
        cmocka_unit_test(test_find_result_and_indicator),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_clear_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
