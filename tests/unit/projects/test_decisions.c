/* test_decisions.c: the Coordination Committee's rules on a project's money.
 *
 * - project_edit_find_decision: the transaction that records a decision
 *   effect, by its decision_ref; none for an empty one;
 * - project_edit_same_transaction: what a repeat of a decision must say
 *   again (type, date, value, provider, catalytic, description, verified,
 *   source note), and what it need not (id, record time, decision_ref);
 * - project_check_catalytic_provider_problem: catalytic money is UNOCT's,
 *   the acronym compared without case.
 * RecordTransaction's use of them is exercised by
 * tests/integration/test_decision_refs.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "project_check.h"
#include "project_edit.h"

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__Transaction Transaction;
typedef Compact__Projects__V1__Money Money;

#define ENTITY COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_ENTITY_ID
#define NAMED COMPACT__PROJECTS__V1__TRANSACTION__PROVIDER_PROVIDER_NAME

/* A catalytic commitment of 1000 USD from entity "ent_unoct". */
static void transaction(Transaction *t, Money *m, const char *ref)
{
    compact__projects__v1__transaction__init(t);
    compact__projects__v1__money__init(m);
    m->currency = "USD";
    m->amount_minor = 1000;
    t->value = m;
    t->id = "trn_a";
    t->type = COMPACT__PROJECTS__V1__TRANSACTION_TYPE__TRANSACTION_TYPE_INCOMING_COMMITMENT;
    t->date = "2024-02-01";
    t->provider_case = ENTITY;
    t->provider_entity_id = "ent_unoct";
    t->catalytic = 1;
    t->decision_ref = (char *)ref;
}

static void test_find_decision(void **state)
{
    Transaction a, b, *v[] = {&a, &b};
    Money ma, mb;
    Project p;

    (void)state;
    transaction(&a, &ma, "");
    transaction(&b, &mb, "dec_abcdefghijklmnopqrst/effects/2");
    compact__projects__v1__project__init(&p);
    p.transactions = v;
    p.n_transactions = 2;
    assert_ptr_equal(project_edit_find_decision(&p, "dec_abcdefghijklmnopqrst/effects/2"), &b);
    assert_null(project_edit_find_decision(&p, "dec_abcdefghijklmnopqrst/effects/1"));
    assert_null(project_edit_find_decision(&p, "")); /* no decision: nothing to find */
}

static void test_same_transaction(void **state)
{
    Transaction held, retry;
    Money mh, mr;

    (void)state;
    transaction(&held, &mh, "dec_abcdefghijklmnopqrst/effects/1");
    transaction(&retry, &mr, "dec_abcdefghijklmnopqrst/effects/1");
    retry.id = ""; /* output only */
    assert_true(project_edit_same_transaction(&held, &retry));
    retry.decision_ref = ""; /* the key, not content */
    assert_true(project_edit_same_transaction(&held, &retry));

    mr.amount_minor = 1001;
    assert_false(project_edit_same_transaction(&held, &retry));
    mr.amount_minor = 1000;
    mr.currency = "EUR";
    assert_false(project_edit_same_transaction(&held, &retry));
    mr.currency = "USD";
    retry.date = "2024-02-02";
    assert_false(project_edit_same_transaction(&held, &retry));
    retry.date = "2024-02-01";
    retry.catalytic = 0;
    assert_false(project_edit_same_transaction(&held, &retry));
    retry.catalytic = 1;
    retry.provider_entity_id = "ent_other";
    assert_false(project_edit_same_transaction(&held, &retry));
    retry.provider_case = NAMED; /* the same text, but a name, not an entity */
    retry.provider_name = "ent_unoct";
    assert_false(project_edit_same_transaction(&held, &retry));
    transaction(&retry, &mr, "");
    retry.description = "another purpose";
    assert_false(project_edit_same_transaction(&held, &retry));
    transaction(&retry, &mr, "");
    retry.verified = 1;
    assert_false(project_edit_same_transaction(&held, &retry));
    transaction(&retry, &mr, "");
    assert_true(project_edit_same_transaction(&held, &retry));
}

static void test_catalytic_provider(void **state)
{
    (void)state;
    assert_null(project_check_catalytic_provider_problem("UNOCT"));
    assert_null(project_check_catalytic_provider_problem("unoct"));
    assert_string_equal(project_check_catalytic_provider_problem("UNODC"),
                        "not UNOCT: a catalytic transaction (transaction.catalytic) must name "
                        "UNOCT as its provider");
    assert_non_null(project_check_catalytic_provider_problem("UNOCTX"));
    assert_non_null(project_check_catalytic_provider_problem("UNOC"));
    assert_non_null(project_check_catalytic_provider_problem(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_decision),
        cmocka_unit_test(test_same_transaction),
        cmocka_unit_test(test_catalytic_provider),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
