/* test_page.c: the paging arithmetic of a List handler (page tokens
 * themselves are tested in test_validate.c). page_request_parse and the
 * failure of page_request_next end a real call; the integration tests page
 * through every List RPC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "page.h"

static void test_request_limit_and_count(void **state)
{
    page_request p = {.size = 2};

    assert_int_equal(page_request_limit(&p), 3);
    assert_int_equal(page_request_count(&p, 0), 0);
    assert_int_equal(page_request_count(&p, 2), 2);
    assert_int_equal(page_request_count(&p, 3), 2);
}

static void test_request_next(void **state)
{
    page_request p = {.size = 2, .filter_hash = 77};
    char *next = (char *)"unchanged";
    char key[32];

    /* the last page: no token, last_key not read */
    assert_int_equal(page_request_next(NULL, &p, 2, NULL, &next), 0);
    assert_null(next);
    /* one row more than the page: a token for the page after "b" */
    assert_int_equal(page_request_next(NULL, &p, 3, "b", &next), 0);
    assert_non_null(next);
    assert_int_equal(page_token_decode(next, 77, key, sizeof key), 0);
    assert_string_equal(key, "b");
    free(next);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_limit_and_count),
        cmocka_unit_test(test_request_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
