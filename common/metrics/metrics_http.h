/* metrics_http.h: GET /metrics over HTTP, on the service's own loop.
 *
 * The glue between a metrics registry and H2O's libuv build (H2O 2.2, the
 * Debian package libh2o0.13): no H2O name leaves metrics_http.c, so an H2O
 * upgrade, or another HTTP server, touches that one file.
 *
 * What it serves: GET (and HEAD) /metrics renders the registry, status 200,
 * content-type "text/plain; version=0.0.4; charset=utf-8"; any other path is
 * 404 and any other method 405. Each response closes its connection: a scrape
 * every few seconds costs one TCP handshake, and no idle keep-alive
 * connection is left to hold up shutdown. HTTP/1.1 only (no h2c upgrade).
 * Bounded: at most 8 connections at once (more are closed as they are
 * accepted), and one that has not sent its request within 5 s is closed.
 * A scrape reads counters the modules keep; it never queries the store.
 *
 * Threads: everything on the loop thread, like the rest of the service; a
 * scrape renders synchronously, so the sampled callbacks of the registry run
 * on the loop and may read anything the loop owns.
 *
 * The life of an endpoint:
 *
 *     metrics_http_new -> metrics_http_listen -> ... -> metrics_http_close
 *                                                         -> closed_cb, then gone
 *
 * Closing is asynchronous: the listener is closed; open connections are shut
 * down (read and write), which makes H2O close them through its usual path;
 * once the last connection's handle is closed the H2O context and
 * configuration are disposed, and closed_cb runs only after every libuv
 * handle H2O opened on the loop has been closed too (two close passes later),
 * so the loop can end with uv_loop_close() == 0.
 */
#ifndef COMPACT_METRICS_HTTP_H
#define COMPACT_METRICS_HTTP_H

#include <uv.h>

#include "metrics.h"

typedef struct metrics_http metrics_http;

/* Runs once, on the loop thread, when the endpoint is completely gone. */
typedef void (*metrics_http_closed_cb)(void *arg);

/* Creates an endpoint on `loop` serving `registry` (borrowed: it must outlive
 * the endpoint). Nothing listens yet. Returns 0 and sets *out, or -ENOMEM
 * (nothing to close then). After success the endpoint must be closed with
 * metrics_http_close, whether or not listening worked. */
int metrics_http_new(uv_loop_t *loop, metrics *registry, metrics_http **out);

/* Listens on `listen`, "host:port" ("[v6]:port" too; port 0 picks a free
 * one). Returns the bound port (> 0), or a negative errno: -EINVAL for a
 * malformed address, -EADDRINUSE and the like from bind/listen, or what name
 * resolution gave. Once only. */
int metrics_http_listen(metrics_http *h, const char *listen);

/* Starts closing (see above). `cb` runs exactly once, later, on the loop;
 * `h` is freed just before it. A NULL `h` runs `cb` at once. Calling close
 * twice is a programming error. */
void metrics_http_close(metrics_http *h, metrics_http_closed_cb cb, void *arg);

#endif
