/* cache.c: Redis as a cache and an event bus, through one hiredis async
 * connection on the libuv loop. The contract is in cache.h; the connection
 * itself (connecting, resolving, backoff, the libuv glue) is in cache_conn.c.
 *
 * The life of one command (cache_cmd). A public call builds the command in * Redis protocol (one formatted "part" per Redis command) and submits it. It then sits in exactly one list:
 *
 *   held      waiting out the "redis.delay_ms" fault, not yet sent
 *   inflight  handed to hiredis, waiting for its replies
 *   ready     already decided (-ENOTCONN, -ECANCELED, ...), its callbacks run
 *             from the idle handle on the next loop iteration
 *
 * and leaves it when it is finished: its callbacks have run, exactly once.
 * The memory of a command is reference counted: one reference until it is
 * finished, plus one per hiredis reply callback still due, because hiredis
 * calls every reply callback exactly once (with a NULL reply when the
 * context is freed) and may do so after we have given up on the command.
 *
 * Timeouts. Every command has the same timeout, so deadlines grow in
 * submission order and the head of `held` or `inflight` always has the
 * nearest one: one uv timer serves all commands. A sent command that times
 * out completes with -ETIMEDOUT and the connection is dropped, since later
 * replies could no longer be matched to their commands.
 *
 * hiredis rules kept here. The context is only freed from the idle callback
 * (never from inside a hiredis callback); freeing it runs every pending reply
 * callback with NULL: a command still in flight fails with -ENOTCONN, one
 * already finished (timed out, cancelled) only drops its reference.
 *
 * Everything runs on the loop thread; nothing here is thread-safe.
 */
#include "cache_internal.h"

#include "fault.h"
#include "log.h"
#include "str.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CACHE_DEFAULT_TIMEOUT_MS 200
#define CACHE_DEFAULT_TTL 300
#define CACHE_DEFAULT_JITTER 0.1
#define CACHE_DEFAULT_MAX_VALUE (4u << 20)
#define CACHE_MAX_PARTS 4   /* MULTI, DEL, XADD, EXEC */
#define CACHE_OWN_HANDLES 6 /* three timers, the idle and the two flush handles */

typedef enum cache_cmd_kind {
    CACHE_CMD_GET,   /* one GET shared by every waiter of a key */
    CACHE_CMD_WRITE, /* SET or DEL, fire and forget */
    CACHE_CMD_EVAL,  /* EVAL of a script, with one done callback */
    CACHE_CMD_READ,  /* XREADGROUP, its entries to one read callback */
} cache_cmd_kind;

typedef struct cache_waiter {
    struct cache_waiter *next;
    cache_get_cb cb;
    void *arg;
} cache_waiter;

struct cache_cmd {
    cache_cmd *prev, *next; /* links in *owner */
    cache_list *owner;      /* held, inflight or ready; NULL once finished */
    cache *c;
    cache_cmd_kind kind;
    int finished;
    int invalidates;   /* a DEL: its failure makes the cache untrusted */
    int refs;          /* 1 until finished, +1 per hiredis reply still due */
    int rc;            /* the result, while in the ready list */
    uint64_t deadline; /* cache_now_ms() after which it times out */
    uint64_t release;  /* cache_now_ms() until which it is held */
    int nparts;
    char *part[CACHE_MAX_PARTS]; /* formatted commands, freed once sent */
    int part_len[CACHE_MAX_PARTS];
    int replies; /* reply callbacks seen, to tell the parts apart */

    /* CACHE_CMD_GET: the key (also the flight table key) and its waiters. */
    char *key;
    cache_cmd *flight_next;
    cache_waiter *waiters, **waiters_tail;

    /* CACHE_CMD_READ */
    int block_ms;
    cache_read_cb read_cb;
    void *read_arg;

    /* CACHE_CMD_EVAL: one of the two */
    cache_text_cb text_cb;
    cache_done_cb done_cb;
    void *done_arg;
};

static void cache_on_idle(uv_idle_t *idle);

/* ---- small helpers ------------------------------------------------------ */

/* Out of memory: a callback could no longer run exactly once, so stop. */
static void *cache_xalloc(size_t size)
{
    void *p = calloc(1, size);

    if (!p) {
        log_msg(LOG_LEVEL_ERROR, "cache: out of memory", NULL);
        abort();
    }
    return p;
}

static char *cache_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(cache_xalloc(n), s, n);
}

/* Monotonic milliseconds. Not uv_now(): a call made long after the loop
 * last updated its clock must not start with a deadline in the past. */
static uint64_t cache_now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* xorshift64*: jitter needs spread, not secrecy. Loop thread only. */
uint64_t cache__random(void)
{
    static uint64_t state;

    if (state == 0)
        state = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15u;
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1du;
}

/* ---- lists and the flight table ----------------------------------------- */

static void cache_list_push(cache_list *l, cache_cmd *cmd)
{
    cmd->owner = l;
    cmd->next = NULL;
    cmd->prev = l->tail;
    if (l->tail)
        l->tail->next = cmd;
    else
        l->head = cmd;
    l->tail = cmd;
    l->n++;
}

static void cache_list_unlink(cache_cmd *cmd)
{
    cache_list *l = cmd->owner;

    if (!l)
        return;
    if (cmd->prev)
        cmd->prev->next = cmd->next;
    else
        l->head = cmd->next;
    if (cmd->next)
        cmd->next->prev = cmd->prev;
    else
        l->tail = cmd->prev;
    l->n--;
    cmd->owner = NULL;
    cmd->prev = cmd->next = NULL;
}

