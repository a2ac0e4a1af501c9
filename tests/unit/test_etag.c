/* test_etag.c: etags from (id, version): format, stability, difference,
 * the client-side match rules, and etag_set's ownership. */
#include <protobuf-c/protobuf-c.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "etag.h"

static void test_format_and_stability(void **state)
{
    char a[ETAG_SIZE], b[ETAG_SIZE];

    etag_of("ent_abc", 1, a, sizeof a);
    assert_int_equal(strlen(a), 18);
    assert_int_equal(a[0], '"');
    assert_int_equal(a[17], '"');
    assert_int_equal(strspn(a + 1, "0123456789abcdef"), 16);
    etag_of("ent_abc", 1, b, sizeof b);
    assert_string_equal(a, b);
}

static void test_differs_by_id_and_version(void **state)
{
    char a[ETAG_SIZE], b[ETAG_SIZE], c[ETAG_SIZE];

    etag_of("ent_abc", 1, a, sizeof a);
    etag_of("ent_abc", 2, b, sizeof b);
    etag_of("ent_abd", 1, c, sizeof c);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    /* "a" at 11 and "a1" at 1 hash different texts ("a:11" vs "a1:1") */
    etag_of("a", 11, a, sizeof a);
    etag_of("a1", 1, b, sizeof b);
    assert_string_not_equal(a, b);
}

static void test_matches(void **state)
{
    char cur[ETAG_SIZE], bare[ETAG_SIZE];

    etag_of("wg_x", 7, cur, sizeof cur);
    memcpy(bare, cur + 1, 16);
    bare[16] = '\0';
    assert_true(etag_matches("", cur));
    assert_true(etag_matches(cur, cur));
    assert_true(etag_matches(bare, cur));
    etag_of("wg_x", 8, bare, sizeof bare);
    assert_false(etag_matches(bare, cur));
    assert_false(etag_matches("\"", cur));
    assert_false(etag_matches("0123456789abcde", cur)); /* one digit short */
}

static void test_set(void **state)
{
    char *field = (char *)protobuf_c_empty_string;
    char want[ETAG_SIZE];

    assert_int_equal(etag_set(&field, "prj_q", 3), 0);
    etag_of("prj_q", 3, want, sizeof want);
    assert_string_equal(field, want);
    assert_int_equal(etag_set(&field, "prj_q", 4), 0); /* frees the old one */
    assert_string_not_equal(field, want);
    free(field);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_stability),
        cmocka_unit_test(test_differs_by_id_and_version),
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
