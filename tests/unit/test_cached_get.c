/* test_cached_get.c: reading a protobuf message through the cache, against
 * a real redis-server on a free 127.0.0.1 port: a miss loads from the
 * "store" and fills Redis, a hit unpacks without loading, a mangled entry
 * falls back to the store, a missing row is -ENOENT, and with Redis
 * unreachable every read comes from the store. A value with no cache key
 * (cached_get_reply with a NULL key) is answered from the store alone. The
 * message is a google.protobuf.Timestamp; the store is a counter and a
 * value.
 *
 * Each test closes its cache and asserts the loop closes with no handle
 * left; waits poll with a generous safety deadline.
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

#include "cached_get.h"
#include "pbtime.h"

#define WAIT_LIMIT_NS (30ull * 1000 * 1000 * 1000)

/* ---- a redis-server of our own ------------------------------------------ */

static pid_t redis_pid;
static int redis_port;
static char redis_dir[64];

static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        abort();
    close(fd);
    return ntohs(sa.sin_port);
}

/* A command on a plain synchronous connection, beside the cache. */
static redisReply *sync_cmd(const char *fmt, ...)
{
    struct timeval tv = {1, 0};
    redisContext *ctx = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
    redisReply *r = NULL;
    va_list ap;

    if (ctx != NULL && ctx->err == 0) {
        va_start(ap, fmt);
        r = redisvCommand(ctx, fmt, ap);
        va_end(ap);
    }
    redisFree(ctx);
    return r;
}

static int group_setup(void **state)
{
    char port[16];
    uint64_t limit = uv_hrtime() + WAIT_LIMIT_NS;
    redisReply *r;

    redis_port = free_port();
    strcpy(redis_dir, "/tmp/test_cached_get.XXXXXX");
    if (mkdtemp(redis_dir) == NULL)
        return -1;
    snprintf(port, sizeof port, "%d", redis_port);
    if ((redis_pid = fork()) < 0)
        return -1;
    if (redis_pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (chdir(redis_dir) != 0)
            _exit(126);
        dup2(null, 1);
        dup2(null, 2);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", (char *)NULL);
        _exit(127);
    }
    while ((r = sync_cmd("PING")) == NULL) {
        if (uv_hrtime() > limit)
            return -1;
        usleep(10000); /* another process: nothing to poll on */
    }
    freeReplyObject(r);
    return 0;
}

static int group_teardown(void **state)
{
    kill(redis_pid, SIGKILL);
    waitpid(redis_pid, NULL, 0);
    rmdir(redis_dir);
    return 0;
}

/* ---- the loop, a cache, the "store" -------------------------------------- */

static uv_loop_t loop;
static uint64_t wait_limit;

static int loop_setup(void **state)
{
    return uv_loop_init(&loop);
}

static int loop_teardown(void **state)
{
    for (int i = 0; i < 100 && uv_run(&loop, UV_RUN_NOWAIT) != 0; i++)
        ;
    return uv_loop_close(&loop) == 0 ? 0 : -1;
}

static void wait_for(const int *calls, int n)
{
    wait_limit = uv_hrtime() + WAIT_LIMIT_NS;
    while (*calls < n) {
        if (uv_hrtime() > wait_limit)
            fail_msg("condition not reached in time");
        uv_run(&loop, UV_RUN_ONCE);
    }
}

static cache *open_cache(int port, int wait_connected)
{
    char addr[64];
    cache_options o = {.addr = addr, .timeout_ms = 1000, .ttl_seconds = 300};
    cache *c = NULL;

    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    assert_int_equal(cache_new(&loop, &o, &c), 0);
    wait_limit = uv_hrtime() + WAIT_LIMIT_NS;
    while (wait_connected && !cache_connected(c)) {
        if (uv_hrtime() > wait_limit)
            fail_msg("no connection");
        uv_run(&loop, UV_RUN_ONCE);
    }
    return c;
}

static void on_closed(void *arg)
{
    (*(int *)arg)++;
}

static void close_cache(cache *c)
{
    int closed = 0;

    cache_close(c, on_closed, &closed);
    wait_for(&closed, 1);
}

typedef struct fake_store {
    int loads;
    int rc;     /* what a load returns */
    int64_t ms; /* the stored time */
    const char *asked;
} fake_store;

