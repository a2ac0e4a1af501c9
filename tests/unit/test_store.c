/* test_store.c: the SQLite store against real database files in a temporary
 * directory (and ":memory:"): settings, migrations, the statement cache,
 * transactions, group commit (store_sync), health and the store.probe,
 * store.commit and store.sync fault points. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "store.h"

/* --- helpers --------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
} fixture;

static int setup_dir(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->dir, "/tmp/test_store.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown_dir(void **state)
{
    fixture *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;
    char path[512];
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(f->dir);
    free(f);
    /* leave no fault armed for the next test */
    unsetenv("COMPACT_FAULTS");
    fault_init();
    return 0;
}

static void arm_faults(const char *spec)
{
    if (spec != NULL)
        setenv("COMPACT_FAULTS", spec, 1);
    else
        unsetenv("COMPACT_FAULTS");
    assert_int_equal(fault_init(), 0);
}

/* The single integer a query answers. */
static long long query_int(store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void query_text(store *st, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    snprintf(out, size, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
}

static int table_exists(store *st, const char *name)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(
                         store_db(st), "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1",
                         -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int found = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    return found;
}

static void exec_ok(store *st, const char *sql)
{
    assert_int_equal(sqlite3_exec(store_db(st), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* Migration 2 reads what migration 1 made, so applying them out of order fails. */
static const store_migration two_migrations[] = {
    {.version = 1,
     .sql = "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
            "INSERT INTO item(name) VALUES ('from-migration-1');"},
    {.version = 2,
     .sql = "ALTER TABLE item ADD COLUMN note TEXT;"
            "UPDATE item SET note = 'from-migration-2';"},
};

/* A second component, as the runtime's tables are. */
static const store_migration runtime_migrations[] = {
    {.version = 1, .sql = "CREATE TABLE runtime_table (id INTEGER PRIMARY KEY);"},
    {.version = 2, .sql = "ALTER TABLE runtime_table ADD COLUMN note TEXT;"},
};

/* --- opening and settings -------------------------------------------------- */

static void test_open_settings(void **state)
{
    fixture *f = *state;
    store *st = NULL;
    assert_int_equal(store_open(f->dir, "svc", two_migrations, 2, &st), 0);
    assert_non_null(st);
    char mode[16];
    query_text(st, "PRAGMA journal_mode", mode, sizeof(mode));
    assert_string_equal(mode, "wal");
    /* NORMAL: COMMIT appends to the WAL, store_sync flushes it */
    assert_int_equal(query_int(st, "PRAGMA synchronous"), 1);
    assert_int_equal(query_int(st, "PRAGMA foreign_keys"), 1);
    assert_true(query_int(st, "PRAGMA busy_timeout") > 0);
    assert_int_equal(store_healthy(st), 1);
    assert_int_equal(query_int(st, "PRAGMA cache_size"), -2000); /* SQLite's 2 MB */
    assert_int_equal(store_set_page_cache(st, 65536), 0);
    assert_int_equal(query_int(st, "PRAGMA cache_size"), -65536);
    store_close(st);

    char path[128];
    snprintf(path, sizeof(path), "%s/svc.db", f->dir);
    assert_int_equal(access(path, F_OK), 0);
}

static void test_open_errors(void **state)
{
    fixture *f = *state;
    store *st = (store *)0x1;
    char missing[128], notadb[128];
    snprintf(missing, sizeof(missing), "%s/no/such/dir", f->dir);
    assert_int_equal(store_open(missing, "svc", NULL, 0, &st), -ENOENT);
    assert_ptr_equal(st, (store *)0x1); /* untouched on failure */

    /* a file that is not a database */
    snprintf(notadb, sizeof(notadb), "%s/junk.db", f->dir);
    FILE *fp = fopen(notadb, "w");
    assert_non_null(fp);
    for (int i = 0; i < 512; i++)
        fputs("this is not an SQLite database file. ", fp);
    fclose(fp);
    assert_int_equal(store_open(f->dir, "junk", NULL, 0, &st), -EIO);

    assert_int_equal(store_open(f->dir, "bad/name", NULL, 0, &st), -EINVAL);
    assert_int_equal(store_open(f->dir, "runtime", NULL, 0, &st), -EINVAL);
    assert_int_equal(store_open(f->dir, "", NULL, 0, &st), -EINVAL);
    store_close(NULL); /* a no-op */
}

/* --- migrations ------------------------------------------------------------ */

static void test_migrations_run_once_in_order(void **state)
{
    fixture *f = *state;
    store *st = NULL;
    assert_int_equal(store_open(f->dir, "svc", two_migrations, 2, &st), 0);
    assert_int_equal(store_migrate(st, STORE_RUNTIME_COMPONENT, runtime_migrations, 2), 0);
    assert_int_equal(store_schema_version(st, "svc"), 2);
    assert_int_equal(store_schema_version(st, "runtime"), 2);
    assert_int_equal(store_schema_version(st, "nobody"), 0);
    assert_true(table_exists(st, "runtime_table"));
    /* each component's versions once, in order, in the order they ran */
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db(st),
                                        "SELECT component, version FROM schema_migrations"
                                        " ORDER BY rowid",
                                        -1, &s, NULL),
                     SQLITE_OK);
    for (int v = 1; v <= 2; v++) {
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_string_equal(sqlite3_column_text(s, 0), "svc");
        assert_int_equal(sqlite3_column_int(s, 1), v);
    }
    for (int v = 1; v <= 2; v++) {
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_string_equal(sqlite3_column_text(s, 0), "runtime");
        assert_int_equal(sqlite3_column_int(s, 1), runtime_migrations[v - 1].version);
    }
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    assert_int_equal(query_int(st, "SELECT count(*) FROM item WHERE note = 'from-migration-2'"), 1);
    store_close(st);
}

static void test_migration_failure_leaves_nothing(void **state)
{
    fixture *f = *state;
    /* Not static: two_migrations[0] is no constant expression (gcc let it pass). */
    const store_migration failing[] = {
        two_migrations[0],
        {.version = 2,
         .sql = "CREATE TABLE half (x INTEGER);"
                "INSERT INTO item(name) VALUES ('half-done');"
                "INSERT INTO no_such_table VALUES (1);"},
    };
    store *st = NULL;
    assert_int_equal(store_open(f->dir, "svc", failing, 2, &st), -EINVAL);
    assert_null(st);

    /* version 1 stayed, nothing of version 2 did */
    assert_int_equal(store_open(f->dir, "svc", two_migrations, 1, &st), 0);
    assert_int_equal(store_schema_version(st, "svc"), 1);
    assert_false(table_exists(st, "half"));
    assert_int_equal(query_int(st, "SELECT count(*) FROM item"), 1);
    store_close(st);

    /* the fixed version 2 now applies */
    assert_int_equal(store_open(f->dir, "svc", two_migrations, 2, &st), 0);
    assert_int_equal(store_schema_version(st, "svc"), 2);
    store_close(st);
}

/* A migration that drops a table of a few megabytes inside its transaction
 * (as a table rebuild does). Its statement journal grows past the spill
 * threshold; Debian 12's SQLite 3.40.1 then answered "database or disk is
 * full" for every threshold above 128 KiB (store.c, STORE_STMT_JOURNAL_SPILL). */
static void test_migration_drops_a_large_table(void **state)
{
    fixture *f = *state;
    static const store_migration rebuild[] = {
        {1, "CREATE TABLE big (k INTEGER PRIMARY KEY, v BLOB NOT NULL);"
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
            " INSERT INTO big SELECT i, randomblob(3000) FROM n;"},
        {2, "CREATE TABLE big_v2 (k INTEGER PRIMARY KEY, v BLOB NOT NULL);"
            "INSERT INTO big_v2 SELECT k, v FROM big WHERE k % 100 = 0;"
            "DROP TABLE big;"
            "ALTER TABLE big_v2 RENAME TO big;"},
    };
    store *st;
    sqlite3_stmt *s;

    assert_int_equal(store_open(f->dir, "svc", rebuild, 1, &st), 0);
    store_close(st);
    assert_int_equal(store_open(f->dir, "svc", rebuild, 2, &st), 0);
    assert_int_equal(sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM big", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 20);
    sqlite3_finalize(s);
    store_close(st);
}

static void test_migrations_must_be_ordered(void **state)
{
    static const store_migration unordered[] = {
        {.version = 2, .sql = "CREATE TABLE b (x);"},
        {.version = 1, .sql = "CREATE TABLE a (x);"},
    };
    store *st = NULL;
    assert_int_equal(store_open(":memory:", "svc", unordered, 2, &st), -EINVAL);
    assert_null(st);
}

static void test_reopen_keeps_data_and_skips_migrations(void **state)
{
    fixture *f = *state;
    store *st = NULL;
    assert_int_equal(store_open(f->dir, "svc", two_migrations, 2, &st), 0);
    exec_ok(st, "INSERT INTO item(name) VALUES ('written-later')");
    store_close(st);

    /* re-running migration 1 would fail (the table exists) or add a row */
    assert_int_equal(store_open(f->dir, "svc", two_migrations, 2, &st), 0);
    assert_int_equal(query_int(st, "SELECT count(*) FROM item"), 2);
    assert_int_equal(query_int(st, "SELECT count(*) FROM item WHERE name='from-migration-1'"), 1);
    assert_int_equal(query_int(st, "SELECT count(*) FROM schema_migrations"), 2);
    store_close(st);
}

static void test_newer_schema_refused(void **state)
{
    fixture *f = *state;
    store *st = NULL;
    assert_int_equal(store_open(f->dir, "svc", two_migrations, 2, &st), 0);
    store_close(st);
    st = NULL;
    assert_int_equal(store_open(f->dir, "svc", two_migrations, 1, &st), -EINVAL);
    assert_null(st);
}

/* --- statement cache ------------------------------------------------------- */

static void test_stmt_cache(void **state)
{
    store *st = NULL;
    assert_int_equal(store_open(":memory:", "svc", two_migrations, 1, &st), 0);
    const char *sql = "SELECT name FROM item WHERE id >= ?1 ORDER BY id";
    sqlite3_stmt *a = store_stmt(st, sql);
    assert_non_null(a);

    /* same text at another address: same statement */
    char copy[128];
    strcpy(copy, sql);
    assert_ptr_equal(store_stmt(st, copy), a);
    assert_ptr_equal(store_stmt(st, sql), a);

    /* different text: a different statement */
    sqlite3_stmt *b = store_stmt(st, "SELECT count(*) FROM item");
    assert_non_null(b);
    assert_ptr_not_equal(a, b);

    /* bindings are cleared: a NULL parameter matches nothing */
    sqlite3_bind_int(a, 1, 0);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    a = store_stmt(st, sql);
    assert_int_equal(sqlite3_step(a), SQLITE_DONE);

    /* reset: a statement left mid-result starts again from the first row */
    exec_ok(st, "INSERT INTO item(name) VALUES ('second')");
    a = store_stmt(st, sql);
    sqlite3_bind_int(a, 1, 0);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_string_equal(sqlite3_column_text(a, 0), "from-migration-1");
    a = store_stmt(st, sql);
    sqlite3_bind_int(a, 1, 0);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_string_equal(sqlite3_column_text(a, 0), "from-migration-1");

    /* many statements (more than the hash buckets) all stay distinct */
    sqlite3_stmt *many[200];
    for (int i = 0; i < 200; i++) {
        char q[64];
        snprintf(q, sizeof(q), "SELECT %d", i);
        many[i] = store_stmt(st, q);
        assert_non_null(many[i]);
    }
    for (int i = 0; i < 200; i++) {
        char q[64];
        snprintf(q, sizeof(q), "SELECT %d", i);
        sqlite3_stmt *s = store_stmt(st, q);
        assert_ptr_equal(s, many[i]);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(s, 0), i);
    }

    assert_null(store_stmt(st, "SELEKT nonsense"));
    assert_int_equal(store_healthy(st), 1); /* a bad statement is not a bad disk */
    store_close(st);
}

/* --- transactions ---------------------------------------------------------- */

static void test_commit_and_rollback(void **state)
{
    fixture *f = *state;
    store *st = NULL;
    assert_int_equal(store_open(f->dir, "svc", two_migrations, 2, &st), 0);

    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_begin(st), -EINVAL); /* not nestable */
    exec_ok(st, "INSERT INTO item(name) VALUES ('committed')");
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_commit(st), -EINVAL); /* nothing open */

    assert_int_equal(store_begin(st), 0);
    exec_ok(st, "INSERT INTO item(name) VALUES ('rolled-back')");
    store_rollback(st);
    store_rollback(st); /* nothing open: harmless */

    /* a failing statement in a transaction maps to errno; rollback undoes the rest */
    assert_int_equal(store_begin(st), 0);
    exec_ok(st, "INSERT INTO item(name) VALUES ('partial')");
    sqlite3_stmt *dup = store_stmt(st, "INSERT INTO item(name) VALUES (?1)");
    sqlite3_bind_text(dup, 1, "committed", -1, SQLITE_STATIC);
    assert_int_equal(store_result(st, sqlite3_step(dup)), -EEXIST);
    store_rollback(st);
    store_close(st);

    assert_int_equal(store_open(f->dir, "svc", two_migrations, 2, &st), 0);
    assert_int_equal(query_int(st, "SELECT count(*) FROM item WHERE name='committed'"), 1);
    assert_int_equal(query_int(st, "SELECT count(*) FROM item WHERE name='rolled-back'"), 0);
    assert_int_equal(query_int(st, "SELECT count(*) FROM item WHERE name='partial'"), 0);
    store_close(st);
}

static void test_foreign_keys_enforced(void **state)
{
    static const store_migration fk[] = {
        {.version = 1,
         .sql = "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
                "CREATE TABLE child (id INTEGER PRIMARY KEY,"
                " parent INTEGER NOT NULL REFERENCES parent(id));"},
    };
    store *st = NULL;
    assert_int_equal(store_open(":memory:", "svc", fk, 1, &st), 0);
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO child(parent) VALUES (42)");
    assert_int_equal(store_result(st, sqlite3_step(s)), -EINVAL);
    store_close(st);
}

/* --- health ---------------------------------------------------------------- */

static void test_result_mapping_and_health(void **state)
{
    store *st = NULL;
    assert_int_equal(store_open(":memory:", "svc", NULL, 0, &st), 0);
    assert_int_equal(store_result(st, SQLITE_OK), 0);
    assert_int_equal(store_result(st, SQLITE_ROW), 0);
    assert_int_equal(store_result(st, SQLITE_DONE), 0);
    assert_int_equal(store_result(st, SQLITE_BUSY), -EBUSY);
    assert_int_equal(store_result(st, SQLITE_CONSTRAINT_UNIQUE), -EEXIST);
    assert_int_equal(store_result(st, SQLITE_NOMEM), -ENOMEM);
    assert_int_equal(store_healthy(st), 1);

    static const struct {
        int rc, err;
    } io[] = {
        {SQLITE_IOERR, -EIO},   {SQLITE_IOERR_FSYNC, -EIO}, {SQLITE_CORRUPT, -EIO},
        {SQLITE_FULL, -ENOSPC}, {SQLITE_READONLY, -EROFS},  {SQLITE_CANTOPEN, -EIO},
        {SQLITE_NOTADB, -EIO},
    };
    for (size_t i = 0; i < sizeof(io) / sizeof(io[0]); i++) {
        assert_int_equal(store_result(st, io[i].rc), io[i].err);
        assert_int_equal(store_healthy(st), 0);
        assert_int_equal(store_check(st), 1); /* the probe restores it */
        assert_int_equal(store_healthy(st), 1);
    }
    store_close(st);
}

static void test_probe_fault_and_missing_file(void **state)
{
    fixture *f = *state;
    store *st = NULL;
    assert_int_equal(store_open(f->dir, "svc", NULL, 0, &st), 0);
    assert_int_equal(store_check(st), 1);

    arm_faults("store.probe");
    assert_int_equal(store_check(st), 0);
    assert_int_equal(store_healthy(st), 0);

    arm_faults(NULL);
    assert_int_equal(store_check(st), 1);
    assert_int_equal(store_healthy(st), 1);

    /* the database file deleted under a running service */
    char path[128];
    snprintf(path, sizeof(path), "%s/svc.db", f->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(store_check(st), 0);
    assert_int_equal(store_healthy(st), 0);
    store_close(st);
}

static void test_commit_fault(void **state)
{
    fixture *f = *state;
    /* armed before open: migrations must still apply */
    arm_faults("store.commit");
    store *st = NULL;
    assert_int_equal(store_open(f->dir, "svc", two_migrations, 2, &st), 0);

    assert_int_equal(store_begin(st), 0);
    exec_ok(st, "INSERT INTO item(name) VALUES ('never')");
    assert_int_equal(store_commit(st), -EIO);
    assert_int_equal(sqlite3_get_autocommit(store_db(st)), 1); /* rolled back */
    assert_int_equal(query_int(st, "SELECT count(*) FROM item WHERE name='never'"), 0);

    arm_faults(NULL);
    assert_int_equal(store_begin(st), 0);
    exec_ok(st, "INSERT INTO item(name) VALUES ('now')");
    assert_int_equal(store_commit(st), 0);
    store_close(st);

    assert_int_equal(store_open(f->dir, "svc", two_migrations, 2, &st), 0);
    assert_int_equal(query_int(st, "SELECT count(*) FROM item WHERE name='never'"), 0);
    assert_int_equal(query_int(st, "SELECT count(*) FROM item WHERE name='now'"), 1);
    store_close(st);
}

static void test_memory_is_private(void **state)
{
    store *a = NULL, *b = NULL;
    assert_int_equal(store_open(":memory:", "svc", two_migrations, 2, &a), 0);
    assert_int_equal(store_open(":memory:", "svc", two_migrations, 2, &b), 0);
    exec_ok(a, "INSERT INTO item(name) VALUES ('only-in-a')");
    assert_int_equal(query_int(a, "SELECT count(*) FROM item"), 2);
    assert_int_equal(query_int(b, "SELECT count(*) FROM item"), 1);
    assert_int_equal(store_check(a), 1);
    store_close(a);
    store_close(b);
}

/* --- group commit ----------------------------------------------------------- */

typedef struct sync_seen {
    int calls;
    int rc;
} sync_seen;

static void on_synced(void *arg, int rc)
{
    sync_seen *seen = arg;
    seen->calls++;
    seen->rc = rc;
}

static void commit_item(store *st, const char *name)
{
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT INTO item(name) VALUES ('%s')", name);
    assert_int_equal(store_begin(st), 0);
    exec_ok(st, sql);
    assert_int_equal(store_commit(st), 0);
}

/* A store whose flushes run on `loop` (initialized here). */
static store *open_on_loop(fixture *f, uv_loop_t *loop)
{
    assert_int_equal(uv_loop_init(loop), 0);
    store *st = NULL;
    assert_int_equal(store_open(f->dir, "svc", two_migrations, 2, &st), 0);
    store_use_loop(st, loop);
    return st;
}

static void test_sync_without_loop_flushes_in_place(void **state)
{
    fixture *f = *state;
    store *st = NULL;
    assert_int_equal(store_open(f->dir, "svc", two_migrations, 2, &st), 0);
    commit_item(st, "a");
    sync_seen seen = {0, -1};
    store_sync(st, on_synced, &seen);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.rc, 0);
    assert_int_equal(store_flushes(st), 1);
    store_close(st);
}

/* The waits of one turn's batch of writes share one flush (the batch's
 * COMMIT hands them to the syncer together: the first no longer starts a
 * flush of its own that the others must wait out). None is answered before
 * the loop ran the flush. */
static void test_sync_on_loop_groups_waits(void **state)
{
    fixture *f = *state;
    uv_loop_t loop;
    store *st = open_on_loop(f, &loop);

    enum { WAITS = 50 };
    sync_seen seen[WAITS];
    for (int i = 0; i < WAITS; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i);
        commit_item(st, name);
        seen[i] = (sync_seen){0, -1};
        store_sync(st, on_synced, &seen[i]);
        assert_int_equal(seen[i].calls, 0);
    }
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    for (int i = 0; i < WAITS; i++) {
        assert_int_equal(seen[i].calls, 1);
        assert_int_equal(seen[i].rc, 0);
    }
    assert_int_equal(store_flushes(st), 1);
    assert_int_equal(store_healthy(st), 1);
    store_close(st);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0); /* the store's handles close */
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A waiter that waits again from its callback (as the outbox relay and a
 * write's reply may): the first such wait starts the next flush at once,
 * and the ones after it wait for the flush after that; none is lost, and
 * no flush is started twice. */
typedef struct chained {
    store *st;
    sync_seen first, again;
} chained;

static void on_synced_wait_again(void *arg, int rc)
{
    chained *ch = arg;
    on_synced(&ch->first, rc);
    store_sync(ch->st, on_synced, &ch->again);
}

static void test_sync_waits_from_callbacks(void **state)
{
    fixture *f = *state;
    uv_loop_t loop;
    store *st = open_on_loop(f, &loop);
    chained ch[3];

    for (int i = 0; i < 3; i++) {
        ch[i] = (chained){.st = st, .first = {0, -1}, .again = {0, -1}};
        commit_item(st, i == 0 ? "c0" : i == 1 ? "c1" : "c2"); /* one batch */
        store_sync(st, on_synced_wait_again, &ch[i]);
    }
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ch[i].first.calls, 1);
        assert_int_equal(ch[i].first.rc, 0);
        assert_int_equal(ch[i].again.calls, 1);
        assert_int_equal(ch[i].again.rc, 0);
    }
    assert_int_equal(store_flushes(st), 3); /* the batch's, the first again's, the rest's */
    store_close(st);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A failed flush fails its waiters, and the store for good: unhealthy, no
 * new transaction, every later wait failed at once. */
