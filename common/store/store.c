/* store.c: a service's own SQLite database (see store.h for the contract).
 *
 * One connection, opened SQLITE_OPEN_NOMUTEX and used only on the loop
 * thread, so nothing here locks. The statement cache is a fixed array of hash
 * buckets chained by SQL text; the number of distinct statements a service
 * runs is small and known at build time, so the table never grows. Health is
 * one flag: cleared by store_result() on an I/O-class error, recomputed by
 * store_check().
 *
 * Batched commits. Once the store has a loop (store_use_loop), the writes of
 * one loop turn share one SQLite transaction: the first store_begin() of a
 * turn opens it (BEGIN IMMEDIATE) and a uv_check handle commits it at the
 * end of the turn; each write is a savepoint inside it, released by
 * store_commit() (visible to every later read, as a commit was) or rolled
 * back alone by store_rollback(). store_sync() waiters of the turn wait for
 * that COMMIT, then for the flush (store_sync.c) as before. At 64 writes in
 * flight a turn carries tens of them, and the pages they all touch (a
 * table's last leaf, its indexes, the outbox) go to the WAL once per turn
 * instead of once per write, with one COMMIT and one round of file locks
 * (the gain over one COMMIT per write is not yet measured in an
 * interleaved run: bench/RESULTS.md, "Durable writes"). If the COMMIT fails (fault point "store.batch_commit"
 * makes it), or SQLite rolls the transaction back on an I/O error, every
 * write of the turn fails its waiter (-ECANCELED): none of them was
 * acknowledged, none is kept.
 *
 * Reads on this connection see the writes of the turn before that COMMIT,
 * as they saw a committed write before its flush. So that such a value
 * never outlives a failed COMMIT in Redis, service.c holds the cache's
 * read-through fills while store_uncommitted() (cache_hold_fills); the
 * relay's store_sync waits for the COMMIT like any other.
 */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"
#include "store_checkpoint.h"

/* How long a statement waits for a lock another process holds (a backup,
 * the sqlite3 shell): long while opening, when nothing else runs yet; short
 * once the store serves a loop, because SQLite waits by sleeping on the
 * calling thread, which is then the loop, and every call the service would
 * answer meanwhile waits too. A write that meets the lock fails UNAVAILABLE
 * ("busy") and may be retried. */
#define STORE_OPEN_BUSY_TIMEOUT_MS 5000
#define STORE_LOOP_BUSY_TIMEOUT_MS 50
#define STORE_STMT_BUCKETS 64

typedef struct store_cached {
    char *sql; /* owned copy: the key, compared by text */
    sqlite3_stmt *stmt;
    struct store_cached *next;
} store_cached;

/* The handles that commit a batch at the end of the loop turn: a check
 * handle runs right after the turn's I/O callbacks; an idle handle, active
 * with it, keeps the loop from blocking in its poll first when the batch
 * was opened elsewhere (a timer, or before the loop ran). */
struct store_turn {
    uv_check_t check;
    uv_idle_t idle;
    int open_handles;
};

/* A store_sync() waiting for the batch's COMMIT. */
typedef struct store_waiter {
    struct store_waiter *next;
    store_sync_cb cb;
    void *arg;
} store_waiter;

struct store {
    sqlite3 *db;
    char *path; /* "<dir>/<name>.db" or ":memory:" */
    int memory; /* 1 for ":memory:" */
    dev_t dev;  /* identity of the file at open, for store_check */
    ino_t ino;
    int healthy;
    store_syncer *syncer;             /* NULL for ":memory:" */
    store_checkpointer *checkpointer; /* once on a loop (store_checkpoint.c) */
    store_cached *buckets[STORE_STMT_BUCKETS];
    /* batched commits (see the top): on once `end_of_turn` exists */
    struct store_turn *end_of_turn;        /* heap: freed in its close callbacks */
    int batch_open;                        /* BEGIN IMMEDIATE issued, COMMIT due */
    int writing;                           /* between store_begin and commit/rollback */
    store_waiter *waiters, **waiters_tail; /* store_sync: the COMMIT, then the flush */
    store_waiter *hooks, **hooks_tail;     /* store_after_commit: the COMMIT */
    int unbatched;                         /* store_set_batching(st, 0) */
    int commit_error;                      /* of the last failed batch COMMIT */
};

