/* store_sync.c: group commit, the durability half of a store's writes (see
 * store_sync.h).
 *
 * Why. With synchronous=FULL every COMMIT waits for an fsync of the WAL on
 * the loop thread: under a write load the whole service (reads too) stood
 * still for a disk flush per write. Here COMMIT only appends to the WAL
 * (synchronous=NORMAL) and returns; a write's acknowledgement waits for
 * store_syncer_wait(), whose callback runs once an fdatasync of the WAL that
 * began after the call has finished. The flush runs on libuv's thread pool,
 * and one flush covers every commit made before it began, so the loop never
 * waits for the disk and a busy service makes about one flush per flush
 * time, whatever its write rate.
 *
 * Why the WAL alone. A WAL transaction is durable once its frames, the
 * commit frame included, are on disk: recovery replays them. Under
 * synchronous=NORMAL a checkpoint syncs the WAL before copying it into the
 * database and the database after, and the WAL is only rewritten from its
 * start after a complete checkpoint, so a commit whose frames were
 * overwritten before our flush was already synced by that checkpoint.
 *
 * The queue. Waiters gather in `waiting`. When no flush runs, the first
 * waiter starts one that takes the whole list with it (`flushing`); waiters
 * arriving meanwhile wait for the next flush, started when the running one
 * ends. While held (store_syncer_hold, as store.c hands over the waiters of
 * one batch of writes) waiters only gather, and the release starts the
 * flush that takes them all. A failed flush fails its waiters, and every later wait: once an
 * fsync has failed, what the kernel dropped is unknown (PostgreSQL's
 * "fsyncgate"), so the syncer stays failed until the process restarts and
 * SQLite recovers from the file as it is.
 *
 * Closing with a flush running: a thread-pool request cannot be called back.
 * store_syncer_close() flushes once more in place (shutdown may block), runs
 * every callback with that result, and leaves the syncer to be freed by the
 * request's own completion.
 */
#include "store_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"

typedef struct sync_waiter {
    struct sync_waiter *next;
    store_sync_cb cb;
    void *arg;
} sync_waiter;

typedef struct sync_list {
    sync_waiter *head, **tail;
} sync_list;

struct store_syncer {
    uv_loop_t *loop;    /* NULL: flush in place */
    int fd;             /* the WAL, read-only; fdatasync works on it */
    uv_work_t req;      /* the flush on the thread pool */
    int running;        /* req is in flight */
    int result;         /* of the last flush: 0 or a negative errno */
    int failed;         /* a flush failed: every later wait fails */
    int closed;         /* store_syncer_close ran; req frees us */
    int held;           /* store_syncer_hold, not yet released: waits start no flush */
    long delay_ms;      /* fault "store.sync_delay_ms" */
    int fail;           /* fault "store.sync" */
    uint64_t flushes;   /* flushes finished, for metrics */
    sync_list waiting;  /* for the next flush */
    sync_list flushing; /* covered by the running flush */
};

static void list_init(sync_list *l)
{
    l->head = NULL;
    l->tail = &l->head;
}

static sync_list list_take(sync_list *l)
{
    sync_list out = *l;
    if (out.head == NULL)
        out.tail = &out.head;
    list_init(l);
    return out;
}

/* Runs and frees every waiter of `l` with `rc`. */
static void list_run(sync_list l, int rc)
{
    sync_waiter *w = l.head;
    while (w != NULL) {
        sync_waiter *next = w->next;
        w->cb(w->arg, rc);
        free(w);
        w = next;
    }
}

int store_syncer_new(const char *wal_path, store_syncer **out)
{
    store_syncer *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    s->fd = open(wal_path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        int err = -errno;
        log_msg(LOG_LEVEL_ERROR, "cannot open a store file to flush it", "path", wal_path, NULL);
        free(s);
        return err;
    }
    s->delay_ms = fault_value("store.sync_delay_ms", 0);
    s->fail = fault_armed("store.sync");
    list_init(&s->waiting);
    list_init(&s->flushing);
    *out = s;
    return 0;
}

void store_syncer_use_loop(store_syncer *s, uv_loop_t *loop)
{
    s->loop = loop;
}

