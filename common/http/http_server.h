/* http_server.h: a small HTTP/1.1 server on the service's own loop.
 *
 * The one glue between Compact and H2O's libuv build (H2O 2.2, Debian's
 * libh2o0.13): no H2O name leaves http_server.c, so an H2O upgrade, or
 * another HTTP server, touches that file only. It serves what a service
 * shows over HTTP: GET /metrics (service.c) and the analytics dashboard with
 * its JSON API and live updates.
 *
 * Routes: a path, or a prefix of paths, and a handler that answers
 * synchronously with http_reply() (the body is copied), or turns the
 * response into a stream of server-sent events (http_stream_start) that the
 * service writes to later. A path no route has is 404; a method other than
 * GET or HEAD 405.
 *
 * Bounds: at most `max_conns` connections at once (more are closed as they
 * are accepted), a request must arrive within `request_timeout_ms`, and a
 * stream holds at most one message waiting: a newer one replaces it (an
 * overview that changed twice is sent once, as it is now). Streams get a
 * comment every 15 s, so that dead clients are found and proxies keep them.
 *
 * Threads: everything on the loop thread; handlers may read anything the
 * loop owns.
 *
 * The life of a server:
 *
 *     http_server_new -> http_server_route ... -> http_server_listen -> ...
 *         -> http_server_close -> closed_cb, then gone
 *
 * Closing is asynchronous: the listener is closed, streams are ended, open
 * connections are shut down; once every handle H2O opened on the loop is
 * closed, closed_cb runs (so the loop can end with uv_loop_close() == 0).
 */
#ifndef COMPACT_HTTP_SERVER_H
#define COMPACT_HTTP_SERVER_H

#include <stddef.h>
#include <uv.h>

typedef struct http_server http_server;
typedef struct http_response http_response; /* one request being answered */
typedef struct http_stream http_stream;

typedef struct http_options {
    int max_conns;          /* 0: 8 */
    int request_timeout_ms; /* 0: 5000 */
    int keep_alive;         /* 1: connections may carry several requests */
} http_options;

typedef struct http_request {
    const char *method; /* "GET" */
    const char *path;   /* "/api/overview", without the query */
    const char *query;  /* "year=2024&group=wg_x", "" without one */
} http_request;

/* Answers `req` now: http_reply or http_reply_error, or http_stream_start.
 * Runs on the loop thread; the request's strings are valid during the call. */
typedef void (*http_handler_fn)(void *arg, const http_request *req, http_response *res);

/* Runs once, on the loop, when the server is completely gone. */
typedef void (*http_closed_cb)(void *arg);

/* Creates a server on `loop`; nothing listens yet. Returns 0 and sets *out,
 * or -ENOMEM. After success the server must be closed with
 * http_server_close, whether or not listening worked. */
int http_server_new(uv_loop_t *loop, const http_options *opts, http_server **out);

/* Adds a route: requests for `path` exactly, or with `prefix` for every path
 * that starts with it, go to fn(arg, ...). Routes are tried in the order
 * added. Before http_server_listen. Returns 0 or -ENOMEM. */
int http_server_route(http_server *s, const char *path, int prefix, http_handler_fn fn, void *arg);

/* Listens on "host:port" ("[v6]:port" too; port 0 picks a free one).
 * Returns the bound port (> 0), or a negative errno: -EINVAL for a malformed
 * address, -EADDRINUSE and the like. Once only. */
int http_server_listen(http_server *s, const char *listen);

/* Starts closing (see above). `cb` runs exactly once, later, on the loop; `s`
 * is freed just before it. A NULL `s` runs `cb` at once. */
void http_server_close(http_server *s, http_closed_cb cb, void *arg);

/* Connections closed at once because `max_conns` were open (for metrics). */
unsigned long http_server_refused(const http_server *s);

/* ---- answering ------------------------------------------------------------ */

/* Answers with `status`, `content_type` and `len` bytes of `body` (copied). */
void http_reply(http_response *res, int status, const char *content_type, const void *body,
                size_t len);

/* Answers with `status` and a one-line plain-text `message`. */
void http_reply_error(http_response *res, int status, const char *message);

/* Adds a header to the reply (before http_reply); both strings are copied. */
void http_add_header(http_response *res, const char *name, const char *value);

/* The value of query parameter `name` of `req`, percent-decoded, into `buf`
 * (at most size-1 bytes and a NUL). Returns 1 if present (possibly empty), 0
 * if not, -1 if it does not fit or does not decode. */
int http_query_param(const http_request *req, const char *name, char *buf, size_t size);

/* ---- server-sent events ----------------------------------------------------- */

/* Runs once when the stream is over (the client left, or the server closed
 * it): the stream must not be used after. */
typedef void (*http_stream_closed_fn)(void *arg, http_stream *st);

/* Turns the response into a text/event-stream that stays open. Returns the
 * stream, or NULL (the request has then been answered with 500). */
http_stream *http_stream_start(http_response *res, http_stream_closed_fn closed, void *arg);

/* Sends one event ("event: <event>\ndata: <data>\n\n"; `data` must hold no
 * newline). A message still waiting to go is replaced. Returns 0, or
 * -ENOMEM (nothing changes). */
int http_stream_send(http_stream *st, const char *event, const char *data, size_t len);

/* Ends the stream after what is on its way; `closed` still runs. */
void http_stream_end(http_stream *st);

#endif
