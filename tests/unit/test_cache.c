/* test_cache.c: the Redis cache against a real redis-server started on a free
 * 127.0.0.1 port in a temporary directory: get/set/miss, TTL jitter, key
 * formatting, GET coalescing, read-through, Redis down at start, Redis
 * killed and restarted, command timeouts (SIGSTOP), the redis.delay_ms
 * fault, stream adds in MULTI/EXEC, reads in a consumer group (XREADGROUP,
 * with and without a block time), and cache_close with work pending.
 *
 * A plain synchronous hiredis connection inspects the server from the side.
 * Every test ends by closing the cache and asserting that the loop closes
 * with no handle left (uv_loop_close() == 0); waits poll for conditions with
 * a generous safety deadline, never for a fixed time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "cache.h"
#include "fault.h"

#define WAIT_LIMIT_NS (30ull * 1000 * 1000 * 1000) /* safety net per wait */

/* ---- a redis-server of our own ------------------------------------------ */

typedef struct server {
    pid_t pid;
    int port;
    char dir[64];
} server;

static server main_srv;

static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        abort();
    close(fd);
    return ntohs(sa.sin_port);
}

static redisContext *sync_connect(int port)
{
    struct timeval tv = {.tv_sec = 2};
    redisContext *rc = redisConnectWithTimeout("127.0.0.1", port, tv);

    if (rc && rc->err) {
        redisFree(rc);
        return NULL;
    }
    if (rc)
        redisSetTimeout(rc, tv);
    return rc;
}

/* One command on a fresh synchronous connection; NULL if Redis is away. */
static redisReply *sync_cmd(int port, const char *fmt, ...)
{
    redisContext *rc = sync_connect(port);
    redisReply *r = NULL;
    va_list ap;

    if (!rc)
        return NULL;
    va_start(ap, fmt);
    r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    redisFree(rc);
    return r;
}

static long long sync_int(int port, const char *fmt, const char *arg)
{
    redisReply *r = sync_cmd(port, fmt, arg);
    long long v;

    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    v = r->integer;
    freeReplyObject(r);
    return v;
}

static void server_start(server *s)
{
    char port[16];
    uint64_t limit = uv_hrtime() + WAIT_LIMIT_NS;
    redisReply *r;

    if (s->dir[0] == '\0') {
        strcpy(s->dir, "/tmp/test_cache.XXXXXX");
        assert_non_null(mkdtemp(s->dir));
    }
    snprintf(port, sizeof(port), "%d", s->port);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (chdir(s->dir) != 0)
            _exit(126);
        dup2(null, 1);
        dup2(null, 2);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--daemonize", "no", (char *)NULL);
        _exit(127);
    }
    while ((r = sync_cmd(s->port, "PING")) == NULL) {
        assert_true(uv_hrtime() < limit);
        usleep(10000); /* the server is another process: nothing to poll on */
    }
    freeReplyObject(r);
}

static void server_stop(server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

static void server_remove_dir(server *s)
{
    char path[128];

    if (s->dir[0] == '\0')
        return;
    snprintf(path, sizeof(path), "%s/dump.rdb", s->dir);
    unlink(path);
    rmdir(s->dir);
    s->dir[0] = '\0';
}

static int group_setup(void **state)
{
    main_srv.port = free_port();
    server_start(&main_srv);
    return 0;
}

static int group_teardown(void **state)
{
    server_stop(&main_srv);
    server_remove_dir(&main_srv);
    return 0;
}

/* ---- the loop ----------------------------------------------------------- */

static uv_loop_t loop;
static uv_timer_t tick; /* keeps UV_RUN_ONCE from blocking for long */

static void on_tick(uv_timer_t *t)
{
}

static int loop_setup(void **state)
{
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 5, 5);
    if (main_srv.pid > 0)
        kill(main_srv.pid, SIGCONT);
    return 0;
}

