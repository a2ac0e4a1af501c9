/* http_server.c: H2O (libuv build) on the service's loop (see http_server.h).
 *
 * H2O pieces, all embedded in struct http_server: a global configuration
 * with one host and one path ("/") whose handler takes every request and
 * finds our route; one context on the loop (it opens several uv timers and
 * one uv_async of its own); an accept context. The listener is a plain
 * uv_tcp_t; each accepted connection is a conn (a uv_tcp_t, first member)
 * handed to H2O with h2o_uv_socket_create, whose close callback is ours: that
 * is how we count the connections still open.
 *
 * A stream (server-sent events) lives in its request's memory pool, as H2O
 * wants a generator to: it is freed with the request, and the pool's dispose
 * callback is where it leaves our list and tells its owner. One message is on
 * its way at a time (H2O calls `proceed` when it may send the next); a newer
 * message replaces one still waiting.
 *
 * Shutdown order, each step from the completion of the one before:
 *   close listener and the ping timer; end every stream; shutdown(2) every
 *   open connection's socket
 *   -> listener and timer closed, no connection left (counted in close callbacks)
 *   -> h2o_context_dispose + h2o_config_dispose (H2O closes its handles)
 *   -> close fence[0]; in its callback close fence[1]; in that one, free.
 * libuv finishes every handle closed before a close pass in that pass, in no
 * documented order; the second fence is closed in a later pass than H2O's
 * handles, so when it completes they are surely finished and our memory, in
 * which H2O's timers live, may go.
 */
#include "http_server.h"

#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <h2o.h>

#include "log.h"

#define HTTP_BACKLOG 128
#define HTTP_PING_MS 15000

typedef struct http__conn {
    uv_tcp_t tcp; /* first: H2O's close callback gets &tcp */
    http_server *owner;
    struct http__conn *prev, *next;
} http__conn;

typedef struct http__handler {
    h2o_handler_t super; /* first: H2O hands us &super */
    http_server *owner;
} http__handler;

typedef struct http__route {
    char *path;
    int prefix;
    http_handler_fn fn;
    void *arg;
} http__route;

struct http_server {
    uv_loop_t *loop;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listener;
    uv_timer_t ping;     /* keeps streams alive */
    uv_timer_t fence[2]; /* never started: only closed, see above */
    http__conn *conns;   /* open connections */
    int nconns, max_conns, keep_alive;
    unsigned long refused;
    http__route *routes;
    size_t nroutes;
    http_stream *streams;
    int closing, listener_closed, ping_closed, disposed;
    http_closed_cb closed_cb;
    void *closed_arg;
};

struct http_response {
    h2o_req_t *req;
    http_server *s;
    int answered;
};

struct http_stream {
    h2o_generator_t gen; /* first: H2O hands us &gen */
    h2o_req_t *req;
    http_server *s;
    http_stream *prev, *next;
    char *inflight; /* the message on its way, freed once sent */
    char *pending;  /* the newest message waiting for it */
    size_t pending_len;
    int sending, ended, gone;
    http_stream_closed_fn closed;
    void *arg;
};

/* ---- answering ---------------------------------------------------------------- */

static const char *reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 503:
        return "Service Unavailable";
    default:
        return status < 500 ? "Error" : "Internal Server Error";
    }
}

void http_add_header(http_response *res, const char *name, const char *value)
{
    h2o_req_t *req = res->req;
    size_t nlen = strlen(name), vlen = strlen(value);

    h2o_add_header_by_str(&req->pool, &req->res.headers, h2o_strdup(&req->pool, name, nlen).base,
                          nlen, 1, NULL, h2o_strdup(&req->pool, value, vlen).base, vlen);
}

void http_reply(http_response *res, int status, const char *content_type, const void *body,
                size_t len)
{
    h2o_req_t *req = res->req;

    assert(!res->answered);
    res->answered = 1;
    req->res.status = status;
    req->res.reason = reason_of(status);
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   h2o_strdup(&req->pool, content_type, SIZE_MAX).base, strlen(content_type));
    h2o_send_inline(req, body, len); /* copies the body into the request's pool */
}

