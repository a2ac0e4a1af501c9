/* cache_conn.c: the Redis connection behind cache.c, and its glue to the loop.
 *
 * One hiredis async context at a time, attached to the loop with hiredis's
 * libuv adapter; this is the only file that includes the adapter. The
 * context is freed only from cache.c's idle callback: cache__conn_drop()
 * asks for that, cache__conn_free() does it. The disconnect callback
 * ignores a context we are freeing ourselves.
 * redisLibuvAttach() sets the context up, then we replace its hooks: the
 * 0.14.1 poll callback drops poll errors (a refused connect would hang
 * forever), and its cleanup closes the poll handle with a close callback
 * cache_close() could not wait for. Its reader builds replies in blocks of
 * the connection's own (cache_replies.c), released when the context goes.
 *
 * Connecting: a connect attempt has a timeout too; on failure, loss, or a
 * dropped connection the next attempt waits a backoff of 100 ms doubling to
 * 5 s, with jitter, reset by the first reply on a new connection.
 *
 * Host names are resolved with uv_getaddrinfo so that a reconnect never
 * blocks the loop in a DNS lookup; numeric addresses go straight to hiredis.
 *
 * Everything runs on the loop thread; nothing here is thread-safe.
 */
#include "cache_internal.h"

#include "log.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_BACKOFF_MAX_MS 5000
#define CACHE_CONNECT_TIMEOUT_MS 1000 /* or the command timeout if longer */

/* ---- the connection ----------------------------------------------------- */

static cache_replies *replies_of(const redisAsyncContext *ac)
{
    return ac->c.reader->privdata;
}

/* Frees a context we made, and its replies' blocks (cache_replies.c). */
static void conn_free(redisAsyncContext *ac)
{
    cache_replies *replies = replies_of(ac);

    redisAsyncFree(ac);
    cache_replies_release(replies);
}

static void cache_log_down(cache *c, const char *why)
{
    if (c->down_logged)
        return;
    c->down_logged = 1;
    log_msg(LOG_LEVEL_WARN, "redis down", "addr", c->addr, "error", why && *why ? why : "unknown",
            NULL);
}

static void cache_on_reconnect(uv_timer_t *timer)
{
    cache *c = timer->data;

    c->from_reconnect = 1;
    cache__conn_start(c);
}

/* Waits the backoff (with jitter: between half and all of it), then tries
 * again; the backoff doubles up to CACHE_BACKOFF_MAX_MS. */
static void cache_reconnect_later(cache *c)
{
    int half = c->backoff_ms / 2;
    uint64_t delay = (uint64_t)half + cache__random() % (uint64_t)(c->backoff_ms - half + 1);

    if (c->closing)
        return;
    c->backoff_ms =
        c->backoff_ms >= CACHE_BACKOFF_MAX_MS / 2 ? CACHE_BACKOFF_MAX_MS : c->backoff_ms * 2;
    uv_timer_start(&c->reconnect_timer, cache_on_reconnect, delay, 0);
}

static void cache_poll_closed(uv_handle_t *handle)
{
    cache *c = handle->data;

    free((char *)handle - offsetof(redisLibuvEvents, handle));
    c->poll_handles--;
    if (c->handles_closing)
        cache__close_continue(c);
}

/* The poll hooks. hiredis 0.14.1's libuv adapter returns early when libuv
 * reports a poll error; libuv reports a refused connect (POLLERR) exactly so,
 * with the handle stopped, and the attempt would hang forever. Like later
 * hiredis versions, on an error we let hiredis read or write and meet the
 * socket error itself. */
static void cache_poll_cb(uv_poll_t *handle, int status, int events)
{
    redisLibuvEvents *p = handle->data;
    int ev = status < 0 ? p->events : events;

    if (p->context && (ev & UV_READABLE))
        redisAsyncHandleRead(p->context);
    if (p->context && (ev & UV_WRITABLE))
        redisAsyncHandleWrite(p->context);
}

/* hiredis asks for the same events again and again (it adds "readable"
 * after every write); restarting a poll handle costs two epoll_ctl calls,
 * so only a real change reaches libuv. */
static void cache_poll_set(redisLibuvEvents *p, int events)
{
    if (events == p->events && (events == 0) == !uv_is_active((uv_handle_t *)&p->handle))
        return;
    p->events = events;
    if (events)
        uv_poll_start(&p->handle, events, cache_poll_cb);
    else
        uv_poll_stop(&p->handle);
}

static void cache_poll_add_read(void *privdata)
{
    redisLibuvEvents *p = privdata;

    cache_poll_set(p, p->events | UV_READABLE);
}

static void cache_poll_del_read(void *privdata)
{
    redisLibuvEvents *p = privdata;

    cache_poll_set(p, p->events & ~UV_READABLE);
}

