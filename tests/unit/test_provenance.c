/* test_provenance.c: the pure checks of provenance.h (field paths against
 * the records' descriptors, source dates and addresses) and its readers.
 *
 * provenance_check() itself ends a call, so the rules it applies with a call
 * (a CONFIRMED fact needs its source, an ASSUMED one a note, a field once)
 * are exercised over the wire by the integration tests
 * (tests/integration/test_participation.py, test_funding_sources.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compact/membership/v1/membership.pb-c.h"
#include "compact/projects/v1/projects.pb-c.h"
#include "compact/workgroups/v1/workgroups.pb-c.h"
#include "provenance.h"

static int path_ok(const ProtobufCMessageDescriptor *d, const char *path, char *why, size_t size)
{
    why[0] = '\0';
    return provenance_path_check(d, path, why, size) == 0;
}

static void test_paths_of_records(void **state)
{
    const ProtobufCMessageDescriptor *entity = &compact__membership__v1__entity__descriptor;
    const ProtobufCMessageDescriptor *period = &compact__membership__v1__participation__descriptor;
    const ProtobufCMessageDescriptor *group = &compact__workgroups__v1__working_group__descriptor;
    const ProtobufCMessageDescriptor *project = &compact__projects__v1__project__descriptor;
    const ProtobufCMessageDescriptor *tx = &compact__projects__v1__transaction__descriptor;
    char why[256];

    (void)state;
    assert_true(path_ok(entity, "name", why, sizeof why));
    assert_true(path_ok(entity, "affiliation", why, sizeof why));
    assert_true(path_ok(entity, "participation", why, sizeof why)); /* repeated, as the last */
    assert_true(path_ok(period, "from_date", why, sizeof why));
    assert_true(path_ok(group, "terms_of_reference.approved_on", why, sizeof why));
    assert_true(path_ok(group, "leadership.vice_chair_entity_ids", why, sizeof why));
    assert_true(path_ok(project, "budget.amount_minor", why, sizeof why));
    assert_true(path_ok(tx, "provider_org.ref", why, sizeof why));
    assert_true(path_ok(tx, "provider_org", why, sizeof why));

    assert_false(path_ok(project, "budgett", why, sizeof why));
    assert_string_equal(why, "\"budgett\" is not a field of compact.projects.v1.Project");
    assert_false(path_ok(tx, "provider_org.iati", why, sizeof why));
    assert_string_equal(why, "\"iati\" is not a field of compact.projects.v1.Organisation");
    /* A repeated or scalar field has no fields to name. */
    assert_false(path_ok(entity, "participation.role", why, sizeof why));
    assert_non_null(strstr(why, "\"participation\""));
    assert_false(path_ok(entity, "name.first", why, sizeof why));
    assert_false(path_ok(entity, "", why, sizeof why));
    assert_string_equal(why, "must not be empty");
    assert_false(path_ok(entity, "name.", why, sizeof why));
    assert_false(path_ok(entity, ".name", why, sizeof why));
    assert_false(path_ok(group, "terms_of_reference..text", why, sizeof why));
    /* The JSON spelling is not the field's name. */
    assert_false(path_ok(period, "fromDate", why, sizeof why));
}

static void test_source_dates(void **state)
{
    (void)state;
    assert_null(provenance_date_problem("2018-02-23"));
    assert_null(provenance_date_problem("2022-04"));
    assert_null(provenance_date_problem("2025"));
    assert_string_equal(provenance_date_problem(""), "must not be empty");
    assert_non_null(provenance_date_problem("2018-02-30")); /* not a real day */
    assert_non_null(provenance_date_problem("2022-13"));
    assert_non_null(provenance_date_problem("2022-00"));
    assert_non_null(provenance_date_problem("1899"));
    assert_non_null(provenance_date_problem("18"));
    assert_non_null(provenance_date_problem("April 2022"));
    assert_non_null(provenance_date_problem("2022/04"));
    assert_non_null(provenance_date_problem("2022-4"));
}

static void test_source_urls(void **state)
{
    (void)state;
    assert_null(provenance_url_problem("https://www.un.org/counterterrorism/global-ct-compact"));
    assert_null(provenance_url_problem("http://example.org"));
    assert_string_equal(provenance_url_problem(""), "must not be empty");
    assert_non_null(provenance_url_problem("www.un.org/counterterrorism"));
    assert_non_null(provenance_url_problem("ftp://example.org/x"));
    assert_non_null(provenance_url_problem("https://"));
    assert_non_null(provenance_url_problem("https:///path"));
    assert_non_null(provenance_url_problem("https://example.org/a b"));
    assert_non_null(provenance_url_problem("https://example.org/\x01"));
    assert_non_null(provenance_url_problem("docs/notes.md"));
}

static void test_status_and_all_confirmed(void **state)
{
    Provenance a = COMPACT__COMMON__V1__PROVENANCE__INIT, b = COMPACT__COMMON__V1__PROVENANCE__INIT;
    Provenance *both[] = {&a, &b};

    (void)state;
    a.field = "role";
    a.status = PROVENANCE_CONFIRMED;
    b.field = "from_date";
    b.status = PROVENANCE_ASSUMED;
    assert_int_equal(provenance_status(both, 2, "role"), PROVENANCE_CONFIRMED);
    assert_int_equal(provenance_status(both, 2, "from_date"), PROVENANCE_ASSUMED);
    assert_int_equal(provenance_status(both, 2, "to_date"), 0);
    assert_false(provenance_all_confirmed(both, 2));
    assert_true(provenance_all_confirmed(both, 1));
    assert_false(provenance_all_confirmed(both, 0)); /* nothing stated is not all confirmed */
}

static void test_normalize_drops_empty_sources(void **state)
{
    Provenance a = COMPACT__COMMON__V1__PROVENANCE__INIT;
    ProvenanceSource *empty = malloc(sizeof *empty);
    Provenance *one[] = {&a};

    (void)state;
    assert_non_null(empty);
    compact__common__v1__source__init(empty);
    a.source = empty;
    provenance_normalize(one, 1);
    assert_null(a.source); /* freed */

    ProvenanceSource kept = COMPACT__COMMON__V1__SOURCE__INIT;
    kept.url = "https://www.un.org";
    a.source = &kept;
    provenance_normalize(one, 1);
    assert_ptr_equal(a.source, &kept);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_of_records),
        cmocka_unit_test(test_source_dates),
        cmocka_unit_test(test_source_urls),
        cmocka_unit_test(test_status_and_all_confirmed),
        cmocka_unit_test(test_normalize_drops_empty_sources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