static int loop_teardown(void **state)
{
    unsetenv("COMPACT_FAULTS");
    fault_init();
    uv_close((uv_handle_t *)&tick, NULL);
    /* bounded: after a failed test a cache may still be open, and the
     * test should fail here rather than hang */
    for (int i = 0; i < 100 && uv_run(&loop, UV_RUN_NOWAIT) != 0; i++)
        ;
    return uv_loop_close(&loop) == 0 ? 0 : -1;
}

static uint64_t wait_limit;

static void wait_begin(void)
{
    wait_limit = uv_hrtime() + WAIT_LIMIT_NS;
}

/* One loop iteration; fails the test past the safety deadline. */
static void spin(void)
{
    if (uv_hrtime() > wait_limit)
        fail_msg("condition not reached in time");
    uv_run(&loop, UV_RUN_ONCE);
}

/* ---- callbacks that record -------------------------------------------- */

typedef struct got {
    int calls;
    int rc;
    size_t len;
    char value[256];
} got;

static void on_get(void *arg, int rc, const void *value, size_t len)
{
    got *g = arg;

    g->calls++;
    g->rc = rc;
    g->len = len;
    if (rc == 0) {
        assert_true(len < sizeof(g->value));
        memcpy(g->value, value, len);
        g->value[len] = '\0';
    }
}

static void on_done(void *arg, int rc)
{
    got *g = arg;

    g->calls++;
    g->rc = rc;
}

static void wait_calls(const int *calls, int n)
{
    wait_begin();
    while (*calls < n)
        spin();
}

static void on_closed(void *arg)
{
    (*(int *)arg)++;
}

static cache *open_cache(const char *addr, int timeout_ms, int wait_connected)
{
    cache_options o = {
        .addr = addr, .timeout_ms = timeout_ms, .ttl_seconds = 300, .ttl_jitter = 0.1};
    cache *c = NULL;

    assert_int_equal(cache_new(&loop, &o, &c), 0);
    assert_non_null(c);
    wait_begin();
    while (wait_connected && !cache_connected(c))
        spin();
    return c;
}

/* A script adding one entry with field k = ARGV[1] to stream KEYS[1]. */
static const char xadd_script[] = "return redis.call('XADD', KEYS[1], '*', 'k', ARGV[1])";

static void eval_xadd(cache *c, const char *stream, const char *value, got *d)
{
    cache_arg arg = {value, strlen(value)};

    cache_eval(c, xadd_script, &stream, 1, &arg, 1, on_done, d);
}

static cache *open_main(int timeout_ms)
{
    char addr[64];

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", main_srv.port);
    return open_cache(addr, timeout_ms, 1);
}

static void close_cache(cache *c)
{
    int closed = 0;

    cache_close(c, on_closed, &closed);
    wait_calls(&closed, 1);
    assert_int_equal(closed, 1);
}

/* GET through the cache and wait for the answer. */
static got get_now(cache *c, const char *key)
{
    got g = {0};

    cache_get(c, key, on_get, &g);
    assert_int_equal(g.calls, 0); /* never inside cache_get */
    wait_calls(&g.calls, 1);
    return g;
}

/* cache_set is fire and forget; a GET after it on the one connection sees
 * it, so waiting for that GET waits for the SET. */
static void set_now(cache *c, const char *key, const char *value)
{
    got g;

    cache_set(c, key, value, strlen(value));
    g = get_now(c, key);
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.value, value);
}

/* ---- pure functions ------------------------------------------------------ */

static void test_key_format(void **state)
{
    char buf[64];

    assert_int_equal(cache_key(buf, sizeof(buf), "membership", "entity", "42"), 28);
    assert_string_equal(buf, "compact:membership:entity:42");
    /* exactly fits: 28 characters and the NUL */
    assert_int_equal(cache_key(buf, 29, "membership", "entity", "42"), 28);
    assert_int_equal(cache_key(buf, 28, "membership", "entity", "42"), -ENAMETOOLONG);
    assert_int_equal(cache_key(buf, 0, "a", "b", "c"), -ENAMETOOLONG);
    assert_int_equal(cache_key(NULL, 0, "a", "b", "c"), -ENAMETOOLONG);
    assert_int_equal(cache_key(buf, sizeof(buf), NULL, "b", "c"), -EINVAL);
}

