/* test_ids.c: server-assigned ids: shape, prefix, buffer limits, and that
 * ids differ. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ids.h"
#include "validate.h"

static void test_shape(void **state)
{
    char id[32];

    assert_int_equal(ids_new("ent_", id, sizeof id), 0);
    assert_int_equal(strlen(id), 4 + IDS_RANDOM_CHARS);
    assert_memory_equal(id, "ent_", 4);
    assert_int_equal(strspn(id + 4, "abcdefghijklmnopqrstuvwxyz234567"), IDS_RANDOM_CHARS);
    /* what the handlers accept back */
    assert_null(validate_id_problem(id, "ent_"));
}

static void test_exact_fit_and_too_small(void **state)
{
    char id[3 + IDS_RANDOM_CHARS + 1];

    memset(id, 'x', sizeof id);
    assert_int_equal(ids_new("wg_", id, sizeof id), 0);
    assert_int_equal(strlen(id), sizeof id - 1);
    memset(id, 'x', sizeof id);
    assert_int_equal(ids_new("wg_", id, sizeof id - 1), -ENAMETOOLONG);
    assert_int_equal(id[0], 'x'); /* untouched */
}

static void test_ids_differ(void **state)
{
    char a[32], b[32];
    int seen_chars[256] = {0};

    for (int i = 0; i < 200; i++) {
        assert_int_equal(ids_new("p_", a, sizeof a), 0);
        assert_int_equal(ids_new("p_", b, sizeof b), 0);
        assert_string_not_equal(a, b);
        for (const char *p = a + 2; *p; p++)
            seen_chars[(unsigned char)*p] = 1;
    }
    /* 4000 random characters use the whole 32-letter alphabet */
    int n = 0;
    for (int c = 0; c < 256; c++)
        n += seen_chars[c];
    assert_int_equal(n, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_exact_fit_and_too_small),
        cmocka_unit_test(test_ids_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
