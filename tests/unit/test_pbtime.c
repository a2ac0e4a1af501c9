/* test_pbtime.c: Timestamp <-> milliseconds, and pbtime_set's ownership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pbtime.h"

static void test_round_trip(void **state)
{
    const int64_t values[] = {0, 1, 999, 1000, 1700000000123LL, 253402300799999LL};

    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        Google__Protobuf__Timestamp *ts = pbtime_new(values[i]);
        assert_non_null(ts);
        assert_int_equal(ts->seconds, values[i] / 1000);
        assert_int_equal(ts->nanos, (values[i] % 1000) * 1000000);
        assert_int_equal(pbtime_ms(ts), values[i]);
        protobuf_c_message_free_unpacked(&ts->base, NULL);
    }
    assert_int_equal(pbtime_ms(NULL), 0);
}

static void test_sub_millisecond_dropped(void **state)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

    ts.seconds = 5;
    ts.nanos = 1999999;
    assert_int_equal(pbtime_ms(&ts), 5001);
}

static void test_set_replaces(void **state)
{
    Google__Protobuf__Timestamp *field = NULL;

    assert_int_equal(pbtime_set(&field, 1234), 0);
    assert_int_equal(pbtime_ms(field), 1234);
    assert_int_equal(pbtime_set(&field, 5678), 0); /* the old one freed (ASan) */
    assert_int_equal(pbtime_ms(field), 5678);
    protobuf_c_message_free_unpacked(&field->base, NULL);
}

static void test_now_moves_forward(void **state)
{
    int64_t a = pbtime_now_ms(), b = pbtime_now_ms();

    assert_true(a > 1600000000000LL); /* after September 2020 */
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sub_millisecond_dropped),
        cmocka_unit_test(test_set_replaces),
        cmocka_unit_test(test_now_moves_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
