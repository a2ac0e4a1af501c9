/* store.h: a service's own SQLite database.
 *
 * One database file per service, "<data_dir>/<service>.db", opened once on the
 * loop thread and used only there (SQLITE_OPEN_NOMUTEX). Settings chosen for
 * "acknowledged only after committed, nothing lost": WAL journal, foreign
 * keys on, a busy timeout for the odd external reader (backups, sqlite3
 * shell), and group commit: COMMIT only appends to the WAL
 * (synchronous=NORMAL), and a write is acknowledged once store_sync() says
 * the WAL is on disk. The flush runs on libuv's thread pool and serves every
 * commit made before it began, so the loop never waits for the disk
 * (store_sync.c says why this is as durable as synchronous=FULL).
 *
 * Schema migrations are numbered per component: a service's tables are the
 * component of its own name (applied by store_open), the runtime's tables
 * (the outbox's) the component "runtime" (applied by their module with
 * store_migrate). Each migration runs once, in order, in its own
 * transaction, and is recorded in the table schema_migrations(component,
 * version, applied_at).
 *
 * Prepared statements are cached by their SQL text: store_stmt() returns the
 * same sqlite3_stmt every time, reset and with its bindings cleared, so a
 * handler writes `sqlite3_stmt *s = store_stmt(st, SQL_GET_ENTITY);` and binds.
 *
 * Health: any statement that fails with an I/O, corruption, full-disk or
 * read-only error marks the store unhealthy (the health service then answers
 * NOT_SERVING); store_check() runs a cheap probe and can restore it.
 */
#ifndef COMPACT_STORE_H
#define COMPACT_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store_sync.h"

typedef struct store store;

/* The component of the runtime's own tables; no service may take the name. */
#define STORE_RUNTIME_COMPONENT "runtime"

typedef struct store_migration {
    int version;     /* 1, 2, 3 ... strictly increasing within a component */
    const char *sql; /* one or more statements */
} store_migration;

/* Opens (creating if needed) "<dir>/<name>.db" and applies `migrations[0..n)`
 * for component `name`. Returns 0 and
 * sets *out, or a negative errno: -ENOENT/-EACCES when the directory is not
 * usable, -EIO when SQLite refuses, -EINVAL when a migration fails (nothing of
 * that migration stays). `dir` ":memory:" opens a private in-memory database
 * (for unit tests). */
int store_open(const char *dir, const char *name, const store_migration *migrations, size_t n,
               store **out);

/* Applies the migrations of `component` newer than the database's, in order,
 * each in its own transaction. Returns 0; -EINVAL if they are not numbered
 * 1, 2, 3 ... or one fails (nothing of that one stays), or if the database is
 * ahead of this program (older code could misread it); or a negative errno. */
int store_migrate(store *st, const char *component, const store_migration *migrations, size_t n);

/* Commits the writes of the turn, answers every store_sync (after a last
 * flush), finalizes the cached statements and closes the database. With a
 * loop (store_use_loop) it also closes the store's two handles on it: run
 * the loop once more before uv_loop_close. NULL is a no-op. */
void store_close(store *st);

/* The connection, for the service's own queries in its store file. */
sqlite3 *store_db(store *st);

/* Lets SQLite's page cache of the connection grow to `kib` KiB (its default
 * is 2 MB): a bound, not a reservation, the cache holds only the pages read.
 * Returns 0 or a negative errno. */
int store_set_page_cache(store *st, int kib);

/* The cached prepared statement for `sql`, reset with bindings cleared, or
 * NULL if it does not compile (logged). Valid until store_close(). */
sqlite3_stmt *store_stmt(store *st, const char *sql);

/* Writes. store_begin starts one (-EIO once a flush has failed: no write
 * could be made durable); store_commit returns 0 once the change is part of
 * the store (every later read sees it; not yet known to be on disk),
 * otherwise rolls it back and returns a negative errno; store_rollback
 * undoes it and never fails. Not nestable.
 *
 * Without a loop each write is a transaction of its own (BEGIN IMMEDIATE ..
 * COMMIT). With one (store_use_loop, a file database), the writes of a loop
 * turn are savepoints of one transaction committed at the end of the turn
 * (store.c, "Batched commits"): store_sync waits for that COMMIT, then for
 * the flush; a failed COMMIT fails every waiter of the turn with
 * -ECANCELED, and none of its writes is kept. */
