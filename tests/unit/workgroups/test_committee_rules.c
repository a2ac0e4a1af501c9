/* test_committee_rules.c: the rules of rules.h that the Coordination
 * Committee's decisions and information-sharing brought.
 *
 * - terms of reference: a repeat is the same text, date and decision_ref;
 *   the same decision's content is text and date;
 * - approved work plans: the period (start before end), the items (at least
 *   one, none twice, each of the group), the order of approvals, sameness;
 * - leadership history: sameness of two leaderships, the current term, a new
 *   term not before the current one began, today's date in UTC;
 * - notices: https addresses, who sees which visibility, what a subscription
 *   follows, e-mail addresses compared without case.
 * The handlers that put these phrases after a field's name are exercised by
 * tests/integration/test_decision_refs.py and test_notices.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"

#define VIS_PUBLIC COMPACT__WORKGROUPS__V1__VISIBILITY__VISIBILITY_PUBLIC
#define VIS_COMPACT COMPACT__WORKGROUPS__V1__VISIBILITY__VISIBILITY_COMPACT
#define VIS_MEMBERS COMPACT__WORKGROUPS__V1__VISIBILITY__VISIBILITY_GROUP_MEMBERS

/* ---- terms of reference ------------------------------------------------------ */

static TermsOfReference tor(const char *text, const char *approved_on, const char *ref)
{
    TermsOfReference t;

    compact__workgroups__v1__terms_of_reference__init(&t);
    t.text = (char *)text;
    t.approved_on = (char *)approved_on;
    t.decision_ref = (char *)ref;
    return t;
}

static void test_tor_same_and_repeats(void **state)
{
    TermsOfReference held = tor("Terms.", "2019-04-16", "dec_abcdefghijklmnopqrst/effects/1");
    TermsOfReference retry = tor("Terms.", "2019-04-16", "dec_abcdefghijklmnopqrst/effects/1");
    TermsOfReference no_ref = tor("Terms.", "2019-04-16", "");
    TermsOfReference other_ref = tor("Terms.", "2019-04-16", "dec_abcdefghijklmnopqrst/effects/2");
    TermsOfReference other_text = tor("Terms!", "2019-04-16", "dec_abcdefghijklmnopqrst/effects/1");
    TermsOfReference other_day = tor("Terms.", "2019-04-17", "dec_abcdefghijklmnopqrst/effects/1");

    (void)state;
    assert_true(rules_tor_same(&held, &retry));
    assert_true(rules_tor_same(&held, &no_ref)); /* the decision_ref is the key, not content */
    assert_false(rules_tor_same(&held, &other_text));
    assert_false(rules_tor_same(&held, &other_day));
    assert_true(rules_tor_repeats(&held, &retry));
    /* The same terms under another decision (or none) are a new version. */
    assert_false(rules_tor_repeats(&held, &no_ref));
    assert_false(rules_tor_repeats(&held, &other_ref));
    assert_false(rules_tor_repeats(NULL, &retry));
}

/* ---- approved work plans ---------------------------------------------------- */

static void test_plan_period(void **state)
{
    (void)state;
    assert_null(rules_plan_period_problem("2024-01-01", "2026-12-31"));
    assert_null(rules_plan_period_problem("2024-12-31", "2025-01-01"));
    assert_string_equal(rules_plan_period_problem("2024-01-01", "2024-01-01"),
                        "must be after plan.period_start");
    assert_non_null(rules_plan_period_problem("2025-01-01", "2024-12-31"));
}

/* A group whose work plan holds items "wpi_a" and "wpi_b". */
typedef struct fixture {
    WorkingGroup g;
    WorkPlanItem a, b;
    WorkPlanItem *items[2];
    ApprovedWorkPlan p1, p2;
    ApprovedWorkPlan *plans[2];
} fixture;

static void fixture_init(fixture *f)
{
    static char *p1_items[] = {"wpi_a", "wpi_b"}, *p2_items[] = {"wpi_b"};

    compact__workgroups__v1__working_group__init(&f->g);
    compact__workgroups__v1__work_plan_item__init(&f->a);
    compact__workgroups__v1__work_plan_item__init(&f->b);
    f->a.id = "wpi_a";
    f->b.id = "wpi_b";
    f->items[0] = &f->a;
    f->items[1] = &f->b;
    f->g.work_plan = f->items;
    f->g.n_work_plan = 2;
    compact__workgroups__v1__approved_work_plan__init(&f->p1);
    compact__workgroups__v1__approved_work_plan__init(&f->p2);
    f->p1.version = 1;
    f->p1.period_start = "2024-01-01";
    f->p1.period_end = "2026-12-31";
    f->p1.approved_on = "2024-01-24";
    f->p1.item_ids = p1_items;
    f->p1.n_item_ids = 2;
    f->p2 = f->p1;
    f->p2.version = 2;
    f->p2.approved_on = "2025-01-10";
    f->p2.item_ids = p2_items;
    f->p2.n_item_ids = 1;
    f->plans[0] = &f->p1;
    f->plans[1] = &f->p2;
}