static cache_cmd **cache_flight_bucket(cache *c, const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return &c->flights[h % CACHE_FLIGHT_BUCKETS];
}

static cache_cmd *cache_flight_find(cache *c, const char *key)
{
    for (cache_cmd *f = *cache_flight_bucket(c, key); f; f = f->flight_next) {
        if (strcmp(f->key, key) == 0)
            return f;
    }
    return NULL;
}

static void cache_flight_add(cache *c, cache_cmd *cmd)
{
    cache_cmd **bucket = cache_flight_bucket(c, cmd->key);

    cmd->flight_next = *bucket;
    *bucket = cmd;
}

static void cache_flight_remove(cache *c, cache_cmd *cmd)
{
    for (cache_cmd **p = cache_flight_bucket(c, cmd->key); *p; p = &(*p)->flight_next) {
        if (*p == cmd) {
            *p = cmd->flight_next;
            return;
        }
    }
}

/* A write to `key` ends coalescing onto the GET in flight for it: that GET
 * may read the value from before the write, which its callers may see (they
 * asked before the write), but a get made after the write must not. */
static void cache_flight_forget(cache *c, const char *key)
{
    cache_cmd *cmd = key ? cache_flight_find(c, key) : NULL;

    if (cmd)
        cache_flight_remove(c, cmd);
}

/* ---- commands ----------------------------------------------------------- */

static cache_cmd *cache_cmd_new(cache *c, cache_cmd_kind kind)
{
    cache_cmd *cmd = cache_xalloc(sizeof(*cmd));

    cmd->c = c;
    cmd->kind = kind;
    cmd->refs = 1;
    cmd->waiters_tail = &cmd->waiters;
    return cmd;
}

static void cache_cmd_free_parts(cache_cmd *cmd)
{
    for (int i = 0; i < cmd->nparts; i++) {
        if (cmd->part[i])
            redisFreeCommand(cmd->part[i]);
        cmd->part[i] = NULL;
    }
}

static void cache_cmd_unref(cache_cmd *cmd)
{
    if (--cmd->refs > 0)
        return;
    cache_cmd_free_parts(cmd);
    free(cmd->key);
    free(cmd);
}

/* Appends one Redis command, formatted now so that a held command needs no
 * copy of its arguments. */
static void cache_cmd_add_part(cache_cmd *cmd, int argc, const char **argv, const size_t *lens)
{
    char *buf = NULL;
    int len = redisFormatCommandArgv(&buf, argc, argv, lens);

    if (len < 0 || !buf) {
        log_msg(LOG_LEVEL_ERROR, "cache: out of memory", NULL);
        abort();
    }
    cmd->part[cmd->nparts] = buf;
    cmd->part_len[cmd->nparts] = len;
    cmd->nparts++;
}

static void cache_count_result(cache *c, int rc)
{
    if (rc == 0)
        c->stats.hits++;
    else if (rc == -ENOENT)
        c->stats.misses++;
    else if (rc != -ECANCELED)
        c->stats.errors++;
}

/* Runs the command's callbacks once and drops its first reference. The
 * command leaves the flight table first, so a callback that gets the same
 * key again starts a new GET. */
static void cache_cmd_finish(cache *c, cache_cmd *cmd, int rc, const void *value, size_t len)
{
    cache_waiter *w, *next;

    if (cmd->finished)
        return;
    cmd->finished = 1;
    cache_list_unlink(cmd);
    switch (cmd->kind) {
    case CACHE_CMD_GET:
        cache_flight_remove(c, cmd);
        w = cmd->waiters;
        cmd->waiters = NULL;
        for (; w; w = next) {
            next = w->next;
            cache_count_result(c, rc);
            w->cb(w->arg, rc, rc == 0 ? value : NULL, rc == 0 ? len : 0);
            free(w);
        }
        break;
    case CACHE_CMD_READ:
        if (rc < 0 && rc != -ECANCELED)
            c->stats.errors++;
        if (rc != 0) /* success ran the callback from cache_read_reply */
            cmd->read_cb(cmd->read_arg, rc, NULL, 0);
        break;
    case CACHE_CMD_EVAL:
        if (rc < 0 && rc != -ECANCELED)
            c->stats.errors++;
        if (cmd->text_cb)
            cmd->text_cb(cmd->done_arg, rc, rc == 0 ? (const char *)value : NULL,
                         rc == 0 ? len : 0);
        else
            cmd->done_cb(cmd->done_arg, rc);
        break;
    case CACHE_CMD_WRITE:
        if (rc < 0 && rc != -ECANCELED)
            c->stats.errors++;
        /* A DEL whose fate is unknown: the entry may still be there. */
        if (rc < 0 && cmd->invalidates)
            cache_distrust(c);
        break;
    }
    cache_cmd_unref(cmd);
}

/* Starts the idle handle, unless the cache is past the point where its
 * handles are closing (the last close callback then drains the ready list). */
void cache__kick(cache *c)
{
    if (!c->handles_closing)
        uv_idle_start(&c->idle, cache_on_idle);
}

/* The command completes with `rc` on the next loop iteration. */
static void cache_cmd_fail_later(cache *c, cache_cmd *cmd, int rc)
{
    cache_list_unlink(cmd);
    cmd->rc = rc;
    cache_list_push(&c->ready, cmd);
    cache__kick(c);
}

