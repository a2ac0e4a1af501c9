/* test_analytics_store.c: analytics' snapshots on disk, across the schema
 * change that made their table a rowid table (migration 3).
 *
 * - a store made by the version before (migrations 1 and 2, snapshots in a
 *   WITHOUT ROWID table) opens with migration 3: every snapshot is still
 *   there, byte for byte, with its sequence, in type and id order;
 * - the table is a rowid table afterwards;
 * - a put replaces the state and sequence of its (type, id) in place (one row
 *   still), and a put of a new aggregate adds one; a delete removes one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analytics_store.h"

typedef struct snap {
    const char *type, *id;
    uint64_t seq;
    size_t len;
    unsigned char fill;
} snap;

/* Snapshots of the sizes a project reaches: a few bytes, one page, many. */
static const snap before[] = {
    {"entity", "ent_01", 3, 40, 0x11},
    {"project", "prj_a", 7, 6000, 0x22},
    {"project", "prj_b", 100, 40000, 0x33},
    {"working_group", "wg_1", 1, 1, 0x44},
};
#define N_BEFORE (sizeof before / sizeof before[0])

static void put(store *st, const snap *s)
{
    unsigned char *state = malloc(s->len);

    assert_non_null(state);
    memset(state, s->fill, s->len);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(analytics_store_put_snapshot(st, s->type, s->id, s->seq, state, s->len), 0);
    assert_int_equal(store_commit(st), 0);
    free(state);
}

static void check(store *st, const snap *s)
{
    uint64_t seq = 0;
    void *state = NULL;
    size_t len = 0;

    assert_int_equal(analytics_store_snapshot(st, s->type, s->id, &seq, &state, &len), 0);
    assert_int_equal(seq, s->seq);
    assert_int_equal(len, s->len);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(((unsigned char *)state)[i], s->fill);
    free(state);
}

typedef struct walk {
    size_t n;
    char last[128]; /* "<type>/<id>" of the snapshot before */
} walk;

/* Counts the snapshots and checks that they come in type and id order. */
static int count_in_order(void *arg, const char *type, const char *id, uint64_t seq,
                          const void *state, size_t len)
{
    walk *w = arg;
    char key[128];

    (void)seq;
    (void)state;
    (void)len;
    snprintf(key, sizeof key, "%s/%s", type, id);
    if (w->n > 0 && strcmp(w->last, key) >= 0)
        fail_msg("snapshot %s came after %s", key, w->last);
    memcpy(w->last, key, sizeof key);
    w->n++;
    return 0;
}

static size_t count(store *st)
{
    walk w = {0};

    assert_int_equal(analytics_store_each_snapshot(st, count_in_order, &w), 0);
    return w.n;
}

static void test_migration_keeps_every_snapshot(void **state)
{
    char dir[] = "/tmp/test_analytics_store.XXXXXX", path[64];
    snap grown = before[1];
    snap added = {"project", "prj_c", 1, 12000, 0x55};
    store *st;

    (void)state;
    assert_non_null(mkdtemp(dir));
    /* the version before: migrations 1 and 2 */
    assert_int_equal(store_open(dir, "analytics", analytics_store_migrations, 2, &st), 0);
    for (size_t i = N_BEFORE; i-- > 0;)
        put(st, &before[i]);
    put(st, &before[1]); /* a second put of the same state: still one row */
    store_close(st);

    assert_int_equal(store_open(dir, "analytics", analytics_store_migrations,
                                analytics_store_migrations_count, &st),
                     0);
    assert_int_equal(count(st), N_BEFORE);
    for (size_t i = 0; i < N_BEFORE; i++)
        check(st, &before[i]);
    assert_int_equal(sqlite3_exec(store_db(st), "SELECT rowid FROM snapshots", NULL, NULL, NULL),
                     SQLITE_OK);

    grown.seq = 8;
    grown.len = 7000;
    grown.fill = 0x66;
    put(st, &grown);
    check(st, &grown);
    put(st, &added);
    check(st, &added);
    assert_int_equal(count(st), N_BEFORE + 1);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(analytics_store_delete_snapshot(st, "project", "prj_c"), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(count(st), N_BEFORE);
    store_close(st);

    for (const char *const *f = (const char *const[]){"", "-wal", "-shm", NULL}; *f; f++) {
        snprintf(path, sizeof path, "%s/analytics.db%s", dir, *f);
        unlink(path);
    }
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migration_keeps_every_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
