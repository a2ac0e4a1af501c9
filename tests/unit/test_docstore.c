/* test_docstore.c: aggregates kept whole, one packed message per row
 * (docstore.h), on an in-memory store.
 *
 * - docstore_insert puts a state at version 1 with its etag set, copies the
 *   table's own columns from it, and answers -EEXIST for an id taken (the
 *   stored row unchanged);
 * - docstore_update writes version + 1 with the etag of that version and the
 *   own columns again, only over the version it read: a stale version or a
 *   row that is gone is -ESTALE, and the stored row stays as it was;
 * - docstore_load gives the state and version, -ENOENT for an unknown id,
 *   -EIO for a row that does not decode;
 * - docstore_rows unpacks at most `limit` rows of a query, in its order,
 *   and resets it; a row that does not decode is -EIO with nothing to free;
 * - a message with no etag field is stored as it is; a table that does not
 *   exist is -EIO.
 * The ASan build checks that every failure frees what it made.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compact/committee/v1/committee.pb-c.h"
#include "compact/projects/v1/projects.pb-c.h"
#include "docstore.h"
#include "etag.h"
#include "log.h"
#include "pbmsg.h"

typedef Compact__Committee__V1__Meeting Meeting;
typedef Compact__Projects__V1__Transaction Transaction;

#define PLANNED COMPACT__COMMITTEE__V1__MEETING_STATUS__MEETING_STATUS_PLANNED
#define HELD COMPACT__COMMITTEE__V1__MEETING_STATUS__MEETING_STATUS_HELD

static const store_migration migrations[] = {
    {1, "CREATE TABLE meetings ("
        "  id TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL,"
        "  date TEXT NOT NULL, status INTEGER NOT NULL) STRICT;"
        "CREATE TABLE transactions ("
        "  id TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL) STRICT;"},
};

static int binds; /* calls of bind_meeting */

static void bind_meeting(sqlite3_stmt *s, int first, const ProtobufCMessage *m)
{
    const Meeting *mt = (const Meeting *)m;

    binds++;
    sqlite3_bind_text(s, first, mt->date, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, first + 1, (int)mt->status);
}

static const docstore_table meetings = {"meetings", &compact__committee__v1__meeting__descriptor,
                                        "date, status", 2, bind_meeting};
static const docstore_table transactions = {
    .name = "transactions", .descriptor = &compact__projects__v1__transaction__descriptor};
static const docstore_table missing = {.name = "nowhere",
                                       .descriptor = &compact__committee__v1__meeting__descriptor};

/* ---- fixtures --------------------------------------------------------------- */

static int open_store(void **state)
{
    store *st = NULL;

    assert_int_equal(store_open(":memory:", "docs", migrations, 1, &st), 0);
    *state = st;
    binds = 0;
    return 0;
}

static int close_store(void **state)
{
    store_close(*state);
    return 0;
}

static char *xstrdup(const char *s)
{
    char *c = strdup(s);

    assert_non_null(c);
    return c;
}

/* A meeting owned as an unpacked one (pbmsg_free frees it). */
static Meeting *meeting_new(const char *id, const char *date, int status, const char *summary)
{
    Meeting *m = calloc(1, sizeof *m);

    assert_non_null(m);
    compact__committee__v1__meeting__init(m);
    m->id = xstrdup(id);
    m->date = xstrdup(date);
    m->status = (Compact__Committee__V1__MeetingStatus)status;
    m->summary = xstrdup(summary);
    m->number = 7;
    return m;
}

static void assert_etag(const char *etag, const char *id, int64_t version)
{
    char want[ETAG_SIZE];

    etag_of(id, version, want, sizeof want);
    assert_string_equal(etag, want);
}

/* The stored row's own columns and version, read from the side. */
static void assert_columns(store *st, const char *id, const char *date, int status, int64_t version)
{
    sqlite3_stmt *s;

    assert_int_equal(sqlite3_prepare_v2(store_db(st),
                                        "SELECT date, status, version FROM meetings WHERE id = ?1",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), date);
    assert_int_equal(sqlite3_column_int(s, 1), status);
    assert_int_equal(sqlite3_column_int64(s, 2), version);
    sqlite3_finalize(s);
}

