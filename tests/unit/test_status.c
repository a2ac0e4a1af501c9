/* test_status.c: the errno -> gRPC code table at the RPC edge. (The
 * status_fail_* functions end a real call; the integration tests see their
 * messages.) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "status.h"

static void test_retryable_is_unavailable(void **state)
{
    const int v[] = {-EIO, -EBUSY, -EAGAIN, -ENOSPC, -EROFS, -ETIMEDOUT, -ECANCELED};

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        assert_int_equal(status_of_errno(v[i]), RPC_UNAVAILABLE);
}

static void test_lost_race_is_aborted(void **state)
{
    assert_int_equal(status_of_errno(-ESTALE), RPC_ABORTED);
    assert_int_equal(status_of_errno(-EEXIST), RPC_ABORTED);
}

static void test_rest_is_internal(void **state)
{
    assert_int_equal(status_of_errno(-ENOMEM), RPC_INTERNAL);
    assert_int_equal(status_of_errno(-EINVAL), RPC_INTERNAL);
    assert_int_equal(status_of_errno(-ENOENT), RPC_INTERNAL);
    assert_int_equal(status_of_errno(0), RPC_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retryable_is_unavailable),
        cmocka_unit_test(test_lost_race_is_aborted),
        cmocka_unit_test(test_rest_is_internal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