/* --- errors and health ----------------------------------------------------- */

/* The I/O-class codes: the file or the disk under it is not usable. */
static int store_rc_is_io(int primary)
{
    switch (primary) {
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB:
        return 1;
    default:
        return 0;
    }
}

static int store_errno_constraint(int rc)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
        return -EEXIST;
    default:
        return -EINVAL; /* NOT NULL, CHECK, FOREIGN KEY: the caller's data */
    }
}

/* Maps a (possibly extended) SQLite code to a negative errno. */
static int store_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_CONSTRAINT:
        return store_errno_constraint(rc);
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_TOOBIG:
        return -E2BIG;
    case SQLITE_RANGE:
        return -ERANGE;
    case SQLITE_INTERRUPT:
        return -EINTR;
    case SQLITE_ABORT:
        return -ECANCELED;
    case SQLITE_ERROR:
    case SQLITE_MISUSE:
    case SQLITE_MISMATCH:
        return -EINVAL;
    case SQLITE_SCHEMA:
        return -EAGAIN;
    case SQLITE_NOLFS:
        return -EFBIG;
    default: /* IOERR, CORRUPT, CANTOPEN, NOTADB, PROTOCOL, ... */
        return -EIO;
    }
}

static void store_set_healthy(store *st, int healthy, const char *why)
{
    if (st->healthy == healthy)
        return;
    st->healthy = healthy;
    if (healthy)
        log_msg(LOG_LEVEL_INFO, "store healthy again", "path", st->path, NULL);
    else
        log_msg(LOG_LEVEL_ERROR, "store unhealthy", "path", st->path, "error", why, NULL);
}

int store_result(store *st, int sqlite_rc)
{
    int err = store_errno(sqlite_rc);
    if (err != 0 && st != NULL && store_rc_is_io(sqlite_rc & 0xff))
        store_set_healthy(st, 0, sqlite3_errstr(sqlite_rc));
    return err;
}

int store_healthy(const store *st)
{
    return st != NULL && st->healthy && !store_syncer_failed(st->syncer);
}

/* --- statement cache ------------------------------------------------------- */

/* FNV-1a over the SQL text. */
static size_t store_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h % STORE_STMT_BUCKETS;
}

static store_cached *store_cache_find(store *st, const char *sql, size_t bucket)
{
    for (store_cached *e = st->buckets[bucket]; e != NULL; e = e->next) {
        if (strcmp(e->sql, sql) == 0)
            return e;
    }
    return NULL;
}

static sqlite3_stmt *store_cache_add(store *st, const char *sql, size_t bucket)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK) {
        log_msg(LOG_LEVEL_ERROR, "statement does not compile", "sql", sql, "error",
                sqlite3_errmsg(st->db), NULL);
        store_result(st, rc);
        sqlite3_finalize(stmt);
        return NULL;
    }
    store_cached *e = calloc(1, sizeof(*e));
    char *copy = strdup(sql);
    if (e == NULL || copy == NULL) {
        free(e);
        free(copy);
        sqlite3_finalize(stmt);
        log_msg(LOG_LEVEL_ERROR, "out of memory caching a statement", NULL);
        return NULL;
    }
    e->sql = copy;
    e->stmt = stmt;
    e->next = st->buckets[bucket];
    st->buckets[bucket] = e;
    return stmt;
}

sqlite3_stmt *store_stmt(store *st, const char *sql)
{
    size_t bucket = store_hash(sql);
    store_cached *e = store_cache_find(st, sql, bucket);
    if (e == NULL)
        return store_cache_add(st, sql, bucket);
    /* reset's return repeats the last step's error, already handled then */
    sqlite3_reset(e->stmt);
    sqlite3_clear_bindings(e->stmt);
    return e->stmt;
}

static void store_cache_clear(store *st)
{
    for (size_t i = 0; i < STORE_STMT_BUCKETS; i++) {
        store_cached *e = st->buckets[i];
        while (e != NULL) {
            store_cached *next = e->next;
            sqlite3_finalize(e->stmt);
            free(e->sql);
            free(e);
            e = next;
        }
        st->buckets[i] = NULL;
    }
}

/* --- transactions ---------------------------------------------------------- */

