/* test_cache_streams.c: the cache's scripts with replies (cache_eval_text)
 * and its reads of streams in a consumer group (cache_group_read), against
 * a real redis-server started on a free 127.0.0.1 port.
 *
 * - cache_eval_text: a string (bytes, NULs included) or status as it is, an
 *   integer in decimal, nil (and false) as "", a refused script or a raised
 *   error -EIO with no text, -ENOTCONN without Redis; the callback runs once,
 *   later, never inside the call;
 * - cache_group_read: entries and their fields decoded (binary and empty
 *   values, a NUL after each), several streams at once, COUNT, a consumer's
 *   pending entries read again by id until acknowledged, nothing new as
 *   n == 0; BLOCK returns empty after the block time and wakes for an entry
 *   added meanwhile; NOGROUP (no group, no stream) is -ENOENT, a key of
 *   another type -EIO; the command's timeout is the cache's plus block_ms
 *   (a block longer than the timeout is no timeout; a server that stopped
 *   answering times out after both); cache_close while a read blocks runs
 *   its callback once with -ECANCELED.
 *
 * A plain synchronous hiredis connection prepares and inspects the server
 * from the side. Every test closes its caches and the loop must then close
 * with no handle left (uv_loop_close() == 0); waits poll for conditions with
 * a generous safety deadline.
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

#define WAIT_LIMIT_NS (30ull * 1000 * 1000 * 1000) /* safety net per wait */

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

/* One command on a fresh synchronous connection; NULL if Redis is away. */
static redisReply *sync_cmd(const char *fmt, ...)
{
    struct timeval tv = {.tv_sec = 2};
    redisContext *rc = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
    redisReply *r;
    va_list ap;

    if (rc == NULL || rc->err) {
        redisFree(rc);
        return NULL;
    }
    redisSetTimeout(rc, tv);
    va_start(ap, fmt);
    r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    redisFree(rc);
    return r;
}

/* A command that must work; its reply is dropped. */
static void sync_do(const char *fmt, ...)
{
    struct timeval tv = {.tv_sec = 2};
    redisContext *rc = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
    redisReply *r;
    va_list ap;

    assert_true(rc != NULL && !rc->err);
    va_start(ap, fmt);
    r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("redis: %s", r->str);
    freeReplyObject(r);
    redisFree(rc);
}

/* XADD stream * field value ...: the new entry's id into `id`. */
static void xadd(const char *stream, char *id, size_t size, int argc, const char **argv,
                 const size_t *lens)
{
    struct timeval tv = {.tv_sec = 2};
    redisContext *rc = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
    const char *args[16] = {"XADD", stream, "*"};
    size_t arglens[16] = {4, strlen(stream), 1};
    redisReply *r;

    assert_true(rc != NULL && !rc->err);
    assert_true(argc + 3 <= 16);
    for (int i = 0; i < argc; i++) {
        args[3 + i] = argv[i];
        arglens[3 + i] = lens ? lens[i] : strlen(argv[i]);
    }
    r = redisCommandArgv(rc, argc + 3, args, arglens);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    snprintf(id, size, "%s", r->str);
    freeReplyObject(r);
    redisFree(rc);
}

static void xadd_kv(const char *stream, char *id, size_t size, const char *k, const char *v)
{
    const char *argv[2] = {k, v};

    xadd(stream, id, size, 2, argv, NULL);
}

static int group_setup(void **state)
{
    char port[16];
    uint64_t limit = uv_hrtime() + WAIT_LIMIT_NS;
    redisReply *r;

    (void)state;
    redis_port = free_port();
    strcpy(redis_dir, "/tmp/test_cache_streams.XXXXXX");
    assert_non_null(mkdtemp(redis_dir));
    snprintf(port, sizeof port, "%d", redis_port);
    redis_pid = fork();
    assert_true(redis_pid >= 0);
    if (redis_pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (chdir(redis_dir) != 0)
            _exit(126);
        dup2(null, 1);
        dup2(null, 2);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--daemonize", "no", (char *)NULL);
        _exit(127);
    }
    while ((r = sync_cmd("PING")) == NULL) {
        assert_true(uv_hrtime() < limit);
        usleep(10000); /* another process: nothing to poll on */
    }
    freeReplyObject(r);
    return 0;
}