static int load_time(void *ctx, const char *value, ProtobufCMessage **out, int64_t *version)
{
    fake_store *fs = ctx;
    Google__Protobuf__Timestamp *ts;

    fs->loads++;
    fs->asked = value;
    *out = NULL;
    if (fs->rc != 0)
        return fs->rc;
    if ((ts = pbtime_new(fs->ms)) == NULL)
        return -ENOMEM;
    *out = &ts->base;
    return 0;
}

typedef struct result {
    int calls;
    int rc;
    int64_t ms;
} result;

static void on_message(void *arg, int rc, ProtobufCMessage *msg)
{
    result *r = arg;

    r->calls++;
    r->rc = rc;
    if (rc == 0) {
        assert_non_null(msg);
        r->ms = pbtime_ms((const Google__Protobuf__Timestamp *)msg);
        protobuf_c_message_free_unpacked(msg, NULL);
    } else {
        assert_null(msg);
    }
}

static result read_now(cache *c, const char *key, fake_store *fs)
{
    cached_get_spec spec = {
        .descriptor = &google__protobuf__timestamp__descriptor,
        .load = load_time,
        .ctx = fs,
        .value = "t_1",
    };
    result r = {0};

    cached_get_message(c, key, &spec, on_message, &r);
    assert_int_equal(r.calls, 0); /* never inside the call */
    wait_for(&r.calls, 1);
    assert_int_equal(r.calls, 1);
    return r;
}

/* Polls Redis until `key` exists (cache_set is fire and forget). */
static void wait_key(const char *key)
{
    redisReply *r;
    long long n = 0;

    wait_limit = uv_hrtime() + WAIT_LIMIT_NS;
    while (n == 0) {
        if (uv_hrtime() > wait_limit)
            fail_msg("key never written");
        uv_run(&loop, UV_RUN_NOWAIT);
        r = sync_cmd("EXISTS %s", key);
        assert_non_null(r);
        n = r->integer;
        freeReplyObject(r);
    }
}

/* ---- tests ---------------------------------------------------------------- */

static void test_miss_loads_then_hit_unpacks(void **state)
{
    cache *c = open_cache(redis_port, 1);
    fake_store fs = {.ms = 1700000000123LL};
    result r = read_now(c, "compact:test:time:miss", &fs);

    assert_int_equal(r.rc, 0);
    assert_int_equal(r.ms, fs.ms);
    assert_int_equal(fs.loads, 1);
    assert_string_equal(fs.asked, "t_1");
    wait_key("compact:test:time:miss");
    fs.ms = 42; /* the store moved on; the cache still has the old value */
    r = read_now(c, "compact:test:time:miss", &fs);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.ms, 1700000000123LL);
    assert_int_equal(fs.loads, 1);
    close_cache(c);
}

static void test_mangled_entry_reads_the_store(void **state)
{
    cache *c = open_cache(redis_port, 1);
    fake_store fs = {.ms = 5000};
    redisReply *rep = sync_cmd("SET %s %b", "compact:test:time:bad", "\xff\xff\xff", (size_t)3);
    result r;

    assert_non_null(rep);
    freeReplyObject(rep);
    r = read_now(c, "compact:test:time:bad", &fs);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.ms, 5000);
    assert_int_equal(fs.loads, 1);
    close_cache(c);
}

static void test_not_found_and_errors(void **state)
{
    cache *c = open_cache(redis_port, 1);
    fake_store fs = {.rc = -ENOENT};
    result r = read_now(c, "compact:test:time:none", &fs);

    assert_int_equal(r.rc, -ENOENT);
    fs.rc = -EIO;
    r = read_now(c, "compact:test:time:none", &fs);
    assert_int_equal(r.rc, -EIO);
    assert_int_equal(fs.loads, 2); /* nothing was cached for a missing row */
    close_cache(c);
}

static void test_redis_unreachable_reads_the_store(void **state)
{
    cache *c = open_cache(free_port(), 0);
    fake_store fs = {.ms = 777};
    result r = read_now(c, "compact:test:time:down", &fs);

    assert_int_equal(r.rc, 0);
    assert_int_equal(r.ms, 777);
    r = read_now(c, "compact:test:time:down", &fs);
    assert_int_equal(r.rc, 0);
    assert_int_equal(fs.loads, 2);
    close_cache(c);
}

/* The answer of a local call (rpc_call_new_local). */
typedef struct answered {
    int calls;
    rpc_code code;
    int64_t ms;
    char message[128];
} answered;

