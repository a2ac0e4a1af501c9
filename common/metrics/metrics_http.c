/* metrics_http.c: H2O (libuv build) serving the metrics registry.
 *
 * H2O pieces, all embedded in struct metrics_http: a global configuration
 * with one host and one path ("/") whose handler answers every request; one
 * context on the service's loop (it opens several uv timers and one uv_async
 * of its own, embedded in the context or freed by their own close
 * callbacks); an accept context. The listener is a plain uv_tcp_t; each
 * accepted connection is a conn (a uv_tcp_t, first member) handed to H2O
 * with h2o_uv_socket_create, whose close callback is ours: that is how we
 * count the connections still open.
 *
 * Shutdown order, each step from the completion of the one before:
 *   close listener; shutdown(2) every open connection's socket
 *   -> listener closed and no connection left (counted in close callbacks)
 *   -> h2o_context_dispose + h2o_config_dispose (H2O closes its handles)
 *   -> close fence[0]; in its callback close fence[1]; in that one, free.
 * libuv finishes every handle closed before a close pass in that pass, in
 * no documented order; the second fence is closed in a later pass than H2O's
 * handles, so when it completes they are surely finished and our memory, in
 * which H2O's timers live, may go.
 */
#include "metrics_http.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <h2o.h>

#include "log.h"

#define METRICS_HTTP_BACKLOG 64
#define METRICS_HTTP_CONNS_MAX 8 /* scrapers at once; a Prometheus pair needs two */
#define METRICS_HTTP_REQUEST_TIMEOUT_MS 5000
#define METRICS_HTTP_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct metrics_http__conn {
    uv_tcp_t tcp; /* first: H2O's close callback gets &tcp */
    metrics_http *owner;
    struct metrics_http__conn *prev, *next;
} metrics_http__conn;

typedef struct metrics_http__handler {
    h2o_handler_t super; /* first: H2O hands us &super */
    metrics_http *owner;
} metrics_http__handler;

struct metrics_http {
    uv_loop_t *loop;
    metrics *registry;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listener;
    uv_timer_t fence[2];       /* never started: only closed, see above */
    metrics_http__conn *conns; /* open connections */
    int nconns;                /* how many */
    uint64_t refused;          /* connections closed at once: over the limit */
    int closing, listener_closed, disposed;
    metrics_http_closed_cb closed_cb;
    void *closed_arg;
};

/* ---- requests ----------------------------------------------------------- */

static int metrics_http_is(h2o_iovec_t v, const char *s)
{
    return h2o_memis(v.base, v.len, s, strlen(s));
}

static void metrics_http_send_text(h2o_req_t *req, metrics *registry)
{
    char *text = NULL;
    size_t len = 0;
    if (metrics_render(registry, &text, &len) != 0) {
        h2o_send_error_500(req, "Internal Server Error", "out of memory\n", 0);
        return;
    }
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT(METRICS_HTTP_CONTENT_TYPE));
    h2o_send_inline(req, text, len); /* copies the text into the request's pool */
    free(text);
}

/* Every request of the one path "/" comes here; h2o_send_* answer at once. */
static int metrics_http_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    metrics_http *h = ((metrics_http__handler *)self)->owner;
    req->http1_is_persistent = 0; /* one request per connection, see metrics_http.h */
    if (!metrics_http_is(req->path_normalized, "/metrics")) {
        h2o_send_error_404(req, "Not Found", "not found; try /metrics\n", 0);
    } else if (!metrics_http_is(req->method, "GET") && !metrics_http_is(req->method, "HEAD")) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
                       H2O_STRLIT("GET, HEAD"));
        h2o_send_error_405(req, "Method Not Allowed", "method not allowed\n",
                           H2O_SEND_ERROR_KEEP_HEADERS);
    } else {
        metrics_http_send_text(req, h->registry);
    }
    return 0;
}

/* ---- connections -------------------------------------------------------- */

static void metrics_http_maybe_finish(metrics_http *h);