static int group_teardown(void **state)
{
    char path[128];

    (void)state;
    if (redis_pid > 0) {
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
    }
    snprintf(path, sizeof path, "%s/dump.rdb", redis_dir);
    unlink(path);
    rmdir(redis_dir);
    return 0;
}

/* ---- the loop ----------------------------------------------------------- */

static uv_loop_t loop;
static uv_timer_t tick; /* keeps UV_RUN_ONCE from blocking for long */
static uint64_t wait_limit;

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

static int loop_setup(void **state)
{
    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 5, 5);
    kill(redis_pid, SIGCONT); /* whatever a failed test left */
    sync_do("FLUSHALL");
    return 0;
}

static int loop_teardown(void **state)
{
    (void)state;
    kill(redis_pid, SIGCONT);
    uv_close((uv_handle_t *)&tick, NULL);
    for (int i = 0; i < 100 && uv_run(&loop, UV_RUN_NOWAIT) != 0; i++)
        ;
    return uv_loop_close(&loop) == 0 ? 0 : -1;
}

static void wait_begin(void)
{
    wait_limit = uv_hrtime() + WAIT_LIMIT_NS;
}

static void spin(void)
{
    if (uv_hrtime() > wait_limit)
        fail_msg("condition not reached in time");
    uv_run(&loop, UV_RUN_ONCE);
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

static cache *open_cache(int port, int timeout_ms, int wait_connected)
{
    char addr[64];
    cache_options o = {.addr = addr, .timeout_ms = timeout_ms};
    cache *c = NULL;

    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    assert_int_equal(cache_new(&loop, &o, &c), 0);
    wait_begin();
    while (wait_connected && !cache_connected(c))
        spin();
    return c;
}

static void close_cache(cache *c)
{
    int closed = 0;

    cache_close(c, on_closed, &closed);
    wait_calls(&closed, 1);
    assert_int_equal(closed, 1);
}

/* ---- scripts with replies -------------------------------------------------- */

typedef struct text_got {
    int calls, rc, null_text;
    size_t len;
    char text[256];
} text_got;

static void on_text(void *arg, int rc, const char *text, size_t len)
{
    text_got *g = arg;

    g->calls++;
    g->rc = rc;
    g->len = len;
    g->null_text = text == NULL;
    if (text) {
        assert_true(len < sizeof g->text);
        memcpy(g->text, text, len);
        g->text[len] = '\0';
    }
}

static text_got eval_text(cache *c, const char *script, const char *const *keys, size_t nkeys,
                          const cache_arg *args, size_t nargs)
{
    text_got g = {0};

    cache_eval_text(c, script, keys, nkeys, args, nargs, on_text, &g);
    assert_int_equal(g.calls, 0); /* never inside */
    wait_calls(&g.calls, 1);
    return g;
}

static void assert_text(text_got g, const char *want)
{
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.rc, 0);
    assert_false(g.null_text);
    if (g.len != strlen(want))
        print_error("got \"%s\" (%zu bytes), wanted \"%s\"\n", g.text, g.len, want);
    assert_int_equal(g.len, strlen(want));
    assert_string_equal(g.text, want);
}

