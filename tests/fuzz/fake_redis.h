/* fake_redis.h: just enough of a Redis server, on a libuv loop, for the
 * cache to read chosen bytes (fuzz_cached_entry.c).
 *
 * It reads the Redis protocol's requests (arrays of bulk strings, as hiredis
 * sends them), answers every GET and GETRANGE with the value set last (or
 * nil, "" to GETRANGE), PING with PONG, DEL with 0 and everything else with OK, in order, on every
 * connection. It keeps nothing: a SET does not change what GET answers.
 *
 * The listening socket is bound first, so that its port can go into the
 * cache's address before the loop that will serve it exists:
 *   fake_redis_new -> fake_redis_port -> fake_redis_start(loop) -> fake_redis_close
 * Everything runs on the loop thread.
 */
#ifndef COMPACT_FAKE_REDIS_H
#define COMPACT_FAKE_REDIS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct fake_redis fake_redis;

/* Binds 127.0.0.1 on a free port. Returns 0 and sets *out, or a negative
 * errno. */
int fake_redis_new(fake_redis **out);

/* The bound port. */
int fake_redis_port(const fake_redis *r);

/* Serves on `loop` from now on. Returns 0 or a negative errno (the fake must
 * still be closed). Once only. */
int fake_redis_start(fake_redis *r, uv_loop_t *loop);

/* What every GET answers from now on: `len` bytes (copied), or nil when
 * `value` is NULL. Returns 0 or -ENOMEM (the value is then unchanged). */
int fake_redis_set_value(fake_redis *r, const void *value, size_t len);

/* GETs answered so far. */
uint64_t fake_redis_gets(const fake_redis *r);

/* Closes the listener and every connection; the memory goes in the close
 * callbacks, so the loop must run on. NULL is a no-op. */
void fake_redis_close(fake_redis *r);

#endif