static void test_ttl_jitter(void **state)
{
    int seen_lo = 400, seen_hi = 0;

    for (int i = 0; i < 2000; i++) {
        int t = cache_ttl_with_jitter(300, 0.1);
        assert_in_range(t, 270, 330);
        seen_lo = t < seen_lo ? t : seen_lo;
        seen_hi = t > seen_hi ? t : seen_hi;
    }
    /* spread over the range, not one value */
    assert_true(seen_lo < 280 && seen_hi > 320);
    assert_int_equal(cache_ttl_with_jitter(300, 0), 300);
    for (int i = 0; i < 200; i++) {
        assert_in_range(cache_ttl_with_jitter(10, 0.5), 5, 15);
        assert_in_range(cache_ttl_with_jitter(1, 1.0), 1, 2);
        assert_in_range(cache_ttl_with_jitter(0, 0.1), 1, 1);
    }
}

static void test_bad_options(void **state)
{
    const char *bad[] = {"",     "localhost", "localhost:", ":6379", "h:0",  "h:65536", "h:12a",
                         "h: 1", "h:-1",      "::1:6379",   "a b:1", "[]:1", "h:123456"};
    cache_options o = {0};
    cache *c = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.addr = bad[i];
        assert_int_equal(cache_new(&loop, &o, &c), -EINVAL);
        assert_null(c);
    }
    o.addr = NULL;
    assert_int_equal(cache_new(&loop, &o, &c), -EINVAL);
    o.addr = "127.0.0.1:1";
    o.timeout_ms = -1;
    assert_int_equal(cache_new(&loop, &o, &c), -EINVAL);
    o.timeout_ms = 0;
    o.ttl_jitter = 1.5;
    assert_int_equal(cache_new(&loop, &o, &c), -EINVAL);
}

/* ---- against a running server ------------------------------------------- */

static void test_set_get_miss(void **state)
{
    cache *c = open_main(2000);
    cache_stats st;
    got g;

    cache_set(c, "t:bin", "a\0b", 3);
    g = get_now(c, "t:bin");
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.len, 3);
    assert_memory_equal(g.value, "a\0b", 3);
    g = get_now(c, "t:absent");
    assert_int_equal(g.rc, -ENOENT);
    assert_int_equal(g.len, 0);
    cache_get_stats(c, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.errors, 0);
    /* a key of another type is an error, not a miss */
    freeReplyObject(sync_cmd(main_srv.port, "RPUSH t:list x"));
    g = get_now(c, "t:list");
    assert_int_equal(g.rc, -EIO);
    const char *keys[] = {"t:bin", "t:list"};
    cache_del(c, keys, 2);
    g = get_now(c, "t:bin");
    assert_int_equal(g.rc, -ENOENT);
    close_cache(c);
}

static void test_ttl_in_redis(void **state)
{
    cache *c = open_main(2000);
    char key[32];
    long long first = -1;
    int differ = 0;

    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "t:ttl:%d", i);
        cache_set(c, key, "v", 1);
    }
    set_now(c, "t:ttl:last", "v");
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "t:ttl:%d", i);
        long long ttl = sync_int(main_srv.port, "TTL %s", key);
        assert_in_range(ttl, 268, 330); /* 270..330, a second or two may pass */
        if (first < 0)
            first = ttl;
        differ |= ttl != first;
    }
    assert_true(differ);
    close_cache(c);
}

static long long get_calls(void)
{
    redisReply *r = sync_cmd(main_srv.port, "INFO commandstats");
    const char *p;
    long long n = 0;

    assert_non_null(r);
    p = strstr(r->str, "cmdstat_getrange:calls=");
    if (p)
        n = atoll(p + strlen("cmdstat_getrange:calls="));
    freeReplyObject(r);
    return n;
}

