/* consumer.c: the other services' events, applied exactly once (see
 * consumer.h for the guarantees; this file is the machine that keeps them).
 */
#include "consumer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "analytics_store.h"
#include "compact/events/v1/events.pb-c.h"
#include "log.h"
#include "pbtime.h"

#define STREAMS_MAX 8
#define STREAM_ID_SIZE 48
/* Retries back off from 100 ms (Redis still connecting at start) to 1 s. */
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 1000

typedef Compact__Events__V1__Event Event;
typedef Compact__Membership__V1__Entity Entity;
typedef Compact__Workgroups__V1__WorkingGroup WorkingGroup;
typedef Compact__Projects__V1__Project Project;

typedef enum consumer_phase {
    PHASE_SETUP,   /* the group of each stream, at our position */
    PHASE_REBUILD, /* rebuild.c at work */
    PHASE_READ,    /* an XREADGROUP in flight */
    PHASE_SYNC,    /* a batch committed, waiting for the disk */
    PHASE_WAIT,    /* the retry timer runs */
    PHASE_STOPPED,
} consumer_phase;

/* An event of a batch that applies, decoded. */
typedef struct pending {
    Event *event;
    ProtobufCMessage *state; /* NULL for a state type analytics does not know */
    int gap;
} pending;

/* A stale aggregate being read again from its service. */
typedef struct reread {
    consumer *c;
    char type[24];
    char id[FACTS_KEY_SIZE];
    uint64_t seq_asked; /* the sequence held when asked */
    struct reread *next;
} reread;

struct consumer {
    analytics *a;
    cache *redis; /* our own connection: a blocking read holds it */
    size_t n;
    char *keys[STREAMS_MAX];
    char positions[STREAMS_MAX][STREAM_ID_SIZE];
    int known[STREAMS_MAX]; /* the store had a position */
    consumer_phase phase;
    int setups_out;   /* replies to come */
    int setup_failed; /* in this round */
    int need_rebuild;
    /* A rebuild asked for (consumer_rebuild), run between two batches. */
    rebuild_done_cb rebuild_cb;
    void *rebuild_arg;
    /* The batch being made durable: ids to acknowledge per stream. */
    char **ack_ids[STREAMS_MAX];
    size_t n_ack[STREAMS_MAX];
    uv_timer_t timer;
    reread *rereads;
    consumer_stats stats;
    /* Stopping waits for everything in flight: setups, a read, a rebuild, a
     * flush, re-reads (each counted in `busy`), then closes the timer and
     * the connection. */
    int busy;
    int stopping;
    int redis_closing;
    int retry_ms;
    int closes_out;
    void (*stopped_cb)(void *arg);
    void *stopped_arg;
};

static void consumer_setup(consumer *c);
static void consumer_read(consumer *c);
static void consumer_next(consumer *c);

/* ---- stream ids ---------------------------------------------------------------- */

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

/* ---- stopping and retrying ---------------------------------------------------------- */

static void consumer_closed_one(consumer *c)
{
    void (*cb)(void *) = c->stopped_cb;
    void *arg = c->stopped_arg;

    if (--c->closes_out > 0)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->keys[i]);
    free(c);
    cb(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
    consumer_closed_one(h->data);
}

static void on_redis_closed(void *arg)
{
    consumer_closed_one(arg);
}

static void close_redis(consumer *c)
{
    if (c->redis_closing)
        return;
    c->redis_closing = 1;
    c->closes_out++;
    cache_close(c->redis, on_redis_closed, c);
}

/* One operation of the consumer ended. Returns 1 if the consumer is
 * stopping: the caller then starts nothing new (and the stop ends once the
 * last operation did). */
static int consumer_done(consumer *c)
{
    c->busy--;
    if (!c->stopping)
        return 0;
    if (c->busy == 0 && c->phase != PHASE_STOPPED) {
        c->phase = PHASE_STOPPED;
        c->closes_out++;
        uv_close((uv_handle_t *)&c->timer, on_timer_closed);
        close_redis(c);
    }
    return 1;
}

static void on_retry(uv_timer_t *t)
{
    consumer *c = t->data;

    if (!consumer_done(c))
        consumer_setup(c);
}

/* Something failed: try again from the setup (the positions on disk) in a
 * moment. */
