/* store_sync.h: group commit for one SQLite database in WAL mode.
 *
 * store.c owns one syncer per database file and is its only user; a service
 * sees it through store_sync() (store.h). The design, and why flushing the
 * WAL alone makes a commit durable, is at the top of store_sync.c.
 *
 * Everything here runs on the loop thread, except the flush itself, which
 * runs on libuv's thread pool.
 */
#ifndef COMPACT_STORE_SYNC_H
#define COMPACT_STORE_SYNC_H

#include <stdint.h>
#include <uv.h>

typedef struct store_syncer store_syncer;

/* rc 0: everything committed before the wait began is on disk. Else a
 * negative errno: -EIO once a flush failed (and ever after), -ENOMEM. */
typedef void (*store_sync_cb)(void *arg, int rc);

/* Opens the WAL file `wal_path` (it must exist) for flushing. Returns 0 and
 * sets *out, or a negative errno. Reads the fault points "store.sync"
 * (every flush fails) and "store.sync_delay_ms" (every flush takes that much
 * longer). */
int store_syncer_new(const char *wal_path, store_syncer **out);

/* Flushes on `loop`'s thread pool from now on. Without a loop, each wait
 * flushes in place and calls back before it returns. */
void store_syncer_use_loop(store_syncer *s, uv_loop_t *loop);

/* Calls cb(arg, rc) exactly once, when a flush that began after this call
 * has finished: later on the loop, or before returning when there is
 * nothing to wait for (no loop, failed, closed, out of memory). */
void store_syncer_wait(store_syncer *s, store_sync_cb cb, void *arg);

/* Between hold and release, waits gather without starting a flush, so that
 * the waiters of one batch of writes share its first flush (without the hold
 * the first of them would start a flush alone and the rest wait for the
 * next). Holds nest; the last release starts the flush if one is due. */
void store_syncer_hold(store_syncer *s);
void store_syncer_release(store_syncer *s);

/* Flushes on the calling thread now, whatever runs on the pool, and
 * answers no waiter: for a close that must not return before the file is
 * on disk. Returns 0 or -EIO (the syncer is then failed). */
int store_syncer_flush_now(store_syncer *s);

/* 1 once a flush has failed. */
int store_syncer_failed(const store_syncer *s);

/* Flushes finished so far (each may have served many waits). */
uint64_t store_syncer_flushes(const store_syncer *s);

/* Answers every waiter (after one last flush in place) and frees the syncer,
 * or leaves that to the flush still running on the pool. NULL is a no-op. */
void store_syncer_close(store_syncer *s);

#endif