static void test_get_coalesced(void **state)
{
    cache *c = open_main(2000);
    got g[10] = {{0}};
    cache_stats before, after;
    int total = 0;

    set_now(c, "t:co", "shared");
    freeReplyObject(sync_cmd(main_srv.port, "CONFIG RESETSTAT"));
    cache_get_stats(c, &before);
    for (int i = 0; i < 10; i++)
        cache_get(c, "t:co", on_get, &g[i]);
    for (int i = 0; i < 10; i++)
        assert_int_equal(g[i].calls, 0);
    wait_begin();
    while (total < 10) {
        spin();
        total = 0;
        for (int i = 0; i < 10; i++)
            total += g[i].calls;
    }
    for (int i = 0; i < 10; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].rc, 0);
        assert_string_equal(g[i].value, "shared");
    }
    cache_get_stats(c, &after);
    assert_int_equal(after.coalesced - before.coalesced, 9);
    assert_int_equal(after.hits - before.hits, 10);
    assert_int_equal(get_calls(), 1);
    /* the flight is over: the next get asks Redis again */
    assert_int_equal(get_now(c, "t:co").rc, 0);
    assert_int_equal(get_calls(), 2);
    close_cache(c);
}

/* A get made after a write must not ride on a GET sent before it: it could
 * read the value from before the write. */
static void test_write_ends_coalescing(void **state)
{
    cache *c = open_main(2000);
    got before_write = {0}, after_write = {0};
    const char *keys[] = {"t:wc"};
    cache_stats s0, s1;

    set_now(c, "t:wc", "old");
    freeReplyObject(sync_cmd(main_srv.port, "CONFIG RESETSTAT"));
    cache_get_stats(c, &s0);
    cache_get(c, "t:wc", on_get, &before_write);
    cache_del(c, keys, 1);
    cache_get(c, "t:wc", on_get, &after_write);
    wait_begin();
    while (before_write.calls + after_write.calls < 2)
        spin();
    cache_get_stats(c, &s1);
    assert_int_equal(s1.coalesced - s0.coalesced, 0);
    assert_int_equal(get_calls(), 2);
    assert_int_equal(before_write.rc, 0);
    assert_string_equal(before_write.value, "old");
    assert_int_equal(after_write.rc, -ENOENT);
    close_cache(c);
}

/* ---- read-through -------------------------------------------------------- */

typedef struct loader {
    int calls;
    int rc;
    const char *value;
} loader;

static int load_fn(void *arg, void **value, size_t *len)
{
    loader *l = arg;

    l->calls++;
    if (l->rc != 0)
        return l->rc;
    *len = strlen(l->value);
    *value = malloc(*len);
    memcpy(*value, l->value, *len);
    return 0;
}

static got read_through_now(cache *c, const char *key, loader *l)
{
    got g = {0};

    cache_read_through(c, key, load_fn, l, on_get, &g);
    assert_int_equal(g.calls, 0);
    assert_int_equal(l->calls, 0);
    wait_calls(&g.calls, 1);
    return g;
}

static void test_read_through(void **state)
{
    cache *c = open_main(2000);
    loader l = {.value = "loaded"};
    got g;

    set_now(c, "t:rt:hit", "cached");
    g = read_through_now(c, "t:rt:hit", &l);
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.value, "cached");
    assert_int_equal(l.calls, 0);

    g = read_through_now(c, "t:rt:miss", &l);
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.value, "loaded");
    assert_int_equal(l.calls, 1);
    g = get_now(c, "t:rt:miss"); /* the loaded value was stored */
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.value, "loaded");
    assert_in_range(sync_int(main_srv.port, "TTL %s", "t:rt:miss"), 268, 330);

    l = (loader){.rc = -ENOENT};
    g = read_through_now(c, "t:rt:none", &l);
    assert_int_equal(g.rc, -ENOENT);
    assert_int_equal(l.calls, 1);
    l = (loader){.rc = -EIO};
    g = read_through_now(c, "t:rt:none", &l);
    assert_int_equal(g.rc, -EIO);
    assert_int_equal(get_now(c, "t:rt:none").rc, -ENOENT); /* nothing stored */
    close_cache(c);

    /* Redis unreachable: the loader answers */
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", free_port());
    c = open_cache(addr, 200, 0);
    l = (loader){.value = "from-db"};
    g = read_through_now(c, "t:rt:down", &l);
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.value, "from-db");
    assert_int_equal(l.calls, 1);
    close_cache(c);
}

