/* test_outbox.c: the transactional outbox and its relay.
 *
 * Appending runs against SQLite only. The relay tests start a real
 * redis-server on a free 127.0.0.1 port in a temporary directory, publish
 * through the real cache.c, and read the stream back with a plain hiredis
 * client: entry ids, order, fields, the packed Event, cache invalidation,
 * a Redis outage (events wait, then all arrive once and in order) and a
 * re-publish after a lost "sent" mark. Waiting is always for a condition,
 * polled while the loop runs; the only fixed waits check that something does
 * NOT happen while Redis is down.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "compact/events/v1/events.pb-c.h"
#include "fault.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "outbox.h"
#include "store.h"

#define STREAM "compact:events:svc"
#define RELAY_INTERVAL_MS 50
#define RETENTION_HOURS 72
#define WAIT_LIMIT_MS 30000 /* a fuse against hanging, not an assertion of speed */

/* --- fixture: temp dir, loop, store, optional redis and cache --------------- */

typedef struct fixture {
    char dir[64];
    uv_loop_t loop;
    uv_timer_t tick; /* keeps uv_run(UV_RUN_ONCE) returning while we poll */
    store *st;
    pid_t redis_pid;
    int redis_port;
    cache *cache;
    outbox_relay *relay;
    int relay_closed;
    int cache_closed;
    int answered;      /* a write's store_sync called back with 0 */
    uv_async_t write;  /* see write_in_poll_phase */
    uv_timer_t writer; /* see test_relay_trusts_cache_under_steady_writes */
    int writes, trusted_at;
} fixture;

static void tick_cb(uv_timer_t *t)
{
    (void)t;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->dir, "/tmp/test_outbox.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_timer_init(&f->loop, &f->tick);
    uv_timer_start(&f->tick, tick_cb, 5, 5);
    assert_int_equal(store_open(f->dir, "svc", NULL, 0, &f->st), 0);
    assert_int_equal(outbox_migrate(f->st), 0);
    *state = f;
    return 0;
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
}

static int run_until(fixture *f, int (*cond)(fixture *f))
{
    uint64_t deadline = uv_now(&f->loop) + WAIT_LIMIT_MS;
    int ok;
    while (!(ok = cond(f)) && uv_now(&f->loop) < deadline)
        uv_run(&f->loop, UV_RUN_ONCE);
    return ok;
}

/* Runs the loop for about `ms`: only to show that nothing happens. */
static void run_for(fixture *f, uint64_t ms)
{
    uint64_t end = uv_now(&f->loop) + ms;
    while (uv_now(&f->loop) < end)
        uv_run(&f->loop, UV_RUN_ONCE);
}

static void relay_closed_cb(void *arg)
{
    ((fixture *)arg)->relay_closed++;
}

static void cache_closed_cb(void *arg)
{
    ((fixture *)arg)->cache_closed++;
}

static int all_closed(fixture *f)
{
    return f->relay_closed > 0 && f->cache_closed > 0;
}

static int relay_closed(fixture *f)
{
    return f->relay_closed > 0;
}

static void redis_stop(fixture *f);

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->relay != NULL)
        outbox_relay_close(f->relay, relay_closed_cb, f);
    else
        f->relay_closed = 1;
    if (f->cache != NULL)
        cache_close(f->cache, cache_closed_cb, f);
    else
        f->cache_closed = 1;
    assert_true(run_until(f, all_closed));
    assert_int_equal(f->relay_closed, 1);
    assert_int_equal(f->cache_closed, 1);
    store_close(f->st); /* before the loop ends: a store on the loop closes handles on it */
    if (f->write.loop != NULL && !uv_is_closing((uv_handle_t *)&f->write))
        uv_close((uv_handle_t *)&f->write, NULL); /* a test that failed before closing it */
    if (f->writer.loop != NULL && !uv_is_closing((uv_handle_t *)&f->writer))
        uv_close((uv_handle_t *)&f->writer, NULL);
    uv_close((uv_handle_t *)&f->tick, NULL);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0); /* no handle left behind */
    redis_stop(f);
    rm_dir(f->dir);
    free(f);
    return 0;
}