static void consumer_retry(consumer *c)
{
    c->stats.failures++;
    c->phase = PHASE_WAIT;
    c->busy++;
    c->retry_ms = c->retry_ms ? c->retry_ms * 2 : RETRY_FIRST_MS;
    if (c->retry_ms > RETRY_MAX_MS)
        c->retry_ms = RETRY_MAX_MS;
    uv_timer_start(&c->timer, on_retry, (uint64_t)c->retry_ms, 0);
}

/* ---- rebuilding ---------------------------------------------------------------------- */

static void on_rebuilt(void *arg, int rc, const char *message, const rebuild_result *r)
{
    consumer *c = arg;
    rebuild_done_cb cb = c->rebuild_cb;
    void *cb_arg = c->rebuild_arg;
    /* Only after a setup that reached every stream (not a rebuild run while
     * Redis is away): its positions are where the rebuilt figures stand. */
    int positions = rc == 0 && c->need_rebuild && c->setups_out == 0 && !c->setup_failed;

    c->rebuild_cb = NULL;
    c->stats.rebuilds += rc == 0;
    /* The positions the setup found go to disk with the rebuilt figures:
     * everything before them is in the figures now. */
    if (positions && store_begin(service_store(c->a->svc)) == 0) {
        store *st = service_store(c->a->svc);
        int err = 0;
        for (size_t i = 0; err == 0 && i < c->n; i++)
            err = analytics_store_set_position(st, c->keys[i], c->positions[i]);
        if (err == 0 && store_commit(st) == 0)
            for (size_t i = 0; i < c->n; i++)
                c->known[i] = 1;
        else if (err != 0)
            store_rollback(st);
    }
    if (rc == 0) {
        c->need_rebuild = 0;
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
    else
        consumer_read(c);
}

static void consumer_run_rebuild(consumer *c)
{
    c->phase = PHASE_REBUILD;
    c->busy++;
    rebuild_start(c->a, on_rebuilt, c);
}

/* ---- setup: the group of each stream at our position ------------------------------------ */

/* Creates the group at ARGV[2] ("$": the stream's end), or moves an existing
 * one there. Replies "<created> <last id> <largest deleted id>": a group
 * that had to be created while we knew a position means Redis lost it; a
 * deleted id past our position, entries trimmed before we read them. */
static const char setup_script[] =
    "local r = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], ARGV[2], 'MKSTREAM')\n"
    "local created = 1\n"
    "if type(r) == 'table' and r.err then\n"
    "  if not string.find(r.err, 'BUSYGROUP') then return redis.error_reply(r.err) end\n"
    "  redis.call('XGROUP', 'SETID', KEYS[1], ARGV[1], ARGV[2])\n"
    "  created = 0\n"
    "end\n"
    "local info = redis.call('XINFO', 'STREAM', KEYS[1])\n"
    "local last, deleted = '0-0', '0-0'\n"
    "for i = 1, #info, 2 do\n"
    "  if info[i] == 'last-generated-id' then last = info[i + 1] end\n"
    "  if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end\n"
    "end\n"
    "return created .. ' ' .. last .. ' ' .. deleted\n";

typedef struct setup_req {
    consumer *c;
    size_t stream;
} setup_req;

static void on_setup(void *arg, int rc, const char *text, size_t len)
{
    setup_req *req = arg;
    consumer *c = req->c;
    size_t i = req->stream;
    int created = 0;
    char last[STREAM_ID_SIZE] = "0-0", deleted[STREAM_ID_SIZE] = "0-0";

    free(req);
    if (rc == 0 && (len >= 128 || sscanf(text, "%d %47s %47s", &created, last, deleted) != 3))
        rc = -EIO;
    if (rc != 0) {
        c->setup_failed = 1;
        log_fmt(LOG_LEVEL_DEBUG, "event stream %s not set up: %s", c->keys[i], strerror(-rc));
    } else if (!c->known[i]) {
        /* A new store: from the stream's end, after a rebuild. */
        snprintf(c->positions[i], sizeof c->positions[i], "%s", last);
        c->need_rebuild = 1;
    } else if (created || stream_id_compare(deleted, c->positions[i]) > 0) {
        log_fmt(LOG_LEVEL_WARN, "events of %s lost by Redis (%s): rebuilding", c->keys[i],
                created ? "the consumer group was gone" : "entries trimmed before they were read");
        c->need_rebuild = 1;
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

/* Reads our positions from the store and sets every group to them. */
static void consumer_setup(consumer *c)
{
    store *st = service_store(c->a->svc);

    c->phase = PHASE_SETUP;
    c->setup_failed = 0;
    c->need_rebuild = 0;
    for (size_t i = 0; i < c->n; i++) {
        int rc = analytics_store_position(st, c->keys[i], c->positions[i], sizeof c->positions[i]);
        c->known[i] = rc == 0;
        if (rc != 0 && rc != -ENOENT) {
            consumer_retry(c);
            return;
        }
    }
    c->setups_out = (int)c->n;
    c->busy += (int)c->n;
    for (size_t i = 0; i < c->n; i++) {
        setup_req *req = malloc(sizeof *req);
        const char *keys[] = {c->keys[i]};
        cache_arg args[] = {
            {CONSUMER_GROUP, strlen(CONSUMER_GROUP)},
            {c->known[i] ? c->positions[i] : "$", strlen(c->known[i] ? c->positions[i] : "$")}};
        if (req == NULL)
            abort(); /* as cache.c: a few bytes not there is no state to go on in */
        *req = (setup_req){c, i};
        cache_eval_text(c->redis, setup_script, keys, 1, args, 2, on_setup, req);
    }
}

/* ---- applying a batch ---------------------------------------------------------------- */

static const char *field_of(const cache_entry *e, const char *name, size_t *len)
{
    for (size_t i = 0; i < e->nfields; i++) {
        if (strcmp(e->fields[i].name, name) == 0) {
            *len = e->fields[i].len;
            return e->fields[i].value;
        }
    }
    return NULL;
}

static const ProtobufCMessageDescriptor *state_descriptor(const char *state_type)
{
    if (strcmp(state_type, "compact.membership.v1.Entity") == 0)
        return &compact__membership__v1__entity__descriptor;
    if (strcmp(state_type, "compact.workgroups.v1.WorkingGroup") == 0)
        return &compact__workgroups__v1__working_group__descriptor;
    if (strcmp(state_type, "compact.projects.v1.Project") == 0)
        return &compact__projects__v1__project__descriptor;
    return NULL;
}

/* The sequence the model holds for the aggregate of `ev`, and whether it
 * knows the aggregate at all. */
static uint64_t held_seq(const model *m, const Event *ev, int *known)
{
    const char *t = ev->aggregate_type, *id = ev->aggregate_id;
    const entity_facts *e = strcmp(t, "entity") == 0 ? model_entity(m, id) : NULL;
    const group_facts *g = strcmp(t, "working_group") == 0 ? model_group(m, id) : NULL;
    const project_facts *p = strcmp(t, "project") == 0 ? model_project(m, id) : NULL;

    *known = e || g || p;
    return e ? e->seq : g ? g->seq : p ? p->seq : 0;
}

/* The pending entry of the same aggregate latest in `v[0..n)`, or NULL. */
static const pending *pending_of(const pending *v, size_t n, const Event *ev)
{
    for (size_t i = n; i-- > 0;) {
        if (strcmp(v[i].event->aggregate_id, ev->aggregate_id) == 0 &&
            strcmp(v[i].event->aggregate_type, ev->aggregate_type) == 0)
            return &v[i];
    }
    return NULL;
}

/* Decodes entry `e` and decides: 1 it applies (into *out), 0 it is a
 * duplicate or cannot be read (logged, skipped for good). */
static int decide(consumer *c, const cache_entry *e, const pending *batch, size_t n, pending *out)
{
    size_t len;
    const char *packed = field_of(e, "event", &len);
    Event *ev =
        packed ? compact__events__v1__event__unpack(NULL, len, (const uint8_t *)packed) : NULL;
    const pending *earlier;
    uint64_t held;
    int known;

    if (ev == NULL || !ev->aggregate_id[0] || ev->aggregate_sequence == 0) {
        log_fmt(LOG_LEVEL_WARN, "event %s cannot be read: skipped", e->id);
        if (ev)
            compact__events__v1__event__free_unpacked(ev, NULL);
        return 0;
    }
    earlier = pending_of(batch, n, ev);
    held = earlier ? earlier->event->aggregate_sequence : held_seq(c->a->model, ev, &known);
    known = earlier ? 1 : known;
    /* Held sequence 0 is a state a rebuild listed from the source, newer
     * than its creation: its creation event (sequence 1) is a duplicate too,
     * or the activity would count the creation twice (the rebuild counted
     * it already, see rebuild.c). */
    if (known && (held != 0 ? ev->aggregate_sequence <= held : ev->aggregate_sequence == 1)) {
        c->stats.duplicates++;
        compact__events__v1__event__free_unpacked(ev, NULL);
        return 0;
    }
    const ProtobufCMessageDescriptor *d = state_descriptor(ev->state_type);
    *out = (pending){.event = ev};
    /* A sequence past the next one: an event went missing (only for what
     * analytics models: the sequences of other aggregates, a notice say,
     * are not kept). Held sequence 0 is a state read from the source: any
     * sequence may follow it. */
    out->gap = d != NULL && (known ? held != 0 && ev->aggregate_sequence > held + 1
                                   : ev->aggregate_sequence > 1);
    if (d)
        out->state = protobuf_c_message_unpack(d, NULL, ev->state.len, ev->state.data);
    if (d && out->state == NULL)
        log_fmt(LOG_LEVEL_WARN, "event %s: its %s does not decode", e->id, ev->state_type);
    return 1;
}

static void pending_free(pending *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].state)
            protobuf_c_message_free_unpacked(v[i].state, NULL);
        compact__events__v1__event__free_unpacked(v[i].event, NULL);
    }
    free(v);
}

