/* test_rule_tables.c: every method of every service has a rule (auth/rule.h),
 * every scope path names a string field of the method's request, and the
 * runtime's Audit service has its own: a method without a rule is denied to
 * everybody, and a service whose table misses one does not start. Also a
 * few of the decisions the tables make, through the real tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "analytics_service.h"
#include "committee_service.h"
#include "compact/audit/v1/audit.pb-c.h"
#include "compact/membership/v1/membership.pb-c.h"
#include "membership_service.h"
#include "projects_service.h"
#include "rule.h"
#include "workgroups_service.h"

static void check_def(const service_def *def)
{
    char err[256] = "";
    int rc = auth_rules_check(def->rules, def->descriptor, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %s", def->name, err);
    for (unsigned i = 0; i < def->descriptor->n_methods; i++) {
        const auth_rule *r = auth_rules_find(def->rules, def->descriptor->methods[i].name);
        assert_non_null(r);
        assert_true((r->roles | r->scoped) != 0);
        /* Only the secretariat and the services are ever exempt from the
         * verified check: nobody else is given a write whatever the request. */
        if (!(r->flags & AUTH_RULE_READ))
            assert_int_equal(r->roles & ~(unsigned)(AUTH_ROLE_SECRETARIAT | AUTH_ROLE_SERVICE |
                                                    AUTH_ROLE_COMMITTEE),
                             0);
    }
}

static void test_every_method_has_a_rule(void **state)
{
    check_def(membership_service_def());
    check_def(workgroups_service_def());
    check_def(projects_service_def());
    check_def(committee_service_def());
    check_def(analytics_service_def());
}

static void test_writes_are_closed_to_viewers(void **state)
{
    const service_def *defs[] = {membership_service_def(), workgroups_service_def(),
                                 projects_service_def(), committee_service_def(),
                                 analytics_service_def()};
    for (size_t d = 0; d < sizeof defs / sizeof defs[0]; d++)
        for (const auth_rule *r = defs[d]->rules; r->method; r++)
            if (!(r->flags & AUTH_RULE_READ))
                assert_false((r->roles | r->scoped) & AUTH_ROLE_VIEWER);
}

static void test_verified_only_by_secretariat(void **state)
{
    const auth_rule *r = auth_rules_find(membership_service_def()->rules, "UpdateEntity");
    Compact__Membership__V1__Entity e = COMPACT__MEMBERSHIP__V1__ENTITY__INIT;
    Compact__Membership__V1__UpdateEntityRequest req =
        COMPACT__MEMBERSHIP__V1__UPDATE_ENTITY_REQUEST__INIT;
    auth_identity *fp = auth_identity_new("fp", AUTH_ROLE_FOCAL_POINT, "ent_a", NULL, 0, 1);
    char why[256];

    e.id = "ent_a";
    e.verified = 1;
    req.entity = &e;
    assert_int_equal(auth_rule_allows(r, fp, &req.base, NULL, why, sizeof why), -EACCES);
    e.verified = 0;
    assert_int_equal(auth_rule_allows(r, fp, &req.base, NULL, why, sizeof why), 0);
    /* Confirming a fact is verifying it; stating an assumption is not. */
    Compact__Common__V1__Provenance p = COMPACT__COMMON__V1__PROVENANCE__INIT;
    Compact__Common__V1__Provenance *ps[] = {&p};
    p.field = "affiliation";
    p.status = COMPACT__COMMON__V1__FACT_STATUS__FACT_STATUS_ASSUMED;
    e.n_provenance = 1;
    e.provenance = ps;
    assert_int_equal(auth_rule_allows(r, fp, &req.base, NULL, why, sizeof why), 0);
    p.status = COMPACT__COMMON__V1__FACT_STATUS__FACT_STATUS_CONFIRMED;
    assert_int_equal(auth_rule_allows(r, fp, &req.base, NULL, why, sizeof why), -EACCES);
    assert_non_null(strstr(why, "entity.provenance[0]"));
    auth_identity *sec = auth_identity_new("s", AUTH_ROLE_SECRETARIAT, "", NULL, 0, 1);
    assert_int_equal(auth_rule_allows(r, sec, &req.base, NULL, why, sizeof why), 0);
    auth_identity_unref(sec);
    auth_identity_unref(fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_method_has_a_rule),
        cmocka_unit_test(test_writes_are_closed_to_viewers),
        cmocka_unit_test(test_verified_only_by_secretariat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
