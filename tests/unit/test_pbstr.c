/* test_pbstr.c: string fields: copy, free of the old string but never of
 * protobuf-c's empty string, NULL as "", and ASCII lowering. */
#include <protobuf-c/protobuf-c.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pbstr.h"

static void test_set(void **state)
{
    char *field = (char *)protobuf_c_empty_string;
    char value[] = "UNODC";

    assert_int_equal(pbstr_set(&field, value), 0); /* the empty string not freed */
    assert_string_equal(field, "UNODC");
    assert_ptr_not_equal(field, value);
    assert_int_equal(pbstr_set(&field, NULL), 0);
    assert_string_equal(field, "");
    assert_ptr_not_equal(field, protobuf_c_empty_string);
    free(field);
    field = NULL;
    assert_int_equal(pbstr_set(&field, "x"), 0);
    assert_string_equal(field, "x");
    free(field);
}

static void test_lower_ascii(void **state)
{
    char buf[16];

    pbstr_lower_ascii("UN-Women & Co.", buf, sizeof buf);
    assert_string_equal(buf, "un-women & co.");
    pbstr_lower_ascii("ÉTÉ", buf, sizeof buf); /* only ASCII letters change */
    assert_string_equal(buf, "\xc3\x89t\xc3\x89");
    pbstr_lower_ascii("ABCDEF", buf, 4);
    assert_string_equal(buf, "abc");
    buf[0] = 'z';
    pbstr_lower_ascii("A", buf, 0);
    assert_int_equal(buf[0], 'z');
    strcpy(buf, "MiXeD");
    pbstr_lower_ascii(buf, buf, sizeof buf); /* in place */
    assert_string_equal(buf, "mixed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_lower_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