static void metrics_http_conn_unlink(metrics_http__conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->owner->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

/* H2O's socket is gone and the handle closed: the one place a conn ends. */
static void metrics_http_on_conn_closed(uv_handle_t *handle)
{
    metrics_http__conn *c = (metrics_http__conn *)handle;
    metrics_http *h = c->owner;
    h->nconns--;
    metrics_http_conn_unlink(c);
    free(c);
    metrics_http_maybe_finish(h);
}

static void metrics_http_on_refused_closed(uv_handle_t *handle)
{
    free(handle);
}

/* Accepts and closes at once: a scraper beyond the limit gets a closed
 * connection (and retries at its next interval), and the backlog does not
 * keep waking the loop. */
static void refuse(metrics_http *h, uv_stream_t *listener)
{
    uv_tcp_t *t = malloc(sizeof *t);
    if (t == NULL)
        return;
    uv_tcp_init(h->loop, t);
    if (uv_accept(listener, (uv_stream_t *)t) == 0)
        h->refused++;
    uv_close((uv_handle_t *)t, metrics_http_on_refused_closed);
}

static void metrics_http_on_accept(uv_stream_t *listener, int status)
{
    metrics_http *h = listener->data;
    if (status != 0 || h->closing)
        return;
    if (h->nconns >= METRICS_HTTP_CONNS_MAX) {
        refuse(h, listener);
        return;
    }
    metrics_http__conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        refuse(h, listener);
        return;
    }
    h->nconns++;
    c->owner = h;
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    uv_tcp_init(h->loop, &c->tcp);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, metrics_http_on_conn_closed);
        return;
    }
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, metrics_http_on_conn_closed);
    h2o_accept(&h->accept_ctx, sock);
}

/* ---- lifetime ----------------------------------------------------------- */

int metrics_http_new(uv_loop_t *loop, metrics *registry, metrics_http **out)
{
    metrics_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -ENOMEM;
    h->loop = loop;
    h->registry = registry;
    h2o_config_init(&h->config);
    h->config.http1.upgrade_to_http2 = 0;
    /* A connection that has not sent its request by then is closed: a slow
     * client cannot keep one of the few connections. */
    h->config.http1.req_timeout = METRICS_HTTP_REQUEST_TIMEOUT_MS;
    h2o_hostconf_t *host =
        h2o_config_register_host(&h->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    metrics_http__handler *handler =
        (metrics_http__handler *)h2o_create_handler(path, sizeof *handler);
    handler->super.on_req = metrics_http_on_req;
    handler->owner = h;
    h2o_context_init(&h->ctx, loop, &h->config);
    h->accept_ctx.ctx = &h->ctx;
    h->accept_ctx.hosts = h->config.hosts;
    uv_tcp_init(loop, &h->listener);
    h->listener.data = h;
    uv_timer_init(loop, &h->fence[0]);
    uv_timer_init(loop, &h->fence[1]);
    h->fence[0].data = h->fence[1].data = h;
    *out = h;
    return 0;
}

/* "host:port" or "[v6]:port" -> a passive address for bind. */
static int metrics_http_resolve(const char *listen, struct sockaddr_storage *out)
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

int metrics_http_listen(metrics_http *h, const char *listen)
{
    struct sockaddr_storage addr;
    int rc = metrics_http_resolve(listen, &addr);
    if (rc == 0)
        rc = uv_tcp_bind(&h->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->listener, METRICS_HTTP_BACKLOG, metrics_http_on_accept);
    if (rc != 0)
        return rc;
    int len = sizeof addr;
    rc = uv_tcp_getsockname(&h->listener, (struct sockaddr *)&addr, &len);
    if (rc != 0)
        return rc;
    return addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
                                      : ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

static void metrics_http_on_fence1_closed(uv_handle_t *handle)
{
    metrics_http *h = handle->data;
    metrics_http_closed_cb cb = h->closed_cb;
    void *arg = h->closed_arg;
    free(h);
    if (cb)
        cb(arg);
}

static void metrics_http_on_fence0_closed(uv_handle_t *handle)
{
    metrics_http *h = handle->data;
    uv_close((uv_handle_t *)&h->fence[1], metrics_http_on_fence1_closed);
}

static void metrics_http_maybe_finish(metrics_http *h)
{
    if (!h->closing || !h->listener_closed || h->conns != NULL || h->disposed)
        return;
    h->disposed = 1;
    h2o_context_dispose(&h->ctx);
    h2o_config_dispose(&h->config);
    uv_close((uv_handle_t *)&h->fence[0], metrics_http_on_fence0_closed);
}

static void metrics_http_on_listener_closed(uv_handle_t *handle)
{
    metrics_http *h = handle->data;
    h->listener_closed = 1;
    metrics_http_maybe_finish(h);
}

void metrics_http_close(metrics_http *h, metrics_http_closed_cb cb, void *arg)
{
    if (h == NULL) {
        if (cb)
            cb(arg);
        return;
    }
    h->closing = 1;
    h->closed_cb = cb;
    h->closed_arg = arg;
    uv_close((uv_handle_t *)&h->listener, metrics_http_on_listener_closed);
    /* H2O then reads end-of-file or fails a write, and closes the
     * connection itself, as if the client had gone. */
    for (metrics_http__conn *c = h->conns; c; c = c->next) {
        uv_os_fd_t fd;
        if (!uv_is_closing((uv_handle_t *)&c->tcp) && uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            shutdown(fd, SHUT_RDWR);
    }
}