/* ---- timeouts and the fault delay -------------------------------------- */

static void cache_on_timeout(uv_timer_t *timer);
static void cache_on_delay(uv_timer_t *timer);

static void cache_timer_due(uv_timer_t *timer, uv_timer_cb cb, uint64_t due)
{
    uint64_t now = cache_now_ms();

    uv_timer_start(timer, cb, due > now ? due - now : 0, 0);
}

/* Arms the timeout timer for the nearest deadline. A timer that fires early
 * (the loop clock lags) just re-arms. */
static void cache_timeout_arm(cache *c)
{
    const cache_cmd *h = c->held.head, *f = c->inflight.head;
    uint64_t due;

    if (!h && !f) {
        uv_timer_stop(&c->timeout_timer);
        return;
    }
    due = h ? h->deadline : f->deadline;
    if (h && f && f->deadline < due)
        due = f->deadline;
    cache_timer_due(&c->timeout_timer, cache_on_timeout, due);
}

/* Newer commands never have an earlier deadline, so a running timer is
 * already due no later than the new command's deadline. */
static void cache_timeout_watch(cache *c)
{
    if (!uv_is_active((uv_handle_t *)&c->timeout_timer))
        cache_timeout_arm(c);
}

static void cache_on_timeout(uv_timer_t *timer)
{
    cache *c = timer->data;
    uint64_t now = cache_now_ms();
    cache_cmd *cmd;

    /* The loop runs timers before it polls: after a long turn (a burst of
     * calls, a checkpoint) a reply may sit in the socket
     * while its deadline looks passed. Read what is there before judging;
     * the replies complete their commands as usual. */
    if (c->ac && c->connected && c->inflight.head && c->inflight.head->deadline <= now)
        redisAsyncHandleRead(c->ac);
    /* Drop first, so callbacks run below cannot send on this connection. */
    if (c->inflight.head && c->inflight.head->deadline <= now) {
        log_msg(LOG_LEVEL_WARN, "redis command timed out, reconnecting", "addr", c->addr, NULL);
        cache__conn_drop(c);
    }
    while ((cmd = c->held.head) && cmd->deadline <= now)
        cache_cmd_finish(c, cmd, -ETIMEDOUT, NULL, 0);
    while ((cmd = c->inflight.head) && cmd->deadline <= now)
        cache_cmd_finish(c, cmd, -ETIMEDOUT, NULL, 0);
    if (!c->closing)
        cache_timeout_arm(c);
}

static void cache_on_reply(redisAsyncContext *ac, void *r, void *privdata);

/* Hands every part to hiredis, or fails the command later if there is no
 * usable connection. */
/* Queued commands are written by us, not on a writable poll (cache_conn.c
 * does not ask for one): a command issued during a loop turn would go out on
 * the next turn's poll and its reply be read on the turn after, and on a
 * busy loop a turn is long. A command queued while the loop polls (a call's
 * handler) is written at the end of that turn, in the check phase, so its
 * reply can be read on the next one; one queued before the poll (a timer) is
 * written in the prepare phase, before the loop may block. Whichever comes
 * first writes everything queued and stops both. */
static void cache_flush(cache *c)
{
    uv_check_stop(&c->flush);
    uv_prepare_stop(&c->flush_before_poll);
    if (c->ac && c->connected && !c->drop_requested && !c->closing)
        redisAsyncHandleWrite(c->ac);
}

static void cache_on_flush(uv_check_t *check)
{
    cache_flush(check->data);
}

static void cache_on_flush_before_poll(uv_prepare_t *prepare)
{
    cache_flush(prepare->data);
}

static void cache_cmd_send(cache *c, cache_cmd *cmd)
{
    int i;

    if (c->closing) {
        cache_cmd_fail_later(c, cmd, -ECANCELED);
        return;
    }
    if (!c->connected) {
        cache_cmd_fail_later(c, cmd, -ENOTCONN);
        return;
    }
    c->queueing = 1; /* no writable poll: cache_on_flush writes (cache_conn.c) */
    for (i = 0; i < cmd->nparts; i++) {
        if (redisAsyncFormattedCommand(c->ac, cache_on_reply, cmd, cmd->part[i],
                                       (size_t)cmd->part_len[i]) != REDIS_OK)
            break;
        cmd->refs++;
    }
    c->queueing = 0;
    if (i < cmd->nparts) {
        /* hiredis refuses commands only while the context is going away;
         * parts already queued get their NULL replies then. */
        c->connected = 0;
        cache_cmd_fail_later(c, cmd, -ENOTCONN);
        return;
    }
    cache_cmd_free_parts(cmd);
    cache_list_push(&c->inflight, cmd);
    cache_timeout_watch(c);
    if (!uv_is_active((uv_handle_t *)&c->flush)) {
        uv_check_start(&c->flush, cache_on_flush);
        uv_prepare_start(&c->flush_before_poll, cache_on_flush_before_poll);
    }
}

static void cache_on_delay(uv_timer_t *timer)
{
    cache *c = timer->data;
    uint64_t now = cache_now_ms();
    cache_cmd *cmd;

    while ((cmd = c->held.head) && cmd->release <= now) {
        cache_list_unlink(cmd);
        cache_cmd_send(c, cmd);
    }
    if (c->held.head)
        cache_timer_due(&c->delay_timer, cache_on_delay, c->held.head->release);
}