static void test_sync_fault_fails_for_good(void **state)
{
    fixture *f = *state;
    arm_faults("store.sync");
    uv_loop_t loop;
    store *st = open_on_loop(f, &loop);
    commit_item(st, "lost?");
    sync_seen seen = {0, 0};
    store_sync(st, on_synced, &seen);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.rc, -EIO);
    assert_int_equal(store_healthy(st), 0);
    assert_int_equal(store_check(st), 0); /* a probe cannot restore it */
    assert_int_equal(store_begin(st), -EIO);
    sync_seen later = {0, 0};
    store_sync(st, on_synced, &later);
    assert_int_equal(later.calls, 1);
    assert_int_equal(later.rc, -EIO);
    store_close(st);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0); /* the store's handles close */
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Closing with waits pending answers them all (with a last flush in place);
 * a flush still on the pool frees the syncer when it ends. */
static void test_sync_close_answers_waiters(void **state)
{
    fixture *f = *state;
    arm_faults("store.sync_delay_ms=200");
    uv_loop_t loop;
    store *st = open_on_loop(f, &loop);
    commit_item(st, "a");
    sync_seen first = {0, -1}, second = {0, -1};
    store_sync(st, on_synced, &first);  /* starts a flush on the pool */
    store_sync(st, on_synced, &second); /* waits for the next one */
    store_close(st);
    assert_int_equal(first.calls, 1);
    assert_int_equal(first.rc, 0);
    assert_int_equal(second.calls, 1);
    assert_int_equal(second.rc, 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0); /* the pooled flush ends */
    assert_int_equal(first.calls, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_sync_in_memory_is_immediate(void **state)
{
    (void)state;
    store *st = NULL;
    assert_int_equal(store_open(":memory:", "svc", two_migrations, 2, &st), 0);
    sync_seen seen = {0, -1};
    store_sync(st, on_synced, &seen);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.rc, 0);
    assert_int_equal(store_flushes(st), 0);
    store_close(st);
}

/* ---- batched commits ------------------------------------------------------- */

static int count_rows(const char *path, const char *where)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    char sql[256];
    int n = -1;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM item WHERE %s", where);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static int count_own(store *st, const char *where)
{
    char sql[256], out[32];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM item WHERE %s", where);
    query_text(st, sql, out, sizeof out);
    return atoi(out);
}

/* The writes of a turn are one transaction, committed at its end: until
 * then this connection sees them and another does not; a write rolled
 * back leaves the others; the waiters hear once the COMMIT is flushed. */
static void test_batch_commits_at_end_of_turn(void **state)
{
    fixture *f = *state;
    uv_loop_t loop;
    store *st = open_on_loop(f, &loop);
    char path[512];
    sync_seen seen[3] = {{0, -1}, {0, -1}, {0, -1}};

    snprintf(path, sizeof path, "%s/svc.db", f->dir);
    commit_item(st, "b1");
    store_sync(st, on_synced, &seen[0]);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_writing(st), 1);
    exec_ok(st, "INSERT INTO item(name) VALUES ('b2')");
    store_rollback(st);
    assert_int_equal(store_writing(st), 0);
    commit_item(st, "b3");
    store_sync(st, on_synced, &seen[1]);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_begin(st), -EINVAL); /* not nestable */
    store_rollback(st);

    assert_int_equal(count_own(st, "name LIKE 'b%'"), 2);
    assert_int_equal(count_rows(path, "name LIKE 'b%'"), 0);
    assert_int_equal(store_uncommitted(st), 1);
    assert_int_equal(seen[0].calls + seen[1].calls, 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(seen[0].calls, 1);
    assert_int_equal(seen[0].rc, 0);
    assert_int_equal(seen[1].calls, 1);
    assert_int_equal(seen[1].rc, 0);
    assert_int_equal(store_uncommitted(st), 0);
    assert_int_equal(count_rows(path, "name IN ('b1', 'b3')"), 2);
    assert_int_equal(count_rows(path, "name = 'b2'"), 0);
    assert_true(store_flushes(st) >= 1);

    /* A sync with no write pending waits for a flush only. */
    store_sync(st, on_synced, &seen[2]);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(seen[2].calls, 1);
    store_close(st);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A batch whose COMMIT fails fails every waiter of the turn and keeps none
 * of its writes; the next turn's writes work. */
static void test_batch_commit_failure(void **state)
{
    fixture *f = *state;
    uv_loop_t loop;
    store *st = open_on_loop(f, &loop);
    char path[512];
    sync_seen seen[4] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}};

    snprintf(path, sizeof path, "%s/svc.db", f->dir);
    arm_faults("store.batch_commit");
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "lost%d", i);
        commit_item(st, name);
        store_sync(st, on_synced, &seen[i]);
    }
    assert_int_equal(store_uncommitted(st), 1);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(seen[i].calls, 1);
        assert_int_equal(seen[i].rc, -ECANCELED);
    }
    assert_int_equal(store_uncommitted(st), 0);
    assert_int_equal(store_healthy(st), 1); /* not a failed flush: writes go on */
    assert_int_equal(count_own(st, "name LIKE 'lost%'"), 0);
    assert_int_equal(count_rows(path, "name LIKE 'lost%'"), 0);

    arm_faults(NULL);
    commit_item(st, "kept");
    store_sync(st, on_synced, &seen[3]);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(seen[3].rc, 0);
    assert_int_equal(count_rows(path, "name = 'kept'"), 1);
    store_close(st);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Two batches in the pipeline: the first committed and its flush in
 * flight, the second's COMMIT refused. The second's writes fail at once and
 * none is kept; the first's are acknowledged after their flush and kept. */
