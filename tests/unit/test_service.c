/* test_service.c: a service in process (service_open_for_test): its store
 * migrated, its hooks run, its handlers answering local calls, its cache
 * failing fast with no Redis, and a clean close.
 *
 * The test service is grpc.health.v1.Health with one table of its own; its
 * Check handler counts the rows of that table into the reply's status.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "grpc/health/v1/health.pb-c.h"
#include "log.h"
#include "service.h"

#define WAIT_LIMIT_NS (10ull * 1000 * 1000 * 1000)

typedef Grpc__Health__V1__HealthCheckRequest check_request;
typedef Grpc__Health__V1__HealthCheckResponse check_response;

static int init_calls, fini_calls;

/* Inserts a row, then answers with the number of rows as the status. */
static void handle_check(rpc_call *call, const ProtobufCMessage *request, void *svc)
{
    check_response resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    sqlite3 *db = store_db(service_store(svc));
    sqlite3_stmt *s = NULL;

    if (sqlite3_exec(db, "INSERT INTO rows(x) VALUES (1)", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT count(*) FROM rows", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_finalize(s);
        rpc_call_fail(call, RPC_INTERNAL, "store: %s", sqlite3_errmsg(db));
        return;
    }
    resp.status = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    rpc_call_reply(call, &resp.base);
}

static int test_init(service *svc)
{
    init_calls++;
    return 0;
}

static void test_fini(service *svc)
{
    fini_calls++;
}

static const rpc_method test_methods[] = {
    {.name = "Check", .handler = handle_check},
    {.name = NULL},
};

static const store_migration test_migrations[] = {
    {1, "CREATE TABLE rows(x INTEGER)"},
};

static const service_def test_service = {
    .name = "testsvc",
    .descriptor = &grpc__health__v1__health__descriptor,
    .methods = test_methods,
    .migrations = test_migrations,
    .migrations_count = 1,
    .init = test_init,
    .fini = test_fini,
};

typedef struct answer {
    int calls;
    rpc_code code;
    int status;
} answer;

static void on_answer(void *arg, rpc_code code, const char *message, const void *reply, size_t len)
{
    answer *a = arg;
    a->calls++;
    a->code = code;
    if (reply) {
        check_response *r = grpc__health__v1__health_check_response__unpack(NULL, len, reply);
        assert_non_null(r);
        a->status = r->status;
        grpc__health__v1__health_check_response__free_unpacked(r, NULL);
    }
}

static void check(service *svc, answer *a)
{
    check_request req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    rpc_call *call;

    assert_int_equal(rpc_call_new_local("/grpc.health.v1.Health/Check", on_answer, a, &call), 0);
    handle_check(call, &req.base, svc);
}

static void test_handlers_run_in_process(void **state)
{
    service *svc = NULL;
    answer a = {0}, b = {0};
    struct stat st;

    init_calls = fini_calls = 0;
    assert_int_equal(service_open_for_test(&test_service, ":memory:", NULL, &svc), 0);
    assert_int_equal(init_calls, 1);
    assert_string_equal(service_name(svc), "testsvc");
    assert_null(service_peer(svc, "membership"));
    assert_true(stat(":memory:", &st) != 0); /* no directory of that name */
    check(svc, &a);
    check(svc, &b);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.code, RPC_OK);
    assert_int_equal(a.status, 1);
    assert_int_equal(b.status, 2);
    assert_int_equal(service_close_for_test(svc), 0);
    assert_int_equal(fini_calls, 1);
}

typedef struct cache_answer {
    int calls, rc;
} cache_answer;

static void on_cache_get(void *arg, int rc, const void *value, size_t len)
{
    cache_answer *a = arg;
    a->calls++;
    a->rc = rc;
}

static void test_cache_fails_fast_without_redis(void **state)
{
    service *svc = NULL;
    cache_answer a = {0};
    uint64_t limit = uv_hrtime() + WAIT_LIMIT_NS;

    assert_int_equal(service_open_for_test(&test_service, ":memory:", NULL, &svc), 0);
    cache_get(service_cache(svc), "compact:testsvc:x:1", on_cache_get, &a);
    while (a.calls == 0) {
        if (uv_hrtime() > limit)
            fail_msg("the cache did not answer");
        uv_run(service_loop(svc), UV_RUN_ONCE);
    }
    assert_true(a.rc < 0 && a.rc != -ENOENT);
    assert_int_equal(service_close_for_test(svc), 0);
}

static void test_bad_arguments_are_refused(void **state)
{
    char long_dir[CONFIG_PATH_MAX + 8];
    service *svc = NULL;

    memset(long_dir, 'd', sizeof long_dir - 1);
    long_dir[sizeof long_dir - 1] = '\0';
    assert_int_equal(service_open_for_test(&test_service, long_dir, NULL, &svc), -ENAMETOOLONG);
    assert_null(svc);
    assert_int_equal(service_close_for_test(NULL), 0);
}

int main(void)
{
    log_init("test", LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handlers_run_in_process),
        cmocka_unit_test(test_cache_fails_fast_without_redis),
        cmocka_unit_test(test_bad_arguments_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
