/* test_fault.c: COMPACT_FAULTS is parsed into armed points and values. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fault.h"

static int init_with(const char *spec)
{
    if (spec)
        setenv("COMPACT_FAULTS", spec, 1);
    else
        unsetenv("COMPACT_FAULTS");
    return fault_init();
}

static void test_unset_arms_nothing(void **state)
{
    assert_int_equal(init_with(NULL), 0);
    assert_false(fault_armed("store.probe"));
    assert_int_equal(fault_value("redis.delay_ms", 42), 42);
    assert_false(fault_armed(NULL));

    assert_int_equal(init_with(""), 0);
    assert_false(fault_armed("store.probe"));
}

static void test_points_and_values(void **state)
{
    assert_int_equal(init_with("store.probe,redis.delay_ms=500"), 0);
    assert_true(fault_armed("store.probe"));
    assert_true(fault_armed("redis.delay_ms"));
    assert_false(fault_armed("store.commit"));
    assert_false(fault_armed("store"));
    assert_false(fault_armed("store.probe2"));
    assert_int_equal(fault_value("redis.delay_ms", 0), 500);
    /* Armed without a value, or not armed: the default. */
    assert_int_equal(fault_value("store.probe", 7), 7);
    assert_int_equal(fault_value("store.commit", -1), -1);
}

static void test_example_from_brief(void **state)
{
    assert_int_equal(init_with("a,b=12"), 0);
    assert_true(fault_armed("a"));
    assert_true(fault_armed("b"));
    assert_int_equal(fault_value("b", 0), 12);
    assert_int_equal(fault_value("a", 3), 3);
}

static void test_reinit_replaces(void **state)
{
    assert_int_equal(init_with("store.commit"), 0);
    assert_true(fault_armed("store.commit"));
    assert_int_equal(init_with("store.probe"), 0);
    assert_false(fault_armed("store.commit"));
    assert_true(fault_armed("store.probe"));
}

static void test_lenient_forms(void **state)
{
    assert_int_equal(init_with(" a , b = -3 ,c=0"), 0);
    assert_true(fault_armed("a"));
    assert_int_equal(fault_value("b", 1), -3);
    assert_int_equal(fault_value("c", 1), 0);
    /* A later item wins. */
    assert_int_equal(init_with("x=1,x=2"), 0);
    assert_int_equal(fault_value("x", 0), 2);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        ",",      "a,",
        ",a",     "a,,b",
        "=5",     "a=",
        "a=x",    "a=1x",
        "a=1.5",  "a= ",
        "a=0x10", "a b",
        "a=1=2",  "a=99999999999999999999999",
        "a;b",    "store.probe,redis.delay_ms=fast",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* Arm something first: a malformed list must leave nothing armed. */
        assert_int_equal(init_with("store.probe"), 0);
        if (init_with(bad[i]) != -EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_false(fault_armed("store.probe"));
        assert_false(fault_armed("a"));
    }
}

static void test_too_long(void **state)
{
    char spec[4096];

    for (size_t i = 0; i < sizeof(spec) - 1; i++)
        spec[i] = i % 2 ? ',' : 'p';
    spec[sizeof(spec) - 1] = '\0';
    assert_int_equal(init_with(spec), -EINVAL);
    assert_false(fault_armed("p"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unset_arms_nothing), cmocka_unit_test(test_points_and_values),
        cmocka_unit_test(test_example_from_brief), cmocka_unit_test(test_reinit_replaces),
        cmocka_unit_test(test_lenient_forms),      cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_too_long),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