static void test_eval_text_replies(void **state)
{
    cache *c = open_cache(redis_port, 2000, 1);
    const char bin[] = {'a', '\0', 'b'};
    cache_arg arg = {bin, sizeof bin};
    const char *key = "t:k";
    text_got g;

    (void)state;
    assert_text(eval_text(c, "return 'hello'", NULL, 0, NULL, 0), "hello");
    assert_text(eval_text(c, "return ''", NULL, 0, NULL, 0), "");
    assert_text(eval_text(c, "return 42", NULL, 0, NULL, 0), "42");
    assert_text(eval_text(c, "return -7", NULL, 0, NULL, 0), "-7");
    assert_text(eval_text(c, "return nil", NULL, 0, NULL, 0), "");
    assert_text(eval_text(c, "return false", NULL, 0, NULL, 0), "");
    /* a status: SET's OK, and one made by the script */
    assert_text(eval_text(c, "return redis.call('SET', KEYS[1], 'v')", &key, 1, NULL, 0), "OK");
    assert_text(eval_text(c, "return redis.status_reply('FINE')", NULL, 0, NULL, 0), "FINE");
    /* a bulk string of bytes, NUL and all */
    g = eval_text(c, "return ARGV[1]", NULL, 0, &arg, 1);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.len, 3);
    assert_memory_equal(g.text, bin, 3);
    /* a large integer (Lua numbers are doubles: 2^53 is still exact) */
    assert_text(eval_text(c, "return 9007199254740992", NULL, 0, NULL, 0), "9007199254740992");
    assert_text(eval_text(c, "return -9007199254740992", NULL, 0, NULL, 0), "-9007199254740992");
    /* a key's value, and an integer from a command */
    assert_text(eval_text(c, "return redis.call('GET', KEYS[1])", &key, 1, NULL, 0), "v");
    assert_text(eval_text(c, "return redis.call('STRLEN', KEYS[1])", &key, 1, NULL, 0), "1");
    /* errors: raised, refused, a command failing inside: -EIO, no text */
    g = eval_text(c, "return redis.error_reply('boom')", NULL, 0, NULL, 0);
    assert_int_equal(g.rc, -EIO);
    assert_true(g.null_text);
    assert_int_equal(g.len, 0);
    g = eval_text(c, "this is not lua", NULL, 0, NULL, 0);
    assert_int_equal(g.rc, -EIO);
    assert_true(g.null_text);
    g = eval_text(c, "return redis.call('LPUSH', KEYS[1], 'x')", &key, 1, NULL, 0);
    assert_int_equal(g.rc, -EIO); /* WRONGTYPE */
    /* the connection carries on after errors */
    assert_text(eval_text(c, "return 'still here'", NULL, 0, NULL, 0), "still here");
    close_cache(c);
}

static void test_eval_text_without_redis(void **state)
{
    cache *c = open_cache(free_port(), 200, 0);
    text_got g;

    (void)state;
    g = eval_text(c, "return 1", NULL, 0, NULL, 0);
    assert_int_equal(g.rc, -ENOTCONN);
    assert_true(g.null_text);
    assert_int_equal(g.len, 0);
    close_cache(c);
}

/* ---- reading streams ------------------------------------------------------------ */

#define MAX_BATCHES 4
#define MAX_ENTRIES 16
#define MAX_FIELDS 4

typedef struct got_field {
    char name[32];
    char value[64];
    size_t len;
} got_field;

typedef struct got_entry {
    char id[32];
    got_field fields[MAX_FIELDS];
    size_t nfields;
} got_entry;

typedef struct got_batch {
    char stream[32];
    got_entry entries[MAX_ENTRIES];
    size_t n;
} got_batch;

typedef struct read_got {
    int calls, rc, null_batches;
    size_t n;
    got_batch b[MAX_BATCHES];
    uint64_t at; /* uv_hrtime() of the callback */
} read_got;

static void on_read(void *arg, int rc, const cache_stream_batch *batches, size_t n)
{
    read_got *g = arg;

    g->calls++;
    g->rc = rc;
    g->n = n;
    g->at = uv_hrtime();
    g->null_batches = batches == NULL;
    assert_true(n <= MAX_BATCHES);
    for (size_t i = 0; i < n; i++) {
        got_batch *b = &g->b[i];
        snprintf(b->stream, sizeof b->stream, "%s", batches[i].stream);
        b->n = batches[i].n;
        assert_true(b->n <= MAX_ENTRIES);
        for (size_t k = 0; k < b->n; k++) {
            const cache_entry *e = &batches[i].entries[k];
            got_entry *ge = &b->entries[k];
            snprintf(ge->id, sizeof ge->id, "%s", e->id);
            ge->nfields = e->nfields;
            assert_true(e->nfields <= MAX_FIELDS);
            for (size_t f = 0; f < e->nfields; f++) {
                assert_true(e->fields[f].len < sizeof ge->fields[f].value);
                assert_int_equal(e->fields[f].value[e->fields[f].len], '\0'); /* a NUL after */
                snprintf(ge->fields[f].name, sizeof ge->fields[f].name, "%s", e->fields[f].name);
                memcpy(ge->fields[f].value, e->fields[f].value, e->fields[f].len + 1);
                ge->fields[f].len = e->fields[f].len;
            }
        }
    }
}