/* Starts a built command on its way. Its callbacks never run in here. */
static void cache_cmd_submit(cache *c, cache_cmd *cmd)
{
    uint64_t now = cache_now_ms();

    cmd->deadline = now + (uint64_t)c->timeout_ms + (uint64_t)cmd->block_ms;
    if (c->delay_ms <= 0 || c->closing) {
        cache_cmd_send(c, cmd);
        return;
    }
    cmd->release = now + (uint64_t)c->delay_ms;
    cache_list_push(&c->held, cmd);
    if (!uv_is_active((uv_handle_t *)&c->delay_timer))
        cache_timer_due(&c->delay_timer, cache_on_delay, cmd->release);
    cache_timeout_watch(c);
}

/* ---- replies ------------------------------------------------------------ */

static int cache_reply_is_error(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR;
}

/* The entries of one stream in an XREADGROUP reply, into `out` (arrays
 * malloc'd: *fields holds every entry's fields). Returns 0 or -EIO for a
 * reply of another shape. */
static int cache_read_stream(const redisReply *s, cache_stream_batch *out, cache_entry **entries,
                             cache_field **fields)
{
    const redisReply *list;
    size_t nfields = 0, at = 0;

    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
        s->element[0]->type != REDIS_REPLY_STRING || s->element[1]->type != REDIS_REPLY_ARRAY)
        return -EIO;
    list = s->element[1];
    for (size_t i = 0; i < list->elements; i++) {
        const redisReply *e = list->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING ||
            (e->element[1]->type != REDIS_REPLY_ARRAY && e->element[1]->type != REDIS_REPLY_NIL))
            return -EIO;
        nfields += e->element[1]->type == REDIS_REPLY_ARRAY ? e->element[1]->elements / 2 : 0;
    }
    *entries = cache_xalloc((list->elements ? list->elements : 1) * sizeof(**entries));
    *fields = cache_xalloc((nfields ? nfields : 1) * sizeof(**fields));
    for (size_t i = 0; i < list->elements; i++) {
        const redisReply *e = list->element[i], *kv = e->element[1];
        cache_entry *ce = &(*entries)[i];
        ce->id = e->element[0]->str;
        ce->fields = *fields + at;
        ce->nfields = 0;
        for (size_t k = 0; kv->type == REDIS_REPLY_ARRAY && k + 1 < kv->elements; k += 2) {
            (*fields)[at++] = (cache_field){kv->element[k]->str, kv->element[k + 1]->str,
                                            kv->element[k + 1]->len};
            ce->nfields++;
        }
    }
    *out = (cache_stream_batch){s->element[0]->str, *entries, list->elements};
    return 0;
}

/* XREADGROUP's reply: nil (nothing new within the block time) or one array
 * per stream; handed to the read callback, valid during it. */
static void cache_read_reply(cache *c, cache_cmd *cmd, const redisReply *r)
{
    size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
    cache_stream_batch *batches;
    cache_entry **entries;
    cache_field **fields;
    int rc = 0;

    if (r->type == REDIS_REPLY_ERROR) {
        cache_cmd_finish(c, cmd, r->str && strncmp(r->str, "NOGROUP", 7) == 0 ? -ENOENT : -EIO,
                         NULL, 0);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY && r->type != REDIS_REPLY_NIL) {
        cache_cmd_finish(c, cmd, -EIO, NULL, 0);
        return;
    }
    batches = cache_xalloc((n ? n : 1) * sizeof(*batches));
    entries = cache_xalloc((n ? n : 1) * sizeof(*entries));
    fields = cache_xalloc((n ? n : 1) * sizeof(*fields));
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = cache_read_stream(r->element[i], &batches[i], &entries[i], &fields[i]);
    if (rc == 0) {
        cmd->read_cb(cmd->read_arg, 0, batches, n);
        cmd->read_cb = NULL;
    }
    for (size_t i = 0; i < n; i++) {
        free(entries[i]);
        free(fields[i]);
    }
    free(batches);
    free(entries);
    free(fields);
    cache_cmd_finish(c, cmd, rc, NULL, 0);
}

/* A script's reply, as text for cache_eval_text: a string or status as it
 * is, an integer in decimal, nil as "". */
static void cache_eval_reply(cache *c, cache_cmd *cmd, const redisReply *r)
{
    char number[24];

    if (cache_reply_is_error(r)) {
        cache_cmd_finish(c, cmd, -EIO, NULL, 0);
    } else if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
        cache_cmd_finish(c, cmd, 0, r->str, r->len);
    } else if (r->type == REDIS_REPLY_INTEGER) {
        int n = snprintf(number, sizeof number, "%lld", r->integer);
        cache_cmd_finish(c, cmd, 0, number, (size_t)n);
    } else {
        cache_cmd_finish(c, cmd, 0, "", 0);
    }
}

/* GETRANGE's reply: an empty string is a missing key (no entry of ours is
 * empty), one over the limit an entry too large to be ours. */