static int64_t event_ms(const Event *ev)
{
    return ev->occur_time ? ev->occur_time->seconds * 1000 + ev->occur_time->nanos / 1000000 : 0;
}

/* "YYYY-MM" of `ms` (UTC) into month[MONTH_SIZE]. */
#define MONTH_SIZE 32
static void month_of(int64_t ms, char *month)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(month, MONTH_SIZE, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
}

/* The store's part of one applying event: its snapshot and its activity. */
static int store_pending(store *st, const pending *p)
{
    const Event *ev = p->event;
    char month[MONTH_SIZE];
    int rc = 0;

    if (p->state)
        rc = analytics_store_put_snapshot(st, ev->aggregate_type, ev->aggregate_id,
                                          ev->aggregate_sequence, ev->state.data, ev->state.len);
    month_of(event_ms(ev), month);
    return rc ? rc : analytics_store_count_activity(st, month, ev->type, 1);
}

/* The model's part, after the commit. */
static void model_apply(consumer *c, const pending *p)
{
    model *m = c->a->model;
    uint64_t seq = p->event->aggregate_sequence;
    int rc = 0;

    if (p->state == NULL)
        return;
    if (p->state->descriptor == &compact__membership__v1__entity__descriptor)
        rc = model_put_entity(m, (const Entity *)p->state, seq);
    else if (p->state->descriptor == &compact__workgroups__v1__working_group__descriptor)
        rc = model_put_group(m, (const WorkingGroup *)p->state, seq);
    else if ((rc = model_put_project(m, (const Project *)p->state, seq)) == 1)
        alerts_project_changed(c->a->alerts, p->event->aggregate_id);
    if (rc < 0) /* the store has it: the next start loads it */
        log_fmt(LOG_LEVEL_ERROR, "event %s: out of memory applying it", p->event->event_id);
}