void http_reply_error(http_response *res, int status, const char *message)
{
    char text[512];
    int n = snprintf(text, sizeof text, "%s\n", message);

    http_reply(res, status, "text/plain; charset=utf-8", text,
               n < (int)sizeof text ? (size_t)n : sizeof text - 1);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes `n` bytes at `s` ('+' is a space, %XX a byte) into buf. */
static int url_decode(const char *s, size_t n, char *buf, size_t size)
{
    size_t at = 0;

    for (size_t i = 0; i < n; i++, at++) {
        char c = s[i];
        if (at + 1 >= size)
            return -1;
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= n || (hi = hex_value(s[i + 1])) < 0 || (lo = hex_value(s[i + 2])) < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        buf[at] = c;
    }
    buf[at] = '\0';
    return 1;
}

int http_query_param(const http_request *req, const char *name, char *buf, size_t size)
{
    size_t nlen = strlen(name);

    for (const char *p = req->query; *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= nlen && strncmp(p, name, nlen) == 0 && (len == nlen || p[nlen] == '=')) {
            const char *v = len == nlen ? p + len : p + nlen + 1;
            return url_decode(v, (size_t)(p + len - v), buf, size);
        }
        p += len + (end ? 1 : 0);
    }
    return 0;
}

/* ---- requests ----------------------------------------------------------------- */

static int iov_is(h2o_iovec_t v, const char *s)
{
    return h2o_memis(v.base, v.len, s, strlen(s));
}

static const http__route *route_of(const http_server *s, const char *path)
{
    for (size_t i = 0; i < s->nroutes; i++) {
        const http__route *r = &s->routes[i];
        if (r->prefix ? strncmp(path, r->path, strlen(r->path)) == 0 : strcmp(path, r->path) == 0)
            return r;
    }
    return NULL;
}

/* Every request comes here; a route answers it, or 404 / 405. */
static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    http_server *s = ((http__handler *)self)->owner;
    http_response res = {.req = req, .s = s};
    h2o_iovec_t path = req->path_normalized;
    size_t qlen = req->query_at == SIZE_MAX ? 0 : req->path.len - req->query_at - 1;
    http_request r = {
        .method = h2o_strdup(&req->pool, req->method.base, req->method.len).base,
        .path = h2o_strdup(&req->pool, path.base, path.len).base,
        .query = qlen ? h2o_strdup(&req->pool, req->path.base + req->query_at + 1, qlen).base : "",
    };
    const http__route *route;

    if (!s->keep_alive)
        req->http1_is_persistent = 0;
    if (!iov_is(req->method, "GET") && !iov_is(req->method, "HEAD")) {
        http_add_header(&res, "allow", "GET, HEAD");
        http_reply_error(&res, 405, "method not allowed");
    } else if ((route = route_of(s, r.path)) == NULL) {
        http_reply_error(&res, 404, "not found");
    } else {
        route->fn(route->arg, &r, &res);
        if (!res.answered) /* a handler's bug: still an answer */
            http_reply_error(&res, 500, "no answer");
    }
    return 0;
}

/* ---- server-sent events ---------------------------------------------------------- */

static void stream_unlink(http_stream *st)
{
    if (st->prev)
        st->prev->next = st->next;
    else if (st->s->streams == st)
        st->s->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    st->prev = st->next = NULL;
}

/* The request's pool is being freed: the stream goes with it. */
static void stream_dispose(void *p)
{
    http_stream *st = p;

    stream_unlink(st);
    free(st->inflight);
    free(st->pending);
    if (st->closed)
        st->closed(st->arg, st);
}

static void stream_send_now(http_stream *st, char *msg, size_t len)
{
    h2o_iovec_t buf = h2o_iovec_init(msg, len);

    st->inflight = msg;
    st->sending = 1;
    h2o_send(st->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* H2O may take the next message. */
static void stream_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    http_stream *st = (http_stream *)gen;

    (void)req;
    free(st->inflight);
    st->inflight = NULL;
    st->sending = 0;
    if (st->pending) {
        char *msg = st->pending;
        st->pending = NULL;
        stream_send_now(st, msg, st->pending_len);
    } else if (st->ended) {
        h2o_send(st->req, NULL, 0, H2O_SEND_STATE_FINAL); /* may free st */
    }
}

/* The client went away; H2O disposes the request next. */
static void stream_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    ((http_stream *)gen)->gone = 1;
}

static int stream_queue(http_stream *st, char *msg, size_t len)
{
    if (st->gone || st->ended) {
        free(msg);
        return 0;
    }
    if (st->sending) {
        free(st->pending);
        st->pending = msg;
        st->pending_len = len;
        return 0;
    }
    stream_send_now(st, msg, len);
    return 0;
}