/* While fills are held (store_uncommitted in a service), a loaded value
 * reaches the caller but not Redis; released, the next load is stored. */
static int held_flag(void *arg)
{
    return *(int *)arg;
}

static void test_read_through_fills_held(void **state)
{
    cache *c = open_main(2000);
    loader l = {.value = "uncommitted"};
    int held = 1;
    got g;

    cache_hold_fills(c, held_flag, &held);
    g = read_through_now(c, "t:rt:held", &l);
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.value, "uncommitted");
    assert_int_equal(l.calls, 1);
    assert_int_equal(get_now(c, "t:rt:held").rc, -ENOENT); /* not stored */

    held = 0;
    l = (loader){.value = "committed"};
    g = read_through_now(c, "t:rt:held", &l);
    assert_string_equal(g.value, "committed");
    g = get_now(c, "t:rt:held");
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.value, "committed");
    cache_hold_fills(c, NULL, NULL);
    close_cache(c);
}

/* ---- Redis going away and coming back ----------------------------------- */

static void test_down_at_start(void **state)
{
    server s = {.port = free_port()};
    char addr[64];
    got g = {0}, d = {0};
    cache_stats st;
    cache *c;

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", s.port);
    c = open_cache(addr, 200, 0);
    assert_false(cache_connected(c));
    cache_get(c, "t:x", on_get, &g);
    eval_xadd(c, "t:s", "v", &d);
    cache_set(c, "t:x", "v", 1); /* does nothing */
    assert_int_equal(g.calls + d.calls, 0);
    wait_calls(&d.calls, 1);
    wait_calls(&g.calls, 1);
    assert_int_equal(g.rc, -ENOTCONN);
    assert_int_equal(d.rc, -ENOTCONN);

    server_start(&s);
    wait_begin();
    while (!cache_connected(c))
        spin();
    set_now(c, "t:x", "up");
    cache_get_stats(c, &st);
    assert_true(st.reconnects >= 1);
    close_cache(c);
    server_stop(&s);
    server_remove_dir(&s);
}

static void test_killed_and_restarted(void **state)
{
    cache *c = open_main(20000);
    cache_stats st;
    got g = {0};

    set_now(c, "t:k", "before");
    /* a GET on the wire when the server dies fails with the connection,
     * long before its 20 s timeout */
    assert_int_equal(kill(main_srv.pid, SIGSTOP), 0);
    cache_get(c, "t:k", on_get, &g);
    for (int i = 0; i < 5; i++)
        uv_run(&loop, UV_RUN_ONCE); /* let it go out */
    server_stop(&main_srv);
    wait_calls(&g.calls, 1);
    assert_int_equal(g.rc, -ENOTCONN);
    wait_begin();
    while (cache_connected(c))
        spin();
    g = get_now(c, "t:k");
    assert_int_equal(g.rc, -ENOTCONN);
    cache_set(c, "t:k", "lost", 4); /* dropped, no callback to wait for */

    server_start(&main_srv);
    wait_begin();
    while (!cache_connected(c))
        spin();
    assert_int_equal(get_now(c, "t:k").rc, -ENOENT); /* a fresh server */
    set_now(c, "t:k", "after");
    cache_get_stats(c, &st);
    assert_true(st.reconnects >= 1);
    assert_true(st.errors >= 1);
    close_cache(c);
}

