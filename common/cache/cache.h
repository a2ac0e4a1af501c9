/* cache.h: Redis as a cache and an event bus, never the only copy of anything.
 *
 * One hiredis async connection, driven by the loop through hiredis's libuv
 * adapter (hiredis is included only by cache.c, the commands, and
 * cache_conn.c, the connection and its event-loop glue). Redis is
 * optional: when it is down or slow every operation fails fast with a
 * negative errno (or simply does nothing, for set/del), and the caller falls
 * back to SQLite. Nothing here ever blocks the loop.
 *
 * - Every command has a timeout (hiredis 0.14 has none): a uv timer per
 *   command; a command that times out completes with -ETIMEDOUT and the
 *   connection is dropped and re-made, since its replies can no longer be
 *   matched to commands.
 * - Reconnect with exponential backoff (100 ms doubling to 5 s, with jitter).
 * - cache_get coalesces: while a GET for a key is in flight, further gets of
 *   the same key wait for that one reply instead of sending their own.
 * - cache_set stores with the configured TTL plus or minus the jitter, so
 *   keys written together do not all expire in the same second.
 * - Replies go back in command order on the loop thread; each callback runs
 *   exactly once, also on close (-ECANCELED).
 *
 * Keys are "compact:<service>:<kind>:<id>" (cache_key()).
 */
#ifndef COMPACT_CACHE_H
#define COMPACT_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct cache cache;

typedef struct cache_options {
    const char *addr;       /* "host:port" */
    int timeout_ms;         /* per command; default 200 */
    size_t max_value_bytes; /* the largest value a GET accepts; default 4 MiB */
    int ttl_seconds;        /* default 300 */
    double ttl_jitter;      /* fraction, 0..1; default 0.1 (plus or minus 10%) */
    /* Redis ACL: with a user, every connection (reconnects too) first sends
     * AUTH user password, the password read from `password_file` at each
     * connection (so a rotated password is picked up), and is used only once
     * Redis accepted it. Neither the password nor the file's text is ever
     * logged. NULL or "": no AUTH. */
    const char *user;
    const char *password_file;
} cache_options;

/* Creates the cache and starts connecting; returns 0 or a negative errno
 * (-EINVAL for a bad address). Success does not mean Redis is up. */
int cache_new(uv_loop_t *loop, const cache_options *opts, cache **out);

/* Disconnects; pending callbacks run with -ECANCELED; `cb` runs once on the
 * loop when every handle is closed, then the cache is freed. With a NULL
 * cache `cb` runs at once. */
void cache_close(cache *c, void (*cb)(void *arg), void *arg);

/* 1 while connected. */
int cache_connected(const cache *c);

/* Writes "compact:<service>:<kind>:<id>" into buf; returns its length or a
 * negative errno (-ENAMETOOLONG) if it does not fit. */
int cache_key(char *buf, size_t size, const char *service, const char *kind, const char *id);

/* TTL in seconds for one key: ttl_seconds scaled by a random factor in
 * [1 - jitter, 1 + jitter], at least 1. */
int cache_ttl_with_jitter(int ttl_seconds, double jitter);

/* rc: 0 hit (value/len valid during the callback only, len > 0), -ENOENT
 * miss, -EFBIG for a value over max_value_bytes (not ours: treat it as a
 * miss), or a negative errno (-ENOTCONN, -ETIMEDOUT, -ECANCELED, -EIO). */
typedef void (*cache_get_cb)(void *arg, int rc, const void *value, size_t len);

/* GET, coalesced per key. The callback runs exactly once, always later,
 * never inside. `c`, `key` and `cb` must not be NULL (asserted). */
void cache_get(cache *c, const char *key, cache_get_cb cb, void *arg);

/* SET key value EX ttl-with-jitter; fire and forget (does nothing if down). */
void cache_set(cache *c, const char *key, const void *value, size_t len);

/* DEL keys; fire and forget. An invalidation that cannot be confirmed
 * (Redis down, the command failed or timed out) makes the cache untrusted,
 * below. */
void cache_del(cache *c, const char *const *keys, size_t n);

/* Trust. After an invalidation was lost, Redis may hold entries older than
 * the store (it may also come back from its append-only file with them):
 * from then on cache_get answers -ESTALE (a miss: read the store) until
 * cache_trust() says every lost invalidation has been made again. The
 * outbox relay says so when it has published every committed event, since
 * each event carries its change's invalidations, and calls
 * cache_distrust() at start when a crash left events unpublished. A cache
 * starts trusted. */
void cache_trust(cache *c);
void cache_distrust(cache *c);
int cache_trusted(const cache *c);