int store_begin(store *st);
int store_commit(store *st);
void store_rollback(store *st);

/* 1 between store_begin and store_commit/store_rollback: a statement run
 * now would join that write. (A batch of committed writes may be open
 * otherwise: a statement then joins the batch, which is fine.) */
int store_writing(const store *st);

/* 1 while writes released by store_commit are not yet committed (a batch
 * is open until the end of the loop turn): what a read returns now may
 * still be undone, so it must not be copied anywhere that outlives a
 * failed COMMIT (the Redis cache). Always 0 without a loop. */
int store_uncommitted(const store *st);

/* Flushes run on `loop`'s thread pool and the writes of a loop turn are
 * committed together from now on (service.c calls this right after
 * store_open; batching needs a file database), and a statement waits at
 * most 50 ms for a lock another process holds (5 s until then): SQLite's
 * wait sleeps the loop. Without a loop, store_sync flushes in place and
 * every write commits alone. */
void store_use_loop(store *st, uv_loop_t *loop);

/* Calls cb(arg, rc) once everything committed (store_commit) before this
 * call is on disk (rc 0), or with a negative errno if that cannot be known
 * or did not happen: -EIO, a flush failed (the write is in the store but
 * may be lost; the store then stays unhealthy and refuses writes until a
 * restart); -ECANCELED, the COMMIT of the turn's writes failed (nothing of
 * them is kept; later writes may succeed); -ENOMEM. Later on the loop, or at once when there is nothing to wait for
 * (an in-memory store, no loop, a failed store). Acknowledge a write only
 * from this callback. */
void store_sync(store *st, store_sync_cb cb, void *arg);

/* Calls cb(arg, rc) once the writes released by store_commit so far are
 * committed: at once (rc 0) when no batch is open (store_commit committed
 * them); otherwise on the loop at the end of the turn, rc 0 after the
 * batch's COMMIT, -ECANCELED when it failed (nothing of them is kept), or
 * -ESHUTDOWN from store_close (the service is stopping). -ENOMEM at once.
 * In-memory state that follows the writes (an index, the feed of a watch)
 * is updated from here, so that it never shows a write a failed COMMIT
 * undid. Not between store_begin and store_commit (asserted). */
void store_after_commit(store *st, store_sync_cb cb, void *arg);

/* The error of the last batch COMMIT that failed (-ENOSPC, -EROFS, -EIO,
 * ...), 0 if none has: what a callback given -ECANCELED reports as the
 * cause. */
int store_commit_error(const store *st);

/* Batched commits on (the default once store_use_loop ran) or off: off,
 * every write is a transaction of its own again, committed by store_commit
 * (for a service whose in-memory state follows store_commit's return).
 * Only between writes, with no batch open (asserted): call it at start. */
void store_set_batching(store *st, int on);

/* Flushes of the WAL finished so far (0 in memory), for metrics. */
uint64_t store_flushes(const store *st);

/* Checkpoint steps copied ahead, and checkpoints that completed the WAL,
 * since store_use_loop (store_checkpoint.c); both 0 without a loop. */
uint64_t store_checkpoint_copies(const store *st);
uint64_t store_checkpoints(const store *st);

/* The WAL frames the last completing checkpoint had left to copy and sync
 * on the loop, for tests (store_checkpointer_last_tail). */
int store_checkpoint_last_tail(const store *st);

/* Maps a SQLite result code to a negative errno and records I/O-class
 * failures for store_healthy(). Returns 0 for SQLITE_OK/ROW/DONE. */
int store_result(store *st, int sqlite_rc);

/* 1 while the store works; 0 after an I/O-class failure or a failed probe
 * (store_check may restore it), or for good after a failed flush. */
int store_healthy(const store *st);

/* Runs a probe statement (fault point "store.probe" fails it) and updates
 * store_healthy(). Returns store_healthy(). */
int store_check(store *st);

/* Highest applied migration of `component`, 0 if none, negative on error. */
int store_schema_version(store *st, const char *component);

#endif