static void test_timeout_on_stopped_server(void **state)
{
    cache *c = open_main(200);
    got g = {0}, d = {0}, w;
    cache_stats st;
    uint64_t limit;

    set_now(c, "t:slow", "v");
    assert_int_equal(kill(main_srv.pid, SIGSTOP), 0);
    cache_get(c, "t:slow", on_get, &g);
    eval_xadd(c, "t:slow:s", "v", &d);
    wait_calls(&g.calls, 1);
    wait_calls(&d.calls, 1);
    assert_int_equal(g.rc, -ETIMEDOUT);
    assert_true(d.rc == -ETIMEDOUT || d.rc == -ENOTCONN);
    assert_int_equal(kill(main_srv.pid, SIGCONT), 0);

    /* works again once reconnected; each try gets exactly one answer */
    limit = uv_hrtime() + WAIT_LIMIT_NS;
    do {
        assert_true(uv_hrtime() < limit);
        w = get_now(c, "t:slow");
    } while (w.rc != 0);
    assert_string_equal(w.value, "v");
    /* no late second call for the commands that timed out */
    set_now(c, "t:slow2", "v2");
    assert_int_equal(g.calls, 1);
    assert_int_equal(d.calls, 1);
    cache_get_stats(c, &st);
    assert_true(st.errors >= 1);
    close_cache(c);
}

static void test_fault_delay(void **state)
{
    cache *fast, *patient;
    got g;

    setenv("COMPACT_FAULTS", "redis.delay_ms=300", 1);
    assert_int_equal(fault_init(), 0);
    fast = open_main(100);
    patient = open_main(3000);
    /* held longer than its timeout: times out without being sent, and the
     * connection stays */
    g = get_now(fast, "t:delay");
    assert_int_equal(g.rc, -ETIMEDOUT);
    assert_true(cache_connected(fast));
    /* held, then sent in order */
    set_now(patient, "t:delay", "late");
    close_cache(fast);
    close_cache(patient);
}

/* ---- scripts ------------------------------------------------------------- */

static void eval_now(cache *c, const char *script, const char *const *keys, size_t nkeys,
                     const cache_arg *args, size_t nargs, int want)
{
    got d = {0};

    cache_eval(c, script, keys, nkeys, args, nargs, on_done, &d);
    assert_int_equal(d.calls, 0);
    wait_calls(&d.calls, 1);
    assert_int_equal(d.rc, want);
}

static void test_eval(void **state)
{
    cache *c = open_main(2000);
    static const char *const words[3] = {"one", "two", "three"};
    const char *stream = "t:stream";
    const char bin[] = {'a', '\0', 'b'};
    got d[3] = {{0}};
    redisReply *r;

    freeReplyObject(sync_cmd(main_srv.port, "DEL t:stream"));
    /* scripts run in call order */
    for (int i = 0; i < 3; i++)
        eval_xadd(c, stream, words[i], &d[i]);
    for (int i = 0; i < 3; i++) {
        wait_calls(&d[i].calls, 1);
        assert_int_equal(d[i].rc, 0);
    }
    r = sync_cmd(main_srv.port, "XRANGE t:stream - +");
    assert_non_null(r);
    assert_int_equal(r->elements, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(r->element[i]->element[1]->element[1]->str, words[i]);
    freeReplyObject(r);

    /* arguments are bytes, not strings; keys are deleted in the same script */
    freeReplyObject(sync_cmd(main_srv.port, "MSET t:d1 a t:d2 b"));
    const char *keys[3] = {"t:bin", "t:d1", "t:d2"};
    cache_arg arg = {bin, sizeof bin};
    eval_now(c, "redis.call('SET', KEYS[1], ARGV[1]); redis.call('DEL', KEYS[2], KEYS[3])", keys, 3,
             &arg, 1, 0);
    r = sync_cmd(main_srv.port, "GET t:bin");
    assert_int_equal(r->len, 3);
    assert_memory_equal(r->str, bin, 3);
    freeReplyObject(r);
    assert_int_equal(sync_int(main_srv.port, "EXISTS %s", "t:d1"), 0);
    assert_int_equal(sync_int(main_srv.port, "EXISTS %s", "t:d2"), 0);

    /* a script Redis refuses, and one that raises an error, both -EIO */
    eval_now(c, "this is not lua", NULL, 0, NULL, 0, -EIO);
    freeReplyObject(sync_cmd(main_srv.port, "SET t:str x"));
    const char *str = "t:str";
    eval_now(c, xadd_script, &str, 1, &arg, 1, -EIO);
    close_cache(c);
}

/* ---- consumer groups ------------------------------------------------------ */

typedef struct read_got {
    int calls, rc;
    size_t batches, entries;
    char first_value[32];
} read_got;

static void on_read(void *arg, int rc, const cache_stream_batch *batches, size_t n)
{
    read_got *g = arg;

    g->calls++;
    g->rc = rc;
    g->batches = n;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        g->entries += batches[i].n;
        if (g->first_value[0] == '\0' && batches[i].n > 0 && batches[i].entries[0].nfields > 0)
            snprintf(g->first_value, sizeof g->first_value, "%s",
                     batches[i].entries[0].fields[0].value);
    }
}