static void test_pipeline_second_commit_fails(void **state)
{
    fixture *f = *state;
    uv_loop_t loop;
    store *st;
    char path[512];
    sync_seen first[2] = {{0, -1}, {0, -1}}, second[2] = {{0, 0}, {0, 0}};

    arm_faults("store.sync_delay_ms=200"); /* read when the store opens */
    st = open_on_loop(f, &loop);
    snprintf(path, sizeof path, "%s/svc.db", f->dir);
    commit_item(st, "first0");
    store_sync(st, on_synced, &first[0]);
    commit_item(st, "first1");
    store_sync(st, on_synced, &first[1]);
    uv_run(&loop, UV_RUN_NOWAIT); /* the COMMIT; the flush starts */
    assert_int_equal(store_uncommitted(st), 0);
    assert_int_equal(first[0].calls + first[1].calls, 0);

    arm_faults("store.batch_commit");
    commit_item(st, "second0");
    store_sync(st, on_synced, &second[0]);
    commit_item(st, "second1");
    store_sync(st, on_synced, &second[1]);
    uv_run(&loop, UV_RUN_NOWAIT); /* the refused COMMIT */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(second[i].calls, 1);
        assert_int_equal(second[i].rc, -ECANCELED);
        assert_int_equal(first[i].calls, 0); /* still flushing */
    }
    arm_faults(NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(first[i].calls, 1);
        assert_int_equal(first[i].rc, 0);
    }
    assert_int_equal(count_rows(path, "name LIKE 'first%'"), 2);
    assert_int_equal(count_rows(path, "name LIKE 'second%'"), 0);
    assert_int_equal(count_own(st, "name LIKE 'second%'"), 0);
    store_close(st);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* store_after_commit: at once without a batch; at the end of the turn
 * with one, with the COMMIT's outcome, before the flush waiters; with
 * -ESHUTDOWN when the store closes first. */