/* Runs SQL without results; logs and maps a failure. */
static int store_exec(store *st, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        log_msg(LOG_LEVEL_ERROR, "statement failed", "sql", sql, "error",
                msg != NULL ? msg : sqlite3_errstr(rc), NULL);
        sqlite3_free(msg);
    }
    return store_result(st, rc);
}

static int store_batching(const store *st)
{
    return st->end_of_turn != NULL && !st->unbatched;
}

/* Answers the batch's waiters: with the COMMIT's result `rc`, after the
 * flush when it is 0. */
static void store_release_waiters(store *st, int rc)
{
    store_waiter *w = st->waiters;

    st->waiters = NULL;
    st->waiters_tail = &st->waiters;
    store_syncer_hold(st->syncer); /* one flush for the whole batch */
    while (w != NULL) {
        store_waiter *next = w->next;
        if (rc == 0)
            store_syncer_wait(st->syncer, w->cb, w->arg);
        else
            w->cb(w->arg, rc);
        free(w);
        w = next;
    }
    store_syncer_release(st->syncer);
}

/* Answers the store_after_commit hooks with `rc`, in the order taken. */
static void store_release_hooks(store *st, int rc)
{
    store_waiter *w = st->hooks;

    st->hooks = NULL;
    st->hooks_tail = &st->hooks;
    while (w != NULL) {
        store_waiter *next = w->next;
        w->cb(w->arg, rc);
        free(w);
        w = next;
    }
}

/* The batch is over (committed, rolled back, or lost to an I/O error). */
static void store_batch_end(store *st, int rc)
{
    st->batch_open = 0;
    uv_check_stop(&st->end_of_turn->check);
    uv_idle_stop(&st->end_of_turn->idle);
    store_release_hooks(st, rc);
    store_release_waiters(st, rc);
}

/* SQLite rolls a transaction back by itself on some errors (I/O, full
 * disk): the whole batch is then gone. */
static void store_batch_check_alive(store *st)
{
    if (st->batch_open && sqlite3_get_autocommit(st->db)) {
        log_msg(LOG_LEVEL_ERROR, "the batch of writes was rolled back by an error", "error",
                sqlite3_errmsg(st->db), NULL);
        st->writing = 0;
        st->commit_error = store_result(st, sqlite3_errcode(st->db));
        if (st->commit_error == 0)
            st->commit_error = -EIO;
        store_batch_end(st, -ECANCELED);
    }
}

/* Commits the batch: at the end of a loop turn, or when the store closes. */
static void store_batch_commit(store *st)
{
    if (!st->batch_open || st->writing)
        return; /* a write still open: the next turn commits */
    int err;
    if (fault_armed("store.batch_commit")) {
        log_msg(LOG_LEVEL_WARN, "fault store.batch_commit: COMMIT refused", NULL);
        err = -EIO;
    } else {
        err = store_exec(st, "COMMIT");
    }
    if (err != 0) {
        char waiting[24];
        size_t n = 0;
        for (const store_waiter *w = st->waiters; w != NULL; w = w->next)
            n++;
        snprintf(waiting, sizeof waiting, "%zu", n);
        log_msg(LOG_LEVEL_ERROR, "the writes of a loop turn were not committed; none is kept",
                "waiters", waiting, "error", strerror(-err), NULL);
        if (!sqlite3_get_autocommit(st->db) &&
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
            store_result(st, sqlite3_errcode(st->db));
        st->commit_error = err;
        err = -ECANCELED; /* nothing of the batch was written */
    }
    store_batch_end(st, err);
    store_checkpointer_poll(st->checkpointer);
}

static void store_on_end_of_turn(uv_check_t *h)
{
    store_batch_commit(h->data);
}

static void store_on_idle(uv_idle_t *h)
{
    (void)h; /* only there so that the loop does not block before the check */
}

int store_begin(store *st)
{
    assert(st != NULL && st->db != NULL);
    if (st->writing || (!st->batch_open && !sqlite3_get_autocommit(st->db))) {
        log_msg(LOG_LEVEL_ERROR, "store_begin inside a transaction", NULL);
        return -EINVAL;
    }
    if (store_syncer_failed(st->syncer) || store_checkpointer_failed(st->checkpointer))
        return -EIO; /* no write could be made durable */
    if (!store_batching(st)) {
        int err = store_exec(st, "BEGIN IMMEDIATE");
        st->writing = err == 0;
        return err;
    }
    if (!st->batch_open) {
        int err = store_exec(st, "BEGIN IMMEDIATE");
        if (err != 0)
            return err;
        st->batch_open = 1;
        uv_check_start(&st->end_of_turn->check, store_on_end_of_turn);
        uv_idle_start(&st->end_of_turn->idle, store_on_idle);
    }
    int err = store_exec(st, "SAVEPOINT store_write");
    store_batch_check_alive(st);
    st->writing = err == 0;
    return err;
}

int store_writing(const store *st)
{
    return st->writing;
}

int store_uncommitted(const store *st)
{
    return st->batch_open;
}

int store_commit_error(const store *st)
{
    return st->commit_error;
}

void store_rollback(store *st)
{
    int rc;

    if (!st->writing)
        return;
    st->writing = 0;
    /* an I/O error may already have rolled the transaction back */
    if (sqlite3_get_autocommit(st->db)) {
        store_batch_check_alive(st);
        return;
    }
    if (store_batching(st))
        rc = sqlite3_exec(st->db, "ROLLBACK TO store_write; RELEASE store_write", NULL, NULL, NULL);
    else
        rc = sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        log_msg(LOG_LEVEL_ERROR, "rollback failed", "error", sqlite3_errmsg(st->db), NULL);
        store_result(st, rc);
    }
    store_batch_check_alive(st);
}

