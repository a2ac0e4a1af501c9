/* test_str.c: bounded copies: exact fits, one byte short, no truncated
 * string left behind. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "str.h"

static void test_copy_fits_exactly(void **state)
{
    char buf[4];

    (void)state;
    assert_int_equal(str_copy(buf, sizeof buf, "abc"), 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(str_copy(buf, sizeof buf, ""), 0);
    assert_string_equal(buf, "");
}

static void test_copy_too_long_leaves_empty(void **state)
{
    char buf[4] = "xyz";

    (void)state;
    assert_int_equal(str_copy(buf, sizeof buf, "abcd"), -ENAMETOOLONG);
    assert_string_equal(buf, "");
    assert_int_equal(str_copy(NULL, 0, "a"), -ENAMETOOLONG);
    assert_int_equal(str_copy(NULL, 0, ""), -ENAMETOOLONG); /* no room for the NUL */
}

static void test_join(void **state)
{
    const char *parts[] = {"compact:", "membership", ":", "entity", ":", "ent_1"};
    char buf[32];

    (void)state;
    assert_int_equal(str_join(buf, sizeof buf, parts, 6), 31); /* an exact fit */
    assert_string_equal(buf, "compact:membership:entity:ent_1");
    assert_int_equal(str_join(buf, 31, parts, 6), -ENAMETOOLONG);
    assert_string_equal(buf, "");
    assert_int_equal(str_join(buf, 1, parts, 0), 0);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_fits_exactly),
        cmocka_unit_test(test_copy_too_long_leaves_empty),
        cmocka_unit_test(test_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