static void cache_get_reply(cache *c, cache_cmd *cmd, const redisReply *r)
{
    if (r->type == REDIS_REPLY_STRING && r->len > c->max_value_bytes)
        cache_cmd_finish(c, cmd, -EFBIG, NULL, 0);
    else if (r->type == REDIS_REPLY_STRING && r->len > 0)
        cache_cmd_finish(c, cmd, 0, r->str, r->len);
    else if (r->type == REDIS_REPLY_NIL || r->type == REDIS_REPLY_STRING)
        cache_cmd_finish(c, cmd, -ENOENT, NULL, 0);
    else
        cache_cmd_finish(c, cmd, -EIO, NULL, 0);
}

/* hiredis calls this exactly once per part: with the reply, or with NULL when
 * the context goes away. A command that is no longer in flight (timed out,
 * cancelled, failed) was finished already; its late replies only drop their
 * reference. */
static void cache_on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    cache_cmd *cmd = privdata;
    cache *c = cmd->c;
    redisReply *reply = r;
    int part = cmd->replies++;

    if (reply)
        c->backoff_ms = CACHE_BACKOFF_MIN_MS; /* the server answers again */
    else if (ac == c->ac)
        c->connected = 0; /* hiredis is tearing this context down */
    if (!cmd->finished && cmd->owner == &c->inflight) {
        if (!reply)
            cache_cmd_finish(c, cmd, -ENOTCONN, NULL, 0);
        else if (cmd->kind == CACHE_CMD_GET)
            cache_get_reply(c, cmd, reply);
        else if (cmd->kind == CACHE_CMD_EVAL)
            cache_eval_reply(c, cmd, reply);
        else if (cmd->kind == CACHE_CMD_READ)
            cache_read_reply(c, cmd, reply);
        else if (part == cmd->nparts - 1)
            cache_cmd_finish(c, cmd, cache_reply_is_error(reply) ? -EIO : 0, NULL, 0);
    }
    cache_cmd_unref(cmd);
}

/* ---- the idle handle and teardown --------------------------------------- */

/* Runs the callbacks of commands that were ready when it started; callbacks
 * that queue new failures wait for the next iteration, so a caller retrying
 * on every failure cannot starve the loop. */
static void cache_ready_run(cache *c, size_t max)
{
    cache_cmd *cmd;

    while (max-- > 0 && (cmd = c->ready.head))
        cache_cmd_finish(c, cmd, cmd->rc, NULL, 0);
}

static void cache_on_idle(uv_idle_t *idle)
{
    cache *c = idle->data;

    if (c->drop_requested)
        cache__conn_free(c);
    cache_ready_run(c, c->ready.n);
    if (!c->drop_requested && !c->ready.head)
        uv_idle_stop(idle);
    if (c->closing)
        cache__close_continue(c);
}

static void cache_handle_closed(uv_handle_t *handle)
{
    cache *c = handle->data;

    c->own_handles--;
    cache__close_continue(c);
}

/* Moves closing along: first the connection and any lookup must be gone and
 * every callback run, then our handles close; the last close callback frees
 * the cache. Safe to call at any point of the teardown. */
void cache__close_continue(cache *c)
{
    void (*cb)(void *arg);
    void *arg;

    if (!c->handles_closing) {
        if (c->ac || c->resolving || c->ready.head || c->drop_requested)
            return;
        c->handles_closing = 1;
        uv_close((uv_handle_t *)&c->reconnect_timer, cache_handle_closed);
        uv_close((uv_handle_t *)&c->timeout_timer, cache_handle_closed);
        uv_close((uv_handle_t *)&c->delay_timer, cache_handle_closed);
        uv_close((uv_handle_t *)&c->idle, cache_handle_closed);
        uv_close((uv_handle_t *)&c->flush, cache_handle_closed);
        uv_close((uv_handle_t *)&c->flush_before_poll, cache_handle_closed);
        return;
    }
    if (c->own_handles > 0 || c->poll_handles > 0)
        return;
    /* Calls made from callbacks during the teardown: still never inline. */
    while (c->ready.head)
        cache_ready_run(c, c->ready.n);
    cb = c->close_cb;
    arg = c->close_arg;
    free(c);
    if (cb)
        cb(arg);
}

static void cache_list_cancel(cache *c, cache_list *l)
{
    cache_cmd *cmd;

    while ((cmd = l->head))
        cache_cmd_fail_later(c, cmd, -ECANCELED);
}

void cache_close(cache *c, void (*cb)(void *arg), void *arg)
{
    if (!c) {
        if (cb)
            cb(arg);
        return;
    }
    if (c->closing)
        return;
    c->closing = 1;
    c->close_cb = cb;
    c->close_arg = arg;
    uv_timer_stop(&c->reconnect_timer);
    uv_timer_stop(&c->timeout_timer);
    uv_timer_stop(&c->delay_timer);
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->resolve_req);
    for (cache_cmd *cmd = c->ready.head; cmd; cmd = cmd->next)
        cmd->rc = -ECANCELED;
    cache_list_cancel(c, &c->inflight);
    cache_list_cancel(c, &c->held);
    cache__conn_drop(c);
}

/* ---- creation ----------------------------------------------------------- */

static int cache_parse_port(const char *s, int *port)
{
    long v = 0;

    if (*s == '\0' || strlen(s) > 5)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        v = v * 10 + (*s - '0');
    }
    if (v < 1 || v > 65535)
        return -EINVAL;
    *port = (int)v;
    return 0;
}