http_stream *http_stream_start(http_response *res, http_stream_closed_fn closed, void *arg)
{
    h2o_req_t *req = res->req;
    http_stream *st = h2o_mem_alloc_shared(&req->pool, sizeof *st, stream_dispose);
    char *hello = strdup(": connected\n\n");

    assert(!res->answered);
    if (hello == NULL) {
        http_reply_error(res, 500, "out of memory");
        return NULL;
    }
    memset(st, 0, sizeof *st);
    st->gen.proceed = stream_proceed;
    st->gen.stop = stream_stop;
    st->req = req;
    st->s = res->s;
    st->closed = closed;
    st->arg = arg;
    st->next = res->s->streams;
    if (st->next)
        st->next->prev = st;
    res->s->streams = st;
    res->answered = 1;
    req->http1_is_persistent = 0; /* the connection is the stream's now */
    req->res.status = 200;
    req->res.reason = "OK";
    http_add_header(res, "content-type", "text/event-stream; charset=utf-8");
    http_add_header(res, "cache-control", "no-cache");
    h2o_start_response(req, &st->gen);
    stream_queue(st, hello, strlen(hello)); /* the headers go now */
    return st;
}

int http_stream_send(http_stream *st, const char *event, const char *data, size_t len)
{
    size_t size = strlen(event) + len + 32;
    char *msg = malloc(size);
    int n;

    assert(memchr(data, '\n', len) == NULL);
    if (msg == NULL)
        return -ENOMEM;
    n = snprintf(msg, size, "event: %s\ndata: %.*s\n\n", event, (int)len, data);
    return stream_queue(st, msg, (size_t)n);
}

void http_stream_end(http_stream *st)
{
    if (st->gone || st->ended)
        return;
    st->ended = 1;
    if (!st->sending)
        h2o_send(st->req, NULL, 0, H2O_SEND_STATE_FINAL); /* may free st */
}

/* Every HTTP_PING_MS: a comment on every idle stream. */
static void on_ping(uv_timer_t *t)
{
    http_server *s = t->data;

    for (http_stream *st = s->streams, *next; st; st = next) {
        next = st->next;
        if (!st->sending && !st->gone && !st->ended) {
            char *ping = strdup(": ping\n\n");
            if (ping)
                stream_queue(st, ping, strlen(ping));
        }
    }
}

/* ---- connections ------------------------------------------------------------------ */

static void conn_unlink(http__conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->owner->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static void maybe_finish(http_server *s);

/* H2O's socket is gone and the handle closed: the one place a conn ends. */
static void on_conn_closed(uv_handle_t *handle)
{
    http__conn *c = (http__conn *)handle;
    http_server *s = c->owner;

    s->nconns--;
    conn_unlink(c);
    free(c);
    maybe_finish(s);
}

static void on_refused_closed(uv_handle_t *handle)
{
    free(handle);
}

/* Accepts and closes at once: a client beyond the limit gets a closed
 * connection, and the backlog does not keep waking the loop. */
static void refuse(http_server *s, uv_stream_t *listener)
{
    uv_tcp_t *t = malloc(sizeof *t);

    if (t == NULL)
        return;
    uv_tcp_init(s->loop, t);
    if (uv_accept(listener, (uv_stream_t *)t) == 0)
        s->refused++;
    uv_close((uv_handle_t *)t, on_refused_closed);
}

static void on_accept(uv_stream_t *listener, int status)
{
    http_server *s = listener->data;
    http__conn *c;

    if (status != 0 || s->closing)
        return;
    if (s->nconns >= s->max_conns || (c = calloc(1, sizeof *c)) == NULL) {
        refuse(s, listener);
        return;
    }
    s->nconns++;
    c->owner = s;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    uv_tcp_init(s->loop, &c->tcp);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_closed);
    h2o_accept(&s->accept_ctx, sock);
}

/* ---- lifetime --------------------------------------------------------------------- */