/* --- helpers: events ------------------------------------------------------- */

/* Appends one event whose state is a Timestamp carrying `n`, in its own
 * transaction. */
static void append_one(fixture *f, const char *aggregate_id, int64_t n, const char *cache_key)
{
    Google__Protobuf__Timestamp state = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    state.seconds = n;
    const char *keys[] = {cache_key};
    outbox_event ev = {
        .service = "svc",
        .aggregate_type = "entity",
        .aggregate_id = aggregate_id,
        .type = "entity.updated",
        .state = &state.base,
        .cache_keys = cache_key != NULL ? keys : NULL,
        .cache_keys_count = cache_key != NULL ? 1 : 0,
    };
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(outbox_append(f->st, &ev), 0);
    assert_int_equal(store_commit(f->st), 0);
}

static long long query_int(store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int is_hex32(const char *s)
{
    if (s == NULL || strlen(s) != 32)
        return 0;
    for (; *s != '\0'; s++) {
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    }
    return 1;
}

/* --- helpers: redis -------------------------------------------------------- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static redisContext *redis_client(fixture *f)
{
    struct timeval tv = {.tv_sec = 2};
    redisContext *rc = redisConnectWithTimeout("127.0.0.1", f->redis_port, tv);
    if (rc != NULL && rc->err) {
        redisFree(rc);
        return NULL;
    }
    return rc;
}

static int redis_pings(fixture *f)
{
    redisContext *rc = redis_client(f);
    if (rc == NULL)
        return 0;
    redisReply *r = redisCommand(rc, "PING");
    int ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    freeReplyObject(r);
    redisFree(rc);
    return ok;
}

/* Starts redis-server in the temp dir; it saves an RDB on SIGTERM, so a
 * restart keeps the stream, as a real deployment would. */
static void redis_start(fixture *f)
{
    if (f->redis_port == 0)
        f->redis_port = free_port();
    char port[16], logfile[128];
    snprintf(port, sizeof(port), "%d", f->redis_port);
    snprintf(logfile, sizeof(logfile), "%s/redis.log", f->dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphan server if the test crashes */
        execl("/usr/bin/redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
              "--dir", f->dir, "--save", "3600 1", "--appendonly", "no", "--logfile", logfile,
              "--daemonize", "no", (char *)NULL);
        _exit(127);
    }
    f->redis_pid = pid;
    struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};
    for (int i = 0; i < WAIT_LIMIT_MS / 20 && !redis_pings(f); i++)
        nanosleep(&pause, NULL);
    assert_true(redis_pings(f));
}

static void redis_stop(fixture *f)
{
    if (f->redis_pid <= 0)
        return;
    kill(f->redis_pid, SIGTERM);
    int status;
    waitpid(f->redis_pid, &status, 0);
    f->redis_pid = 0;
}

static int cache_up(fixture *f)
{
    return cache_connected(f->cache);
}

static int cache_down(fixture *f)
{
    return !cache_connected(f->cache);
}

static int nothing_pending(fixture *f)
{
    return outbox_pending(f->st) == 0;
}

/* Redis, the cache connected to it, and the relay with its backstop every
 * `interval_ms`. */
static void start_all_every(fixture *f, int interval_ms)
{
    redis_start(f);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", f->redis_port);
    cache_options opts = {.addr = addr, .timeout_ms = 1000, .ttl_seconds = 300, .ttl_jitter = 0.1};
    assert_int_equal(cache_new(&f->loop, &opts, &f->cache), 0);
    assert_true(run_until(f, cache_up));
    assert_int_equal(outbox_relay_start(&f->loop, f->st, f->cache, "svc", interval_ms,
                                        RETENTION_HOURS, &f->relay),
                     0);
}

static void start_all(fixture *f)
{
    start_all_every(f, RELAY_INTERVAL_MS);
}

static redisReply *xrange(fixture *f)
{
    redisContext *rc = redis_client(f);
    assert_non_null(rc);
    redisReply *r = redisCommand(rc, "XRANGE " STREAM " - +");
    redisFree(rc);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    return r;
}