/* COMMIT (or, batched, RELEASE) without the fault point: migrations use
 * it, so a service armed with store.commit still starts and then fails its
 * writes. */
static int store_commit_now(store *st)
{
    if (!st->writing) {
        log_msg(LOG_LEVEL_ERROR, "store_commit outside a transaction", NULL);
        return -EINVAL;
    }
    int err = store_exec(st, store_batching(st) ? "RELEASE store_write" : "COMMIT");
    if (err != 0) {
        store_rollback(st); /* e.g. SQLITE_BUSY leaves the transaction open */
        return err;
    }
    st->writing = 0;
    store_batch_check_alive(st);
    if (!st->batch_open)
        store_checkpointer_poll(st->checkpointer);
    return 0;
}

int store_commit(store *st)
{
    if (st->writing && fault_armed("store.commit")) {
        log_msg(LOG_LEVEL_WARN, "fault store.commit: commit refused", NULL);
        store_rollback(st);
        return -EIO;
    }
    return store_commit_now(st);
}

/* --- migrations ------------------------------------------------------------ */

int store_schema_version(store *st, const char *component)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT coalesce(max(version), 0) FROM schema_migrations"
                                     " WHERE component = ?1");
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, component, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int version = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : store_result(st, rc);
    sqlite3_reset(s);
    return version;
}