/* A command being queued needs no writable poll: cache.c writes it at the
 * end of the loop turn (cache_on_flush), and hiredis asks again there if
 * the socket cannot take it all. Connecting and short writes still poll. */
static void cache_poll_add_write(void *privdata)
{
    redisLibuvEvents *p = privdata;
    cache *c = p->context ? p->context->data : NULL;

    if (c && c->queueing)
        return;
    cache_poll_set(p, p->events | UV_WRITABLE);
}

static void cache_poll_del_write(void *privdata)
{
    redisLibuvEvents *p = privdata;

    cache_poll_set(p, p->events & ~UV_WRITABLE);
}

/* Replaces the adapter's cleanup hook, which closes the poll handle with a
 * close callback we cannot see; cache_close() must know when it is done.
 * The other hooks are cleared so that nothing restarts a closing handle. */
static void cache_poll_cleanup(void *privdata)
{
    redisLibuvEvents *p = privdata;
    redisAsyncContext *ac;

    if (!p)
        return; /* the adapter failed to attach */
    ac = p->context;
    ac->ev.addRead = ac->ev.delRead = NULL;
    ac->ev.addWrite = ac->ev.delWrite = NULL;
    ac->ev.cleanup = NULL;
    ac->ev.data = NULL;
    p->context = NULL;
    p->handle.data = ac->data; /* the poll callback can no longer run */
    uv_close((uv_handle_t *)&p->handle, cache_poll_closed);
}

static uint64_t cache_connect_timeout(const cache *c)
{
    return c->timeout_ms > CACHE_CONNECT_TIMEOUT_MS ? (uint64_t)c->timeout_ms
                                                    : CACHE_CONNECT_TIMEOUT_MS;
}

static void cache_on_connect_timeout(uv_timer_t *timer)
{
    cache *c = timer->data;

    if (!c->ac || c->connected || c->drop_requested)
        return;
    cache_log_down(c, "connect timed out");
    cache__conn_drop(c); /* freeing it schedules the next attempt */
}

/* The connection is ready for commands (after AUTH, when there is one). */
static void cache_conn_ready(cache *c, int reconnect)
{
    c->connected = 1;
    c->down_logged = 0;
    if (reconnect)
        c->stats.reconnects++;
    log_msg(LOG_LEVEL_INFO, "redis connected", "addr", c->addr, "user", c->user[0] ? c->user : "",
            NULL);
}

#define CACHE_PASSWORD_MAX 512

/* The password, from its file (trailing newlines cut) into `buf`. Returns
 * its length, or -1 (logged without any of the file's text). */
static int cache_read_password(cache *c, char *buf, size_t size)
{
    FILE *f = fopen(c->password_file, "rb");
    size_t n = 0;

    if (f == NULL) {
        log_msg(LOG_LEVEL_ERROR, "redis password file cannot be read", "file", c->password_file,
                "error", strerror(errno), NULL);
        return -1;
    }
    n = fread(buf, 1, size, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n == 0 || n >= size) {
        log_msg(LOG_LEVEL_ERROR, "redis password file is empty or too long", "file",
                c->password_file, NULL);
        return -1;
    }
    return (int)n;
}

/* AUTH's reply: the connection is used only once Redis accepted. */
static void cache_on_auth(redisAsyncContext *ac, void *r, void *privdata)
{
    cache *c = privdata;
    redisReply *reply = r;

    if (reply == NULL || c->ac != ac || c->closing || c->drop_requested)
        return; /* the connection is going anyway */
    uv_timer_stop(&c->reconnect_timer);
    if (reply->type == REDIS_REPLY_ERROR) {
        /* Redis's words ("WRONGPASS invalid username-password pair"), never ours. */
        cache_log_down(c, "AUTH refused: check COMPACT_REDIS_USER and COMPACT_REDIS_PASSWORD_FILE");
        cache__conn_drop(c);
        return;
    }
    cache_conn_ready(c, c->from_reconnect);
    c->from_reconnect = 0;
}

/* Sends AUTH first on a fresh connection; 0, or -1 when it cannot. */
static int cache_send_auth(cache *c, redisAsyncContext *ac)
{
    char pw[CACHE_PASSWORD_MAX];
    int n = cache_read_password(c, pw, sizeof pw);
    int rc = -1;

    if (n > 0)
        rc = redisAsyncCommand(ac, cache_on_auth, c, "AUTH %b %b", c->user, strlen(c->user), pw,
                               (size_t)n) == REDIS_OK
                 ? 0
                 : -1;
    volatile char *p = pw; /* no copy of the password stays on the stack */
    for (size_t i = 0; i < sizeof pw; i++)
        p[i] = 0;
    if (rc == 0) /* an answer must come in time, as a connect's */
        uv_timer_start(&c->reconnect_timer, cache_on_connect_timeout, cache_connect_timeout(c), 0);
    return rc;
}