static const redisReply *entry_field(const redisReply *entry, const char *name)
{
    const redisReply *kv = entry->element[1];
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        if (strcmp(kv->element[i]->str, name) == 0)
            return kv->element[i + 1];
    }
    fail_msg("field %s missing", name);
    return NULL;
}

/* Checks stream entry `e` against outbox row `seq`: id, readable fields and
 * the packed Event, whose state is the Timestamp the test appended. */
static void check_entry(fixture *f, const redisReply *e, int64_t seq, int64_t state_n)
{
    sqlite3_stmt *s = NULL;
    /* An id Redis assigned: "<ms>-<seq>". */
    unsigned long long ms, n;
    char tail;
    assert_int_equal(sscanf(e->element[0]->str, "%llu-%llu%c", &ms, &n, &tail), 2);

    assert_int_equal(sqlite3_prepare_v2(store_db(f->st),
                                        "SELECT event_id, aggregate_id, aggregate_seq,"
                                        " occur_time_ms FROM outbox WHERE seq = ?1",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(s, 1, seq);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);

    const redisReply *packed = entry_field(e, "event");
    Compact__Events__V1__Event *ev =
        compact__events__v1__event__unpack(NULL, packed->len, (const uint8_t *)packed->str);
    assert_non_null(ev);
    assert_string_equal(ev->event_id, sqlite3_column_text(s, 0));
    assert_true(is_hex32(ev->event_id));
    assert_string_equal(ev->service, "svc");
    assert_string_equal(ev->aggregate_type, "entity");
    assert_string_equal(ev->aggregate_id, sqlite3_column_text(s, 1));
    assert_int_equal(ev->aggregate_sequence, sqlite3_column_int64(s, 2));
    assert_string_equal(ev->type, "entity.updated");
    assert_non_null(ev->occur_time);
    assert_int_equal(ev->occur_time->seconds * 1000 + ev->occur_time->nanos / 1000000,
                     sqlite3_column_int64(s, 3));
    assert_string_equal(ev->state_type, "google.protobuf.Timestamp");
    Google__Protobuf__Timestamp *st =
        google__protobuf__timestamp__unpack(NULL, ev->state.len, ev->state.data);
    assert_non_null(st);
    assert_int_equal(st->seconds, state_n);
    google__protobuf__timestamp__free_unpacked(st, NULL);

    assert_string_equal(entry_field(e, "type")->str, "entity.updated");
    assert_string_equal(entry_field(e, "event_id")->str, sqlite3_column_text(s, 0));
    assert_string_equal(entry_field(e, "aggregate_id")->str, sqlite3_column_text(s, 1));
    char agg_seq[24];
    snprintf(agg_seq, sizeof(agg_seq), "%lld", (long long)sqlite3_column_int64(s, 2));
    assert_string_equal(entry_field(e, "aggregate_seq")->str, agg_seq);
    compact__events__v1__event__free_unpacked(ev, NULL);
    sqlite3_finalize(s);
}

/* The stream holds exactly n entries, for outbox rows 1 .. n in order, event
 * i carrying i. */
static void check_stream(fixture *f, int n)
{
    redisReply *r = xrange(f);
    assert_int_equal(r->elements, n);
    for (int i = 0; i < n; i++)
        check_entry(f, r->element[i], i + 1, i + 1);
    freeReplyObject(r);
}

/* --- appending ------------------------------------------------------------- */

static void test_append_sequences_and_ids(void **state)
{
    fixture *f = *state;
    const char *aggs[] = {"a", "a", "b", "a", "b", "c"};
    const int want_seq[] = {1, 2, 1, 3, 2, 1};
    int64_t before = (int64_t)time(NULL) * 1000 - 1000;
    assert_int_equal(store_begin(f->st), 0);
    for (int i = 0; i < 6; i++) {
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        ts.seconds = 100 + i;
        const char *keys[] = {"compact:svc:entity:x", "compact:svc:list:all"};
        outbox_event ev = {.service = "svc",
                           .aggregate_type = "entity",
                           .aggregate_id = aggs[i],
                           .type = "entity.updated",
                           .state = &ts.base,
                           .cache_keys = keys,
                           .cache_keys_count = 2};
        assert_int_equal(outbox_append(f->st, &ev), 0);
    }
    assert_int_equal(store_commit(f->st), 0);
    int64_t after = (int64_t)time(NULL) * 1000 + 1000;

    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db(f->st),
                                        "SELECT seq, event_id, aggregate_id, aggregate_seq,"
                                        " state_type, state, cache_keys, occur_time_ms,"
                                        " service FROM outbox ORDER BY seq",
                                        -1, &s, NULL),
                     SQLITE_OK);
    char ids[6][33];
    for (int i = 0; i < 6; i++) {
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(s, 0), i + 1);
        const char *id = (const char *)sqlite3_column_text(s, 1);
        assert_true(is_hex32(id));
        strcpy(ids[i], id);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ids[j], id);
        assert_string_equal(sqlite3_column_text(s, 2), aggs[i]);
        assert_int_equal(sqlite3_column_int(s, 3), want_seq[i]);
        assert_string_equal(sqlite3_column_text(s, 4), "google.protobuf.Timestamp");
        Google__Protobuf__Timestamp *ts = google__protobuf__timestamp__unpack(
            NULL, (size_t)sqlite3_column_bytes(s, 5), sqlite3_column_blob(s, 5));
        assert_non_null(ts);
        assert_int_equal(ts->seconds, 100 + i);
        google__protobuf__timestamp__free_unpacked(ts, NULL);
        assert_string_equal(sqlite3_column_text(s, 6),
                            "[\"compact:svc:entity:x\",\"compact:svc:list:all\"]");
        assert_true(sqlite3_column_int64(s, 7) >= before);
        assert_true(sqlite3_column_int64(s, 7) <= after);
        assert_string_equal(sqlite3_column_text(s, 8), "svc");
    }
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    assert_int_equal(outbox_pending(f->st), 6);
}