static void reread_start(consumer *c, const Event *ev);

static void on_synced(void *arg, int rc);

/* Entry ids to acknowledge once the batch is on disk, per stream. */
static void keep_ack_ids(consumer *c, const cache_stream_batch *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t s = 0;
        while (s < c->n && strcmp(c->keys[s], b[i].stream) != 0)
            s++;
        if (s == c->n)
            continue;
        c->ack_ids[s] = calloc(b[i].n ? b[i].n : 1, sizeof(char *));
        if (c->ack_ids[s] == NULL)
            abort();
        for (size_t k = 0; k < b[i].n; k++)
            if ((c->ack_ids[s][k] = strdup(b[i].entries[k].id)) == NULL)
                abort();
        c->n_ack[s] = b[i].n;
        snprintf(c->positions[s], sizeof c->positions[s], "%s", b[i].entries[b[i].n - 1].id);
    }
}

/* Writes the batch `v[0..n)`, the positions and the counters in one
 * transaction. 0 or a negative errno (rolled back). */
static int commit_batch(consumer *c, const pending *v, size_t n, const cache_stream_batch *b,
                        size_t nb, int64_t applied)
{
    store *st = service_store(c->a->svc);
    int rc = store_begin(st);

    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = store_pending(st, &v[i]);
    for (size_t i = 0; rc == 0 && i < nb; i++)
        if (b[i].n)
            rc = analytics_store_set_position(st, b[i].stream, b[i].entries[b[i].n - 1].id);
    if (rc == 0 && n)
        rc = analytics_store_set_meta(st, "events_applied", applied);
    if (rc == 0 && n)
        rc = analytics_store_set_meta(st, "last_event_ms", event_ms(v[n - 1].event));
    if (rc == 0)
        return store_commit(st);
    store_rollback(st);
    return rc;
}