static int store_record_migration(store *st, const char *component, int version)
{
    sqlite3_stmt *s = store_stmt(st, "INSERT INTO schema_migrations(component, version, applied_at)"
                                     " VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, component, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, version);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return store_result(st, rc);
}

/* One migration in its own transaction: all of it, or none of it. A failing
 * SQL text is -EINVAL; a failing disk keeps its own code (-EIO, -ENOSPC). */
static int store_apply_one(store *st, const char *component, const store_migration *m)
{
    int err = store_begin(st);
    if (err != 0)
        return err;
    char *msg = NULL;
    int rc = sqlite3_exec(st->db, m->sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        char version[16];
        snprintf(version, sizeof(version), "%d", m->version);
        log_msg(LOG_LEVEL_ERROR, "migration failed", "component", component, "version", version,
                "error", msg != NULL ? msg : sqlite3_errstr(rc), NULL);
        sqlite3_free(msg);
        store_rollback(st);
        err = store_result(st, rc);
        return store_rc_is_io(rc & 0xff) ? err : -EINVAL;
    }
    err = store_record_migration(st, component, m->version);
    if (err != 0) {
        store_rollback(st);
        return err;
    }
    return store_commit_now(st);
}

/* Applies the migrations of `component` newer than the recorded version. A
 * database that is ahead of this binary is refused: code older than its
 * schema could misread or lose data. */
int store_migrate(store *st, const char *component, const store_migration *ms, size_t n)
{
    int current = store_schema_version(st, component);
    if (current < 0)
        return current;
    int known = 0;
    for (size_t i = 0; i < n; i++) {
        if (ms[i].version <= known || ms[i].sql == NULL) {
            log_msg(LOG_LEVEL_ERROR, "migrations must be numbered 1, 2, 3 ... in order",
                    "component", component, NULL);
            return -EINVAL;
        }
        known = ms[i].version;
        if (ms[i].version <= current)
            continue;
        int err = store_apply_one(st, component, &ms[i]);
        if (err != 0)
            return err;
    }
    if (current > known) {
        log_msg(LOG_LEVEL_ERROR, "database schema is newer than this program", "component",
                component, NULL);
        return -EINVAL;
    }
    return 0;
}

/* --- open and close -------------------------------------------------------- */

/* A component name is also a file name: letters, digits, '-' and '_'. */
static int store_name_valid(const char *name)
{
    if (name == NULL || name[0] == '\0' || strcmp(name, STORE_RUNTIME_COMPONENT) == 0)
        return 0;
    for (const char *p = name; *p != '\0'; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 *p == '-' || *p == '_';
        if (!ok)
            return 0;
    }
    return 1;
}

static int store_dir_usable(const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return -errno;
    if (!S_ISDIR(sb.st_mode))
        return -ENOTDIR;
    if (access(dir, W_OK | X_OK) != 0)
        return -errno;
    return 0;
}

/* A pragma that answers one row; `want` (if not NULL) is the answer needed. */
static int store_pragma(store *st, const char *sql, const char *want)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    int err = store_result(st, rc);
    if (rc == SQLITE_ROW && want != NULL) {
        const char *got = (const char *)sqlite3_column_text(s, 0);
        if (got == NULL || strcmp(got, want) != 0) {
            log_msg(LOG_LEVEL_ERROR, "pragma refused", "sql", sql, "got", got ? got : "", NULL);
            err = -EIO;
        }
    } else if (err != 0) {
        log_msg(LOG_LEVEL_ERROR, "pragma failed", "sql", sql, "error", sqlite3_errmsg(st->db),
                NULL);
    }
    sqlite3_finalize(s);
    return err;
}

int store_set_page_cache(store *st, int kib)
{
    char sql[64];

    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", kib);
    return store_exec(st, sql);
}

/* The settings of store.h, then the migrations table. A file that is not a
 * database fails here (SQLite reads lazily), hence -EIO for any error. */
static int store_configure(store *st)
{
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, STORE_OPEN_BUSY_TIMEOUT_MS);
    int err = store_pragma(st, "PRAGMA journal_mode=WAL", st->memory ? NULL : "wal");
    if (err == 0)
        err = store_pragma(st, "PRAGMA synchronous=NORMAL", NULL);
    if (err == 0)
        err = store_pragma(st, "PRAGMA foreign_keys=ON", NULL);
    /* Until the store has a loop (migrations, tools), SQLite checkpoints
     * inside the COMMIT that passes the threshold; then store_checkpoint.c
     * takes over, with the same threshold. At SQLite's default of 1,000
     * pages a checkpoint ran every few dozen writes, with its two syncs. */
    if (err == 0 && sqlite3_wal_autocheckpoint(st->db, STORE_CHECKPOINT_PAGES) != SQLITE_OK)
        err = -EIO;
    if (err == 0)
        err = store_exec(st, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                             " component TEXT NOT NULL,"
                             " version INTEGER NOT NULL,"
                             " applied_at TEXT NOT NULL,"
                             " PRIMARY KEY (component, version))");
    return err == 0 ? 0 : -EIO;
}

static int store_remember_file(store *st)
{
    struct stat sb;
    if (st->memory)
        return 0;
    if (stat(st->path, &sb) != 0)
        return -errno;
    st->dev = sb.st_dev;
    st->ino = sb.st_ino;
    return 0;
}

static int store_connect(store *st)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(st->path, &st->db, flags, NULL);
    if (rc != SQLITE_OK) {
        log_msg(LOG_LEVEL_ERROR, "cannot open database", "path", st->path, "error",
                st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc), NULL);
        return -EIO;
    }
    int err = store_configure(st);
    if (err == 0)
        err = store_remember_file(st);
    return err;
}

