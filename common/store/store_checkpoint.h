/* store_checkpoint.h: WAL checkpoints with the disk's waits off the loop.
 *
 * store.c owns one checkpointer per database file once the store has a loop
 * (store_use_loop) and is its only user. The design, and why it is as safe
 * as SQLite's own checkpoints, is at the top of store_checkpoint.c.
 *
 * Everything here runs on the loop thread; only the flushes (store_sync.c)
 * run on libuv's thread pool.
 */
#ifndef COMPACT_STORE_CHECKPOINT_H
#define COMPACT_STORE_CHECKPOINT_H

#include <sqlite3.h>
#include <stdint.h>
#include <uv.h>

#include "store_sync.h"

/* The WAL's frames (pages) at which the checkpoint that completes it runs,
 * and SQLite's automatic one before a loop: the WAL grows to about 32 MiB,
 * and what comes while the last step or two before it run. */
#define STORE_CHECKPOINT_PAGES 8000

typedef struct store_checkpointer store_checkpointer;

/* Takes over the checkpoints of `db` (the store's connection, opened on
 * `path`, whose WAL `wal` flushes): SQLite's own automatic checkpoint is
 * turned off. Opens a second connection of its own, which only ever holds
 * a read transaction. Returns 0 and sets *out, or a negative errno (the
 * automatic checkpoint is then left on). */
int store_checkpointer_new(sqlite3 *db, const char *path, store_syncer *wal, uv_loop_t *loop,
                           store_checkpointer **out);

/* After every COMMIT of `db`, outside any transaction or inside the next
 * one (and by itself when a step ends): takes the next step that is due. */
void store_checkpointer_poll(store_checkpointer *c);

/* 1 once flushing the database file failed: checkpoints stop and the WAL
 * keeps every change (it only grows) until a restart. */
int store_checkpointer_failed(const store_checkpointer *c);

/* Copies made ahead (with the file flushed behind them) and checkpoints
 * that completed the WAL, for tests and metrics. */
uint64_t store_checkpointer_copies(const store_checkpointer *c);
uint64_t store_checkpointer_checkpoints(const store_checkpointer *c);

/* The frames committed since the step before the last completing
 * checkpoint began: what that checkpoint had left to copy and sync on the
 * loop (0 before the first), for tests. */
int store_checkpointer_last_tail(const store_checkpointer *c);

/* At close, before the store's WAL syncer closes: checkpoints stop, the
 * guard's transaction ends (no write comes after it) and its connection
 * closes, and `db` gets back its automatic checkpoint, so that closing `db`
 * checkpoints as SQLite always does. NULL is a no-op. */
void store_checkpointer_stop(store_checkpointer *c);

/* After `db` is closed: closes the database file and frees. The file must
 * outlive every SQLite connection to it: closing any descriptor of a file
 * drops the process's POSIX locks on it, SQLite's included. NULL is a
 * no-op. */
void store_checkpointer_free(store_checkpointer *c);

#endif