static void test_plan_items(void **state)
{
    static char *none[] = {NULL}, *repeat[] = {"wpi_a", "wpi_b", "wpi_a"},
                *foreign[] = {"wpi_b", "wpi_z"}, *good[] = {"wpi_b", "wpi_a"};
    fixture f;
    ApprovedWorkPlan p;
    size_t at, first;

    (void)state;
    fixture_init(&f);
    p = f.p1;
    p.item_ids = good;
    p.n_item_ids = 2;
    assert_null(rules_plan_items_problem(&p, &f.g, &at, &first));
    assert_null(rules_plan_items_problem(&p, NULL, &at, &first));
    p.item_ids = none;
    p.n_item_ids = 0;
    assert_string_equal(rules_plan_items_problem(&p, &f.g, &at, &first),
                        "name at least one work plan item");
    p.item_ids = repeat;
    p.n_item_ids = 3;
    assert_string_equal(rules_plan_items_problem(&p, NULL, &at, &first), "repeats another item");
    assert_int_equal(at, 2);
    assert_int_equal(first, 0);
    p.item_ids = foreign;
    p.n_item_ids = 2;
    assert_null(rules_plan_items_problem(&p, NULL, &at, &first)); /* the group is not asked */
    assert_string_equal(rules_plan_items_problem(&p, &f.g, &at, &first),
                        "is not an item of the group's work plan");
    assert_int_equal(at, 1);
    p.n_item_ids = RULES_PLAN_ITEMS_MAX + 1;
    assert_string_equal(rules_plan_items_problem(&p, NULL, &at, &first), "at most 200 items");
}

static void test_plan_order_same_and_find(void **state)
{
    static char *reordered[] = {"wpi_b", "wpi_a"};
    fixture f;
    ApprovedWorkPlan next, copy;

    (void)state;
    fixture_init(&f);
    next = f.p1;
    assert_null(rules_plan_order_problem(&f.g, &next)); /* no approved plan yet */
    f.g.approved_work_plans = f.plans;
    f.g.n_approved_work_plans = 2;
    next.approved_on = "2025-01-10"; /* the same day as the latest: fine */
    assert_null(rules_plan_order_problem(&f.g, &next));
    next.approved_on = "2025-01-09";
    assert_string_equal(rules_plan_order_problem(&f.g, &next),
                        "is before the approval of the latest approved work plan");

    copy = f.p1;
    copy.version = 9;        /* the server's */
    copy.decision_ref = "x"; /* the key, not content */
    assert_true(rules_plan_same(&f.p1, &copy));
    copy.item_ids = reordered; /* order matters: a plan lists its items in order */
    assert_false(rules_plan_same(&f.p1, &copy));
    copy = f.p1;
    copy.period_end = "2026-12-30";
    assert_false(rules_plan_same(&f.p1, &copy));
    assert_false(rules_plan_same(&f.p1, &f.p2));

    assert_ptr_equal(rules_find_plan(&f.g, 2), &f.p2);
    assert_ptr_equal(rules_find_plan(&f.g, 1), &f.p1);
    assert_null(rules_find_plan(&f.g, 3));
}

/* ---- leadership history -------------------------------------------------- */

static void test_leadership_same(void **state)
{
    static char *v1[] = {"ent_b", "ent_c"}, *v2[] = {"ent_c", "ent_b"}, *v3[] = {"ent_b"};
    Leadership a, b;

    (void)state;
    compact__workgroups__v1__leadership__init(&a);
    a.chair_entity_id = "ent_a";
    a.vice_chair_entity_ids = v1;
    a.n_vice_chair_entity_ids = 2;
    b = a;
    assert_true(rules_leadership_same(&a, &b));
    b.vice_chair_entity_ids = v2;
    assert_false(rules_leadership_same(&a, &b)); /* the order is kept: it is not the same */
    b.vice_chair_entity_ids = v3;
    b.n_vice_chair_entity_ids = 1;
    assert_false(rules_leadership_same(&a, &b));
    b = a;
    b.chair_entity_id = "ent_z";
    assert_false(rules_leadership_same(&a, &b));
    assert_false(rules_leadership_same(NULL, &a)); /* no leadership yet */
    assert_true(rules_leadership_same(NULL, NULL));
}

static void test_term_start(void **state)
{
    LeadershipTerm t1, t2, *history[] = {&t1, &t2};
    WorkingGroup g;

    (void)state;
    compact__workgroups__v1__working_group__init(&g);
    assert_null(rules_current_term(&g));
    assert_null(rules_term_start_problem(&g, "1999-01-01")); /* no term: any day */
    compact__workgroups__v1__leadership_term__init(&t1);
    compact__workgroups__v1__leadership_term__init(&t2);
    t1.from_date = "2019-04-16";
    t1.to_date = "2021-06-01";
    t2.from_date = "2021-06-01";
    g.leadership_history = history;
    g.n_leadership_history = 2;
    assert_ptr_equal(rules_current_term(&g), &t2);
    assert_null(rules_term_start_problem(&g, "2021-06-01")); /* the same day: a correction */
    assert_null(rules_term_start_problem(&g, "2030-01-01"));
    assert_string_equal(rules_term_start_problem(&g, "2021-05-31"),
                        "is before the start of the current term");
}

