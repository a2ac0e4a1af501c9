/* test_sqlrow.c: the row helpers against a real (in-memory) SQLite store:
 * text columns into string fields, writes that violate a key, and exists. */
#include <errno.h>
#include <protobuf-c/protobuf-c.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sqlrow.h"

static const store_migration schema[] = {
    {.version = 1,
     .sql = "CREATE TABLE t (id TEXT PRIMARY KEY, code TEXT UNIQUE, note TEXT CHECK (note IS NULL "
            "OR note <> 'bad')) STRICT;"
            "INSERT INTO t VALUES ('a', 'A', 'first'), ('b', 'B', NULL);"},
};

static int setup(void **state)
{
    store *st = NULL;

    if (store_open(":memory:", "t", schema, 1, &st) != 0)
        return -1;
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    store_close(*state);
    return 0;
}

static void test_text(void **state)
{
    store *st = *state;
    sqlite3_stmt *s = store_stmt(st, "SELECT note FROM t ORDER BY id");
    char *field = (char *)protobuf_c_empty_string;

    assert_non_null(s);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlrow_text(s, 0, &field), 0);
    assert_string_equal(field, "first");
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlrow_text(s, 0, &field), 0); /* NULL column: "" */
    assert_string_equal(field, "");
    sqlite3_reset(s);
    free(field);
}

static void test_step_write(void **state)
{
    store *st = *state;
    static const char ins[] = "INSERT INTO t (id, code) VALUES (?1, ?2)";
    sqlite3_stmt *s = store_stmt(st, ins);

    sqlite3_bind_text(s, 1, "c", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, "C", -1, SQLITE_STATIC);
    assert_int_equal(sqlrow_step_write(st, s), 0);
    s = store_stmt(st, ins);
    sqlite3_bind_text(s, 1, "c", -1, SQLITE_STATIC); /* primary key taken */
    sqlite3_bind_text(s, 2, "D", -1, SQLITE_STATIC);
    assert_int_equal(sqlrow_step_write(st, s), -EEXIST);
    s = store_stmt(st, ins);
    sqlite3_bind_text(s, 1, "d", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, "A", -1, SQLITE_STATIC); /* unique code taken */
    assert_int_equal(sqlrow_step_write(st, s), -EEXIST);
    s = store_stmt(st, "INSERT INTO t (id, note) VALUES (?1, 'bad')"); /* CHECK: no -EEXIST */
    sqlite3_bind_text(s, 1, "e", -1, SQLITE_STATIC);
    int rc = sqlrow_step_write(st, s);
    assert_true(rc < 0 && rc != -EEXIST);
    assert_int_equal(store_healthy(st), 1); /* a constraint is no I/O failure */
}

static void test_exists(void **state)
{
    store *st = *state;
    static const char sql[] = "SELECT 1 FROM t WHERE id = ?1";

    assert_int_equal(sqlrow_exists(st, sql, "a"), 1);
    assert_int_equal(sqlrow_exists(st, sql, "zz"), 0);
    assert_int_equal(sqlrow_exists(st, "SELECT nonsense FROM", "a"), -EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exists, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
