/* outbox.c: the transactional outbox and its relay (see outbox.h).
 *
 * Writing: outbox_append() adds one row to `outbox` inside the caller's
 * transaction and bumps the aggregate's counter in `outbox_aggregate_seq`,
 * so the event and the change it describes commit or vanish together.
 *
 * Publishing: the relay lives on the loop. Each committed event is followed
 * to the flush that puts it on disk (outbox_relay_committed): when that
 * flush ends, in the same loop turn as the replies of the writes it
 * covers, the relay publishes every row up to it. A repeating timer is the
 * backstop that retries after Redis comes back. A publish reads up to OUTBOX_BATCH
 * rows past the mark in seq order, turns each into a compact.events.v1.Event, and
 * sends the whole batch as one Lua script (outbox_script), which Redis runs
 * atomically: each event not seen before goes into the stream, with an id
 * Redis assigns, in outbox order. Only one batch is in flight; when Redis
 * answered, the relay's mark moves past the batch: what was published is
 * every row up to one seq (`outbox_published`), since batches go out whole
 * and in order. The mark is kept in memory and written to its one-row table
 * (not flushed: a mark lost to a power cut means one more publish, which the
 * "seen" keys make a no-op). A mark in each row, as before, rewrote every
 * row once more, its state's overflow pages with it, and kept an index of
 * the unsent. A failed batch waits for the next kick or tick and is sent
 * again whole.
 *
 * Retention: the stream is trimmed to COMPACT_EVENT_RETENTION_HOURS (XADD
 * MINID), the "seen" keys expire after it, and published rows older than it
 * are pruned from the outbox (outbox_prune), the oldest first, a slice a
 * second or, while slices come back full, at every publish: a consumer away
 * for less than the retention finds every event it missed. The oldest rows are the first by seq, so a slice reads only what
 * it deletes (the prune once read every row's mark, the whole outbox, in one
 * statement on the loop: seconds with a million rows).
 *
 * Only what is on disk is published, since an event whose write a power
 * cut could still undo must never reach the stream. Rows up to durable_seq
 * are known to be on disk (a flush that began after their commit has
 * ended) and go out at once. A crash's leftovers go with the first flush
 * after a write (durable_seq covers every lower seq too); when no commit
 * waits for a flush (no writes), the backstop's batch waits for a
 * store_sync() of its own, which covers every row it read.
 * Waiting for the writes' own flush instead of one of the relay's saves,
 * under load, a second flush and the loop turns between: an event reaches
 * the stream about when its write is answered.
 *
 * Closing: the timers are closed; a batch in flight finishes when the reply
 * of its script arrives (every Redis command has a timeout, and
 * cache_close() completes it with -ECANCELED), and every commit's wait when
 * its flush ends; the relay is freed and the close callback runs after
 * them all.
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

#define OUTBOX_BATCH 256
#define OUTBOX_PRUNE_INTERVAL_MS 1000
#define OUTBOX_PRUNE_SLICE 256
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
            " sent_at_ms INTEGER," /* unused since migration 4: outbox_published */
            " UNIQUE (aggregate_type, aggregate_id, aggregate_seq));"
            "CREATE INDEX outbox_unsent ON outbox(seq) WHERE sent_at_ms IS NULL;"
            "CREATE TABLE outbox_aggregate_seq ("
            " aggregate_type TEXT NOT NULL,"
            " aggregate_id TEXT NOT NULL,"
            " seq INTEGER NOT NULL,"
            " PRIMARY KEY (aggregate_type, aggregate_id)) WITHOUT ROWID;"},
    /* The database's birth time, once the first part of every stream id.
     * Unused since delivery no longer rests on stream ids (see the relay);
     * kept, as a migration once applied is never taken back. */
    {.version = 2,
     .sql = "CREATE TABLE outbox_epoch (epoch_ms INTEGER NOT NULL);"
            "INSERT INTO outbox_epoch VALUES (CAST(strftime('%s', 'now') AS INTEGER) * 1000"
            " + CAST(substr(strftime('%f', 'now'), 4) AS INTEGER));"},
    /* Who made each change: on the event (published with it) and in the
     * audit table, which is kept as long as the service's data (the outbox's
     * published rows are pruned after the retention; audit rows are not). */
    {.version = 3,
     .sql = "ALTER TABLE outbox ADD COLUMN actor_subject TEXT;"
            "ALTER TABLE outbox ADD COLUMN actor_role TEXT;"
            "ALTER TABLE outbox ADD COLUMN actor_entity_id TEXT;"
            "ALTER TABLE outbox ADD COLUMN actor_peer TEXT;"
            "CREATE TABLE audit ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " event_id TEXT NOT NULL UNIQUE,"
            " aggregate_type TEXT NOT NULL,"
            " aggregate_id TEXT NOT NULL,"
            " aggregate_seq INTEGER NOT NULL,"
            " type TEXT NOT NULL,"
            " occur_time_ms INTEGER NOT NULL,"
            " subject TEXT NOT NULL,"
            " role TEXT NOT NULL,"
            " entity_id TEXT NOT NULL,"
            " peer TEXT NOT NULL);"
            "CREATE INDEX audit_aggregate ON audit(aggregate_id, seq);"},
    /* What was published: every row up to one seq (see "Publishing"). It
     * starts below the first row never marked, so nothing is skipped; rows
     * marked after it go out once more, which their "seen" keys make a
     * no-op. */
    {.version = 4,
     .sql = "CREATE TABLE outbox_published (seq INTEGER NOT NULL);"
            "INSERT INTO outbox_published SELECT coalesce("
            " (SELECT min(seq) - 1 FROM outbox WHERE sent_at_ms IS NULL),"
            " (SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0);"
            "DROP INDEX outbox_unsent;"},
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
    " occur_time_ms, state_type, state, cache_keys, actor_subject, actor_role, actor_entity_id,"   \
    " actor_peer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