static void test_after_commit_hooks(void **state)
{
    fixture *f = *state;
    uv_loop_t loop;
    store *st = open_on_loop(f, &loop);
    sync_seen now = {0, -1}, ok = {0, -1}, lost = {0, 0}, closing = {0, 0}, flushed = {0, -1};

    store_after_commit(st, on_synced, &now); /* nothing open */
    assert_int_equal(now.calls, 1);
    assert_int_equal(now.rc, 0);

    commit_item(st, "h1");
    store_after_commit(st, on_synced, &ok);
    store_sync(st, on_synced, &flushed);
    assert_int_equal(ok.calls, 0);
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 1); /* one turn commits */
    assert_int_equal(ok.calls, 1);
    assert_int_equal(ok.rc, 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(flushed.calls, 1);
    assert_int_equal(flushed.rc, 0);

    arm_faults("store.batch_commit");
    commit_item(st, "h2");
    store_after_commit(st, on_synced, &lost);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(lost.calls, 1);
    assert_int_equal(lost.rc, -ECANCELED);
    arm_faults(NULL);

    commit_item(st, "h3");
    store_after_commit(st, on_synced, &closing);
    store_close(st);
    assert_int_equal(closing.calls, 1);
    assert_int_equal(closing.rc, -ESHUTDOWN);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Batching off (store_set_batching): store_commit commits, as without a
 * loop; the flush waiters still wait for the flush. */
static void test_batching_off(void **state)
{
    fixture *f = *state;
    uv_loop_t loop;
    store *st = open_on_loop(f, &loop);
    char path[512];
    sync_seen seen = {0, -1}, hook = {0, -1};

    snprintf(path, sizeof path, "%s/svc.db", f->dir);
    store_set_batching(st, 0);
    arm_faults("store.batch_commit"); /* no batch: never consulted */
    commit_item(st, "alone");
    assert_int_equal(store_uncommitted(st), 0);
    assert_int_equal(count_rows(path, "name = 'alone'"), 1);
    store_after_commit(st, on_synced, &hook);
    assert_int_equal(hook.calls, 1);
    assert_int_equal(hook.rc, 0);
    store_sync(st, on_synced, &seen);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.rc, 0);
    arm_faults(NULL);
    store_close(st);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Closing with a batch open commits it and answers its waiters. */
static void test_batch_close_commits(void **state)
{
    fixture *f = *state;
    uv_loop_t loop;
    store *st = open_on_loop(f, &loop);
    char path[512];
    sync_seen seen = {0, -1};

    snprintf(path, sizeof path, "%s/svc.db", f->dir);
    commit_item(st, "at-close");
    store_sync(st, on_synced, &seen);
    store_close(st);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.rc, 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(count_rows(path, "name = 'at-close'"), 1);
}

/* --- checkpoints (store_checkpoint.c) ----------------------------------------- */

static off_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* One write of `kib` KiB of text, committed at the end of its turn; with
 * `durable`, the loop runs until its flush is over, as a service's reply
 * waits. */
static void commit_blob(store *st, uv_loop_t *loop, int kib, int durable)
{
    char sql[128];
    sync_seen seen = {0, -1};

    assert_int_equal(store_begin(st), 0);
    snprintf(sql, sizeof sql,
             "INSERT INTO item(name, note) VALUES (hex(randomblob(16)), hex(randomblob(%d)))",
             kib * 512);
    exec_ok(st, sql);
    assert_int_equal(store_commit(st), 0);
    if (!durable) {
        uv_run(loop, UV_RUN_NOWAIT);
        return;
    }
    store_sync(st, on_synced, &seen);
    while (seen.calls == 0)
        uv_run(loop, UV_RUN_ONCE);
    assert_int_equal(seen.rc, 0);
}

/* Under a steady stream of writes the copy is made ahead in steps, the
 * checkpoint that completes the WAL runs every 8,000 pages or so, and the
 * WAL starts again from its start: it stays near that size, and every
 * write is in the database file afterwards. */
static void test_checkpoints_keep_the_wal_small(void **state)
{
    fixture *f = *state;
    uv_loop_t loop;
    store *st = open_on_loop(f, &loop);
    char path[512], wal[520];
    off_t most = 0;
    enum { WRITES = 600 }; /* 128 KiB of text each: 32 pages, 19,200 in all */

    snprintf(path, sizeof path, "%s/svc.db", f->dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    for (int i = 0; i < WRITES; i++) {
        commit_blob(st, &loop, 128, 1);
        if (file_size(wal) > most)
            most = file_size(wal);
    }
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_true(store_checkpoint_copies(st) >= 8);
    assert_true(store_checkpoints(st) >= 2);
    /* 8,000 pages and what came while the last steps ran (a few writes):
     * not the 19,200 pages written */
    assert_true(most < (off_t)(8000 + 1000) * (4096 + 24) + 32);
    assert_int_equal(count_rows(path, "length(note) >= 1024"), WRITES);
    store_close(st);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(store_open(f->dir, "svc", two_migrations, 2, &st), 0);
    char ok[16];
    query_text(st, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
    store_close(st);
}

/* The checkpoint that completes the WAL syncs on the loop what it copies,
 * so it follows one more step, begun once the WAL is full: with no write
 * while that step runs, it finds nothing left to copy. Completing at once
 * would leave it up to a step's worth (1,000 pages). */
static void test_the_completing_checkpoint_follows_a_step(void **state)
{
    fixture *f = *state;
    uv_loop_t loop;
    store *st = open_on_loop(f, &loop);
    char path[512], wal[520];

    snprintf(path, sizeof path, "%s/svc.db", f->dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    while (file_size(wal) < (off_t)8000 * (4096 + 24) + 32) /* 32 pages a write */
        commit_blob(st, &loop, 128, 1);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(store_checkpoints(st), 1);
    assert_int_equal(store_checkpoint_last_tail(st), 0);
    commit_blob(st, &loop, 128, 1); /* the WAL starts again: no second checkpoint */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(store_checkpoints(st), 1);
    store_close(st);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* While the database file's flush runs behind a copy, the WAL is not
 * started again from its start, though everything in it was copied: the
 * file may not hold those pages yet, and the WAL is then all there is of
 * them. A write made meanwhile goes after the WAL's last frame. */
static void test_wal_kept_while_the_file_flushes(void **state)
{
    fixture *f = *state;
    uv_loop_t loop;
    store *st;
    char path[512], wal[520];

    arm_faults("store.sync_delay_ms=300"); /* every flush: the WAL's and the file's */
    st = open_on_loop(f, &loop);
    snprintf(path, sizeof path, "%s/svc.db", f->dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    commit_blob(st, &loop, 6000, 0); /* 1,500 pages in one write: a step */
    while (store_checkpoint_copies(st) == 0)
        uv_run(&loop, UV_RUN_ONCE);
    off_t before = file_size(wal); /* everything copied; the file's flush runs */
    commit_blob(st, &loop, 1, 0);
    assert_true(file_size(wal) > before);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(count_rows(path, "length(note) >= 1024"), 2);
    arm_faults(NULL);
    store_close(st);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_settings, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_open_errors, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_migrations_run_once_in_order, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_migration_failure_leaves_nothing, setup_dir,
                                        teardown_dir),
        cmocka_unit_test(test_migrations_must_be_ordered),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data_and_skips_migrations, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup_dir, teardown_dir),
        cmocka_unit_test(test_stmt_cache),
        cmocka_unit_test_setup_teardown(test_commit_and_rollback, setup_dir, teardown_dir),
        cmocka_unit_test(test_foreign_keys_enforced),
        cmocka_unit_test(test_result_mapping_and_health),
        cmocka_unit_test_setup_teardown(test_probe_fault_and_missing_file, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_commit_fault, setup_dir, teardown_dir),
        cmocka_unit_test(test_memory_is_private),
        cmocka_unit_test_setup_teardown(test_sync_without_loop_flushes_in_place, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_sync_on_loop_groups_waits, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_sync_waits_from_callbacks, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_sync_fault_fails_for_good, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_sync_close_answers_waiters, setup_dir, teardown_dir),
        cmocka_unit_test(test_sync_in_memory_is_immediate),
        cmocka_unit_test_setup_teardown(test_batch_commits_at_end_of_turn, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_batch_commit_failure, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_batch_close_commits, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_after_commit_hooks, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_batching_off, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_migration_drops_a_large_table, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_pipeline_second_commit_fails, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_the_completing_checkpoint_follows_a_step, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_checkpoints_keep_the_wal_small, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_wal_kept_while_the_file_flushes, setup_dir,
                                        teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
