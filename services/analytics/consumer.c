/* consumer.c: the other services' events, applied exactly once (see
 * consumer.h for the guarantees; this file is the machine that keeps them,
 * batch.c what one read does to the store and the figures).
 *
 *   setup (lease, then each stream's group at our position) -> [rebuild]
 *     -> read -> apply -> read ...
 *
 * Any failure goes back to setup after a short wait, so the group is always
 * set from the positions on disk before reading on.
 */
#include "consumer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "analytics_store.h"
#include "batch.h"
#include "log.h"
#include "pbtime.h"
#include "reread.h"

#define STREAMS_MAX 8
#define STREAM_ID_SIZE 48
/* Retries back off from 100 ms (Redis still connecting at start) to 1 s. */
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 1000
/* One analytics reads the streams at a time (consumer.h): a lease in Redis,
 * taken at setup and renewed between reads. */
#define LEASE_KEY "compact:analytics:consumer-lease"
#define LEASE_TTL_MS 15000
#define LEASE_RENEW_MS 5000

typedef enum consumer_phase {
    PHASE_SETUP,   /* the lease, and each stream's group at our position */
    PHASE_REBUILD, /* rebuild.c at work */
    PHASE_READ,    /* a read (and its lease renewal) in flight */
    PHASE_WAIT,    /* the retry timer runs */
    PHASE_STOPPED,
} consumer_phase;

struct consumer {
    analytics *a;
    cache *redis; /* our own connection: a blocking read holds it */
    rereads *rereads;
    size_t n;
    char *keys[STREAMS_MAX];
    char positions[STREAMS_MAX][STREAM_ID_SIZE];
    int known[STREAMS_MAX]; /* the store had a position */
    char instance[40];      /* who we are to the lease */
    int64_t lease_ms;       /* when the lease was last taken or renewed */
    int lease_lost_logged;
    int count;        /* entries per stream a read asks for: halved after a timeout */
    batch *ahead;     /* a read decoded, applied on the loop's next turn (on_read) */
    int discard_read; /* the read in flight follows one that failed to apply */
    consumer_phase phase;
    int setups_out, setup_failed, need_rebuild;
    rebuild_done_cb rebuild_cb; /* a rebuild asked for (consumer_rebuild) */
    void *rebuild_arg;
    uv_timer_t timer;
    consumer_stats stats;
    int retry_ms;
    /* Stopping waits for what is in flight (setups, a read, a rebuild, the
     * retry timer: `busy`), then closes the timer and the connection and
     * waits for the re-reads; `closes_out` counts those closes plus one hold
     * released when `busy` reaches 0. */
    int busy, stopping, redis_closing, closes_out;
    void (*stopped_cb)(void *arg);
    void *stopped_arg;
};

static void consumer_setup(consumer *c);
static void consumer_read(consumer *c);
static void apply_ahead(consumer *c);

/* ---- stream ids -------------------------------------------------------------------- */

/* "ms-seq" as two numbers; "0-0" for anything else. */
static void stream_id_parse(const char *id, uint64_t *ms, uint64_t *seq)
{
    char *end;

    *ms = strtoull(id, &end, 10);
    *seq = *end == '-' ? strtoull(end + 1, NULL, 10) : 0;
}

static int stream_id_compare(const char *a, const char *b)
{
    uint64_t am, as, bm, bs;

    stream_id_parse(a, &am, &as);
    stream_id_parse(b, &bm, &bs);
    if (am != bm)
        return am < bm ? -1 : 1;
    return as < bs ? -1 : as > bs;
}

/* ---- stopping and retrying --------------------------------------------------------- */

static void consumer_closed_one(void *arg)
{
    consumer *c = arg;
    void (*cb)(void *) = c->stopped_cb;
    void *cb_arg = c->stopped_arg;

    if (--c->closes_out > 0)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->keys[i]);
    free(c);
    cb(cb_arg);
}

static void on_timer_closed(uv_handle_t *h)
{
    consumer_closed_one(h->data);
}