#define SQL_INSERT_AUDIT                                                                           \
    "INSERT INTO audit(event_id, aggregate_type, aggregate_id, aggregate_seq, type,"               \
    " occur_time_ms, subject, role, entity_id, peer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"  \
    " ?10)"
#define SQL_PRUNE                                                                                  \
    "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE seq <= ?3 ORDER BY seq"         \
    " LIMIT ?2) AND occur_time_ms < ?1"
/* Rows past the mark have no gaps: seq is AUTOINCREMENT, an append rolled
 * back gives its number back, and only published rows are ever deleted. */
#define SQL_PENDING                                                                                \
    "SELECT max(0, coalesce((SELECT max(seq) FROM outbox), seq) - seq) FROM outbox_published"
#define SQL_PUBLISHED "SELECT seq FROM outbox_published"
#define SQL_CACHE_KEYS "SELECT value FROM json_each(?1) WHERE type = 'text'"
#define SQL_READ_BATCH                                                                             \
    "SELECT seq, event_id, service, aggregate_type, aggregate_id, aggregate_seq, type,"            \
    " occur_time_ms, state_type, state, cache_keys, actor_subject, actor_role, actor_entity_id,"   \
    " actor_peer FROM outbox WHERE seq > ?3 AND seq <= ?2 ORDER BY seq LIMIT ?1"
#define SQL_LAST_SEQ "SELECT max(seq) FROM outbox"
#define SQL_MARK_PUBLISHED "UPDATE outbox_published SET seq = ?1 WHERE seq < ?1"

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

/* The actor of `ev`, or the service itself for a change no call asked for. */
static outbox_actor outbox_actor_of(const outbox_event *ev, char *subject, size_t size)
{
    outbox_actor a = {.subject = "", .role = "", .entity_id = "", .peer = ""};
    if (ev->actor != NULL) {
        a = *ev->actor;
        a.subject = a.subject ? a.subject : "";
        a.role = a.role ? a.role : "";
        a.entity_id = a.entity_id ? a.entity_id : "";
        a.peer = a.peer ? a.peer : "";
        return a;
    }
    snprintf(subject, size, "service:%s", ev->service);
    a.subject = subject;
    a.role = "service";
    return a;
}