static int store_path(store *st, const char *dir, const char *name)
{
    if (strcmp(dir, ":memory:") == 0) {
        st->memory = 1;
        st->path = strdup(":memory:");
        return st->path != NULL ? 0 : -ENOMEM;
    }
    int err = store_dir_usable(dir);
    if (err != 0) {
        log_msg(LOG_LEVEL_ERROR, "data directory not usable", "dir", dir, "error", strerror(-err),
                NULL);
        return err;
    }
    if (asprintf(&st->path, "%s/%s.db", dir, name) < 0) {
        st->path = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* The WAL exists once the migrations have read the database. */
static int store_open_syncer(store *st)
{
    if (st->memory)
        return 0;
    char *wal;
    if (asprintf(&wal, "%s-wal", st->path) < 0)
        return -ENOMEM;
    int err = store_syncer_new(wal, &st->syncer);
    free(wal);
    return err;
}

/* Process-wide settings, only possible before SQLite initializes, which
 * the first open does (later calls fail harmlessly):
 * - no allocation statistics: SQLite counts every allocation under a
 *   process-wide mutex, for sqlite3_memory_used(), which nothing here
 *   reads: a lock and an unlock per allocation, 3-4% of a write's loop time;
 * - statement journals in memory up to STORE_STMT_JOURNAL_SPILL: each write
 *   of a batch is a savepoint, whose journal keeps the original of every
 *   page it changes and spilled to a temporary file past 64 KiB, about half
 *   the pwrite calls of a write (bench/RESULTS.md, "Durable writes,
 *   pipelined"). A write's journal is emptied at its RELEASE, so the bound
 *   is per write; temporary tables (analytics' rebuild) stay on disk.
 *   Not above 128 KiB: with Debian 12's SQLite 3.40.1, a statement whose
 *   journal spills past a larger threshold fails with "database or disk is
 *   full" (a DROP TABLE of a few megabytes in a migration's transaction,
 *   every threshold from 132 KiB to 8 MiB tried, 128 KiB and below fine;
 *   test_store's test_migration_drops_a_large_table). It was 4 MiB, and a
 *   table rebuild of more than a few megabytes could not run. */
#define STORE_STMT_JOURNAL_SPILL (128 << 10)

static void store_sqlite_config(void)
{
    static int done;

    if (!done) {
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, STORE_STMT_JOURNAL_SPILL);
    }
    done = 1;
}

int store_open(const char *dir, const char *name, const store_migration *migrations, size_t n,
               store **out)
{
    store_sqlite_config();
    if (dir == NULL || !store_name_valid(name) || (migrations == NULL && n > 0) || out == NULL)
        return -EINVAL;
    store *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return -ENOMEM;
    st->healthy = 1;
    int err = store_path(st, dir, name);
    if (err == 0)
        err = store_connect(st);
    if (err == 0)
        err = store_migrate(st, name, migrations, n);
    if (err == 0)
        err = store_open_syncer(st);
    if (err != 0) {
        store_close(st);
        return err;
    }
    *out = st;
    return 0;
}

static void store_on_turn_closed(uv_handle_t *h)
{
    struct store_turn *t = h->data;

    if (--t->open_handles == 0)
        free(t);
}

void store_close(store *st)
{
    if (st == NULL)
        return;
    if (st->writing)
        store_rollback(st);
    store_checkpointer_stop(st->checkpointer); /* first: the last commit starts no step */
    if (st->end_of_turn != NULL) {
        store_release_hooks(st, -ESHUTDOWN);
        store_batch_commit(st); /* its waiters go to the syncer's last flush */
        st->end_of_turn->check.data = st->end_of_turn;
        st->end_of_turn->idle.data = st->end_of_turn;
        uv_close((uv_handle_t *)&st->end_of_turn->check, store_on_turn_closed);
        uv_close((uv_handle_t *)&st->end_of_turn->idle, store_on_turn_closed);
    }
    store_syncer_close(st->syncer);
    store_cache_clear(st);
    if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK) {
        /* the service left its own statements open: close once they finish */
        log_msg(LOG_LEVEL_WARN, "database closed with statements still open", "path", st->path,
                NULL);
        sqlite3_close_v2(st->db);
    }
    store_checkpointer_free(st->checkpointer);
    free(st->path);
    free(st);
}

sqlite3 *store_db(store *st)
{
    return st->db;
}