static void close_redis(consumer *c)
{
    if (c->redis_closing)
        return;
    c->redis_closing = 1;
    c->closes_out++;
    cache_close(c->redis, consumer_closed_one, c);
}

static void lease_release(consumer *c);

/* One operation of the consumer ended. Returns 1 if the consumer is
 * stopping: the caller then starts nothing new. */
static int consumer_done(consumer *c)
{
    c->busy--;
    if (!c->stopping)
        return 0;
    if (c->busy == 0 && c->phase != PHASE_STOPPED) {
        c->phase = PHASE_STOPPED;
        lease_release(c);
        c->closes_out += 2;
        uv_close((uv_handle_t *)&c->timer, on_timer_closed);
        close_redis(c);
        rereads_stop(c->rereads, consumer_closed_one, c);
        consumer_closed_one(c); /* the hold */
    }
    return 1;
}

static void on_retry(uv_timer_t *t)
{
    consumer *c = t->data;

    if (!consumer_done(c))
        consumer_setup(c);
}

/* Something failed: set up again from the positions on disk in a moment. */
static void consumer_retry(consumer *c)
{
    if (c->ahead) { /* the timer is needed: apply it now */
        apply_ahead(c);
        c->busy--;
    }
    c->stats.failures++;
    c->phase = PHASE_WAIT;
    c->busy++;
    c->retry_ms = c->retry_ms ? c->retry_ms * 2 : RETRY_FIRST_MS;
    if (c->retry_ms > RETRY_MAX_MS)
        c->retry_ms = RETRY_MAX_MS;
    uv_timer_start(&c->timer, on_retry, (uint64_t)c->retry_ms, 0);
}

/* ---- the lease -------------------------------------------------------------------------- */

/* Takes or renews the lease unless another holds it; replies the holder. */
static const char lease_script[] = "local holder = redis.call('GET', KEYS[1])\n"
                                   "if holder and holder ~= ARGV[1] then return holder end\n"
                                   "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
                                   "return ARGV[1]\n";

typedef void (*lease_next_fn)(consumer *c);

typedef struct lease_req {
    consumer *c;
    lease_next_fn next;
} lease_req;

static void on_lease(void *arg, int rc, const char *text, size_t len)
{
    lease_req *req = arg;
    consumer *c = req->c;
    lease_next_fn next = req->next;

    free(req);
    if (consumer_done(c))
        return;
    if (rc == 0 && (len != strlen(c->instance) || memcmp(text, c->instance, len) != 0)) {
        if (!c->lease_lost_logged)
            log_fmt(LOG_LEVEL_WARN,
                    "another analytics reads the event streams (%.*s): waiting "
                    "for its lease to end",
                    (int)(len < 40 ? len : 40), text);
        c->lease_lost_logged = 1;
        rc = -EBUSY;
    }
    if (rc != 0) {
        consumer_retry(c);
        return;
    }
    c->lease_lost_logged = 0;
    c->lease_ms = pbtime_now_ms();
    next(c);
}

static void lease_then(consumer *c, lease_next_fn next)
{
    const char *keys[] = {LEASE_KEY};
    char ttl[16];
    cache_arg args[2];
    lease_req *req = malloc(sizeof *req);

    if (req == NULL)
        abort(); /* as cache.c: a few bytes not there is no state to go on in */
    *req = (lease_req){c, next};
    snprintf(ttl, sizeof ttl, "%d", LEASE_TTL_MS);
    args[0] = (cache_arg){c->instance, strlen(c->instance)};
    args[1] = (cache_arg){ttl, strlen(ttl)};
    c->busy++;
    cache_eval_text(c->redis, lease_script, keys, 1, args, 2, on_lease, req);
}

/* Gives the lease up, if it is still ours, so that an analytics started
 * right after this one reads at once instead of waiting LEASE_TTL_MS. Over
 * the service's own connection: ours may be closed already (a blocked read
 * is ended by closing it). Nothing waits for the answer: a lease not given
 * up ends with its time. */
