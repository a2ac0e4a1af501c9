/* msgcache.h: packed messages kept in memory by id and version.
 *
 * A read that builds its message from several tables and packs it (a
 * project, its transactions and the totals derived from them) can keep the
 * bytes and skip all of that the next time, as long as the stored version
 * has not moved. The caller reads the version from the store's row and the
 * cache answers only for that version: a write needs no invalidation, and
 * an entry of an older version is simply never answered again.
 *
 * Direct-mapped, as a CPU cache: an id has one slot (by hash) and a newer
 * entry replaces whatever the slot held. Past the byte bound, a clock hand
 * empties slots in turn until the new entry fits. No lists, no per-entry
 * bookkeeping beyond the slot.
 *
 * Everything runs on the loop thread. Only bytes the caller knows to be
 * committed may go in: a write rolled back would leave its version's bytes
 * to be answered for the next write of that version.
 */
#ifndef COMPACT_MSGCACHE_H
#define COMPACT_MSGCACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct msgcache msgcache;

/* A cache of `slots` slots (rounded up to a power of two) holding at most
 * `max_bytes` of packed messages. Returns 0 and sets *out, or -ENOMEM. */
int msgcache_new(size_t slots, size_t max_bytes, msgcache **out);

/* Frees every entry and the cache. NULL is a no-op. */
void msgcache_free(msgcache *c);

/* The bytes kept for `id` at `version`, or NULL (*len 0) when the slot holds
 * nothing, another id or another version. Valid until the next
 * msgcache_put or msgcache_free. A NULL cache answers NULL. */
const uint8_t *msgcache_get(msgcache *c, const char *id, int64_t version, size_t *len);

/* Keeps a copy of `len` bytes for `id` at `version`, replacing the slot's
 * entry (so `data` must not be bytes msgcache_get answered). An entry
 * larger than a quarter of the bound is not kept. Returns 0 (kept or not)
 * or -ENOMEM (the slot is then empty). A NULL cache keeps nothing. */
int msgcache_put(msgcache *c, const char *id, int64_t version, const void *data, size_t len);

/* Entries and the bytes they take (messages, ids and headers: what the
 * bound counts), answered and missed gets, for tests and metrics. */
typedef struct msgcache_stats {
    size_t entries, bytes;
    uint64_t hits, misses;
} msgcache_stats;
msgcache_stats msgcache_get_stats(const msgcache *c);

#endif