/* The flags of the reads read_start makes (a test sets them). */
static unsigned read_flags;

static read_got *read_start(cache *c, const char *group, const char *const *streams,
                            const char *const *ids, size_t n, int count, int block_ms)
{
    unsigned flags = read_flags;

    read_got *g = calloc(1, sizeof *g);

    assert_non_null(g);
    cache_group_read(c, group, "consumer-1", streams, ids, n, count, block_ms, flags, on_read, g);
    assert_int_equal(g->calls, 0); /* never inside */
    return g;
}

static read_got *read_now(cache *c, const char *group, const char *const *streams,
                          const char *const *ids, size_t n, int count, int block_ms)
{
    read_got *g = read_start(c, group, streams, ids, n, count, block_ms);

    wait_calls(&g->calls, 1);
    return g;
}

static void make_group(const char *stream, const char *group)
{
    sync_do("XGROUP CREATE %s %s $ MKSTREAM", stream, group);
}

static void test_read_entries(void **state)
{
    cache *c = open_cache(redis_port, 2000, 1);
    const char *const both[2] = {"t:s1", "t:s2"}, *const news[2] = {">", ">"};
    const char *const pending[2] = {"0", "0"};
    const char bin[] = {'x', '\0', 'y', '\0'};
    const char *argv[4] = {"event", bin, "empty", ""};
    const size_t lens[4] = {5, sizeof bin, 5, 0};
    char id1[32], id2[32], id3[32];
    read_got *g;

    (void)state;
    make_group("t:s1", "g");
    make_group("t:s2", "g");
    xadd_kv("t:s1", id1, sizeof id1, "k", "one");
    xadd("t:s2", id2, sizeof id2, 4, argv, lens);
    xadd_kv("t:s1", id3, sizeof id3, "k", "three");

    /* both streams at once */
    g = read_now(c, "g", both, news, 2, 10, 0);
    assert_int_equal(g->rc, 0);
    assert_int_equal(g->n, 2);
    assert_string_equal(g->b[0].stream, "t:s1");
    assert_int_equal(g->b[0].n, 2);
    assert_string_equal(g->b[0].entries[0].id, id1);
    assert_int_equal(g->b[0].entries[0].nfields, 1);
    assert_string_equal(g->b[0].entries[0].fields[0].name, "k");
    assert_string_equal(g->b[0].entries[0].fields[0].value, "one");
    assert_int_equal(g->b[0].entries[0].fields[0].len, 3);
    assert_string_equal(g->b[0].entries[1].id, id3);
    assert_string_equal(g->b[0].entries[1].fields[0].value, "three");
    assert_string_equal(g->b[1].stream, "t:s2");
    assert_int_equal(g->b[1].n, 1);
    assert_string_equal(g->b[1].entries[0].id, id2);
    assert_int_equal(g->b[1].entries[0].nfields, 2);
    assert_string_equal(g->b[1].entries[0].fields[0].name, "event");
    assert_int_equal(g->b[1].entries[0].fields[0].len, sizeof bin); /* bytes, not a string */
    assert_memory_equal(g->b[1].entries[0].fields[0].value, bin, sizeof bin);
    assert_string_equal(g->b[1].entries[0].fields[1].name, "empty");
    assert_int_equal(g->b[1].entries[0].fields[1].len, 0);
    free(g);

    /* nothing new: no batch */
    g = read_now(c, "g", both, news, 2, 10, 0);
    assert_int_equal(g->rc, 0);
    assert_int_equal(g->n, 0);
    free(g);

    /* this consumer's pending entries, again, until acknowledged */
    g = read_now(c, "g", both, pending, 2, 10, 0);
    assert_int_equal(g->rc, 0);
    assert_int_equal(g->n, 2);
    assert_int_equal(g->b[0].n, 2);
    assert_string_equal(g->b[0].entries[1].id, id3);
    assert_int_equal(g->b[1].n, 1);
    free(g);
    sync_do("XACK t:s1 g %s %s", id1, id3);
    g = read_now(c, "g", both, pending, 2, 10, 0);
    assert_int_equal(g->rc, 0);
    assert_int_equal(g->n, 2);
    assert_int_equal(g->b[0].n, 0); /* acknowledged: none left */
    assert_int_equal(g->b[1].n, 1);
    free(g);
    close_cache(c);
}