/* "host:port" or "[v6]:port" into c->host, c->port and c->numeric_host. */
static int cache_parse_addr(cache *c, const char *addr)
{
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    const char *host = addr;
    size_t n;
    unsigned char bin[sizeof(struct in6_addr)];

    if (!colon || strlen(addr) >= sizeof(c->addr))
        return -EINVAL;
    n = (size_t)(colon - addr);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    } else if (memchr(host, ':', n)) {
        return -EINVAL; /* an IPv6 address needs its brackets */
    }
    if (n == 0 || n >= sizeof(c->host))
        return -EINVAL;
    memcpy(c->host, host, n);
    c->host[n] = '\0';
    for (const char *p = c->host; *p; p++) {
        if (!(*p == '.' || *p == '-' || *p == '_' || *p == ':' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return -EINVAL;
    }
    c->numeric_host =
        inet_pton(AF_INET, c->host, bin) == 1 || inet_pton(AF_INET6, c->host, bin) == 1;
    if (strchr(c->host, ':') && !c->numeric_host)
        return -EINVAL; /* brackets around something else than IPv6 */
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    return cache_parse_port(colon + 1, &c->port);
}

static int cache_apply_options(cache *c, const cache_options *o)
{
    if (o->timeout_ms < 0 || o->ttl_seconds < 0 || !(o->ttl_jitter >= 0 && o->ttl_jitter <= 1))
        return -EINVAL;
    c->timeout_ms = o->timeout_ms ? o->timeout_ms : CACHE_DEFAULT_TIMEOUT_MS;
    c->max_value_bytes = o->max_value_bytes ? o->max_value_bytes : CACHE_DEFAULT_MAX_VALUE;
    snprintf(c->get_last, sizeof c->get_last, "%zu", c->max_value_bytes);
    c->ttl_seconds = o->ttl_seconds ? o->ttl_seconds : CACHE_DEFAULT_TTL;
    c->ttl_jitter = o->ttl_jitter > 0 ? o->ttl_jitter : CACHE_DEFAULT_JITTER;
    if ((o->user && strlen(o->user) >= sizeof c->user) ||
        (o->password_file && strlen(o->password_file) >= sizeof c->password_file))
        return -EINVAL;
    snprintf(c->user, sizeof c->user, "%s", o->user ? o->user : "");
    snprintf(c->password_file, sizeof c->password_file, "%s",
             o->password_file ? o->password_file : "");
    return cache_parse_addr(c, o->addr);
}

int cache_new(uv_loop_t *loop, const cache_options *opts, cache **out)
{
    cache *c;
    int rc;

    if (!loop || !opts || !out)
        return -EINVAL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    rc = cache_apply_options(c, opts);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->loop = loop;
    c->backoff_ms = CACHE_BACKOFF_MIN_MS;
    c->delay_ms = fault_armed("redis.delay_ms") ? fault_value("redis.delay_ms", 0) : 0;
    c->resolve_req.data = c;
    uv_timer_init(loop, &c->reconnect_timer);
    uv_timer_init(loop, &c->timeout_timer);
    uv_timer_init(loop, &c->delay_timer);
    uv_idle_init(loop, &c->idle);
    uv_check_init(loop, &c->flush);
    uv_prepare_init(loop, &c->flush_before_poll);
    c->reconnect_timer.data = c->timeout_timer.data = c->delay_timer.data = c;
    c->idle.data = c->flush.data = c->flush_before_poll.data = c;
    c->own_handles = CACHE_OWN_HANDLES;
    cache__conn_start(c);
    *out = c;
    return 0;
}

int cache_connected(const cache *c)
{
    return c && c->connected;
}

void cache_get_stats(const cache *c, cache_stats *out)
{
    if (!out)
        return;
    if (c)
        *out = c->stats;
    else
        memset(out, 0, sizeof(*out));
}

/* ---- keys and TTLs ------------------------------------------------------ */

int cache_key(char *buf, size_t size, const char *service, const char *kind, const char *id)
{
    const char *parts[] = {"compact:", service, ":", kind, ":", id};

    if (!service || !kind || !id || (!buf && size > 0))
        return -EINVAL;
    /* str_join, not snprintf: this runs on every cached read (str.h). It
     * leaves no truncated key that could name another entry. */
    return str_join(buf, size, parts, sizeof parts / sizeof parts[0]);
}

/* Uniform over the whole seconds in [ttl * (1 - j), ttl * (1 + j)]; the small
 * slack absorbs rounding such as 300 * 0.9 = 270.00000000000006. */
int cache_ttl_with_jitter(int ttl_seconds, double jitter)
{
    double lo_f, hi_f;
    long lo, hi;

    if (ttl_seconds < 1)
        ttl_seconds = 1;
    if (!(jitter > 0))
        return ttl_seconds;
    if (jitter > 1)
        jitter = 1;
    lo_f = ceil((double)ttl_seconds * (1 - jitter) - 1e-9);
    hi_f = floor((double)ttl_seconds * (1 + jitter) + 1e-9);
    lo = lo_f < 1 ? 1 : (long)lo_f;
    hi = hi_f > INT_MAX ? INT_MAX : (long)hi_f;
    if (hi < lo)
        hi = lo;
    return (int)(lo + (long)(cache__random() % (uint64_t)(hi - lo + 1)));
}

/* ---- operations --------------------------------------------------------- */

void cache_trust(cache *c)
{
    c->untrusted = 0;
}

void cache_distrust(cache *c)
{
    c->untrusted = 1;
    c->distrusts++;
}

uint64_t cache_distrusts(const cache *c)
{
    return c->distrusts;
}

void cache_trust_since(cache *c, uint64_t distrusts)
{
    if (c->distrusts == distrusts)
        c->untrusted = 0;
}

int cache_trusted(const cache *c)
{
    return !c->untrusted;
}

void cache_get(cache *c, const char *key, cache_get_cb cb, void *arg)
{
    cache_waiter *w;
    cache_cmd *cmd;

    assert(c != NULL && key != NULL && cb != NULL);
    w = cache_xalloc(sizeof(*w));
    w->cb = cb;
    w->arg = arg;
    if (c->untrusted) {
        c->stats.untrusted++;
        cmd = cache_cmd_new(c, CACHE_CMD_GET);
        cmd->waiters = w;
        cmd->waiters_tail = &w->next;
        cmd->key = cache_xstrdup(key);
        cache_cmd_fail_later(c, cmd, -ESTALE);
        return;
    }
    cmd = key ? cache_flight_find(c, key) : NULL;
    if (cmd) {
        *cmd->waiters_tail = w;
        cmd->waiters_tail = &w->next;
        c->stats.coalesced++;
        return;
    }
    cmd = cache_cmd_new(c, CACHE_CMD_GET);
    cmd->waiters = w;
    cmd->waiters_tail = &w->next;
    if (!key) {
        cmd->key = cache_xstrdup("");
        cache_cmd_fail_later(c, cmd, -EINVAL);
        return;
    }
    cmd->key = cache_xstrdup(key);
    /* GETRANGE, not GET: Redis sends at most one byte more than an entry may
     * hold, whatever a bad actor stored under the key. */
    cache_cmd_add_part(cmd, 4, (const char *[]){"GETRANGE", key, "0", c->get_last},
                       (const size_t[]){8, strlen(key), 1, strlen(c->get_last)});
    cache_flight_add(c, cmd);
    cache_cmd_submit(c, cmd);
}

/* Writes are dropped at once while Redis is down: nobody waits for them. */
static int cache_write_wanted(const cache *c)
{
    return !c->closing && (c->connected || c->delay_ms > 0);
}

void cache_set(cache *c, const char *key, const void *value, size_t len)
{
    char ttl[16];
    cache_cmd *cmd;

    assert(c != NULL && key != NULL);
    cache_flight_forget(c, key);
    if (!cache_write_wanted(c))
        return;
    snprintf(ttl, sizeof(ttl), "%d", cache_ttl_with_jitter(c->ttl_seconds, c->ttl_jitter));
    cmd = cache_cmd_new(c, CACHE_CMD_WRITE);
    cache_cmd_add_part(cmd, 5,
                       (const char *[]){"SET", key, value ? (const char *)value : "", "EX", ttl},
                       (const size_t[]){3, strlen(key), value ? len : 0, 2, strlen(ttl)});
    cache_cmd_submit(c, cmd);
}

/* Adds "NAME keys..." as one part; NULL keys are skipped. */
static void cache_cmd_add_keys(cache_cmd *cmd, const char *name, const char *const *keys, size_t n)
{
    const char **argv = cache_xalloc((n + 1) * sizeof(*argv));
    size_t *lens = cache_xalloc((n + 1) * sizeof(*lens));
    int argc = 1;

    argv[0] = name;
    lens[0] = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (keys[i]) {
            argv[argc] = keys[i];
            lens[argc++] = strlen(keys[i]);
        }
    }
    cache_cmd_add_part(cmd, argc, argv, lens);
    free(argv);
    free(lens);
}