static void apply_batch(consumer *c, const cache_stream_batch *b, size_t nb)
{
    size_t total = 0, n = 0;
    pending *v;
    int rc;

    for (size_t i = 0; i < nb; i++)
        total += b[i].n;
    if (total == 0) { /* nothing new within the block time */
        consumer_next(c);
        return;
    }
    if ((v = calloc(total ? total : 1, sizeof *v)) == NULL)
        abort();
    for (size_t i = 0; i < nb; i++)
        for (size_t k = 0; k < b[i].n; k++)
            n += decide(c, &b[i].entries[k], v, n, &v[n]);
    rc = commit_batch(c, v, n, b, nb, c->a->fresh.events_applied + (int64_t)n);
    if (rc != 0) {
        log_fmt(LOG_LEVEL_ERROR, "a batch of events was not stored: %s", strerror(-rc));
        pending_free(v, n);
        consumer_retry(c);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        model_apply(c, &v[i]);
        if (v[i].gap) {
            c->stats.gaps++;
            reread_start(c, v[i].event);
        }
    }
    if (n) {
        int64_t at = event_ms(v[n - 1].event), now = pbtime_now_ms();
        c->a->fresh.as_of_ms = at;
        c->a->fresh.lag_ms = now > at ? now - at : 0;
        c->a->fresh.events_applied += (int64_t)n;
        c->stats.events += n;
        analytics_changed(c->a);
    }
    c->stats.batches++;
    pending_free(v, n);
    keep_ack_ids(c, b, nb);
    c->phase = PHASE_SYNC;
    c->busy++;
    store_sync(service_store(c->a->svc), on_synced, c);
}

/* ---- acknowledging ------------------------------------------------------------------- */

/* KEYS: the streams; ARGV[1] the group, then per stream a count and ids. */
static const char ack_script[] =
    "local at = 2\n"
    "for i = 1, #KEYS do\n"
    "  local n = tonumber(ARGV[at])\n"
    "  if n > 0 then\n"
    "    redis.call('XACK', KEYS[i], ARGV[1], unpack(ARGV, at + 1, at + n))\n"
    "  end\n"
    "  at = at + 1 + n\n"
    "end\n"
    "return 1\n";

static void on_acked(void *arg, int rc)
{
    (void)arg;
    /* Unacknowledged entries only stay pending in Redis: at the next start
     * the group is set back to our position and they are read as duplicates. */
    if (rc != 0 && rc != -ECANCELED)
        log_fmt(LOG_LEVEL_DEBUG, "XACK failed: %s", strerror(-rc));
}

static void send_acks(consumer *c)
{
    size_t nargs = 1, at = 0;
    cache_arg *args;
    char counts[STREAMS_MAX][24];
    const char *keys[STREAMS_MAX];

    for (size_t s = 0; s < c->n; s++)
        nargs += 1 + c->n_ack[s];
    if ((args = calloc(nargs, sizeof *args)) == NULL)
        abort();
    args[at++] = (cache_arg){CONSUMER_GROUP, strlen(CONSUMER_GROUP)};
    for (size_t s = 0; s < c->n; s++) {
        keys[s] = c->keys[s];
        snprintf(counts[s], sizeof counts[s], "%zu", c->n_ack[s]);
        args[at++] = (cache_arg){counts[s], strlen(counts[s])};
        for (size_t k = 0; k < c->n_ack[s]; k++)
            args[at++] = (cache_arg){c->ack_ids[s][k], strlen(c->ack_ids[s][k])};
    }
    cache_eval(c->redis, ack_script, keys, c->n, args, nargs, on_acked, c);
    free(args);
}

static void drop_ack_ids(consumer *c)
{
    for (size_t s = 0; s < c->n; s++) {
        for (size_t k = 0; k < c->n_ack[s]; k++)
            free(c->ack_ids[s][k]);
        free(c->ack_ids[s]);
        c->ack_ids[s] = NULL;
        c->n_ack[s] = 0;
    }
}