static const char release_script[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                                     "  redis.call('DEL', KEYS[1])\n"
                                     "end\n";

static void on_lease_released(void *arg, int rc)
{
    (void)arg;
    (void)rc;
}

static void lease_release(consumer *c)
{
    const char *keys[] = {LEASE_KEY};
    cache_arg args[] = {{c->instance, strlen(c->instance)}};

    if (c->lease_ms == 0)
        return; /* never held */
    cache_eval(service_cache(c->a->svc), release_script, keys, 1, args, 1, on_lease_released, NULL);
}

/* ---- rebuilding -------------------------------------------------------------------------- */

/* The positions the setup found, on disk with the rebuilt figures: all
 * before them is in the figures now. */
static void keep_positions(consumer *c)
{
    store *st = service_store(c->a->svc);
    int rc = store_begin(st);

    for (size_t i = 0; rc == 0 && i < c->n; i++)
        rc = analytics_store_set_position(st, c->keys[i], c->positions[i]);
    if (rc == 0 && (rc = store_commit(st)) == 0)
        for (size_t i = 0; i < c->n; i++)
            c->known[i] = 1;
    else if (rc != 0)
        store_rollback(st);
}

static void on_rebuilt(void *arg, int rc, const char *message, const rebuild_result *r)
{
    consumer *c = arg;
    rebuild_done_cb cb = c->rebuild_cb;
    void *cb_arg = c->rebuild_arg;
    /* A rebuild run while Redis was away (setup failed) has no positions:
     * set up again before reading. */
    int setup_whole = !c->setup_failed && c->setups_out == 0;

    c->rebuild_cb = NULL;
    if (rc == 0) {
        c->stats.rebuilds++;
        if (c->need_rebuild && setup_whole)
            keep_positions(c);
        c->need_rebuild = 0;
        c->a->rebuild_on_start = 0;
        log_fmt(LOG_LEVEL_INFO,
                "rebuilt: %" PRId64 " entities, %" PRId64 " groups, %" PRId64 " projects, %" PRId64
                " differences",
                r->entities, r->working_groups, r->projects, r->differences);
    } else {
        log_fmt(LOG_LEVEL_WARN, "rebuild failed: %s", message ? message : strerror(-rc));
    }
    if (cb)
        cb(cb_arg, rc, message, r);
    if (consumer_done(c))
        return;
    if (rc != 0)
        consumer_retry(c);
    else if (!setup_whole)
        consumer_setup(c);
    else
        consumer_read(c);
}

static void consumer_run_rebuild(consumer *c)
{
    c->phase = PHASE_REBUILD;
    c->busy++;
    rebuild_start(c->a, on_rebuilt, c);
}

/* ---- setup: each stream's group at our position ------------------------------------------ */

/* Creates the group if it is gone, sets it to ARGV[2] (our position; "$" for
 * a new store: the stream's end) and replies "<created> <position set>
 * <last id> <largest deleted id>". A group that had to be created while we
 * had a position means Redis lost it (a restart without its data, a stream
 * deleted by hand): from the stream's start then, since new ids may be lower
 * than ours (sequences drop what was applied). A last id before our
 * position means Redis lost its tail: from what it has. */
static const char setup_script[] =
    "local function before(a, b)\n"
    "  local am, as = string.match(a, '^(%d+)-(%d+)$')\n"
    "  local bm, bs = string.match(b, '^(%d+)-(%d+)$')\n"
    "  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)\n"
    "  return am < bm or (am == bm and as < bs)\n"
    "end\n"
    "local created = 0\n"
    "local r = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '$', 'MKSTREAM')\n"
    "if type(r) == 'table' and r.err then\n"
    "  if not string.find(r.err, 'BUSYGROUP') then return redis.error_reply(r.err) end\n"
    "else\n"
    "  created = 1\n"
    "end\n"
    "local info = redis.call('XINFO', 'STREAM', KEYS[1])\n"
    "local last, deleted = '0-0', '0-0'\n"
    "for i = 1, #info, 2 do\n"
    "  if info[i] == 'last-generated-id' then last = info[i + 1] end\n"
    "  if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end\n"
    "end\n"
    "local pos = ARGV[2]\n"
    "if pos == '$' then pos = last\n"
    "elseif created == 1 then pos = '0-0'\n"
    "elseif before(last, pos) then pos = last end\n"
    "redis.call('XGROUP', 'SETID', KEYS[1], ARGV[1], pos)\n"
    "return created .. ' ' .. pos .. ' ' .. last .. ' ' .. deleted\n";

typedef struct setup_req {
    consumer *c;
    size_t stream;
} setup_req;

/* Why the events of stream `i` cannot be trusted to be all there, or NULL. */
static const char *loss_of(const consumer *c, size_t i, int created, const char *last,
                           const char *deleted)
{
    if (!c->known[i])
        return NULL; /* a new store: rebuilt in any case */
    if (created)
        return "the consumer group was gone";
    if (stream_id_compare(deleted, c->positions[i]) > 0)
        return "entries were trimmed before they were read";
    if (stream_id_compare(last, c->positions[i]) < 0)
        return "the stream is behind what was read (Redis lost its tail)";
    return NULL;
}

static void on_setup(void *arg, int rc, const char *text, size_t len)
{
    setup_req *req = arg;
    consumer *c = req->c;
    size_t i = req->stream;
    int created = 0;
    char pos[STREAM_ID_SIZE], last[STREAM_ID_SIZE], deleted[STREAM_ID_SIZE];
    const char *loss;

    free(req);
    if (rc == 0 &&
        (len >= 200 || sscanf(text, "%d %47s %47s %47s", &created, pos, last, deleted) != 4))
        rc = -EIO;
    if (rc != 0) {
        c->setup_failed = 1;
        log_fmt(LOG_LEVEL_DEBUG, "event stream %s not set up: %s", c->keys[i], strerror(-rc));
    } else {
        if ((loss = loss_of(c, i, created, last, deleted)) != NULL)
            log_fmt(LOG_LEVEL_WARN, "events of %s lost by Redis (%s): rebuilding", c->keys[i],
                    loss);
        c->need_rebuild |= !c->known[i] || loss != NULL;
        snprintf(c->positions[i], sizeof c->positions[i], "%s", pos);
    }
    if (consumer_done(c) || --c->setups_out > 0)
        return;
    if (c->setup_failed) {
        consumer_retry(c);
        return;
    }
    c->a->fresh.last_read_ms = pbtime_now_ms();
    if (c->need_rebuild || c->rebuild_cb)
        consumer_run_rebuild(c);
    else
        consumer_read(c);
}

static void setup_streams(consumer *c)
{
    c->setups_out = (int)c->n;
    c->busy += (int)c->n;
    for (size_t i = 0; i < c->n; i++) {
        setup_req *req = malloc(sizeof *req);
        const char *keys[] = {c->keys[i]};
        const char *position = c->known[i] ? c->positions[i] : "$";
        cache_arg args[] = {{CONSUMER_GROUP, strlen(CONSUMER_GROUP)}, {position, strlen(position)}};
        if (req == NULL)
            abort();
        *req = (setup_req){c, i};
        cache_eval_text(c->redis, setup_script, keys, 1, args, 2, on_setup, req);
    }
}

/* Reads our positions from the store, takes the lease, sets every group. */
static void consumer_setup(consumer *c)
{
    store *st = service_store(c->a->svc);

    c->phase = PHASE_SETUP;
    c->setup_failed = 0;
    c->discard_read = 0; /* the groups are set from the positions on disk */
    c->need_rebuild = c->a->rebuild_on_start;
    for (size_t i = 0; i < c->n; i++) {
        int rc = analytics_store_position(st, c->keys[i], c->positions[i], sizeof c->positions[i]);
        c->known[i] = rc == 0;
        if (rc != 0 && rc != -ENOENT) {
            consumer_retry(c);
            return;
        }
    }
    lease_then(c, setup_streams);
}

/* ---- reading and applying ------------------------------------------------------------------ */

static void on_gap(void *arg, const char *type, const char *id, uint64_t seq)
{
    consumer *c = arg;

    rereads_start(c->rereads, type, id, seq);
}

/* Stores a decoded read (one transaction), then changes the figures.
 * Returns 0, or a negative errno (nothing of it applied). Frees `bt`. */
static int apply_batch(consumer *c, batch *bt)
{
    analytics *a = c->a;
    batch_counts n;
    int rc = batch_commit(service_store(a->svc), bt, a->fresh.events_applied);

    if (rc != 0) {
        log_fmt(LOG_LEVEL_ERROR, "a batch of events was not stored: %s", strerror(-rc));
        batch_free(bt);
        return rc;
    }
    batch_apply(a, bt, on_gap, c);
    n = batch_get_counts(bt);
    c->stats.events += n.events;
    c->stats.duplicates += n.duplicates;
    c->stats.gaps += n.gaps;
    c->stats.batches++;
    if (batch_size(bt) > 0) {
        int64_t at = batch_last_ms(bt), now = pbtime_now_ms();
        a->fresh.as_of_ms = at;
        a->fresh.lag_ms = now > at ? now - at : 0;
        a->fresh.events_applied += (int64_t)batch_size(bt);
        analytics_changed(a);
    }
    batch_free(bt);
    return 0;
}

/* Applies the read decoded ahead, if one waits (see on_read). The caller
 * gives up its hold on `busy`. A failure throws away the read that was
 * asked for after it: it follows entries not stored. */
static void apply_ahead(consumer *c)
{
    batch *bt = c->ahead;

    if (bt == NULL)
        return;
    c->ahead = NULL;
    uv_timer_stop(&c->timer);
    if (apply_batch(c, bt) != 0)
        c->discard_read = 1;
}

static void on_ahead(uv_timer_t *t)
{
    consumer *c = t->data;

    apply_ahead(c);
    consumer_done(c);
}

/* A read came back. Its entries are decoded here, the next read is asked
 * for, and the entries are stored and applied on the loop's next turn: so
 * Redis prepares the next read (on its own CPU) while this one is applied,
 * instead of each waiting for the other. Nothing is decided against the
 * figures before the read ahead of it is applied (apply_ahead comes first
 * here), and a read that fails to apply throws the next one away
 * (discard_read): the next setup reads again from the positions on disk. */
static void on_read(void *arg, int rc, const cache_stream_batch *b, size_t n)
{
    consumer *c = arg;
    batch *bt = NULL;

    if (c->ahead) {
        apply_ahead(c);
        c->busy--; /* its hold; ours (the read's) is still on */
    }
    if (consumer_done(c))
        return;
    if (c->discard_read) {
        c->discard_read = 0;
        consumer_retry(c);
        return;
    }
    if (rc == -ENOENT) { /* NOGROUP: Redis lost the group, and with it events */
        consumer_setup(c);
        return;
    }
    if (rc == -ETIMEDOUT && c->count > 1)
        c->count /= 2; /* too much at once for the command's time */
    if (rc == 0 && (rc = batch_decode(c->a->model, b, n, &bt)) == 0) {
        c->a->fresh.last_read_ms = pbtime_now_ms();
        c->retry_ms = 0;
        if (c->count < CONSUMER_BATCH)
            c->count *= 2;
        if (c->count > CONSUMER_BATCH)
            c->count = CONSUMER_BATCH;
    }
    if (rc == 0 && c->rebuild_cb) { /* the rebuild starts from what is applied */
        rc = apply_batch(c, bt);
        bt = NULL;
    }
    if (rc != 0) {
        consumer_retry(c);
    } else if (c->rebuild_cb) {
        consumer_run_rebuild(c);
    } else {
        c->ahead = bt;
        c->busy++;
        uv_timer_start(&c->timer, on_ahead, 0, 0);
        consumer_read(c);
    }
}

static void read_streams(consumer *c)
{
    const char *ids[STREAMS_MAX];

    for (size_t i = 0; i < c->n; i++)
        ids[i] = ">";
    c->busy++;
    /* NOACK: what was applied is known from the positions on disk, from
     * which every setup sets the group; nothing waits in Redis to be
     * acknowledged. */
    cache_group_read(c->redis, CONSUMER_GROUP, CONSUMER_GROUP, (const char *const *)c->keys, ids,
                     c->n, c->count, CONSUMER_BLOCK_MS, CACHE_READ_NOACK, on_read, c);
}

static void consumer_read(consumer *c)
{
    c->phase = PHASE_READ;
    if (pbtime_now_ms() - c->lease_ms >= LEASE_RENEW_MS)
        lease_then(c, read_streams);
    else
        read_streams(c);
}

/* ---- the public API ---------------------------------------------------------------------- */

static void new_instance_id(char *buf, size_t size)
{
    unsigned char raw[8] = {0};
    char host[64] = "";

    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        memset(raw, 0, sizeof raw); /* still unique enough with the host and pid */
    gethostname(host, sizeof host - 1);
    snprintf(buf, size, "%.16s/%d/%02x%02x%02x%02x", host, (int)getpid(), raw[0], raw[1], raw[2],
             raw[3]);
}

int consumer_start(analytics *a, const char *const *services, consumer **out)
{
    const config *cfg = service_config(a->svc);
    cache_options opts = {.addr = cfg->redis_addr,
                          .timeout_ms = cfg->redis_timeout_ms,
                          .user = cfg->redis_user,
                          .password_file = cfg->redis_password_file};
    consumer *c = calloc(1, sizeof *c);
    int64_t applied = 0;
    int rc = c ? 0 : -ENOMEM;

    for (size_t i = 0; rc == 0 && services[i] && i < STREAMS_MAX; i++) {
        char key[64];
        snprintf(key, sizeof key, "compact:events:%s", services[i]);
        rc = (c->keys[c->n] = strdup(key)) ? 0 : -ENOMEM;
        c->n += rc == 0;
    }
    rc = rc ? rc : rereads_new(a, &c->rereads);
    rc = rc ? rc : cache_new(service_loop(a->svc), &opts, &c->redis);
    if (rc != 0) {
        for (size_t i = 0; c && i < c->n; i++)
            free(c->keys[i]);
        if (c)
            rereads_stop(c->rereads, free, NULL);
        free(c);
        return rc;
    }
    c->a = a;
    c->count = CONSUMER_BATCH;
    new_instance_id(c->instance, sizeof c->instance);
    uv_timer_init(service_loop(a->svc), &c->timer);
    c->timer.data = c;
    analytics_store_get_meta(service_store(a->svc), "events_applied", &applied);
    analytics_store_get_meta(service_store(a->svc), "last_event_ms", &a->fresh.as_of_ms);
    a->fresh.events_applied = applied;
    a->fresh.lag_ms = -1;
    consumer_setup(c);
    *out = c;
    return 0;
}

void consumer_rebuild(consumer *c, rebuild_done_cb cb, void *arg)
{
    if (c->rebuild_cb || c->stopping) {
        cb(arg, -EBUSY, c->stopping ? "stopping" : "a rebuild is running", NULL);
        return;
    }
    c->rebuild_cb = cb;
    c->rebuild_arg = arg;
    if (c->phase == PHASE_WAIT) { /* Redis is away: rebuild now, set up after */
        uv_timer_stop(&c->timer);
        c->busy--; /* the retry that will not run */
        c->setup_failed = 1;
        consumer_run_rebuild(c);
    }
}

void consumer_get_stats(const consumer *c, consumer_stats *out)
{
    *out = c->stats;
    out->rereads = rereads_started(c->rereads);
}

void consumer_stop(consumer *c, void (*cb)(void *arg), void *arg)
{
    if (c == NULL) {
        cb(arg);
        return;
    }
    c->stopping = 1;
    c->stopped_cb = cb;
    c->stopped_arg = arg;
    c->closes_out = 1; /* the hold, released when nothing is in flight */
    if (c->phase == PHASE_WAIT) {
        uv_timer_stop(&c->timer);
        consumer_done(c); /* the retry that will not run */
    } else if (c->phase == PHASE_READ || c->phase == PHASE_SETUP) {
        close_redis(c); /* a blocked read ends now, with -ECANCELED */
    }
    /* Otherwise a rebuild ends soon and finds `stopping`. */
}