static void test_date_of_ms(void **state)
{
    char day[RULES_DATE_SIZE];

    (void)state;
    rules_date_of_ms(0, day);
    assert_string_equal(day, "1970-01-01");
    rules_date_of_ms(1555372800000LL, day); /* 2019-04-16T00:00:00Z */
    assert_string_equal(day, "2019-04-16");
    rules_date_of_ms(1555372800000LL - 1, day); /* a millisecond before: the day before, UTC */
    assert_string_equal(day, "2019-04-15");
    rules_date_of_ms(1709164800000LL, day); /* a leap day */
    assert_string_equal(day, "2024-02-29");
}

/* ---- information-sharing --------------------------------------------------- */

static void test_url(void **state)
{
    static const char *const good[] = {
        "",
        "https://www.un.org/counterterrorism/",
        "https://un.org",
        "https://un.org:8443/a?b=c#d",
        "https://www.un.org/sites/www.un.org.counterterrorism/files/plan%202024.pdf",
    };
    static const struct {
        const char *url, *problem;
    } bad[] = {
        {"http://www.un.org/", "must be an https:// address"},
        {"HTTPS://www.un.org/", "must be an https:// address"},
        {"ftp://un.org/x", "must be an https:// address"},
        {"www.un.org", "must be an https:// address"},
        {"https://", "must name a host after https://"},
        {"https:///path", "must name a host after https://"},
        {"https://:443/", "must name a host after https://"},
        {"https://un.org/a b", "must not contain spaces or control characters"},
        {"https://un.org/\t", "must not contain spaces or control characters"},
    };
    char longest[RULES_URL_MAX_CHARS + 2];

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        const char *p = rules_url_problem(good[i]);
        if (p)
            fail_msg("refused %s: %s", good[i], p);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = rules_url_problem(bad[i].url);
        if (p == NULL || strcmp(p, bad[i].problem) != 0)
            fail_msg("%s: %s", bad[i].url, p ? p : "accepted");
    }
    memcpy(longest, "https://un.org/", 15);
    memset(longest + 15, 'a', RULES_URL_MAX_CHARS - 15);
    longest[RULES_URL_MAX_CHARS] = '\0';
    assert_null(rules_url_problem(longest));
    longest[RULES_URL_MAX_CHARS] = 'a';
    longest[RULES_URL_MAX_CHARS + 1] = '\0';
    assert_string_equal(rules_url_problem(longest), "is longer than 2048 characters");
}

static void test_notice_visible(void **state)
{
    (void)state;
    /* visibility, reader active, reader in the group -> sees it */
    assert_true(rules_notice_visible(VIS_PUBLIC, 0, 0));
    assert_true(rules_notice_visible(VIS_COMPACT, 1, 0));
    assert_false(rules_notice_visible(VIS_COMPACT, 0, 0)); /* the public, or withdrawn */
    assert_true(rules_notice_visible(VIS_MEMBERS, 1, 1));
    assert_false(rules_notice_visible(VIS_MEMBERS, 1, 0));
    assert_false(rules_notice_visible(VIS_MEMBERS, 0, 1)); /* withdrawn, still listed */
    assert_false(rules_notice_visible(0, 1, 1));
    assert_false(rules_notice_visible(9, 1, 1));
}

static void test_subscription_follows(void **state)
{
    static char *groups[] = {"wg_a", "wg_b"};

    (void)state;
    assert_true(rules_subscription_follows(groups, 2, 0, "wg_b"));
    assert_false(rules_subscription_follows(groups, 2, 0, "wg_c"));
    assert_false(rules_subscription_follows(groups, 2, 0, "")); /* the whole Compact's */
    assert_true(rules_subscription_follows(groups, 2, 1, ""));
    assert_true(rules_subscription_follows(NULL, 0, 1, ""));
    assert_false(rules_subscription_follows(NULL, 0, 1, "wg_a"));
    assert_true(rules_has_id(groups, 2, "wg_a"));
    assert_false(rules_has_id(groups, 2, "wg_"));
    assert_false(rules_has_id(NULL, 0, "wg_a"));
}

static void test_same_email(void **state)
{
    (void)state;
    assert_true(rules_same_email("Focal.Point@UNODC.org", "focal.point@unodc.org"));
    assert_true(rules_same_email("a@b.c", "a@b.c"));
    assert_false(rules_same_email("a@b.c", "a@b.co"));
    assert_false(rules_same_email("a@b.co", "a@b.c"));
    assert_false(rules_same_email("", "a@b.c"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tor_same_and_repeats),
        cmocka_unit_test(test_plan_period),
        cmocka_unit_test(test_plan_items),
        cmocka_unit_test(test_plan_order_same_and_find),
        cmocka_unit_test(test_leadership_same),
        cmocka_unit_test(test_term_start),
        cmocka_unit_test(test_date_of_ms),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_notice_visible),
        cmocka_unit_test(test_subscription_follows),
        cmocka_unit_test(test_same_email),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