static size_t cache_count_keys(const char *const *keys, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; keys && i < n; i++)
        k += keys[i] != NULL;
    return k;
}

void cache_del(cache *c, const char *const *keys, size_t n)
{
    cache_cmd *cmd;

    assert(c != NULL && (keys != NULL || n == 0));
    for (size_t i = 0; keys && i < n; i++)
        cache_flight_forget(c, keys[i]);
    if (cache_count_keys(keys, n) == 0 || n > INT_MAX - 1)
        return;
    if (!cache_write_wanted(c)) {
        cache_distrust(c); /* not even sent */
        return;
    }
    cmd = cache_cmd_new(c, CACHE_CMD_WRITE);
    cmd->invalidates = 1;
    cache_cmd_add_keys(cmd, "DEL", keys, n);
    cache_cmd_submit(c, cmd);
}

static void cache_eval_cmd(cache *c, cache_cmd *cmd, const char *script, const char *const *keys,
                           size_t nkeys, const cache_arg *args, size_t nargs);

void cache_eval(cache *c, const char *script, const char *const *keys, size_t nkeys,
                const cache_arg *args, size_t nargs, cache_done_cb cb, void *arg)
{
    cache_cmd *cmd;

    assert(c != NULL && cb != NULL);
    cmd = cache_cmd_new(c, CACHE_CMD_EVAL);
    cmd->done_cb = cb;
    cmd->done_arg = arg;
    cache_eval_cmd(c, cmd, script, keys, nkeys, args, nargs);
}

void cache_eval_text(cache *c, const char *script, const char *const *keys, size_t nkeys,
                     const cache_arg *args, size_t nargs, cache_text_cb cb, void *arg)
{
    cache_cmd *cmd;

    assert(c != NULL && cb != NULL);
    cmd = cache_cmd_new(c, CACHE_CMD_EVAL);
    cmd->text_cb = cb;
    cmd->done_arg = arg;
    cache_eval_cmd(c, cmd, script, keys, nkeys, args, nargs);
}