/* --- durability ------------------------------------------------------------ */

void store_use_loop(store *st, uv_loop_t *loop)
{
    sqlite3_busy_timeout(st->db, STORE_LOOP_BUSY_TIMEOUT_MS);
    if (st->syncer == NULL || st->end_of_turn != NULL)
        return; /* in memory: nothing to flush, nothing to batch */
    store_syncer_use_loop(st->syncer, loop);
    if (store_checkpointer_new(st->db, st->path, st->syncer, loop, &st->checkpointer) != 0)
        log_msg(LOG_LEVEL_WARN, "checkpoints stay inside the commits", "path", st->path, NULL);
    if ((st->end_of_turn = calloc(1, sizeof *st->end_of_turn)) == NULL)
        return; /* commits stay one per write */
    uv_check_init(loop, &st->end_of_turn->check);
    uv_idle_init(loop, &st->end_of_turn->idle);
    st->end_of_turn->check.data = st;
    st->end_of_turn->open_handles = 2;
    st->waiters = NULL;
    st->waiters_tail = &st->waiters;
    st->hooks = NULL;
    st->hooks_tail = &st->hooks;
}

static store_waiter *store_waiter_new(store_sync_cb cb, void *arg)
{
    store_waiter *w = malloc(sizeof *w);

    if (w != NULL)
        *w = (store_waiter){.cb = cb, .arg = arg};
    return w;
}

void store_sync(store *st, store_sync_cb cb, void *arg)
{
    assert(st != NULL && cb != NULL);
    if (st->syncer == NULL) {
        cb(arg, 0); /* in memory: nothing to flush */
        return;
    }
    if (st->batch_open) {
        store_waiter *w = store_waiter_new(cb, arg);
        if (w == NULL) {
            cb(arg, -ENOMEM);
            return;
        }
        *st->waiters_tail = w;
        st->waiters_tail = &w->next;
        return;
    }
    store_syncer_wait(st->syncer, cb, arg);
}

void store_after_commit(store *st, store_sync_cb cb, void *arg)
{
    assert(st != NULL && cb != NULL && !st->writing);
    if (!st->batch_open) {
        cb(arg, 0); /* store_commit committed it already */
        return;
    }
    store_waiter *w = store_waiter_new(cb, arg);
    if (w == NULL) {
        cb(arg, -ENOMEM);
        return;
    }
    *st->hooks_tail = w;
    st->hooks_tail = &w->next;
}

void store_set_batching(store *st, int on)
{
    assert(st != NULL && !st->batch_open && !st->writing);
    st->unbatched = !on;
}

uint64_t store_flushes(const store *st)
{
    return store_syncer_flushes(st->syncer);
}

uint64_t store_checkpoint_copies(const store *st)
{
    return store_checkpointer_copies(st->checkpointer);
}

uint64_t store_checkpoints(const store *st)
{
    return store_checkpointer_checkpoints(st->checkpointer);
}

int store_checkpoint_last_tail(const store *st)
{
    return store_checkpointer_last_tail(st->checkpointer);
}

/* --- health probe ---------------------------------------------------------- */

/* The file we opened must still be the one at our path: a deleted or
 * replaced database keeps working through the open descriptor and loses
 * everything at the next restart. */
static int store_file_same(store *st)
{
    struct stat sb;
    if (st->memory)
        return 1;
    return stat(st->path, &sb) == 0 && sb.st_dev == st->dev && sb.st_ino == st->ino;
}

int store_check(store *st)
{
    if (fault_armed("store.probe")) {
        store_set_healthy(st, 0, "fault store.probe");
        return 0;
    }
    if (!store_file_same(st)) {
        store_set_healthy(st, 0, "database file missing or replaced");
        return 0;
    }
    if (store_checkpointer_failed(st->checkpointer)) {
        store_set_healthy(st, 0, "flushing the database file failed");
        return 0;
    }
    sqlite3_stmt *s = store_stmt(st, "SELECT count(*) FROM schema_migrations");
    int rc = s != NULL ? sqlite3_step(s) : SQLITE_ERROR;
    if (s != NULL)
        sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        store_set_healthy(st, 1, NULL);
    else
        store_set_healthy(st, 0, sqlite3_errstr(rc));
    return store_healthy(st);
}