/* NOACK: entries are delivered once and nothing is left pending. */
static void test_read_noack(void **state)
{
    cache *c = open_cache(redis_port, 1000, 1);
    const char *stream = "t:noack", *news = ">", *pending = "0";
    char id[32];
    read_got *g;

    (void)state;
    make_group(stream, "g");
    xadd_kv(stream, id, sizeof id, "n", "v");
    read_flags = CACHE_READ_NOACK;
    g = read_now(c, "g", &stream, &news, 1, 10, 0);
    assert_int_equal(g->rc, 0);
    assert_int_equal(g->n, 1);
    assert_string_equal(g->b[0].entries[0].id, id);
    free(g);
    g = read_now(c, "g", &stream, &pending, 1, 10, 0);
    assert_int_equal(g->rc, 0);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->b[0].n, 0); /* nothing pending */
    free(g);
    read_flags = 0;
    close_cache(c);
}

static void test_read_count_and_one_stream(void **state)
{
    cache *c = open_cache(redis_port, 2000, 1);
    const char *const both[2] = {"t:a", "t:b"}, *const news[2] = {">", ">"};
    char ids[5][32];
    read_got *g;

    (void)state;
    make_group("t:a", "g");
    make_group("t:b", "g");
    for (int i = 0; i < 5; i++)
        xadd_kv("t:a", ids[i], sizeof ids[i], "n", "v");
    /* COUNT: two at a time, in order; the quiet stream is not in the reply */
    for (int round = 0; round < 3; round++) {
        g = read_now(c, "g", both, news, 2, 2, 0);
        assert_int_equal(g->rc, 0);
        assert_int_equal(g->n, 1);
        assert_string_equal(g->b[0].stream, "t:a");
        assert_int_equal(g->b[0].n, round < 2 ? 2 : 1);
        for (size_t k = 0; k < g->b[0].n; k++)
            assert_string_equal(g->b[0].entries[k].id, ids[2 * round + (int)k]);
        free(g);
    }
    close_cache(c);
}

static void test_read_block_empty(void **state)
{
    /* A timeout well below the block: without the block added the read
     * would time out after 300 ms; with it, Redis's empty answer at 1 s has
     * 300 ms to spare on a busy machine. */
    cache *c = open_cache(redis_port, 300, 1);
    const char *stream = "t:quiet", *news = ">";
    text_got t;
    uint64_t start;
    read_got *g;

    (void)state;
    make_group(stream, "g");
    start = uv_hrtime();
    g = read_now(c, "g", &stream, &news, 1, 10, 1000);
    assert_int_equal(g->rc, 0); /* not -ETIMEDOUT: the block time is added */
    assert_int_equal(g->n, 0);
    assert_true(g->at - start >= 995ull * 1000 * 1000);
    assert_true(cache_connected(c));
    free(g);
    /* the connection answers other commands after the read */
    t = eval_text(c, "return 'after'", NULL, 0, NULL, 0);
    assert_text(t, "after");
    close_cache(c);
}

static void test_read_block_woken(void **state)
{
    cache *c = open_cache(redis_port, 200, 1);
    const char *stream = "t:wake", *news = ">";
    char id[32], line[4096];
    redisReply *r;
    read_got *g;
    uint64_t start, limit = uv_hrtime() + WAIT_LIMIT_NS;

    (void)state;
    make_group(stream, "g");
    start = uv_hrtime();
    g = read_start(c, "g", &stream, &news, 1, 10, 20000);
    /* wait until Redis holds the read blocked, then add an entry */
    for (;;) {
        uv_run(&loop, UV_RUN_NOWAIT);
        r = sync_cmd("CLIENT LIST");
        assert_non_null(r);
        snprintf(line, sizeof line, "%s", r->str);
        freeReplyObject(r);
        if (strstr(line, "cmd=xreadgroup") && strstr(line, "flags=b"))
            break;
        assert_true(uv_hrtime() < limit);
        usleep(2000);
    }
    assert_int_equal(g->calls, 0);
    xadd_kv(stream, id, sizeof id, "k", "woken");
    wait_calls(&g->calls, 1);
    assert_int_equal(g->rc, 0);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->b[0].n, 1);
    assert_string_equal(g->b[0].entries[0].id, id);
    assert_string_equal(g->b[0].entries[0].fields[0].value, "woken");
    assert_true(g->at - start < 10ull * 1000 * 1000 * 1000); /* long before the block time */
    free(g);
    close_cache(c);
}

