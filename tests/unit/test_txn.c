/* test_txn.c: the cache-key set of a write. (txn_begin and txn_finish end a
 * real call; every write in the integration tests goes through them.) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "txn.h"

static void test_keys_without_repeats(void **state)
{
    txn_keys k = {0};

    txn_keys_add(&k, "svc", "thing", "a");
    txn_keys_add(&k, "svc", "thing", "b");
    txn_keys_add(&k, "svc", "thing", "a");
    assert_int_equal(k.n, 2);
    assert_string_equal(k.v[0], "compact:svc:thing:a");
    assert_string_equal(k.v[1], "compact:svc:thing:b");
}

static void test_keys_refused_or_full(void **state)
{
    txn_keys k = {0};
    char id[8], last[64];

    txn_keys_add(&k, NULL, "thing", "a");
    assert_int_equal(k.n, 0);
    for (int i = 0; i < TXN_KEYS_MAX + 2; i++) {
        snprintf(id, sizeof id, "%d", i);
        txn_keys_add(&k, "svc", "thing", id);
    }
    assert_int_equal(k.n, TXN_KEYS_MAX);
    snprintf(last, sizeof last, "compact:svc:thing:%d", TXN_KEYS_MAX - 1);
    assert_string_equal(k.v[TXN_KEYS_MAX - 1], last);
}

static void test_key_too_long(void **state)
{
    txn_keys k = {0};
    char id[TXN_KEY_SIZE + 1];

    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    txn_keys_add(&k, "svc", "thing", id);
    assert_int_equal(k.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_without_repeats),
        cmocka_unit_test(test_keys_refused_or_full),
        cmocka_unit_test(test_key_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
