/* store_checkpoint.c: WAL checkpoints with the disk's waits off the loop
 * (see store_checkpoint.h).
 *
 * Why. SQLite's automatic checkpoint runs inside the COMMIT that passes its
 * threshold, on the loop thread: it syncs the WAL, copies every frame into
 * the database file and syncs that file. At 8,000 pages the file's sync
 * alone took 60-110 ms under load, the whole checkpoint about 125 ms, every
 * two seconds in projects under the mixed workload and every 0.4 s under a
 * write load: a stall every call and every event waited out
 * (bench/RESULTS.md, "Turns and checkpoints"). The runtime keeps every SQLite call on
 * the loop, so the copy stays there; the waits for the disk move to the
 * thread pool, as the WAL's flush already did (store_sync.c).
 *
 * How. The copy is made ahead, a step of STORE_COPY_STEP_PAGES at a time,
 * and the file is flushed behind it; the checkpoint that completes the WAL
 * then has little left to copy or to sync:
 *
 *   1. A step begins after a commit that left STORE_COPY_STEP_PAGES more
 *      frames in the WAL, or when the WAL is full (step 4). Our own connection (`guard`) opens a read
 *      transaction: its snapshot ends at the last frame committed, S. Then
 *      a flush of the WAL is asked for (store_sync.c); one that began now
 *      puts every frame up to S on disk.
 *   2. When it has, the store's connection copies into the database file,
 *      with synchronous=OFF for that one call (SQLite's own syncs of the
 *      WAL and the file are what we do elsewhere). A checkpoint never
 *      copies past the snapshot of a reader, so the copy stops at S: only
 *      frames already on disk reach the database file.
 *   3. The database file is flushed on the pool. Meanwhile the guard's read
 *      transaction stays open: SQLite rewrites the WAL from its start only
 *      when no reader uses it, so no frame the file may still lack is
 *      overwritten. The flush done, the guard's transaction ends.
 *   4. Once the WAL holds STORE_CHECKPOINT_PAGES frames, one more step
 *      copies everything there is; when it is over, the store's connection
 *      runs SQLite's checkpoint as before, with its syncs
 *      (synchronous=NORMAL): it copies what came while that step ran and
 *      syncs the WAL and the file, both nearly clean, and the next write
 *      starts the WAL again from its start. Those syncs are on the loop:
 *      the step first keeps them to the few writes of its own duration.
 *      Completing as soon as the WAL reached its size left up to a step's
 *      worth (1,000 pages) to copy and sync there, 8-17 ms every two
 *      seconds in projects under the mixed workload.
 *
 * A crash at any point leaves the WAL whole (nothing of it was overwritten
 * before the file held it on disk), and recovery copies it again. If the
 * file's flush fails, the store refuses writes, the guard's transaction is
 * not ended while the store is open, and no checkpoint runs again, not even
 * at close: the WAL keeps every change until a restart recovers from it.
 * Closing while a copy's flush is under way flushes the file in place
 * first.
 */
#include "store_checkpoint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Frames copied ahead per step: a step's copy on the loop is a few
 * milliseconds (8,000 pages took about 50). */
#define STORE_COPY_STEP_PAGES 1000

typedef enum checkpoint_state {
    CHECKPOINT_IDLE,
    CHECKPOINT_FLUSHING_WAL,  /* step 1: the guard holds S; the WAL flush runs */
    CHECKPOINT_COPY_DUE,      /* step 2 waits for the store's transaction to end */
    CHECKPOINT_FLUSHING_FILE, /* step 3 */
} checkpoint_state;

struct store_checkpointer {
    sqlite3 *db;        /* the store's connection: not ours */
    sqlite3 *guard;     /* ours: read transactions only */
    store_syncer *wal;  /* the store's: not ours */
    store_syncer *file; /* ours: flushes the database file */
    int wal_frames;     /* in the WAL after the last commit (the WAL hook) */
    int frames_at_step; /* wal_frames when the last step began */
    int last_tail;      /* frames the last completing checkpoint found uncopied */
    checkpoint_state state;
    int guard_open; /* the guard's read transaction is open */
    int closing, failed;
    uint64_t copies, checkpoints;
};