int http_server_new(uv_loop_t *loop, const http_options *opts, http_server **out)
{
    http_server *s = calloc(1, sizeof *s);

    if (s == NULL)
        return -ENOMEM;
    s->loop = loop;
    s->max_conns = opts && opts->max_conns > 0 ? opts->max_conns : 8;
    s->keep_alive = opts && opts->keep_alive;
    h2o_config_init(&s->config);
    s->config.http1.upgrade_to_http2 = 0;
    /* A connection that has not sent its request by then is closed: a slow
     * client cannot keep one of the few connections. */
    s->config.http1.req_timeout =
        opts && opts->request_timeout_ms > 0 ? (uint64_t)opts->request_timeout_ms : 5000;
    h2o_hostconf_t *host =
        h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    http__handler *handler = (http__handler *)h2o_create_handler(path, sizeof *handler);
    handler->super.on_req = on_req;
    handler->owner = s;
    h2o_context_init(&s->ctx, loop, &s->config);
    s->accept_ctx.ctx = &s->ctx;
    s->accept_ctx.hosts = s->config.hosts;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    uv_timer_init(loop, &s->ping);
    s->ping.data = s;
    uv_timer_init(loop, &s->fence[0]);
    uv_timer_init(loop, &s->fence[1]);
    s->fence[0].data = s->fence[1].data = s;
    *out = s;
    return 0;
}

int http_server_route(http_server *s, const char *path, int prefix, http_handler_fn fn, void *arg)
{
    http__route *grown = realloc(s->routes, (s->nroutes + 1) * sizeof *grown);
    char *copy = strdup(path);

    if (grown)
        s->routes = grown;
    if (grown == NULL || copy == NULL) {
        free(copy);
        return -ENOMEM;
    }
    s->routes[s->nroutes++] = (http__route){.path = copy, .prefix = prefix, .fn = fn, .arg = arg};
    return 0;
}

/* "host:port" or "[v6]:port" -> a passive address for bind. */
static int resolve(const char *listen, struct sockaddr_storage *out)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen || (size_t)(colon - listen) >= sizeof host)
        return -EINVAL;
    size_t n = (size_t)(colon - listen);
    memcpy(host, listen, n);
    host[n] = '\0';
    char *name = host;
    if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
        host[n - 1] = '\0';
        name = host + 1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(name, colon + 1, &hints, &res);
    if (rc != 0)
        return rc == EAI_SYSTEM ? -errno : -EINVAL;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int http_server_listen(http_server *s, const char *listen)
{
    struct sockaddr_storage addr;
    int rc = resolve(listen, &addr);
    if (rc == 0)
        rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, HTTP_BACKLOG, on_accept);
    if (rc != 0)
        return rc;
    uv_timer_start(&s->ping, on_ping, HTTP_PING_MS, HTTP_PING_MS);
    int len = sizeof addr;
    rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len);
    if (rc != 0)
        return rc;
    return addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
                                      : ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

unsigned long http_server_refused(const http_server *s)
{
    return s->refused;
}

static void on_fence1_closed(uv_handle_t *handle)
{
    http_server *s = handle->data;
    http_closed_cb cb = s->closed_cb;
    void *arg = s->closed_arg;

    for (size_t i = 0; i < s->nroutes; i++)
        free(s->routes[i].path);
    free(s->routes);
    free(s);
    if (cb)
        cb(arg);
}

static void on_fence0_closed(uv_handle_t *handle)
{
    http_server *s = handle->data;
    uv_close((uv_handle_t *)&s->fence[1], on_fence1_closed);
}

static void maybe_finish(http_server *s)
{
    if (!s->closing || !s->listener_closed || !s->ping_closed || s->conns != NULL || s->disposed)
        return;
    s->disposed = 1;
    h2o_context_dispose(&s->ctx);
    h2o_config_dispose(&s->config);
    uv_close((uv_handle_t *)&s->fence[0], on_fence0_closed);
}

static void on_listener_closed(uv_handle_t *handle)
{
    http_server *s = handle->data;
    s->listener_closed = 1;
    maybe_finish(s);
}

static void on_ping_closed(uv_handle_t *handle)
{
    http_server *s = handle->data;
    s->ping_closed = 1;
    maybe_finish(s);
}

void http_server_close(http_server *s, http_closed_cb cb, void *arg)
{
    if (s == NULL) {
        if (cb)
            cb(arg);
        return;
    }
    assert(!s->closing);
    s->closing = 1;
    s->closed_cb = cb;
    s->closed_arg = arg;
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    uv_close((uv_handle_t *)&s->ping, on_ping_closed);
    for (http_stream *st = s->streams, *next; st; st = next) {
        next = st->next;
        http_stream_end(st);
    }
    /* H2O then reads end-of-file or fails a write, and closes the connection
     * itself, as if the client had gone. */
    for (http__conn *c = s->conns; c; c = c->next) {
        uv_os_fd_t fd;
        if (!uv_is_closing((uv_handle_t *)&c->tcp) && uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            shutdown(fd, SHUT_RDWR);
    }
}