static int outbox_insert_audit(store *st, const outbox_event *ev, const char *event_id,
                               int64_t agg_seq, int64_t now_ms, const outbox_actor *a)
{
    sqlite3_stmt *s = store_stmt(st, SQL_INSERT_AUDIT);
    if (s == NULL)
        return -EIO;
    sqlite3_bind_text(s, 1, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, ev->aggregate_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, ev->aggregate_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, agg_seq);
    sqlite3_bind_text(s, 5, ev->type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, now_ms);
    sqlite3_bind_text(s, 7, a->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, a->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, a->entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, a->peer, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return store_result(st, rc);
}

static int outbox_insert(store *st, const outbox_event *ev, const char *event_id, int64_t agg_seq,
                         const uint8_t *state, size_t state_len, const char *keys)
{
    char service_subject[96];
    outbox_actor a = outbox_actor_of(ev, service_subject, sizeof service_subject);
    int64_t now_ms = outbox_now_ms();
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
    sqlite3_bind_int64(s, 7, now_ms);
    sqlite3_bind_text(s, 8, state_type, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(s, 9, state, state_len, SQLITE_STATIC);
    if (keys != NULL)
        sqlite3_bind_text(s, 10, keys, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 11, a.subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 12, a.role, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 13, a.entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 14, a.peer, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    rc = store_result(st, rc);
    return rc ? rc : outbox_insert_audit(st, ev, event_id, agg_seq, now_ms, &a);
}

int outbox_append(store *st, const outbox_event *ev)
{
    if (st == NULL || !outbox_event_valid(ev))
        return -EINVAL;
    if (!store_writing(st)) {
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

/* One row on its way to Redis. */
typedef struct outbox_item {
    int64_t seq;
    char event_id[2 * OUTBOX_EVENT_ID_BYTES + 1];
    char seen_key[160]; /* "compact:events:<service>:seen:<event_id>" */
    char aggregate_seq[24];
    char ndel[24]; /* nkeys, as text for the script */
    char *type;
    char *aggregate_id;
    uint8_t *packed; /* the Event */
    size_t packed_len;
    char **keys; /* cache keys to drop with it, owned */
    size_t nkeys;
} outbox_item;

struct outbox_batch {
    outbox_relay *relay;
    size_t n; /* rows read */
    outbox_item items[OUTBOX_BATCH];
};

struct outbox_relay {
    uv_loop_t *loop;
    store *st;
    cache *cache; /* may be NULL: events wait */
    char *stream; /* "compact:events:<service>" */
    int64_t retention_ms;
    int64_t pending;     /* events not yet published, kept without a query */
    int64_t durable_seq; /* rows up to this seq are known to be on disk */
    int64_t published;   /* rows up to this seq are in the stream */
    int mark_behind;     /* `published` is not yet written to outbox_published */
    int committing;      /* inside outbox_relay_committed (see there) */
    int commit_waits;    /* outbox_commit_wait not called back yet */
    int trust_pending;   /* the cache waits for the rows up to trust_seq */
    int64_t trust_seq;
    uint64_t trust_distrusts; /* cache_distrusts() when trust_seq was taken */
    int64_t pruned_at;        /* when published rows were last pruned (ms) */
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
static void outbox_maybe_trust(outbox_relay *r);

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
    Compact__Events__V1__Actor actor = COMPACT__EVENTS__V1__ACTOR__INIT;
    if (sqlite3_column_type(s, 11) != SQLITE_NULL) { /* rows from before migration 3 have none */
        actor.subject = (char *)outbox_col_text(s, 11);
        actor.role = (char *)outbox_col_text(s, 12);
        actor.entity_id = (char *)outbox_col_text(s, 13);
        actor.peer = (char *)outbox_col_text(s, 14);
        ev.actor = &actor;
    }
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
        log_msg(LOG_LEVEL_WARN, "outbox row has malformed cache_keys", "id", it->event_id, NULL);
    sqlite3_reset(s);
    return err;
}

static int outbox_item_load(outbox_relay *r, outbox_item *it, sqlite3_stmt *s)
{
    it->seq = sqlite3_column_int64(s, 0);
    snprintf(it->event_id, sizeof(it->event_id), "%s", outbox_col_text(s, 1));
    snprintf(it->seen_key, sizeof(it->seen_key), "%s:seen:%s", r->stream, outbox_col_text(s, 1));
    snprintf(it->aggregate_seq, sizeof(it->aggregate_seq), "%" PRId64,
             (int64_t)sqlite3_column_int64(s, 5));
    it->type = strdup(outbox_col_text(s, 6));
    it->aggregate_id = strdup(outbox_col_text(s, 4));
    if (it->type == NULL || it->aggregate_id == NULL)
        return -ENOMEM;
    int err = outbox_item_pack(it, s);
    if (err == 0)
        err = outbox_item_keys(it, r->st, s);
    return err;
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

/* Up to OUTBOX_BATCH rows past the mark in seq order, none past `last_seq`.
 * Returns 0 with *out (NULL when nothing waits) or a negative errno. */
static int outbox_batch_read(outbox_relay *r, int64_t last_seq, outbox_batch **out)
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
    sqlite3_bind_int64(s, 2, last_seq);
    sqlite3_bind_int64(s, 3, r->published);
    int rc = SQLITE_DONE, err = 0;
    while (err == 0 && b->n < OUTBOX_BATCH && (rc = sqlite3_step(s)) == SQLITE_ROW)
        err = outbox_item_load(r, &b->items[b->n++], s);
    if (err == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = store_result(r->st, rc);
    sqlite3_reset(s);
    if (err == 0 && b->n < OUTBOX_BATCH && last_seq == INT64_MAX)
        r->pending = (int64_t)b->n; /* every row past the mark was read: the count is exact */
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

/* Writes the relay's mark to outbox_published, in a transaction of its
 * own: skipped while a write or a batch of writes is open (the UPDATE would
 * join it, and a failed COMMIT would undo it after we took it as written);
 * the next publish writes it (the backstop's, if none before: it runs at
 * the start of a loop turn, before the turn's writes). A mark that never reaches the disk
 * means those rows are sent again after a restart, and their "seen" keys
 * make that a no-op. */
static void outbox_write_mark(outbox_relay *r)
{
    if (!r->mark_behind || store_writing(r->st) || store_uncommitted(r->st))
        return;
    sqlite3_stmt *s = store_stmt(r->st, SQL_MARK_PUBLISHED);
    if (s == NULL)
        return;
    sqlite3_bind_int64(s, 1, r->published);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (store_result(r->st, rc) == 0)
        r->mark_behind = 0;
}

/* Deletes published rows older than the retention, the oldest slice at a
 * time, once a second, or at the next publish after a full slice (so that
 * it keeps up with any rate of events): the outbox keeps what the stream
 * keeps. A slice looks at the OUTBOX_PRUNE_SLICE first rows by seq alone
 * (the oldest), so it reads no more rows than it may delete. */
static void outbox_prune(outbox_relay *r)
{
    int64_t now = outbox_now_ms();
    if (now - r->pruned_at < OUTBOX_PRUNE_INTERVAL_MS || store_writing(r->st))
        return;
    r->pruned_at = now;
    sqlite3_stmt *s = store_stmt(r->st, SQL_PRUNE);
    if (s == NULL)
        return;
    sqlite3_bind_int64(s, 1, now - r->retention_ms);
    sqlite3_bind_int(s, 2, OUTBOX_PRUNE_SLICE);
    sqlite3_bind_int64(s, 3, r->published);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (store_result(r->st, rc) != 0)
        log_msg(LOG_LEVEL_WARN, "outbox: pruning published events failed", NULL);
    else if (sqlite3_changes(store_db(r->st)) == OUTBOX_PRUNE_SLICE)
        r->pruned_at = now - OUTBOX_PRUNE_INTERVAL_MS; /* more to go: again at the next publish */
}

static void outbox_relay_maybe_closed(outbox_relay *r)
{
    if (r->open_handles > 0 || r->inflight != NULL || r->commit_waits > 0)
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

/* cache_done_cb of a batch's script: move the mark past the batch, then go
 * on or wait. */
static void outbox_batch_done(void *arg, int rc)
{
    outbox_batch *b = arg;
    outbox_relay *r = b->relay;
    if (rc == 0) {
        r->published = b->items[b->n - 1].seq;
        r->mark_behind = 1;
        outbox_write_mark(r);
        r->pending = r->pending > (int64_t)b->n ? r->pending - (int64_t)b->n : 0;
    }
    int full = b->n == OUTBOX_BATCH;
    r->inflight = NULL;
    outbox_batch_free(b);
    if (rc == 0) {
        outbox_recovered(r);
        outbox_maybe_trust(r);
    } else if (rc != -ECANCELED) /* -ECANCELED is shutdown, not an outage */
        outbox_outage(r, rc);
    int again = r->again;
    r->again = 0;
    if (r->closing)
        outbox_relay_maybe_closed(r);
    else if (rc == 0 && (full || again))
        outbox_schedule(r);
}

/* Publishing a batch is one script, atomic in Redis: for each event, in
 * outbox order, unless its "seen" key exists (it was published before: a
 * crash fell between Redis's answer and our mark, or a restored
 * backup sends it again), set that key for the retention, add the event to
 * the stream with an id Redis assigns (trimming what is older than the
 * retention) and drop the event's cache keys. Delivery therefore does not
 * rest on stream ids at all: a stream holding larger ids (a clock stepped
 * back, a database recreated or restored) takes the next event all the
 * same, and no event is added twice within the retention. The seen key is
 * set after the XADD: a script that fails at an event (Redis refuses the
 * XADD) leaves that event and the ones after it unseen, to be sent again;
 * the ones before it were added and are seen.
 *   KEYS: the stream, then each event's seen key, then all the cache keys.
 *   ARGV: count, seen-key TTL (s), MINID, then per event: event_id, event,
 *         type, aggregate_id, aggregate_seq, number of its cache keys. */
static const char outbox_script[] =
    "local n, ttl, minid = tonumber(ARGV[1]), ARGV[2], ARGV[3]\n"
    "local a, k, added = 4, 2 + n, 0\n"
    "for i = 1, n do\n"
    "  local id, ev, ty, agg, seq = ARGV[a], ARGV[a+1], ARGV[a+2], ARGV[a+3], ARGV[a+4]\n"
    "  local ndel = tonumber(ARGV[a+5])\n"
    "  a = a + 6\n"
    "  if redis.call('EXISTS', KEYS[1+i]) == 0 then\n"
    "    redis.call('XADD', KEYS[1], 'MINID', '~', minid, '*', 'event', ev, 'type', ty,\n"
    "               'aggregate_id', agg, 'aggregate_seq', seq, 'event_id', id)\n"
    "    redis.call('SET', KEYS[1+i], '1', 'EX', ttl)\n"
    "    added = added + 1\n"
    "  end\n"
    "  for j = 1, ndel do redis.call('DEL', KEYS[k]); k = k + 1 end\n"
    "end\n"
    "return added\n";

#define OUTBOX_ARGS_PER_EVENT 6

static void outbox_batch_send_script(outbox_batch *b)
{
    outbox_relay *r = b->relay;
    size_t nkeys = 1 + b->n, nargs = 3 + OUTBOX_ARGS_PER_EVENT * b->n, at = 0, k = 0;
    char count[24], ttl[24], minid[32];
    for (size_t i = 0; i < b->n; i++)
        nkeys += b->items[i].nkeys;
    const char **keys = calloc(nkeys, sizeof(*keys));
    cache_arg *args = calloc(nargs, sizeof(*args));
    if (keys == NULL || args == NULL) {
        free(keys);
        free(args);
        outbox_batch_done(b, -ENOMEM);
        return;
    }
    snprintf(count, sizeof count, "%zu", b->n);
    snprintf(ttl, sizeof ttl, "%" PRId64, r->retention_ms / 1000);
    snprintf(minid, sizeof minid, "%" PRId64 "-0", outbox_now_ms() - r->retention_ms);
    keys[k++] = r->stream;
    for (size_t i = 0; i < b->n; i++)
        keys[k++] = b->items[i].seen_key;
    args[at++] = (cache_arg){count, strlen(count)};
    args[at++] = (cache_arg){ttl, strlen(ttl)};
    args[at++] = (cache_arg){minid, strlen(minid)};
    for (size_t i = 0; i < b->n; i++) {
        outbox_item *it = &b->items[i];
        snprintf(it->ndel, sizeof it->ndel, "%zu", it->nkeys);
        args[at++] = (cache_arg){it->event_id, strlen(it->event_id)};
        args[at++] = (cache_arg){it->packed, it->packed_len};
        args[at++] = (cache_arg){it->type, strlen(it->type)};
        args[at++] = (cache_arg){it->aggregate_id, strlen(it->aggregate_id)};
        args[at++] = (cache_arg){it->aggregate_seq, strlen(it->aggregate_seq)};
        args[at++] = (cache_arg){it->ndel, strlen(it->ndel)};
        for (size_t j = 0; j < it->nkeys; j++)
            keys[k++] = it->keys[j];
    }
    cache_eval(r->cache, outbox_script, keys, nkeys, args, nargs, outbox_batch_done, b);
    free(keys);
    free(args);
}

/* store_sync_cb: the batch's rows are on disk; send, or give the batch up. */
static void outbox_batch_synced(void *arg, int rc)
{
    outbox_batch *b = arg;
    outbox_relay *r = b->relay;
    if (rc == 0 && b->items[b->n - 1].seq > r->durable_seq)
        r->durable_seq = b->items[b->n - 1].seq;
    if (rc == 0 && !r->closing) {
        outbox_batch_send_script(b);
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

/* The newest row's seq (0 when none): committed, or in the open batch. */
static int64_t outbox_last_seq(store *st)
{
    sqlite3_stmt *s = store_stmt(st, SQL_LAST_SEQ);
    if (s == NULL)
        return -EIO;
    int64_t seq = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -EIO;
    sqlite3_reset(s);
    return seq;
}

/* Trust (cache.h). Once the cache has lost an invalidation, it is trusted
 * again when every event up to the newest row at the time the relay saw
 * the loss is out, since each carries its change's invalidations: a write
 * whose DEL was lost had committed its row before. Under a steady write
 * load unsent rows never run out, so waiting for none at all could keep
 * the cache out of use for as long as the load lasts. A loss seen
 * meanwhile (cache_trust_since) starts the wait again. */
static void outbox_note_distrust(outbox_relay *r)
{
    if (cache_trusted(r->cache) ||
        (r->trust_pending && r->trust_distrusts == cache_distrusts(r->cache)))
        return;
    int64_t seq = outbox_last_seq(r->st);
    if (seq < 0)
        return;
    r->trust_distrusts = cache_distrusts(r->cache);
    r->trust_seq = seq;
    r->trust_pending = 1;
}

static void outbox_maybe_trust(outbox_relay *r)
{
    if (!r->trust_pending || r->published < r->trust_seq)
        return;
    cache_trust_since(r->cache, r->trust_distrusts);
    r->trust_pending = 0;
}

/* Sends the next batch: rows known to be on disk at once; when there are
 * none and `any` is set, the unsent rows after a flush of their own (rows a
 * crash left, or whose commit's flush failed). Only the backstop and the
 * zero timer ask for `any`: from a commit's flush callback the rows past
 * durable_seq have flushes of their own coming, and reading them there
 * would only ask for one more. */
static void outbox_publish(outbox_relay *r, int any)
{
    if (r->closing || r->cache == NULL)
        return;
    /* Only rows before the mark go, so neither waits for Redis. */
    outbox_write_mark(r);
    outbox_prune(r);
    if (r->inflight != NULL) {
        r->again = 1;
        return;
    }
    /* Redis down: the backstop timer tries again; cache.c logs the outage */
    if (!cache_connected(r->cache))
        return;
    /* a write open across a loop turn: its rows are not committed yet */
    if (store_writing(r->st))
        return;
    outbox_note_distrust(r);
    outbox_batch *b;
    /* Rows known to be on disk go out at once; any others after a flush. */
    int err = outbox_batch_read(r, r->durable_seq, &b);
    if (err == 0 && b != NULL) {
        r->inflight = b;
        outbox_batch_send_script(b);
        return;
    }
    if (err == 0)
        outbox_maybe_trust(r);
    /* The rest: only when no commit's flush is awaited, since those bring
     * their rows (a backstop reading them now would wait for a flush of its
     * own, after the one they wait for). */
    if (err == 0 && (!any || r->commit_waits > 0))
        return;
    if (err == 0)
        err = outbox_batch_read(r, INT64_MAX, &b);
    if (err != 0)
        outbox_outage(r, err);
    else if (b != NULL)
        outbox_batch_send(r, b);
    else /* every committed event is out, with the invalidations it carries */
        cache_trust(r->cache);
}

static void outbox_publish_timer_cb(uv_timer_t *t)
{
    outbox_publish(t->data, 1);
}

static void outbox_handle_closed(uv_handle_t *h)
{
    outbox_relay *r = h->data;
    r->open_handles--;
    outbox_relay_maybe_closed(r);
}

/* The mark of what was published (see "Publishing"), or < 0. */
static int64_t outbox_read_mark(store *st)
{
    sqlite3_stmt *s = store_stmt(st, SQL_PUBLISHED);
    if (s == NULL)
        return -EIO;
    int rc = sqlite3_step(s);
    int64_t seq = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -EIO;
    sqlite3_reset(s);
    return seq;
}

int outbox_relay_start(uv_loop_t *loop, store *st, cache *c, const char *service, int interval_ms,
                       int retention_hours, outbox_relay **out)
{
    if (loop == NULL || st == NULL || service == NULL || service[0] == '\0' || interval_ms <= 0 ||
        retention_hours <= 0 || out == NULL)
        return -EINVAL;
    int64_t pending = outbox_pending(st);
    if (pending < 0)
        return (int)pending;
    int64_t published = outbox_read_mark(st);
    if (published < 0)
        return (int)published;
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
    r->retention_ms = (int64_t)retention_hours * 3600 * 1000;
    r->pending = pending;
    r->published = published;
    /* Events a crash left unpublished carry invalidations not made yet. */
    if (pending > 0 && c != NULL)
        cache_distrust(c);
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

int64_t outbox_relay_pending(const outbox_relay *r)
{
    return r ? r->pending : 0;
}

/* The flush that covers a committed event, waited for by the relay. */
typedef struct outbox_commit_wait {
    outbox_relay *r;
    int64_t seq; /* the newest row when the event was committed */
} outbox_commit_wait;

/* store_sync_cb: the rows up to w->seq are on disk: publish them now, in
 * the same loop turn as the writes' replies. A failed COMMIT or flush
 * leaves them to the usual publish, which waits for a flush of its own and
 * reports what fails. Called at once from outbox_relay_committed for a
 * store without flushes: the zero timer then publishes on the next turn,
 * out of the caller's write. */
static void outbox_on_commit_durable(void *arg, int rc)
{
    outbox_commit_wait *w = arg;
    outbox_relay *r = w->r;
    if (rc == 0 && w->seq > r->durable_seq)
        r->durable_seq = w->seq;
    int covered = r->inflight != NULL && r->inflight->items[r->inflight->n - 1].seq >= w->seq;
    free(w);
    r->commit_waits--;
    if (r->closing) {
        outbox_relay_maybe_closed(r);
        return;
    }
    if (covered)
        return;
    if (r->inflight != NULL)
        r->again = 1;
    else if (rc != 0 || r->committing)
        outbox_schedule(r);
    else
        outbox_publish(r, 0);
}

void outbox_relay_committed(outbox_relay *r)
{
    if (r == NULL || r->closing)
        return;
    r->pending++;
    outbox_commit_wait *w = malloc(sizeof *w);
    int64_t seq = w != NULL ? outbox_last_seq(r->st) : -ENOMEM;
    if (seq < 0) {
        free(w);
        outbox_schedule(r); /* the usual publish, after a flush of its own */
        return;
    }
    *w = (outbox_commit_wait){.r = r, .seq = seq};
    /* In a batch of writes this joins the flush the writes' replies wait
     * for (store_sync), so the event is published when they are answered,
     * not after a flush of its own that starts once theirs has ended. */
    r->committing = 1;
    r->commit_waits++;
    store_sync(r->st, outbox_on_commit_durable, w);
    r->committing = 0;
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
    outbox_write_mark(r);
    uv_close((uv_handle_t *)&r->backstop, outbox_handle_closed);
    uv_close((uv_handle_t *)&r->soon, outbox_handle_closed);
}