/* The flush itself: on a pool thread, or in place without a loop. */
static int flush_wal(const store_syncer *s)
{
    if (s->delay_ms > 0)
        usleep((useconds_t)s->delay_ms * 1000);
    if (s->fail)
        return -EIO;
    return fdatasync(s->fd) == 0 ? 0 : -errno;
}

/* Services run SCHED_BATCH (service.c), and libuv's pool threads inherit
 * it. A batch thread that wakes when the disk answers does not preempt the
 * busy loop thread: on a loaded core it waited out the loop's time slice
 * (milliseconds) before it could hand the flush back. Under normal
 * scheduling it runs as soon as the disk answers, which is the point of
 * taking the flush off the loop. */
static void pool_thread_unbatch(void)
{
    static _Thread_local int done;
    if (done)
        return;
    struct sched_param param = {.sched_priority = 0};
    pthread_setschedparam(pthread_self(), SCHED_OTHER, &param);
    done = 1;
}

static void flush_work(uv_work_t *req)
{
    store_syncer *s = req->data;
    pool_thread_unbatch();
    s->result = flush_wal(s);
}

static void flush_start(store_syncer *s);

static void flush_finish(store_syncer *s, int rc)
{
    s->flushes++;
    if (rc != 0 && !s->failed) {
        s->failed = 1;
        log_msg(LOG_LEVEL_ERROR, "flushing a store file to disk failed", "error", strerror(-rc),
                NULL);
    }
}

/* A flush on the calling thread: without a loop, without a pool, at close.
 * Returns what its waiters get. */
static int flush_in_place(store_syncer *s)
{
    if (!s->failed)
        flush_finish(s, flush_wal(s));
    return s->failed ? -EIO : 0;
}

static void flush_done(uv_work_t *req, int status)
{
    store_syncer *s = req->data;
    s->running = 0;
    if (s->closed) {
        /* store_syncer_close answered our waiters already */
        close(s->fd);
        free(s);
        return;
    }
    int rc = status != 0 ? status : s->result;
    flush_finish(s, rc);
    list_run(list_take(&s->flushing), s->failed ? -EIO : 0);
    /* A callback may have started the next flush itself (a wait, a release) */
    if (s->waiting.head != NULL && !s->running && !s->held)
        flush_start(s);
}

static void flush_start(store_syncer *s)
{
    s->flushing = list_take(&s->waiting);
    s->req.data = s;
    int rc = uv_queue_work(s->loop, &s->req, flush_work, flush_done);
    if (rc == 0) {
        s->running = 1;
        return;
    }
    /* no thread pool: flush in place rather than not at all */
    list_run(list_take(&s->flushing), flush_in_place(s));
}

void store_syncer_wait(store_syncer *s, store_sync_cb cb, void *arg)
{
    if (s->failed || s->closed) {
        cb(arg, -EIO);
        return;
    }
    if (s->loop == NULL) {
        cb(arg, flush_in_place(s));
        return;
    }
    sync_waiter *w = malloc(sizeof *w);
    if (w == NULL) {
        cb(arg, -ENOMEM);
        return;
    }
    w->next = NULL;
    w->cb = cb;
    w->arg = arg;
    *s->waiting.tail = w;
    s->waiting.tail = &w->next;
    if (!s->running && !s->held)
        flush_start(s);
}

void store_syncer_hold(store_syncer *s)
{
    if (s != NULL)
        s->held++;
}

void store_syncer_release(store_syncer *s)
{
    if (s == NULL || s->held == 0 || --s->held > 0)
        return;
    if (!s->running && !s->closed && s->waiting.head != NULL)
        flush_start(s);
}

int store_syncer_flush_now(store_syncer *s)
{
    return flush_in_place(s);
}

int store_syncer_failed(const store_syncer *s)
{
    return s != NULL && s->failed;
}

uint64_t store_syncer_flushes(const store_syncer *s)
{
    return s != NULL ? s->flushes : 0;
}

void store_syncer_close(store_syncer *s)
{
    if (s == NULL)
        return;
    s->closed = 1;
    if (s->flushing.head != NULL || s->waiting.head != NULL) {
        int rc = flush_in_place(s);
        list_run(list_take(&s->flushing), rc);
        list_run(list_take(&s->waiting), rc);
    }
    if (s->running)
        return; /* flush_done frees us */
    close(s->fd);
    free(s);
}