static void on_synced(void *arg, int rc)
{
    consumer *c = arg;

    if (rc == 0)
        send_acks(c);
    else /* not known to be on disk: never acknowledge it */
        log_fmt(LOG_LEVEL_ERROR, "events applied but not flushed: %s", strerror(-rc));
    drop_ack_ids(c);
    if (consumer_done(c))
        return;
    if (rc != 0)
        consumer_retry(c);
    else
        consumer_next(c);
}

/* ---- reading ---------------------------------------------------------------------------- */

static void on_read(void *arg, int rc, const cache_stream_batch *b, size_t n)
{
    consumer *c = arg;

    if (consumer_done(c))
        return;
    if (rc == -ENOENT) { /* NOGROUP: Redis lost the group, and with it events */
        consumer_setup(c);
        return;
    }
    if (rc != 0) {
        consumer_retry(c);
        return;
    }
    c->a->fresh.last_read_ms = pbtime_now_ms();
    c->retry_ms = 0;
    apply_batch(c, b, n);
}

static void consumer_read(consumer *c)
{
    const char *ids[STREAMS_MAX];

    for (size_t i = 0; i < c->n; i++)
        ids[i] = ">";
    c->phase = PHASE_READ;
    c->busy++;
    cache_group_read(c->redis, CONSUMER_GROUP, CONSUMER_GROUP, (const char *const *)c->keys, ids,
                     c->n, CONSUMER_BATCH, CONSUMER_BLOCK_MS, on_read, c);
}

/* After a batch: a rebuild asked for, or the next read. */
static void consumer_next(consumer *c)
{
    if (c->rebuild_cb)
        consumer_run_rebuild(c);
    else
        consumer_read(c);
}

/* ---- reading an aggregate again ----------------------------------------------------------- */