static void test_read_missing_group(void **state)
{
    cache *c = open_cache(redis_port, 2000, 1);
    const char *stream = "t:grouped", *nostream = "t:nothing", *str = "t:str", *news = ">";
    read_got *g;

    (void)state;
    make_group(stream, "g");
    g = read_now(c, "other", &stream, &news, 1, 10, 0); /* no such group */
    assert_int_equal(g->rc, -ENOENT);
    assert_int_equal(g->n, 0);
    assert_true(g->null_batches);
    free(g);
    g = read_now(c, "g", &nostream, &news, 1, 10, 0); /* no such stream */
    assert_int_equal(g->rc, -ENOENT);
    free(g);
    g = read_now(c, "g", &nostream, &news, 1, 10, 500); /* blocking changes nothing */
    assert_int_equal(g->rc, -ENOENT);
    free(g);
    sync_do("SET t:str x");
    g = read_now(c, "g", &str, &news, 1, 10, 0); /* another type: WRONGTYPE */
    assert_int_equal(g->rc, -EIO);
    free(g);
    /* and the connection still reads */
    g = read_now(c, "g", &stream, &news, 1, 10, 0);
    assert_int_equal(g->rc, 0);
    free(g);
    close_cache(c);
}

/* A server that stopped answering: the read times out after the cache's
 * timeout plus its block time, not before. */
static void test_read_timeout_adds_block(void **state)
{
    cache *c = open_cache(redis_port, 200, 1);
    const char *stream = "t:stopped", *news = ">";
    uint64_t start, took;
    read_got *g;

    (void)state;
    make_group(stream, "g");
    assert_int_equal(kill(redis_pid, SIGSTOP), 0);
    start = uv_hrtime();
    g = read_now(c, "g", &stream, &news, 1, 10, 300);
    took = g->at - start;
    assert_int_equal(kill(redis_pid, SIGCONT), 0);
    assert_int_equal(g->rc, -ETIMEDOUT);
    assert_true(took >= 495ull * 1000 * 1000);
    assert_true(took < 10ull * 1000 * 1000 * 1000);
    assert_int_equal(g->calls, 1);
    free(g);
    close_cache(c);
}

static void test_close_while_blocked(void **state)
{
    cache *c = open_cache(redis_port, 200, 1);
    const char *stream = "t:held", *news = ">";
    char line[4096];
    redisReply *r;
    read_got *g;
    text_got t = {0};
    int closed = 0;
    uint64_t start, limit = uv_hrtime() + WAIT_LIMIT_NS;

    (void)state;
    make_group(stream, "g");
    g = read_start(c, "g", &stream, &news, 1, 10, 60000);
    cache_eval_text(c, "return 1", NULL, 0, NULL, 0, on_text, &t); /* queued behind it */
    for (;;) {
        uv_run(&loop, UV_RUN_NOWAIT);
        r = sync_cmd("CLIENT LIST");
        assert_non_null(r);
        snprintf(line, sizeof line, "%s", r->str);
        freeReplyObject(r);
        if (strstr(line, "cmd=xreadgroup") && strstr(line, "flags=b"))
            break;
        assert_true(uv_hrtime() < limit);
        usleep(2000);
    }
    start = uv_hrtime();
    cache_close(c, on_closed, &closed);
    assert_int_equal(g->calls + t.calls + closed, 0); /* nothing inside */
    wait_calls(&closed, 1);
    assert_true(uv_hrtime() - start < 5ull * 1000 * 1000 * 1000);
    assert_int_equal(g->calls, 1);
    assert_int_equal(g->rc, -ECANCELED);
    assert_true(g->null_batches);
    assert_int_equal(t.calls, 1);
    assert_int_equal(t.rc, -ECANCELED);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_eval_text_replies, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_eval_text_without_redis, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_read_entries, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_read_noack, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_read_count_and_one_stream, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_read_block_empty, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_read_block_woken, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_read_missing_group, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_read_timeout_adds_block, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_close_while_blocked, loop_setup, loop_teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
