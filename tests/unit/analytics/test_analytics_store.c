/* test_analytics_store.c: analytics' snapshots on disk, across the schema
 * change that made their table a rowid table (migration 3).
 *
 * - a store made by the version before (migrations 1 and 2, snapshots in a
 *   WITHOUT ROWID table) opens with migration 3: every snapshot is still
 *   there, byte for byte, with its sequence, in type and id order;
 * - the table is a rowid table afterwards;
 * - a put replaces the state and sequence of its (type, id) in place (one row
 *   still), and a put of a new aggregate adds one; a delete removes one;
 * - a project kept in parts (migration 4) reads back whole, byte for byte,
 *   as transactions are added, dropped, or the state is put whole again, and
 *   each transaction is one row of snapshot_items, none left behind.
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
#include "arena.h"
#include "project_read.h"

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

/* A put as the versions before made it (this program's put writes columns
 * their tables do not have). */
static void put_old(store *st, const snap *s)
{
    sqlite3_stmt *q;
    unsigned char *state = malloc(s->len);

    assert_non_null(state);
    memset(state, s->fill, s->len);
    assert_int_equal(sqlite3_prepare_v2(store_db(st),
                                        "INSERT OR REPLACE INTO snapshots (type, id, seq, state)"
                                        " VALUES (?1, ?2, ?3, ?4)",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(q, 1, s->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)s->seq);
    sqlite3_bind_blob(q, 4, state, (int)s->len, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);
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
        put_old(st, &before[i]);
    put_old(st, &before[1]); /* a second put of the same state: still one row */
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

/* ---- a project in parts ------------------------------------------------------------------- */

typedef Compact__Projects__V1__Project Project;
typedef Compact__Projects__V1__Transaction Transaction;

/* A packed project with `n` transactions, the k-th of amount 1000 + k; a
 * malloc'd buffer, its length in *len. */
static uint8_t *project_with(const int *amounts, size_t n, size_t *len)
{
    Project p = COMPACT__PROJECTS__V1__PROJECT__INIT;
    Transaction tx[8], *txp[8];
    Compact__Projects__V1__Money money[8];
    uint8_t *buf;

    assert_true(n <= 8);
    p.id = "prj_parts";
    p.title = "Kept in parts";
    p.start_date = "2025-01-01";
    p.etag = "etag-after-the-transactions"; /* a field numbered above them */
    for (size_t i = 0; i < n; i++) {
        compact__projects__v1__transaction__init(&tx[i]);
        compact__projects__v1__money__init(&money[i]);
        money[i].currency = "EUR";
        money[i].amount_minor = amounts[i];
        tx[i].id = "trn_x";
        tx[i].date = "2025-03-01";
        tx[i].type = COMPACT__PROJECTS__V1__TRANSACTION_TYPE__TRANSACTION_TYPE_INCOMING_COMMITMENT;
        tx[i].value = &money[i];
        txp[i] = &tx[i];
    }
    p.n_transactions = n;
    p.transactions = txp;
    *len = protobuf_c_message_get_packed_size(&p.base);
    buf = malloc(*len);
    assert_non_null(buf);
    protobuf_c_message_pack(&p.base, buf);
    return buf;
}

static void put_parts(store *st, uint64_t seq, const uint8_t *buf, size_t len)
{
    arena mem;
    project_read r;

    arena_init(&mem, ARENA_BATCH_BLOCK);
    assert_int_equal(project_read_of(buf, len, arena_allocator(&mem), &r), 0);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(
        analytics_store_put_snapshot_parts(st, "project", "prj_parts", seq,
                                           &(snapshot_parts){.field = PROJECT_READ_TRANSACTIONS,
                                                             .rest = r.rest,
                                                             .rest_len = r.rest_len,
                                                             .items = r.tx,
                                                             .item_len = r.tx_len,
                                                             .hashes = r.hashes,
                                                             .n = r.n_tx}),
        0);
    assert_int_equal(store_commit(st), 0);
    arena_clear(&mem);
}

static int64_t items(store *st)
{
    sqlite3_stmt *s;
    int64_t n;

    assert_int_equal(
        sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM snapshot_items", -1, &s, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static void read_back(store *st, uint64_t want_seq, const uint8_t *want, size_t want_len)
{
    uint64_t seq = 0;
    void *state = NULL;
    size_t len = 0;

    assert_int_equal(analytics_store_snapshot(st, "project", "prj_parts", &seq, &state, &len), 0);
    assert_int_equal(seq, want_seq);
    assert_int_equal(len, want_len);
    assert_memory_equal(state, want, len);
    free(state);
}

/* each_snapshot's `fn`: the project's state must be `arg`'s. */
typedef struct expect {
    const uint8_t *state;
    size_t len, seen;
} expect;

static int same_project(void *arg, const char *type, const char *id, uint64_t seq,
                        const void *state, size_t len)
{
    expect *e = arg;

    (void)seq;
    if (strcmp(type, "project") == 0 && strcmp(id, "prj_parts") == 0) {
        assert_int_equal(len, e->len);
        assert_memory_equal(state, e->state, len);
        e->seen++;
    }
    return 0;
}

static void test_a_project_in_parts(void **state)
{
    char dir[] = "/tmp/test_analytics_store.XXXXXX", path[64];
    const int three[] = {1001, 1002, 1003}, four[] = {1001, 1004, 1002, 1003}, two[] = {1001, 1003};
    size_t len;
    uint8_t *buf;
    store *st;
    expect e;

    (void)state;
    assert_non_null(mkdtemp(dir));
    /* a schema-3 store holding the project whole */
    assert_int_equal(store_open(dir, "analytics", analytics_store_migrations, 3, &st), 0);
    buf = project_with(three, 3, &len);
    put_old(st, &(snap){"project", "prj_parts", 1, 10, 0x77});
    store_close(st);
    assert_int_equal(store_open(dir, "analytics", analytics_store_migrations,
                                analytics_store_migrations_count, &st),
                     0);
    check(st, &(snap){"project", "prj_parts", 1, 10, 0x77}); /* still whole */

    put_parts(st, 2, buf, len); /* over the whole row */
    read_back(st, 2, buf, len);
    assert_int_equal(items(st), 3);
    free(buf);

    buf = project_with(four, 4, &len); /* one added, second of four */
    put_parts(st, 3, buf, len);
    read_back(st, 3, buf, len);
    assert_int_equal(items(st), 4);
    e = (expect){buf, len, 0};
    assert_int_equal(analytics_store_each_snapshot(st, same_project, &e), 0);
    assert_int_equal(e.seen, 1);
    free(buf);

    buf = project_with(two, 2, &len); /* two gone */
    put_parts(st, 4, buf, len);
    read_back(st, 4, buf, len);
    assert_int_equal(items(st), 2);
    free(buf);

    buf = project_with(NULL, 0, &len); /* none */
    put_parts(st, 5, buf, len);
    read_back(st, 5, buf, len);
    assert_int_equal(items(st), 0);
    free(buf);

    buf = project_with(three, 3, &len);
    put_parts(st, 6, buf, len);
    assert_int_equal(items(st), 3);
    put(st, &(snap){"project", "prj_parts", 7, 20, 0x78}); /* whole again: no items left */
    check(st, &(snap){"project", "prj_parts", 7, 20, 0x78});
    assert_int_equal(items(st), 0);
    put_parts(st, 8, buf, len);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(analytics_store_delete_snapshot(st, "project", "prj_parts"), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(items(st), 0);
    free(buf);
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
        cmocka_unit_test(test_a_project_in_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