/* XREADGROUP over two streams, with a block time and without: every
 * argument of the command is in place (under AddressSanitizer this also
 * proves the argument vector is large enough for "STREAMS" and both lists). */
static void test_group_read(void **state)
{
    cache *c = open_main(2000);
    static const char *const streams[2] = {"t:gs1", "t:gs2"};
    static const char *const news[2] = {">", ">"};
    read_got g = {0}, again = {0}, quiet = {0};

    freeReplyObject(sync_cmd(main_srv.port, "DEL t:gs1 t:gs2"));
    for (int i = 0; i < 2; i++)
        freeReplyObject(sync_cmd(main_srv.port, "XGROUP CREATE %s grp 0 MKSTREAM", streams[i]));
    freeReplyObject(sync_cmd(main_srv.port, "XADD t:gs1 * k one"));
    freeReplyObject(sync_cmd(main_srv.port, "XADD t:gs2 * k two"));
    freeReplyObject(sync_cmd(main_srv.port, "XADD t:gs2 * k three"));

    cache_group_read(c, "grp", "me", streams, news, 2, 10, 100, 0, on_read, &g);
    assert_int_equal(g.calls, 0); /* never inside the call */
    wait_calls(&g.calls, 1);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.batches, 2);
    assert_int_equal(g.entries, 3);
    assert_string_equal(g.first_value, "one");

    /* Everything was delivered: without a block time, nothing new at once. */
    cache_group_read(c, "grp", "me", streams, news, 2, 10, 0, 0, on_read, &again);
    wait_calls(&again.calls, 1);
    assert_int_equal(again.rc, 0);
    assert_int_equal(again.entries, 0);

    /* With a block time and nothing new: an empty answer after it. */
    cache_group_read(c, "grp", "me", streams, news, 1, 10, 50, 0, on_read, &quiet);
    wait_calls(&quiet.calls, 1);
    assert_int_equal(quiet.rc, 0);
    assert_int_equal(quiet.entries, 0);
    close_cache(c);
}

/* A GET takes at most max_value_bytes from Redis, whatever is stored: a
 * larger value is -EFBIG (not ours), an empty one a miss. */
static void test_get_bounded(void **state)
{
    char addr[64];
    cache_options o = {.timeout_ms = 2000, .max_value_bytes = 16};
    cache *c = NULL;
    got g;

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", main_srv.port);
    o.addr = addr;
    assert_int_equal(cache_new(&loop, &o, &c), 0);
    wait_begin();
    while (!cache_connected(c))
        spin();
    freeReplyObject(sync_cmd(main_srv.port, "SET t:big 0123456789abcdefX"));
    freeReplyObject(sync_cmd(main_srv.port, "SET t:fits 0123456789abcdef"));
    freeReplyObject(sync_cmd(main_srv.port, "SET t:empty %s", ""));
    g = get_now(c, "t:big");
    assert_int_equal(g.rc, -EFBIG);
    g = get_now(c, "t:fits");
    assert_int_equal(g.rc, 0);
    assert_string_equal(g.value, "0123456789abcdef");
    g = get_now(c, "t:empty");
    assert_int_equal(g.rc, -ENOENT);
    close_cache(c);
}

