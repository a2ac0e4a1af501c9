/* cache_internal.h: what cache.c and cache_conn.c share, and nobody else
 * includes.
 *
 * cache.c holds the commands, the flight table, the timeouts, the teardown
 * and the public API; cache_conn.c holds the connection: connecting and
 * resolving, the reconnect backoff, the libuv poll hooks, dropping and
 * freeing the hiredis context. As in hiredis, whose core knows no event
 * library, the glue to the loop stays apart from the core.
 *
 * Everything runs on the loop thread; nothing here is thread-safe.
 */
#ifndef COMPACT_CACHE_INTERNAL_H
#define COMPACT_CACHE_INTERNAL_H

#include <hiredis/async.h>

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cache.h"

#define CACHE_BACKOFF_MIN_MS 100
#define CACHE_HOST_MAX 256
#define CACHE_ADDR_MAX (CACHE_HOST_MAX + 16)
#define CACHE_FLIGHT_BUCKETS 256 /* in-flight GET keys; chains absorb more */

typedef struct cache_cmd cache_cmd; /* one command, private to cache.c */

typedef struct cache_list {
    cache_cmd *head, *tail;
    size_t n;
} cache_list;

struct cache {
    uv_loop_t *loop;
    char addr[CACHE_ADDR_MAX]; /* as given, for logs */
    char host[CACHE_HOST_MAX];
    int port;
    int numeric_host;
    int timeout_ms;
    size_t max_value_bytes; /* the largest entry a GET accepts */
    char get_last[24];      /* GETRANGE's end: max_value_bytes, as text */
    int ttl_seconds;
    double ttl_jitter;
    long delay_ms;                /* the "redis.delay_ms" fault, 0 when unarmed */
    char user[128];               /* "": no AUTH */
    char password_file[1024];     /* read at every connection, never kept */
    int (*fills_held)(void *arg); /* cache_hold_fills, or NULL */
    void *fills_held_arg;

    /* The connection: ac is NULL while none is being made or held. */
    redisAsyncContext *ac;
    int connected;      /* ac is connected and accepts commands */
    int untrusted;      /* an invalidation was lost: GETs answer -ESTALE (cache.h) */
    uint64_t distrusts; /* times it became untrusted (cache_trust_since) */
    int drop_requested; /* the idle callback frees ac */
    int resolving;      /* resolve_req is outstanding */
    int from_reconnect; /* the current attempt was started by the backoff */
    int down_logged;    /* "redis down" written for this outage */
    int backoff_ms;
    uv_getaddrinfo_t resolve_req;

    uv_timer_t reconnect_timer; /* the backoff; the connect timeout meanwhile */
    uv_timer_t timeout_timer;
    uv_timer_t delay_timer;
    uv_idle_t idle;                 /* runs the ready list and frees dropped contexts */
    uv_check_t flush;               /* writes queued commands at the end of a loop turn */
    uv_prepare_t flush_before_poll; /* ... or before the poll, if that comes first */
    int queueing;                   /* inside cache_cmd_send: the flush will write */

    cache_list held, inflight, ready;
    cache_cmd *flights[CACHE_FLIGHT_BUCKETS];
    cache_stats stats;

    /* Teardown: the cache is freed when both counts reach zero. */
    int closing;
    int handles_closing;
    int own_handles;  /* our handles not yet closed */
    int poll_handles; /* adapter poll handles not yet closed */
    void (*close_cb)(void *arg);
    void *close_arg;
};

/* ---- in cache_replies.c ------------------------------------------------- */

struct redisReader;
typedef struct cache_replies cache_replies;

/* Has `reader` build its replies in blocks of their own (cache_replies.c),
 * kept until cache_replies_release: the returned object, or NULL on ENOMEM
 * (the reader is then as it was). */
cache_replies *cache_replies_attach(struct redisReader *reader);

/* Once the connection is gone, or going (called once, from its disconnect
 * callback or after redisAsyncFree): frees the blocks, or has hiredis' free
 * of the reply it was reading do it. NULL is a no-op. */
void cache_replies_release(cache_replies *r);

/* ---- in cache.c --------------------------------------------------------- */

/* Starts the idle handle, which frees a dropped connection and runs the ready
 * list, unless the cache's own handles are already closing. */
void cache__kick(cache *c);

/* Moves cache_close() along; does nothing until what it waits for is gone,
 * and may free c. Safe to call at any point of the teardown. */
void cache__close_continue(cache *c);

/* A pseudo-random number for jitter (spread, not secrecy). */
uint64_t cache__random(void);

/* ---- in cache_conn.c ---------------------------------------------------- */

/* Starts a connect attempt unless the cache is closing or a connection is
 * already held, being made or being resolved. Never fails to the caller: a
 * failed attempt is logged and retried after the backoff. */
void cache__conn_start(cache *c);

/* Stops using the connection now and asks the idle callback to free it. */
void cache__conn_drop(cache *c);

/* Frees a dropped connection, from the idle callback only (never inside a
 * hiredis callback); hiredis runs the pending reply callbacks with NULL in
 * here. Then schedules the next attempt. */
void cache__conn_free(cache *c);

#endif
