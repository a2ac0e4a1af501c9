/* outbox.c: the transactional outbox and its relay (see outbox.h).
 *
 * Writing: outbox_append() adds one row to `outbox` inside the caller's
 * transaction and bumps the aggregate's counter in `outbox_aggregate_seq`,
 * so the event and the change it describes commit or vanish together.
 *
 * Publishing: the relay lives on the loop. A kick starts a zero timer (many
 * kicks in one loop turn make one publish); a repeating timer is the backstop
 * that retries after Redis comes back. A publish reads up to OUTBOX_BATCH
 * unsent rows in seq order, turns each into a compact.events.v1.Event and
 * hands it to cache_stream_add() with the stream id "<epoch>-<seq>", one
 * entry at a time (see outbox_item_done). Only one batch is in flight. When
 * sending stops, the prefix of rows whose reply was 0 or -EEXIST is marked
 * sent in one UPDATE (not flushed: a mark lost to a power cut means one more
 * publish, which Redis refuses as a duplicate); the first other error ends
 * the batch and the rest wait for the next kick or tick. A batch owns its row
 * copies until its last reply, so cache.c may hold the fields as long as it
 * likes.
 *
 * Only what is on disk is published: a batch waits for store_sync() before
 * its first entry goes out, since an event whose write a power cut could
 * still undo must never reach the stream. Its rows committed before that
 * flush began, so the wait covers them all; under load it shares the flush
 * that the writes' own replies wait for.
 *
 * Closing: the timers are closed; a batch in flight finishes when the reply
 * of its entry on the way arrives (every Redis command has a timeout, and
 * cache_close() completes it with -ECANCELED); the relay is freed and the
 * close callback runs after both.
 */
#include "outbox.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compact/events/v1/events.pb-c.h"
#include "log.h"

#define OUTBOX_BATCH 64
#define OUTBOX_EVENT_ID_BYTES 16

/* --- schema ---------------------------------------------------------------- */

static const store_migration outbox_migrations[] = {
    {.version = 1,
     .sql = "CREATE TABLE outbox ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " event_id TEXT NOT NULL UNIQUE,"
            " service TEXT NOT NULL,"
            " aggregate_type TEXT NOT NULL,"
            " aggregate_id TEXT NOT NULL,"
            " aggregate_seq INTEGER NOT NULL,"
            " type TEXT NOT NULL,"
            " occur_time_ms INTEGER NOT NULL,"
            " state_type TEXT NOT NULL,"
            " state BLOB NOT NULL,"
            " cache_keys TEXT,"    /* JSON array of key strings, or NULL */
            " sent_at_ms INTEGER," /* NULL until Redis acknowledged */
            " UNIQUE (aggregate_type, aggregate_id, aggregate_seq));"
            "CREATE INDEX outbox_unsent ON outbox(seq) WHERE sent_at_ms IS NULL;"
            "CREATE TABLE outbox_aggregate_seq ("
            " aggregate_type TEXT NOT NULL,"
            " aggregate_id TEXT NOT NULL,"
            " seq INTEGER NOT NULL,"
            " PRIMARY KEY (aggregate_type, aggregate_id)) WITHOUT ROWID;"},
    /* The database's birth time, the first part of every stream id: a
     * database made anew (sequences restart at 1) still writes ids above
     * those of the one before it, instead of having them refused as
     * duplicates and lost. */
    {.version = 2,
     .sql = "CREATE TABLE outbox_epoch (epoch_ms INTEGER NOT NULL);"
            "INSERT INTO outbox_epoch VALUES (CAST(strftime('%s', 'now') AS INTEGER) * 1000"
            " + CAST(substr(strftime('%f', 'now'), 4) AS INTEGER));"},
};
int outbox_migrate(store *st)
{
    return store_migrate(st, STORE_RUNTIME_COMPONENT, outbox_migrations,
                         sizeof outbox_migrations / sizeof outbox_migrations[0]);
}

#define SQL_NEXT_AGGREGATE_SEQ                                                                     \
    "INSERT INTO outbox_aggregate_seq(aggregate_type, aggregate_id, seq) VALUES (?1, ?2, 1)"       \
    " ON CONFLICT(aggregate_type, aggregate_id) DO UPDATE SET seq = seq + 1 RETURNING seq"