static void reread_forget(reread *r)
{
    for (reread **p = &r->c->rereads; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    free(r);
}

static uint64_t held_now(const model *m, const char *type, const char *id)
{
    Event ev = COMPACT__EVENTS__V1__EVENT__INIT;
    int known;

    ev.aggregate_type = (char *)type;
    ev.aggregate_id = (char *)id;
    return held_seq(m, &ev, &known);
}

/* Stores the state read again, if nothing moved the aggregate meanwhile. */
static void reread_apply(consumer *c, const reread *r, const ProtobufCMessage *state)
{
    store *st = service_store(c->a->svc);
    uint64_t held = held_now(c->a->model, r->type, r->id);
    size_t len = protobuf_c_message_get_packed_size(state);
    uint8_t *buf;
    int rc;

    if (held != r->seq_asked || (buf = malloc(len ? len : 1)) == NULL)
        return;
    protobuf_c_message_pack(state, buf);
    rc = store_begin(st);
    rc = rc ? rc : analytics_store_put_snapshot(st, r->type, r->id, held, buf, len);
    rc = rc ? rc : store_commit(st);
    if (rc != 0)
        store_rollback(st);
    free(buf);
    if (rc != 0)
        return;
    if (strcmp(r->type, "entity") == 0)
        rc = model_put_entity(c->a->model, (const Entity *)state, 0);
    else if (strcmp(r->type, "working_group") == 0)
        rc = model_put_group(c->a->model, (const WorkingGroup *)state, 0);
    else if ((rc = model_put_project(c->a->model, (const Project *)state, 0)) == 1)
        alerts_project_changed(c->a->alerts, r->id);
    if (rc == 1)
        analytics_changed(c->a);
}

static void on_reread(void *arg, rpc_code code, const char *message, const ProtobufCMessage *reply)
{
    reread *r = arg;
    consumer *c = r->c;

    if (code == RPC_OK)
        reread_apply(c, r, reply);
    else
        log_fmt(LOG_LEVEL_WARN, "%s %s not read again: %s %s", r->type, r->id, rpc_code_name(code),
                message ? message : "");
    reread_forget(r);
    consumer_done(c);
}

static void reread_start(consumer *c, const Event *ev)
{
    const char *peer = NULL, *method = NULL;
    const ProtobufCServiceDescriptor *svc = NULL;
    Compact__Membership__V1__GetEntityRequest ge =
        COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__INIT;
    Compact__Workgroups__V1__GetWorkingGroupRequest gg =
        COMPACT__WORKGROUPS__V1__GET_WORKING_GROUP_REQUEST__INIT;
    Compact__Projects__V1__GetProjectRequest gp = COMPACT__PROJECTS__V1__GET_PROJECT_REQUEST__INIT;
    const ProtobufCMessage *req = NULL;
    reread *r;

    /* The keys are oneofs: a key not named in key_case is never sent. */
    ge.id = gg.id = gp.id = ev->aggregate_id;
    ge.key_case = COMPACT__MEMBERSHIP__V1__GET_ENTITY_REQUEST__KEY_ID;
    gg.key_case = COMPACT__WORKGROUPS__V1__GET_WORKING_GROUP_REQUEST__KEY_ID;
    gp.key_case = COMPACT__PROJECTS__V1__GET_PROJECT_REQUEST__KEY_ID;
    if (strcmp(ev->aggregate_type, "entity") == 0)
        peer = "membership", svc = &compact__membership__v1__membership__descriptor,
        method = "GetEntity", req = &ge.base;
    else if (strcmp(ev->aggregate_type, "working_group") == 0)
        peer = "workgroups", svc = &compact__workgroups__v1__working_groups__descriptor,
        method = "GetWorkingGroup", req = &gg.base;
    else if (strcmp(ev->aggregate_type, "project") == 0)
        peer = "projects", svc = &compact__projects__v1__projects__descriptor,
        method = "GetProject", req = &gp.base;
    if (req == NULL || service_peer(c->a->svc, peer) == NULL || (r = calloc(1, sizeof *r)) == NULL)
        return;
    r->c = c;
    snprintf(r->type, sizeof r->type, "%s", ev->aggregate_type);
    snprintf(r->id, sizeof r->id, "%s", ev->aggregate_id);
    r->seq_asked = ev->aggregate_sequence;
    if (rpc_channel_call(service_peer(c->a->svc, peer), svc, method, req,
                         service_config(c->a->svc)->peer_timeout_ms, NULL, on_reread, r) != 0) {
        free(r);
        return;
    }
    r->next = c->rereads;
    c->rereads = r;
    c->busy++;
    c->stats.rereads++;
}

/* ---- the public API ------------------------------------------------------------------------ */

int consumer_start(analytics *a, const char *const *services, consumer **out)
{
    const config *cfg = service_config(a->svc);
    cache_options opts = {.addr = cfg->redis_addr, .timeout_ms = cfg->redis_timeout_ms};
    consumer *c = calloc(1, sizeof *c);
    int64_t applied = 0;
    int rc;

    if (c == NULL)
        return -ENOMEM;
    c->a = a;
    for (c->n = 0; services[c->n] && c->n < STREAMS_MAX; c->n++) {
        char key[64];
        snprintf(key, sizeof key, "compact:events:%s", services[c->n]);
        if ((c->keys[c->n] = strdup(key)) == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
    }
    if ((rc = cache_new(service_loop(a->svc), &opts, &c->redis)) != 0)
        goto fail;
    uv_timer_init(service_loop(a->svc), &c->timer);
    c->timer.data = c;
    analytics_store_get_meta(service_store(a->svc), "events_applied", &applied);
    analytics_store_get_meta(service_store(a->svc), "last_event_ms", &a->fresh.as_of_ms);
    a->fresh.events_applied = applied;
    a->fresh.lag_ms = -1;
    consumer_setup(c);
    *out = c;
    return 0;
fail:
    for (size_t i = 0; i < c->n; i++)
        free(c->keys[i]);
    free(c);
    return rc;
}

void consumer_rebuild(consumer *c, rebuild_done_cb cb, void *arg)
{
    if (c->rebuild_cb || c->stopping) {
        cb(arg, -EBUSY, c->stopping ? "stopping" : "a rebuild is running", NULL);
        return;
    }
    c->rebuild_cb = cb;
    c->rebuild_arg = arg;
    if (c->phase == PHASE_WAIT) { /* Redis is away: rebuild now */
        uv_timer_stop(&c->timer);
        c->busy--; /* the retry that will not run */
        c->setup_failed = 1;
        consumer_run_rebuild(c);
    }
}

void consumer_get_stats(const consumer *c, consumer_stats *out)
{
    *out = c->stats;
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
    if (c->phase == PHASE_WAIT) {
        uv_timer_stop(&c->timer);
        consumer_done(c); /* the retry that will not run */
    } else if (c->phase == PHASE_READ || c->phase == PHASE_SETUP) {
        close_redis(c); /* a blocked read ends now, with -ECANCELED */
    }
    /* Otherwise a rebuild or a flush ends soon and finds `stopping`. */
}