static void cache_on_connect(const redisAsyncContext *ac, int status)
{
    cache *c = ac->data;
    int reconnect = c->from_reconnect;

    c->from_reconnect = 0;
    uv_timer_stop(&c->reconnect_timer); /* the connect timeout */
    if (status != REDIS_OK) {
        c->ac = NULL; /* hiredis frees it when we return */
        cache_replies_release(replies_of(ac));
        cache_log_down(c, ac->c.errstr);
        cache_reconnect_later(c);
        if (c->closing)
            cache__kick(c);
        return;
    }
    if (c->closing || c->drop_requested)
        return;
    if (c->user[0] != '\0') {
        c->from_reconnect = reconnect;
        if (cache_send_auth(c, (redisAsyncContext *)ac) != 0) {
            cache_log_down(c, "AUTH could not be sent");
            cache__conn_drop(c);
        }
        return;
    }
    cache_conn_ready(c, reconnect);
}

static void cache_on_disconnect(const redisAsyncContext *ac, int status)
{
    cache *c = ac->data;

    if (ac != c->ac)
        return;   /* we are freeing it ourselves */
    c->ac = NULL; /* hiredis frees it when we return */
    cache_replies_release(replies_of(ac));
    c->connected = 0;
    cache_log_down(c, ac->c.errstr[0] ? ac->c.errstr : "disconnected");
    cache_reconnect_later(c);
    if (c->closing)
        cache__kick(c);
}

static void cache_conn_open(cache *c, const char *ip)
{
    redisAsyncContext *ac = redisAsyncConnect(ip, c->port);

    if (!ac) {
        cache_log_down(c, "out of memory");
        cache_reconnect_later(c);
        return;
    }
    if (ac->err || cache_replies_attach(ac->c.reader) == NULL) {
        cache_log_down(c, ac->err ? ac->c.errstr : "out of memory");
        redisAsyncFree(ac);
        cache_reconnect_later(c);
        return;
    }
    ac->data = c;
    if (redisLibuvAttach(ac, c->loop) == REDIS_OK)
        c->poll_handles++;
    ac->ev.cleanup = cache_poll_cleanup;
    if (!ac->ev.data) {
        cache_log_down(c, "cannot watch the socket");
        conn_free(ac);
        cache_reconnect_later(c);
        return;
    }
    ac->ev.addRead = cache_poll_add_read;
    ac->ev.delRead = cache_poll_del_read;
    ac->ev.addWrite = cache_poll_add_write;
    ac->ev.delWrite = cache_poll_del_write;
    redisAsyncSetConnectCallback(ac, cache_on_connect);
    redisAsyncSetDisconnectCallback(ac, cache_on_disconnect);
    c->ac = ac;
    /* A connect can also hang (a host that drops SYNs): give up in time. */
    uv_timer_start(&c->reconnect_timer, cache_on_connect_timeout, cache_connect_timeout(c), 0);
}

/* Prefers IPv4: a name like "localhost" may list ::1 first while the server
 * listens on 127.0.0.1 only. */
static void cache_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    cache *c = req->data;
    const struct addrinfo *pick = NULL;
    char ip[INET6_ADDRSTRLEN];

    c->resolving = 0;
    for (const struct addrinfo *ai = status == 0 ? res : NULL; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET && (!pick || pick->ai_family != AF_INET))
            pick = ai;
        else if (ai->ai_family == AF_INET6 && !pick)
            pick = ai;
    }
    if (c->closing) {
        cache__kick(c);
    } else if (pick && uv_ip_name(pick->ai_addr, ip, sizeof(ip)) == 0) {
        cache_conn_open(c, ip);
    } else {
        cache_log_down(c, status ? uv_strerror(status) : "no address");
        cache_reconnect_later(c);
    }
    uv_freeaddrinfo(res);
}

void cache__conn_start(cache *c)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc;

    if (c->closing || c->ac || c->resolving)
        return;
    if (c->numeric_host) {
        cache_conn_open(c, c->host);
        return;
    }
    rc = uv_getaddrinfo(c->loop, &c->resolve_req, cache_on_resolved, c->host, NULL, &hints);
    if (rc < 0) {
        cache_log_down(c, uv_strerror(rc));
        cache_reconnect_later(c);
        return;
    }
    c->resolving = 1;
}

/* Asks the idle callback to free the connection, and stops using it now. */
void cache__conn_drop(cache *c)
{
    c->connected = 0;
    c->drop_requested = 1;
    cache__kick(c);
}

/* Frees a dropped connection; hiredis runs the NULL replies in here. */
void cache__conn_free(cache *c)
{
    redisAsyncContext *ac = c->ac;

    c->drop_requested = 0;
    if (!ac)
        return;
    c->ac = NULL;
    c->connected = 0;
    conn_free(ac);
    cache_reconnect_later(c);
}