#define SQL_INSERT_EVENT                                                                           \
    "INSERT INTO outbox(event_id, service, aggregate_type, aggregate_id, aggregate_seq, type,"     \
    " occur_time_ms, state_type, state, cache_keys) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"   \
    " ?10)"
#define SQL_EPOCH "SELECT epoch_ms FROM outbox_epoch"
#define SQL_PENDING "SELECT count(*) FROM outbox WHERE sent_at_ms IS NULL"
#define SQL_CACHE_KEYS "SELECT value FROM json_each(?1) WHERE type = 'text'"
#define SQL_READ_BATCH                                                                             \
    "SELECT seq, event_id, service, aggregate_type, aggregate_id, aggregate_seq, type,"            \
    " occur_time_ms, state_type, state, cache_keys FROM outbox WHERE sent_at_ms IS NULL"           \
    " ORDER BY seq LIMIT ?1"
#define SQL_MARK_SENT                                                                              \
    "UPDATE outbox SET sent_at_ms = ?1 WHERE seq BETWEEN ?2 AND ?3 AND sent_at_ms IS NULL"

/* --- appending ------------------------------------------------------------- */

static int64_t outbox_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 32 lowercase hex characters from the system's random source. */
static int outbox_event_id(char out[2 * OUTBOX_EVENT_ID_BYTES + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[OUTBOX_EVENT_ID_BYTES];
    int err = uv_random(NULL, NULL, raw, sizeof(raw), 0, NULL);
    if (err != 0)
        return err;
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 0x0f];
    }
    out[2 * sizeof(raw)] = '\0';
    return 0;
}

/* The aggregate's next sequence number (1 for a new aggregate), or < 0. */
static int64_t outbox_next_aggregate_seq(store *st, const outbox_event *ev)
{
    sqlite3_stmt *s = store_stmt(st, SQL_NEXT_AGGREGATE_SEQ);
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, ev->aggregate_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, ev->aggregate_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int64_t seq = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -EIO;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(s); /* RETURNING: the statement finishes on the next step */
    if (rc != SQLITE_DONE)
        seq = rc == SQLITE_ROW ? -EIO : store_result(st, rc);
    sqlite3_reset(s);
    return seq;
}

/* Appends `k` to `b` as a JSON string: the escapes RFC 8259 requires, and
 * UTF-8 as it is (cache keys are built from validated fields). */
static void outbox_json_string(char *b, size_t *at, const char *k)
{
    b[(*at)++] = '"';
    for (const unsigned char *p = (const unsigned char *)k; *p; p++) {
        if (*p == '"' || *p == '\\') {
            b[(*at)++] = '\\';
            b[(*at)++] = (char)*p;
        } else if (*p < 0x20) {
            *at += (size_t)sprintf(b + *at, "\\u%04x", *p);
        } else {
            b[(*at)++] = (char)*p;
        }
    }
    b[(*at)++] = '"';
}

/* The cache keys as a JSON array in a malloc'd string (the relay reads it
 * with SQLite's json_each); NULL with *err 0 for none. */