static Meeting *load(store *st, const char *id, int64_t *version)
{
    ProtobufCMessage *out = NULL;

    assert_int_equal(docstore_load(st, &meetings, id, &out, version), 0);
    assert_non_null(out);
    assert_ptr_equal(out->descriptor, &compact__committee__v1__meeting__descriptor);
    return (Meeting *)out;
}

static void exec(store *st, const char *sql)
{
    assert_int_equal(sqlite3_exec(store_db(st), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* ---- insert and load --------------------------------------------------------------- */

static void test_insert_then_load(void **state)
{
    store *st = *state;
    Meeting *m = meeting_new("mtg_1", "2024-05-02", PLANNED, "first");
    Meeting *got;
    int64_t version = 0;

    assert_int_equal(docstore_insert(st, &meetings, &m->base), 0);
    assert_etag(m->etag, "mtg_1", 1); /* set on the state given */
    assert_int_equal(binds, 1);
    assert_columns(st, "mtg_1", "2024-05-02", PLANNED, 1);
    got = load(st, "mtg_1", &version);
    assert_int_equal(version, 1);
    assert_string_equal(got->id, "mtg_1");
    assert_string_equal(got->date, "2024-05-02");
    assert_string_equal(got->summary, "first");
    assert_int_equal(got->number, 7);
    assert_int_equal(got->status, PLANNED);
    assert_etag(got->etag, "mtg_1", 1); /* and stored with it */
    pbmsg_free(&got->base);
    /* the version is optional */
    got = load(st, "mtg_1", NULL);
    pbmsg_free(&got->base);
    pbmsg_free(&m->base);
}

static void test_insert_taken_id(void **state)
{
    store *st = *state;
    Meeting *a = meeting_new("mtg_1", "2024-05-02", PLANNED, "first");
    Meeting *b = meeting_new("mtg_1", "2030-01-01", HELD, "intruder");
    Meeting *got;
    int64_t version;

    assert_int_equal(docstore_insert(st, &meetings, &a->base), 0);
    assert_int_equal(docstore_insert(st, &meetings, &b->base), -EEXIST);
    got = load(st, "mtg_1", &version);
    assert_int_equal(version, 1);
    assert_string_equal(got->summary, "first");
    assert_columns(st, "mtg_1", "2024-05-02", PLANNED, 1);
    /* the store works on after the refused write */
    pbmsg_free(&b->base);
    b = meeting_new("mtg_2", "2030-01-01", HELD, "second");
    assert_int_equal(docstore_insert(st, &meetings, &b->base), 0);
    pbmsg_free(&got->base);
    pbmsg_free(&a->base);
    pbmsg_free(&b->base);
}

static void test_load_unknown(void **state)
{
    store *st = *state;
    ProtobufCMessage *out = NULL;
    int64_t version = 99;

    assert_int_equal(docstore_load(st, &meetings, "mtg_none", &out, &version), -ENOENT);
    assert_null(out);
    assert_int_equal(version, 99);
}

/* ---- update ---------------------------------------------------------------------------- */

static void test_update_checks_version(void **state)
{
    store *st = *state;
    Meeting *m = meeting_new("mtg_1", "2024-05-02", PLANNED, "first"), *got;
    int64_t version;

    assert_int_equal(docstore_insert(st, &meetings, &m->base), 0);
    /* read at 1, written at 2: a new etag, the own columns follow the state */
    got = load(st, "mtg_1", &version);
    free(got->summary);
    got->summary = xstrdup("held, with minutes");
    got->status = HELD;
    free(got->date);
    got->date = xstrdup("2024-05-03");
    assert_int_equal(docstore_update(st, &meetings, &got->base, version), 0);
    assert_etag(got->etag, "mtg_1", 2);
    assert_columns(st, "mtg_1", "2024-05-03", HELD, 2);
    pbmsg_free(&got->base);
    got = load(st, "mtg_1", &version);
    assert_int_equal(version, 2);
    assert_string_equal(got->summary, "held, with minutes");
    assert_etag(got->etag, "mtg_1", 2);
    pbmsg_free(&got->base);

    /* a writer that read version 1 lost the race: nothing changes */
    free(m->summary);
    m->summary = xstrdup("stale");
    assert_int_equal(docstore_update(st, &meetings, &m->base, 1), -ESTALE);
    got = load(st, "mtg_1", &version);
    assert_int_equal(version, 2);
    assert_string_equal(got->summary, "held, with minutes");
    assert_etag(got->etag, "mtg_1", 2);
    assert_columns(st, "mtg_1", "2024-05-03", HELD, 2);
    /* nor may a writer claim a version not reached yet */
    assert_int_equal(docstore_update(st, &meetings, &m->base, 3), -ESTALE);
    assert_columns(st, "mtg_1", "2024-05-03", HELD, 2);
    /* the version read is the one to give: 2 works, once */
    assert_int_equal(docstore_update(st, &meetings, &got->base, 2), 0);
    assert_int_equal(docstore_update(st, &meetings, &got->base, 2), -ESTALE);
    assert_columns(st, "mtg_1", "2024-05-03", HELD, 3);
    pbmsg_free(&got->base);
    pbmsg_free(&m->base);
}

static void test_update_gone(void **state)
{
    store *st = *state;
    Meeting *m = meeting_new("mtg_9", "2024-05-02", PLANNED, "never stored");
    ProtobufCMessage *out = NULL;

    assert_int_equal(docstore_update(st, &meetings, &m->base, 1), -ESTALE);
    assert_int_equal(docstore_update(st, &meetings, &m->base, 0), -ESTALE);
    assert_int_equal(docstore_load(st, &meetings, "mtg_9", &out, NULL), -ENOENT);
    /* stored, then deleted behind its back */
    assert_int_equal(docstore_insert(st, &meetings, &m->base), 0);
    exec(st, "DELETE FROM meetings WHERE id = 'mtg_9'");
    assert_int_equal(docstore_update(st, &meetings, &m->base, 1), -ESTALE);
    assert_int_equal(docstore_load(st, &meetings, "mtg_9", &out, NULL), -ENOENT);
    pbmsg_free(&m->base);
}

/* ---- rows ------------------------------------------------------------------------------ */

static void insert_five(store *st)
{
    /* dates out of id order; two on one date */
    static const char *const dates[5] = {"2024-03-01", "2023-01-01", "2024-03-01", "2025-12-31",
                                         "2022-06-30"};
    char id[16];

    for (int i = 0; i < 5; i++) {
        Meeting *m;
        snprintf(id, sizeof id, "mtg_%d", i);
        m = meeting_new(id, dates[i], PLANNED, "row");
        assert_int_equal(docstore_insert(st, &meetings, &m->base), 0);
        pbmsg_free(&m->base);
    }
}

static void assert_ids(ProtobufCMessage **v, size_t n, const char *const *ids)
{
    for (size_t i = 0; i < n; i++)
        assert_string_equal(((Meeting *)v[i])->id, ids[i]);
}

static void test_rows_limit(void **state)
{
    store *st = *state;
    static const char *const order[5] = {"mtg_4", "mtg_1", "mtg_0", "mtg_2", "mtg_3"};
    sqlite3_stmt *s;
    ProtobufCMessage **v = NULL;
    size_t n = 99;

    insert_five(st);
    s = store_stmt(st, "SELECT state FROM meetings ORDER BY date, id");
    assert_non_null(s);
    assert_int_equal(docstore_rows(st, &meetings, s, 3, &v, &n), 0);
    assert_int_equal(n, 3);
    assert_ids(v, n, order);
    docstore_rows_free(v, n);
    /* the statement was reset: the same rows again */
    assert_int_equal(docstore_rows(st, &meetings, s, 3, &v, &n), 0);
    assert_int_equal(n, 3);
    assert_ids(v, n, order);
    docstore_rows_free(v, n);
    /* a limit above the rows: all of them */
    assert_int_equal(docstore_rows(st, &meetings, s, 100, &v, &n), 0);
    assert_int_equal(n, 5);
    assert_ids(v, n, order);
    docstore_rows_free(v, n);
    /* limit 0: none */
    assert_int_equal(docstore_rows(st, &meetings, s, 0, &v, &n), 0);
    assert_int_equal(n, 0);
    docstore_rows_free(v, n);
    /* a bound query, no row */
    s = store_stmt(st, "SELECT state FROM meetings WHERE date > ?1 ORDER BY date, id");
    sqlite3_bind_text(s, 1, "2099-01-01", -1, SQLITE_STATIC);
    assert_int_equal(docstore_rows(st, &meetings, s, 10, &v, &n), 0);
    assert_int_equal(n, 0);
    docstore_rows_free(v, n);
    docstore_rows_free(NULL, 0);
}

/* A row whose state is not a meeting: load and rows say -EIO and leave
 * nothing behind, and the other rows still load. */
static void test_row_that_does_not_decode(void **state)
{
    store *st = *state;
    ProtobufCMessage *out = NULL, **v = NULL;
    sqlite3_stmt *s;
    size_t n = 77;
    Meeting *got;

    insert_five(st);
    /* field 1 as wire type 7, which does not exist */
    exec(st, "UPDATE meetings SET state = X'0FFFFFFF' WHERE id = 'mtg_0'");
    assert_int_equal(docstore_load(st, &meetings, "mtg_0", &out, NULL), -EIO);
    assert_null(out);
    got = load(st, "mtg_1", NULL);
    pbmsg_free(&got->base);
    /* rows: the broken one is third in this order, after two good ones */
    s = store_stmt(st, "SELECT state FROM meetings ORDER BY date, id");
    assert_int_equal(docstore_rows(st, &meetings, s, 10, &v, &n), -EIO);
    assert_int_equal(n, 77);
    /* the statement was reset even so: a page that stops before it works */
    assert_int_equal(docstore_rows(st, &meetings, s, 2, &v, &n), 0);
    assert_int_equal(n, 2);
    docstore_rows_free(v, n);
    /* a truncated state (a length running past the end) too */
    exec(st, "UPDATE meetings SET state = X'0A05616263' WHERE id = 'mtg_2'");
    assert_int_equal(docstore_load(st, &meetings, "mtg_2", &out, NULL), -EIO);
}

/* ---- other tables ------------------------------------------------------------------------- */

static void test_message_without_etag(void **state)
{
    store *st = *state;
    Transaction *t = calloc(1, sizeof *t);
    ProtobufCMessage *out = NULL;
    int64_t version;

    assert_non_null(t);
    compact__projects__v1__transaction__init(t);
    t->id = xstrdup("trn_1");
    t->date = xstrdup("2024-01-01");
    assert_int_equal(docstore_insert(st, &transactions, &t->base), 0);
    assert_int_equal(docstore_insert(st, &transactions, &t->base), -EEXIST);
    free(t->date);
    t->date = xstrdup("2024-02-02");
    assert_int_equal(docstore_update(st, &transactions, &t->base, 1), 0);
    assert_int_equal(docstore_update(st, &transactions, &t->base, 1), -ESTALE);
    assert_int_equal(docstore_load(st, &transactions, "trn_1", &out, &version), 0);
    assert_int_equal(version, 2);
    assert_string_equal(((Transaction *)out)->date, "2024-02-02");
    pbmsg_free(out);
    pbmsg_free(&t->base);
}

static void test_table_missing(void **state)
{
    store *st = *state;
    Meeting *m = meeting_new("mtg_1", "2024-05-02", PLANNED, "first");
    ProtobufCMessage *out = NULL;

    assert_int_equal(docstore_insert(st, &missing, &m->base), -EIO);
    assert_int_equal(docstore_update(st, &missing, &m->base, 1), -EIO);
    assert_int_equal(docstore_load(st, &missing, "mtg_1", &out, NULL), -EIO);
    assert_null(out);
    pbmsg_free(&m->base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_then_load, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_insert_taken_id, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_load_unknown, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_update_checks_version, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_update_gone, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_rows_limit, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_row_that_does_not_decode, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_message_without_etag, open_store, close_store),
        cmocka_unit_test_setup_teardown(test_table_missing, open_store, close_store),
    };

    log_init("test_docstore", LOG_LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