/* ---- closing ------------------------------------------------------------- */

typedef struct reentry {
    cache *c;
    got again; /* the get made from inside the cancelled callback */
    got first;
} reentry;

static void on_get_then_get(void *arg, int rc, const void *value, size_t len)
{
    reentry *re = arg;

    on_get(&re->first, rc, value, len);
    cache_get(re->c, "t:again", on_get, &re->again);
}

static void test_close_with_pending(void **state)
{
    cache *c = open_main(5000);
    got g[4] = {{0}}, d = {0};
    reentry re = {0};
    int closed = 0;

    /* queued in this tick, and really sent to a server that cannot answer */
    assert_int_equal(kill(main_srv.pid, SIGSTOP), 0);
    cache_get(c, "t:p1", on_get, &g[0]);
    cache_get(c, "t:p1", on_get, &g[1]);
    eval_xadd(c, "t:ps", "v", &d);
    cache_set(c, "t:p2", "v", 1);
    for (int i = 0; i < 10; i++)
        uv_run(&loop, UV_RUN_ONCE); /* let the commands go out */
    cache_get(c, "t:p3", on_get, &g[2]);
    re.c = c;
    cache_get(c, "t:p4", on_get_then_get, &re);
    cache_close(c, on_closed, &closed);
    cache_close(c, on_closed, &closed); /* a second close is ignored */
    assert_int_equal(g[0].calls + g[2].calls + d.calls + closed, 0);
    wait_calls(&closed, 1);
    kill(main_srv.pid, SIGCONT);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].rc, -ECANCELED);
    }
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.rc, -ECANCELED);
    assert_int_equal(re.first.rc, -ECANCELED);
    assert_int_equal(re.again.calls, 1);
    assert_int_equal(re.again.rc, -ECANCELED);
    assert_int_equal(closed, 1);

    closed = 0;
    cache_close(NULL, on_closed, &closed);
    assert_int_equal(closed, 1);
}

typedef struct closer {
    cache *c;
    int closed;
    got g;
} closer;

static void on_get_then_close(void *arg, int rc, const void *value, size_t len)
{
    closer *cl = arg;

    on_get(&cl->g, rc, value, len);
    cache_close(cl->c, on_closed, &cl->closed);
}

static void test_close_from_callback(void **state)
{
    closer cl = {.c = open_main(2000)};
    got other = {0};

    cache_get(cl.c, "t:cc", on_get_then_close, &cl);
    cache_get(cl.c, "t:cc2", on_get, &other);
    wait_calls(&cl.closed, 1);
    assert_int_equal(cl.g.calls, 1);
    assert_int_equal(cl.g.rc, -ENOENT);
    assert_int_equal(other.calls, 1);
    assert_true(other.rc == -ENOENT || other.rc == -ECANCELED);
}

static void test_close_while_down_and_by_name(void **state)
{
    char addr[64];
    got g = {0};
    cache *c;

    /* closing during connection attempts and a pending -ENOTCONN */
    snprintf(addr, sizeof(addr), "localhost:%d", free_port());
    c = open_cache(addr, 200, 0);
    cache_get(c, "t:n", on_get, &g);
    close_cache(c);
    assert_int_equal(g.calls, 1);
    assert_true(g.rc == -ECANCELED);

    /* a host name is resolved off the loop, then used */
    snprintf(addr, sizeof(addr), "localhost:%d", main_srv.port);
    c = open_cache(addr, 2000, 1);
    set_now(c, "t:named", "yes");
    close_cache(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_format),
        cmocka_unit_test(test_ttl_jitter),
        cmocka_unit_test_setup_teardown(test_bad_options, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_set_get_miss, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_ttl_in_redis, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_get_coalesced, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_write_ends_coalescing, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_read_through, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_read_through_fills_held, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_down_at_start, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_killed_and_restarted, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_on_stopped_server, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_fault_delay, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_eval, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_group_read, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_get_bounded, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_close_with_pending, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_close_from_callback, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_close_while_down_and_by_name, loop_setup,
                                        loop_teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