static void cache_eval_cmd(cache *c, cache_cmd *cmd, const char *script, const char *const *keys,
                           size_t nkeys, const cache_arg *args, size_t nargs)
{
    size_t argc = 3 + nkeys + nargs;
    const char **argv;
    size_t *lens;
    char numkeys[24];

    assert(script != NULL && (keys || !nkeys) && (args || !nargs));
    if (argc > INT_MAX) {
        cache_cmd_fail_later(c, cmd, -EINVAL);
        return;
    }
    argv = cache_xalloc(argc * sizeof(*argv));
    lens = cache_xalloc(argc * sizeof(*lens));
    snprintf(numkeys, sizeof numkeys, "%zu", nkeys);
    argv[0] = "EVAL", lens[0] = 4;
    argv[1] = script, lens[1] = strlen(script);
    argv[2] = numkeys, lens[2] = strlen(numkeys);
    for (size_t i = 0; i < nkeys; i++)
        argv[3 + i] = keys[i], lens[3 + i] = strlen(keys[i]);
    for (size_t i = 0; i < nargs; i++)
        argv[3 + nkeys + i] = args[i].value, lens[3 + nkeys + i] = args[i].len;
    cache_cmd_add_part(cmd, (int)argc, argv, lens);
    free(argv);
    free(lens);
    cache_cmd_submit(c, cmd);
}

void cache_group_read(cache *c, const char *group, const char *consumer, const char *const *streams,
                      const char *const *ids, size_t nstreams, int count, int block_ms,
                      unsigned flags, cache_read_cb cb, void *arg)
{
    /* 8 words before NOACK, it, STREAMS, a key and an id each */
    size_t argc = 10 + 2 * nstreams;
    const char **argv;
    size_t *lens;
    char count_text[24], block_text[24];
    cache_cmd *cmd;
    size_t at = 0;

    assert(c != NULL && group != NULL && consumer != NULL && nstreams > 0 && cb != NULL);
    cmd = cache_cmd_new(c, CACHE_CMD_READ);
    cmd->read_cb = cb;
    cmd->read_arg = arg;
    cmd->block_ms = block_ms > 0 ? block_ms : 0;
    snprintf(count_text, sizeof count_text, "%d", count > 0 ? count : 100);
    snprintf(block_text, sizeof block_text, "%d", cmd->block_ms);
    argv = cache_xalloc(argc * sizeof(*argv));
    lens = cache_xalloc(argc * sizeof(*lens));
    const char *head[] = {"XREADGROUP", "GROUP",    group,   consumer,
                          "COUNT",      count_text, "BLOCK", block_text};
    for (size_t i = 0; i < 8; i++)
        argv[at++] = head[i];
    /* BLOCK 0 would wait for ever: without a block time, leave it out. */
    if (cmd->block_ms == 0)
        at -= 2;
    if (flags & CACHE_READ_NOACK)
        argv[at++] = "NOACK";
    argv[at++] = "STREAMS";
    for (size_t i = 0; i < nstreams; i++)
        argv[at++] = streams[i];
    for (size_t i = 0; i < nstreams; i++)
        argv[at++] = ids[i];
    for (size_t i = 0; i < at; i++)
        lens[i] = strlen(argv[i]);
    cache_cmd_add_part(cmd, (int)at, argv, lens);
    free(argv);
    free(lens);
    cache_cmd_submit(c, cmd);
}

/* ---- read-through ------------------------------------------------------- */

typedef struct cache_rt {
    cache *c;
    char *key;
    cache_load_fn load;
    void *load_arg;
    cache_get_cb cb;
    void *arg;
} cache_rt;

/* A cancelled get (the cache is closing) is passed on without loading: the
 * caller is shutting down. */
static void cache_rt_on_get(void *arg, int rc, const void *value, size_t len)
{
    cache_rt *rt = arg;
    void *loaded = NULL;
    size_t n = 0;

    if (rc == 0 || rc == -ECANCELED) {
        rt->cb(rt->arg, rc, value, len);
    } else {
        rc = rt->load(rt->load_arg, &loaded, &n);
        if (rc == 0) {
            if (rt->c->fills_held == NULL || !rt->c->fills_held(rt->c->fills_held_arg))
                cache_set(rt->c, rt->key, loaded, n);
            rt->cb(rt->arg, 0, loaded, n);
        } else {
            rt->cb(rt->arg, rc < 0 ? rc : -EIO, NULL, 0);
        }
        free(loaded);
    }
    free(rt->key);
    free(rt);
}

void cache_hold_fills(cache *c, int (*held)(void *arg), void *arg)
{
    assert(c != NULL);
    c->fills_held = held;
    c->fills_held_arg = arg;
}

void cache_read_through(cache *c, const char *key, cache_load_fn load, void *load_arg,
                        cache_get_cb cb, void *arg)
{
    cache_rt *rt;

    assert(c != NULL && key != NULL && load != NULL && cb != NULL);
    rt = cache_xalloc(sizeof(*rt));
    rt->c = c;
    rt->key = key ? cache_xstrdup(key) : NULL;
    rt->load = load;
    rt->load_arg = load_arg;
    rt->cb = cb;
    rt->arg = arg;
    cache_get(c, key, cache_rt_on_get, rt);
}