static void on_answer(void *arg, rpc_code code, const char *message, const void *reply, size_t len)
{
    answered *a = arg;
    Google__Protobuf__Timestamp *ts;

    a->calls++;
    a->code = code;
    snprintf(a->message, sizeof a->message, "%s", message);
    if (code != RPC_OK)
        return;
    ts = google__protobuf__timestamp__unpack(NULL, len, reply);
    assert_non_null(ts);
    a->ms = pbtime_ms(ts);
    google__protobuf__timestamp__free_unpacked(ts, NULL);
}

/* cached_get_reply of "t_2" under cache key `key`: the call's answer. With
 * no key the store alone answers, before cached_get_reply returns; with one
 * the loop runs until the answer. */
static answered reply_of(cache *c, fake_store *fs, const char *key)
{
    cached_get_spec spec = {
        .descriptor = &google__protobuf__timestamp__descriptor,
        .load = load_time,
        .ctx = fs,
        .value = "t_2",
        .field = "date",
        .noun = "meeting",
        .label = "date",
    };
    answered a = {0};
    rpc_call *call;

    assert_int_equal(rpc_call_new_local("/test.Test/Get", on_answer, &a, &call), 0);
    cached_get_reply(call, c, key, &spec);
    if (key == NULL)
        assert_int_equal(a.calls, 1);
    wait_for(&a.calls, 1);
    assert_int_equal(a.calls, 1);
    return a;
}

/* Regression: the message loaded was passed on before the load ran (an
 * argument read before the call beside it), so every such read answered
 * a NULL message and the service crashed packing it. */
static void test_no_cache_key_reads_the_store_at_once(void **state)
{
    cache *c = open_cache(redis_port, 1);
    fake_store fs = {.ms = 1555372800000LL};
    answered a = reply_of(c, &fs, NULL);

    assert_int_equal(a.code, RPC_OK);
    assert_int_equal(a.ms, fs.ms);
    assert_int_equal(fs.loads, 1);
    assert_string_equal(fs.asked, "t_2");
    fs.rc = -ENOENT;
    a = reply_of(c, &fs, NULL);
    assert_int_equal(a.code, RPC_NOT_FOUND);
    assert_string_equal(a.message, "date: no meeting with date \"t_2\"");
    assert_int_equal(fs.loads, 2);
    close_cache(c);
}

/* Puts `len` bytes under `key` in Redis, then answers a Get through it. */
static answered reply_to_entry(cache *c, fake_store *fs, const char *key, const char *bytes,
                               size_t len)
{
    redisReply *rep = sync_cmd("SET %s %b", key, bytes, len);

    assert_non_null(rep);
    freeReplyObject(rep);
    return reply_of(c, fs, key);
}

/* The reply path sends a cache entry's bytes without unpacking them, once
 * the wire walk vouched for them: an entry that is not the store's encoding
 * (seconds given twice: the last counts) is answered as it is, a mangled
 * one (a length past its end) sends the store's message instead. */
static void test_reply_sends_checked_entries_only(void **state)
{
    cache *c = open_cache(redis_port, 1);
    fake_store fs = {.ms = 9000};
    /* seconds = 1, then seconds = 2, nanos = 5,000,000 */
    static const char twice[] = "\x08\x01\x08\x02\x10\xc0\x96\xb1\x02";
    /* seconds = 1, then nanos as 5 bytes of which 2 are there */
    static const char cut[] = "\x08\x01\x12\x05"
                              "ab";
    answered a = reply_to_entry(c, &fs, "compact:test:time:twice", twice, sizeof twice - 1);

    assert_int_equal(a.code, RPC_OK);
    assert_int_equal(a.ms, 2005);
    assert_int_equal(fs.loads, 0);
    a = reply_to_entry(c, &fs, "compact:test:time:cut", cut, sizeof cut - 1);
    assert_int_equal(a.code, RPC_OK);
    assert_int_equal(a.ms, 9000);
    assert_int_equal(fs.loads, 1);
    close_cache(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_miss_loads_then_hit_unpacks, loop_setup,
                                        loop_teardown),
        cmocka_unit_test_setup_teardown(test_mangled_entry_reads_the_store, loop_setup,
                                        loop_teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_errors, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_redis_unreachable_reads_the_store, loop_setup,
                                        loop_teardown),
        cmocka_unit_test_setup_teardown(test_no_cache_key_reads_the_store_at_once, loop_setup,
                                        loop_teardown),
        cmocka_unit_test_setup_teardown(test_reply_sends_checked_entries_only, loop_setup,
                                        loop_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