static char *outbox_keys_json(const outbox_event *ev, int *err)
{
    size_t size = 3, at = 0;

    *err = 0;
    if (ev->cache_keys_count == 0)
        return NULL;
    for (size_t i = 0; i < ev->cache_keys_count; i++) {
        if (ev->cache_keys[i] == NULL) {
            *err = -EINVAL;
            return NULL;
        }
        size += 6 * strlen(ev->cache_keys[i]) + 3; /* worst case: all \u00XX */
    }
    char *text = malloc(size);
    if (text == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    text[at++] = '[';
    for (size_t i = 0; i < ev->cache_keys_count; i++) {
        if (i > 0)
            text[at++] = ',';
        outbox_json_string(text, &at, ev->cache_keys[i]);
    }
    text[at++] = ']';
    text[at] = '\0';
    return text;
}

static int outbox_event_valid(const outbox_event *ev)
{
    return ev != NULL && ev->service != NULL && ev->service[0] != '\0' &&
           ev->aggregate_type != NULL && ev->aggregate_type[0] != '\0' &&
           ev->aggregate_id != NULL && ev->aggregate_id[0] != '\0' && ev->type != NULL &&
           ev->type[0] != '\0' && (ev->cache_keys != NULL || ev->cache_keys_count == 0);
}

/* The state packed into a malloc'd buffer (never NULL on success, so that an
 * empty state binds as an empty blob and not as NULL). */
static uint8_t *outbox_pack_state(const ProtobufCMessage *state, size_t *len)
{
    *len = state != NULL ? protobuf_c_message_get_packed_size(state) : 0;
    uint8_t *buf = malloc(*len > 0 ? *len : 1);
    if (buf != NULL && state != NULL)
        protobuf_c_message_pack(state, buf);
    return buf;
}

static int outbox_insert(store *st, const outbox_event *ev, const char *event_id, int64_t agg_seq,
                         const uint8_t *state, size_t state_len, const char *keys)
{
    sqlite3_stmt *s = store_stmt(st, SQL_INSERT_EVENT);
    if (s == NULL)
        return -EIO;
    const char *state_type = ev->state != NULL ? ev->state->descriptor->name : "";
    sqlite3_bind_text(s, 1, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, ev->service, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, ev->aggregate_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, ev->aggregate_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, agg_seq);
    sqlite3_bind_text(s, 6, ev->type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, outbox_now_ms());
    sqlite3_bind_text(s, 8, state_type, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(s, 9, state, state_len, SQLITE_STATIC);
    if (keys != NULL)
        sqlite3_bind_text(s, 10, keys, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return store_result(st, rc);
}

int outbox_append(store *st, const outbox_event *ev)
{
    if (st == NULL || !outbox_event_valid(ev))
        return -EINVAL;
    if (sqlite3_get_autocommit(store_db(st))) {
        log_msg(LOG_LEVEL_ERROR, "outbox_append outside a transaction", "type", ev->type, NULL);
        return -EINVAL;
    }
    char event_id[2 * OUTBOX_EVENT_ID_BYTES + 1];
    int err = outbox_event_id(event_id);
    if (err != 0)
        return err;
    char *keys = outbox_keys_json(ev, &err);
    if (err != 0)
        return err;
    size_t state_len;
    uint8_t *state = outbox_pack_state(ev->state, &state_len);
    int64_t agg_seq = state != NULL ? outbox_next_aggregate_seq(st, ev) : -ENOMEM;
    err = agg_seq < 0 ? (int)agg_seq
                      : outbox_insert(st, ev, event_id, agg_seq, state, state_len, keys);
    free(state);
    free(keys);
    return err;
}

int64_t outbox_pending(store *st)
{
    sqlite3_stmt *s = store_stmt(st, SQL_PENDING);
    if (s == NULL)
        return -EIO;
    int rc = sqlite3_step(s);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : store_result(st, rc);
    sqlite3_reset(s);
    return n;
}

/* --- the relay: types ------------------------------------------------------ */

typedef struct outbox_batch outbox_batch;

/* One row on its way to Redis; everything cache_stream_add() is given. */
typedef struct outbox_item {
    outbox_batch *batch;
    int64_t seq;
    int rc;      /* the reply */
    char id[48]; /* "<epoch_ms>-<seq>" */
    char aggregate_seq[24];
    char *type;
    char *aggregate_id;
    uint8_t *packed; /* the Event */
    size_t packed_len;
    char **keys; /* cache keys to drop with the XADD, owned */
    size_t nkeys;
    cache_field fields[4];
} outbox_item;

struct outbox_batch {
    outbox_relay *relay;
    size_t n;       /* rows read */
    size_t replies; /* callbacks run; item `replies` is the one on its way */
    outbox_item items[OUTBOX_BATCH];
};

struct outbox_relay {
    uv_loop_t *loop;
    store *st;
    cache *cache;     /* may be NULL: events wait */
    char *stream;     /* "compact:events:<service>" */
    int64_t epoch_ms; /* first part of every stream id */
    uv_timer_t backstop;
    uv_timer_t soon; /* zero timeout: coalesces kicks */
    int open_handles;
    int closing;
    int again;  /* kicked while a batch was in flight */
    int outage; /* a failure was logged; cleared by the next success */
    outbox_batch *inflight;
    void (*close_cb)(void *arg);
    void *close_arg;
};

static void outbox_publish_timer_cb(uv_timer_t *t);

/* --- the relay: one row ---------------------------------------------------- */

static const char *outbox_col_text(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return t != NULL ? (const char *)t : "";
}

/* Packs the row under `s` as a compact.events.v1.Event. */
static int outbox_item_pack(outbox_item *it, sqlite3_stmt *s)
{
    int64_t ms = sqlite3_column_int64(s, 7);
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = ms / 1000;
    ts.nanos = (int32_t)(ms % 1000) * 1000000;
    Compact__Events__V1__Event ev = COMPACT__EVENTS__V1__EVENT__INIT;
    ev.event_id = (char *)outbox_col_text(s, 1);
    ev.service = (char *)outbox_col_text(s, 2);
    ev.aggregate_type = (char *)outbox_col_text(s, 3);
    ev.aggregate_id = (char *)outbox_col_text(s, 4);
    ev.aggregate_sequence = (uint64_t)sqlite3_column_int64(s, 5);
    ev.type = (char *)outbox_col_text(s, 6);
    ev.occur_time = &ts;
    ev.state_type = (char *)outbox_col_text(s, 8);
    ev.state.data = (uint8_t *)sqlite3_column_blob(s, 9);
    ev.state.len = (size_t)sqlite3_column_bytes(s, 9);
    it->packed_len = compact__events__v1__event__get_packed_size(&ev);
    it->packed = malloc(it->packed_len > 0 ? it->packed_len : 1);
    if (it->packed == NULL)
        return -ENOMEM;
    compact__events__v1__event__pack(&ev, it->packed);
    return 0;
}

/* Reads the JSON array of cache keys with SQLite's json_each; a malformed
 * list is logged and skipped, since the event itself must still go out. */
static int outbox_item_keys(outbox_item *it, store *st, sqlite3_stmt *row)
{
    const unsigned char *text = sqlite3_column_text(row, 10);
    if (text == NULL)
        return 0;
    sqlite3_stmt *s = store_stmt(st, SQL_CACHE_KEYS);
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, (const char *)text, -1, SQLITE_TRANSIENT);
    int rc = SQLITE_DONE, err = 0;
    while (err == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        char **grown = realloc(it->keys, (it->nkeys + 1) * sizeof(*it->keys));
        char *k = strdup(outbox_col_text(s, 0));
        if (grown != NULL)
            it->keys = grown;
        if (grown == NULL || k == NULL) {
            free(k);
            err = -ENOMEM;
            break;
        }
        it->keys[it->nkeys++] = k;
    }
    if (err == 0 && rc != SQLITE_DONE)
        log_msg(LOG_LEVEL_WARN, "outbox row has malformed cache_keys", "id", it->id, NULL);
    sqlite3_reset(s);
    return err;
}

static int outbox_item_load(outbox_item *it, sqlite3_stmt *s)
{
    it->seq = sqlite3_column_int64(s, 0);
    snprintf(it->id, sizeof(it->id), "%" PRId64 "-%" PRId64, it->batch->relay->epoch_ms, it->seq);
    snprintf(it->aggregate_seq, sizeof(it->aggregate_seq), "%" PRId64,
             (int64_t)sqlite3_column_int64(s, 5));
    it->type = strdup(outbox_col_text(s, 6));
    it->aggregate_id = strdup(outbox_col_text(s, 4));
    if (it->type == NULL || it->aggregate_id == NULL)
        return -ENOMEM;
    int err = outbox_item_pack(it, s);
    if (err == 0)
        err = outbox_item_keys(it, it->batch->relay->st, s);
    if (err != 0)
        return err;
    it->fields[0] = (cache_field){.name = "event", .value = it->packed, .len = it->packed_len};
    it->fields[1] = (cache_field){.name = "type", .value = it->type, .len = strlen(it->type)};
    it->fields[2] = (cache_field){
        .name = "aggregate_id", .value = it->aggregate_id, .len = strlen(it->aggregate_id)};
    it->fields[3] = (cache_field){
        .name = "aggregate_seq", .value = it->aggregate_seq, .len = strlen(it->aggregate_seq)};
    return 0;
}

static void outbox_item_free(outbox_item *it)
{
    free(it->type);
    free(it->aggregate_id);
    free(it->packed);
    for (size_t i = 0; i < it->nkeys; i++)
        free(it->keys[i]);
    free(it->keys);
}

/* --- the relay: one batch -------------------------------------------------- */

static void outbox_batch_free(outbox_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        outbox_item_free(&b->items[i]);
    free(b);
}

/* Up to OUTBOX_BATCH unsent rows in seq order. Returns 0 with *out (NULL when
 * nothing waits) or a negative errno. */
static int outbox_batch_read(outbox_relay *r, outbox_batch **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_stmt(r->st, SQL_READ_BATCH);
    if (s == NULL)
        return -EIO;
    outbox_batch *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    b->relay = r;
    sqlite3_bind_int(s, 1, OUTBOX_BATCH);
    int rc = SQLITE_DONE, err = 0;
    while (err == 0 && b->n < OUTBOX_BATCH && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        outbox_item *it = &b->items[b->n++];
        it->batch = b;
        err = outbox_item_load(it, s);
    }
    if (err == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = store_result(r->st, rc);
    sqlite3_reset(s);
    if (err != 0 || b->n == 0) {
        outbox_batch_free(b);
        return err;
    }
    *out = b;
    return 0;
}

static void outbox_outage(outbox_relay *r, int err)
{
    if (r->outage)
        return;
    r->outage = 1;
    log_msg(LOG_LEVEL_WARN, "events not published; they wait in the store", "stream", r->stream,
            "error", strerror(-err), NULL);
}

static void outbox_recovered(outbox_relay *r)
{
    if (!r->outage)
        return;
    r->outage = 0;
    log_msg(LOG_LEVEL_INFO, "events published again", "stream", r->stream, NULL);
}

/* Marks rows first..last sent in one statement. Skipped while someone's
 * transaction is open (the UPDATE would join it); the rows are then sent
 * again later, and Redis's refusal counts as delivery. */
static int outbox_mark_sent(store *st, int64_t first, int64_t last)
{
    if (!sqlite3_get_autocommit(store_db(st)))
        return 0;
    sqlite3_stmt *s = store_stmt(st, SQL_MARK_SENT);
    if (s == NULL)
        return -EIO;
    sqlite3_bind_int64(s, 1, outbox_now_ms());
    sqlite3_bind_int64(s, 2, first);
    sqlite3_bind_int64(s, 3, last);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return store_result(st, rc);
}

static void outbox_relay_maybe_closed(outbox_relay *r)
{
    if (r->open_handles > 0 || r->inflight != NULL)
        return;
    void (*cb)(void *) = r->close_cb;
    void *arg = r->close_arg;
    free(r->stream);
    free(r);
    if (cb != NULL)
        cb(arg);
}

static void outbox_schedule(outbox_relay *r)
{
    uv_timer_start(&r->soon, outbox_publish_timer_cb, 0, 0);
}

/* Sending has stopped (all sent, or one failed): mark the delivered prefix,
 * then go on or wait. */
static void outbox_batch_finish(outbox_batch *b)
{
    outbox_relay *r = b->relay;
    size_t delivered = 0;
    while (delivered < b->replies &&
           (b->items[delivered].rc == 0 || b->items[delivered].rc == -EEXIST))
        delivered++;
    int err = delivered < b->replies ? b->items[delivered].rc : 0;
    if (delivered > 0) {
        int merr = outbox_mark_sent(r->st, b->items[0].seq, b->items[delivered - 1].seq);
        err = err != 0 ? err : merr;
    }
    int full = b->n == OUTBOX_BATCH && delivered == b->n;
    r->inflight = NULL;
    outbox_batch_free(b);
    if (err == 0)
        outbox_recovered(r);
    else if (err != -ECANCELED) /* -ECANCELED is shutdown, not an outage */
        outbox_outage(r, err);
    int again = r->again;
    r->again = 0;
    if (r->closing)
        outbox_relay_maybe_closed(r);
    else if (err == 0 && (full || again))
        outbox_schedule(r);
}

static void outbox_batch_send_next(outbox_batch *b);

/* One entry at a time, each only after the one before it was accepted: if
 * entry k failed while k+1 was already on its way, k+1 would land, and k's
 * retry would then be refused as "not newer" and wrongly taken as delivered.
 * The price is one round trip per event, on a path nobody waits for. */
static void outbox_item_done(void *arg, int rc)
{
    outbox_item *it = arg;
    outbox_batch *b = it->batch;
    it->rc = rc;
    b->replies++;
    if ((rc == 0 || rc == -EEXIST) && b->replies < b->n && !b->relay->closing)
        outbox_batch_send_next(b);
    else
        outbox_batch_finish(b);
}

static void outbox_batch_send_next(outbox_batch *b)
{
    outbox_relay *r = b->relay;
    outbox_item *it = &b->items[b->replies];
    cache_stream_add(r->cache, r->stream, it->id, it->fields, 4, (const char *const *)it->keys,
                     it->nkeys, outbox_item_done, it);
}

/* store_sync_cb: the batch's rows are on disk; send, or give the batch up. */
static void outbox_batch_synced(void *arg, int rc)
{
    outbox_batch *b = arg;
    outbox_relay *r = b->relay;
    if (rc == 0 && !r->closing) {
        outbox_batch_send_next(b);
        return;
    }
    r->inflight = NULL;
    outbox_batch_free(b);
    if (rc != 0)
        outbox_outage(r, rc);
    if (r->closing)
        outbox_relay_maybe_closed(r);
}

static void outbox_batch_send(outbox_relay *r, outbox_batch *b)
{
    r->inflight = b;
    store_sync(r->st, outbox_batch_synced, b);
}

/* --- the relay: life ------------------------------------------------------- */

static void outbox_publish(outbox_relay *r)
{
    if (r->closing || r->cache == NULL)
        return;
    if (r->inflight != NULL) {
        r->again = 1;
        return;
    }
    /* Redis down: the backstop timer tries again; cache.c logs the outage */
    if (!cache_connected(r->cache))
        return;
    /* a transaction open across a loop turn: its rows are not committed yet */
    if (!sqlite3_get_autocommit(store_db(r->st)))
        return;
    outbox_batch *b;
    int err = outbox_batch_read(r, &b);
    if (err != 0)
        outbox_outage(r, err);
    else if (b != NULL)
        outbox_batch_send(r, b);
}

static void outbox_publish_timer_cb(uv_timer_t *t)
{
    outbox_publish(t->data);
}

static void outbox_handle_closed(uv_handle_t *h)
{
    outbox_relay *r = h->data;
    r->open_handles--;
    outbox_relay_maybe_closed(r);
}

int outbox_relay_start(uv_loop_t *loop, store *st, cache *c, const char *service, int interval_ms,
                       outbox_relay **out)
{
    if (loop == NULL || st == NULL || service == NULL || service[0] == '\0' || interval_ms <= 0 ||
        out == NULL)
        return -EINVAL;
    outbox_relay *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    if (asprintf(&r->stream, "compact:events:%s", service) < 0) {
        free(r);
        return -ENOMEM;
    }
    r->loop = loop;
    r->st = st;
    r->cache = c;
    sqlite3_stmt *epoch = store_stmt(st, SQL_EPOCH);
    if (epoch == NULL || sqlite3_step(epoch) != SQLITE_ROW) {
        free(r->stream);
        free(r);
        return -EIO;
    }
    r->epoch_ms = sqlite3_column_int64(epoch, 0);
    sqlite3_reset(epoch);
    /* uv_timer_init cannot fail on Unix, so no half-built relay to close */
    uv_timer_init(loop, &r->backstop);
    uv_timer_init(loop, &r->soon);
    r->backstop.data = r;
    r->soon.data = r;
    r->open_handles = 2;
    uv_timer_start(&r->backstop, outbox_publish_timer_cb, (uint64_t)interval_ms,
                   (uint64_t)interval_ms);
    outbox_schedule(r);
    *out = r;
    return 0;
}

void outbox_relay_kick(outbox_relay *r)
{
    if (r == NULL || r->closing)
        return;
    if (r->inflight != NULL)
        r->again = 1;
    else
        outbox_schedule(r);
}

void outbox_relay_close(outbox_relay *r, void (*cb)(void *arg), void *arg)
{
    if (r == NULL) {
        if (cb != NULL)
            cb(arg);
        return;
    }
    if (r->closing)
        return; /* closing twice is a caller bug; the first cb still runs */
    r->closing = 1;
    r->close_cb = cb;
    r->close_arg = arg;
    uv_close((uv_handle_t *)&r->backstop, outbox_handle_closed);
    uv_close((uv_handle_t *)&r->soon, outbox_handle_closed);
}