static void test_append_needs_transaction_and_fields(void **state)
{
    fixture *f = *state;
    outbox_event ev = {.service = "svc",
                       .aggregate_type = "entity",
                       .aggregate_id = "a",
                       .type = "entity.deleted"};
    assert_int_equal(outbox_append(f->st, &ev), -EINVAL); /* no transaction */

    assert_int_equal(store_begin(f->st), 0);
    outbox_event no_type = ev;
    no_type.type = NULL;
    assert_int_equal(outbox_append(f->st, &no_type), -EINVAL);
    outbox_event no_id = ev;
    no_id.aggregate_id = "";
    assert_int_equal(outbox_append(f->st, &no_id), -EINVAL);
    /* no state: an empty blob, not NULL */
    assert_int_equal(outbox_append(f->st, &ev), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(query_int(f->st, "SELECT length(state) FROM outbox"), 0);
    assert_int_equal(query_int(f->st, "SELECT cache_keys IS NULL FROM outbox"), 1);
    assert_int_equal(outbox_pending(f->st), 1);
}

static void test_rollback_leaves_no_event(void **state)
{
    fixture *f = *state;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    outbox_event ev = {.service = "svc",
                       .aggregate_type = "entity",
                       .aggregate_id = "a",
                       .type = "entity.created",
                       .state = &ts.base};
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(outbox_append(f->st, &ev), 0);
    assert_int_equal(outbox_append(f->st, &ev), 0);
    store_rollback(f->st);
    assert_int_equal(outbox_pending(f->st), 0);
    assert_int_equal(query_int(f->st, "SELECT count(*) FROM outbox"), 0);

    /* the aggregate's counter rolled back too */
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(outbox_append(f->st, &ev), 0);
    assert_int_equal(store_commit(f->st), 0);
    assert_int_equal(query_int(f->st, "SELECT aggregate_seq FROM outbox"), 1);

    /* a later rolled-back append leaves the committed event alone */
    assert_int_equal(store_begin(f->st), 0);
    assert_int_equal(outbox_append(f->st, &ev), 0);
    store_rollback(f->st);
    assert_int_equal(outbox_pending(f->st), 1);
}

static void test_pending_counts_unsent(void **state)
{
    fixture *f = *state;
    assert_int_equal(outbox_pending(f->st), 0);
    for (int i = 1; i <= 5; i++)
        append_one(f, "a", i, NULL);
    assert_int_equal(outbox_pending(f->st), 5);
    assert_int_equal(
        sqlite3_exec(store_db(f->st), "UPDATE outbox_published SET seq = 2", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(outbox_pending(f->st), 3);
}

/* Takes the store back to runtime migration 3, before the mark: each row
 * was marked sent on its own (sent_at_ms), with an index of the unsent. */
static void back_to_migration_3(fixture *f)
{
    assert_int_equal(sqlite3_exec(store_db(f->st),
                                  "DROP TABLE outbox_published;"
                                  "CREATE INDEX outbox_unsent ON outbox(seq)"
                                  " WHERE sent_at_ms IS NULL;"
                                  "DELETE FROM schema_migrations WHERE component = 'runtime'"
                                  " AND version = 4;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
}

/* An outbox from before the mark gets one below its first unsent row:
 * nothing unsent is skipped, and what lies between goes out again (a no-op
 * for Redis, by the "seen" keys). With every row sent, the mark is the
 * last seq ever used, even when every row was pruned. */
static void test_mark_starts_below_the_first_unsent_row(void **state)
{
    fixture *f = *state;
    back_to_migration_3(f);
    for (int i = 1; i <= 6; i++)
        append_one(f, "a", i, NULL);
    assert_int_equal(sqlite3_exec(store_db(f->st),
                                  "UPDATE outbox SET sent_at_ms = 1 WHERE seq IN (1, 2, 4)", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(outbox_migrate(f->st), 0);
    assert_int_equal(query_int(f->st, "SELECT seq FROM outbox_published"), 2);
    assert_int_equal(outbox_pending(f->st), 4);

    back_to_migration_3(f);
    assert_int_equal(sqlite3_exec(store_db(f->st),
                                  "UPDATE outbox SET sent_at_ms = 1;"
                                  "DELETE FROM outbox;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(outbox_migrate(f->st), 0);
    assert_int_equal(query_int(f->st, "SELECT seq FROM outbox_published"), 6);
    assert_int_equal(outbox_pending(f->st), 0);
    append_one(f, "a", 7, NULL);
    assert_int_equal(outbox_pending(f->st), 1);
}

/* --- the relay without Redis ----------------------------------------------- */

static void count_cb(void *arg)
{
    (*(int *)arg)++;
}

static void test_relay_close_null(void **state)
{
    int calls = 0;
    outbox_relay_close(NULL, count_cb, &calls);
    assert_int_equal(calls, 1);
}

static void test_relay_without_cache_waits(void **state)
{
    fixture *f = *state;
    assert_int_equal(outbox_relay_start(&f->loop, f->st, NULL, "svc", RELAY_INTERVAL_MS,
                                        RETENTION_HOURS, &f->relay),
                     0);
    append_one(f, "a", 1, NULL);
    outbox_relay_committed(f->relay);
    run_for(f, 5 * RELAY_INTERVAL_MS);
    assert_int_equal(outbox_pending(f->st), 1);
    assert_int_equal(
        outbox_relay_start(&f->loop, f->st, NULL, "", 10, RETENTION_HOURS, &(outbox_relay *){0}),
        -EINVAL);
}

/* --- the relay with Redis -------------------------------------------------- */

static void test_relay_publishes_in_order(void **state)
{
    fixture *f = *state;
    for (int i = 1; i <= 3; i++) /* written before the relay starts: a restart */
        append_one(f, i == 2 ? "b" : "a", i, NULL);
    start_all(f);
    assert_true(run_until(f, nothing_pending));
    check_stream(f, 3);

    /* an event's cache keys are deleted with its XADD */
    redisContext *rc = redis_client(f);
    assert_non_null(rc);
    freeReplyObject(redisCommand(rc, "SET compact:svc:entity:a stale"));
    append_one(f, "a", 4, "compact:svc:entity:a");
    outbox_relay_committed(f->relay);
    assert_true(run_until(f, nothing_pending));
    redisReply *r = redisCommand(rc, "EXISTS compact:svc:entity:a");
    assert_non_null(r);
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    redisFree(rc);

    /* more than one batch, kicked many times: all once, in order */
    for (int i = 5; i <= 150; i++) {
        append_one(f, i % 3 == 0 ? "c" : "d", i, NULL);
        outbox_relay_committed(f->relay);
    }
    assert_true(run_until(f, nothing_pending));
    check_stream(f, 150);
    assert_int_equal(query_int(f->st, "SELECT seq FROM outbox_published"), 150);
}

/* The store again, as a service has it: flushes on the loop's thread pool,
 * each slowed to 300 ms by the store.sync_delay_ms fault point; then Redis,
 * the cache and the relay, whose backstop is set far off (its publish would
 * ask for a flush of its own). */
static void start_slow_flushes(fixture *f)
{
    store_close(f->st);
    setenv("COMPACT_FAULTS", "store.sync_delay_ms=300", 1);
    assert_int_equal(fault_init(), 0);
    assert_int_equal(store_open(f->dir, "svc", NULL, 0, &f->st), 0);
    unsetenv("COMPACT_FAULTS");
    assert_int_equal(fault_init(), 0);
    assert_int_equal(outbox_migrate(f->st), 0);
    store_use_loop(f->st, &f->loop);
    start_all_every(f, 60000);
}

static void on_answered(void *arg, int rc)
{
    ((fixture *)arg)->answered = rc == 0;
}

/* A write as a handler makes it (txn.c), in the loop's poll phase as a
 * call's callback runs: released into the turn's batch (committed at the
 * end of the turn), the relay told, the reply waiting for the flush. */
static void write_in_poll_phase(uv_async_t *a)
{
    fixture *f = a->data;
    append_one(f, "a", 1, NULL);
    outbox_relay_committed(f->relay);
    store_sync(f->st, on_answered, f);
}

/* With flushes on the loop's thread pool, as in a service: an event goes out
 * with the flush its write's reply waits for. Not before it (the flush is
 * slowed to 300 ms by the store.sync_delay_ms fault point: the stream stays
 * empty meanwhile), and not after a second flush of the relay's own, which
 * it would need if it read the event after the turn's COMMIT had started
 * the writes' flush: one flush serves both. */
static void test_relay_publishes_with_the_writes_flush(void **state)
{
    fixture *f = *state;
    start_slow_flushes(f);
    uint64_t flushes = store_flushes(f->st);

    assert_int_equal(uv_async_init(&f->loop, &f->write, write_in_poll_phase), 0);
    f->write.data = f;
    assert_int_equal(uv_async_send(&f->write), 0);
    run_for(f, 150);
    assert_int_equal(query_int(f->st, "SELECT count(*) FROM outbox"), 1);
    assert_int_equal(f->answered, 0);
    check_stream(f, 0);

    assert_true(run_until(f, nothing_pending));
    assert_int_equal(f->answered, 1);
    check_stream(f, 1);
    assert_int_equal(store_flushes(f->st) - flushes, 1);
    uv_close((uv_handle_t *)&f->write, NULL);
}

static void ignore_sync(void *arg, int rc)
{
    (void)arg;
    (void)rc;
}

/* Every 100 ms one more write, as a handler makes it, until 20 are made;
 * notes the first write that finds the cache trusted. */
static void write_every_100ms(uv_timer_t *t)
{
    fixture *f = t->data;
    if (f->writes > 0 && f->trusted_at == 0 && cache_trusted(f->cache))
        f->trusted_at = f->writes;
    if (f->writes == 20) {
        uv_timer_stop(t);
        return;
    }
    f->writes++;
    append_one(f, "w", f->writes, NULL);
    outbox_relay_committed(f->relay);
    store_sync(f->st, ignore_sync, f);
}

static int writes_done(fixture *f)
{
    return f->writes == 20 && !uv_is_active((uv_handle_t *)&f->writer);
}

/* A lost invalidation makes the cache untrusted until the events of the
 * writes made before it are out. Under steady writes, flushes of 300 ms and
 * one write every 100 ms, some write always waits for its flush and unsent
 * rows never run out: the cache must be trusted again all the same, while
 * the writes go on, not only once they stop. */
static void test_relay_trusts_cache_under_steady_writes(void **state)
{
    fixture *f = *state;
    start_slow_flushes(f);
    run_for(f, 50); /* the relay's first publish: nothing to send */

    cache_distrust(f->cache); /* as a DEL that failed would */
    uv_timer_init(&f->loop, &f->writer);
    f->writer.data = f;
    uv_timer_start(&f->writer, write_every_100ms, 0, 100);
    assert_true(run_until(f, writes_done));
    assert_true(f->trusted_at > 0);
    assert_true(f->trusted_at < 20);
    assert_true(run_until(f, nothing_pending));
    check_stream(f, 20);
    uv_close((uv_handle_t *)&f->writer, NULL);
}

static void test_relay_waits_out_redis_outage(void **state)
{
    fixture *f = *state;
    start_all(f);
    for (int i = 1; i <= 3; i++)
        append_one(f, "a", i, NULL);
    outbox_relay_committed(f->relay);
    assert_true(run_until(f, nothing_pending));

    redis_stop(f);
    assert_true(run_until(f, cache_down));
    for (int i = 4; i <= 10; i++) {
        append_one(f, "a", i, NULL);
        outbox_relay_committed(f->relay);
    }
    run_for(f, 10 * RELAY_INTERVAL_MS); /* several backstop ticks with Redis gone */
    assert_int_equal(outbox_pending(f->st), 7);

    redis_start(f); /* same port, same dir: the stream comes back from its RDB */
    assert_true(run_until(f, nothing_pending));
    check_stream(f, 10);
}

static void test_relay_republish_counts_as_delivered(void **state)
{
    fixture *f = *state;
    start_all(f);
    for (int i = 1; i <= 5; i++)
        append_one(f, "a", i, NULL);
    outbox_relay_committed(f->relay);
    assert_true(run_until(f, nothing_pending));
    check_stream(f, 5);

    /* a crash between Redis's acknowledgement and our mark: the relay
     * starts again from an older one */
    outbox_relay_close(f->relay, relay_closed_cb, f);
    assert_true(run_until(f, relay_closed));
    f->relay_closed = 0;
    assert_int_equal(
        sqlite3_exec(store_db(f->st), "UPDATE outbox_published SET seq = 2", NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(outbox_pending(f->st), 3);
    assert_int_equal(outbox_relay_start(&f->loop, f->st, f->cache, "svc", RELAY_INTERVAL_MS,
                                        RETENTION_HOURS, &f->relay),
                     0);
    assert_true(run_until(f, nothing_pending));
    check_stream(f, 5); /* not added twice */

    append_one(f, "a", 6, NULL);
    outbox_relay_committed(f->relay);
    assert_true(run_until(f, nothing_pending));
    check_stream(f, 6);
}

/* A stream that already holds a larger id than any we would make (a clock
 * stepped back, a database made anew or restored from a backup): every new
 * event is still added, after it, in order. Stream ids decide nothing. */
static void test_relay_ignores_larger_ids(void **state)
{
    fixture *f = *state;
    start_all(f);
    redisContext *rc = redis_client(f);
    assert_non_null(rc);
    freeReplyObject(redisCommand(rc, "XADD " STREAM " 99999999999999-5 foreign entry"));
    for (int i = 1; i <= 3; i++) {
        append_one(f, "a", i, NULL);
        outbox_relay_committed(f->relay);
    }
    assert_true(run_until(f, nothing_pending));
    redisReply *r = xrange(f);
    assert_int_equal(r->elements, 4);
    assert_string_equal(r->element[0]->element[0]->str, "99999999999999-5");
    for (int i = 1; i <= 3; i++)
        check_entry(f, r->element[i], i, i);
    freeReplyObject(r);
    redisFree(rc);
}

static int five_rows_left(fixture *f)
{
    return query_int(f->st, "SELECT count(*) FROM outbox") == 5;
}

static int one_row_left(fixture *f)
{
    return query_int(f->st, "SELECT count(*) FROM outbox") == 1;
}

/* Published rows older than the retention are pruned, the oldest slice at
 * a time; a row not yet published stays, however old, and pruning goes on
 * while Redis is down. */
static void test_relay_prunes_published_rows_past_the_retention(void **state)
{
    fixture *f = *state;
    for (int i = 1; i <= 305; i++)
        append_one(f, "a", i, NULL);
    assert_int_equal(sqlite3_exec(store_db(f->st),
                                  "UPDATE outbox SET occur_time_ms = 1 WHERE seq <= 300", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    start_all(f);
    assert_true(run_until(f, nothing_pending));
    assert_true(run_until(f, five_rows_left)); /* two slices: 256, then 44 */
    assert_int_equal(query_int(f->st, "SELECT min(seq) FROM outbox"), 301);

    redis_stop(f);
    assert_true(run_until(f, cache_down));
    append_one(f, "a", 306, NULL);
    assert_int_equal(
        sqlite3_exec(store_db(f->st), "UPDATE outbox SET occur_time_ms = 1", NULL, NULL, NULL),
        SQLITE_OK);
    outbox_relay_committed(f->relay);
    assert_true(run_until(f, one_row_left)); /* the published ones, while Redis is down */
    assert_int_equal(query_int(f->st, "SELECT min(seq) FROM outbox"), 306);
    redis_start(f);
    assert_true(run_until(f, nothing_pending));
}

/* The pending count the metrics read is kept without a query and agrees
 * with the store's own count as events are committed and published. */
static void test_relay_counts_pending(void **state)
{
    fixture *f = *state;
    for (int i = 1; i <= 3; i++) /* before the relay: counted once at its start */
        append_one(f, "a", i, NULL);
    start_all(f);
    assert_int_equal(outbox_relay_pending(f->relay), 3);
    assert_true(run_until(f, nothing_pending));
    assert_int_equal(outbox_relay_pending(f->relay), 0);
    redis_stop(f);
    assert_true(run_until(f, cache_down));
    for (int i = 4; i <= 9; i++) {
        append_one(f, "a", i, NULL);
        outbox_relay_committed(f->relay);
    }
    run_for(f, 4 * RELAY_INTERVAL_MS);
    assert_int_equal(outbox_relay_pending(f->relay), 6);
    assert_int_equal(outbox_pending(f->st), 6);
    redis_start(f);
    assert_true(run_until(f, nothing_pending));
    assert_int_equal(outbox_relay_pending(f->relay), 0);
    check_stream(f, 9);
}

/* Redis refuses the XADD (the stream key holds a string): nothing is marked
 * sent, and once the key is fixed every event arrives, in order. */
static void test_relay_redis_error_keeps_events(void **state)
{
    fixture *f = *state;
    start_all(f);
    redisContext *rc = redis_client(f);
    assert_non_null(rc);
    freeReplyObject(redisCommand(rc, "SET " STREAM " not-a-stream"));
    for (int i = 1; i <= 4; i++) {
        append_one(f, "a", i, NULL);
        outbox_relay_committed(f->relay);
    }
    run_for(f, 10 * RELAY_INTERVAL_MS); /* several attempts, all refused */
    assert_int_equal(outbox_pending(f->st), 4);

    freeReplyObject(redisCommand(rc, "DEL " STREAM));
    redisFree(rc);
    assert_true(run_until(f, nothing_pending)); /* the backstop timer retries */
    check_stream(f, 4);
}

static int some_sent(fixture *f)
{
    return outbox_pending(f->st) < 500;
}

static void test_relay_close_with_batch_in_flight(void **state)
{
    fixture *f = *state;
    for (int i = 1; i <= 500; i++)
        append_one(f, "a", i, NULL);
    start_all(f);
    assert_true(run_until(f, some_sent));
    /* teardown closes relay and cache at once: each callback runs once and
     * the loop ends with no handle left, whatever was in flight */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_sequences_and_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_needs_transaction_and_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_leaves_no_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_counts_unsent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_starts_below_the_first_unsent_row, setup,
                                        teardown),
        cmocka_unit_test(test_relay_close_null),
        cmocka_unit_test_setup_teardown(test_relay_without_cache_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_publishes_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_publishes_with_the_writes_flush, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_relay_trusts_cache_under_steady_writes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_relay_waits_out_redis_outage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_republish_counts_as_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_ignores_larger_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_counts_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_prunes_published_rows_past_the_retention, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_relay_redis_error_keeps_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_close_with_batch_in_flight, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