static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    store_checkpointer *c = arg;

    (void)db;
    (void)name;
    if (frames < c->wal_frames) /* the WAL started again from its start */
        c->frames_at_step = 0;
    c->wal_frames = frames;
    return SQLITE_OK;
}

static int exec(sqlite3 *db, const char *sql)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        log_msg(LOG_LEVEL_ERROR, "checkpoint: a statement failed", "sql", sql, "error",
                sqlite3_errmsg(db), NULL);
    return rc;
}

/* Opens the guard's read transaction: reading takes the snapshot. */
static int guard_begin(store_checkpointer *c)
{
    if (exec(c->guard, "BEGIN") != SQLITE_OK)
        return -EIO;
    if (exec(c->guard, "SELECT count(*) FROM sqlite_schema") != SQLITE_OK) {
        exec(c->guard, "ROLLBACK");
        return -EIO;
    }
    c->guard_open = 1;
    return 0;
}

static void guard_end(store_checkpointer *c)
{
    if (c->guard_open && exec(c->guard, "COMMIT") != SQLITE_OK)
        exec(c->guard, "ROLLBACK");
    c->guard_open = 0;
}

/* The database file may lack pages the WAL holds: the guard stays, so the
 * WAL is never rewritten, and no connection checkpoints at its close (it
 * would delete the WAL after a copy it cannot make durable). The store
 * refuses writes from now on (store_begin). */
static void fail(store_checkpointer *c)
{
    c->failed = 1;
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    log_msg(LOG_LEVEL_ERROR,
            "flushing the database file failed; writes and checkpoints stop and the WAL "
            "keeps every change until a restart",
            NULL);
}

static void on_file_flushed(void *arg, int rc)
{
    store_checkpointer *c = arg;

    if (c->closing) /* stop flushed the file in place (and failed if it must); db is closed */
        return;
    if (rc != 0) {
        fail(c);
        return;
    }
    guard_end(c);
    c->state = CHECKPOINT_IDLE;
    store_checkpointer_poll(c); /* the checkpoint this step made ready for */
}

/* Step 2 (the store's connection is outside any transaction), then 3. */
static void copy_ahead(store_checkpointer *c)
{
    int rc = exec(c->db, "PRAGMA synchronous=OFF");

    if (rc == SQLITE_OK) {
        rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc == SQLITE_OK)
            c->copies++;
        else if (rc != SQLITE_BUSY)
            log_msg(LOG_LEVEL_WARN, "checkpoint: copying ahead failed", "error",
                    sqlite3_errmsg(c->db), NULL);
        if (exec(c->db, "PRAGMA synchronous=NORMAL") != SQLITE_OK) {
            /* SQLite's own checkpoints would skip their syncs: none again,
             * and the guard keeps the WAL whole (see store_checkpointer_stop) */
            fail(c);
            return;
        }
    }
    c->state = CHECKPOINT_FLUSHING_FILE;
    store_syncer_wait(c->file, on_file_flushed, c);
}

static void on_wal_flushed(void *arg, int rc)
{
    store_checkpointer *c = arg;

    if (rc != 0 || c->closing) { /* failed: the store fails its writes (store_sync.c) */
        guard_end(c);
        c->state = CHECKPOINT_IDLE;
        return;
    }
    c->state = CHECKPOINT_COPY_DUE;
    if (sqlite3_get_autocommit(c->db))
        copy_ahead(c);
}

/* Step 1. Returns 0, or -EIO when the guard's read transaction did not
 * open (the step is not taken). */
static int begin_step(store_checkpointer *c)
{
    if (guard_begin(c) != 0)
        return -EIO;
    c->frames_at_step = c->wal_frames;
    c->state = CHECKPOINT_FLUSHING_WAL;
    store_syncer_wait(c->wal, on_wal_flushed, c);
    return 0;
}