/* How many times the cache became untrusted so far. cache_trust_since(c, n)
 * trusts it again unless it became untrusted after n was read: for a caller
 * that made good the invalidations lost up to that moment, and must not
 * vouch for one lost while it worked. */
uint64_t cache_distrusts(const cache *c);
void cache_trust_since(cache *c, uint64_t distrusts);

/* Read-through: get `key`; on a miss or any Redis failure call `load`
 * (synchronously, on the loop) which returns 0 with a malloc'd value, or
 * -ENOENT, or a negative errno; a loaded value is then stored with cache_set
 * and handed to `cb` with rc 0. `cb` gets what load returned otherwise. It
 * runs exactly once, later. No argument may be NULL (asserted). */
typedef int (*cache_load_fn)(void *arg, void **value, size_t *len);
void cache_read_through(cache *c, const char *key, cache_load_fn load, void *load_arg,
                        cache_get_cb cb, void *arg);

/* While held(arg) returns 1, a value loaded by cache_read_through goes to
 * its callback but is not stored in Redis: service.c passes
 * store_uncommitted(), as a value read then may include a write that a
 * failed COMMIT will undo. `held` runs on the loop; NULL releases. */
void cache_hold_fills(cache *c, int (*held)(void *arg), void *arg);

/* One argument of a script: bytes, not necessarily text. */
typedef struct cache_arg {
    const void *value;
    size_t len;
} cache_arg;

/* rc: 0 when the script ran to its end, -EIO when Redis refused it or it
 * raised an error, or a negative errno (-ENOTCONN, -ETIMEDOUT, -ECANCELED). */
typedef void (*cache_done_cb)(void *arg, int rc);

/* EVAL `script` with `keys` (KEYS) and `args` (ARGV), atomically in Redis:
 * what cannot be one command (a check and a write, several writes that
 * must not interleave with others) is one script. Commands, scripts
 * included, run in call order. `cb` runs exactly once, later. */
void cache_eval(cache *c, const char *script, const char *const *keys, size_t nkeys,
                const cache_arg *args, size_t nargs, cache_done_cb cb, void *arg);

/* As cache_eval, for a script whose reply matters: `cb` gets it as text (a
 * string or status as it is, an integer in decimal, nil as ""; `text` holds
 * `len` bytes, valid during the callback) with rc 0, or NULL with an error
 * as above. */
typedef void (*cache_text_cb)(void *arg, int rc, const char *text, size_t len);
void cache_eval_text(cache *c, const char *script, const char *const *keys, size_t nkeys,
                     const cache_arg *args, size_t nargs, cache_text_cb cb, void *arg);

/* ---- reading streams in a consumer group ----------------------------------- */

/* A field of a stream entry; `value` holds `len` bytes (and a NUL after). */
typedef struct cache_field {
    const char *name;
    const char *value;
    size_t len;
} cache_field;

typedef struct cache_entry {
    const char *id; /* "1796577533604-0" */
    const cache_field *fields;
    size_t nfields;
} cache_entry;

/* The entries read from one stream. */
typedef struct cache_stream_batch {
    const char *stream;
    const cache_entry *entries;
    size_t n;
} cache_stream_batch;

/* rc 0: `batches[0..n)` (n 0: nothing new within the block time), valid only
 * during the callback; -ENOENT: the group (or the stream) does not exist;
 * or a negative errno. Runs exactly once, later. */
typedef void (*cache_read_cb)(void *arg, int rc, const cache_stream_batch *batches, size_t n);

/* XREADGROUP GROUP group consumer COUNT count [BLOCK block_ms] [NOACK]
 * STREAMS streams... ids... (">" for new entries, an id for this consumer's
 * pending ones). With CACHE_READ_NOACK nothing is left pending: a consumer
 * that keeps its own positions needs no acknowledgements. The command's
 * timeout is the cache's plus `block_ms`. While it blocks, Redis answers
 * nothing else on this connection: a consumer reads on a cache of its own,
 * and sends its other commands between reads. */
enum cache_read_flags {
    CACHE_READ_NOACK = 1 << 0,
};
void cache_group_read(cache *c, const char *group, const char *consumer, const char *const *streams,
                      const char *const *ids, size_t nstreams, int count, int block_ms,
                      unsigned flags, cache_read_cb cb, void *arg);

/* Counters for logs and tests. */
typedef struct cache_stats {
    uint64_t hits, misses, errors, coalesced, reconnects;
    uint64_t untrusted; /* reads refused while untrusted (-ESTALE) */
} cache_stats;
void cache_get_stats(const cache *c, cache_stats *out);

#endif