/* Step 4: SQLite's checkpoint, with its syncs. */
static void checkpoint(store_checkpointer *c)
{
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

    if (rc == SQLITE_OK)
        c->checkpoints++;
    else if (rc != SQLITE_BUSY)
        log_msg(LOG_LEVEL_WARN, "checkpoint failed", "error", sqlite3_errmsg(c->db), NULL);
    c->last_tail = c->wal_frames - c->frames_at_step;
    c->frames_at_step = 0;
    c->wal_frames = 0; /* until the next commit says */
}

void store_checkpointer_poll(store_checkpointer *c)
{
    if (c == NULL || c->closing || c->failed || !sqlite3_get_autocommit(c->db))
        return;
    if (c->state == CHECKPOINT_COPY_DUE) {
        copy_ahead(c);
    } else if (c->state == CHECKPOINT_IDLE) {
        int full = c->wal_frames >= STORE_CHECKPOINT_PAGES;

        if (full && c->frames_at_step >= STORE_CHECKPOINT_PAGES)
            checkpoint(c); /* step 4: a step begun with the WAL full is over */
        else if (full || c->wal_frames - c->frames_at_step >= STORE_COPY_STEP_PAGES) {
            if (begin_step(c) != 0 && full)
                checkpoint(c); /* no step to be had: the WAL must not grow on */
        }
    }
}

int store_checkpointer_new(sqlite3 *db, const char *path, store_syncer *wal, uv_loop_t *loop,
                           store_checkpointer **out)
{
    store_checkpointer *c = calloc(1, sizeof *c);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    int err;

    if (c == NULL)
        return -ENOMEM;
    c->db = db;
    c->wal = wal;
    if (sqlite3_open_v2(path, &c->guard, flags, NULL) != SQLITE_OK) {
        log_msg(LOG_LEVEL_ERROR, "checkpoint: cannot open the guard connection", "path", path,
                NULL);
        sqlite3_close(c->guard);
        free(c);
        return -EIO;
    }
    /* The guard only reads: the store's connection checkpoints at close. */
    sqlite3_db_config(c->guard, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    if ((err = store_syncer_new(path, &c->file)) != 0) {
        sqlite3_close(c->guard);
        free(c);
        return err;
    }
    store_syncer_use_loop(c->file, loop);
    sqlite3_wal_hook(db, on_wal_commit, c); /* replaces the automatic checkpoint */
    *out = c;
    return 0;
}

int store_checkpointer_failed(const store_checkpointer *c)
{
    return c != NULL && c->failed;
}

uint64_t store_checkpointer_copies(const store_checkpointer *c)
{
    return c != NULL ? c->copies : 0;
}

uint64_t store_checkpointer_checkpoints(const store_checkpointer *c)
{
    return c != NULL ? c->checkpoints : 0;
}

int store_checkpointer_last_tail(const store_checkpointer *c)
{
    return c != NULL ? c->last_tail : 0;
}

void store_checkpointer_stop(store_checkpointer *c)
{
    if (c == NULL)
        return;
    c->closing = 1;
    sqlite3_wal_autocheckpoint(c->db, STORE_CHECKPOINT_PAGES); /* our hook is gone */
    /* A copy whose flush is under way: the file goes to disk first, or the
     * store's close, finding nothing left to copy, would skip its sync of
     * the file and delete the WAL. */
    if (c->state == CHECKPOINT_FLUSHING_FILE && !c->failed && store_syncer_flush_now(c->file) != 0)
        fail(c);
    if (c->failed)
        return;   /* the guard holds the WAL whole past the store's close */
    guard_end(c); /* no write comes after: the WAL is not started again */
    sqlite3_close(c->guard);
    c->guard = NULL;
}

void store_checkpointer_free(store_checkpointer *c)
{
    if (c == NULL)
        return;
    guard_end(c);
    sqlite3_close(c->guard); /* never checkpoints (NO_CKPT_ON_CLOSE) */
    c->guard = NULL;
    store_syncer_close(c->file); /* a flush under way ends in place, and answers */
    free(c);
}
